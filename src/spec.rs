//! Experiment specs: RON text to a validated [`Spec`], nothing acts yet.
//!
//! Parsing rejects unknown fields and reports `file:line:column`; validation
//! checks ranges and combinations and points at the offending field in the
//! file (or at the `--set` that changed it). `--set path=value` overrides go
//! through the same typed deserialisation and validation as the file.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use gan_lab_variants::VariantSpec;
use ron::extensions::Extensions;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One experiment, as written in `experiments/*.ron`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Run name shown in `list` and the report.
    pub name: String,
    /// Experiment that groups runs (defaults to the name).
    #[serde(default)]
    pub experiment: Option<String>,
    /// The GAN variant and its settings.
    pub variant: VariantSpec,
    #[serde(default)]
    pub data: DataSpec,
    #[serde(default)]
    pub train: TrainSpec,
    #[serde(default)]
    pub samples: SamplesSpec,
    #[serde(default)]
    pub checkpoint: CheckpointSpec,
    /// Score the generator with the evaluator during training (off when left out).
    #[serde(default)]
    pub eval: Option<EvalSpec>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Score every this many steps (and at the end).
    pub every: u64,
    /// Generated images per evaluation.
    pub samples: usize,
    pub metrics: Vec<Metric>,
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            every: 1000,
            samples: 5000,
            metrics: Metric::ALL.to_vec(),
        }
    }
}

/// The scores an evaluation can compute.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Fréchet distance of evaluator features (lower is better).
    Fid,
    /// Kernel inception distance, unbiased (lower is better).
    Kid,
    /// Inception-style score from the evaluator's class probabilities (higher is better).
    Is,
    /// Predicted-class histogram: KL from uniform and classes holding >= 2% (mode collapse).
    Coverage,
    /// Improved precision and recall (k-NN manifolds).
    PrecisionRecall,
}

impl Metric {
    pub const ALL: [Metric; 5] = [
        Metric::Fid,
        Metric::Kid,
        Metric::Is,
        Metric::Coverage,
        Metric::PrecisionRecall,
    ];
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    /// Use at most this many training images (after the class filter).
    pub limit: Option<usize>,
    /// Train on these classes only (indices 0-9).
    pub classes: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSpec {
    pub steps: u64,
    pub batch_size: usize,
    pub lr_g: f64,
    pub lr_d: f64,
    pub beta1: f32,
    pub beta2: f32,
    pub seed: u64,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            steps: 5000,
            batch_size: 64,
            lr_g: 2e-4,
            lr_d: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            seed: 1,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SamplesSpec {
    /// Write a sample grid every this many steps (and always at the end).
    pub every: u64,
}

impl Default for SamplesSpec {
    fn default() -> Self {
        Self { every: 500 }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointSpec {
    /// Write a checkpoint every this many steps (and always at the end).
    pub every: u64,
}

impl Default for CheckpointSpec {
    fn default() -> Self {
        Self { every: 1000 }
    }
}

/// Where a spec came from, for error messages.
#[derive(Clone, Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

/// A validation problem: the field, where it is, and what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub location: String,
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("could not read spec file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{col}: {message}\n  hint: {hint}")]
    Parse {
        file: String,
        line: usize,
        col: usize,
        message: String,
        hint: String,
    },
    #[error("{}", format_problems(.0))]
    Invalid(Vec<Problem>),
    #[error("--set {arg}: {message}")]
    Override { arg: String, message: String },
}

pub type Result<T, E = SpecError> = std::result::Result<T, E>;

fn format_problems(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}: {}", p.location, p.field, p.message))
        .collect();
    format!(
        "the spec has {} problem(s):\n  {}",
        problems.len(),
        lines.join("\n  ")
    )
}

fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES | Extensions::IMPLICIT_SOME)
}

/// Reads, parses and validates a spec file, then applies `--set` overrides.
pub fn load(path: &Path, overrides: &[String]) -> Result<(Spec, Source)> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let source = Source {
        path: path.to_path_buf(),
        text,
    };
    let spec = parse(&source)?;
    let spec = apply_overrides(spec, overrides, &source)?;
    Ok((spec, source))
}

/// Parses and validates spec text.
pub fn parse(source: &Source) -> Result<Spec> {
    let spec: Spec = ron_options()
        .from_str(&source.text)
        .map_err(|e| parse_error(source, e))?;
    check(&spec, source, &BTreeSet::new())?;
    Ok(spec)
}

/// Parses the spec stored with run `run_id` (errors name the run).
pub fn parse_stored(run_id: &str, text: &str) -> Result<Spec> {
    parse(&Source {
        path: PathBuf::from(format!("<run {run_id} spec>")),
        text: text.to_string(),
    })
}

