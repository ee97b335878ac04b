//! The variant-agnostic training loop: batches in, events out.
//!
//! It seeds every step from (seed, step), so a resumed run continues exactly
//! as an uninterrupted one would; writes sample grids and checkpoints on
//! cadence; stops on Ctrl-C with a checkpoint; and stops a diverged run (a
//! non-finite number) as failed, keeping the last good checkpoint.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::prelude::Device;
use gan_lab_variants::{Judge, Objective, Scalar, Variant, metric, train_step_in_pool};

use crate::store::layout::{Checkpoint, RunLayout};
use crate::train::events::{Event, EventKind, Sink, SinkError, unix_now};
use crate::train::loader::{Loader, step_seed};

#[derive(Clone, Debug)]
pub struct Cadence {
    pub total_steps: u64,
    pub sample_every: u64,
    pub checkpoint_every: u64,
    /// Keep a copy of the checkpoint of every multiple of this step.
    pub keep_every: Option<u64>,
    pub seed: u64,
    /// Evaluate every this many steps (and at the end) with this many images.
    pub eval: Option<(u64, usize)>,
}

/// Decides after each evaluation whether a run is worth continuing (a
/// sweep's median rule implements it).
pub trait EarlyStop {
    /// `Some(reason)` ends the run after `step`, whose scores are `scores`.
    fn check(
        &mut self,
        step: u64,
        scores: &[Scalar],
    ) -> std::result::Result<Option<String>, SinkError>;
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
    #[error("evaluation failed at step {step}")]
    Eval {
        step: u64,
        #[source]
        source: SinkError,
    },
    #[error("evaluation failed at step {step}")]
    Score {
        step: u64,
        #[source]
        source: gan_lab_variants::VariantError,
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
    pub layout: RunLayout,
    pub sinks: Vec<&'a mut dyn Sink>,
    /// Set by Ctrl-C: finish the current step, checkpoint, stop.
    pub stop: Arc<AtomicBool>,
    /// What the variant scores itself with, when the run evaluates.
    pub judge: Option<Box<dyn Judge + 'a>>,
    /// The score that picks the best checkpoint (the variant's objective).
    pub objective: Option<Objective>,
    /// Consulted after each evaluation.
    pub early_stop: Option<Box<dyn EarlyStop + 'a>>,
}

impl Runner<'_> {
    /// Stamps `kind` with `step` and the time, and hands it to every sink.
    fn emit(&mut self, step: u64, kind: EventKind) -> Result<Event> {
        let event = Event {
            step,
            time: unix_now(),
            kind,
        };
        for sink in self.sinks.iter_mut() {
            sink.on_event(&event)
                .map_err(|source| RunnerError::Sink { step, source })?;
        }
        Ok(event)
    }

    /// Restores the last checkpoint and returns its step (0 when there is none).
    pub fn restore(&mut self) -> Result<u64> {
        let Some((dir, step)) = self.layout.last_checkpoint() else {
            return Ok(0);
        };
        self.variant.load(&dir).map_err(|e| RunnerError::Restore {
            dir: dir.clone(),
            source: Box::new(e),
        })?;
        Ok(step)
    }

