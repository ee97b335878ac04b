//! Files written by an earlier gan-lab keep working: a database and the
//! checkpoints of two interrupted runs (a CycleGAN and a StackGAN, tiny),
//! written by main at 002063e (before the issue-23 reorganisation) into
//! `tests/fixtures/main-002063e/` from the specs beside them (see its README),
//! are listed, resumed to the end and reported.

use std::path::Path;

use gan_lab::store::tracker::RunStatus;
use predicates::str::contains;

use crate::common::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn runs_written_by_an_earlier_version_resume_and_report() {
    let lab = Lab::with_real_data();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/main-002063e/runs");
    copy_dir(&fixture, &lab.path().join("runs"));

    let list = lab.ok(&["list"]);
    for name in ["cyclegan-old", "stackgan-old"] {
        let run = lab.tracker().run(name).unwrap();
        assert_eq!(
            (run.status, run.steps_done, run.total_steps),
            (RunStatus::Interrupted, 101, 240),
            "{name}"
        );
        assert!(list.contains(name), "{list}");
    }
    for name in ["cyclegan-old", "stackgan-old"] {
        lab.ok(&["resume", name]);
        let run = lab.tracker().run(name).unwrap();
        assert_eq!(
            (run.status, run.steps_done),
            (RunStatus::Finished, 240),
            "{name}"
        );
        let steps: Vec<u64> = lab
            .tracker()
            .metric_series(&run.id, "loss_g")
            .unwrap()
            .into_iter()
            .map(|(step, _, _)| step)
            .collect();
        assert_eq!(
            steps,
            (1..=240).collect::<Vec<_>>(),
            "{name}: one point per step"
        );
    }
    lab.cmd(&[
        "sample",
        "stackgan-old",
        "--caption",
        "a sneaker",
        "--n",
        "4",
        "--out",
        "s.png",
    ])
    .assert()
    .success();
    assert!(lab.path().join("s.png").is_file());
    lab.cmd(&["report", "--out", "report"])
        .assert()
        .success()
        .stdout(contains("report"));
    let html = std::fs::read_to_string(lab.path().join("report/index.html")).unwrap();
    for name in ["cyclegan-old", "stackgan-old"] {
        assert!(html.contains(name), "the report shows {name}");
    }
}
