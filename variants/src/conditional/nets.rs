//! The conditional variant's networks: the shared MLP/DCGAN generator,
//! which takes the one-hot label beside the noise, and a discriminator
//! with the parts of its conditioning (label planes, a projection, or a
//! class head).

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, rngs::StdRng};

use super::{ConditionalConfig, Conditioning};
use crate::Loss;
use crate::classes::NUM_CLASSES;
use crate::nets::{Discriminator, Generator, NetsConfig};
use crate::shared::tensors::normal;

/// The discriminator with its conditioning parts (trained by one optimiser).
#[derive(Module, Debug)]
pub struct ConditionalD {
    net: Discriminator,
    /// Projection: the class embedding, a bias-free linear map of the one-hot label.
    embed: Option<Linear>,
    /// AC-GAN: the class head on D's features.
    classify: Option<Linear>,
}

/// The generator and the discriminator for `cfg`, the discriminator built first.
pub fn init(cfg: &ConditionalConfig, device: &Device) -> (Generator, ConditionalD) {
    let concat = cfg.conditioning == Conditioning::Concat;
    let nets = NetsConfig::new(cfg.arch, cfg.latent_dim)
        .with_g_extra_inputs(NUM_CLASSES)
        .with_d_batch_norm(cfg.loss != Loss::WganGp)
        .with_d_extra_inputs(if concat { NUM_CLASSES } else { 0 });
    let net = nets.init_discriminator(device);
    let width = net.feature_width();
    let d = ConditionalD {
        embed: (cfg.conditioning == Conditioning::Projection).then(|| {
            LinearConfig::new(NUM_CLASSES, width)
                .with_bias(false)
                .init(device)
        }),
        classify: (cfg.conditioning == Conditioning::AuxClassifier)
            .then(|| LinearConfig::new(width, NUM_CLASSES).init(device)),
        net,
    };
    (nets.init_generator(device), d)
}

impl ConditionalD {
    /// Adversarial scores `[n, 1]` and, for AC-GAN, class logits `[n, 10]`.
    pub fn forward(&self, x: Tensor<4>, onehot: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        match (&self.embed, &self.classify) {
            (Some(embed), _) => {
                let features = self.net.features(x, None);
                let projection = (embed.forward(onehot) * features.clone()).sum_dim(1);
                (self.net.head(features) + projection, None)
            }
            (None, Some(classify)) => {
                let features = self.net.features(x, None);
                (
                    self.net.head(features.clone()),
                    Some(classify.forward(features)),
                )
            }
            (None, None) => (self.net.head(self.net.features(x, Some(onehot))), None),
        }
    }
}

/// Images of `labels` from `g`, noise `[n, latent_dim]` drawn from `rng`.
pub fn generate(
    g: &Generator,
    latent_dim: usize,
    labels: &[u8],
    rng: &mut StdRng,
    device: &Device,
) -> Tensor<4> {
    let z = normal(rng, [labels.len(), latent_dim], device);
    g.forward(Tensor::cat(vec![z, one_hot(labels, device)], 1))
}

/// `n` labels drawn uniformly from the classes.
pub fn random_labels(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| rng.random_range(0..NUM_CLASSES as u8))
        .collect()
}

/// The one-hot rows `[n, classes]` of `labels`.
pub fn one_hot(labels: &[u8], device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; labels.len() * NUM_CLASSES];
    for (i, &label) in labels.iter().enumerate() {
        values[i * NUM_CLASSES + label as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(values, [labels.len(), NUM_CLASSES]), device)
}

/// `labels` as a tensor `[n]`.
pub fn label_tensor(labels: &[u8], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(values, [labels.len()]), device)
}
