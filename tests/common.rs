//! Shared helpers: a tiny generated Fashion-MNIST-shaped dataset, specs and
//! running the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gan_lab::data::{Images, write_images, write_labels};

pub const BIN: &str = env!("CARGO_BIN_EXE_gan-lab");

/// A folder with the four IDX files: `n` train and `n / 4` test images of
/// simple class-dependent patterns (a bar whose position is the label).
pub fn fake_data(dir: &Path, n: usize) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for (stem, count) in [("train", n), ("t10k", n / 4)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let mut pixels = vec![0u8; count * 784];
        for (i, &label) in labels.iter().enumerate() {
            for y in 0..28 {
                for x in 0..3 {
                    pixels[i * 784 + y * 28 + 2 + label as usize * 2 + x] = 200 + (i % 50) as u8;
                }
            }
        }
        let images = Images {
            count,
            rows: 28,
            cols: 28,
            pixels,
        };
        write_images(&data.join(format!("{stem}-images-idx3-ubyte")), &images).unwrap();
        write_labels(&data.join(format!("{stem}-labels-idx1-ubyte")), &labels).unwrap();
    }
    data
}

/// A tiny spec: `arch`/`loss` as in RON, batch 8, `steps` steps.
pub fn tiny_spec(dir: &Path, name: &str, arch: &str, loss: &str, steps: u64) -> PathBuf {
    let path = dir.join(format!("{name}.ron"));
    let every = (steps / 2).max(1);
    let text = format!(
        "(name: \"{name}\", variant: Vanilla(arch: {arch}, loss: {loss}),\n \
         train: (steps: {steps}, batch_size: 8, seed: 3),\n \
         samples: (every: {every}), checkpoint: (every: {every}))\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the binary with a database and data folder in `dir`.
pub fn gan_lab(dir: &Path, data: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--db")
        .arg(dir.join("runs/db.sqlite"))
        .arg("--quiet");
    if let Some(data) = data {
        cmd.arg("--data-dir").arg(data);
    }
    cmd.env_remove("GAN_LAB_DB");
    cmd.args(args).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// burn-flex keeps one random generator per process: tests that train in
/// this process take turns, so that a seeded run draws the same numbers.
pub fn in_process_training() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Like [`gan_lab`], with the evaluator cached in `cache`.
pub fn gan_lab_cached(dir: &Path, data: &Path, cache: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--cache-dir", cache.to_str().unwrap()];
    all.extend_from_slice(args);
    gan_lab(dir, Some(data), &all)
}
