//! The run-tracking store: every run, its spec, parameters, metric series,
//! artifacts and tags, kept in one SQLite database (in the spirit of MLflow's
//! tracking store).
//!
//! Several processes may train into the same database at once: it runs in WAL
//! mode with a 30 s busy timeout, and every write is a short `IMMEDIATE`
//! transaction, so writers queue up instead of failing with "database is
//! locked". The schema is versioned with `PRAGMA user_version` and migrated
//! forward on [`Tracker::open`], after a copy of the old database is written
//! beside it (`<file>.v<N>.backup`).
//!
//! Run ids are 16 random lowercase hex digits, so databases written on
//! different machines can later be merged without clashes.
//!
//! SQLite cannot store NaN (it turns it into NULL), so non-finite metric values
//! (NaN and ±infinity) are stored as NULL and read back as [`f64::NAN`].
//! Seeds are full `u64`s and are stored bit for bit in SQLite's signed 64-bit
//! integers, so seeds above `i64::MAX` appear negative in raw SQL.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::Type;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};
use serde::{Deserialize, Serialize};

/// Schema migrations; script `i` takes the database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    "
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
    ",
    // 2: a `stopped` status (ended early by a sweep's stopping rule) and the
    // sweeps table. SQLite cannot change a CHECK constraint in place, so
    // `runs` is rebuilt (foreign keys are off while migrating).
    "
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
    ",
];

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Shortest id prefix [`Tracker::run`] accepts.
const MIN_PREFIX: usize = 4;

/// At most this many candidates are named in an "ambiguous run" error.
const MAX_CANDIDATES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error("cannot create the folder {} for the tracking database", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {}: {op} failed", path.display())]
    Sqlite {
        path: PathBuf,
        op: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {} was written by a newer gan-lab (schema {found}, this build knows {known})",
        path.display()
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    #[error("database {} could not be switched to WAL mode (journal mode is {mode})", path.display())]
    NotWal { path: PathBuf, mode: String },
    #[error("no run matches '{query}'; see `gan-lab list` for the runs")]
    RunNotFound { query: String },
    #[error(
        "'{query}' matches several runs: {}; give more of the id",
        candidates.join(", ")
    )]
    AmbiguousRun {
        query: String,
        candidates: Vec<String>,
    },
    #[error(
        "unknown run status '{0}' (expected running, finished, failed, interrupted or stopped)"
    )]
    InvalidStatus(String),
}

impl TrackerError {
    /// Whether the error comes from the user's input (a run reference or a
    /// status that matches nothing) or from a database written by a newer
    /// gan-lab, rather than from a fault.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::RunNotFound { .. }
                | Self::AmbiguousRun { .. }
                | Self::InvalidStatus(_)
                | Self::NewerSchema { .. }
        )
    }
}

pub type Result<T, E = TrackerError> = std::result::Result<T, E>;

/// The life cycle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    Interrupted,
    /// Ended early by a sweep's stopping rule (final: a rerun of the sweep skips it).
    Stopped,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Interrupted => "interrupted",
            Self::Stopped => "stopped",
        }
    }
}

impl FromStr for RunStatus {
    type Err = TrackerError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(Self::Running),
            "finished" => Ok(Self::Finished),
            "failed" => Ok(Self::Failed),
            "interrupted" => Ok(Self::Interrupted),
            "stopped" => Ok(Self::Stopped),
            _ => Err(TrackerError::InvalidStatus(s.to_string())),
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What [`Tracker::create_run`] records about a new run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub experiment: String,
    pub name: String,
    pub variant: String,
    pub spec_text: String,
    pub spec_hash: String,
    /// Stored bit for bit as SQLite's signed integer.
    pub seed: u64,
    pub device: String,
    pub code_version: String,
    pub host: String,
    pub run_dir: String,
    pub total_steps: u64,
    pub sweep_id: Option<String>,
}

