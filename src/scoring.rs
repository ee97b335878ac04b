//! Scoring generated images: the evaluator's features and probabilities of
//! the test split (the reference, computed once), and the chosen metrics of a
//! generated set against it.

use gan_lab_variants::Scalar;

use crate::data::Dataset;
use crate::evaluator::{CLASSES, Evaluator, FEATURE_DIM, to_unit_range};
use crate::events::SinkError;
use crate::metrics::{self, Features, Gaussian, KidOptions};
use crate::runner::Scorer;
use crate::spec::Metric;

/// Evaluator outputs of the reference images.
pub struct Reference {
    features: Vec<f32>,
    gaussian: Gaussian,
}

pub struct ImageScorer {
    pub evaluator: Evaluator,
    reference: Reference,
    metrics: Vec<Metric>,
}

impl ImageScorer {
    /// Scores against `reference` (the test split), computing `metrics`.
    pub fn new(
        evaluator: Evaluator,
        reference: &Dataset,
        metrics: Vec<Metric>,
    ) -> metrics::Result<Self> {
        let (features, _) = evaluator.outputs(&to_unit_range(&reference.images.pixels));
        let gaussian = Gaussian::fit(Features::new(&features, FEATURE_DIM)?)?;
        Ok(Self {
            evaluator,
            reference: Reference { features, gaussian },
            metrics,
        })
    }

    /// The scores of `pixels` (`n * 784` values in `[-1, 1]`), named as they are stored.
    pub fn score_pixels(&self, pixels: &[f32]) -> metrics::Result<Vec<Scalar>> {
        let (features, probs) = self.evaluator.outputs(pixels);
        let generated = Features::new(&features, FEATURE_DIM)?;
        let reference = Features::new(&self.reference.features, FEATURE_DIM)?;
        let probs = Features::new(&probs, CLASSES)?;
        let mut out = Vec::new();
        let mut push = |name: &'static str, value: f64| out.push(Scalar { name, value });
        for metric in &self.metrics {
            match metric {
                Metric::Fid => push(
                    "fid",
                    Gaussian::fit(generated)?.frechet_distance(&self.reference.gaussian)?,
                ),
                Metric::Kid => {
                    let kid = metrics::kid(reference, generated, &KidOptions::default())?;
                    push("kid", kid.mean);
                    push("kid_std", kid.std);
                }
                Metric::Is => {
                    let is = metrics::inception_score(probs, metrics::DEFAULT_IS_SPLITS)?;
                    push("is", is.mean);
                    push("is_std", is.std);
                }
                Metric::Coverage => {
                    let coverage = metrics::class_coverage(probs)?;
                    push("coverage_kl", coverage.kl_from_uniform);
                    push("classes_covered", coverage.classes_covered as f64);
                }
                Metric::PrecisionRecall => {
                    let pr =
                        metrics::precision_recall(reference, generated, metrics::DEFAULT_PR_K)?;
                    push("precision", pr.precision);
                    push("recall", pr.recall);
                }
            }
        }
        Ok(out)
    }
}

impl Scorer for ImageScorer {
    fn score(&mut self, pixels: &[f32]) -> Result<Vec<Scalar>, SinkError> {
        Ok(self.score_pixels(pixels)?)
    }

    fn primary(&self) -> Option<&'static str> {
        self.metrics.contains(&Metric::Fid).then_some("fid")
    }
}

/// Scores as an aligned two-column table.
pub fn format_scores(scores: &[Scalar]) -> String {
    scores
        .iter()
        .map(|s| format!("  {:<16} {:>12.4}\n", s.name, s.value))
        .collect()
}
