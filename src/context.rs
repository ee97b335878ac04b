//! What every command shares: the database, the data and cache folders, the
//! device, whether to show progress, and the stop flag that signals set.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::device::DeviceChoice;

/// Settings shared by the commands (from flags and environment).
#[derive(Clone, Debug)]
pub struct Context {
    pub db: PathBuf,
    pub data_dir: Option<PathBuf>,
    /// Where trained evaluators are cached.
    pub cache: PathBuf,
    /// A locally trained evaluator to score with instead of the built-in one
    /// (`--evaluator DIR`).
    pub evaluator: Option<PathBuf>,
    pub device: DeviceChoice,
    /// Show the progress bar.
    pub progress: bool,
    /// Set by Ctrl-C, SIGTERM or SIGHUP.
    pub stop: Arc<AtomicBool>,
}

/// The default cache folder: the user's cache directory, else `runs/cache`.
pub fn default_cache() -> PathBuf {
    dirs::cache_dir().map_or_else(|| PathBuf::from("runs/cache"), |d| d.join("gan-lab"))
}

/// The version of the code, as stored with each run.
pub fn code_version() -> String {
    format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("GAN_LAB_GIT"))
}

/// The run this process is training, for a second stop signal, which ends
/// the process at once: its handler marks that run interrupted first.
static ACTIVE: Mutex<Option<(PathBuf, String)>> = Mutex::new(None);

/// Registers the run being trained until dropped.
pub struct ActiveRun;

impl ActiveRun {
    pub fn register(db: &Path, run_id: &str) -> ActiveRun {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((db.to_path_buf(), run_id.to_string()));
        ActiveRun
    }

    /// The database and id of the run being trained, if any.
    pub fn current() -> Option<(PathBuf, String)> {
        ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