    /// Trains from `start_step + 1` to the end. Returns the run's last
    /// event, whose kind is its outcome (finished, failed, interrupted or
    /// stopped).
    pub fn run(mut self, start_step: u64) -> Result<Event> {
        let total = self.cadence.total_steps;
        self.emit(start_step, EventKind::Started { total_steps: total })?;
        if start_step == 0 {
            let (pixels, labels) = self.loader.train_set();
            self.variant.prepare(pixels, labels);
        }
        let images_per_step = self.loader.images_per_step() as f64;
        let mut last_good = start_step;
        let mut best: Option<f64> = self.layout.best_score();
        for step in start_step + 1..=total {
            let started = Instant::now();
            self.device.seed(step_seed(self.cadence.seed, step));
            let batch = self.loader.batch(step, &self.device);
            let mut scalars = train_step_in_pool(self.variant.as_mut(), &batch);
            let seconds = started.elapsed().as_secs_f64().max(1e-9);
            scalars.push(Scalar::new("img_per_s", images_per_step / seconds));

            if let Some(bad) = scalars.iter().find(|s| !s.value.is_finite()) {
                let kept = if last_good > 0 {
                    format!("the last good checkpoint is from step {last_good}")
                } else {
                    "no checkpoint was written before it; rerun with a lower learning rate".into()
                };
                let reason = format!(
                    "{} became {} at step {step} (training diverged); {kept}",
                    bad.name, bad.value
                );
                self.emit(step, EventKind::Step { scalars })?;
                return self.emit(step, EventKind::Failed { reason });
            }
            self.emit(step, EventKind::Step { scalars })?;

            let stopping = self.stop.load(Ordering::SeqCst);
            if step % self.cadence.sample_every == 0 || step == total || stopping {
                let grid = self.variant.sample_grid();
                self.emit(step, EventKind::Samples { grid })?;
            }
            let mut improved = None;
            let mut stopped_early = None;
            if let Some((every, samples)) = self.cadence.eval
                && (step % every == 0 || step == total)
            {
                let scores;
                (improved, scores) = self.evaluate(step, samples, &mut best)?;
                if step < total
                    && let Some(rule) = self.early_stop.as_mut()
                {
                    stopped_early = rule
                        .check(step, &scores)
                        .map_err(|source| RunnerError::Eval { step, source })?;
                }
            }
            if step % self.cadence.checkpoint_every == 0
                || step == total
                || stopping
                || improved.is_some()
                || stopped_early.is_some()
            {
                self.checkpoint(step)?;
                last_good = step;
            }
            if let Some(score) = improved {
                self.keep_best(step, score)?;
            }
            if let Some(reason) = stopped_early {
                if !step.is_multiple_of(self.cadence.sample_every) && !stopping {
                    let grid = self.variant.sample_grid();
                    self.emit(step, EventKind::Samples { grid })?;
                }
                return self.emit(step, EventKind::Stopped { reason });
            }
            if stopping && step < total {
                return self.emit(step, EventKind::Interrupted);
            }
        }
        self.emit(total, EventKind::Finished)
    }

    /// Lets the variant score itself; returns the objective's score when it
    /// beats `best`, and all the scores.
    fn evaluate(
        &mut self,
        step: u64,
        samples: usize,
        best: &mut Option<f64>,
    ) -> Result<(Option<f64>, Vec<Scalar>)> {
        let Some(judge) = self.judge.as_deref() else {
            return Ok((None, Vec::new()));
        };
        // The same draws at every evaluation, so that curves show the model, not the draw.
        let scores = self
            .variant
            .evaluate(judge, samples, eval_seed(self.cadence.seed))
            .map_err(|source| RunnerError::Score { step, source })?;
        self.emit(
            step,
            EventKind::Eval {
                scores: scores.clone(),
            },
        )?;
        let Some(objective) = &self.objective else {
            return Ok((None, scores));
        };
        match metric::find(&scores, &objective.key) {
            Some(score)
                if score.is_finite() && best.is_none_or(|b| objective.is_better(score, b)) =>
            {
                *best = Some(score);
                Ok((Some(score), scores))
            }
            _ => Ok((None, scores)),
        }
    }

    /// Tells the sinks that checkpoint `which` of `step` is in place.
    fn checkpointed(&mut self, step: u64, which: Checkpoint) -> Result<()> {
        let dir = PathBuf::from(RunLayout::checkpoint_rel(which));
        self.emit(step, EventKind::Checkpoint { dir })?;
        Ok(())
    }

    /// Copies the checkpoint just written to the best-checkpoint folder.
    fn keep_best(&mut self, step: u64, score: f64) -> Result<()> {
        let state = serde_json::json!({ "step": step, "seed": self.cadence.seed, "score": score });
        self.copy_last(Checkpoint::Best, &self.layout.best_incoming(), state)?;
        self.checkpointed(step, Checkpoint::Best)
    }

