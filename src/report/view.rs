//! Building the page from what `load` reads: the runs table (`table`), the
//! curves as data for the page's script (`curves`: seed groups as one mean
//! line and band), the sample grids of every stored step, the variant
//! panels, the sweep section and the diagnosis of each run; the template
//! only lays these out. [`live`] is the part `gan-lab serve` refreshes.
//!
//! The series of one seed group are read, summarised and reduced to chart
//! points before the next group is read, so only one group's full series is
//! held at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use gan_lab_variants::metric::lookup;
use gan_lab_variants::{MetricInfo, Section};
use serde::Serialize;

use super::curves::{self, RunSeries};
use super::load::{self, Loaded};
use super::sample_grids::{Samples, samples};
use super::table::{ParamColumn, RunRow, param_table, run_row};
use super::{
    MAX_SAMPLE_RUNS, Result, Selection, chart, describe, diagnosis, is_label, panels, sweep_section,
};
use crate::store::tracker::status_label;
use crate::store::tracker::{RunRecord, RunStatus, Tracker};
use crate::util::table::format_time;
use diagnosis::{Evidence, Finding};

/// A run's state as the page shows it, refreshed while runs train.
#[derive(Serialize)]
pub(super) struct RunState {
    id: String,
    status: String,
    steps: String,
    live: bool,
}

/// What `gan-lab serve` sends the page every few seconds, and what the
/// static page embeds: the curves and the runs' states.
#[derive(Serialize)]
pub(super) struct Live {
    generated: String,
    sections: Vec<curves::Section>,
    runs: Vec<RunState>,
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
    score_keys: Vec<String>,
    sparse_keys: Vec<String>,
    rows: Vec<RunRow>,
    seed_groups: usize,
    /// The curves and run states as JSON for the page's script.
    data: String,
    chart_count: usize,
    live: bool,
    /// The page's script: draws the curves, works the sample sliders and
    /// (on a live page) refreshes them.
    script: &'static str,
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
    /// Final and best value by score key.
    scores: HashMap<String, (f64, f64)>,
    /// The last finite (step, value) of every key.
    last: HashMap<String, (u64, f64)>,
    findings: Vec<Finding>,
}

/// The charts of all runs, and what the rest of the page needs from the
/// series: a summary and a colour (its seed group) per run.
struct Charts {
    sections: Vec<curves::Section>,
    /// Keys recorded too rarely to chart, shown in the runs table.
    sparse: Vec<String>,
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
    live: bool,
) -> Result<Page> {
    let now = crate::store::tracker::now();
    let Loaded {
        runs,
        params,
        tags,
        keys,
        vocabulary,
    } = loaded;
    // The evaluation scores some run logged, shown as final and best.
    let scored: Vec<&MetricInfo> = vocabulary
        .iter()
        .filter(|m| m.section == Section::Evaluation && keys.contains(m.key.as_ref()))
        .collect();
    let charts = charts(tracker, &runs, &params, &keys, &vocabulary, &scored)?;
    let (param_columns, param_rows) = param_table(&params);
    let score_keys: Vec<String> = scored
        .iter()
        .map(|m| m.key.to_string())
        .filter(|k| !charts.sparse.contains(k))
        .collect();

    let mut rows = Vec::new();
    let mut diagnoses = Vec::new();
    for (i, (run, summary)) in runs.iter().zip(&charts.summaries).enumerate() {
        let recorded: Vec<Option<(u64, f64)>> = charts
            .sparse
            .iter()
            .map(|k| summary.last.get(k).copied())
            .collect();
        rows.push(run_row(
            run,
            &summary.scores,
            &recorded,
            charts.color_of[i],
            param_rows[i].clone(),
            &tags[i],
            &score_keys,
            now,
        ));
        diagnoses.push(diagnosis_view(run, summary));
    }

    let samples = samples(tracker, db, &runs, &charts.color_of)?;
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
        sparse_keys: charts.sparse,
        rows,
        seed_groups: charts.seed_groups,
        chart_count: charts.sections.iter().map(|s| s.charts.len()).sum(),
        data: curves::script_json(&Live {
            generated: format_time(now),
            sections: charts.sections,
            runs: runs.iter().map(|r| run_state(r, now)).collect(),
        }),
        live,
        script: include_str!("report.js"),
        samples,
        diagnoses,
        thresholds: diagnosis::thresholds(),
        max_points: chart::MAX_POINTS,
        max_legend: chart::MAX_LEGEND,
        sweep,
        panels,
    })
}

