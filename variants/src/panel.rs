//! Report panels: what a variant adds to `gan-lab report` about one run,
//! computed from the run's recorded metrics. A panel is plain data (text,
//! a bar chart, a table, the final sample grid with row labels); the report
//! draws and escapes it, so variants know nothing about HTML.

use std::collections::BTreeMap;

/// What the report hands a variant about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunView {
    /// Each recorded metric's latest value and its step.
    pub latest: BTreeMap<String, (u64, f64)>,
}

impl RunView {
    /// The latest value of `key`.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.latest.get(key).map(|v| v.1)
    }

    /// The step of the latest value of `key`.
    pub fn step(&self, key: &str) -> Option<u64> {
        self.latest.get(key).map(|v| v.0)
    }
}

/// A variant's section about one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    /// What the panel shows, in a sentence or two.
    pub text: String,
    pub bars: Option<Bars>,
    pub table: Option<PanelTable>,
    /// Show the run's final sample grid, one label per grid row.
    pub grid_row_labels: Option<Vec<String>>,
}

/// A bar chart: one bar per label.
#[derive(Clone, Debug, PartialEq)]
pub struct Bars {
    pub title: String,
    pub labels: Vec<String>,
    pub values: Vec<f64>,
    /// The top of the value axis (such as 1 for shares); `None` fits the data.
    pub max: Option<f64>,
}

/// A small table of text cells.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}
