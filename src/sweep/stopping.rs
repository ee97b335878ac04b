//! The median stopping rule, applied inside each run of a sweep: after an
//! evaluation, the run compares its score with the other runs of the sweep
//! at the same step (read from the shared database) and stops if it trails
//! their median. A run trained into a database shard (a Slurm array task)
//! also reads the other shards of its sweep, read-only; a shard that cannot
//! be read (being created, or on a file system that cannot share SQLite's
//! reader index) is left out.

use gan_lab_variants::Scalar;

use crate::store::tracker::Tracker;
use crate::sweep::spec::MedianRule;
use crate::train::events::SinkError;
use crate::train::runner::EarlyStop;
use crate::util::stats;

/// The rule, bound to one run of one sweep.
pub struct MedianStop<'a> {
    pub tracker: &'a Tracker,
    pub sweep: String,
    pub run_id: String,
    pub score: String,
    pub lower_is_better: bool,
    pub rule: MedianRule,
    /// The folder of the sweep's shards, when this run trains into one.
    pub shards: Option<std::path::PathBuf>,
}

/// The verdict for `value` against the other runs' `others` at one step:
/// `Some(median)` when the run should stop.
pub fn trails_median(
    value: f64,
    others: &[f64],
    lower_is_better: bool,
    min_runs: usize,
) -> Option<f64> {
    if others.len() < min_runs.max(1) {
        return None;
    }
    let median = stats::median(others.iter().copied())?;
    // A non-finite score (a broken generator) trails any median.
    let worse = !value.is_finite()
        || if lower_is_better {
            value > median
        } else {
            value < median
        };
    worse.then_some(median)
}

impl EarlyStop for MedianStop<'_> {
    fn check(&mut self, step: u64, scores: &[Scalar]) -> Result<Option<String>, SinkError> {
        if step < self.rule.after_step {
            return Ok(None);
        }
        let Some(value) = scores
            .iter()
            .find(|s| s.name == self.score)
            .map(|s| s.value)
        else {
            return Ok(None);
        };
        let mut others =
            self.tracker
                .sweep_values_at(&self.sweep, &self.score, step, &self.run_id)?;
        if let Some(folder) = &self.shards {
            others.extend(self.other_shards(folder, step));
        }
        Ok(
            trails_median(value, &others, self.lower_is_better, self.rule.min_runs).map(|median| {
                format!(
                    "stopped early by the median rule: {} {value:.4} at step {step} is worse than the median {median:.4} of {} other runs of sweep '{}'",
                    self.score,
                    others.len(),
                    self.sweep
                )
            }),
        )
    }
}

impl MedianStop<'_> {
    /// The values at `step` in the other shards of `folder`.
    fn other_shards(&self, folder: &std::path::Path, step: u64) -> Vec<f64> {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let own = self.tracker.path().canonicalize().ok();
        let mut values = Vec::new();
        for path in entries.flatten().map(|e| e.path()) {
            if path.extension().is_none_or(|e| e != "sqlite") || path.canonicalize().ok() == own {
                continue;
            }
            if let Ok(shard) = Tracker::open_read_only(&path)
                && let Ok(found) =
                    shard.sweep_values_at(&self.sweep, &self.score, step, &self.run_id)
            {
                values.extend(found);
            }
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worse_than_the_median_stops() {
        assert_eq!(trails_median(5.0, &[1.0, 2.0, 9.0], true, 3), Some(2.0));
        assert_eq!(trails_median(2.0, &[1.0, 2.0, 9.0], true, 3), None);
        assert_eq!(
            trails_median(1.5, &[1.0, 2.0, 9.0, 3.0], false, 3),
            Some(2.5)
        );
        assert_eq!(
            trails_median(f64::NAN, &[1.0, 2.0, 9.0], true, 3),
            Some(2.0)
        );
    }

    #[test]
    fn too_few_others_never_stop() {
        assert_eq!(trails_median(100.0, &[1.0, 2.0], true, 3), None);
        assert_eq!(trails_median(100.0, &[], true, 0), None);
    }

    #[test]
    fn reads_the_other_runs_from_the_database() {
        use crate::store::tracker::{MetricPoint, NewRun, fixtures};
        let t = Tracker::open_in_memory().unwrap();
        let mut ids = Vec::new();
        for (i, fid) in [100.0, 200.0, 300.0, 400.0].into_iter().enumerate() {
            let id = t
                .create_run(&NewRun {
                    sweep_id: Some("s".into()),
                    ..fixtures::new_run("e", &format!("r{i}"))
                })
                .unwrap();
            t.log_metrics(
                &id,
                &[MetricPoint {
                    key: "fid".into(),
                    step: 5,
                    value: fid,
                    wall_time: 0.0,
                }],
            )
            .unwrap();
            ids.push(id);
        }
        let rule = |run: usize| MedianStop {
            tracker: &t,
            sweep: "s".into(),
            run_id: ids[run].clone(),
            score: "fid".into(),
            lower_is_better: true,
            rule: MedianRule {
                after_step: 5,
                min_runs: 3,
            },
            shards: None,
        };
        let fid = |v: f64| {
            vec![Scalar {
                name: "fid".into(),
                value: v,
            }]
        };
        // Run 3 (400) against 100, 200, 300: median 200, stop.
        let reason = rule(3).check(5, &fid(400.0)).unwrap().unwrap();
        assert!(
            reason.contains("median 200.0000 of 3 other runs"),
            "{reason}"
        );
        // Run 0 (100) against 200, 300, 400: keep going.
        assert_eq!(rule(0).check(5, &fid(100.0)).unwrap(), None);
        // Before after_step, and at a step nobody else reached, nothing happens.
        assert_eq!(rule(3).check(4, &fid(400.0)).unwrap(), None);
        assert_eq!(rule(3).check(6, &fid(400.0)).unwrap(), None);
    }
}
