//! Building the page from what `load` reads: the runs table (`table`), one
//! chart per metric with seed groups drawn as one mean line and band, the
//! sample grids, the variant panels, the sweep section and the diagnosis of
//! each run; the template only lays these out.
//!
//! The series of one seed group are read, summarised and reduced to chart
//! points before the next group is read, so only one group's full series is
//! held at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::load::{self, Loaded};
use super::table::{ParamColumn, RunRow, param_table, run_row};
use super::{
    MAX_SAMPLE_RUNS, ReportError, Result, SAMPLE_STEPS, Selection, chart, describe, diagnosis,
    panels, sweep_section,
};
use crate::table::format_time;
use crate::tracker::status_label;
use crate::tracker::{RunRecord, RunStatus, Tracker};
use chart::Series;
use diagnosis::{Evidence, Finding};

/// Parameters that do not make a configuration: runs that differ only in
/// these are repeats of one configuration (the name of a sweep's run names
/// its seed too).
const NOT_CONFIG: [&str; 3] = ["train.seed", "name", "experiment"];

/// Whether a score is better low or high.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Lower,
    Higher,
}

/// Evaluation scores shown in the runs table as final and best.
const SCORES: [(&str, Better); 7] = [
    ("fid", Better::Lower),
    ("kid", Better::Lower),
    ("is", Better::Higher),
    ("precision", Better::Higher),
    ("recall", Better::Higher),
    ("classes_covered", Better::Higher),
    ("coverage_kl", Better::Lower),
];

/// Chart sections and their metrics, in page order; other logged metrics
/// (except `*_std` spreads) go to a last section.
const SECTIONS: [(&str, &[(&str, &str)]); 6] = [
    (
        "Losses",
        &[
            ("loss_d", "discriminator loss"),
            ("loss_g", "generator loss"),
            ("gradient_penalty", "gradient penalty"),
        ],
    ),
    (
        "Discriminator outputs",
        &[
            ("d_real", "D(x), real images"),
            ("d_fake", "D(G(z)), generated images"),
        ],
    ),
    (
        "Discriminator accuracy",
        &[
            ("acc_real", "accuracy on real images"),
            ("acc_fake", "accuracy on generated images"),
        ],
    ),
    (
        "Gradient norms",
        &[
            ("grad_norm_d", "discriminator gradient norm"),
            ("grad_norm_g", "generator gradient norm"),
        ],
    ),
    ("Throughput", &[("img_per_s", "images per second")]),
    (
        "Evaluation",
        &[
            ("fid", "FID (lower is better)"),
            ("kid", "KID (lower is better)"),
            ("is", "Inception-style score (higher is better)"),
            ("precision", "precision (higher is better)"),
            ("recall", "recall (higher is better)"),
            ("classes_covered", "classes covered (of 10)"),
            ("coverage_kl", "class-coverage KL (lower is better)"),
        ],
    ),
];

#[derive(Serialize)]
struct ChartSection {
    title: String,
    charts: Vec<String>,
}

#[derive(Serialize)]
struct SampleRow {
    name: String,
    cells: Vec<Option<String>>,
    final_step: Option<u64>,
    final_image: Option<String>,
}

#[derive(Serialize)]
struct Samples {
    steps: Vec<u64>,
    rows: Vec<SampleRow>,
    omitted: usize,
    missing_files: usize,
}

#[derive(Serialize)]
struct FindingView {
    title: &'static str,
    text: String,
    problem: bool,
}

#[derive(Serialize)]
struct Diagnosis {
    name: String,
    id: String,
    status: String,
    findings: Vec<FindingView>,
}

/// Everything the template shows.
#[derive(Serialize)]
pub(super) struct Page {
    title: String,
    selection: String,
    generated: String,
    database: String,
    run_count: usize,
    any_differs: bool,
    any_tags: bool,
    param_columns: Vec<ParamColumn>,
    score_keys: Vec<&'static str>,
    rows: Vec<RunRow>,
    seed_groups: usize,
    sections: Vec<ChartSection>,
    samples: Option<Samples>,
    diagnoses: Vec<Diagnosis>,
    thresholds: Vec<String>,
    max_points: usize,
    max_legend: usize,
    sweep: Option<sweep_section::SweepView>,
    panels: Vec<panels::PanelView>,
}

/// What one run contributes after its series have been read.
struct Summary {
    scores: HashMap<&'static str, (f64, f64)>,
    findings: Vec<Finding>,
}

