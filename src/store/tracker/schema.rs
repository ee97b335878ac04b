//! The schema of the tracking database and its migrations, run by
//! `rusqlite_migration`: the schema version is SQLite's `user_version`,
//! which counts the migrations applied (a version-2 database has had the
//! first two), as gan-lab has numbered it from the start.
//!
//! Before an existing database is migrated, a copy of it is written beside
//! it (`<file>.v<version>.backup`). Foreign keys are off while migrating, so
//! that rebuilding a table does not cascade deletes. All pending migrations
//! run in one transaction.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use rusqlite_migration::{M, Migrations};

use super::{Result, TrackerError, series, sqlite_error};

/// 1: the initial schema.
const V1: &str = "
    CREATE TABLE experiments (
        id         INTEGER PRIMARY KEY,
        name       TEXT UNIQUE NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE runs (
        id            TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id),
        name          TEXT NOT NULL,
        variant       TEXT NOT NULL,
        status        TEXT NOT NULL
                      CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
        status_reason TEXT,
        spec_text     TEXT NOT NULL,
        spec_hash     TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        device        TEXT NOT NULL,
        code_version  TEXT NOT NULL,
        host          TEXT NOT NULL,
        run_dir       TEXT NOT NULL,
        total_steps   INTEGER NOT NULL,
        steps_done    INTEGER NOT NULL DEFAULT 0,
        started_at    REAL NOT NULL,
        ended_at      REAL,
        sweep_id      TEXT
    );
    CREATE INDEX runs_experiment ON runs(experiment_id);
    CREATE INDEX runs_spec_hash ON runs(spec_hash);
    CREATE TABLE params (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE metrics (
        run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        step      INTEGER NOT NULL,
        value     REAL,
        wall_time REAL NOT NULL
    );
    CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
    CREATE TABLE latest_metrics (
        run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        step      INTEGER NOT NULL,
        value     REAL,
        wall_time REAL NOT NULL,
        PRIMARY KEY (run_id, key)
    );
    CREATE TABLE artifacts (
        run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind       TEXT NOT NULL,
        step       INTEGER,
        path       TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (run_id, path)
    );
    CREATE TABLE tags (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_id, key)
    );
";

