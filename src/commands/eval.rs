//! `gan-lab eval`: score a stored run's model (each variant scores itself
//! with the evaluator), or score images from anywhere.

use std::path::Path;

use gan_lab_variants::IMAGE_PIXELS;

use crate::context::Context;
use crate::data;
use crate::error::{AppError, Result};
use crate::eval::scoring::{format_scores, image_scorer};
use crate::restore::restore;
use crate::spec::Metric;
use crate::store::layout::{Checkpoint, RunLayout};
use crate::store::tracker::{MetricPoint, Tracker};
use crate::train::runner;

/// `gan-lab eval RUN`: scores a stored run's checkpoint with `samples` images,
/// recording the scores as `eval/<name>` metrics at the checkpoint's step.
pub fn eval_run(ctx: &Context, run_ref: &str, which: Checkpoint, samples: usize) -> Result<String> {
    if !(100..=60_000).contains(&samples) {
        return Err(AppError::Usage(format!(
            "--samples is {samples}; use 100 to 60000 (10000 is usual)"
        )));
    }
    let restored = restore(ctx, run_ref, which)?;
    let scorer = image_scorer(ctx, Metric::ALL.to_vec())?;
    let scores = restored.variant.evaluate(
        &scorer,
        samples,
        runner::eval_seed(restored.spec.train.seed),
    )?;
    let tracker = Tracker::open(&ctx.db)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let points: Vec<MetricPoint> = scores
        .iter()
        .map(|s| MetricPoint {
            key: format!("eval/{}", s.name.as_ref()),
            step: restored.step,
            value: s.value,
            wall_time: now,
        })
        .collect();
    tracker.log_metrics(&restored.run.id, &points)?;
    tracker.set_tag(&restored.run.id, "evaluator", &scorer.evaluator.id())?;
    Ok(format!(
        "run {} ({}), checkpoint {} at step {}, {samples} samples, evaluator {}\n{}",
        restored.run.id,
        restored.run.name,
        RunLayout::checkpoint_rel(which),
        restored.step,
        scorer.evaluator.id(),
        format_scores(&scores)
    ))
}

/// `gan-lab eval --images FILE`: scores images from anywhere (an IDX3 file or
/// a folder of 28x28 greyscale PNGs) with the same evaluator.
pub fn eval_images(ctx: &Context, path: &Path) -> Result<String> {
    let pixels = if path.is_dir() {
        data::to_unit_range(&data::read_png_folder(path)?)
    } else {
        let images = data::read_images(path)?;
        if (images.rows, images.cols) != (28, 28) {
            return Err(AppError::Usage(format!(
                "{} holds {}x{} images; the evaluator takes 28x28",
                path.display(),
                images.rows,
                images.cols
            )));
        }
        data::to_unit_range(&images.pixels)
    };
    let n = pixels.len() / IMAGE_PIXELS;
    if n < 100 {
        return Err(AppError::Usage(format!(
            "{} holds {n} images; scoring needs at least 100 (10,000 is usual)",
            path.display()
        )));
    }
    let scorer = image_scorer(ctx, Metric::ALL.to_vec())?;
    let scores = scorer.score_pixels(&pixels, None)?;
    Ok(format!(
        "{n} images from {}, evaluator {}\n{}",
        path.display(),
        scorer.evaluator.id(),
        format_scores(&scores)
    ))
}
