//! What one process measures in itself: training steps of a spec (as
//! `gan-lab run` trains, minus grids, checkpoints and evaluation), tracker
//! writes into a fresh database, and scoring images with every metric.

use std::path::Path;
use std::time::Instant;

use gan_lab_variants::train_step_in_pool;

use super::{BenchOptions, Scoring, TrackerSpeed, Training};
use crate::commands::error::{AppError, Result};
use crate::commands::restore::build_variant;
use crate::context::Context;
use crate::data;
use crate::spec;
use crate::store::tracker::{MetricPoint, NewRun, Tracker};
use crate::train::loader::step_seed;

/// Trains `warmup` untimed then `steps` timed steps of the spec at `batch`.
pub(super) fn training(
    ctx: &Context,
    train: &data::Dataset,
    path: &Path,
    batch: usize,
    options: &BenchOptions,
) -> Result<Training> {
    let (spec, _) = spec::load(path, &[format!("train.batch_size={batch}")])?;
    let (mut variant, device) = build_variant(&spec, ctx.device.build()?);
    let mut loader = crate::commands::run::loader(&spec, train, variant.as_ref())?;
    let images = loader.images_per_step() as f64;
    let mut step = |n: u64| {
        device.seed(step_seed(spec.train.seed, n));
        let batch = loader.batch(n, &device);
        train_step_in_pool(variant.as_mut(), &batch);
    };
    for n in 1..=options.warmup {
        step(n);
    }
    let started = Instant::now();
    for n in options.warmup + 1..=options.warmup + options.steps {
        step(n);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Training {
        spec: path.display().to_string(),
        variant: spec.variant.kind().to_string(),
        batch,
        steps: options.steps,
        seconds,
        img_per_s: images * options.steps as f64 / seconds.max(1e-9),
    })
}

/// Metric points per second written through the tracker in batches of
/// 1,000 over 8 metrics, into a fresh database file.
pub(super) fn tracker_speed(points: usize) -> Result<TrackerSpeed> {
    const BATCH: usize = 1000;
    const KEYS: [&str; 8] = [
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "grad_norm_d",
        "grad_norm_g",
        "img_per_s",
        "lr",
    ];
    let dir = temp_dir("tracker")?;
    let tracker = Tracker::open(&dir.path().join("bench.sqlite"))?;
    let run = tracker.create_run(&NewRun {
        experiment: "bench".into(),
        name: "bench".into(),
        variant: "bench".into(),
        spec_text: String::new(),
        spec_hash: String::new(),
        seed: 0,
        device: "none".into(),
        code_version: crate::context::code_version(),
        host: crate::store::tracker::this_host(),
        run_dir: "bench".into(),
        total_steps: 0,
        sweep_id: None,
    })?;
    let batches: Vec<Vec<MetricPoint>> = (0..points.div_ceil(BATCH))
        .map(|b| {
            (b * BATCH..((b + 1) * BATCH).min(points))
                .map(|n| MetricPoint {
                    key: KEYS[n % KEYS.len()].into(),
                    step: (n / KEYS.len()) as u64,
                    value: n as f64 * 1e-3,
                    wall_time: n as f64,
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    for batch in &batches {
        tracker.log_metrics(&run, batch)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(tracker);
    Ok(TrackerSpeed {
        points,
        batch: BATCH,
        seconds,
        points_per_s: points as f64 / seconds.max(1e-9),
    })
}

/// A fresh folder under the system's temporary folder, removed when dropped.
pub(super) fn temp_dir(what: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("gan-lab-bench-{what}-"))
        .tempdir()
        .map_err(|source| AppError::Io {
            path: std::env::temp_dir(),
            source,
        })
}

/// Scoring `images` training images as if generated, with every metric, by
/// the evaluator a run would use (the built-in one for the official data);
/// skipped, not trained, when that would first train one.
pub(super) fn scoring(
    ctx: &Context,
    data_dir: &Path,
    train: &data::Dataset,
    images: usize,
) -> Result<Scoring> {
    let hash = data::data_hash(data_dir)?;
    if crate::eval::evaluator::must_train(&ctx.cache, &hash, ctx.evaluator.as_deref()) {
        return Ok(Scoring {
            skipped: Some(format!(
                "these data have no evaluator (not the official files, none cached in {}); `gan-lab evaluator train` makes one",
                ctx.cache.display()
            )),
            images,
            setup_seconds: 0.0,
            seconds: 0.0,
        });
    }
    let started = Instant::now();
    let scorer = crate::eval::scoring::image_scorer(ctx, crate::spec::Metric::ALL.to_vec())?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let n = images.min(train.labels.len());
    let pixels: Vec<f32> = train.images.pixels[..n * 784]
        .iter()
        .map(|&p| p as f32 / 127.5 - 1.0)
        .collect();
    let started = Instant::now();
    scorer.score_pixels(&pixels, None)?;
    Ok(Scoring {
        skipped: None,
        images: n,
        setup_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}
