//! Text to image in two stages after Zhang et al. 2017, "StackGAN: Text to
//! Photo-realistic Image Synthesis with Stacked Generative Adversarial
//! Networks", at Fashion-MNIST scale.
//!
//! Captions come from [`captions`] (class and measured attributes) in the
//! words of [`vocabulary`]. Each network reads them with its own text
//! encoder; conditioning augmentation turns G's sentence embedding into a
//! sampled condition (with a KL term). Stage-I draws 14x14 images, judged
//! against 2x2 average-pooled real images; Stage-II refines the (detached)
//! Stage-I image to 28x28. Both discriminators are matching-aware: real
//! image with its caption, real image with a caption that differs in a
//! stated field, generated image with its caption; loss real + 0.5 ×
//! (wrong + fake).
//!
//! `stage1_steps: None` trains both stages together; `Some(n)` trains
//! Stage-I for n steps, then Stage-II with Stage-I frozen.
//!
//! The folder: the configuration and its validation (here), captions and
//! their words (`captions.rs`, `vocabulary.rs`), the networks (`nets.rs`),
//! the variant with its sampling and checkpoint (`model.rs`), the training
//! step (`step.rs`), and the evaluation, its scores and the report panel
//! (`eval.rs`). May import the crate's interface and `shared/`, `classes`,
//! `metric`, `panel`; no other variant.

pub mod captions;
mod eval;
mod model;
mod nets;
mod step;
pub mod vocabulary;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::classes::NUM_CLASSES;
use crate::metric::{self, Better, MetricInfo, Objective, Section};
use crate::panel::{Panel, RunView};
use crate::shared::validate_latent_dim;
use crate::{Hyper, Purpose, Variant, VariantConfig};

pub use eval::CAPTION_SCORES;
pub use model::{StackGan, downscale2, upscale2};
pub use nets::kl;

/// How each network reads a caption.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Encoder {
    /// The sum of learned word embeddings.
    Bag,
    /// A GRU over the word embeddings; its last state.
    Gru,
}

/// The StackGAN variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StackGanConfig {
    pub latent_dim: usize,
    pub encoder: Encoder,
    /// Width of the word and sentence embeddings.
    pub embed_dim: usize,
    /// Width of the condition (conditioning augmentation's output).
    pub cond_dim: usize,
    /// Weight of the KL term of conditioning augmentation.
    pub kl_weight: f32,
    /// `None`: both stages train together; `Some(n)`: Stage-I alone for n
    /// steps, then Stage-II with Stage-I frozen.
    pub stage1_steps: Option<u64>,
    /// Residual blocks of Stage-II at 7x7.
    pub res_blocks: usize,
    /// Generator width (Stage-I starts at 2 x ngf channels, Stage-II works at ngf).
    pub ngf: usize,
    /// Discriminator width (ndf, then 2 x ndf channels).
    pub ndf: usize,
    /// Probability of leaving each attribute out of a training caption.
    pub omit: f32,
}

impl Default for StackGanConfig {
    fn default() -> Self {
        Self {
            latent_dim: 100,
            encoder: Encoder::Bag,
            embed_dim: 64,
            cond_dim: 64,
            kl_weight: 1.0,
            stage1_steps: None,
            res_blocks: 2,
            ngf: 32,
            ndf: 32,
            omit: 0.3,
        }
    }
}

/// What a StackGAN records at each step beside the shared keys.
const STEP_METRICS: &[MetricInfo] = &[
    MetricInfo::new(
        "loss_d_stage1",
        "Stage-I discriminator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_g_stage1",
        "Stage-I generator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_d_stage2",
        "Stage-II discriminator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_g_stage2",
        "Stage-II generator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "kl",
        "conditioning augmentation KL",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "d_wrong",
        "D(x, wrong caption)",
        Better::Neither,
        Section::DiscriminatorOutputs,
    ),
];

impl VariantConfig for StackGanConfig {
    fn kind(&self) -> &'static str {
        "stackgan"
    }

    fn purpose(&self) -> Purpose {
        Purpose {
            what: "it generates images from captions",
            command: "gan-lab sample RUN --caption \"a dark dress\" --n 16 --out dress.png",
        }
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let mut all = metric::TRAINING.to_vec();
        all.extend(STEP_METRICS.iter().cloned());
        all.extend(metric::IMAGE_SCORES.iter().cloned());
        all.extend(CAPTION_SCORES.iter().cloned());
        all.extend(metric::class_scores(NUM_CLASSES));
        all
    }

    /// Stage-II's FID when evaluated with FID, else the caption class agreement.
    fn objective(&self, scores: &[&str]) -> Option<Objective> {
        Some(if scores.contains(&"fid") {
            Objective {
                key: "fid".into(),
                better: Better::Lower,
            }
        } else {
            Objective {
                key: "caption_class_acc".into(),
                better: Better::Higher,
            }
        })
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(StackGan::new(self.clone(), hyper, device))
    }

    /// Caption → Stage-I → Stage-II grids and each attribute's agreement
    /// against its chance level.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        Some(eval::panel(self, run))
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems: Vec<_> = validate_latent_dim(self.latent_dim).into_iter().collect();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        for (field, value, usual) in [
            ("embed_dim", self.embed_dim, 64),
            ("cond_dim", self.cond_dim, 64),
            ("ngf", self.ngf, 32),
            ("ndf", self.ndf, 32),
        ] {
            if !(4..=1024).contains(&value) {
                bad(
                    field,
                    format!("{field} is {value}; use 4 to 1024 ({usual} is usual)"),
                );
            }
        }
        if self.res_blocks > 16 {
            bad(
                "res_blocks",
                format!(
                    "res_blocks is {}; use 0 to 16 (2 is usual)",
                    self.res_blocks
                ),
            );
        }
        if !(self.kl_weight.is_finite() && self.kl_weight >= 0.0) {
            bad(
                "kl_weight",
                format!(
                    "kl_weight is {}; use a non-negative number (1 is usual)",
                    self.kl_weight
                ),
            );
        }
        if !(0.0..1.0).contains(&self.omit) {
            bad(
                "omit",
                format!(
                    "omit is {}; use a probability from 0 up to below 1 (0.3 is usual)",
                    self.omit
                ),
            );
        }
        if self.stage1_steps == Some(0) {
            bad(
                "stage1_steps",
                "stage1_steps is Some(0); use None to train both stages together, or Some(n) with n > 0 for Stage-I first".into(),
            );
        }
        problems
    }

    fn describe(&self) -> String {
        format!("{} / {}", self.encoder, self.stages())
    }
}

impl StackGanConfig {
    /// How the stages train, in words.
    fn stages(&self) -> String {
        match self.stage1_steps {
            None => "stages trained jointly".into(),
            Some(n) => format!("Stage-I for {n} steps, then Stage-II"),
        }
    }
}

#[cfg(test)]
mod tests;
