//! What every command shares: the database, the data and cache folders, the
//! device, whether to show progress, and the stop flag that signals set.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::device::DeviceChoice;

/// Settings shared by the commands (from flags and environment).
#[derive(Clone, Debug)]
pub struct Context {
    pub db: PathBuf,
    pub data_dir: Option<PathBuf>,
    /// Where trained evaluators are cached.
    pub cache: PathBuf,
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
