//! The CycleGAN variant itself: both generators and discriminators with
//! their optimisers, the history pools, translation by either generator,
//! the six-row sample grid and the checkpoint.

use std::path::Path;

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::tensor::TensorData;

use super::CycleGanConfig;
use super::nets::{Discriminators, Generators, PatchDiscriminator, ResnetGenerator};
use super::pool::ImagePool;
use crate::nets::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::shared::adversarial::adam;
use crate::shared::{checkpoint, tensors};
use crate::{
    Batch, Direction, Hyper, Judge, Result, SampleGrid, Scalar, StreamRequest, Translator, Variant,
};

/// Images per forward pass at inference.
const CHUNK: usize = 256;

/// The rows of the sample grid, top to bottom.
pub(super) const GRID_ROWS: [&str; 6] = ["real A", "G(A)", "F(G(A))", "real B", "F(B)", "G(F(B))"];

pub struct CycleGan {
    pub(super) cfg: CycleGanConfig,
    pub(super) hyper: Hyper,
    pub(super) device: Device,
    pub(super) g: Generators,
    pub(super) d: Discriminators,
    pub(super) opt_g: ModuleOptimizer,
    pub(super) opt_d: ModuleOptimizer,
    pub(super) pool_a: ImagePool,
    pub(super) pool_b: ImagePool,
    /// The fixed inputs of the sample grid: the first images of domains A
    /// and B the run trained on (taken at its first step, then checkpointed).
    pub(super) grid_a: Vec<f32>,
    pub(super) grid_b: Vec<f32>,
}

