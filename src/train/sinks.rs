//! The sinks a real run uses: sample files, the SQLite tracker and the
//! progress bar (or, when standard error is not a terminal, such as a Slurm
//! output file, plain progress lines).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use gan_lab_variants::metric::{find, lookup};
use gan_lab_variants::{Objective, Scalar};
use indicatif::{ProgressBar, ProgressStyle};

use crate::store::layout::RunLayout;
use crate::store::tracker::{MetricPoint, RunStatus, Tracker};
use crate::train::events::{Event, EventKind, Sink, SinkError};
use crate::util::table::format_duration;

/// Writes sample grids as PNG files into the run folder.
pub struct ArtifactSink {
    pub run_dir: PathBuf,
}

impl Sink for ArtifactSink {
    fn on_event(&mut self, event: &Event) -> Result<(), SinkError> {
        if let EventKind::Samples { grid } = &event.kind {
            let path = self.run_dir.join(RunLayout::sample_rel(event.step));
            crate::train::grid::write_png(&path, grid)?;
        }
        Ok(())
    }
}

/// Records metrics (batched), artifacts, progress and status in the database.
pub struct TrackerSink<'a> {
    pub tracker: &'a Tracker,
    pub run_id: String,
    buffer: Vec<MetricPoint>,
    last_step: u64,
    /// The time of the event that last flushed (Unix seconds; 0: none yet).
    last_flush: f64,
}

/// Metric points are written in transactions of at most this many, and at
/// least this often, so that a live report of a slow run stays current.
const FLUSH_POINTS: usize = 2000;
const FLUSH_EVERY_S: f64 = 2.0;

impl<'a> TrackerSink<'a> {
    pub fn new(tracker: &'a Tracker, run_id: String) -> Self {
        Self {
            tracker,
            run_id,
            buffer: Vec::new(),
            last_step: 0,
            last_flush: 0.0,
        }
    }

    /// Writes the buffered points and the progress; `time` is the event's.
    fn flush(&mut self, time: f64) -> Result<(), SinkError> {
        if !self.buffer.is_empty() {
            self.tracker.log_metrics(&self.run_id, &self.buffer)?;
            self.buffer.clear();
        }
        self.tracker.set_progress(&self.run_id, self.last_step)?;
        self.last_flush = time;
        Ok(())
    }

    /// Buffers `scalars` as points of the event's step and time.
    fn record(&mut self, event: &Event, scalars: &[Scalar]) {
        self.buffer.extend(scalars.iter().map(|s| MetricPoint {
            key: s.name.to_string(),
            step: event.step,
            value: s.value,
            wall_time: event.time,
        }));
    }
}

impl Sink for TrackerSink<'_> {
    fn on_event(&mut self, event: &Event) -> Result<(), SinkError> {
        let run = self.run_id.clone();
        let (step, time) = (event.step, event.time);
        match &event.kind {
            EventKind::Started { .. } => {
                self.last_flush = time;
                self.tracker.set_status(&run, RunStatus::Running, None)?;
            }
            EventKind::Step { scalars } => {
                self.last_step = step;
                self.record(event, scalars);
                if self.buffer.len() >= FLUSH_POINTS || time - self.last_flush >= FLUSH_EVERY_S {
                    self.flush(time)?;
                }
            }
            EventKind::Eval { scores } => {
                self.record(event, scores);
                self.flush(time)?;
            }
            EventKind::Samples { .. } => {
                self.flush(time)?;
                self.tracker.add_artifact(
                    &run,
                    "samples",
                    Some(step),
                    &RunLayout::sample_rel(step),
                )?;
            }
            EventKind::Checkpoint { dir } => {
                self.flush(time)?;
                let dir = dir.to_string_lossy();
                self.tracker
                    .add_artifact(&run, "checkpoint", Some(step), &dir)?;
            }
            EventKind::Finished => {
                self.flush(time)?;
                self.tracker.set_status(&run, RunStatus::Finished, None)?;
            }
            EventKind::Failed { reason } => {
                self.flush(time)?;
                self.tracker
                    .set_status(&run, RunStatus::Failed, Some(reason))?;
            }
            EventKind::Stopped { reason } => {
                self.flush(time)?;
                self.tracker
                    .set_status(&run, RunStatus::Stopped, Some(reason))?;
            }
            EventKind::Interrupted => {
                self.flush(time)?;
                let reason = format!(
                    "stopped by the user after step {step}; continue with `gan-lab resume {run}`"
                );
                self.tracker
                    .set_status(&run, RunStatus::Interrupted, Some(&reason))?;
            }
        }
        Ok(())
    }
}

impl Drop for TrackerSink<'_> {
    /// Whatever happens to the run, points already received are not lost.
    fn drop(&mut self) {
        let _ = self.flush(self.last_flush);
    }
}

/// The terminal progress bar: step, losses, discriminator accuracy, img/s,
/// ETA, and after each evaluation the run's objective score.
pub struct ProgressSink {
    bar: ProgressBar,
    objective: Option<Objective>,
    /// Plain lines instead of the bar, when standard error is not a terminal.
    plain: Option<PlainLines>,
}

/// A plain progress line every [`PLAIN_PERCENT`] percent of the run or
/// every [`PLAIN_EVERY`], whichever comes first.
const PLAIN_PERCENT: u64 = 5;
const PLAIN_EVERY: Duration = Duration::from_secs(30);

/// Times are the events' (Unix seconds).
struct PlainLines {
    name: String,
    started: f64,
    start_step: u64,
    total: u64,
    last_at: f64,
    last_percent: u64,
}

