//! What every adversarial variant shares: the loss and the update schedule
//! (`d_steps`, `g_steps`), one-sided label smoothing and the gradient
//! penalty's weight, with their validation, and one optimiser update of a
//! network with its gradient norm.
//!
//! The settings stay flat in each variant's part of the spec (`Vanilla(loss:
//! Hinge, d_steps: 2, ..)`), as specs and stored runs have always written
//! them; each config hands them over as one [`Adversarial`].

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::Loss;
use crate::util::grad_norm;

/// The shared adversarial settings of one variant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adversarial {
    pub loss: Loss,
    /// Discriminator updates per step, each on a fresh real batch.
    pub d_steps: usize,
    /// Generator updates per step.
    pub g_steps: usize,
    /// One-sided label smoothing: real targets become `1 - label_smoothing`.
    pub label_smoothing: f32,
    /// Weight of the gradient penalty (WGAN-GP only).
    pub gp_weight: f32,
}

impl Adversarial {
    /// Problems with the settings: (field, message with the fix).
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        for (field, value) in [("d_steps", self.d_steps), ("g_steps", self.g_steps)] {
            if !(1..=100).contains(&value) {
                bad(
                    field,
                    format!(
                        "{field} is {value}; use 1 to 100 updates per step (1 is usual, 5 for WGAN-GP's critic)"
                    ),
                );
            }
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            bad(
                "label_smoothing",
                format!(
                    "label_smoothing is {}; use 0 (off) up to below 0.5 (0.1 is usual)",
                    self.label_smoothing
                ),
            );
        } else if self.label_smoothing > 0.0 && matches!(self.loss, Loss::WganGp | Loss::Hinge) {
            bad(
                "label_smoothing",
                format!(
                    "label smoothing needs a loss with labels, and {} has none; set label_smoothing: 0.0 or use NonSaturating, Minimax or LeastSquares",
                    self.loss.as_str()
                ),
            );
        }
        if !(self.gp_weight.is_finite() && self.gp_weight >= 0.0) {
            bad(
                "gp_weight",
                format!(
                    "gp_weight is {}; use a non-negative number (10 is usual)",
                    self.gp_weight
                ),
            );
        }
        problems
    }

    /// The target for real images in D's loss.
    pub fn real_target(&self) -> f32 {
        1.0 - self.label_smoothing
    }

    /// Whether D's loss gets the gradient penalty.
    pub fn penalised(&self) -> bool {
        self.loss == Loss::WganGp && self.gp_weight > 0.0
    }

    /// Images per D update when a step's real batch holds `total` images.
    pub fn per_update(&self, total: usize) -> usize {
        (total / self.d_steps).max(1)
    }
}

/// One optimiser update of `module` by `loss` at learning rate `lr`: the
/// updated module and the norm of the gradients it was updated with.
pub fn update<M: Module>(
    module: M,
    optimizer: &mut ModuleOptimizer,
    lr: f64,
    loss: Tensor<1>,
    device: &Device,
) -> (M, Tensor<1>) {
    let grads = GradientsParams::from_grads(loss.backward(), &module);
    let norm = grad_norm(&module, &grads, device);
    (optimizer.step(lr, module, grads), norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Adversarial {
        Adversarial {
            loss: Loss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            label_smoothing: 0.0,
            gp_weight: 10.0,
        }
    }

    #[test]
    fn validation_names_each_bad_field() {
        assert!(settings().validate().is_empty());
        let bad = Adversarial {
            d_steps: 0,
            label_smoothing: 0.1,
            loss: Loss::Hinge,
            gp_weight: -1.0,
            ..settings()
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["d_steps", "label_smoothing", "gp_weight"]);
    }

    #[test]
    fn each_d_update_gets_its_share_of_the_batch() {
        let two = Adversarial {
            d_steps: 2,
            ..settings()
        };
        assert_eq!(two.per_update(128), 64);
        assert_eq!(two.per_update(1), 1);
        assert_eq!(settings().real_target(), 1.0);
    }
}
