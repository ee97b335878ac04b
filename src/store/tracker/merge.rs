//! Merging a database shard (one Slurm array task's database) into this
//! database, keeping run ids, metrics, artifacts and sweep membership.
//!
//! Rows are copied column by column as the schema names them, so every
//! table that holds a `run_id` column comes along. A run already here is
//! replaced only when the shard's copy is fresher (a later sign of life,
//! then more steps, then more metric points); otherwise it is left alone, so
//! merging twice changes nothing and two shards holding the same run keep
//! the freshest copy whatever the order. Each shard is merged in one
//! transaction. A shard at an older schema is read through a migrated copy
//! in memory; one at a newer schema is refused.

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Result, RunRecord, Tracker, TrackerError};

/// What merging one shard did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Runs that were not here before.
    pub added: Vec<String>,
    /// Runs replaced by the shard's fresher copy.
    pub updated: Vec<String>,
    /// Runs already here, as fresh as the shard's copy.
    pub unchanged: Vec<String>,
    /// Sweeps registered here for the first time.
    pub sweeps_added: usize,
}

/// Where the shard's run folders go: the run folder recorded in the shard
/// is relative to the shard's folder; here it is `prefix/run_dir`.
struct Placement {
    prefix: String,
}

impl Tracker {
    /// Merges the shard at `shard` into this database in one transaction.
    ///
    /// Run folders recorded in the shard lie beside it. When the shard's
    /// folder is inside this database's folder, runs point at them where
    /// they are; otherwise each run folder is copied into this database's
    /// folder first (so shards brought back from elsewhere can be deleted).
    pub fn merge_shard(&self, shard: &Path) -> Result<MergeReport> {
        let source = match Tracker::open_read_only(shard) {
            Ok(t) => t,
            Err(TrackerError::NotADatabase { .. } | TrackerError::NoDatabase { .. }) => {
                return Err(TrackerError::NotAShard {
                    path: shard.to_path_buf(),
                });
            }
            Err(e) => return Err(e),
        };
        let here = crate::store::layout::db_folder(&self.path);
        let there = crate::store::layout::db_folder(shard);
        let placement = placement(&here, &there);

        let runs = source.list_runs(&Default::default())?;
        // Decide first (reading only), copy folders, then write in one transaction.
        let mut plan = Vec::new();
        let mut report = MergeReport::default();
        for run in runs {
            let mine = self.find_by_id(&run.id)?;
            match mine {
                None => {
                    report.added.push(run.id.clone());
                    plan.push(run);
                }
                Some(mine) => {
                    if freshness(&source, &run)? > freshness(self, &mine)? {
                        report.updated.push(run.id.clone());
                        plan.push(run);
                    } else {
                        report.unchanged.push(run.id.clone());
                    }
                }
            }
        }
        if placement.is_none() {
            for run in &plan {
                copy_run_folder(&there, &here, &run.run_dir)?;
            }
        }
        let tables = self.run_tables()?;
        let op = format!("merging shard {}", shard.display());
        let sweeps_added = self.write(&op, |tx| {
            for run in &plan {
                let run_dir = match &placement {
                    Some(p) => format!("{}/{}", p.prefix, run.run_dir),
                    None => run.run_dir.clone(),
                };
                copy_run(&source.conn, tx, &tables, run, &run_dir)?;
            }
            copy_sweeps(&source.conn, tx)
        })?;
        report.sweeps_added = sweeps_added;
        Ok(report)
    }

    /// The run with exactly this id, if any.
    fn find_by_id(&self, id: &str) -> Result<Option<RunRecord>> {
        let sql = format!("{} WHERE r.id = ?1", super::records::RUN_SELECT);
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| {
                stmt.query_row([id], super::records::run_from_row)
                    .optional()
            })
            .map_err(self.err(format!("reading run {id}")))
    }

    /// The tables other than `runs` that hold rows of a run (a `run_id` column).
    fn run_tables(&self) -> Result<Vec<(String, Vec<String>)>> {
        let names: Vec<String> = self.query(
            "reading the schema",
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'runs' ORDER BY name",
            [],
            |row| row.get(0),
        )?;
        let mut tables = Vec::new();
        for name in names {
            let columns = columns(&self.conn, &name).map_err(self.err("reading the schema"))?;
            if columns.iter().any(|c| c == "run_id") {
                tables.push((name, columns));
            }
        }
        Ok(tables)
    }
}

