//! The tracker's rows as Rust values: runs and their status and liveness,
//! metric points, artifacts, sweeps, and the filter for listing runs.

use rusqlite::Row;
use rusqlite::types::Type;
use serde::{Deserialize, Serialize};

use super::{LOST_AFTER, TrackerError};
use crate::util::table::format_duration;

/// The life cycle of a run. Its strings (`running`, `finished`, ...) are
/// stored in the database's `runs.status`: the `strum` derives spell them, and
/// a test pins them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "lowercase")]
#[strum(
    serialize_all = "lowercase",
    parse_err_ty = TrackerError,
    parse_err_fn = invalid_status
)]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    Interrupted,
    /// Ended early by a sweep's stopping rule (final: a rerun of the sweep skips it).
    Stopped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

fn invalid_status(text: &str) -> TrackerError {
    TrackerError::InvalidStatus(text.to_string())
}

/// What [`Tracker::create_run`](super::Tracker::create_run) records about a
/// new run. The run is recorded as `running` in the calling process.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub experiment: String,
    pub name: String,
    pub variant: String,
    pub spec_text: String,
    pub spec_hash: String,
    /// Stored bit for bit as SQLite's signed integer.
    pub seed: u64,
    pub device: String,
    pub code_version: String,
    pub host: String,
    pub run_dir: String,
    pub total_steps: u64,
    pub sweep_id: Option<String>,
}

/// One row of `runs`, with the name of its experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub experiment_id: i64,
    pub experiment: String,
    pub name: String,
    pub variant: String,
    pub status: RunStatus,
    pub status_reason: Option<String>,
    pub spec_text: String,
    pub spec_hash: String,
    /// Stored bit for bit as SQLite's signed integer.
    pub seed: u64,
    pub device: String,
    pub code_version: String,
    /// The host of the process that trains (or last trained) the run.
    pub host: String,
    pub run_dir: String,
    pub total_steps: u64,
    pub steps_done: u64,
    /// Unix time in seconds.
    pub started_at: f64,
    /// Unix time in seconds; `None` while the run is running.
    pub ended_at: Option<f64>,
    pub sweep_id: Option<String>,
    /// The process that trains (or last trained) the run, on `host`.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Unix time in seconds of the last heartbeat of that process.
    #[serde(default)]
    pub heartbeat_at: Option<f64>,
}

/// Whether a run's process is still at work; derived, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// The run is not `running`.
    NotRunning,
    /// `running`, with a recent heartbeat and (on this host) a live process.
    Alive,
    /// `running`, but its process is gone: `why` says how we know.
    Lost { why: String },
}

impl RunRecord {
    /// Whether the run is alive at Unix time `now`, seen from host
    /// `this_host`: a `running` run is lost when its last heartbeat (for runs
    /// recorded before heartbeats, its start) is older than [`LOST_AFTER`],
    /// or when it runs on this host and its process is gone.
    pub fn liveness(&self, now: f64, this_host: &str) -> Liveness {
        if self.status != RunStatus::Running {
            return Liveness::NotRunning;
        }
        if let Some(pid) = self.pid
            && self.host == this_host
            && !crate::util::process::is_alive(pid)
        {
            return Liveness::Lost {
                why: format!("its process {pid} on {this_host} is gone"),
            };
        }
        let last = self.heartbeat_at.unwrap_or(self.started_at);
        let silent = now - last;
        if silent > LOST_AFTER.as_secs_f64() {
            return Liveness::Lost {
                why: format!(
                    "no heartbeat from {} for {}",
                    self.process_label(),
                    format_duration(silent)
                ),
            };
        }
        Liveness::Alive
    }

    /// "process 123 on host", or "its process on host" when the pid is unknown.
    pub(super) fn process_label(&self) -> String {
        match self.pid {
            Some(pid) => format!("process {pid} on {}", self.host),
            None => format!("its process on {}", self.host),
        }
    }
}

/// The status to show for `run` at Unix time `now` from host `this_host`:
/// its stored status, except `lost` for a `running` run whose process is
/// gone (see [`RunRecord::liveness`] for why).
pub fn status_label(run: &RunRecord, now: f64, this_host: &str) -> String {
    match run.liveness(now, this_host) {
        Liveness::Lost { .. } => "lost".to_string(),
        Liveness::Alive | Liveness::NotRunning => run.status.to_string(),
    }
}

/// The status to show and why: a lost run says how we know and how to continue it.
pub fn status_with_reason(run: &RunRecord, now: f64, this_host: &str) -> (String, Option<String>) {
    match run.liveness(now, this_host) {
        Liveness::Lost { why } => (
            "lost".to_string(),
            Some(format!(
                "{why}; `gan-lab resume {}` continues it from its last checkpoint",
                run.id
            )),
        ),
        Liveness::Alive | Liveness::NotRunning => {
            (run.status.to_string(), run.status_reason.clone())
        }
    }
}

/// One value of a metric series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub key: String,
    pub step: u64,
    /// Non-finite values are stored as NULL and read back as NaN.
    pub value: f64,
    /// Unix time in seconds.
    pub wall_time: f64,
}

/// The value of a metric at the highest step logged so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestMetric {
    pub key: String,
    pub step: u64,
    pub value: f64,
    pub wall_time: f64,
}

/// A file a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: String,
    pub step: Option<u64>,
    /// Relative to the run folder.
    pub path: String,
    pub created_at: f64,
}

