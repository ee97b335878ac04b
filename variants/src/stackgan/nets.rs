//! StackGAN's networks at Fashion-MNIST scale: the text encoder (pooled word
//! embeddings or a GRU), conditioning augmentation, the Stage-I generator
//! (noise + condition → 14x14), the Stage-II generator (Stage-I image
//! encoded 14→7, joined with the condition, residual blocks, 7→14→28) and
//! the matching-aware discriminators of both stages.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::gru::{Gru, GruConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, relu, tanh};

use super::{Encoder, StackGanConfig};

const LEAK: f64 = 0.2;

/// Folds batch norm's pending running-statistics update into its stored
/// value: burn keeps the latest update aside until the next training
/// forward, and a record or inference copy taken before then misses it.
fn settle(norms: &[&BatchNorm]) {
    for bn in norms {
        let _ = bn.running_mean.value_sync();
        let _ = bn.running_var.value_sync();
    }
}

fn conv(channels: [usize; 2], kernel: usize, stride: usize, pad: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .init(device)
}

/// Doubles the side by repeating each pixel 2x2 (nearest-neighbour), as
/// StackGAN's up-blocks do before their 3x3 convolution: unlike a strided
/// transposed convolution it leaves no checkerboard pattern.
pub(super) fn nearest2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n * c * h, 1, w, 1])
        .expand([n * c * h, 2, w, 2])
        .reshape([n, c, 2 * h, 2 * w])
}

/// Doubles the side: 4x4 kernel, stride 2, padding 1.
fn up(channels: [usize; 2], device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new(channels, [4, 4])
        .with_stride([2, 2])
        .with_padding([1, 1])
        .init(device)
}

/// Tokens `[n, len]` (left-padded with 0) and their mask `[n, len]` (1 for a word).
#[derive(Clone, Debug)]
pub struct Tokens {
    pub ids: Tensor<2, Int>,
    pub mask: Tensor<2>,
}

/// Word embeddings pooled into a sentence embedding: their sum, or a GRU's
/// last state. A sum rather than a mean, so that the class word weighs as
/// much in "a photo of a dark wide plain dress" as in "a dress".
#[derive(Module, Debug)]
pub struct TextEncoder {
    embed: Embedding,
    gru: Option<Gru>,
}

impl TextEncoder {
    pub fn new(kind: Encoder, vocabulary: usize, dim: usize, device: &Device) -> Self {
        Self {
            embed: EmbeddingConfig::new(vocabulary, dim).init(device),
            gru: (kind == Encoder::Gru).then(|| GruConfig::new(dim, dim, true).init(device)),
        }
    }

    /// Sentence embeddings `[n, dim]`.
    pub fn forward(&self, tokens: &Tokens) -> Tensor<2> {
        let words = self.embed.forward(tokens.ids.clone());
        let [n, len, dim] = words.dims();
        match &self.gru {
            None => {
                let mask = tokens.mask.clone().reshape([n, len, 1]);
                (words * mask).sum_dim(1).reshape([n, dim])
            }
            Some(gru) => gru
                .forward(words, None)
                .narrow(1, len - 1, 1)
                .reshape([n, dim]),
        }
    }
}

/// Conditioning augmentation: mean and log-variance from the sentence
/// embedding; the condition is `mu + exp(logvar / 2) * eps`.
#[derive(Module, Debug)]
pub struct CondAug {
    fc: Linear,
    cond_dim: usize,
}

/// A sampled condition with the mean and log-variance it came from.
pub struct Condition {
    pub c: Tensor<2>,
    pub mu: Tensor<2>,
    pub logvar: Tensor<2>,
}

impl CondAug {
    fn new(embed_dim: usize, cond_dim: usize, device: &Device) -> Self {
        Self {
            fc: LinearConfig::new(embed_dim, 2 * cond_dim).init(device),
            cond_dim,
        }
    }

    fn forward(&self, embedding: Tensor<2>, eps: Tensor<2>) -> Condition {
        let h = self.fc.forward(embedding);
        let mu = h.clone().narrow(1, 0, self.cond_dim);
        let logvar = h.narrow(1, self.cond_dim, self.cond_dim);
        Condition {
            c: mu.clone() + (logvar.clone() * 0.5).exp() * eps,
            mu,
            logvar,
        }
    }
}

