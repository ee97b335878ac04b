//! Sweeps end to end on generated data: parallel child processes writing to
//! one database lose no point, a rerun does nothing, a sweep killed halfway
//! is finished by the next invocation, failed runs wait for --retry-failed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gan_lab::store::tracker::{RunFilter, RunRecord, RunStatus, Tracker};
use predicates::prelude::*;
use predicates::str::contains;

use crate::common::*;

const STEPS: u64 = 200;
/// What every training step records (vanilla variant, with img_per_s).
/// The DCGAN (rather than the MLP) makes each run take seconds, so that the
/// test can catch one mid-way.
const STEP_KEYS: [&str; 4] = ["loss_d", "loss_g", "d_real", "img_per_s"];

fn sweep_files(dir: &Path) -> PathBuf {
    let base = dir.join("base.ron");
    std::fs::write(
        &base,
        format!(
            "(name: \"base\", variant: Vanilla(arch: Dcgan, loss: NonSaturating),\n \
             train: (steps: {STEPS}, batch_size: 8),\n \
             samples: (every: 20), checkpoint: (every: 20),\n \
             eval: (every: 100, samples: 100, metrics: [Fid]))\n"
        ),
    )
    .unwrap();
    let sweep = dir.join("sweep.ron");
    std::fs::write(
        &sweep,
        "(name: \"lr\", base: \"base.ron\",\n \
         grid: {\"train.lr_d\": [1e-4, 1e-3]},\n \
         seeds: [1, 2],\n \
         score: \"fid\")\n",
    )
    .unwrap();
    sweep
}

fn sweep_runs(db: &Path) -> Vec<RunRecord> {
    let tracker = Tracker::open(db).unwrap();
    tracker
        .list_runs(&RunFilter {
            sweep_id: Some("lr".into()),
            ..Default::default()
        })
        .unwrap()
}

/// Every step's scalars are recorded exactly once, for steps 1..=STEPS.
fn assert_every_point(db: &Path, run: &RunRecord) {
    let tracker = Tracker::open(db).unwrap();
    for key in STEP_KEYS {
        let steps: Vec<u64> = tracker
            .metric_series(&run.id, key)
            .unwrap()
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (1..=STEPS).collect::<Vec<_>>(), "{} {key}", run.name);
    }
    let fid: Vec<u64> = tracker
        .metric_series(&run.id, "fid")
        .unwrap()
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(fid, vec![100, 200], "{}", run.name);
}

#[test]
fn a_sweep_runs_in_parallel_skips_what_is_done_and_finishes_after_a_kill() {
    let lab = Lab::with_fake_data(400);
    let sweep = sweep_files(lab.path());
    let db = lab.db();
    let sweep_arg = sweep.to_str().unwrap();

    // A plan first: four runs, nothing recorded.
    let text = lab.ok(&["sweep", sweep_arg, "--dry-run"]);
    assert!(
        text.contains("4 runs (2 configurations x 2 seeds)"),
        "{text}"
    );
    assert!(text.contains("4 to train"), "{text}");
    assert!(sweep_runs(&db).is_empty());

    // Start it with three processes at once, and kill everything once a run
    // is under way: the sweep and its children die without a word.
    let mut parent = lab
        .process(&["sweep", sweep_arg, "--jobs", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    let killed: Vec<RunRecord> = loop {
        assert!(Instant::now() < deadline, "no run got under way");
        let started: Vec<RunRecord> = if db.exists() {
            sweep_runs(&db)
                .into_iter()
                .filter(|r| r.status == RunStatus::Running && r.steps_done >= 20)
                .collect()
        } else {
            Vec::new()
        };
        if !started.is_empty() {
            break started;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    parent.kill().unwrap();
    parent.wait().unwrap();
    let tracker = Tracker::open(&db).unwrap();
    for run in sweep_runs(&db) {
        let pid = tracker
            .tags(&run.id)
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == "pid")
            .map(|(_, v)| v.parse::<i32>().unwrap())
            .unwrap();
        // SAFETY: kills a child process of the sweep we started.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let after_kill = sweep_runs(&db);
    assert!(after_kill.iter().any(|r| r.status == RunStatus::Running));

    // The next invocation resumes the dead runs and trains the rest.
    let text = lab.ok(&["sweep", sweep_arg, "--jobs", "3"]);
    assert!(text.contains("to resume"), "{text}");
    assert!(text.contains("best configuration: train.lr_d="), "{text}");
    let runs = sweep_runs(&db);
    assert_eq!(runs.len(), 4, "resumed runs keep their records");
    for run in &killed {
        let now = runs.iter().find(|r| r.id == run.id).expect("same run id");
        assert_eq!(now.status, RunStatus::Finished);
    }
    for run in &runs {
        assert_eq!(run.status, RunStatus::Finished, "{}", run.name);
        assert_every_point(&db, run);
    }
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    seeds.sort();
    assert_eq!(seeds, vec![1, 1, 2, 2]);

    // Once more: nothing to do, nothing changes.
    lab.cmd(&["sweep", sweep_arg])
        .assert()
        .success()
        .stdout(contains("4 done").and(contains("training").not()));
    assert_eq!(sweep_runs(&db), runs);

    // A failed run waits for --retry-failed, which starts it afresh.
    let failed = &runs[0];
    tracker
        .set_status(&failed.id, RunStatus::Failed, Some("test"))
        .unwrap();
    lab.cmd(&["sweep", sweep_arg])
        .assert()
        .code(1)
        .stdout(contains("1 failed"));
    assert_eq!(sweep_runs(&db).len(), 4);
    lab.ok(&["sweep", sweep_arg, "--retry-failed"]);
    let runs = sweep_runs(&db);
    assert_eq!(runs.len(), 5);
    let retried = runs
        .iter()
        .find(|r| r.spec_hash == failed.spec_hash && r.id != failed.id)
        .expect("a new run of the failed configuration");
    assert_eq!(retried.status, RunStatus::Finished);
    assert_every_point(&db, retried);
}

#[test]
fn sweep_errors_name_the_place() {
    let lab = Lab::without_data();
    sweep_files(lab.path());
    let bad = lab.path().join("bad.ron");
    std::fs::write(
        &bad,
        "(name: \"lr\", base: \"base.ron\",\n grid: {\"train.lr_dd\": [1e-4]},\n score: \"fid\")\n",
    )
    .unwrap();
    lab.cmd(&["sweep", bad.to_str().unwrap(), "--dry-run"])
        .assert()
        .code(2)
        .stderr(
            contains("bad.ron:2:9: grid \"train.lr_dd\"").and(contains("has no field `lr_dd`")),
        );

    // A sweep file is not an experiment.
    lab.cmd(&["run", bad.to_str().unwrap(), "--sweep", "nope"])
        .assert()
        .code(2);
}
