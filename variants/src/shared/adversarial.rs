//! What every adversarial variant shares: the loss and the update schedule
//! (`d_steps`, `g_steps`), one-sided label smoothing and the gradient
//! penalty's weight, with their validation; one optimiser update of a
//! network with its gradient norm; and the alternating step of a
//! generator/discriminator [`Pair`] ([`Adversarial::alternate`]), where a
//! variant says only how D's and G's losses are formed ([`Round`]).
//!
//! The settings stay flat in each variant's part of the spec (`Vanilla(loss:
//! Hinge, d_steps: 2, ..)`), as specs and stored runs have always written
//! them; each config hands them over as one [`Adversarial`].

use std::ops::Range;
use std::path::Path;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::rngs::StdRng;

use super::checkpoint::{load_module, load_optimizer, save_module, save_optimizer};
use super::tensors::{grad_norm, uniform};
use crate::losses::{self, gradient_penalty};
use crate::{Hyper, Loss, Result};

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
                    self.loss
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

    /// The real images of D's update `k` (0-based) in a batch of `total`:
    /// each update its own share, the last ones overlapping when it is short.
    pub fn real_share(&self, k: usize, total: usize) -> Range<usize> {
        let n = self.per_update(total);
        let start = (k * n).min(total - n);
        start..start + n
    }

    /// D's loss on its scores of real and fake images (no penalty).
    pub fn d_loss(&self, real_scores: Tensor<2>, fake_scores: Tensor<2>) -> Tensor<1> {
        self.loss
            .d_loss(real_scores, fake_scores, self.real_target())
    }

    /// The weighted gradient penalty of `critic` between `real` and `fake`
    /// (mixing weights drawn from `rng` onto `device`), when the loss has one.
    pub fn penalty(
        &self,
        critic: impl Fn(Tensor<4>) -> Tensor<2>,
        real: Tensor<4>,
        fake: Tensor<4>,
        rng: &mut StdRng,
        device: &Device,
    ) -> Option<Tensor<1>> {
        self.penalised().then(|| {
            let [n, ..] = real.dims();
            let mix = uniform(rng, [n, 1, 1, 1], device);
            gradient_penalty(critic, real, fake, mix) * self.gp_weight
        })
    }

    /// One training step of `pair`: `d_steps` updates of D, then `g_steps`
    /// updates of G against a D without gradients, each loss formed by
    /// `round`. Returns the named numbers of the last update of each: D's
    /// report ([`losses::d_report`]) with the round's extras, then `loss_g`
    /// and `grad_norm_g`.
    pub fn alternate<G: Module, D: Module>(
        &self,
        pair: &mut Pair<G, D>,
        hyper: &Hyper,
        round: &mut impl Round<G, D>,
    ) -> Vec<(&'static str, Tensor<1>)> {
        let device = pair.device.clone();
        let mut report = Vec::new();
        for k in 0..self.d_steps {
            let DLoss {
                mut loss,
                real_scores,
                fake_scores,
                mut extras,
                penalty,
            } = round.d_loss(k, &pair.g, &pair.d);
            if let Some(penalty) = penalty {
                loss = loss + penalty.clone();
                extras.push(("gradient_penalty", penalty));
            }
            let norm_d;
            (pair.d, norm_d) = update(
                pair.d.clone(),
                &mut pair.opt_d,
                hyper.lr_d,
                loss.clone(),
                &device,
            );
            if k + 1 == self.d_steps {
                report = losses::d_report(self.loss, loss, real_scores, fake_scores, norm_d);
                report.extend(extras);
            }
        }

        // D stays fixed while G learns: no gradients for its weights.
        let d = pair.d.clone().no_grad();
        let mut g_report = Vec::new();
        for k in 0..self.g_steps {
            let loss_g = round.g_loss(k, &pair.g, &d);
            let norm_g;
            (pair.g, norm_g) = update(
                pair.g.clone(),
                &mut pair.opt_g,
                hyper.lr_g,
                loss_g.clone(),
                &device,
            );
            if k + 1 == self.g_steps {
                g_report = vec![("loss_g", loss_g), ("grad_norm_g", norm_g)];
            }
        }
        report.extend(g_report);
        report
    }
}

