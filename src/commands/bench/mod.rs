//! `gan-lab bench`: how fast this machine trains, tracks and scores, in one
//! table (or JSON for scripts): training images per second of each
//! experiment spec at each batch size (the reference DCGAN of
//! `shared/bench/torch_dcgan.py` is `experiments/dcgan.ron`), the same
//! DCGAN in PyTorch alternating with gan-lab where PyTorch is importable,
//! tracker writes per second, the time to score 10,000 images, and the peak
//! memory of a training process.
//!
//! Training is measured with the variants' own `train_step` on batches from
//! the run's loader, as `gan-lab run` trains, minus sample grids,
//! checkpoints and evaluation ([`measure`], with the tracker and scoring
//! measurements); the PyTorch comparison is in [`torch`], the peak memory
//! of a training process in [`memory`], the tables in [`format`].

mod format;
mod measure;
mod memory;
mod torch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use serde::Serialize;

use crate::commands::args::DeviceArg;
use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::data::{self, Split};
use crate::spec;

/// `gan-lab bench`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab bench\n  gan-lab bench --quick --json\n  \
    gan-lab bench --batch 64 --python /work/venv-torch/bin/python\n\n\
    Each training measurement is a few untimed steps, then --steps timed ones. The reference \
    DCGAN (experiments/dcgan.ron) is also trained alternately with the same network in PyTorch \
    (shared/bench/torch_dcgan.py) when the Python can import torch."
)]
pub struct BenchArgs {
    #[command(flatten)]
    pub device: DeviceArg,
    /// Batch size to train at, repeatable [default: 64 and 256]
    #[arg(long = "batch", value_name = "N")]
    pub batches: Vec<usize>,
    /// Timed training steps per measurement, after 2 untimed ones [default: 10]
    #[arg(long)]
    pub steps: Option<u64>,
    /// Tiny settings that finish in seconds: batch 16, 2 steps, 50,000 tracker points, 1,000 images
    #[arg(long)]
    pub quick: bool,
    /// Python with torch for the PyTorch comparison [default: python3, skipped when it lacks torch]
    #[arg(long, env = "GAN_LAB_PYTHON", value_name = "PATH")]
    pub python: Option<String>,
    /// The PyTorch DCGAN script [default: shared/bench/torch_dcgan.py in the nearest folder above the source tree]
    #[arg(long, value_name = "FILE")]
    pub torch_script: Option<PathBuf>,
    /// Folder of the experiment specs to train (sweep specs are left out)
    #[arg(long, default_value = "experiments", value_name = "DIR")]
    pub experiments: PathBuf,
    /// Print the measurements as JSON
    #[arg(long)]
    pub json: bool,
}

/// `gan-lab bench`: measures, then prints the tables or the JSON.
pub fn execute(ctx: &Context, args: &BenchArgs) -> Result<ExitCode> {
    let ctx = args.device.on(ctx);
    let report = bench(&ctx, &BenchOptions::from_args(args)?)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data serializes")
        );
    } else {
        print!("{}", format::format_report(&report));
    }
    Ok(ExitCode::SUCCESS)
}

/// What to measure and how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Experiment specs to train (the first named `dcgan.ron` is the reference).
    pub specs: Vec<PathBuf>,
    pub batches: Vec<usize>,
    /// Untimed steps before each measurement.
    pub warmup: u64,
    /// Timed steps per measurement.
    pub steps: u64,
    /// gan-lab / PyTorch rounds, alternating, per batch size.
    pub rounds: usize,
    /// The Python that runs PyTorch, and whether the user named it (then
    /// it must work).
    pub python: String,
    pub python_given: bool,
    pub torch_script: PathBuf,
    /// Tracker points written (in batches of 1,000).
    pub tracker_points: usize,
    /// Images scored.
    pub score_images: usize,
    /// Steps of the training process whose peak memory is measured.
    pub memory_steps: u64,
}

impl BenchOptions {
    /// The defaults: every spec in `experiments`, batches 64 and 256, about
    /// a few seconds per measurement on a 2-core machine.
    pub fn new(experiments: &Path) -> Result<Self> {
        Ok(Self {
            specs: experiment_specs(experiments)?,
            batches: vec![64, 256],
            warmup: 2,
            steps: 10,
            rounds: 2,
            python: "python3".into(),
            python_given: false,
            torch_script: torch::default_torch_script(),
            tracker_points: 500_000,
            score_images: 10_000,
            memory_steps: 20,
        })
    }

    /// The defaults, changed by the flags given.
    pub fn from_args(args: &BenchArgs) -> Result<Self> {
        let mut options = Self::new(&args.experiments)?;
        if args.quick {
            options = options.quick();
        }
        if !args.batches.is_empty() {
            options.batches = args.batches.clone();
        }
        if let Some(steps) = args.steps {
            options.steps = steps;
        }
        if let Some(python) = &args.python {
            options.python = python.clone();
            options.python_given = true;
        }
        if let Some(script) = &args.torch_script {
            options.torch_script = script.clone();
        }
        Ok(options)
    }

