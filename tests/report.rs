//! The HTML report end to end: two tiny runs trained through the binary,
//! rendered, and opened in headless Chromium (console errors, charts drawn
//! by the page's script, embedded samples, escaping, a screenshot in
//! `target/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use gan_lab::report::{self, Selection};
use predicates::str::contains;

use crate::common::*;

const EVIL: &str = "<script>alert(1)</script>";

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr).
fn chromium(profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium must be installed (Debian package `chromium`; .ci/run installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

#[test]
fn report_of_two_tiny_runs_opens_in_chromium() {
    let lab = Lab::with_fake_data(200);
    let plain = tiny_spec(lab.path(), "tiny", "Mlp", "NonSaturating", 8);
    let evil = tiny_spec(lab.path(), "evil", "Dcgan", "Hinge", 8);
    let text = std::fs::read_to_string(&evil).unwrap();
    std::fs::write(&evil, text.replace("\"evil\"", &format!("\"{EVIL}\""))).unwrap();
    for spec in [&plain, &evil] {
        lab.ok(&["run", spec.to_str().unwrap()]);
    }

    let out_dir = lab.path().join("report");
    let page = report::render(&lab.db(), &Selection::default(), &out_dir).unwrap();
    assert_eq!(page, out_dir.join("index.html"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains(EVIL), "the run name must be escaped");
    // Self-contained: nothing is loaded from elsewhere.
    for outside in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!html.contains(outside), "{outside}");
    }
    // The runs table as a reader first sees it: newest first, the hostile
    // name as plain text, and of the parameters only those that differ.
    let duration = (r"\| (\d+h )?(\d+m )?\d+[hms] \|", "| [duration] |");
    insta::with_settings!({filters => filters(&[duration])}, {
        insta::assert_snapshot!("runs_table", table_text(&html, "runs-table"));
    });

    let profile = lab.path().join("chromium-profile");
    let (dom, log) = chromium(&profile, &page, &["--dump-dom"]);
    for bad in ["Uncaught", "CONSOLE", "console"] {
        assert!(!log.contains(bad), "console output ({bad}): {log}");
    }
    // The page's own script ran; it and the curves' data are the only scripts.
    assert!(dom.contains("data-report-script=\"ran\""), "{dom}");
    assert_eq!(dom.matches("<script").count(), 2, "an injected script");
    assert_eq!(dom.matches("<script type=\"application/json\"").count(), 1);
    assert!(!dom.contains(EVIL));
    assert!(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));

    // One chart per step metric, each with drawn lines.
    let charts: Vec<&str> = dom.split("<svg").skip(1).collect();
    assert!(charts.len() >= 9, "{} charts", charts.len());
    for chart in &charts {
        let body = &chart[..chart.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<polyline") || body.contains("<path"),
            "empty chart: {body}"
        );
    }
    for metric in ["loss_d", "loss_g", "acc_real", "grad_norm_g", "img_per_s"] {
        assert!(dom.contains(&format!("{metric}: ")), "no chart of {metric}");
    }
    // Every sample grid of both runs (steps 4 and 8), the last one shown.
    let images = dom.matches("<img alt=\"").count();
    let embedded = dom.matches("src=\"data:image/png;base64,").count();
    assert_eq!(images, embedded, "every image is embedded");
    assert_eq!(embedded, 4, "2 runs x 2 steps");
    assert_eq!(dom.matches("data-step=\"8\" src=").count(), 2);
    assert_eq!(
        dom.matches(" hidden=\"\"").count(),
        2,
        "one grid per run shown"
    );
    // Key parameters differ (arch and loss); the diagnosis is there.
    assert!(dom.contains(">variant.arch<") && dom.contains(">variant.loss<"));
    assert!(dom.contains("How the diagnosis is made"));

    let shot = screenshot_path();
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&shot);
    chromium(
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,3000",
            "--hide-scrollbars",
        ],
    );
    let bytes = std::fs::read(&shot).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    assert!(
        bytes.len() > 20_000,
        "a trivial screenshot: {} bytes",
        bytes.len()
    );
}