/// One row of `runs`, with the name of its experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub experiment_id: i64,
    pub experiment: String,
    pub name: String,
    pub variant: String,
    pub status: RunStatus,
    pub status_reason: Option<String>,
    pub spec_text: String,
    pub spec_hash: String,
    /// Stored bit for bit as SQLite's signed integer.
    pub seed: u64,
    pub device: String,
    pub code_version: String,
    pub host: String,
    pub run_dir: String,
    pub total_steps: u64,
    pub steps_done: u64,
    /// Unix time in seconds.
    pub started_at: f64,
    /// Unix time in seconds; `None` while the run is running.
    pub ended_at: Option<f64>,
    pub sweep_id: Option<String>,
}

/// One value of a metric series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub key: String,
    pub step: u64,
    /// Non-finite values are stored as NULL and read back as NaN.
    pub value: f64,
    /// Unix time in seconds.
    pub wall_time: f64,
}

/// The value of a metric at the highest step logged so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestMetric {
    pub key: String,
    pub step: u64,
    pub value: f64,
    pub wall_time: f64,
}

/// A file a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub kind: String,
    pub step: Option<u64>,
    /// Relative to the run folder.
    pub path: String,
    pub created_at: f64,
}

/// A sweep as registered by `gan-lab sweep`: its spec and how its runs are ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The sweep's name, which is its id: rerunning a sweep continues it.
    pub id: String,
    /// The sweep spec as written.
    pub spec_text: String,
    /// The metric that ranks runs, such as `fid`.
    pub score: String,
    /// Whether a lower score is better.
    pub lower_is_better: bool,
    /// The early-stopping rule as JSON, if the sweep has one.
    pub stopping: Option<String>,
    pub created_at: f64,
    pub updated_at: f64,
}

/// Which runs [`Tracker::list_runs`] returns; `Default` lists them all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub experiment: Option<String>,
    pub status: Option<RunStatus>,
    pub sweep_id: Option<String>,
    pub limit: Option<usize>,
}

/// A new globally unique run id: 16 lowercase hex digits (64 random bits).
pub fn new_run_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The current Unix time in seconds.
fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// NaN and infinities become NULL (SQLite would turn NaN into NULL anyway).
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

const RUN_SELECT: &str = "
    SELECT r.id, r.experiment_id, e.name, r.name, r.variant, r.status, r.status_reason,
           r.spec_text, r.spec_hash, r.seed, r.device, r.code_version, r.host, r.run_dir,
           r.total_steps, r.steps_done, r.started_at, r.ended_at, r.sweep_id
    FROM runs r JOIN experiments e ON e.id = r.experiment_id";

fn run_from_row(row: &Row) -> rusqlite::Result<RunRecord> {
    let status: String = row.get(5)?;
    let status = status
        .parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(5, Type::Text, Box::new(e)))?;
    Ok(RunRecord {
        id: row.get(0)?,
        experiment_id: row.get(1)?,
        experiment: row.get(2)?,
        name: row.get(3)?,
        variant: row.get(4)?,
        status,
        status_reason: row.get(6)?,
        spec_text: row.get(7)?,
        spec_hash: row.get(8)?,
        seed: row.get::<_, i64>(9)? as u64,
        device: row.get(10)?,
        code_version: row.get(11)?,
        host: row.get(12)?,
        run_dir: row.get(13)?,
        total_steps: row.get(14)?,
        steps_done: row.get(15)?,
        started_at: row.get(16)?,
        ended_at: row.get(17)?,
        sweep_id: row.get(18)?,
    })
}

/// A connection to the tracking database.
#[derive(Debug)]
pub struct Tracker {
    conn: Connection,
    path: PathBuf,
}

