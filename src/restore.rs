//! A stored run's variant, rebuilt from its stored spec and restored from
//! one of its checkpoints (for `eval`, `sample` and the other commands that
//! use a trained model).

use burn::prelude::Device;
use gan_lab_variants::{Hyper, Variant};

use crate::context::Context;
use crate::error::{AppError, Result};
use crate::layout::{Checkpoint, RunLayout};
use crate::runner::RunnerError;
use crate::spec::{self, Spec};
use crate::tracker::{RunRecord, Tracker};

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
            other => Err(format!(
                "unknown checkpoint `{other}`; use `last` or `best` (best by the variant's primary score, when the run evaluated)"
            )),
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

/// Restores a run's variant from its `last` or `best` checkpoint.
pub fn restore(ctx: &Context, run_ref: &str, which: Checkpoint) -> Result<Restored> {
    let tracker = Tracker::open(&ctx.db)?;
    let run = tracker.run(run_ref)?;
    let spec = spec::parse_stored(&run.id, &run.spec_text)?;
    let rel = RunLayout::checkpoint_rel(which);
    let dir = RunLayout::of(&ctx.db, &run)?.checkpoint(which);
    let Some(step) = RunLayout::checkpoint_step(&dir) else {
        let hint = if which == Checkpoint::Best {
            "best checkpoints exist only for runs with an `eval` section; use --checkpoint last"
        } else {
            "the run stopped before its first checkpoint; resume or rerun it"
        };
        return Err(AppError::Usage(format!(
            "run {} has no {rel} checkpoint ({}): {hint}",
            run.id,
            dir.display()
        )));
    };
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
