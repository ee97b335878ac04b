//! Small pieces every variant needs: seeded noise, gradient norms, reading
//! many scalars back in one transfer, and checkpoint files.

use std::path::Path;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;

use crate::{Result, Scalar, VariantError};

/// Standard normal noise `[n, dim]` from a seeded generator of our own, so
/// that fixed sample noise is the same on every device and after a resume.
pub fn seeded_noise(n: usize, dim: usize, seed: u64, device: &Device) -> Tensor<2> {
    normal(&mut StdRng::seed_from_u64(seed), [n, dim], device)
}

/// Standard normal values drawn from `rng`.
pub fn normal<const D: usize>(rng: &mut StdRng, shape: [usize; D], device: &Device) -> Tensor<D> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| rng.sample::<f32, _>(StandardNormal))
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Given noise vectors (`values.len() / dim` rows) as a tensor.
pub fn noise_tensor(values: &[f32], dim: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len() / dim, dim]),
        device,
    )
}

/// Uniform values in `[0, 1)` drawn from `rng`.
pub fn uniform<const D: usize>(rng: &mut StdRng, shape: [usize; D], device: &Device) -> Tensor<D> {
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count).map(|_| rng.random::<f32>()).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Squared L2 norm of all gradients of `module`'s parameters, as a tensor.
pub fn grad_norm<M: Module>(module: &M, grads: &GradientsParams, device: &Device) -> Tensor<1> {
    struct SumOfSquares<'a> {
        grads: &'a GradientsParams,
        total: Tensor<1>,
    }
    impl ModuleVisitor for SumOfSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.total = self.total.clone() + g.powi_scalar(2).sum();
            }
        }
    }
    let mut visitor = SumOfSquares {
        grads,
        total: Tensor::zeros([1], &device.clone().inner()),
    };
    module.visit(&mut visitor);
    visitor.total.sqrt()
}

/// Initialises every parameter of `module` now: burn draws a parameter's
/// initial values when it is first used, so a network first used at a later
/// step (StackGAN's Stage-II) would otherwise take its values from whatever
/// the device's random generator holds then, and a resumed run from the
/// checkpoint that first touched it.
pub fn initialize<M: Module>(module: M) -> M {
    struct Touch;
    impl ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Touch);
    module
}

/// Reads named one-element tensors back in a single transfer.
pub fn read_scalars(named: Vec<(&'static str, Tensor<1>)>) -> Vec<Scalar> {
    let (names, tensors): (Vec<_>, Vec<_>) = named.into_iter().map(|(n, t)| (n, t.inner())).unzip();
    let values = Tensor::cat(tensors, 0).into_data().convert::<f32>();
    let values = values.as_slice::<f32>().unwrap_or(&[]).to_vec();
    names
        .into_iter()
        .zip(values)
        .map(|(name, value)| Scalar::new(name, value as f64))
        .collect()
}

/// Images tensor `[n, 1, 28, 28]` to a flat pixel vector.
pub fn pixels(images: Tensor<4>) -> Vec<f32> {
    images
        .inner()
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

pub fn save_module<M: Module>(module: &M, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    module
        .clone()
        .into_record()
        .save(&path)
        .map_err(|source| VariantError::Save { path, source })
}

pub fn load_module<M: Module>(module: M, dir: &Path, name: &str) -> Result<M> {
    let path = dir.join(format!("{name}.bpk"));
    let record = ModuleRecord::load(&path).map_err(|source| VariantError::Load { path, source })?;
    Ok(module.load_record(record))
}

pub fn save_optimizer(optim: &ModuleOptimizer, dir: &Path, name: &str) -> Result<()> {
    let path = dir.join(format!("{name}.bpk"));
    optim
        .save(&path)
        .map_err(|source| VariantError::Save { path, source })
}

pub fn load_optimizer(optim: ModuleOptimizer, dir: &Path, name: &str) -> Result<ModuleOptimizer> {
    let path = dir.join(format!("{name}.bpk"));
    optim
        .load(&path)
        .map_err(|source| VariantError::Load { path, source })
}

/// Writes a generator/discriminator pair and their optimisers into `dir`.
pub fn save_pair<G: Module, D: Module>(
    dir: &Path,
    (g, d): (&G, &D),
    (opt_g, opt_d): (&ModuleOptimizer, &ModuleOptimizer),
) -> Result<()> {
    save_module(g, dir, "generator")?;
    save_module(d, dir, "discriminator")?;
    save_optimizer(opt_g, dir, "optimizer_g")?;
    save_optimizer(opt_d, dir, "optimizer_d")
}

/// Restores what [`save_pair`] wrote, in place.
pub fn load_pair<G: Module, D: Module>(
    dir: &Path,
    (g, d): (&mut G, &mut D),
    (opt_g, opt_d): (&mut ModuleOptimizer, &mut ModuleOptimizer),
) -> Result<()> {
    *g = load_module(g.clone(), dir, "generator")?;
    *d = load_module(d.clone(), dir, "discriminator")?;
    *opt_g = load_optimizer(opt_g.clone(), dir, "optimizer_g")?;
    *opt_d = load_optimizer(opt_d.clone(), dir, "optimizer_d")?;
    Ok(())
}

/// Training settings for the variants' unit tests: the specs' Adam, seed 1.
#[cfg(test)]
pub(crate) fn test_hyper(batch_size: usize, total_steps: u64) -> crate::Hyper {
    crate::Hyper {
        batch_size,
        lr_g: 2e-4,
        lr_d: 2e-4,
        beta1: 0.5,
        beta2: 0.999,
        seed: 1,
        total_steps,
    }
}
