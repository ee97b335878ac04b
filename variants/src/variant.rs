//! The interface between the runner and a variant: a small core trait that
//! every variant implements, and optional capabilities (sampling from noise,
//! by class, translating between domains) that commands and the report ask
//! for and refuse clearly when a variant lacks them.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::metric::Scalar;
use crate::metric::{MetricInfo, Objective};
use crate::panel::{Panel, RunView};
use crate::stackgan::captions::Caption;
use crate::stackgan::vocabulary::Result as CaptionResult;

/// Optimisation settings every variant shares (from the spec's `train`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    pub batch_size: usize,
    pub lr_g: f64,
    pub lr_d: f64,
    pub beta1: f32,
    pub beta2: f32,
    /// Seed of the fixed noise behind the sample grids.
    pub seed: u64,
    /// Steps of the whole run (schedules such as learning-rate decay need it).
    pub total_steps: u64,
}

/// What a variant wants in each batch: one stream of images per entry, each
/// optionally restricted to a set of classes (CycleGAN-style variants ask
/// for two domains), holding `batches` times the batch size (a variant with
/// several discriminator updates per step takes a fresh batch for each).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamRequest {
    pub name: String,
    pub classes: Option<Vec<u8>>,
    pub batches: usize,
}

/// One batch of training data: one entry per requested stream, the step it
/// is for (1-based), and the seed of the step's own random draws (noise,
/// mixing weights), so that a step is reproducible whatever else uses the
/// device's random generator.
#[derive(Clone, Debug)]
pub struct Batch {
    pub streams: Vec<Stream>,
    pub step: u64,
    pub seed: u64,
}

/// Images `[batch, 1, 28, 28]` in `[-1, 1]` and their class labels `[batch]`.
#[derive(Clone, Debug)]
pub struct Stream {
    pub images: Tensor<4>,
    pub labels: Tensor<1, Int>,
}

/// Images laid out for a sample grid: `rows * cols` images of 28x28 pixels in
/// `[-1, 1]`, row after row, with an optional label per row.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleGrid {
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<f32>,
    pub row_labels: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    #[error("could not write checkpoint file {}", path.display())]
    Save {
        path: PathBuf,
        #[source]
        source: burn::store::RecordError,
    },
    #[error("could not read checkpoint file {} (is it a checkpoint of this variant and architecture?)", path.display())]
    Load {
        path: PathBuf,
        #[source]
        source: burn::store::RecordError,
    },
    #[error("could not read or write {}", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scoring failed: {0}")]
    Judge(String),
}

pub type Result<T, E = VariantError> = std::result::Result<T, E>;

/// The evaluator as a variant sees it: gan-lab implements it with its
/// Fashion-MNIST classifier and the test split. Pixels are `n * 784` values
/// in `[-1, 1]`.
pub trait Judge {
    /// The test split: images and their classes.
    fn test_set(&self) -> (&[f32], &[u8]);
    /// The whole-split scores that the spec's `eval.metrics` asks for (fid, kid, is, ...).
    fn image_scores(&self, pixels: &[f32]) -> Result<Vec<Scalar>>;
    /// Scores of images generated for `labels`: `cond_acc`, `class_acc_<k>`,
    /// and with FID asked for, `intra_fid_<k>` and `intra_fid_mean`.
    fn class_scores(&self, pixels: &[f32], labels: &[u8]) -> Result<Vec<Scalar>>;
    /// The evaluator's class of each image.
    fn classify(&self, pixels: &[f32]) -> Vec<u8>;
    /// FID of `pixels` against `reference` images.
    fn fid(&self, pixels: &[f32], reference: &[f32]) -> Result<f64>;
}

/// The behaviour every variant provides to the runner.
pub trait Variant: Send {
    /// The data streams each batch must hold.
    fn streams(&self) -> Vec<StreamRequest>;

    /// One training step (all of its updates). Returns the step's scalars:
    /// at least `loss_d` and `loss_g`.
    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar>;

    /// The grid drawn from fixed inputs, for watching training progress.
    fn sample_grid(&self) -> SampleGrid;

    /// Scores the current model with `samples` images (drawn from `seed`).
    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>>;

    /// Writes everything needed to continue exactly (networks, optimisers,
    /// any other state) into `dir` (which exists).
    fn save(&self, dir: &Path) -> Result<()>;

    /// Restores what [`Variant::save`] wrote.
    fn load(&mut self, dir: &Path) -> Result<()>;

    /// Sampling from noise, if the variant generates from noise.
    fn noise(&self) -> Option<&dyn NoiseSampler> {
        None
    }

    /// Sampling by class, if the variant is class-conditional.
    fn classes(&self) -> Option<&dyn ClassSampler> {
        None
    }

