//! Adversarial losses on raw discriminator scores, shared by every variant:
//! minimax and non-saturating (Goodfellow et al. 2014), least squares
//! (Mao et al. 2017), WGAN-GP (Gulrajani et al. 2017) and hinge (Lim & Ye 2017).

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid, softplus};
use serde::{Deserialize, Serialize};

/// The adversarial loss; its name (`non_saturating`, ...) is the one runs
/// store in their description.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Loss {
    /// The original game: G minimises log(1 - D(G(z))). Saturates early in training.
    Minimax,
    /// G maximises log D(G(z)) instead: same fixed point, strong gradients early.
    NonSaturating,
    /// LSGAN: squared distance of the scores to the labels 1 (real) and 0 (fake).
    LeastSquares,
    /// Wasserstein critic with a gradient penalty (weight `gp_weight`).
    WganGp,
    /// Hinge loss on the critic, linear loss for G.
    Hinge,
}

impl Loss {
    /// Discriminator loss from scores on real and fake images (without any
    /// gradient penalty). `real_target` is 1, or less with one-sided label
    /// smoothing (only the losses with labels use it).
    pub fn d_loss(self, real: Tensor<2>, fake: Tensor<2>, real_target: f32) -> Tensor<1> {
        match self {
            // BCE with logits: -y log s(r) - (1 - y) log(1 - s(r)) = softplus(r) - y r.
            Loss::Minimax | Loss::NonSaturating => {
                let real_term = softplus(real.clone(), 1.0) - real * real_target;
                (real_term.mean() + softplus(fake, 1.0).mean()).reshape([1])
            }
            Loss::LeastSquares => {
                let real_term = (real - real_target).powi_scalar(2).mean();
                ((real_term + fake.powi_scalar(2).mean()) * 0.5).reshape([1])
            }
            Loss::WganGp => (fake.mean() - real.mean()).reshape([1]),
            Loss::Hinge => (relu(real.neg() + 1.0).mean() + relu(fake + 1.0).mean()).reshape([1]),
        }
    }

    /// Generator loss from the discriminator's scores on fake images.
    pub fn g_loss(self, fake: Tensor<2>) -> Tensor<1> {
        match self {
            // minimise log(1 - s(f)) = -softplus(f)
            Loss::Minimax => softplus(fake, 1.0).mean().neg().reshape([1]),
            // minimise -log s(f) = softplus(-f)
            Loss::NonSaturating => softplus(fake.neg(), 1.0).mean().reshape([1]),
            Loss::LeastSquares => ((fake - 1.0).powi_scalar(2).mean() * 0.5).reshape([1]),
            Loss::WganGp | Loss::Hinge => fake.mean().neg().reshape([1]),
        }
    }

    /// What the discriminator "says" about a batch, as one number per image:
    /// a probability of being real for the logistic losses, the raw score
    /// for the others.
    pub fn readout(self, scores: Tensor<2>) -> Tensor<2> {
        match self {
            Loss::Minimax | Loss::NonSaturating => sigmoid(scores),
            _ => scores,
        }
    }

    /// Share of real images scored as real and of fake images scored as fake.
    /// The boundary is the loss's own decision point: logit 0, score 0.5 for
    /// least squares, 0 for hinge, and for the Wasserstein critic (which has
    /// no fixed boundary) the midpoint between the mean real and fake scores.
    pub fn accuracies(self, real: Tensor<2>, fake: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
        let boundary = match self {
            Loss::Minimax | Loss::NonSaturating | Loss::Hinge => {
                Tensor::zeros([1, 1], &real.device())
            }
            Loss::LeastSquares => Tensor::full([1, 1], 0.5, &real.device()),
            Loss::WganGp => ((real.clone().mean() + fake.clone().mean()) * 0.5).reshape([1, 1]),
        };
        let [n_real, _] = real.dims();
        let [n_fake, _] = fake.dims();
        let real_ok = real.greater(boundary.clone().expand([n_real, 1]));
        let fake_ok = fake.lower_equal(boundary.expand([n_fake, 1]));
        (real_ok.float().mean(), fake_ok.float().mean())
    }
}

/// The numbers every variant reports for a discriminator update: its loss,
/// what D says about real and fake images, its accuracies, its gradient norm.
pub fn d_report(
    loss: Loss,
    loss_d: Tensor<1>,
    real_scores: Tensor<2>,
    fake_scores: Tensor<2>,
    grad_norm_d: Tensor<1>,
) -> Vec<(&'static str, Tensor<1>)> {
    let (acc_real, acc_fake) = loss.accuracies(real_scores.clone(), fake_scores.clone());
    vec![
        ("loss_d", loss_d),
        ("d_real", loss.readout(real_scores).mean()),
        ("d_fake", loss.readout(fake_scores).mean()),
        ("acc_real", acc_real),
        ("acc_fake", acc_fake),
        ("grad_norm_d", grad_norm_d),
    ]
}

/// Step of the finite-difference gradient penalty, along a unit direction in pixel space.
const GP_STEP: f32 = 1e-2;