/// How fresh a copy of a run is: its last sign of life, then its steps,
/// then its metric points.
fn freshness(t: &Tracker, run: &RunRecord) -> Result<(f64, u64, i64)> {
    let alive = [Some(run.started_at), run.heartbeat_at, run.ended_at]
        .into_iter()
        .flatten()
        .fold(f64::MIN, f64::max);
    let points: i64 = t
        .conn
        .query_row(
            "SELECT count(*) FROM metrics WHERE run_id = ?1",
            [&run.id],
            |r| r.get(0),
        )
        .map_err(t.err(format!("counting the points of run {}", run.id)))?;
    Ok((alive, run.steps_done, points))
}

/// The path from `here` to `there` when `there` is inside `here`.
fn placement(here: &Path, there: &Path) -> Option<Placement> {
    let here = here.canonicalize().ok()?;
    let there = there.canonicalize().ok()?;
    let rel = there.strip_prefix(&here).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(Placement {
        prefix: if parts.is_empty() {
            ".".into()
        } else {
            parts.join("/")
        },
    })
}

/// The column names of `table`, in order.
fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    stmt.query_map([], |row| row.get::<_, String>(1))?.collect()
}

/// The rows of `table` in `conn` where `filter` holds, as values of `cols`.
fn rows(
    conn: &Connection,
    table: &str,
    cols: &[String],
    filter: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Vec<Value>>> {
    let list = quoted(cols);
    let mut stmt = conn.prepare(&format!("SELECT {list} FROM \"{table}\" WHERE {filter}"))?;
    stmt.query_map(args, |row| {
        (0..cols.len()).map(|i| row.get::<_, Value>(i)).collect()
    })?
    .collect()
}

fn insert(
    tx: &Transaction,
    table: &str,
    cols: &[String],
    values: &[Value],
) -> rusqlite::Result<()> {
    let marks = vec!["?"; cols.len()].join(", ");
    tx.prepare_cached(&format!(
        "INSERT INTO \"{table}\" ({}) VALUES ({marks})",
        quoted(cols)
    ))?
    .execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

fn quoted(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Replaces run `run` here with the shard's copy: its row (with this
/// database's experiment id and `run_dir`) and its rows in every table.
fn copy_run(
    shard: &Connection,
    tx: &Transaction,
    tables: &[(String, Vec<String>)],
    run: &RunRecord,
    run_dir: &str,
) -> rusqlite::Result<()> {
    for (table, _) in tables {
        tx.execute(
            &format!("DELETE FROM \"{table}\" WHERE run_id = ?1"),
            [&run.id],
        )?;
    }
    tx.execute("DELETE FROM runs WHERE id = ?1", [&run.id])?;
    tx.execute(
        "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?1, ?2)",
        params![run.experiment, run.started_at],
    )?;
    let experiment: i64 = tx.query_row(
        "SELECT id FROM experiments WHERE name = ?1",
        [&run.experiment],
        |r| r.get(0),
    )?;
    let run_cols = columns(tx, "runs")?;
    for mut row in rows(shard, "runs", &run_cols, "id = ?1", [&run.id])? {
        for (col, value) in run_cols.iter().zip(row.iter_mut()) {
            match col.as_str() {
                "experiment_id" => *value = Value::Integer(experiment),
                "run_dir" => *value = Value::Text(run_dir.to_string()),
                _ => {}
            }
        }
        insert(tx, "runs", &run_cols, &row)?;
    }
    for (table, cols) in tables {
        if table == "series" {
            copy_series(shard, tx, &run.id)?;
            continue;
        }
        for row in rows(shard, table, cols, "run_id = ?1", [&run.id])? {
            insert(tx, table, cols, &row)?;
        }
    }
    Ok(())
}

/// Copies a run's metric series and their chunks: each series gets an id of
/// this database (the shard's ids may be taken here).
fn copy_series(shard: &Connection, tx: &Transaction, run: &str) -> rusqlite::Result<()> {
    let mut series = shard.prepare("SELECT id, key, digest FROM series WHERE run_id = ?1")?;
    let mut chunks = shard.prepare(
        "SELECT first_step, last_step, points FROM chunks WHERE series_id = ?1 ORDER BY rowid",
    )?;
    let all: Vec<(i64, String, Value)> = series
        .query_map([run], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (old_id, key, digest) in all {
        let id: i64 = tx.query_row(
            "INSERT INTO series (run_id, key, digest) VALUES (?1, ?2, ?3) RETURNING id",
            params![run, key, digest],
            |r| r.get(0),
        )?;
        let rows: Vec<(Value, Value, Value)> = chunks
            .query_map([old_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (first, last, points) in rows {
            tx.prepare_cached(
                "INSERT INTO chunks (series_id, first_step, last_step, points) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, first, last, points])?;
        }
    }
    Ok(())
}

/// Registers the shard's sweeps that are not registered here; returns how many.
fn copy_sweeps(shard: &Connection, tx: &Transaction) -> rusqlite::Result<usize> {
    let cols = columns(tx, "sweeps")?;
    let mut added = 0;
    for row in rows(shard, "sweeps", &cols, "1", [])? {
        let id_at = cols.iter().position(|c| c == "id").unwrap_or(0);
        let exists: bool = tx.query_row(
            "SELECT count(*) > 0 FROM sweeps WHERE id = ?1",
            [&row[id_at]],
            |r| r.get(0),
        )?;
        if !exists {
            insert(tx, "sweeps", &cols, &row)?;
            added += 1;
        }
    }
    Ok(added)
}

/// Copies the run folder `run_dir` from the shard's folder `from` into
/// `to`, replacing an older copy.
fn copy_run_folder(from: &Path, to: &Path, run_dir: &str) -> Result<()> {
    let src =
        crate::util::paths::join_inside(from, run_dir).map_err(|e| TrackerError::MergeCopy {
            from: from.join(run_dir),
            to: to.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    if !src.is_dir() {
        return Ok(());
    }
    let dst = to.join(run_dir);
    let fail = |source| TrackerError::MergeCopy {
        from: src.clone(),
        to: dst.clone(),
        source,
    };
    if dst.exists() {
        std::fs::remove_dir_all(&dst).map_err(fail)?;
    }
    copy_dir(&src, &dst).map_err(fail)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target: PathBuf = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::fixtures::{new_run, point};
    use crate::store::tracker::{NewRun, SweepRecord};

    fn sweep_run(name: &str) -> NewRun {
        let mut run = new_run("exp", name);
        run.sweep_id = Some("lr".into());
        run
    }

    /// A shard at `path` with one run of sweep `lr` that reached `steps`.
    fn shard_with_run(path: &Path, id: &str, steps: u64) {
        let t = Tracker::open(path).unwrap();
        t.upsert_sweep(&SweepRecord {
            id: "lr".into(),
            spec_text: "(..)".into(),
            score: "fid".into(),
            lower_is_better: true,
            stopping: None,
            created_at: 0.0,
            updated_at: 0.0,
        })
        .unwrap();
        let mut run = sweep_run("r");
        run.run_dir = id.to_string();
        t.create_run_with_id(id, &run).unwrap();
        progress(&t, id, 1..=steps);
        t.set_tag(id, "pid", "42").unwrap();
        t.add_artifact(id, "samples", Some(steps), "samples/step-000002.png")
            .unwrap();
        let dir = crate::store::layout::db_folder(path)
            .join(id)
            .join("samples");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("step-000002.png"), b"png").unwrap();
    }

    fn progress(t: &Tracker, id: &str, steps: std::ops::RangeInclusive<u64>) {
        for step in steps {
            t.log_metrics(id, &[point("loss_d", step, 0.5 + step as f64)])
                .unwrap();
            t.set_progress(id, step).unwrap();
            t.heartbeat(id).unwrap();
        }
    }

    /// Every row of every table, as text, for comparing databases.
    fn dump(t: &Tracker) -> Vec<String> {
        let tables: Vec<String> = t
            .query(
                "tables",
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mut out = Vec::new();
        for table in tables {
            let cols = columns(&t.conn, &table).unwrap();
            let mut lines: Vec<String> = rows(&t.conn, &table, &cols, "1", [])
                .unwrap()
                .iter()
                .map(|r| format!("{table}: {r:?}"))
                .collect();
            lines.sort();
            out.extend(lines);
        }
        out
    }

    const ID: &str = "00000000000000aa";

    #[test]
    fn merging_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("runs/shards/lr/0.sqlite");
        shard_with_run(&shard, ID, 3);
        let main = Tracker::open(&dir.path().join("runs/main.sqlite")).unwrap();
        // A run of the main database's own, in another experiment.
        let own = main.create_run(&new_run("other", "mine")).unwrap();

        let first = main.merge_shard(&shard).unwrap();
        assert_eq!(first.added, vec![ID.to_string()]);
        assert_eq!(first.sweeps_added, 1);
        let run = main.run(ID).unwrap();
        assert_eq!(run.experiment, "exp");
        assert_eq!(run.sweep_id.as_deref(), Some("lr"));
        assert_eq!(run.steps_done, 3);
        // The run folder stays beside the shard, now named from here.
        assert_eq!(run.run_dir, format!("shards/lr/{ID}"));
        let folder = crate::store::layout::run_folder(main.path(), &run.run_dir).unwrap();
        assert!(folder.join("samples/step-000002.png").is_file());
        assert_eq!(main.metric_series(ID, "loss_d").unwrap().len(), 3);
        assert_eq!(main.artifacts(ID).unwrap().len(), 1);
        assert_eq!(main.tags(ID).unwrap(), vec![("pid".into(), "42".into())]);
        assert!(main.sweep("lr").unwrap().is_some());
        assert_eq!(main.run(&own).unwrap().name, "mine");

        let before = dump(&main);
        let second = main.merge_shard(&shard).unwrap();
        assert_eq!(second.unchanged, vec![ID.to_string()]);
        assert!(second.added.is_empty() && second.updated.is_empty());
        assert_eq!(second.sweeps_added, 0);
        assert_eq!(dump(&main), before);
    }

    #[test]
    fn two_shards_with_the_same_run_keep_the_fresher_copy_in_either_order() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("a/0.sqlite");
        shard_with_run(&old, ID, 2);
        // The same run, copied and trained further.
        let new = dir.path().join("b/0.sqlite");
        std::fs::create_dir_all(new.parent().unwrap()).unwrap();
        Tracker::open(&old)
            .unwrap()
            .conn
            .execute("VACUUM INTO ?1", [new.to_str().unwrap()])
            .unwrap();
        copy_dir(
            &dir.path().join("a").join(ID),
            &dir.path().join("b").join(ID),
        )
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        progress(&Tracker::open(&new).unwrap(), ID, 3..=5);

        let main_1 = Tracker::open(&dir.path().join("m1/main.sqlite")).unwrap();
        assert_eq!(main_1.merge_shard(&old).unwrap().added.len(), 1);
        assert_eq!(
            main_1.merge_shard(&new).unwrap().updated,
            vec![ID.to_string()]
        );
        let main_2 = Tracker::open(&dir.path().join("m2/main.sqlite")).unwrap();
        assert_eq!(main_2.merge_shard(&new).unwrap().added.len(), 1);
        assert_eq!(
            main_2.merge_shard(&old).unwrap().unchanged,
            vec![ID.to_string()]
        );
        for main in [&main_1, &main_2] {
            assert_eq!(main.list_runs(&Default::default()).unwrap().len(), 1);
            assert_eq!(main.run(ID).unwrap().steps_done, 5);
            let steps: Vec<u64> = main
                .metric_series(ID, "loss_d")
                .unwrap()
                .iter()
                .map(|p| p.0)
                .collect();
            assert_eq!(steps, vec![1, 2, 3, 4, 5]);
            assert_eq!(main.artifacts(ID).unwrap().len(), 1);
            // Shards outside the main folder: their run folders are copied in.
            let run = main.run(ID).unwrap();
            assert_eq!(run.run_dir, ID);
            let folder = crate::store::layout::run_folder(main.path(), &run.run_dir).unwrap();
            assert!(folder.join("samples/step-000002.png").is_file());
        }
        assert_eq!(dump(&main_1), dump(&main_2));
    }

    #[test]
    fn a_shard_with_a_newer_schema_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("shards/lr/3.sqlite");
        shard_with_run(&shard, ID, 1);
        Tracker::open(&shard)
            .unwrap()
            .conn
            .pragma_update(None, "user_version", super::super::schema::VERSION + 1)
            .unwrap();
        let main = Tracker::open(&dir.path().join("main.sqlite")).unwrap();
        let err = main.merge_shard(&shard).unwrap_err();
        assert!(matches!(err, TrackerError::NewerSchema { .. }), "{err:?}");
        assert!(err.is_user_error());
        assert!(err.to_string().contains("shards/lr/3.sqlite"), "{err}");
        assert!(main.list_runs(&Default::default()).unwrap().is_empty());
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_not_a_shard() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("7.sqlite");
        std::fs::write(&shard, "slurm-1234_7.out: not a database\n".repeat(100)).unwrap();
        let main = Tracker::open(&dir.path().join("main.sqlite")).unwrap();
        let err = main.merge_shard(&shard).unwrap_err();
        assert!(matches!(err, TrackerError::NotAShard { .. }), "{err:?}");
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(
            msg.contains("7.sqlite") && msg.contains("not a gan-lab database shard"),
            "{msg}"
        );
    }

    #[test]
    fn a_shard_is_merged_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let shard = dir.path().join("shards/lr/0.sqlite");
        shard_with_run(&shard, ID, 2);
        let t = Tracker::open(&shard).unwrap();
        t.create_run_with_id("00000000000000bb", &sweep_run("second"))
            .unwrap();
        progress(&t, "00000000000000bb", 1..=2);
        drop(t);
        let main = Tracker::open(&dir.path().join("main.sqlite")).unwrap();
        // The second run's table row cannot be written here: the merge fails.
        main.conn
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON series
                 WHEN NEW.run_id = '00000000000000bb' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .unwrap();
        assert!(main.merge_shard(&shard).is_err());
        assert!(main.list_runs(&Default::default()).unwrap().is_empty());
        assert!(main.sweep("lr").unwrap().is_none());
    }
}
