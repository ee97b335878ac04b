//! Experiment specs: RON text to a validated [`Spec`], nothing acts yet.
//!
//! Parsing rejects unknown fields and reports `file:line:column`; validation
//! checks ranges and combinations and points at the offending field in the
//! file (or at the `--set` that changed it). `--set path=value` overrides go
//! through the same typed deserialisation and validation as the file, their
//! values read with the file's RON options. `gan-lab check` also takes sweep
//! specs, which the sweep part expands. The RON handling both share
//! (options, bounded reads, key positions) lives in [`ron_text`].
//!
//! May import: nothing of the crate (the variants crate for the variant
//! section).

mod checks;
mod overrides;
pub mod ron_text;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use gan_lab_variants::VariantSpec;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use checks::validate;
pub use overrides::apply_overrides;
pub use ron_text::{Located, MAX_SPEC_BYTES, Place, ReadError, line_col, locate, offset_of};

use checks::check;

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
    /// Also keep the checkpoint of every step that is a multiple of this
    /// (a multiple of `every`), for `--checkpoint STEP`; `None` keeps only
    /// `last` and `best`.
    pub keep_every: Option<u64>,
}

impl Default for CheckpointSpec {
    fn default() -> Self {
        Self {
            every: 1000,
            keep_every: None,
        }
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
    #[error(transparent)]
    Read(#[from] ron_text::ReadError),
    /// The text is not a spec: RON syntax, an unknown field or variant.
    #[error(transparent)]
    Parse(Located),
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

/// Keys of a spec that label a run rather than configure it: runs that
/// differ only in these compute the same thing ([`Spec::config_hash`] leaves
/// them out, and a sweep cannot vary them). The report and sweep ranking
/// also treat `train.seed` as "not a configuration" (repeats of one).
pub const LABEL_KEYS: [&str; 2] = ["name", "experiment"];

/// The longest run, experiment or sweep name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// Why `name` cannot label a run (or an experiment, or a sweep), if it cannot:
/// empty, longer than [`MAX_NAME_CHARS`], or holding control characters.
pub fn name_problem(name: &str, max_chars: usize) -> Option<String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Some("the name is empty; give a short one, such as \"dcgan-baseline\"".into())
    } else if chars > max_chars {
        Some(format!(
            "the name is {chars} characters long; use at most {max_chars}"
        ))
    } else if name.chars().any(char::is_control) {
        Some("the name holds a control character (a newline, tab or escape); use printable characters only".into())
    } else {
        None
    }
}

/// Reads, parses and validates a spec file, then applies `--set` overrides.
pub fn load(path: &Path, overrides: &[String]) -> Result<(Spec, Source)> {
    let source = Source {
        path: path.to_path_buf(),
        text: ron_text::read(path)?,
    };
    let spec = parse(&source)?;
    let spec = apply_overrides(spec, overrides, &source)?;
    Ok((spec, source))
}

/// Whether spec text is a sweep: it parses with a top-level `base` field.
pub fn is_sweep(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        base: Option<serde::de::IgnoredAny>,
    }
    ron_text::options()
        .from_str::<Probe>(text)
        .is_ok_and(|p| p.base.is_some())
}

/// Parses and validates spec text.
pub fn parse(source: &Source) -> Result<Spec> {
    let spec: Spec = ron_text::options()
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
    let hint = match &e.code {
        ron::Error::NoSuchStructField { found, .. } if found == "base" => {
            "this looks like a sweep spec (it names a `base`): run it with `gan-lab sweep`"
        }
        ron::Error::NoSuchStructField { .. } => {
            "remove the field or fix its spelling; the expected names are listed above"
        }
        ron::Error::NoSuchEnumVariant { .. } => {
            "use one of the listed names (they are case-sensitive)"
        }
        ron::Error::MissingStructField { .. } => {
            "add the field; see experiments/vanilla.ron for a complete, commented spec"
        }
        _ => "check the RON syntax near this position (commas between fields, balanced brackets)",
    };
    SpecError::Parse(Located {
        place: Place::of_ron(&source.path, &e),
        message: format!("{}\n  hint: {hint}", e.code),
    })
}

impl Spec {
    /// The experiment this run belongs to.
    pub fn experiment_name(&self) -> &str {
        self.experiment.as_deref().unwrap_or(&self.name)
    }

