//! The sample-quality metrics on 10,000 x 128 features (the size of a full
//! evaluation), each on its own.

use std::sync::LazyLock;

use gan_lab::eval::metrics::{
    DEFAULT_IS_SPLITS, DEFAULT_PR_K, Features, Gaussian, KidOptions, class_coverage,
    inception_score, kid, precision_recall,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

const N: usize = 10_000;
const D: usize = 128;
const CLASSES: usize = 10;

/// `N x D` correlated Gaussian features: x = A z + shift, A lower-triangular
/// with 1 on the diagonal and `0.2 / (i - j)` below it.
fn correlated(seed: u64, shift: f64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(N * D);
    for _ in 0..N {
        let z: Vec<f64> = (0..D)
            .map(|_| rng.sample(rand_distr::StandardNormal))
            .collect();
        for i in 0..D {
            let mixed: f64 = (0..i).map(|j| 0.2 * z[j] / (i - j) as f64).sum();
            out.push((z[i] + mixed + shift + 0.1 * i as f64) as f32);
        }
    }
    out
}

/// `N` rows of class probabilities, peaked at random classes.
fn probabilities() -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(32);
    (0..N)
        .flat_map(|_| {
            let raw: Vec<f32> = (0..CLASSES).map(|_| rng.random::<f32>().powi(4)).collect();
            let sum: f32 = raw.iter().sum();
            raw.into_iter().map(move |v| v / sum)
        })
        .collect()
}

static REAL: LazyLock<Vec<f32>> = LazyLock::new(|| correlated(30, 0.0));
static GENERATED: LazyLock<Vec<f32>> = LazyLock::new(|| correlated(31, 0.1));
static PROBS: LazyLock<Vec<f32>> = LazyLock::new(probabilities);

fn features(data: &[f32], cols: usize) -> Features<'_> {
    Features::new(data, cols).unwrap()
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn fid() -> f64 {
    let reference = Gaussian::fit(features(&REAL, D)).unwrap();
    Gaussian::fit(features(&GENERATED, D))
        .unwrap()
        .frechet_distance(&reference)
        .unwrap()
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn kid_default_subsets() -> f64 {
    kid(
        features(&REAL, D),
        features(&GENERATED, D),
        &KidOptions::default(),
    )
    .unwrap()
    .mean
}

#[divan::bench(sample_count = 20)]
fn inception_score_10_splits() -> f64 {
    inception_score(features(&PROBS, CLASSES), DEFAULT_IS_SPLITS)
        .unwrap()
        .mean
}

#[divan::bench(sample_count = 20)]
fn coverage() -> usize {
    class_coverage(features(&PROBS, CLASSES), CLASSES)
        .unwrap()
        .classes_covered
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn precision_and_recall() -> f64 {
    precision_recall(features(&REAL, D), features(&GENERATED, D), DEFAULT_PR_K)
        .unwrap()
        .precision
}
