//! Metric points per second written through the tracker in batches of 1,000
//! over 8 metrics, into a fresh database file (as a training run's sink
//! writes them).

use divan::Bencher;
use divan::counter::ItemsCount;
use gan_lab::store::tracker::{MetricPoint, NewRun, Tracker};

const BATCH: u64 = 1000;
const BATCHES: u64 = 50;
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

fn batches() -> Vec<Vec<MetricPoint>> {
    (0..BATCHES)
        .map(|b| {
            (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    MetricPoint {
                        key: KEYS[n as usize % KEYS.len()].into(),
                        step: n / KEYS.len() as u64,
                        value: n as f64 * 1e-3,
                        wall_time: 1000.0 + n as f64,
                    }
                })
                .collect()
        })
        .collect()
}

fn new_run() -> NewRun {
    NewRun {
        experiment: "bench".into(),
        name: "bench".into(),
        variant: "vanilla".into(),
        spec_text: String::new(),
        spec_hash: "bench".into(),
        seed: 1,
        device: "flex".into(),
        code_version: "bench".into(),
        host: "bench".into(),
        run_dir: "bench".into(),
        total_steps: BATCH * BATCHES,
        sweep_id: None,
    }
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn log_metrics(bencher: Bencher) {
    let batches = batches();
    bencher
        .counter(ItemsCount::new(BATCH * BATCHES))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            let tracker = Tracker::open(&dir.path().join("bench.db")).unwrap();
            let id = tracker.create_run(&new_run()).unwrap();
            (dir, tracker, id)
        })
        .bench_local_values(|(dir, tracker, id)| {
            for batch in &batches {
                tracker.log_metrics(&id, batch).unwrap();
            }
            (dir, tracker)
        });
}
