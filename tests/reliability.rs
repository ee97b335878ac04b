//! Reliability against real child processes of the binary: SIGKILL at
//! random moments (the kill loop), resume of a live run, SIGTERM, SIGHUP
//! and a double Ctrl-C, killed runs shown as lost, hostile names and inputs
//! that claim huge sizes. docs/reliability.md gathers the results.
//!
//! `GAN_LAB_KILLS` sets how many kills the kill loop makes (default 5);
//! `GAN_LAB_KILL_SEED` seeds their moments.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use gan_lab::store::layout::RunLayout;
use gan_lab::store::tracker::{RunRecord, RunStatus, Tracker, status_label, this_host};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, OpenFlags};

use crate::common::process::{gan_lab, gan_lab_cached, stderr, stdout};
use crate::common::{bin, fake_data, new_run};

/// A spec for these tests: `steps` steps of `arch` at `batch`, checkpoints
/// every `checkpoint` steps and samples only at the end, so that metrics
/// reach the database by the time flush and at checkpoints.
fn spec(dir: &Path, name: &str, arch: &str, batch: u64, steps: u64, checkpoint: u64) -> PathBuf {
    let path = dir.join(format!("{name}.ron"));
    std::fs::write(
        &path,
        format!(
            "(name: \"{name}\", variant: Vanilla(arch: {arch}, loss: NonSaturating),\n \
             train: (steps: {steps}, batch_size: {batch}, seed: 5),\n \
             samples: (every: 100000), checkpoint: (every: {checkpoint}))\n"
        ),
    )
    .unwrap();
    path
}

/// Starts the binary on database `db` with the data in `data`, output piped.
fn spawn(db: &Path, data: &Path, args: &[&str]) -> Child {
    Command::new(bin())
        .arg("--db")
        .arg(db)
        .arg("--quiet")
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("GAN_LAB_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: sends a signal to a child process this test started and has not reaped.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({}, {sig})", child.id());
}

