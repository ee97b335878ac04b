//! Latent interpolation: rows of noise vectors that walk from one random
//! point to another along the great circle (spherical interpolation), which
//! keeps every step at the typical norm of Gaussian noise, unlike a straight
//! line whose midpoint is unusually short.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// `rows` walks of `steps` noise vectors of size `dim` each, row after row:
/// row `r` goes from one seeded random vector to another, both ends included.
pub fn walks(rows: usize, steps: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = || -> Vec<f64> {
        (0..dim)
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect()
    };
    let mut out = Vec::with_capacity(rows * steps * dim);
    for _ in 0..rows {
        let (a, b) = (draw(), draw());
        for s in 0..steps {
            let t = if steps == 1 {
                0.0
            } else {
                s as f64 / (steps - 1) as f64
            };
            out.extend(slerp(&a, &b, t).into_iter().map(|v| v as f32));
        }
    }
    out
}

/// Spherical interpolation between `a` and `b` at `t` in `[0, 1]` (linear
/// when they are nearly parallel).
pub fn slerp(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let cos = (dot / (norm(a) * norm(b)).max(1e-12)).clamp(-1.0, 1.0);
    let omega = cos.acos();
    let (wa, wb) = if omega.sin().abs() < 1e-6 {
        (1.0 - t, t)
    } else {
        (
            ((1.0 - t) * omega).sin() / omega.sin(),
            (t * omega).sin() / omega.sin(),
        )
    };
    a.iter().zip(b).map(|(x, y)| wa * x + wb * y).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_the_random_points_and_the_path_keeps_its_norm() {
        let w = walks(2, 5, 100, 7);
        assert_eq!(w.len(), 2 * 5 * 100);
        let row = |r: usize, s: usize| &w[(r * 5 + s) * 100..(r * 5 + s + 1) * 100];
        let norm = |v: &[f32]| v.iter().map(|x| (x * x) as f64).sum::<f64>().sqrt();
        // Orthogonal-ish Gaussian vectors of equal norm: every step keeps about that norm.
        for s in 0..5 {
            let ratio = norm(row(0, s)) / norm(row(0, 0));
            assert!((0.8..1.25).contains(&ratio), "step {s}: {ratio}");
        }
        assert_ne!(row(0, 0), row(1, 0), "rows start at different points");
        assert_eq!(walks(2, 5, 100, 7), w, "seeded");
    }

    #[test]
    fn slerp_of_orthogonal_unit_vectors() {
        let mid = slerp(&[1.0, 0.0], &[0.0, 1.0], 0.5);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((mid[0] - h).abs() < 1e-12 && (mid[1] - h).abs() < 1e-12);
        assert_eq!(slerp(&[1.0, 0.0], &[0.0, 1.0], 0.0), vec![1.0, 0.0]);
        // Parallel vectors fall back to a straight line.
        assert_eq!(slerp(&[1.0, 0.0], &[2.0, 0.0], 0.5), vec![1.5, 0.0]);
    }
}
