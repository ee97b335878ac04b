//! `gan-lab run`: train a new tracked run with the tracker, artifact and
//! progress sinks; also the training that `resume` and `sweep-task` share,
//! and how a finished run is reported.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use burn::prelude::Device;
use clap::Args;
use gan_lab_variants::Variant;

use crate::commands::args::{DeviceArg, Overrides};
use crate::commands::error::{AppError, Result};
use crate::commands::restore::build_variant;
use crate::context::{ActiveRun, Context, code_version};
use crate::data::{self, Split};
use crate::device::DeviceChoice;
use crate::eval::scoring::image_scorer;
use crate::spec::{self, Spec};
use crate::store::layout::RunLayout;
use crate::store::tracker::{Heartbeat, NewRun, RunRecord, RunStatus, Tracker};
use crate::train::events::Sink;
use crate::train::events::{Event, EventKind};
use crate::train::loader::{Loader, TrainSet};
use crate::train::runner::{self, Cadence, Runner};
use crate::train::sinks::{ArtifactSink, ProgressSink, TrackerSink};

/// `gan-lab run`'s flags.
#[derive(Args)]
#[command(after_help = "Examples:\n  gan-lab run experiments/vanilla.ron\n  \
    gan-lab run experiments/dcgan.ron --set train.steps=200 --set variant.loss=Hinge\n\n\
    Ctrl-C stops after the current step, writes a checkpoint and marks the run \
    interrupted; `gan-lab resume RUN` continues it.")]
pub struct RunArgs {
    /// The experiment spec (see experiments/*.ron)
    pub spec: PathBuf,
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(flatten)]
    pub device: DeviceArg,
    /// File the run under this (registered) sweep; `gan-lab sweep` passes it
    #[arg(long, hide = true)]
    pub sweep: Option<String>,
}

/// `gan-lab run SPEC`: trains it and says how it ended.
pub fn execute(ctx: &Context, args: &RunArgs) -> Result<ExitCode> {
    let ctx = args.device.on(ctx);
    let report = run(&ctx, &args.spec, &args.overrides.set, args.sweep.as_deref())?;
    Ok(report_outcome(&report, &ctx.db))
}

/// Prints how a run ended (and what to do next); its exit code: 0 when it
/// finished or a stopping rule ended it, 130 when interrupted, 1 when it failed.
pub fn report_outcome(report: &RunReport, db: &Path) -> ExitCode {
    let id = &report.run_id;
    let step = report.outcome.step;
    match &report.outcome.kind {
        EventKind::Finished => {
            println!(
                "run {id} finished {step} steps; samples and checkpoints in {}",
                report.run_dir.display()
            );
            println!("details: gan-lab --db {} show {id}", db.display());
            ExitCode::SUCCESS
        }
        EventKind::Interrupted => {
            println!(
                "run {id} interrupted after step {step}; continue with: gan-lab --db {} resume {id}",
                db.display()
            );
            ExitCode::from(130)
        }
        EventKind::Failed { reason } => {
            eprintln!("run {id} failed at step {step}: {reason}");
            ExitCode::from(1)
        }
        EventKind::Stopped { reason } => {
            println!("run {id} stopped after step {step}: {reason}");
            ExitCode::SUCCESS
        }
        other => unreachable!("a run ends on its outcome, not on {other:?}"),
    }
}

/// What a finished `run` or `resume` reports.
#[derive(Debug)]
pub struct RunReport {
    pub run_id: String,
    pub run_dir: PathBuf,
    /// The run's last event, whose kind is how it ended.
    pub outcome: Event,
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
    let run_id = crate::store::tracker::new_run_id();
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
    let prepared = Prepared {
        run,
        spec,
        variant,
        loader,
        device,
        resuming: false,
    };
    train(ctx, &tracker, prepared)
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
    // Refuses a run whose trainer is alive; takes over a lost or stopped one.
    tracker.claim(
        &run.id,
        std::process::id(),
        &crate::store::tracker::this_host(),
    )?;
    let prepared = Prepared {
        run,
        spec,
        variant,
        loader,
        device,
        resuming: true,
    };
    train(ctx, &tracker, prepared)
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
    loader(spec, &train, variant)
}