/// Waits for `child` at most `limit`; kills it and panics past that.
fn wait_within(child: &mut Child, limit: Duration) -> (ExitStatus, String, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("process {} still running after {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

/// Polls `probe` until it returns something, for at most `limit`.
fn poll<T>(limit: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The only run in `db`, if it has been recorded.
fn the_run(db: &Path) -> Option<RunRecord> {
    if !db.exists() {
        return None;
    }
    // Read-only: polling must not create or migrate the child's database.
    let runs = Tracker::open_read_only(db)
        .ok()?
        .list_runs(&Default::default())
        .ok()?;
    assert!(runs.len() <= 1, "{runs:?}");
    runs.into_iter().next()
}

/// The only run in `db` once no process writes it: errors are failures.
fn the_run_now(db: &Path) -> Option<RunRecord> {
    if !db.exists() {
        return None;
    }
    let runs = Tracker::open(db)
        .unwrap()
        .list_runs(&Default::default())
        .unwrap();
    assert!(runs.len() <= 1, "{runs:?}");
    runs.into_iter().next()
}

/// Waits until the run in `db` is recorded as trained by process `pid`.
fn wait_for_run(db: &Path, pid: u32) -> RunRecord {
    poll(Duration::from_secs(60), "the run to be recorded", || {
        the_run(db).filter(|r| r.pid == Some(pid) && r.status == RunStatus::Running)
    })
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The steps of every metric of `run`, by key, in step order (points of one
/// step in the order they were logged).
fn steps_by_key(db: &Path, run: &str) -> BTreeMap<String, Vec<u64>> {
    // Every series the run has points in, not only those with a latest value.
    let keys: Vec<String> = Connection::open(db)
        .unwrap()
        .prepare("SELECT key FROM series WHERE run_id = ?1")
        .unwrap()
        .query_map([run], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let t = Tracker::open_read_only(db).unwrap();
    keys.into_iter()
        .map(|key| {
            let steps: Vec<u64> = t
                .metric_series(run, &key)
                .unwrap()
                .iter()
                .map(|p| p.0)
                .collect();
            (key, steps)
        })
        .filter(|(_, steps)| !steps.is_empty())
        .collect()
}

/// `PRAGMA integrity_check` of `db` is "ok", and no foreign key dangles.
fn assert_intact(db: &Path) {
    let conn = Connection::open(db).unwrap();
    let check: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(check, vec!["ok".to_string()], "{}", db.display());
    let dangling: i64 = conn
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(dangling, 0, "{}", db.display());
}

/// (key, step) pairs of `run` recorded more than once, counting the extra points.
fn duplicate_rows(db: &Path, run: &str) -> i64 {
    steps_by_key(db, run)
        .values()
        .map(|steps| steps.windows(2).filter(|w| w[0] == w[1]).count() as i64)
        .sum()
}

/// After a kill: every key holds steps 1..=F exactly once (the same F for
/// all keys), the latest values agree, and F reaches the checkpoint that a
/// resume restores, so that no step goes missing. Returns (F, checkpoint).
fn assert_consistent_after_kill(db: &Path, run: &RunRecord) -> (u64, u64) {
    let by_key = steps_by_key(db, &run.id);
    let flushed = by_key.get("loss_d").map_or(0, |s| s.len() as u64);
    for (key, steps) in &by_key {
        assert_eq!(
            steps,
            &(1..=flushed).collect::<Vec<_>>(),
            "{key}: the points of a killed run are steps 1..={flushed}, each once"
        );
    }
    let conn = Connection::open(db).unwrap();
    let latest: Vec<(String, u64)> = conn
        .prepare("SELECT key, step FROM latest_metrics WHERE run_id = ?1")
        .unwrap()
        .query_map([&run.id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(latest.len(), by_key.len(), "{latest:?}");
    assert!(latest.iter().all(|(_, s)| *s == flushed), "{latest:?}");
    let layout = RunLayout::of(db, &run.run_dir).unwrap();
    let checkpoint = layout.last_checkpoint().map_or(0, |c| c.1);
    assert!(
        flushed >= checkpoint,
        "metrics reach step {flushed} but the checkpoint a resume restores is from step \
         {checkpoint}: steps {}..={checkpoint} would never be recorded",
        flushed + 1
    );
    (flushed, checkpoint)
}

/// The run finished and recorded each step's scalars exactly once.
fn assert_finished_once(db: &Path, run_id: &str, steps: u64) {
    let tracker = Tracker::open(db).unwrap();
    let run = tracker.run(run_id).unwrap();
    assert_eq!(run.status, RunStatus::Finished, "{:?}", run.status_reason);
    assert_eq!(run.steps_done, steps);
    let by_key = steps_by_key(db, run_id);
    assert!(by_key.contains_key("loss_d"), "{:?}", by_key.keys());
    for (key, recorded) in &by_key {
        assert_eq!(recorded, &(1..=steps).collect::<Vec<_>>(), "{key}");
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

/// The kill loop: a training child is SIGKILLed at random moments (while it
/// starts, trains, checkpoints or resumes); after each kill the database is
/// intact, the run's points are steps 1..=F once each with F at or past
/// the checkpoint, and the run shows as lost. `resume` then finishes it
/// with every step's scalars exactly once and the same losses as a run
/// that was never killed.
/// `GAN_LAB_KILLS=20 cargo test --release --test integration kill_loop -- --nocapture`
#[test]
fn kill_loop() {
    let kills = env_number("GAN_LAB_KILLS", 5);
    let seed = env_number("GAN_LAB_KILL_SEED", 11);
    // Metrics reach the database at checkpoints and 2 s after the last
    // flush: with 40 steps between checkpoints (over 2 s on a busy CI
    // machine), kills find points both at and past the checkpoint.
    let every = 40;
    let steps = 35 * kills + 100;
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    let spec = spec(dir.path(), "killed", "Mlp", 8, steps, every);
    let spec_arg = spec.to_str().unwrap();
    let db = dir.path().join("runs/db.sqlite");
    // The same spec, never killed, in its own database, alongside.
    let reference_db = dir.path().join("reference/db.sqlite");
    let mut reference = spawn(&reference_db, &data, &["run", spec_arg]);

    let mut rng = StdRng::seed_from_u64(seed);
    let mut run_id: Option<String> = None;
    let mut checkpoint = 0;
    let (mut before_record, mut early, mut resumes, mut checks, mut duplicates) =
        (0, 0, 0, 0, 0i64);
    let mut past_checkpoint = 0;
    let mut progress = Vec::new();
    for kill in 1..=kills {
        let mut child = match &run_id {
            None => spawn(&db, &data, &["run", spec_arg]),
            Some(id) => {
                resumes += 1;
                spawn(&db, &data, &["resume", id])
            }
        };
        let spawned = Instant::now();
        // A quarter of the kills at a random moment of the start (opening,
        // claiming, restoring, truncating); the others once the run reports
        // a random step ahead of its checkpoint, plus up to 300 ms.
        if rng.random_range(0..4) == 0 {
            early += 1;
            std::thread::sleep(Duration::from_millis(rng.random_range(0..800)));
        } else {
            let target = (checkpoint + rng.random_range(1..=60)).min(steps - 80);
            poll(Duration::from_secs(120), "the run to progress", || {
                let done = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
                    .ok()?
                    .query_row("SELECT steps_done FROM runs", [], |r| r.get::<_, u64>(0))
                    .ok()?;
                (done >= target || child.try_wait().ok()?.is_some()).then_some(())
            });
            std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        }
        let delay = spawned.elapsed();
        if let Some(status) = child.try_wait().unwrap() {
            let (_, out, err) = wait_within(&mut child, Duration::from_secs(1));
            panic!(
                "kill {kill}: the child ended before it was killed ({status}); raise the steps\n{out}\n{err}"
            );
        }
        signal(&child, libc::SIGKILL);
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL)
        );

        if db.exists() {
            assert_intact(&db);
            checks += 1;
        }
        let Some(run) = the_run_now(&db) else {
            before_record += 1;
            eprintln!("kill {kill} after {delay:?}: before the run was recorded");
            continue;
        };
        run_id = Some(run.id.clone());
        let extra = duplicate_rows(&db, &run.id);
        duplicates += extra;
        assert_eq!(extra, 0, "kill {kill}: duplicate (key, step) rows");
        let flushed;
        (flushed, checkpoint) = assert_consistent_after_kill(&db, &run);
        if flushed > checkpoint {
            past_checkpoint += 1;
        }
        assert_eq!(run.status, RunStatus::Running, "kill {kill}");
        assert_eq!(
            status_label(&run, now(), &this_host()),
            "lost",
            "kill {kill}: a killed trainer on this host is lost at once"
        );
        eprintln!(
            "kill {kill} after {delay:?}: points to step {flushed}, checkpoint {checkpoint}, steps_done {}",
            run.steps_done
        );
        progress.push((flushed, checkpoint));
    }

    let run_id = run_id.expect("some kill came after the run was recorded");
    let mut last = spawn(&db, &data, &["resume", &run_id]);
    resumes += 1;
    let (status, out, err) = wait_within(&mut last, Duration::from_secs(600));
    assert!(status.success(), "{out}\n{err}");
    assert!(out.contains(&format!("finished {steps} steps")), "{out}");
    assert_intact(&db);
    checks += 1;
    assert_eq!(duplicate_rows(&db, &run_id), 0);
    assert_finished_once(&db, &run_id, steps);

    let (status, out, err) = wait_within(&mut reference, Duration::from_secs(600));
    assert!(status.success(), "{out}\n{err}");
    let reference_id = the_run_now(&reference_db).unwrap().id;
    let (killed, never) = (
        Tracker::open(&db).unwrap(),
        Tracker::open(&reference_db).unwrap(),
    );
    for key in ["loss_d", "loss_g"] {
        let values = |t: &Tracker, id: &str| -> Vec<(u64, f64)> {
            t.metric_series(id, key)
                .unwrap()
                .into_iter()
                .map(|p| (p.0, p.1))
                .collect()
        };
        assert_eq!(
            values(&killed, &run_id),
            values(&never, &reference_id),
            "{key}: a run killed {kills} times and resumed trains as one never killed"
        );
    }
    println!(
        "kill loop: seed {seed}, {steps} steps, {kills} kills ({early} at a random moment of the \
         start, {before_record} before the run was recorded, {past_checkpoint} with points past \
         the checkpoint), {resumes} resumes, {checks} integrity checks ok, {duplicates} duplicate \
         rows, (points, checkpoint) after each kill {progress:?}, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `resume` of a run whose trainer is alive is refused with exit 2, naming
/// the process; once that process is killed, `resume` takes the run over.
#[test]
fn resume_of_a_live_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    let spec = spec(dir.path(), "live", "Mlp", 8, 100_000, 1000);
    let db = dir.path().join("runs/db.sqlite");
    let mut trainer = spawn(&db, &data, &["run", spec.to_str().unwrap()]);
    let run = wait_for_run(&db, trainer.id());

    let out = gan_lab(dir.path(), Some(&data), &["resume", &run.id]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("process {}", trainer.id())) && err.contains(&this_host()),
        "{err}"
    );
    assert!(
        trainer.try_wait().unwrap().is_none(),
        "the refusal left the trainer alone"
    );
    let after = the_run_now(&db).unwrap();
    assert_eq!(
        (after.status, after.pid),
        (RunStatus::Running, Some(trainer.id()))
    );

    signal(&trainer, libc::SIGKILL);
    trainer.wait().unwrap();
    let mut resumed = spawn(&db, &data, &["resume", &run.id]);
    let claimed = wait_for_run(&db, resumed.id());
    assert_eq!(claimed.id, run.id);
    signal(&resumed, libc::SIGTERM);
    let (status, out, err) = wait_within(&mut resumed, Duration::from_secs(120));
    assert_eq!(status.code(), Some(130), "{out}\n{err}");
    let run = Tracker::open(&db).unwrap().run(&run.id).unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_intact(&db);
}

/// SIGTERM or SIGHUP acts like Ctrl-C: the step ends, a checkpoint is
/// written, the run is interrupted, the process exits 130, and `resume`
/// finishes the run with each step once.
fn a_signal_interrupts_with_a_checkpoint(sig: libc::c_int) {
    const STEPS: u64 = 60;
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    let spec = spec(dir.path(), "signalled", "Mlp", 8, STEPS, 1000);
    let db = dir.path().join("runs/db.sqlite");
    let mut child = spawn(&db, &data, &["run", spec.to_str().unwrap()]);
    let run = wait_for_run(&db, child.id());
    signal(&child, sig);
    let (status, out, err) = wait_within(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(130), "signal {sig}: {out}\n{err}");
    let tracker = Tracker::open(&db).unwrap();
    let stopped = tracker.run(&run.id).unwrap();
    assert_eq!(stopped.status, RunStatus::Interrupted, "signal {sig}");
    let layout = RunLayout::of(&db, &stopped.run_dir).unwrap();
    let state = layout.root.join("checkpoints/last/state.json");
    assert!(state.is_file(), "signal {sig}: no {}", state.display());
    let step = RunLayout::checkpoint_step(&layout.root.join("checkpoints/last")).unwrap();
    assert!(
        (1..STEPS).contains(&step) && step == stopped.steps_done,
        "signal {sig}: checkpoint at {step}, steps_done {}",
        stopped.steps_done
    );
    let (flushed, _) = assert_consistent_after_kill(&db, &stopped);
    assert_eq!(
        flushed, step,
        "signal {sig}: every point up to the stop is kept"
    );

    let out = gan_lab(dir.path(), Some(&data), &["resume", &run.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_finished_once(&db, &run.id, STEPS);
    assert_intact(&db);
}

#[test]
fn sigterm_interrupts_with_a_checkpoint() {
    a_signal_interrupts_with_a_checkpoint(libc::SIGTERM);
}

#[test]
fn sighup_interrupts_with_a_checkpoint() {
    a_signal_interrupts_with_a_checkpoint(libc::SIGHUP);
}

/// Two Ctrl-C in quick succession: the second stops at once, but the run is
/// marked interrupted, not left running.
#[test]
fn double_sigint_marks_the_run_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    // Slow steps (DCGAN at batch 64), so the second signal comes mid-step.
    let spec = spec(dir.path(), "twice", "Dcgan", 64, 100_000, 1000);
    let db = dir.path().join("runs/db.sqlite");
    let mut child = spawn(&db, &data, &["run", spec.to_str().unwrap()]);
    let run = wait_for_run(&db, child.id());
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(30));
    signal(&child, libc::SIGINT);
    let (status, out, err) = wait_within(&mut child, Duration::from_secs(120));
    assert_eq!(status.code(), Some(130), "{out}\n{err}");
    assert!(err.contains("second stop signal"), "{err}");
    let run = Tracker::open(&db).unwrap().run(&run.id).unwrap();
    assert_eq!(
        run.status,
        RunStatus::Interrupted,
        "{:?}",
        run.status_reason
    );
    assert!(
        run.status_reason
            .as_deref()
            .is_some_and(|r| r.contains("second stop signal")),
        "{:?}",
        run.status_reason
    );
    assert_intact(&db);
}

/// After SIGKILL, `list` and `show` call the run lost (its pid is dead on
/// this host), not running.
#[test]
fn killed_run_shows_as_lost_in_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    let spec = spec(dir.path(), "doomed", "Mlp", 8, 100_000, 1000);
    let db = dir.path().join("runs/db.sqlite");
    let mut child = spawn(&db, &data, &["run", spec.to_str().unwrap()]);
    let run = wait_for_run(&db, child.id());
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();

    let out = gan_lab(dir.path(), None, &["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    let row = list
        .lines()
        .find(|l| l.contains(&run.id))
        .unwrap_or_else(|| panic!("no row for {}:\n{list}", run.id));
    assert!(
        row.split_whitespace().any(|cell| cell == "lost"),
        "the status column says lost:\n{list}"
    );
    let out = gan_lab(dir.path(), None, &["show", &run.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let show = stdout(&out);
    assert!(show.contains("status: lost"), "{show}");
}

/// A resume that is killed after it has dropped the points past the
/// checkpoint, before its first flush: `list` and `show` report the steps
/// the run kept, not those of the attempt the resume threw away.
#[test]
fn a_killed_resume_reports_the_steps_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    // No checkpoint before step 1000: the points flushed after 2 s are all
    // past it, and a resume starts again from step 0.
    let spec = spec(dir.path(), "kept", "Mlp", 8, 100_000, 1000);
    let db = dir.path().join("runs/db.sqlite");
    let mut child = spawn(&db, &data, &["run", spec.to_str().unwrap()]);
    let run = wait_for_run(&db, child.id());
    poll(Duration::from_secs(60), "a flush past step 0", || {
        the_run(&db).filter(|r| r.steps_done > 0)
    });
    signal(&child, libc::SIGKILL);
    child.wait().unwrap();
    let lost = the_run_now(&db).unwrap();
    assert_eq!(assert_consistent_after_kill(&db, &lost).1, 0);

    let mut resumed = spawn(&db, &data, &["resume", &run.id]);
    let pid = resumed.id();
    poll(
        Duration::from_secs(60),
        "the resume to drop the points",
        || {
            let claimed = the_run(&db).filter(|r| r.pid == Some(pid))?;
            steps_by_key(&db, &claimed.id).is_empty().then_some(())
        },
    );
    signal(&resumed, libc::SIGKILL);
    resumed.wait().unwrap();
    let after = the_run_now(&db).unwrap();
    let (flushed, checkpoint) = assert_consistent_after_kill(&db, &after);
    assert_eq!(
        (after.steps_done, flushed, checkpoint),
        (0, 0, 0),
        "the run kept no step, but it says {} steps were done",
        after.steps_done
    );
    let show = stdout(&gan_lab(dir.path(), None, &["show", &run.id]));
    assert!(show.contains("steps: 0/100000"), "{show}");
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// Run and experiment names that are paths, control characters or huge,
/// through `--set` into `run`, then `list`, `show` and `report`: each is
/// either refused with exit 2 or recorded, and every file written is under
/// the database folder or `reports/` of the working folder. (Report folder
/// names from `--experiment`/`--sweep` are tried in
/// report::hostile_names_write_only_under_reports.)
#[test]
fn hostile_run_names_write_only_under_the_database_folder() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    let data = fake_data(&inputs, 80);
    let spec = spec(&inputs, "hostile", "Mlp", 8, 1, 1);
    // Deep enough that "../../../x" still lands inside the temporary folder.
    let work = dir.path().join("a/b/work");
    std::fs::create_dir_all(&work).unwrap();
    let db = work.join("runs/db.sqlite");
    let absolute = format!("/tmp/gan-lab-evil-{}", std::process::id());
    let huge = "n".repeat(65_536);
    let hostile: Vec<&str> = vec![
        "../x",
        "../../../x",
        "a/../../b",
        &absolute,
        "..",
        ".hidden",
        "C:\\x",
        "~",
        "a\nb",
        "a\tb",
        "\x1b[2J\x1b[31mred",
        "bell\x07",
        "\r",
        "%2e%2e%2fx",
        &huge,
    ];
    let mut accepted = 0;
    let mut refused = 0;
    for field in ["name", "experiment"] {
        for name in &hostile {
            let out = Command::new(bin())
                .current_dir(&work)
                .env_remove("GAN_LAB_DB")
                .args(["--db", db.to_str().unwrap(), "--quiet", "--data-dir"])
                .arg(&data)
                .arg("run")
                .arg(&spec)
                .arg("--set")
                .arg(format!("{field}={name}"))
                .output()
                .unwrap();
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{field}={name:?}: {err}");
            match out.status.code() {
                Some(0) => accepted += 1,
                Some(2) => {
                    refused += 1;
                    assert!(err.contains("--set"), "{field}={name:?}: {err}");
                }
                other => panic!("{field}={name:?}: exit {other:?}\n{err}"),
            }
        }
    }
    let in_work = |args: &[&str]| {
        let out = Command::new(bin())
            .current_dir(&work)
            .env_remove("GAN_LAB_DB")
            .args(["--db", db.to_str().unwrap(), "--quiet"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        out
    };
    let list = stdout(&in_work(&["list"]));
    let tracker = Tracker::open(&db).unwrap();
    let runs = tracker.list_runs(&Default::default()).unwrap();
    assert_eq!(runs.len(), accepted, "{list}");
    for run in &runs {
        assert!(list.contains(&run.id), "{list}");
        in_work(&["show", &run.id]);
    }
    in_work(&["report"]);
    eprintln!(
        "hostile names: {} tried, {accepted} runs recorded, {refused} refused with exit 2",
        2 * hostile.len()
    );

    assert!(!Path::new(&absolute).exists(), "wrote {absolute}");
    for file in files_under(dir.path()) {
        let inside = file.starts_with("inputs")
            || file.starts_with("a/b/work/runs")
            || file.starts_with("a/b/work/reports/all");
        assert!(inside, "{} written outside its folder", file.display());
    }
}

/// A grayscale 28x28 PNG whose header then claims `side` x `side` (the CRC
/// fixed up, so only the size is wrong).
fn png_claiming(side: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, 28, 28);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&[0u8; 784]).unwrap();
    }
    // Signature (8), IHDR length (4), "IHDR" (4), width, height, ...
    bytes[16..20].copy_from_slice(&side.to_be_bytes());
    bytes[20..24].copy_from_slice(&side.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

/// Inputs that claim huge sizes are refused (exit 2) before memory is
/// allocated for them; `list` and `show` print any stored name.
#[test]
fn huge_claims_and_names_are_refused_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 80);
    let cache = dir.path().join("empty-cache");
    let quick = Duration::from_secs(20);

    // A folder with one PNG whose header says 100000x100000.
    let pngs = dir.path().join("pngs");
    std::fs::create_dir_all(&pngs).unwrap();
    std::fs::write(pngs.join("huge.png"), png_claiming(100_000)).unwrap();
    // An IDX3 file that claims a million 100000x100000 images.
    let idx = dir.path().join("huge.idx");
    let mut header = vec![0, 0, 8, 3];
    for n in [1_000_000u32, 100_000, 100_000] {
        header.extend(n.to_be_bytes());
    }
    header.extend([0u8; 64]);
    std::fs::write(&idx, header).unwrap();
    for (input, needle) in [(&pngs, "28x28"), (&idx, "")] {
        let started = Instant::now();
        let out = gan_lab_cached(
            dir.path(),
            &data,
            &cache,
            &["eval", "--images", input.to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", input.display());
        assert!(err.contains(needle), "{err}");
        assert!(started.elapsed() < quick, "{:?}", started.elapsed());
        assert!(!cache.exists(), "no evaluator was trained for it");
    }

    // A name of 65,536 characters in a spec file is refused (limit 128).
    let long = dir.path().join("long.ron");
    let text = std::fs::read_to_string(spec(dir.path(), "long", "Mlp", 8, 2, 1)).unwrap();
    std::fs::write(
        &long,
        text.replace("\"long\"", &format!("\"{}\"", "x".repeat(65_536))),
    )
    .unwrap();
    let out = gan_lab(dir.path(), Some(&data), &["run", long.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("128"), "{}", stderr(&out));

    // A real run, then --n and --samples far too large.
    let ok = spec(dir.path(), "small", "Mlp", 8, 2, 1);
    let out = gan_lab(dir.path(), Some(&data), &["run", ok.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let samples = dir.path().join("samples.idx");
    let out_arg = samples.to_str().unwrap();
    for args in [
        ["sample", "small", "--n", "100000000", "--out", out_arg],
        ["sample", "small", "--n", "0", "--out", out_arg],
        [
            "eval",
            "small",
            "--samples",
            "100000000",
            "--checkpoint",
            "last",
        ],
    ] {
        let started = Instant::now();
        let out = gan_lab_cached(dir.path(), &data, &cache, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(started.elapsed() < quick, "{:?}", started.elapsed());
        assert!(!samples.exists());
    }
}

/// `list`, `show` and `report` print any stored name: one of 65,536
/// characters with control characters, as a database from before the
/// tracker's length limit may hold (finding 3 of issue 11).
#[test]
fn list_and_show_print_any_stored_name() {
    use gan_lab::store::tracker::NewRun;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs/db.sqlite");
    let id = Tracker::open(&db)
        .unwrap()
        .create_run(&NewRun {
            spec_hash: "h".into(),
            run_dir: "r".into(),
            ..new_run("e", "placeholder")
        })
        .unwrap();
    let stored = format!(
        "{}\n\t\x1b[2J\u{202e}{}",
        "y".repeat(65_536),
        "é".repeat(300)
    );
    let conn = Connection::open(&db).unwrap();
    conn.execute("UPDATE runs SET name = ?1, host = ?1", [&stored])
        .unwrap();
    conn.execute("UPDATE experiments SET name = ?1", [&stored])
        .unwrap();
    drop(conn);
    let report = dir.path().join("report");
    for args in [
        vec!["list"],
        vec!["show", &id],
        vec!["report", "--out", report.to_str().unwrap()],
    ] {
        let out = gan_lab(dir.path(), None, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        // `list` cuts long cells to stay a table; `show` prints it whole.
        let shown = match args[0] {
            "list" => format!("{}…", "y".repeat(gan_lab::util::table::MAX_CELL - 1)),
            _ => "y".repeat(65_536),
        };
        assert!(
            stdout(&out).contains(&shown) || args[0] == "report",
            "{args:?}"
        );
    }
}

/// Ctrl-C while the evaluator trains (minutes on first use) stops it within
/// a batch: exit 130, nothing cached. Before, the signal waited for the end.
#[test]
fn ctrl_c_stops_evaluator_training() {
    let data = gan_lab::data::locate(None).expect(
        "this test needs Fashion-MNIST: set GAN_LAB_DATA to the folder with its four files",
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let mut child = spawn(
        &dir.path().join("runs/db.sqlite"),
        &data,
        &["--cache-dir", cache.to_str().unwrap(), "evaluator", "train"],
    );
    // Loading 60,000 images takes a second or two; training takes minutes.
    std::thread::sleep(Duration::from_secs(4));
    signal(&child, libc::SIGINT);
    let (status, _, err) = wait_within(&mut child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("stopped while training the evaluator"),
        "{err}"
    );
    let cached: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| p.ends_with("info.json"))
        .collect();
    assert!(cached.is_empty(), "{cached:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}
