//! The sample grids the page shows: for each shown run (at most
//! [`MAX_SAMPLE_RUNS`]) its stored grids, evenly spaced beyond
//! [`MAX_SAMPLE_GRIDS`], embedded as data URIs and coloured as in the runs
//! table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::load;
use super::{MAX_SAMPLE_GRIDS, MAX_SAMPLE_RUNS, Result, chart};
use crate::store::tracker::{RunRecord, Tracker};

/// One run's sample grids, oldest first: (step, data URI).
#[derive(Serialize)]
struct SampleRun {
    name: String,
    id: String,
    color: String,
    grids: Vec<(u64, String)>,
}

#[derive(Serialize)]
pub(super) struct Samples {
    /// Every step some shown run has a grid of.
    steps: Vec<u64>,
    runs: Vec<SampleRun>,
    omitted: usize,
    missing_files: usize,
    /// Runs with more grids show evenly spaced ones.
    max_grids: usize,
}

/// Up to `k` evenly spaced entries of a sorted list, the first and last among them.
pub(super) fn spaced(steps: &[u64], k: usize) -> Vec<u64> {
    if steps.len() <= k {
        return steps.to_vec();
    }
    (0..k)
        .map(|i| steps[i * (steps.len() - 1) / (k - 1).max(1)])
        .collect()
}

/// Every run's sample grids (evenly spaced ones beyond [`MAX_SAMPLE_GRIDS`]),
/// coloured as in the runs table.
pub(super) fn samples(
    tracker: &Tracker,
    db: &Path,
    runs: &[RunRecord],
    color_of: &[usize],
) -> Result<Option<Samples>> {
    let shown = &runs[..runs.len().min(MAX_SAMPLE_RUNS)];
    let mut per_run = Vec::new();
    for run in shown {
        per_run.push(load::sample_files(tracker, db, run)?);
    }
    let with_samples: Vec<&BTreeMap<u64, PathBuf>> =
        per_run.iter().filter(|m| !m.is_empty()).collect();
    if with_samples.is_empty() {
        return Ok(None);
    }
    let mut missing_files = 0;
    let mut runs_out = Vec::new();
    let mut steps = BTreeSet::new();
    for (i, (run, grids)) in shown.iter().zip(&per_run).enumerate() {
        let all: Vec<u64> = grids.keys().copied().collect();
        let mut embedded = Vec::new();
        for step in spaced(&all, MAX_SAMPLE_GRIDS) {
            match load::embed_png(&grids[&step]) {
                Some(image) => embedded.push((step, image)),
                None => missing_files += 1,
            }
        }
        if embedded.is_empty() {
            continue;
        }
        steps.extend(embedded.iter().map(|g| g.0));
        runs_out.push(SampleRun {
            name: run.name.clone(),
            id: run.id.clone(),
            color: chart::css_color(color_of[i]),
            grids: embedded,
        });
    }
    Ok(Some(Samples {
        steps: steps.into_iter().collect(),
        runs: runs_out,
        omitted: runs.len() - shown.len(),
        missing_files,
        max_grids: MAX_SAMPLE_GRIDS,
    }))
}
