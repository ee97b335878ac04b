//! `gan-lab eval`: score a stored run's model (each variant scores itself
//! with the evaluator), or score images from anywhere.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gan_lab_variants::IMAGE_PIXELS;

use crate::commands::error::{AppError, Result};
use crate::commands::restore::restore;
use crate::context::Context;
use crate::data;
use crate::eval::scoring::{format_scores, image_scorer};
use crate::spec::Metric;
use crate::store::layout::{Checkpoint, RunLayout};
use crate::store::tracker::{MetricPoint, Tracker};
use crate::train::runner;

/// `gan-lab eval`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab eval 3f9c --checkpoint best --samples 10000\n  \
    gan-lab eval --images samples.idx     (an IDX3 file or a folder of 28x28 PNGs)\n\n\
    Scores are computed on the evaluator's features against the test split; they \
    compare runs scored by the same evaluator, not numbers from Inception-based papers."
)]
pub struct EvalArgs {
    /// Run id, unique id prefix, or unique run name
    #[arg(required_unless_present = "images", conflicts_with = "images")]
    pub run: Option<String>,
    /// Score these images instead of a run
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Checkpoint to score: last, best (by the variant's score) or a step kept by `checkpoint.keep_every`
    #[arg(long, default_value = "last")]
    pub checkpoint: Checkpoint,
    /// Generated images to score
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
}

/// `gan-lab eval`: prints the scores of a run or of images.
pub fn execute(ctx: &Context, args: &EvalArgs) -> Result<ExitCode> {
    let text = match (&args.run, &args.images) {
        (_, Some(path)) => eval_images(ctx, path)?,
        (Some(run), None) => eval_run(ctx, run, args.checkpoint, args.samples)?,
        (None, None) => unreachable!("clap requires one"),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

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
