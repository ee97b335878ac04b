//! `gan-lab sweep`: checks the flags, then hands the sweep spec to
//! [`crate::sweep`], which plans, trains and summarises its runs here, or
//! writes (and submits) a Slurm job array, or shows its tasks' states.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::args::DeviceArg;
use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::sweep::{self, SweepOptions, SweepOutcome};

/// `gan-lab sweep`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab sweep experiments/sweep-lr.ron --dry-run\n  \
    gan-lab sweep experiments/sweep-lr.ron --jobs 2\n\n\
    Each run is a separate `gan-lab` process. Running the same sweep again skips finished \
    and early-stopped runs (matched by configuration), resumes interrupted ones from their \
    checkpoints, and leaves failed ones alone unless --retry-failed. Ctrl-C stops every \
    running child after its current step, with a checkpoint."
)]
pub struct SweepArgs {
    /// The sweep spec (see experiments/sweep-lr.ron)
    pub spec: PathBuf,
    /// Runs trained at once (each a separate process)
    #[arg(long, short, default_value_t = 1)]
    pub jobs: usize,
    /// Print the expanded runs and what each needs, without training
    #[arg(long)]
    pub dry_run: bool,
    /// Start failed runs again (as new runs; the failed ones stay recorded)
    #[arg(long)]
    pub retry_failed: bool,
    #[command(flatten)]
    pub device: DeviceArg,
    #[command(flatten)]
    pub cluster: Cluster,
}

/// `gan-lab sweep --slurm` and `--status`: the sweep on a Slurm cluster.
#[derive(Args)]
pub struct Cluster {
    /// Write an sbatch script for a Slurm job array (one task per run) instead of training here
    #[arg(long)]
    pub slurm: bool,
    /// With --slurm: submit the script with sbatch
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// Show each run's task: finished, running, pending, failed or missing (from the shards and squeue/sacct)
    #[arg(long, conflicts_with_all = ["slurm", "dry_run"])]
    pub status: bool,
    /// With --slurm: the partition (sbatch --partition)
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// With --slurm: the time limit of each task (sbatch --time), such as 02:00:00
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// With --slurm: cores per task (sbatch --cpus-per-task)
    #[arg(long, requires = "slurm")]
    pub cpus_per_task: Option<u32>,
    /// With --slurm: memory per task (sbatch --mem), such as 8G
    #[arg(long, requires = "slurm")]
    pub mem: Option<String>,
    /// With --slurm: generic resources per task (sbatch --gres), such as gpu:1
    #[arg(long, requires = "slurm")]
    pub gres: Option<String>,
    /// With --slurm: at most this many tasks at once (the array's %K)
    #[arg(long, requires = "slurm")]
    pub max_parallel: Option<usize>,
}

/// `gan-lab sweep`: exit 0 when every run is done (or every task finished,
/// for `--status`), 1 when some are not, 130 when a signal stopped it.
pub fn execute(ctx: &Context, args: &SweepArgs) -> Result<ExitCode> {
    let ctx = args.device.on(ctx);
    let cluster = &args.cluster;
    if cluster.status {
        let tasks = sweep::status(&ctx, &args.spec, &mut std::io::stdout())?;
        let all_done = tasks
            .iter()
            .all(|t| t.state == sweep::shards::TaskState::Finished);
        return Ok(if all_done {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if cluster.slurm {
        let request = sweep::SlurmRequest {
            options: sweep::slurm::SlurmOptions {
                partition: cluster.partition.clone(),
                time: cluster.time.clone(),
                cpus_per_task: cluster.cpus_per_task,
                mem: cluster.mem.clone(),
                gres: cluster.gres.clone(),
                max_parallel: cluster.max_parallel,
            },
            retry_failed: args.retry_failed,
            dry_run: args.dry_run,
            submit: cluster.submit,
        };
        slurm(&ctx, &args.spec, &request)?;
        return Ok(ExitCode::SUCCESS);
    }
    let options = SweepOptions {
        jobs: args.jobs,
        dry_run: args.dry_run,
        retry_failed: args.retry_failed,
    };
    Ok(match local(&ctx, &args.spec, &options)? {
        SweepOutcome::Complete => ExitCode::SUCCESS,
        SweepOutcome::Incomplete => ExitCode::from(1),
        SweepOutcome::Interrupted => ExitCode::from(130),
    })
}

/// The sweep trained here, `--jobs` processes at a time.
fn local(ctx: &Context, spec: &Path, options: &SweepOptions) -> Result<SweepOutcome> {
    if options.jobs == 0 {
        return Err(AppError::Usage(
            "--jobs 0 would train nothing; use 1 or more (at most the number of cores)".into(),
        ));
    }
    Ok(sweep::sweep(ctx, spec, options, &mut std::io::stdout())?)
}

/// `gan-lab sweep SPEC --slurm`: the sbatch script, written or submitted.
fn slurm(ctx: &Context, spec: &Path, request: &sweep::SlurmRequest) -> Result<()> {
    if request.options.max_parallel == Some(0) {
        return Err(AppError::Usage(
            "--max-parallel 0 would run no task; use 1 or more".into(),
        ));
    }
    Ok(sweep::slurm(ctx, spec, request, &mut std::io::stdout())?)
}
