//! The vanilla training step: D learns to tell the real batch from fakes
//! drawn from noise, G learns to fool it; the first G update scores the
//! last D update's fakes again (G has not changed in between), as the
//! reference DCGAN does.

use burn::prelude::*;
use rand::{SeedableRng, rngs::StdRng};

use crate::Batch;
use crate::nets::{Discriminator, Generator};
use crate::shared::adversarial::{Adversarial, DLoss, Round};
use crate::shared::tensors::normal;

/// One step's real images, noise and the fakes G's first update reuses.
pub struct NoiseRound {
    adv: Adversarial,
    latent_dim: usize,
    real: Tensor<4>,
    rng: StdRng,
    device: Device,
    /// The last D update's fakes, still attached to G's graph.
    last_fakes: Option<Tensor<4>>,
}

impl NoiseRound {
    pub fn new(adv: Adversarial, latent_dim: usize, batch: &Batch, device: &Device) -> Self {
        Self {
            adv,
            latent_dim,
            real: batch.streams[0].images.clone(),
            rng: StdRng::seed_from_u64(batch.seed),
            device: device.clone(),
            last_fakes: None,
        }
    }

    fn fakes(&mut self, g: &Generator, n: usize) -> Tensor<4> {
        g.forward(normal(&mut self.rng, [n, self.latent_dim], &self.device))
    }
}

impl Round<Generator, Discriminator> for NoiseRound {
    fn d_loss(&mut self, k: usize, g: &Generator, d: &Discriminator) -> DLoss {
        let [total, ..] = self.real.dims();
        let share = self.adv.real_share(k, total);
        let n = share.len();
        let real = self.real.clone().narrow(0, share.start, n);
        let generated = self.fakes(g, n);
        let fake = generated.clone().detach();
        if k + 1 == self.adv.d_steps {
            self.last_fakes = Some(generated);
        }
        let real_scores = d.forward(real.clone());
        let fake_scores = d.forward(fake.clone());
        let loss = self.adv.d_loss(real_scores.clone(), fake_scores.clone());
        let penalty = self
            .adv
            .penalty(|x| d.forward(x), real, fake, &mut self.rng, &self.device);
        DLoss {
            loss,
            real_scores,
            fake_scores,
            extras: Vec::new(),
            penalty,
        }
    }

    fn g_loss(&mut self, _k: usize, g: &Generator, d: &Discriminator) -> Tensor<1> {
        let fakes = match self.last_fakes.take() {
            Some(fakes) => fakes,
            None => {
                let n = self.adv.per_update(self.real.dims()[0]);
                self.fakes(g, n)
            }
        };
        self.adv.loss.g_loss(d.forward(fakes))
    }
}
