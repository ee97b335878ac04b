//! CycleGAN's training step: both generators first (least-squares
//! adversarial loss against the discriminators, cycle and identity L1),
//! then both discriminators on real images and fakes from their history
//! pools; the learning rate decays linearly from `lr_decay_from` on.

use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

use super::model::{CycleGan, images_tensor};
use crate::Loss;
use crate::shared::adversarial::update;
use crate::shared::tensors::{self, read_scalars};
use crate::{Batch, Scalar};

/// Images per row of the sample grid (the first images of each domain).
const GRID_COLS: usize = 8;

impl CycleGan {
    /// One training step on `batch` (see the module header).
    pub(super) fn step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real_a = batch.streams[0].images.clone();
        let real_b = batch.streams[1].images.clone();
        if self.grid_a.is_empty() {
            let take = |x: &Tensor<4>| {
                let n = x.dims()[0].min(GRID_COLS);
                tensors::pixels(x.clone().narrow(0, 0, n))
            };
            self.grid_a = take(&real_a);
            self.grid_b = take(&real_b);
        }
        let factor = lr_factor(batch.step, self.hyper.total_steps, self.cfg.lr_decay_from);
        let (lr_g, lr_d) = (self.hyper.lr_g * factor, self.hyper.lr_d * factor);
        let lambda = self.cfg.lambda_cycle;
        let lambda_idt = lambda * self.cfg.lambda_identity;

        // Generators first; the discriminators' gradients are dropped.
        let fake_b = self.g.a2b.forward(real_a.clone());
        let fake_a = self.g.b2a.forward(real_b.clone());
        let loss_g_a2b = mse(self.d.b.forward(fake_b.clone()), 1.0);
        let loss_g_b2a = mse(self.d.a.forward(fake_a.clone()), 1.0);
        let loss_cycle_a = l1(self.g.b2a.forward(fake_b.clone()), real_a.clone()) * lambda;
        let loss_cycle_b = l1(self.g.a2b.forward(fake_a.clone()), real_b.clone()) * lambda;
        let mut loss_g =
            loss_g_a2b.clone() + loss_g_b2a.clone() + loss_cycle_a.clone() + loss_cycle_b.clone();
        let mut idt = Vec::new();
        if lambda_idt > 0.0 {
            let loss_idt_a = l1(self.g.a2b.forward(real_b.clone()), real_b.clone()) * lambda_idt;
            let loss_idt_b = l1(self.g.b2a.forward(real_a.clone()), real_a.clone()) * lambda_idt;
            loss_g = loss_g + loss_idt_a.clone() + loss_idt_b.clone();
            idt = vec![("loss_idt_a", loss_idt_a), ("loss_idt_b", loss_idt_b)];
        }
        let norm_g;
        (self.g, norm_g) = update(
            self.g.clone(),
            &mut self.opt_g,
            lr_g,
            loss_g.clone(),
            &self.device,
        );

        // Then each discriminator on real images and fakes from its pool.
        let mut rng = StdRng::seed_from_u64(batch.seed);
        let pooled_b = self
            .pool_b
            .query(&tensors::pixels(fake_b.detach()), &mut rng);
        let pooled_a = self
            .pool_a
            .query(&tensors::pixels(fake_a.detach()), &mut rng);
        let fake_b = images_tensor(&pooled_b, &self.device);
        let fake_a = images_tensor(&pooled_a, &self.device);
        let real_scores_b = self.d.b.forward(real_b);
        let fake_scores_b = self.d.b.forward(fake_b);
        let real_scores_a = self.d.a.forward(real_a);
        let fake_scores_a = self.d.a.forward(fake_a);
        let loss = Loss::LeastSquares;
        let loss_d_b = loss.d_loss(real_scores_b.clone(), fake_scores_b.clone(), 1.0);
        let loss_d_a = loss.d_loss(real_scores_a.clone(), fake_scores_a.clone(), 1.0);
        let loss_d = loss_d_a.clone() + loss_d_b.clone();
        let norm_d;
        (self.d, norm_d) = update(
            self.d.clone(),
            &mut self.opt_d,
            lr_d,
            loss_d.clone(),
            &self.device,
        );
        let (acc_real_a, acc_fake_a) = loss.accuracies(real_scores_a, fake_scores_a);
        let (acc_real_b, acc_fake_b) = loss.accuracies(real_scores_b, fake_scores_b);

        let mut named = vec![
            ("loss_d", loss_d),
            ("loss_g", loss_g),
            ("loss_d_a", loss_d_a),
            ("loss_d_b", loss_d_b),
            ("loss_g_a2b", loss_g_a2b),
            ("loss_g_b2a", loss_g_b2a),
            ("loss_cycle_a", loss_cycle_a),
            ("loss_cycle_b", loss_cycle_b),
            ("acc_real", (acc_real_a.clone() + acc_real_b.clone()) * 0.5),
            ("acc_fake", (acc_fake_a.clone() + acc_fake_b.clone()) * 0.5),
            ("acc_real_a", acc_real_a),
            ("acc_fake_a", acc_fake_a),
            ("acc_real_b", acc_real_b),
            ("acc_fake_b", acc_fake_b),
            ("grad_norm_g", norm_g),
            ("grad_norm_d", norm_d),
        ];
        named.extend(idt);
        let mut scalars = read_scalars(named);
        scalars.push(Scalar::new("lr", lr_g));
        scalars
    }
}

/// Least-squares loss of patch scores against a constant target.
fn mse(scores: Tensor<2>, target: f32) -> Tensor<1> {
    (scores - target).powi_scalar(2).mean().reshape([1])
}

/// Mean absolute difference of two image batches.
fn l1(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    (a - b).abs().mean().reshape([1])
}

/// The learning-rate factor at `step` (1-based) of `total`: 1 up to
/// `from * total`, then falling linearly over the `n` remaining steps to
/// `1 / (n + 1)` at the last one, as the reference's linear policy does per epoch.
pub fn lr_factor(step: u64, total: u64, from: Option<f64>) -> f64 {
    let Some(from) = from else { return 1.0 };
    let start = (from * total as f64).floor() as u64;
    if step <= start {
        return 1.0;
    }
    let decay_steps = total.saturating_sub(start) as f64;
    (1.0 - (step - start) as f64 / (decay_steps + 1.0)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_learning_rate_decays_linearly_to_zero() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(lr_factor(1, 100, Some(0.5)), 1.0);
        assert_eq!(lr_factor(50, 100, Some(0.5)), 1.0);
        assert!(close(lr_factor(51, 100, Some(0.5)), 50.0 / 51.0));
        assert!(close(lr_factor(76, 100, Some(0.5)), 25.0 / 51.0));
        assert!(close(lr_factor(100, 100, Some(0.5)), 1.0 / 51.0));
        assert_eq!(lr_factor(100, 100, None), 1.0);
        assert!(close(lr_factor(1, 4, Some(0.0)), 0.8));
        assert!(close(lr_factor(4, 4, Some(0.0)), 0.2));
        assert_eq!(lr_factor(4, 4, Some(1.0)), 1.0);
    }
}
