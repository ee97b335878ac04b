//! The evaluator: a small Fashion-MNIST classifier whose penultimate
//! features and class probabilities the scores are computed on (as TF-GAN
//! does for MNIST; Inception weights cannot be had here and suit 28x28
//! greyscale poorly).
//!
//! The one trained on the official Fashion-MNIST files ships with gan-lab
//! (`src/evaluator/pinned-v1.bpk`, checked against [`PINNED_SHA256`]), so
//! every installation scores those data with the same network and a first run
//! scores at once. For other data an evaluator is trained once per data set
//! and evaluator version and cached under `<cache>/evaluator/v<version>-<data
//! hash>/`. `gan-lab evaluator train` retrains with the same recipe; a
//! retrained one scores only when chosen (`--evaluator DIR`).

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
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Bytes, TensorData};
use gan_lab_ops as ops;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{self, Dataset, IMAGE_PIXELS, Split, to_unit_range};

/// Bump when the architecture or training changes: old caches are then ignored.
pub const VERSION: u32 = 1;
/// Width of the feature vector the distribution scores use.
pub const FEATURE_DIM: usize = 128;
pub const CLASSES: usize = 10;
const EPOCHS: usize = 4;
const BATCH: usize = 128;

/// The weights of the shipped evaluator: this recipe (version 1), trained on
/// the official Fashion-MNIST files, 92.16% test accuracy.
const PINNED_WEIGHTS: &[u8] = include_bytes!("evaluator/pinned-v1.bpk");
/// Its `info.json`, as `evaluator train` wrote it.
const PINNED_INFO: &str = include_str!("evaluator/pinned-v1.json");
/// SHA-256 of [`PINNED_WEIGHTS`]; a build whose file differs refuses to score.
pub const PINNED_SHA256: &str = "6fa46d4eb3902813a206a5c3be5daa4f67781c93e8a44393951cc4b4d20fa8e8";

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
    #[error("stopped while training the evaluator; nothing was written")]
    Stopped,
    #[error("the cached evaluator in {} is unreadable; delete that folder to retrain it", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "no evaluator in {}: it has no info.json and model.bpk; give --evaluator a folder written by `gan-lab evaluator train --out DIR`",
        path.display()
    )]
    NotAnEvaluator { path: PathBuf },
    #[error(
        "the evaluator in {} was trained on other data (data hash {trained_on}) than the data used now ({data}); train one on these data with `gan-lab evaluator train --out DIR`",
        path.display()
    )]
    OtherData {
        path: PathBuf,
        trained_on: String,
        data: String,
    },
    #[error(
        "the evaluator in {} is version {found}; this gan-lab uses version {VERSION}: train one with `gan-lab evaluator train --out DIR`",
        path.display()
    )]
    OtherVersion { path: PathBuf, found: u32 },
    #[error(
        "{} already holds other files; `evaluator train --out` writes into a new or empty folder, or replaces an evaluator: choose another folder",
        path.display()
    )]
    OutNotEmpty { path: PathBuf },
    #[error(
        "the evaluator built into this gan-lab does not match its pinned checksum (sha256 {found}, expected {PINNED_SHA256}); src/evaluator/pinned-v1.bpk was changed: restore it from git and rebuild"
    )]
    PinnedChecksum { found: String },
    #[error(
        "the retrained evaluator (test accuracy {:.2}%) is {:.2} points from the built-in one ({:.2}%), more than the {MAX_POINTS_APART} allowed; it was written to {}",
        100.0 * agreement.accuracy[0],
        agreement.points_apart(),
        100.0 * agreement.accuracy[1],
        path.display()
    )]
    Disagrees { agreement: Agreement, path: PathBuf },
    #[error("the evaluator built into this gan-lab is unreadable")]
    PinnedUnreadable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl EvaluatorError {
    /// Whether the user can fix it (a folder they chose).
    pub fn is_user_error(&self) -> bool {
        match self {
            EvaluatorError::Data(e) => e.is_user_error(),
            EvaluatorError::NotAnEvaluator { .. }
            | EvaluatorError::OtherData { .. }
            | EvaluatorError::OtherVersion { .. }
            | EvaluatorError::OutNotEmpty { .. } => true,
            _ => false,
        }
    }
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
        // The training step's fused layers (burn's own off the flex device).
        let block = |conv: &Conv2d, bn: &BatchNorm, x: Tensor<4>| {
            self.pool
                .forward(ops::batch_norm_relu(bn, ops::conv2d(conv, x)))
        };
        let x = block(&self.c1, &self.bn1, x);
        let x = block(&self.c2, &self.bn2, x);
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
        format!("v{}-{}", self.version, short(&self.data_hash))
    }
}

