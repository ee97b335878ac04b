//! What the runner reports while it trains, and the sinks that consume it
//! (tracker, artifact files, progress bar, memory for tests).

use std::path::PathBuf;

use gan_lab_variants::{SampleGrid, Scalar};

/// One thing that happened in a run.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Training (re)starts after `start_step` of `total_steps` steps.
    Started {
        start_step: u64,
        total_steps: u64,
    },
    /// Step `step` finished; `scalars` are its numbers (losses, D outputs, ..., `img_per_s`).
    Step {
        step: u64,
        wall_time: f64,
        scalars: Vec<Scalar>,
    },
    /// Evaluation scores of the generator after step `step`.
    Eval {
        step: u64,
        scores: Vec<Scalar>,
    },
    /// A grid from the fixed noise after step `step`.
    Samples {
        step: u64,
        grid: SampleGrid,
    },
    /// A checkpoint of step `step` now lies in `dir` (relative to the run folder).
    Checkpoint {
        step: u64,
        dir: PathBuf,
    },
    Finished {
        step: u64,
    },
    Failed {
        step: u64,
        reason: String,
    },
    Interrupted {
        step: u64,
    },
    /// Ended early by a stopping rule after `step`, for `reason`.
    Stopped {
        step: u64,
        reason: String,
    },
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
    /// The values of scalar `name`, step by step.
    pub fn series(&self, name: &str) -> Vec<(u64, f64)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Step { step, scalars, .. } => scalars
                    .iter()
                    .find(|s| s.name == name)
                    .map(|s| (*step, s.value)),
                _ => None,
            })
            .collect()
    }
}
