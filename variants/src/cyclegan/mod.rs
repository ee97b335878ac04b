//! CycleGAN: Zhu et al. 2017, "Unpaired Image-to-Image Translation using
//! Cycle-Consistent Adversarial Networks", scaled to 28x28 images.
//!
//! Two domains are two disjoint sets of Fashion-MNIST classes. Generator G
//! maps A to B and F maps B to A (ResNet generators with instance norm),
//! each domain has a PatchGAN discriminator, the adversarial loss is least
//! squares, and cycle-consistency (`|F(G(a)) - a|`, `|G(F(b)) - b|`) and
//! identity (`|G(b) - b|`, `|F(a) - a|`) L1 terms keep translations faithful.
//! One step updates both generators, then both discriminators on fakes drawn
//! from a history pool of each domain. The learning rate decays linearly to
//! zero from `lr_decay_from` of the run on.
//!
//! The folder: the configuration and its validation (here), the networks
//! (`nets.rs`), the history pools (`pool.rs`), the variant with its
//! translation, grid and checkpoint (`model.rs`), the training step
//! (`step.rs`), and the evaluation, its metric keys and the report panel
//! (`eval.rs`). May import the crate's interface and `shared/`, `classes`,
//! `losses`, `metric`, `panel`; no other variant.

mod eval;
mod model;
mod nets;
mod pool;
mod step;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::classes::CLASS_NAMES;
use crate::metric::{self, Better, MetricInfo, Objective};
use crate::panel::{Panel, RunView};
use crate::{Hyper, Purpose, Variant, VariantConfig};

pub use model::CycleGan;
pub use nets::{Discriminators, Generators, PatchDiscriminator, ResBlock, ResnetGenerator};
pub use pool::ImagePool;
pub use step::lr_factor;

/// The generator architecture.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleGenerator {
    /// Encoder 28→14→7 (stride-2 convolutions), `blocks` residual blocks at
    /// 7x7, decoder back to 28 (transposed convolutions), tanh.
    Resnet { blocks: usize },
}

/// How the generator's 7x7 and residual-block convolutions pad their input.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Zeros (burn's convolution padding).
    Zero,
    /// Reflection of the border, as in the reference (no dark frame to hide in).
    Reflect,
}

/// The normalisation inside generators and discriminators.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Instance norm without learned scale and shift, as in the reference.
    Instance,
    /// No normalisation.
    Off,
}

/// The CycleGAN variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CycleGanConfig {
    /// Classes of domain A.
    pub domain_a: Vec<u8>,
    /// Classes of domain B (disjoint from A).
    pub domain_b: Vec<u8>,
    pub generator: CycleGenerator,
    /// Channels of the generators' first layer (doubled at each downsampling).
    pub ngf: usize,
    /// Channels of the discriminators' first layer.
    pub ndf: usize,
    pub norm: Norm,
    /// Padding of the generators' 7x7 and residual-block convolutions.
    pub padding: Padding,
    /// Weight of the cycle-consistency L1 loss.
    pub lambda_cycle: f32,
    /// Weight of the identity L1 loss, as a multiple of `lambda_cycle`.
    pub lambda_identity: f32,
    /// Generated images each discriminator's history pool holds (0: no pool).
    pub pool_size: usize,
    /// Share of the run after which the learning rate decays linearly to zero (`None`: constant).
    pub lr_decay_from: Option<f64>,
}

impl Default for CycleGanConfig {
    fn default() -> Self {
        Self {
            domain_a: vec![7],
            domain_b: vec![9],
            generator: CycleGenerator::Resnet { blocks: 4 },
            ngf: 16,
            ndf: 32,
            norm: Norm::Instance,
            padding: Padding::Zero,
            lambda_cycle: 10.0,
            lambda_identity: 0.5,
            pool_size: 50,
            lr_decay_from: Some(0.5),
        }
    }
}

const TRANSLATES: Purpose = Purpose {
    what: "it translates images between two domains",
    command: "gan-lab translate RUN --direction a2b --input FILE --out out.png",
};