/// 2: a `stopped` status (ended early by a sweep's stopping rule) and the
/// sweeps table. SQLite cannot change a CHECK constraint in place, so
/// `runs` is rebuilt.
const V2: &str = "
    CREATE TABLE runs_new (
        id            TEXT PRIMARY KEY,
        experiment_id INTEGER NOT NULL REFERENCES experiments(id),
        name          TEXT NOT NULL,
        variant       TEXT NOT NULL,
        status        TEXT NOT NULL
                      CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'stopped')),
        status_reason TEXT,
        spec_text     TEXT NOT NULL,
        spec_hash     TEXT NOT NULL,
        seed          INTEGER NOT NULL,
        device        TEXT NOT NULL,
        code_version  TEXT NOT NULL,
        host          TEXT NOT NULL,
        run_dir       TEXT NOT NULL,
        total_steps   INTEGER NOT NULL,
        steps_done    INTEGER NOT NULL DEFAULT 0,
        started_at    REAL NOT NULL,
        ended_at      REAL,
        sweep_id      TEXT
    );
    INSERT INTO runs_new SELECT * FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_new RENAME TO runs;
    CREATE INDEX runs_experiment ON runs(experiment_id);
    CREATE INDEX runs_spec_hash ON runs(spec_hash);
    CREATE INDEX runs_sweep ON runs(sweep_id);
    CREATE TABLE sweeps (
        id         TEXT PRIMARY KEY,
        spec_text  TEXT NOT NULL,
        score      TEXT NOT NULL,
        goal       TEXT NOT NULL CHECK (goal IN ('min', 'max')),
        stopping   TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
";

/// 3: liveness. The pid of the process training a run and the time of its
/// last heartbeat. Runs recorded before get the pid their `pid` tag holds
/// and, as heartbeat, their last sign of life: the newest metric, else the start.
const V3: &str = "
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN heartbeat_at REAL;
    UPDATE runs SET pid = (
        SELECT CAST(t.value AS INTEGER) FROM tags t
        WHERE t.run_id = runs.id AND t.key = 'pid'
          AND t.value != '' AND t.value NOT GLOB '*[^0-9]*'
    );
    UPDATE runs SET heartbeat_at = max(
        started_at,
        coalesce((SELECT max(m.wall_time) FROM latest_metrics m WHERE m.run_id = runs.id), 0)
    );
";

/// 4: metric points packed per batch and series (see `series.rs`): the
/// `series` table interns (run, key) and holds each ended run's digests, the
/// `chunks` table holds the points. [`v4_move_points`] moves the rows of
/// `metrics` there, writes the digests of runs that have ended, and replaces
/// the table by a view of the same columns ([`METRICS_VIEW`]).
const V4: &str = "
    CREATE TABLE series (
        id     INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        key    TEXT NOT NULL,
        digest BLOB,
        UNIQUE (run_id, key)
    );
    CREATE TABLE chunks (
        series_id  INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
        first_step INTEGER NOT NULL,
        last_step  INTEGER NOT NULL,
        points     BLOB NOT NULL
    );
    CREATE INDEX chunks_series_last_step ON chunks(series_id, last_step);
";

/// Schema 3's `metrics` table as a view over the chunks: one row per point,
/// for SQL users (`docs/schema.md`); gan-lab itself reads the chunks.
const METRICS_VIEW: &str = "
    CREATE VIEW metrics (run_id, key, step, value, wall_time) AS
    SELECT s.run_id, s.key, json_extract(p.value, '$[0]'),
           json_extract(p.value, '$[1]'), json_extract(p.value, '$[2]')
    FROM series s JOIN chunks c ON c.series_id = s.id, json_each(c.points) p;
";

/// Points per chunk when [`V4`] moves old rows.
const MOVED_CHUNK: usize = 4096;

fn v4_move_points(tx: &Transaction) -> rusqlite_migration::HookResult {
    let pairs: Vec<(String, String)> = tx
        .prepare("SELECT DISTINCT run_id, key FROM metrics")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut read = tx.prepare(
        "SELECT step, value, wall_time FROM metrics
         WHERE run_id = ?1 AND key = ?2 ORDER BY step, rowid",
    )?;
    for (run, key) in &pairs {
        let id: i64 = tx.query_row(
            "INSERT INTO series (run_id, key) VALUES (?1, ?2) RETURNING id",
            [run, key],
            |r| r.get(0),
        )?;
        let points: Vec<series::Point> = read
            .query_map([run, key], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                    r.get(2)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for chunk in points.chunks(MOVED_CHUNK) {
            tx.execute(
                "INSERT INTO chunks (series_id, first_step, last_step, points)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    id,
                    chunk[0].0,
                    chunk[chunk.len() - 1].0,
                    series::encode_points(chunk)
                ],
            )?;
        }
    }
    drop(read);
    tx.execute_batch(&format!("DROP TABLE metrics; {METRICS_VIEW}"))?;
    let ended: Vec<String> = tx
        .prepare("SELECT id FROM runs WHERE status != 'running'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for run in &ended {
        series::write_digests(tx, run)?;
    }
    Ok(())
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up_with_hook(V4, v4_move_points),
    ])
}

/// The schema version this build writes: the number of migrations.
pub const VERSION: u32 = 4;

/// The schema version of the database `conn` is open on (0 for a new one).
pub(super) fn version(conn: &Connection, path: &Path) -> Result<u32> {
    // A negative user_version (never written by gan-lab) fails this
    // conversion, rather than being taken for a version.
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| sqlite_error(path, "reading the schema version", e))
}

