//! `gan-lab merge SHARD_OR_DIR...`: merges database shards (written by
//! `gan-lab sweep-task`) into the main database, one transaction per shard.
//! Merging again changes nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::commands::error::{AppError, Result};
use crate::context::Context;
use crate::store::tracker::Tracker;

/// `gan-lab merge`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab merge runs/shards/sweep-lr\n  gan-lab merge runs/shards/sweep-lr/3.sqlite\n\n\
    Run ids, metrics, artifact paths and sweep membership are kept. Each shard is merged in \
    one transaction; a run already merged is replaced only by a fresher copy."
)]
pub struct MergeArgs {
    /// Shard files, or folders searched for *.sqlite shards
    #[arg(required = true, value_name = "SHARD_OR_DIR")]
    pub inputs: Vec<PathBuf>,
}

/// `gan-lab merge`: prints what each shard brought.
pub fn execute(ctx: &Context, args: &MergeArgs) -> Result<ExitCode> {
    print!("{}", merge(&ctx.db, &args.inputs)?);
    Ok(ExitCode::SUCCESS)
}

/// Merges every shard named or found (recursively, `*.sqlite`) under the
/// folders named; returns what to print.
pub fn merge(db: &Path, inputs: &[PathBuf]) -> Result<String> {
    let mut shards = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = shards.len();
            find_shards(input, &mut shards)?;
            if shards.len() == before {
                return Err(AppError::Usage(format!(
                    "no shards (*.sqlite files) under {}; shards are written to runs/shards/<sweep>/<index>.sqlite",
                    input.display()
                )));
            }
        } else if input.exists() {
            shards.push(input.clone());
        } else {
            return Err(AppError::Usage(format!(
                "{} does not exist; merge takes shard files (runs/shards/<sweep>/<index>.sqlite) or folders of them",
                input.display()
            )));
        }
    }
    let main = db.canonicalize().ok();
    shards.retain(|s| s.canonicalize().ok() != main);
    let tracker = Tracker::open(db)?;
    let mut text = String::new();
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    for shard in &shards {
        let report = tracker.merge_shard(shard)?;
        text += &format!(
            "merged {}: {} run(s) added, {} updated, {} unchanged\n",
            shard.display(),
            report.added.len(),
            report.updated.len(),
            report.unchanged.len()
        );
        added += report.added.len();
        updated += report.updated.len();
        unchanged += report.unchanged.len();
    }
    text += &format!(
        "{} shard(s) into {}: {added} run(s) added, {updated} updated, {unchanged} unchanged\n",
        shards.len(),
        db.display()
    );
    Ok(text)
}

/// The `*.sqlite` files under `dir`, in name order, depth first.
fn find_shards(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let io = |source| AppError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io)?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            find_shards(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "sqlite") {
            found.push(path);
        }
    }
    Ok(())
}
