//! `gan-lab report`: the HTML page comparing the selected runs, written
//! under `reports/` unless `--out` says otherwise.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::report::{self, Selection};

/// Renders the report and returns the page's path.
pub fn report(db: &Path, selection: &Selection, out: Option<&Path>) -> Result<PathBuf> {
    let out = match out {
        Some(out) => out.to_path_buf(),
        None => default_out(selection),
    };
    Ok(report::render(db, selection, &out)?)
}

/// `reports/<experiment, sweep or "all">`.
fn default_out(selection: &Selection) -> PathBuf {
    let name = selection
        .experiment
        .as_deref()
        .or(selection.sweep.as_deref())
        .unwrap_or("all");
    PathBuf::from("reports").join(name)
}