/// Images `[n, 1, 28, 28]` from flat pixels.
pub(super) fn images_tensor(pixels: &[f32], device: &Device) -> Tensor<4> {
    let n = pixels.len() / IMAGE_PIXELS;
    Tensor::from_data(
        TensorData::new(pixels.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

impl CycleGan {
    pub fn new(cfg: CycleGanConfig, hyper: &Hyper, device: &Device) -> Self {
        let adam = adam(hyper);
        Self {
            g: Generators {
                a2b: ResnetGenerator::new(&cfg, device),
                b2a: ResnetGenerator::new(&cfg, device),
            },
            d: Discriminators {
                a: PatchDiscriminator::new(&cfg, device),
                b: PatchDiscriminator::new(&cfg, device),
            },
            opt_g: adam.init(),
            opt_d: adam.init(),
            pool_a: ImagePool::new(cfg.pool_size),
            pool_b: ImagePool::new(cfg.pool_size),
            grid_a: Vec::new(),
            grid_b: Vec::new(),
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    /// Translations of `pixels` by the inference form of one generator.
    pub(super) fn run_generator(&self, pixels: &[f32], direction: Direction) -> Vec<f32> {
        let g = self.g.valid();
        let net = match direction {
            Direction::AToB => &g.a2b,
            Direction::BToA => &g.b2a,
        };
        let inner = self.device.clone().inner();
        let mut out = Vec::with_capacity(pixels.len());
        for chunk in pixels.chunks(CHUNK * IMAGE_PIXELS) {
            out.extend(tensors::pixels(net.forward(images_tensor(chunk, &inner))));
        }
        out
    }
}

impl Variant for CycleGan {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![
            StreamRequest {
                name: "domain_a".into(),
                classes: Some(self.cfg.domain_a.clone()),
                batches: 1,
            },
            StreamRequest {
                name: "domain_b".into(),
                classes: Some(self.cfg.domain_b.clone()),
                batches: 1,
            },
        ]
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        self.step(batch)
    }

    /// Six labelled rows: real A, G(A), F(G(A)), real B, F(B), G(F(B)).
    fn sample_grid(&self) -> SampleGrid {
        let cols = (self.grid_a.len() / IMAGE_PIXELS).min(self.grid_b.len() / IMAGE_PIXELS);
        let a = &self.grid_a[..cols * IMAGE_PIXELS];
        let b = &self.grid_b[..cols * IMAGE_PIXELS];
        let g_a = self.run_generator(a, Direction::AToB);
        let fg_a = self.run_generator(&g_a, Direction::BToA);
        let f_b = self.run_generator(b, Direction::BToA);
        let gf_b = self.run_generator(&f_b, Direction::AToB);
        SampleGrid {
            rows: 6,
            cols,
            pixels: [a, &g_a, &fg_a, b, &f_b, &gf_b].concat(),
            row_labels: GRID_ROWS.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn evaluate(&self, judge: &dyn Judge, samples: usize, _seed: u64) -> Result<Vec<Scalar>> {
        self.score(judge, samples)
    }

    /// Networks, optimisers, both image pools and the grid's fixed inputs.
    fn save(&self, dir: &Path) -> Result<()> {
        checkpoint::save_module(&self.g, dir, "generators")?;
        checkpoint::save_module(&self.d, dir, "discriminators")?;
        checkpoint::save_optimizer(&self.opt_g, dir, "optimizer_g")?;
        checkpoint::save_optimizer(&self.opt_d, dir, "optimizer_d")?;
        checkpoint::save_images(dir, "pool_a", &self.pool_a.images)?;
        checkpoint::save_images(dir, "pool_b", &self.pool_b.images)?;
        checkpoint::save_images(dir, "grid_a", &self.grid_a)?;
        checkpoint::save_images(dir, "grid_b", &self.grid_b)
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.g = checkpoint::load_module(self.g.clone(), dir, "generators")?;
        self.d = checkpoint::load_module(self.d.clone(), dir, "discriminators")?;
        self.opt_g = checkpoint::load_optimizer(self.opt_g.clone(), dir, "optimizer_g")?;
        self.opt_d = checkpoint::load_optimizer(self.opt_d.clone(), dir, "optimizer_d")?;
        self.pool_a.images = checkpoint::load_images(dir, "pool_a")?;
        self.pool_b.images = checkpoint::load_images(dir, "pool_b")?;
        self.grid_a = checkpoint::load_images(dir, "grid_a")?;
        self.grid_b = checkpoint::load_images(dir, "grid_b")?;
        Ok(())
    }

    fn translator(&self) -> Option<&dyn Translator> {
        Some(self)
    }
}

impl Translator for CycleGan {
    fn domains(&self) -> (Vec<u8>, Vec<u8>) {
        (self.cfg.domain_a.clone(), self.cfg.domain_b.clone())
    }

    fn translate(&self, pixels: &[f32], direction: Direction) -> Vec<f32> {
        self.run_generator(pixels, direction)
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::super::CycleGenerator;
    use super::*;
    use crate::metric;

    fn hyper(total_steps: u64) -> Hyper {
        crate::shared::test_hyper(2, total_steps)
    }

    fn small() -> CycleGanConfig {
        CycleGanConfig {
            generator: CycleGenerator::Resnet { blocks: 1 },
            ngf: 4,
            ndf: 4,
            pool_size: 3,
            ..Default::default()
        }
    }

    fn batch(step: u64, device: &Device) -> Batch {
        let mut rng = StdRng::seed_from_u64(step);
        let stream = |rng: &mut StdRng, label: i64| crate::Stream {
            images: tensors::uniform(rng, [2, 1, 28, 28], device) * 2.0 - 1.0,
            labels: Tensor::from_data(TensorData::new(vec![label; 2], [2]), device),
        };
        Batch {
            streams: vec![stream(&mut rng, 7), stream(&mut rng, 9)],
            step,
            seed: 100 + step,
        }
    }

    #[test]
    fn steps_record_every_term_and_a_restored_model_continues_exactly() {
        let device = Device::flex().autodiff();
        device.seed(4);
        let mut v = CycleGan::new(small(), &hyper(6), &device);
        let mut first = Vec::new();
        for step in 1..=3 {
            first = v.train_step(&batch(step, &device));
        }
        for key in [
            "loss_d",
            "loss_g",
            "loss_d_a",
            "loss_d_b",
            "loss_g_a2b",
            "loss_g_b2a",
            "loss_cycle_a",
            "loss_cycle_b",
            "loss_idt_a",
            "loss_idt_b",
            "lr",
            "acc_real_a",
            "acc_fake_b",
        ] {
            let value = metric::find(&first, key).unwrap_or_else(|| panic!("{key} missing"));
            assert!(value.is_finite(), "{key} = {value}");
        }
        assert_eq!(v.pool_a.len(), 3);
        let grid = v.sample_grid();
        assert_eq!((grid.rows, grid.cols, grid.row_labels.len()), (6, 2, 6));
        assert_eq!(grid.pixels.len(), 12 * IMAGE_PIXELS);
        assert_eq!(grid.pixels[..2 * IMAGE_PIXELS], v.grid_a[..]);

        let dir = std::env::temp_dir().join(format!("cyclegan-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        v.save(&dir).unwrap();
        let mut restored = CycleGan::new(small(), &hyper(6), &device);
        restored.load(&dir).unwrap();
        assert_eq!(restored.pool_b, v.pool_b);
        for step in 4..=6 {
            let a = v.train_step(&batch(step, &device));
            let b = restored.train_step(&batch(step, &device));
            assert_eq!(a, b, "step {step}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let x = vec![0.5; 2 * IMAGE_PIXELS];
        assert_eq!(v.translate(&x, Direction::BToA).len(), x.len());
        assert_eq!(v.domains(), (vec![7], vec![9]));
    }
}
