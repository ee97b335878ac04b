//! Leaf helpers that every part may use: atomic file writes ([`fsutil`]),
//! safe paths from names and stored paths ([`paths`]), terminal tables and
//! times and durations ([`table`]), process liveness ([`process`]) and
//! the median ([`stats`]).
//!
//! May import: nothing of the crate.

pub mod fsutil;
pub mod paths;
pub mod process;
pub mod stats;
pub mod table;