/// The charts of all runs, and what the rest of the page needs from the
/// series: a summary and a colour (its seed group) per run.
struct Charts {
    sections: Vec<ChartSection>,
    summaries: Vec<Summary>,
    color_of: Vec<usize>,
    /// Seed groups of more than one run.
    seed_groups: usize,
}

/// Builds the page of `loaded` (read from `tracker`, stored at `db`).
pub(super) fn page(
    tracker: &Tracker,
    db: &Path,
    selection: &Selection,
    loaded: Loaded,
) -> Result<Page> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let Loaded {
        runs,
        params,
        tags,
        keys,
    } = loaded;
    let charts = charts(tracker, &runs, &params, &keys)?;
    let (param_columns, param_rows) = param_table(&params);
    let score_keys: Vec<&'static str> = SCORES
        .iter()
        .map(|s| s.0)
        .filter(|k| keys.contains(*k))
        .collect();

    let mut rows = Vec::new();
    let mut diagnoses = Vec::new();
    for (i, (run, summary)) in runs.iter().zip(&charts.summaries).enumerate() {
        rows.push(run_row(
            run,
            &summary.scores,
            charts.color_of[i],
            param_rows[i].clone(),
            &tags[i],
            &score_keys,
            now,
        ));
        diagnoses.push(diagnosis_view(run, summary));
    }

    let samples = samples(tracker, db, &runs)?;
    let panels = panels::panels(tracker, db, &runs, MAX_SAMPLE_RUNS)?;
    let sweep = match &selection.sweep {
        Some(id) => Some(sweep_section::section(
            tracker,
            id,
            &runs,
            &params,
            &charts.color_of,
        )?),
        None => None,
    };
    let title = match &selection.experiment {
        Some(e) => format!("gan-lab report: {e}"),
        None => "gan-lab report".to_string(),
    };
    Ok(Page {
        title,
        selection: describe(selection),
        generated: format_time(now),
        database: db.display().to_string(),
        run_count: runs.len(),
        any_differs: param_columns.iter().any(|c| c.differs),
        any_tags: rows.iter().any(|r| !r.tags.is_empty()),
        param_columns,
        score_keys,
        rows,
        seed_groups: charts.seed_groups,
        sections: charts.sections,
        samples,
        diagnoses,
        thresholds: diagnosis::thresholds(),
        max_points: chart::MAX_POINTS,
        max_legend: chart::MAX_LEGEND,
        sweep,
        panels,
    })
}

/// Reads the series group by group: each run is summarised and each group
/// becomes one line (or a mean line with a band) per metric.
fn charts(
    tracker: &Tracker,
    runs: &[RunRecord],
    params: &[BTreeMap<String, String>],
    keys: &BTreeSet<String>,
) -> Result<Charts> {
    let groups = seed_groups(params);
    let per_series = chart::points_per_series(groups.len());
    let charted: Vec<String> = keys
        .iter()
        .filter(|k| !k.ends_with("_std"))
        .cloned()
        .collect();

    // Series by metric, in group order; summaries by run index.
    let mut chart_series: BTreeMap<&str, Vec<(usize, Series)>> = BTreeMap::new();
    let mut summaries: Vec<Option<Summary>> = (0..runs.len()).map(|_| None).collect();
    let mut color_of = vec![0; runs.len()];
    for (g, members) in groups.iter().enumerate() {
        let mut series = Vec::new();
        for &i in members {
            color_of[i] = g;
            let by_key = load::series(tracker, &runs[i], &charted)?;
            summaries[i] = Some(summarize(&runs[i], &by_key));
            series.push(by_key);
        }
        let label = if members.len() > 1 {
            let names: Vec<&str> = members.iter().map(|&i| runs[i].name.as_str()).collect();
            format!("{} (mean of {} seeds)", common_name(&names), members.len())
        } else {
            runs[members[0]].name.clone()
        };
        for key in &charted {
            let parts: Vec<&[(u64, f64)]> = series
                .iter()
                .filter_map(|m| m.get(key.as_str()).map(Vec::as_slice))
                .filter(|s| !s.is_empty())
                .collect();
            let s = match parts.len() {
                0 => continue,
                1 if members.len() == 1 => Series::single(label.clone(), parts[0], per_series),
                _ => Series::group(label.clone(), &parts, per_series),
            };
            chart_series.entry(key.as_str()).or_default().push((g, s));
        }
    }
    Ok(Charts {
        sections: draw_sections(&chart_series)?,
        summaries: summaries
            .into_iter()
            .map(|s| s.expect("every run is in a group"))
            .collect(),
        color_of,
        seed_groups: groups.iter().filter(|g| g.len() > 1).count(),
    })
}