fn parse_error(source: &Source, e: ron::error::SpannedError) -> SpecError {
    let message = e.code.to_string();
    let hint = if message.contains("Unexpected field") || message.contains("unknown field") {
        "remove the field or fix its spelling; the expected names are listed above"
    } else if message.contains("Unexpected variant") || message.contains("unknown variant") {
        "use one of the listed names (they are case-sensitive)"
    } else if message.contains("missing field") || message.contains("Missing") {
        "add the field; see experiments/vanilla.ron for a complete, commented spec"
    } else {
        "check the RON syntax near this position (commas between fields, balanced brackets)"
    };
    SpecError::Parse {
        file: source.path.display().to_string(),
        line: e.span.start.line,
        col: e.span.start.col,
        message,
        hint: hint.to_string(),
    }
}

/// Range and combination checks; `overridden` holds the paths set with `--set`.
fn check(spec: &Spec, source: &Source, overridden: &BTreeSet<String>) -> Result<()> {
    let problems: Vec<Problem> = validate(spec)
        .into_iter()
        .map(|(field, message)| {
            let location = if overridden.contains(&field) {
                format!("--set {field}")
            } else {
                let (line, col) = locate(&source.text, &field);
                format!("{}:{line}:{col}", source.path.display())
            };
            Problem {
                location,
                field,
                message,
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SpecError::Invalid(problems))
    }
}

/// All problems as (field path, message with the fix).
pub fn validate(spec: &Spec) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, msg: String| p.push((field.to_string(), msg));
    if spec.name.trim().is_empty() {
        bad(
            "name",
            "the name is empty; give the run a short name such as \"dcgan-baseline\"".into(),
        );
    }
    let t = &spec.train;
    if t.steps == 0 {
        bad(
            "train.steps",
            "steps is 0; train for at least 1 step (5000 is a good start)".into(),
        );
    }
    if t.batch_size == 0 || t.batch_size > 8192 {
        bad(
            "train.batch_size",
            format!(
                "batch_size is {}; use 1 to 8192 (64 is usual)",
                t.batch_size
            ),
        );
    }
    for (field, lr) in [("train.lr_g", t.lr_g), ("train.lr_d", t.lr_d)] {
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            bad(
                field,
                format!(
                    "learning rate is {lr}; use a positive value up to 1 (2e-4 is usual for Adam)"
                ),
            );
        }
    }
    for (field, beta) in [("train.beta1", t.beta1), ("train.beta2", t.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            bad(
                field,
                format!(
                    "Adam beta is {beta}; use a value in [0, 1) (beta1 0.5, beta2 0.999 are usual for GANs)"
                ),
            );
        }
    }
    // Larger than the run is fine: the grid and the checkpoint are also written at the end.
    if spec.samples.every == 0 {
        bad("samples.every", "samples.every is 0; give a step count such as 500 (a grid is always written at the end)".into());
    }
    if spec.checkpoint.every == 0 {
        bad("checkpoint.every", "checkpoint.every is 0; give a step count such as 1000 (a checkpoint is always written at the end)".into());
    }
    if spec.data.limit == Some(0) {
        bad(
            "data.limit",
            "limit is 0; leave it out to use all images, or give a positive count".into(),
        );
    }
    if let Some(classes) = &spec.data.classes {
        if classes.is_empty() {
            bad(
                "data.classes",
                "the class list is empty; leave it out for all classes or list indices 0-9".into(),
            );
        }
        if let Some(c) = classes.iter().find(|&&c| c > 9) {
            bad(
                "data.classes",
                format!(
                    "class {c} does not exist; Fashion-MNIST classes are 0-9 (0 T-shirt/top ... 9 Ankle boot)"
                ),
            );
        }
    }
    if let Some(eval) = &spec.eval {
        if eval.every == 0 || eval.every > t.steps.max(1) {
            bad(
                "eval.every",
                format!(
                    "eval.every is {} but the run has {} steps; use 1 to {} (an evaluation also runs at the end)",
                    eval.every,
                    t.steps,
                    t.steps.max(1)
                ),
            );
        }
        if !(100..=60_000).contains(&eval.samples) {
            bad(
                "eval.samples",
                format!(
                    "eval.samples is {}; use 100 to 60000 (5000 is a good balance, 10000 for final numbers)",
                    eval.samples
                ),
            );
        }
        if eval.metrics.is_empty() {
            bad("eval.metrics", "no metrics listed; use some of [Fid, Kid, Is, Coverage, PrecisionRecall] or remove eval".into());
        }
    }
    for (field, message) in spec.variant.validate() {
        p.push((format!("variant.{field}"), message));
    }
    p
}

