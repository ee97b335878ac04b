//! `cargo bench`: timings of the parts that must stay fast, with divan.
//! They assert nothing (the tests do); they measure.
//!
//! - [`tracker`]: metric points written through the tracker in batches.
//! - [`metrics`]: FID, KID, Inception score, coverage and precision/recall on
//!   10,000 x 128 features.
//! - [`report`]: the HTML report of a large synthetic database.

mod metrics;
mod report;
mod tracker;

fn main() {
    divan::main();
}