/// Where the evaluator in use comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// Built into gan-lab: the pinned weights.
    Pinned,
    /// Trained with `gan-lab evaluator train`, loaded from this folder.
    Local(PathBuf),
}

/// A trained evaluator on a plain (non-autodiff) device.
pub struct Evaluator {
    net: EvaluatorNet,
    device: Device,
    pub info: EvaluatorInfo,
    pub source: Source,
    /// SHA-256 of its weights file.
    pub sha256: String,
    /// Folder for what is derived from it (the reference features).
    pub dir: PathBuf,
}

/// The first 16 hex digits of a hash.
fn short(hash: &str) -> String {
    hash[..16.min(hash.len())].to_string()
}

/// The cache folder of the evaluator for the data with hash `data_hash`.
pub fn cache_folder(cache_root: &Path, data_hash: &str) -> PathBuf {
    cache_root
        .join("evaluator")
        .join(format!("v{VERSION}-{}", short(data_hash)))
}

/// What is known about the pinned evaluator, from its `info.json`.
pub fn pinned_info() -> EvaluatorInfo {
    serde_json::from_str(PINNED_INFO).expect("src/evaluator/pinned-v1.json is valid")
}

/// Whether scoring the data with hash `data_hash` first trains an evaluator:
/// none was chosen, none is pinned for these data and none is cached.
pub fn must_train(cache_root: &Path, data_hash: &str, chosen: Option<&Path>) -> bool {
    chosen.is_none()
        && data_hash != pinned_info().data_hash
        && !cache_folder(cache_root, data_hash)
            .join("info.json")
            .is_file()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Evaluator {
    /// The evaluator that scores the data in `data_dir` (whose hash is
    /// `data_hash`): `chosen` (a folder `evaluator train` wrote) when given;
    /// else the pinned one when these are the data it was trained on; else
    /// the one cached for these data, trained and cached first if there is none.
    pub fn select(
        cache_root: &Path,
        data_dir: &Path,
        data_hash: &str,
        chosen: Option<&Path>,
        device: &Device,
        progress: bool,
        stop: &AtomicBool,
    ) -> Result<Self> {
        if let Some(dir) = chosen {
            let evaluator = Self::load(dir, device)?;
            if evaluator.info.data_hash != data_hash {
                return Err(EvaluatorError::OtherData {
                    path: dir.to_path_buf(),
                    trained_on: short(&evaluator.info.data_hash),
                    data: short(data_hash),
                });
            }
            return Ok(evaluator);
        }
        if data_hash == pinned_info().data_hash {
            return Self::pinned(cache_root, device);
        }
        let dir = cache_folder(cache_root, data_hash);
        if dir.join("info.json").is_file() {
            return Self::load(&dir, device);
        }
        Self::train(data_dir, &dir, device, progress, stop)
    }

    /// The evaluator built into gan-lab, its weights checked against
    /// [`PINNED_SHA256`]; what is derived from it is cached under `cache_root`.
    pub fn pinned(cache_root: &Path, device: &Device) -> Result<Self> {
        let sha256 = sha256_hex(PINNED_WEIGHTS);
        if sha256 != PINNED_SHA256 {
            return Err(EvaluatorError::PinnedChecksum { found: sha256 });
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(PINNED_WEIGHTS.to_vec()))
            .map_err(|e| EvaluatorError::PinnedUnreadable(Box::new(e)))?;
        let net = EvaluatorNet::new(device).load_record(record);
        Ok(Self {
            net,
            device: device.clone(),
            info: pinned_info(),
            source: Source::Pinned,
            dir: cache_root
                .join("evaluator")
                .join(format!("pinned-v{VERSION}-{}", &sha256[..16])),
            sha256,
        })
    }

    /// Loads an evaluator that [`Evaluator::train`] wrote into `dir`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let read = |e: Box<dyn std::error::Error + Send + Sync>| EvaluatorError::Read {
            path: dir.to_path_buf(),
            source: e,
        };
        let (info_path, weights_path) = (dir.join("info.json"), dir.join("model.bpk"));
        if !info_path.is_file() || !weights_path.is_file() {
            return Err(EvaluatorError::NotAnEvaluator {
                path: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(info_path).map_err(|e| read(Box::new(e)))?;
        let info: EvaluatorInfo = serde_json::from_str(&text).map_err(|e| read(Box::new(e)))?;
        if info.version != VERSION {
            return Err(EvaluatorError::OtherVersion {
                path: dir.to_path_buf(),
                found: info.version,
            });
        }
        let weights = std::fs::read(weights_path).map_err(|e| read(Box::new(e)))?;
        let sha256 = sha256_hex(&weights);
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
            .map_err(|e| read(Box::new(e)))?;
        let net = EvaluatorNet::new(device).load_record(record);
        Ok(Self {
            net,
            device: device.clone(),
            info,
            source: Source::Local(dir.to_path_buf()),
            sha256,
            dir: dir.to_path_buf(),
        })
    }

    /// The id recorded with every score: version and data hash for the
    /// pinned evaluator; one trained locally adds `-local-` and the start of
    /// its weights' checksum, since two of those differ.
    pub fn id(&self) -> String {
        match self.source {
            Source::Pinned => self.info.id(),
            Source::Local(_) => format!("{}-local-{}", self.info.id(), &self.sha256[..8]),
        }
    }

    /// Trains a fresh evaluator on the train split, measures it on the test
    /// split and writes it into `out` (a new or empty folder, or one holding
    /// an evaluator, which it replaces). `stop` (Ctrl-C) ends the training
    /// between two batches.
    pub fn train(
        data_dir: &Path,
        out: &Path,
        device: &Device,
        progress: bool,
        stop: &AtomicBool,
    ) -> Result<Self> {
        let holds_other_files = std::fs::read_dir(out).is_ok_and(|mut e| e.next().is_some())
            && !out.join("info.json").is_file();
        if holds_other_files {
            return Err(EvaluatorError::OutNotEmpty {
                path: out.to_path_buf(),
            });
        }
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
                data_hash: hash,
                test_accuracy: 0.0,
                epochs: EPOCHS,
                train_seconds: started.elapsed().as_secs_f64(),
            },
            source: Source::Local(out.to_path_buf()),
            sha256: String::new(),
            dir: out.to_path_buf(),
        };
        evaluator.info.test_accuracy = evaluator.accuracy(&test);
        evaluator.save()?;
        Self::load(out, device)
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

    /// The class the evaluator assigns to each image of `set`.
    fn classes(&self, set: &Dataset) -> Vec<usize> {
        let (_, probs) = self.outputs(&to_unit_range(&set.images.pixels));
        probs.chunks(CLASSES).map(argmax).collect()
    }

    /// Share of `set` classified correctly.
    pub fn accuracy(&self, set: &Dataset) -> f64 {
        share(&self.classes(set), &labels(set))
    }

    /// How this evaluator and `other` compare on `set`.
    pub fn agreement(&self, other: &Evaluator, set: &Dataset) -> Agreement {
        let (mine, theirs, truth) = (self.classes(set), other.classes(set), labels(set));
        Agreement {
            accuracy: [share(&mine, &truth), share(&theirs, &truth)],
            same_class: share(&mine, &theirs),
        }
    }
}

/// How far, in points of test accuracy, a retrained evaluator may be from
/// the built-in one and still count as reproducing it.
pub const MAX_POINTS_APART: f64 = 1.0;

/// Two evaluators on one labelled set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// The share each classifies correctly (this one, the other one).
    pub accuracy: [f64; 2],
    /// The share of images both put in the same class.
    pub same_class: f64,
}