/// The KL divergence of N(mu, exp(logvar)) from N(0, 1), averaged over
/// elements: `-0.5 * mean(1 + logvar - mu^2 - exp(logvar))`.
pub fn kl(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    ((logvar.clone() + 1.0 - mu.powi_scalar(2) - logvar.exp()).mean() * -0.5).reshape([1])
}

/// Replicates `[n, c]` as `c` planes of `side` x `side`.
fn planes(x: Tensor<2>, side: usize) -> Tensor<4> {
    let [n, c] = x.dims();
    x.reshape([n, c, 1, 1]).expand([n, c, side, side])
}

/// Stage-I: noise and condition to a 14x14 image.
#[derive(Module, Debug)]
pub struct Stage1G {
    text: TextEncoder,
    ca: CondAug,
    fc: Linear,
    bn0: BatchNorm,
    up: ConvTranspose2d,
    bn1: BatchNorm,
    out: Conv2d,
    width: usize,
}

impl Stage1G {
    pub fn new(cfg: &StackGanConfig, vocabulary: usize, device: &Device) -> Self {
        let width = 2 * cfg.ngf;
        Self {
            text: TextEncoder::new(cfg.encoder, vocabulary, cfg.embed_dim, device),
            ca: CondAug::new(cfg.embed_dim, cfg.cond_dim, device),
            fc: LinearConfig::new(cfg.latent_dim + cfg.cond_dim, width * 49).init(device),
            bn0: BatchNormConfig::new(width).init(device),
            up: up([width, cfg.ngf], device),
            bn1: BatchNormConfig::new(cfg.ngf).init(device),
            out: conv([cfg.ngf, 1], 3, 1, 1, device),
            width,
        }
    }

    /// Settles the running statistics (see [`settle`]).
    pub fn settle(&self) {
        settle(&[&self.bn0, &self.bn1]);
    }

    /// Images `[n, 1, 14, 14]` in `[-1, 1]` and the condition they used.
    pub fn forward(&self, z: Tensor<2>, tokens: &Tokens, eps: Tensor<2>) -> (Tensor<4>, Condition) {
        let cond = self.ca.forward(self.text.forward(tokens), eps);
        let [n, _] = z.dims();
        let x = self.fc.forward(Tensor::cat(vec![z, cond.c.clone()], 1));
        let x = relu(self.bn0.forward(x.reshape([n, self.width, 7, 7])));
        let x = relu(self.bn1.forward(self.up.forward(x)));
        (tanh(self.out.forward(x)), cond)
    }
}

/// Two 3x3 convolutions with batch norm and a skip connection.
#[derive(Module, Debug)]
pub struct ResBlock {
    c1: Conv2d,
    n1: BatchNorm,
    c2: Conv2d,
    n2: BatchNorm,
}

impl ResBlock {
    fn new(channels: usize, device: &Device) -> Self {
        Self {
            c1: conv([channels, channels], 3, 1, 1, device),
            n1: BatchNormConfig::new(channels).init(device),
            c2: conv([channels, channels], 3, 1, 1, device),
            n2: BatchNormConfig::new(channels).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = relu(self.n1.forward(self.c1.forward(x.clone())));
        relu(x + self.n2.forward(self.c2.forward(y)))
    }
}

/// Stage-II: the Stage-I image and the condition to a 28x28 image.
#[derive(Module, Debug)]
pub struct Stage2G {
    text: TextEncoder,
    ca: CondAug,
    down: Conv2d,
    join: Conv2d,
    bn_join: BatchNorm,
    blocks: Vec<ResBlock>,
    up1: Conv2d,
    bn1: BatchNorm,
    up2: Conv2d,
    bn2: BatchNorm,
    out: Conv2d,
}

impl Stage2G {
    pub fn new(cfg: &StackGanConfig, vocabulary: usize, device: &Device) -> Self {
        let f = cfg.ngf;
        let wide = 2 * f;
        let half = (f / 2).max(1);
        Self {
            text: TextEncoder::new(cfg.encoder, vocabulary, cfg.embed_dim, device),
            ca: CondAug::new(cfg.embed_dim, cfg.cond_dim, device),
            down: conv([1, f], 4, 2, 1, device),
            join: conv([f + cfg.cond_dim, wide], 3, 1, 1, device),
            bn_join: BatchNormConfig::new(wide).init(device),
            blocks: (0..cfg.res_blocks)
                .map(|_| ResBlock::new(wide, device))
                .collect(),
            up1: conv([wide, f], 3, 1, 1, device),
            bn1: BatchNormConfig::new(f).init(device),
            up2: conv([f, half], 3, 1, 1, device),
            bn2: BatchNormConfig::new(half).init(device),
            out: conv([half, 1], 3, 1, 1, device),
        }
    }

