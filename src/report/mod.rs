//! The HTML report (`gan-lab report`): one self-contained `index.html`
//! comparing runs, read from the tracking database and the runs' sample
//! files only.
//!
//! Sections: a sortable runs table (key parameters are those that differ
//! between the selected runs; a toggle shows all; scores recorded once or
//! twice are numbers there), one chart per metric with the runs overlaid
//! (runs differing only by `train.seed` drawn as one mean line with a
//! min–max band; per-class series one chart with a line per class), drawn
//! by the page's small embedded script from embedded data ([`curves`]) with
//! smoothing, log scale, a step or wall-clock axis and the values under the
//! pointer; every run's sample grids with a slider, and a plain-language
//! diagnosis per run ([`diagnosis`]). `gan-lab serve` serves the same page
//! and refreshes its curves and run states from [`live_json`].
//!
//! The flow: `load` reads the tracker (runs, parameters, tags, sample
//! files), `view` builds the page from it (the runs table in `table`), and
//! [`render`] fills the template and writes the file. Loading is per
//! selected run: a run that has ended is read from the digests the tracker
//! stored when it ended (its short series whole; long ones as 500 bucket
//! means, which seed groups and the diagnosis use, and each bucket's lowest
//! and highest point, which a single run's line draws); a running run's
//! series are read in full. One seed group is held at a time, then reduced
//! to at most [`chart::MAX_POINTS`] points per series (min and max per bucket).
//!
//! Escaping: the page is rendered by minijinja with HTML auto-escape, so
//! every user-given string (names, params, tags, failure reasons) is
//! escaped; the curves' data is embedded as JSON with `<` written as
//! `\u003c` and the script writes text only as text nodes; the other SVG
//! charts are inserted as markup, and plotters escapes the text it writes
//! into them (titles, legend labels).
//!
//! Paths: the default output folder is named through
//! [`paths::component`](crate::util::paths::component) ([`default_out`]), and
//! run folders and sample files stored in the database are joined with
//! [`paths::join_inside`](crate::util::paths::join_inside), so neither a name nor
//! the database can make the report write or read outside its folders.
//!
//! May import: `util`, `spec` (label keys), `store` (runs, series, run
//! folders), `sweep` (the ranking of a sweep's configurations). Never
//! `train`, `eval` or `commands`.

pub mod chart;
pub mod curves;
pub mod diagnosis;
mod load;
pub mod panels;
mod sample_grids;
pub mod sweep_section;
mod table;
mod view;

use std::path::{Path, PathBuf};

use crate::store::tracker::{Tracker, TrackerError};
use crate::util::paths::{self, PathError};

const TEMPLATE: &str = include_str!("template.html");

/// Sample grids are shown for at most this many runs (the first selected).
pub const MAX_SAMPLE_RUNS: usize = 12;
/// At most this many evenly spaced sample grids per run (the first and the
/// last among them), for the page's slider.
pub const MAX_SAMPLE_GRIDS: usize = 40;

