//! Metric series and artifacts: what a run logs while it trains, and the
//! reads the report and `show` make of them. Metric points arrive in
//! batches (the tracker sink buffers them) and each batch is written in one
//! transaction.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::series::{self, SeriesDigest};
use super::{Artifact, LatestMetric, MetricPoint, Result, Tracker, now};

/// NaN and infinities become NULL (SQLite would turn NaN into NULL anyway).
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

impl Tracker {
    /// Appends metric points to a run in one transaction, and moves each
    /// metric's latest value forward (never back to an earlier step). The
    /// points of each metric become one chunk row (see [`series`](super::series)).
    pub fn log_metrics(&self, run: &str, points: &[MetricPoint]) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        // Per key, in order of first appearance: its points, and the point at
        // the highest step (the last one on ties), the only one that can
        // become the latest value.
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut by_key: Vec<(&str, Vec<&MetricPoint>, &MetricPoint)> = Vec::new();
        for p in points {
            match index.get(p.key.as_str()) {
                Some(&i) => {
                    let entry = &mut by_key[i];
                    entry.1.push(p);
                    if p.step >= entry.2.step {
                        entry.2 = p;
                    }
                }
                None => {
                    index.insert(&p.key, by_key.len());
                    by_key.push((&p.key, vec![p], p));
                }
            }
        }
        self.write(&format!("logging metrics of run {run}"), |tx| {
            // Interns the key; new points make a stored digest stale.
            let mut intern = tx.prepare_cached(
                "INSERT INTO series (run_id, key) VALUES (?1, ?2)
                 ON CONFLICT (run_id, key) DO UPDATE SET digest = NULL
                 RETURNING id",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO chunks (series_id, first_step, last_step, points)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut upsert = tx.prepare_cached(
                "INSERT INTO latest_metrics (run_id, key, step, value, wall_time)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (run_id, key) DO UPDATE
                 SET step = excluded.step, value = excluded.value, wall_time = excluded.wall_time
                 WHERE excluded.step >= latest_metrics.step",
            )?;
            for (key, pts, latest) in &by_key {
                let id: i64 = intern.query_row(params![run, key], |r| r.get(0))?;
                let first = pts.iter().map(|p| p.step).min().unwrap_or(0);
                let last = pts.iter().map(|p| p.step).max().unwrap_or(0);
                insert.execute(params![
                    id,
                    first,
                    last,
                    series::encode(pts.iter().copied())
                ])?;
                upsert.execute(params![
                    run,
                    key,
                    latest.step,
                    finite(latest.value),
                    latest.wall_time
                ])?;
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
                let keys: Vec<(String, i64)> = tx
                    .prepare(
                        "SELECT l.key, s.id FROM latest_metrics l
                         JOIN series s ON s.run_id = l.run_id AND s.key = l.key
                         WHERE l.run_id = ?1 AND l.step > ?2",
                    )?
                    .query_map(params![run, step], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let chunks: Vec<(i64, u64, String)> = tx
                    .prepare(
                        "SELECT c.rowid, c.first_step, c.points FROM chunks c
                         JOIN series s ON s.id = c.series_id
                         WHERE s.run_id = ?1 AND c.last_step > ?2",
                    )?
                    .query_map(params![run, step], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let mut deleted = 0;
                for (rowid, first, blob) in chunks {
                    let mut points = Vec::new();
                    series::decode_into(blob.as_bytes(), &mut points);
                    let before = points.len();
                    points.retain(|p| p.0 <= step);
                    deleted += before - points.len();
                    if first > step || points.is_empty() {
                        tx.execute("DELETE FROM chunks WHERE rowid = ?1", [rowid])?;
                    } else {
                        let last = points.iter().map(|p| p.0).max().unwrap_or(first);
                        tx.execute(
                            "UPDATE chunks SET last_step = ?2, points = ?3 WHERE rowid = ?1",
                            params![rowid, last, series::encode_points(&points)],
                        )?;
                    }
                }
                tx.execute(
                    "UPDATE series SET digest = NULL WHERE run_id = ?1",
                    params![run],
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
                for (key, id) in &keys {
                    // The last point written at the highest step left.
                    if let Some(&(s, value, wall)) = series::read_series(tx, *id)?.last() {
                        tx.execute(
                            "INSERT INTO latest_metrics (run_id, key, step, value, wall_time)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            params![run, key, s, finite(value), wall],
                        )?;
                    }
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
    /// ordered by step (points of one step in the order they were logged).
    pub fn metric_series(&self, run: &str, key: &str) -> Result<Vec<(u64, f64, f64)>> {
        let op = || format!("reading metric {key} of run {run}");
        let id: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM series WHERE run_id = ?1 AND key = ?2")
            .and_then(|mut stmt| stmt.query_row([run, key], |r| r.get(0)).optional())
            .map_err(self.err(op()))?;
        match id {
            None => Ok(Vec::new()),
            Some(id) => series::read_series(&self.conn, id).map_err(self.err(op())),
        }
    }

    /// The stored digests of a run's (by full id) metric series, by key: a
    /// run gets them when it ends, and a series written to since has none.
    pub fn metric_digests(&self, run: &str) -> Result<HashMap<String, SeriesDigest>> {
        let rows: Vec<(String, Vec<u8>)> = self.query(
            &format!("reading metric digests of run {run}"),
            "SELECT key, digest FROM series WHERE run_id = ?1 AND digest IS NOT NULL",
            [run],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, blob)| Some((key, SeriesDigest::decode(&blob)?)))
            .collect())
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

    use super::*;
    use crate::store::tracker::fixtures::{new_run, point};

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

    #[test]
    fn the_metrics_view_gives_sql_one_row_per_point() {
        let t = Tracker::open_in_memory().unwrap();
        let id = t.create_run(&new_run("fashion", "dcgan-small")).unwrap();
        t.log_metrics(
            &id,
            &[point("loss_d", 2, 0.6), point("loss_d", 1, f64::NAN)],
        )
        .unwrap();
        t.log_metrics(&id, &[point("loss_d", 3, 0.5), point("fid", 3, 250.0)])
            .unwrap();
        let rows: Vec<(String, i64, Option<f64>)> = t
            .conn
            .prepare("SELECT key, step, value FROM metrics WHERE run_id = ?1 ORDER BY key, step")
            .unwrap()
            .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                ("fid".to_string(), 3, Some(250.0)),
                ("loss_d".to_string(), 1, None),
                ("loss_d".to_string(), 2, Some(0.6)),
                ("loss_d".to_string(), 3, Some(0.5)),
            ]
        );
    }
}
