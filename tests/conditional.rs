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

    // Interpolation: 3 rows of 5 steps within one class, as IDX and as a labelled grid.
    let walk = dir.path().join("walk.idx");
    let out = run(&[
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
    assert!(out.status.success(), "{}", stderr(&out));
    let images = gan_lab::data::read_images(&walk).unwrap();
    assert_eq!(images.count, 15);
    let image = |i: usize| &images.pixels[i * 784..(i + 1) * 784];
    assert_ne!(image(0), image(4), "a walk moves");
    assert_ne!(image(0), image(5), "rows start apart");
    let grid = dir.path().join("walk.png");
    let out = run(&[
        "sample",
        "Projection",
        "--interpolate",
        "4",
        "--out",
        grid.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("10 interpolations of 4 steps"),
        "{}",
        stdout(&out)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&grid).unwrap()));
    let info = decoder.read_info().unwrap().info().clone();
    // One row per class (a labelled grid has a margin for the row numbers).
    assert_eq!((info.width, info.height), (10 + 4 * 30 + 2, 10 * 30 + 2));
    let out = run(&[
        "sample",
        "Projection",
        "--interpolate",
        "1",
        "--out",
        "x.png",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

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
