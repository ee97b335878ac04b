//! `gan-lab check`: validates an experiment spec (with its `--set`
//! overrides) or a sweep spec (expanded into its runs) without training.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::args::Overrides;
use crate::commands::error::{AppError, Result};
use crate::spec::{self, Source, Spec, SpecError, ron_text};
use crate::sweep::spec::Sweep;

/// `gan-lab check`'s flags.
#[derive(Args)]
#[command(
    after_help = "Example:\n  gan-lab check experiments/dcgan.ron --set train.batch_size=128"
)]
pub struct CheckArgs {
    pub spec: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// `gan-lab check SPEC`: prints what the spec describes.
pub fn execute(args: &CheckArgs) -> Result<ExitCode> {
    println!("{}", check_file(&args.spec, &args.overrides.set)?.summary());
    Ok(ExitCode::SUCCESS)
}

/// What `gan-lab check` found valid: an experiment spec (overrides applied)
/// or a sweep spec, expanded into its runs.
#[derive(Debug, Clone)]
pub enum Checked {
    Experiment(Spec),
    Sweep(Sweep),
}

/// Parses and validates an experiment or a sweep spec file; a file with a
/// `base` field is a sweep, which takes no overrides (it has `set`).
pub fn check_file(path: &Path, overrides: &[String]) -> Result<Checked> {
    let text = ron_text::read(path).map_err(SpecError::from)?;
    if !spec::is_sweep(&text) {
        let source = Source {
            path: path.to_path_buf(),
            text,
        };
        let spec = spec::apply_overrides(spec::parse(&source)?, overrides, &source)?;
        return Ok(Checked::Experiment(spec));
    }
    if let Some(arg) = overrides.first() {
        return Err(AppError::from(SpecError::Override {
            arg: arg.clone(),
            message: format!(
                "overrides apply to experiment specs, and {} is a sweep spec; put settings for every run under its `set`",
                path.display()
            ),
        }));
    }
    let sweep = crate::sweep::spec::expand(path, &text)?;
    Ok(Checked::Sweep(sweep))
}

impl Checked {
    /// The line `gan-lab check` prints.
    pub fn summary(&self) -> String {
        match self {
            Checked::Experiment(spec) => format!(
                "ok: {} ({}: {}), {} steps of batch {}",
                spec.name,
                spec.variant.kind(),
                spec.variant.describe(),
                spec.train.steps,
                spec.train.batch_size
            ),
            Checked::Sweep(sweep) => {
                let configs = sweep.runs.last().map_or(0, |r| r.config + 1);
                format!(
                    "ok: sweep {}: {} runs of {} ({configs} configuration(s) x {} seed(s)), ranked by {} ({} is better)",
                    sweep.spec.name,
                    sweep.runs.len(),
                    sweep.base.display(),
                    sweep.spec.seeds.len().max(1),
                    sweep.spec.score,
                    if sweep.lower_is_better {
                        "lower"
                    } else {
                        "higher"
                    }
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load;

    #[test]
    fn check_file_tells_experiments_from_sweeps() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
        let checked = check_file(&dir.join("dcgan.ron"), &["train.steps=700".into()]).unwrap();
        let Checked::Experiment(spec) = &checked else {
            panic!("an experiment")
        };
        assert_eq!(spec.train.steps, 700);
        assert!(
            checked
                .summary()
                .starts_with("ok: dcgan (vanilla: dcgan / "),
            "{}",
            checked.summary()
        );

        let sweep_path = dir.join("sweep-lr.ron");
        let checked = check_file(&sweep_path, &[]).unwrap();
        let Checked::Sweep(sweep) = &checked else {
            panic!("a sweep")
        };
        assert_eq!(sweep.runs.len(), 8);
        let summary = checked.summary();
        assert!(
            summary.starts_with("ok: sweep sweep-lr: 8 runs of ")
                && summary.contains(
                    "dcgan.ron (4 configuration(s) x 2 seed(s)), ranked by fid (lower is better)"
                ),
            "{summary}"
        );
        let e = check_file(&sweep_path, &["train.steps=7".into()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--set train.steps=7: overrides apply to experiment specs")
                && e.contains("sweep-lr.ron is a sweep spec"),
            "{e}"
        );
        // Running a sweep as an experiment says what it is.
        let e = load(&sweep_path, &[]).unwrap_err().to_string();
        assert!(e.contains("looks like a sweep spec"), "{e}");

        // A broken sweep is reported at its place in the sweep file.
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(dir.join("dcgan.ron"), tmp.path().join("dcgan.ron")).unwrap();
        let broken = tmp.path().join("broken.ron");
        std::fs::write(
            &broken,
            "(name: \"b\", base: \"dcgan.ron\",\n grid: {\"train.lr\": [1e-4]},\n score: \"fid\")",
        )
        .unwrap();
        let e = check_file(&broken, &[]).unwrap_err().to_string();
        assert!(e.contains("broken.ron:2:9: grid \"train.lr\""), "{e}");
    }
}
