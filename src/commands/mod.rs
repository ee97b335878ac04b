//! The commands behind the CLI, one file (or folder) per command: each owns
//! its flags (a `#[derive(clap::Args)]` struct with their help text and
//! examples) and an `execute(ctx, args)` that does the work, prints what the
//! user reads and returns the exit code. `main.rs` only parses the top-level
//! flags, builds the [`Context`](crate::context::Context), dispatches here
//! and maps an [`AppError`] to its exit code.
//!
//! Also here, because only commands use them: the app-wide [`AppError`]
//! ([`error`]), flags several commands share ([`args`]), a stored run's
//! model restored from a checkpoint ([`restore`]) and latent walks
//! ([`interpolate`]).
//!
//! May import every other part of the crate (and the variants crate); no
//! other module imports from here.

pub mod args;
pub mod bench;
pub mod check;
pub mod error;
pub mod eval;
pub mod evaluator;
pub mod interpolate;
pub mod list;
pub mod merge;
pub mod report;
pub mod restore;
pub mod resume;
pub mod run;
pub mod sample;
pub mod serve;
pub mod show;
pub mod sweep;
pub mod sweep_task;
pub mod translate;

pub use error::{AppError, Result};

/// The refusal of a command whose capability `run_id`'s variant lacks: what
/// the run is for, what the command needs (`needs`), and the command that fits.
fn wrong_run(run_id: &str, config: &dyn gan_lab_variants::VariantConfig, needs: &str) -> AppError {
    let purpose = config.purpose();
    AppError::Usage(format!(
        "run {run_id} is a {} run: {}; {needs}, so use `{}` instead",
        config.kind(),
        purpose.what,
        purpose.command
    ))
}
