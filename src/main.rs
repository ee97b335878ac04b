//! The `gan-lab` command line: flags to [`gan_lab::commands`] calls, errors
//! to their whole chain on stderr and an exit code (2 for bad input).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Parser, Subcommand};
use gan_lab::commands::{self, run::RunReport};
use gan_lab::context::{ActiveRun, Context, default_cache};
use gan_lab::device::DeviceChoice;
use gan_lab::error::AppError;
use gan_lab::store::layout::Checkpoint;
use gan_lab::store::tracker::{RunFilter, RunStatus, Tracker};
use gan_lab::train::events::EventKind;

/// mimalloc keeps the pages of freed buffers for the next training step's
/// (the system allocator maps, faults in and zeroes every large buffer
/// afresh); see [`keep_freed_pages`].
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the 16th option of `mimalloc.h`, v2
/// and v3; 1,000 ms by default in v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed pages back to the OS: a training step frees and
/// reallocates the same large buffers every few milliseconds, and each purge
/// costs page faults on the next step. Resident memory stays at the peak.
fn keep_freed_pages() {
    // SAFETY: sets one of mimalloc's integer options; any value is allowed.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

#[derive(Parser)]
#[command(
    name = "gan-lab",
    version,
    about = "Run, track and compare GAN experiments on Fashion-MNIST",
    long_about = "Run, track and compare GAN experiments on Fashion-MNIST.\n\n\
        Every run is recorded in a SQLite database (parameters, per-step metrics, sample \
        grids, checkpoints, status), so runs can be listed, inspected and resumed.",
    after_help = "Start with:\n  gan-lab run experiments/vanilla.ron\n  gan-lab list\n  gan-lab show <RUN>"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Tracking database [default: runs/gan-lab.sqlite]
    #[arg(long, global = true, env = "GAN_LAB_DB", value_name = "FILE")]
    db: Option<PathBuf>,
    /// Folder with the four Fashion-MNIST IDX files (else GAN_LAB_DATA, else the user cache, downloading there)
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Cache folder for the trained evaluator [default: the user cache folder, gan-lab/]
    #[arg(long, global = true, env = "GAN_LAB_CACHE", value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Score with the evaluator `gan-lab evaluator train --out DIR` wrote, not the built-in one
    #[arg(long, global = true, env = "GAN_LAB_EVALUATOR", value_name = "DIR")]
    evaluator: Option<PathBuf>,
    /// Hide the progress bar
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Train one experiment from a RON spec, tracked in the database
    #[command(after_help = "Examples:\n  gan-lab run experiments/vanilla.ron\n  \
        gan-lab run experiments/dcgan.ron --set train.steps=200 --set variant.loss=Hinge\n\n\
        Ctrl-C stops after the current step, writes a checkpoint and marks the run \
        interrupted; `gan-lab resume RUN` continues it.")]
    Run {
        /// The experiment spec (see experiments/*.ron)
        spec: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
        /// Compute device: flex (CPU, default), ndarray, wgpu or cuda (the last three need the cargo feature of that name)
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceChoice,
        /// File the run under this (registered) sweep; `gan-lab sweep` passes it
        #[arg(long, hide = true)]
        sweep: Option<String>,
    },
    /// Train many runs from one sweep spec (grid, random search, seeds), in parallel and resumable
    #[command(
        after_help = "Examples:\n  gan-lab sweep experiments/sweep-lr.ron --dry-run\n  \
        gan-lab sweep experiments/sweep-lr.ron --jobs 2\n\n\
        Each run is a separate `gan-lab` process. Running the same sweep again skips finished \
        and early-stopped runs (matched by configuration), resumes interrupted ones from their \
        checkpoints, and leaves failed ones alone unless --retry-failed. Ctrl-C stops every \
        running child after its current step, with a checkpoint."
    )]
    Sweep {
        /// The sweep spec (see experiments/sweep-lr.ron)
        spec: PathBuf,
        /// Runs trained at once (each a separate process)
        #[arg(long, short, default_value_t = 1)]
        jobs: usize,
        /// Print the expanded runs and what each needs, without training
        #[arg(long)]
        dry_run: bool,
        /// Start failed runs again (as new runs; the failed ones stay recorded)
        #[arg(long)]
        retry_failed: bool,
        /// Compute device of the runs: flex (CPU, default), ndarray, wgpu or cuda
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceChoice,
        #[command(flatten)]
        cluster: Cluster,
    },
    /// Train run INDEX of a sweep's plan into its own database shard (what each Slurm array task runs)
    #[command(
        after_help = "Example:\n  gan-lab sweep-task experiments/sweep-lr.ron --index 3\n\n\
        The run is the one `gan-lab sweep SPEC --dry-run` lists as #INDEX (same configuration \
        and name). It is recorded in runs/shards/<sweep>/<INDEX>.sqlite, its folder beside it; \
        `gan-lab merge` brings the shards into the main database."
    )]
    SweepTask {
        /// The sweep spec
        spec: PathBuf,
        /// The run's index in the plan (Slurm's $SLURM_ARRAY_TASK_ID)
        #[arg(long)]
        index: usize,
        /// Train again a run that failed in this shard
        #[arg(long)]
        retry_failed: bool,
        /// Compute device: flex (CPU, default), ndarray, wgpu or cuda
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceChoice,
    },
    /// Merge database shards (from Slurm array tasks) into the database; merging twice changes nothing
    #[command(
        after_help = "Examples:\n  gan-lab merge runs/shards/sweep-lr\n  gan-lab merge runs/shards/sweep-lr/3.sqlite\n\n\
        Run ids, metrics, artifact paths and sweep membership are kept. Each shard is merged in \
        one transaction; a run already merged is replaced only by a fresher copy."
    )]
    Merge {
        /// Shard files, or folders searched for *.sqlite shards
        #[arg(required = true, value_name = "SHARD_OR_DIR")]
        inputs: Vec<PathBuf>,
    },
    /// Validate a spec (and overrides) without training
    #[command(
        after_help = "Example:\n  gan-lab check experiments/dcgan.ron --set train.batch_size=128"
    )]
    Check {
        spec: PathBuf,
        #[command(flatten)]
        overrides: Overrides,
    },
    /// Continue an interrupted, failed or early-stopped run from its last checkpoint
    #[command(
        after_help = "Example:\n  gan-lab resume 3f9c2a1b   (an id, a unique id prefix or a unique run name)"
    )]
    Resume {
        /// Run id, unique id prefix, or unique run name
        run: String,
    },
    /// List runs, newest first
    #[command(
        after_help = "Examples:\n  gan-lab list\n  gan-lab list --status failed --experiment dcgan"
    )]
    List {
        /// Only runs of this experiment
        #[arg(long)]
        experiment: Option<String>,
        /// Only runs with this status (running, finished, failed, interrupted, stopped)
        #[arg(long)]
        status: Option<RunStatus>,
        /// Only runs of this sweep
        #[arg(long)]
        sweep: Option<String>,
        /// At most this many runs
        #[arg(long, short = 'n')]
        limit: Option<usize>,
    },
    /// The Fashion-MNIST classifier that scores generated images
    #[command(
        subcommand,
        after_help = "Examples:\n  gan-lab evaluator info\n  gan-lab evaluator train"
    )]
    Evaluator(EvaluatorCommand),
    /// Score a run's generator (FID, KID, IS, class coverage, precision/recall), or any images
    #[command(
        after_help = "Examples:\n  gan-lab eval 3f9c --checkpoint best --samples 10000\n  \
        gan-lab eval --images samples.idx     (an IDX3 file or a folder of 28x28 PNGs)\n\n\
        Scores are computed on the evaluator's features against the test split; they \
        compare runs scored by the same evaluator, not numbers from Inception-based papers."
    )]
    Eval {
        /// Run id, unique id prefix, or unique run name
        #[arg(required_unless_present = "images", conflicts_with = "images")]
        run: Option<String>,
        /// Score these images instead of a run
        #[arg(long, value_name = "FILE")]
        images: Option<PathBuf>,
        /// Checkpoint to score: last, best (by the variant's score) or a step kept by `checkpoint.keep_every`
        #[arg(long, default_value = "last")]
        checkpoint: Checkpoint,
        /// Generated images to score
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
    },
    /// Write samples of a run's generator as an IDX3 file or a PNG grid
    #[command(
        after_help = "Examples:\n  gan-lab sample 3f9c --n 64 --out grid.png\n  \
        gan-lab sample 3f9c --n 10000 --out samples.idx   (for `gan-lab eval --images`)\n  \
        gan-lab sample cgan --class sneaker --n 64 --out sneakers.png\n  \
        gan-lab sample cgan --class sneaker --interpolate 10 --n 6 --out walk.png\n  \
        gan-lab sample stackgan --caption \"a dark patterned dress\" --n 16 --out dress.png"
    )]
    Sample {
        /// Run id, unique id prefix, or unique run name
        run: String,
        /// How many images (with --interpolate: how many rows) [default: 64, or 10 with --interpolate]
        #[arg(long)]
        n: Option<usize>,
        /// Output file: .png for a grid, anything else for IDX3
        #[arg(long)]
        out: PathBuf,
        /// Checkpoint to sample: last, best (by the variant's score) or a step kept by `checkpoint.keep_every`
        #[arg(long, default_value = "last")]
        checkpoint: Checkpoint,
        /// Noise seed
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only this class (conditional runs): a name such as sneaker, or an index 0-9
        #[arg(long)]
        class: Option<String>,
        /// Draw from this caption (StackGAN runs), such as "a dark patterned dress"; a .png shows the Stage-I row (upscaled) above the Stage-II row, any other name holds the Stage-II images
        #[arg(long, conflicts_with_all = ["class", "interpolate"])]
        caption: Option<String>,
        /// Rows that walk between two random noise vectors in this many steps (spherical interpolation); a conditional run keeps one class per row
        #[arg(long, value_name = "STEPS")]
        interpolate: Option<usize>,
        /// Draw each pixel of a .png grid as an N x N block (crisp, nearest neighbour), 1 to 16
        #[arg(long, default_value_t = 1, value_name = "N")]
        scale: usize,
    },
    /// Translate images from one domain to the other with a translating run
    #[command(
        after_help = "Examples:\n  gan-lab translate 3f9c --direction a2b --input sneaker.png --out boot.png\n  \
        gan-lab translate 3f9c --direction b2a --input boots/ --out sneakers.png   (a folder of 28x28 PNGs)\n  \
        gan-lab translate 3f9c --direction a2b --input t10k-images-idx3-ubyte --out boots.idx\n\n\
        A .png output shows each row of inputs above its translations; any other name is an IDX3 file."
    )]
    Translate {
        /// Run id, unique id prefix, or unique run name
        run: String,
        /// a2b (domain A to domain B) or b2a
        #[arg(long, value_parser = commands::translate::parse_direction)]
        direction: gan_lab_variants::Direction,
        /// Images to translate: an IDX3 file, one 28x28 greyscale PNG or a folder of them
        #[arg(long, value_name = "FILE|DIR")]
        input: PathBuf,
        /// Output file: .png for inputs above translations, anything else for IDX3
        #[arg(long)]
        out: PathBuf,
        /// Checkpoint to use: last, best (by translation FID) or a step kept by `checkpoint.keep_every`
        #[arg(long, default_value = "last")]
        checkpoint: Checkpoint,
    },
    /// Write an HTML report comparing runs (charts, samples, diagnosis)
    #[command(
        after_help = "Examples:\n  gan-lab report --experiment dcgan\n  gan-lab report --runs 3f9c a1b2 --out /tmp/cmp\n  gan-lab report --sweep sweep-lr\n\n\
        The page is one self-contained file (open it offline); a run's diagnosis explains \
        its balance between D and G, with the thresholds in the page's footnote."
    )]
    Report {
        /// Runs to include: ids, unique id prefixes or unique names (default: all matching)
        #[arg(long, num_args = 1..)]
        runs: Vec<String>,
        /// Only runs of this experiment
        #[arg(long)]
        experiment: Option<String>,
        /// Only runs of this sweep
        #[arg(long)]
        sweep: Option<String>,
        /// Output folder [default: reports/<experiment, sweep or "all">/]
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Serve the report on a local web page that refreshes while runs train
    #[command(
        after_help = "Examples:\n  gan-lab serve\n  gan-lab serve --experiment dcgan --port 8081\n\n\
        Open the printed address; filters also work as query parameters \
        (/?experiment=dcgan, /?sweep=sweep-lr, /?runs=3f9c,a1b2). The database is only read. \
        Ctrl-C stops the server."
    )]
    Serve {
        /// Runs to include: ids, unique id prefixes or unique names (default: all matching)
        #[arg(long, num_args = 1..)]
        runs: Vec<String>,
        /// Only runs of this experiment
        #[arg(long)]
        experiment: Option<String>,
        /// Only runs of this sweep
        #[arg(long)]
        sweep: Option<String>,
        /// Port to listen on (0 picks a free one)
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to listen on; anything but 127.0.0.1 or localhost shares the page with the network
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
    /// Measure training img/s (and PyTorch's, where importable), tracker writes, scoring time and peak memory
    #[command(
        after_help = "Examples:\n  gan-lab bench\n  gan-lab bench --quick --json\n  \
        gan-lab bench --batch 64 --python /work/venv-torch/bin/python\n\n\
        Each training measurement is a few untimed steps, then --steps timed ones. The reference \
        DCGAN (experiments/dcgan.ron) is also trained alternately with the same network in PyTorch \
        (shared/bench/torch_dcgan.py) when the Python can import torch."
    )]
    Bench(BenchArgs),
    /// Show everything recorded about one run
    #[command(
        after_help = "Example:\n  gan-lab show 3f9c   (an id, a unique id prefix or a unique run name)"
    )]
    Show {
        /// Run id, unique id prefix, or unique run name
        run: String,
    },
}

