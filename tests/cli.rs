//! The command line: validation errors, exit codes, help.

use crate::common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn shipped_specs_are_valid() {
    for name in ["vanilla", "dcgan", "cgan"] {
        let path = format!("{ROOT}/experiments/{name}.ron");
        let out = std::process::Command::new(BIN)
            .args(["check", &path])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
    }
}

#[test]
fn spec_errors_have_positions_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.ron");
    std::fs::write(
        &path,
        "(\n  name: \"x\",\n  variant: Vanilla(arch: Mlp),\n  train: (stepz: 3),\n)\n",
    )
    .unwrap();
    let out = gan_lab(dir.path(), None, &["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:4:", path.display())), "{err}");
    assert!(err.contains("stepz"), "{err}");

    std::fs::write(
        &path,
        "(name: \"x\", variant: Vanilla(arch: Mlp),\n train: (batch_size: 0))\n",
    )
    .unwrap();
    let out = gan_lab(dir.path(), None, &["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(":2:10: train.batch_size: batch_size is 0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn override_errors_name_the_override() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{ROOT}/experiments/vanilla.ron");
    let out = gan_lab(
        dir.path(),
        None,
        &["check", &spec, "--set", "train.steps=-5"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--set train.steps=-5"),
        "{}",
        stderr(&out)
    );
    let out = gan_lab(
        dir.path(),
        None,
        &[
            "check",
            &spec,
            "--set",
            "variant.loss=LeastSquares",
            "--set",
            "train.steps=7",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("mlp / least_squares") && stdout(&out).contains("7 steps"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn missing_files_and_devices_are_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = gan_lab(dir.path(), None, &["check", "no/such/spec.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no/such/spec.ron"),
        "{}",
        stderr(&out)
    );

    let spec = format!("{ROOT}/experiments/vanilla.ron");
    let out = gan_lab(dir.path(), None, &["run", &spec, "--device", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown device `tpu`"),
        "{}",
        stderr(&out)
    );
    #[cfg(not(feature = "cuda"))]
    {
        let out = gan_lab(dir.path(), None, &["run", &spec, "--device", "cuda"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("--features cuda"), "{}", stderr(&out));
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = gan_lab(dir.path(), Some(&empty), &["run", &spec]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&empty.display().to_string()),
        "{}",
        stderr(&out)
    );
    // Nothing was recorded for a run that could not start.
    let list = gan_lab(dir.path(), None, &["list"]);
    assert!(stdout(&list).starts_with("no runs"), "{}", stdout(&list));
}

#[test]
fn unknown_run_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = gan_lab(dir.path(), None, &["show", "nosuchrun"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("gan-lab list"), "{}", stderr(&out));
}

#[test]
fn every_subcommand_explains_itself_with_an_example() {
    for sub in ["run", "check", "resume", "list", "show"] {
        let out = std::process::Command::new(BIN)
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(stdout(&out).contains("gan-lab"), "{sub}: {}", stdout(&out));
        assert!(stdout(&out).contains("Example"), "{sub}: {}", stdout(&out));
    }
}