    /// Keeps the checkpoint just written under its step, when the spec's
    /// `keep_every` asks for it.
    fn keep_step(&mut self, step: u64) -> Result<()> {
        if !self
            .cadence
            .keep_every
            .is_some_and(|k| step.is_multiple_of(k))
        {
            return Ok(());
        }
        let state = serde_json::json!({ "step": step, "seed": self.cadence.seed });
        self.copy_last(Checkpoint::Step(step), &self.layout.kept_incoming(), state)?;
        self.checkpointed(step, Checkpoint::Step(step))
    }

    /// Copies the last checkpoint to `which` through `incoming`, with its own
    /// state file, so a crash mid-copy leaves no half checkpoint under that name.
    fn copy_last(
        &self,
        which: Checkpoint,
        incoming: &std::path::Path,
        state: serde_json::Value,
    ) -> Result<()> {
        let last = self.layout.checkpoint(Checkpoint::Last);
        let target = self.layout.checkpoint(which);
        let fail = |e: std::io::Error| RunnerError::Checkpoint {
            dir: target.clone(),
            source: Box::new(e),
        };
        let _ = std::fs::remove_dir_all(incoming);
        std::fs::create_dir_all(incoming).map_err(fail)?;
        for entry in std::fs::read_dir(&last).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            std::fs::copy(entry.path(), incoming.join(entry.file_name())).map_err(fail)?;
        }
        std::fs::write(RunLayout::state_file(incoming), state.to_string()).map_err(fail)?;
        let _ = std::fs::remove_dir_all(&target);
        std::fs::rename(incoming, &target).map_err(fail)
    }

    /// Writes a checkpoint beside the old one, then swaps it in, so a crash
    /// mid-write never destroys the last good checkpoint.
    fn checkpoint(&mut self, step: u64) -> Result<()> {
        let last = self.layout.checkpoint(Checkpoint::Last);
        let fresh = self.layout.incoming();
        let old = self.layout.previous();
        let fail = |dir: &std::path::Path, e: Box<dyn std::error::Error + Send + Sync>| {
            RunnerError::Checkpoint {
                dir: dir.to_path_buf(),
                source: e,
            }
        };
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).map_err(|e| fail(&fresh, Box::new(e)))?;
        self.variant
            .save(&fresh)
            .map_err(|e| fail(&fresh, Box::new(e)))?;
        let state = serde_json::json!({ "step": step, "seed": self.cadence.seed });
        std::fs::write(RunLayout::state_file(&fresh), state.to_string())
            .map_err(|e| fail(&fresh, Box::new(e)))?;
        let _ = std::fs::remove_dir_all(&old);
        if last.exists() {
            std::fs::rename(&last, &old).map_err(|e| fail(&last, Box::new(e)))?;
        }
        std::fs::rename(&fresh, &last).map_err(|e| fail(&last, Box::new(e)))?;
        let _ = std::fs::remove_dir_all(&old);
        self.checkpointed(step, Checkpoint::Last)?;
        self.keep_step(step)
    }
}

