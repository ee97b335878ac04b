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
//! The crate, by folder and file:
//! - `variant.rs`: the interface the runner sees (the [`Variant`] trait,
//!   its capabilities, [`VariantConfig`], [`Judge`], batches, errors);
//! - one folder per variant ([`vanilla`], [`conditional`], [`cyclegan`],
//!   [`stackgan`]), each split the same way: its configuration and
//!   validation (`mod.rs`), its networks (`nets.rs`, where it has its
//!   own), the variant with its sampling and checkpoints (`model.rs`), its
//!   training step (`step.rs`) and its evaluation and report panel
//!   (`eval.rs` or `panel.rs`); a variant imports no other variant;
//! - `shared/`: what the variants share (adversarial settings and the
//!   alternating D/G step, tensors, checkpoint files, the noise
//!   generators' purpose, objective, latent check and evaluation);
//! - [`classes`]: the data's class names and aliases;
//! - [`nets`] (the MLP/DCGAN pair of vanilla and conditional), [`losses`],
//!   [`metric`] (the metric vocabulary), [`panel`] (report panels as data);
//! - the fused CPU layers are the crate `gan-lab-ops` (`variants/ops/`), below this one.
//!
//! Adding a variant: one new folder in this crate, one entry in
//! [`VariantSpec`] and one arm in [`VariantSpec::config`].

pub mod classes;
pub mod conditional;
pub mod cyclegan;
pub mod losses;
pub mod metric;
pub mod nets;
pub mod panel;
mod shared;
pub mod stackgan;
pub mod vanilla;
mod variant;

use serde::{Deserialize, Serialize};

pub use losses::Loss;
pub use metric::{Better, MetricInfo, Objective, Scalar, Section};
pub use nets::{Arch, IMAGE_PIXELS, IMAGE_SIDE};
pub use variant::*;

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

#[cfg(test)]
mod tests {
    use super::conditional::Conditioning;
    use super::stackgan::Encoder;
    use super::*;

    /// The names of the config enums are stored with every run (in its
    /// description): they must never change.
    #[test]
    fn the_stored_names_of_config_enums_stay_the_same() {
        fn names<T: Copy + std::fmt::Display + Into<&'static str>>(all: &[T]) -> Vec<String> {
            all.iter()
                .map(|v| {
                    let stored: &'static str = (*v).into();
                    assert_eq!(v.to_string(), stored);
                    stored.to_string()
                })
                .collect()
        }
        assert_eq!(names(&[Arch::Mlp, Arch::Dcgan]), ["mlp", "dcgan"]);
        assert_eq!(
            names(&[
                Loss::Minimax,
                Loss::NonSaturating,
                Loss::LeastSquares,
                Loss::WganGp,
                Loss::Hinge
            ]),
            [
                "minimax",
                "non_saturating",
                "least_squares",
                "wgan_gp",
                "hinge"
            ]
        );
        assert_eq!(
            names(&[
                Conditioning::Concat,
                Conditioning::Projection,
                Conditioning::AuxClassifier
            ]),
            ["concat", "projection", "aux_classifier"]
        );
        assert_eq!(names(&[Encoder::Bag, Encoder::Gru]), ["bag", "gru"]);
        let dcgan = vanilla::VanillaConfig {
            arch: Arch::Dcgan,
            ..Default::default()
        };
        assert_eq!(
            VariantSpec::Vanilla(dcgan).describe(),
            "dcgan / non_saturating"
        );
        let projection = conditional::ConditionalConfig {
            conditioning: Conditioning::Projection,
            loss: Loss::WganGp,
            ..Default::default()
        };
        assert_eq!(
            VariantSpec::Conditional(projection).describe(),
            "dcgan / projection / wgan_gp"
        );
    }
}
