//! Scoring generated images: the evaluator's features and probabilities of
//! the test split (the reference, computed once), and the chosen metrics of a
//! generated set against it. [`ImageScorer`] is the [`Judge`] that variants
//! score themselves with.

use std::cell::{OnceCell, RefCell};
use std::path::{Path, PathBuf};

use gan_lab_variants::metric::{IMAGE_SCORES, class_scores, lookup};
use gan_lab_variants::{Better, Judge, MetricInfo, Scalar, VariantError};

use crate::context::Context;
use crate::data::{self, Dataset, IMAGE_PIXELS, Split, to_unit_range};
use crate::eval::evaluator::{CLASSES, Evaluator, FEATURE_DIM};
use crate::eval::metrics::{self, Features, Gaussian, KidOptions};
use crate::spec::Metric;

/// Why the scorer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Device(#[from] crate::device::DeviceError),
    #[error(transparent)]
    Evaluator(#[from] crate::eval::evaluator::EvaluatorError),
    #[error("scoring failed")]
    Metrics(#[from] metrics::MetricsError),
}

impl ScoringError {
    /// Whether the user can fix it (data they pointed at, a device not built in).
    pub fn is_user_error(&self) -> bool {
        match self {
            ScoringError::Data(e) => e.is_user_error(),
            ScoringError::Device(_) => true,
            ScoringError::Evaluator(e) => e.is_user_error(),
            ScoringError::Metrics(_) => false,
        }
    }
}

pub type Result<T, E = ScoringError> = std::result::Result<T, E>;

/// A score that can rank runs (a sweep's `score`); which way it improves
/// comes from the metric vocabulary ([`score_vocabulary`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rankable {
    pub name: &'static str,
    /// The metric of an `eval` section that produces it (`None`: conditional runs always get it).
    pub needs: Option<Metric>,
}

impl Rankable {
    /// Whether a lower value is better.
    pub fn lower_is_better(&self) -> bool {
        lookup(&score_vocabulary(), self.name).better == Better::Lower
    }
}

/// Every score a sweep can rank by.
pub const RANKABLE: &[Rankable] = &[
    Rankable {
        name: "fid",
        needs: Some(Metric::Fid),
    },
    Rankable {
        name: "kid",
        needs: Some(Metric::Kid),
    },
    Rankable {
        name: "is",
        needs: Some(Metric::Is),
    },
    Rankable {
        name: "coverage_kl",
        needs: Some(Metric::Coverage),
    },
    Rankable {
        name: "classes_covered",
        needs: Some(Metric::Coverage),
    },
    Rankable {
        name: "precision",
        needs: Some(Metric::PrecisionRecall),
    },
    Rankable {
        name: "recall",
        needs: Some(Metric::PrecisionRecall),
    },
    Rankable {
        name: "cond_acc",
        needs: None,
    },
    Rankable {
        name: "intra_fid_mean",
        needs: None,
    },
];

/// The rankable score called `name`.
pub fn rankable(name: &str) -> Option<Rankable> {
    RANKABLE.iter().copied().find(|r| r.name == name)
}

/// What the scorer can produce: the image scores and the class scores.
pub fn score_vocabulary() -> Vec<MetricInfo> {
    let mut all = IMAGE_SCORES.to_vec();
    all.extend(class_scores(CLASSES));
    all
}

/// Evaluator outputs of the reference images.
pub struct Reference {
    features: Vec<f32>,
    gaussian: Gaussian,
    /// Per class: the Gaussian of that class's reference features (intra-class FID).
    per_class: Vec<Gaussian>,
}

const CLASS_ACC: [&str; CLASSES] = [
    "class_acc_0",
    "class_acc_1",
    "class_acc_2",
    "class_acc_3",
    "class_acc_4",
    "class_acc_5",
    "class_acc_6",
    "class_acc_7",
    "class_acc_8",
    "class_acc_9",
];
const INTRA_FID: [&str; CLASSES] = [
    "intra_fid_0",
    "intra_fid_1",
    "intra_fid_2",
    "intra_fid_3",
    "intra_fid_4",
    "intra_fid_5",
    "intra_fid_6",
    "intra_fid_7",
    "intra_fid_8",
    "intra_fid_9",
];