/// `gan-lab sweep --slurm` and `--status`: the sweep on a Slurm cluster.
#[derive(Args)]
struct Cluster {
    /// Write an sbatch script for a Slurm job array (one task per run) instead of training here
    #[arg(long)]
    slurm: bool,
    /// With --slurm: submit the script with sbatch
    #[arg(long, requires = "slurm")]
    submit: bool,
    /// Show each run's task: finished, running, pending, failed or missing (from the shards and squeue/sacct)
    #[arg(long, conflicts_with_all = ["slurm", "dry_run"])]
    status: bool,
    /// With --slurm: the partition (sbatch --partition)
    #[arg(long, requires = "slurm")]
    partition: Option<String>,
    /// With --slurm: the time limit of each task (sbatch --time), such as 02:00:00
    #[arg(long, requires = "slurm")]
    time: Option<String>,
    /// With --slurm: cores per task (sbatch --cpus-per-task)
    #[arg(long, requires = "slurm")]
    cpus_per_task: Option<u32>,
    /// With --slurm: memory per task (sbatch --mem), such as 8G
    #[arg(long, requires = "slurm")]
    mem: Option<String>,
    /// With --slurm: generic resources per task (sbatch --gres), such as gpu:1
    #[arg(long, requires = "slurm")]
    gres: Option<String>,
    /// With --slurm: at most this many tasks at once (the array's %K)
    #[arg(long, requires = "slurm")]
    max_parallel: Option<usize>,
}

