//! Sample-quality metrics for generated Fashion-MNIST images.
//!
//! The images themselves are scored elsewhere by a small Fashion-MNIST classifier (the
//! "evaluator"); this module holds only the math on its outputs: penultimate-layer features
//! (row-major `f32`, one row per sample) and class probabilities (rows of
//! [`NUM_CLASSES`] softmax outputs). Everything is computed in `f64`.
//!
//! - [`fid`] / [`frechet_distance`] / [`Gaussian`]: Fréchet distance between Gaussians fitted
//!   to two feature sets (FID). M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler,
//!   S. Hochreiter, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
//!   Equilibrium", NeurIPS 2017, arXiv:1706.08500.
//! - [`kid`] / [`mmd2_unbiased`]: Kernel distance (KID), the unbiased MMD² with the cubic
//!   polynomial kernel averaged over random subsets. M. Bińkowski, D. J. Sutherland, M. Arbel,
//!   A. Gretton, "Demystifying MMD GANs", ICLR 2018, arXiv:1801.01401.
//! - [`inception_score`]: exp(E_x KL(p(y|x) ‖ p(y))) computed with the evaluator instead of
//!   Inception. T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen,
//!   "Improved Techniques for Training GANs", NeurIPS 2016, arXiv:1606.03498.
//! - [`class_coverage`]: histogram of predicted classes, its KL divergence from uniform and the
//!   number of classes actually produced (a mode-collapse indicator).
//! - [`precision_recall`]: improved precision and recall from k-NN manifolds. T. Kynkäänniemi,
//!   T. Karras, S. Laine, J. Lehtinen, T. Aila, "Improved Precision and Recall Metric for
//!   Assessing Generative Models", NeurIPS 2019, arXiv:1904.06991.
//!
//! Scores computed with this evaluator are comparable with each other, not with published
//! Inception-based numbers.

use nalgebra::{DMatrix, SymmetricEigen};
use rand::{SeedableRng, rngs::StdRng, seq::index};

/// Number of Fashion-MNIST classes.
pub const NUM_CLASSES: usize = 10;
/// Default number of KID subsets.
pub const DEFAULT_KID_SUBSETS: usize = 100;
/// Default KID subset size (clamped to the smaller set).
pub const DEFAULT_KID_SUBSET_SIZE: usize = 1000;
/// Default number of Inception-score splits.
pub const DEFAULT_IS_SPLITS: usize = 10;
/// Default k of the k-NN radii of precision and recall.
pub const DEFAULT_PR_K: usize = 3;
/// Share of the samples a class must hold to count as covered.
pub const COVERED_SHARE: f64 = 0.02;

/// Guards `ln(0)` in the Inception score.
const LOG_EPS: f64 = 1e-12;
/// How far a probability row may sum from 1 (softmax outputs in f32 are within ~1e-6).
const PROB_SUM_TOLERANCE: f64 = 1e-3;
/// Query rows per block of the k-NN distance computation: a block of distances to 10,000
/// reference rows is 256 × 10,000 × 8 bytes = 20 MB.
const DISTANCE_BLOCK_ROWS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("{what}: {len} values do not form {rows} rows of {cols} columns")]
    Shape {
        what: &'static str,
        len: usize,
        rows: usize,
        cols: usize,
    },
    #[error("{what}: need at least {need} rows, got {got}")]
    TooFewRows {
        what: &'static str,
        need: usize,
        got: usize,
    },
    #[error("dimension mismatch: {what_a} has dimension {a}, {what_b} has dimension {b}")]
    DimensionMismatch {
        what_a: &'static str,
        a: usize,
        what_b: &'static str,
        b: usize,
    },
    #[error("{what}: non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        what: &'static str,
        row: usize,
        col: usize,
        value: f64,
    },
    #[error(
        "{what}: row {row} is not a probability distribution ({reason}); pass softmax outputs, not logits"
    )]
    NotProbabilities {
        what: &'static str,
        row: usize,
        reason: String,
    },
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    #[error("numerical failure: {0}")]
    Numerical(&'static str),
}

pub type Result<T, E = MetricsError> = std::result::Result<T, E>;

/// A borrowed row-major `f32` matrix: `rows` samples of `cols` values each.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
}