/// The seed of the draws behind every evaluation of a run.
pub fn eval_seed(seed: u64) -> u64 {
    seed ^ 0xE7A1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::events::MemorySink;

    /// The step and kind of a run's last event (its time differs run to run).
    fn ended(event: Event) -> (u64, EventKind) {
        (event.step, event.kind)
    }
    use crate::train::loader::TrainSet;
    use gan_lab_variants::{Batch, Better, SampleGrid, StreamRequest};
    use std::path::Path;

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
            vec![Scalar::new("loss_d", value)]
        }
        fn sample_grid(&self) -> SampleGrid {
            SampleGrid {
                rows: 1,
                cols: 1,
                pixels: vec![0.0; 784],
                row_labels: vec![],
            }
        }
        fn evaluate(
            &self,
            judge: &dyn Judge,
            samples: usize,
            _seed: u64,
        ) -> gan_lab_variants::Result<Vec<Scalar>> {
            judge.image_scores(&vec![0.0; samples * 784])
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
                keep_every: None,
                seed: 1,
                eval: None,
            },
            layout: RunLayout::new(dir),
            sinks: vec![sink],
            stop: Arc::new(AtomicBool::new(stop)),
            judge: None,
            objective: Some(Objective {
                key: "fid".into(),
                better: Better::Lower,
            }),
            early_stop: None,
        }
    }

    /// Hands out a fixed sequence of FIDs.
    struct Sequence(std::cell::RefCell<Vec<f64>>);

    fn sequence(fids: &[f64]) -> Option<Box<dyn Judge>> {
        Some(Box::new(Sequence(std::cell::RefCell::new(fids.to_vec()))))
    }

    impl Judge for Sequence {
        fn test_set(&self) -> (&[f32], &[u8]) {
            (&[], &[])
        }
        fn image_scores(&self, pixels: &[f32]) -> gan_lab_variants::Result<Vec<Scalar>> {
            assert_eq!(pixels.len(), 5 * 784);
            Ok(vec![Scalar::new("fid", self.0.borrow_mut().remove(0))])
        }
        fn class_scores(
            &self,
            _pixels: &[f32],
            _labels: &[u8],
        ) -> gan_lab_variants::Result<Vec<Scalar>> {
            unreachable!("the counter is unconditional")
        }
        fn classify(&self, pixels: &[f32]) -> Vec<u8> {
            vec![0; pixels.len() / 784]
        }
        fn fid(&self, _pixels: &[f32], _reference: &[f32]) -> gan_lab_variants::Result<f64> {
            unreachable!("the counter asks for image scores only")
        }
    }

    #[test]
    fn evaluations_keep_the_best_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let mut r = runner(dir.path(), u64::MAX, false, &mut sink);
        r.cadence.eval = Some((2, 5));
        r.judge = sequence(&[5.0, 3.0, 4.0, 2.5, 9.0]);
        assert_eq!(ended(r.run(0).unwrap()), (10, EventKind::Finished));
        assert_eq!(sink.series("fid").len(), 0, "scores come as Eval events");
        let evals = sink.steps(|k| matches!(k, EventKind::Eval { .. }));
        assert_eq!(evals, vec![2, 4, 6, 8, 10]);
        let layout = RunLayout::new(dir.path());
        let best = layout.checkpoint(Checkpoint::Best);
        assert_eq!(RunLayout::checkpoint_step(&best), Some(8));
        assert_eq!(std::fs::read_to_string(best.join("steps")).unwrap(), "8");
        assert_eq!(layout.best_score(), Some(2.5));
    }

    /// Stops when the FID is above a bar.
    struct Above(f64);

    impl EarlyStop for Above {
        fn check(
            &mut self,
            step: u64,
            scores: &[Scalar],
        ) -> std::result::Result<Option<String>, SinkError> {
            let fid = scores.iter().find(|s| s.name == "fid").unwrap().value;
            Ok((fid > self.0).then(|| format!("fid {fid} at step {step}")))
        }
    }

    #[test]
    fn the_stopping_rule_ends_a_run_with_a_checkpoint_and_samples() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let mut r = runner(dir.path(), u64::MAX, false, &mut sink);
        r.cadence.eval = Some((2, 5));
        r.judge = sequence(&[5.0, 3.0, 4.0, 2.5, 9.0]);
        r.early_stop = Some(Box::new(Above(3.5)));
        let outcome = r.run(0).unwrap();
        assert_eq!(
            ended(outcome),
            (
                2,
                EventKind::Stopped {
                    reason: "fid 5 at step 2".into()
                }
            )
        );
        assert_eq!(
            RunLayout::new(dir.path()).last_checkpoint().map(|c| c.1),
            Some(2)
        );
        assert!(
            sink.steps(|k| matches!(k, EventKind::Samples { .. }))
                .contains(&2)
        );
        assert!(matches!(sink.last(), Some((2, EventKind::Stopped { .. }))));
    }

    #[test]
    fn the_stopping_rule_never_ends_the_last_step() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let mut r = runner(dir.path(), u64::MAX, false, &mut sink);
        r.cadence.eval = Some((5, 5));
        r.judge = sequence(&[1.0, 9.0]);
        r.early_stop = Some(Box::new(Above(3.5)));
        assert_eq!(ended(r.run(0).unwrap()), (10, EventKind::Finished));
    }

    #[test]
    fn cadence_of_samples_and_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), u64::MAX, false, &mut sink)
            .run(0)
            .unwrap();
        assert_eq!(ended(outcome), (10, EventKind::Finished));
        let samples = sink.steps(|k| matches!(k, EventKind::Samples { .. }));
        let checkpoints = sink.steps(|k| matches!(k, EventKind::Checkpoint { .. }));
        assert_eq!(samples, vec![4, 8, 10]);
        assert_eq!(checkpoints, vec![3, 6, 9, 10]);
        assert_eq!(
            RunLayout::new(dir.path()).last_checkpoint().map(|c| c.1),
            Some(10)
        );
        assert_eq!(sink.series("loss_d").len(), 10);
        assert!(sink.series("img_per_s").iter().all(|p| p.1 > 0.0));
        assert_eq!(sink.last(), Some((10, &EventKind::Finished)));
    }

    #[test]
    fn keep_every_keeps_the_checkpoints_of_its_multiples() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let mut r = runner(dir.path(), u64::MAX, false, &mut sink);
        r.cadence.keep_every = Some(6);
        assert_eq!(ended(r.run(0).unwrap()), (10, EventKind::Finished));
        let layout = RunLayout::new(dir.path());
        let by_step: Vec<u64> = layout.checkpoints_by_step().iter().map(|c| c.0).collect();
        assert_eq!(by_step, vec![6, 10]);
        let kept = layout.checkpoint(Checkpoint::Step(6));
        assert_eq!(RunLayout::checkpoint_step(&kept), Some(6));
        // The counter's state in the kept folder is the one of step 6.
        let mut restored = Counter {
            steps: 0,
            nan_at: u64::MAX,
        };
        restored.load(&kept).unwrap();
        assert_eq!(restored.steps, 6);
        assert!(!layout.kept_incoming().exists());
        assert!(sink.events.iter().any(|e| e.step == 6
            && matches!(
                &e.kind,
                EventKind::Checkpoint { dir } if dir == Path::new("checkpoints/step-000006")
            )));
    }

    #[test]
    fn divergence_fails_the_run_and_keeps_the_last_good_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), 8, false, &mut sink).run(0).unwrap();
        let (8, EventKind::Failed { reason }) = ended(outcome) else {
            panic!("expected failure at step 8")
        };
        assert!(
            reason.contains("loss_d became NaN at step 8") && reason.contains("step 6"),
            "{reason}"
        );
        let (dir_path, ckpt_step) = RunLayout::new(dir.path()).last_checkpoint().unwrap();
        assert_eq!(ckpt_step, 6);
        assert_eq!(
            std::fs::read_to_string(dir_path.join("steps")).unwrap(),
            "6"
        );
    }

    #[test]
    fn divergence_before_any_checkpoint_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), 1, false, &mut sink).run(0).unwrap();
        let (1, EventKind::Failed { reason }) = ended(outcome) else {
            panic!("expected failure at step 1")
        };
        assert!(
            reason.contains("no checkpoint was written") && !reason.contains("step 0"),
            "{reason}"
        );
    }

    #[test]
    fn stop_flag_checkpoints_and_resume_restores() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MemorySink::default();
        let outcome = runner(dir.path(), u64::MAX, true, &mut sink)
            .run(0)
            .unwrap();
        assert_eq!(ended(outcome), (1, EventKind::Interrupted));
        let mut sink = MemorySink::default();
        let mut again = runner(dir.path(), u64::MAX, false, &mut sink);
        let start = again.restore().unwrap();
        assert_eq!(start, 1);
        assert_eq!(ended(again.run(start).unwrap()), (10, EventKind::Finished));
        // The counter continued from the checkpoint: its losses are 2..=10.
        assert_eq!(sink.series("loss_d").first(), Some(&(2, 2.0)));
    }
}