    /// The spec as canonical RON (what is stored with the run).
    pub fn to_ron(&self) -> String {
        let pretty = ron::ser::PrettyConfig::default().struct_names(false);
        ron_text::options()
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
        let mut tree = serde_json::to_value(self).expect("a spec always serialises");
        if let Value::Object(map) = &mut tree {
            for key in LABEL_KEYS {
                map.remove(key);
            }
        }
        let canonical = serde_json::to_vec(&tree).expect("a value serialises");
        hex::encode(Sha256::digest(canonical))
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

/// A number as the spec wrote it: an `f32` field (Adam's betas) widened to
/// `f64` by serde_json prints as its shortest `f32` form, `0.999` rather
/// than `0.9990000128746033`.
fn number(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(v) if n.is_f64() && f64::from(v as f32) == v => {
            let short = (v as f32).to_string();
            // Keep a float looking like one (`10.0`, not `10`), as serde_json writes it.
            if short.contains(['.', 'e', 'i', 'N']) {
                short
            } else {
                short + ".0"
            }
        }
        _ => n.to_string(),
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
        Value::Number(n) => out.push((prefix.trim_end_matches('.').to_string(), number(n))),
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
    fn kept_checkpoints_are_multiples_of_the_cadence() {
        let keep = |k: &str| {
            GOOD.replace(
                "checkpoint: (every: 50)",
                &format!("checkpoint: (every: 50, keep_every: {k})"),
            )
        };
        let e = err_text(&keep("Some(75)"));
        assert!(
            e.contains("exp.ron:13:29: checkpoint.keep_every: keep_every is 75, which is not a positive multiple of checkpoint.every (50)"),
            "{e}"
        );
        assert!(err_text(&keep("Some(0)")).contains("checkpoint.keep_every"));
        let spec = parse(&source(&keep("Some(100)"))).unwrap();
        assert_eq!(spec.checkpoint.keep_every, Some(100));
        assert_eq!(parse(&source(GOOD)).unwrap().checkpoint.keep_every, None);
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
    fn class_sets_must_lie_inside_data_classes() {
        let text = "(name: \"c\", variant: CycleGan(domain_a: [7], domain_b: [9]),\n data: (classes: Some([7, 8])))";
        let e = err_text(text);
        assert!(
            e.contains("exp.ron:1:")
                && e.contains("variant.domain_b: class 9 is not among data.classes"),
            "{e}"
        );
        let fine = text.replace("[7, 8]", "[7, 9]");
        assert!(parse(&source(&fine)).is_ok());
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
        // f32 settings read as written, not widened to f64.
        assert_eq!(get("train.beta2").as_deref(), Some("0.999"));
        assert_eq!(get("train.lr_g").as_deref(), Some("0.0002"));
    }

    fn set_on(spec: &Spec, src: &Source, args: &[&str]) -> Result<Spec> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        apply_overrides(spec.clone(), &args, src)
    }

    #[test]
    fn set_takes_values_as_the_file_writes_them() {
        let src = source(GOOD);
        let spec = parse(&src).unwrap();
        let set = |args: &[&str]| set_on(&spec, &src, args);

        // Enum lists (the eval section is off in GOOD: setting a field turns it on).
        let s = set(&["eval.metrics=[Fid, Kid]", "eval.every=50"]).unwrap();
        assert_eq!(s.eval.unwrap().metrics, vec![Metric::Fid, Metric::Kid]);
        let s = set(&["eval.metrics=[PrecisionRecall]", "eval.every=50"]).unwrap();
        let eval = s.eval.unwrap();
        assert_eq!(
            (eval.metrics, eval.every),
            (vec![Metric::PrecisionRecall], 50)
        );
        // The params table's JSON form works too.
        let s = set(&[r#"eval.metrics=["Is"]"#, "eval.every=50"]).unwrap();
        assert_eq!(s.eval.unwrap().metrics, vec![Metric::Is]);

        // Options: explicit Some, implicit Some (as the file allows), None.
        for value in ["Some([7, 9])", "[7,9]", "Some([7,9,])"] {
            let s = set(&[&format!("data.classes={value}")]).unwrap();
            assert_eq!(s.data.classes, Some(vec![7, 9]), "{value}");
        }
        let s = set(&["data.limit=Some(500)", "data.classes=None"]).unwrap();
        assert_eq!((s.data.limit, s.data.classes), (Some(500), None));

        // Whole nested values: sections and enum variants with fields.
        let s = set(&["train=(steps: 30, lr_d: 1e-3)"]).unwrap();
        assert_eq!((s.train.steps, s.train.lr_d), (30, 1e-3));
        assert_eq!(s.train.batch_size, TrainSpec::default().batch_size);
        let s = set(&["eval=Some((every: 20, samples: 200, metrics: [Coverage]))"]).unwrap();
        assert_eq!(
            s.eval,
            Some(EvalSpec {
                every: 20,
                samples: 200,
                metrics: vec![Metric::Coverage]
            })
        );
        assert_eq!(set(&["eval=None"]).unwrap().eval, None);
        let s = set(&["variant=Conditional(arch: Mlp, conditioning: Projection, loss: Hinge)"])
            .unwrap();
        assert_eq!(s.variant.kind(), "conditional");
        assert!(
            s.variant.describe().contains("projection"),
            "{}",
            s.variant.describe()
        );
        let s = set(&["variant=Vanilla((arch: Mlp, loss: LeastSquares))"]).unwrap();
        assert_eq!(s.variant.describe(), "mlp / least_squares");

        // Strings: quoted as in the file, or a bare word.
        let s = set(&[r#"name="a b, c""#, "experiment=Some(\"grp\")"]).unwrap();
        assert_eq!((s.name.as_str(), s.experiment_name()), ("a b, c", "grp"));
        assert_eq!(set(&["name=my-run"]).unwrap().name, "my-run");
        assert_eq!(set(&["experiment=None"]).unwrap().experiment, None);

        // A malformed value that was meant as RON says so.
        let e = set(&["eval.every=50", "eval.metrics=[Fid,"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--set eval.metrics=[Fid,") && e.contains("is not RON"),
            "{e}"
        );
        let e = set(&["eval.every=50", "eval.metrics=[Fid, Kdi]"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `Kdi`"), "{e}");
    }

    fn experiments() -> Vec<(PathBuf, Spec)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let mut specs: Vec<(PathBuf, Spec)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "ron"))
            .filter(|path| !is_sweep(&std::fs::read_to_string(path).unwrap()))
            .map(|path| {
                let spec = load(&path, &[]).unwrap().0;
                (path, spec)
            })
            .collect();
        specs.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(specs.len() >= 2, "experiments/ holds experiment specs");
        specs
    }

    /// `--set` arguments for every field of `spec`, from its params table
    /// (`variant.kind` is a column of the table, not a field).
    fn params_as_set(spec: &Spec) -> Vec<String> {
        spec.params()
            .into_iter()
            // `kind` columns name an enum's choice (`variant.kind`,
            // `variant.generator.kind`); they are not fields.
            .filter(|(key, _)| !key.ends_with(".kind") && key != "kind")
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }

    #[test]
    fn every_field_of_the_experiments_can_be_set_to_its_value() {
        for (path, spec) in experiments() {
            let args = params_as_set(&spec);
            assert!(args.len() > 10, "{}: {args:?}", path.display());
            for arg in &args {
                let (again, _) = load(&path, std::slice::from_ref(arg))
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(again, spec, "{}: --set {arg}", path.display());
            }
            assert_eq!(load(&path, &args).unwrap().0, spec, "{}", path.display());
        }
    }

    #[test]
    fn set_turns_one_experiment_into_another() {
        let specs = experiments();
        for (from_path, from) in &specs {
            let source = Source {
                path: from_path.clone(),
                text: std::fs::read_to_string(from_path).unwrap(),
            };
            for (to_path, to) in &specs {
                // The variant as a whole value (as RON writes it), then every field.
                let variant = ron_text::options().to_string(&to.variant).unwrap();
                let mut args = vec![format!("variant={variant}")];
                args.extend(params_as_set(to));
                let got = apply_overrides(from.clone(), &args, &source)
                    .unwrap_or_else(|e| panic!("{from_path:?} -> {to_path:?}: {e}"));
                assert_eq!(&got, to, "{from_path:?} -> {to_path:?}");
            }
        }
    }

    #[test]
    fn names_are_bounded_and_printable() {
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        let e = err_text(&GOOD.replace("\"t\"", &format!("\"{long}\"")));
        assert!(
            e.contains("exp.ron:3:5: name: the name is 129 characters long; use at most 128"),
            "{e}"
        );
        assert!(
            parse(&source(
                &GOOD.replace("\"t\"", &format!("\"{}\"", &long[1..]))
            ))
            .is_ok()
        );
        let e = err_text(&GOOD.replace("\"t\"", r#""a\tb""#));
        assert!(
            e.contains("exp.ron:3:5: name: the name holds a control character"),
            "{e}"
        );
        let e = err_text(&GOOD.replace(
            "name: \"t\",",
            "name: \"t\",\n experiment: \"\\u{1b}[31m\",",
        ));
        assert!(
            e.contains("exp.ron:4:2: experiment: the name holds a control"),
            "{e}"
        );
        let spec = parse(&source(GOOD)).unwrap();
        let e = set_on(&spec, &source(GOOD), &[&format!("name={long}")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--set name: name: the name is 129 characters"),
            "{e}"
        );
    }

    #[test]
    fn config_hash_leaves_out_the_labels_only() {
        let spec = parse(&source(GOOD)).unwrap();
        let mut other = spec.clone();
        other.name = "other".into();
        other.experiment = Some("group".into());
        assert_eq!(spec.config_hash(), other.config_hash());
        assert_ne!(spec.hash(), other.hash());
        other.train.seed += 1;
        assert_ne!(spec.config_hash(), other.config_hash());
    }

    #[test]
    fn large_spec_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.ron");
        let mut text = GOOD.to_string();
        text += &"// padding\n".repeat(MAX_SPEC_BYTES as usize / 11 + 1);
        std::fs::write(&path, &text).unwrap();
        let e = load(&path, &[]).unwrap_err().to_string();
        assert!(
            e.contains("huge.ron") && e.contains("1048576 bytes (1 MiB)"),
            "{e}"
        );
        text.truncate(MAX_SPEC_BYTES as usize);
        std::fs::write(&path, &text).unwrap();
        assert!(load(&path, &[]).is_ok());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed};

        fn config() -> Config {
            Config {
                cases: 256,
                rng_seed: RngSeed::Fixed(0x5eed),
                failure_persistence: None,
                ..Config::default()
            }
        }

        /// `text` with the bytes from `at` (`len` of them) replaced by `insert`,
        /// both ends moved back to character boundaries.
        fn mutate(text: &str, at: usize, len: usize, insert: &str) -> String {
            let floor = |mut i: usize| {
                i = i.min(text.len());
                while !text.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            let start = floor(at);
            let end = floor(start + len).max(start);
            format!("{}{insert}{}", &text[..start], &text[end..])
        }

        const PIECES: &str =
            "[(){}\\[\\],:\"/ \n0-9a-zA-Z_.+-]{0,12}|None|Some\\(|r#\"|1e999|NaN|-1|\\u{e9}";

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn parse_never_panics_on_any_text(text in "\\PC{0,300}") {
                let _ = parse(&source(&text));
            }

            #[test]
            fn parse_never_panics_on_mutated_specs(
                which in 0usize..4,
                at in 0usize..2000,
                len in 0usize..40,
                insert in PIECES,
            ) {
                let texts = [
                    GOOD,
                    include_str!("../../experiments/vanilla.ron"),
                    include_str!("../../experiments/dcgan.ron"),
                    include_str!("../../experiments/cgan.ron"),
                ];
                let text = mutate(texts[which], at, len, &insert);
                if let Ok(spec) = parse(&source(&text)) {
                    // What parses is valid, and its canonical form reads back the same.
                    prop_assert!(validate(&spec).is_empty());
                    let again = parse(&source(&spec.to_ron())).unwrap();
                    prop_assert_eq!(again.hash(), spec.hash());
                }
            }

            #[test]
            fn set_never_panics(
                path in "(name|experiment|variant|train|data|eval|samples|checkpoint)(\\.[a-z_]{1,12}){0,2}|\\PC{0,20}",
                value in prop_oneof![PIECES, "\\PC{0,40}"],
            ) {
                let src = source(GOOD);
                let spec = parse(&src).unwrap();
                if let Ok(set) = apply_overrides(spec, &[format!("{path}={value}")], &src) {
                    prop_assert!(validate(&set).is_empty());
                }
            }
        }
    }
}
