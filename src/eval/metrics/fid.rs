//! FID: the Fréchet distance between Gaussians fitted to two feature sets.
//! M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter, "GANs Trained by a Two
//! Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017, arXiv:1706.08500.

use nalgebra::{DMatrix, SymmetricEigen};

use super::{Features, MetricsError, Result, check_same_dim};

/// A Gaussian fitted to a feature set; fit the reference (test split) once and cache it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    pub mean: Vec<f64>,
    pub cov: DMatrix<f64>,
}

impl Gaussian {
    /// Sample mean and unbiased (n − 1) covariance of the rows. Needs at least 2 rows.
    pub fn fit(features: Features<'_>) -> Result<Self> {
        Self::fit_named(features, "features")
    }

    fn fit_named(features: Features<'_>, what: &'static str) -> Result<Self> {
        features.validate(what, 2)?;
        let mut x = features.columns_f64(None); // dim × n
        let n = features.rows as f64;
        let mean: Vec<f64> = x.row_iter().map(|r| r.sum() / n).collect();
        for mut sample in x.column_iter_mut() {
            for (v, m) in sample.iter_mut().zip(&mean) {
                *v -= m;
            }
        }
        // `tr_mul` is a naive loop in nalgebra; an explicit transpose goes through gemm.
        let mut cov = &x * x.transpose();
        cov /= n - 1.0;
        Ok(Self { mean, cov })
    }

    /// Fréchet distance to `other`; see [`frechet_distance`].
    pub fn frechet_distance(&self, other: &Gaussian) -> Result<f64> {
        frechet_distance(&self.mean, &self.cov, &other.mean, &other.cov)
    }
}

/// FID between two feature sets (each needs at least 2 rows).
pub fn fid(real: Features<'_>, generated: Features<'_>) -> Result<f64> {
    check_same_dim(
        "real features",
        real.cols,
        "generated features",
        generated.cols,
    )?;
    let a = Gaussian::fit_named(real, "real features")?;
    let b = Gaussian::fit_named(generated, "generated features")?;
    a.frechet_distance(&b)
}

/// Fréchet distance between N(mu1, s1) and N(mu2, s2):
/// |mu1 − mu2|² + tr(s1) + tr(s2) − 2 tr(sqrt(s1 s2)).
///
/// The trace term uses the symmetric form tr(sqrt(sqrt(s1) s2 sqrt(s1))), which has the same
/// eigenvalues as s1 s2 for positive semi-definite inputs, via symmetric eigendecompositions;
/// eigenvalues that rounding pushes slightly below 0 are clamped to 0. The result is clamped
/// at 0 for the same reason (it is a squared distance).
pub fn frechet_distance(
    mu1: &[f64],
    s1: &DMatrix<f64>,
    mu2: &[f64],
    s2: &DMatrix<f64>,
) -> Result<f64> {
    let d = mu1.len();
    check_same_dim("mean 1", d, "mean 2", mu2.len())?;
    check_same_dim("mean 1", d, "covariance 1 rows", s1.nrows())?;
    check_same_dim("mean 1", d, "covariance 1 columns", s1.ncols())?;
    check_same_dim("mean 1", d, "covariance 2 rows", s2.nrows())?;
    check_same_dim("mean 1", d, "covariance 2 columns", s2.ncols())?;
    check_finite("mean 1", mu1.iter().copied(), 1)?;
    check_finite("mean 2", mu2.iter().copied(), 1)?;
    check_finite("covariance 1", s1.transpose().iter().copied(), d)?;
    check_finite("covariance 2", s2.transpose().iter().copied(), d)?;

    let mean_term: f64 = mu1.iter().zip(mu2).map(|(a, b)| (a - b).powi(2)).sum();
    let sqrt_s1 = psd_sqrt(s1)?;
    let inner = &sqrt_s1 * s2 * &sqrt_s1;
    let tr_covmean: f64 = symmetric_eigenvalues(&inner)?
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    Ok((mean_term + s1.trace() + s2.trace() - 2.0 * tr_covmean).max(0.0))
}

/// Errors on the first non-finite value of a row-major sequence with `cols` columns.
fn check_finite(what: &'static str, values: impl Iterator<Item = f64>, cols: usize) -> Result<()> {
    for (i, value) in values.enumerate() {
        if !value.is_finite() {
            return Err(MetricsError::NonFinite {
                what,
                row: i / cols,
                col: i % cols,
                value,
            });
        }
    }
    Ok(())
}

/// Eigendecomposition of the symmetric part of `m` (inputs must be finite).
fn symmetric_eigen(m: &DMatrix<f64>) -> Result<SymmetricEigen<f64, nalgebra::Dyn>> {
    let sym = (m + m.transpose()) * 0.5;
    let max_iterations = 1000 * m.nrows().max(1);
    SymmetricEigen::try_new(sym, f64::EPSILON, max_iterations).ok_or(MetricsError::Numerical(
        "symmetric eigendecomposition did not converge",
    ))
}

fn symmetric_eigenvalues(m: &DMatrix<f64>) -> Result<Vec<f64>> {
    Ok(symmetric_eigen(m)?.eigenvalues.iter().copied().collect())
}

