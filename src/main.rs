//! The `gan-lab` command line: the global flags and the list of commands
//! (each command's own flags live with it in [`gan_lab::commands`]), the
//! dispatch, the stop signals, and errors to their whole chain on stderr and
//! an exit code (2 for bad input).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Parser, Subcommand};
use gan_lab::commands::{self, AppError};
use gan_lab::context::{ActiveRun, Context, default_cache};
use gan_lab::device::DeviceChoice;
use gan_lab::store::tracker::{RunStatus, Tracker};
use gan_lab::util::paths::resolve;

/// mimalloc keeps freed pages for the next training step (the system
/// allocator maps, faults in and zeroes each large buffer afresh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the 16th option of `mimalloc.h`, v2
/// and v3; 1,000 ms by default in v3), which libmimalloc-sys does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed pages back to the OS: a training step reallocates the same
/// large buffers every few ms, and each purge costs page faults on the next.
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

impl Global {
    /// The one place the global flags become the commands' shared settings
    /// (flex until a command's `--device`; the stop flag unwatched). Relative
    /// paths are resolved here, once, against the folder gan-lab started in.
    fn context(self) -> Context {
        let db = self
            .db
            .unwrap_or_else(|| PathBuf::from("runs/gan-lab.sqlite"));
        Context {
            db: resolve(&db),
            data_dir: self.data_dir.as_deref().map(resolve),
            cache: resolve(&self.cache_dir.unwrap_or_else(default_cache)),
            evaluator: self.evaluator.as_deref().map(resolve),
            device: DeviceChoice::Flex,
            progress: !self.quiet,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train one experiment from a RON spec, tracked in the database
    Run(commands::run::RunArgs),
    /// Train many runs from one sweep spec (grid, random search, seeds), in parallel and resumable
    Sweep(commands::sweep::SweepArgs),
    /// Train run INDEX of a sweep's plan into its own database shard (what each Slurm array task runs)
    SweepTask(commands::sweep_task::SweepTaskArgs),
    /// Merge database shards (from Slurm array tasks) into the database; merging twice changes nothing
    Merge(commands::merge::MergeArgs),
    /// Validate a spec (and overrides) without training
    Check(commands::check::CheckArgs),
    /// Continue an interrupted, failed or early-stopped run from its last checkpoint
    Resume(commands::resume::ResumeArgs),
    /// List runs, newest first
    List(commands::list::ListArgs),
    /// The Fashion-MNIST classifier that scores generated images
    Evaluator(commands::evaluator::EvaluatorArgs),
    /// Score a run's generator (FID, KID, IS, class coverage, precision/recall), or any images
    Eval(commands::eval::EvalArgs),
    /// Write samples of a run's generator as an IDX3 file or a PNG grid
    Sample(commands::sample::SampleArgs),
    /// Translate images from one domain to the other with a translating run
    Translate(commands::translate::TranslateArgs),
    /// Write an HTML report comparing runs (charts, samples, diagnosis)
    Report(commands::report::ReportArgs),
    /// Serve the report on a local web page that refreshes while runs train
    Serve(commands::serve::ServeArgs),
    /// Measure training img/s (and PyTorch's, where importable), tracker writes, scoring time and peak memory
    Bench(commands::bench::BenchArgs),
    /// Show everything recorded about one run
    Show(commands::show::ShowArgs),
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

/// Ctrl-C, SIGTERM and SIGHUP (the `termination` feature of ctrlc) set the
/// stop flag: the run finishes its step, checkpoints and ends interrupted.
fn stop_on_signal(stop: &Arc<AtomicBool>) {
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
}

fn execute(cli: Cli) -> Result<ExitCode, AppError> {
    use commands::*;
    let ctx = cli.global.context();
    // Commands that train or score stop after their step at a signal; others end at once.
    let stoppable = || {
        stop_on_signal(&ctx.stop);
        &ctx
    };
    match &cli.command {
        Command::Run(args) => run::execute(stoppable(), args),
        Command::Sweep(args) => sweep::execute(stoppable(), args),
        Command::SweepTask(args) => sweep_task::execute(stoppable(), args),
        Command::Merge(args) => merge::execute(&ctx, args),
        Command::Check(args) => check::execute(args),
        Command::Resume(args) => resume::execute(stoppable(), args),
        Command::List(args) => list::execute(&ctx, args),
        Command::Evaluator(args) => evaluator::execute(stoppable(), args),
        Command::Eval(args) => eval::execute(stoppable(), args),
        Command::Sample(args) => sample::execute(stoppable(), args),
        Command::Translate(args) => translate::execute(stoppable(), args),
        Command::Report(args) => report::execute(&ctx, args),
        Command::Serve(args) => serve::execute(&ctx, args),
        Command::Bench(args) => bench::execute(stoppable(), args),
        Command::Show(args) => show::execute(&ctx, args),
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
