//! The commands behind the CLI, as library functions: plan a run from a
//! spec, train it with the tracker, artifact and progress sinks, resume it,
//! and render `list` and `show`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::prelude::Device;
use gan_lab_variants::{Hyper, Variant};

use crate::data::{self, Split};
use crate::device::DeviceChoice;
use crate::evaluator::Evaluator;
use crate::events::Sink;
use crate::loader::{Loader, TooFewImages, TrainSet};
use crate::runner::{self, Cadence, Outcome, Runner};
use crate::scoring::{ImageScorer, format_scores};
use crate::sinks::{ArtifactSink, ProgressSink, TrackerSink};
use crate::spec::{self, Metric, Spec};
use crate::tracker::{MetricPoint, NewRun, RunFilter, RunRecord, RunStatus, Tracker};

/// Settings shared by the commands (from flags and environment).
#[derive(Clone, Debug)]
pub struct Context {
    pub db: PathBuf,
    pub data_dir: Option<PathBuf>,
    /// Where trained evaluators are cached.
    pub cache: PathBuf,
    pub device: DeviceChoice,
    /// Show the progress bar.
    pub progress: bool,
    /// Set by Ctrl-C.
    pub stop: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error(transparent)]
    Tracker(#[from] crate::tracker::TrackerError),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    #[error(transparent)]
    Runner(#[from] runner::RunnerError),
    #[error(transparent)]
    Evaluator(#[from] crate::evaluator::EvaluatorError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("scoring failed")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error(transparent)]
    TooFewImages(#[from] TooFewImages),
    #[error(transparent)]
    Sweep(#[from] crate::sweep::spec::SweepSpecError),
    #[error("{0}")]
    Usage(String),
    #[error("could not create {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// 2 for bad input (spec, flags, data the user pointed at), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let input = match self {
            AppError::Spec(_)
            | AppError::Device(_)
            | AppError::Usage(_)
            | AppError::TooFewImages(_)
            | AppError::Sweep(_) => true,
            AppError::Data(e) => e.is_user_error(),
            AppError::Report(e) => e.is_user_error(),
            AppError::Tracker(e) => e.is_user_error(),
            AppError::Runner(_)
            | AppError::Evaluator(_)
            | AppError::Metrics(_)
            | AppError::Io { .. } => false,
        };
        if input { 2 } else { 1 }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// What a finished `run` or `resume` reports.
#[derive(Debug)]
pub struct RunReport {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub outcome: Outcome,
}

/// The version of the code, as stored with each run.
pub fn code_version() -> String {
    format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("GAN_LAB_GIT"))
}

pub(crate) fn db_folder(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The folder of a run: stored relative to the database's folder.
pub fn run_folder(db: &Path, run: &RunRecord) -> PathBuf {
    db_folder(db).join(&run.run_dir)
}

/// The default cache folder: the user's cache directory, else `runs/cache`.
pub fn default_cache() -> PathBuf {
    dirs::cache_dir().map_or_else(|| PathBuf::from("runs/cache"), |d| d.join("gan-lab"))
}

/// `gan-lab evaluator train`: (re)trains the evaluator for the data and caches it.
pub fn evaluator_train(ctx: &Context) -> Result<Evaluator> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    Ok(Evaluator::train(
        &ctx.cache,
        &data_dir,
        &ctx.device.build()?,
        ctx.progress,
    )?)
}

/// Trains and caches the evaluator now if it is not cached yet (so that
/// parallel runs do not each train it).
pub fn ensure_evaluator(ctx: &Context) -> Result<()> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    load_evaluator(ctx, &data_dir).map(|_| ())
}

/// The cached evaluator for `data_dir`, trained first when there is none.
fn load_evaluator(ctx: &Context, data_dir: &Path) -> Result<Evaluator> {
    let cached = crate::evaluator::cache_folder(&ctx.cache, &data::data_hash(data_dir)?)
        .join("info.json")
        .is_file();
    if ctx.progress && !cached {
        eprintln!("no evaluator cached for this data yet: training it once (a few minutes)");
    }
    Ok(Evaluator::load_or_train(
        &ctx.cache,
        data_dir,
        &ctx.device.build()?,
        ctx.progress,
    )?)
}

/// The evaluator (trained on first need) with the test split as reference.
pub fn image_scorer(ctx: &Context, metrics: Vec<Metric>) -> Result<ImageScorer> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let evaluator = load_evaluator(ctx, &data_dir)?;
    let test = data::load_split(&data_dir, Split::Test)?;
    Ok(ImageScorer::new(evaluator, &test, metrics)?)
}

/// `gan-lab evaluator info`: the evaluator and sanity references (the
/// train split and uniform noise scored against the test split).
pub fn evaluator_info(ctx: &Context) -> Result<String> {
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
    let train_pixels = crate::evaluator::to_unit_range(&train.images.pixels[..n * 784]);
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

/// `gan-lab eval RUN`: scores a stored run's checkpoint with `samples` images,
/// recording the scores as `eval/<name>` metrics at the checkpoint's step.
pub fn eval_run(
    ctx: &Context,
    run_ref: &str,
    which: &CheckpointChoice,
    samples: usize,
) -> Result<String> {
    if !(100..=60_000).contains(&samples) {
        return Err(AppError::Usage(format!(
            "--samples is {samples}; use 100 to 60000 (10000 is usual)"
        )));
    }
    let restored = restore(ctx, run_ref, which)?;
    let scorer = image_scorer(ctx, Metric::ALL.to_vec())?;
    let (pixels, labels) = runner::generate_for_eval(
        restored.variant.as_ref(),
        samples,
        restored.spec.train.seed ^ 0xE7A1,
    );
    let scores = scorer.score_pixels(&pixels, labels.as_deref())?;
    let tracker = Tracker::open(&ctx.db)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let points: Vec<MetricPoint> = scores
        .iter()
        .map(|s| MetricPoint {
            key: format!("eval/{}", s.name),
            step: restored.step,
            value: s.value,
            wall_time: now,
        })
        .collect();
    tracker.log_metrics(&restored.run.id, &points)?;
    tracker.set_tag(&restored.run.id, "evaluator", &scorer.evaluator.info.id())?;
    Ok(format!(
        "run {} ({}), checkpoint {:?} at step {}, {samples} samples, evaluator {}\n{}",
        restored.run.id,
        restored.run.name,
        which,
        restored.step,
        scorer.evaluator.info.id(),
        format_scores(&scores)
    ))
}

/// `gan-lab eval --images FILE`: scores images from anywhere (an IDX3 file or
/// a folder of 28x28 greyscale PNGs) with the same evaluator.
pub fn eval_images(ctx: &Context, path: &Path) -> Result<String> {
    let pixels = if path.is_dir() {
        read_png_folder(path)?
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
        crate::evaluator::to_unit_range(&images.pixels)
    };
    let n = pixels.len() / 784;
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
        scorer.evaluator.info.id(),
        format_scores(&scores)
    ))
}

