//! `gan-lab show RUN`: everything recorded about one run (fields, tags,
//! parameters, latest metrics, throughput, artifacts and its spec).

use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use crate::commands::error::Result;
use crate::context::Context;
use crate::store::layout::run_folder;
use crate::store::tracker::{self, Tracker, status_with_reason};
use crate::util::table::{format_time, printable};

/// `gan-lab show`'s flags.
#[derive(Args)]
#[command(
    after_help = "Example:\n  gan-lab show 3f9c   (an id, a unique id prefix or a unique run name)"
)]
pub struct ShowArgs {
    /// Run id, unique id prefix, or unique run name
    pub run: String,
}

pub fn execute(ctx: &Context, args: &ShowArgs) -> Result<ExitCode> {
    print!("{}", show(&ctx.db, &args.run)?);
    Ok(ExitCode::SUCCESS)
}

/// `gan-lab show`: everything recorded about one run.
pub fn show(db: &Path, run_ref: &str) -> Result<String> {
    let tracker = Tracker::open_read_only(db)?;
    let run = tracker.run(run_ref)?;
    let (status, reason) = status_with_reason(&run, tracker::now(), &tracker::this_host());
    let mut out = String::new();
    let duration = run.ended_at.map_or_else(
        || "-".to_string(),
        |end| format!("{:.1} s", end - run.started_at),
    );
    let fields = [
        ("id", run.id.clone()),
        ("name", run.name.clone()),
        ("experiment", run.experiment.clone()),
        ("variant", run.variant.clone()),
        ("status", status),
        ("reason", reason.unwrap_or_else(|| "-".into())),
        ("steps", format!("{}/{}", run.steps_done, run.total_steps)),
        ("started", format_time(run.started_at)),
        (
            "ended",
            run.ended_at.map_or_else(|| "-".into(), format_time),
        ),
        ("duration", duration),
        ("seed", run.seed.to_string()),
        ("device", run.device.clone()),
        ("code", run.code_version.clone()),
        ("host", run.host.clone()),
        ("spec hash", run.spec_hash.clone()),
        (
            "folder",
            run_folder(db, &run.run_dir)
                .map_or_else(|e| e.to_string(), |f| f.display().to_string()),
        ),
    ];
    for (k, v) in fields {
        out += &format!("{k:>11}: {}\n", printable(&v));
    }
    let tags = tracker.tags(&run.id)?;
    if !tags.is_empty() {
        out += "\nTags\n";
        for (k, v) in tags {
            out += &format!("  {} = {}\n", printable(&k), printable(&v));
        }
    }
    out += "\nParameters\n";
    for (k, v) in tracker.params(&run.id)? {
        out += &format!("  {k} = {v}\n");
    }
    out += "\nLatest metrics (step: value)\n";
    for m in tracker.latest_metrics(&run.id)? {
        out += &format!("  {:<18} {:>7}: {:.6}\n", m.key, m.step, m.value);
    }
    let mut speeds: Vec<f64> = tracker
        .metric_series(&run.id, "img_per_s")?
        .into_iter()
        .map(|p| p.1)
        .collect();
    if !speeds.is_empty() {
        speeds.sort_by(f64::total_cmp);
        out += &format!(
            "\nThroughput: median {:.0} img/s over {} steps\n",
            speeds[speeds.len() / 2],
            speeds.len()
        );
    }
    let artifacts = tracker.artifacts(&run.id)?;
    if !artifacts.is_empty() {
        out += "\nArtifacts\n";
        for a in artifacts {
            let step = a.step.map_or_else(|| "-".into(), |s| s.to_string());
            out += &format!("  {:<10} step {:>7}  {}\n", a.kind, step, a.path);
        }
    }
    out += "\nSpec\n";
    for line in run.spec_text.lines() {
        out += &format!("  {line}\n");
    }
    Ok(out)
}
