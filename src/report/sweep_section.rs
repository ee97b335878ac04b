//! The sweep section: when the report covers one sweep, its configurations
//! ranked by the sweep's score, each swept parameter against the score, a
//! parallel-coordinates chart and the best configuration.

use std::collections::BTreeMap;

use serde::Serialize;

use super::table::format_number;
use super::{ReportError, Result, chart, is_label};
use crate::store::tracker::{RunRecord, Tracker};
use crate::sweep::rank::{RunScore, rank};

#[derive(Serialize)]
pub struct SweepView {
    pub id: String,
    pub score: String,
    pub direction: &'static str,
    pub stopping: String,
    pub registered: bool,
    pub keys: Vec<String>,
    pub configs: Vec<ConfigRow>,
    pub best: Option<String>,
    pub scatters: Vec<String>,
    pub parallel: Option<String>,
}

#[derive(Serialize)]
pub struct ConfigRow {
    pub rank: usize,
    pub values: Vec<String>,
    pub runs: String,
    pub score: String,
}

/// The section for sweep `id` over `runs` (with their `params`, and the
/// colour index each has in the rest of the report).
pub fn section(
    tracker: &Tracker,
    id: &str,
    runs: &[RunRecord],
    params: &[BTreeMap<String, String>],
    colors: &[usize],
) -> Result<SweepView> {
    let record = tracker.sweep(id)?;
    let (score, lower_is_better) = record.as_ref().map_or(("fid".to_string(), true), |r| {
        (r.score.clone(), r.lower_is_better)
    });
    let stopping = match record.as_ref().and_then(|r| r.stopping.as_deref()) {
        Some(rule) => {
            let rule: serde_json::Value = serde_json::from_str(rule).unwrap_or_default();
            format!(
                "median rule from step {} on, once {} other runs have a score at the same step",
                rule["after_step"], rule["min_runs"]
            )
        }
        None => "none".into(),
    };
    // Swept: the parameters whose value differs between the runs.
    let keys: Vec<String> = params
        .iter()
        .flat_map(|p| p.keys())
        .filter(|k| !is_label(k))
        .filter(|k| params.iter().any(|p| p.get(*k) != params[0].get(*k)))
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut scores = Vec::new();
    for (run, p) in runs.iter().zip(params) {
        let value = tracker.latest_value(&run.id, &score)?;
        scores.push(RunScore {
            values: keys
                .iter()
                .map(|k| (k.clone(), p.get(k).cloned().unwrap_or_default()))
                .collect(),
            status: run.status,
            score: value,
        });
    }
    let ranked = rank(&scores, lower_is_better);
    let configs = ranked
        .iter()
        .enumerate()
        .map(|(i, c)| ConfigRow {
            rank: i + 1,
            values: c.values.iter().map(|(_, v)| v.clone()).collect(),
            runs: c.runs_summary(),
            score: match (c.mean, c.std) {
                (Some(m), Some(s)) => format!("{} ± {}", format_number(m), format_number(s)),
                _ => "-".into(),
            },
        })
        .collect();
    let best = ranked.first().filter(|c| c.mean.is_some()).map(|c| {
        let values: Vec<String> = c.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!(
            "{}: {score} {} ± {} over {} run(s)",
            if values.is_empty() {
                "the base configuration".into()
            } else {
                values.join(", ")
            },
            format_number(c.mean.unwrap_or(f64::NAN)),
            format_number(c.std.unwrap_or(f64::NAN)),
            c.scored
        )
    });

    let fail = |what: &str| {
        let what = what.to_string();
        move |message| ReportError::Chart {
            metric: what,
            message,
        }
    };
    let mut scatters = Vec::new();
    let axes: Vec<chart::Axis> = keys
        .iter()
        .enumerate()
        .map(|(i, _)| {
            let texts: Vec<String> = scores.iter().map(|s| s.values[i].1.clone()).collect();
            chart::Axis::for_values(&texts)
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let points: Vec<(String, f64, usize)> = scores
            .iter()
            .zip(colors)
            .filter_map(|(s, &c)| Some((s.values[i].1.clone(), s.score?, c)))
            .collect();
        scatters.push(
            chart::scatter(
                &format!("{key} against {score}"),
                key,
                &score,
                &axes[i],
                &points,
            )
            .map_err(fail(key))?,
        );
    }
    let parallel = if keys.is_empty() {
        None
    } else {
        let lines: Vec<(Vec<String>, f64)> = scores
            .iter()
            .filter_map(|s| Some((s.values.iter().map(|v| v.1.clone()).collect(), s.score?)))
            .collect();
        Some(
            chart::parallel(
                &format!("all swept parameters and {score} (darker is better)"),
                &keys,
                &axes,
                &score,
                &lines,
                lower_is_better,
            )
            .map_err(fail("parallel coordinates"))?,
        )
    };
    Ok(SweepView {
        id: id.to_string(),
        score,
        direction: if lower_is_better {
            "lower is better"
        } else {
            "higher is better"
        },
        stopping,
        registered: record.is_some(),
        keys,
        configs,
        best,
        scatters,
        parallel,
    })
}
