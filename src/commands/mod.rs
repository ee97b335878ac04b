//! The commands behind the CLI, one file per command family. Each takes the
//! shared [`Context`](crate::context::Context) and its own flags, and returns
//! what to print or an [`AppError`](crate::error::AppError); `main.rs` only
//! parses flags and maps errors to exit codes. No other module imports from
//! here.

pub mod check;
pub mod eval;
pub mod evaluator;
pub mod list;
pub mod report;
pub mod run;
pub mod sample;
pub mod sweep;
pub mod translate;