#[derive(Args)]
struct BenchArgs {
    /// Compute device: flex (CPU, default), ndarray, wgpu or cuda
    #[arg(long, default_value = "flex", value_parser = parse_device)]
    device: DeviceChoice,
    /// Batch size to train at, repeatable [default: 64 and 256]
    #[arg(long = "batch", value_name = "N")]
    batches: Vec<usize>,
    /// Timed training steps per measurement, after 2 untimed ones [default: 10]
    #[arg(long)]
    steps: Option<u64>,
    /// Tiny settings that finish in seconds: batch 16, 2 steps, 50,000 tracker points, 1,000 images
    #[arg(long)]
    quick: bool,
    /// Python with torch for the PyTorch comparison [default: python3, skipped when it lacks torch]
    #[arg(long, env = "GAN_LAB_PYTHON", value_name = "PATH")]
    python: Option<String>,
    /// The PyTorch DCGAN script [default: shared/bench/torch_dcgan.py in the nearest folder above the source tree]
    #[arg(long, value_name = "FILE")]
    torch_script: Option<PathBuf>,
    /// Folder of the experiment specs to train (sweep specs are left out)
    #[arg(long, default_value = "experiments", value_name = "DIR")]
    experiments: PathBuf,
    /// Print the measurements as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum EvaluatorCommand {
    /// Retrain the evaluator with the built-in one's recipe (4 epochs; minutes to an hour on 2 cores)
    #[command(
        after_help = "The built-in evaluator scores the official Fashion-MNIST files unless \
        --evaluator DIR chooses a retrained one. For other data, the evaluator written to the \
        cache folder (the default --out) scores them."
    )]
    Train {
        #[arg(long, default_value = "flex", value_parser = parse_device)]
        device: DeviceChoice,
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

#[derive(Args)]
struct Overrides {
    /// Override a spec field, e.g. --set train.steps=200 (repeatable)
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
}

fn main() -> ExitCode {
    keep_freed_pages();
    let cli = Cli::parse();
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn absolute(path: PathBuf) -> PathBuf {
    gan_lab::util::paths::resolve(&path)
}

fn parse_device(name: &str) -> Result<DeviceChoice, gan_lab::device::DeviceError> {
    name.parse()
}

/// Ctrl-C, SIGTERM and SIGHUP (the `termination` feature of ctrlc) set the
/// stop flag: the run finishes its step, checkpoints and ends interrupted.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsecond stop signal: stopping now without a checkpoint");
            if let Some((db, run)) = ActiveRun::current()
                && let Ok(tracker) = Tracker::open(&db)
            {
                let _ = tracker.set_status(
                    &run,
                    RunStatus::Interrupted,
                    Some("stopped at once by a second stop signal; resume continues from the last checkpoint"),
                );
            }
            std::process::exit(130);
        }
        eprintln!("\nstopping after this step (writing a checkpoint); Ctrl-C again to abort");
    });
    stop
}

