//! Tensors in and out of the networks: seeded noise, images and labels
//! read back as plain vectors, many scalars read back in one transfer,
//! gradient norms, and initialising every parameter up front.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;

use crate::Scalar;

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

/// L2 norm of all gradients of `module`'s parameters, as a tensor.
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

/// Class labels `[n]` as a vector.
pub fn labels(labels: &Tensor<1, Int>) -> Vec<u8> {
    labels
        .clone()
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|l| l as u8)
        .collect()
}