/// The names of `classes`, joined.
fn class_list(classes: &[u8]) -> String {
    classes
        .iter()
        .map(|&c| CLASS_NAMES.get(c as usize).copied().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl VariantConfig for CycleGanConfig {
    fn kind(&self) -> &'static str {
        "cyclegan"
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        for (field, domain) in [("domain_a", &self.domain_a), ("domain_b", &self.domain_b)] {
            if domain.is_empty() {
                bad(
                    field,
                    format!(
                        "{field} is empty; list one or more classes 0 to 9, e.g. [7] (sneakers)"
                    ),
                );
            }
            if let Some(c) = domain.iter().find(|&&c| c > 9) {
                bad(
                    field,
                    format!("{field} has class {c}; Fashion-MNIST classes are 0 to 9"),
                );
            }
        }
        let shared: Vec<u8> = self
            .domain_a
            .iter()
            .copied()
            .filter(|c| self.domain_b.contains(c))
            .collect();
        if !shared.is_empty() {
            bad(
                "domain_b",
                format!(
                    "domain_b shares class(es) {shared:?} with domain_a; the two domains must be disjoint"
                ),
            );
        }
        let CycleGenerator::Resnet { blocks } = self.generator;
        if !(1..=16).contains(&blocks) {
            bad(
                "generator.blocks",
                format!("blocks is {blocks}; use 1 to 16 residual blocks (4 at 28x28)"),
            );
        }
        for (field, value) in [("ngf", self.ngf), ("ndf", self.ndf)] {
            if !(1..=512).contains(&value) {
                bad(
                    field,
                    format!("{field} is {value}; use 1 to 512 channels (32 or 64 are usual)"),
                );
            }
        }
        for (field, value) in [
            ("lambda_cycle", self.lambda_cycle),
            ("lambda_identity", self.lambda_identity),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                bad(
                    field,
                    format!(
                        "{field} is {value}; use a non-negative number (10 and 0.5 are the reference)"
                    ),
                );
            }
        }
        if self.pool_size > 10_000 {
            bad(
                "pool_size",
                format!(
                    "pool_size is {}; use 0 (no pool) to 10000 images (50 is the reference)",
                    self.pool_size
                ),
            );
        }
        if let Some(from) = self.lr_decay_from
            && !(0.0..=1.0).contains(&from)
        {
            bad(
                "lr_decay_from",
                format!(
                    "lr_decay_from is Some({from}); use a share of the run from 0.0 to 1.0 (Some(0.5) is the reference), or None for a constant rate"
                ),
            );
        }
        problems
    }

    fn describe(&self) -> String {
        let CycleGenerator::Resnet { blocks } = self.generator;
        format!(
            "{} <-> {} / resnet {blocks} blocks",
            class_list(&self.domain_a),
            class_list(&self.domain_b)
        )
    }

    fn purpose(&self) -> Purpose {
        TRANSLATES
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let shared = ["loss_d", "loss_g", "acc_real", "acc_fake", "img_per_s"];
        let mut all: Vec<MetricInfo> = metric::TRAINING
            .iter()
            .filter(|m| shared.contains(&m.key.as_ref()))
            .cloned()
            .collect();
        all.extend(eval::CYCLE_METRICS.iter().cloned());
        all
    }

    /// Evaluations always score translation FID, whatever `eval.metrics` asks.
    fn objective(&self, _scores: &[&str]) -> Option<Objective> {
        Some(Objective {
            key: "translation_fid".into(),
            better: Better::Lower,
        })
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(CycleGan::new(self.clone(), hyper, device))
    }

    fn class_sets(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("domain_a", self.domain_a.clone()),
            ("domain_b", self.domain_b.clone()),
        ]
    }

    /// Translation accuracy per direction against its ceiling, FID and
    /// cycle numbers, and the six-row grid.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        Some(eval::panel(self, run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_each_bad_field() {
        assert!(CycleGanConfig::default().validate().is_empty());
        let bad = CycleGanConfig {
            domain_a: vec![],
            domain_b: vec![3, 12],
            generator: CycleGenerator::Resnet { blocks: 0 },
            ngf: 0,
            lambda_cycle: -1.0,
            lr_decay_from: Some(1.5),
            ..Default::default()
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "domain_a",
                "domain_b",
                "generator.blocks",
                "ngf",
                "lambda_cycle",
                "lr_decay_from"
            ]
        );
        let overlap = CycleGanConfig {
            domain_a: vec![5, 7],
            domain_b: vec![7, 9],
            ..Default::default()
        };
        let problems = overlap.validate();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("disjoint"), "{problems:?}");
    }
}
