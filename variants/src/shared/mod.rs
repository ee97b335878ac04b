//! What the variants share, so that no variant imports another:
//!
//! - [`adversarial`]: the adversarial settings, one optimiser update, and
//!   the alternating D/G step of a generator/discriminator pair;
//! - [`tensors`]: seeded noise, images and scalars in and out of tensors;
//! - [`checkpoint`]: the files a variant's checkpoint is made of;
//! - here: what a noise generator (vanilla, conditional, StackGAN) shares:
//!   its [`Purpose`], latent-size validation, its FID objective and its
//!   evaluation ([`evaluate_generator`]).
//!
//! May import the crate's interface (`variant.rs`), `losses`, `metric` and
//! `nets`; never a variant's folder.

pub mod adversarial;
pub mod checkpoint;
pub mod tensors;

use crate::metric::{Better, Objective};
use crate::{Judge, Purpose, Result, Scalar, Variant, VariantError};

/// What a noise generator is for.
pub const FROM_NOISE: Purpose = Purpose {
    what: "it generates images from noise",
    command: "gan-lab sample RUN --n 64 --out grid.png",
};

/// Problems with a noise size, for the variants that sample noise.
pub fn validate_latent_dim(latent_dim: usize) -> Option<(String, String)> {
    (!(1..=4096).contains(&latent_dim)).then(|| {
        (
            "latent_dim".to_string(),
            format!("latent_dim is {latent_dim}; use a size from 1 to 4096 (100 is usual)"),
        )
    })
}

/// The score that picks the best checkpoint of a noise generator: FID when evaluated.
pub fn fid_objective(scores: &[&str]) -> Option<Objective> {
    scores.contains(&"fid").then(|| Objective {
        key: "fid".into(),
        better: Better::Lower,
    })
}

/// Scores a noise generator the usual way: `samples` images against the
/// whole test split and, for a class-conditional one, the classes in turn
/// with the conditional scores.
pub fn evaluate_generator(
    variant: &dyn Variant,
    judge: &dyn Judge,
    samples: usize,
    seed: u64,
) -> Result<Vec<Scalar>> {
    if let Some(classes) = variant.classes() {
        let k = classes.num_classes();
        let labels: Vec<u8> = (0..samples).map(|i| (i % k) as u8).collect();
        let pixels = classes.generate_labeled(&labels, seed);
        let mut scores = judge.image_scores(&pixels)?;
        scores.extend(judge.class_scores(&pixels, &labels)?);
        return Ok(scores);
    }
    let Some(noise) = variant.noise() else {
        return Err(VariantError::Judge(
            "this variant does not generate from noise".into(),
        ));
    };
    judge.image_scores(&noise.generate(samples, seed))
}

/// Training settings for the variants' unit tests: the specs' Adam, seed 1.
#[cfg(test)]
pub fn test_hyper(batch_size: usize, total_steps: u64) -> crate::Hyper {
    crate::Hyper {
        batch_size,
        lr_g: 2e-4,
        lr_d: 2e-4,
        beta1: 0.5,
        beta2: 0.999,
        seed: 1,
        total_steps,
    }
}
