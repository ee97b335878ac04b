//! `gan-lab resume RUN`: continue an interrupted, failed or early-stopped run
//! from its last checkpoint, on the device it was started on.

use std::process::ExitCode;

use clap::Args;

use crate::commands::error::Result;
use crate::commands::run::{report_outcome, resume};
use crate::context::Context;

/// `gan-lab resume`'s flags.
#[derive(Args)]
#[command(
    after_help = "Example:\n  gan-lab resume 3f9c2a1b   (an id, a unique id prefix or a unique run name)"
)]
pub struct ResumeArgs {
    /// Run id, unique id prefix, or unique run name
    pub run: String,
}

pub fn execute(ctx: &Context, args: &ResumeArgs) -> Result<ExitCode> {
    let report = resume(ctx, &args.run)?;
    Ok(report_outcome(&report, &ctx.db))
}
