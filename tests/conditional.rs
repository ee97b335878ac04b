//! The conditional variant end to end on generated data: every conditioning
//! method trains, scores come with the conditional metrics, and sampling a
//! class works by name (and fails clearly for a bad name or an unconditional run).

use gan_lab::tracker::Tracker;

use crate::common::*;

fn cgan_spec(dir: &std::path::Path, name: &str, conditioning: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.ron"));
    let text = format!(
        "(name: \"{name}\", variant: Conditional(arch: Mlp, conditioning: {conditioning}),\n \
         train: (steps: 2, batch_size: 8, seed: 3), samples: (every: 2), checkpoint: (every: 2))\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn each_conditioning_trains_and_is_scored_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 400);
    let cache = dir.path().join("cache");
    let run = |args: &[&str]| gan_lab_cached(dir.path(), &data, &cache, args);
    for conditioning in ["Concat", "Projection", "AuxClassifier"] {
        let spec = cgan_spec(dir.path(), conditioning, conditioning);
        let out = run(&[
            "run",
            spec.to_str().unwrap(),
            "--set",
            "eval.every=2",
            "--set",
            "eval.samples=200",
        ]);
        assert!(out.status.success(), "{conditioning}: {}", stderr(&out));
    }
    let tracker = Tracker::open(&dir.path().join("runs/db.sqlite")).unwrap();
    let record = tracker.run("AuxClassifier").unwrap();
    assert_eq!(record.variant, "conditional");
    for key in [
        "cond_acc",
        "class_acc_0",
        "class_acc_9",
        "fid",
        "intra_fid_mean",
        "class_loss_d",
    ] {
        let points = tracker.metric_series(&record.id, key).unwrap();
        assert!(
            !points.is_empty() && points.iter().all(|p| p.1.is_finite()),
            "{key}: {points:?}"
        );
    }
    let acc = tracker.metric_series(&record.id, "cond_acc").unwrap()[0].1;
    assert!((0.0..=1.0).contains(&acc), "{acc}");

    let out_file = dir.path().join("sneakers.idx");
    let out = run(&[
        "sample",
        "Projection",
        "--class",
        "Sneaker",
        "--n",
        "12",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(gan_lab::data::read_images(&out_file).unwrap().count, 12);

    let out = run(&["sample", "Projection", "--class", "hat", "--out", "x.png"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown class `hat`") && stderr(&out).contains("7 Sneaker"),
        "{}",
        stderr(&out)
    );

    let plain = tiny_spec(dir.path(), "plain", "Mlp", "NonSaturating", 2);
    assert!(run(&["run", plain.to_str().unwrap()]).status.success());
    let out = run(&["sample", "plain", "--class", "bag", "--out", "x.png"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not class-conditional"),
        "{}",
        stderr(&out)
    );
}
