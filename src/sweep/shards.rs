//! Where each run of a sweep handed to Slurm stands, from its database shard
//! (`runs/shards/<sweep>/<index>.sqlite`), the main database (after a merge)
//! and what the scheduler says: finished, running, pending, failed or missing.

use std::collections::BTreeMap;
use std::path::Path;

use crate::store::layout;
use crate::store::tracker::{Liveness, RunRecord, RunStatus, Tracker, TrackerError};
use crate::sweep::plan;
use crate::sweep::spec::Sweep;
use crate::util::table::table;

/// Where one run of the plan stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Finished,
    Running,
    /// Waiting in the queue.
    Pending,
    /// Failed, interrupted, lost, or ended without a run: `why`.
    Failed(String),
    /// No shard, no merged run, nothing in the queue.
    Missing,
}

impl TaskState {
    pub fn label(&self) -> &'static str {
        match self {
            TaskState::Finished => "finished",
            TaskState::Running => "running",
            TaskState::Pending => "pending",
            TaskState::Failed(_) => "failed",
            TaskState::Missing => "missing",
        }
    }

    /// Whether `--retry-failed` submits the task again.
    pub fn needs_retry(&self) -> bool {
        matches!(self, TaskState::Failed(_) | TaskState::Missing)
    }
}

/// One run of the plan, as the shards and the scheduler see it.
#[derive(Debug, Clone)]
pub struct TaskStatus {
    pub index: usize,
    pub name: String,
    pub state: TaskState,
    /// The run, if one was recorded (in its shard or, merged, in the main database).
    pub run: Option<RunRecord>,
    /// Whether the main database holds the run (as fresh as the shard's).
    pub merged: bool,
    pub scheduler: Option<String>,
}

