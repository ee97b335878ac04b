//! `gan-lab report`: the HTML page comparing the selected runs, written
//! under `reports/<experiment, sweep or "all">` (one safe folder name) unless
//! `--out` says otherwise.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::report::{self, Selection};

/// Renders the report and returns the page's path.
pub fn report(db: &Path, selection: &Selection, out: Option<&Path>) -> Result<PathBuf> {
    let out = match out {
        Some(out) => out.to_path_buf(),
        None => report::default_out(selection)?,
    };
    Ok(report::render(db, selection, &out)?)
}
