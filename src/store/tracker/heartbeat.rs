//! The heartbeat of a training process: a thread with its own connection
//! that stamps the run's `heartbeat_at` every [`HEARTBEAT_EVERY`], whatever
//! the trainer is doing (a long evaluation, training the evaluator), until
//! the [`Heartbeat`] is dropped. A killed process stops beating, and after
//! [`LOST_AFTER`](super::LOST_AFTER) its run shows as lost.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{HEARTBEAT_EVERY, Result, Tracker};

/// Beats while alive; dropping it stops and joins the thread.
pub struct Heartbeat {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Starts beating for `run_id` in the database at `db` (one beat now).
    pub fn start(db: &Path, run_id: &str) -> Result<Heartbeat> {
        let tracker = Tracker::open(db)?;
        tracker.heartbeat(run_id)?;
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let run = run_id.to_string();
        let thread = std::thread::Builder::new()
            .name("gan-lab-heartbeat".into())
            .spawn(move || {
                let mut last = Instant::now();
                while !flag.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last.elapsed() >= HEARTBEAT_EVERY {
                        // A missed beat (a busy database) is retried at the next one.
                        let _ = tracker.heartbeat(&run);
                        last = Instant::now();
                    }
                }
            })
            .expect("spawning a thread");
        Ok(Heartbeat {
            done,
            thread: Some(thread),
        })
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