    /// Translation between two domains, if the variant translates images.
    fn translator(&self) -> Option<&dyn Translator> {
        None
    }

    /// Sampling from captions, if the variant is text-conditioned.
    fn captions(&self) -> Option<&dyn CaptionSampler> {
        None
    }

    /// Called once before the first step of a new run with the images it
    /// trains on (`n * 784` values in `[-1, 1]`) and their classes, for
    /// variants that derive something from the data (such as caption
    /// thresholds); what it derives belongs in [`Variant::save`].
    fn prepare(&mut self, _pixels: &[f32], _labels: &[u8]) {}
}

/// Generates images from noise vectors.
pub trait NoiseSampler {
    /// The size of the noise vector z.
    fn latent_dim(&self) -> usize;

    /// `n` images from noise seeded with `seed` (a conditional generator
    /// takes the classes in turn).
    fn generate(&self, n: usize, seed: u64) -> Vec<f32>;

    /// Images from the given noise vectors (`noise.len() / latent_dim()` of
    /// them, row after row) and, for conditional generators, one class each
    /// (`None`: classes in turn). Unconditional generators ignore `labels`.
    fn generate_from_noise(&self, noise: &[f32], labels: Option<&[u8]>) -> Vec<f32>;
}

/// Generates images of requested classes.
pub trait ClassSampler {
    /// The number of classes the generator takes.
    fn num_classes(&self) -> usize;

    /// One image per requested class label, noise seeded with `seed`.
    fn generate_labeled(&self, labels: &[u8], seed: u64) -> Vec<f32>;
}

/// The images a text-conditioned generator drew for a list of captions,
/// stage by stage (a single-stage generator has one).
#[derive(Clone, Debug, PartialEq)]
pub struct CaptionImages {
    /// Per stage, its name and `captions * 784` pixels in `[-1, 1]`
    /// (smaller stages upscaled to 28x28), first stage first.
    pub stages: Vec<(&'static str, Vec<f32>)>,
}

/// Generates images from caption text.
pub trait CaptionSampler {
    /// What `text` says, or why it cannot be read (a word outside the
    /// vocabulary names the known words).
    fn read_caption(&self, text: &str) -> CaptionResult<Caption>;

    /// One image per caption text, noise seeded with `seed`.
    fn generate_captioned(&self, texts: &[String], seed: u64) -> CaptionResult<CaptionImages>;
}

/// Which way a two-domain translator maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    AToB,
    BToA,
}

/// Translates images between two domains (sets of classes).
pub trait Translator {
    /// The classes of domain A and of domain B.
    fn domains(&self) -> (Vec<u8>, Vec<u8>);

    /// The translations of `pixels` (`n * 784`, `[-1, 1]`).
    fn translate(&self, pixels: &[f32], direction: Direction) -> Vec<f32>;
}

/// A variant's configuration as written in the spec: what the registry,
/// `check`, the report and sweeps need without building any network.
pub trait VariantConfig {
    /// The variant's name, as stored with every run.
    fn kind(&self) -> &'static str;

    /// Problems with the configuration: (field path below `variant`, message with the fix).
    fn validate(&self) -> Vec<(String, String)>;

    /// A short human description, such as `dcgan / non_saturating`.
    fn describe(&self) -> String;

    /// What the variant does, for messages such as "run 3f2a is a cyclegan
    /// run: it translates images; use `gan-lab translate`".
    fn purpose(&self) -> Purpose;

    /// Every metric key it records (steps and evaluations).
    fn metrics(&self) -> Vec<MetricInfo>;

    /// The score that picks the best checkpoint, given the scores an
    /// evaluation produces (`None` when none of them can rank).
    fn objective(&self, scores: &[&str]) -> Option<Objective>;

    /// Builds the variant on `device` (an autodiff device, already seeded).
    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant>;

    /// Class sets the variant trains on, by field (such as CycleGAN's
    /// domains), so that the spec can check them against `data.classes`.
    fn class_sets(&self) -> Vec<(&'static str, Vec<u8>)> {
        Vec::new()
    }

    /// The variant's own section of `gan-lab report` for one run, if it has one.
    fn panel(&self, _run: &RunView) -> Option<Panel> {
        None
    }
}

/// What a variant is for, and the command that uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    /// "generates images from noise", "translates images between two domains".
    pub what: &'static str,
    /// The command that fits, such as "gan-lab sample RUN --n 64 --out grid.png".
    pub command: &'static str,
}

/// `variant.train_step(batch)` on a thread of rayon's pool: the fused layers'
/// parallel loops then split from a worker of the pool instead of waking it
/// from outside once per operation.
pub fn train_step_in_pool(variant: &mut dyn Variant, batch: &Batch) -> Vec<Scalar> {
    rayon::scope(|_| variant.train_step(batch))
}
