//! `gan-lab bench`: how fast this machine trains, tracks and scores, in one
//! table (or JSON for scripts): training images per second of each
//! experiment spec at each batch size (the reference DCGAN of
//! `shared/bench/torch_dcgan.py` is `experiments/dcgan.ron`), the same
//! DCGAN in PyTorch alternating with gan-lab where PyTorch is importable,
//! tracker writes per second, the time to score 10,000 images, and the peak
//! memory of a training process.
//!
//! Training is measured with the variants' own `train_step` on batches from
//! the run's loader, as `gan-lab run` trains, minus sample grids,
//! checkpoints and evaluation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use gan_lab_variants::train_step_in_pool;
use serde::Serialize;

use crate::context::Context;
use crate::data::{self, Split};
use crate::error::{AppError, Result};
use crate::restore::build_variant;
use crate::spec;
use crate::store::tracker::{MetricPoint, NewRun, Tracker};
use crate::train::loader::step_seed;

/// What to measure and how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Experiment specs to train (the first named `dcgan.ron` is the reference).
    pub specs: Vec<PathBuf>,
    pub batches: Vec<usize>,
    /// Untimed steps before each measurement.
    pub warmup: u64,
    /// Timed steps per measurement.
    pub steps: u64,
    /// gan-lab / PyTorch rounds, alternating, per batch size.
    pub rounds: usize,
    /// The Python that runs PyTorch, and whether the user named it (then
    /// it must work).
    pub python: String,
    pub python_given: bool,
    pub torch_script: PathBuf,
    /// Tracker points written (in batches of 1,000).
    pub tracker_points: usize,
    /// Images scored.
    pub score_images: usize,
    /// Steps of the training process whose peak memory is measured.
    pub memory_steps: u64,
}

impl BenchOptions {
    /// The defaults: every spec in `experiments`, batches 64 and 256, about
    /// a few seconds per measurement on a 2-core machine.
    pub fn new(experiments: &Path) -> Result<Self> {
        Ok(Self {
            specs: experiment_specs(experiments)?,
            batches: vec![64, 256],
            warmup: 2,
            steps: 10,
            rounds: 2,
            python: "python3".into(),
            python_given: false,
            torch_script: default_torch_script(),
            tracker_points: 500_000,
            score_images: 10_000,
            memory_steps: 20,
        })
    }

    /// Tiny settings that finish in seconds (for tests and a first look).
    pub fn quick(mut self) -> Self {
        self.batches = vec![16];
        self.warmup = 1;
        self.steps = 2;
        self.rounds = 1;
        self.tracker_points = 50_000;
        self.score_images = 1_000;
        self.memory_steps = 2;
        self
    }
}

/// `shared/bench/torch_dcgan.py` in the nearest folder above this source
/// tree that has one (`../shared/bench` for a checkout beside `shared/`).
pub fn default_torch_script() -> PathBuf {
    let script = Path::new("shared/bench/torch_dcgan.py");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .skip(1)
        .map(|dir| dir.join(script))
        .find(|path| path.is_file())
        .unwrap_or_else(|| root.join("..").join(script))
}

/// The experiment specs (not sweeps) in `dir`, sorted, `dcgan.ron` first.
fn experiment_specs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        AppError::Usage(format!(
            "cannot read the experiments folder {} ({e}); run gan-lab bench in the gan-lab folder, or pass --experiments DIR",
            dir.display()
        ))
    })?;
    let mut specs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|text| !spec::is_sweep(&text)))
        .collect();
    specs.sort_by_key(|p| (p.file_name().is_none_or(|n| n != "dcgan.ron"), p.clone()));
    Ok(specs)
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub machine: Machine,
    pub training: Vec<Training>,
    pub torch: Torch,
    pub tracker: TrackerSpeed,
    pub scoring: Scoring,
    pub memory: Memory,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub host: String,
    pub cpus: usize,
    /// 1-, 5- and 15-minute load averages when the bench started.
    pub load: Vec<f64>,
    pub device: String,
    pub gan_lab: String,
}

