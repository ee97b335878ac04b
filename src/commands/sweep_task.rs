//! `gan-lab sweep-task SPEC --index I`: trains exactly run `I` of a sweep's
//! plan (the same configuration hash and run name as a local sweep) into
//! its own database shard, `runs/shards/<sweep>/<I>.sqlite`, with its run
//! folder beside it. One Slurm array task runs one of these.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::args::DeviceArg;
use crate::commands::error::{AppError, Result};
use crate::commands::run::{self, RunReport};
use crate::context::Context;
use crate::store::tracker::{Liveness, RunStatus, Tracker};
use crate::sweep::{self, plan};

/// `gan-lab sweep-task`'s flags.
#[derive(Args)]
#[command(
    after_help = "Example:\n  gan-lab sweep-task experiments/sweep-lr.ron --index 3\n\n\
    The run is the one `gan-lab sweep SPEC --dry-run` lists as #INDEX (same configuration \
    and name). It is recorded in runs/shards/<sweep>/<INDEX>.sqlite, its folder beside it; \
    `gan-lab merge` brings the shards into the main database."
)]
pub struct SweepTaskArgs {
    /// The sweep spec
    pub spec: PathBuf,
    /// The run's index in the plan (Slurm's $SLURM_ARRAY_TASK_ID)
    #[arg(long)]
    pub index: usize,
    /// Train again a run that failed in this shard
    #[arg(long)]
    pub retry_failed: bool,
    #[command(flatten)]
    pub device: DeviceArg,
}

/// `gan-lab sweep-task`: the run's outcome, or 0 when there was nothing to do.
pub fn execute(ctx: &Context, args: &SweepTaskArgs) -> Result<ExitCode> {
    let ctx = args.device.on(ctx);
    Ok(
        match sweep_task(&ctx, &args.spec, args.index, args.retry_failed)? {
            Some(report) => run::report_outcome(&report, &ctx.db),
            None => ExitCode::SUCCESS,
        },
    )
}

/// Trains (or resumes) run `index` of the sweep at `path`; `None` when
/// there is nothing to do (done, or failed without `retry_failed`).
pub fn sweep_task(
    ctx: &Context,
    path: &Path,
    index: usize,
    retry_failed: bool,
) -> Result<Option<RunReport>> {
    let sweep = sweep::spec::load(path)?;
    let name = &sweep.spec.name;
    let Some(planned) = sweep.runs.get(index) else {
        return Err(AppError::Usage(format!(
            "--index {index} is outside sweep '{name}' ({}): its plan has {} run(s), indices 0 to {}; see `gan-lab sweep {} --dry-run`",
            path.display(),
            sweep.runs.len(),
            sweep.runs.len().saturating_sub(1),
            path.display()
        )));
    };
    let shard = crate::store::layout::shard(&ctx.db, name, index)?;
    let tracker = Tracker::open(&shard)?;
    tracker.upsert_sweep(&sweep::record(&sweep))?;
    let recorded = plan::recorded(&tracker, name)?.remove(&planned.spec.config_hash());
    let shard_ctx = Context {
        db: shard.clone(),
        ..ctx.clone()
    };
    let Some(record) = recorded else {
        eprintln!(
            "sweep '{name}' run {index} ({}): training into {}",
            planned.spec.name,
            shard.display()
        );
        return Ok(Some(run::run(
            &shard_ctx,
            &sweep.base,
            &planned.overrides,
            Some(name),
        )?));
    };
    let alive = record.liveness(
        crate::store::tracker::now(),
        &crate::store::tracker::this_host(),
    );
    let action = plan::decide(
        &record,
        retry_failed,
        (alive == Liveness::Alive).then_some(record.pid.unwrap_or(0)),
    );
    match action {
        plan::Action::Done | plan::Action::Failed => {
            let hint = if record.status == RunStatus::Failed {
                "; --retry-failed trains it again"
            } else {
                ""
            };
            eprintln!(
                "sweep '{name}' run {index} ({}): run {} is already {} in {}; nothing to do{hint}",
                planned.spec.name,
                record.id,
                record.status,
                shard.display()
            );
            Ok(None)
        }
        plan::Action::Busy { .. } => Err(AppError::Usage(format!(
            "sweep '{name}' run {index}: run {} is still training on {} (process {}); wait for it, or cancel that task",
            record.id,
            record.host,
            record.pid.map_or("?".into(), |p| p.to_string())
        ))),
        plan::Action::Resume => {
            eprintln!(
                "sweep '{name}' run {index} ({}): resuming run {} in {}",
                planned.spec.name,
                record.id,
                shard.display()
            );
            Ok(Some(run::resume(&shard_ctx, &record.id)?))
        }
        plan::Action::Train => {
            eprintln!(
                "sweep '{name}' run {index} ({}): run {} failed; training it again into {}",
                planned.spec.name,
                record.id,
                shard.display()
            );
            Ok(Some(run::run(
                &shard_ctx,
                &sweep.base,
                &planned.overrides,
                Some(name),
            )?))
        }
    }
}
