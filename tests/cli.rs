//! The command line: validation errors, exit codes, help, and the exact text
//! of the main input errors (a snapshot).

use predicates::prelude::*;
use predicates::str::contains;

use crate::common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn shipped_specs_are_valid() {
    for name in ["vanilla", "dcgan", "cgan", "stackgan"] {
        let path = format!("{ROOT}/experiments/{name}.ron");
        gan_lab()
            .args(["check", &path])
            .assert()
            .success()
            .stdout(predicate::str::starts_with("ok: "));
    }
}

#[test]
fn spec_errors_have_positions_and_exit_2() {
    let lab = Lab::without_data();
    let path = lab.path().join("bad.ron");
    std::fs::write(
        &path,
        "(\n  name: \"x\",\n  variant: Vanilla(arch: Mlp),\n  train: (stepz: 3),\n)\n",
    )
    .unwrap();
    lab.cmd(&["check", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains(format!("{}:4:", path.display())).and(contains("stepz")));

    std::fs::write(
        &path,
        "(name: \"x\", variant: Vanilla(arch: Mlp),\n train: (batch_size: 0))\n",
    )
    .unwrap();
    lab.cmd(&["check", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains(":2:10: train.batch_size: batch_size is 0"));
}

#[test]
fn override_errors_name_the_override() {
    let lab = Lab::without_data();
    let spec = format!("{ROOT}/experiments/vanilla.ron");
    lab.cmd(&["check", &spec, "--set", "train.steps=-5"])
        .assert()
        .code(2)
        .stderr(contains("--set train.steps=-5"));
    lab.cmd(&[
        "check",
        &spec,
        "--set",
        "variant.loss=LeastSquares",
        "--set",
        "train.steps=7",
    ])
    .assert()
    .success()
    .stdout(contains("mlp / least_squares").and(contains("7 steps")));
}

#[test]
fn missing_files_and_devices_are_input_errors() {
    let lab = Lab::without_data();
    lab.cmd(&["check", "no/such/spec.ron"])
        .assert()
        .code(2)
        .stderr(contains("no/such/spec.ron"));

    let spec = format!("{ROOT}/experiments/vanilla.ron");
    lab.cmd(&["run", &spec, "--device", "tpu"])
        .assert()
        .code(2)
        .stderr(
            contains("invalid value 'tpu' for '--device <DEVICE>'")
                .and(contains("[possible values: flex, ndarray, wgpu, cuda]")),
        );
    #[cfg(not(feature = "cuda"))]
    lab.cmd(&["run", &spec, "--device", "cuda"])
        .assert()
        .code(2)
        .stderr(contains("--features cuda"));
    let empty = lab.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    lab.cmd(&["run", &spec, "--data-dir", empty.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains(empty.display().to_string()));
    // Nothing was recorded for a run that could not start.
    lab.cmd(&["list"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("no runs"));
}

#[test]
fn unknown_run_is_an_input_error() {
    let lab = Lab::without_data();
    // No database yet: it says so and how one is made.
    lab.cmd(&["show", "nosuchrun"])
        .assert()
        .code(2)
        .stderr(contains("no runs are recorded").and(contains("gan-lab run")));
    lab.tracker();
    lab.cmd(&["show", "nosuchrun"])
        .assert()
        .code(2)
        .stderr(contains("gan-lab list"));
}

#[test]
fn every_subcommand_explains_itself_with_an_example() {
    for sub in ["run", "check", "resume", "list", "show"] {
        gan_lab()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(contains("gan-lab").and(contains("Example")));
    }
}

/// The main input errors, word for word: each exits 2 and says what is
/// wrong, where, and what to do.
#[test]
fn input_errors_read_like_this() {
    let lab = Lab::without_data();
    std::fs::write(
        lab.path().join("bad.ron"),
        "(\n  name: \"x\",\n  variant: Vanilla(arch: Mlp),\n  train: (stepz: 3),\n)\n",
    )
    .unwrap();
    std::fs::copy(
        format!("{ROOT}/experiments/vanilla.ron"),
        lab.path().join("vanilla.ron"),
    )
    .unwrap();
    std::fs::create_dir_all(lab.path().join("empty")).unwrap();
    // A run whose id starts with 0: `show 0` is too short a prefix for it.
    let tracker = lab.tracker();
    tracker
        .create_run_with_id(
            "0123456789abcdef",
            &gan_lab::store::tracker::NewRun {
                experiment: "e".into(),
                name: "recorded".into(),
                variant: "vanilla".into(),
                spec_text: String::new(),
                spec_hash: "h".into(),
                seed: 1,
                device: "flex".into(),
                code_version: "test".into(),
                host: "test".into(),
                run_dir: "r".into(),
                total_steps: 1,
                sweep_id: None,
            },
        )
        .unwrap();
    drop(tracker);
    lab.cmd(&["show", "0123"]).assert().success();
    // Left out of the snapshot: it says "no run matches '0'" although one
    // does, without naming the four-character minimum (reported).
    lab.cmd(&["show", "0"])
        .assert()
        .code(2)
        .stderr(contains("gan-lab list"));

    let mut transcript = String::new();
    for args in [
        "check bad.ron",
        "check vanilla.ron --set train.steps=-5",
        "check vanilla.ron --set train.stepz=5",
        "run vanilla.ron --device tpu",
        "run vanilla.ron --data-dir empty",
        "show nosuchrun",
        "sample recorded --n 0 --out x.png",
    ] {
        let args: Vec<&str> = args.split(' ').collect();
        let err = stderr(&lab.cmd(&args).assert().code(2));
        transcript += &format!("$ gan-lab {}\n{err}\n", args.join(" "));
    }
    insta::with_settings!({filters => filters(&[])}, {
        insta::assert_snapshot!(transcript);
    });
}
