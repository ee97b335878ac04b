//! What a sweep prints: the headline and plan table before it starts, a line
//! per child process as it starts and ends ([`Printer`]), and the summary
//! that ranks the configurations at the end.

use std::collections::BTreeSet;
use std::io::Write;

use super::plan::{self, Action, Step};
use super::spec::Sweep;
use super::{Result, pool, rank};
use crate::store::tracker::{RunStatus, Tracker};
use crate::util::table::table;

/// `sweep 'lr': 8 runs (4 configurations x 2 seeds): 6 to train, 2 done`.
pub(super) fn headline(sweep: &Sweep, steps: &[Step]) -> String {
    let configs = sweep
        .runs
        .iter()
        .map(|r| r.config)
        .collect::<BTreeSet<_>>()
        .len();
    let seeds = sweep.runs.len() / configs.max(1);
    let mut counts: Vec<(String, usize)> = Vec::new();
    for step in steps {
        let label = match &step.action {
            Action::Train => "to train",
            Action::Resume => "to resume",
            Action::Done => "done",
            Action::Busy { .. } => "running elsewhere",
            Action::Failed => "failed (use --retry-failed to rerun)",
        };
        match counts.iter_mut().find(|(l, _)| l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label.to_string(), 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
    format!(
        "sweep '{}' from {}: {} runs ({configs} configurations x {seeds} seeds), ranked by {} ({}): {}",
        sweep.spec.name,
        sweep.base.display(),
        sweep.runs.len(),
        sweep.spec.score,
        if sweep.lower_is_better {
            "lower is better"
        } else {
            "higher is better"
        },
        counts.join(", ")
    )
}

/// The swept paths, in order (the columns of the tables).
pub(super) fn swept_keys(sweep: &Sweep) -> Vec<String> {
    sweep
        .runs
        .first()
        .map(|r| r.values.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default()
}

/// The dry-run table: every run with its values, seed and action.
pub(super) fn plan_table(sweep: &Sweep, steps: &[Step]) -> String {
    let keys = swept_keys(sweep);
    let mut header = vec!["#".to_string(), "CONFIG".into()];
    header.extend(keys.iter().cloned());
    header.extend(["SEED".into(), "ACTION".into(), "RUN".into()]);
    let mut rows = vec![header];
    for step in steps {
        let mut row = vec![step.run.index.to_string(), step.run.config.to_string()];
        row.extend(step.run.values.iter().map(|(_, v)| v.clone()));
        row.push(step.run.seed.to_string());
        row.push(step.action.label());
        row.push(
            step.record
                .as_ref()
                .map_or_else(|| "-".into(), |r| r.id.clone()),
        );
        rows.push(row);
    }
    table(&rows)
}

/// The end-of-sweep table: configurations ranked by mean score over seeds.
pub(super) fn summary(tracker: &Tracker, sweep: &Sweep, steps: &[Step]) -> Result<String> {
    let mut scores = Vec::new();
    for step in steps {
        let (status, score) = match &step.record {
            Some(r) => (r.status, tracker.latest_value(&r.id, &sweep.spec.score)?),
            None => (RunStatus::Interrupted, None),
        };
        scores.push(rank::RunScore {
            values: step.run.values.clone(),
            status,
            score,
        });
    }
    let ranked = rank::rank(&scores, sweep.lower_is_better);
    let keys = swept_keys(sweep);
    let mut header = vec!["RANK".to_string()];
    header.extend(keys.iter().cloned());
    header.extend([
        "RUNS".into(),
        format!("{} (MEAN ± STD)", sweep.spec.score.to_uppercase()),
    ]);
    let mut rows = vec![header];
    for (i, c) in ranked.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(c.values.iter().map(|(_, v)| v.clone()));
        row.push(c.runs_summary());
        row.push(match (c.mean, c.std) {
            (Some(m), Some(s)) => format!("{m:.4} ± {s:.4} ({} scored)", c.scored),
            _ => "-".into(),
        });
        rows.push(row);
    }
    let mut text = format!(
        "Configurations of sweep '{}', best first\n",
        sweep.spec.name
    );
    text += &table(&rows);
    if let Some(best) = ranked.first().filter(|c| c.mean.is_some()) {
        let values: Vec<String> = best
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        text += &format!(
            "best configuration: {} ({} {:.4} ± {:.4} over {} run(s))\n",
            if values.is_empty() {
                "the base spec".to_string()
            } else {
                values.join(" ")
            },
            sweep.spec.score,
            best.mean.unwrap_or(f64::NAN),
            best.std.unwrap_or(f64::NAN),
            best.scored
        );
    }
    text += &format!("report: gan-lab report --sweep {}\n", sweep.spec.name);
    Ok(text)
}

/// Prints a line as each child starts and ends.
pub(super) struct Printer<'a> {
    pub(super) out: &'a mut dyn Write,
    pub(super) tracker: &'a Tracker,
    pub(super) sweep: &'a Sweep,
    pub(super) total: usize,
    pub(super) done: usize,
}

impl pool::Observer for Printer<'_> {
    fn started(&mut self, job: &pool::Job, pid: u32) {
        let run = &self.sweep.runs[job.index];
        let _ = writeln!(self.out, "  start  {} (pid {pid})", run.spec.name);
    }

    fn ended(&mut self, ended: &pool::Ended) {
        self.done += 1;
        let run = &self.sweep.runs[ended.index];
        let record = plan::recorded(self.tracker, &self.sweep.spec.name)
            .ok()
            .and_then(|mut r| r.remove(&run.spec.config_hash()));
        let how = match (&ended.spawn_error, &record) {
            (Some(e), _) => format!("could not start: {e}"),
            (None, Some(r)) => {
                let score = self
                    .tracker
                    .latest_value(&r.id, &self.sweep.spec.score)
                    .ok()
                    .flatten()
                    .map_or_else(String::new, |s| {
                        format!(", {} {s:.4}", self.sweep.spec.score)
                    });
                match r.status {
                    RunStatus::Failed => format!(
                        "failed: {}; log: {}",
                        r.status_reason.as_deref().unwrap_or("see the log"),
                        ended.log.display()
                    ),
                    RunStatus::Running => format!(
                        "exited ({}) without recording an end; log: {}",
                        exit_text(ended.status),
                        ended.log.display()
                    ),
                    status => format!("{status} at step {}{score}", r.steps_done),
                }
            }
            (None, None) => format!(
                "exited ({}) before recording a run; log: {}",
                exit_text(ended.status),
                ended.log.display()
            ),
        };
        let _ = writeln!(
            self.out,
            "  [{}/{}] {} in {:.0} s: {how}",
            self.done, self.total, run.spec.name, ended.seconds
        );
    }
}

pub(super) fn exit_text(status: Option<std::process::ExitStatus>) -> String {
    match status {
        Some(s) => s.to_string(),
        None => "unknown status".into(),
    }
}
