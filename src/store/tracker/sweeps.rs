//! The sweep registry: each sweep's spec and how its runs are ranked, and
//! the values its runs reached at a step (for early stopping).

use rusqlite::{OptionalExtension, params};

use super::{Result, SweepRecord, Tracker, now};

impl Tracker {
    /// Registers a sweep, or updates its spec and ranking if it exists.
    pub fn upsert_sweep(&self, sweep: &SweepRecord) -> Result<()> {
        self.write(&format!("registering sweep '{}'", sweep.id), |tx| {
            tx.execute(
                "INSERT INTO sweeps (id, spec_text, score, goal, stopping, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT (id) DO UPDATE SET spec_text = ?2, score = ?3, goal = ?4,
                                                stopping = ?5, updated_at = ?6",
                params![
                    sweep.id,
                    sweep.spec_text,
                    sweep.score,
                    if sweep.lower_is_better { "min" } else { "max" },
                    sweep.stopping,
                    now(),
                ],
            )?;
            Ok(())
        })
    }

    /// The sweep called `id`, if it was registered.
    pub fn sweep(&self, id: &str) -> Result<Option<SweepRecord>> {
        self.conn
            .prepare_cached(
                "SELECT id, spec_text, score, goal, stopping, created_at, updated_at
                 FROM sweeps WHERE id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([id], |row| {
                    Ok(SweepRecord {
                        id: row.get(0)?,
                        spec_text: row.get(1)?,
                        score: row.get(2)?,
                        lower_is_better: row.get::<_, String>(3)? == "min",
                        stopping: row.get(4)?,
                        created_at: row.get(5)?,
                        updated_at: row.get(6)?,
                    })
                })
                .optional()
            })
            .map_err(self.err(format!("reading sweep '{id}'")))
    }

    /// The finite values of metric `key` at exactly `step` in the runs of
    /// sweep `sweep`, leaving out run `except`.
    pub fn sweep_values_at(
        &self,
        sweep: &str,
        key: &str,
        step: u64,
        except: &str,
    ) -> Result<Vec<f64>> {
        let chunks: Vec<String> = self.query(
            &format!("reading {key} at step {step} in sweep '{sweep}'"),
            "SELECT c.points FROM chunks c
             JOIN series s ON s.id = c.series_id
             JOIN runs r ON r.id = s.run_id
             WHERE r.sweep_id = ?1 AND s.key = ?2 AND r.id != ?4
               AND c.first_step <= ?3 AND c.last_step >= ?3",
            params![sweep, key, step, except],
            |row| row.get(0),
        )?;
        let mut points = Vec::new();
        for blob in &chunks {
            super::series::decode_into(blob.as_bytes(), &mut points);
        }
        Ok(points
            .into_iter()
            .filter(|p| p.0 == step && p.1.is_finite())
            .map(|p| p.1)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tracker::fixtures::{new_run, point};
    use crate::store::tracker::{SweepRecord, Tracker};

    #[test]
    fn sweeps_are_registered_and_compared_at_a_step() {
        let t = Tracker::open_in_memory().unwrap();
        let mut record = SweepRecord {
            id: "lr".into(),
            spec_text: "(..)".into(),
            score: "fid".into(),
            lower_is_better: true,
            stopping: None,
            created_at: 0.0,
            updated_at: 0.0,
        };
        t.upsert_sweep(&record).unwrap();
        record.score = "is".into();
        record.lower_is_better = false;
        t.upsert_sweep(&record).unwrap();
        let stored = t.sweep("lr").unwrap().unwrap();
        assert_eq!(
            (stored.score.as_str(), stored.lower_is_better),
            ("is", false)
        );
        assert!(t.sweep("other").unwrap().is_none());

        let mut ids = Vec::new();
        for (i, fid) in [300.0, 200.0, f64::NAN].into_iter().enumerate() {
            let mut new = new_run("e", &format!("r{i}"));
            new.sweep_id = Some("lr".into());
            let id = t.create_run(&new).unwrap();
            t.log_metrics(&id, &[point("fid", 100, fid), point("fid", 200, 1.0)])
                .unwrap();
            ids.push(id);
        }
        let outsider = t.create_run(&new_run("e", "outside")).unwrap();
        t.log_metrics(&outsider, &[point("fid", 100, 5.0)]).unwrap();
        let mut values = t.sweep_values_at("lr", "fid", 100, &ids[0]).unwrap();
        values.sort_by(f64::total_cmp);
        assert_eq!(values, vec![200.0]);
        assert_eq!(
            t.sweep_values_at("lr", "fid", 100, "none").unwrap().len(),
            2
        );
    }
}