fn read_png_folder(dir: &Path) -> Result<Vec<f32>> {
    let io = |path: &Path, source: std::io::Error| AppError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("png")))
        .collect();
    files.sort();
    let mut pixels = Vec::with_capacity(files.len() * 784);
    for file in &files {
        let bad = |why: String| {
            AppError::Usage(format!(
                "{}: {why}; expected a 28x28 greyscale PNG",
                file.display()
            ))
        };
        let reader = std::fs::File::open(file).map_err(|e| io(file, e))?;
        let mut decoder = png::Decoder::new(std::io::BufReader::new(reader));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let frame = reader
            .next_frame(&mut buf)
            .map_err(|e| bad(e.to_string()))?;
        if (frame.width, frame.height) != (28, 28) {
            return Err(bad(format!("it is {}x{}", frame.width, frame.height)));
        }
        let channels = frame.color_type.samples();
        // Colour images count by their first channel; alpha is ignored.
        pixels.extend(
            buf[..frame.buffer_size()]
                .chunks(channels)
                .map(|px| px[0] as f32 / 127.5 - 1.0),
        );
    }
    Ok(pixels)
}

/// `gan-lab check`: parse and validate, nothing else.
pub fn check(path: &Path, overrides: &[String]) -> Result<Spec> {
    Ok(spec::load(path, overrides)?.0)
}