/// Migrates the database to [`VERSION`], backing up a file database first.
///
/// Processes opening a new database at the same time each try: the
/// migration transaction is `IMMEDIATE`, so they queue, and one that finds
/// the work done by another (its migration fails on tables that now exist,
/// and the version has moved) looks at the version again.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    set_foreign_keys(conn, path, false)?;
    loop {
        let found = version(conn, path)?;
        if found > VERSION {
            return Err(TrackerError::NewerSchema {
                path: path.to_path_buf(),
                found,
                known: VERSION,
            });
        }
        if found == VERSION {
            break;
        }
        backup(conn, path, found)?;
        if let Err(source) = migrations().to_latest(conn)
            && version(conn, path)? == found
        {
            return Err(TrackerError::Migration {
                path: path.to_path_buf(),
                source: Box::new(source),
            });
        }
    }
    set_foreign_keys(conn, path, true)
}

fn set_foreign_keys(conn: &Connection, path: &Path, on: bool) -> Result<()> {
    conn.pragma_update(None, "foreign_keys", on)
        .map_err(|e| sqlite_error(path, format!("setting foreign_keys = {on}"), e))
}

/// The copy of a version-`version` database written before migrating it.
fn backup_path(path: &Path, version: u32) -> PathBuf {
    PathBuf::from(format!("{}.v{version}.backup", path.display()))
}

