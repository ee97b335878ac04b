//! The conditional variant itself: its generator/discriminator pair, the
//! sample grid with one row per class, sampling from noise and by class,
//! and its checkpoint.

use std::path::Path;

use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

use super::ConditionalConfig;
use super::nets::{self, ConditionalD, generate, one_hot};
use super::step::ClassRound;
use crate::classes::{CLASS_NAMES, NUM_CLASSES};
use crate::nets::{Generator, IMAGE_PIXELS};
use crate::shared::adversarial::Pair;
use crate::shared::evaluate_generator;
use crate::shared::tensors::{self, read_scalars};
use crate::{
    Batch, ClassSampler, Hyper, Judge, NoiseSampler, Result, SampleGrid, Scalar, StreamRequest,
    Variant,
};

const GRID_COLS: usize = 8;

pub struct Conditional {
    cfg: ConditionalConfig,
    hyper: Hyper,
    nets: Pair<Generator, ConditionalD>,
}

impl Conditional {
    pub fn new(cfg: ConditionalConfig, hyper: &Hyper, device: &Device) -> Self {
        let (g, d) = nets::init(&cfg, device);
        Self {
            nets: Pair::new(g, d, hyper, device),
            hyper: hyper.clone(),
            cfg,
        }
    }

    /// Images of `labels` by the inference form of G, from noise seeded with `seed`.
    fn draw(&self, labels: &[u8], seed: u64) -> Vec<f32> {
        let g = self.nets.g.valid();
        let inner = self.nets.device.clone().inner();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(labels.len() * IMAGE_PIXELS);
        for chunk in labels.chunks(500) {
            let images = generate(&g, self.cfg.latent_dim, chunk, &mut rng, &inner);
            out.extend(tensors::pixels(images));
        }
        out
    }
}

/// The classes in turn (0, 1, ..., 9, 0, ...), `n` of them.
fn classes_in_turn(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % NUM_CLASSES) as u8).collect()
}

impl Variant for Conditional {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![StreamRequest {
            name: "images".into(),
            classes: None,
            batches: self.cfg.d_steps,
        }]
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let adv = self.cfg.adversarial();
        let (latent_dim, aux_weight) = (self.cfg.latent_dim, self.cfg.aux_weight);
        let mut round = ClassRound::new(adv, latent_dim, aux_weight, batch, &self.nets.device);
        read_scalars(adv.alternate(&mut self.nets, &self.hyper, &mut round))
    }

    /// One row per class, labelled with its name; the same noise in every row.
    fn sample_grid(&self) -> SampleGrid {
        let g = self.nets.g.valid();
        let inner = self.nets.device.clone().inner();
        let z = tensors::seeded_noise(GRID_COLS, self.cfg.latent_dim, self.hyper.seed, &inner);
        let z = z.repeat_dim(0, NUM_CLASSES);
        let labels: Vec<u8> = (0..NUM_CLASSES as u8)
            .flat_map(|c| std::iter::repeat_n(c, GRID_COLS))
            .collect();
        let images = g.forward(Tensor::cat(vec![z, one_hot(&labels, &inner)], 1));
        SampleGrid {
            rows: NUM_CLASSES,
            cols: GRID_COLS,
            pixels: tensors::pixels(images),
            row_labels: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>> {
        evaluate_generator(self, judge, samples, seed)
    }

    fn noise(&self) -> Option<&dyn NoiseSampler> {
        Some(self)
    }

    fn classes(&self) -> Option<&dyn ClassSampler> {
        Some(self)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        self.nets.save(dir, "")
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.nets.load(dir, "")
    }
}

impl NoiseSampler for Conditional {
    /// Classes in turn (0, 1, ..., 9, 0, ...).
    fn generate(&self, n: usize, seed: u64) -> Vec<f32> {
        self.draw(&classes_in_turn(n), seed)
    }

    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn generate_from_noise(&self, noise: &[f32], labels: Option<&[u8]>) -> Vec<f32> {
        let inner = self.nets.device.clone().inner();
        let z = tensors::noise_tensor(noise, self.cfg.latent_dim, &inner);
        let labels = match labels {
            Some(l) => l.to_vec(),
            None => classes_in_turn(z.dims()[0]),
        };
        let images = self
            .nets
            .g
            .valid()
            .forward(Tensor::cat(vec![z, one_hot(&labels, &inner)], 1));
        tensors::pixels(images)
    }
}

impl ClassSampler for Conditional {
    fn num_classes(&self) -> usize {
        NUM_CLASSES
    }

    fn generate_labeled(&self, labels: &[u8], seed: u64) -> Vec<f32> {
        self.draw(labels, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Conditioning;
    use super::super::nets::label_tensor;
    use super::*;
    use crate::nets::Arch;

    fn hyper() -> Hyper {
        crate::shared::test_hyper(4, 10)
    }

    fn batch(device: &Device) -> Batch {
        let images = Tensor::<4>::zeros([4, 1, 28, 28], device);
        let labels = label_tensor(&[0, 3, 7, 9], device);
        Batch {
            streams: vec![crate::Stream { images, labels }],
            step: 1,
            seed: 5,
        }
    }

    #[test]
    fn every_conditioning_trains_and_samples_the_requested_class() {
        let device = Device::flex().autodiff();
        for conditioning in [
            Conditioning::Concat,
            Conditioning::Projection,
            Conditioning::AuxClassifier,
        ] {
            for arch in [Arch::Mlp, Arch::Dcgan] {
                let cfg = ConditionalConfig {
                    arch,
                    conditioning,
                    ..Default::default()
                };
                let mut v = Conditional::new(cfg, &hyper(), &device);
                let scalars = v.train_step(&batch(&device));
                assert!(
                    scalars.iter().all(|s| s.value.is_finite()),
                    "{conditioning:?}: {scalars:?}"
                );
                let has_class_loss = scalars.iter().any(|s| s.name == "class_loss_d");
                assert_eq!(has_class_loss, conditioning == Conditioning::AuxClassifier);
                let grid = v.sample_grid();
                assert_eq!(
                    (grid.rows, grid.cols, grid.pixels.len()),
                    (10, 8, 80 * IMAGE_PIXELS)
                );
                assert_eq!(grid.row_labels[7], "Sneaker");
                let images = v.generate_labeled(&[7, 7, 2], 3);
                assert_eq!(images.len(), 3 * IMAGE_PIXELS);
                assert_eq!(v.classes().map(|c| c.num_classes()), Some(10));
            }
        }
    }

    #[test]
    fn the_label_changes_the_image() {
        let device = Device::flex().autodiff();
        let v = Conditional::new(ConditionalConfig::default(), &hyper(), &device);
        // Same noise seed, different class: different images.
        let a = v.generate_labeled(&[1], 9);
        let b = v.generate_labeled(&[8], 9);
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-4));
        assert_eq!(a, v.generate_labeled(&[1], 9));
    }
}
