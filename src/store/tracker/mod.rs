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
//! Commands that only read open the database with [`Tracker::open_read_only`]:
//! it never changes the database file (no migration, no journal mode switch),
//! so it also works on a read-only file system; a database at an older schema
//! is read through a migrated copy in memory, the file staying as it is until
//! a writing command migrates it.
//!
//! Liveness: the process training a run records its pid and host, and writes
//! a heartbeat ([`Tracker::heartbeat`]) every [`HEARTBEAT_EVERY`] (5 s). A
//! `running` run is *lost* when its last heartbeat is older than
//! [`LOST_AFTER`] (60 s), or when it runs on this host and its process is
//! gone ([`RunRecord::liveness`]). Lost is derived, never stored: `resume`
//! takes a lost run over with [`Tracker::claim`], which refuses a live one.
//!
//! Run ids are 16 random lowercase hex digits, so databases written on
//! different machines can later be merged without clashes. Names are at most
//! [`MAX_NAME_LEN`] characters, tag keys [`MAX_TAG_KEY_LEN`] and tag values
//! [`MAX_TAG_LEN`].
//!
//! SQLite cannot store NaN (it turns it into NULL), so non-finite metric values
//! (NaN and ±infinity) are stored as NULL and read back as [`f64::NAN`].
//! Seeds are full `u64`s and are stored bit for bit in SQLite's signed 64-bit
//! integers, so seeds above `i64::MAX` appear negative in raw SQL.
//!
//! Files: `schema` (tables and migrations), `records` (rows as Rust values,
//! liveness), `runs` (creating, claiming and finding runs, parameters and
//! tags), `metrics` (metric series and artifacts), `series` (how points are
//! packed into chunks, and the digests a report reads), `sweeps` (the sweep registry),
//! `fixtures` (the runs and points the crate's unit tests share).

#[cfg(test)]
pub(crate) mod fixtures;
mod heartbeat;
mod merge;
mod metrics;
mod records;
mod runs;
mod schema;
mod series;
mod sweeps;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::backup::Backup;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row, Transaction, TransactionBehavior};

pub use heartbeat::Heartbeat;
pub use merge::MergeReport;
pub use records::{
    Artifact, LatestMetric, Liveness, MetricPoint, NewRun, RunFilter, RunRecord, RunStatus,
    SweepRecord, status_label, status_with_reason,
};
pub use runs::new_run_id;
pub use schema::VERSION as SCHEMA_VERSION;
pub use series::SeriesDigest;

/// How often a training process writes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// A `running` run without a heartbeat for this long is lost.
pub const LOST_AFTER: Duration = Duration::from_secs(60);

/// The longest run or experiment name, in characters.
pub const MAX_NAME_LEN: usize = 128;

/// The longest tag key, in characters.
pub const MAX_TAG_KEY_LEN: usize = 64;

/// The longest tag value, in characters.
pub const MAX_TAG_LEN: usize = 4096;

/// How long a writer waits for another one before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The fix offered when the database cannot be written.
const WRITABLE_HINT: &str = "check the permissions of the file and its folder, or point --db at a \
     writable place (list, show and report only read, and work on it as it is)";

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
    #[error("database {}: migrating the schema failed", path.display())]
    Migration {
        path: PathBuf,
        #[source]
        source: Box<rusqlite_migration::Error>,
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
    #[error(
        "no runs are recorded in {} yet; `gan-lab run experiments/vanilla.ron` creates it, or point --db at an existing gan-lab database",
        path.display()
    )]
    NoDatabase { path: PathBuf },
    #[error(
        "{} is not a SQLite database; point --db at a gan-lab database (such as runs/gan-lab.sqlite) or at a file that does not exist yet",
        path.display()
    )]
    NotADatabase { path: PathBuf },
    #[error("database {} cannot be written here; {WRITABLE_HINT}", path.display())]
    ReadOnly {
        path: PathBuf,
        #[source]
        source: Option<rusqlite::Error>,
    },
    #[error(
        "cannot open database {}; point --db at a file in a folder that exists and can be written",
        path.display()
    )]
    CannotOpen {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {} was opened read-only, but {op} writes", path.display())]
    OpenedReadOnly { path: PathBuf, op: String },
    #[error("no run matches '{query}'; see `gan-lab list` for the runs")]
    RunNotFound { query: String },
    #[error(
        "no run is named '{query}', and an id prefix needs at least {min} characters; see `gan-lab list` for the ids"
    )]
    PrefixTooShort { query: String, min: usize },
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
    #[error(
        "run {run} is still running in {} on {host}; wait for it to end, or stop that process and try again",
        pid.map_or("another process".to_string(), |p| format!("process {p}"))
    )]
    RunBusy {
        run: String,
        pid: Option<u32>,
        host: String,
    },
    #[error(
        "{} is not a gan-lab database shard (not a SQLite database); merge takes shard files such as runs/shards/<sweep>/0.sqlite, or folders of them",
        path.display()
    )]
    NotAShard { path: PathBuf },
    #[error("merging: could not copy the run folder {} to {}", from.display(), to.display())]
    MergeCopy {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is {len} characters long; the limit is {limit}")]
    TooLong {
        what: String,
        len: usize,
        limit: usize,
    },
}

