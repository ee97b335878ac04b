//! Per-variant panels: each run's variant (from its stored spec) may add a
//! section through the variant interface ([`VariantSpec::panel`]); this
//! module only draws what the panel holds. The report never looks at
//! variant names.
//!
//! [`VariantSpec::panel`]: gan_lab_variants::VariantSpec::panel

use std::collections::BTreeMap;
use std::path::Path;

use gan_lab_variants::panel::{PanelTable, RunView};
use serde::Serialize;

use super::load::{embed_png, sample_files};
use super::{ReportError, Result, chart};
use crate::spec;
use crate::store::tracker::{RunRecord, Tracker};

/// A drawn panel, ready for the template.
#[derive(Serialize)]
pub struct PanelView {
    pub run_name: String,
    pub run_id: String,
    pub title: String,
    pub text: String,
    pub chart: Option<String>,
    pub table: Option<TableView>,
    /// The final sample grid (a data URI) and a label per grid row.
    pub grid: Option<String>,
    pub grid_step: Option<u64>,
    pub row_labels: Vec<String>,
}

#[derive(Serialize)]
pub struct TableView {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl From<PanelTable> for TableView {
    fn from(t: PanelTable) -> Self {
        Self {
            header: t.header,
            rows: t.rows,
        }
    }
}

/// The latest (step, value) of each key, where `gan-lab eval`'s `eval/KEY`
/// stands for `KEY` when it is at least as recent, so that a run scored
/// after training has its panel.
fn latest(metrics: Vec<crate::store::tracker::LatestMetric>) -> BTreeMap<String, (u64, f64)> {
    let mut latest = BTreeMap::new();
    let mut evals = Vec::new();
    for m in metrics {
        match m.key.strip_prefix("eval/") {
            Some(key) => evals.push((key.to_string(), (m.step, m.value))),
            None => {
                latest.insert(m.key, (m.step, m.value));
            }
        }
    }
    for (key, point) in evals {
        if latest
            .get(&key)
            .is_none_or(|own: &(u64, f64)| own.0 <= point.0)
        {
            latest.insert(key, point);
        }
    }
    latest
}

/// The panels of `runs` (at most `limit` runs, the first ones).
pub fn panels(
    tracker: &Tracker,
    db: &Path,
    runs: &[RunRecord],
    limit: usize,
) -> Result<Vec<PanelView>> {
    let mut out = Vec::new();
    for run in runs.iter().take(limit) {
        // A spec this build cannot read (an older format) just has no panel.
        let Ok(spec) = spec::parse_stored(&run.id, &run.spec_text) else {
            continue;
        };
        let view = RunView {
            latest: latest(tracker.latest_metrics(&run.id)?),
        };
        let Some(panel) = spec.variant.panel(&view) else {
            continue;
        };
        let chart = match &panel.bars {
            Some(b) => Some(chart::bars(&b.title, &b.labels, &b.values, b.max).map_err(
                |message| ReportError::Chart {
                    metric: format!("{} panel of {}", panel.title, run.name),
                    message,
                },
            )?),
            None => None,
        };
        let (grid, grid_step, row_labels) = match panel.grid_row_labels {
            Some(labels) => match sample_files(tracker, db, run)?.pop_last() {
                Some((step, path)) => (embed_png(&path), Some(step), labels),
                None => (None, None, Vec::new()),
            },
            None => (None, None, Vec::new()),
        };
        out.push(PanelView {
            run_name: run.name.clone(),
            run_id: run.id.clone(),
            title: panel.title,
            text: panel.text,
            chart,
            table: panel.table.map(TableView::from),
            grid,
            grid_step,
            row_labels,
        });
    }
    Ok(out)
}