#[derive(Debug, Serialize)]
pub struct Training {
    pub spec: String,
    pub variant: String,
    pub batch: usize,
    pub steps: u64,
    pub seconds: f64,
    pub img_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Torch {
    /// Why PyTorch was not measured, if it was not.
    pub skipped: Option<String>,
    pub python: String,
    pub rows: Vec<TorchRow>,
}

#[derive(Debug, Serialize)]
pub struct TorchRow {
    pub batch: usize,
    /// Per round, measured alternately.
    pub gan_lab_img_per_s: Vec<f64>,
    pub torch_img_per_s: Vec<f64>,
    /// Median of gan-lab's rounds over the median of PyTorch's.
    pub ratio: f64,
}

#[derive(Debug, Serialize)]
pub struct TrackerSpeed {
    pub points: usize,
    pub batch: usize,
    pub seconds: f64,
    pub points_per_s: f64,
}

#[derive(Debug, Serialize)]
pub struct Scoring {
    pub skipped: Option<String>,
    pub images: usize,
    /// Loading the evaluator and the reference features.
    pub setup_seconds: f64,
    /// Features and every metric of `images` generated images.
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub spec: String,
    pub steps: u64,
    /// The training process's peak resident memory (getrusage ru_maxrss).
    pub peak_rss_mib: f64,
}

/// Runs every measurement.
pub fn bench(ctx: &Context, options: &BenchOptions) -> Result<BenchReport> {
    let machine = machine(ctx);
    // A named Python that cannot import torch is an input error, found first.
    let torch_python = torch_python(options)?;
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let train = data::load_split(&data_dir, Split::Train)?;
    let mut training = Vec::new();
    for path in &options.specs {
        for &batch in &options.batches {
            note(
                ctx,
                &format!("training {} at batch {batch}", path.display()),
            );
            training.push(measure_training(ctx, &train, path, batch, options)?);
        }
    }
    let torch = match torch_python {
        Err(reason) => Torch {
            skipped: Some(reason),
            python: options.python.clone(),
            rows: Vec::new(),
        },
        Ok(()) => {
            let reference = options
                .specs
                .iter()
                .find(|p| p.file_name().is_some_and(|n| n == "dcgan.ron"));
            match reference {
                None => Torch {
                    skipped: Some("no dcgan.ron among the specs".into()),
                    python: options.python.clone(),
                    rows: Vec::new(),
                },
                Some(spec) => Torch {
                    skipped: None,
                    python: options.python.clone(),
                    rows: options
                        .batches
                        .iter()
                        .map(|&b| versus_torch(ctx, &train, spec, b, options))
                        .collect::<Result<_>>()?,
                },
            }
        }
    };
    note(ctx, "tracker writes");
    let tracker = tracker_speed(options.tracker_points)?;
    note(ctx, "scoring");
    let scoring = scoring(ctx, &data_dir, &train, options.score_images)?;
    note(ctx, "peak memory of a training process");
    let memory = memory(ctx, options)?;
    Ok(BenchReport {
        machine,
        training,
        torch,
        tracker,
        scoring,
        memory,
    })
}

/// A line on stderr saying what is measured now, unless `--quiet`.
fn note(ctx: &Context, what: &str) {
    if ctx.progress {
        eprintln!("bench: {what}");
    }
}

fn machine(ctx: &Context) -> Machine {
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| {
            s.split_whitespace()
                .take(3)
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    Machine {
        host: crate::store::tracker::this_host(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load,
        device: ctx.device.to_string(),
        gan_lab: crate::context::code_version(),
    }
}

/// `Ok` when PyTorch can be used; `Err(reason)` when it is skipped; an
/// error when the user named a Python or script that does not work.
fn torch_python(options: &BenchOptions) -> Result<std::result::Result<(), String>> {
    let probe = Command::new(&options.python)
        .args(["-c", "import torch"])
        .output();
    let problem = match probe {
        Err(e) => Some(format!("cannot start {}: {e}", options.python)),
        Ok(out) if !out.status.success() => Some(format!(
            "{} cannot import torch: {}",
            options.python,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Ok(_) => None,
    };
    match problem {
        Some(p) if options.python_given => Err(AppError::Usage(format!(
            "--python {}: {p}; point --python (or GAN_LAB_PYTHON) at a Python with torch installed, or leave it out to skip PyTorch",
            options.python
        ))),
        Some(p) => Ok(Err(format!(
            "{p} (pass --python PATH to compare with PyTorch)"
        ))),
        None if !options.torch_script.is_file() => Err(AppError::Usage(format!(
            "the PyTorch benchmark script {} does not exist; pass --torch-script PATH (shared/bench/torch_dcgan.py)",
            options.torch_script.display()
        ))),
        None => Ok(Ok(())),
    }
}

/// Trains `warmup` untimed then `steps` timed steps of the spec at `batch`.
fn measure_training(
    ctx: &Context,
    train: &data::Dataset,
    path: &Path,
    batch: usize,
    options: &BenchOptions,
) -> Result<Training> {
    let (spec, _) = spec::load(path, &[format!("train.batch_size={batch}")])?;
    let (mut variant, device) = build_variant(&spec, ctx.device.build()?);
    let mut loader = super::run::loader(&spec, train, variant.as_ref())?;
    let images = loader.images_per_step() as f64;
    let mut step = |n: u64| {
        device.seed(step_seed(spec.train.seed, n));
        let batch = loader.batch(n, &device);
        train_step_in_pool(variant.as_mut(), &batch);
    };
    for n in 1..=options.warmup {
        step(n);
    }
    let started = Instant::now();
    for n in options.warmup + 1..=options.warmup + options.steps {
        step(n);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Training {
        spec: path.display().to_string(),
        variant: spec.variant.kind().to_string(),
        batch,
        steps: options.steps,
        seconds,
        img_per_s: images * options.steps as f64 / seconds.max(1e-9),
    })
}

/// The reference DCGAN in gan-lab and in PyTorch, alternately.
fn versus_torch(
    ctx: &Context,
    train: &data::Dataset,
    spec: &Path,
    batch: usize,
    options: &BenchOptions,
) -> Result<TorchRow> {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=options.rounds {
        note(
            ctx,
            &format!("gan-lab vs PyTorch at batch {batch}, round {round}"),
        );
        ours.push(measure_training(ctx, train, spec, batch, options)?.img_per_s);
        theirs.push(torch_throughput(options, batch)?);
    }
    Ok(TorchRow {
        batch,
        ratio: median(&ours) / median(&theirs),
        gan_lab_img_per_s: ours,
        torch_img_per_s: theirs,
    })
}

/// `torch_dcgan.py throughput`, which prints `torch-dcgan: <n> img/s ...`.
fn torch_throughput(options: &BenchOptions, batch: usize) -> Result<f64> {
    let script = options.torch_script.display().to_string();
    let out = Command::new(&options.python)
        .arg(&options.torch_script)
        .args(["throughput", "--batch", &batch.to_string()])
        .args(["--steps", &options.steps.to_string()])
        .output()
        .map_err(|source| AppError::Io {
            path: PathBuf::from(&options.python),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let parsed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("torch-dcgan:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    match parsed {
        Some(v) if out.status.success() => Ok(v),
        _ => Err(AppError::Usage(format!(
            "{} {script} throughput failed ({}): {}; check the script, or pass --torch-script PATH",
            options.python,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Metric points per second written through the tracker in batches of
/// 1,000 over 8 metrics, into a fresh database file.
fn tracker_speed(points: usize) -> Result<TrackerSpeed> {
    const BATCH: usize = 1000;
    const KEYS: [&str; 8] = [
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "grad_norm_d",
        "grad_norm_g",
        "img_per_s",
        "lr",
    ];
    let dir = temp_dir("tracker")?;
    let tracker = Tracker::open(&dir.join("bench.sqlite"))?;
    let run = tracker.create_run(&NewRun {
        experiment: "bench".into(),
        name: "bench".into(),
        variant: "bench".into(),
        spec_text: String::new(),
        spec_hash: String::new(),
        seed: 0,
        device: "none".into(),
        code_version: crate::context::code_version(),
        host: crate::store::tracker::this_host(),
        run_dir: "bench".into(),
        total_steps: 0,
        sweep_id: None,
    })?;
    let batches: Vec<Vec<MetricPoint>> = (0..points.div_ceil(BATCH))
        .map(|b| {
            (b * BATCH..((b + 1) * BATCH).min(points))
                .map(|n| MetricPoint {
                    key: KEYS[n % KEYS.len()].into(),
                    step: (n / KEYS.len()) as u64,
                    value: n as f64 * 1e-3,
                    wall_time: n as f64,
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    for batch in &batches {
        tracker.log_metrics(&run, batch)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(tracker);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(TrackerSpeed {
        points,
        batch: BATCH,
        seconds,
        points_per_s: points as f64 / seconds.max(1e-9),
    })
}

/// A fresh folder under the system's temporary folder.
fn temp_dir(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "gan-lab-bench-{what}-{}-{}",
        std::process::id(),
        crate::store::tracker::new_run_id()
    ));
    std::fs::create_dir_all(&dir).map_err(|source| AppError::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Scoring `images` training images as if generated, with every metric, by
/// the evaluator a run would use (the built-in one for the official data);
/// skipped, not trained, when that would first train one.
fn scoring(
    ctx: &Context,
    data_dir: &Path,
    train: &data::Dataset,
    images: usize,
) -> Result<Scoring> {
    let hash = data::data_hash(data_dir)?;
    if crate::eval::evaluator::must_train(&ctx.cache, &hash, ctx.evaluator.as_deref()) {
        return Ok(Scoring {
            skipped: Some(format!(
                "these data have no evaluator (not the official files, none cached in {}); `gan-lab evaluator train` makes one",
                ctx.cache.display()
            )),
            images,
            setup_seconds: 0.0,
            seconds: 0.0,
        });
    }
    let started = Instant::now();
    let scorer = crate::eval::scoring::image_scorer(ctx, crate::spec::Metric::ALL.to_vec())?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let n = images.min(train.labels.len());
    let pixels: Vec<f32> = train.images.pixels[..n * 784]
        .iter()
        .map(|&p| p as f32 / 127.5 - 1.0)
        .collect();
    let started = Instant::now();
    scorer.score_pixels(&pixels, None)?;
    Ok(Scoring {
        skipped: None,
        images: n,
        setup_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The peak resident memory of `gan-lab run` of the first spec for a few
/// steps (no evaluation), as a separate process.
fn memory(ctx: &Context, options: &BenchOptions) -> Result<Memory> {
    let spec = options
        .specs
        .first()
        .ok_or_else(|| AppError::Usage("no experiment specs to benchmark".into()))?;
    let dir = temp_dir("memory")?;
    let exe = std::env::current_exe().map_err(|source| AppError::Io {
        path: PathBuf::from("gan-lab"),
        source,
    })?;
    let mut cmd = Command::new(exe);
    cmd.arg("--db")
        .arg(dir.join("bench.sqlite"))
        .arg("--quiet")
        .arg("--cache-dir")
        .arg(&ctx.cache);
    if let Some(data) = &ctx.data_dir {
        cmd.arg("--data-dir").arg(data);
    }
    cmd.arg("run")
        .arg(spec)
        .args(["--device", &ctx.device.to_string()])
        .args(["--set", &format!("train.steps={}", options.memory_steps)])
        .args(["--set", "eval=None", "--set", "name=\"bench-memory\""])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().map_err(|source| AppError::Io {
        path: PathBuf::from("gan-lab"),
        source,
    })?;
    let (code, maxrss_kib) = wait_with_peak(child.id() as libc::pid_t);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if code != Some(0) {
        return Err(AppError::Usage(format!(
            "the training run for the memory measurement failed ({}): {}",
            code.map_or("killed".to_string(), |c| format!("exit {c}")),
            stderr.trim()
        )));
    }
    Ok(Memory {
        spec: spec.display().to_string(),
        steps: options.memory_steps,
        peak_rss_mib: maxrss_kib as f64 / 1024.0,
    })
}

/// Waits for a child and returns its exit code and peak resident memory in
/// KiB: the largest `VmHWM` of `/proc/PID/status` read every 10 ms while it
/// runs. Not `wait4`'s `ru_maxrss`, which on Linux starts from the parent's
/// high-water mark at the fork (a bench that has trained every spec reported
/// 1.8 GiB for a run that peaks at 350 MiB).
fn wait_with_peak(pid: libc::pid_t) -> (Option<i32>, i64) {
    let status_file = format!("/proc/{pid}/status");
    let mut status = 0;
    let mut peak = 0i64;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(high_water_kib)
        {
            peak = peak.max(hwm);
        }
        // SAFETY: polls our own child; the pointer is to a local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return (None, peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, peak)
}

/// `VmHWM` (peak resident set, KiB) from the text of `/proc/PID/status`.
fn high_water_kib(status: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The report as aligned tables.
pub fn format_report(r: &BenchReport) -> String {
    use crate::util::table::table;
    let m = &r.machine;
    let load: Vec<String> = m.load.iter().map(|l| format!("{l:.2}")).collect();
    let mut out = format!(
        "gan-lab {} on {} ({} CPUs, load {}), device {}\n\nTraining (img/s: real images per second of train_step)\n",
        m.gan_lab,
        m.host,
        m.cpus,
        load.join(" "),
        m.device
    );
    let mut rows = vec![vec![
        "spec".to_string(),
        "variant".into(),
        "batch".into(),
        "steps".into(),
        "img/s".into(),
    ]];
    for t in &r.training {
        rows.push(vec![
            t.spec.clone(),
            t.variant.clone(),
            t.batch.to_string(),
            t.steps.to_string(),
            format!("{:.0}", t.img_per_s),
        ]);
    }
    out += &table(&rows);
    out += "\nReference DCGAN vs PyTorch (alternating rounds)\n";
    match &r.torch.skipped {
        Some(reason) => out += &format!("  skipped: {reason}\n"),
        None => {
            let mut rows = vec![vec![
                "batch".to_string(),
                "gan-lab img/s".into(),
                "PyTorch img/s".into(),
                "ratio".into(),
            ]];
            let list = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for row in &r.torch.rows {
                rows.push(vec![
                    row.batch.to_string(),
                    list(&row.gan_lab_img_per_s),
                    list(&row.torch_img_per_s),
                    format!("{:.2}x", row.ratio),
                ]);
            }
            out += &table(&rows);
        }
    }
    out += "\nOther measurements\n";
    let t = &r.tracker;
    let mut rows = vec![
        vec!["what".to_string(), "result".into()],
        vec![
            format!(
                "tracker writes ({} points, batches of {})",
                t.points, t.batch
            ),
            format!("{:.0} points/s", t.points_per_s),
        ],
    ];
    let s = &r.scoring;
    rows.push(match &s.skipped {
        Some(reason) => vec![
            format!("scoring {} images", s.images),
            format!("skipped: {reason}"),
        ],
        None => vec![
            format!("scoring {} images (all metrics)", s.images),
            format!(
                "{:.2} s (+ {:.2} s loading the evaluator)",
                s.seconds, s.setup_seconds
            ),
        ],
    });
    rows.push(vec![
        format!(
            "peak memory of `gan-lab run {}` ({} steps)",
            r.memory.spec, r.memory.steps
        ),
        format!("{:.0} MiB", r.memory.peak_rss_mib),
    ]);
    out += &table(&rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_resident_set_from_proc_status() {
        let status = "Name:\tgan-lab\nVmPeak:\t 1234 kB\nVmHWM:\t  360352 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(high_water_kib(status), Some(360_352));
        assert_eq!(high_water_kib("Name:\tx\n"), None);
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(high_water_kib(&own).is_some_and(|kib| kib > 0));
    }

    #[test]
    #[expect(clippy::zombie_processes, reason = "wait_with_peak reaps the child")]
    fn a_child_s_peak_is_its_own_not_the_parent_s() {
        // Make this process's high-water mark large, then measure a small child.
        let ballast = vec![1u8; 512 << 20];
        std::hint::black_box(&ballast);
        let child = Command::new("sleep").arg("0.3").spawn().unwrap();
        let (code, peak) = wait_with_peak(child.id() as libc::pid_t);
        assert_eq!(code, Some(0));
        assert!(peak > 0, "no peak read while the child ran");
        assert!(
            peak < 256 << 10,
            "child peak {peak} KiB includes the parent's"
        );
    }
}