#[test]
fn sweep_report_ranks_configurations_and_shows_variant_panels() {
    let lab = Lab::with_fake_data(400);
    std::fs::write(
        lab.path().join("base.ron"),
        "(name: \"cond\", variant: Conditional(arch: Mlp, conditioning: Concat),\n \
         train: (steps: 6, batch_size: 10), samples: (every: 3), checkpoint: (every: 3),\n \
         eval: (every: 3, samples: 100, metrics: [Fid]))\n",
    )
    .unwrap();
    let sweep = lab.path().join("sweep.ron");
    std::fs::write(
        &sweep,
        "(name: \"cond-sweep\", base: \"base.ron\",\n \
         grid: {\"variant.conditioning\": [Concat, AuxClassifier], \"train.lr_g\": [1e-4, 1e-3]},\n \
         score: \"cond_acc\")\n",
    )
    .unwrap();
    lab.cmd(&["sweep", sweep.to_str().unwrap(), "--jobs", "2"])
        .assert()
        .success()
        .stdout(contains("higher is better"));

    let out_dir = lab.path().join("report");
    let page = report::render(
        &lab.db(),
        &Selection {
            sweep: Some("cond-sweep".into()),
            ..Selection::default()
        },
        &out_dir,
    )
    .unwrap();
    let profile = lab.path().join("chromium-profile");
    let (dom, log) = chromium(&profile, &page, &["--dump-dom"]);
    for bad in ["Uncaught", "CONSOLE", "console"] {
        assert!(!log.contains(bad), "console output ({bad}): {log}");
    }
    // The sweep: four configurations ranked by cond_acc, the best named,
    // one scatter per swept parameter and the parallel coordinates.
    assert!(dom.contains("Sweep cond-sweep"), "no sweep section");
    assert!(dom.contains("Best configuration"));
    let table = &dom[dom.find("id=\"sweep-table\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(
        table.matches("<tr>").count(),
        5,
        "header and 4 configurations"
    );
    assert!(table.contains(">AuxClassifier<") && table.contains(">Concat<"));
    assert!(dom.contains("variant.conditioning against cond_acc"));
    assert!(dom.contains("train.lr_g against cond_acc"));
    assert!(dom.contains("all swept parameters and cond_acc"));
    // Each run's conditional panel: accuracy per class and the labelled grid.
    assert_eq!(dom.matches("Per-class results: ").count(), 4);
    assert_eq!(dom.matches("accuracy per class").count(), 4);
    assert_eq!(dom.matches("<li>Ankle boot</li>").count(), 4);
    assert!(dom.contains("<td>7 Sneaker</td>"));
    let images = dom.matches("<img alt=\"").count();
    let embedded = dom.matches("src=\"data:image/png;base64,").count();
    assert_eq!(images, embedded, "every image is embedded");
    for chart in dom.split("<svg").skip(1) {
        let body = &chart[..chart.find("</svg>").expect("closed svg")];
        assert!(
            body.contains("<polyline")
                || body.contains("<path")
                || body.contains("<rect")
                || body.contains("<circle"),
            "empty chart: {body}"
        );
    }
    let shot = screenshot_path().with_file_name("report-sweep-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    std::fs::create_dir_all(shot.parent().unwrap()).unwrap();
    chromium(
        &profile,
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,4000",
            "--hide-scrollbars",
        ],
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// Experiment and sweep names that are paths: the default report folder is
/// one encoded folder under `reports/`, nothing is written elsewhere, and a
/// hostile name that matches no run is a user error (exit 2).
#[test]
fn hostile_names_write_only_under_reports() {
    use gan_lab::store::tracker::{NewRun, Tracker};

    const HOSTILE: [&str; 10] = [
        "../x",
        "../../escape",
        "/tmp/gan-lab-evil",
        "a/../../b",
        "..",
        ".",
        ".hidden",
        "C:\\x",
        "~",
        "a\nb",
    ];
    let lab = Lab::without_data();
    let db = lab.db();
    let tracker = Tracker::open(&db).unwrap();
    for (i, name) in HOSTILE.iter().enumerate() {
        tracker
            .create_run(&NewRun {
                spec_hash: format!("{i}"),
                run_dir: format!("r{i}"),
                sweep_id: Some(name.to_string()),
                ..new_run(name, &format!("run {i}"))
            })
            .unwrap();
    }
    drop(tracker);
    let absolute = Path::new("/tmp/gan-lab-evil");
    let existed = absolute.exists();

    // As `gan-lab report` run in `work` without `--out`.
    let work = lab.path().join("work");
    let mut written = Vec::new();
    for name in HOSTILE {
        for selection in [
            Selection {
                experiment: Some(name.into()),
                ..Selection::default()
            },
            Selection {
                sweep: Some(name.into()),
                ..Selection::default()
            },
        ] {
            let out = report::default_out(&selection).unwrap();
            assert_eq!(out.parent(), Some(Path::new("reports")), "{name:?}");
            let page = report::render(&db, &selection, &work.join(&out)).unwrap();
            assert!(std::fs::read_to_string(&page).unwrap().contains("run "));
            written.push(out.join("index.html"));
        }
    }
    written.sort();
    written.dedup();
    assert_eq!(written.len(), HOSTILE.len(), "one folder per name");
    assert_eq!(files_under(&work), written);
    let db_files = files_under(&lab.path().join("runs"));
    assert!(
        // The database, and the WAL files its readers share.
        db_files
            .iter()
            .all(|f| f.to_string_lossy().starts_with("db.sqlite")),
        "{db_files:?}"
    );
    assert_eq!(
        absolute.exists(),
        existed,
        "wrote to {}",
        absolute.display()
    );

    // Through the binary: a hostile name that matches nothing is exit 2 and
    // writes nothing.
    for flag in ["--experiment", "--sweep"] {
        lab.cmd(&["report", flag, "../../nothing-here"])
            .current_dir(&work)
            .assert()
            .code(2)
            .stderr(contains("no runs match"));
    }
    assert_eq!(files_under(&work), written);
    assert_eq!(
        files_under(lab.path()).len(),
        written.len() + db_files.len()
    );
}

/// `target/report-screenshot.png` in the target folder cargo builds into.
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("report-screenshot.png")
}