fn diagnosis_view(run: &RunRecord, summary: &Summary) -> Diagnosis {
    Diagnosis {
        name: run.name.clone(),
        id: run.id.clone(),
        status: match status_label(run, crate::tracker::now(), &crate::tracker::this_host()) {
            label if label == "running" => {
                format!("running, step {} of {}", run.steps_done, run.total_steps)
            }
            label => label,
        },
        findings: summary
            .findings
            .iter()
            .map(|f| FindingView {
                title: f.title(),
                text: f.explanation(),
                problem: f.is_problem(),
            })
            .collect(),
    }
}

/// Groups runs whose parameters are equal apart from `train.seed` (runs
/// without parameters stay alone); groups in order of their first run.
fn seed_groups(params: &[BTreeMap<String, String>]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut index: HashMap<Vec<(&str, &str)>, usize> = HashMap::new();
    for (i, p) in params.iter().enumerate() {
        if p.is_empty() {
            groups.push(vec![i]);
            continue;
        }
        let key: Vec<(&str, &str)> = p
            .iter()
            .filter(|(k, _)| !NOT_CONFIG.contains(&k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match index.get(&key) {
            Some(&g) => groups[g].push(i),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![i]);
            }
        }
    }
    groups
}

/// What the names of a group's runs share: their common start, cut back to a
/// whole word (`sweep lr=1e-4 seed=1` and `... seed=2` give `sweep lr=1e-4`),
/// or the first name when they share no word.
fn common_name(names: &[&str]) -> String {
    let first = names[0];
    let mut len = names
        .iter()
        .map(|n| {
            first
                .char_indices()
                .zip(n.chars())
                .find(|((_, a), b)| a != b)
                .map_or(first.len().min(n.len()), |((i, _), _)| i)
        })
        .min()
        .unwrap_or(0);
    if names.iter().any(|n| n.len() != len) {
        len = first[..len].rfind(char::is_whitespace).unwrap_or(0);
    }
    let common = first[..len].trim_end();
    if common.is_empty() {
        first.to_string()
    } else {
        common.to_string()
    }
}

fn summarize(run: &RunRecord, series: &BTreeMap<&str, Vec<(u64, f64)>>) -> Summary {
    let get = |k: &str| series.get(k).map_or(&[][..], Vec::as_slice);
    let mut scores = HashMap::new();
    for (key, better) in SCORES {
        let values: Vec<f64> = get(key)
            .iter()
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .collect();
        if let Some(&last) = values.last() {
            let best = values.iter().copied().fold(last, |a, b| match better {
                Better::Lower => a.min(b),
                Better::Higher => a.max(b),
            });
            scores.insert(key, (last, best));
        }
    }
    let failed_reason = match run.status {
        RunStatus::Failed => Some(run.status_reason.as_deref().unwrap_or("")),
        _ => None,
    };
    let findings = diagnosis::diagnose(&Evidence {
        failed_reason,
        acc_real: get("acc_real"),
        acc_fake: get("acc_fake"),
        loss_g: get("loss_g"),
        grad_norm_d: get("grad_norm_d"),
        grad_norm_g: get("grad_norm_g"),
        fid: get("fid"),
        classes_covered: get("classes_covered"),
        coverage_kl: get("coverage_kl"),
    });
    Summary { scores, findings }
}

fn draw_sections(series: &BTreeMap<&str, Vec<(usize, Series)>>) -> Result<Vec<ChartSection>> {
    let draw = |key: &str, title: String| -> Result<Option<String>> {
        let Some(s) = series.get(key) else {
            return Ok(None);
        };
        chart::draw(&title, s)
            .map(Some)
            .map_err(|message| ReportError::Chart {
                metric: key.to_string(),
                message,
            })
    };
    let mut sections = Vec::new();
    let mut known = BTreeSet::new();
    for (title, metrics) in SECTIONS {
        let mut charts = Vec::new();
        for (key, what) in metrics {
            known.insert(*key);
            charts.extend(draw(key, format!("{key}: {what}"))?);
        }
        if !charts.is_empty() {
            sections.push(ChartSection {
                title: title.to_string(),
                charts,
            });
        }
    }
    let mut charts = Vec::new();
    for key in series.keys().filter(|k| !known.contains(*k)) {
        charts.extend(draw(key, key.to_string())?);
    }
    if !charts.is_empty() {
        sections.push(ChartSection {
            title: "Other metrics".to_string(),
            charts,
        });
    }
    Ok(sections)
}