/// Square root of a positive semi-definite matrix (negative eigenvalues clamped to 0).
fn psd_sqrt(m: &DMatrix<f64>) -> Result<DMatrix<f64>> {
    let eig = symmetric_eigen(m)?;
    let mut scaled = eig.eigenvectors.clone();
    for (mut column, &l) in scaled.column_iter_mut().zip(eig.eigenvalues.iter()) {
        column *= l.max(0.0).sqrt();
    }
    Ok(&scaled * eig.eigenvectors.transpose())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::testutil::{assert_close, correlated, feats};

    #[test]
    fn frechet_identical_is_zero() {
        let mu = [1.0, -2.0, 0.5];
        let s = DMatrix::from_row_slice(3, 3, &[2.0, 0.3, 0.1, 0.3, 1.0, 0.2, 0.1, 0.2, 0.5]);
        assert_close(frechet_distance(&mu, &s, &mu, &s).unwrap(), 0.0, 1e-12);
    }

    #[test]
    fn frechet_means_only() {
        let s = DMatrix::from_row_slice(2, 2, &[1.5, 0.4, 0.4, 0.9]);
        let d = frechet_distance(&[1.0, 2.0], &s, &[4.0, -2.0], &s).unwrap();
        assert_close(d, 9.0 + 16.0, 1e-12);
    }

    #[test]
    fn frechet_diagonal() {
        let (a, b) = ([1.0, 4.0, 9.0, 0.25], [4.0, 1.0, 9.0, 1.0]);
        let s1 = DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(&a));
        let s2 = DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(&b));
        let (mu1, mu2) = ([0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 2.0]);
        let expected: f64 = a
            .iter()
            .zip(&b)
            .map(|(x, y): (&f64, &f64)| (x.sqrt() - y.sqrt()).powi(2))
            .sum::<f64>()
            + 1.0
            + 4.0;
        assert_close(
            frechet_distance(&mu1, &s1, &mu2, &s2).unwrap(),
            expected,
            1e-12,
        );
    }

    #[test]
    fn frechet_commuting_non_diagonal() {
        // Both have eigenvectors (1, 1)/√2 and (1, −1)/√2: s1 eigenvalues 3, 1; s2 eigenvalues
        // 8, 2; so s1 s2 has eigenvalues 24, 2 and tr sqrt(s1 s2) = √24 + √2.
        let s1 = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 2.0]);
        let s2 = DMatrix::from_row_slice(2, 2, &[5.0, 3.0, 3.0, 5.0]);
        let expected = 5.0 + 4.0 + 10.0 - 2.0 * (24f64.sqrt() + 2f64.sqrt());
        let d = frechet_distance(&[1.0, 2.0], &s1, &[0.0, 0.0], &s2).unwrap();
        assert_close(d, expected, 1e-12);
    }

    #[test]
    fn frechet_errors() {
        let s = DMatrix::identity(2, 2);
        let s3 = DMatrix::identity(3, 3);
        assert!(matches!(
            frechet_distance(&[0.0, 0.0], &s, &[0.0, 0.0, 0.0], &s3),
            Err(MetricsError::DimensionMismatch { .. })
        ));
        let bad = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, f64::NAN, 1.0]);
        let err = frechet_distance(&[0.0, 0.0], &s, &[0.0, 0.0], &bad).unwrap_err();
        assert!(
            matches!(
                err,
                MetricsError::NonFinite {
                    what: "covariance 2",
                    row: 1,
                    col: 0,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn gaussian_fit_unbiased() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 0.0];
        let g = Gaussian::fit(feats(&data, 2)).unwrap();
        assert_eq!(g.mean, vec![3.0, 2.0]);
        // Centred: (−2, 0), (0, 2), (2, −2); divided by n − 1 = 2.
        let expected = DMatrix::from_row_slice(2, 2, &[4.0, -2.0, -2.0, 4.0]);
        assert!((g.cov - expected).abs().max() < 1e-12);
    }

    #[test]
    fn fid_with_itself_is_zero() {
        let data = correlated(1, 500, 8, 0.5, 0.0);
        let x = feats(&data, 8);
        let g = Gaussian::fit(x).unwrap();
        let scale = 2.0 * g.cov.trace();
        let d = fid(x, x).unwrap();
        assert!(d < 1e-6 * scale, "FID with itself {d} (scale {scale})");
        // A shifted copy is clearly apart.
        let shifted = correlated(2, 500, 8, 0.5, 1.0);
        assert!(fid(x, feats(&shifted, 8)).unwrap() > 5.0);
    }

    #[test]
    fn fid_errors_name_the_input() {
        let good = correlated(3, 10, 4, 0.0, 0.0);
        let mut bad = good.clone();
        bad[2 * 4 + 3] = f32::INFINITY;
        let err = fid(feats(&good, 4), feats(&bad, 4)).unwrap_err();
        assert!(
            matches!(
                err,
                MetricsError::NonFinite {
                    what: "generated features",
                    row: 2,
                    col: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("generated features"));
        let err = fid(feats(&good[..4], 4), feats(&good, 4)).unwrap_err();
        assert!(matches!(
            err,
            MetricsError::TooFewRows {
                what: "real features",
                need: 2,
                got: 1
            }
        ));
        let err = fid(feats(&good, 4), feats(&good, 2)).unwrap_err();
        assert!(matches!(
            err,
            MetricsError::DimensionMismatch { a: 4, b: 2, .. }
        ));
        assert!(Features::new(&good, 3).is_err());
        let inconsistent = Features {
            data: &good,
            rows: 3,
            cols: 4,
        };
        assert!(matches!(
            fid(inconsistent, feats(&good, 4)),
            Err(MetricsError::Shape { .. })
        ));
    }
}
