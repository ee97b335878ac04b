//! `gan-lab evaluator train` and `evaluator info`: the Fashion-MNIST
//! classifier that scores generated images, and sanity references for it.

use crate::context::Context;
use crate::data::{self, Split};
use crate::error::Result;
use crate::evaluator::Evaluator;
use crate::scoring::{format_scores, image_scorer};
use crate::spec::Metric;

/// `gan-lab evaluator train`: (re)trains the evaluator for the data and caches it.
pub fn train(ctx: &Context) -> Result<Evaluator> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    Ok(Evaluator::train(
        &ctx.cache,
        &data_dir,
        &ctx.device.build()?,
        ctx.progress,
        &ctx.stop,
    )?)
}

/// `gan-lab evaluator info`: the evaluator and sanity references (the
/// train split and uniform noise scored against the test split).
pub fn info(ctx: &Context) -> Result<String> {
    let scorer = image_scorer(ctx, Metric::ALL.to_vec())?;
    let info = &scorer.evaluator.info;
    let mut out = format!(
        "evaluator {}\n  test accuracy  {:.2}%\n  cache          {}\n  data hash      {}\n  trained in     {:.0} s ({} epochs)\n",
        info.id(),
        100.0 * info.test_accuracy,
        scorer.evaluator.dir.display(),
        info.data_hash,
        info.train_seconds,
        info.epochs
    );
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let train = data::load_split(&data_dir, Split::Train)?;
    let n = train.labels.len().min(10_000);
    let train_pixels = data::to_unit_range(&train.images.pixels[..n * 784]);
    out += &format!(
        "\nSanity reference: {n} train images vs the test split (FID and KID near 0, all 10 classes covered)\n"
    );
    out += &format_scores(&scorer.score_pixels(&train_pixels, None)?);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let noise: Vec<f32> = (0..n * 784)
        .map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0))
        .collect();
    out += &format!(
        "\nSanity reference: {n} images of uniform noise vs the test split (should be very large)\n"
    );
    out += &format_scores(&scorer.score_pixels(&noise, None)?);
    Ok(out)
}