/// Best-effort position of a dotted field path in RON text: the line and
/// column of the last key, searched after its parents. Falls back to the
/// deepest parent found, then to 1:1.
pub fn locate(text: &str, path: &str) -> (usize, usize) {
    let mut from = 0;
    let mut found = None;
    for key in path.split('.') {
        match find_key(&text[from..], key) {
            Some(offset) => {
                from += offset;
                found = Some(from);
                from += key.len();
            }
            None => break,
        }
    }
    line_col(text, found.unwrap_or(0))
}

/// The 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Offset of `key` used as a field name (`key:`), skipping `//` comments.
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.split("//").next().unwrap_or("");
        let mut search = 0;
        while let Some(i) = code[search..].find(key) {
            let at = search + i;
            let before_ok = at == 0
                || !code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_');
            let after = code[at + key.len()..].trim_start();
            if before_ok && after.starts_with(':') {
                return Some(offset + at);
            }
            search = at + key.len();
        }
        offset += line.len();
    }
    None
}

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
        set_path(&mut tree, path, parse_value(raw.trim())).map_err(err)?;
        // Check each override on its own so the error names the right one.
        serde_json::from_value::<Spec>(tree.clone()).map_err(|e| err(e.to_string()))?;
        touched.insert(path.to_string());
    }
    let spec: Spec = serde_json::from_value(tree).map_err(|e| SpecError::Override {
        arg: overrides.join(" "),
        message: e.to_string(),
    })?;
    check(&spec, source, &touched)?;
    Ok(spec)
}

/// An override value: JSON when it parses as JSON, `None`/`Some(x)` as RON
/// writes them, and anything else (such as `Dcgan`) as a bare name.
fn parse_value(raw: &str) -> Value {
    if raw == "None" {
        return Value::Null;
    }
    if let Some(inner) = raw.strip_prefix("Some(").and_then(|r| r.strip_suffix(')')) {
        return parse_value(inner);
    }
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
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

impl Spec {
    /// The experiment this run belongs to.
    pub fn experiment_name(&self) -> &str {
        self.experiment.as_deref().unwrap_or(&self.name)
    }

    /// The spec as canonical RON (what is stored with the run).
    pub fn to_ron(&self) -> String {
        let pretty = ron::ser::PrettyConfig::default().struct_names(false);
        ron_options()
            .to_string_pretty(self, pretty)
            .expect("a spec always serialises")
    }

    /// SHA-256 of the canonical form: equal for equal configurations,
    /// whatever the formatting or comments of the file.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a spec always serialises");
        hex::encode(Sha256::digest(canonical))
    }

    /// The hash of what the run computes: [`Spec::hash`] with the name and
    /// experiment left out (labels, not settings). Sweeps match runs by it.
    pub fn config_hash(&self) -> String {
        let mut bare = self.clone();
        bare.name = String::new();
        bare.experiment = None;
        bare.hash()
    }

    /// Flat `path = value` pairs of every setting, for the params table.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        flatten(
            "",
            &serde_json::to_value(self).expect("a spec always serialises"),
            &mut out,
        );
        out
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let tagged = key.starts_with(|c: char| c.is_ascii_uppercase());
                if tagged && map.len() == 1 {
                    // Enum tag: record the choice, then its fields under the same prefix.
                    out.push((format!("{prefix}kind"), key.clone()));
                    flatten(prefix, v, out);
                } else {
                    flatten(&format!("{prefix}{key}."), v, out);
                }
            }
        }
        Value::String(s) => out.push((prefix.trim_end_matches('.').to_string(), s.clone())),
        Value::Null => out.push((prefix.trim_end_matches('.').to_string(), "None".into())),
        other => out.push((prefix.trim_end_matches('.').to_string(), other.to_string())),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.field, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"// comment
