//! Text to image in two stages after Zhang et al. 2017, "StackGAN: Text to
//! Photo-realistic Image Synthesis with Stacked Generative Adversarial
//! Networks", at Fashion-MNIST scale.
//!
//! Captions come from [`crate::captions`] (class and measured attributes).
//! Each network reads them with its own text encoder; conditioning
//! augmentation turns G's sentence embedding into a sampled condition (with
//! a KL term). Stage-I draws 14x14 images, judged against 2x2 average-pooled
//! real images; Stage-II refines the (detached) Stage-I image to 28x28.
//! Both discriminators are matching-aware: real image with its caption,
//! real image with a caption that differs in a stated field, generated
//! image with its caption; loss real + 0.5 × (wrong + fake).
//!
//! `stage1_steps: None` trains both stages together; `Some(n)` trains
//! Stage-I for n steps, then Stage-II with Stage-I frozen.

mod nets;

use std::path::Path;

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{sigmoid, softplus};
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::adversarial::update;
use crate::captions::{ATTRIBUTES, Caption, CaptionBook, Thresholds, Vocabulary};
use crate::metric::{self, Better, MetricInfo, Objective, Section};
use crate::panel::{Bars, Panel, PanelTable, RunView};
use crate::util::{self, read_scalars};
use crate::vanilla::validate_latent_dim;
use crate::{
    Batch, CLASS_NAMES, CaptionImages, CaptionSampler, Hyper, IMAGE_PIXELS, Judge, Purpose, Result,
    SampleGrid, Scalar, StreamRequest, Variant, VariantConfig, VariantError,
};

pub use nets::kl;
#[cfg(test)]
use nets::nearest2;
use nets::{Stage1G, Stage2G, StageD, Tokens};

const GRID_COLS: usize = 8;
/// Images per generator call when drawing many.
const CHUNK: usize = 500;

/// How each network reads a caption.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoder {
    /// The sum of learned word embeddings.
    Bag,
    /// A GRU over the word embeddings; its last state.
    Gru,
}

impl Encoder {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoder::Bag => "bag",
            Encoder::Gru => "gru",
        }
    }
}

/// The StackGAN variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StackGanConfig {
    pub latent_dim: usize,
    pub encoder: Encoder,
    /// Width of the word and sentence embeddings.
    pub embed_dim: usize,
    /// Width of the condition (conditioning augmentation's output).
    pub cond_dim: usize,
    /// Weight of the KL term of conditioning augmentation.
    pub kl_weight: f32,
    /// `None`: both stages train together; `Some(n)`: Stage-I alone for n
    /// steps, then Stage-II with Stage-I frozen.
    pub stage1_steps: Option<u64>,
    /// Residual blocks of Stage-II at 7x7.
    pub res_blocks: usize,
    /// Generator width (Stage-I starts at 2 x ngf channels, Stage-II works at ngf).
    pub ngf: usize,
    /// Discriminator width (ndf, then 2 x ndf channels).
    pub ndf: usize,
    /// Probability of leaving each attribute out of a training caption.
    pub omit: f32,
}

impl Default for StackGanConfig {
    fn default() -> Self {
        Self {
            latent_dim: 100,
            encoder: Encoder::Bag,
            embed_dim: 64,
            cond_dim: 64,
            kl_weight: 1.0,
            stage1_steps: None,
            res_blocks: 2,
            ngf: 32,
            ndf: 32,
            omit: 0.3,
        }
    }
}

/// What a StackGAN records at each step beside the shared keys.
const STEP_METRICS: &[MetricInfo] = &[
    MetricInfo::new(
        "loss_d_stage1",
        "Stage-I discriminator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_g_stage1",
        "Stage-I generator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_d_stage2",
        "Stage-II discriminator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "loss_g_stage2",
        "Stage-II generator loss",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "kl",
        "conditioning augmentation KL",
        Better::Neither,
        Section::Losses,
    ),
    MetricInfo::new(
        "d_wrong",
        "D(x, wrong caption)",
        Better::Neither,
        Section::DiscriminatorOutputs,
    ),
];

