//! Sample-quality metrics for generated Fashion-MNIST images.
//!
//! The images themselves are scored elsewhere by a small Fashion-MNIST classifier (the
//! "evaluator"); this module holds only the math on its outputs: penultimate-layer features
//! (row-major `f32`, one row per sample) and class probabilities (rows of
//! softmax outputs, one column per class). Everything is computed in `f64`.
//!
//! - [`fid`](mod@fid): FID, the Fréchet distance between fitted Gaussians ([`Gaussian`]).
//! - [`kid`](mod@kid): KID, the unbiased MMD² over random subsets.
//! - [`inception`]: the Inception-style score and class coverage.
//! - [`precision_recall`](mod@precision_recall): improved precision and recall from k-NN
//!   manifolds.
//! - Here: the [`Features`] view shared by all of them, and the errors.
//!
//! Scores computed with this evaluator are comparable with each other, not with published
//! Inception-based numbers.

use nalgebra::DMatrix;

pub mod fid;
pub mod inception;
pub mod kid;
pub mod precision_recall;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use fid::{Gaussian, fid, frechet_distance};
pub use inception::{
    COVERED_SHARE, Coverage, DEFAULT_IS_SPLITS, InceptionScore, class_coverage, inception_score,
};
pub use kid::{DEFAULT_KID_SUBSET_SIZE, DEFAULT_KID_SUBSETS, Kid, KidOptions, kid};
pub use precision_recall::{DEFAULT_PR_K, PrecisionRecall, precision_recall};

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

/// Mean and population standard deviation.
fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}
