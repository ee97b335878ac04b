//! `--set path=value`: overrides of single spec fields from the command line.
//!
//! Hand-written on purpose, and small: the spec is turned into a
//! `serde_json::Value` tree, the value (read with the file's RON options) is
//! put at its dotted path, stepping through enum tags such as `Vanilla(..)`,
//! and the tree goes back through the same typed deserialisation and
//! validation as the file. What a generic setter crate would not give: an
//! error that names the `--set` at fault and lists the fields that exist
//! where the path went wrong, and values written as in the spec file.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

use super::checks::check;
use super::ron_text;
use super::{EvalSpec, Result, Source, Spec, SpecError};

/// Applies `path=value` overrides and validates the result.
pub fn apply_overrides(spec: Spec, overrides: &[String], source: &Source) -> Result<Spec> {
    if overrides.is_empty() {
        return Ok(spec);
    }
    let mut tree = serde_json::to_value(&spec).expect("a spec always serialises");
    let mut touched = BTreeSet::new();
    for arg in overrides {
        let err = |message: String| SpecError::Override {
            arg: arg.clone(),
            message,
        };
        let (path, raw) = arg
            .split_once('=')
            .ok_or_else(|| err("expected path=value, for example train.steps=200".into()))?;
        let path = path.trim();
        // Setting a field of the optional eval section turns it on with its defaults.
        if path.starts_with("eval.") && tree.get("eval").is_some_and(Value::is_null) {
            tree["eval"] = serde_json::to_value(EvalSpec::default()).expect("serialises");
        }
        let (value, not_ron) = parse_value(raw.trim());
        set_path(&mut tree, path, value).map_err(err)?;
        // Check each override on its own so the error names the right one.
        serde_json::from_value::<Spec>(tree.clone()).map_err(|e| match &not_ron {
            Some(ron) => err(format!("{e} (the value, read as text, is not RON: {ron})")),
            None => err(e.to_string()),
        })?;
        touched.insert(path.to_string());
    }
    let spec: Spec = serde_json::from_value(tree).map_err(|e| SpecError::Override {
        arg: overrides.join(" "),
        message: e.to_string(),
    })?;
    check(&spec, source, &touched)?;
    Ok(spec)
}

/// An override value, read as the spec file reads values (the same RON
/// options), in the shape `serde_json` gives the spec (an enum `Dcgan` as
/// `"Dcgan"`, `Vanilla(..)` as `{"Vanilla": {..}}`, `Some(x)` as `x`).
/// Text that is not RON is tried as JSON, then taken as a bare word (so
/// `name=my-run` works); then the RON error comes second, to explain a
/// value that was meant as RON.
fn parse_value(raw: &str) -> (Value, Option<String>) {
    // Through an untagged enum, ron hands serde its buffered content, for
    // which it writes enums in the JSON shape serde expects.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum AnyValue {
        Value(Value),
    }
    match ron_text::options().from_str::<AnyValue>(raw) {
        Ok(AnyValue::Value(value)) => (value, None),
        Err(ron) => match serde_json::from_str(raw) {
            Ok(value) => (value, None),
            Err(_) => (Value::String(raw.to_string()), Some(ron.to_string())),
        },
    }
}

fn set_path(tree: &mut Value, path: &str, value: Value) -> std::result::Result<(), String> {
    let keys: Vec<&str> = path.split('.').collect();
    let mut node = tree;
    let mut walked = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        // An enum (such as `variant: Vanilla(..)`) is one tagged object: step through the tag.
        let tag = match &*node {
            Value::Object(map) if !map.contains_key(*key) && map.len() == 1 => map
                .keys()
                .next()
                .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()))
                .cloned(),
            _ => None,
        };
        if let Some(tag) = tag {
            node = node.get_mut(&tag).expect("tag present");
        }
        let Value::Object(map) = node else {
            return Err(format!(
                "`{}` has no fields; set it as a whole",
                walked.join(".")
            ));
        };
        if !map.contains_key(*key) {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            let here = if walked.is_empty() {
                "the spec".to_string()
            } else {
                format!("`{}`", walked.join("."))
            };
            return Err(format!(
                "{here} has no field `{key}`; its fields are: {}",
                known.join(", ")
            ));
        }
        walked.push(*key);
        if i + 1 == keys.len() {
            map.insert(key.to_string(), value);
            return Ok(());
        }
        node = map.get_mut(*key).expect("checked above");
    }
    Err("empty path; expected path=value, for example train.steps=200".into())
}
