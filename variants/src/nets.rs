//! Generator and discriminator networks shared by the variants: the classic MLP
//! GAN of the Keras Fashion-MNIST workbook and the reference DCGAN of
//! `shared/bench/torch_dcgan.py`, layer for layer.
//!
//! Images are `[batch, 1, 28, 28]` in `[-1, 1]`; discriminators return raw
//! scores (logits) `[batch, 1]`, so every loss can be applied on top.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use gan_lab_ops::{self as ops, leaky_relu, tanh};
use serde::{Deserialize, Serialize};

/// Side of a Fashion-MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

const LEAK: f64 = 0.2;

/// Which network pair a variant trains; its name (`mlp`, `dcgan`) is the
/// one runs store in their description.
#[derive(
    Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display,
)]
#[strum(serialize_all = "snake_case")]
pub enum Arch {
    /// MLP GAN: G 256-512-1024 (LeakyReLU, batch norm, tanh), D 512-256 (LeakyReLU).
    Mlp,
    /// DCGAN: G linear to 128x7x7 then two transposed convolutions; D two convolutions.
    Dcgan,
}

/// Hyper-parameters of the networks.
#[derive(Config, Debug)]
pub struct NetsConfig {
    pub arch: Arch,
    pub latent_dim: usize,
    /// Extra inputs appended to the generator's noise (conditioning).
    #[config(default = 0)]
    pub g_extra_inputs: usize,
    /// Use batch norm in the discriminator (off for WGAN-GP, whose penalty is per sample).
    #[config(default = true)]
    pub d_batch_norm: bool,
    /// Extra discriminator inputs (conditioning): features for the MLP,
    /// constant input planes for the DCGAN.
    #[config(default = 0)]
    pub d_extra_inputs: usize,
}

impl NetsConfig {
    pub fn init_generator(&self, device: &Device) -> Generator {
        let input = self.latent_dim + self.g_extra_inputs;
        match self.arch {
            Arch::Mlp => Generator::Mlp(MlpGenerator::new(input, device)),
            Arch::Dcgan => Generator::Dcgan(DcganGenerator::new(input, device)),
        }
    }

    pub fn init_discriminator(&self, device: &Device) -> Discriminator {
        match self.arch {
            Arch::Mlp => Discriminator::Mlp(MlpDiscriminator::new(self.d_extra_inputs, device)),
            Arch::Dcgan => Discriminator::Dcgan(DcganDiscriminator::new(
                self.d_batch_norm,
                self.d_extra_inputs,
                device,
            )),
        }
    }
}

// One network per run: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Generator {
    Mlp(MlpGenerator),
    Dcgan(DcganGenerator),
}

impl Generator {
    /// Noise `[batch, latent]` to images `[batch, 1, 28, 28]` in `[-1, 1]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        match self {
            Generator::Mlp(g) => g.forward(z),
            Generator::Dcgan(g) => g.forward(z),
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Discriminator {
    Mlp(MlpDiscriminator),
    Dcgan(DcganDiscriminator),
}

impl Discriminator {
    /// Images to raw scores `[batch, 1]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head(self.features(x, None))
    }

    /// Penultimate features `[batch, width]`, with optional extra inputs
    /// `[batch, d_extra_inputs]` joined to the image (concat conditioning).
    pub fn features(&self, x: Tensor<4>, extra: Option<Tensor<2>>) -> Tensor<2> {
        match self {
            Discriminator::Mlp(d) => d.features(x, extra),
            Discriminator::Dcgan(d) => d.features(x, extra),
        }
    }

    /// Width of [`Discriminator::features`].
    pub fn feature_width(&self) -> usize {
        match self {
            Discriminator::Mlp(_) => 256,
            Discriminator::Dcgan(_) => 128 * 7 * 7,
        }
    }

    /// Final linear layer on the features.
    pub fn head(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Discriminator::Mlp(d) => d.out.forward(features),
            Discriminator::Dcgan(d) => d.fc.forward(features),
        }
    }
}

#[derive(Module, Debug)]
pub struct MlpGenerator {
    fc1: Linear,
    bn1: BatchNorm,
    fc2: Linear,
    bn2: BatchNorm,
    fc3: Linear,
    bn3: BatchNorm,
    out: Linear,
}

/// Keras' `BatchNormalization(momentum=0.8)` keeps 80% of the running value:
/// burn's momentum is the share of the new batch.
fn keras_batch_norm(features: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(features)
        .with_momentum(0.2)
        .with_epsilon(1e-3)
        .init(device)
}

impl MlpGenerator {
    fn new(input: usize, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(input, 256).init(device),
            bn1: keras_batch_norm(256, device),
            fc2: LinearConfig::new(256, 512).init(device),
            bn2: keras_batch_norm(512, device),
            fc3: LinearConfig::new(512, 1024).init(device),
            bn3: keras_batch_norm(1024, device),
            out: LinearConfig::new(1024, IMAGE_PIXELS).init(device),
        }
    }

    fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let x = ops::batch_norm(&self.bn1, leaky_relu(self.fc1.forward(z), LEAK));
        let x = ops::batch_norm(&self.bn2, leaky_relu(self.fc2.forward(x), LEAK));
        let x = ops::batch_norm(&self.bn3, leaky_relu(self.fc3.forward(x), LEAK));
        let [batch, _] = x.dims();
        tanh(self.out.forward(x)).reshape([batch, 1, IMAGE_SIDE, IMAGE_SIDE])
    }
}

