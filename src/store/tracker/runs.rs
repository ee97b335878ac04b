//! Runs: creating and claiming them, their heartbeat, progress and status,
//! finding them by id, prefix, name or spec hash, and their parameters and
//! tags.

use rusqlite::{OptionalExtension, Transaction, params};

use super::records::{RUN_SELECT, run_from_row};
use super::{
    Liveness, MAX_NAME_LEN, MAX_TAG_KEY_LEN, MAX_TAG_LEN, NewRun, Result, RunFilter, RunRecord,
    RunStatus, Tracker, TrackerError, now,
};

/// Shortest id prefix [`Tracker::run`] accepts.
const MIN_PREFIX: usize = 4;

/// At most this many candidates are named in an "ambiguous run" error.
const MAX_CANDIDATES: usize = 10;

/// A too-long value is named by this many of its first characters.
const PREVIEW_CHARS: usize = 32;

/// A new globally unique run id: 16 lowercase hex digits (64 random bits).
pub fn new_run_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Refuses a `value` longer than `limit` characters; `what` names it.
fn check_len(what: &str, value: &str, limit: usize) -> Result<()> {
    let len = value.chars().count();
    if len <= limit {
        return Ok(());
    }
    let preview: String = value.chars().take(PREVIEW_CHARS).collect();
    Err(TrackerError::TooLong {
        what: format!("{what} '{preview}…'"),
        len,
        limit,
    })
}

impl Tracker {
    /// The id of the experiment called `name`, created if it does not exist.
    pub fn experiment_id(&self, name: &str) -> Result<i64> {
        check_len("the experiment name", name, MAX_NAME_LEN)?;
        self.write(&format!("getting experiment '{name}'"), |tx| {
            get_or_create_experiment(tx, name)
        })
    }

    /// Records a new running run with a fresh id, and returns the id.
    pub fn create_run(&self, new: &NewRun) -> Result<String> {
        self.create_run_with_id(&new_run_id(), new)
    }