(
    name: "t",
    variant: Vanilla(
        arch: Dcgan,
        loss: Hinge,
    ),
    train: (
        steps: 100,
        batch_size: 8,
    ),
    samples: (every: 50),
    checkpoint: (every: 50),
)
"#;

    fn source(text: &str) -> Source {
        Source {
            path: PathBuf::from("exp.ron"),
            text: text.to_string(),
        }
    }

    fn err_text(text: &str) -> String {
        parse(&source(text)).unwrap_err().to_string()
    }

    #[test]
    fn parses_with_defaults() {
        let spec = parse(&source(GOOD)).unwrap();
        assert_eq!(spec.train.steps, 100);
        assert_eq!(spec.train.lr_g, 2e-4);
        let VariantSpec::Vanilla(v) = &spec.variant else {
            panic!("vanilla")
        };
        assert_eq!(v.loss, gan_lab_variants::Loss::Hinge);
        assert_eq!(v.d_steps, 1);
    }

    #[test]
    fn unknown_field_has_position() {
        let text = GOOD.replace("batch_size: 8", "batch_sise: 8");
        let e = err_text(&text);
        assert!(e.starts_with("exp.ron:10:"), "{e}");
        assert!(e.contains("batch_sise"), "{e}");
    }

    #[test]
    fn unknown_variant_and_loss_are_named() {
        assert!(err_text(&GOOD.replace("Vanilla(", "Vanila(")).contains("Vanila"));
        let e = err_text(&GOOD.replace("Hinge", "Wasserstein"));
        assert!(e.starts_with("exp.ron:6:"), "{e}");
        assert!(e.contains("Wasserstein"), "{e}");
    }

    #[test]
    fn range_errors_point_at_the_field() {
        let e = err_text(&GOOD.replace("batch_size: 8", "batch_size: 0"));
        assert!(
            e.contains("exp.ron:10:9: train.batch_size: batch_size is 0"),
            "{e}"
        );
        let e = err_text(&GOOD.replace("steps: 100", "steps: 100, lr_d: -0.1"));
        assert!(e.contains("train.lr_d: learning rate is -0.1"), "{e}");
        let e = err_text(&GOOD.replace("(every: 50)", "(every: 0)"));
        assert!(e.contains("exp.ron:12:15: samples.every"), "{e}");
        assert!(e.contains("checkpoint.every"), "{e}");
        assert!(parse(&source(&GOOD.replace("(every: 50)", "(every: 500)"))).is_ok());
    }

    #[test]
    fn variant_problems_are_prefixed() {
        let e = err_text(&GOOD.replace(
            "loss: Hinge,",
            "loss: Hinge, label_smoothing: 0.1, d_steps: 0,",
        ));
        assert!(e.contains("variant.d_steps"), "{e}");
        assert!(
            e.contains("variant.label_smoothing: label smoothing needs a loss with labels"),
            "{e}"
        );
    }

    #[test]
    fn overrides_go_through_validation() {
        let src = source(GOOD);
        let spec = parse(&src).unwrap();
        let set = |args: &[&str]| {
            apply_overrides(
                spec.clone(),
                &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &src,
            )
        };
        let s = set(&[
            "train.steps=200",
            "variant.loss=WganGp",
            "variant.arch=Mlp",
            "data.limit=100",
        ])
        .unwrap();
        assert_eq!(s.train.steps, 200);
        assert_eq!(s.data.limit, Some(100));
        let VariantSpec::Vanilla(v) = &s.variant else {
            panic!("vanilla")
        };
        assert_eq!(
            (v.loss, v.arch),
            (gan_lab_variants::Loss::WganGp, gan_lab_variants::Arch::Mlp)
        );

        let e = set(&["train.stepz=1"]).unwrap_err().to_string();
        assert!(
            e.contains("--set train.stepz=1") && e.contains("no field `stepz`"),
            "{e}"
        );
        let e = set(&["train.steps=abc"]).unwrap_err().to_string();
        assert!(
            e.contains("--set train.steps=abc") && e.contains("invalid type"),
            "{e}"
        );
        let e = set(&["train.batch_size=0"]).unwrap_err().to_string();
        assert!(
            e.contains("--set train.batch_size: train.batch_size: batch_size is 0"),
            "{e}"
        );
        let e = set(&["variant.loss=Nope"]).unwrap_err().to_string();
        assert!(e.contains("unknown variant `Nope`"), "{e}");
        assert!(
            set(&["train.steps"])
                .unwrap_err()
                .to_string()
                .contains("expected path=value")
        );
    }

    #[test]
    fn canonical_form_round_trips_and_hash_ignores_formatting() {
        let spec = parse(&source(GOOD)).unwrap();
        let again = parse(&source(&spec.to_ron())).unwrap();
        assert_eq!(spec, again);
        assert_eq!(spec.hash(), again.hash());
        let changed = parse(&source(&GOOD.replace("steps: 100", "steps: 101"))).unwrap();
        assert_ne!(spec.hash(), changed.hash());
    }

    #[test]
    fn params_are_flat() {
        let params = parse(&source(GOOD)).unwrap().params();
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("variant.kind").as_deref(), Some("Vanilla"));
        assert_eq!(get("variant.arch").as_deref(), Some("Dcgan"));
        assert_eq!(get("train.batch_size").as_deref(), Some("8"));
        assert_eq!(get("data.limit").as_deref(), Some("None"));
    }
}
