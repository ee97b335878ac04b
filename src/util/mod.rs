//! Leaf helpers that every part may use: atomic file writes ([`fsutil`]),
//! safe paths from names and stored paths ([`paths`]), terminal tables and
//! times ([`table`]) and process liveness ([`process`]).
//!
//! May import: nothing of the crate.

pub mod fsutil;
pub mod paths;
pub mod process;
pub mod table;
