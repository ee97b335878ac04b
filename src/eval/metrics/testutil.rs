//! Helpers shared by the metrics unit tests: synthetic features and probabilities.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::Features;

/// Number of classes in the tests' probabilities (Fashion-MNIST's ten).
pub(super) const NUM_CLASSES: usize = 10;

pub(super) fn feats(data: &[f32], cols: usize) -> Features<'_> {
    Features::new(data, cols).unwrap()
}

pub(super) fn normal(rng: &mut StdRng) -> f64 {
    rng.sample(rand_distr::StandardNormal)
}

/// `n × d` correlated Gaussian data: x = A z + shift + 0.1 i, with A lower-triangular,
/// 1 on the diagonal and `mix / (i - j)` below it.
pub(super) fn correlated(seed: u64, n: usize, d: usize, mix: f64, shift: f64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = (0..d).map(|_| normal(&mut rng)).collect();
        for i in 0..d {
            let v: f64 = (0..=i)
                .map(|j| {
                    if i == j {
                        z[j]
                    } else {
                        mix * z[j] / (i - j) as f64
                    }
                })
                .sum();
            out.push((v + shift + 0.1 * i as f64) as f32);
        }
    }
    out
}

/// One-hot rows with the given classes.
pub(super) fn one_hot(classes: impl Iterator<Item = usize>) -> Vec<f32> {
    classes
        .flat_map(|c| (0..NUM_CLASSES).map(move |i| if i == c { 1.0 } else { 0.0 }))
        .collect()
}

pub(super) fn assert_close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b} (tolerance {tol})");
}
