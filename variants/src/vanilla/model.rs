//! The vanilla variant itself: its generator/discriminator pair, the fixed
//! sample grid, sampling from noise and its checkpoint.

use std::path::Path;

use burn::prelude::*;

use super::VanillaConfig;
use super::step::NoiseRound;
use crate::nets::{Discriminator, Generator, IMAGE_PIXELS, NetsConfig};
use crate::shared::adversarial::Pair;
use crate::shared::evaluate_generator;
use crate::shared::tensors::{self, read_scalars, seeded_noise};
use crate::{
    Batch, Hyper, Judge, Loss, NoiseSampler, Result, SampleGrid, Scalar, StreamRequest, Variant,
};

const GRID_SIDE: usize = 8;

pub struct Vanilla {
    cfg: VanillaConfig,
    hyper: Hyper,
    nets: Pair<Generator, Discriminator>,
}

impl Vanilla {
    pub fn new(cfg: VanillaConfig, hyper: &Hyper, device: &Device) -> Self {
        let nets =
            NetsConfig::new(cfg.arch, cfg.latent_dim).with_d_batch_norm(cfg.loss != Loss::WganGp);
        Self {
            nets: Pair::new(
                nets.init_generator(device),
                nets.init_discriminator(device),
                hyper,
                device,
            ),
            hyper: hyper.clone(),
            cfg,
        }
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
        let mut round = NoiseRound::new(adv, self.cfg.latent_dim, batch, &self.nets.device);
        read_scalars(adv.alternate(&mut self.nets, &self.hyper, &mut round))
    }

    fn sample_grid(&self) -> SampleGrid {
        let n = GRID_SIDE * GRID_SIDE;
        let g = self.nets.g.valid();
        let inner = self.nets.device.clone().inner();
        let z = seeded_noise(n, self.cfg.latent_dim, self.hyper.seed, &inner);
        SampleGrid {
            rows: GRID_SIDE,
            cols: GRID_SIDE,
            pixels: tensors::pixels(g.forward(z)),
            row_labels: Vec::new(),
        }
    }

    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>> {
        evaluate_generator(self, judge, samples, seed)
    }

    fn noise(&self) -> Option<&dyn NoiseSampler> {
        Some(self)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        self.nets.save(dir, "")
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.nets.load(dir, "")
    }
}

impl NoiseSampler for Vanilla {
    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn generate_from_noise(&self, noise: &[f32], _labels: Option<&[u8]>) -> Vec<f32> {
        let inner = self.nets.device.clone().inner();
        let z = tensors::noise_tensor(noise, self.cfg.latent_dim, &inner);
        tensors::pixels(self.nets.g.valid().forward(z))
    }

    fn generate(&self, n: usize, seed: u64) -> Vec<f32> {
        let g = self.nets.g.valid();
        let inner = self.nets.device.clone().inner();
        let mut out = Vec::with_capacity(n * IMAGE_PIXELS);
        for (chunk, start) in (0..n).step_by(500).enumerate() {
            let size = (n - start).min(500);
            let z = seeded_noise(
                size,
                self.cfg.latent_dim,
                seed.wrapping_add(chunk as u64),
                &inner,
            );
            out.extend(tensors::pixels(g.forward(z)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Arch;

    fn hyper() -> Hyper {
        crate::shared::test_hyper(4, 10)
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
