//! GAN variants for gan-lab behind one small trait and optional capabilities.
//!
//! A variant owns its networks and optimisers and knows how to take one
//! training step on a [`Batch`], draw its sample grid, score itself with the
//! [`Judge`] and save or restore everything it needs to continue. What else
//! it can do (sample from noise, by class, from captions, translate) it offers through
//! capability accessors on [`Variant`]. It knows nothing about files other
//! than its own checkpoint folder, nor about SQLite or the terminal: the
//! runner drives it and turns what it returns into events.
//!
//! Adding a variant: one new file (or folder) in this crate, one entry in
//! [`VariantSpec`] and one arm in [`VariantSpec::config`].

pub mod adversarial;
pub mod captions;
pub mod conditional;
pub mod cyclegan;
pub mod losses;
pub mod metric;
pub mod nets;
pub use gan_lab_ops as ops;
pub mod panel;
pub mod stackgan;
mod util;
pub mod vanilla;
mod variant;

use serde::{Deserialize, Serialize};

pub use losses::Loss;
pub use metric::{Better, MetricInfo, Objective, Scalar, Section};
pub use nets::{Arch, IMAGE_PIXELS, IMAGE_SIDE};
pub use variant::*;

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

/// The registry: one entry per variant, each holding that variant's
/// configuration exactly as written in the experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum VariantSpec {
    /// Unconditional GAN: the classic MLP GAN or a DCGAN.
    Vanilla(vanilla::VanillaConfig),
    /// Class-conditional GAN: concat, projection or auxiliary-classifier conditioning.
    Conditional(conditional::ConditionalConfig),
    /// Unpaired translation between two domains (sets of classes): CycleGAN.
    CycleGan(cyclegan::CycleGanConfig),
    /// Text to image in two stages (14x14, then 28x28): StackGAN.
    StackGan(stackgan::StackGanConfig),
}

impl VariantSpec {
    /// The configuration behind the variant's trait: the one place that
    /// names every variant.
    pub fn config(&self) -> &dyn VariantConfig {
        match self {
            VariantSpec::Vanilla(c) => c,
            VariantSpec::Conditional(c) => c,
            VariantSpec::CycleGan(c) => c,
            VariantSpec::StackGan(c) => c,
        }
    }

    /// The variant's name, as stored with every run.
    pub fn kind(&self) -> &'static str {
        self.config().kind()
    }

    /// Problems with the configuration: (field path below `variant`, message with the fix).
    pub fn validate(&self) -> Vec<(String, String)> {
        self.config().validate()
    }

    /// A short human description, such as `dcgan / non_saturating`.
    pub fn describe(&self) -> String {
        self.config().describe()
    }

    /// The variant's own section of `gan-lab report` for one run, if it has one.
    pub fn panel(&self, run: &panel::RunView) -> Option<panel::Panel> {
        self.config().panel(run)
    }

    /// Builds the variant on `device` (an autodiff device, already seeded).
    pub fn build(&self, hyper: &Hyper, device: &burn::prelude::Device) -> Box<dyn Variant> {
        self.config().build(hyper, device)
    }
}

/// Scores a noise generator the usual way: `samples` images against the
/// whole test split and, for a class-conditional one, the classes in turn
/// with the conditional scores.
pub fn evaluate_generator(
    variant: &dyn Variant,
    judge: &dyn Judge,
    samples: usize,
    seed: u64,
) -> Result<Vec<Scalar>> {
    if let Some(classes) = variant.classes() {
        let k = classes.num_classes();
        let labels: Vec<u8> = (0..samples).map(|i| (i % k) as u8).collect();
        let pixels = classes.generate_labeled(&labels, seed);
        let mut scores = judge.image_scores(&pixels)?;
        scores.extend(judge.class_scores(&pixels, &labels)?);
        return Ok(scores);
    }
    let Some(noise) = variant.noise() else {
        return Err(VariantError::Judge(
            "this variant does not generate from noise".into(),
        ));
    };
    judge.image_scores(&noise.generate(samples, seed))
}
