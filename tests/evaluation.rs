//! Evaluation end to end on generated data: the evaluator trains and caches,
//! scores are recorded during training with a best checkpoint, and stored
//! runs and image files are scored on demand.

use crate::common::*;
use gan_lab::tracker::Tracker;

#[test]
fn scores_during_training_sampling_and_eval_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 400);
    let spec = tiny_spec(dir.path(), "scored", "Mlp", "NonSaturating", 4);
    let cache = dir.path().join("cache");
    let cache_arg = cache.to_str().unwrap();
    let run = |args: &[&str]| gan_lab_cached(dir.path(), &data, &cache, args);
    let out = run(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "eval.every=2",
        "--set",
        "eval.samples=100",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let tracker = Tracker::open(&dir.path().join("runs/db.sqlite")).unwrap();
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
    let run_dir = dir.path().join("runs").join(&record.run_dir);
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

    let samples = dir.path().join("samples.idx");
    let out = run(&[
        "sample",
        "scored",
        "--n",
        "150",
        "--out",
        samples.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let images = gan_lab::data::read_images(&samples).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (150, 28, 28));
    let grid = dir.path().join("grid.png");
    let out = run(&[
        "sample",
        "scored",
        "--n",
        "10",
        "--checkpoint",
        "best",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
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
    let cached = run(&["eval", "--images", samples.to_str().unwrap()]);
    std::fs::remove_file(&reference[0]).unwrap();
    let out = run(&["eval", "--images", samples.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&cached), stdout(&out));
    assert!(reference[0].is_file(), "written again");
    let text = stdout(&out);
    assert!(
        text.contains("150 images") && text.contains(&evaluator) && text.contains("fid"),
        "{text}"
    );

    let out = run(&["eval", "scored", "--samples", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("precision"), "{}", stdout(&out));
    assert_eq!(
        tracker.metric_series(&record.id, "eval/fid").unwrap().len(),
        1
    );

    let out = run(&["evaluator", "info"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = stdout(&out);
    assert!(
        info.contains("test accuracy")
            && info.contains("uniform noise")
            && info.contains(cache_arg),
        "{info}"
    );
}

#[test]
fn eval_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 40);
    let spec = tiny_spec(dir.path(), "plain", "Mlp", "Hinge", 2);
    assert!(
        gan_lab(dir.path(), Some(&data), &["run", spec.to_str().unwrap()])
            .status
            .success()
    );
    let out = gan_lab(
        dir.path(),
        Some(&data),
        &["sample", "plain", "--checkpoint", "best", "--out", "x.png"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("use --checkpoint last"),
        "{}",
        stderr(&out)
    );
    let out = gan_lab(
        dir.path(),
        Some(&data),
        &["eval", "plain", "--samples", "5"],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = gan_lab(
        dir.path(),
        Some(&data),
        &["check", spec.to_str().unwrap(), "--set", "eval.every=9"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("eval.every is 9 but the run has 2 steps"),
        "{}",
        stderr(&out)
    );
}
