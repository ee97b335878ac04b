//! Shared fixtures: a scratch [`Lab`] that runs the binary on its own
//! database, a tiny generated Fashion-MNIST-shaped dataset, tiny specs, and
//! the redactions that make command output fit for snapshots.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use assert_cmd::assert::Assert;
use tempfile::TempDir;

use gan_lab::commands::run::RunReport;
use gan_lab::data::{Images, write_images, write_labels};
use gan_lab::store::tracker::{NewRun, Tracker};
use gan_lab::train::events::EventKind;

/// The `gan-lab` binary cargo built for these tests.
pub fn bin() -> &'static Path {
    assert_cmd::cargo::cargo_bin!("gan-lab")
}

/// The step and kind of a run's last event: its outcome (the event's time
/// differs run to run).
pub fn outcome(report: &RunReport) -> (u64, EventKind) {
    (report.outcome.step, report.outcome.kind.clone())
}

/// A run to create directly in a database: `vanilla`, seed 1, one step,
/// stored in folder `name`; tests override the fields they care about.
pub fn new_run(experiment: &str, name: &str) -> NewRun {
    NewRun {
        experiment: experiment.into(),
        name: name.into(),
        variant: "vanilla".into(),
        spec_text: String::new(),
        spec_hash: name.into(),
        seed: 1,
        device: "flex".into(),
        code_version: "test".into(),
        host: "test".into(),
        run_dir: name.into(),
        total_steps: 1,
        sweep_id: None,
    }
}

/// The binary with no flags at all (for `--help` and `check`).
pub fn gan_lab() -> Command {
    Command::new(bin())
}

/// One test's scratch folder: the database `runs/db.sqlite`, the evaluator
/// cache `cache/`, and optionally a data folder. Commands run in the folder.
pub struct Lab {
    dir: TempDir,
    data: Option<PathBuf>,
}

impl Lab {
    /// No data folder: for commands that need none, or must fail without it.
    pub fn without_data() -> Self {
        Lab {
            dir: tempfile::tempdir().unwrap(),
            data: None,
        }
    }

    /// With `n` generated train images (see [`fake_data`]).
    pub fn with_fake_data(n: usize) -> Self {
        let mut lab = Self::without_data();
        lab.data = Some(fake_data(lab.path(), n));
        lab
    }

