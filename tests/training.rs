//! Training end to end: tiny runs on generated data through the binary and
//! the library, determinism, interrupt and resume, every loss, and a short
//! run on the real Fashion-MNIST.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use gan_lab::commands::run;
use gan_lab::context::Context;
use gan_lab::device::DeviceChoice;
use gan_lab::store::tracker::{RunStatus, Tracker};
use gan_lab::train::events::EventKind;
use predicates::prelude::*;
use predicates::str::contains;

use crate::common::*;

fn context(lab: &Lab, stop: bool) -> Context {
    Context {
        db: lab.db(),
        data_dir: Some(lab.data().to_path_buf()),
        cache: lab.cache(),
        evaluator: None,
        device: DeviceChoice::Flex,
        progress: false,
        stop: Arc::new(AtomicBool::new(stop)),
    }
}

fn series(tracker: &Tracker, run: &str, key: &str) -> Vec<(u64, f64)> {
    tracker
        .metric_series(run, key)
        .unwrap()
        .into_iter()
        .map(|(s, v, _)| (s, v))
        .collect()
}

#[test]
fn tiny_run_is_tracked_end_to_end() {
    let lab = Lab::with_fake_data(200);
    let spec = tiny_spec(lab.path(), "tiny", "Dcgan", "NonSaturating", 6);
    lab.ok(&["run", spec.to_str().unwrap(), "--set", "train.lr_d=1e-3"]);

    let tracker = lab.tracker();
    let run = tracker.run("tiny").unwrap();
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!((run.steps_done, run.total_steps), (6, 6));
    assert_eq!(run.variant, "vanilla");
    assert!(run.ended_at.is_some());
    assert!(
        run.spec_text.contains("lr_d: 0.001"),
        "stored spec is the final one: {}",
        run.spec_text
    );
    let params = tracker.params(&run.id).unwrap();
    assert!(
        params.contains(&("train.batch_size".to_string(), "8".to_string())),
        "{params:?}"
    );
    assert!(
        params.contains(&("variant.arch".to_string(), "Dcgan".to_string())),
        "{params:?}"
    );
    for key in [
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "acc_real",
        "acc_fake",
        "grad_norm_d",
        "grad_norm_g",
        "img_per_s",
    ] {
        let points = series(&tracker, &run.id, key);
        assert_eq!(
            points.iter().map(|p| p.0).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5, 6],
            "{key}"
        );
        assert!(points.iter().all(|p| p.1.is_finite()), "{key}: {points:?}");
    }
    let d_real = series(&tracker, &run.id, "d_real");
    assert!(
        d_real.iter().all(|p| (0.0..=1.0).contains(&p.1)),
        "D(x) is a probability: {d_real:?}"
    );

    let artifacts = tracker.artifacts(&run.id).unwrap();
    let paths: Vec<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
    assert!(
        paths.contains(&"samples/step-000003.png") && paths.contains(&"samples/step-000006.png"),
        "{paths:?}"
    );
    assert!(paths.contains(&"checkpoints/last"), "{paths:?}");
    let run_dir = lab.path().join("runs").join(&run.run_dir);
    assert!(run_dir.join("samples/step-000006.png").is_file());
    assert!(run_dir.join("checkpoints/last/generator.bpk").is_file());

    lab.cmd(&["list"]).assert().success().stdout(
        contains(run.id.as_str())
            .and(contains("finished"))
            .and(contains("6/6")),
    );
    lab.cmd(&["show", &run.id[..6]]).assert().success().stdout(
        contains("status: finished")
            .and(contains("loss_g"))
            .and(contains("train.batch_size = 8"))
            .and(contains("samples/step-000006.png"))
            .and(contains("spec hash")),
    );
}

#[test]
fn same_seed_same_losses_and_resume_continues_exactly() {
    let _turn = in_process_training();
    let lab = Lab::with_fake_data(120);
    let spec = tiny_spec(lab.path(), "det", "Mlp", "NonSaturating", 4);

    let a = run::run(&context(&lab, false), &spec, &[], None).unwrap();
    let b = run::run(&context(&lab, false), &spec, &[], None).unwrap();
    assert_eq!(outcome(&a), (4, EventKind::Finished));
    // Stop requested before the first step: the run stops after step 1 with a checkpoint.
    let c = run::run(&context(&lab, true), &spec, &[], None).unwrap();
    assert_eq!(outcome(&c), (1, EventKind::Interrupted));

    let tracker = lab.tracker();
    let interrupted = tracker.run(&c.run_id).unwrap();
    assert_eq!(interrupted.status, RunStatus::Interrupted);
    assert!(
        interrupted
            .status_reason
            .unwrap()
            .contains("gan-lab resume")
    );
    assert!(c.run_dir.join("checkpoints/last/state.json").is_file());

    let resumed = run::resume(&context(&lab, false), &c.run_id).unwrap();
    assert_eq!(outcome(&resumed), (4, EventKind::Finished));
    assert_eq!(tracker.run(&c.run_id).unwrap().status, RunStatus::Finished);

    let losses = |run: &str| {
        (
            series(&tracker, run, "loss_d"),
            series(&tracker, run, "loss_g"),
        )
    };
    assert_eq!(
        losses(&a.run_id),
        losses(&b.run_id),
        "same seed and spec give the same losses"
    );
    assert_eq!(
        losses(&a.run_id),
        losses(&c.run_id),
        "resume continues as if never stopped"
    );

    let again = run::resume(&context(&lab, false), &c.run_id).unwrap_err();
    assert!(again.to_string().contains("already finished"), "{again}");
    assert_eq!(again.exit_code(), 2);
}