/// The captions of the sample grid: one per class, attributes varied.
fn grid_captions() -> Vec<Caption> {
    (0..10u8)
        .map(|c| Caption {
            class: c,
            attrs: [Some(c % 3), Some((c / 2) % 2), Some((c / 3) % 2)],
        })
        .collect()
}

impl VariantConfig for StackGanConfig {
    fn kind(&self) -> &'static str {
        "stackgan"
    }

    fn purpose(&self) -> Purpose {
        Purpose {
            what: "it generates images from captions",
            command: "gan-lab sample RUN --caption \"a dark dress\" --n 16 --out dress.png",
        }
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let mut all = metric::TRAINING.to_vec();
        all.extend(STEP_METRICS.iter().cloned());
        all.extend(metric::IMAGE_SCORES.iter().cloned());
        all.extend(metric::CAPTION_SCORES.iter().cloned());
        all.extend(metric::class_scores(CLASS_NAMES.len()));
        all
    }

    /// Stage-II's FID when evaluated with FID, else the caption class agreement.
    fn objective(&self, scores: &[&str]) -> Option<Objective> {
        Some(if scores.contains(&"fid") {
            Objective {
                key: "fid".into(),
                better: Better::Lower,
            }
        } else {
            Objective {
                key: "caption_class_acc".into(),
                better: Better::Higher,
            }
        })
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(StackGan::new(self.clone(), hyper, device))
    }

    /// Caption → Stage-I → Stage-II grids and each attribute's agreement
    /// against its chance level.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        let labels: Vec<String> = grid_captions()
            .iter()
            .flat_map(|c| {
                let text = Vocabulary::canonical(c);
                [format!("{text} · Stage-I"), format!("{text} · Stage-II")]
            })
            .collect();
        let rows: Vec<(String, Option<f64>, Option<f64>)> = std::iter::once((
            "class".to_string(),
            run.value("caption_class_acc"),
            Some(0.1),
        ))
        .chain(ATTRIBUTES.iter().map(|a| {
            (
                a.name.to_string(),
                run.value(&format!("attr_acc_{}", a.name)),
                Some(1.0 / a.bins.len() as f64),
            )
        }))
        .collect();
        let measured = rows.iter().any(|r| r.1.is_some());
        let pct = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{:.1}%", 100.0 * v));
        let text = match run.step("caption_class_acc") {
            Some(step) => format!(
                "Encoder: {}; {}. At step {step}, images generated from captions of test images: the share the evaluator assigns to the caption's class, and per attribute the share whose measured bin matches the caption, beside the share a random image would match (chance). Grid rows: each caption's Stage-I image (14x14, upscaled) above its Stage-II image.",
                self.encoder.as_str(),
                self.stages()
            ),
            None => format!(
                "Encoder: {}; {}. No evaluation was recorded, so there is no caption agreement; add an `eval` section to the spec to measure it. Grid rows: each caption's Stage-I image above its Stage-II image.",
                self.encoder.as_str(),
                self.stages()
            ),
        };
        Some(Panel {
            title: "Captions: agreement against chance".into(),
            text,
            bars: measured.then(|| Bars {
                title: "agreement with the caption (class, then each attribute)".into(),
                labels: rows.iter().map(|r| r.0.clone()).collect(),
                values: rows.iter().map(|r| r.1.unwrap_or(0.0)).collect(),
                max: Some(1.0),
            }),
            table: measured.then(|| PanelTable {
                header: vec!["field".into(), "agreement".into(), "chance".into()],
                rows: rows
                    .iter()
                    .map(|r| vec![r.0.clone(), pct(r.1), pct(r.2)])
                    .collect(),
            }),
            grid_row_labels: Some(labels),
        })
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems: Vec<_> = validate_latent_dim(self.latent_dim).into_iter().collect();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        for (field, value, usual) in [
            ("embed_dim", self.embed_dim, 64),
            ("cond_dim", self.cond_dim, 64),
            ("ngf", self.ngf, 32),
            ("ndf", self.ndf, 32),
        ] {
            if !(4..=1024).contains(&value) {
                bad(
                    field,
                    format!("{field} is {value}; use 4 to 1024 ({usual} is usual)"),
                );
            }
        }
        if self.res_blocks > 16 {
            bad(
                "res_blocks",
                format!(
                    "res_blocks is {}; use 0 to 16 (2 is usual)",
                    self.res_blocks
                ),
            );
        }
        if !(self.kl_weight.is_finite() && self.kl_weight >= 0.0) {
            bad(
                "kl_weight",
                format!(
                    "kl_weight is {}; use a non-negative number (1 is usual)",
                    self.kl_weight
                ),
            );
        }
        if !(0.0..1.0).contains(&self.omit) {
            bad(
                "omit",
                format!(
                    "omit is {}; use a probability from 0 up to below 1 (0.3 is usual)",
                    self.omit
                ),
            );
        }
        if self.stage1_steps == Some(0) {
            bad(
                "stage1_steps",
                "stage1_steps is Some(0); use None to train both stages together, or Some(n) with n > 0 for Stage-I first".into(),
            );
        }
        problems
    }

    fn describe(&self) -> String {
        format!("{} / {}", self.encoder.as_str(), self.stages())
    }
}

