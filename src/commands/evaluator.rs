//! `gan-lab evaluator train` and `evaluator info`: the Fashion-MNIST
//! classifier that scores generated images, and sanity references for it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::commands::args::DeviceArg;
use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::data::{self, Split};
use crate::eval::evaluator::{
    Agreement, Evaluator, EvaluatorError, Source, cache_folder, pinned_info,
};
use crate::eval::scoring::{format_scores, image_scorer};
use crate::spec::Metric;

/// `gan-lab evaluator`'s subcommands.
#[derive(Args)]
#[command(after_help = "Examples:\n  gan-lab evaluator info\n  gan-lab evaluator train")]
pub struct EvaluatorArgs {
    #[command(subcommand)]
    pub command: EvaluatorCommand,
}

#[derive(Subcommand)]
pub enum EvaluatorCommand {
    /// Retrain the evaluator with the built-in one's recipe (4 epochs; minutes to an hour on 2 cores)
    #[command(
        after_help = "The built-in evaluator scores the official Fashion-MNIST files unless \
        --evaluator DIR chooses a retrained one. For other data, the evaluator written to the \
        cache folder (the default --out) scores them."
    )]
    Train {
        #[command(flatten)]
        device: DeviceArg,
        /// Folder to write it to [default: the cache folder for the data]
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Fail (exit 1) unless it is within one point of the built-in evaluator's test accuracy
        #[arg(long)]
        verify: bool,
    },
    /// Show the evaluator in use (built in or trained locally), its accuracy and checksum, and sanity references
    Info,
}

/// `gan-lab evaluator train` or `info`: prints what was trained or is in use.
pub fn execute(ctx: &Context, args: &EvaluatorArgs) -> Result<ExitCode> {
    match &args.command {
        EvaluatorCommand::Train {
            device,
            out,
            verify,
        } => print!(
            "{}",
            train(&device.on(ctx), out.as_deref(), *verify)?.summary()
        ),
        EvaluatorCommand::Info => print!("{}", info(ctx)?),
    }
    Ok(ExitCode::SUCCESS)
}

/// What `evaluator train` did.
pub struct Trained {
    pub evaluator: Evaluator,
    /// Where it was written, and whether that is the cache folder scoring
    /// these data falls back on.
    pub out: PathBuf,
    pub in_cache: bool,
    /// On the data the built-in evaluator was trained on: how the two
    /// compare on the test split (the new one first).
    pub pinned: Option<Agreement>,
}

/// `gan-lab evaluator train [--out DIR] [--verify]`: trains an evaluator with
/// the built-in one's recipe, into `out` or else the cache folder for the
/// data. With `verify`, fails unless it is within [`crate::eval::evaluator::MAX_POINTS_APART`] of
/// the built-in one's test accuracy.
pub fn train(ctx: &Context, out: Option<&Path>, verify: bool) -> Result<Trained> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let hash = data::data_hash(&data_dir)?;
    let official = hash == pinned_info().data_hash;
    if verify && !official {
        return Err(AppError::Usage(format!(
            "--verify compares with the built-in evaluator, which was trained on the official Fashion-MNIST files; the data in {} are other files (data hash {}): leave out --verify",
            data_dir.display(),
            &hash[..16]
        )));
    }
    let cache = cache_folder(&ctx.cache, &hash);
    let out = out.map_or_else(|| cache.clone(), Path::to_path_buf);
    let device = ctx.device.build()?;
    let evaluator = Evaluator::train(&data_dir, &out, &device, ctx.progress, &ctx.stop)?;
    let pinned = if official {
        let test = data::load_split(&data_dir, Split::Test)?;
        Some(evaluator.agreement(&Evaluator::pinned(&ctx.cache, &device)?, &test))
    } else {
        None
    };
    if let Some(agreement) = pinned
        && verify
        && !agreement.reproduces()
    {
        return Err(EvaluatorError::Disagrees {
            agreement,
            path: out,
        }
        .into());
    }
    Ok(Trained {
        evaluator,
        in_cache: out == cache,
        out,
        pinned,
    })
}

impl Trained {
    /// What was trained, how it compares with the built-in one, and how to use it.
    pub fn summary(&self) -> String {
        let info = &self.evaluator.info;
        let mut out = format!(
            "evaluator {} trained in {:.0} s: test accuracy {:.2}%, written to {}\n",
            self.evaluator.id(),
            info.train_seconds,
            100.0 * info.test_accuracy,
            self.out.display()
        );
        let dir = self.out.display();
        match &self.pinned {
            Some(a) => {
                out += &format!(
                    "the built-in evaluator: test accuracy {:.2}%, {:.2} points apart; both give the same class to {:.2}% of the test images\n\
                     gan-lab keeps scoring with the built-in one; to score with this one, pass --evaluator {dir} (or set GAN_LAB_EVALUATOR)\n",
                    100.0 * a.accuracy[1],
                    a.points_apart(),
                    100.0 * a.same_class,
                );
            }
            None if self.in_cache => {
                out +=
                    "it scores these data from now on (there is no built-in evaluator for them)\n";
            }
            None => {
                out += &format!(
                    "to score with it, pass --evaluator {dir} (or set GAN_LAB_EVALUATOR)\n"
                );
            }
        }
        out
    }
}

/// `gan-lab evaluator info`: the evaluator and sanity references (the
/// train split and uniform noise scored against the test split).
pub fn info(ctx: &Context) -> Result<String> {
    let scorer = image_scorer(ctx, Metric::ALL.to_vec())?;
    let info = &scorer.evaluator.info;
    let evaluator = &scorer.evaluator;
    let source = match &evaluator.source {
        Source::Pinned => "built in (pinned)".to_string(),
        Source::Local(dir) => format!("trained locally, {}", dir.display()),
    };
    let mut out = format!(
        "evaluator {}\n  in use         {source}\n  sha256         {}\n  test accuracy  {:.2}%\n  cache          {}\n  data hash      {}\n  trained in     {:.0} s ({} epochs)\n",
        evaluator.id(),
        evaluator.sha256,
        100.0 * info.test_accuracy,
        evaluator.dir.display(),
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