// A tracker error crosses threads (a sweep's pool, the serve command's
// runtime): checked when the crate compiles, not when a test runs.
const _: fn() = || {
    fn send_sync_static<T: std::error::Error + Send + Sync + 'static>() {}
    send_sync_static::<TrackerError>();
};

impl TrackerError {
    /// Whether the error comes from the user's input (a run reference, a
    /// status or name, the database path), from a database written by a
    /// newer gan-lab, or from a run that is busy elsewhere, rather than from
    /// a fault.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Self::RunNotFound { .. }
                | Self::PrefixTooShort { .. }
                | Self::AmbiguousRun { .. }
                | Self::InvalidStatus(_)
                | Self::NewerSchema { .. }
                | Self::NoDatabase { .. }
                | Self::NotADatabase { .. }
                | Self::ReadOnly { .. }
                | Self::CannotOpen { .. }
                | Self::RunBusy { .. }
                | Self::TooLong { .. }
                | Self::NotAShard { .. }
        )
    }
}

pub type Result<T, E = TrackerError> = std::result::Result<T, E>;

/// Wraps a SQLite error with the database path and the operation; errors
/// that come from the file itself (not a database, not writable, not
/// openable) become the user errors that say so.
fn sqlite_error(path: &Path, op: impl Into<String>, source: rusqlite::Error) -> TrackerError {
    let path = path.to_path_buf();
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => TrackerError::NotADatabase { path },
        Some(ErrorCode::ReadOnly) => TrackerError::ReadOnly {
            path,
            source: Some(source),
        },
        Some(ErrorCode::CannotOpen) => TrackerError::CannotOpen { path, source },
        _ => TrackerError::Sqlite {
            path,
            op: op.into(),
            source,
        },
    }
}

/// The current Unix time in seconds.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// This machine's host name, as runs record it.
pub fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// A connection to the tracking database.
#[derive(Debug)]
pub struct Tracker {
    conn: Connection,
    path: PathBuf,
    read_only: bool,
}

impl Tracker {
    /// Opens (creating if needed) the database at `path` for writing and
    /// migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Tracker> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| TrackerError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|e| sqlite_error(path, "opening", e))?;
        // SQLite falls back to reading a file it cannot write.
        if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(TrackerError::ReadOnly {
                path: path.to_path_buf(),
                source: None,
            });
        }
        Self::init(conn, path.to_path_buf())
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<Tracker> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| sqlite_error(&path, "opening", e))?;
        Self::init(conn, path)
    }

    /// Opens the database at `path` for reading only, for commands that only
    /// read (list, show, report). The database file is never changed: no
    /// journal mode switch, no migration; a database at an older schema is
    /// copied into memory and the copy migrated. Like every reader of a WAL
    /// database, it uses the `-shm` index (and `-wal` file) beside it,
    /// creating them empty where the folder is writable (the next writer to
    /// close removes them); on a read-only file system, a database no
    /// process is writing (no `-wal` file) is read as immutable.
    ///
    /// A missing (or empty) file is a user error saying no runs are recorded
    /// there yet; writes through the tracker fail with
    /// [`TrackerError::OpenedReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Tracker> {
        let missing = || TrackerError::NoDatabase {
            path: path.to_path_buf(),
        };
        if !path.is_file() {
            return Err(if path.exists() {
                TrackerError::NotADatabase {
                    path: path.to_path_buf(),
                }
            } else {
                missing()
            });
        }
        let (mut conn, found) = match open_reader(path, false) {
            Err(TrackerError::CannotOpen { .. }) if can_read_immutable(path) => {
                open_reader(path, true)?
            }
            other => other?,
        };
        if found == 0 {
            return Err(missing());
        }
        if found > schema::VERSION {
            return Err(TrackerError::NewerSchema {
                path: path.to_path_buf(),
                found,
                known: schema::VERSION,
            });
        }
        if found < schema::VERSION {
            let mut copy = Connection::open_in_memory()
                .map_err(|e| sqlite_error(path, "opening a copy in memory", e))?;
            Backup::new(&conn, &mut copy)
                .and_then(|b| b.run_to_completion(1024, Duration::from_millis(10), None))
                .map_err(|e| sqlite_error(path, "copying the database into memory", e))?;
            schema::migrate(&mut copy, path)?;
            conn = copy;
        }
        Ok(Tracker {
            conn,
            path: path.to_path_buf(),
            read_only: true,
        })
    }

    fn init(mut conn: Connection, path: PathBuf) -> Result<Tracker> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| sqlite_error(&path, "setting the busy timeout", e))?;
        enable_wal(&conn, &path)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| sqlite_error(&path, "setting synchronous=NORMAL", e))?;
        schema::migrate(&mut conn, &path)?;
        Ok(Tracker {
            conn,
            path,
            read_only: false,
        })
    }

    /// The database file (`:memory:` for an in-memory one).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this tracker was opened with [`Tracker::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Wraps a SQLite error with the database path and the operation.
    fn err(&self, op: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> TrackerError {
        let path = self.path.clone();
        let op = op.into();
        move |source| sqlite_error(&path, op, source)
    }

    /// Runs `f` in an `IMMEDIATE` transaction, committing if it succeeds.
    /// Taking the write lock up front means a busy database makes us wait
    /// (up to the busy timeout) instead of failing when a read would later
    /// have to be upgraded to a write.
    fn write<T>(&self, op: &str, f: impl FnOnce(&Transaction) -> rusqlite::Result<T>) -> Result<T> {
        if self.read_only {
            return Err(TrackerError::OpenedReadOnly {
                path: self.path.clone(),
                op: op.to_string(),
            });
        }
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(self.err(op))?;
        let value = f(&tx).map_err(self.err(op))?;
        tx.commit().map_err(self.err(op))?;
        Ok(value)
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
}

/// A read-only connection to `path` and the schema version it reads;
/// `immutable` tells SQLite that nobody writes the file.
fn open_reader(path: &Path, immutable: bool) -> Result<(Connection, u32)> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        flags |= OpenFlags::SQLITE_OPEN_URI;
        Connection::open_with_flags(immutable_uri(path), flags)
    } else {
        Connection::open_with_flags(path, flags)
    }
    .map_err(|e| sqlite_error(path, "opening read-only", e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sqlite_error(path, "setting the busy timeout", e))?;
    let version = schema::version(&conn, path)?;
    Ok((conn, version))
}

