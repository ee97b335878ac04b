//! Scores on the evaluator's class probabilities: the Inception-style score and class coverage.
//!
//! - [`inception_score`]: exp(E_x KL(p(y|x) ‖ p(y))) computed with the evaluator instead of
//!   Inception. T. Salimans, I. Goodfellow, W. Zaremba, V. Cheung, A. Radford, X. Chen,
//!   "Improved Techniques for Training GANs", NeurIPS 2016, arXiv:1606.03498.
//! - [`class_coverage`]: histogram of predicted classes, its KL divergence from uniform and the
//!   number of classes actually produced (a mode-collapse indicator).

use super::{Features, MetricsError, Result, check_same_dim, mean_std};

/// Default number of Inception-score splits.
pub const DEFAULT_IS_SPLITS: usize = 10;
/// Share of the samples a class must hold to count as covered.
pub const COVERED_SHARE: f64 = 0.02;

/// Guards `ln(0)` in the Inception score.
const LOG_EPS: f64 = 1e-12;
/// How far a probability row may sum from 1 (softmax outputs in f32 are within ~1e-6).
const PROB_SUM_TOLERANCE: f64 = 1e-3;

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

#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    /// Share of samples whose most likely class is each class (sums to 1).
    pub histogram: Vec<f64>,
    /// KL(histogram ‖ uniform) in nats: 0 when balanced, ln(classes) when all in one class.
    pub kl_from_uniform: f64,
    /// Number of classes holding at least [`COVERED_SHARE`] of the samples.
    pub classes_covered: usize,
}

/// Class coverage of the argmax predictions over `classes` classes (ties go
/// to the lower class index).
pub fn class_coverage(probs: Features<'_>, classes: usize) -> Result<Coverage> {
    check_same_dim("probabilities", probs.cols, "number of classes", classes)?;
    validate_probabilities(&probs, "probabilities", 1)?;
    let mut histogram = vec![0.0; classes];
    for row in 0..probs.rows {
        let values = probs.row(row);
        let argmax =
            (1..classes).fold(0, |best, c| if values[c] > values[best] { c } else { best });
        histogram[argmax] += 1.0;
    }
    for share in &mut histogram {
        *share /= probs.rows as f64;
    }
    let kl_from_uniform = histogram
        .iter()
        .filter(|&&h| h > 0.0)
        .map(|&h| h * (h * classes as f64).ln())
        .sum::<f64>()
        .max(0.0);
    let classes_covered = histogram.iter().filter(|&&h| h >= COVERED_SHARE).count();
    Ok(Coverage {
        histogram,
        kl_from_uniform,
        classes_covered,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::testutil::{NUM_CLASSES, assert_close, feats, one_hot};

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
        assert!(class_coverage(feats(&probs[..15], 5), NUM_CLASSES).is_err());
    }

    #[test]
    fn coverage_one_class_and_uniform() {
        let collapsed = one_hot(std::iter::repeat_n(3, 200));
        let c = class_coverage(feats(&collapsed, NUM_CLASSES), NUM_CLASSES).unwrap();
        assert_eq!(c.classes_covered, 1);
        assert_close(c.kl_from_uniform, 10f64.ln(), 1e-12);
        assert_eq!(c.histogram[3], 1.0);

        let uniform = one_hot((0..200).map(|i| i % NUM_CLASSES));
        let c = class_coverage(feats(&uniform, NUM_CLASSES), NUM_CLASSES).unwrap();
        assert_eq!(c.classes_covered, 10);
        assert_close(c.kl_from_uniform, 0.0, 1e-12);
        assert!(c.histogram.iter().all(|&h| (h - 0.1).abs() < 1e-12));

        // 1 of 100 samples (1%) is below the 2% threshold.
        let rare = one_hot((0..100).map(|i| if i == 0 { 9 } else { i % 2 }));
        assert_eq!(
            class_coverage(feats(&rare, NUM_CLASSES), NUM_CLASSES)
                .unwrap()
                .classes_covered,
            2
        );
    }
}
