//! The history pool of generated images each CycleGAN discriminator trains on.

use rand::{Rng, rngs::StdRng};

use crate::nets::IMAGE_PIXELS;

/// The history of generated images a discriminator trains on (Shrivastava
/// et al. 2017): until full it stores and returns each new image; then each
/// new image is, with probability one half, swapped for a random stored one
/// (which is returned), otherwise returned as is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImagePool {
    size: usize,
    /// Stored images, `IMAGE_PIXELS` values each.
    pub(super) images: Vec<f32>,
}

impl ImagePool {
    pub fn new(size: usize) -> Self {
        Self {
            size,
            images: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.images.len() / IMAGE_PIXELS
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// The images to show the discriminator in place of `batch` (`n * 784` values).
    pub fn query(&mut self, batch: &[f32], rng: &mut StdRng) -> Vec<f32> {
        if self.size == 0 {
            return batch.to_vec();
        }
        let mut out = Vec::with_capacity(batch.len());
        for image in batch.chunks(IMAGE_PIXELS) {
            if self.len() < self.size {
                self.images.extend_from_slice(image);
                out.extend_from_slice(image);
            } else if rng.random::<f32>() < 0.5 {
                let k = rng.random_range(0..self.size) * IMAGE_PIXELS;
                let slot = &mut self.images[k..k + IMAGE_PIXELS];
                out.extend_from_slice(slot);
                slot.copy_from_slice(image);
            } else {
                out.extend_from_slice(image);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn image(v: f32) -> Vec<f32> {
        vec![v; IMAGE_PIXELS]
    }

    #[test]
    fn the_pool_fills_then_swaps_about_half() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut pool = ImagePool::new(2);
        // Filling: every image is stored and returned as is.
        assert_eq!(pool.query(&image(1.0), &mut rng), image(1.0));
        assert_eq!(pool.query(&image(2.0), &mut rng), image(2.0));
        assert_eq!(pool.len(), 2);
        // Full: each new image comes back or is swapped for a stored one.
        let mut swapped = 0;
        for k in 0..200 {
            let new = 10.0 + k as f32;
            let out = pool.query(&image(new), &mut rng);
            assert_eq!(pool.len(), 2);
            if out[0] != new {
                swapped += 1;
                assert!(out.iter().all(|&v| v == out[0]));
                assert!(pool.images.chunks(IMAGE_PIXELS).any(|i| i[0] == new));
            }
        }
        assert!((70..130).contains(&swapped), "{swapped} of 200 swapped");
        // The same seed draws the same choices; size 0 passes images through.
        let run = |seed| {
            let mut pool = ImagePool::new(1);
            let mut rng = StdRng::seed_from_u64(seed);
            (0..20)
                .map(|k| pool.query(&image(k as f32), &mut rng)[0])
                .collect::<Vec<f32>>()
        };
        assert_eq!(run(5), run(5));
        let mut off = ImagePool::new(0);
        assert_eq!(off.query(&image(4.0), &mut rng), image(4.0));
        assert!(off.is_empty());
    }
}
