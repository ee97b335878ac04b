//! The evaluator: a small Fashion-MNIST classifier whose penultimate
//! features and class probabilities the scores are computed on (as TF-GAN
//! does for MNIST; Inception weights cannot be had here and suit 28x28
//! greyscale poorly).
//!
//! It is trained once per data set and evaluator version and cached under
//! `<cache>/evaluator/v<version>-<data hash>/`, so every run on the same data
//! is scored by the same network.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::TensorData;
use burn::tensor::activation::{relu, softmax};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::data::{self, Dataset, IMAGE_PIXELS, Split, to_unit_range};

/// Bump when the architecture or training changes: old caches are then ignored.
pub const VERSION: u32 = 1;
/// Width of the feature vector the distribution scores use.
pub const FEATURE_DIM: usize = 128;
pub const CLASSES: usize = 10;
const EPOCHS: usize = 4;
const BATCH: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("could not write the evaluator cache in {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "stopped while training the evaluator; nothing was cached, so the next run that scores trains it again"
    )]
    Stopped,
    #[error("the cached evaluator in {} is unreadable; delete that folder to retrain it", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = EvaluatorError> = std::result::Result<T, E>;

#[derive(Module, Debug)]
pub struct EvaluatorNet {
    c1: Conv2d,
    bn1: BatchNorm,
    c2: Conv2d,
    bn2: BatchNorm,
    pool: MaxPool2d,
    fc1: Linear,
    drop: Dropout,
    fc2: Linear,
}

impl EvaluatorNet {
    pub fn new(device: &Device) -> Self {
        let conv = |c: [usize; 2]| {
            Conv2dConfig::new(c, [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            c1: conv([1, 32]),
            bn1: BatchNormConfig::new(32).init(device),
            c2: conv([32, 64]),
            bn2: BatchNormConfig::new(64).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(64 * 7 * 7, FEATURE_DIM).init(device),
            drop: DropoutConfig::new(0.3).init(),
            fc2: LinearConfig::new(FEATURE_DIM, CLASSES).init(device),
        }
    }

    /// Images `[n, 1, 28, 28]` in `[-1, 1]` to (features `[n, 128]`, logits `[n, 10]`).
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let x = self
            .pool
            .forward(relu(self.bn1.forward(self.c1.forward(x))));
        let x = self
            .pool
            .forward(relu(self.bn2.forward(self.c2.forward(x))));
        let features = relu(self.fc1.forward(x.flatten(1, 3)));
        let logits = self.fc2.forward(self.drop.forward(features.clone()));
        (features, logits)
    }
}

/// What is known about a trained evaluator (stored beside its weights).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct EvaluatorInfo {
    pub version: u32,
    /// SHA-256 of the four data files it was trained and tested on.
    pub data_hash: String,
    pub test_accuracy: f64,
    pub epochs: usize,
    pub train_seconds: f64,
}

impl EvaluatorInfo {
    /// Short id recorded with every score: version and data hash.
    pub fn id(&self) -> String {
        format!(
            "v{}-{}",
            self.version,
            &self.data_hash[..16.min(self.data_hash.len())]
        )
    }
}

/// A trained evaluator on a plain (non-autodiff) device.
pub struct Evaluator {
    net: EvaluatorNet,
    device: Device,
    pub info: EvaluatorInfo,
    pub dir: PathBuf,
}

/// The cache folder of the evaluator for the data with hash `data_hash`.
pub fn cache_folder(cache_root: &Path, data_hash: &str) -> PathBuf {
    cache_root.join("evaluator").join(format!(
        "v{VERSION}-{}",
        &data_hash[..16.min(data_hash.len())]
    ))
}

impl Evaluator {
    /// The cached evaluator for the data in `data_dir`, trained first if there is none.
    pub fn load_or_train(
        cache_root: &Path,
        data_dir: &Path,
        device: &Device,
        progress: bool,
        stop: &AtomicBool,
    ) -> Result<Self> {
        let hash = data::data_hash(data_dir)?;
        let dir = cache_folder(cache_root, &hash);
        if dir.join("info.json").is_file() {
            return Self::load(&dir, device);
        }
        Self::train(cache_root, data_dir, device, progress, stop)
    }