impl PlainLines {
    /// Whether `step`, at time `now`, is due for a line.
    fn due(&self, step: u64, now: f64) -> bool {
        let percent = step * 100 / self.total.max(1);
        step >= self.total
            || percent >= self.last_percent + PLAIN_PERCENT
            || now - self.last_at >= PLAIN_EVERY.as_secs_f64()
    }

    /// `dcgan: step 120/400 (30%) D 0.693 G 0.701 412 img/s, ETA 1m 12s`.
    fn line(&self, step: u64, msg: &str, elapsed: Duration) -> String {
        let done = step.saturating_sub(self.start_step);
        let left = self.total.saturating_sub(step);
        let eta = if done == 0 {
            "?".to_string()
        } else {
            format_duration(elapsed.as_secs_f64() * left as f64 / done as f64)
        };
        format!(
            "{}: step {step}/{} ({}%) {msg}, ETA {eta}",
            self.name,
            self.total,
            step * 100 / self.total.max(1)
        )
    }
}

impl ProgressSink {
    /// The bar of run `name`; `objective` is the score evaluations print
    /// (`None`: they print nothing).
    pub fn new(name: &str, objective: Option<Objective>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self {
                bar: ProgressBar::hidden(),
                objective,
                plain: Some(PlainLines {
                    name: name.to_string(),
                    started: 0.0,
                    start_step: 0,
                    total: 0,
                    last_at: 0.0,
                    last_percent: 0,
                }),
            };
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} {msg} [{elapsed_precise} < {eta}]",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(500));
        Self {
            bar,
            objective,
            plain: None,
        }
    }

    /// The line an evaluation at `step` prints: the objective's label and
    /// value, if the scores hold it.
    fn eval_line(&self, step: u64, scores: &[Scalar]) -> Option<String> {
        let key = self.objective.as_ref()?.key.as_ref();
        let value = find(scores, key)?;
        let label = lookup(&crate::eval::scoring::score_vocabulary(), key).label;
        Some(format!("step {step}: {label} {value:.4}"))
    }
}

impl Sink for ProgressSink {
    fn on_event(&mut self, event: &Event) -> Result<(), SinkError> {
        let (step, time) = (event.step, event.time);
        match &event.kind {
            EventKind::Started { total_steps } => {
                self.bar.set_length(*total_steps);
                self.bar.set_position(step);
                self.bar.reset_eta();
                if let Some(p) = &mut self.plain {
                    p.started = time;
                    p.last_at = time;
                    p.start_step = step;
                    p.total = *total_steps;
                    p.last_percent = step * 100 / total_steps.max(&1);
                }
            }
            EventKind::Step { scalars } => {
                let get = |n: &str| scalars.iter().find(|s| s.name == n).map(|s| s.value);
                let mut msg = String::new();
                if let (Some(d), Some(g)) = (get("loss_d"), get("loss_g")) {
                    msg += &format!("D {d:.3} G {g:.3}");
                }
                if let (Some(r), Some(f)) = (get("acc_real"), get("acc_fake")) {
                    msg += &format!(" acc {:.0}%", 50.0 * (r + f));
                }
                if let Some(ips) = get("img_per_s") {
                    msg += &format!(" {ips:.0} img/s");
                }
                if let Some(p) = &mut self.plain
                    && p.due(step, time)
                {
                    let elapsed = Duration::from_secs_f64((time - p.started).max(0.0));
                    eprintln!("{}", p.line(step, &msg, elapsed));
                    p.last_at = time;
                    p.last_percent = step * 100 / p.total.max(1);
                }
                self.bar.set_message(msg);
                self.bar.set_position(step);
            }
            EventKind::Finished
            | EventKind::Failed { .. }
            | EventKind::Interrupted
            | EventKind::Stopped { .. } => {
                self.bar.finish();
            }
            EventKind::Eval { scores } => {
                if let Some(line) = self.eval_line(step, scores) {
                    match &self.plain {
                        Some(p) => eprintln!("{}: {line}", p.name),
                        None => self.bar.println(line),
                    }
                }
            }
            EventKind::Samples { .. } | EventKind::Checkpoint { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluations_print_the_objective() {
        let scores = [Scalar::new("fid", 12.5), Scalar::new("cond_acc", 0.75)];
        let sink = |key: &'static str| {
            ProgressSink::new(
                "run",
                Some(Objective {
                    key: key.into(),
                    better: gan_lab_variants::Better::Higher,
                }),
            )
        };
        assert_eq!(
            sink("cond_acc").eval_line(40, &scores).as_deref(),
            Some("step 40: conditional accuracy (share of the requested class) 0.7500")
        );
        assert_eq!(
            sink("fid").eval_line(40, &scores).as_deref(),
            Some("step 40: FID 12.5000")
        );
        assert_eq!(sink("kid").eval_line(40, &scores), None);
        assert_eq!(ProgressSink::new("run", None).eval_line(40, &scores), None);
    }

    #[test]
    fn plain_lines_come_every_few_percent_or_every_half_minute() {
        let t0 = 1_700_000_000.0;
        let mut p = PlainLines {
            name: "dcgan".into(),
            started: t0,
            start_step: 0,
            total: 400,
            last_at: t0,
            last_percent: 0,
        };
        assert!(!p.due(19, t0));
        assert!(p.due(20, t0), "5% of 400");
        p.last_percent = 5;
        assert!(!p.due(30, t0 + 29.0));
        assert!(p.due(30, t0 + 30.0));
        assert!(p.due(400, t0), "the last step");
        assert_eq!(
            p.line(100, "D 0.693 G 0.701 412 img/s", Duration::from_secs(30)),
            "dcgan: step 100/400 (25%) D 0.693 G 0.701 412 img/s, ETA 1m 30s"
        );
        assert_eq!(
            p.line(0, "", Duration::ZERO),
            "dcgan: step 0/400 (0%) , ETA ?"
        );
    }
}
