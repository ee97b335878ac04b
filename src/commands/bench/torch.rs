//! The reference DCGAN against the same network in PyTorch
//! (`shared/bench/torch_dcgan.py`), measured alternately, and whether the
//! Python can run it at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BenchOptions, TorchRow, measure, note};
use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::data;
use crate::util::stats::median;

/// `shared/bench/torch_dcgan.py` in the nearest folder above this source
/// tree that has one (`../shared/bench` for a checkout beside `shared/`).
pub(super) fn default_torch_script() -> PathBuf {
    let script = Path::new("shared/bench/torch_dcgan.py");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .skip(1)
        .map(|dir| dir.join(script))
        .find(|path| path.is_file())
        .unwrap_or_else(|| root.join("..").join(script))
}

/// `Ok` when PyTorch can be used; `Err(reason)` when it is skipped; an
/// error when the user named a Python or script that does not work.
pub(super) fn torch_python(options: &BenchOptions) -> Result<std::result::Result<(), String>> {
    let probe = Command::new(&options.python)
        .args(["-c", "import torch"])
        .output();
    let problem = match probe {
        Err(e) => Some(format!("cannot start {}: {e}", options.python)),
        Ok(out) if !out.status.success() => Some(format!(
            "{} cannot import torch: {}",
            options.python,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Ok(_) => None,
    };
    match problem {
        Some(p) if options.python_given => Err(AppError::Usage(format!(
            "--python {}: {p}; point --python (or GAN_LAB_PYTHON) at a Python with torch installed, or leave it out to skip PyTorch",
            options.python
        ))),
        Some(p) => Ok(Err(format!(
            "{p} (pass --python PATH to compare with PyTorch)"
        ))),
        None if !options.torch_script.is_file() => Err(AppError::Usage(format!(
            "the PyTorch benchmark script {} does not exist; pass --torch-script PATH (shared/bench/torch_dcgan.py)",
            options.torch_script.display()
        ))),
        None => Ok(Ok(())),
    }
}

/// The reference DCGAN in gan-lab and in PyTorch, alternately.
pub(super) fn versus_torch(
    ctx: &Context,
    train: &data::Dataset,
    spec: &Path,
    batch: usize,
    options: &BenchOptions,
) -> Result<TorchRow> {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=options.rounds {
        note(
            ctx,
            &format!("gan-lab vs PyTorch at batch {batch}, round {round}"),
        );
        ours.push(measure::training(ctx, train, spec, batch, options)?.img_per_s);
        theirs.push(torch_throughput(options, batch)?);
    }
    Ok(TorchRow {
        batch,
        ratio: median(ours.iter().copied()).unwrap_or(f64::NAN)
            / median(theirs.iter().copied()).unwrap_or(f64::NAN),
        gan_lab_img_per_s: ours,
        torch_img_per_s: theirs,
    })
}

/// `torch_dcgan.py throughput`, which prints `torch-dcgan: <n> img/s ...`.
fn torch_throughput(options: &BenchOptions, batch: usize) -> Result<f64> {
    let script = options.torch_script.display().to_string();
    let out = Command::new(&options.python)
        .arg(&options.torch_script)
        .args(["throughput", "--batch", &batch.to_string()])
        .args(["--steps", &options.steps.to_string()])
        .output()
        .map_err(|source| AppError::Io {
            path: PathBuf::from(&options.python),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("torch-dcgan:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    match parsed {
        Some(v) if out.status.success() => Ok(v),
        _ => Err(AppError::Usage(format!(
            "{} {script} throughput failed ({}): {}; check the script, or pass --torch-script PATH",
            options.python,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}
