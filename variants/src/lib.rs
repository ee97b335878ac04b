//! GAN variants for gan-lab behind one trait.
//!
//! A variant owns its networks and optimisers and knows how to take one
//! training step on a [`Batch`], draw its sample grid, generate images and
//! save or restore itself. It knows nothing about files other than its own
//! checkpoint folder, nor about SQLite or the terminal: the runner drives it
//! and turns what it returns into events.
//!
//! Adding a variant: one new file in this crate, one line in [`VariantSpec`]
//! and its arms (`kind`, `validate`, `describe`, `build`, `panel`).

pub mod conditional;
pub mod losses;
pub mod nets;
pub mod panel;
mod util;
pub mod vanilla;

use std::path::{Path, PathBuf};

use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use losses::Loss;

/// Fashion-MNIST's classes, by label index.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
pub use nets::Arch;

/// The registry: one entry per variant, each holding that variant's
/// configuration exactly as written in the experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum VariantSpec {
    /// Unconditional GAN: the classic MLP GAN or a DCGAN.
    Vanilla(vanilla::VanillaConfig),
    /// Class-conditional GAN: concat, projection or auxiliary-classifier conditioning.
    Conditional(conditional::ConditionalConfig),
}

impl VariantSpec {
    /// The variant's name, as stored with every run.
    pub fn kind(&self) -> &'static str {
        match self {
            VariantSpec::Vanilla(_) => "vanilla",
            VariantSpec::Conditional(_) => "conditional",
        }
    }

    /// Problems with the configuration: (field path below `variant`, message with the fix).
    pub fn validate(&self) -> Vec<(String, String)> {
        match self {
            VariantSpec::Vanilla(c) => c.validate(),
            VariantSpec::Conditional(c) => c.validate(),
        }
    }

    /// A short human description, such as `dcgan / non_saturating`.
    pub fn describe(&self) -> String {
        match self {
            VariantSpec::Vanilla(c) => c.describe(),
            VariantSpec::Conditional(c) => c.describe(),
        }
    }

    /// The variant's own section of `gan-lab report` for one run, if it has one.
    pub fn panel(&self, run: &panel::RunView) -> Option<panel::Panel> {
        match self {
            VariantSpec::Vanilla(_) => None,
            VariantSpec::Conditional(c) => Some(c.panel(run)),
        }
    }

    /// Builds the variant on `device` (an autodiff device, already seeded).
    pub fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        match self {
            VariantSpec::Vanilla(c) => Box::new(vanilla::Vanilla::new(c.clone(), hyper, device)),
            VariantSpec::Conditional(c) => {
                Box::new(conditional::Conditional::new(c.clone(), hyper, device))
            }
        }
    }
}

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

/// One batch of training data: one entry per requested stream, and the seed
/// of the step's own random draws (noise, mixing weights), so that a step is
/// reproducible whatever else uses the device's random generator.
#[derive(Clone, Debug)]
pub struct Batch {
    pub streams: Vec<Stream>,
    pub seed: u64,
}

/// Images `[batch, 1, 28, 28]` in `[-1, 1]` and their class labels `[batch]`.
#[derive(Clone, Debug)]
pub struct Stream {
    pub images: Tensor<4>,
    pub labels: Tensor<1, Int>,
}

/// One named number from a training step.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub name: &'static str,
    pub value: f64,
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
}

pub type Result<T, E = VariantError> = std::result::Result<T, E>;

/// The behaviour every variant provides to the runner.
pub trait Variant {
    /// The data streams each batch must hold.
    fn streams(&self) -> Vec<StreamRequest>;

    /// One training step (all of its D and G updates). Returns the step's
    /// scalars: at least `loss_d` and `loss_g`.
    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar>;

    /// The grid drawn from the fixed noise, for watching training progress.
    fn sample_grid(&self) -> SampleGrid;

    /// `n` generated images (`n * 784` pixels in `[-1, 1]`) from noise seeded with `seed`.
    fn generate(&self, n: usize, seed: u64) -> Vec<f32>;

    /// The size of the generator's noise vector z.
    fn latent_dim(&self) -> usize;

    /// Images from the given noise vectors (`noise.len() / latent_dim()` of
    /// them, row after row) and, for conditional generators, one class each
    /// (`None`: classes in turn). Unconditional generators ignore `labels`.
    fn generate_from_noise(&self, noise: &[f32], labels: Option<&[u8]>) -> Vec<f32>;

    /// The number of classes a conditional generator takes (`None`: unconditional).
    fn classes(&self) -> Option<usize> {
        None
    }

    /// One image per requested class label, for conditional generators
    /// (`None` for unconditional ones, which cannot honour a class).
    fn generate_labeled(&self, _labels: &[u8], _seed: u64) -> Option<Vec<f32>> {
        None
    }

    /// Writes the networks and optimiser states into `dir` (which exists).
    fn save(&self, dir: &Path) -> Result<()>;

    /// Restores what [`Variant::save`] wrote.
    fn load(&mut self, dir: &Path) -> Result<()>;
}
