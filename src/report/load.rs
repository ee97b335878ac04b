//! Reading what the report shows: the selected runs with their parameters,
//! tags, metric keys and metric vocabulary (from their stored specs), one
//! run's metric series at a time, and the sample files the tracker lists.
//!
//! Stored folders and file names are joined with [`paths::join_inside`], so
//! a database whose run folder or artifact path reads `../../etc` cannot
//! make the report read outside the database's folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use gan_lab_variants::MetricInfo;
use gan_lab_variants::metric::{IMAGE_SCORES, TRAINING};

use super::{ReportError, Result, Selection, describe};
use crate::spec;
use crate::store::tracker::{RunFilter, RunRecord, Tracker};
use crate::util::paths;

/// The selected runs and what the page needs of each besides the series.
pub(super) struct Loaded {
    /// Newest first (named runs in the order given).
    pub runs: Vec<RunRecord>,
    /// Parameters by run index.
    pub params: Vec<BTreeMap<String, String>>,
    /// Tags by run index.
    pub tags: Vec<Vec<(String, String)>>,
    /// Every metric key any selected run logged.
    pub keys: BTreeSet<String>,
    /// What the selected runs' metrics mean: the union of their variants'
    /// vocabularies, each key once, in the order first met.
    pub vocabulary: Vec<MetricInfo>,
}

/// Loads the runs of `selection`; no matching run is a user error.
pub(super) fn load(tracker: &Tracker, selection: &Selection) -> Result<Loaded> {
    let runs = select(tracker, selection)?;
    let mut params = Vec::with_capacity(runs.len());
    let mut tags = Vec::with_capacity(runs.len());
    let mut keys = BTreeSet::new();
    let mut vocabulary: Vec<MetricInfo> = Vec::new();
    for run in &runs {
        for info in run_vocabulary(run) {
            if !vocabulary.iter().any(|m| m.key == info.key) {
                vocabulary.push(info);
            }
        }
        params.push(
            tracker
                .params(&run.id)?
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
        );
        tags.push(tracker.tags(&run.id)?);
        keys.extend(tracker.metric_keys(&run.id)?);
    }
    Ok(Loaded {
        runs,
        params,
        tags,
        keys,
        vocabulary,
    })
}

/// The metric vocabulary of a run's variant, from its stored spec; for a
/// spec this build cannot read (an older format), what every adversarial
/// variant records.
fn run_vocabulary(run: &RunRecord) -> Vec<MetricInfo> {
    match spec::parse_stored(&run.id, &run.spec_text) {
        Ok(spec) => spec.variant.config().metrics(),
        Err(_) => [TRAINING, IMAGE_SCORES].concat(),
    }
}

/// The selected runs, newest first (named runs in the order given).
fn select(tracker: &Tracker, selection: &Selection) -> Result<Vec<RunRecord>> {
    let runs = if selection.runs.is_empty() {
        tracker.list_runs(&RunFilter {
            experiment: selection.experiment.clone(),
            sweep_id: selection.sweep.clone(),
            ..RunFilter::default()
        })?
    } else {
        let mut seen = BTreeSet::new();
        let mut runs = Vec::new();
        for query in &selection.runs {
            let run = tracker.run(query)?;
            let keep = selection
                .experiment
                .as_ref()
                .is_none_or(|e| *e == run.experiment)
                && selection
                    .sweep
                    .as_ref()
                    .is_none_or(|s| run.sweep_id.as_ref() == Some(s));
            if keep && seen.insert(run.id.clone()) {
                runs.push(run);
            }
        }
        runs
    };
    if runs.is_empty() {
        return Err(ReportError::NoRuns(describe(selection)));
    }
    Ok(runs)
}

/// The series (step, value, wall time) of each of `keys` for one run: for a
/// run that has ended, its stored digest where it has one (the series itself
/// when short, else bucket means: a report of 1,000 runs reads kilobytes per
/// series, not every point), else every point.
pub(super) fn series<'k>(
    tracker: &Tracker,
    run: &RunRecord,
    keys: &'k [String],
) -> Result<super::curves::RunSeries<'k>> {
    let mut digests = tracker.metric_digests(&run.id)?;
    let mut by_key = BTreeMap::new();
    for key in keys {
        let points = match digests.remove(key) {
            Some(d) => d
                .points
                .into_iter()
                .zip(d.walls)
                .map(|((step, value), wall)| (step, value, wall))
                .collect(),
            None => tracker.metric_series(&run.id, key)?,
        };
        by_key.insert(key.as_str(), points);
    }
    Ok(by_key)
}

/// The sample grid files of a run by step (the last listed for a step).
pub(super) fn sample_files(
    tracker: &Tracker,
    db: &Path,
    run: &RunRecord,
) -> Result<BTreeMap<u64, PathBuf>> {
    let grids: Vec<(u64, String)> = tracker
        .artifacts(&run.id)?
        .into_iter()
        .filter(|a| a.kind == "samples")
        .filter_map(|a| Some((a.step?, a.path)))
        .collect();
    if grids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let folder = run_folder(db, run)?;
    let unsafe_path = |source| ReportError::UnsafePath {
        run: run.id.clone(),
        source,
    };
    grids
        .into_iter()
        .map(|(step, path)| {
            Ok((
                step,
                paths::join_inside(&folder, &path).map_err(unsafe_path)?,
            ))
        })
        .collect()
}

/// The folder of a run: its stored folder, inside the database's folder.
fn run_folder(db: &Path, run: &RunRecord) -> Result<PathBuf> {
    crate::store::layout::run_folder(db, &run.run_dir).map_err(|source| ReportError::UnsafePath {
        run: run.id.clone(),
        source,
    })
}

/// A PNG file as a data URI (`None` if it cannot be read or is not a PNG).
pub(super) fn embed_png(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.starts_with(b"\x89PNG") => Some(format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
        _ => None,
    }
}
