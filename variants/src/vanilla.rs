//! Vanilla (unconditional) GAN: Goodfellow et al. 2014, "Generative
//! Adversarial Nets", with the DCGAN architecture of Radford et al. 2016,
//! "Unsupervised Representation Learning with Deep Convolutional GANs".
//!
//! One training step is `d_steps` discriminator updates, each on its own real
//! batch, then `g_steps` generator updates (WGAN-GP's penalty: see
//! [`crate::losses::gradient_penalty`]).

use std::path::Path;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::losses::{self, gradient_penalty};
use crate::nets::{Arch, Discriminator, Generator, IMAGE_PIXELS, NetsConfig};
use crate::util::{self, grad_norm, read_scalars, seeded_noise};
use crate::{Batch, Hyper, Loss, Result, SampleGrid, Scalar, StreamRequest, Variant};

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
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        if !(1..=4096).contains(&self.latent_dim) {
            bad(
                "latent_dim",
                format!(
                    "latent_dim is {}; use a size from 1 to 4096 (100 is usual)",
                    self.latent_dim
                ),
            );
        }
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

    pub fn describe(&self) -> String {
        format!("{} / {}", self.arch.as_str(), self.loss.as_str())
    }
}

pub struct Vanilla {
    cfg: VanillaConfig,
    hyper: Hyper,
    device: Device,
    g: Generator,
    d: Discriminator,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
}

const GRID_SIDE: usize = 8;

impl Vanilla {
    pub fn new(cfg: VanillaConfig, hyper: &Hyper, device: &Device) -> Self {
        let nets =
            NetsConfig::new(cfg.arch, cfg.latent_dim).with_d_batch_norm(cfg.loss != Loss::WganGp);
        let adam = AdamConfig::new()
            .with_beta_1(hyper.beta1)
            .with_beta_2(hyper.beta2)
            .with_epsilon(1e-8);
        Self {
            g: nets.init_generator(device),
            d: nets.init_discriminator(device),
            opt_g: adam.init(),
            opt_d: adam.init(),
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    fn noise(&self, rng: &mut StdRng, n: usize) -> Tensor<2> {
        util::normal(rng, [n, self.cfg.latent_dim], &self.device)
    }
}

impl Variant for Vanilla {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![StreamRequest {
            name: "images".into(),
            classes: None,
            batches: self.cfg.d_steps,
        }]
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real_all = batch.streams[0].images.clone();
        let [total, ..] = real_all.dims();
        let per_d_step = (total / self.cfg.d_steps).max(1);
        let real_target = 1.0 - self.cfg.label_smoothing;
        let loss = self.cfg.loss;
        let mut rng = StdRng::seed_from_u64(batch.seed);

        let mut d_report = Vec::new();
        for k in 0..self.cfg.d_steps {
            let start = (k * per_d_step).min(total - per_d_step);
            let real = real_all.clone().narrow(0, start, per_d_step);
            let fake = self.g.forward(self.noise(&mut rng, per_d_step)).detach();
            let real_scores = self.d.forward(real.clone());
            let fake_scores = self.d.forward(fake.clone());
            let mut loss_d = loss.d_loss(real_scores.clone(), fake_scores.clone(), real_target);
            let mut gp = None;
            if loss == Loss::WganGp && self.cfg.gp_weight > 0.0 {
                let d = &self.d;
                let mix = util::uniform(&mut rng, [per_d_step, 1, 1, 1], &self.device);
                let penalty =
                    gradient_penalty(|x| d.forward(x), real, fake, mix) * self.cfg.gp_weight;
                loss_d = loss_d + penalty.clone();
                gp = Some(penalty);
            }
            let grads = GradientsParams::from_grads(loss_d.backward(), &self.d);
            let norm_d = grad_norm(&self.d, &grads, &self.device);
            self.d = self.opt_d.step(self.hyper.lr_d, self.d.clone(), grads);
            if k + 1 == self.cfg.d_steps {
                d_report = losses::d_report(loss, loss_d, real_scores, fake_scores, norm_d);
                d_report.extend(gp.map(|p| ("gradient_penalty", p)));
            }
        }

        let mut g_report = Vec::new();
        for k in 0..self.cfg.g_steps {
            let fake_scores = self
                .d
                .forward(self.g.forward(self.noise(&mut rng, per_d_step)));
            let loss_g = loss.g_loss(fake_scores);
            let grads = GradientsParams::from_grads(loss_g.backward(), &self.g);
            let norm_g = grad_norm(&self.g, &grads, &self.device);
            self.g = self.opt_g.step(self.hyper.lr_g, self.g.clone(), grads);
            if k + 1 == self.cfg.g_steps {
                g_report = vec![("loss_g", loss_g), ("grad_norm_g", norm_g)];
            }
        }
        d_report.extend(g_report);
        read_scalars(d_report)
    }

    fn sample_grid(&self) -> SampleGrid {
        let n = GRID_SIDE * GRID_SIDE;
        let g = self.g.valid();
        let inner = self.device.clone().inner();
        let z = seeded_noise(n, self.cfg.latent_dim, self.hyper.seed, &inner);
        SampleGrid {
            rows: GRID_SIDE,
            cols: GRID_SIDE,
            pixels: util::pixels(g.forward(z)),
            row_labels: Vec::new(),
        }
    }

    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn generate_from_noise(&self, noise: &[f32], _labels: Option<&[u8]>) -> Vec<f32> {
        let inner = self.device.clone().inner();
        let z = util::noise_tensor(noise, self.cfg.latent_dim, &inner);
        util::pixels(self.g.valid().forward(z))
    }

    fn generate(&self, n: usize, seed: u64) -> Vec<f32> {
        let g = self.g.valid();
        let inner = self.device.clone().inner();
        let mut out = Vec::with_capacity(n * IMAGE_PIXELS);
        for (chunk, start) in (0..n).step_by(500).enumerate() {
            let size = (n - start).min(500);
            let z = seeded_noise(
                size,
                self.cfg.latent_dim,
                seed.wrapping_add(chunk as u64),
                &inner,
            );
            out.extend(util::pixels(g.forward(z)));
        }
        out
    }

    fn save(&self, dir: &Path) -> Result<()> {
        util::save_pair(dir, (&self.g, &self.d), (&self.opt_g, &self.opt_d))
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        util::load_pair(
            dir,
            (&mut self.g, &mut self.d),
            (&mut self.opt_g, &mut self.opt_d),
        )
    }
}
