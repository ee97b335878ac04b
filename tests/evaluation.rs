//! Evaluation end to end on generated data: the evaluator trains and caches,
//! scores are recorded during training with a best checkpoint, and stored
//! runs and image files are scored on demand.

use predicates::prelude::*;
use predicates::str::contains;

use crate::common::*;

#[test]
fn scores_during_training_sampling_and_eval_commands() {
    let lab = Lab::with_fake_data(400);
    let spec = tiny_spec(lab.path(), "scored", "Mlp", "NonSaturating", 4);
    let cache = lab.cache();
    lab.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "eval.every=2",
        "--set",
        "eval.samples=100",
    ]);

    let tracker = lab.tracker();
    let record = tracker.run("scored").unwrap();
    for key in [
        "fid",
        "kid",
        "kid_std",
        "is",
        "is_std",
        "coverage_kl",
        "classes_covered",
        "precision",
        "recall",
    ] {
        let points = tracker.metric_series(&record.id, key).unwrap();
        assert_eq!(
            points.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![2, 4],
            "{key}"
        );
        assert!(points.iter().all(|p| p.1.is_finite()), "{key}: {points:?}");
    }
    let fid = tracker.metric_series(&record.id, "fid").unwrap();
    assert!(fid.iter().all(|p| p.1 >= 0.0));
    let tags = tracker.tags(&record.id).unwrap();
    let evaluator = tags
        .iter()
        .find(|t| t.0 == "evaluator")
        .expect("evaluator id recorded")
        .1
        .clone();
    assert!(evaluator.starts_with("v1-"), "{evaluator}");
    let run_dir = lab.path().join("runs").join(&record.run_dir);
    assert!(run_dir.join("checkpoints/best/generator.bpk").is_file());
    let best: Vec<_> = tracker
        .artifacts(&record.id)
        .unwrap()
        .into_iter()
        .filter(|a| a.path == "checkpoints/best")
        .collect();
    assert_eq!(best.len(), 1);
    // The cached evaluator is reused, not retrained.
    let cached = std::fs::read_dir(cache.join("evaluator")).unwrap().count();
    assert_eq!(cached, 1);

    let samples = lab.path().join("samples.idx");
    lab.ok(&[
        "sample",
        "scored",
        "--n",
        "150",
        "--out",
        samples.to_str().unwrap(),
    ]);
    let images = gan_lab::data::read_images(&samples).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (150, 28, 28));
    let grid = lab.path().join("grid.png");
    lab.ok(&[
        "sample",
        "scored",
        "--n",
        "10",
        "--checkpoint",
        "best",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert!(std::fs::metadata(&grid).unwrap().len() > 100);

    // The reference features are cached beside the evaluator (100 test
    // images x 128 features), and scores are the same with or without it.
    let evaluator_dir = std::fs::read_dir(cache.join("evaluator"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let reference: Vec<_> = std::fs::read_dir(&evaluator_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "f32"))
        .collect();
    assert_eq!(reference.len(), 1, "{reference:?}");
    assert_eq!(
        std::fs::metadata(&reference[0]).unwrap().len(),
        100 * 128 * 4
    );
    let cached = lab.ok(&["eval", "--images", samples.to_str().unwrap()]);
    std::fs::remove_file(&reference[0]).unwrap();
    let text = lab.ok(&["eval", "--images", samples.to_str().unwrap()]);
    assert_eq!(cached, text);
    assert!(reference[0].is_file(), "written again");
    assert!(
        text.contains("150 images") && text.contains(&evaluator) && text.contains("fid"),
        "{text}"
    );

    lab.cmd(&["eval", "scored", "--samples", "100"])
        .assert()
        .success()
        .stdout(contains("precision"));
    assert_eq!(
        tracker.metric_series(&record.id, "eval/fid").unwrap().len(),
        1
    );

    lab.cmd(&["evaluator", "info"]).assert().success().stdout(
        contains("test accuracy")
            .and(contains("uniform noise"))
            .and(contains(cache.to_str().unwrap())),
    );
}

#[test]
fn eval_input_errors() {
    let lab = Lab::with_fake_data(40);
    let spec = tiny_spec(lab.path(), "plain", "Mlp", "Hinge", 2);
    lab.ok(&["run", spec.to_str().unwrap()]);
    lab.cmd(&["sample", "plain", "--checkpoint", "best", "--out", "x.png"])
        .assert()
        .code(2)
        .stderr(contains("use --checkpoint last"));
    lab.cmd(&["eval", "plain", "--samples", "5"])
        .assert()
        .code(2);
    lab.cmd(&["check", spec.to_str().unwrap(), "--set", "eval.every=9"])
        .assert()
        .code(2)
        .stderr(contains("eval.every is 9 but the run has 2 steps"));
}
