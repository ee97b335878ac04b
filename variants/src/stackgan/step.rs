//! StackGAN's training step: captions written for the batch's images (and
//! mismatched ones), then per stage that trains, one matching-aware update
//! of its discriminator and one of its generator ([`update_stage`]).

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, softplus};
use rand::{SeedableRng, rngs::StdRng};

use super::captions::Thresholds;
use super::model::StackGan;
use super::nets::{Condition, StageD, Tokens, kl};
use super::vocabulary::Vocabulary;
use crate::shared::adversarial::{Pair, update};
use crate::shared::tensors::{self, normal, read_scalars};
use crate::{Batch, Hyper, IMAGE_PIXELS, Scalar};

impl StackGan {
    /// One training step on `batch` (see the module header).
    pub(super) fn step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real = batch.streams[0].images.clone();
        let labels = tensors::labels(&batch.streams[0].labels);
        let pixels = tensors::pixels(real.clone());
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
        let z = normal(&mut rng, [n, latent], &self.device);
        let eps1 = normal(&mut rng, [n, cd], &self.device);
        let eps2 = normal(&mut rng, [n, cd], &self.device);
        let (train1, train2) = match self.cfg.stage1_steps {
            None => (true, true),
            Some(k) => (batch.step <= k, batch.step > k),
        };
        let kl_weight = self.cfg.kl_weight;
        let mut report = Vec::new();
        let mut trained = Vec::new();

        let stage1 = if train1 {
            let (fake1, cond1) = self.stage1.g.forward(z, &right, eps1);
            let stage = update_stage(
                &mut self.stage1,
                &self.hyper,
                pool2(real.clone()),
                fake1.clone(),
                cond1,
                (&right, &wrong),
                kl_weight,
            );
            report.extend([
                ("loss_d_stage1", stage.loss_d.clone()),
                ("loss_g_stage1", stage.loss_g.clone()),
            ]);
            trained.push(stage);
            fake1.detach()
        } else {
            // Stage-I is frozen: its inference form, so not even its batch
            // statistics move.
            let tokens = Tokens {
                ids: right.ids.clone().inner(),
                mask: right.mask.clone().inner(),
            };
            let (low, _) = self
                .stage1
                .g
                .valid()
                .forward(z.inner(), &tokens, eps1.inner());
            Tensor::from_inner(low)
        };

        if train2 {
            let (fake2, cond2) = self.stage2.g.forward(stage1, &right, eps2);
            let stage = update_stage(
                &mut self.stage2,
                &self.hyper,
                real,
                fake2,
                cond2,
                (&right, &wrong),
                kl_weight,
            );
            report.extend([
                ("loss_d_stage2", stage.loss_d.clone()),
                ("loss_g_stage2", stage.loss_g.clone()),
            ]);
            trained.push(stage);
        }

        // So that checkpoints and inference see this step's batch statistics.
        self.stage1.g.settle();
        self.stage1.d.settle();
        self.stage2.g.settle();
        self.stage2.d.settle();
        let sum = |part: fn(&StageReport) -> &Tensor<1>| {
            trained
                .iter()
                .map(|s| part(s).clone())
                .reduce(|a, b| a + b)
                .map(Tensor::detach)
                .unwrap_or_else(|| Tensor::zeros([1], &self.device))
        };
        report.extend([
            ("loss_d", sum(|s| &s.loss_d)),
            ("loss_g", sum(|s| &s.loss_g)),
            ("kl", sum(|s| &s.kl)),
        ]);
        if let Some(last) = trained.pop() {
            let [d_real, d_wrong, d_fake] = last.outputs;
            report.extend([
                ("d_real", d_real),
                ("d_wrong", d_wrong),
                ("d_fake", d_fake),
                ("grad_norm_d", last.norm_d),
                ("grad_norm_g", last.norm_g),
            ]);
        }
        read_scalars(report)
    }
}

/// What one stage's update reports.
struct StageReport {
    loss_d: Tensor<1>,
    loss_g: Tensor<1>,
    /// The KL term of the stage's conditioning augmentation.
    kl: Tensor<1>,
    /// D's mean outputs: real image, wrong caption, generated image.
    outputs: [Tensor<1>; 3],
    norm_d: Tensor<1>,
    norm_g: Tensor<1>,
}

/// One update of a stage: its discriminator on `real` against the detached
/// `fake` (matching-aware, with the `right` and `wrong` captions), then its
/// generator through the updated discriminator, with the KL term of its
/// condition weighted by `kl_weight`.
fn update_stage<G: Module>(
    stage: &mut Pair<G, StageD>,
    hyper: &Hyper,
    real: Tensor<4>,
    fake: Tensor<4>,
    cond: Condition,
    (right, wrong): (&Tokens, &Tokens),
    kl_weight: f32,
) -> StageReport {
    let device = stage.device.clone();
    let (loss_d, outputs) = matching_loss(&stage.d, real, fake.clone().detach(), right, wrong);
    let norm_d;
    (stage.d, norm_d) = update(
        stage.d.clone(),
        &mut stage.opt_d,
        hyper.lr_d,
        loss_d.clone(),
        &device,
    );
    let kl = kl(cond.mu, cond.logvar);
    let adv = bce(stage.d.score(stage.d.features(fake), right), true);
    let loss_g = adv + kl.clone() * kl_weight;
    let norm_g;
    (stage.g, norm_g) = update(
        stage.g.clone(),
        &mut stage.opt_g,
        hyper.lr_g,
        loss_g.clone(),
        &device,
    );
    StageReport {
        loss_d,
        loss_g,
        kl,
        outputs,
        norm_d,
        norm_g,
    }
}

/// Images `[n, 1, 28, 28]` averaged over 2x2 blocks: `[n, 1, 14, 14]`.
pub(super) fn pool2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n * c * h / 2, 2, w / 2, 2])
        .mean_dim(3)
        .mean_dim(1)
        .reshape([n, c, h / 2, w / 2])
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
