//! The report of a large synthetic database: `GAN_LAB_PERF_RUNS` runs
//! (default 1000) x `GAN_LAB_PERF_STEPS` steps (default 10000) x 8 metrics,
//! built once at `GAN_LAB_PERF_DB` (default beside the bench binary in the
//! target folder) and reused; timed: the report of the 10 newest runs and of
//! all runs.

use std::path::PathBuf;
use std::sync::LazyLock;

use gan_lab::report::{self, Selection};
use gan_lab::store::tracker::{MetricPoint, NewRun, RunFilter, RunStatus, Tracker};

const KEYS: [&str; 8] = [
    "loss_d",
    "loss_g",
    "d_real",
    "d_fake",
    "acc_real",
    "acc_fake",
    "grad_norm_d",
    "grad_norm_g",
];

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The database, built on first use when it does not exist yet.
static DB: LazyLock<PathBuf> = LazyLock::new(|| {
    let (runs, steps) = (
        env("GAN_LAB_PERF_RUNS", 1000),
        env("GAN_LAB_PERF_STEPS", 10_000),
    );
    let db = std::env::var_os("GAN_LAB_PERF_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.with_file_name(format!("perf-{runs}x{steps}.sqlite"))
        });
    if !db.exists() {
        build(&db, runs, steps as u64);
    }
    db
});

fn build(db: &std::path::Path, runs: usize, steps: u64) {
    let tracker = Tracker::open(db).unwrap();
    for r in 0..runs {
        let id = tracker
            .create_run(&NewRun {
                experiment: "perf".into(),
                name: format!("run-{r:04}"),
                variant: "vanilla".into(),
                spec_text: String::new(),
                spec_hash: format!("{r}"),
                seed: (r % 3) as u64,
                device: "flex".into(),
                code_version: "perf".into(),
                host: "perf".into(),
                run_dir: format!("perf/{r}"),
                total_steps: steps,
                sweep_id: None,
            })
            .unwrap();
        // Groups of three seeds with the same learning rate.
        tracker
            .log_params(
                &id,
                &[
                    ("train.lr_d".into(), format!("{}", r / 3)),
                    ("train.seed".into(), format!("{}", r % 3)),
                ],
            )
            .unwrap();
        let mut points = Vec::with_capacity(1000 * KEYS.len());
        for step in 1..=steps {
            for (k, key) in KEYS.iter().enumerate() {
                let x = step as f64 / steps as f64;
                points.push(MetricPoint {
                    key: key.to_string(),
                    step,
                    value: (x * (k + 1) as f64 * 7.0 + r as f64).sin() + k as f64,
                    wall_time: step as f64,
                });
            }
            if points.len() >= 1000 * KEYS.len() {
                tracker.log_metrics(&id, &points).unwrap();
                points.clear();
            }
        }
        tracker.log_metrics(&id, &points).unwrap();
        tracker.set_progress(&id, steps).unwrap();
        tracker.set_status(&id, RunStatus::Finished, None).unwrap();
    }
}

fn render(selection: &Selection) {
    let out = DB.with_extension("report");
    report::render(&DB, selection, &out).unwrap();
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn newest_10_runs(bencher: divan::Bencher) {
    let tracker = Tracker::open(&DB).unwrap();
    let newest: Vec<String> = tracker
        .list_runs(&RunFilter {
            limit: Some(10),
            ..RunFilter::default()
        })
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    drop(tracker);
    let selection = Selection {
        runs: newest,
        ..Selection::default()
    };
    bencher.bench(|| render(&selection));
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn all_runs(bencher: divan::Bencher) {
    LazyLock::force(&DB);
    bencher.bench(|| render(&Selection::default()));
}
