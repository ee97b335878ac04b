//! `gan-lab bench`: the JSON of a quick run has every measurement with
//! positive numbers, and a Python that cannot run PyTorch is a clear input error.

use predicates::prelude::*;
use predicates::str::contains;

use crate::common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A folder with a tiny MLP spec, the shipped DCGAN spec and a sweep spec
/// (which the bench leaves out).
fn experiments(lab: &Lab) -> std::path::PathBuf {
    let dir = lab.path().join("experiments");
    std::fs::create_dir_all(&dir).unwrap();
    let mlp = tiny_spec(lab.path(), "mlp", "Mlp", "NonSaturating", 3);
    std::fs::copy(mlp, dir.join("mlp.ron")).unwrap();
    for name in ["dcgan.ron", "sweep-lr.ron"] {
        std::fs::copy(format!("{ROOT}/experiments/{name}"), dir.join(name)).unwrap();
    }
    dir
}

/// `bench --quick --json` over `dir`, with no Python on PATH.
fn quick_json(lab: &Lab, dir: &std::path::Path) -> serde_json::Value {
    let out = lab
        .cmd(&[
            "bench",
            "--quick",
            "--json",
            "--experiments",
            dir.to_str().unwrap(),
        ])
        .env_remove("GAN_LAB_PYTHON")
        .env("PATH", "/nonexistent")
        .assert()
        .success();
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn quick_json_has_every_measurement() {
    let lab = Lab::with_fake_data(256);
    let dir = experiments(&lab);
    let json = quick_json(&lab, &dir);
    let positive = |v: &serde_json::Value, what: &str| {
        let x = v
            .as_f64()
            .unwrap_or_else(|| panic!("{what} is not a number: {v}"));
        assert!(x > 0.0, "{what} = {x}");
    };
    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert_eq!(json["machine"]["device"], "flex");
    assert_eq!(json["machine"]["load"].as_array().unwrap().len(), 3);

    // The reference DCGAN first, then the MLP; the sweep is left out.
    let training = json["training"].as_array().unwrap();
    let specs: Vec<&str> = training
        .iter()
        .map(|t| t["spec"].as_str().unwrap())
        .collect();
    assert_eq!(specs.len(), 2, "{specs:?}");
    assert!(
        specs[0].ends_with("dcgan.ron") && specs[1].ends_with("mlp.ron"),
        "{specs:?}"
    );
    for t in training {
        assert_eq!(t["batch"], 16);
        assert_eq!(t["steps"], 2);
        positive(&t["img_per_s"], "img_per_s");
        positive(&t["seconds"], "seconds");
    }

    // No python3 on PATH: PyTorch is skipped, saying how to add it.
    let skipped = json["torch"]["skipped"].as_str().unwrap();
    assert!(skipped.contains("--python"), "{skipped}");
    assert!(json["torch"]["rows"].as_array().unwrap().is_empty());

    assert_eq!(json["tracker"]["points"], 50_000);
    positive(&json["tracker"]["points_per_s"], "points_per_s");
    // Made-up data have no evaluator: scoring is skipped, not trained.
    let scoring = json["scoring"]["skipped"].as_str().unwrap();
    assert!(scoring.contains("gan-lab evaluator train"), "{scoring}");
    assert!(
        json["memory"]["spec"]
            .as_str()
            .unwrap()
            .ends_with("dcgan.ron")
    );
    assert_eq!(json["memory"]["steps"], 2);
    // A training process needs at least the data set and the networks.
    assert!(json["memory"]["peak_rss_mib"].as_f64().unwrap() > 20.0);
}

/// On the official files the bench scores with the built-in evaluator at
/// once, as a run would (it used to skip unless one had been trained).
#[test]
fn scoring_uses_the_built_in_evaluator_on_the_official_files() {
    let lab = Lab::with_real_data();
    let dir = lab.path().join("experiments");
    std::fs::create_dir_all(&dir).unwrap();
    let mlp = tiny_spec(lab.path(), "mlp", "Mlp", "NonSaturating", 3);
    std::fs::copy(mlp, dir.join("mlp.ron")).unwrap();
    let json = quick_json(&lab, &dir);
    let scoring = &json["scoring"];
    assert!(scoring["skipped"].is_null(), "{scoring}");
    assert_eq!(scoring["images"], 1_000);
    assert!(scoring["seconds"].as_f64().unwrap() > 0.0, "{scoring}");
}

#[test]
fn quick_table_names_each_measurement() {
    let lab = Lab::with_fake_data(256);
    let dir = experiments(&lab);
    let text = lab.ok(&[
        "bench",
        "--quick",
        "--batch",
        "8",
        "--experiments",
        dir.to_str().unwrap(),
    ]);
    for line in [
        "Training",
        "dcgan.ron",
        "mlp.ron",
        "points/s",
        "peak memory",
        "MiB",
    ] {
        assert!(text.contains(line), "{line} missing in:\n{text}");
    }
}

#[test]
fn a_python_that_cannot_run_torch_is_an_input_error() {
    let lab = Lab::with_fake_data(64);
    let dir = experiments(&lab);
    let dir = dir.to_str().unwrap();
    lab.cmd(&[
        "bench",
        "--quick",
        "--experiments",
        dir,
        "--python",
        "/no/such/python",
    ])
    .assert()
    .code(2)
    .stderr(
        contains("--python /no/such/python")
            .and(contains("cannot start"))
            .and(contains("torch")),
    );
    // The variable counts as naming it.
    lab.cmd(&["bench", "--quick", "--experiments", dir])
        .env("GAN_LAB_PYTHON", "/bin/false")
        .assert()
        .code(2)
        .stderr(contains("--python /bin/false").and(contains("cannot import torch")));
    // So is a missing experiments folder.
    lab.cmd(&["bench", "--quick", "--experiments", "nowhere"])
        .assert()
        .code(2)
        .stderr(contains("nowhere").and(contains("--experiments DIR")));
}