    /// With the real Fashion-MNIST (from GAN_LAB_DATA, or downloaded into
    /// the user cache where the machine is online).
    pub fn with_real_data() -> Self {
        let data = gan_lab::data::locate(None).expect(
            "this test needs Fashion-MNIST: set GAN_LAB_DATA (CI points it at ../shared/data/fashion-mnist)",
        );
        Lab {
            data: Some(data),
            ..Self::without_data()
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn db(&self) -> PathBuf {
        self.path().join("runs/db.sqlite")
    }

    pub fn cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    pub fn data(&self) -> &Path {
        self.data.as_deref().expect("a lab with data")
    }

    pub fn tracker(&self) -> Tracker {
        Tracker::open(&self.db()).unwrap()
    }

    /// `gan-lab --db runs/db.sqlite --quiet --cache-dir cache [--data-dir DATA] ARGS`
    /// in the lab folder, with GAN_LAB_DB and GAN_LAB_EVALUATOR unset.
    pub fn process(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(bin());
        cmd.current_dir(self.path())
            .env_remove("GAN_LAB_DB")
            .env_remove("GAN_LAB_EVALUATOR")
            .arg("--db")
            .arg(self.db())
            .arg("--quiet")
            .arg("--cache-dir")
            .arg(self.cache());
        if let Some(data) = &self.data {
            cmd.arg("--data-dir").arg(data);
        }
        cmd.args(args);
        cmd
    }

    /// [`Lab::process`] for assertions.
    pub fn cmd(&self, args: &[&str]) -> Command {
        Command::from_std(self.process(args))
    }

    /// Runs `args`, which must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&self.cmd(args).assert().success())
    }
}

pub fn stdout(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

pub fn stderr(assert: &Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// A folder with the four IDX files: `n` train and `n / 4` test images of
/// simple class-dependent patterns (a bar whose position is the label).
pub fn fake_data(dir: &Path, n: usize) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    for (stem, count) in [("train", n), ("t10k", n / 4)] {
        let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
        let mut pixels = vec![0u8; count * 784];
        for (i, &label) in labels.iter().enumerate() {
            for y in 0..28 {
                for x in 0..3 {
                    pixels[i * 784 + y * 28 + 2 + label as usize * 2 + x] = 200 + (i % 50) as u8;
                }
            }
        }
        let images = Images {
            count,
            rows: 28,
            cols: 28,
            pixels,
        };
        write_images(&data.join(format!("{stem}-images-idx3-ubyte")), &images).unwrap();
        write_labels(&data.join(format!("{stem}-labels-idx1-ubyte")), &labels).unwrap();
    }
    data
}

/// A tiny spec: `arch`/`loss` as in RON, batch 8, `steps` steps.
pub fn tiny_spec(dir: &Path, name: &str, arch: &str, loss: &str, steps: u64) -> PathBuf {
    let path = dir.join(format!("{name}.ron"));
    let every = (steps / 2).max(1);
    let text = format!(
        "(name: \"{name}\", variant: Vanilla(arch: {arch}, loss: {loss}),\n \
         train: (steps: {steps}, batch_size: 8, seed: 3),\n \
         samples: (every: {every}), checkpoint: (every: {every}))\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// burn-flex keeps one random generator per process: tests that train in
/// this process take turns, so that a seeded run draws the same numbers.
pub fn in_process_training() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Snapshot filters (regex, replacement) for what differs from one test
/// run to the next: temp folders, run ids, spec hashes, times, durations,
/// speeds, process ids, host names and the code version.
pub const REDACTIONS: [(&str, &str); 10] = [
    (r"(/[^\s/]+)*/\.tmp[0-9A-Za-z]{6}", "[tmp]"),
    (r"\b[0-9a-f]{64}\b", "[sha256]"),
    // Sixteen characters wide, so that tables stay aligned.
    (r"\b[0-9a-f]{16}\b", "[run id, 16 hex]"),
    (
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
        "YYYY-MM-DD hh:mm:ss",
    ),
    (r"\b\d+\.\d s\b", "[seconds] s"),
    (r"median \d+ img/s", "median [n] img/s"),
    (r"\bpid = \d+", "pid = [pid]"),
    (r"\bpid=\d+", "pid=[pid]"),
    (r"(?m)^(\s*)host: .+$", "${1}host: [host]"),
    (r"(?m)^(\s*)code: .+$", "${1}code: [code version]"),
];

/// Numbers with exactly `decimals` decimals become `#.###…` (for metric
/// values: seeded runs repeat them on one machine, not across CPUs).
pub fn redact_values(decimals: usize) -> String {
    format!(r"-?\b\d+\.\d{{{decimals}}}\b")
}

/// [`REDACTIONS`] and then `extra`, for `insta::with_settings!`.
pub fn filters<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    REDACTIONS
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .collect()
}

/// The text of the HTML table with `id` as a reader first sees it: one line
/// per row, cells separated by ` | `, tags dropped, entities decoded, and
/// the cells hidden until asked for (class `param-extra`) left out.
pub fn table_text(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let table = &html[start..];
    let table = &table[..table.find("</table>").expect("a closed table")];
    let mut lines = Vec::new();
    for row in table.split("<tr").skip(1) {
        let cells: Vec<String> = row
            .split("<t")
            .skip(1)
            .filter(|c| c.starts_with('d') || c.starts_with('h'))
            .filter_map(|cell| {
                let (tag, body) = cell.split_at(cell.find('>')? + 1);
                (!tag.contains("param-extra")).then(|| words(&decode_entities(&strip_tags(body))))
            })
            .collect();
        lines.push(cells.join(" | "));
    }
    lines.join("\n") + "\n"
}

fn strip_tags(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

fn decode_entities(text: &str) -> String {
    [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#x27;", "'"),
        ("&#x2f;", "/"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text.to_string(), |t, (entity, c)| t.replace(entity, c))
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The binary as a plain process, for tests that read raw output or that
/// spawn, signal and kill real children.
pub mod process {
    use std::path::Path;
    use std::process::{Command, Output};

    use super::bin;

    /// Runs the binary with a database in `dir/runs` (and a data folder), as a
    /// plain process: these tests spawn, signal and kill real children.
    pub fn gan_lab(dir: &Path, data: Option<&Path>, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.arg("--db")
            .arg(dir.join("runs/db.sqlite"))
            .arg("--quiet");
        if let Some(data) = data {
            cmd.arg("--data-dir").arg(data);
        }
        cmd.env_remove("GAN_LAB_DB");
        cmd.args(args).output().unwrap()
    }

    /// Like [`gan_lab`], with the evaluator cached in `cache`.
    pub fn gan_lab_cached(dir: &Path, data: &Path, cache: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--cache-dir", cache.to_str().unwrap()];
        all.extend_from_slice(args);
        gan_lab(dir, Some(data), &all)
    }

    pub fn stdout(o: &Output) -> String {
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub fn stderr(o: &Output) -> String {
        String::from_utf8_lossy(&o.stderr).into_owned()
    }
}