    /// Loads a cached evaluator.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let read = |e: Box<dyn std::error::Error + Send + Sync>| EvaluatorError::Read {
            path: dir.to_path_buf(),
            source: e,
        };
        let text = std::fs::read_to_string(dir.join("info.json")).map_err(|e| read(Box::new(e)))?;
        let info: EvaluatorInfo = serde_json::from_str(&text).map_err(|e| read(Box::new(e)))?;
        let record = ModuleRecord::load(dir.join("model.bpk")).map_err(|e| read(Box::new(e)))?;
        let net = EvaluatorNet::new(device).load_record(record);
        Ok(Self {
            net,
            device: device.clone(),
            info,
            dir: dir.to_path_buf(),
        })
    }

    /// Trains a fresh evaluator on the train split, measures it on the test
    /// split and caches it (replacing any cached one for the same data).
    /// `stop` (Ctrl-C) ends the training between two batches.
    pub fn train(
        cache_root: &Path,
        data_dir: &Path,
        device: &Device,
        progress: bool,
        stop: &AtomicBool,
    ) -> Result<Self> {
        let hash = data::data_hash(data_dir)?;
        let train = data::load_split(data_dir, Split::Train)?;
        let test = data::load_split(data_dir, Split::Test)?;
        let started = Instant::now();
        let net = train_net(&train, device, progress, stop).ok_or(EvaluatorError::Stopped)?;
        let mut evaluator = Self {
            net: net.valid(),
            device: device.clone(),
            info: EvaluatorInfo {
                version: VERSION,
                data_hash: hash.clone(),
                test_accuracy: 0.0,
                epochs: EPOCHS,
                train_seconds: 0.0,
            },
            dir: cache_folder(cache_root, &hash),
        };
        evaluator.info.train_seconds = started.elapsed().as_secs_f64();
        evaluator.info.test_accuracy = evaluator.accuracy(&test);
        evaluator.save()?;
        Ok(evaluator)
    }

    fn save(&self) -> Result<()> {
        let write = |e: Box<dyn std::error::Error + Send + Sync>| EvaluatorError::Write {
            path: self.dir.clone(),
            source: e,
        };
        // Per process, so that two processes training at once cannot mix files.
        let incoming = self
            .dir
            .with_extension(format!("incoming-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&incoming);
        std::fs::create_dir_all(&incoming).map_err(|e| write(Box::new(e)))?;
        self.net
            .clone()
            .into_record()
            .save(incoming.join("model.bpk"))
            .map_err(|e| write(Box::new(e)))?;
        let info = serde_json::to_string_pretty(&self.info).map_err(|e| write(Box::new(e)))?;
        std::fs::write(incoming.join("info.json"), info).map_err(|e| write(Box::new(e)))?;
        let _ = std::fs::remove_dir_all(&self.dir);
        std::fs::rename(&incoming, &self.dir).map_err(|e| write(Box::new(e)))
    }

    /// Features (`n * 128`) and class probabilities (`n * 10`) of `n` images
    /// given as `n * 784` pixels in `[-1, 1]`.
    pub fn outputs(&self, pixels: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let n = pixels.len() / IMAGE_PIXELS;
        let mut features = Vec::with_capacity(n * FEATURE_DIM);
        let mut probs = Vec::with_capacity(n * CLASSES);
        for start in (0..n).step_by(500) {
            let size = (n - start).min(500);
            let chunk = pixels[start * IMAGE_PIXELS..(start + size) * IMAGE_PIXELS].to_vec();
            let x = Tensor::from_data(TensorData::new(chunk, [size, 1, 28, 28]), &self.device);
            let (f, logits) = self.net.forward(x);
            features.extend(to_vec(f));
            probs.extend(to_vec(softmax(logits, 1)));
        }
        (features, probs)
    }

    /// Share of `set` classified correctly.
    pub fn accuracy(&self, set: &Dataset) -> f64 {
        let pixels = to_unit_range(&set.images.pixels);
        let (_, probs) = self.outputs(&pixels);
        let correct = probs
            .chunks(CLASSES)
            .zip(&set.labels)
            .filter(|(p, label)| argmax(p) == **label as usize)
            .count();
        correct as f64 / set.labels.len().max(1) as f64
    }
}

pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap_or_default()
}

/// The trained network, or `None` when `stop` was set first.
fn train_net(
    train: &Dataset,
    device: &Device,
    progress: bool,
    stop: &AtomicBool,
) -> Option<EvaluatorNet> {
    device.seed(0);
    let ad = device.clone().autodiff();
    let mut net = EvaluatorNet::new(&ad);
    let mut optim = AdamConfig::new().init();
    let loss_fn = CrossEntropyLossConfig::new().init(&ad);
    let pixels = to_unit_range(&train.images.pixels);
    let n = train.labels.len();
    let steps_per_epoch = n / BATCH;
    let bar = if progress {
        ProgressBar::new((EPOCHS * steps_per_epoch) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "training the evaluator [{bar:30}] {pos}/{len} {msg} [{elapsed} < {eta}]",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = StdRng::seed_from_u64(0);
    for epoch in 0..EPOCHS {
        order.shuffle(&mut rng);
        // Step decay: the last epoch at a tenth of the rate.
        let lr = if epoch + 1 == EPOCHS { 1e-4 } else { 1e-3 };
        for step in 0..steps_per_epoch {
            if stop.load(Ordering::SeqCst) {
                bar.finish_and_clear();
                return None;
            }
            let idx = &order[step * BATCH..(step + 1) * BATCH];
            let mut x = Vec::with_capacity(BATCH * IMAGE_PIXELS);
            for &i in idx {
                x.extend_from_slice(&pixels[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]);
            }
            let y: Vec<i64> = idx.iter().map(|&i| train.labels[i] as i64).collect();
            let x = Tensor::from_data(TensorData::new(x, [BATCH, 1, 28, 28]), &ad);
            let y = Tensor::from_data(TensorData::new(y, [BATCH]), &ad);
            let (_, logits) = net.forward(x);
            let loss = loss_fn.forward(logits, y);
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(lr, net, grads);
            if step % 50 == 0 {
                bar.set_message(format!(
                    "epoch {}/{EPOCHS} loss {:.3}",
                    epoch + 1,
                    loss.into_scalar::<f32>()
                ));
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Some(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_probabilities() {
        let device = Device::flex();
        let net = EvaluatorNet::new(&device);
        let evaluator = Evaluator {
            net,
            device,
            info: EvaluatorInfo {
                version: VERSION,
                data_hash: "0".repeat(64),
                test_accuracy: 0.0,
                epochs: 0,
                train_seconds: 0.0,
            },
            dir: PathBuf::new(),
        };
        let (features, probs) = evaluator.outputs(&vec![0.0; 3 * IMAGE_PIXELS]);
        assert_eq!(
            (features.len(), probs.len()),
            (3 * FEATURE_DIM, 3 * CLASSES)
        );
        for p in probs.chunks(CLASSES) {
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), 1);
    }
}
