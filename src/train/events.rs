//! What the runner reports while it trains ([`Event`]: step, time and kind),
//! and the [`Sink`] trait of what consumes it (tracker, artifact files,
//! progress bar, memory for tests).

use std::path::PathBuf;

use gan_lab_variants::{SampleGrid, Scalar};

/// One thing that happened in a run: after which step, when, and what.
///
/// Every event carries its step and time, so sinks read the run's clock from
/// the events instead of keeping their own. A run ends with exactly one event
/// whose kind [`is_end`](EventKind::is_end): that kind is the run's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The step it happened after (for `Started`, the step training resumes
    /// after: 0 for a new run).
    pub step: u64,
    /// Unix time in seconds.
    pub time: f64,
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// Training (re)starts after the event's step, of `total_steps` steps.
    Started { total_steps: u64 },
    /// The step finished; `scalars` are its numbers (losses, D outputs, ..., `img_per_s`).
    Step { scalars: Vec<Scalar> },
    /// Evaluation scores of the generator after the step.
    Eval { scores: Vec<Scalar> },
    /// A grid from the fixed noise after the step.
    Samples { grid: SampleGrid },
    /// A checkpoint of the step now lies in `dir` (relative to the run folder).
    Checkpoint { dir: PathBuf },
    /// The run trained all its steps (the event's step is the last one).
    Finished,
    /// The run failed at the step, for `reason`.
    Failed { reason: String },
    /// Stopped by the user (Ctrl-C, SIGTERM) after the step.
    Interrupted,
    /// Ended early by a stopping rule after the step, for `reason`.
    Stopped { reason: String },
}

impl EventKind {
    /// Whether this kind ends a run (and is its outcome).
    pub fn is_end(&self) -> bool {
        matches!(
            self,
            EventKind::Finished
                | EventKind::Failed { .. }
                | EventKind::Interrupted
                | EventKind::Stopped { .. }
        )
    }
}

/// Unix time in seconds now: the clock events are stamped with.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// A consumer of run events. A sink error stops the run.
pub trait Sink {
    fn on_event(&mut self, event: &Event) -> Result<(), SinkError>;
}

/// Keeps every event, for tests and for callers that want to look afterwards.
#[derive(Default, Debug)]
pub struct MemorySink {
    pub events: Vec<Event>,
}

impl Sink for MemorySink {
    fn on_event(&mut self, event: &Event) -> Result<(), SinkError> {
        self.events.push(event.clone());
        Ok(())
    }
}

impl MemorySink {
    /// The steps of the events whose kind matches `kind`.
    pub fn steps(&self, kind: impl Fn(&EventKind) -> bool) -> Vec<u64> {
        self.events
            .iter()
            .filter(|e| kind(&e.kind))
            .map(|e| e.step)
            .collect()
    }

    /// The step and kind of the last event.
    pub fn last(&self) -> Option<(u64, &EventKind)> {
        self.events.last().map(|e| (e.step, &e.kind))
    }

    /// The values of scalar `name`, step by step.
    pub fn series(&self, name: &str) -> Vec<(u64, f64)> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Step { scalars } => scalars
                    .iter()
                    .find(|s| s.name == name)
                    .map(|s| (e.step, s.value)),
                _ => None,
            })
            .collect()
    }
}
