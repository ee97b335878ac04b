//! The variant-agnostic training loop: batches in, events out.
//!
//! It seeds every step from (seed, step), so a resumed run continues exactly
//! as an uninterrupted one would; writes sample grids and checkpoints on
//! cadence; stops on Ctrl-C with a checkpoint; and stops a diverged run (a
//! non-finite number) as failed, keeping the last good checkpoint.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use burn::prelude::Device;
use gan_lab_variants::{Scalar, Variant};

use crate::events::{Event, Sink, SinkError};
use crate::loader::{Loader, step_seed};

/// Where the latest checkpoint lives, relative to the run folder.
pub const LAST_CHECKPOINT: &str = "checkpoints/last";
const STATE_FILE: &str = "state.json";

#[derive(Clone, Debug)]
pub struct Cadence {
    pub total_steps: u64,
    pub sample_every: u64,
    pub checkpoint_every: u64,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Finished { steps: u64 },
    Failed { step: u64, reason: String },
    Interrupted { step: u64 },
}

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("a sink failed at step {step}")]
    Sink {
        step: u64,
        #[source]
        source: SinkError,
    },
    #[error("could not write checkpoint in {}", dir.display())]
    Checkpoint {
        dir: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not restore checkpoint from {}", dir.display())]
    Restore {
        dir: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = RunnerError> = std::result::Result<T, E>;

pub struct Runner<'a> {
    pub variant: Box<dyn Variant>,
    pub loader: Loader,
    /// The autodiff training device.
    pub device: Device,
    pub cadence: Cadence,
    pub run_dir: PathBuf,
    pub sinks: Vec<&'a mut dyn Sink>,
    /// Set by Ctrl-C: finish the current step, checkpoint, stop.
    pub stop: Arc<AtomicBool>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Runner<'_> {
    fn emit(&mut self, step: u64, event: Event) -> Result<()> {
        for sink in self.sinks.iter_mut() {
            sink.on_event(&event)
                .map_err(|source| RunnerError::Sink { step, source })?;
        }
        Ok(())
    }

    /// Restores the last checkpoint and returns its step (0 when there is none).
    pub fn restore(&mut self) -> Result<u64> {
        let Some((dir, step)) = last_checkpoint(&self.run_dir) else {
            return Ok(0);
        };
        self.variant.load(&dir).map_err(|e| RunnerError::Restore {
            dir: dir.clone(),
            source: Box::new(e),
        })?;
        Ok(step)
    }

    /// Trains from `start_step + 1` to the end.
    pub fn run(mut self, start_step: u64) -> Result<Outcome> {
        let total = self.cadence.total_steps;
        self.emit(
            start_step,
            Event::Started {
                start_step,
                total_steps: total,
            },
        )?;
        let images_per_step = self.loader.images_per_step() as f64;
        let mut last_good = start_step;
        for step in start_step + 1..=total {
            let started = Instant::now();
            self.device.seed(step_seed(self.cadence.seed, step));
            let batch = self.loader.batch(step, &self.device);
            let mut scalars = self.variant.train_step(&batch);
            let seconds = started.elapsed().as_secs_f64().max(1e-9);
            scalars.push(Scalar {
                name: "img_per_s",
                value: images_per_step / seconds,
            });

            if let Some(bad) = scalars.iter().find(|s| !s.value.is_finite()) {
                let reason = format!(
                    "{} became {} at step {step} (training diverged); the last good checkpoint is from step {last_good}",
                    bad.name, bad.value
                );
                self.emit(
                    step,
                    Event::Step {
                        step,
                        wall_time: now(),
                        scalars,
                    },
                )?;
                self.emit(
                    step,
                    Event::Failed {
                        step,
                        reason: reason.clone(),
                    },
                )?;
                return Ok(Outcome::Failed { step, reason });
            }
            self.emit(
                step,
                Event::Step {
                    step,
                    wall_time: now(),
                    scalars,
                },
            )?;

            let stopping = self.stop.load(Ordering::SeqCst);
            if step % self.cadence.sample_every == 0 || step == total || stopping {
                let grid = self.variant.sample_grid();
                self.emit(step, Event::Samples { step, grid })?;
            }
            if step % self.cadence.checkpoint_every == 0 || step == total || stopping {
                self.checkpoint(step)?;
                last_good = step;
            }
            if stopping && step < total {
                self.emit(step, Event::Interrupted { step })?;
                return Ok(Outcome::Interrupted { step });
            }
        }
        self.emit(total, Event::Finished { step: total })?;
        Ok(Outcome::Finished { steps: total })
    }

    /// Writes a checkpoint beside the old one, then swaps it in, so a crash
    /// mid-write never destroys the last good checkpoint.
    fn checkpoint(&mut self, step: u64) -> Result<()> {
        let last = self.run_dir.join(LAST_CHECKPOINT);
        let fresh = self.run_dir.join("checkpoints/incoming");
        let old = self.run_dir.join("checkpoints/previous");
        let fail =
            |dir: &Path, e: Box<dyn std::error::Error + Send + Sync>| RunnerError::Checkpoint {
                dir: dir.to_path_buf(),
                source: e,
            };
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).map_err(|e| fail(&fresh, Box::new(e)))?;
        self.variant
            .save(&fresh)
            .map_err(|e| fail(&fresh, Box::new(e)))?;
        let state = serde_json::json!({ "step": step, "seed": self.cadence.seed });
        std::fs::write(fresh.join(STATE_FILE), state.to_string())
            .map_err(|e| fail(&fresh, Box::new(e)))?;
        let _ = std::fs::remove_dir_all(&old);
        if last.exists() {
            std::fs::rename(&last, &old).map_err(|e| fail(&last, Box::new(e)))?;
        }
        std::fs::rename(&fresh, &last).map_err(|e| fail(&last, Box::new(e)))?;
        let _ = std::fs::remove_dir_all(&old);
        self.emit(
            step,
            Event::Checkpoint {
                step,
                dir: PathBuf::from(LAST_CHECKPOINT),
            },
        )
    }
}

