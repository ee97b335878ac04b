//! Test fixtures shared by the crate's unit tests: a new run, a stored run
//! record, a metric point and a dead pid. One place, so a field added to
//! [`NewRun`] or [`RunRecord`] is added here once.

use super::{MetricPoint, NewRun, RunRecord, RunStatus};

/// A run to create: experiment `experiment`, name (and folder) `name`, a
/// `vanilla` spec of 100 steps, a seed above `i64::MAX` (stored bit for bit).
pub(crate) fn new_run(experiment: &str, name: &str) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        variant: "vanilla".into(),
        spec_text: format!("(name: \"{name}\")"),
        spec_hash: format!("hash-{name}"),
        seed: u64::MAX - 1,
        device: "flex".into(),
        code_version: "0.1.0".into(),
        host: "test".into(),
        run_dir: name.into(),
        total_steps: 100,
        sweep_id: None,
    }
}

/// A stored run `r` with `status`, of 10 steps, none done, started at 0,
/// no process and no heartbeat.
pub(crate) fn record(status: RunStatus) -> RunRecord {
    RunRecord {
        id: "r".into(),
        experiment_id: 1,
        experiment: "e".into(),
        name: "n".into(),
        variant: "vanilla".into(),
        status,
        status_reason: None,
        spec_text: String::new(),
        spec_hash: "h".into(),
        seed: 1,
        device: "flex".into(),
        code_version: "t".into(),
        host: "h".into(),
        run_dir: "r".into(),
        total_steps: 10,
        steps_done: 0,
        started_at: 0.0,
        ended_at: None,
        sweep_id: None,
        pid: None,
        heartbeat_at: None,
    }
}

/// A point of metric `key` at `step`, written at `1000 + step`.
pub(crate) fn point(key: &str, step: u64, value: f64) -> MetricPoint {
    MetricPoint {
        key: key.into(),
        step,
        value,
        wall_time: 1000.0 + step as f64,
    }
}

/// A pid no process has: a child that has exited and been reaped.
pub(crate) fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}
