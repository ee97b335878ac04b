//! The conditional variant end to end on generated data: every conditioning
//! method trains, scores come with the conditional metrics, and sampling a
//! class works by name (and fails clearly for a bad name or an unconditional run).

use predicates::prelude::*;
use predicates::str::contains;

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
    let lab = Lab::with_fake_data(400);
    for conditioning in ["Concat", "Projection", "AuxClassifier"] {
        let spec = cgan_spec(lab.path(), conditioning, conditioning);
        lab.ok(&[
            "run",
            spec.to_str().unwrap(),
            "--set",
            "eval.every=2",
            "--set",
            "eval.samples=200",
        ]);
    }
    let tracker = lab.tracker();
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

    let out_file = lab.path().join("sneakers.idx");
    lab.ok(&[
        "sample",
        "Projection",
        "--class",
        "Sneaker",
        "--n",
        "12",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(gan_lab::data::read_images(&out_file).unwrap().count, 12);

    // Interpolation: 3 rows of 5 steps within one class, as IDX and as a labelled grid.
    let walk = lab.path().join("walk.idx");
    lab.ok(&[
        "sample",
        "Projection",
        "--class",
        "sneaker",
        "--interpolate",
        "5",
        "--n",
        "3",
        "--out",
        walk.to_str().unwrap(),
    ]);
    let images = gan_lab::data::read_images(&walk).unwrap();
    assert_eq!(images.count, 15);
    let image = |i: usize| &images.pixels[i * 784..(i + 1) * 784];
    assert_ne!(image(0), image(4), "a walk moves");
    assert_ne!(image(0), image(5), "rows start apart");
    let grid = lab.path().join("walk.png");
    lab.cmd(&[
        "sample",
        "Projection",
        "--interpolate",
        "4",
        "--out",
        grid.to_str().unwrap(),
    ])
    .assert()
    .success()
    .stdout(contains("10 interpolations of 4 steps"));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&grid).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    // One row per class (a labelled grid has a margin for the row numbers).
    assert_eq!((info.width, info.height), (10 + 4 * 30 + 2, 10 * 30 + 2));
    lab.cmd(&[
        "sample",
        "Projection",
        "--interpolate",
        "1",
        "--out",
        "x.png",
    ])
    .assert()
    .code(2);

    lab.cmd(&["sample", "Projection", "--class", "hat", "--out", "x.png"])
        .assert()
        .code(2)
        .stderr(contains("unknown class `hat`").and(contains("7 Sneaker")));

    let plain = tiny_spec(lab.path(), "plain", "Mlp", "NonSaturating", 2);
    lab.ok(&["run", plain.to_str().unwrap()]);
    lab.cmd(&["sample", "plain", "--class", "bag", "--out", "x.png"])
        .assert()
        .code(2)
        .stderr(contains("not class-conditional"));
}