#[test]
fn every_loss_and_architecture_trains() {
    let _turn = in_process_training();
    let lab = Lab::with_fake_data(80);
    for arch in ["Mlp", "Dcgan"] {
        for loss in [
            "Minimax",
            "NonSaturating",
            "LeastSquares",
            "WganGp",
            "Hinge",
        ] {
            let name = format!("{arch}-{loss}");
            let spec = tiny_spec(lab.path(), &name, arch, loss, 2);
            let overrides = vec![
                "variant.d_steps=2".to_string(),
                "variant.g_steps=2".to_string(),
            ];
            let report = run::run(&context(&lab, false), &spec, &overrides, None).unwrap();
            assert_eq!(outcome(&report), (2, EventKind::Finished), "{name}");
        }
    }
    let tracker = lab.tracker();
    let wgan = tracker.run("Dcgan-WganGp").unwrap();
    let penalty = series(&tracker, &wgan.id, "gradient_penalty");
    assert_eq!(penalty.len(), 2);
    assert!(
        penalty.iter().all(|p| p.1.is_finite() && p.1 >= 0.0),
        "{penalty:?}"
    );
}

/// A short run of the shipped spec on the real data (from GAN_LAB_DATA, or
/// downloaded into the cache where the machine is online).
#[test]
fn short_run_on_real_fashion_mnist() {
    let lab = Lab::with_real_data();
    let spec = format!("{}/experiments/vanilla.ron", env!("CARGO_MANIFEST_DIR"));
    lab.ok(&[
        "run",
        &spec,
        "--set",
        "train.steps=40",
        "--set",
        "samples.every=20",
        "--set",
        "checkpoint.every=20",
    ]);
    let tracker = lab.tracker();
    let run = tracker.run("vanilla-mlp").unwrap();
    assert_eq!((run.status, run.steps_done), (RunStatus::Finished, 40));
    // Learning is under way: D separates real from fake better than chance.
    let acc: Vec<f64> = series(&tracker, &run.id, "acc_real")
        .iter()
        .skip(20)
        .map(|p| p.1)
        .collect();
    let mean = acc.iter().sum::<f64>() / acc.len() as f64;
    assert!(
        mean > 0.5,
        "mean D accuracy on real images over steps 21-40 is {mean}"
    );
}

/// `--device ndarray` still trains a DCGAN (CI builds the tests with
/// `--features ndarray`; without the feature the flag is refused, exit 2).
#[test]
fn trains_on_the_ndarray_device() {
    let lab = Lab::with_fake_data(64);
    let spec = tiny_spec(lab.path(), "nd", "Dcgan", "NonSaturating", 4);
    let args = ["run", spec.to_str().unwrap(), "--device", "ndarray"];
    if !cfg!(feature = "ndarray") {
        lab.cmd(&args)
            .assert()
            .code(2)
            .stderr(contains("--features ndarray"));
        return;
    }
    lab.ok(&args);
    let tracker = lab.tracker();
    let run = tracker.run("nd").unwrap();
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!((run.steps_done, run.device.as_str()), (4, "ndarray"));
    for key in ["loss_d", "loss_g"] {
        let points = series(&tracker, &run.id, key);
        assert_eq!(points.len(), 4, "{key}");
        assert!(points.iter().all(|p| p.1.is_finite()), "{key}: {points:?}");
    }
}

/// A relative GAN_LAB_DATA, --db and --cache-dir mean relative to the folder
/// gan-lab was started in, and the processes it starts get them resolved.
#[test]
fn relative_paths_mean_the_folder_gan_lab_started_in() {
    let lab = Lab::with_fake_data(64);
    tiny_spec(lab.path(), "rel", "Mlp", "NonSaturating", 2);
    let elsewhere = lab.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let gan_lab = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::new(bin());
        cmd.current_dir(&elsewhere)
            .env_remove("GAN_LAB_DB")
            .env_remove("GAN_LAB_CACHE")
            .env_remove("GAN_LAB_EVALUATOR")
            .env("GAN_LAB_DATA", "../data")
            .args([
                "--quiet",
                "--db",
                "../runs/db.sqlite",
                "--cache-dir",
                "../cache",
            ])
            .args(args);
        cmd
    };
    gan_lab(&["run", "../rel.ron"]).assert().success();
    let run = lab.tracker().run("rel").unwrap();
    assert_eq!((run.status, run.steps_done), (RunStatus::Finished, 2));

    // A sweep's Slurm script names every folder absolutely (its tasks start elsewhere).
    std::fs::write(
        lab.path().join("sweep.ron"),
        "(name: \"rel-sweep\", base: \"rel.ron\", grid: {\"train.lr_d\": [1e-4, 1e-3]}, score: \"is\", set: {\"eval.every\": 2})\n",
    )
    .unwrap();
    gan_lab(&["sweep", "../sweep.ron", "--slurm"])
        .assert()
        .success();
    let scripts: Vec<_> = walk(&lab.path().join("runs"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "sh" || e == "sbatch"))
        .collect();
    assert_eq!(scripts.len(), 1, "one sbatch script: {scripts:?}");
    let script = std::fs::read_to_string(&scripts[0]).unwrap();
    let data = lab.data().canonicalize().unwrap();
    for path in [data, lab.db().parent().unwrap().canonicalize().unwrap()] {
        assert!(
            script.contains(path.to_str().unwrap()),
            "the script names {} absolutely:\n{script}",
            path.display()
        );
    }
    assert!(!script.contains("../"), "no relative path:\n{script}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