/// Writes `<file>.v<version>.backup` unless it exists (once per old
/// version), so that a migration that goes wrong can lose nothing. New and
/// in-memory databases have nothing to lose.
fn backup(conn: &Connection, path: &Path, version: u32) -> Result<()> {
    if version == 0 || conn.path().is_none_or(str::is_empty) {
        return Ok(());
    }
    let backup = backup_path(path, version);
    if backup.exists() {
        return Ok(());
    }
    match conn.execute("VACUUM INTO ?1", [backup.to_string_lossy()]) {
        // Another process opening the database wrote it first.
        Err(_) if backup.exists() => Ok(()),
        other => other.map(|_| ()).map_err(|e| {
            sqlite_error(
                path,
                format!("backing up to {} before migrating", backup.display()),
                e,
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::fixtures::{new_run, point};
    use crate::store::tracker::tests::user_version;
    use crate::store::tracker::{Liveness, RunStatus, Tracker};

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folder/runs.db");
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), VERSION);
        assert_eq!(user_version(&t), 4);
        let id = t.create_run(&new_run("e", "a")).unwrap();
        drop(t);
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), 4);
        assert_eq!(t.run(&id).unwrap().name, "a");
    }

    #[test]
    fn migrates_a_version_1_database_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(V1).unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO experiments VALUES (1, 'e', 0);
                 INSERT INTO runs (id, experiment_id, name, variant, status, spec_text, spec_hash,
                                   seed, device, code_version, host, run_dir, total_steps,
                                   started_at)
                 VALUES ('00000000000000aa', 1, 'old', 'vanilla', 'finished', 's', 'h', 1,
                         'flex', 'v', 'host', 'aa', 10, 0);
                 INSERT INTO params VALUES ('00000000000000aa', 'train.lr_d', '0.0002');
                 INSERT INTO metrics VALUES ('00000000000000aa', 'fid', 10, 250.0, 0);",
            )
            .unwrap();
        }
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), VERSION);
        // The untouched version-1 copy lies beside it.
        let backup = Connection::open(dir.path().join("old.db.v1.backup")).unwrap();
        let old: (i64, i64) = backup
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), count(*) FROM params",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(old, (1, 1));
        let run = t.run("old").unwrap();
        assert_eq!(run.status, RunStatus::Finished);
        assert_eq!(t.params(&run.id).unwrap().len(), 1);
        assert_eq!(t.metric_series(&run.id, "fid").unwrap().len(), 1);
        t.set_status(&run.id, RunStatus::Stopped, Some("early stop"))
            .unwrap();
        assert_eq!(t.run("old").unwrap().status, RunStatus::Stopped);
        let problems: i64 = t
            .conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(problems, 0);
        // The foreign keys still hold after the rebuild.
        assert!(
            t.log_params("ffffffffffffffff", &[("a".into(), "b".into())])
                .is_err()
        );
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let t = Tracker::open(&path).unwrap();
        t.conn.pragma_update(None, "user_version", 7).unwrap();
        drop(t);
        let err = Tracker::open(&path).err().unwrap();
        assert!(
            matches!(
                err,
                TrackerError::NewerSchema {
                    found: 7,
                    known: 4,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("was written by a newer gan-lab (schema 7, this build knows 4)"),
            "{msg}"
        );
        assert!(msg.contains("runs.db"), "{msg}");
    }

    /// The whole schema as version 2 wrote it, literally.
    const SCHEMA_V2: &str = "
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created_at REAL NOT NULL);
        CREATE TABLE params (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));
        CREATE TABLE metrics (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, step INTEGER NOT NULL, value REAL, wall_time REAL NOT NULL);
        CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
        CREATE TABLE latest_metrics (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, step INTEGER NOT NULL, value REAL, wall_time REAL NOT NULL,
            PRIMARY KEY (run_id, key));
        CREATE TABLE artifacts (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL, step INTEGER, path TEXT NOT NULL, created_at REAL NOT NULL,
            PRIMARY KEY (run_id, path));
        CREATE TABLE tags (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key));
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            name TEXT NOT NULL, variant TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('running', 'finished', 'failed', 'interrupted', 'stopped')),
            status_reason TEXT, spec_text TEXT NOT NULL, spec_hash TEXT NOT NULL,
            seed INTEGER NOT NULL, device TEXT NOT NULL, code_version TEXT NOT NULL,
            host TEXT NOT NULL, run_dir TEXT NOT NULL, total_steps INTEGER NOT NULL,
            steps_done INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL, ended_at REAL,
            sweep_id TEXT);
        CREATE INDEX runs_experiment ON runs(experiment_id);
        CREATE INDEX runs_spec_hash ON runs(spec_hash);
        CREATE INDEX runs_sweep ON runs(sweep_id);
        CREATE TABLE sweeps (
            id TEXT PRIMARY KEY, spec_text TEXT NOT NULL, score TEXT NOT NULL,
            goal TEXT NOT NULL CHECK (goal IN ('min', 'max')), stopping TEXT,
            created_at REAL NOT NULL, updated_at REAL NOT NULL);
        PRAGMA user_version = 2;
    ";

    /// A version-2 database with a finished run, a running run whose `pid`
    /// tag names a live process (this one) and whose latest metric is
    /// recent, and a running run without a pid tag and without metrics.
    fn write_v2(path: &Path, recent: f64) {
        let conn = Connection::open(path).unwrap();
        conn.execute_batch(SCHEMA_V2).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO experiments VALUES (1, 'e', 0);
             INSERT INTO runs (id, experiment_id, name, variant, status, spec_text, spec_hash,
                               seed, device, code_version, host, run_dir, total_steps,
                               started_at, sweep_id)
             VALUES ('00000000000000aa', 1, 'done', 'vanilla', 'finished', 's', 'h', 1,
                     'flex', 'v', 'host', 'aa', 10, 5, 'lr'),
                    ('00000000000000bb', 1, 'busy', 'vanilla', 'running', 's', 'h', 2,
                     'flex', 'v', 'host', 'bb', 10, 7, NULL),
                    ('00000000000000cc', 1, 'gone', 'vanilla', 'running', 's', 'h', 3,
                     'flex', 'v', 'host', 'cc', 10, 9, NULL);
             INSERT INTO params VALUES ('00000000000000aa', 'train.lr_d', '0.0002');
             INSERT INTO tags VALUES ('00000000000000bb', 'pid', '{pid}');
             INSERT INTO metrics VALUES ('00000000000000aa', 'fid', 10, 250.0, 6);
             INSERT INTO latest_metrics VALUES ('00000000000000aa', 'fid', 10, 250.0, 6);
             INSERT INTO metrics VALUES ('00000000000000bb', 'loss_d', 3, 0.5, {recent});
             INSERT INTO latest_metrics VALUES ('00000000000000bb', 'loss_d', 3, 0.5, {recent});
             INSERT INTO artifacts VALUES ('00000000000000aa', 'samples', 10, 's.png', 6);
             INSERT INTO sweeps VALUES ('lr', '(..)', 'fid', 'min', NULL, 1, 2);",
            pid = std::process::id(),
        ))
        .unwrap();
    }

    #[test]
    fn migrates_a_version_2_database_to_4_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        let recent = crate::store::tracker::now();
        write_v2(&path, recent);

        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), 4);
        // The untouched version-2 copy lies beside it.
        let backup = Connection::open(backup_path(&path, 2)).unwrap();
        let old: (u32, i64) = backup
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), count(*) FROM runs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(old, (2, 3));

        let done = t.run("done").unwrap();
        assert_eq!(done.status, RunStatus::Finished);
        assert_eq!(done.sweep_id.as_deref(), Some("lr"));
        assert_eq!(t.params(&done.id).unwrap().len(), 1);
        assert_eq!(t.metric_series(&done.id, "fid").unwrap().len(), 1);
        assert_eq!(t.artifacts(&done.id).unwrap().len(), 1);
        assert!(t.sweep("lr").unwrap().is_some());
        // Its points moved into chunks; it ended, so it has its digests.
        assert_eq!(
            t.metric_series(&done.id, "fid").unwrap(),
            vec![(10, 250.0, 6.0)]
        );
        let digests = t.metric_digests(&done.id).unwrap();
        assert_eq!(digests["fid"].points, vec![(10, 250.0)]);
        // Its heartbeat is its last sign of life: the newest metric.
        assert_eq!((done.pid, done.heartbeat_at), (None, Some(6.0)));

        // The pid tag became the pid; the recent metric, the heartbeat.
        let busy = t.run("busy").unwrap();
        assert_eq!(busy.pid, Some(std::process::id()));
        assert_eq!(busy.heartbeat_at, Some(recent));
        let now = crate::store::tracker::now();
        assert_eq!(busy.liveness(now, "host"), Liveness::Alive);
        // Without pid or metrics, the start stands in, long ago: lost.
        let gone = t.run("gone").unwrap();
        assert_eq!((gone.pid, gone.heartbeat_at), (None, Some(9.0)));
        assert!(matches!(gone.liveness(now, "host"), Liveness::Lost { .. }));
        // A running run has its points but no digests yet.
        assert_eq!(t.metric_series(&busy.id, "loss_d").unwrap().len(), 1);
        assert!(t.metric_digests(&busy.id).unwrap().is_empty());

        // New runs and the foreign keys work on the migrated database.
        let id = t.create_run(&new_run("e", "new")).unwrap();
        t.log_metrics(&id, &[point("fid", 1, 1.0)]).unwrap();
        assert!(
            t.log_params("ffffffffffffffff", &[("a".into(), "b".into())])
                .is_err()
        );
        drop(t);
        // Reopening migrates nothing more.
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), 4);
        assert_eq!(t.list_runs(&Default::default()).unwrap().len(), 4);
    }

    #[test]
    fn read_only_open_reads_a_version_2_database_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        write_v2(&path, crate::store::tracker::now());
        let before = std::fs::read(&path).unwrap();
        let t = Tracker::open_read_only(&path).unwrap();
        assert_eq!(t.list_runs(&Default::default()).unwrap().len(), 3);
        assert_eq!(t.run("busy").unwrap().pid, Some(std::process::id()));
        assert!(t.sweep("lr").unwrap().is_some());
        drop(t);
        // No migration, no backup, no journal files: the file is as it was.
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec!["v2.db"]);
    }

    #[test]
    fn the_migrations_are_valid() {
        migrations().validate().unwrap();
        assert_eq!(VERSION, 4);
    }
}
