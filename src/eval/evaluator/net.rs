//! The evaluator's network (two conv blocks with batch norm, 128 features,
//! 10 classes) and the recipe that trains it: Adam, 4 epochs of batches of
//! 128, the last epoch at a tenth of the rate, seeded so that a retrained
//! evaluator is the same network. Its field names key the weights file.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::relu;
use gan_lab_ops as ops;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};

use super::{BATCH, CLASSES, EPOCHS, FEATURE_DIM};
use crate::data::{Dataset, IMAGE_PIXELS, to_unit_range};

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

/// The trained network, or `None` when `stop` was set first.
pub(super) fn train_net(
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
