//! `gan-lab report`: the HTML page comparing the selected runs, written
//! under `reports/<experiment, sweep or "all">` (one safe folder name) unless
//! `--out` says otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::args::SelectionArgs;
use crate::commands::error::Result;
use crate::context::Context;
use crate::report::{self, Selection};

/// `gan-lab report`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab report --experiment dcgan\n  gan-lab report --runs 3f9c a1b2 --out /tmp/cmp\n  gan-lab report --sweep sweep-lr\n\n\
    The page is one self-contained file (open it offline); a run's diagnosis explains \
    its balance between D and G, with the thresholds in the page's footnote."
)]
pub struct ReportArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Output folder [default: reports/<experiment, sweep or "all">/]
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `gan-lab report`: writes the page and says where.
pub fn execute(ctx: &Context, args: &ReportArgs) -> Result<ExitCode> {
    let selection = args.selection.selection();
    let page = report(&ctx.db, &selection, args.out.as_deref())?;
    println!("report written to {}", page.display());
    Ok(ExitCode::SUCCESS)
}

/// Renders the report and returns the page's path.
pub fn report(db: &Path, selection: &Selection, out: Option<&Path>) -> Result<PathBuf> {
    let out = match out {
        Some(out) => out.to_path_buf(),
        None => report::default_out(selection)?,
    };
    Ok(report::render(db, selection, &out)?)
}
