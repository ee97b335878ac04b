//! A stored run's variant, rebuilt from its stored spec and restored from
//! one of its checkpoints (for `eval`, `sample` and the other commands that
//! use a trained model).

use burn::prelude::Device;
use gan_lab_variants::{Hyper, Variant};

use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::spec::{self, Spec};
use crate::store::layout::{Checkpoint, RunLayout};
use crate::store::tracker::{RunRecord, Tracker};
use crate::train::runner::RunnerError;

/// The optimisation settings a variant is built with.
pub fn hyper(spec: &Spec) -> Hyper {
    Hyper {
        batch_size: spec.train.batch_size,
        lr_g: spec.train.lr_g,
        lr_d: spec.train.lr_d,
        beta1: spec.train.beta1,
        beta2: spec.train.beta2,
        seed: spec.train.seed,
        total_steps: spec.train.steps,
    }
}

/// Seeds the device, then builds the variant's networks on its autodiff form.
pub fn build_variant(spec: &Spec, device: Device) -> (Box<dyn Variant>, Device) {
    device.seed(spec.train.seed);
    let device = device.autodiff();
    (spec.variant.build(&hyper(spec), &device), device)
}

impl std::str::FromStr for Checkpoint {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "last" => Ok(Checkpoint::Last),
            "best" => Ok(Checkpoint::Best),
            other => other.parse().map(Checkpoint::Step).map_err(|_| {
                format!(
                    "unknown checkpoint `{other}`; use `last`, `best` (by the variant's primary score, when the run evaluated) or a step such as 1000"
                )
            }),
        }
    }
}

/// A stored run's model, restored from one of its checkpoints.
pub struct Restored {
    pub run: RunRecord,
    pub spec: Spec,
    pub variant: Box<dyn Variant>,
    pub step: u64,
}

/// Restores a run's variant from its `last` or `best` checkpoint, or the
/// one of a step.
pub fn restore(ctx: &Context, run_ref: &str, which: Checkpoint) -> Result<Restored> {
    let tracker = Tracker::open(&ctx.db)?;
    let run = tracker.run(run_ref)?;
    let spec = spec::parse_stored(&run.id, &run.spec_text)?;
    let layout = RunLayout::of(&ctx.db, &run.run_dir)?;
    let (dir, step) = checkpoint_dir(&layout, &run.id, which)?;
    let (mut variant, _) = build_variant(&spec, ctx.device.build()?);
    variant.load(&dir).map_err(|e| RunnerError::Restore {
        dir: dir.clone(),
        source: Box::new(e),
    })?;
    Ok(Restored {
        run,
        spec,
        variant,
        step,
    })
}

/// The folder and step of the asked-for checkpoint, or an error that says
/// which checkpoints the run has.
fn checkpoint_dir(
    layout: &RunLayout,
    run_id: &str,
    which: Checkpoint,
) -> Result<(std::path::PathBuf, u64)> {
    let found = match which {
        Checkpoint::Step(step) => layout
            .checkpoints_by_step()
            .into_iter()
            .find(|(s, _)| *s == step)
            .map(|(s, dir)| (dir, s)),
        _ => {
            let dir = layout.checkpoint(which);
            RunLayout::checkpoint_step(&dir).map(|step| (dir, step))
        }
    };
    if let Some(found) = found {
        return Ok(found);
    }
    let have = available(layout);
    let hint = match which {
        Checkpoint::Best => {
            format!(
                "best checkpoints exist only for runs with an `eval` section; use --checkpoint last ({have})"
            )
        }
        Checkpoint::Last => {
            "the run stopped before its first checkpoint; resume or rerun it".to_string()
        }
        Checkpoint::Step(_) => format!(
            "{have}; set `checkpoint: (every: N, keep_every: Some(M))` in the spec to keep the checkpoint of every M steps"
        ),
    };
    let what = match which {
        Checkpoint::Step(step) => format!("checkpoint of step {step}"),
        other => format!("{} checkpoint", RunLayout::checkpoint_rel(other)),
    };
    Err(AppError::Usage(format!(
        "run {run_id} has no {what} ({}): {hint}",
        layout.checkpoint(which).display()
    )))
}

/// "it has checkpoints of steps 500, 1000 (last)": what `--checkpoint` can be.
fn available(layout: &RunLayout) -> String {
    let last = RunLayout::checkpoint_step(&layout.checkpoint(Checkpoint::Last));
    let best = RunLayout::checkpoint_step(&layout.checkpoint(Checkpoint::Best));
    let steps: Vec<String> = layout
        .checkpoints_by_step()
        .iter()
        .map(|(step, _)| {
            let mut names = Vec::new();
            if Some(*step) == last {
                names.push("last");
            }
            if Some(*step) == best {
                names.push("best");
            }
            if names.is_empty() {
                step.to_string()
            } else {
                format!("{step} ({})", names.join(", "))
            }
        })
        .collect();
    if steps.is_empty() {
        "it has no checkpoint yet".into()
    } else {
        format!("it has checkpoints of steps {}", steps.join(", "))
    }
}