/// `gan-lab run`: a new tracked run of the spec, filed under `sweep` when
/// `gan-lab sweep` starts it.
pub fn run(
    ctx: &Context,
    path: &Path,
    overrides: &[String],
    sweep: Option<&str>,
) -> Result<RunReport> {
    let (spec, source) = spec::load(path, overrides)?;
    let device = ctx.device.build()?;
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let tracker = Tracker::open(&ctx.db)?;
    if let Some(id) = sweep
        && tracker.sweep(id)?.is_none()
    {
        return Err(AppError::Usage(format!(
            "no sweep '{id}' in {}; runs join a sweep through `gan-lab sweep SPEC`",
            ctx.db.display()
        )));
    }
    let run_id = crate::tracker::new_run_id();
    let new = NewRun {
        experiment: spec.experiment_name().to_string(),
        name: spec.name.clone(),
        variant: spec.variant.kind().to_string(),
        spec_text: spec.to_ron(),
        spec_hash: spec.hash(),
        seed: spec.train.seed,
        device: ctx.device.to_string(),
        code_version: code_version(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        run_dir: run_id.clone(),
        total_steps: spec.train.steps,
        sweep_id: sweep.map(str::to_string),
    };
    // Build everything that can fail on input before the run is recorded.
    let (variant, device) = build_variant(&spec, device);
    let loader = build_loader(&spec, &data_dir, variant.as_ref())?;
    let run_id = tracker.create_run_with_id(&run_id, &new)?;
    tracker.log_params(&run_id, &spec.params())?;
    tracker.set_tag(&run_id, "spec_file", &source.path.display().to_string())?;
    if !overrides.is_empty() {
        tracker.set_tag(&run_id, "overrides", &overrides.join(" "))?;
    }
    tracker.set_tag(&run_id, "data_dir", &data_dir.display().to_string())?;
    let run = tracker.run(&run_id)?;
    train(ctx, &tracker, &run, &spec, variant, loader, device, false)
}

/// `gan-lab resume`: continues a run from its last checkpoint.
pub fn resume(ctx: &Context, run_ref: &str) -> Result<RunReport> {
    let tracker = Tracker::open(&ctx.db)?;
    let run = tracker.run(run_ref)?;
    if run.status == RunStatus::Finished {
        return Err(AppError::Usage(format!(
            "run {} ({}) already finished all {} steps; start a new one with `gan-lab run`",
            run.id, run.name, run.total_steps
        )));
    }
    let spec = spec::parse_stored(&run.id, &run.spec_text)?;
    let choice: DeviceChoice = run.device.parse()?;
    let device = choice.build()?;
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let (variant, device) = build_variant(&spec, device);
    let loader = build_loader(&spec, &data_dir, variant.as_ref())?;
    train(ctx, &tracker, &run, &spec, variant, loader, device, true)
}

fn hyper(spec: &Spec) -> Hyper {
    Hyper {
        batch_size: spec.train.batch_size,
        lr_g: spec.train.lr_g,
        lr_d: spec.train.lr_d,
        beta1: spec.train.beta1,
        beta2: spec.train.beta2,
        seed: spec.train.seed,
    }
}

/// Seeds the device, then builds the variant's networks on its autodiff form.
fn build_variant(spec: &Spec, device: Device) -> (Box<dyn Variant>, Device) {
    device.seed(spec.train.seed);
    let device = device.autodiff();
    (spec.variant.build(&hyper(spec), &device), device)
}

fn build_loader(spec: &Spec, data_dir: &Path, variant: &dyn Variant) -> Result<Loader> {
    let train = data::load_split(data_dir, Split::Train)?;
    if (train.images.rows, train.images.cols) != (28, 28) {
        return Err(AppError::Usage(format!(
            "the training images in {} are {}x{}, but gan-lab's models take Fashion-MNIST's 28x28; point --data-dir at Fashion-MNIST",
            data_dir.display(),
            train.images.rows,
            train.images.cols
        )));
    }
    let set = TrainSet::new(
        &train.images.pixels,
        &train.labels,
        spec.data.classes.as_deref(),
        spec.data.limit,
    );
    Ok(Loader::new(
        set,
        variant.streams(),
        spec.train.batch_size,
        spec.train.seed,
    )?)
}

#[allow(clippy::too_many_arguments)]
fn train(
    ctx: &Context,
    tracker: &Tracker,
    run: &RunRecord,
    spec: &Spec,
    variant: Box<dyn Variant>,
    loader: Loader,
    device: Device,
    resuming: bool,
) -> Result<RunReport> {
    let run_dir = run_folder(&ctx.db, run);
    std::fs::create_dir_all(&run_dir).map_err(|source| AppError::Io {
        path: run_dir.clone(),
        source,
    })?;
    let mut tracker_sink = TrackerSink::new(tracker, run.id.clone());
    let mut artifacts = ArtifactSink {
        run_dir: run_dir.clone(),
    };
    let mut progress = ctx.progress.then(|| ProgressSink::new(&spec.name));
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut tracker_sink, &mut artifacts];
    if let Some(p) = progress.as_mut() {
        sinks.push(p);
    }
    // Lets a sweep tell a live run from one whose process died.
    tracker.set_tag(&run.id, "pid", &std::process::id().to_string())?;
    let early_stop = early_stop(tracker, run)?;
    let scorer = match &spec.eval {
        Some(eval) => {
            let scorer = image_scorer(ctx, eval.metrics.clone())?;
            tracker.set_tag(&run.id, "evaluator", &scorer.evaluator.info.id())?;
            Some(Box::new(scorer) as Box<dyn runner::Scorer>)
        }
        None => None,
    };
    let mut runner = Runner {
        variant,
        loader,
        device,
        cadence: Cadence {
            total_steps: spec.train.steps,
            sample_every: spec.samples.every,
            checkpoint_every: spec.checkpoint.every,
            seed: spec.train.seed,
            eval: spec.eval.as_ref().map(|e| (e.every, e.samples)),
        },
        run_dir: run_dir.clone(),
        sinks,
        stop: ctx.stop.clone(),
        scorer,
        early_stop,
    };
    let start = if resuming {
        let step = runner.restore()?;
        // Points recorded after the checkpoint belong to steps that are now re-run.
        tracker.truncate_metrics(&run.id, step)?;
        step
    } else {
        0
    };
    let result = runner.run(start);
    if let Err(e) = &result {
        let reason = format!("internal error: {e}");
        let _ = tracker.set_status(&run.id, RunStatus::Failed, Some(&reason));
    }
    Ok(RunReport {
        run_id: run.id.clone(),
        run_dir,
        outcome: result?,
    })
}

