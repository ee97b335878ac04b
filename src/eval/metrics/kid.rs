//! KID: the unbiased MMD² with the cubic polynomial kernel, averaged over random subsets.
//! M. Bińkowski, D. J. Sutherland, M. Arbel, A. Gretton, "Demystifying MMD GANs", ICLR 2018,
//! arXiv:1801.01401.

use nalgebra::DMatrix;
use rand::{SeedableRng, rngs::StdRng, seq::index};

use super::{Features, MetricsError, Result, check_same_dim, mean_std};

/// Default number of KID subsets.
pub const DEFAULT_KID_SUBSETS: usize = 100;
/// Default KID subset size (clamped to the smaller set).
pub const DEFAULT_KID_SUBSET_SIZE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KidOptions {
    /// Number of random subset pairs.
    pub subsets: usize,
    /// Rows per subset, clamped to the smaller set size.
    pub subset_size: usize,
    /// Seed of the subset sampler (`StdRng`).
    pub seed: u64,
}

impl Default for KidOptions {
    fn default() -> Self {
        Self {
            subsets: DEFAULT_KID_SUBSETS,
            subset_size: DEFAULT_KID_SUBSET_SIZE,
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kid {
    /// Mean of the per-subset unbiased MMD² estimates.
    pub mean: f64,
    /// Population standard deviation (ddof = 0) of the per-subset estimates.
    pub std: f64,
    /// Subset size actually used (after clamping).
    pub subset_size: usize,
}

/// KID: unbiased MMD² with k(x, y) = (x·y / d + 1)³ over `options.subsets` pairs of random
/// subsets (drawn without replacement, independently from each set).
pub fn kid(real: Features<'_>, generated: Features<'_>, options: &KidOptions) -> Result<Kid> {
    real.validate("real features", 2)?;
    generated.validate("generated features", 2)?;
    check_same_dim(
        "real features",
        real.cols,
        "generated features",
        generated.cols,
    )?;
    if options.subsets == 0 {
        return Err(MetricsError::InvalidParameter(
            "KID needs at least 1 subset".into(),
        ));
    }
    let m = options.subset_size.min(real.rows).min(generated.rows);
    if m < 2 {
        return Err(MetricsError::InvalidParameter(format!(
            "KID subset size must be at least 2, got {}",
            options.subset_size
        )));
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let estimates: Vec<f64> = (0..options.subsets)
        .map(|_| {
            let ri = index::sample(&mut rng, real.rows, m).into_vec();
            let gi = index::sample(&mut rng, generated.rows, m).into_vec();
            mmd2_of_columns(
                &real.columns_f64(Some(&ri)),
                &generated.columns_f64(Some(&gi)),
            )
        })
        .collect();
    let (mean, std) = mean_std(&estimates);
    Ok(Kid {
        mean,
        std,
        subset_size: m,
    })
}

/// MMD² of two `d × n` sample matrices (n ≥ 2 each).
pub(super) fn mmd2_of_columns(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    let d = x.nrows() as f64;
    let (n, m) = (x.ncols() as f64, y.ncols() as f64);
    let kernel = |dot: f64| (dot / d + 1.0).powi(3);
    let xt = x.transpose();
    let yt = y.transpose();
    let kxx = &xt * x;
    let kyy = &yt * y;
    let kxy = &xt * y;
    let off_diagonal_sum = |gram: &DMatrix<f64>| {
        let total: f64 = gram.iter().map(|&g| kernel(g)).sum();
        let diagonal: f64 = gram.diagonal().iter().map(|&g| kernel(g)).sum();
        total - diagonal
    };
    let xy_sum: f64 = kxy.iter().map(|&g| kernel(g)).sum();
    off_diagonal_sum(&kxx) / (n * (n - 1.0)) + off_diagonal_sum(&kyy) / (m * (m - 1.0))
        - 2.0 * xy_sum / (n * m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::testutil::{correlated, feats};

    #[test]
    fn kid_same_distribution_is_near_zero() {
        let data = correlated(4, 600, 16, 0.5, 0.0);
        let x = feats(&data, 16);
        let opts = KidOptions {
            subsets: 50,
            subset_size: 200,
            seed: 7,
        };
        let k = kid(x, x, &opts).unwrap();
        assert_eq!(k.subset_size, 200);
        assert!(k.mean.abs() < 3.0 * k.std, "{k:?}");
        assert_eq!(kid(x, x, &opts).unwrap(), k, "seeded KID is deterministic");

        let other = correlated(5, 600, 16, 0.5, 0.0);
        let same_dist = kid(x, feats(&other, 16), &opts).unwrap();
        assert!(same_dist.mean.abs() < 3.0 * same_dist.std, "{same_dist:?}");

        let shifted = correlated(6, 600, 16, 0.5, 0.5);
        let apart = kid(x, feats(&shifted, 16), &opts).unwrap();
        // The cubic kernel makes single-subset estimates noisy; the shift still stands out.
        assert!(apart.mean > 3.0 * apart.std, "{apart:?}");
        assert!(
            apart.mean > 10.0 * same_dist.mean.abs(),
            "{apart:?} vs {same_dist:?}"
        );
    }

    #[test]
    fn kid_clamps_subset_size_and_checks_parameters() {
        let a = correlated(8, 50, 4, 0.0, 0.0);
        let b = correlated(9, 30, 4, 0.0, 0.0);
        let k = kid(feats(&a, 4), feats(&b, 4), &KidOptions::default()).unwrap();
        assert_eq!(k.subset_size, 30);
        let zero = KidOptions {
            subsets: 0,
            ..KidOptions::default()
        };
        assert!(kid(feats(&a, 4), feats(&b, 4), &zero).is_err());
        let one = KidOptions {
            subset_size: 1,
            ..KidOptions::default()
        };
        assert!(kid(feats(&a, 4), feats(&b, 4), &one).is_err());
    }
}
