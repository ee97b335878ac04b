//! Class-conditional GAN, three ways to condition:
//! - concat: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"
//!   (the one-hot label joins G's noise and D's input);
//! - projection: Miyato & Koyama 2018, "cGANs with Projection Discriminator",
//!   D(x, y) = psi(phi(x)) + <embed(y), phi(x)>;
//! - auxiliary classifier: Odena et al. 2017, "Conditional Image Synthesis
//!   with Auxiliary Classifier GANs" (D also predicts the class).
//!
//! The generator takes the one-hot label beside the noise in all three.
//!
//! The folder: the configuration and its validation (here), the
//! discriminator with its conditioning parts (`nets.rs`), the variant with
//! its sampling and checkpoints (`model.rs`), its alternating step
//! (`step.rs`) and its report panel (`panel.rs`). Its evaluation is
//! [`crate::shared::evaluate_generator`]. May import the crate's interface
//! and `shared/`, `classes`, `nets`, `losses`, `metric`, `panel`; no other
//! variant.

mod model;
mod nets;
mod panel;
mod step;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::classes::NUM_CLASSES;
use crate::metric::{self, MetricInfo, Objective};
use crate::nets::Arch;
use crate::panel::{Panel, RunView};
use crate::shared::adversarial::Adversarial;
use crate::shared::{FROM_NOISE, fid_objective, validate_latent_dim};
use crate::{Hyper, Loss, Purpose, Variant, VariantConfig};

pub use model::Conditional;
pub use nets::ConditionalD;

/// How the label reaches the discriminator.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Conditioning {
    Concat,
    Projection,
    AuxClassifier,
}

/// The conditional variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionalConfig {
    pub arch: Arch,
    pub conditioning: Conditioning,
    pub latent_dim: usize,
    pub loss: Loss,
    pub d_steps: usize,
    pub g_steps: usize,
    pub label_smoothing: f32,
    pub gp_weight: f32,
    /// Weight of the class losses (AuxClassifier only).
    pub aux_weight: f32,
}

impl Default for ConditionalConfig {
    fn default() -> Self {
        Self {
            arch: Arch::Dcgan,
            conditioning: Conditioning::Concat,
            latent_dim: 100,
            loss: Loss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            label_smoothing: 0.0,
            gp_weight: 10.0,
            aux_weight: 1.0,
        }
    }
}

impl ConditionalConfig {
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

impl VariantConfig for ConditionalConfig {
    fn kind(&self) -> &'static str {
        "conditional"
    }

    fn purpose(&self) -> Purpose {
        FROM_NOISE
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let mut all = metric::TRAINING.to_vec();
        all.extend(metric::IMAGE_SCORES.iter().cloned());
        all.extend(metric::class_scores(NUM_CLASSES));
        all
    }

    fn objective(&self, scores: &[&str]) -> Option<Objective> {
        fid_objective(scores)
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(Conditional::new(self.clone(), hyper, device))
    }

    /// The report panel: accuracy and intra-class FID per class, and the
    /// final grid with its rows named by class.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        Some(panel::panel(self, run))
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems: Vec<_> = validate_latent_dim(self.latent_dim).into_iter().collect();
        problems.extend(self.adversarial().validate());
        if !(self.aux_weight.is_finite() && self.aux_weight >= 0.0) {
            problems.push((
                "aux_weight".into(),
                format!(
                    "aux_weight is {}; use a non-negative number (1 is usual)",
                    self.aux_weight
                ),
            ));
        }
        problems
    }

    fn describe(&self) -> String {
        format!("{} / {} / {}", self.arch, self.conditioning, self.loss)
    }
}
