//! Sweep specs: a base experiment plus the parameters to vary, expanded into
//! the list of runs to train. Nothing is trained or recorded here.
//!
//! Parameters are addressed by the same paths as `--set` (`train.lr_d`,
//! `variant.loss`), and every value goes through the same typed checks as an
//! override, so a bad path or value is reported at its place in the sweep
//! file. Expansion is deterministic: the same file gives the same runs, in
//! the same order, with the same configuration hashes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ron::value::RawValue;
use serde::{Deserialize, Serialize};

use super::values::{grid_points, raw};
use crate::eval::scoring;
use crate::spec::ron_text::{self, Located, Place, ReadError};
use crate::spec::{self, Spec};

/// A sweep, as written in `experiments/sweep-*.ron`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The sweep's name; it is also its id, so rerunning it continues it.
    pub name: String,
    /// The experiment spec every run starts from (relative to the sweep file).
    pub base: PathBuf,
    /// Settings applied to every run, as with `--set`.
    #[serde(default)]
    pub set: BTreeMap<String, Box<RawValue>>,
    /// Every combination of these values is a configuration.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<Box<RawValue>>>,
    /// Random draws, combined with each grid configuration.
    #[serde(default)]
    pub random: Option<RandomSpec>,
    /// Every configuration runs once per seed (`train.seed`); empty keeps the base's seed.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// The evaluation score that ranks configurations, such as `fid`;
    /// without one, the base variant's objective (expansion fills it in).
    #[serde(default)]
    pub score: String,
    /// Stop runs whose score trails the others (median rule).
    #[serde(default)]
    pub stopping: Option<MedianRule>,
}

/// Random search: `trials` draws of every parameter in `params`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RandomSpec {
    pub trials: usize,
    /// Seed of the draws (not of training).
    #[serde(default)]
    pub seed: u64,
    pub params: BTreeMap<String, Distribution>,
}

/// Where a random parameter is drawn from.
#[derive(Deserialize, Debug, Clone)]
pub enum Distribution {
    /// Uniform in `[low, high]`.
    Uniform(f64, f64),
    /// Uniform in the logarithm, `[low, high]` with `0 < low`: for learning rates.
    LogUniform(f64, f64),
    /// An integer in `low..=high`.
    IntRange(i64, i64),
    /// One of the listed values.
    Choice(Vec<Box<RawValue>>),
}

/// The median stopping rule: after an evaluation at step `s` (from
/// `after_step` on), a run whose score is worse than the median of the other
/// runs' scores at `s` stops, provided at least `min_runs` others have one.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MedianRule {
    pub after_step: u64,
    pub min_runs: usize,
}

impl Default for MedianRule {
    fn default() -> Self {
        Self {
            after_step: 0,
            min_runs: 3,
        }
    }
}

/// One run of the expanded sweep.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// Position in the sweep, from 0.
    pub index: usize,
    /// The configuration (the values without the seed), from 0.
    pub config: usize,
    /// The swept values of this configuration, `(path, value)`, without the seed.
    pub values: Vec<(String, String)>,
    pub seed: u64,
    /// The `--set` arguments that turn the base spec into this run's spec.
    pub overrides: Vec<String>,
    pub spec: Spec,
}

/// A sweep ready to run: the spec, its text, the base path and the runs.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub spec: SweepSpec,
    pub path: PathBuf,
    pub text: String,
    /// The base experiment, resolved against the sweep file's folder.
    pub base: PathBuf,
    pub runs: Vec<PlannedRun>,
    /// Whether a lower score is better.
    pub lower_is_better: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SweepSpecError {
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A problem at a place in the sweep file.
    #[error(transparent)]
    At(Located),
}

type Result<T, E = SweepSpecError> = std::result::Result<T, E>;

/// The longest sweep name, in characters: half a run name, so that the run
/// names made from it and the swept values usually fit.
pub const MAX_SWEEP_NAME_CHARS: usize = spec::MAX_NAME_CHARS / 2;

/// The most runs one sweep may expand to.
pub const MAX_RUNS: usize = 10_000;

