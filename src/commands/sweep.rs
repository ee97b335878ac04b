//! `gan-lab sweep`: checks the flags, then hands the sweep spec to
//! [`crate::sweep`], which plans, trains and summarises its runs.

use std::path::Path;

use crate::context::Context;
use crate::error::{AppError, Result};
use crate::sweep::{self, SweepOptions, SweepOutcome};

pub fn sweep(ctx: &Context, spec: &Path, options: &SweepOptions) -> Result<SweepOutcome> {
    if options.jobs == 0 {
        return Err(AppError::Usage(
            "--jobs 0 would train nothing; use 1 or more (at most the number of cores)".into(),
        ));
    }
    Ok(sweep::sweep(ctx, spec, options, &mut std::io::stdout())?)
}

/// `gan-lab sweep SPEC --slurm`: the sbatch script, written or submitted.
pub fn slurm(ctx: &Context, spec: &Path, request: &sweep::SlurmRequest) -> Result<()> {
    if request.options.max_parallel == Some(0) {
        return Err(AppError::Usage(
            "--max-parallel 0 would run no task; use 1 or more".into(),
        ));
    }
    Ok(sweep::slurm(ctx, spec, request, &mut std::io::stdout())?)
}
