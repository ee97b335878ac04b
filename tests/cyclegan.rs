//! The CycleGAN variant end to end on generated two-domain data: training
//! with its scores, `translate` of an IDX file, a PNG and a folder, its
//! refusals (a PNG of the wrong size, `sample` on a translating run), and a
//! resumed run continuing exactly as an uninterrupted one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use gan_lab::commands::run;
use gan_lab::context::Context;
use gan_lab::device::DeviceChoice;
use gan_lab::store::tracker::Tracker;
use gan_lab::train::events::EventKind;

use crate::common::process::{gan_lab_cached, stderr, stdout};
use crate::common::*;

/// A tiny CycleGAN between the generated classes 1 and 2.
fn cyclegan_spec(dir: &Path, name: &str, steps: u64) -> PathBuf {
    let path = dir.join(format!("{name}.ron"));
    let text = format!(
        "(name: \"{name}\", variant: CycleGan(domain_a: [1], domain_b: [2], \
         generator: Resnet(blocks: 1), ngf: 4, ndf: 4, pool_size: 3, lr_decay_from: Some(0.5)),\n \
         train: (steps: {steps}, batch_size: 4, seed: 3), samples: (every: 2), checkpoint: (every: 2))\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn context(dir: &Path, data: &Path, stop: bool) -> Context {
    Context {
        db: dir.join("runs/db.sqlite"),
        data_dir: Some(data.to_path_buf()),
        cache: dir.join("cache"),
        evaluator: None,
        device: DeviceChoice::Flex,
        progress: false,
        stop: Arc::new(AtomicBool::new(stop)),
    }
}

#[test]
fn a_cyclegan_trains_is_scored_and_translates() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 400);
    let cache = dir.path().join("cache");
    let gan = |args: &[&str]| gan_lab_cached(dir.path(), &data, &cache, args);
    let spec = cyclegan_spec(dir.path(), "cycle", 2);
    let out = gan(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "eval.every=2",
        "--set",
        "eval.samples=100",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let tracker = Tracker::open(&dir.path().join("runs/db.sqlite")).unwrap();
    let record = tracker.run("cycle").unwrap();
    assert_eq!(record.variant, "cyclegan");
    for key in [
        "loss_d",
        "loss_g",
        "loss_cycle_a",
        "loss_idt_b",
        "lr",
        "acc_real_b",
        "translation_acc_a2b",
        "real_acc_b",
        "fid_b2a",
        "translation_fid",
        "cycle_l1_a",
        "cycle_acc_b",
    ] {
        let points = tracker.metric_series(&record.id, key).unwrap();
        assert!(
            !points.is_empty() && points.iter().all(|p| p.1.is_finite()),
            "{key}: {points:?}"
        );
    }
    // Half of the run at full rate, then linear decay: step 2 of 2 runs at half.
    let lr = tracker.metric_series(&record.id, "lr").unwrap();
    assert_eq!((lr[0].1, lr[1].1), (2e-4, 1e-4), "{lr:?}");

    // An IDX file in, an IDX file out, one translation per image.
    let input = data.join("t10k-images-idx3-ubyte");
    let idx_out = dir.path().join("boots.idx");
    let args = |input: &Path, out: &Path, direction: &'static str| {
        vec![
            "translate".to_string(),
            "cycle".into(),
            "--direction".into(),
            direction.into(),
            "--input".into(),
            input.to_str().unwrap().into(),
            "--out".into(),
            out.to_str().unwrap().into(),
        ]
    };
    let call = |a: Vec<String>| gan(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = call(args(&input, &idx_out, "a2b"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("translated 100 image(s)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(gan_lab::data::read_images(&idx_out).unwrap().count, 100);

    // One PNG in, a PNG out: the input row above the output row.
    let png_dir = dir.path().join("pngs");
    std::fs::create_dir_all(&png_dir).unwrap();
    let one = png_dir.join("one.png");
    gan_lab::data::write_png_gray(&one, 28, 28, &[90u8; 784]).unwrap();
    let png_out = dir.path().join("pair.png");
    let out = call(args(&one, &png_out, "b2a"));
    assert!(out.status.success(), "{}", stderr(&out));
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_out).unwrap(),
    ));
    let info = decoder.read_info().unwrap();
    let (w, h) = (info.info().width, info.info().height);
    assert!(h > 2 * 28 && w >= 28, "{w}x{h}");
    // A folder of PNGs.
    gan_lab::data::write_png_gray(&png_dir.join("two.png"), 28, 28, &[10u8; 784]).unwrap();
    let folder_out = dir.path().join("folder.idx");
    let out = call(args(&png_dir, &folder_out, "a2b"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(gan_lab::data::read_images(&folder_out).unwrap().count, 2);

    // A PNG of the wrong size names the size it needs.
    let small = dir.path().join("small.png");
    gan_lab::data::write_png_gray(&small, 20, 20, &[0u8; 400]).unwrap();
    let out = call(args(&small, &png_out, "a2b"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("28x28"), "{}", stderr(&out));

    // `sample` draws from noise, which a CycleGAN does not: it points to translate.
    let out = gan(&["sample", "cycle", "--out", png_out.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("translates images between two domains")
            && stderr(&out).contains("gan-lab translate"),
        "{}",
        stderr(&out)
    );

    // `translate` on a noise generator names what that run is for.
    let vanilla = tiny_spec(dir.path(), "plain", "Mlp", "NonSaturating", 1);
    assert!(gan(&["run", vanilla.to_str().unwrap()]).status.success());
    let mut on_plain = args(&one, &png_out, "a2b");
    on_plain[1] = "plain".into();
    let out = call(on_plain);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("gan-lab sample"), "{}", stderr(&out));
}

#[test]
fn a_resumed_cyclegan_continues_exactly() {
    let _turn = in_process_training();
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    // Four steps with pools of 3 images and batches of 4: the pools are full
    // and swapping by the time the run is interrupted.
    let spec = cyclegan_spec(dir.path(), "resume", 4);
    let whole = run::run(&context(dir.path(), &data, false), &spec, &[], None).unwrap();
    assert_eq!(outcome(&whole), (4, EventKind::Finished));
    let stopped = run::run(&context(dir.path(), &data, true), &spec, &[], None).unwrap();
    assert_eq!(outcome(&stopped), (1, EventKind::Interrupted));
    for file in ["pool_a.f32", "pool_b.f32", "generators.bpk"] {
        assert!(
            stopped
                .run_dir
                .join("checkpoints/last")
                .join(file)
                .is_file(),
            "{file}"
        );
    }
    let resumed = run::resume(&context(dir.path(), &data, false), &stopped.run_id).unwrap();
    assert_eq!(outcome(&resumed), (4, EventKind::Finished));

    let tracker = Tracker::open(&dir.path().join("runs/db.sqlite")).unwrap();
    for key in ["loss_d", "loss_g", "loss_d_a", "loss_cycle_b", "loss_idt_a"] {
        let series = |run: &str| -> Vec<(u64, f64)> {
            let points = tracker.metric_series(run, key).unwrap();
            points
                .into_iter()
                .map(|(step, value, _)| (step, value))
                .collect()
        };
        let a = series(&whole.run_id);
        assert_eq!(a.len(), 4, "{key}");
        assert_eq!(a, series(&stopped.run_id), "{key} after resume");
    }
}

#[test]
fn translate_uses_the_checkpoint_of_a_kept_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = fake_data(dir.path(), 200);
    let cache = dir.path().join("cache");
    let gan = |args: &[&str]| gan_lab_cached(dir.path(), &data, &cache, args);
    let spec = cyclegan_spec(dir.path(), "kept", 4);
    let out = gan(&[
        "run",
        spec.to_str().unwrap(),
        "--set",
        "checkpoint.keep_every=Some(2)",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let input = data.join("t10k-images-idx3-ubyte");
    let translate = |checkpoint: &str, out: &Path| {
        gan(&[
            "translate",
            "kept",
            "--direction",
            "a2b",
            "--input",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--checkpoint",
            checkpoint,
        ])
    };
    let (at_2, at_4) = (dir.path().join("at2.idx"), dir.path().join("at4.idx"));
    let out = translate("2", &at_2);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("checkpoint at step 2"),
        "{}",
        stdout(&out)
    );
    let out = translate("4", &at_4);
    assert!(
        stdout(&out).contains("checkpoint at step 4"),
        "{}",
        stdout(&out)
    );
    // Two training steps apart, the generators translate differently.
    let (a, b) = (
        gan_lab::data::read_images(&at_2).unwrap(),
        gan_lab::data::read_images(&at_4).unwrap(),
    );
    assert_eq!(a.count, b.count);
    assert_ne!(a.pixels, b.pixels);

    // A step that was not kept lists the ones that were.
    let out = translate("3", &at_2);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no checkpoint of step 3")
            && stderr(&out).contains("it has checkpoints of steps 2, 4 (last)")
            && stderr(&out).contains("keep_every"),
        "{}",
        stderr(&out)
    );
    let out = translate("soon", &at_2);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a step such as 1000"),
        "{}",
        stderr(&out)
    );
}