/// The curves and run states of `loaded`, for `gan-lab serve` to refresh
/// the page with.
pub(super) fn live(tracker: &Tracker, loaded: Loaded) -> Result<Live> {
    let now = crate::store::tracker::now();
    let charts = charts(
        tracker,
        &loaded.runs,
        &loaded.params,
        &loaded.keys,
        &loaded.vocabulary,
        &[],
    )?;
    Ok(Live {
        generated: format_time(now),
        sections: charts.sections,
        runs: loaded.runs.iter().map(|r| run_state(r, now)).collect(),
    })
}

fn run_state(run: &RunRecord, now: f64) -> RunState {
    let status = status_label(run, now, &crate::store::tracker::this_host());
    RunState {
        id: run.id.clone(),
        live: status == "running",
        status,
        steps: format!("{} / {}", run.steps_done, run.total_steps),
    }
}

/// Reads the series group by group: each run is summarised and each group
/// becomes one line (or a mean line with a band) per metric.
fn charts(
    tracker: &Tracker,
    runs: &[RunRecord],
    params: &[BTreeMap<String, String>],
    keys: &BTreeSet<String>,
    vocabulary: &[MetricInfo],
    scored: &[&MetricInfo],
) -> Result<Charts> {
    let groups = seed_groups(params);
    let per_series = chart::points_per_series(groups.len());
    let charted: Vec<String> = keys
        .iter()
        .filter(|k| !k.ends_with("_std"))
        .cloned()
        .collect();

    let mut builder = curves::Builder::new(charted.clone(), per_series);
    let mut summaries: Vec<Option<Summary>> = (0..runs.len()).map(|_| None).collect();
    let mut color_of = vec![0; runs.len()];
    for (g, members) in groups.iter().enumerate() {
        let mut series: Vec<RunSeries> = Vec::new();
        for &i in members {
            color_of[i] = g;
            let by_key = load::series(tracker, &runs[i], &charted)?;
            summaries[i] = Some(summarize(&runs[i], &by_key, scored));
            series.push(by_key);
        }
        let label = if members.len() > 1 {
            let names: Vec<&str> = members.iter().map(|&i| runs[i].name.as_str()).collect();
            format!("{} (mean of {} seeds)", common_name(&names), members.len())
        } else {
            runs[members[0]].name.clone()
        };
        let with_starts: Vec<(&RunSeries, f64)> = series
            .iter()
            .zip(members)
            .map(|(s, &i)| (s, runs[i].started_at))
            .collect();
        builder.add_group(g, &label, &with_starts);
    }
    let sparse = builder.sparse_keys();
    Ok(Charts {
        sections: builder.sections(vocabulary, |vocabulary, keys| {
            layout(vocabulary, keys)
                .into_iter()
                .map(|(t, charts)| {
                    let charts = charts.into_iter().map(|(k, c)| (k.to_string(), c));
                    (t, charts.collect())
                })
                .collect()
        }),
        sparse,
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
        status: match status_label(
            run,
            crate::store::tracker::now(),
            &crate::store::tracker::this_host(),
        ) {
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
            .filter(|(k, _)| !is_label(k))
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

/// The last finite value of a series and the best by `info`'s direction.
fn final_and_best(info: &MetricInfo, series: &[(u64, f64)]) -> Option<(f64, f64)> {
    let values = series.iter().map(|p| p.1).filter(|v| v.is_finite());
    let last = values.clone().next_back()?;
    let best = values.fold(last, |a, b| if info.improves(b, a) { b } else { a });
    Some((last, best))
}

/// A run's final and best value of each `scored` metric and its diagnosis.
fn summarize(run: &RunRecord, series: &RunSeries, scored: &[&MetricInfo]) -> Summary {
    let series: BTreeMap<&str, Vec<(u64, f64)>> = series
        .iter()
        .map(|(k, s)| (*k, s.iter().map(|p| (p.0, p.1)).collect()))
        .collect();
    let get = |k: &str| series.get(k).map_or(&[][..], Vec::as_slice);
    let last = series
        .iter()
        .filter_map(|(k, s)| Some((k.to_string(), *s.iter().rev().find(|p| p.1.is_finite())?)))
        .collect();
    let mut scores = HashMap::new();
    for info in scored {
        if let Some(score) = final_and_best(info, get(&info.key)) {
            scores.insert(info.key.to_string(), score);
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
    Summary {
        scores,
        last,
        findings,
    }
}

/// The chart sections of the metrics `keys`, in page order: sections in the
/// order of [`Section`], each key's from the `vocabulary` (per-variant
/// scores, which the variant's panel also shows, and keys nobody defined go
/// to the last, "Other metrics"), keys in vocabulary order within a section
/// (undefined ones after, by name). Each key comes with its chart title.
fn layout<'k>(
    vocabulary: &[MetricInfo],
    keys: impl IntoIterator<Item = &'k str>,
) -> Vec<(&'static str, Vec<(&'k str, String)>)> {
    let mut placed: Vec<(Section, usize, &'k str, String)> = keys
        .into_iter()
        .map(|key| {
            let info = lookup(vocabulary, key);
            let known = vocabulary.iter().position(|m| m.key == key);
            let section = match info.section {
                Section::VariantScores => Section::Other,
                s => s,
            };
            let title = match known {
                Some(_) => format!("{key}: {}", info.titled()),
                None => key.to_string(),
            };
            (section, known.unwrap_or(usize::MAX), key, title)
        })
        .collect();
    placed.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let mut sections: Vec<(&'static str, Vec<(&'k str, String)>)> = Vec::new();
    for (section, _, key, title) in placed {
        match sections.last_mut() {
            Some((t, charts)) if *t == section.title() => charts.push((key, title)),
            _ => sections.push((section.title(), vec![(key, title)])),
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample_grids::spaced;

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

    fn titles(sections: &[(&str, Vec<(&str, String)>)]) -> Vec<(String, Vec<String>)> {
        sections
            .iter()
            .map(|(t, charts)| (t.to_string(), charts.iter().map(|c| c.1.clone()).collect()))
            .collect()
    }

    #[test]
    fn charts_are_grouped_by_the_vocabularys_sections() {
        use gan_lab_variants::metric::{IMAGE_SCORES, TRAINING, class_scores};
        let keys = [
            "zeta",
            "fid",
            "loss_g",
            "class_acc_1",
            "img_per_s",
            "loss_d",
            "cond_acc",
            "acc_real",
            "alpha",
        ];
        let vanilla = [TRAINING, IMAGE_SCORES].concat();
        let own = |s: &[&str]| s.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        assert_eq!(
            titles(&layout(&vanilla, keys)),
            vec![
                (
                    "Losses".into(),
                    own(&["loss_d: discriminator loss", "loss_g: generator loss"])
                ),
                (
                    "Discriminator accuracy".into(),
                    own(&["acc_real: accuracy on real images"])
                ),
                (
                    "Throughput".into(),
                    own(&["img_per_s: images per second (higher is better)"])
                ),
                ("Evaluation".into(), own(&["fid: FID (lower is better)"])),
                // Keys the vocabulary lacks, by name.
                (
                    "Other metrics".into(),
                    own(&["alpha", "class_acc_1", "cond_acc", "zeta"])
                ),
            ]
        );
        // A conditional run's vocabulary: its scores are evaluation scores,
        // its per-class scores go before the unknown keys of the last section.
        let mut conditional = vanilla.clone();
        conditional.extend(class_scores(10));
        let sections = titles(&layout(&conditional, keys));
        assert_eq!(
            sections[3],
            (
                "Evaluation".into(),
                own(&[
                    "fid: FID (lower is better)",
                    "cond_acc: conditional accuracy (share of the requested class) (higher is better)"
                ])
            )
        );
        assert_eq!(
            sections[4],
            (
                "Other metrics".into(),
                own(&[
                    "class_acc_1: accuracy of class 1 (higher is better)",
                    "alpha",
                    "zeta"
                ])
            )
        );
    }

    #[test]
    fn the_best_score_follows_the_metrics_direction() {
        use gan_lab_variants::metric::IMAGE_SCORES;
        let series = [(1, 30.0), (2, 10.0), (3, f64::NAN), (4, 20.0)];
        let score = |key: &str| final_and_best(&lookup(IMAGE_SCORES, key), &series);
        assert_eq!(score("fid"), Some((20.0, 10.0)));
        assert_eq!(score("is"), Some((20.0, 30.0)));
        assert_eq!(
            score("kid_std"),
            Some((20.0, 20.0)),
            "no direction: the last"
        );
        assert_eq!(final_and_best(&lookup(IMAGE_SCORES, "fid"), &[]), None);
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