/// The newest complete checkpoint of a run folder and its step.
pub fn last_checkpoint(run_dir: &Path) -> Option<(PathBuf, u64)> {
    ["checkpoints/last", "checkpoints/previous"]
        .iter()
        .find_map(|rel| {
            let dir = run_dir.join(rel);
            let text = std::fs::read_to_string(dir.join(STATE_FILE)).ok()?;
            let state: serde_json::Value = serde_json::from_str(&text).ok()?;
            Some((dir, state.get("step")?.as_u64()?))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::MemorySink;
    use crate::loader::TrainSet;
    use gan_lab_variants::{Batch, SampleGrid, StreamRequest};

    /// A variant whose loss is the step count, NaN from `nan_at` on.
    struct Counter {
        steps: u64,
        nan_at: u64,
    }

    impl Variant for Counter {
        fn streams(&self) -> Vec<StreamRequest> {
            vec![StreamRequest {
                name: "images".into(),
                classes: None,
                batches: 1,
            }]
        }
        fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
            assert_eq!(batch.streams[0].images.dims(), [2, 1, 28, 28]);
            self.steps += 1;
            let value = if self.steps >= self.nan_at {
                f64::NAN
            } else {
                self.steps as f64
            };
            vec![Scalar {
                name: "loss_d",
                value,
            }]
        }
        fn sample_grid(&self) -> SampleGrid {
            SampleGrid {
                rows: 1,
                cols: 1,
                pixels: vec![0.0; 784],
                row_labels: vec![],
            }
        }
        fn generate(&self, n: usize, _seed: u64) -> Vec<f32> {
            vec![0.0; n * 784]
        }
        fn save(&self, dir: &Path) -> gan_lab_variants::Result<()> {
            std::fs::write(dir.join("steps"), self.steps.to_string()).unwrap();
            Ok(())
        }
        fn load(&mut self, dir: &Path) -> gan_lab_variants::Result<()> {
            self.steps = std::fs::read_to_string(dir.join("steps"))
                .unwrap()
                .parse()
                .unwrap();
            Ok(())
        }
    }

    fn runner<'a>(dir: &Path, nan_at: u64, stop: bool, sink: &'a mut MemorySink) -> Runner<'a> {
        let set = TrainSet::new(&vec![0u8; 10 * 784], &[0; 10], None, None);
        let variant = Counter { steps: 0, nan_at };
        Runner {
            loader: Loader::new(set, variant.streams(), 2, 1).unwrap(),
            variant: Box::new(variant),
            device: Device::flex(),
            cadence: Cadence {
                total_steps: 10,
                sample_every: 4,
                checkpoint_every: 3,
                seed: 1,
            },
            run_dir: dir.to_path_buf(),
            sinks: vec![sink],
            stop: Arc::new(AtomicBool::new(stop)),
        }
    }

    #[test]
    fn cadence_of_samples_and_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), u64::MAX, false, &mut sink)
            .run(0)
            .unwrap();
        assert_eq!(outcome, Outcome::Finished { steps: 10 });
        let samples: Vec<u64> = sink
            .events
            .iter()
            .filter_map(|e| {
                if let Event::Samples { step, .. } = e {
                    Some(*step)
                } else {
                    None
                }
            })
            .collect();
        let checkpoints: Vec<u64> = sink
            .events
            .iter()
            .filter_map(|e| {
                if let Event::Checkpoint { step, .. } = e {
                    Some(*step)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(samples, vec![4, 8, 10]);
        assert_eq!(checkpoints, vec![3, 6, 9, 10]);
        assert_eq!(last_checkpoint(dir.path()).map(|c| c.1), Some(10));
        assert_eq!(sink.series("loss_d").len(), 10);
        assert!(sink.series("img_per_s").iter().all(|p| p.1 > 0.0));
        assert_eq!(sink.events.last(), Some(&Event::Finished { step: 10 }));
    }

    #[test]
    fn divergence_fails_the_run_and_keeps_the_last_good_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), 8, false, &mut sink).run(0).unwrap();
        let Outcome::Failed { step, reason } = outcome else {
            panic!("expected failure")
        };
        assert_eq!(step, 8);
        assert!(
            reason.contains("loss_d became NaN at step 8") && reason.contains("step 6"),
            "{reason}"
        );
        let (dir_path, ckpt_step) = last_checkpoint(dir.path()).unwrap();
        assert_eq!(ckpt_step, 6);
        assert_eq!(
            std::fs::read_to_string(dir_path.join("steps")).unwrap(),
            "6"
        );
    }

    #[test]
    fn stop_flag_checkpoints_and_resume_restores() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), u64::MAX, true, &mut sink)
            .run(0)
            .unwrap();
        assert_eq!(outcome, Outcome::Interrupted { step: 1 });
        let mut sink = MemorySink::default();
        let mut again = runner(dir.path(), u64::MAX, false, &mut sink);
        let start = again.restore().unwrap();
        assert_eq!(start, 1);
        assert_eq!(again.run(start).unwrap(), Outcome::Finished { steps: 10 });
        // The counter continued from the checkpoint: its losses are 2..=10.
        assert_eq!(sink.series("loss_d").first(), Some(&(2, 2.0)));
    }
}