/// Whether a database SQLite cannot open for reading may be read as
/// immutable: a WAL database in a folder nobody can write (a read-only file
/// system) cannot get the `-shm` index a reader needs, and without a `-wal`
/// file there no process is writing it.
fn can_read_immutable(path: &Path) -> bool {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    path.is_file() && !wal.exists() && path.to_str().is_some()
}

/// `file:<path>?immutable=1`, with the characters URIs reserve escaped.
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' | '?' | '#' => uri.push_str(&format!("%{:02X}", c as u32)),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Switches the database to WAL mode (a lasting property of the file).
/// While other connections are creating the same new database, SQLite may
/// answer "busy" at once instead of waiting, so this retries until the busy
/// timeout.
fn enable_wal(conn: &Connection, path: &Path) -> Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        let result = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0));
        match result {
            // An in-memory database reports "memory"; a file must be in WAL.
            Ok(mode) if mode == "wal" || mode == "memory" => return Ok(()),
            Ok(mode) => {
                return Err(TrackerError::NotWal {
                    path: path.to_path_buf(),
                    mode,
                });
            }
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(sqlite_error(path, "switching to WAL mode", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{new_run, point};
    use super::*;
    use std::sync::Barrier;

    pub(super) fn user_version(t: &Tracker) -> u32 {
        t.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    /// The files in `dir`, sorted.
    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
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
    fn read_only_open_of_a_missing_or_empty_file_says_no_runs_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs/gan-lab.sqlite");
        let err = Tracker::open_read_only(&path).unwrap_err();
        assert!(matches!(err, TrackerError::NoDatabase { .. }), "{err:?}");
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("no runs are recorded"), "{msg}");
        assert!(msg.contains("gan-lab run experiments/vanilla.ron"), "{msg}");
        // Nothing was created on the way.
        assert!(files(dir.path()).is_empty());

        let empty = dir.path().join("empty.sqlite");
        std::fs::write(&empty, b"").unwrap();
        let err = Tracker::open_read_only(&empty).unwrap_err();
        assert!(matches!(err, TrackerError::NoDatabase { .. }), "{err:?}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_user_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "these are notes, not a database\n".repeat(100)).unwrap();
        for err in [
            Tracker::open_read_only(&path).unwrap_err(),
            Tracker::open(&path).unwrap_err(),
        ] {
            assert!(matches!(err, TrackerError::NotADatabase { .. }), "{err:?}");
            assert!(err.is_user_error());
            let msg = err.to_string();
            assert!(msg.contains("notes.txt"), "{msg}");
            assert!(msg.contains("not a SQLite database"), "{msg}");
            assert!(msg.contains("--db"), "{msg}");
        }
        // The file is untouched.
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("these are notes")
        );
    }

    #[test]
    fn a_folder_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let err = Tracker::open(dir.path()).unwrap_err();
        assert!(matches!(err, TrackerError::CannotOpen { .. }), "{err:?}");
        assert!(err.is_user_error());
        assert!(err.to_string().contains("--db"), "{err}");
        let err = Tracker::open_read_only(dir.path()).unwrap_err();
        assert!(matches!(err, TrackerError::NotADatabase { .. }), "{err:?}");
    }

    #[test]
    fn read_only_open_reads_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let id = {
            let t = Tracker::open(&path).unwrap();
            let id = t.create_run(&new_run("e", "a")).unwrap();
            t.log_metrics(&id, &[point("fid", 10, 90.0)]).unwrap();
            id
        };
        // The last writer closing removes the WAL files.
        assert_eq!(files(dir.path()), vec!["runs.db"]);
        let before = std::fs::read(&path).unwrap();

        let t = Tracker::open_read_only(&path).unwrap();
        assert!(t.is_read_only());
        assert_eq!(t.run(&id).unwrap().name, "a");
        assert_eq!(t.list_runs(&RunFilter::default()).unwrap().len(), 1);
        assert_eq!(t.latest_value(&id, "fid").unwrap(), Some(90.0));
        let err = t.set_tag(&id, "k", "v").unwrap_err();
        assert!(
            matches!(err, TrackerError::OpenedReadOnly { .. }),
            "{err:?}"
        );
        drop(t);
        // The database file is as it was; SQLite's reader index files hold
        // nothing, and the next writer to close removes them.
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let wal = dir.path().join("runs.db-wal");
        assert_eq!(wal.metadata().map_or(0, |m| m.len()), 0);
        drop(Tracker::open(&path).unwrap());
        assert_eq!(files(dir.path()), vec!["runs.db"]);
    }

    #[test]
    fn read_only_open_sees_a_writer_at_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let writer = Tracker::open(&path).unwrap();
        let id = writer.create_run(&new_run("e", "a")).unwrap();
        let reader = Tracker::open_read_only(&path).unwrap();
        assert_eq!(reader.run(&id).unwrap().steps_done, 0);
        writer.set_progress(&id, 7).unwrap();
        assert_eq!(reader.run(&id).unwrap().steps_done, 7);
    }

    #[test]
    fn read_only_open_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.db");
        let t = Tracker::open(&path).unwrap();
        t.conn.pragma_update(None, "user_version", 9).unwrap();
        drop(t);
        let err = Tracker::open_read_only(&path).unwrap_err();
        assert!(
            matches!(err, TrackerError::NewerSchema { found: 9, .. }),
            "{err:?}"
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
}

