//! Vanilla (unconditional) GAN: Goodfellow et al. 2014, "Generative
//! Adversarial Nets", with the DCGAN architecture of Radford et al. 2016,
//! "Unsupervised Representation Learning with Deep Convolutional GANs".
//!
//! One training step is `d_steps` discriminator updates, each on its own real
//! batch, then `g_steps` generator updates (WGAN-GP's penalty: see
//! [`crate::losses::gradient_penalty`]). The first generator update scores the
//! fakes of the last discriminator update (one forward pass of G, not two).
//!
//! The folder: the configuration and its validation (here), the variant
//! with its sampling and checkpoints (`model.rs`) and its alternating step
//! (`step.rs`). Its networks are the shared MLP/DCGAN pair of
//! [`crate::nets`]; its evaluation is [`crate::shared::evaluate_generator`].
//! May import the crate's interface and `shared/`, `nets`, `losses`,
//! `metric`; no other variant.

mod model;
mod step;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::metric::{self, MetricInfo, Objective};
use crate::nets::Arch;
use crate::shared::adversarial::Adversarial;
use crate::shared::{FROM_NOISE, fid_objective, validate_latent_dim};
use crate::{Hyper, Loss, Purpose, Variant, VariantConfig};

pub use model::Vanilla;

/// The vanilla variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VanillaConfig {
    /// `Mlp` (the Keras workbook GAN) or `Dcgan`.
    pub arch: Arch,
    /// Size of the noise vector z.
    pub latent_dim: usize,
    pub loss: Loss,
    /// Discriminator updates per step, each on a fresh real batch.
    pub d_steps: usize,
    /// Generator updates per step.
    pub g_steps: usize,
    /// One-sided label smoothing: real targets become `1 - label_smoothing`
    /// (0 turns it off). Only for the losses with labels.
    pub label_smoothing: f32,
    /// Weight of the gradient penalty (WGAN-GP only).
    pub gp_weight: f32,
}

impl Default for VanillaConfig {
    fn default() -> Self {
        Self {
            arch: Arch::Mlp,
            latent_dim: 100,
            loss: Loss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            label_smoothing: 0.0,
            gp_weight: 10.0,
        }
    }
}

impl VanillaConfig {
    /// The settings every adversarial variant shares.
    pub fn adversarial(&self) -> Adversarial {
        Adversarial {
            loss: self.loss,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            label_smoothing: self.label_smoothing,
            gp_weight: self.gp_weight,
        }
    }
}

impl VariantConfig for VanillaConfig {
    fn kind(&self) -> &'static str {
        "vanilla"
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems: Vec<_> = validate_latent_dim(self.latent_dim).into_iter().collect();
        problems.extend(self.adversarial().validate());
        problems
    }

    fn describe(&self) -> String {
        format!("{} / {}", self.arch, self.loss)
    }

    fn purpose(&self) -> Purpose {
        FROM_NOISE
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let mut all = metric::TRAINING.to_vec();
        all.extend(metric::IMAGE_SCORES.iter().cloned());
        all
    }

    fn objective(&self, scores: &[&str]) -> Option<Objective> {
        fid_objective(scores)
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(Vanilla::new(self.clone(), hyper, device))
    }
}
