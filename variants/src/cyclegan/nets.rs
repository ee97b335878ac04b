//! CycleGAN's networks at 28x28: the ResNet generator (encoder 28→14→7,
//! residual blocks at 7x7, decoder back to 28, tanh) and the PatchGAN
//! discriminator (one score per patch), with optional instance norm.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{InstanceNorm, InstanceNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu, tanh};
use burn::tensor::ops::PadMode;

use super::{CycleGanConfig, CycleGenerator, Norm, Padding};

const LEAK: f64 = 0.2;

fn norm_layer(norm: Norm, channels: usize, device: &Device) -> Option<InstanceNorm> {
    (norm == Norm::Instance).then(|| {
        InstanceNormConfig::new(channels)
            .with_affine(false)
            .init(device)
    })
}

fn normed(x: Tensor<4>, norm: &Option<InstanceNorm>) -> Tensor<4> {
    match norm {
        Some(n) => n.forward(x),
        None => x,
    }
}

fn conv(channels: [usize; 2], kernel: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// A stride-1 convolution that pads by `reflect` pixels of reflection
/// first, or by its own zero padding when `reflect` is 0.
fn padded(conv: &Conv2d, x: Tensor<4>, reflect: usize) -> Tensor<4> {
    if reflect == 0 {
        conv.forward(x)
    } else {
        conv.forward(x.pad((reflect, reflect, reflect, reflect), PadMode::Reflect))
    }
}

/// A stride-1 convolution padded `pad` pixels by `padding`: the convolution
/// itself pads with zeros, or its input is reflected by [`padded`].
fn same_conv(
    channels: [usize; 2],
    kernel: usize,
    padding: Padding,
    device: &Device,
) -> (Conv2d, usize) {
    let pad = kernel / 2;
    match padding {
        Padding::Zero => (conv(channels, kernel, 1, pad, device), 0),
        Padding::Reflect => (conv(channels, kernel, 1, 0, device), pad),
    }
}

/// Two 3x3 convolutions with a skip connection.
#[derive(Module, Debug)]
pub struct ResBlock {
    c1: Conv2d,
    n1: Option<InstanceNorm>,
    c2: Conv2d,
    n2: Option<InstanceNorm>,
    /// Pixels of reflection before each convolution (0: zero padding).
    reflect: usize,
}

impl ResBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = relu(normed(padded(&self.c1, x.clone(), self.reflect), &self.n1));
        x + normed(padded(&self.c2, y, self.reflect), &self.n2)
    }
}

/// The ResNet generator: 7x7 stem, two stride-2 downsamplings, residual
/// blocks at 7x7, two transposed-convolution upsamplings, 7x7 output, tanh.
#[derive(Module, Debug)]
pub struct ResnetGenerator {
    stem: Conv2d,
    n0: Option<InstanceNorm>,
    down1: Conv2d,
    n1: Option<InstanceNorm>,
    down2: Conv2d,
    n2: Option<InstanceNorm>,
    blocks: Vec<ResBlock>,
    up1: ConvTranspose2d,
    n3: Option<InstanceNorm>,
    up2: ConvTranspose2d,
    n4: Option<InstanceNorm>,
    out: Conv2d,
    /// Pixels of reflection before the 7x7 convolutions (0: zero padding).
    reflect: usize,
}

impl ResnetGenerator {
    pub fn new(cfg: &CycleGanConfig, device: &Device) -> Self {
        let f = cfg.ngf;
        let CycleGenerator::Resnet { blocks } = cfg.generator;
        let n = |c| norm_layer(cfg.norm, c, device);
        let up = |channels: [usize; 2]| {
            ConvTranspose2dConfig::new(channels, [3, 3])
                .with_stride([2, 2])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device)
        };
        let (stem, reflect) = same_conv([1, f], 7, cfg.padding, device);
        let (out, _) = same_conv([f, 1], 7, cfg.padding, device);
        let block = || {
            let (c1, reflect) = same_conv([4 * f, 4 * f], 3, cfg.padding, device);
            let (c2, _) = same_conv([4 * f, 4 * f], 3, cfg.padding, device);
            ResBlock {
                c1,
                n1: n(4 * f),
                c2,
                n2: n(4 * f),
                reflect,
            }
        };
        Self {
            stem,
            n0: n(f),
            down1: conv([f, 2 * f], 3, 2, 1, device),
            n1: n(2 * f),
            down2: conv([2 * f, 4 * f], 3, 2, 1, device),
            n2: n(4 * f),
            blocks: (0..blocks).map(|_| block()).collect(),
            up1: up([4 * f, 2 * f]),
            n3: n(2 * f),
            up2: up([2 * f, f]),
            n4: n(f),
            out,
            reflect,
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = relu(normed(padded(&self.stem, x, self.reflect), &self.n0));
        let x = relu(normed(self.down1.forward(x), &self.n1));
        let mut x = relu(normed(self.down2.forward(x), &self.n2));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = relu(normed(self.up1.forward(x), &self.n3));
        let x = relu(normed(self.up2.forward(x), &self.n4));
        tanh(padded(&self.out, x, self.reflect))
    }
}