/// Opening on a read-only file system, made with a read-only bind mount.
#[cfg(all(test, target_os = "linux"))]
mod read_only_fs {
    use super::*;
    use std::process::Command;

    /// Unmounts on drop, so a failing test leaves no mount behind.
    struct Mount(PathBuf);

    impl Mount {
        fn read_only(src: &Path, at: &Path) -> Mount {
            let run = |args: &[&str]| {
                let status = Command::new("mount").args(args).status().unwrap();
                assert!(status.success(), "mount {args:?} failed");
            };
            run(&["--bind", src.to_str().unwrap(), at.to_str().unwrap()]);
            let mount = Mount(at.to_path_buf());
            run(&["-o", "remount,ro,bind", at.to_str().unwrap()]);
            mount
        }
    }

    impl Drop for Mount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }

    #[test]
    #[ignore = "needs root with CAP_SYS_ADMIN: makes a read-only bind mount"]
    fn writing_fails_with_a_hint_and_reading_works() {
        let dir = tempfile::tempdir().unwrap();
        let (src, ro) = (dir.path().join("src"), dir.path().join("ro"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&ro).unwrap();
        let id = {
            let t = Tracker::open(&src.join("runs.db")).unwrap();
            t.create_run(&fixtures::new_run("e", "a")).unwrap()
        };
        let _mount = Mount::read_only(&src, &ro);
        let path = ro.join("runs.db");

        let err = Tracker::open(&path).unwrap_err();
        assert!(matches!(err, TrackerError::ReadOnly { .. }), "{err:?}");
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(msg.contains("runs.db") && msg.contains("--db"), "{msg}");
        assert!(msg.contains("list, show and report"), "{msg}");

        let err = Tracker::open(&ro.join("new.db")).unwrap_err();
        assert!(matches!(err, TrackerError::CannotOpen { .. }), "{err:?}");
        assert!(err.is_user_error());

        let t = Tracker::open_read_only(&path).unwrap();
        assert_eq!(t.run(&id).unwrap().name, "a");
    }
}