impl StackGanConfig {
    fn stages(&self) -> String {
        match self.stage1_steps {
            None => "stages trained jointly".into(),
            Some(n) => format!("Stage-I for {n} steps, then Stage-II"),
        }
    }
}

pub struct StackGan {
    cfg: StackGanConfig,
    hyper: Hyper,
    device: Device,
    book: CaptionBook,
    g1: Stage1G,
    d1: StageD,
    g2: Stage2G,
    d2: StageD,
    opt_g1: ModuleOptimizer,
    opt_d1: ModuleOptimizer,
    opt_g2: ModuleOptimizer,
    opt_d2: ModuleOptimizer,
}

/// Images `[n, 1, 28, 28]` averaged over 2x2 blocks: `[n, 1, 14, 14]`.
fn pool2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n * c * h / 2, 2, w / 2, 2])
        .mean_dim(3)
        .mean_dim(1)
        .reshape([n, c, h / 2, w / 2])
}

/// 14x14 pixel images (flat) upscaled to 28x28 by repeating each pixel 2x2.
pub fn upscale2(pixels: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len() * 4);
    for image in pixels.chunks(196) {
        for y in 0..28 {
            out.extend((0..28).map(|x| image[(y / 2) * 14 + x / 2]));
        }
    }
    out
}

/// 28x28 pixel images (flat) averaged over 2x2 blocks to 14x14.
pub fn downscale2(pixels: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(pixels.len() / 4);
    for image in pixels.chunks(IMAGE_PIXELS) {
        for y in 0..14 {
            for x in 0..14 {
                let at = |dy: usize, dx: usize| image[(2 * y + dy) * 28 + 2 * x + dx];
                out.push((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) * 0.25);
            }
        }
    }
    out
}

/// Binary cross-entropy with logits against target 1 (`softplus(-x)`) or 0 (`softplus(x)`).
fn bce(scores: Tensor<2>, real: bool) -> Tensor<1> {
    let x = if real { scores.neg() } else { scores };
    softplus(x, 1.0).mean().reshape([1])
}

/// The matching-aware discriminator loss and D's mean outputs (real, wrong, fake).
fn matching_loss(
    d: &StageD,
    real: Tensor<4>,
    fake: Tensor<4>,
    right: &Tokens,
    wrong: &Tokens,
) -> (Tensor<1>, [Tensor<1>; 3]) {
    let features = d.features(real);
    let s_real = d.score(features.clone(), right);
    let s_wrong = d.score(features, wrong);
    let s_fake = d.score(d.features(fake), right);
    let loss = bce(s_real.clone(), true)
        + (bce(s_wrong.clone(), false) + bce(s_fake.clone(), false)) * 0.5;
    let mean = |s: Tensor<2>| sigmoid(s.detach()).mean().reshape([1]);
    (loss, [mean(s_real), mean(s_wrong), mean(s_fake)])
}