/// Up to [`SAMPLE_STEPS`] evenly spaced entries of a sorted list.
fn spaced(steps: &[u64], k: usize) -> Vec<u64> {
    if steps.len() <= k {
        return steps.to_vec();
    }
    (0..k)
        .map(|i| steps[i * (steps.len() - 1) / (k - 1).max(1)])
        .collect()
}

fn samples(tracker: &Tracker, db: &Path, runs: &[RunRecord]) -> Result<Option<Samples>> {
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
    // Steps every run has; when they share none, every step some run has.
    let mut common: BTreeSet<u64> = with_samples[0].keys().copied().collect();
    for m in &with_samples[1..] {
        common.retain(|s| m.contains_key(s));
    }
    if common.is_empty() {
        common = with_samples
            .iter()
            .flat_map(|m| m.keys().copied())
            .collect();
    }
    let steps = spaced(&common.into_iter().collect::<Vec<_>>(), SAMPLE_STEPS);
    let mut missing_files = 0;
    let mut embed = |path: Option<&PathBuf>| -> Option<String> {
        let image = load::embed_png(path?);
        missing_files += usize::from(image.is_none());
        image
    };
    let mut rows = Vec::new();
    for (run, grids) in shown.iter().zip(&per_run) {
        if grids.is_empty() {
            continue;
        }
        let cells = steps.iter().map(|s| embed(grids.get(s))).collect();
        let last = grids.last_key_value();
        rows.push(SampleRow {
            name: run.name.clone(),
            cells,
            final_step: last.map(|l| *l.0),
            final_image: embed(last.map(|l| l.1)),
        });
    }
    Ok(Some(Samples {
        steps,
        rows,
        omitted: runs.len() - shown.len(),
        missing_files,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn runs_differing_only_by_seed_share_a_group() {
        let p = [
            params(&[("train.lr_d", "1e-3"), ("train.seed", "1")]),
            params(&[("train.lr_d", "1e-4"), ("train.seed", "1")]),
            params(&[("train.lr_d", "1e-3"), ("train.seed", "2")]),
            params(&[]),
            params(&[]),
            params(&[("train.lr_d", "1e-3"), ("train.seed", "3")]),
        ];
        assert_eq!(
            seed_groups(&p),
            vec![vec![0, 2, 5], vec![1], vec![3], vec![4]]
        );
    }

    #[test]
    fn picks_evenly_spaced_steps() {
        let steps: Vec<u64> = (1..=10).map(|s| s * 100).collect();
        assert_eq!(spaced(&steps, 6), vec![100, 200, 400, 600, 800, 1000]);
        assert_eq!(spaced(&steps[..3], 6), vec![100, 200, 300]);
    }

    #[test]
    fn group_labels_keep_what_the_names_share() {
        assert_eq!(
            common_name(&["sweep lr=1e-4 seed=1", "sweep lr=1e-4 seed=2"]),
            "sweep lr=1e-4"
        );
        assert_eq!(common_name(&["dcgan", "dcgan"]), "dcgan");
        assert_eq!(common_name(&["a-1", "a-2"]), "a-1", "no shared whole word");
        assert_eq!(common_name(&["x y", "x yz"]), "x");
    }

    #[test]
    fn sweep_runs_that_differ_by_seed_and_name_are_one_group() {
        let a = params(&[
            ("name", "s lr=1 seed=1"),
            ("train.seed", "1"),
            ("train.lr_d", "1"),
        ]);
        let b = params(&[
            ("name", "s lr=1 seed=2"),
            ("train.seed", "2"),
            ("train.lr_d", "1"),
        ]);
        let c = params(&[
            ("name", "s lr=2 seed=1"),
            ("train.seed", "1"),
            ("train.lr_d", "2"),
        ]);
        assert_eq!(seed_groups(&[a, b, c]), vec![vec![0, 1], vec![2]]);
    }
}
