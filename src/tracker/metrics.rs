//! Metric series and artifacts: what a run logs while it trains, and the
//! reads the report and `show` make of them. Metric points arrive in
//! batches (the tracker sink buffers them) and each batch is written in one
//! transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{Artifact, LatestMetric, MetricPoint, Result, Tracker, now};

/// NaN and infinities become NULL (SQLite would turn NaN into NULL anyway).
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

impl Tracker {
    /// Appends metric points to a run in one transaction, and moves each
    /// metric's latest value forward (never back to an earlier step).
    pub fn log_metrics(&self, run: &str, points: &[MetricPoint]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        // Per key, the point at the highest step (the last one on ties): the
        // only one that can become the latest value.
        let mut latest: HashMap<&str, &MetricPoint> = HashMap::new();
        for p in points {
            match latest.get(p.key.as_str()) {
                Some(q) if q.step > p.step => {}
                _ => {
                    latest.insert(&p.key, p);
                }
            }
        }
        self.write(&format!("logging metrics of run {run}"), |tx| {
            let mut insert = tx.prepare_cached(
                "INSERT INTO metrics (run_id, key, step, value, wall_time)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for p in points {
                insert.execute(params![run, p.key, p.step, finite(p.value), p.wall_time])?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO latest_metrics (run_id, key, step, value, wall_time)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, key) DO UPDATE
                 SET step = excluded.step, value = excluded.value, wall_time = excluded.wall_time
                 WHERE excluded.step >= latest_metrics.step",
            )?;
            for p in latest.values() {
                upsert.execute(params![run, p.key, p.step, finite(p.value), p.wall_time])?;
            }
            Ok(())
        })
    }

    /// Deletes the metric points of a run after `step` (the steps a resumed
    /// run trains again), and rolls the latest values back to match.
    /// Returns how many points were deleted.
    pub fn truncate_metrics(&self, run: &str, step: u64) -> Result<usize> {
        self.write(
            &format!("truncating metrics of run {run} after step {step}"),
            |tx| {
                let keys: Vec<String> = tx
                    .prepare("SELECT key FROM latest_metrics WHERE run_id = ?1 AND step > ?2")?
                    .query_map(params![run, step], |row| row.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let deleted = tx.execute(
                    "DELETE FROM metrics WHERE run_id = ?1 AND step > ?2",
                    params![run, step],
                )?;
                // The steps past `step` are undone: the run has done `step` of them.
                tx.execute(
                    "UPDATE runs SET steps_done = min(steps_done, ?2) WHERE id = ?1",
                    params![run, step],
                )?;
                tx.execute(
                    "DELETE FROM latest_metrics WHERE run_id = ?1 AND step > ?2",
                    params![run, step],
                )?;
                let mut restore = tx.prepare(
                    "INSERT INTO latest_metrics (run_id, key, step, value, wall_time)
                 SELECT run_id, key, step, value, wall_time FROM metrics
                 WHERE run_id = ?1 AND key = ?2
                 ORDER BY step DESC, rowid DESC LIMIT 1",
                )?;
                for key in &keys {
                    restore.execute(params![run, key])?;
                }
                Ok(deleted)
            },
        )
    }

    /// Records (or replaces) a file a run produced; `path` is relative to
    /// the run folder.
    pub fn add_artifact(&self, run: &str, kind: &str, step: Option<u64>, path: &str) -> Result<()> {
        self.write(&format!("recording artifact {path} of run {run}"), |tx| {
            tx.execute(
                "INSERT INTO artifacts (run_id, kind, step, path, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, path) DO UPDATE
                 SET kind = excluded.kind, step = excluded.step, created_at = excluded.created_at",
                params![run, kind, step, path, now()],
            )?;
            Ok(())
        })
    }

    /// The latest value of metric `key` of a run (by full id), if it has one.
    pub fn latest_value(&self, run: &str, key: &str) -> Result<Option<f64>> {
        self.conn
            .prepare_cached("SELECT value FROM latest_metrics WHERE run_id = ?1 AND key = ?2")
            .and_then(|mut stmt| {
                stmt.query_row([run, key], |row| {
                    Ok(row.get::<_, Option<f64>>(0)?.unwrap_or(f64::NAN))
                })
                .optional()
            })
            .map_err(self.err(format!("reading the latest {key} of run {run}")))
    }

    /// The latest value of each metric of a run (by full id), sorted by key.
    pub fn latest_metrics(&self, run: &str) -> Result<Vec<LatestMetric>> {
        self.query(
            &format!("reading latest metrics of run {run}"),
            "SELECT key, step, value, wall_time FROM latest_metrics WHERE run_id = ?1 ORDER BY key",
            [run],
            |row| {
                Ok(LatestMetric {
                    key: row.get(0)?,
                    step: row.get(1)?,
                    value: row.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
                    wall_time: row.get(3)?,
                })
            },
        )
    }

    /// A metric series of a run (by full id) as (step, value, wall time),
    /// ordered by step.
    pub fn metric_series(&self, run: &str, key: &str) -> Result<Vec<(u64, f64, f64)>> {
        self.query(
            &format!("reading metric {key} of run {run}"),
            "SELECT step, value, wall_time FROM metrics
             WHERE run_id = ?1 AND key = ?2 ORDER BY step, rowid",
            [run, key],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                    row.get(2)?,
                ))
            },
        )
    }

    /// The names of the metrics a run (by full id) has logged, sorted.
    pub fn metric_keys(&self, run: &str) -> Result<Vec<String>> {
        // Every logged metric has a row in latest_metrics: no need to scan
        // the whole series.
        self.query(
            &format!("reading metric names of run {run}"),
            "SELECT key FROM latest_metrics WHERE run_id = ?1 ORDER BY key",
            [run],
            |row| row.get(0),
        )
    }

    /// The artifacts of a run (by full id), ordered by step (those without
    /// one first), then path.
    pub fn artifacts(&self, run: &str) -> Result<Vec<Artifact>> {
        self.query(
            &format!("reading artifacts of run {run}"),
            "SELECT kind, step, path, created_at FROM artifacts
             WHERE run_id = ?1 ORDER BY step, path",
            [run],
            |row| {
                Ok(Artifact {
                    kind: row.get(0)?,
                    step: row.get(1)?,
                    path: row.get(2)?,
                    created_at: row.get(3)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::tracker::tests::{new_run, point};

    #[test]
    fn metrics_and_artifacts_round_trip() {
        let t = Tracker::open_in_memory().unwrap();
        let id = t.create_run(&new_run("fashion", "dcgan-small")).unwrap();

        // Metrics, with NaN and infinity, and a batch that goes back in steps.
        t.log_metrics(
            &id,
            &[
                point("loss_d", 1, 0.7),
                point("loss_g", 1, f64::NAN),
                point("loss_d", 2, 0.6),
            ],
        )
        .unwrap();
        t.log_metrics(
            &id,
            &[point("loss_g", 2, f64::INFINITY), point("loss_d", 1, 9.0)],
        )
        .unwrap();
        let series = t.metric_series(&id, "loss_d").unwrap();
        assert_eq!(series.len(), 3);
        assert_eq!(
            series.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![1, 1, 2]
        );
        assert_eq!((series[0].1, series[0].2), (0.7, 1001.0));
        let g = t.metric_series(&id, "loss_g").unwrap();
        assert!(g[0].1.is_nan() && g[1].1.is_nan());
        assert_eq!(t.metric_keys(&id).unwrap(), vec!["loss_d", "loss_g"]);
        let latest = t.latest_metrics(&id).unwrap();
        assert_eq!(
            latest[0],
            LatestMetric {
                key: "loss_d".into(),
                step: 2,
                value: 0.6,
                wall_time: 1002.0
            }
        );
        assert_eq!((latest[1].key.as_str(), latest[1].step), ("loss_g", 2));
        assert!(latest[1].value.is_nan());
        // The same step again does move it (the last write wins).
        t.log_metrics(&id, &[point("loss_d", 2, 0.5)]).unwrap();
        assert_eq!(t.latest_metrics(&id).unwrap()[0].value, 0.5);
        t.log_metrics(&id, &[]).unwrap();

        // Truncation for resume: drops later points and rolls latest back.
        t.log_metrics(&id, &[point("loss_d", 3, 0.4), point("acc", 3, 0.9)])
            .unwrap();
        assert_eq!(t.truncate_metrics(&id, 2).unwrap(), 2);
        let latest = t.latest_metrics(&id).unwrap();
        assert_eq!(
            latest
                .iter()
                .map(|m| (m.key.as_str(), m.step))
                .collect::<Vec<_>>(),
            vec![("loss_d", 2), ("loss_g", 2)]
        );
        assert_eq!(latest[0].value, 0.5);

        // Artifacts: upsert by path, ordered by step then path.
        t.add_artifact(&id, "samples", Some(20), "samples/step-000020.png")
            .unwrap();
        t.add_artifact(&id, "checkpoint", Some(10), "checkpoints/step-000010")
            .unwrap();
        t.add_artifact(&id, "samples", Some(10), "samples/step-000010.png")
            .unwrap();
        t.add_artifact(&id, "samples", Some(20), "samples/step-000020.png")
            .unwrap();
        t.add_artifact(&id, "log", None, "train.log").unwrap();
        let arts = t.artifacts(&id).unwrap();
        let got: Vec<_> = arts
            .iter()
            .map(|a| (a.kind.as_str(), a.step, a.path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("log", None, "train.log"),
                ("checkpoint", Some(10), "checkpoints/step-000010"),
                ("samples", Some(10), "samples/step-000010.png"),
                ("samples", Some(20), "samples/step-000020.png"),
            ]
        );
    }

    /// `cargo test --release -- --ignored --nocapture bench_log_metrics`
    #[test]
    #[ignore]
    fn bench_log_metrics() {
        const BATCH: u64 = 1000;
        const BATCHES: u64 = 500;
        let dir = tempfile::tempdir().unwrap();
        let t = Tracker::open(&dir.path().join("bench.db")).unwrap();
        let id = t.create_run(&new_run("bench", "bench")).unwrap();
        let keys = [
            "loss_d",
            "loss_g",
            "d_real",
            "d_fake",
            "grad_norm_d",
            "grad_norm_g",
            "img_per_s",
            "lr",
        ];
        let batches: Vec<Vec<MetricPoint>> = (0..BATCHES)
            .map(|b| {
                (0..BATCH)
                    .map(|i| {
                        let n = b * BATCH + i;
                        point(
                            keys[n as usize % keys.len()],
                            n / keys.len() as u64,
                            n as f64 * 1e-3,
                        )
                    })
                    .collect()
            })
            .collect();
        let start = Instant::now();
        for batch in &batches {
            t.log_metrics(&id, batch).unwrap();
        }
        let seconds = start.elapsed().as_secs_f64();
        let points = (BATCH * BATCHES) as f64;
        println!(
            "log_metrics: {points} points in batches of {BATCH}: {seconds:.3} s, {:.0} points/s",
            points / seconds
        );
    }
}