    /// Tiny settings that finish in seconds (for tests and a first look).
    pub fn quick(mut self) -> Self {
        self.batches = vec![16];
        self.warmup = 1;
        self.steps = 2;
        self.rounds = 1;
        self.tracker_points = 50_000;
        self.score_images = 1_000;
        self.memory_steps = 2;
        self
    }
}

/// The experiment specs (not sweeps) in `dir`, sorted, `dcgan.ron` first.
fn experiment_specs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        AppError::Usage(format!(
            "cannot read the experiments folder {} ({e}); run gan-lab bench in the gan-lab folder, or pass --experiments DIR",
            dir.display()
        ))
    })?;
    let mut specs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|text| !spec::is_sweep(&text)))
        .collect();
    specs.sort_by_key(|p| (p.file_name().is_none_or(|n| n != "dcgan.ron"), p.clone()));
    Ok(specs)
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub machine: Machine,
    pub training: Vec<Training>,
    pub torch: Torch,
    pub tracker: TrackerSpeed,
    pub scoring: Scoring,
    pub memory: Memory,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub host: String,
    pub cpus: usize,
    /// 1-, 5- and 15-minute load averages when the bench started.
    pub load: Vec<f64>,
    pub device: String,
    pub gan_lab: String,
}

#[derive(Debug, Serialize)]
pub struct Training {
    pub spec: String,
    pub variant: String,
    pub batch: usize,
    pub steps: u64,
    pub seconds: f64,
    pub img_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Torch {
    /// Why PyTorch was not measured, if it was not.
    pub skipped: Option<String>,
    pub python: String,
    pub rows: Vec<TorchRow>,
}

#[derive(Debug, Serialize)]
pub struct TorchRow {
    pub batch: usize,
    /// Per round, measured alternately.
    pub gan_lab_img_per_s: Vec<f64>,
    pub torch_img_per_s: Vec<f64>,
    /// Median of gan-lab's rounds over the median of PyTorch's.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct TrackerSpeed {
    pub points: usize,
    pub batch: usize,
    pub seconds: f64,
    pub points_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Scoring {
    pub skipped: Option<String>,
    pub images: usize,
    /// Loading the evaluator and the reference features.
    pub setup_seconds: f64,
    /// Features and every metric of `images` generated images.
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub spec: String,
    pub steps: u64,
    /// The training process's peak resident memory (getrusage ru_maxrss).
    pub peak_rss_mib: f64,
}

/// Runs every measurement.
pub fn bench(ctx: &Context, options: &BenchOptions) -> Result<BenchReport> {
    let machine = machine(ctx);
    // A named Python that cannot import torch is an input error, found first.
    let torch_python = torch::torch_python(options)?;
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let train = data::load_split(&data_dir, Split::Train)?;
    let mut training = Vec::new();
    for path in &options.specs {
        for &batch in &options.batches {
            note(
                ctx,
                &format!("training {} at batch {batch}", path.display()),
            );
            training.push(measure::training(ctx, &train, path, batch, options)?);
        }
    }
    let torch = match torch_python {
        Err(reason) => Torch {
            skipped: Some(reason),
            python: options.python.clone(),
            rows: Vec::new(),
        },
        Ok(()) => {
            let reference = options
                .specs
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == "dcgan.ron"));
            match reference {
                None => Torch {
                    skipped: Some("no dcgan.ron among the specs".into()),
                    python: options.python.clone(),
                    rows: Vec::new(),
                },
                Some(spec) => Torch {
                    skipped: None,
                    python: options.python.clone(),
                    rows: options
                        .batches
                        .iter()
                        .map(|&b| torch::versus_torch(ctx, &train, spec, b, options))
                        .collect::<Result<_>>()?,
                },
            }
        }
    };
    note(ctx, "tracker writes");
    let tracker = measure::tracker_speed(options.tracker_points)?;
    note(ctx, "scoring");
    let scoring = measure::scoring(ctx, &data_dir, &train, options.score_images)?;
    note(ctx, "peak memory of a training process");
    let memory = memory::peak(ctx, options)?;
    Ok(BenchReport {
        machine,
        training,
        torch,
        tracker,
        scoring,
        memory,
    })
}

/// A line on stderr saying what is measured now, unless `--quiet`.
fn note(ctx: &Context, what: &str) {
    if ctx.progress {
        eprintln!("bench: {what}");
    }
}

fn machine(ctx: &Context) -> Machine {
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| {
            s.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Machine {
        host: crate::store::tracker::this_host(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load,
        device: ctx.device.to_string(),
        gan_lab: crate::context::code_version(),
    }
}