/// WGAN-GP's penalty, mean over images of (||grad_x D(x_hat)|| - 1)^2, at
/// points `x_hat` between real and fake images (`mix` `[n, 1, 1, 1]` in [0, 1]).
///
/// Its gradient with respect to D's weights needs second-order autodiff,
/// which burn does not have; the norm is therefore computed as the central
/// difference of D along the exact (detached) input-gradient direction u:
/// (D(x + h u) - D(x - h u)) / 2h = ||grad_x D|| + O(h^2), and since
/// d||g|| = u . dg, its weight-gradient matches the true penalty's to O(h^2).
pub fn gradient_penalty(
    critic: impl Fn(Tensor<4>) -> Tensor<2>,
    real: Tensor<4>,
    fake: Tensor<4>,
    mix: Tensor<4>,
) -> Tensor<1> {
    let [n, c, h, w] = real.dims();
    let between = (real * mix.clone() + fake * (mix.neg() + 1.0)).detach();
    let probe = between.clone().require_grad();
    let grads = critic(probe.clone()).sum().backward();
    let direction = match probe.grad(&grads) {
        Some(g) => {
            let norm = g
                .clone()
                .powi_scalar(2)
                .sum_dims(&[1, 2, 3])
                .sqrt()
                .clamp_min(1e-12);
            Tensor::from_inner(g / norm)
        }
        None => Tensor::zeros([n, c, h, w], &between.device()),
    };
    let ahead = critic(between.clone() + direction.clone() * GP_STEP);
    let behind = critic(between - direction * GP_STEP);
    let slope = (ahead - behind) / (2.0 * GP_STEP);
    (slope - 1.0).powi_scalar(2).mean().reshape([1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(values: &[f32]) -> Tensor<2> {
        Tensor::<1>::from_floats(values, &Device::flex()).reshape([values.len(), 1])
    }

    fn scalar(x: Tensor<1>) -> f32 {
        x.into_scalar::<f32>()
    }

    #[test]
    fn logistic_losses_match_closed_form() {
        // D(x) = s(0) = 0.5 for both: d loss = 2 ln 2, ns g loss = ln 2, minimax = -ln 2.
        let ln2 = std::f32::consts::LN_2;
        let d = Loss::NonSaturating.d_loss(t(&[0.0, 0.0]), t(&[0.0]), 1.0);
        assert!((scalar(d) - 2.0 * ln2).abs() < 1e-6);
        assert!((scalar(Loss::NonSaturating.g_loss(t(&[0.0]))) - ln2).abs() < 1e-6);
        assert!((scalar(Loss::Minimax.g_loss(t(&[0.0]))) + ln2).abs() < 1e-6);
        // A confident, correct D has a small loss; label smoothing keeps it above zero.
        let confident = scalar(Loss::Minimax.d_loss(t(&[20.0]), t(&[-20.0]), 1.0));
        let smoothed = scalar(Loss::Minimax.d_loss(t(&[20.0]), t(&[-20.0]), 0.9));
        assert!(confident < 1e-6 && smoothed > 1.0, "{confident} {smoothed}");
    }

    #[test]
    fn least_squares_wgan_and_hinge_match_closed_form() {
        let ls = scalar(Loss::LeastSquares.d_loss(t(&[1.0, 0.0]), t(&[1.0]), 1.0));
        assert!((ls - 0.5 * (0.5 + 1.0)).abs() < 1e-6);
        let w = scalar(Loss::WganGp.d_loss(t(&[3.0, 1.0]), t(&[-1.0]), 1.0));
        assert!((w - (-1.0 - 2.0)).abs() < 1e-6);
        let h = scalar(Loss::Hinge.d_loss(t(&[2.0, 0.0]), t(&[-3.0, 0.5]), 1.0));
        assert!((h - (0.5 + 0.75)).abs() < 1e-6);
        assert!((scalar(Loss::Hinge.g_loss(t(&[2.0, 4.0]))) + 3.0).abs() < 1e-6);
    }

    #[test]
    fn gradient_penalty_matches_a_linear_critic() {
        // D(x) = a . x has input gradient a everywhere: penalty (||a|| - 1)^2.
        let device = Device::flex().autodiff();
        let a = Tensor::<4>::full([1, 1, 28, 28], 0.1, &device);
        let critic = |x: Tensor<4>| (x * a.clone()).sum_dims(&[1, 2, 3]).reshape([3, 1]);
        let real = Tensor::<4>::ones([3, 1, 28, 28], &device);
        let fake = Tensor::<4>::zeros([3, 1, 28, 28], &device);
        let mix = Tensor::<4>::full([3, 1, 1, 1], 0.5, &device);
        let got = scalar(gradient_penalty(critic, real, fake, mix));
        let norm = 0.1f32 * 28.0;
        // f32 central differences of scores near 40 carry ~1e-4 of rounding per slope.
        let want = (norm - 1.0).powi(2);
        assert!((got - want).abs() < 5e-3 * want, "{got} vs {want}");
    }

    #[test]
    fn accuracies_use_each_loss_boundary() {
        let (r, f) = Loss::NonSaturating.accuracies(t(&[1.0, -1.0]), t(&[-2.0, -3.0, 4.0, -1.0]));
        assert_eq!((scalar(r), scalar(f)), (0.5, 0.75));
        let (r, f) = Loss::LeastSquares.accuracies(t(&[0.6, 0.4]), t(&[0.1]));
        assert_eq!((scalar(r), scalar(f)), (0.5, 1.0));
        // Critic scores with an offset: the midpoint (10) separates them.
        let (r, f) = Loss::WganGp.accuracies(t(&[12.0, 11.0]), t(&[9.0, 8.0]));
        assert_eq!((scalar(r), scalar(f)), (1.0, 1.0));
    }
}