/// A sweep as registered by `gan-lab sweep`: its spec and how its runs are ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The sweep's name, which is its id: rerunning a sweep continues it.
    pub id: String,
    /// The sweep spec as written.
    pub spec_text: String,
    /// The metric that ranks runs, such as `fid`.
    pub score: String,
    /// Whether a lower score is better.
    pub lower_is_better: bool,
    /// The early-stopping rule as JSON, if the sweep has one.
    pub stopping: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
}

/// Which runs [`Tracker::list_runs`](super::Tracker::list_runs) returns;
/// `Default` lists them all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub experiment: Option<String>,
    pub status: Option<RunStatus>,
    pub sweep_id: Option<String>,
    pub limit: Option<usize>,
}

pub(super) const RUN_SELECT: &str = "
    SELECT r.id, r.experiment_id, e.name, r.name, r.variant, r.status, r.status_reason,
           r.spec_text, r.spec_hash, r.seed, r.device, r.code_version, r.host, r.run_dir,
           r.total_steps, r.steps_done, r.started_at, r.ended_at, r.sweep_id,
           r.pid, r.heartbeat_at
    FROM runs r JOIN experiments e ON e.id = r.experiment_id";

pub(super) fn run_from_row(row: &Row) -> rusqlite::Result<RunRecord> {
    let status: String = row.get(5)?;
    let status = status
        .parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, Type::Text, Box::new(e)))?;
    Ok(RunRecord {
        id: row.get(0)?,
        experiment_id: row.get(1)?,
        experiment: row.get(2)?,
        name: row.get(3)?,
        variant: row.get(4)?,
        status,
        status_reason: row.get(6)?,
        spec_text: row.get(7)?,
        spec_hash: row.get(8)?,
        seed: row.get::<_, i64>(9)? as u64,
        device: row.get(10)?,
        code_version: row.get(11)?,
        host: row.get(12)?,
        run_dir: row.get(13)?,
        total_steps: row.get(14)?,
        steps_done: row.get(15)?,
        started_at: row.get(16)?,
        ended_at: row.get(17)?,
        sweep_id: row.get(18)?,
        // A pid that does not fit (never written by gan-lab) is unknown.
        pid: row
            .get::<_, Option<i64>>(19)?
            .and_then(|p| u32::try_from(p).ok()),
        heartbeat_at: row.get(20)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::fixtures::{dead_pid, record};

    fn running(host: &str, pid: Option<u32>, heartbeat_at: Option<f64>) -> RunRecord {
        RunRecord {
            host: host.into(),
            started_at: 1000.0,
            pid,
            heartbeat_at,
            ..record(RunStatus::Running)
        }
    }

    #[test]
    fn liveness_cases() {
        let my_pid = std::process::id();
        let me = Some(my_pid);
        let lost_after = LOST_AFTER.as_secs_f64();
        let now = 1000.0 + 3.0 * lost_after;
        let fresh = Some(now - 1.0);

        // Alive: our own process with a fresh heartbeat.
        let run = running("here", me, fresh);
        assert_eq!(run.liveness(now, "here"), Liveness::Alive);
        assert_eq!(status_label(&run, now, "here"), "running");

        // Stale heartbeat, even though the process lives.
        let run = running("here", me, Some(now - lost_after - 1.0));
        match run.liveness(now, "here") {
            Liveness::Lost { why } => {
                assert!(why.contains("no heartbeat"), "{why}");
                assert!(why.contains(&format!("process {my_pid}")), "{why}");
            }
            other => panic!("expected lost, got {other:?}"),
        }
        assert_eq!(status_label(&run, now, "here"), "lost");
        // Just inside the limit it is alive.
        let run = running("here", me, Some(now - lost_after + 1.0));
        assert_eq!(run.liveness(now, "here"), Liveness::Alive);

        // Dead process on this host, though its heartbeat is fresh.
        let pid = dead_pid();
        let run = running("here", Some(pid), fresh);
        match run.liveness(now, "here") {
            Liveness::Lost { why } => assert!(why.contains(&format!("{pid}")), "{why}"),
            other => panic!("expected lost, got {other:?}"),
        }
        // On another host the pid cannot be checked: the heartbeat decides.
        assert_eq!(run.liveness(now, "elsewhere"), Liveness::Alive);

        // No heartbeat recorded (before schema 3): the start time stands in.
        let run = running("here", None, None);
        assert!(matches!(run.liveness(now, "here"), Liveness::Lost { .. }));
        assert_eq!(run.liveness(1000.0 + 1.0, "here"), Liveness::Alive);

        // Not running: whatever its process does.
        for status in [
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Interrupted,
            RunStatus::Stopped,
        ] {
            let mut run = running("here", Some(pid), None);
            run.status = status;
            assert_eq!(run.liveness(now, "here"), Liveness::NotRunning);
            assert_eq!(status_label(&run, now, "here"), status.as_str());
        }
    }

    #[test]
    fn status_strings_are_the_stored_ones() {
        let stored = [
            (RunStatus::Running, "running"),
            (RunStatus::Finished, "finished"),
            (RunStatus::Failed, "failed"),
            (RunStatus::Interrupted, "interrupted"),
            (RunStatus::Stopped, "stopped"),
        ];
        for (status, text) in stored {
            assert_eq!(status.as_str(), text);
            assert_eq!(status.to_string(), text);
            assert_eq!(text.parse::<RunStatus>().unwrap(), status);
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{text}\"")
            );
        }
    }

    #[test]
    fn status_strings() {
        for s in [
            RunStatus::Running,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Interrupted,
            RunStatus::Stopped,
        ] {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        let err = "done".parse::<RunStatus>().unwrap_err();
        assert!(err.is_user_error());
        assert!(err.to_string().contains("'done'"));
    }
}