impl<'a> Features<'a> {
    /// Views `data` as rows of `cols` values.
    pub fn new(data: &'a [f32], cols: usize) -> Result<Self> {
        if cols == 0 || !data.len().is_multiple_of(cols) {
            return Err(MetricsError::Shape {
                what: "features",
                len: data.len(),
                rows: data.len().checked_div(cols).unwrap_or(0),
                cols,
            });
        }
        Ok(Self {
            data,
            rows: data.len() / cols,
            cols,
        })
    }

    /// Row `i` (panics when out of range, like slice indexing).
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Checks the shape, the row count and that every value is finite.
    fn validate(&self, what: &'static str, min_rows: usize) -> Result<()> {
        if self.cols == 0 || self.rows.checked_mul(self.cols) != Some(self.data.len()) {
            return Err(MetricsError::Shape {
                what,
                len: self.data.len(),
                rows: self.rows,
                cols: self.cols,
            });
        }
        if self.rows < min_rows {
            return Err(MetricsError::TooFewRows {
                what,
                need: min_rows,
                got: self.rows,
            });
        }
        match self.data.iter().position(|v| !v.is_finite()) {
            Some(i) => Err(MetricsError::NonFinite {
                what,
                row: i / self.cols,
                col: i % self.cols,
                value: f64::from(self.data[i]),
            }),
            None => Ok(()),
        }
    }

    /// The selected rows (all when `None`) as a `cols × n` f64 matrix, one sample per column.
    fn columns_f64(&self, rows: Option<&[usize]>) -> DMatrix<f64> {
        match rows {
            None => DMatrix::from_iterator(
                self.cols,
                self.rows,
                self.data.iter().map(|&v| f64::from(v)),
            ),
            Some(rows) => DMatrix::from_iterator(
                self.cols,
                rows.len(),
                rows.iter()
                    .flat_map(|&r| self.row(r).iter().map(|&v| f64::from(v))),
            ),
        }
    }
}

