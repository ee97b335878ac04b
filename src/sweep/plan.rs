//! What each run of a sweep needs, from what the database already holds:
//! runs are matched by configuration hash (the spec without its name and
//! experiment labels) within the sweep.

use std::collections::HashMap;

use crate::spec;
use crate::store::tracker::{RunFilter, RunRecord, RunStatus, Tracker, TrackerError};
use crate::sweep::spec::{PlannedRun, Sweep};

/// What to do for one planned run.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// No run yet (or a failed one with `--retry-failed`): start one.
    Train,
    /// An interrupted run, or one whose process died: continue it from its checkpoint.
    Resume,
    /// Finished or stopped early: nothing to do.
    Done,
    /// Still training in another live process.
    Busy { pid: u32 },
    /// Failed before; left alone unless `--retry-failed`.
    Failed,
}

impl Action {
    pub fn label(&self) -> String {
        match self {
            Action::Train => "train".into(),
            Action::Resume => "resume".into(),
            Action::Done => "done".into(),
            Action::Busy { pid } => format!("running (pid {pid})"),
            Action::Failed => "failed (skipped)".into(),
        }
    }

    /// Whether this sweep invocation starts a process for it.
    pub fn needs_work(&self) -> bool {
        matches!(self, Action::Train | Action::Resume)
    }
}

/// A planned run with its latest record in the database and the action.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub run: &'a PlannedRun,
    pub record: Option<RunRecord>,
    pub action: Action,
}

/// The plan for every run of `sweep`.
pub fn plan<'a>(
    tracker: &Tracker,
    sweep: &'a Sweep,
    retry_failed: bool,
) -> Result<Vec<Step<'a>>, TrackerError> {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let recorded = recorded(tracker, &sweep.spec.name)?;
    sweep
        .runs
        .iter()
        .map(|run| {
            let record = recorded.get(&run.spec.config_hash()).cloned();
            let action = match &record {
                None => Action::Train,
                Some(r) => decide(r, retry_failed, live_pid(tracker, r, &host)?),
            };
            Ok(Step {
                run,
                record,
                action,
            })
        })
        .collect()
}

/// The newest run of each configuration recorded under sweep `sweep`, by
/// configuration hash (computed from the stored spec, so that a run's name
/// or experiment label does not matter).
pub fn recorded(
    tracker: &Tracker,
    sweep: &str,
) -> Result<HashMap<String, RunRecord>, TrackerError> {
    let runs = tracker.list_runs(&RunFilter {
        sweep_id: Some(sweep.to_string()),
        ..RunFilter::default()
    })?;
    let mut newest = HashMap::new();
    // Newest first: keep the first run of each configuration.
    for run in runs {
        // A spec this build cannot read cannot match a planned run.
        if let Ok(spec) = spec::parse_stored(&run.id, &run.spec_text) {
            newest.entry(spec.config_hash()).or_insert(run);
        }
    }
    Ok(newest)
}

/// The action for an existing run; `live_pid` is its process if it is still alive.
pub fn decide(record: &RunRecord, retry_failed: bool, live_pid: Option<u32>) -> Action {
    match record.status {
        RunStatus::Finished | RunStatus::Stopped => Action::Done,
        RunStatus::Interrupted => Action::Resume,
        RunStatus::Running => match live_pid {
            Some(pid) => Action::Busy { pid },
            None => Action::Resume,
        },
        RunStatus::Failed if retry_failed => Action::Train,
        RunStatus::Failed => Action::Failed,
    }
}

/// The process of a `running` run, if it runs on this host and is alive.
fn live_pid(
    tracker: &Tracker,
    record: &RunRecord,
    host: &str,
) -> Result<Option<u32>, TrackerError> {
    if record.status != RunStatus::Running {
        return Ok(None);
    }
    let pid = tracker
        .tags(&record.id)?
        .into_iter()
        .find(|(k, _)| k == "pid")
        .and_then(|(_, v)| v.parse::<u32>().ok());
    Ok(match pid {
        // Another host's run cannot be checked: take it as alive.
        Some(pid) if record.host != host => Some(pid),
        Some(pid) if crate::util::process::is_alive(pid) => Some(pid),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::fixtures;

    fn record(status: RunStatus) -> RunRecord {
        RunRecord {
            sweep_id: Some("s".into()),
            ..fixtures::record(status)
        }
    }

    #[test]
    fn statuses_map_to_actions() {
        use RunStatus::*;
        assert_eq!(decide(&record(Finished), false, None), Action::Done);
        assert_eq!(decide(&record(Stopped), true, None), Action::Done);
        assert_eq!(decide(&record(Interrupted), false, None), Action::Resume);
        assert_eq!(decide(&record(Running), false, None), Action::Resume);
        assert_eq!(
            decide(&record(Running), false, Some(7)),
            Action::Busy { pid: 7 }
        );
        assert_eq!(decide(&record(Failed), false, None), Action::Failed);
        assert_eq!(decide(&record(Failed), true, None), Action::Train);
    }
}
