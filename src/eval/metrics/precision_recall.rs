//! Improved precision and recall from k-NN manifolds. T. Kynkäänniemi, T. Karras, S. Laine,
//! J. Lehtinen, T. Aila, "Improved Precision and Recall Metric for Assessing Generative Models",
//! NeurIPS 2019, arXiv:1904.06991.

use nalgebra::DMatrix;

use super::{Features, MetricsError, Result, check_same_dim};

/// Default k of the k-NN radii of precision and recall.
pub const DEFAULT_PR_K: usize = 3;

/// Query rows per block of the k-NN distance computation: a block of distances to 10,000
/// reference rows is 256 × 10,000 × 8 bytes = 20 MB.
const DISTANCE_BLOCK_ROWS: usize = 256;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::testutil::{assert_close, correlated, feats};
    use rand::{Rng, SeedableRng, rngs::StdRng};

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
}