/// The median rule of the run's sweep, if it has one.
fn early_stop<'a>(
    tracker: &'a Tracker,
    run: &RunRecord,
) -> Result<Option<Box<dyn runner::EarlyStop + 'a>>> {
    let Some(sweep) = run.sweep_id.as_deref() else {
        return Ok(None);
    };
    let Some(record) = tracker.sweep(sweep)? else {
        return Ok(None);
    };
    let Some(rule) = record.stopping.as_deref() else {
        return Ok(None);
    };
    let rule = serde_json::from_str(rule).map_err(|e| {
        AppError::Usage(format!(
            "sweep '{sweep}' has an unreadable stopping rule ({e}); run `gan-lab sweep` again to re-register it"
        ))
    })?;
    Ok(Some(Box::new(crate::sweep::stopping::MedianStop {
        tracker,
        sweep: sweep.to_string(),
        run_id: run.id.clone(),
        score: record.score,
        lower_is_better: record.lower_is_better,
        rule,
    })))
}

/// Which checkpoint of a run to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointChoice {
    Last,
    Best,
}

impl std::str::FromStr for CheckpointChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "last" => Ok(CheckpointChoice::Last),
            "best" => Ok(CheckpointChoice::Best),
            other => Err(format!(
                "unknown checkpoint `{other}`; use `last` or `best` (best by FID, when the run evaluated)"
            )),
        }
    }
}

/// A stored run's generator, restored from one of its checkpoints.
pub struct Restored {
    pub run: RunRecord,
    pub spec: Spec,
    pub variant: Box<dyn Variant>,
    pub step: u64,
}

/// Restores a run's variant from its `last` or `best` checkpoint.
pub fn restore(ctx: &Context, run_ref: &str, which: &CheckpointChoice) -> Result<Restored> {
    let tracker = Tracker::open(&ctx.db)?;
    let run = tracker.run(run_ref)?;
    let spec = spec::parse_stored(&run.id, &run.spec_text)?;
    let rel = match which {
        CheckpointChoice::Last => runner::LAST_CHECKPOINT,
        CheckpointChoice::Best => runner::BEST_CHECKPOINT,
    };
    let dir = run_folder(&ctx.db, &run).join(rel);
    let Some(step) = runner::checkpoint_step(&dir) else {
        let hint = if *which == CheckpointChoice::Best {
            "best checkpoints exist only for runs with an `eval` section; use --checkpoint last"
        } else {
            "the run stopped before its first checkpoint; resume or rerun it"
        };
        return Err(AppError::Usage(format!(
            "run {} has no {rel} checkpoint ({}): {hint}",
            run.id,
            dir.display()
        )));
    };
    let (mut variant, _) = build_variant(&spec, ctx.device.build()?);
    variant
        .load(&dir)
        .map_err(|e| runner::RunnerError::Restore {
            dir: dir.clone(),
            source: Box::new(e),
        })?;
    Ok(Restored {
        run,
        spec,
        variant,
        step,
    })
}