#[derive(Module, Debug)]
pub struct MlpDiscriminator {
    fc1: Linear,
    fc2: Linear,
    out: Linear,
}

impl MlpDiscriminator {
    fn new(extra_inputs: usize, device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(IMAGE_PIXELS + extra_inputs, 512).init(device),
            fc2: LinearConfig::new(512, 256).init(device),
            out: LinearConfig::new(256, 1).init(device),
        }
    }

    fn features(&self, x: Tensor<4>, extra: Option<Tensor<2>>) -> Tensor<2> {
        let mut x = x.flatten(1, 3);
        if let Some(extra) = extra {
            x = Tensor::cat(vec![x, extra], 1);
        }
        let x = leaky_relu(self.fc1.forward(x), LEAK);
        leaky_relu(self.fc2.forward(x), LEAK)
    }
}

#[derive(Module, Debug)]
pub struct DcganGenerator {
    fc: Linear,
    bn0: BatchNorm,
    up1: ConvTranspose2d,
    bn1: BatchNorm,
    up2: ConvTranspose2d,
}

impl DcganGenerator {
    fn new(input: usize, device: &Device) -> Self {
        let up = |channels: [usize; 2]| {
            ConvTranspose2dConfig::new(channels, [4, 4])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .init(device)
        };
        Self {
            fc: LinearConfig::new(input, 128 * 7 * 7).init(device),
            bn0: BatchNormConfig::new(128).init(device),
            up1: up([128, 64]),
            bn1: BatchNormConfig::new(64).init(device),
            up2: up([64, 1]),
        }
    }

    fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [batch, _] = z.dims();
        let x = self.fc.forward(z).reshape([batch, 128, 7, 7]);
        let x = ops::batch_norm_relu(&self.bn0, x);
        let x = ops::batch_norm_relu(&self.bn1, ops::conv_transpose2d(&self.up1, x));
        tanh(ops::conv_transpose2d(&self.up2, x))
    }
}

#[derive(Module, Debug)]
pub struct DcganDiscriminator {
    c1: Conv2d,
    c2: Conv2d,
    bn2: Option<BatchNorm>,
    fc: Linear,
}

impl DcganDiscriminator {
    fn new(batch_norm: bool, extra_planes: usize, device: &Device) -> Self {
        let down = |channels: [usize; 2]| {
            Conv2dConfig::new(channels, [4, 4])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            c1: down([1 + extra_planes, 64]),
            c2: down([64, 128]),
            bn2: batch_norm.then(|| BatchNormConfig::new(128).init(device)),
            fc: LinearConfig::new(128 * 7 * 7, 1).init(device),
        }
    }

    fn features(&self, x: Tensor<4>, extra: Option<Tensor<2>>) -> Tensor<2> {
        let x = match extra {
            Some(extra) => {
                let [n, c] = extra.dims();
                let planes = extra
                    .reshape([n, c, 1, 1])
                    .expand([n, c, IMAGE_SIDE, IMAGE_SIDE]);
                Tensor::cat(vec![x, planes], 1)
            }
            None => x,
        };
        let x = ops::conv2d_leaky_relu(&self.c1, x, LEAK);
        let x = ops::conv2d(&self.c2, x);
        let x = match &self.bn2 {
            Some(bn) => ops::batch_norm_leaky_relu(bn, x, LEAK),
            None => leaky_relu(x, LEAK),
        };
        x.flatten(1, 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_the_reference_architectures() {
        let device = Device::flex();
        for arch in [Arch::Mlp, Arch::Dcgan] {
            let cfg = NetsConfig::new(arch, 100);
            let g = cfg.init_generator(&device);
            let d = cfg.init_discriminator(&device);
            let z = Tensor::<2>::zeros([3, 100], &device);
            let images = g.forward(z);
            assert_eq!(images.dims(), [3, 1, 28, 28]);
            assert_eq!(d.forward(images).dims(), [3, 1]);
        }
    }

    #[test]
    fn dcgan_parameter_count_matches_pytorch() {
        // Layer by layer as in torch_dcgan.py; burn also counts batch norm's running mean and variance.
        let device = Device::flex();
        let cfg = NetsConfig::new(Arch::Dcgan, 100);
        assert_eq!(
            cfg.init_generator(&device).num_params(),
            100 * 6272
                + 6272
                + 2 * 128
                + 128 * 64 * 16
                + 64
                + 2 * 64
                + 64 * 16
                + 1
                + 2 * 128
                + 2 * 64
        );
        assert_eq!(
            cfg.init_discriminator(&device).num_params(),
            16 * 64 + 64 + 64 * 128 * 16 + 128 + 2 * 128 + 6272 + 1 + 2 * 128
        );
    }
}