fn execute(cli: Cli) -> Result<ExitCode, AppError> {
    // Relative paths mean relative to the folder gan-lab was started in,
    // resolved once here, so that child processes get absolute ones.
    let db = absolute(
        cli.global
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("runs/gan-lab.sqlite")),
    );
    let context = |device: DeviceChoice| Context {
        db: db.clone(),
        data_dir: cli.global.data_dir.clone().map(absolute),
        cache: absolute(cli.global.cache_dir.clone().unwrap_or_else(default_cache)),
        evaluator: cli.global.evaluator.clone().map(absolute),
        device,
        progress: !cli.global.quiet,
        stop: stop_on_signal(),
    };
    match &cli.command {
        Command::Run {
            spec,
            overrides,
            device,
            sweep,
        } => {
            let ctx = context(*device);
            let report = commands::run::run(&ctx, spec, &overrides.set, sweep.as_deref())?;
            Ok(report_outcome(&report, &db))
        }
        Command::Sweep {
            spec,
            jobs,
            dry_run,
            retry_failed,
            device,
            cluster,
        } => {
            let ctx = context(*device);
            if cluster.status {
                let tasks = gan_lab::sweep::status(&ctx, spec, &mut std::io::stdout())?;
                let all_done = tasks
                    .iter()
                    .all(|t| t.state == gan_lab::sweep::shards::TaskState::Finished);
                return Ok(if all_done {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            if cluster.slurm {
                let request = gan_lab::sweep::SlurmRequest {
                    options: gan_lab::sweep::slurm::SlurmOptions {
                        partition: cluster.partition.clone(),
                        time: cluster.time.clone(),
                        cpus_per_task: cluster.cpus_per_task,
                        mem: cluster.mem.clone(),
                        gres: cluster.gres.clone(),
                        max_parallel: cluster.max_parallel,
                    },
                    retry_failed: *retry_failed,
                    dry_run: *dry_run,
                    submit: cluster.submit,
                };
                commands::sweep::slurm(&ctx, spec, &request)?;
                return Ok(ExitCode::SUCCESS);
            }
            let options = gan_lab::sweep::SweepOptions {
                jobs: *jobs,
                dry_run: *dry_run,
                retry_failed: *retry_failed,
            };
            let outcome = commands::sweep::sweep(&ctx, spec, &options)?;
            Ok(match outcome {
                gan_lab::sweep::SweepOutcome::Complete => ExitCode::SUCCESS,
                gan_lab::sweep::SweepOutcome::Incomplete => ExitCode::from(1),
                gan_lab::sweep::SweepOutcome::Interrupted => ExitCode::from(130),
            })
        }
        Command::SweepTask {
            spec,
            index,
            retry_failed,
            device,
        } => {
            let ctx = context(*device);
            let shard =
                gan_lab::commands::sweep_task::sweep_task(&ctx, spec, *index, *retry_failed)?;
            Ok(match shard {
                Some(report) => report_outcome(&report, &ctx.db),
                None => ExitCode::SUCCESS,
            })
        }
        Command::Merge { inputs } => {
            print!("{}", commands::merge::merge(&db, inputs)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { spec, overrides } => {
            println!(
                "{}",
                commands::check::check_file(spec, &overrides.set)?.summary()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Resume { run } => {
            let report = commands::run::resume(&context(DeviceChoice::Flex), run)?;
            Ok(report_outcome(&report, &db))
        }
        Command::List {
            experiment,
            status,
            sweep,
            limit,
        } => {
            let filter = RunFilter {
                experiment: experiment.clone(),
                status: *status,
                sweep_id: sweep.clone(),
                limit: *limit,
            };
            print!("{}", commands::list::list(&db, &filter)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            let ctx = context(args.device);
            let mut options = commands::bench::BenchOptions::new(&args.experiments)?;
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
            let report = commands::bench::bench(&ctx, &options)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("plain data serializes")
                );
            } else {
                print!("{}", commands::bench::format_report(&report));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluator(EvaluatorCommand::Train {
            device,
            out,
            verify,
        }) => {
            let trained = commands::evaluator::train(&context(*device), out.as_deref(), *verify)?;
            print!("{}", trained.summary());
            Ok(ExitCode::SUCCESS)
        }
        Command::Evaluator(EvaluatorCommand::Info) => {
            print!(
                "{}",
                commands::evaluator::info(&context(DeviceChoice::Flex))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval {
            run,
            images,
            checkpoint,
            samples,
        } => {
            let ctx = context(DeviceChoice::Flex);
            let text = match (run, images) {
                (_, Some(path)) => commands::eval::eval_images(&ctx, path)?,
                (Some(run), None) => commands::eval::eval_run(&ctx, run, *checkpoint, *samples)?,
                (None, None) => unreachable!("clap requires one"),
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sample {
            run,
            n,
            out,
            checkpoint,
            seed,
            class,
            interpolate,
            caption,
            scale,
        } => {
            let ctx = context(DeviceChoice::Flex);
            let request = commands::sample::SampleRequest {
                n: n.unwrap_or(if interpolate.is_some() { 10 } else { 64 }),
                seed: *seed,
                class: class.clone(),
                interpolate: *interpolate,
                caption: caption.clone(),
                scale: *scale,
            };
            println!(
                "{}",
                commands::sample::sample(&ctx, run, *checkpoint, &request, out)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Translate {
            run,
            direction,
            input,
            out,
            checkpoint,
        } => {
            let ctx = context(DeviceChoice::Flex);
            println!(
                "{}",
                commands::translate::translate(&ctx, run, *checkpoint, *direction, input, out)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            runs,
            experiment,
            sweep,
            out,
        } => {
            let selection = gan_lab::report::Selection {
                runs: runs.clone(),
                experiment: experiment.clone(),
                sweep: sweep.clone(),
            };
            let page = commands::report::report(&db, &selection, out.as_deref())?;
            println!("report written to {}", page.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            runs,
            experiment,
            sweep,
            port,
            host,
        } => {
            let selection = gan_lab::report::Selection {
                runs: runs.clone(),
                experiment: experiment.clone(),
                sweep: sweep.clone(),
            };
            commands::serve::serve(&db, &selection, host, *port, |addr| {
                if !addr.ip().is_loopback() {
                    eprintln!(
                        "warning: listening on {addr}: anyone who can reach it can read the report"
                    );
                }
                println!("serving the report at http://{addr}/ (Ctrl-C stops)");
            })?;
            eprintln!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { run } => {
            print!("{}", commands::list::show(&db, run)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn report_outcome(report: &RunReport, db: &std::path::Path) -> ExitCode {
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

#[cfg(test)]
mod tests {
    #[test]
    fn purge_delay_option_is_mimallocs() {
        // Nothing in this test process sets it: mimalloc v3's default purge delay, 1,000 ms.
        // SAFETY: reads one of mimalloc's integer options.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