/// What `gan-lab sample` draws.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRequest {
    /// Images, or with `interpolate` the number of rows (walks).
    pub n: usize,
    pub seed: u64,
    /// Only this class (conditional runs): a name or an index.
    pub class: Option<String>,
    /// Walk between two noise vectors in this many steps per row.
    pub interpolate: Option<usize>,
}

/// `gan-lab sample`: images from a run's generator, written as an IDX3 file
/// or, for a `.png` path, as a grid. Returns what was written.
pub fn sample(
    ctx: &Context,
    run_ref: &str,
    which: &CheckpointChoice,
    request: &SampleRequest,
    out: &Path,
) -> Result<String> {
    let n = request.n;
    if n == 0 {
        return Err(AppError::Usage("--n must be at least 1".into()));
    }
    if let Some(steps) = request.interpolate
        && (!(2..=64).contains(&steps) || n > 64)
    {
        return Err(AppError::Usage(format!(
            "--interpolate {steps} with --n {n}: use 2 to 64 steps per row and at most 64 rows (--n is the number of rows here), e.g. --interpolate 10 --n 8"
        )));
    }
    let class = request.class.as_deref().map(parse_class).transpose()?;
    let restored = restore(ctx, run_ref, which)?;
    let variant = restored.variant.as_ref();
    if class.is_some() && variant.classes().is_none() {
        return Err(AppError::Usage(format!(
            "run {} is a {} run, which is not class-conditional; --class needs a conditional run",
            restored.run.id, restored.run.variant
        )));
    }
    let (pixels, rows, cols, row_labels) = match request.interpolate {
        Some(steps) => {
            let noise = crate::interpolate::walks(n, steps, variant.latent_dim(), request.seed);
            // A conditional run walks within one class: the asked one, or class r in row r.
            let row_classes: Option<Vec<u8>> = variant
                .classes()
                .map(|k| (0..n).map(|r| class.unwrap_or((r % k) as u8)).collect());
            let labels: Option<Vec<u8>> = row_classes.as_ref().map(|c| {
                c.iter()
                    .flat_map(|&c| std::iter::repeat_n(c, steps))
                    .collect()
            });
            let pixels = variant.generate_from_noise(&noise, labels.as_deref());
            let row_labels = row_classes
                .map(|c| {
                    c.iter()
                        .map(|&c| data::CLASS_NAMES[c as usize].to_string())
                        .collect()
                })
                .unwrap_or_default();
            (pixels, n, steps, row_labels)
        }
        None => {
            let pixels = match class {
                Some(class) => variant
                    .generate_labeled(&vec![class; n], request.seed)
                    .expect("a conditional variant generates labelled images"),
                None => variant.generate(n, request.seed),
            };
            let cols = (n as f64).sqrt().ceil() as usize;
            (pixels, n.div_ceil(cols), cols, Vec::new())
        }
    };
    let count = pixels.len() / 784;
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        let grid = gan_lab_variants::SampleGrid {
            rows,
            cols,
            pixels,
            row_labels,
        };
        crate::grid::write_png(out, &grid).map_err(|source| AppError::Io {
            path: out.to_path_buf(),
            source,
        })?;
    } else {
        let images = data::Images {
            count,
            rows: 28,
            cols: 28,
            pixels: pixels.iter().map(|&v| crate::grid::to_byte(v)).collect(),
        };
        data::write_images(out, &images)?;
    }
    let format = if is_png { "a PNG grid" } else { "an IDX3 file" };
    let what = match request.interpolate {
        Some(steps) => format!("{n} interpolations of {steps} steps"),
        None => format!("{n} samples"),
    };
    Ok(format!(
        "wrote {what} of run {} (checkpoint at step {}) to {} as {format}",
        restored.run.id,
        restored.step,
        out.display()
    ))
}

/// A class by name (any case, common aliases) or index.
pub fn parse_class(name: &str) -> Result<u8> {
    data::class_index(name).map(|c| c as u8).ok_or_else(|| {
        let valid: Vec<String> = data::CLASS_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}"))
            .collect();
        AppError::Usage(format!(
            "unknown class `{name}`; use a name or index: {}",
            valid.join(", ")
        ))
    })
}