/// Which runs a report covers; all empty means every run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Run ids, id prefixes or names (as `gan-lab show` takes them).
    pub runs: Vec<String>,
    pub experiment: Option<String>,
    pub sweep: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no tracking database at {}; train a run first (`gan-lab run`)", .0.display())]
    NoDatabase(PathBuf),
    #[error(transparent)]
    Tracker(#[from] TrackerError),
    #[error("no runs match {0}; see `gan-lab list`")]
    NoRuns(String),
    #[error("the name `{name}` cannot name the report folder; pass `--out FOLDER`")]
    OutName {
        name: String,
        #[source]
        source: PathError,
    },
    #[error(
        "run {run} has an unsafe folder or file recorded in the database (edited by hand or damaged?); leave it out of the report with `--runs`, or fix the `runs.run_dir` / `artifacts.path` rows"
    )]
    UnsafePath {
        run: String,
        #[source]
        source: PathError,
    },
    #[error("drawing the chart of {metric}: {message}")]
    Chart { metric: String, message: String },
    #[error("rendering the report page")]
    Template(#[source] minijinja::Error),
    #[error("cannot write the report to {}; choose a writable folder with --out DIR", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReportError {
    /// Whether the error comes from the user's input rather than a fault.
    pub fn is_user_error(&self) -> bool {
        match self {
            Self::NoDatabase(_)
            | Self::NoRuns(_)
            | Self::OutName { .. }
            | Self::UnsafePath { .. }
            | Self::Write { .. } => true,
            Self::Tracker(e) => e.is_user_error(),
            _ => false,
        }
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// Whether a parameter labels a run rather than configures it: runs that
/// differ only in these are repeats of one configuration (a sweep's run
/// names its seed too).
fn is_label(key: &str) -> bool {
    crate::spec::LABEL_KEYS.contains(&key) || key == "train.seed"
}

/// Where `gan-lab report` writes without `--out`: `reports/<name>`, the
/// name being the experiment's, else the sweep's, else `all`, made one safe
/// folder name by [`paths::component`] (`a/b` becomes `reports/a%2Fb`).
pub fn default_out(selection: &Selection) -> Result<PathBuf> {
    let name = selection
        .experiment
        .as_deref()
        .or(selection.sweep.as_deref())
        .unwrap_or("all");
    let folder = paths::component(name).map_err(|source| ReportError::OutName {
        name: name.escape_debug().to_string(),
        source,
    })?;
    Ok(Path::new("reports").join(folder))
}

/// Renders the report of the selected runs into `out_dir/index.html` and
/// returns that path.
pub fn render(db: &Path, selection: &Selection, out_dir: &Path) -> Result<PathBuf> {
    if !db.is_file() {
        return Err(ReportError::NoDatabase(db.to_path_buf()));
    }
    let html = page_html(db, selection, false)?;
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let path = out_dir.join("index.html");
    std::fs::write(&path, html).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Opens the database read-only; a missing file is a user error.
fn open(db: &Path) -> Result<Tracker> {
    if !db.is_file() {
        return Err(ReportError::NoDatabase(db.to_path_buf()));
    }
    Ok(Tracker::open_read_only(db)?)
}

/// Checks that `selection` names runs of the database at `db` (the errors
/// `render` would give), reading no series.
pub fn check(db: &Path, selection: &Selection) -> Result<()> {
    load::load(&open(db)?, selection).map(|_| ())
}

/// The report page of the selected runs; `live` pages (served by `gan-lab
/// serve`) fetch fresher curves and run states from `api/data` every few
/// seconds.
pub fn page_html(db: &Path, selection: &Selection, live: bool) -> Result<String> {
    let tracker = open(db)?;
    let loaded = load::load(&tracker, selection)?;
    fill_template(view::page(&tracker, db, selection, loaded, live)?)
}

/// The curves and run states of the selected runs as JSON, as the page's
/// script reads them (the data a live page refreshes itself with).
pub fn live_json(db: &Path, selection: &Selection) -> Result<String> {
    let tracker = open(db)?;
    let loaded = load::load(&tracker, selection)?;
    Ok(curves::script_json(&view::live(&tracker, loaded)?))
}

fn fill_template(page: view::Page) -> Result<String> {
    let mut env = minijinja::Environment::new();
    env.add_template("index.html", TEMPLATE)
        .map_err(ReportError::Template)?;
    let template = env
        .get_template("index.html")
        .map_err(ReportError::Template)?;
    template
        .render(minijinja::value::Serde(page))
        .map_err(ReportError::Template)
}

/// The selection in words, for the page and for "no runs match" errors.
fn describe(selection: &Selection) -> String {
    let mut parts = Vec::new();
    if !selection.runs.is_empty() {
        parts.push(format!("runs {}", selection.runs.join(", ")));
    }
    if let Some(e) = &selection.experiment {
        parts.push(format!("experiment '{e}'"));
    }
    if let Some(s) = &selection.sweep {
        parts.push(format!("sweep '{s}'"));
    }
    if parts.is_empty() {
        "all runs".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tracker::{MetricPoint, NewRun, fixtures};

    fn new_run(name: &str) -> NewRun {
        NewRun {
            run_dir: "r".into(),
            total_steps: 20,
            ..fixtures::new_run("exp", name)
        }
    }

    #[test]
    fn names_params_and_tags_are_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        let tracker = Tracker::open(&db).unwrap();
        let evil = "<script>alert(1)</script>";
        let id = tracker.create_run(&new_run(evil)).unwrap();
        tracker
            .log_params(&id, &[("train.lr_d".into(), "<b>x</b>".into())])
            .unwrap();
        tracker
            .set_tag(&id, "note", "<img src=x onerror=alert(2)>")
            .unwrap();
        let points: Vec<MetricPoint> = (1..=20)
            .map(|s| MetricPoint {
                key: "loss_d".into(),
                step: s,
                value: 1.0 / s as f64,
                wall_time: s as f64,
            })
            .collect();
        tracker.log_metrics(&id, &points).unwrap();
        let other = tracker.create_run(&new_run("plain")).unwrap();
        tracker
            .log_params(&other, &[("train.lr_d".into(), "1".into())])
            .unwrap();
        drop(tracker);

        let out = render(&db, &Selection::default(), &dir.path().join("out")).unwrap();
        let html = std::fs::read_to_string(out).unwrap();
        assert!(!html.contains(evil), "raw name in the page");
        assert!(!html.contains("<b>x</b>"));
        assert!(!html.contains("<img src=x"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"));
        // In the curves' data, where the script reads it as text.
        assert!(html.contains(r"\u003cscript>alert(1)\u003c/script>"));
        assert_eq!(
            html.matches("<script").count(),
            2,
            "only the page's script and its data"
        );
        assert!(html.contains(r#""id":"loss_d""#), "a chart of loss_d");
    }

    #[test]
    fn selection_errors_are_user_errors() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db.sqlite");
        let err = render(&db, &Selection::default(), dir.path()).unwrap_err();
        assert!(err.is_user_error() && matches!(err, ReportError::NoDatabase(_)));
        Tracker::open(&db).unwrap();
        let sel = Selection {
            experiment: Some("nope".into()),
            ..Selection::default()
        };
        let err = render(&db, &sel, dir.path()).unwrap_err();
        assert!(err.is_user_error(), "{err}");
        assert!(err.to_string().contains("experiment 'nope'"), "{err}");
    }

    #[test]
    fn the_default_folder_is_one_encoded_name_under_reports() {
        let out = |experiment: Option<&str>, sweep: Option<&str>| {
            default_out(&Selection {
                runs: vec!["abc".into()],
                experiment: experiment.map(str::to_string),
                sweep: sweep.map(str::to_string),
            })
        };
        assert_eq!(out(None, None).unwrap(), Path::new("reports/all"));
        assert_eq!(
            out(Some("dcgan"), None).unwrap(),
            Path::new("reports/dcgan")
        );
        assert_eq!(out(None, Some("lr")).unwrap(), Path::new("reports/lr"));
        assert_eq!(out(Some("e"), Some("s")).unwrap(), Path::new("reports/e"));
        assert_eq!(out(Some("a/b"), None).unwrap(), Path::new("reports/a%2Fb"));
        assert_eq!(out(Some(".."), None).unwrap(), Path::new("reports/%2E%2E"));
        for name in ["../x", "/tmp/evil", "a/../../b", "\\\\server\\x", "C:\\x"] {
            let path = out(None, Some(name)).unwrap();
            assert_eq!(path.parent(), Some(Path::new("reports")), "{name}");
            assert_eq!(path.components().count(), 2, "{name}");
        }
        let err = out(Some(""), None).unwrap_err();
        assert!(err.is_user_error(), "{err}");
        assert!(err.to_string().contains("--out"), "{err}");
        let err = out(Some(&"x".repeat(200)), None).unwrap_err();
        assert!(matches!(err, ReportError::OutName { .. }), "{err}");
    }

    /// A database whose run folder or sample path leads outside the
    /// database's folder: the report refuses it and reads nothing there.
    #[test]
    fn stored_paths_cannot_lead_outside_the_database_folder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("runs/db.sqlite");
        // A real PNG outside the database folder, where a hostile row points.
        let secret = dir.path().join("secret/samples");
        std::fs::create_dir_all(&secret).unwrap();
        std::fs::write(secret.join("step-000001.png"), b"\x89PNG\r\n\x1a\nsecret").unwrap();
        for (run_dir, artifact) in [
            ("../secret", "samples/step-000001.png"),
            ("r", "../../secret/samples/step-000001.png"),
            ("r", "/etc/passwd"),
        ] {
            std::fs::remove_file(&db).ok();
            let tracker = Tracker::open(&db).unwrap();
            let id = tracker
                .create_run(&NewRun {
                    run_dir: run_dir.into(),
                    ..new_run("hostile")
                })
                .unwrap();
            tracker
                .add_artifact(&id, "samples", Some(1), artifact)
                .unwrap();
            drop(tracker);
            let out = dir.path().join("out");
            let err = render(&db, &Selection::default(), &out).unwrap_err();
            assert!(matches!(err, ReportError::UnsafePath { .. }), "{err}");
            assert!(err.is_user_error());
            assert!(err.to_string().contains(&id), "{err}");
            let cause = std::error::Error::source(&err).unwrap().to_string();
            assert!(cause.contains("leads outside"), "{cause}");
            assert!(!out.exists(), "nothing written");
        }
    }
}
