//! The StackGAN variant itself: both stages' networks and optimisers, the
//! caption book, token tensors, drawing from captions, the sample grid and
//! the checkpoint.

use std::path::Path;

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{SeedableRng, rngs::StdRng};

use super::StackGanConfig;
use super::captions::{Caption, Thresholds};
use super::nets::{Stage1G, Stage2G, StageD, Tokens};
use super::vocabulary::{self, CaptionBook, Vocabulary};
use crate::classes::NUM_CLASSES;
use crate::shared::adversarial::Pair;
use crate::shared::tensors::{self, initialize, normal, seeded_noise};
use crate::{
    Batch, CaptionImages, CaptionSampler, Hyper, IMAGE_PIXELS, Judge, Result, SampleGrid, Scalar,
    StreamRequest, Variant, VariantError,
};

const GRID_COLS: usize = 8;
/// Images per generator call when drawing many.
const CHUNK: usize = 500;

pub struct StackGan {
    pub(super) cfg: StackGanConfig,
    pub(super) hyper: Hyper,
    pub(super) device: Device,
    pub(super) book: CaptionBook,
    /// Stage-I: noise and caption to 14x14.
    pub(super) stage1: Pair<Stage1G, StageD>,
    /// Stage-II: the Stage-I image and caption to 28x28.
    pub(super) stage2: Pair<Stage2G, StageD>,
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

/// The captions of the sample grid: one per class, attributes varied.
pub(super) fn grid_captions() -> Vec<Caption> {
    (0..NUM_CLASSES as u8)
        .map(|c| Caption {
            class: c,
            attrs: [Some(c % 3), Some((c / 2) % 2), Some((c / 3) % 2)],
        })
        .collect()
}

impl StackGan {
    pub fn new(cfg: StackGanConfig, hyper: &Hyper, device: &Device) -> Self {
        let book = CaptionBook::default();
        let v = book.vocabulary.size();
        let stage1 = Pair::new(
            initialize(Stage1G::new(&cfg, v, device)),
            initialize(StageD::new(&cfg, v, 14, device)),
            hyper,
            device,
        );
        let stage2 = Pair::new(
            initialize(Stage2G::new(&cfg, v, device)),
            initialize(StageD::new(&cfg, v, 28, device)),
            hyper,
            device,
        );
        Self {
            stage1,
            stage2,
            book,
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    /// Token tensors of several token lists, left-padded to the longest.
    pub(super) fn tokens(lists: &[Vec<u32>], device: &Device) -> Tokens {
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
    pub(super) fn tokens_of(&self, texts: &[String]) -> Vec<Vec<u32>> {
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
    pub(super) fn draw(&self, lists: &[Vec<u32>], seed: u64) -> (Vec<f32>, Vec<f32>) {
        let inner = self.device.clone().inner();
        let (g1, g2) = (self.stage1.g.valid(), self.stage2.g.valid());
        let mut rng = StdRng::seed_from_u64(seed);
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for chunk in lists.chunks(CHUNK) {
            let n = chunk.len();
            let tokens = Self::tokens(chunk, &inner);
            let z = normal(&mut rng, [n, self.cfg.latent_dim], &inner);
            let e1 = normal(&mut rng, [n, self.cfg.cond_dim], &inner);
            let e2 = normal(&mut rng, [n, self.cfg.cond_dim], &inner);
            let (low, _) = g1.forward(z, &tokens, e1);
            let (high, _) = g2.forward(low.clone(), &tokens, e2);
            first.extend(upscale2(&tensors::pixels(low)));
            second.extend(tensors::pixels(high));
        }
        (first, second)
    }

    pub(super) fn thresholds(&self) -> Result<&Thresholds> {
        self.book.thresholds.as_ref().ok_or_else(|| {
            VariantError::Judge(
                "the caption thresholds are not fitted yet (the run has not trained a step)".into(),
            )
        })
    }
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
        self.step(batch)
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
        let z = seeded_noise(GRID_COLS, self.cfg.latent_dim, self.hyper.seed, &inner)
            .repeat_dim(0, captions.len());
        let n = lists.len();
        let tokens = Self::tokens(&lists, &inner);
        let eps = Tensor::zeros([n, self.cfg.cond_dim], &inner);
        let (low, _) = self.stage1.g.valid().forward(z, &tokens, eps.clone());
        let (high, _) = self.stage2.g.valid().forward(low.clone(), &tokens, eps);
        let (low, high) = (upscale2(&tensors::pixels(low)), tensors::pixels(high));
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
        self.score(judge, samples, seed)
    }

    fn captions(&self) -> Option<&dyn CaptionSampler> {
        Some(self)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        self.stage1.save(dir, "stage1_")?;
        self.stage2.save(dir, "stage2_")?;
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
        self.stage1.load(dir, "stage1_")?;
        self.stage2.load(dir, "stage2_")
    }
}

impl CaptionSampler for StackGan {
    fn read_caption(&self, text: &str) -> vocabulary::Result<Caption> {
        self.book.vocabulary.read(text).map(|r| r.0)
    }

    fn generate_captioned(&self, texts: &[String], seed: u64) -> vocabulary::Result<CaptionImages> {
        let lists = texts
            .iter()
            .map(|t| self.book.vocabulary.read(t).map(|r| r.1))
            .collect::<vocabulary::Result<Vec<_>>>()?;
        let (first, second) = self.draw(&lists, seed);
        Ok(CaptionImages {
            stages: vec![("Stage-I", first), ("Stage-II", second)],
        })
    }
}