/// `gan-lab list`: one line per run.
pub fn list(db: &Path, filter: &RunFilter) -> Result<String> {
    let tracker = Tracker::open(db)?;
    let runs = tracker.list_runs(filter)?;
    if runs.is_empty() {
        return Ok(format!(
            "no runs in {} yet; start one with `gan-lab run experiments/vanilla.ron`\n",
            db.display()
        ));
    }
    let mut rows = vec![vec![
        "ID".to_string(),
        "NAME".into(),
        "VARIANT".into(),
        "STATUS".into(),
        "STEPS".into(),
        "LOSS_D".into(),
        "LOSS_G".into(),
        "STARTED".into(),
    ]];
    for run in &runs {
        let latest = tracker.latest_metrics(&run.id)?;
        let metric = |k: &str| {
            latest
                .iter()
                .find(|m| m.key == k)
                .map_or_else(|| "-".to_string(), |m| format!("{:.4}", m.value))
        };
        rows.push(vec![
            run.id.clone(),
            run.name.clone(),
            run.variant.clone(),
            run.status.to_string(),
            format!("{}/{}", run.steps_done, run.total_steps),
            metric("loss_d"),
            metric("loss_g"),
            format_time(run.started_at),
        ]);
    }
    Ok(table(&rows))
}

/// `gan-lab show`: everything recorded about one run.
pub fn show(db: &Path, run_ref: &str) -> Result<String> {
    let tracker = Tracker::open(db)?;
    let run = tracker.run(run_ref)?;
    let mut out = String::new();
    let duration = run.ended_at.map_or_else(
        || "-".to_string(),
        |end| format!("{:.1} s", end - run.started_at),
    );
    let fields = [
        ("id", run.id.clone()),
        ("name", run.name.clone()),
        ("experiment", run.experiment.clone()),
        ("variant", run.variant.clone()),
        ("status", run.status.to_string()),
        (
            "reason",
            run.status_reason.clone().unwrap_or_else(|| "-".into()),
        ),
        ("steps", format!("{}/{}", run.steps_done, run.total_steps)),
        ("started", format_time(run.started_at)),
        (
            "ended",
            run.ended_at.map_or_else(|| "-".into(), format_time),
        ),
        ("duration", duration),
        ("seed", run.seed.to_string()),
        ("device", run.device.clone()),
        ("code", run.code_version.clone()),
        ("host", run.host.clone()),
        ("spec hash", run.spec_hash.clone()),
        ("folder", run_folder(db, &run).display().to_string()),
    ];
    for (k, v) in fields {
        out += &format!("{k:>11}: {v}\n");
    }
    let tags = tracker.tags(&run.id)?;
    if !tags.is_empty() {
        out += "\nTags\n";
        for (k, v) in tags {
            out += &format!("  {k} = {v}\n");
        }
    }
    out += "\nParameters\n";
    for (k, v) in tracker.params(&run.id)? {
        out += &format!("  {k} = {v}\n");
    }
    out += "\nLatest metrics (step: value)\n";
    for m in tracker.latest_metrics(&run.id)? {
        out += &format!("  {:<18} {:>7}: {:.6}\n", m.key, m.step, m.value);
    }
    let mut speeds: Vec<f64> = tracker
        .metric_series(&run.id, "img_per_s")?
        .into_iter()
        .map(|p| p.1)
        .collect();
    if !speeds.is_empty() {
        speeds.sort_by(f64::total_cmp);
        out += &format!(
            "\nThroughput: median {:.0} img/s over {} steps\n",
            speeds[speeds.len() / 2],
            speeds.len()
        );
    }
    let artifacts = tracker.artifacts(&run.id)?;
    if !artifacts.is_empty() {
        out += "\nArtifacts\n";
        for a in artifacts {
            let step = a.step.map_or_else(|| "-".into(), |s| s.to_string());
            out += &format!("  {:<10} step {:>7}  {}\n", a.kind, step, a.path);
        }
    }
    out += "\nSpec\n";
    for line in run.spec_text.lines() {
        out += &format!("  {line}\n");
    }
    Ok(out)
}

pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out += cells.join("  ").trim_end();
        out.push('\n');
    }
    out
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(unix: f64) -> String {
    let secs = unix as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_939_200.0), "2026-11-29 08:00:00");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            vec!["A".into(), "BB".into()],
            vec!["ccc".into(), "d".into()],
        ]);
        assert_eq!(t, "A    BB\nccc  d\n");
    }
}