/// Reads a sweep file and expands it into runs.
pub fn load(path: &Path) -> Result<Sweep> {
    let text = ron_text::read(path)?;
    expand(path, &text)
}

/// Parses sweep text (from `path`, for messages and the base path) and
/// expands it into runs.
pub fn expand(path: &Path, text: &str) -> Result<Sweep> {
    let at = |offset: usize, message: String| {
        SweepSpecError::At(Located {
            place: Place::at(path, text, offset),
            message,
        })
    };
    let mut spec: SweepSpec = ron_text::options().from_str(text).map_err(|e| {
        SweepSpecError::At(Located {
            place: Place::of_ron(path, &e),
            message: format!(
                "{}\n  hint: a sweep names `base`, `score` and what to vary (`grid`, `random`, `seeds`); see experiments/sweep-lr.ron",
                e.code
            ),
        })
    })?;
    let field = |name: &str| ron_text::offset_of(text, &[name]);
    let key_offset =
        |section: &str, key: &str| ron_text::offset_of(text, &[section, &format!("\"{key}\"")]);
    let name_problem = spec::name_problem(&spec.name, MAX_SWEEP_NAME_CHARS).or_else(|| {
        spec.name
            .contains(['/', '\\'])
            .then(|| "it holds a slash, but it names a folder of sweep logs; use a name such as \"sweep-lr\"".to_string())
    });
    if let Some(problem) = name_problem {
        return Err(at(
            field("name"),
            format!(
                "sweep name `{}` is not usable: {problem}",
                spec.name.escape_debug()
            ),
        ));
    }
    // The name also names the sweep's log folder.
    if let Err(e) = crate::util::paths::component(&spec.name) {
        return Err(at(field("name"), format!("sweep name: {e}")));
    }
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| spec.base.clone(), |dir| dir.join(&spec.base));
    let (base_spec, base_source) = spec::load(&base, &[]).map_err(|e| {
        at(
            field("base"),
            format!(
                "base experiment {}: {e}\n  hint: `base` is relative to the sweep file's folder",
                base.display()
            ),
        )
    })?;

    // The fixed settings, then each swept value on its own, so an error names one place.
    let fixed: Vec<String> = spec
        .set
        .iter()
        .map(|(path, value)| format!("{path}={}", raw(value)))
        .collect();
    // Fixed settings may depend on each other (steps and eval.every), so
    // they apply together; an error points at the key it names.
    let with_fixed =
        spec::apply_overrides(base_spec.clone(), &fixed, &base_source).map_err(|e| {
            let message = e.to_string();
            let place = spec
                .set
                .keys()
                .find(|key| message.contains(key.as_str()))
                .map_or_else(|| field("set"), |key| key_offset("set", key));
            at(place, format!("set: {message}"))
        })?;
    let check = |section: &str, key: &str, value: &str| {
        spec::apply_overrides(
            with_fixed.clone(),
            &[format!("{key}={value}")],
            &base_source,
        )
        .map(|_| ())
        .map_err(|e| {
            at(
                key_offset(section, key),
                format!("{section} \"{key}\": {e}"),
            )
        })
    };
    let total = spec
        .grid
        .values()
        .map(Vec::len)
        .chain(spec.random.as_ref().map(|r| r.trials))
        .chain([spec.seeds.len().max(1)])
        .try_fold(1usize, usize::checked_mul)
        .filter(|&n| n <= MAX_RUNS);
    if total.is_none() {
        return Err(at(
            field(if spec.grid.is_empty() {
                "random"
            } else {
                "grid"
            }),
            format!(
                "the sweep expands to more than {MAX_RUNS} runs (grid values x random trials x seeds); narrow it or split it into several sweeps"
            ),
        ));
    }
    for (key, values) in &spec.grid {
        if values.is_empty() {
            return Err(at(
                key_offset("grid", key),
                format!("grid \"{key}\" lists no values; list at least one, or remove it"),
            ));
        }
        if let Some(why) = not_sweepable(key) {
            return Err(at(key_offset("grid", key), format!("grid \"{key}\" {why}")));
        }
        for value in values {
            check("grid", key, raw(value))?;
        }
    }
    let draws = match &spec.random {
        Some(random) => {
            if random.trials == 0 || random.params.is_empty() {
                return Err(at(
                    field("random"),
                    "random search needs trials >= 1 and at least one parameter under `params`"
                        .into(),
                ));
            }
            for (key, dist) in &random.params {
                if let Some(why) = not_sweepable(key) {
                    return Err(at(key_offset("params", key), format!("\"{key}\" {why}")));
                }
                if spec.grid.contains_key(key) {
                    return Err(at(
                        key_offset("params", key),
                        format!("\"{key}\" is both in `grid` and in `random`; keep it in one"),
                    ));
                }
                dist.check()
                    .map_err(|m| at(key_offset("params", key), format!("\"{key}\": {m}")))?;
                // The bounds (or every choice) must be valid values of the field.
                for value in dist.examples() {
                    check("params", key, &value)?;
                }
            }
            (0..random.trials)
                .map(|trial| random.draw(trial))
                .collect::<Vec<_>>()
        }
        None => vec![Vec::new()],
    };
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = spec.seeds.iter().find(|s| !seen.insert(**s)) {
        return Err(at(
            field("seeds"),
            format!("seed {dup} is listed twice; each seed once"),
        ));
    }
    if spec.score.is_empty() {
        spec.score = default_score(&with_fixed).ok_or_else(|| {
            at(
                field("base"),
                "the sweep names no `score`, and the base spec evaluates nothing its variant ranks by; name one here, such as score: \"is\", or add Fid to the base's eval.metrics".into(),
            )
        })?;
    }
    let score = scoring::rankable(&spec.score).ok_or_else(|| {
        at(
            field("score"),
            format!(
                "unknown score `{}`; use one of: {}",
                spec.score,
                scoring::RANKABLE
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;
    match &with_fixed.eval {
        None => {
            return Err(at(
                field("score"),
                format!(
                    "ranking by `{}` needs evaluations, but the base spec has no `eval` section; add one to it, or set it here: set: {{\"eval.every\": 500}}",
                    spec.score
                ),
            ));
        }
        Some(eval) => {
            if let Some(metric) = score.needs
                && !eval.metrics.contains(&metric)
            {
                return Err(at(
                    field("score"),
                    format!(
                        "`{}` comes from the {metric:?} metric, which the base spec's eval.metrics leaves out; add it there",
                        spec.score
                    ),
                ));
            }
        }
    }

    let grid = grid_points(&spec.grid);
    let seeds: Vec<Option<u64>> = if spec.seeds.is_empty() {
        vec![None]
    } else {
        spec.seeds.iter().copied().map(Some).collect()
    };
    let mut runs = Vec::new();
    let mut config = 0;
    for point in &grid {
        for draw in &draws {
            let values: Vec<(String, String)> = point.iter().chain(draw).cloned().collect();
            for seed in &seeds {
                let seed_value = seed.unwrap_or(with_fixed.train.seed);
                let name = run_name(&spec.name, config, &values, seed_value);
                let mut overrides = fixed.clone();
                overrides.extend(values.iter().map(|(k, v)| format!("{k}={v}")));
                if let Some(seed) = seed {
                    overrides.push(format!("train.seed={seed}"));
                }
                overrides.push(format!(
                    "name={}",
                    serde_json::to_string(&name).expect("a string serialises")
                ));
                // The runs stay in the base's experiment (a spec without one
                // is its own, named after it), not one per run name.
                if with_fixed.experiment.is_none() {
                    overrides.push(format!(
                        "experiment={}",
                        serde_json::to_string(with_fixed.experiment_name())
                            .expect("a string serialises")
                    ));
                }
                let run_spec = spec::apply_overrides(base_spec.clone(), &overrides, &base_source)
                    .map_err(|e| {
                    at(
                        field("grid"),
                        format!("the combination for run `{name}` is not valid: {e}"),
                    )
                })?;
                runs.push(PlannedRun {
                    index: runs.len(),
                    config,
                    values: values.clone(),
                    seed: seed_value,
                    overrides,
                    spec: run_spec,
                });
            }
            config += 1;
        }
    }
    if let Some(rule) = &spec.stopping
        && rule.min_runs == 0
    {
        return Err(at(
            field("stopping"),
            "stopping.min_runs is 0; the median of no runs means nothing: use 3 or more".into(),
        ));
    }
    Ok(Sweep {
        lower_is_better: score.lower_is_better(),
        spec,
        path: path.to_path_buf(),
        text: text.to_string(),
        base,
        runs,
    })
}

/// The score a sweep without one ranks by: the base variant's objective
/// among the scores its `eval` section produces.
fn default_score(base: &Spec) -> Option<String> {
    scoring::objective(base).map(|o| o.key.into_owned())
}

/// Why `key` cannot be swept, if it cannot: labels name each run after its
/// values, and seeds have their own list.
fn not_sweepable(key: &str) -> Option<&'static str> {
    if spec::LABEL_KEYS.contains(&key) {
        Some("is a label, not a setting: each run is named after the sweep and its values")
    } else if key == "train.seed" {
        Some("cannot be swept here; list seeds under `seeds`")
    } else {
        None
    }
}

/// `<sweep> lr_d=0.0001 d_steps=2 seed=1`: the last part of each path; when
/// that is longer than a run name may be, `<sweep> config=3 seed=1`.
fn run_name(sweep: &str, config: usize, values: &[(String, String)], seed: u64) -> String {
    let mut name = sweep.to_string();
    for (key, value) in values {
        let short = key.rsplit('.').next().unwrap_or(key);
        name += &format!(" {short}={value}");
    }
    name += &format!(" seed={seed}");
    if name.chars().count() > spec::MAX_NAME_CHARS {
        name = format!("{sweep} config={config} seed={seed}");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "(name: \"base\", variant: Vanilla(arch: Mlp, loss: NonSaturating),\n \
        train: (steps: 100, batch_size: 8), samples: (every: 50), checkpoint: (every: 50),\n \
        eval: (every: 50, samples: 100, metrics: [Fid, Is]))\n";

    /// Expands sweep `text` next to the base spec in a fresh folder.
    fn expand_text(text: &str) -> Result<Sweep> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.ron"), BASE).unwrap();
        let path = dir.path().join("sweep.ron");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    fn err(text: &str) -> String {
        let e = expand_text(text).unwrap_err().to_string();
        // Paths differ per temp folder: keep what follows the file name.
        e[e.find("sweep.ron").unwrap()..].to_string()
    }

    #[test]
    fn grid_times_seeds_in_order() {
        let sweep = expand_text(
            "(name: \"g\", base: \"base.ron\",\n set: {\"train.steps\": 60, \"eval.every\": 30},\n \
             grid: {\"train.lr_d\": [1e-4, 2e-4, 4e-4], \"variant.loss\": [Hinge, LeastSquares]},\n \
             seeds: [7, 8], score: \"fid\")",
        )
        .unwrap();
        assert_eq!(sweep.runs.len(), 3 * 2 * 2);
        assert!(sweep.lower_is_better);
        let first = &sweep.runs[0];
        assert_eq!(
            first.values,
            vec![
                ("train.lr_d".to_string(), "1e-4".to_string()),
                ("variant.loss".to_string(), "Hinge".to_string())
            ]
        );
        assert_eq!((first.config, first.seed), (0, 7));
        assert_eq!(first.spec.train.steps, 60);
        assert_eq!(first.spec.train.lr_d, 1e-4);
        assert_eq!(first.spec.name, "g lr_d=1e-4 loss=Hinge seed=7");
        assert_eq!(
            first.spec.experiment_name(),
            "base",
            "the base's experiment"
        );
        let last = sweep.runs.last().unwrap();
        assert_eq!((last.config, last.seed, last.spec.train.lr_d), (5, 8, 4e-4));
        assert_eq!(
            last.spec.variant.describe(),
            sweep.runs[1]
                .spec
                .variant
                .describe()
                .replace("hinge", "least_squares")
        );
        // Every run is a distinct configuration, and the expansion is repeatable.
        let hashes: std::collections::BTreeSet<String> =
            sweep.runs.iter().map(|r| r.spec.hash()).collect();
        assert_eq!(hashes.len(), 12);
        let again = expand_text(&sweep.text).unwrap();
        assert_eq!(
            again.runs.iter().map(|r| r.spec.hash()).collect::<Vec<_>>(),
            sweep.runs.iter().map(|r| r.spec.hash()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn without_a_score_the_base_variants_objective_ranks() {
        let sweep =
            expand_text("(name: \"d\", base: \"base.ron\", grid: {\"train.lr_d\": [1e-4]})")
                .unwrap();
        assert_eq!(sweep.spec.score, "fid");
        assert!(sweep.lower_is_better);
        let e = err(
            "(name: \"d\", base: \"base.ron\",\n set: {\"eval.metrics\": [Is]},\n grid: {\"train.lr_d\": [1e-4]})",
        );
        assert!(
            e.starts_with("sweep.ron:1:13:") && e.contains("names no `score`"),
            "{e}"
        );
    }

    #[test]
    fn random_draws_are_seeded_and_within_range() {
        let text = |seed: u64, trials: usize| {
            format!(
                "(name: \"r\", base: \"base.ron\",\n random: (trials: {trials}, seed: {seed}, params: {{\n \
                 \"train.lr_g\": LogUniform(1e-5, 1e-3),\n \"train.beta1\": Uniform(0.0, 0.9),\n \
                 \"variant.g_steps\": IntRange(1, 3),\n \"variant.loss\": Choice([Hinge, NonSaturating]) }}),\n \
                 seeds: [1, 2], score: \"is\")"
            )
        };
        let a = expand_text(&text(5, 6)).unwrap();
        assert_eq!(a.runs.len(), 12);
        assert!(!a.lower_is_better, "IS: higher is better");
        for run in &a.runs {
            let s = &run.spec;
            assert!((1e-5..=1e-3).contains(&s.train.lr_g), "{}", s.train.lr_g);
            assert!((0.0..=0.9).contains(&s.train.beta1));
            let text = s.to_ron();
            assert!(text.contains("Hinge") || text.contains("NonSaturating"));
        }
        let values = |s: &Sweep| s.runs.iter().map(|r| r.values.clone()).collect::<Vec<_>>();
        assert_eq!(
            values(&a),
            values(&expand_text(&text(5, 6)).unwrap()),
            "same seed, same draws"
        );
        assert_ne!(
            values(&a),
            values(&expand_text(&text(6, 6)).unwrap()),
            "another seed, other draws"
        );
        // More trials keep the earlier ones.
        let more = expand_text(&text(5, 8)).unwrap();
        assert_eq!(values(&more)[..12], values(&a)[..]);
        // The seeds of one configuration share its values.
        assert_eq!(a.runs[0].values, a.runs[1].values);
        assert_ne!(a.runs[0].values, a.runs[2].values);
    }

    #[test]
    fn errors_point_at_the_place() {
        let e = err(
            "(name: \"e\", base: \"base.ron\",\n grid: {\"train.lr\": [1e-4]},\n score: \"fid\")",
        );
        assert!(e.starts_with("sweep.ron:2:9: grid \"train.lr\""), "{e}");
        assert!(e.contains("has no field `lr`"), "{e}");

        let e = err(
            "(name: \"e\", base: \"base.ron\",\n grid: {\"train.lr_d\": [1e-4, 7.0]},\n score: \"fid\")",
        );
        assert!(
            e.starts_with("sweep.ron:2:9:") && e.contains("learning rate is 7"),
            "{e}"
        );

        let e = err(
            "(name: \"e\", base: \"base.ron\",\n grid: {\"variant.loss\": [Wasserstein]},\n score: \"fid\")",
        );
        assert!(
            e.starts_with("sweep.ron:2:9:") && e.contains("Wasserstein"),
            "{e}"
        );

        let e = err(
            "(name: \"e\", base: \"base.ron\",\n random: (trials: 2, params: {\n  \"train.lr_d\": LogUniform(0.0, 1e-3)}),\n score: \"fid\")",
        );
        assert!(
            e.starts_with("sweep.ron:3:3:") && e.contains("0 < low"),
            "{e}"
        );

        let e = err("(name: \"e\", base: \"base.ron\",\n score: \"fdi\")");
        assert!(
            e.starts_with("sweep.ron:2:2:") && e.contains("unknown score `fdi`"),
            "{e}"
        );

        let e = err("(name: \"e\", base: \"base.ron\",\n score: \"kid\")");
        assert!(e.contains("Kid metric"), "{e}");

        let e = err("(name: \"e\", base: \"missing.ron\", score: \"fid\")");
        assert!(
            e.starts_with("sweep.ron:1:13:") && e.contains("missing.ron"),
            "{e}"
        );

        // The name becomes the log folder's name.
        let long = "x".repeat(200);
        let e = err(&format!(
            "(name: \"{long}\", base: \"base.ron\", score: \"fid\")"
        ));
        assert!(
            e.starts_with("sweep.ron:1:2:") && e.contains("use at most 64"),
            "{e}"
        );

        let e = err("(name: \"e\", base: \"base.ron\", seeds: [1, 1], score: \"fid\")");
        assert!(e.contains("seed 1 is listed twice"), "{e}");

        let e = err("(name: \"e\", base: \"base.ron\", score: \"fid\", grd: {})");
        assert!(e.starts_with("sweep.ron:1:") && e.contains("grd"), "{e}");

        // A fixed setting that breaks the base spec is named.
        let e = err(
            "(name: \"e\", base: \"base.ron\",\n set: {\"train.steps\": 10},\n score: \"fid\")",
        );
        assert!(
            e.starts_with("sweep.ron:2:2: set:") && e.contains("eval.every"),
            "{e}"
        );
    }

    #[test]
    fn values_are_read_as_the_spec_file_reads_them() {
        // Enum lists and options as grid values, as a spec file writes them.
        let sweep = expand_text(
            "(name: \"v\", base: \"base.ron\",\n grid: {\"eval.metrics\": [[Fid], [Fid, Kid]],\n \
             \"data.classes\": [None, Some([7, 9]), [1]]},\n score: \"fid\")",
        )
        .unwrap();
        assert_eq!(sweep.runs.len(), 6);
        let got: Vec<_> = sweep
            .runs
            .iter()
            .map(|r| {
                (
                    r.spec.data.classes.clone(),
                    r.spec.eval.clone().unwrap().metrics,
                )
            })
            .collect();
        use crate::spec::Metric::{Fid, Kid};
        assert_eq!(got[0], (None, vec![Fid]));
        assert_eq!(got[1], (None, vec![Fid, Kid]));
        assert_eq!(got[2], (Some(vec![7, 9]), vec![Fid]));
        assert_eq!(got[5], (Some(vec![1]), vec![Fid, Kid]));
    }

    #[test]
    fn names_labels_and_sizes_are_bounded() {
        let e = err(&format!(
            "(name: \"{}\", base: \"base.ron\", score: \"fid\")",
            "s".repeat(MAX_SWEEP_NAME_CHARS + 1)
        ));
        assert!(
            e.starts_with("sweep.ron:1:2: sweep name") && e.contains("use at most 64"),
            "{e}"
        );
        let e = err("(name: \"a\\nb\", base: \"base.ron\", score: \"fid\")");
        assert!(
            e.contains("a\\nb") && e.contains("control character"),
            "{e}"
        );
        let e = err("(name: \"a/b\", base: \"base.ron\", score: \"fid\")");
        assert!(e.contains("slash"), "{e}");

        for key in ["name", "experiment"] {
            let e = err(&format!(
                "(name: \"e\", base: \"base.ron\",\n grid: {{\"{key}\": [\"x\"]}}, score: \"fid\")"
            ));
            assert!(
                e.starts_with("sweep.ron:2:9:") && e.contains("is a label, not a setting"),
                "{e}"
            );
        }
        let e = err(
            "(name: \"e\", base: \"base.ron\",\n random: (trials: 2, params: {\"train.seed\": IntRange(1, 9)}),\n score: \"fid\")",
        );
        assert!(e.contains("list seeds under `seeds`"), "{e}");

        // Too many runs is refused before anything is expanded.
        let e = err(
            "(name: \"e\", base: \"base.ron\",\n random: (trials: 5000000000, params: {\"train.lr_d\": LogUniform(1e-5, 1e-3)}),\n score: \"fid\")",
        );
        assert!(
            e.starts_with("sweep.ron:2:2:") && e.contains("more than 10000 runs"),
            "{e}"
        );
        let many = (0..101)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let e = err(&format!(
            "(name: \"e\", base: \"base.ron\",\n grid: {{\"train.seed\": [1]}},\n seeds: [{many}], score: \"fid\")"
        ));
        assert!(e.contains("list seeds under `seeds`"), "{e}");
        let e = err(&format!(
            "(name: \"e\", base: \"base.ron\",\n grid: {{\"train.lr_d\": [{}]}},\n seeds: [{many}], score: \"fid\")",
            (1..=100)
                .map(|i| format!("{i}e-5"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        assert!(
            e.starts_with("sweep.ron:2:2:") && e.contains("10000"),
            "{e}"
        );

        let e = err(
            "(name: \"e\", base: \"base.ron\",\n random: (trials: 1, params: {\"train.lr_d\": Uniform(-1e308, 1e308)}),\n score: \"fid\")",
        );
        assert!(e.contains("less than 1e308 apart"), "{e}");
    }

    #[test]
    fn long_run_names_fall_back_to_the_configuration_number() {
        let sweep = expand_text(&format!(
            "(name: \"{}\", base: \"base.ron\", grid: {{\"variant.loss\": [Hinge, LeastSquares]}}, score: \"fid\")",
            "s".repeat(MAX_SWEEP_NAME_CHARS)
        ))
        .unwrap();
        let names: Vec<&str> = sweep.runs.iter().map(|r| r.spec.name.as_str()).collect();
        assert!(names[0].ends_with(" loss=Hinge seed=1"), "{names:?}");
        let values = |n: usize| format!("[{}]", vec!["Fid"; n].join(", "));
        let sweep = expand_text(&format!(
            "(name: \"s\", base: \"base.ron\", grid: {{\"eval.metrics\": [{}, {}]}}, score: \"fid\")",
            values(1),
            values(30)
        ))
        .unwrap();
        assert_eq!(sweep.runs[0].spec.name, "s metrics=[Fid] seed=1");
        assert_eq!(sweep.runs[1].spec.name, "s config=1 seed=1");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed};

        const SWEEP: &str = include_str!("../../experiments/sweep-lr.ron");

        proptest! {
            #![proptest_config(Config {
                cases: 256,
                rng_seed: RngSeed::Fixed(0x5eed),
                failure_persistence: None,
                ..Config::default()
            })]

            #[test]
            fn expand_never_panics(
                text in prop_oneof![
                    "\\PC{0,200}",
                    (0usize..SWEEP.len(), 0usize..40, "[(){}\\[\\],:\"/ \n0-9a-zA-Z_.+-]{0,12}|IntRange\\(|Choice\\(\\[|1e999")
                        .prop_map(|(at, len, insert)| {
                            let floor = |mut i: usize| {
                                while !SWEEP.is_char_boundary(i) {
                                    i -= 1;
                                }
                                i
                            };
                            let (start, end) = (floor(at), floor((at + len).min(SWEEP.len())));
                            format!("{}{insert}{}", &SWEEP[..start], &SWEEP[end.max(start)..])
                        }),
                ],
            ) {
                // Against the base spec next to a temporary sweep file.
                let dir = tempfile::tempdir().unwrap();
                std::fs::write(dir.path().join("dcgan.ron"), include_str!("../../experiments/dcgan.ron")).unwrap();
                if let Ok(sweep) = expand(&dir.path().join("sweep.ron"), &text) {
                    prop_assert!(!sweep.runs.is_empty() && sweep.runs.len() <= MAX_RUNS);
                }
            }
        }
    }
}
