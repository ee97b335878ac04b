//! Training: the variant-agnostic loop and what it feeds and feeds into.
//!
//! Owns the [`runner`] (steps, cadence, checkpoints, resume, stop, NaN
//! guard), the [`loader`] (training images in memory and the seeded batches),
//! the [`events`] the runner emits, the [`sinks`] a real run sends them to
//! (tracker, sample files, progress), and the sample [`grid`] PNGs.
//!
//! May import: `util`, `data`, `store` (run layout and tracker, for the
//! sinks), `eval` (metric labels for the progress line). Never `sweep`,
//! `report` or `commands`.

pub mod events;
pub mod grid;
pub mod loader;
pub mod runner;
pub mod sinks;
