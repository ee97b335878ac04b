//! Storage: what a run leaves behind and where.
//!
//! Owns the [`tracker`] (the SQLite database of runs, metric series,
//! artifacts and sweeps) and the run [`layout`] (the database's folder, the
//! run folders beside it, the paths inside a run folder, the sweep shards).
//! The layout knows paths only: it is given a run's stored folder, never a
//! tracker record, so `tracker` may use `layout` and not the other way round.
//!
//! May import: `util`. Nothing else of the crate.

pub mod layout;
pub mod tracker;
