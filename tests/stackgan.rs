//! The StackGAN variant end to end on generated data: a few training steps
//! with its caption scores, `sample --caption` as a PNG and an IDX3 file,
//! its refusals (an unknown word listing the known ones, `--caption` with
//! `--class`, `--caption` on a noise generator), and a resumed run that
//! crosses the Stage-I → Stage-II switch exactly as an uninterrupted one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use predicates::prelude::*;
use predicates::str::contains;

use gan_lab::commands::run;
use gan_lab::context::Context;
use gan_lab::device::DeviceChoice;
use gan_lab::store::tracker::Tracker;
use gan_lab::train::events::EventKind;

use crate::common::*;

/// A tiny StackGAN; `stage1_steps` as written in RON.
fn stackgan_spec(dir: &Path, name: &str, steps: u64, stage1_steps: &str) -> PathBuf {
    let path = dir.join(format!("{name}.ron"));
    let text = format!(
        "(name: \"{name}\", variant: StackGan(latent_dim: 8, embed_dim: 8, cond_dim: 4, \
         ngf: 8, ndf: 4, res_blocks: 1, stage1_steps: {stage1_steps}),\n \
         train: (steps: {steps}, batch_size: 8, seed: 3), samples: (every: 2), checkpoint: (every: 2))\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_stackgan_trains_is_scored_and_samples_from_captions() {
    let lab = Lab::with_fake_data(400);
    let spec = stackgan_spec(lab.path(), "words", 2, "None");
    lab.ok(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "eval.every=2",
        "--set",
        "eval.samples=100",
    ]);
    let tracker = lab.tracker();
    let record = tracker.run("words").unwrap();
    assert_eq!(record.variant, "stackgan");
    for key in [
        "loss_d",
        "loss_g",
        "loss_d_stage1",
        "loss_g_stage2",
        "kl",
        "d_wrong",
        "caption_class_acc",
        "attr_acc_tone",
        "attr_acc_size",
        "attr_acc_texture",
        "fid",
        "fid_stage1",
        "cond_acc",
        "class_acc_9",
    ] {
        let points = tracker.metric_series(&record.id, key).unwrap();
        assert!(
            !points.is_empty() && points.iter().all(|p| p.1.is_finite()),
            "{key}: {points:?}"
        );
    }
    let chance = |key: &str| tracker.metric_series(&record.id, key).unwrap()[0].1;
    assert!((chance("attr_chance_tone") - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(chance("attr_chance_texture"), 0.5);

    // A PNG: the Stage-I row above the Stage-II row; an IDX3 file of Stage-II images.
    let png = lab.path().join("dress.png");
    let said = lab.ok(&[
        "sample",
        "words",
        "--caption",
        "a dark patterned dress",
        "--n",
        "5",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(
        said.contains("wrote 5 samples of \"a dark patterned dress\""),
        "{said}"
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let info = decoder.read_info().unwrap();
    let (w, h) = (info.info().width, info.info().height);
    assert!(w >= 5 * 28 && (2 * 28..3 * 28).contains(&h), "{w}x{h}");
    let idx = lab.path().join("boots.idx");
    lab.ok(&[
        "sample",
        "words",
        "--caption",
        "a Wide Ankle Boot",
        "--n",
        "3",
        "--out",
        idx.to_str().unwrap(),
    ]);
    assert_eq!(gan_lab::data::read_images(&idx).unwrap().count, 3);

    // A word outside the vocabulary lists the known words.
    lab.cmd(&[
        "sample",
        "words",
        "--caption",
        "a sparkly dress",
        "--out",
        png.to_str().unwrap(),
    ])
    .assert()
    .code(2)
    .stderr(
        contains("unknown word `sparkly`")
            .and(contains("sneaker"))
            .and(contains("patterned")),
    );
    lab.cmd(&[
        "sample",
        "words",
        "--caption",
        "a dress",
        "--class",
        "dress",
        "--out",
        png.to_str().unwrap(),
    ])
    .assert()
    .code(2)
    .stderr(contains("cannot be used with"));

    // Captions need a text-conditioned run; sampling a StackGAN from noise points to --caption.
    let plain = tiny_spec(lab.path(), "plain", "Mlp", "NonSaturating", 1);
    lab.ok(&["run", plain.to_str().unwrap()]);
    lab.cmd(&[
        "sample",
        "plain",
        "--caption",
        "a dress",
        "--out",
        png.to_str().unwrap(),
    ])
    .assert()
    .code(2)
    .stderr(contains("text-conditioned"));
    lab.cmd(&["sample", "words", "--out", png.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains("--caption"));
}

fn context(dir: &Path, data: &Path, stop: bool) -> Context {
    Context {
        db: dir.join("runs/db.sqlite"),
        data_dir: Some(data.to_path_buf()),
        cache: dir.join("cache"),
        device: DeviceChoice::Flex,
        evaluator: None,
        progress: false,
        stop: Arc::new(AtomicBool::new(stop)),
    }
}

#[test]
fn a_resumed_stackgan_continues_exactly() {
    let _turn = in_process_training();
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    // Stage-I for two steps, then Stage-II: the interruption after step 1
    // falls before the switch.
    let spec = stackgan_spec(dir.path(), "resume", 4, "Some(2)");
    let whole = run::run(&context(dir.path(), &data, false), &spec, &[], None).unwrap();
    assert_eq!(outcome(&whole), (4, EventKind::Finished));
    let stopped = run::run(&context(dir.path(), &data, true), &spec, &[], None).unwrap();
    assert_eq!(outcome(&stopped), (1, EventKind::Interrupted));
    let saved = stopped.run_dir.join("checkpoints/last/captions.txt");
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains("cuts 9 texture")
    );
    let resumed = run::resume(&context(dir.path(), &data, false), &stopped.run_id).unwrap();
    assert_eq!(outcome(&resumed), (4, EventKind::Finished));

    let tracker = Tracker::open(&dir.path().join("runs/db.sqlite")).unwrap();
    let series = |run: &str, key: &str| -> Vec<(u64, f64)> {
        let points = tracker.metric_series(run, key).unwrap();
        points
            .into_iter()
            .map(|(step, value, _)| (step, value))
            .collect()
    };
    for (key, steps) in [
        ("loss_d", 4),
        ("loss_g", 4),
        ("kl", 4),
        ("loss_d_stage1", 2),
        ("loss_g_stage2", 2),
        ("d_wrong", 4),
    ] {
        let a = series(&whole.run_id, key);
        assert_eq!(a.len(), steps, "{key}: {a:?}");
        assert_eq!(a, series(&stopped.run_id, key), "{key} after resume");
    }
    // The final grids (drawn from the restored thresholds, vocabulary and
    // batch statistics) are the same too.
    let grid = |dir: &Path| std::fs::read(dir.join("samples/step-000004.png")).unwrap();
    assert_eq!(grid(&whole.run_dir), grid(&stopped.run_dir));
}
