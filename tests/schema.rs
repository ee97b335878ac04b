//! docs/schema.md against a database gan-lab wrote: every table and column
//! is described, and every example query (taken from the page itself, so the
//! two cannot drift) runs with sqlite3 and pandas and gives the rows it
//! promises.

use std::path::Path;
use std::process::{Command, Stdio};

use gan_lab::store::tracker::{MetricPoint, NewRun, Tracker};
use std::io::Write;

use crate::common::*;

const DOC: &str = include_str!("../docs/schema.md");

/// The fenced blocks of `lang` in the page, in order.
fn blocks(lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    DOC.split(&fence)
        .skip(1)
        .map(|rest| rest[..rest.find("```").expect("closed block")].to_string())
        .collect()
}

/// Runs `program args` in `dir` with `input` on stdin; returns stdout.
fn run(dir: &Path, program: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed (.ci/run installs it): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{program} failed on\n{input}\n{stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The page's example database: two runs of experiment `dcgan` with their
/// parameters, 20 steps of losses and an FID, at `runs/gan-lab.sqlite`.
fn example_db(dir: &Path) {
    let tracker = Tracker::open(&dir.join("runs/gan-lab.sqlite")).unwrap();
    for (name, lr) in [("dcgan-baseline", "1e-4"), ("dcgan-lr2e-4", "2e-4")] {
        let id = tracker
            .create_run(&NewRun {
                total_steps: 20,
                ..new_run("dcgan", name)
            })
            .unwrap();
        tracker
            .log_params(
                &id,
                &[
                    ("train.lr_g".into(), lr.into()),
                    ("variant.arch".into(), "Dcgan".into()),
                ],
            )
            .unwrap();
        let mut points = Vec::new();
        for step in 1..=20u64 {
            for key in ["loss_d", "loss_g"] {
                points.push(MetricPoint {
                    key: key.into(),
                    step,
                    value: 1.0 / step as f64,
                    wall_time: step as f64,
                });
            }
        }
        points.push(MetricPoint {
            key: "fid".into(),
            step: 20,
            value: 80.0,
            wall_time: 20.0,
        });
        tracker.log_metrics(&id, &points).unwrap();
    }
}

#[test]
fn every_table_and_column_is_documented() {
    let lab = Lab::without_data();
    let tracker = lab.tracker();
    drop(tracker);
    let conn = rusqlite::Connection::open(lab.db()).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() >= 8, "{tables:?}");
    for table in &tables {
        let heading = format!("### `{table}`\n");
        let start = DOC
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/schema.md does not describe table {table}"));
        let section = &DOC[start + heading.len()..];
        let section = &section[..section.find("\n### ").unwrap_or(section.len())];
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for column in columns {
            assert!(
                section.contains(&format!("| `{column}` |")),
                "docs/schema.md does not describe {table}.{column}"
            );
        }
    }
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(
        DOC.contains(&format!("schema version {version} ")),
        "docs/schema.md names another schema version than {version}"
    );
}

#[test]
fn the_example_queries_run_with_sqlite3_and_pandas() {
    let lab = Lab::without_data();
    example_db(lab.path());
    let db = "runs/gan-lab.sqlite";

    let sql = blocks("sql");
    assert_eq!(sql.len(), 3, "curve, comparison, differing settings");
    let args = ["-readonly", "-bail", "-header", "-csv", db];
    let curve = run(lab.path(), "sqlite3", &args, &sql[0]);
    let lines: Vec<&str> = curve.lines().collect();
    assert_eq!(lines[0], "step,loss_g");
    assert_eq!(lines.len(), 21, "20 steps: {curve}");
    assert_eq!(lines[20], "20,0.05");
    let compared = run(lab.path(), "sqlite3", &args, &sql[1]);
    assert!(
        compared.starts_with("name,status,steps_done,loss_d,loss_g,fid\n"),
        "{compared}"
    );
    assert_eq!(compared.lines().count(), 3, "{compared}");
    for name in ["dcgan-baseline,running,0,0.05,0.05,80.0", "dcgan-lr2e-4,"] {
        assert!(compared.contains(name), "{compared}");
    }
    let differing = run(lab.path(), "sqlite3", &args, &sql[2]);
    assert_eq!(differing, "key,baseline,other\ntrain.lr_g,1e-4,2e-4\n");

    let python = blocks("python");
    assert_eq!(python.len(), 2, "a curve, a comparison");
    let curve = run(lab.path(), "python3", &["-"], &python[0]);
    assert!(
        curve.contains("loss_g") && curve.contains("smoothed"),
        "{curve}"
    );
    assert_eq!(
        curve.lines().count(),
        6,
        "header and the last 5 steps: {curve}"
    );
    let compared = run(lab.path(), "python3", &["-"], &python[1]);
    assert!(
        compared.contains("dcgan-baseline") && compared.contains("dcgan-lr2e-4"),
        "{compared}"
    );
    assert!(compared.contains("count"), "{compared}");
}
