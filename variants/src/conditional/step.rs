//! The conditional training step: D learns real images with their labels
//! against fakes of random labels (with the class loss for AC-GAN), G
//! learns to fool it with fresh fakes of random labels.

use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

use super::nets::{ConditionalD, generate, label_tensor, one_hot, random_labels};
use crate::Batch;
use crate::nets::Generator;
use crate::shared::adversarial::{Adversarial, DLoss, Round};
use crate::shared::tensors::labels;

/// One step's real images with their labels, and its random draws.
pub struct ClassRound {
    adv: Adversarial,
    latent_dim: usize,
    /// Weight of the class losses (AC-GAN).
    aux_weight: f32,
    real: Tensor<4>,
    real_labels: Vec<u8>,
    ce: CrossEntropyLoss,
    rng: StdRng,
    device: Device,
}

impl ClassRound {
    pub fn new(
        adv: Adversarial,
        latent_dim: usize,
        aux_weight: f32,
        batch: &Batch,
        device: &Device,
    ) -> Self {
        Self {
            adv,
            latent_dim,
            aux_weight,
            real: batch.streams[0].images.clone(),
            real_labels: labels(&batch.streams[0].labels),
            ce: CrossEntropyLossConfig::new().init(device),
            rng: StdRng::seed_from_u64(batch.seed),
            device: device.clone(),
        }
    }
}

impl Round<Generator, ConditionalD> for ClassRound {
    fn d_loss(&mut self, k: usize, g: &Generator, d: &ConditionalD) -> DLoss {
        let device = &self.device;
        let [total, ..] = self.real.dims();
        let share = self.adv.real_share(k, total);
        let n = share.len();
        let real = self.real.clone().narrow(0, share.start, n);
        let real_labels = &self.real_labels[share];
        let fake_labels = random_labels(&mut self.rng, n);
        let fake = generate(g, self.latent_dim, &fake_labels, &mut self.rng, device).detach();
        let real_hot = one_hot(real_labels, device);
        let (real_scores, real_class) = d.forward(real.clone(), real_hot.clone());
        let (fake_scores, fake_class) = d.forward(fake.clone(), one_hot(&fake_labels, device));
        let mut loss = self.adv.d_loss(real_scores.clone(), fake_scores.clone());
        let mut extras = Vec::new();
        if let (Some(rc), Some(fc)) = (real_class, fake_class) {
            let class_loss = self.ce.forward(rc, label_tensor(real_labels, device))
                + self.ce.forward(fc, label_tensor(&fake_labels, device));
            loss = loss + class_loss.clone() * self.aux_weight;
            extras.push(("class_loss_d", class_loss));
        }
        let critic = |x: Tensor<4>| d.forward(x, real_hot.clone()).0;
        let penalty = self.adv.penalty(critic, real, fake, &mut self.rng, device);
        DLoss {
            loss,
            real_scores,
            fake_scores,
            extras,
            penalty,
        }
    }

    fn g_loss(&mut self, _k: usize, g: &Generator, d: &ConditionalD) -> Tensor<1> {
        let device = &self.device;
        let n = self.adv.per_update(self.real.dims()[0]);
        let labels = random_labels(&mut self.rng, n);
        let fake = generate(g, self.latent_dim, &labels, &mut self.rng, device);
        let (scores, class) = d.forward(fake, one_hot(&labels, device));
        let loss = self.adv.loss.g_loss(scores);
        match class {
            Some(class) => {
                loss + self.ce.forward(class, label_tensor(&labels, device)) * self.aux_weight
            }
            None => loss,
        }
    }
}