/// Rows of `features` (width `FEATURE_DIM`) whose label is `class`.
fn rows_of(features: &[f32], labels: &[u8], class: u8) -> Vec<f32> {
    features
        .chunks(FEATURE_DIM)
        .zip(labels)
        .filter(|(_, l)| **l == class)
        .flat_map(|(row, _)| row.iter().copied())
        .collect()
}

pub struct ImageScorer {
    pub evaluator: Evaluator,
    /// Computed (or read from the cache) when first needed, so that a run
    /// starts training at once.
    reference: OnceCell<Reference>,
    /// Where the reference features are cached.
    reference_cache: PathBuf,
    metrics: Vec<Metric>,
    /// The test split in `[-1, 1]`, and its classes.
    test_pixels: Vec<f32>,
    test_labels: Vec<u8>,
    /// The evaluator's outputs for the last images it saw: a variant asks
    /// for image and class scores of the same images in turn.
    last: RefCell<Option<(Vec<f32>, Outputs)>>,
}

/// Evaluator features and class probabilities of a set of images.
#[derive(Clone)]
struct Outputs {
    features: Vec<f32>,
    probs: Vec<f32>,
}

/// The evaluator's features of the reference images, cached beside the
/// evaluator (keyed by a hash of the images, see [`ImageScorer::new`]), since
/// every process that scores needs them and they take about 10 CPU-seconds
/// for 10,000 images.
fn reference_features(evaluator: &Evaluator, path: &Path, pixels: &[f32]) -> Vec<f32> {
    let expected = pixels.len() / IMAGE_PIXELS * FEATURE_DIM * 4;
    if let Ok(bytes) = std::fs::read(path)
        && bytes.len() == expected
    {
        return bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
    }
    let (features, _) = evaluator.outputs(pixels);
    // Written beside, then renamed, so a reader never sees half a file; a
    // cache that cannot be written only costs the time next run.
    let bytes: Vec<u8> = features.iter().flat_map(|v| v.to_le_bytes()).collect();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = crate::util::fsutil::write_atomic(path, &bytes);
    features
}

impl Reference {
    fn new(features: Vec<f32>, labels: &[u8]) -> metrics::Result<Self> {
        let gaussian = Gaussian::fit(Features::new(&features, FEATURE_DIM)?)?;
        let per_class = (0..CLASSES as u8)
            .map(|c| {
                let rows = rows_of(&features, labels, c);
                Gaussian::fit(Features::new(&rows, FEATURE_DIM)?)
            })
            .collect::<metrics::Result<Vec<_>>>()?;
        Ok(Self {
            features,
            gaussian,
            per_class,
        })
    }
}

impl ImageScorer {
    /// Scores against `reference` (the test split), computing `metrics`.
    pub fn new(evaluator: Evaluator, reference: &Dataset, metrics: Vec<Metric>) -> Self {
        use sha2::{Digest, Sha256};
        let hash = hex::encode(Sha256::digest(&reference.images.pixels));
        let reference_cache = evaluator.dir.join(format!("reference-{}.f32", &hash[..16]));
        Self {
            evaluator,
            reference: OnceCell::new(),
            reference_cache,
            metrics,
            test_pixels: to_unit_range(&reference.images.pixels),
            test_labels: reference.labels.clone(),
            last: RefCell::new(None),
        }
    }

    /// The evaluator's outputs of the test split, computed on first need.
    fn reference(&self) -> metrics::Result<&Reference> {
        if let Some(reference) = self.reference.get() {
            return Ok(reference);
        }
        let features =
            reference_features(&self.evaluator, &self.reference_cache, &self.test_pixels);
        let reference = Reference::new(features, &self.test_labels)?;
        Ok(self.reference.get_or_init(|| reference))
    }