impl Agreement {
    /// The difference in accuracy, in percentage points.
    pub fn points_apart(&self) -> f64 {
        100.0 * (self.accuracy[0] - self.accuracy[1]).abs()
    }

    /// Whether the two are within [`MAX_POINTS_APART`] of each other.
    pub fn reproduces(&self) -> bool {
        self.points_apart() <= MAX_POINTS_APART
    }
}

fn labels(set: &Dataset) -> Vec<usize> {
    set.labels.iter().map(|&l| l as usize).collect()
}

/// The share of positions where `a` and `b` agree.
fn share(a: &[usize], b: &[usize]) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(1) as f64
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
            source: Source::Pinned,
            sha256: String::new(),
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

    #[test]
    fn the_pinned_weights_match_their_checksum_and_load() {
        assert_eq!(sha256_hex(PINNED_WEIGHTS), PINNED_SHA256);
        let cache = tempfile::tempdir().unwrap();
        let pinned = Evaluator::pinned(cache.path(), &Device::flex()).unwrap();
        assert_eq!(pinned.source, Source::Pinned);
        assert_eq!(pinned.id(), "v1-a4e624cb3496ca05");
        assert_eq!((pinned.info.version, pinned.info.epochs), (VERSION, EPOCHS));
        assert_eq!(pinned.info.test_accuracy, 0.9216);
        assert!(pinned.dir.starts_with(cache.path()));
        // Only the official files select it; other data train their own.
        assert!(!must_train(cache.path(), &pinned.info.data_hash, None));
        assert!(must_train(cache.path(), &"0".repeat(64), None));
        assert!(!must_train(
            cache.path(),
            &"0".repeat(64),
            Some(cache.path())
        ));
    }

    #[test]
    fn reproducing_means_within_one_point() {
        let agreement = |a: f64, b: f64| Agreement {
            accuracy: [a, b],
            same_class: 1.0,
        };
        assert!(agreement(0.9117, 0.9216).reproduces());
        assert!(agreement(0.9300, 0.9216).reproduces());
        assert!(!agreement(0.9100, 0.9216).reproduces());
        assert!((agreement(0.9100, 0.9216).points_apart() - 1.16).abs() < 1e-9);
        assert_eq!(share(&[1, 2, 3, 4], &[1, 2, 0, 0]), 0.5);
    }

    #[test]
    fn load_refuses_what_is_no_evaluator_of_this_version() {
        let dir = tempfile::tempdir().unwrap();
        let device = Device::flex();
        let err = Evaluator::load(dir.path(), &device).err().unwrap();
        assert!(
            matches!(err, EvaluatorError::NotAnEvaluator { .. }),
            "{err}"
        );
        assert!(err.is_user_error());
        std::fs::write(dir.path().join("model.bpk"), PINNED_WEIGHTS).unwrap();
        let mut info = pinned_info();
        info.version = VERSION + 1;
        std::fs::write(
            dir.path().join("info.json"),
            serde_json::to_string(&info).unwrap(),
        )
        .unwrap();
        let err = Evaluator::load(dir.path(), &device).err().unwrap();
        assert!(matches!(err, EvaluatorError::OtherVersion { .. }), "{err}");
        // The same weights as a local evaluator: same network, its own id.
        info.version = VERSION;
        std::fs::write(
            dir.path().join("info.json"),
            serde_json::to_string(&info).unwrap(),
        )
        .unwrap();
        let local = Evaluator::load(dir.path(), &device).unwrap();
        assert_eq!(local.sha256, PINNED_SHA256);
        assert_eq!(local.id(), "v1-a4e624cb3496ca05-local-6fa46d4e");
        let pinned = Evaluator::pinned(dir.path(), &device).unwrap();
        let pixels = vec![0.25; 2 * IMAGE_PIXELS];
        assert_eq!(local.outputs(&pixels), pinned.outputs(&pixels));
    }
}