/// The state of every run of `sweep`; `scheduler` is what Slurm says by index.
pub fn status(
    db: &Path,
    sweep: &Sweep,
    scheduler: &BTreeMap<usize, String>,
) -> super::Result<Vec<TaskStatus>> {
    let name = &sweep.spec.name;
    let main = match Tracker::open_read_only(db) {
        Ok(t) => Some(plan::recorded(&t, name)?),
        Err(TrackerError::NoDatabase { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let host = crate::store::tracker::this_host();
    let now = crate::store::tracker::now();
    let mut tasks = Vec::new();
    for run in &sweep.runs {
        let hash = run.spec.config_hash();
        let shard_path = layout::shard(db, name, run.index)?;
        let in_shard = if shard_path.is_file() {
            let shard = Tracker::open_read_only(&shard_path)?;
            plan::recorded(&shard, name)?.remove(&hash)
        } else {
            None
        };
        let in_main = main.as_ref().and_then(|m| m.get(&hash)).cloned();
        let merged = match (&in_shard, &in_main) {
            (Some(s), Some(m)) => {
                s.id == m.id && s.steps_done == m.steps_done && s.status == m.status
            }
            (None, Some(_)) => true,
            _ => false,
        };
        let record = in_shard.or(in_main);
        let queued = scheduler.get(&run.index).cloned();
        let state = classify(record.as_ref(), queued.as_deref(), now, &host);
        tasks.push(TaskStatus {
            index: run.index,
            name: run.spec.name.clone(),
            state,
            run: record,
            merged,
            scheduler: queued,
        });
    }
    Ok(tasks)
}

/// The state from the recorded run (if any) and Slurm's state (if known).
pub fn classify(
    record: Option<&RunRecord>,
    scheduler: Option<&str>,
    now: f64,
    host: &str,
) -> TaskState {
    let queued = match scheduler {
        Some("RUNNING" | "COMPLETING" | "CONFIGURING") => Some(TaskState::Running),
        Some("PENDING" | "REQUEUED" | "SUSPENDED") => Some(TaskState::Pending),
        _ => None,
    };
    match record {
        Some(r) if matches!(r.status, RunStatus::Finished | RunStatus::Stopped) => {
            TaskState::Finished
        }
        Some(r) if r.status == RunStatus::Running => match (r.liveness(now, host), queued) {
            (Liveness::Alive, _) => TaskState::Running,
            (_, Some(q)) => q,
            (Liveness::Lost { why }, None) => TaskState::Failed(format!("lost: {why}")),
            (Liveness::NotRunning, None) => TaskState::Running,
        },
        Some(r) => queued.unwrap_or_else(|| {
            TaskState::Failed(format!(
                "{} at step {}{}",
                r.status,
                r.steps_done,
                r.status_reason
                    .as_deref()
                    .map_or_else(String::new, |why| format!(": {why}"))
            ))
        }),
        None => match (queued, scheduler) {
            (Some(q), _) => q,
            (None, Some("COMPLETED")) => {
                TaskState::Failed("the task ended without recording a run; see its log".into())
            }
            (None, Some(other)) => TaskState::Failed(format!("Slurm says {other}")),
            (None, None) => TaskState::Missing,
        },
    }
}

/// The status table and a line of counts.
pub fn render(tasks: &[TaskStatus]) -> String {
    let mut rows = vec![vec![
        "#".to_string(),
        "RUN".into(),
        "STATE".into(),
        "STEPS".into(),
        "SLURM".into(),
        "MERGED".into(),
        "DETAIL".into(),
    ]];
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for t in tasks {
        let label = t.state.label();
        match counts.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += 1,
            None => counts.push((label, 1)),
        }
        rows.push(vec![
            t.index.to_string(),
            t.name.clone(),
            label.to_string(),
            t.run.as_ref().map_or_else(
                || "-".into(),
                |r| format!("{}/{}", r.steps_done, r.total_steps),
            ),
            t.scheduler.clone().unwrap_or_else(|| "-".into()),
            if t.merged { "yes" } else { "no" }.into(),
            match &t.state {
                TaskState::Failed(why) => why.clone(),
                _ => String::new(),
            },
        ]);
    }
    let counts: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
    format!(
        "{}{} task(s): {}\n",
        table(&rows),
        tasks.len(),
        counts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::fixtures;

    fn record(status: RunStatus, heartbeat: f64) -> RunRecord {
        RunRecord {
            status_reason: Some("boom".into()),
            host: "node7".into(),
            steps_done: 4,
            sweep_id: Some("s".into()),
            pid: Some(1),
            heartbeat_at: Some(heartbeat),
            ..fixtures::record(status)
        }
    }

    #[test]
    fn shards_and_the_queue_give_the_state() {
        let now = 1000.0;
        let c = |r: Option<&RunRecord>, q: Option<&str>| classify(r, q, now, "login");
        let finished = record(RunStatus::Finished, 0.0);
        assert_eq!(c(Some(&finished), Some("FAILED")), TaskState::Finished);
        let alive = record(RunStatus::Running, now - 1.0);
        assert_eq!(c(Some(&alive), None), TaskState::Running);
        let silent = record(RunStatus::Running, 0.0);
        assert_eq!(c(Some(&silent), Some("RUNNING")), TaskState::Running);
        assert!(matches!(c(Some(&silent), None), TaskState::Failed(w) if w.starts_with("lost")));
        let failed = record(RunStatus::Failed, 0.0);
        assert_eq!(
            c(Some(&failed), None),
            TaskState::Failed("failed at step 4: boom".into())
        );
        assert_eq!(c(Some(&failed), Some("PENDING")), TaskState::Pending);
        assert_eq!(c(None, Some("PENDING")), TaskState::Pending);
        assert_eq!(c(None, Some("RUNNING")), TaskState::Running);
        assert_eq!(
            c(None, Some("TIMEOUT")),
            TaskState::Failed("Slurm says TIMEOUT".into())
        );
        assert!(matches!(c(None, Some("COMPLETED")), TaskState::Failed(_)));
        assert_eq!(c(None, None), TaskState::Missing);
        assert!(TaskState::Missing.needs_retry());
        assert!(!TaskState::Running.needs_retry());
    }
}
