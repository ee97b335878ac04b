//! The commands behind the CLI, one file per command family. Each takes the
//! shared [`Context`](crate::context::Context) and its own flags, and returns
//! what to print or an [`AppError`](crate::error::AppError); `main.rs` only
//! parses flags and maps errors to exit codes. No other module imports from
//! here.

pub mod bench;
pub mod check;
pub mod eval;
pub mod evaluator;
pub mod list;
pub mod merge;
pub mod report;
pub mod run;
pub mod sample;
pub mod serve;
pub mod sweep;
pub mod sweep_task;
pub mod translate;

/// The refusal of a command whose capability `run_id`'s variant lacks: what
/// the run is for, what the command needs (`needs`), and the command that fits.
fn wrong_run(
    run_id: &str,
    config: &dyn gan_lab_variants::VariantConfig,
    needs: &str,
) -> crate::error::AppError {
    let purpose = config.purpose();
    crate::error::AppError::Usage(format!(
        "run {run_id} is a {} run: {}; {needs}, so use `{}` instead",
        config.kind(),
        purpose.what,
        purpose.command
    ))
}
