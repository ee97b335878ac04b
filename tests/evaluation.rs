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

/// The official Fashion-MNIST files are scored at once by the evaluator
/// built into gan-lab: nothing is trained, and its weights give the test
/// accuracy recorded with them.
#[test]
fn the_built_in_evaluator_scores_the_official_files_at_once() {
    use gan_lab::eval::evaluator::{Evaluator, PINNED_SHA256, pinned_info};

    let lab = Lab::with_real_data();
    let text = lab.ok(&["evaluator", "info"]);
    assert!(
        text.contains("evaluator v1-a4e624cb3496ca05\n")
            && text.contains("in use         built in (pinned)")
            && text.contains(PINNED_SHA256)
            && text.contains("test accuracy  92.16%"),
        "{text}"
    );
    // Only the reference features were cached, beside no trained evaluator.
    let cached: Vec<String> = std::fs::read_dir(lab.cache().join("evaluator"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached, [format!("pinned-v1-{}", &PINNED_SHA256[..16])]);

    let device = burn::prelude::Device::flex();
    let pinned = Evaluator::pinned(&lab.cache(), &device).unwrap();
    let test = gan_lab::data::load_split(lab.data(), gan_lab::data::Split::Test).unwrap();
    assert_eq!(pinned.accuracy(&test), pinned_info().test_accuracy);

    let nowhere = lab.path().join("nowhere");
    lab.cmd(&[
        "--evaluator",
        nowhere.to_str().unwrap(),
        "evaluator",
        "info",
    ])
    .assert()
    .code(2)
    .stderr(contains("no evaluator in").and(contains("--out DIR")));
}

/// `evaluator train --out DIR` writes an evaluator that scores only when
/// chosen with `--evaluator DIR`, and only the data it was trained on.
#[test]
fn a_retrained_evaluator_scores_when_chosen() {
    let lab = Lab::with_fake_data(200);
    let retrained = lab.path().join("retrained");
    let text = lab.ok(&["evaluator", "train", "--out", retrained.to_str().unwrap()]);
    assert!(
        text.contains(&format!("written to {}", retrained.display()))
            && text.contains(&format!("pass --evaluator {}", retrained.display())),
        "{text}"
    );
    assert!(retrained.join("model.bpk").is_file());
    let chosen = ["--evaluator", retrained.to_str().unwrap()];
    let info = lab.ok(&[&chosen[..], &["evaluator", "info"]].concat());
    assert!(
        info.contains(&format!(
            "in use         trained locally, {}",
            retrained.display()
        )) && info.contains("-local-"),
        "{info}"
    );
    assert!(
        !lab.cache().join("evaluator").exists(),
        "the chosen evaluator was used, none was trained"
    );

    // Another data set: the evaluator is refused for it.
    let other = Lab::with_fake_data(120);
    other
        .cmd(&[&chosen[..], &["evaluator", "info"]].concat())
        .assert()
        .code(2)
        .stderr(contains("was trained on other data"));

    // A folder with other files in it is not overwritten.
    let busy = lab.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    lab.cmd(&["evaluator", "train", "--out", busy.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains("already holds other files"));
    assert_eq!(
        std::fs::read_to_string(busy.join("notes.txt")).unwrap(),
        "mine"
    );
    // --verify compares with the built-in evaluator, which is for other data.
    lab.cmd(&["evaluator", "train", "--verify"])
        .assert()
        .code(2)
        .stderr(contains("leave out --verify"));
}