/// The loader of a spec's streams over an already read training split.
pub(crate) fn loader(spec: &Spec, train: &data::Dataset, variant: &dyn Variant) -> Result<Loader> {
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

/// A run ready to train: recorded (and claimed), its variant built and its data loaded.
struct Prepared {
    run: RunRecord,
    spec: Spec,
    variant: Box<dyn Variant>,
    loader: Loader,
    device: Device,
    /// Continue from the last checkpoint.
    resuming: bool,
}

/// Trains a prepared run with a heartbeat; a run that ends in an error
/// before the runner recorded its end is marked failed (or interrupted).
fn train(ctx: &Context, tracker: &Tracker, prepared: Prepared) -> Result<RunReport> {
    let run = prepared.run.clone();
    let _heartbeat = Heartbeat::start(&ctx.db, &run.id)?;
    let _active = ActiveRun::register(&ctx.db, &run.id);
    let result = train_claimed(ctx, tracker, prepared);
    if let Err(e) = &result {
        let (status, reason) = if ctx.stop.load(Ordering::SeqCst) {
            (
                RunStatus::Interrupted,
                format!("stopped before training: {e}"),
            )
        } else {
            (RunStatus::Failed, format!("internal error: {e}"))
        };
        // The run's own error is what the user needs; a second one would hide it.
        let current = tracker.run(&run.id).map(|r| r.status);
        if matches!(current, Ok(RunStatus::Running)) {
            let _ = tracker.set_status(&run.id, status, Some(&reason));
        }
    }
    result
}

/// [`train`] once the run is this process's: the sinks, the judge and the runner.
fn train_claimed(ctx: &Context, tracker: &Tracker, prepared: Prepared) -> Result<RunReport> {
    let Prepared {
        run,
        spec,
        variant,
        loader,
        device,
        resuming,
    } = prepared;
    let (run, spec) = (&run, &spec);
    let layout = RunLayout::of(&ctx.db, &run.run_dir)?;
    let run_dir = layout.root.clone();
    std::fs::create_dir_all(&run_dir).map_err(|source| AppError::Io {
        path: run_dir.clone(),
        source,
    })?;
    let mut tracker_sink = TrackerSink::new(tracker, run.id.clone());
    let mut artifacts = ArtifactSink {
        run_dir: run_dir.clone(),
    };
    let mut progress = ctx
        .progress
        .then(|| ProgressSink::new(&spec.name, crate::eval::scoring::objective(spec)));
    let mut sinks: Vec<&mut dyn Sink> = vec![&mut tracker_sink, &mut artifacts];
    if let Some(p) = progress.as_mut() {
        sinks.push(p);
    }
    // Lets a sweep tell a live run from one whose process died.
    tracker.set_tag(&run.id, "pid", &std::process::id().to_string())?;
    let early_stop = early_stop(tracker, run)?;
    let judge = match &spec.eval {
        Some(eval) => {
            let scorer = image_scorer(ctx, eval.metrics.clone())?;
            tracker.set_tag(&run.id, "evaluator", &scorer.evaluator.id())?;
            Some(Box::new(scorer) as Box<dyn gan_lab_variants::Judge>)
        }
        None => None,
    };
    let objective = crate::eval::scoring::objective(spec);
    let mut runner = Runner {
        variant,
        loader,
        device,
        cadence: Cadence {
            total_steps: spec.train.steps,
            sample_every: spec.samples.every,
            checkpoint_every: spec.checkpoint.every,
            keep_every: spec.checkpoint.keep_every,
            seed: spec.train.seed,
            eval: spec.eval.as_ref().map(|e| (e.every, e.samples)),
        },
        layout,
        sinks,
        stop: ctx.stop.clone(),
        judge,
        objective,
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
    Ok(RunReport {
        run_id: run.id.clone(),
        run_dir,
        outcome: runner.run(start)?,
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
        shards: crate::store::layout::shard_siblings(tracker.path()),
    })))
}
