//! The fused layers against burn's own on the DCGAN's shapes at batch 64:
//! one forward and backward pass per iteration (input, weight and bias
//! gradients), on the flex device with autodiff, each on a thread of rayon's
//! pool as the training step runs. `cargo bench -p gan-lab-ops`; a layer's
//! name filters (`cargo bench -p gan-lab-ops -- conv2`).

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::Distribution;
use burn::tensor::activation::{leaky_relu, relu};
use divan::Bencher;

const BATCH: usize = 64;
/// The discriminator's leaky ReLU slope.
const LEAK: f64 = 0.2;
/// Each layer runs through the fused kernels and through burn's own layers.
const WAYS: [&str; 2] = ["fused", "burn"];

/// 20 samples of one iteration each unless the command line says otherwise
/// (`-- --sample-count 100`): a few seconds for all of them.
fn main() {
    divan::Divan::default()
        .sample_count(20)
        .sample_size(1)
        .config_with_args()
        .main();
}

fn device() -> Device {
    Device::flex().autodiff()
}

fn random(shape: [usize; 4]) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device())
}

/// Times `layer`'s forward pass on a fresh copy of `x` and the backward pass
/// of the sum of its output.
fn forward_backward(bencher: Bencher, x: Tensor<4>, layer: impl Fn(Tensor<4>) -> Tensor<4> + Sync) {
    bencher.bench_local(|| {
        rayon::scope(|_| {
            let x = x.clone().detach().require_grad();
            layer(x).sum().backward()
        })
    });
}

/// The discriminator's kernel 4, stride 2, padding 1 convolution.
fn down(channels: [usize; 2]) -> Conv2d {
    Conv2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&device())
}

/// The generator's kernel 4, stride 2, padding 1 transposed convolution.
fn up(channels: [usize; 2]) -> ConvTranspose2d {
    ConvTranspose2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .init(&device())
}

fn batch_norm(features: usize) -> BatchNorm {
    BatchNormConfig::new(features).init(&device())
}

/// D's first layer: conv 1 → 64 channels, 28 → 14, with its leaky ReLU.
#[divan::bench(args = WAYS)]
fn conv1_leaky_relu(bencher: Bencher, way: &str) {
    let conv = down([1, 64]);
    let x = random([BATCH, 1, 28, 28]);
    match way {
        "fused" => forward_backward(bencher, x, |x| {
            gan_lab_ops::conv2d_leaky_relu(&conv, x, LEAK)
        }),
        _ => forward_backward(bencher, x, |x| leaky_relu(conv.forward(x), LEAK)),
    }
}

/// D's second layer: conv 64 → 128 channels, 14 → 7.
#[divan::bench(args = WAYS)]
fn conv2(bencher: Bencher, way: &str) {
    let conv = down([64, 128]);
    let x = random([BATCH, 64, 14, 14]);
    match way {
        "fused" => forward_backward(bencher, x, |x| gan_lab_ops::conv2d(&conv, x)),
        _ => forward_backward(bencher, x, |x| conv.forward(x)),
    }
}

/// G's first transposed convolution: 128 → 64 channels, 7 → 14.
#[divan::bench(args = WAYS)]
fn up1(bencher: Bencher, way: &str) {
    let conv = up([128, 64]);
    let x = random([BATCH, 128, 7, 7]);
    match way {
        "fused" => forward_backward(bencher, x, |x| gan_lab_ops::conv_transpose2d(&conv, x)),
        _ => forward_backward(bencher, x, |x| conv.forward(x)),
    }
}

/// G's last transposed convolution: 64 → 1 channel, 14 → 28.
#[divan::bench(args = WAYS)]
fn up2(bencher: Bencher, way: &str) {
    let conv = up([64, 1]);
    let x = random([BATCH, 64, 14, 14]);
    match way {
        "fused" => forward_backward(bencher, x, |x| gan_lab_ops::conv_transpose2d(&conv, x)),
        _ => forward_backward(bencher, x, |x| conv.forward(x)),
    }
}

/// G's batch norm + ReLU after its first transposed convolution: 64 channels of 14 × 14.
#[divan::bench(args = WAYS)]
fn batch_norm_relu(bencher: Bencher, way: &str) {
    let bn = batch_norm(64);
    let x = random([BATCH, 64, 14, 14]);
    match way {
        "fused" => forward_backward(bencher, x, |x| gan_lab_ops::batch_norm_relu(&bn, x)),
        _ => forward_backward(bencher, x, |x| relu(bn.forward(x))),
    }
}