    fn outputs(&self, pixels: &[f32]) -> Outputs {
        if let Some((seen, outputs)) = self.last.borrow().as_ref()
            && seen.as_slice() == pixels
        {
            return outputs.clone();
        }
        let (features, probs) = self.evaluator.outputs(pixels);
        let outputs = Outputs { features, probs };
        *self.last.borrow_mut() = Some((pixels.to_vec(), outputs.clone()));
        outputs
    }

    /// The scores of `pixels` (`n * 784` values in `[-1, 1]`), named as they
    /// are stored. With `labels` (the class each image was generated for) it
    /// adds the conditional scores: `cond_acc` (share the evaluator assigns to
    /// the requested class), `class_acc_<k>`, `intra_fid_<k>` and `intra_fid_mean`.
    pub fn score_pixels(
        &self,
        pixels: &[f32],
        labels: Option<&[u8]>,
    ) -> metrics::Result<Vec<Scalar>> {
        let Outputs { features, probs } = self.outputs(pixels);
        let own = self.reference()?;
        let generated = Features::new(&features, FEATURE_DIM)?;
        let reference = Features::new(&own.features, FEATURE_DIM)?;
        let probs = Features::new(&probs, CLASSES)?;
        let mut out = Vec::new();
        let mut push = |name: &'static str, value: f64| out.push(Scalar::new(name, value));
        for metric in &self.metrics {
            match metric {
                Metric::Fid => push(
                    "fid",
                    Gaussian::fit(generated)?.frechet_distance(&own.gaussian)?,
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
                    let coverage = metrics::class_coverage(probs, data::NUM_CLASSES)?;
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
        if let Some(labels) = labels {
            out.extend(self.conditional_scores(&features, probs.data, labels)?);
        }
        Ok(out)
    }

    fn conditional_scores(
        &self,
        features: &[f32],
        probs: &[f32],
        labels: &[u8],
    ) -> metrics::Result<Vec<Scalar>> {
        let predicted: Vec<usize> = probs
            .chunks(CLASSES)
            .map(crate::eval::evaluator::argmax)
            .collect();
        let hits = |class: Option<u8>| {
            let (mut asked, mut right) = (0usize, 0usize);
            for (&want, &got) in labels.iter().zip(&predicted) {
                if class.is_none_or(|c| c == want) {
                    asked += 1;
                    right += usize::from(want as usize == got);
                }
            }
            right as f64 / asked.max(1) as f64
        };
        let mut out = vec![Scalar::new("cond_acc", hits(None))];
        let mut intra = Vec::new();
        for class in 0..CLASSES as u8 {
            out.push(Scalar::new(CLASS_ACC[class as usize], hits(Some(class))));
            if self.metrics.contains(&Metric::Fid) {
                let rows = rows_of(features, labels, class);
                if rows.len() >= 2 * FEATURE_DIM {
                    let fid = Gaussian::fit(Features::new(&rows, FEATURE_DIM)?)?
                        .frechet_distance(&self.reference()?.per_class[class as usize])?;
                    out.push(Scalar::new(INTRA_FID[class as usize], fid));
                    intra.push(fid);
                }
            }
        }
        if !intra.is_empty() {
            out.push(Scalar::new(
                "intra_fid_mean",
                intra.iter().sum::<f64>() / intra.len() as f64,
            ));
        }
        Ok(out)
    }
}

fn judge_error(e: metrics::MetricsError) -> VariantError {
    VariantError::Judge(e.to_string())
}

impl Judge for ImageScorer {
    fn test_set(&self) -> (&[f32], &[u8]) {
        (&self.test_pixels, &self.test_labels)
    }

    fn image_scores(&self, pixels: &[f32]) -> gan_lab_variants::Result<Vec<Scalar>> {
        self.score_pixels(pixels, None).map_err(judge_error)
    }

    fn class_scores(&self, pixels: &[f32], labels: &[u8]) -> gan_lab_variants::Result<Vec<Scalar>> {
        let Outputs { features, probs } = self.outputs(pixels);
        self.conditional_scores(&features, &probs, labels)
            .map_err(judge_error)
    }

    fn classify(&self, pixels: &[f32]) -> Vec<u8> {
        self.outputs(pixels)
            .probs
            .chunks(CLASSES)
            .map(|p| crate::eval::evaluator::argmax(p) as u8)
            .collect()
    }

    fn fid(&self, pixels: &[f32], reference: &[f32]) -> gan_lab_variants::Result<f64> {
        let generated = self.outputs(pixels).features;
        let (reference, _) = self.evaluator.outputs(reference);
        let fit = |f: &[f32]| Gaussian::fit(Features::new(f, FEATURE_DIM)?);
        fit(&generated)
            .and_then(|g| g.frechet_distance(&fit(&reference)?))
            .map_err(judge_error)
    }
}

/// The keys of the scores that `metrics` produce.
pub fn score_keys(metrics: &[Metric]) -> Vec<&'static str> {
    metrics
        .iter()
        .flat_map(|m| match m {
            Metric::Fid => &["fid"][..],
            Metric::Kid => &["kid", "kid_std"][..],
            Metric::Is => &["is", "is_std"][..],
            Metric::Coverage => &["coverage_kl", "classes_covered"][..],
            Metric::PrecisionRecall => &["precision", "recall"][..],
        })
        .copied()
        .collect()
}

/// The score that picks a run's best checkpoint: its variant's objective
/// among the scores its `eval` section produces.
pub fn objective(spec: &crate::spec::Spec) -> Option<gan_lab_variants::Objective> {
    let eval = spec.eval.as_ref()?;
    spec.variant.config().objective(&score_keys(&eval.metrics))
}

/// The evaluator that scores the data in `data_dir` (see [`Evaluator::select`]):
/// the chosen one, the pinned one, or one trained for these data first.
pub fn load_evaluator(ctx: &Context, data_dir: &Path) -> Result<Evaluator> {
    let hash = data::data_hash(data_dir)?;
    let chosen = ctx.evaluator.as_deref();
    if ctx.progress && crate::eval::evaluator::must_train(&ctx.cache, &hash, chosen) {
        eprintln!(
            "no evaluator for these data yet (the built-in one is for the official Fashion-MNIST files): training it once (a few minutes)"
        );
    }
    Ok(Evaluator::select(
        &ctx.cache,
        data_dir,
        &hash,
        chosen,
        &ctx.device.build()?,
        ctx.progress,
        &ctx.stop,
    )?)
}

/// Trains and caches the evaluator now if it is not cached yet (so that
/// parallel runs do not each train it).
pub fn ensure_evaluator(ctx: &Context) -> Result<()> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    load_evaluator(ctx, &data_dir).map(|_| ())
}

/// The evaluator (trained on first need) with the test split as reference.
pub fn image_scorer(ctx: &Context, metrics: Vec<Metric>) -> Result<ImageScorer> {
    let data_dir = data::locate(ctx.data_dir.as_deref())?;
    let evaluator = load_evaluator(ctx, &data_dir)?;
    let test = data::load_split(&data_dir, Split::Test)?;
    Ok(ImageScorer::new(evaluator, &test, metrics))
}

/// Scores as an aligned two-column table.
pub fn format_scores(scores: &[Scalar]) -> String {
    scores
        .iter()
        .map(|s| format!("  {:<16} {:>12.4}\n", s.name.as_ref(), s.value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rankable_score_has_a_direction() {
        for r in RANKABLE {
            let info = lookup(&score_vocabulary(), r.name);
            assert_ne!(info.better, Better::Neither, "{}", r.name);
        }
        let lower: Vec<&str> = RANKABLE
            .iter()
            .filter(|r| r.lower_is_better())
            .map(|r| r.name)
            .collect();
        assert_eq!(lower, ["fid", "kid", "coverage_kl", "intra_fid_mean"]);
    }
}