    /// Records a new running run under `id` (from [`new_run_id`]), and
    /// returns the id. The calling process is recorded as the one training
    /// it, on `new.host`, with a first heartbeat. Names longer than
    /// [`MAX_NAME_LEN`] are refused.
    pub fn create_run_with_id(&self, id: &str, new: &NewRun) -> Result<String> {
        check_len("the run name", &new.name, MAX_NAME_LEN)?;
        check_len("the experiment name", &new.experiment, MAX_NAME_LEN)?;
        let started = now();
        self.write(&format!("creating run '{}'", new.name), |tx| {
            let experiment = get_or_create_experiment(tx, &new.experiment)?;
            tx.execute(
                "INSERT INTO runs (id, experiment_id, name, variant, status, spec_text, spec_hash,
                                   seed, device, code_version, host, run_dir, total_steps,
                                   started_at, sweep_id, pid, heartbeat_at)
                 VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,
                         ?15, ?13)",
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
                    started,
                    new.sweep_id,
                    std::process::id(),
                ],
            )?;
            Ok(id.to_string())
        })
    }

    /// Claims run `run_id` (a full id) for training by process `pid` on
    /// `host` (this host): in one transaction, refuses with
    /// [`TrackerError::RunBusy`] a `running` run that is alive in another
    /// process, and otherwise marks the run `running` in `pid` on `host`
    /// with a fresh heartbeat, clearing its end time and status reason.
    /// Whether the run may be trained again at all (a finished one) is the
    /// caller's call.
    pub fn claim(&self, run_id: &str, pid: u32, host: &str) -> Result<()> {
        let now = now();
        // The refusals leave the transaction with nothing written.
        self.write(&format!("claiming run {run_id}"), |tx| {
            let record = tx
                .prepare_cached(&format!("{RUN_SELECT} WHERE r.id = ?1"))?
                .query_row([run_id], run_from_row)
                .optional()?;
            let Some(record) = record else {
                return Ok(Err(TrackerError::RunNotFound {
                    query: run_id.to_string(),
                }));
            };
            let ours = record.pid == Some(pid) && record.host == host;
            if !ours && record.liveness(now, host) == Liveness::Alive {
                return Ok(Err(TrackerError::RunBusy {
                    run: format!("{} ({})", record.id, record.name),
                    pid: record.pid,
                    host: record.host,
                }));
            }
            tx.execute(
                "UPDATE runs SET status = 'running', status_reason = NULL, ended_at = NULL,
                                 pid = ?2, host = ?3, heartbeat_at = ?4
                 WHERE id = ?1",
                params![run_id, pid, host, now],
            )?;
            Ok(Ok(()))
        })?
    }

    /// Records that the process training run `run_id` is still at work;
    /// call it every [`HEARTBEAT_EVERY`](super::HEARTBEAT_EVERY).
    pub fn heartbeat(&self, run_id: &str) -> Result<()> {
        let changed = self.write(&format!("recording a heartbeat of run {run_id}"), |tx| {
            tx.execute(
                "UPDATE runs SET heartbeat_at = ?2 WHERE id = ?1",
                params![run_id, now()],
            )
        })?;
        found(changed, run_id)
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

    /// Sets (or overwrites) a tag of a run. Keys longer than
    /// [`MAX_TAG_KEY_LEN`] and values longer than [`MAX_TAG_LEN`] are refused.
    pub fn set_tag(&self, run: &str, key: &str, value: &str) -> Result<()> {
        check_len("the tag key", key, MAX_TAG_KEY_LEN)?;
        check_len(&format!("the value of tag {key}"), value, MAX_TAG_LEN)?;
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

    /// Changes the status of a run. Finished, failed, interrupted and
    /// stopped runs get an end time; a running (resumed) run loses it and
    /// gets a fresh heartbeat.
    pub fn set_status(&self, run: &str, status: RunStatus, reason: Option<&str>) -> Result<()> {
        let now = now();
        let running = status == RunStatus::Running;
        let changed = self.write(&format!("setting status of run {run} to {status}"), |tx| {
            tx.execute(
                "UPDATE runs SET status = ?2, status_reason = ?3, ended_at = ?4,
                                 heartbeat_at = coalesce(?5, heartbeat_at)
                 WHERE id = ?1",
                params![
                    run,
                    status.as_str(),
                    reason,
                    (!running).then_some(now),
                    running.then_some(now)
                ],
            )
            .and_then(|changed| {
                // A run that ends gets the digests its report reads.
                if !running && changed > 0 {
                    super::series::write_digests(tx, run)?;
                }
                Ok(changed)
            })
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
            0 if query.chars().count() < MIN_PREFIX => Err(TrackerError::PrefixTooShort {
                query: query.to_string(),
                min: MIN_PREFIX,
            }),
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
    use crate::store::tracker::fixtures::{dead_pid, new_run, point};
    use crate::store::tracker::{LOST_AFTER, TrackerError};

    #[test]
    fn runs_round_trip() {
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

        // Too short a prefix matches nothing, and says why.
        let err = t.run("abc").unwrap_err();
        assert!(
            matches!(err, TrackerError::PrefixTooShort { .. }),
            "{err:?}"
        );
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
        let short = t.run("0").unwrap_err();
        assert!(
            short.to_string().contains("at least 4 characters") && short.is_user_error(),
            "{short}"
        );
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

    /// Sets columns of a run directly, as another process would have left them.
    fn set(t: &Tracker, id: &str, assignments: &str, value: impl rusqlite::ToSql) {
        t.conn
            .execute(
                &format!("UPDATE runs SET {assignments} WHERE id = ?1"),
                params![id, value],
            )
            .unwrap();
    }

    #[test]
    fn claim_refuses_a_live_run_and_takes_over_a_lost_one() {
        let t = Tracker::open_in_memory().unwrap();
        let me = std::process::id();
        // Recorded as running in this process on host "test", just now.
        let id = t.create_run(&new_run("e", "a")).unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!(run.pid, Some(me));
        assert_eq!(run.heartbeat_at, Some(run.started_at));

        // Another process on the same host is refused while this one lives.
        let err = t.claim(&id, me + 1, "test").unwrap_err();
        match &err {
            TrackerError::RunBusy { pid, host, .. } => {
                assert_eq!((*pid, host.as_str()), (Some(me), "test"))
            }
            other => panic!("expected busy, got {other:?}"),
        }
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(msg.contains(&format!("process {me} on test")), "{msg}");
        assert!(
            msg.contains("wait") && msg.contains("stop that process"),
            "{msg}"
        );
        assert_eq!(
            t.run(&id).unwrap().pid,
            Some(me),
            "the refusal changed nothing"
        );
        // The process that holds it may claim it again.
        t.claim(&id, me, "test").unwrap();

        // Its process died: taken over at once, heartbeat or not.
        set(&t, &id, "pid = ?2", dead_pid());
        t.claim(&id, 4242, "test").unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!((run.pid, run.host.as_str()), (Some(4242), "test"));
        assert_eq!(run.status, RunStatus::Running);

        // On another host with a fresh heartbeat: busy, even with its pid unknown here.
        set(&t, &id, "host = ?2", "elsewhere");
        let err = t.claim(&id, me, "test").unwrap_err();
        assert!(matches!(err, TrackerError::RunBusy { .. }), "{err:?}");
        assert!(
            err.to_string().contains("process 4242 on elsewhere"),
            "{err}"
        );
        // ... and lost once its heartbeat is stale.
        let stale = now() - 2.0 * LOST_AFTER.as_secs_f64();
        set(&t, &id, "heartbeat_at = ?2", stale);
        t.claim(&id, me, "test").unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!((run.pid, run.host.as_str()), (Some(me), "test"));
        assert!(run.heartbeat_at.unwrap() > stale + 60.0);

        // A run that is not running is claimed whoever last had it, and
        // loses its end time and reason.
        t.set_status(&id, RunStatus::Interrupted, Some("ctrl-c"))
            .unwrap();
        set(&t, &id, "pid = ?2", me);
        t.claim(&id, me + 1, "test").unwrap();
        let run = t.run(&id).unwrap();
        assert_eq!(
            (run.status, run.status_reason, run.ended_at, run.pid),
            (RunStatus::Running, None, None, Some(me + 1))
        );

        let err = t.claim("nope", me, "test").unwrap_err();
        assert!(matches!(err, TrackerError::RunNotFound { .. }), "{err:?}");
    }

    #[test]
    fn heartbeats_and_resumed_runs_refresh_liveness() {
        let t = Tracker::open_in_memory().unwrap();
        let id = t.create_run(&new_run("e", "a")).unwrap();
        set(&t, &id, "heartbeat_at = ?2", 5.0);
        t.heartbeat(&id).unwrap();
        let beat = t.run(&id).unwrap().heartbeat_at.unwrap();
        assert!(beat > 1.6e9, "{beat}");
        assert!(t.heartbeat("nope").unwrap_err().is_user_error());

        // Ending a run keeps its last heartbeat; running again refreshes it.
        set(&t, &id, "heartbeat_at = ?2", 5.0);
        t.set_status(&id, RunStatus::Interrupted, None).unwrap();
        assert_eq!(t.run(&id).unwrap().heartbeat_at, Some(5.0));
        t.set_status(&id, RunStatus::Running, None).unwrap();
        assert!(t.run(&id).unwrap().heartbeat_at.unwrap() > 1.6e9);
    }

    #[test]
    fn names_and_tags_are_bounded() {
        let t = Tracker::open_in_memory().unwrap();
        let long = |n: usize| "é".repeat(n);

        let ok = t.create_run(&new_run("e", &long(MAX_NAME_LEN))).unwrap();
        assert_eq!(t.run(&ok).unwrap().name.chars().count(), MAX_NAME_LEN);
        let err = t
            .create_run(&new_run("e", &long(MAX_NAME_LEN + 1)))
            .unwrap_err();
        assert!(matches!(err, TrackerError::TooLong { .. }), "{err:?}");
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(
            msg.contains("run name") && msg.contains("129") && msg.contains("128"),
            "{msg}"
        );
        assert!(msg.len() < 200, "the message quotes only the start: {msg}");
        let err = t
            .create_run(&new_run(&"x".repeat(65_536), "a"))
            .unwrap_err();
        assert!(err.to_string().contains("experiment name"), "{err}");
        assert!(t.experiment_id(&"x".repeat(129)).is_err());
        assert_eq!(t.list_runs(&RunFilter::default()).unwrap().len(), 1);

        t.set_tag(&ok, &"k".repeat(MAX_TAG_KEY_LEN), &long(MAX_TAG_LEN))
            .unwrap();
        let err = t
            .set_tag(&ok, &"k".repeat(MAX_TAG_KEY_LEN + 1), "v")
            .unwrap_err();
        assert!(err.is_user_error());
        assert!(err.to_string().contains("tag key"), "{err}");
        let err = t.set_tag(&ok, "note", &long(MAX_TAG_LEN + 1)).unwrap_err();
        assert!(err.is_user_error());
        let msg = err.to_string();
        assert!(
            msg.contains("tag note") && msg.contains("4097") && msg.contains("4096"),
            "{msg}"
        );
        assert_eq!(t.tags(&ok).unwrap().len(), 1);
    }
}