impl Tracker {
    /// Opens (creating if needed) the database at `path` and migrates it to
    /// the current schema.
    pub fn open(path: &Path) -> Result<Tracker> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| TrackerError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let path = path.to_path_buf();
        let conn = Connection::open(&path).map_err(|source| TrackerError::Sqlite {
            path: path.clone(),
            op: "opening".into(),
            source,
        })?;
        Self::init(conn, path)
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<Tracker> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| TrackerError::Sqlite {
            path: path.clone(),
            op: "opening".into(),
            source,
        })?;
        Self::init(conn, path)
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Tracker> {
        let tracker = Tracker { conn, path };
        let conn = &tracker.conn;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(tracker.err("setting the busy timeout"))?;
        tracker.enable_wal()?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(tracker.err("setting synchronous=NORMAL"))?;
        // Migrations rebuild tables, which must not cascade deletes: keys go
        // on after (the bundled SQLite turns them on by default).
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(tracker.err("disabling foreign keys for migrations"))?;
        tracker.backup_before_migrating()?;
        tracker.migrate()?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(tracker.err("enabling foreign keys"))?;
        Ok(tracker)
    }

    /// Switches the database to WAL mode (a lasting property of the file).
    /// While other connections are creating the same new database, SQLite
    /// may answer "busy" at once instead of waiting, so this retries until
    /// the busy timeout.
    fn enable_wal(&self) -> Result<()> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            let result = self
                .conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                    row.get::<_, String>(0)
                });
            match result {
                // An in-memory database reports "memory"; a file must be in WAL.
                Ok(mode) if mode == "wal" || mode == "memory" => return Ok(()),
                Ok(mode) => {
                    return Err(TrackerError::NotWal {
                        path: self.path.clone(),
                        mode,
                    });
                }
                Err(e)
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(self.err("switching to WAL mode")(e)),
            }
        }
    }

    /// Before an existing database is migrated, a copy of it is written
    /// beside it (`<file>.v<version>.backup`), once per old version: a
    /// migration that goes wrong can then lose nothing.
    fn backup_before_migrating(&self) -> Result<()> {
        if self.path == Path::new(":memory:") {
            return Ok(());
        }
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(self.err("reading the schema version"))?;
        if version <= 0 || version >= MIGRATIONS.len() as i64 {
            return Ok(());
        }
        let backup = PathBuf::from(format!("{}.v{version}.backup", self.path.display()));
        if backup.exists() {
            return Ok(());
        }
        let result = self
            .conn
            .execute("VACUUM INTO ?1", [backup.to_string_lossy()]);
        match result {
            // Another process opening the database wrote it first.
            Err(_) if backup.exists() => Ok(()),
            other => other.map(|_| ()).map_err(self.err(format!(
                "backing up to {} before migrating",
                backup.display()
            ))),
        }
    }

    /// Applies the migrations the database lacks, each in its own
    /// transaction. The version is read inside the (immediate) transaction,
    /// so processes opening a new database at the same time migrate it once.
    fn migrate(&self) -> Result<()> {
        let known = MIGRATIONS.len() as u32;
        loop {
            let done = self.write("migrating the schema", |tx| {
                // A negative user_version (never written by gan-lab) fails
                // this conversion, rather than being taken for a version.
                let version: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
                if version >= known {
                    return Ok(Some(version));
                }
                tx.execute_batch(MIGRATIONS[version as usize])?;
                tx.pragma_update(None, "user_version", version + 1)?;
                Ok(None)
            })?;
            match done {
                Some(found) if found > known => {
                    return Err(TrackerError::NewerSchema {
                        path: self.path.clone(),
                        found,
                        known,
                    });
                }
                Some(_) => return Ok(()),
                None => {}
            }
        }
    }

    /// The database file (`:memory:` for an in-memory one).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps a SQLite error with the database path and the operation.
    fn err(&self, op: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> TrackerError {
        let path = self.path.clone();
        let op = op.into();
        move |source| TrackerError::Sqlite { path, op, source }
    }

    /// Runs `f` in an `IMMEDIATE` transaction, committing if it succeeds.
    /// Taking the write lock up front means a busy database makes us wait
    /// (up to the busy timeout) instead of failing when a read would later
    /// have to be upgraded to a write.
    fn write<T>(&self, op: &str, f: impl FnOnce(&Transaction) -> rusqlite::Result<T>) -> Result<T> {
        let with_context = |source| TrackerError::Sqlite {
            path: self.path.clone(),
            op: op.to_string(),
            source,
        };
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(with_context)?;
        let value = f(&tx).map_err(with_context)?;
        tx.commit().map_err(with_context)?;
        Ok(value)
    }

    /// The id of the experiment called `name`, created if it does not exist.
    pub fn experiment_id(&self, name: &str) -> Result<i64> {
        self.write(&format!("getting experiment '{name}'"), |tx| {
            get_or_create_experiment(tx, name)
        })
    }

    /// Records a new running run with a fresh id, and returns the id.
    pub fn create_run(&self, new: &NewRun) -> Result<String> {
        self.create_run_with_id(&new_run_id(), new)
    }

    /// Records a new running run under `id` (from [`new_run_id`]), and
    /// returns the id.
    pub fn create_run_with_id(&self, id: &str, new: &NewRun) -> Result<String> {
        self.write(&format!("creating run '{}'", new.name), |tx| {
            let experiment = get_or_create_experiment(tx, &new.experiment)?;
            tx.execute(
                "INSERT INTO runs (id, experiment_id, name, variant, status, spec_text, spec_hash,
                                   seed, device, code_version, host, run_dir, total_steps,
                                   started_at, sweep_id)
                 VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    id,
                    experiment,
                    new.name,
                    new.variant,
                    new.spec_text,
                    new.spec_hash,
                    new.seed as i64,
                    new.device,
                    new.code_version,
                    new.host,
                    new.run_dir,
                    new.total_steps,
                    now(),
                    new.sweep_id,
                ],
            )?;
            Ok(id.to_string())
        })
    }

    /// Records (or overwrites) parameters of a run.
    pub fn log_params(&self, run: &str, params: &[(String, String)]) -> Result<()> {
        self.write(&format!("logging parameters of run {run}"), |tx| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO params (run_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
            )?;
            for (key, value) in params {
                stmt.execute(params![run, key, value])?;
            }
            Ok(())
        })
    }

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

    /// Sets (or overwrites) a tag of a run.
    pub fn set_tag(&self, run: &str, key: &str, value: &str) -> Result<()> {
        self.write(&format!("setting tag {key} of run {run}"), |tx| {
            tx.execute(
                "INSERT INTO tags (run_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                params![run, key, value],
            )?;
            Ok(())
        })
    }

    /// Records how many steps a run has done.
    pub fn set_progress(&self, run: &str, steps_done: u64) -> Result<()> {
        let changed = self.write(&format!("recording progress of run {run}"), |tx| {
            tx.execute(
                "UPDATE runs SET steps_done = ?2 WHERE id = ?1",
                params![run, steps_done],
            )
        })?;
        found(changed, run)
    }

    /// Changes the status of a run. Finished, failed and interrupted runs get
    /// an end time; a running (resumed) run loses it.
    pub fn set_status(&self, run: &str, status: RunStatus, reason: Option<&str>) -> Result<()> {
        let ended_at = (status != RunStatus::Running).then(now);
        let changed = self.write(&format!("setting status of run {run} to {status}"), |tx| {
            tx.execute(
                "UPDATE runs SET status = ?2, status_reason = ?3, ended_at = ?4 WHERE id = ?1",
                params![run, status.as_str(), reason, ended_at],
            )
        })?;
        found(changed, run)
    }

    /// The run `query` names: a full id, a unique id prefix of at least four
    /// characters, or the name of exactly one run.
    pub fn run(&self, query: &str) -> Result<RunRecord> {
        let op = format!("looking up run '{query}'");
        let exact = self
            .conn
            .prepare_cached(&format!("{RUN_SELECT} WHERE r.id = ?1"))
            .and_then(|mut stmt| stmt.query_row([query], run_from_row).optional())
            .map_err(self.err(&op))?;
        if let Some(run) = exact {
            return Ok(run);
        }
        let sql = format!(
            "{RUN_SELECT}
             WHERE (length(?1) >= ?2 AND substr(r.id, 1, length(?1)) = ?1) OR r.name = ?1
             ORDER BY r.started_at DESC, r.rowid DESC"
        );
        let mut matches = self.query_runs(&op, &sql, params![query, MIN_PREFIX])?;
        match matches.len() {
            0 => Err(TrackerError::RunNotFound {
                query: query.to_string(),
            }),
            1 => Ok(matches.remove(0)),
            n => {
                let mut candidates: Vec<String> = matches
                    .iter()
                    .take(MAX_CANDIDATES)
                    .map(|r| format!("{} ({}, {})", r.id, r.name, r.status))
                    .collect();
                if n > MAX_CANDIDATES {
                    candidates.push(format!("and {} more", n - MAX_CANDIDATES));
                }
                Err(TrackerError::AmbiguousRun {
                    query: query.to_string(),
                    candidates,
                })
            }
        }
    }

    /// The runs that pass `filter`, newest first.
    pub fn list_runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let sql = format!(
            "{RUN_SELECT}
             WHERE (?1 IS NULL OR e.name = ?1)
               AND (?2 IS NULL OR r.status = ?2)
               AND (?3 IS NULL OR r.sweep_id = ?3)
             ORDER BY r.started_at DESC, r.rowid DESC
             LIMIT ?4"
        );
        // SQLite reads a negative LIMIT as "no limit".
        let limit = filter
            .limit
            .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        self.query_runs(
            "listing runs",
            &sql,
            params![
                filter.experiment,
                filter.status.map(RunStatus::as_str),
                filter.sweep_id,
                limit
            ],
        )
    }

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
        self.query(
            &format!("reading {key} at step {step} in sweep '{sweep}'"),
            "SELECT m.value FROM metrics m JOIN runs r ON r.id = m.run_id
             WHERE r.sweep_id = ?1 AND m.key = ?2 AND m.step = ?3 AND r.id != ?4
               AND m.value IS NOT NULL",
            params![sweep, key, step, except],
            |row| row.get(0),
        )
    }

    /// The runs of a spec (by its hash), newest first.
    pub fn find_runs_by_spec_hash(&self, hash: &str) -> Result<Vec<RunRecord>> {
        let sql =
            format!("{RUN_SELECT} WHERE r.spec_hash = ?1 ORDER BY r.started_at DESC, r.rowid DESC");
        self.query_runs(&format!("finding runs of spec {hash}"), &sql, [hash])
    }

    fn query_runs(
        &self,
        op: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<RunRecord>> {
        self.query(op, sql, params, run_from_row)
    }

    /// Runs a query and collects its rows.
    fn query<T>(
        &self,
        op: &str,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnMut(&Row) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.query_map(params, f)?.collect())
            .map_err(self.err(op))
    }

    /// The parameters of a run (by full id), sorted by key.
    pub fn params(&self, run: &str) -> Result<Vec<(String, String)>> {
        self.query(
            &format!("reading parameters of run {run}"),
            "SELECT key, value FROM params WHERE run_id = ?1 ORDER BY key",
            [run],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
    }

    /// The tags of a run (by full id), sorted by key.
    pub fn tags(&self, run: &str) -> Result<Vec<(String, String)>> {
        self.query(
            &format!("reading tags of run {run}"),
            "SELECT key, value FROM tags WHERE run_id = ?1 ORDER BY key",
            [run],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
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

/// Get-or-create an experiment inside a write transaction.
fn get_or_create_experiment(tx: &Transaction, name: &str) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT INTO experiments (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now()],
    )?;
    tx.query_row(
        "SELECT id FROM experiments WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
}

/// An UPDATE of one run that changed nothing means the run does not exist.
fn found(changed: usize, run: &str) -> Result<()> {
    if changed == 0 {
        Err(TrackerError::RunNotFound {
            query: run.to_string(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    fn new_run(experiment: &str, name: &str) -> NewRun {
        NewRun {
            experiment: experiment.into(),
            name: name.into(),
            variant: "dcgan".into(),
            spec_text: "(name: \"x\")".into(),
            spec_hash: format!("hash-{name}"),
            seed: u64::MAX - 1,
            device: "cpu".into(),
            code_version: "0.1.0".into(),
            host: "test".into(),
            run_dir: name.into(),
            total_steps: 100,
            sweep_id: None,
        }
    }

    fn point(key: &str, step: u64, value: f64) -> MetricPoint {
        MetricPoint {
            key: key.into(),
            step,
            value,
            wall_time: 1000.0 + step as f64,
        }
    }

    fn user_version(t: &Tracker) -> i64 {
        t.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/folder/runs.db");
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), MIGRATIONS.len() as i64);
        assert_eq!(user_version(&t), 2);
        let id = t.create_run(&new_run("e", "a")).unwrap();
        drop(t);
        let t = Tracker::open(&path).unwrap();
        assert_eq!(user_version(&t), 2);
        assert_eq!(t.run(&id).unwrap().name, "a");
    }

    #[test]
    fn migrates_a_version_1_database_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
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
        assert_eq!(user_version(&t), MIGRATIONS.len() as i64);
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

    #[test]
    fn wal_and_pragmas_are_on() {
        let dir = tempfile::tempdir().unwrap();
        let t = Tracker::open(&dir.path().join("runs.db")).unwrap();
        let mode: String = t
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = t
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let sync: i64 = t
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1); // NORMAL
        let timeout: i64 = t
            .conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(timeout, 30_000);
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
                    known: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("was written by a newer gan-lab (schema 7, this build knows 2)"),
            "{msg}"
        );
        assert!(msg.contains("runs.db"), "{msg}");
    }

    #[test]
    fn round_trip() {
        let t = Tracker::open_in_memory().unwrap();
        let e = t.experiment_id("fashion").unwrap();
        assert_eq!(t.experiment_id("fashion").unwrap(), e);
        assert_ne!(t.experiment_id("other").unwrap(), e);

        let mut new = new_run("fashion", "dcgan-small");
        new.sweep_id = Some("sweep1".into());
        let id = t.create_run(&new).unwrap();
        assert_eq!(id.len(), 16);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );

        let run = t.run(&id).unwrap();
        assert_eq!(run.experiment, "fashion");
        assert_eq!(run.experiment_id, e);
        assert_eq!(run.status, RunStatus::Running);
        assert_eq!(run.seed, u64::MAX - 1);
        assert_eq!(run.total_steps, 100);
        assert_eq!(run.steps_done, 0);
        assert_eq!(run.sweep_id.as_deref(), Some("sweep1"));
        assert!(run.started_at > 1.6e9);
        assert_eq!(run.ended_at, None);

        // Parameters: upsert, sorted.
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        t.log_params(&id, &[p("lr", "0.1"), p("beta1", "0.5")])
            .unwrap();
        t.log_params(&id, &[p("lr", "0.2")]).unwrap();
        assert_eq!(
            t.params(&id).unwrap(),
            vec![p("beta1", "0.5"), p("lr", "0.2")]
        );

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

        // Tags.
        t.set_tag(&id, "note", "first").unwrap();
        t.set_tag(&id, "note", "second").unwrap();
        t.set_tag(&id, "a", "b").unwrap();
        assert_eq!(t.tags(&id).unwrap(), vec![p("a", "b"), p("note", "second")]);

        // Progress and statuses.
        t.set_progress(&id, 42).unwrap();
        assert_eq!(t.run(&id).unwrap().steps_done, 42);
        t.set_status(&id, RunStatus::Interrupted, Some("ctrl-c"))
            .unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!(run.status, RunStatus::Interrupted);
        assert_eq!(run.status_reason.as_deref(), Some("ctrl-c"));
        assert!(run.ended_at.unwrap() >= run.started_at);
        t.set_status(&id, RunStatus::Running, None).unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!(
            (run.status, run.status_reason, run.ended_at),
            (RunStatus::Running, None, None)
        );
        for status in [RunStatus::Failed, RunStatus::Finished] {
            t.set_status(&id, status, None).unwrap();
            let run = t.run(&id).unwrap();
            assert_eq!(run.status, status);
            assert!(run.ended_at.is_some());
        }

        // Writes to a run that does not exist.
        assert!(
            t.set_status("nope", RunStatus::Failed, None)
                .unwrap_err()
                .is_user_error()
        );
        assert!(t.set_progress("nope", 1).unwrap_err().is_user_error());
        assert!(t.log_metrics("nope", &[point("x", 1, 1.0)]).is_err());

        assert_eq!(
            t.find_runs_by_spec_hash("hash-dcgan-small").unwrap()[0].id,
            id
        );
        assert!(t.find_runs_by_spec_hash("other").unwrap().is_empty());
    }

    #[test]
    fn errors_can_cross_threads() {
        fn check<T: std::error::Error + Send + Sync + 'static>() {}
        check::<TrackerError>();
    }

    #[test]
    fn status_strings() {
        for s in [
            RunStatus::Running,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Interrupted,
            RunStatus::Stopped,
        ] {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        let err = "done".parse::<RunStatus>().unwrap_err();
        assert!(err.is_user_error());
        assert!(err.to_string().contains("'done'"));
    }

    #[test]
    fn resolves_ids_prefixes_and_names() {
        let t = Tracker::open_in_memory().unwrap();
        let a = t
            .create_run_with_id("abcd1111aaaa0000", &new_run("e", "alpha"))
            .unwrap();
        let b = t
            .create_run_with_id("abcd2222bbbb0000", &new_run("e", "beta"))
            .unwrap();
        let c = t
            .create_run_with_id("ffff0000cccc0000", &new_run("e", "beta"))
            .unwrap();

        assert_eq!(t.run(&a).unwrap().id, a);
        assert_eq!(t.run("abcd1").unwrap().id, a);
        assert_eq!(t.run("abcd2").unwrap().id, b);
        assert_eq!(t.run("ffff").unwrap().id, c);
        assert_eq!(t.run("alpha").unwrap().id, a);

        // Too short a prefix matches nothing.
        let err = t.run("abc").unwrap_err();
        assert!(matches!(err, TrackerError::RunNotFound { .. }), "{err:?}");
        assert!(err.is_user_error());
        assert!(err.to_string().contains("gan-lab list"), "{err}");

        let err = t.run("abcd").unwrap_err();
        match &err {
            TrackerError::AmbiguousRun { candidates, .. } => assert_eq!(candidates.len(), 2),
            other => panic!("expected ambiguity, got {other:?}"),
        }
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(msg.contains(&a) && msg.contains(&b), "{msg}");

        let err = t.run("beta").unwrap_err();
        assert!(matches!(err, TrackerError::AmbiguousRun { .. }), "{err:?}");
        assert!(err.to_string().contains(&c));

        assert!(matches!(
            t.run("gamma").unwrap_err(),
            TrackerError::RunNotFound { .. }
        ));
        // LIKE wildcards are not wildcards here.
        assert!(matches!(
            t.run("abc%").unwrap_err(),
            TrackerError::RunNotFound { .. }
        ));
    }

    #[test]
    fn list_filters() {
        let t = Tracker::open_in_memory().unwrap();
        let mut ids = Vec::new();
        for (i, exp) in ["a", "b", "a", "a"].into_iter().enumerate() {
            let mut new = new_run(exp, &format!("run{i}"));
            new.sweep_id = (i >= 2).then(|| "s1".to_string());
            ids.push(t.create_run(&new).unwrap());
        }
        t.set_status(&ids[0], RunStatus::Finished, None).unwrap();
        t.set_status(&ids[3], RunStatus::Failed, Some("nan"))
            .unwrap();

        let names = |f: RunFilter| -> Vec<String> {
            t.list_runs(&f)
                .unwrap()
                .into_iter()
                .map(|r| r.name)
                .collect()
        };
        assert_eq!(
            names(RunFilter::default()),
            vec!["run3", "run2", "run1", "run0"]
        );
        assert_eq!(
            names(RunFilter {
                experiment: Some("a".into()),
                ..Default::default()
            }),
            vec!["run3", "run2", "run0"]
        );
        assert_eq!(
            names(RunFilter {
                status: Some(RunStatus::Running),
                ..Default::default()
            }),
            vec!["run2", "run1"]
        );
        assert_eq!(
            names(RunFilter {
                sweep_id: Some("s1".into()),
                ..Default::default()
            }),
            vec!["run3", "run2"]
        );
        assert_eq!(
            names(RunFilter {
                limit: Some(1),
                ..Default::default()
            }),
            vec!["run3"]
        );
        assert_eq!(
            names(RunFilter {
                experiment: Some("a".into()),
                status: Some(RunStatus::Finished),
                ..Default::default()
            }),
            vec!["run0"]
        );
        assert!(
            names(RunFilter {
                experiment: Some("zzz".into()),
                ..Default::default()
            })
            .is_empty()
        );
    }

    /// Four processes' worth of connections write into one new database at once.
    #[test]
    fn concurrent_writers_lose_nothing() {
        const THREADS: usize = 4;
        const BATCHES: u64 = 50;
        const POINTS: u64 = 200;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let start = Barrier::new(THREADS);

        let results: Vec<Result<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|i| {
                    let (path, start) = (&path, &start);
                    s.spawn(move || -> Result<String> {
                        start.wait();
                        let t = Tracker::open(path)?;
                        let id = t.create_run(&new_run("concurrent", &format!("worker{i}")))?;
                        for batch in 0..BATCHES {
                            let points: Vec<_> = (0..POINTS)
                                .map(|j| {
                                    point(
                                        if j % 2 == 0 { "loss_d" } else { "loss_g" },
                                        batch * POINTS + j,
                                        0.5,
                                    )
                                })
                                .collect();
                            t.log_metrics(&id, &points)?;
                            t.set_progress(&id, batch)?;
                            if batch % 10 == 0 {
                                t.set_status(&id, RunStatus::Interrupted, Some("pause"))?;
                                t.set_status(&id, RunStatus::Running, None)?;
                            }
                        }
                        t.set_status(&id, RunStatus::Finished, None)?;
                        Ok(id)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let errors: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| format!("{e:?}"))
            .collect();
        assert!(errors.is_empty(), "writers failed: {errors:#?}");

        let t = Tracker::open(&path).unwrap();
        let total: i64 = t
            .conn
            .query_row("SELECT count(*) FROM metrics", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, (THREADS as u64 * BATCHES * POINTS) as i64);
        for id in results.into_iter().map(Result::unwrap) {
            let run = t.run(&id).unwrap();
            assert_eq!(run.status, RunStatus::Finished);
            assert_eq!(run.steps_done, BATCHES - 1);
            let d = t.metric_series(&id, "loss_d").unwrap();
            let g = t.metric_series(&id, "loss_g").unwrap();
            assert_eq!(d.len() + g.len(), (BATCHES * POINTS) as usize);
            let latest = t.latest_metrics(&id).unwrap();
            assert_eq!(
                latest.iter().map(|m| m.step).collect::<Vec<_>>(),
                vec![BATCHES * POINTS - 2, BATCHES * POINTS - 1]
            );
        }
        assert_eq!(t.list_runs(&RunFilter::default()).unwrap().len(), THREADS);
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