/// What one variant's alternating step is made of: how D's loss and G's
/// loss are formed at each update (the real images, noise, labels and
/// extra terms are the variant's).
pub trait Round<G, D> {
    /// D's loss at its update `k` (0-based); `g` draws the fakes (detach them).
    fn d_loss(&mut self, k: usize, g: &G, d: &D) -> DLoss;

    /// G's loss at its update `k`, scored by `d`, which has no gradients.
    fn g_loss(&mut self, k: usize, g: &G, d: &D) -> Tensor<1>;
}

/// One discriminator loss before its update.
pub struct DLoss {
    /// The loss with the variant's own terms added (such as a class loss).
    pub loss: Tensor<1>,
    /// D's raw scores of the real and of the fake images.
    pub real_scores: Tensor<2>,
    pub fake_scores: Tensor<2>,
    /// Further named terms to report beside the loss.
    pub extras: Vec<(&'static str, Tensor<1>)>,
    /// The weighted gradient penalty ([`Adversarial::penalty`]), added to the
    /// loss last and reported as `gradient_penalty`.
    pub penalty: Option<Tensor<1>>,
}

/// Adam as the specs set it (`beta1`, `beta2` from `train`, epsilon 1e-8).
pub fn adam(hyper: &Hyper) -> AdamConfig {
    AdamConfig::new()
        .with_beta_1(hyper.beta1)
        .with_beta_2(hyper.beta2)
        .with_epsilon(1e-8)
}

/// A generator and a discriminator with their optimisers, on one device.
pub struct Pair<G, D> {
    pub g: G,
    pub d: D,
    pub opt_g: ModuleOptimizer,
    pub opt_d: ModuleOptimizer,
    pub device: Device,
}

impl<G: Module, D: Module> Pair<G, D> {
    /// The pair with fresh Adam optimisers.
    pub fn new(g: G, d: D, hyper: &Hyper, device: &Device) -> Self {
        let adam = adam(hyper);
        Self {
            g,
            d,
            opt_g: adam.init(),
            opt_d: adam.init(),
            device: device.clone(),
        }
    }

    /// Writes the networks and optimisers into `dir`: `<prefix>generator`,
    /// `<prefix>discriminator`, `<prefix>optimizer_g` and `<prefix>optimizer_d`.
    pub fn save(&self, dir: &Path, prefix: &str) -> Result<()> {
        save_module(&self.g, dir, &format!("{prefix}generator"))?;
        save_module(&self.d, dir, &format!("{prefix}discriminator"))?;
        save_optimizer(&self.opt_g, dir, &format!("{prefix}optimizer_g"))?;
        save_optimizer(&self.opt_d, dir, &format!("{prefix}optimizer_d"))
    }

    /// Restores what [`Pair::save`] wrote with the same `prefix`, in place.
    pub fn load(&mut self, dir: &Path, prefix: &str) -> Result<()> {
        self.g = load_module(self.g.clone(), dir, &format!("{prefix}generator"))?;
        self.d = load_module(self.d.clone(), dir, &format!("{prefix}discriminator"))?;
        self.opt_g = load_optimizer(self.opt_g.clone(), dir, &format!("{prefix}optimizer_g"))?;
        self.opt_d = load_optimizer(self.opt_d.clone(), dir, &format!("{prefix}optimizer_d"))?;
        Ok(())
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
        assert_eq!(
            (two.real_share(0, 128), two.real_share(1, 128)),
            (0..64, 64..128)
        );
        assert_eq!(two.real_share(1, 1), 0..1);
        assert_eq!(settings().real_target(), 1.0);
    }
}