impl StackGan {
    pub fn new(cfg: StackGanConfig, hyper: &Hyper, device: &Device) -> Self {
        let book = CaptionBook::default();
        let v = book.vocabulary.size();
        let adam = AdamConfig::new()
            .with_beta_1(hyper.beta1)
            .with_beta_2(hyper.beta2)
            .with_epsilon(1e-8);
        Self {
            g1: util::initialize(Stage1G::new(&cfg, v, device)),
            d1: util::initialize(StageD::new(&cfg, v, 14, device)),
            g2: util::initialize(Stage2G::new(&cfg, v, device)),
            d2: util::initialize(StageD::new(&cfg, v, 28, device)),
            opt_g1: adam.init(),
            opt_d1: adam.init(),
            opt_g2: adam.init(),
            opt_d2: adam.init(),
            book,
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    /// Token tensors of several token lists, left-padded to the longest.
    fn tokens(lists: &[Vec<u32>], device: &Device) -> Tokens {
        let len = lists.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut ids = Vec::with_capacity(lists.len() * len);
        let mut mask = Vec::with_capacity(lists.len() * len);
        for list in lists {
            let pad = len - list.len();
            ids.extend(std::iter::repeat_n(0i64, pad));
            ids.extend(list.iter().map(|&t| t as i64));
            mask.extend(std::iter::repeat_n(0f32, pad));
            mask.extend(std::iter::repeat_n(1f32, list.len()));
        }
        Tokens {
            ids: Tensor::from_data(TensorData::new(ids, [lists.len(), len]), device),
            mask: Tensor::from_data(TensorData::new(mask, [lists.len(), len]), device),
        }
    }

    /// The tokens of captions this variant wrote itself.
    fn tokens_of(&self, texts: &[String]) -> Vec<Vec<u32>> {
        texts
            .iter()
            .map(|t| {
                self.book
                    .vocabulary
                    .read(t)
                    .map(|r| r.1)
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Stage-I images (upscaled to 28x28) and Stage-II images for token
    /// lists, noise and conditions drawn from `seed`.
    fn draw(&self, lists: &[Vec<u32>], seed: u64) -> (Vec<f32>, Vec<f32>) {
        let inner = self.device.clone().inner();
        let (g1, g2) = (self.g1.valid(), self.g2.valid());
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for chunk in lists.chunks(CHUNK) {
            let n = chunk.len();
            let tokens = Self::tokens(chunk, &inner);
            let z = util::normal(&mut rng, [n, self.cfg.latent_dim], &inner);
            let e1 = util::normal(&mut rng, [n, self.cfg.cond_dim], &inner);
            let e2 = util::normal(&mut rng, [n, self.cfg.cond_dim], &inner);
            let (low, _) = g1.forward(z, &tokens, e1);
            let (high, _) = g2.forward(low.clone(), &tokens, e2);
            first.extend(upscale2(&util::pixels(low)));
            second.extend(util::pixels(high));
        }
        (first, second)
    }

    fn thresholds(&self) -> Result<&Thresholds> {
        self.book.thresholds.as_ref().ok_or_else(|| {
            VariantError::Judge(
                "the caption thresholds are not fitted yet (the run has not trained a step)".into(),
            )
        })
    }
}

fn labels_of(tensor: &Tensor<1, Int>) -> Vec<u8> {
    tensor
        .clone()
        .into_data()
        .convert::<i64>()
        .try_into_vec::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|l| l as u8)
        .collect()
}

impl Variant for StackGan {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![StreamRequest {
            name: "images".into(),
            classes: None,
            batches: 1,
        }]
    }

    fn prepare(&mut self, pixels: &[f32], labels: &[u8]) {
        self.book.thresholds = Some(Thresholds::fit(pixels, labels));
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real = batch.streams[0].images.clone();
        let labels = labels_of(&batch.streams[0].labels);
        let pixels = util::pixels(real.clone());
        // Fitted on the training split by `prepare`; a variant driven without
        // it (a bare test) fits its first batch.
        let thresholds = self
            .book
            .thresholds
            .get_or_insert_with(|| Thresholds::fit(&pixels, &labels))
            .clone();
        let n = labels.len();
        let mut rng = StdRng::seed_from_u64(batch.seed);
        let (mut right, mut wrong) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (image, &label) in pixels.chunks(IMAGE_PIXELS).zip(&labels) {
            let full = thresholds.caption(image, label);
            let (said, text) = Vocabulary::training_caption(&full, self.cfg.omit, &mut rng);
            let mismatch = Vocabulary::mismatch(&said, &mut rng);
            right.push(text);
            wrong.push(Vocabulary::sentence(&mismatch, &mut rng));
        }
        let right = Self::tokens(&self.tokens_of(&right), &self.device);
        let wrong = Self::tokens(&self.tokens_of(&wrong), &self.device);
        let (cd, latent) = (self.cfg.cond_dim, self.cfg.latent_dim);
        let z = util::normal(&mut rng, [n, latent], &self.device);
        let eps1 = util::normal(&mut rng, [n, cd], &self.device);
        let eps2 = util::normal(&mut rng, [n, cd], &self.device);
        let (train1, train2) = match self.cfg.stage1_steps {
            None => (true, true),
            Some(k) => (batch.step <= k, batch.step > k),
        };
        let kl_weight = self.cfg.kl_weight;
        let mut report = Vec::new();
        let (mut loss_d, mut loss_g, mut kl_sum) = (Vec::new(), Vec::new(), Vec::new());
        let mut outputs = None;

        let stage1 = if train1 {
            let (fake1, cond1) = self.g1.forward(z, &right, eps1);
            let (d1_loss, d1_out) = matching_loss(
                &self.d1,
                pool2(real.clone()),
                fake1.clone().detach(),
                &right,
                &wrong,
            );
            let norm_d;
            (self.d1, norm_d) = update(
                self.d1.clone(),
                &mut self.opt_d1,
                self.hyper.lr_d,
                d1_loss.clone(),
                &self.device,
            );
            let kl1 = kl(cond1.mu, cond1.logvar);
            let adv = bce(self.d1.score(self.d1.features(fake1.clone()), &right), true);
            let g1_loss = adv + kl1.clone() * kl_weight;
            let norm_g;
            (self.g1, norm_g) = update(
                self.g1.clone(),
                &mut self.opt_g1,
                self.hyper.lr_g,
                g1_loss.clone(),
                &self.device,
            );
            report.extend([
                ("loss_d_stage1", d1_loss.clone()),
                ("loss_g_stage1", g1_loss.clone()),
            ]);
            loss_d.push(d1_loss);
            loss_g.push(g1_loss);
            kl_sum.push(kl1);
            outputs = Some((d1_out, norm_d, norm_g));
            fake1.detach()
        } else {
            // Stage-I is frozen: its inference form, so not even its batch
            // statistics move.
            let tokens = Tokens {
                ids: right.ids.clone().inner(),
                mask: right.mask.clone().inner(),
            };
            let (low, _) = self.g1.valid().forward(z.inner(), &tokens, eps1.inner());
            Tensor::from_inner(low)
        };

        if train2 {
            let (fake2, cond2) = self.g2.forward(stage1, &right, eps2);
            let (d2_loss, d2_out) =
                matching_loss(&self.d2, real, fake2.clone().detach(), &right, &wrong);
            let norm_d;
            (self.d2, norm_d) = update(
                self.d2.clone(),
                &mut self.opt_d2,
                self.hyper.lr_d,
                d2_loss.clone(),
                &self.device,
            );
            let kl2 = kl(cond2.mu, cond2.logvar);
            let adv = bce(self.d2.score(self.d2.features(fake2), &right), true);
            let g2_loss = adv + kl2.clone() * kl_weight;
            let norm_g;
            (self.g2, norm_g) = update(
                self.g2.clone(),
                &mut self.opt_g2,
                self.hyper.lr_g,
                g2_loss.clone(),
                &self.device,
            );
            report.extend([
                ("loss_d_stage2", d2_loss.clone()),
                ("loss_g_stage2", g2_loss.clone()),
            ]);
            loss_d.push(d2_loss);
            loss_g.push(g2_loss);
            kl_sum.push(kl2);
            outputs = Some((d2_out, norm_d, norm_g));
        }

        // So that checkpoints and inference see this step's batch statistics.
        self.g1.settle();
        self.d1.settle();
        self.g2.settle();
        self.d2.settle();
        let sum = |parts: Vec<Tensor<1>>| {
            parts
                .into_iter()
                .reduce(|a, b| a + b)
                .map(Tensor::detach)
                .unwrap_or_else(|| Tensor::zeros([1], &self.device))
        };
        report.extend([
            ("loss_d", sum(loss_d)),
            ("loss_g", sum(loss_g)),
            ("kl", sum(kl_sum)),
        ]);
        if let Some(([d_real, d_wrong, d_fake], norm_d, norm_g)) = outputs {
            report.extend([
                ("d_real", d_real),
                ("d_wrong", d_wrong),
                ("d_fake", d_fake),
                ("grad_norm_d", norm_d),
                ("grad_norm_g", norm_g),
            ]);
        }
        read_scalars(report)
    }

    /// Per grid caption, a Stage-I row (upscaled) above a Stage-II row; the
    /// same noise in every row, the condition at its mean.
    fn sample_grid(&self) -> SampleGrid {
        let captions = grid_captions();
        let texts: Vec<String> = captions.iter().map(Vocabulary::canonical).collect();
        let lists: Vec<Vec<u32>> = self
            .tokens_of(&texts)
            .into_iter()
            .flat_map(|t| std::iter::repeat_n(t, GRID_COLS))
            .collect();
        // One noise per column: draw GRID_COLS noises and repeat them per row.
        let inner = self.device.clone().inner();
        let z = util::seeded_noise(GRID_COLS, self.cfg.latent_dim, self.hyper.seed, &inner)
            .repeat_dim(0, captions.len());
        let n = lists.len();
        let tokens = Self::tokens(&lists, &inner);
        let eps = Tensor::zeros([n, self.cfg.cond_dim], &inner);
        let (low, _) = self.g1.valid().forward(z, &tokens, eps.clone());
        let (high, _) = self.g2.valid().forward(low.clone(), &tokens, eps);
        let (low, high) = (upscale2(&util::pixels(low)), util::pixels(high));
        let row = GRID_COLS * IMAGE_PIXELS;
        let mut pixels = Vec::with_capacity(2 * n * IMAGE_PIXELS);
        let mut row_labels = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            pixels.extend_from_slice(&low[i * row..(i + 1) * row]);
            pixels.extend_from_slice(&high[i * row..(i + 1) * row]);
            row_labels.push(format!("{text} · Stage-I"));
            row_labels.push(format!("{text} · Stage-II"));
        }
        SampleGrid {
            rows: 2 * captions.len(),
            cols: GRID_COLS,
            pixels,
            row_labels,
        }
    }

    /// Captions of the first `samples` test images (all fields stated):
    /// class and attribute agreement, Stage-II's image scores and Stage-I's
    /// FID; then class-only captions, classes in turn, for the conditional
    /// scores.
    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>> {
        let thresholds = self.thresholds()?;
        let (test, test_labels) = judge.test_set();
        let n = samples.min(test_labels.len());
        let test = &test[..n * IMAGE_PIXELS];
        let captions: Vec<Caption> = test
            .chunks(IMAGE_PIXELS)
            .zip(test_labels)
            .map(|(image, &label)| thresholds.caption(image, label))
            .collect();
        let texts: Vec<String> = captions.iter().map(Vocabulary::canonical).collect();
        let (stage1, stage2) = self.draw(&self.tokens_of(&texts), seed);

        let mut scores = judge.image_scores(&stage2)?;
        if scores.iter().any(|s| s.name == "fid") {
            let reference = upscale2(&downscale2(test));
            scores.push(Scalar::new("fid_stage1", judge.fid(&stage1, &reference)?));
        }
        let predicted = judge.classify(&stage2);
        let share = |hits: usize| hits as f64 / n.max(1) as f64;
        let class_hits = predicted
            .iter()
            .zip(&captions)
            .filter(|(p, c)| **p == c.class)
            .count();
        scores.push(Scalar::new("caption_class_acc", share(class_hits)));
        let measured: Vec<[u8; 3]> = stage2
            .chunks(IMAGE_PIXELS)
            .zip(&captions)
            .map(|(image, c)| thresholds.bins(image, c.class))
            .collect();
        for (a, attr) in ATTRIBUTES.iter().enumerate() {
            let hits = measured
                .iter()
                .zip(&captions)
                .filter(|(m, c)| c.attrs[a] == Some(m[a]))
                .count();
            scores.push(Scalar::new(format!("attr_acc_{}", attr.name), share(hits)));
            scores.push(Scalar::new(
                format!("attr_chance_{}", attr.name),
                1.0 / attr.bins.len() as f64,
            ));
        }

        let classes = CLASS_NAMES.len();
        let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
        let texts: Vec<String> = labels
            .iter()
            .map(|&c| Vocabulary::canonical(&Caption::class_only(c)))
            .collect();
        let (_, by_class) = self.draw(&self.tokens_of(&texts), seed ^ 0x5eed);
        scores.extend(judge.class_scores(&by_class, &labels)?);
        Ok(scores)
    }

    fn captions(&self) -> Option<&dyn CaptionSampler> {
        Some(self)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        util::save_module(&self.g1, dir, "stage1_generator")?;
        util::save_module(&self.d1, dir, "stage1_discriminator")?;
        util::save_module(&self.g2, dir, "stage2_generator")?;
        util::save_module(&self.d2, dir, "stage2_discriminator")?;
        util::save_optimizer(&self.opt_g1, dir, "stage1_optimizer_g")?;
        util::save_optimizer(&self.opt_d1, dir, "stage1_optimizer_d")?;
        util::save_optimizer(&self.opt_g2, dir, "stage2_optimizer_g")?;
        util::save_optimizer(&self.opt_d2, dir, "stage2_optimizer_d")?;
        self.book.save(dir).map_err(|source| VariantError::State {
            path: dir.join("captions.txt"),
            source,
        })
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.book = CaptionBook::load(dir).map_err(|e| VariantError::State {
            path: dir.join("captions.txt"),
            source: std::io::Error::other(e.to_string()),
        })?;
        self.g1 = util::load_module(self.g1.clone(), dir, "stage1_generator")?;
        self.d1 = util::load_module(self.d1.clone(), dir, "stage1_discriminator")?;
        self.g2 = util::load_module(self.g2.clone(), dir, "stage2_generator")?;
        self.d2 = util::load_module(self.d2.clone(), dir, "stage2_discriminator")?;
        self.opt_g1 = util::load_optimizer(self.opt_g1.clone(), dir, "stage1_optimizer_g")?;
        self.opt_d1 = util::load_optimizer(self.opt_d1.clone(), dir, "stage1_optimizer_d")?;
        self.opt_g2 = util::load_optimizer(self.opt_g2.clone(), dir, "stage2_optimizer_g")?;
        self.opt_d2 = util::load_optimizer(self.opt_d2.clone(), dir, "stage2_optimizer_d")?;
        Ok(())
    }
}

impl CaptionSampler for StackGan {
    fn read_caption(&self, text: &str) -> crate::captions::Result<Caption> {
        self.book.vocabulary.read(text).map(|r| r.0)
    }

    fn generate_captioned(
        &self,
        texts: &[String],
        seed: u64,
    ) -> crate::captions::Result<CaptionImages> {
        let lists = texts
            .iter()
            .map(|t| self.book.vocabulary.read(t).map(|r| r.1))
            .collect::<crate::captions::Result<Vec<_>>>()?;
        let (first, second) = self.draw(&lists, seed);
        Ok(CaptionImages {
            stages: vec![("Stage-I", first), ("Stage-II", second)],
        })
    }
}

#[cfg(test)]
mod tests;
