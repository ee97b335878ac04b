//! `gan-lab list`: the recorded runs as a table, newest first.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::commands::error::Result;
use crate::context::Context;
use crate::store::tracker::{self, RunFilter, RunStatus, Tracker, status_label};
use crate::util::table::{format_time, table};

/// `gan-lab list`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab list\n  gan-lab list --status failed --experiment dcgan"
)]
pub struct ListArgs {
    /// Only runs of this experiment
    #[arg(long)]
    pub experiment: Option<String>,
    /// Only runs with this status (running, finished, failed, interrupted, stopped)
    #[arg(long)]
    pub status: Option<RunStatus>,
    /// Only runs of this sweep
    #[arg(long)]
    pub sweep: Option<String>,
    /// At most this many runs
    #[arg(long, short = 'n')]
    pub limit: Option<usize>,
}

/// `gan-lab list`: prints the table (or how to start a first run).
pub fn execute(ctx: &Context, args: &ListArgs) -> Result<ExitCode> {
    let filter = RunFilter {
        experiment: args.experiment.clone(),
        status: args.status,
        sweep_id: args.sweep.clone(),
        limit: args.limit,
    };
    print!("{}", list(&ctx.db, &filter)?);
    Ok(ExitCode::SUCCESS)
}

/// `gan-lab list`: one line per run.
pub fn list(db: &Path, filter: &RunFilter) -> Result<String> {
    let none_yet = || {
        format!(
            "no runs in {} yet; start one with `gan-lab run experiments/vanilla.ron`\n",
            db.display()
        )
    };
    if !db.exists() {
        return Ok(none_yet());
    }
    let tracker = Tracker::open_read_only(db)?;
    let runs = tracker.list_runs(filter)?;
    if runs.is_empty() {
        return Ok(none_yet());
    }
    let mut rows = vec![vec![
        "ID".to_string(),
        "NAME".into(),
        "VARIANT".into(),
        "STATUS".into(),
        "STEPS".into(),
        "LOSS_D".into(),
        "LOSS_G".into(),
        "STARTED".into(),
    ]];
    let (now, host) = (tracker::now(), tracker::this_host());
    for run in &runs {
        let latest = tracker.latest_metrics(&run.id)?;
        let metric = |k: &str| {
            latest
                .iter()
                .find(|m| m.key == k)
                .map_or_else(|| "-".to_string(), |m| format!("{:.4}", m.value))
        };
        rows.push(vec![
            run.id.clone(),
            run.name.clone(),
            run.variant.clone(),
            status_label(run, now, &host),
            format!("{}/{}", run.steps_done, run.total_steps),
            metric("loss_d"),
            metric("loss_g"),
            format_time(run.started_at),
        ]);
    }
    Ok(table(&rows))
}