    /// Settles the running statistics (see [`settle`]).
    pub fn settle(&self) {
        settle(&[&self.bn_join, &self.bn1, &self.bn2]);
        for b in &self.blocks {
            settle(&[&b.n1, &b.n2]);
        }
    }

    /// Images `[n, 1, 28, 28]` from Stage-I images `[n, 1, 14, 14]`: the
    /// image encoded to 7x7, joined with the condition, residual blocks,
    /// then two up-blocks (nearest 2x, 3x3 convolution) to 14 and 28.
    pub fn forward(
        &self,
        stage1: Tensor<4>,
        tokens: &Tokens,
        eps: Tensor<2>,
    ) -> (Tensor<4>, Condition) {
        let cond = self.ca.forward(self.text.forward(tokens), eps);
        let x = relu(self.down.forward(stage1));
        let x = Tensor::cat(vec![x, planes(cond.c.clone(), 7)], 1);
        let mut x = relu(self.bn_join.forward(self.join.forward(x)));
        for block in &self.blocks {
            x = block.forward(x);
        }
        let x = relu(self.bn1.forward(self.up1.forward(nearest2(x))));
        let x = relu(self.bn2.forward(self.up2.forward(nearest2(x))));
        (tanh(self.out.forward(x)), cond)
    }
}

/// A matching-aware discriminator: image features at 7x7 joined with its
/// own reading of the caption, one score (logit) per image and caption.
#[derive(Module, Debug)]
pub struct StageD {
    text: TextEncoder,
    cond: Linear,
    c1: Conv2d,
    c2: Conv2d,
    bn2: BatchNorm,
    join: Conv2d,
    out: Linear,
}

impl StageD {
    /// For 14x14 images (`side` 14: Stage-I) or 28x28 (`side` 28: Stage-II).
    pub fn new(cfg: &StackGanConfig, vocabulary: usize, side: usize, device: &Device) -> Self {
        let f = cfg.ndf;
        Self {
            text: TextEncoder::new(cfg.encoder, vocabulary, cfg.embed_dim, device),
            cond: LinearConfig::new(cfg.embed_dim, cfg.cond_dim).init(device),
            c1: conv([1, f], 4, 2, 1, device),
            c2: if side == 14 {
                conv([f, 2 * f], 3, 1, 1, device)
            } else {
                conv([f, 2 * f], 4, 2, 1, device)
            },
            bn2: BatchNormConfig::new(2 * f).init(device),
            join: conv([2 * f + cfg.cond_dim, 2 * f], 1, 1, 0, device),
            out: LinearConfig::new(2 * f * 49, 1).init(device),
        }
    }

    /// Settles the running statistics (see [`settle`]).
    pub fn settle(&self) {
        settle(&[&self.bn2]);
    }

    /// Image features `[n, 2 * ndf, 7, 7]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        let x = leaky_relu(self.c1.forward(x), LEAK);
        leaky_relu(self.bn2.forward(self.c2.forward(x)), LEAK)
    }

    /// Scores `[n, 1]` of features with a caption.
    pub fn score(&self, features: Tensor<4>, tokens: &Tokens) -> Tensor<2> {
        let c = leaky_relu(self.cond.forward(self.text.forward(tokens)), LEAK);
        let x = Tensor::cat(vec![features, planes(c, 7)], 1);
        self.out
            .forward(leaky_relu(self.join.forward(x), LEAK).flatten(1, 3))
    }
}
