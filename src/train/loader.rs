//! Training images in memory and the batches the runner feeds a variant.
//!
//! The batch for step `s` is a pure function of the seed and `s`: each
//! stream walks an endless sequence of epochs, each epoch a seeded
//! permutation. A resumed run therefore sees exactly the batches an
//! uninterrupted one would have seen.

use burn::prelude::*;
use burn::tensor::TensorData;
use gan_lab_variants::{Batch, IMAGE_PIXELS, Stream, StreamRequest};

use crate::data::byte_to_unit;
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};

/// Images as floats in `[-1, 1]` with their labels.
pub struct TrainSet {
    pixels: Vec<f32>,
    labels: Vec<u8>,
}

impl TrainSet {
    /// From 28x28 byte images; keeps `classes` only (if given), then the first `limit`.
    pub fn new(pixels: &[u8], labels: &[u8], classes: Option<&[u8]>, limit: Option<usize>) -> Self {
        let keep: Vec<usize> = (0..labels.len())
            .filter(|&i| classes.is_none_or(|c| c.contains(&labels[i])))
            .take(limit.unwrap_or(usize::MAX))
            .collect();
        let mut out = Vec::with_capacity(keep.len() * IMAGE_PIXELS);
        for &i in &keep {
            out.extend(
                pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
                    .iter()
                    .map(|&p| byte_to_unit(p)),
            );
        }
        Self {
            pixels: out,
            labels: keep.iter().map(|&i| labels[i]).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn indices_of(&self, classes: Option<&[u8]>) -> Vec<u32> {
        (0..self.len() as u32)
            .filter(|&i| classes.is_none_or(|c| c.contains(&self.labels[i as usize])))
            .collect()
    }
}

struct StreamState {
    request: StreamRequest,
    members: Vec<u32>,
    epoch: Option<(u64, Vec<u32>)>,
}

/// Hands out the batches of each step.
pub struct Loader {
    set: TrainSet,
    streams: Vec<StreamState>,
    batch_size: usize,
    seed: u64,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "stream `{stream}` has {available} training images but one step needs {needed} (batch_size x {batches}); lower train.batch_size or widen data.classes / data.limit"
)]
pub struct TooFewImages {
    pub stream: String,
    pub available: usize,
    pub needed: usize,
    pub batches: usize,
}

impl Loader {
    pub fn new(
        set: TrainSet,
        requests: Vec<StreamRequest>,
        batch_size: usize,
        seed: u64,
    ) -> Result<Self, TooFewImages> {
        let mut streams = Vec::new();
        for request in requests {
            let members = set.indices_of(request.classes.as_deref());
            let needed = batch_size * request.batches.max(1);
            if members.len() < needed {
                return Err(TooFewImages {
                    stream: request.name,
                    available: members.len(),
                    needed,
                    batches: request.batches,
                });
            }
            streams.push(StreamState {
                request,
                members,
                epoch: None,
            });
        }
        Ok(Self {
            set,
            streams,
            batch_size,
            seed,
        })
    }

    /// Every training image (`n * 784` values in `[-1, 1]`) and its class.
    pub fn train_set(&self) -> (&[f32], &[u8]) {
        (&self.set.pixels, &self.set.labels)
    }

    /// Real images consumed per step, over all streams.
    pub fn images_per_step(&self) -> usize {
        self.streams
            .iter()
            .map(|s| s.request.batches.max(1) * self.batch_size)
            .sum()
    }