fn check_same_dim(what_a: &'static str, a: usize, what_b: &'static str, b: usize) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(MetricsError::DimensionMismatch {
            what_a,
            a,
            what_b,
            b,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// FID
// ---------------------------------------------------------------------------------------------

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

    pub fn dim(&self) -> usize {
        self.mean.len()
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

// ---------------------------------------------------------------------------------------------
// KID
// ---------------------------------------------------------------------------------------------

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

/// Unbiased MMD² between the full sets with the KID kernel (sizes may differ):
/// mean off-diagonal k(x, x') + mean off-diagonal k(y, y') − 2 mean k(x, y).
pub fn mmd2_unbiased(real: Features<'_>, generated: Features<'_>) -> Result<f64> {
    real.validate("real features", 2)?;
    generated.validate("generated features", 2)?;
    check_same_dim(
        "real features",
        real.cols,
        "generated features",
        generated.cols,
    )?;
    Ok(mmd2_of_columns(
        &real.columns_f64(None),
        &generated.columns_f64(None),
    ))
}

/// MMD² of two `d × n` sample matrices (n ≥ 2 each).
fn mmd2_of_columns(x: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
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

/// Mean and population standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

// ---------------------------------------------------------------------------------------------
// Class-probability metrics
// ---------------------------------------------------------------------------------------------

/// Checks that every row is a finite, non-negative distribution summing to 1 (± 1e-3).
fn validate_probabilities(probs: &Features<'_>, what: &'static str, min_rows: usize) -> Result<()> {
    probs.validate(what, min_rows)?;
    for row in 0..probs.rows {
        let values = probs.row(row);
        if let Some(v) = values.iter().find(|&&v| v < 0.0) {
            return Err(MetricsError::NotProbabilities {
                what,
                row,
                reason: format!("negative value {v}"),
            });
        }
        let sum: f64 = values.iter().map(|&v| f64::from(v)).sum();
        if (sum - 1.0).abs() > PROB_SUM_TOLERANCE {
            return Err(MetricsError::NotProbabilities {
                what,
                row,
                reason: format!("sums to {sum}"),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InceptionScore {
    pub mean: f64,
    /// Population standard deviation (ddof = 0) over the splits.
    pub std: f64,
}

/// Inception-style score exp(E_x KL(p(y|x) ‖ p(y))) on `splits` contiguous splits of the rows
/// (sizes differ by at most one); p(y) is the mean prediction within a split. Ranges from 1
/// (all predictions equal) to the number of classes (confident and balanced).
pub fn inception_score(probs: Features<'_>, splits: usize) -> Result<InceptionScore> {
    if splits == 0 {
        return Err(MetricsError::InvalidParameter(
            "IS needs at least 1 split".into(),
        ));
    }
    validate_probabilities(&probs, "probabilities", splits)?;
    let c = probs.cols;
    let scores: Vec<f64> = (0..splits)
        .map(|s| {
            let (start, end) = (s * probs.rows / splits, (s + 1) * probs.rows / splits);
            let n = (end - start) as f64;
            let mut marginal = vec![0.0; c];
            for row in start..end {
                for (m, &p) in marginal.iter_mut().zip(probs.row(row)) {
                    *m += f64::from(p) / n;
                }
            }
            let log_marginal: Vec<f64> = marginal.iter().map(|m| (m + LOG_EPS).ln()).collect();
            let mean_kl = (start..end)
                .map(|row| {
                    probs
                        .row(row)
                        .iter()
                        .zip(&log_marginal)
                        .map(|(&p, lm)| {
                            let p = f64::from(p);
                            p * ((p + LOG_EPS).ln() - lm)
                        })
                        .sum::<f64>()
                })
                .sum::<f64>()
                / n;
            mean_kl.exp()
        })
        .collect();
    let (mean, std) = mean_std(&scores);
    Ok(InceptionScore { mean, std })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// Share of samples whose most likely class is each class (sums to 1).
    pub histogram: [f64; NUM_CLASSES],
    /// KL(histogram ‖ uniform) in nats: 0 when balanced, ln 10 when all in one class.
    pub kl_from_uniform: f64,
    /// Number of classes holding at least [`COVERED_SHARE`] of the samples.
    pub classes_covered: usize,
}

/// Class coverage of the argmax predictions (ties go to the lower class index).
pub fn class_coverage(probs: Features<'_>) -> Result<Coverage> {
    check_same_dim(
        "probabilities",
        probs.cols,
        "number of classes",
        NUM_CLASSES,
    )?;
    validate_probabilities(&probs, "probabilities", 1)?;
    let mut histogram = [0.0; NUM_CLASSES];
    for row in 0..probs.rows {
        let values = probs.row(row);
        let argmax =
            (1..NUM_CLASSES).fold(0, |best, c| if values[c] > values[best] { c } else { best });
        histogram[argmax] += 1.0;
    }
    for share in &mut histogram {
        *share /= probs.rows as f64;
    }
    let kl_from_uniform = histogram
        .iter()
        .filter(|&&h| h > 0.0)
        .map(|&h| h * (h * NUM_CLASSES as f64).ln())
        .sum::<f64>()
        .max(0.0);
    let classes_covered = histogram.iter().filter(|&&h| h >= COVERED_SHARE).count();
    Ok(Coverage {
        histogram,
        kl_from_uniform,
        classes_covered,
    })
}

// ---------------------------------------------------------------------------------------------
// Improved precision and recall
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionRecall {
    /// Share of generated samples inside the real manifold.
    pub precision: f64,
    /// Share of real samples inside the generated manifold.
    pub recall: f64,
}

/// Improved precision and recall with k-NN manifolds (both sets need more than `k` rows).
///
/// A set's manifold is the union of balls around its samples whose radius is the distance to
/// the k-th nearest other sample of the same set; a sample is inside when its distance to
/// some ball centre is at most that ball's radius.
pub fn precision_recall(
    real: Features<'_>,
    generated: Features<'_>,
    k: usize,
) -> Result<PrecisionRecall> {
    if k == 0 {
        return Err(MetricsError::InvalidParameter(
            "precision/recall needs k >= 1".into(),
        ));
    }
    real.validate("real features", k + 1)?;
    generated.validate("generated features", k + 1)?;
    check_same_dim(
        "real features",
        real.cols,
        "generated features",
        generated.cols,
    )?;
    let real = PointSet::new(real);
    let generated = PointSet::new(generated);
    // Squared radii; squared distances are compared with them throughout.
    let real_radii = knn_radii(&real, k);
    let generated_radii = knn_radii(&generated, k);

    // One pass over generated × real distances serves both directions.
    let mut generated_inside = 0usize;
    let mut real_inside = vec![false; real.len()];
    for_each_distance_row(&generated, &real, |g, distances| {
        if distances.iter().zip(&real_radii).any(|(d, r)| d <= r) {
            generated_inside += 1;
        }
        let radius = generated_radii[g];
        for (inside, &d) in real_inside.iter_mut().zip(distances) {
            *inside |= d <= radius;
        }
    });
    Ok(PrecisionRecall {
        precision: generated_inside as f64 / generated.len() as f64,
        recall: real_inside.iter().filter(|&&b| b).count() as f64 / real.len() as f64,
    })
}

/// A feature set prepared for squared distances |a|² + |b|² − 2 a·b.
struct PointSet {
    /// `n × d`, one sample per row.
    rows: DMatrix<f64>,
    /// `d × n`, one sample per column.
    columns: DMatrix<f64>,
    squared_norms: Vec<f64>,
}

impl PointSet {
    fn new(features: Features<'_>) -> Self {
        let columns = features.columns_f64(None);
        let squared_norms = columns.column_iter().map(|c| c.norm_squared()).collect();
        Self {
            rows: columns.transpose(),
            columns,
            squared_norms,
        }
    }

    fn len(&self) -> usize {
        self.squared_norms.len()
    }
}

/// Calls `f(i, distances)` for every query sample `i`, with its squared distances to all
/// reference samples (clamped at 0). Works on blocks of query rows to bound memory.
fn for_each_distance_row(query: &PointSet, reference: &PointSet, mut f: impl FnMut(usize, &[f64])) {
    let n_ref = reference.len();
    for start in (0..query.len()).step_by(DISTANCE_BLOCK_ROWS) {
        let block = DISTANCE_BLOCK_ROWS.min(query.len() - start);
        // n_ref × block, column-major: each column holds one query sample's dot products.
        let mut dots = &reference.rows * query.columns.columns(start, block);
        for (j, column) in dots.as_mut_slice().chunks_exact_mut(n_ref).enumerate() {
            let q_norm = query.squared_norms[start + j];
            for (v, r_norm) in column.iter_mut().zip(&reference.squared_norms) {
                *v = (q_norm + r_norm - 2.0 * *v).max(0.0);
            }
            f(start + j, column);
        }
    }
}

/// Squared distance from each sample to its k-th nearest other sample of the same set.
fn knn_radii(set: &PointSet, k: usize) -> Vec<f64> {
    let mut radii = vec![0.0; set.len()];
    let mut nearest = vec![f64::INFINITY; k]; // ascending
    for_each_distance_row(set, set, |i, distances| {
        nearest.fill(f64::INFINITY);
        for (j, &d) in distances.iter().enumerate() {
            if j != i && d < nearest[k - 1] {
                let pos = nearest.partition_point(|&v| v <= d);
                nearest.copy_within(pos..k - 1, pos + 1);
                nearest[pos] = d;
            }
        }
        radii[i] = nearest[k - 1];
    });
    radii
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use std::time::Instant;

    fn feats(data: &[f32], cols: usize) -> Features<'_> {
        Features::new(data, cols).unwrap()
    }

    fn normal(rng: &mut StdRng) -> f64 {
        // Box–Muller.
        let u1: f64 = 1.0 - rng.random::<f64>();
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `n × d` correlated Gaussian data: x = A z + shift + 0.1 i, with A lower-triangular,
    /// 1 on the diagonal and `mix / (i - j)` below it.
    fn correlated(seed: u64, n: usize, d: usize, mix: f64, shift: f64) -> Vec<f32> {
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
    fn one_hot(classes: impl Iterator<Item = usize>) -> Vec<f32> {
        classes
            .flat_map(|c| (0..NUM_CLASSES).map(move |i| if i == c { 1.0 } else { 0.0 }))
            .collect()
    }

    fn assert_close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b} (tolerance {tol})");
    }

    // --- Fréchet distance on known Gaussians ---

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

    // --- Gaussian fit and FID on samples ---

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

    // --- KID ---

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

    // --- Inception score ---

    #[test]
    fn inception_score_extremes() {
        let balanced = one_hot((0..1000).map(|i| i % NUM_CLASSES));
        let s = inception_score(feats(&balanced, NUM_CLASSES), 10).unwrap();
        assert_close(s.mean, 10.0, 1e-9);
        assert_close(s.std, 0.0, 1e-9);

        let row = [0.05f32, 0.1, 0.2, 0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
        let same: Vec<f32> = row
            .iter()
            .copied()
            .cycle()
            .take(500 * NUM_CLASSES)
            .collect();
        let s = inception_score(feats(&same, NUM_CLASSES), 10).unwrap();
        assert_close(s.mean, 1.0, 1e-9);
    }

    #[test]
    fn probabilities_are_validated() {
        let logits = vec![2.0f32; 3 * NUM_CLASSES];
        let err = inception_score(feats(&logits, NUM_CLASSES), 1).unwrap_err();
        assert!(
            matches!(err, MetricsError::NotProbabilities { row: 0, .. }),
            "{err}"
        );
        let probs = one_hot(0..3);
        assert!(matches!(
            inception_score(feats(&probs, NUM_CLASSES), 4),
            Err(MetricsError::TooFewRows { .. })
        ));
        assert!(class_coverage(feats(&probs[..15], 5)).is_err());
    }

    // --- Coverage ---

    #[test]
    fn coverage_one_class_and_uniform() {
        let collapsed = one_hot(std::iter::repeat_n(3, 200));
        let c = class_coverage(feats(&collapsed, NUM_CLASSES)).unwrap();
        assert_eq!(c.classes_covered, 1);
        assert_close(c.kl_from_uniform, 10f64.ln(), 1e-12);
        assert_eq!(c.histogram[3], 1.0);

        let uniform = one_hot((0..200).map(|i| i % NUM_CLASSES));
        let c = class_coverage(feats(&uniform, NUM_CLASSES)).unwrap();
        assert_eq!(c.classes_covered, 10);
        assert_close(c.kl_from_uniform, 0.0, 1e-12);
        assert!(c.histogram.iter().all(|&h| (h - 0.1).abs() < 1e-12));

        // 1 of 100 samples (1%) is below the 2% threshold.
        let rare = one_hot((0..100).map(|i| if i == 0 { 9 } else { i % 2 }));
        assert_eq!(
            class_coverage(feats(&rare, NUM_CLASSES))
                .unwrap()
                .classes_covered,
            2
        );
    }

    // --- Precision and recall ---

    #[test]
    fn precision_recall_identical_and_disjoint() {
        let data = correlated(10, 400, 8, 0.3, 0.0);
        let x = feats(&data, 8);
        let pr = precision_recall(x, x, DEFAULT_PR_K).unwrap();
        assert_eq!((pr.precision, pr.recall), (1.0, 1.0));

        let far = correlated(11, 300, 8, 0.3, 100.0);
        let pr = precision_recall(x, feats(&far, 8), DEFAULT_PR_K).unwrap();
        assert_eq!((pr.precision, pr.recall), (0.0, 0.0));
    }

    #[test]
    fn precision_recall_tight_subset() {
        // Real: a broad cloud. Generated: near-copies of the real samples in a small region.
        let real = correlated(12, 1000, 2, 0.0, 0.0);
        let mut rng = StdRng::seed_from_u64(13);
        let generated: Vec<f32> = real
            .chunks_exact(2)
            .filter(|p| p[0].hypot(p[1] - 0.1) < 0.7)
            .flat_map(|p| {
                p.iter()
                    .map(|&v| v + 0.001 * rng.random::<f32>())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(generated.len() / 2 > 50);
        let pr = precision_recall(feats(&real, 2), feats(&generated, 2), 3).unwrap();
        assert!(pr.precision > 0.95, "{pr:?}");
        assert!(pr.recall < 0.4, "{pr:?}");
    }

    #[test]
    fn precision_recall_blocks_match_brute_force() {
        // More rows than one distance block, compared against a direct computation.
        let real = correlated(14, 600, 3, 0.5, 0.0);
        let generated = correlated(15, 520, 3, 0.5, 0.4);
        let k = 4;
        let pr = precision_recall(feats(&real, 3), feats(&generated, 3), k).unwrap();

        let rows = |v: &[f32]| -> Vec<Vec<f64>> {
            v.chunks_exact(3)
                .map(|r| r.iter().map(|&x| f64::from(x)).collect())
                .collect()
        };
        let (r, g) = (rows(&real), rows(&generated));
        let dist =
            |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum() };
        let radii = |s: &[Vec<f64>]| -> Vec<f64> {
            (0..s.len())
                .map(|i| {
                    let mut d: Vec<f64> = (0..s.len())
                        .filter(|&j| j != i)
                        .map(|j| dist(&s[i], &s[j]))
                        .collect();
                    d.sort_by(f64::total_cmp);
                    d[k - 1]
                })
                .collect()
        };
        let (rr, gr) = (radii(&r), radii(&g));
        let inside = |a: &[Vec<f64>], b: &[Vec<f64>], br: &[f64]| -> f64 {
            a.iter()
                .filter(|x| b.iter().zip(br).any(|(y, &rad)| dist(x, y) <= rad))
                .count() as f64
                / a.len() as f64
        };
        assert_close(pr.precision, inside(&g, &r, &rr), 1e-12);
        assert_close(pr.recall, inside(&r, &g, &gr), 1e-12);
        assert!(pr.precision > 0.0 && pr.precision < 1.0 && pr.recall > 0.0 && pr.recall < 1.0);
    }

    // --- Cross-check against numpy / scipy ---

    const PYTHON_REFERENCE: &str = r#"
import json, sys
import numpy as np
from scipy import linalg

def load(path, rows, cols):
    return np.fromfile(path, dtype="<f4").reshape(rows, cols).astype(np.float64)

def fid(a, b):
    # pytorch-fid's calculate_frechet_distance.
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

def mmd2(x, y):
    d = x.shape[1]
    n, m = len(x), len(y)
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.sum() / (n * m))

a_path, b_path, na, nb, d = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
a, b = load(a_path, na, d), load(b_path, nb, d)
print(json.dumps({"fid": fid(a, b), "mmd2": mmd2(a, b), "mmd2_equal": mmd2(a[:nb], b)}))
"#;

    const PYTHON_HINT: &str = "this test cross-checks FID/KID against numpy/scipy; \
         install Python 3 and run `pip install numpy scipy`";

    fn python_reference(a: &[f32], b: &[f32], d: usize) -> reference_json::Reference {
        let dir = std::env::temp_dir().join(format!(
            "gan-lab-metrics-xcheck-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, v: &[f32]| {
            let path = dir.join(name);
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let (pa, pb) = (write("a.f32", a), write("b.f32", b));
        let output = std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_REFERENCE)
            .arg(&pa)
            .arg(&pb)
            .args([
                (a.len() / d).to_string(),
                (b.len() / d).to_string(),
                d.to_string(),
            ])
            .output();
        let _ = std::fs::remove_dir_all(&dir);
        let output = match output {
            Ok(o) => o,
            Err(e) => panic!("could not run python3 ({e}): {PYTHON_HINT}"),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "python3 reference script failed ({}): {PYTHON_HINT}\nstderr:\n{stderr}",
            output.status
        );
        reference_json::Reference::parse(&stdout)
            .unwrap_or_else(|| panic!("unexpected output of the python3 script: {stdout}"))
    }

    /// Tiny parser for the script's one-line JSON object of numbers (keeps dev-deps at zero).
    mod reference_json {
        pub struct Reference {
            pub fid: f64,
            pub mmd2: f64,
            pub mmd2_equal: f64,
        }

        impl Reference {
            pub fn parse(line: &str) -> Option<Self> {
                let body = line.trim().strip_prefix('{')?.strip_suffix('}')?;
                let get = |key: &str| -> Option<f64> {
                    body.split(',').find_map(|kv| {
                        let (k, v) = kv.split_once(':')?;
                        (k.trim().trim_matches('"') == key).then(|| v.trim().parse().ok())?
                    })
                };
                Some(Self {
                    fid: get("fid")?,
                    mmd2: get("mmd2")?,
                    mmd2_equal: get("mmd2_equal")?,
                })
            }
        }
    }

    #[test]
    fn cross_check_with_numpy_scipy() {
        let d = 16;
        let a = correlated(20, 300, d, 0.6, 0.0);
        let b = correlated(21, 250, d, 0.3, 0.2);
        let reference = python_reference(&a, &b, d);
        let (fa, fb) = (feats(&a, d), feats(&b, d));

        // FID: scipy's sqrtm (Schur method) and our symmetric eigendecompositions are both
        // backward-stable double-precision methods on well-conditioned 16 × 16 matrices, so
        // they agree to ~1e-12 relative; 1e-6 leaves ample margin.
        let ours = fid(fa, fb).unwrap();
        let rel = (ours - reference.fid).abs() / reference.fid.abs();
        assert!(
            rel < 1e-6,
            "FID {ours} vs scipy {} (relative {rel:e})",
            reference.fid
        );

        // MMD²: same formula, only the summation order differs. The kernel sums are of order
        // 1e4–1e5 terms of magnitude ~1–10 that nearly cancel, so rounding leaves absolute
        // errors ~1e-13; 1e-9 × (1 + |value|) is tight yet robust.
        let tol = |v: f64| 1e-9 * (1.0 + v.abs());
        let ours = mmd2_unbiased(fa, fb).unwrap();
        assert!(
            (ours - reference.mmd2).abs() < tol(reference.mmd2),
            "MMD² {ours} vs numpy {}",
            reference.mmd2
        );
        // KID with one subset of the full (equal) set size is the plain MMD² (it is invariant
        // to the order in which the subset is drawn), so it matches without shared randomness.
        let fa_equal = feats(&a[..250 * d], d);
        let opts = KidOptions {
            subsets: 1,
            subset_size: 250,
            seed: 3,
        };
        let k = kid(fa_equal, fb, &opts).unwrap();
        assert!(
            (k.mean - reference.mmd2_equal).abs() < tol(reference.mmd2_equal),
            "KID {} vs numpy {}",
            k.mean,
            reference.mmd2_equal
        );
        assert_eq!(k.std, 0.0);
        assert!(reference.mmd2 > 1e-3, "test data should be clearly apart");
        println!(
            "FID {:e} relative, MMD² {:e} and KID {:e} absolute from numpy/scipy",
            rel,
            (ours - reference.mmd2).abs(),
            (k.mean - reference.mmd2_equal).abs()
        );
    }

    // --- Timing (cargo test --release -- --ignored --nocapture timing) ---

    #[test]
    #[ignore = "timing on 10,000 × 128 features; run with --release --ignored --nocapture"]
    fn timing_10k() {
        let (n, d) = (10_000, 128);
        let real = correlated(30, n, d, 0.2, 0.0);
        let generated = correlated(31, n, d, 0.2, 0.1);
        let mut rng = StdRng::seed_from_u64(32);
        let probs: Vec<f32> = (0..n)
            .flat_map(|_| {
                let raw: Vec<f32> = (0..NUM_CLASSES)
                    .map(|_| rng.random::<f32>().powi(4))
                    .collect();
                let sum: f32 = raw.iter().sum();
                raw.into_iter().map(move |v| v / sum)
            })
            .collect();
        let (r, g, p) = (
            feats(&real, d),
            feats(&generated, d),
            feats(&probs, NUM_CLASSES),
        );

        let total = Instant::now();
        let t = Instant::now();
        let reference = Gaussian::fit(r).unwrap();
        let fit_time = t.elapsed();
        let t = Instant::now();
        let f = Gaussian::fit(g)
            .unwrap()
            .frechet_distance(&reference)
            .unwrap();
        println!(
            "FID  {f:.4}  (reference fit {fit_time:.2?}, generated fit + distance {:.2?})",
            t.elapsed()
        );
        let t = Instant::now();
        let k = kid(r, g, &KidOptions::default()).unwrap();
        println!("KID  {:.6} ± {:.6}  {:.2?}", k.mean, k.std, t.elapsed());
        let t = Instant::now();
        let s = inception_score(p, DEFAULT_IS_SPLITS).unwrap();
        println!("IS   {:.4} ± {:.4}  {:.2?}", s.mean, s.std, t.elapsed());
        let t = Instant::now();
        let c = class_coverage(p).unwrap();
        println!(
            "cov  {} classes, KL {:.4}  {:.2?}",
            c.classes_covered,
            c.kl_from_uniform,
            t.elapsed()
        );
        let t = Instant::now();
        let pr = precision_recall(r, g, DEFAULT_PR_K).unwrap();
        println!(
            "P/R  {:.4} / {:.4}  {:.2?}",
            pr.precision,
            pr.recall,
            t.elapsed()
        );
        println!("total {:.2?}", total.elapsed());
    }
}