/// PatchGAN discriminator: 4x4 convolutions 28→14→7→6, then one score per
/// patch (5x5 patches of a 28x28 image).
#[derive(Module, Debug)]
pub struct PatchDiscriminator {
    c1: Conv2d,
    c2: Conv2d,
    n2: Option<InstanceNorm>,
    c3: Conv2d,
    n3: Option<InstanceNorm>,
    out: Conv2d,
}

impl PatchDiscriminator {
    pub fn new(cfg: &CycleGanConfig, device: &Device) -> Self {
        let f = cfg.ndf;
        Self {
            c1: conv([1, f], 4, 2, 1, device),
            c2: conv([f, 2 * f], 4, 2, 1, device),
            n2: norm_layer(cfg.norm, 2 * f, device),
            c3: conv([2 * f, 4 * f], 4, 1, 1, device),
            n3: norm_layer(cfg.norm, 4 * f, device),
            out: conv([4 * f, 1], 4, 1, 1, device),
        }
    }

    /// Scores per patch, `[n, patches]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = leaky_relu(self.c1.forward(x), LEAK);
        let x = leaky_relu(normed(self.c2.forward(x), &self.n2), LEAK);
        let x = leaky_relu(normed(self.c3.forward(x), &self.n3), LEAK);
        self.out.forward(x).flatten(1, 3)
    }
}

/// Both generators, trained by one optimiser as in the reference.
#[derive(Module, Debug)]
pub struct Generators {
    /// G: A to B.
    pub a2b: ResnetGenerator,
    /// F: B to A.
    pub b2a: ResnetGenerator,
}

/// Both discriminators, trained by one optimiser.
#[derive(Module, Debug)]
pub struct Discriminators {
    pub a: PatchDiscriminator,
    pub b: PatchDiscriminator,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(padding: Padding) -> CycleGanConfig {
        CycleGanConfig {
            generator: CycleGenerator::Resnet { blocks: 1 },
            ngf: 2,
            padding,
            ..CycleGanConfig::default()
        }
    }

    #[test]
    fn reflection_padding_has_no_border_on_a_flat_image() {
        let device = Device::flex();
        let flat = Tensor::<4>::ones([1, 1, 6, 6], &device);
        let spread = |padding| {
            let (c, reflect) = same_conv([1, 1], 3, padding, &device);
            let y: Vec<f32> = padded(&c, flat.clone(), reflect)
                .into_data()
                .iter::<f32>()
                .collect();
            assert_eq!(y.len(), 36, "same size out");
            let (lo, hi) = y
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            hi - lo
        };
        // Reflection of a flat image is flat: every output equal. Zeros are a
        // frame the convolution sees at the border.
        assert!(spread(Padding::Reflect) < 1e-5);
        assert!(spread(Padding::Zero) > 1e-3);
    }

    #[test]
    fn both_paddings_keep_the_shape_and_the_parameters() {
        let device = Device::flex();
        let x = Tensor::<4>::zeros([2, 1, 28, 28], &device);
        let zero = ResnetGenerator::new(&config(Padding::Zero), &device);
        let reflect = ResnetGenerator::new(&config(Padding::Reflect), &device);
        assert_eq!(reflect.forward(x.clone()).dims(), [2, 1, 28, 28]);
        assert_eq!(zero.forward(x).dims(), [2, 1, 28, 28]);
        assert_eq!(zero.num_params(), reflect.num_params());
    }

    #[test]
    fn networks_keep_the_image_shape_and_score_patches() {
        let device = Device::flex();
        let cfg = CycleGanConfig::default();
        let x = Tensor::<4>::zeros([3, 1, 28, 28], &device);
        let g = ResnetGenerator::new(&cfg, &device);
        assert_eq!(g.forward(x.clone()).dims(), [3, 1, 28, 28]);
        assert_eq!(
            PatchDiscriminator::new(&cfg, &device).forward(x).dims(),
            [3, 25]
        );
    }
}
