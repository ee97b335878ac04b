//! Vanilla (unconditional) GAN: Goodfellow et al. 2014, "Generative
//! Adversarial Nets", with the DCGAN architecture of Radford et al. 2016,
//! "Unsupervised Representation Learning with Deep Convolutional GANs".
//!
//! One training step is `d_steps` discriminator updates, each on its own real
//! batch, then `g_steps` generator updates (WGAN-GP's penalty: see
//! [`crate::losses::gradient_penalty`]). The first generator update scores the
//! fakes of the last discriminator update (one forward pass of G, not two).

use std::path::Path;

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::adversarial::{Adversarial, update};
use crate::losses::{self, gradient_penalty};
use crate::metric::{self, MetricInfo, Objective};
use crate::nets::{Arch, Discriminator, Generator, IMAGE_PIXELS, NetsConfig};
use crate::util::{self, read_scalars, seeded_noise};
use crate::{
    Batch, Hyper, Judge, Loss, NoiseSampler, Purpose, Result, SampleGrid, Scalar, StreamRequest,
    Variant, VariantConfig,
};

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

/// Problems with a noise size, shared by the variants that sample noise.
pub(crate) fn validate_latent_dim(latent_dim: usize) -> Option<(String, String)> {
    (!(1..=4096).contains(&latent_dim)).then(|| {
        (
            "latent_dim".to_string(),
            format!("latent_dim is {latent_dim}; use a size from 1 to 4096 (100 is usual)"),
        )
    })
}

/// The score that picks the best checkpoint of a noise generator: FID when evaluated.
pub(crate) fn fid_objective(scores: &[&str]) -> Option<Objective> {
    scores.contains(&"fid").then(|| Objective {
        key: "fid".into(),
        better: metric::Better::Lower,
    })
}

pub(crate) const SAMPLES: Purpose = Purpose {
    what: "it generates images from noise",
    command: "gan-lab sample RUN --n 64 --out grid.png",
};

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
        format!("{} / {}", self.arch.as_str(), self.loss.as_str())
    }

    fn purpose(&self) -> Purpose {
        SAMPLES
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
        let adv = self.cfg.adversarial();
        let real_all = batch.streams[0].images.clone();
        let [total, ..] = real_all.dims();
        let n = adv.per_update(total);
        let mut rng = StdRng::seed_from_u64(batch.seed);

        let mut d_report = Vec::new();
        // The last D update's fakes, still attached to G's graph: G's first
        // update scores them again instead of generating from new noise (G has
        // not changed in between), as the reference DCGAN does.
        let mut last_fakes = None;
        for k in 0..adv.d_steps {
            let start = (k * n).min(total - n);
            let real = real_all.clone().narrow(0, start, n);
            let generated = self.g.forward(self.noise(&mut rng, n));
            let fake = generated.clone().detach();
            if k + 1 == adv.d_steps {
                last_fakes = Some(generated);
            }
            let real_scores = self.d.forward(real.clone());
            let fake_scores = self.d.forward(fake.clone());
            let mut loss_d =
                adv.loss
                    .d_loss(real_scores.clone(), fake_scores.clone(), adv.real_target());
            let mut gp = None;
            if adv.penalised() {
                let d = &self.d;
                let mix = util::uniform(&mut rng, [n, 1, 1, 1], &self.device);
                let penalty = gradient_penalty(|x| d.forward(x), real, fake, mix) * adv.gp_weight;
                loss_d = loss_d + penalty.clone();
                gp = Some(penalty);
            }
            let norm_d;
            (self.d, norm_d) = update(
                self.d.clone(),
                &mut self.opt_d,
                self.hyper.lr_d,
                loss_d.clone(),
                &self.device,
            );
            if k + 1 == adv.d_steps {
                d_report = losses::d_report(adv.loss, loss_d, real_scores, fake_scores, norm_d);
                d_report.extend(gp.map(|p| ("gradient_penalty", p)));
            }
        }

        // D stays fixed while G learns: no gradients for its weights.
        let d = self.d.clone().no_grad();
        let mut g_report = Vec::new();
        for k in 0..adv.g_steps {
            let fakes = match last_fakes.take() {
                Some(fakes) => fakes,
                None => self.g.forward(self.noise(&mut rng, n)),
            };
            let fake_scores = d.forward(fakes);
            let loss_g = adv.loss.g_loss(fake_scores);
            let norm_g;
            (self.g, norm_g) = update(
                self.g.clone(),
                &mut self.opt_g,
                self.hyper.lr_g,
                loss_g.clone(),
                &self.device,
            );
            if k + 1 == adv.g_steps {
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

    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>> {
        crate::evaluate_generator(self, judge, samples, seed)
    }

    fn noise(&self) -> Option<&dyn NoiseSampler> {
        Some(self)
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

impl NoiseSampler for Vanilla {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper() -> Hyper {
        crate::util::test_hyper(4, 10)
    }

    fn batch(device: &Device) -> Batch {
        let images = Tensor::<4>::random(
            [8, 1, 28, 28],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            device,
        );
        let labels = Tensor::<1, Int>::zeros([8], device);
        Batch {
            streams: vec![crate::Stream { images, labels }],
            step: 1,
            seed: 5,
        }
    }

    #[test]
    fn g_learns_through_the_fakes_d_was_trained_on() {
        // The first G update reuses the last D update's fakes: gradients must
        // still reach G through them, for one and several updates of each.
        let device = Device::flex().autodiff();
        for arch in [Arch::Mlp, Arch::Dcgan] {
            for (d_steps, g_steps) in [(1, 1), (2, 3)] {
                let cfg = VanillaConfig {
                    arch,
                    d_steps,
                    g_steps,
                    ..Default::default()
                };
                let mut v = Vanilla::new(cfg, &hyper(), &device);
                let before = v.generate(4, 9);
                let scalars = v.train_step(&batch(&device));
                let value = |name: &str| {
                    scalars
                        .iter()
                        .find(|s| s.name == name)
                        .map(|s| s.value)
                        .unwrap_or_else(|| panic!("{name} missing: {scalars:?}"))
                };
                let norm = value("grad_norm_g");
                assert!(
                    norm.is_finite() && norm > 0.0,
                    "{arch:?} {d_steps}/{g_steps}: {norm}"
                );
                assert!(value("loss_g").is_finite());
                assert_ne!(before, v.generate(4, 9), "{arch:?}: G did not change");
            }
        }
    }
}
