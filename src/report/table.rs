//! The runs table: one row per run with its status, steps, duration and
//! start, its parameters (those that differ between the runs marked, so the
//! page can hide the others), its tags, its final and best scores, and the
//! scores recorded once or twice, with their step.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::chart;
use crate::store::tracker::RunRecord;
use crate::store::tracker::{status_with_reason, this_host};
use crate::util::table::{format_duration, format_time};

#[derive(Serialize)]
struct Cell {
    text: String,
    sort: String,
    /// Longer text, folded away under the cell's text.
    detail: Option<String>,
    /// `run-status` and `run-steps`: the cells a live page refreshes.
    class: Option<&'static str>,
    /// A running run's status (marked live).
    live: bool,
}

impl Cell {
    fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell {
            sort: text.clone(),
            text,
            detail: None,
            class: None,
            live: false,
        }
    }

    fn number(value: Option<f64>) -> Cell {
        match value {
            Some(v) if v.is_finite() => Cell {
                text: format_number(v),
                sort: format!("{v}"),
                ..Cell::text("")
            },
            Some(v) => Cell::text(format!("{v}")),
            None => Cell::text(""),
        }
    }
}

#[derive(Serialize)]
pub(super) struct ParamColumn {
    key: String,
    pub(super) differs: bool,
}

#[derive(Serialize)]
pub(super) struct RunRow {
    id: String,
    name: String,
    color: String,
    cells: Vec<Cell>,
    params: Vec<String>,
    pub(super) tags: String,
    tag_count: usize,
    scores: Vec<Cell>,
}

/// A run's row in the runs table (`color`: its seed group; `scores`: its
/// final and best value by score key; `recorded`: the (step, value) of each
/// score recorded too rarely to chart).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_row(
    run: &RunRecord,
    scores: &HashMap<String, (f64, f64)>,
    recorded: &[Option<(u64, f64)>],
    color: usize,
    params: Vec<String>,
    tags: &[(String, String)],
    score_keys: &[String],
    now: f64,
) -> RunRow {
    let duration = run.ended_at.unwrap_or(now) - run.started_at;
    let (label, reason) = status_with_reason(run, now, &this_host());
    let status = Cell {
        detail: reason,
        class: Some("run-status"),
        live: label == "running",
        ..Cell::text(label)
    };
    let mut cells = Vec::new();
    for key in score_keys {
        let (last, best) = scores.get(key).copied().unzip();
        cells.push(Cell::number(last));
        cells.push(Cell::number(best));
    }
    for r in recorded {
        cells.push(match r {
            Some((step, v)) => Cell {
                text: format!("{} (step {step})", format_number(*v)),
                ..Cell::number(Some(*v))
            },
            None => Cell::text(""),
        });
    }
    RunRow {
        id: run.id.clone(),
        name: run.name.clone(),
        color: chart::css_color(color),
        cells: vec![
            Cell::text(run.variant.clone()),
            status,
            Cell {
                sort: run.steps_done.to_string(),
                class: Some("run-steps"),
                ..Cell::text(format!("{} / {}", run.steps_done, run.total_steps))
            },
            Cell {
                sort: format!("{duration}"),
                ..Cell::text(format_duration(duration))
            },
            Cell {
                sort: format!("{}", run.started_at),
                ..Cell::text(format_time(run.started_at))
            },
        ],
        params,
        tags: tags
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        tag_count: tags.len(),
        scores: cells,
    }
}

/// All parameter keys (those that differ between runs marked) and each
/// run's values in that column order.
pub(super) fn param_table(
    params: &[BTreeMap<String, String>],
) -> (Vec<ParamColumn>, Vec<Vec<String>>) {
    // The name has its own column.
    let keys: BTreeSet<&String> = params
        .iter()
        .flat_map(|p| p.keys())
        .filter(|k| k.as_str() != "name")
        .collect();
    let columns: Vec<ParamColumn> = keys
        .iter()
        .map(|k| {
            let first = params[0].get(*k);
            ParamColumn {
                key: (*k).clone(),
                differs: params.iter().any(|p| p.get(*k) != first),
            }
        })
        .collect();
    let rows = params
        .iter()
        .map(|p| {
            keys.iter()
                .map(|k| p.get(*k).cloned().unwrap_or_default())
                .collect()
        })
        .collect();
    (columns, rows)
}

/// A number with about four significant digits.
pub(super) fn format_number(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() >= 1000.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
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
    fn key_params_are_those_that_differ() {
        let p = [
            params(&[("a", "1"), ("b", "x")]),
            params(&[("a", "1"), ("b", "y"), ("c", "z")]),
        ];
        let (cols, rows) = param_table(&p);
        let flags: Vec<(&str, bool)> = cols.iter().map(|c| (c.key.as_str(), c.differs)).collect();
        assert_eq!(flags, vec![("a", false), ("b", true), ("c", true)]);
        assert_eq!(rows[0], vec!["1", "x", ""]);
    }

    #[test]
    fn formats() {
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(0.123456), "0.1235");
    }
}