    /// The batch of step `step` (counted from 1).
    pub fn batch(&mut self, step: u64, device: &Device) -> Batch {
        let seed = self.seed;
        let batch_size = self.batch_size;
        let set = &self.set;
        let streams = self
            .streams
            .iter_mut()
            .enumerate()
            .map(|(k, stream)| {
                let n = batch_size * stream.request.batches.max(1);
                let len = stream.members.len() as u64;
                let first = (step - 1) * n as u64;
                let mut pixels = Vec::with_capacity(n * IMAGE_PIXELS);
                let mut labels = Vec::with_capacity(n);
                for position in first..first + n as u64 {
                    let epoch = position / len;
                    let order = stream.order(epoch, seed, k as u64);
                    let i = order[(position % len) as usize] as usize;
                    pixels.extend_from_slice(&set.pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]);
                    labels.push(set.labels[i] as i64);
                }
                Stream {
                    images: Tensor::from_data(TensorData::new(pixels, [n, 1, 28, 28]), device),
                    labels: Tensor::from_data(TensorData::new(labels, [n]), device),
                }
            })
            .collect();
        Batch {
            streams,
            step,
            seed: step_seed(seed, step),
        }
    }
}

/// Seed of step `step`'s own random draws.
pub fn step_seed(seed: u64, step: u64) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ step.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

impl StreamState {
    fn order(&mut self, epoch: u64, seed: u64, stream: u64) -> &[u32] {
        if self.epoch.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let mut order = self.members.clone();
            let mixed = seed
                ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ stream.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
            order.shuffle(&mut StdRng::seed_from_u64(mixed));
            self.epoch = Some((epoch, order));
        }
        &self.epoch.as_ref().expect("set above").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(n: usize) -> TrainSet {
        let pixels: Vec<u8> = (0..n)
            .flat_map(|i| std::iter::repeat_n(i as u8, IMAGE_PIXELS))
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        TrainSet::new(&pixels, &labels, None, None)
    }

    fn ids(batch: &Batch) -> Vec<i64> {
        let images = batch.streams[0].images.clone();
        let [n, ..] = images.dims();
        let firsts = images
            .reshape([n, IMAGE_PIXELS])
            .narrow(1, 0, 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        firsts
            .into_iter()
            .map(|v| i64::from(crate::data::unit_to_byte(v)))
            .collect()
    }

    fn request(classes: Option<Vec<u8>>) -> StreamRequest {
        StreamRequest {
            name: "images".into(),
            classes,
            batches: 1,
        }
    }

    #[test]
    fn pixels_scale_to_minus_one_one_and_filter_applies() {
        let pixels = [
            vec![0u8; IMAGE_PIXELS],
            vec![255u8; IMAGE_PIXELS],
            vec![51u8; IMAGE_PIXELS],
        ]
        .concat();
        let s = TrainSet::new(&pixels, &[3, 5, 3], Some(&[3]), None);
        assert_eq!(s.len(), 2);
        assert_eq!(s.pixels[0], -1.0);
        assert!((s.pixels[IMAGE_PIXELS] - (51.0 / 127.5 - 1.0)).abs() < 1e-6);
        assert_eq!(TrainSet::new(&pixels, &[3, 5, 3], None, Some(1)).len(), 1);
    }

    #[test]
    fn epochs_cover_every_image_once_and_batches_are_reproducible() {
        let device = Device::flex();
        let mut a = Loader::new(set(20), vec![request(None)], 5, 7).unwrap();
        let mut seen: Vec<i64> = (1..=4).flat_map(|s| ids(&a.batch(s, &device))).collect();
        seen.sort();
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
        // Same seed, any order of asking: same batch for the same step.
        let mut b = Loader::new(set(20), vec![request(None)], 5, 7).unwrap();
        assert_eq!(ids(&a.batch(6, &device)), ids(&b.batch(6, &device)));
        let mut c = Loader::new(set(20), vec![request(None)], 5, 8).unwrap();
        assert_ne!(ids(&a.batch(6, &device)), ids(&c.batch(6, &device)));
    }

    #[test]
    fn class_streams_and_too_few_images() {
        let device = Device::flex();
        let mut l = Loader::new(set(40), vec![request(Some(vec![2]))], 3, 1).unwrap();
        let labels = l.batch(1, &device).streams[0]
            .labels
            .clone()
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(labels, vec![2, 2, 2]);
        let e = Loader::new(set(40), vec![request(Some(vec![2]))], 5, 1)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("has 4 training images but one step needs 5"),
            "{e}"
        );
    }
}
