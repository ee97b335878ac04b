//! Class-conditional GAN, three ways to condition:
//! - concat: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"
//!   (the one-hot label joins G's noise and D's input);
//! - projection: Miyato & Koyama 2018, "cGANs with Projection Discriminator",
//!   D(x, y) = psi(phi(x)) + <embed(y), phi(x)>;
//! - auxiliary classifier: Odena et al. 2017, "Conditional Image Synthesis
//!   with Auxiliary Classifier GANs" (D also predicts the class).
//!
//! The generator takes the one-hot label beside the noise in all three.

use std::path::Path;

use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::adversarial::{Adversarial, update};
use crate::losses::{self, gradient_penalty};
use crate::metric::{self, MetricInfo, Objective};
use crate::nets::{Arch, Discriminator, Generator, IMAGE_PIXELS, NetsConfig};
use crate::panel::{Bars, Panel, PanelTable, RunView};
use crate::util::{self, read_scalars};
use crate::vanilla::{SAMPLES, fid_objective, validate_latent_dim};
use crate::{
    Batch, CLASS_NAMES, ClassSampler, Hyper, Judge, Loss, NoiseSampler, Purpose, Result,
    SampleGrid, Scalar, StreamRequest, Variant, VariantConfig,
};

const CLASSES: usize = 10;
const GRID_COLS: usize = 8;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conditioning {
    Concat,
    Projection,
    AuxClassifier,
}

impl Conditioning {
    pub fn as_str(self) -> &'static str {
        match self {
            Conditioning::Concat => "concat",
            Conditioning::Projection => "projection",
            Conditioning::AuxClassifier => "aux_classifier",
        }
    }
}

/// The conditional variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionalConfig {
    pub arch: Arch,
    pub conditioning: Conditioning,
    pub latent_dim: usize,
    pub loss: Loss,
    pub d_steps: usize,
    pub g_steps: usize,
    pub label_smoothing: f32,
    pub gp_weight: f32,
    /// Weight of the class losses (AuxClassifier only).
    pub aux_weight: f32,
}

impl Default for ConditionalConfig {
    fn default() -> Self {
        Self {
            arch: Arch::Dcgan,
            conditioning: Conditioning::Concat,
            latent_dim: 100,
            loss: Loss::NonSaturating,
            d_steps: 1,
            g_steps: 1,
            label_smoothing: 0.0,
            gp_weight: 10.0,
            aux_weight: 1.0,
        }
    }
}

impl ConditionalConfig {
    /// The settings every adversarial variant shares.
    pub fn adversarial(&self) -> Adversarial {
        Adversarial {
            loss: self.loss,
            d_steps: self.d_steps,
            g_steps: self.g_steps,
            label_smoothing: self.label_smoothing,
            gp_weight: self.gp_weight,
        }
    }
}

impl VariantConfig for ConditionalConfig {
    fn kind(&self) -> &'static str {
        "conditional"
    }

    fn purpose(&self) -> Purpose {
        SAMPLES
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let mut all = metric::TRAINING.to_vec();
        all.extend(metric::IMAGE_SCORES.iter().cloned());
        all.extend(metric::class_scores(CLASSES));
        all
    }

    fn objective(&self, scores: &[&str]) -> Option<Objective> {
        fid_objective(scores)
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(Conditional::new(self.clone(), hyper, device))
    }

    /// The report panel: accuracy and intra-class FID per class, and the
    /// final grid with its rows named by class.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        let acc: Vec<Option<f64>> = (0..CLASSES)
            .map(|c| run.value(&format!("class_acc_{c}")))
            .collect();
        let fid: Vec<Option<f64>> = (0..CLASSES)
            .map(|c| run.value(&format!("intra_fid_{c}")))
            .collect();
        let step = run.step("cond_acc");
        let text = match (run.value("cond_acc"), step) {
            (Some(total), Some(step)) => format!(
                "Conditioning: {} ({}). At step {step}, the evaluator assigned {:.1}% of the generated images to the class they were asked for; below, that share per class and the FID within each class (lower is better). The weakest class is {}.",
                self.conditioning.as_str(),
                self.arch.as_str(),
                100.0 * total,
                acc.iter()
                    .enumerate()
                    .filter_map(|(c, a)| a.map(|a| (c, a)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or_else(
                        || "unknown".into(),
                        |(c, a)| format!("{} ({:.1}%)", CLASS_NAMES[c], 100.0 * a)
                    )
            ),
            _ => format!(
                "Conditioning: {} ({}). No evaluation was recorded, so there is no per-class accuracy; add an `eval` section to the spec to measure it.",
                self.conditioning.as_str(),
                self.arch.as_str()
            ),
        };
        let has_acc = acc.iter().any(Option::is_some);
        let cell = |v: Option<f64>, f: fn(f64) -> String| v.map_or_else(|| "-".into(), f);
        Some(Panel {
            title: "Per-class results".into(),
            text,
            bars: has_acc.then(|| Bars {
                title: "accuracy per class (share assigned to the requested class)".into(),
                labels: CLASS_NAMES.iter().map(|n| n.to_string()).collect(),
                values: acc.iter().map(|a| a.unwrap_or(0.0)).collect(),
                max: Some(1.0),
            }),
            table: has_acc.then(|| PanelTable {
                header: vec!["class".into(), "accuracy".into(), "intra-class FID".into()],
                rows: (0..CLASSES)
                    .map(|c| {
                        vec![
                            format!("{c} {}", CLASS_NAMES[c]),
                            cell(acc[c], |a| format!("{:.1}%", 100.0 * a)),
                            cell(fid[c], |f| format!("{f:.1}")),
                        ]
                    })
                    .collect(),
            }),
            grid_row_labels: Some(CLASS_NAMES.iter().map(|n| n.to_string()).collect()),
        })
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems: Vec<_> = validate_latent_dim(self.latent_dim).into_iter().collect();
        problems.extend(self.adversarial().validate());
        if !(self.aux_weight.is_finite() && self.aux_weight >= 0.0) {
            problems.push((
                "aux_weight".into(),
                format!(
                    "aux_weight is {}; use a non-negative number (1 is usual)",
                    self.aux_weight
                ),
            ));
        }
        problems
    }

    fn describe(&self) -> String {
        format!(
            "{} / {} / {}",
            self.arch.as_str(),
            self.conditioning.as_str(),
            self.loss.as_str()
        )
    }
}

/// The discriminator with its conditioning parts (trained by one optimiser).
#[derive(Module, Debug)]
pub struct ConditionalD {
    net: Discriminator,
    /// Projection: the class embedding, a bias-free linear map of the one-hot label.
    embed: Option<Linear>,
    /// AC-GAN: the class head on D's features.
    classify: Option<Linear>,
}

impl ConditionalD {
    /// Adversarial scores `[n, 1]` and, for AC-GAN, class logits `[n, 10]`.
    fn forward(&self, x: Tensor<4>, onehot: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        match (&self.embed, &self.classify) {
            (Some(embed), _) => {
                let features = self.net.features(x, None);
                let projection = (embed.forward(onehot) * features.clone()).sum_dim(1);
                (self.net.head(features) + projection, None)
            }
            (None, Some(classify)) => {
                let features = self.net.features(x, None);
                (
                    self.net.head(features.clone()),
                    Some(classify.forward(features)),
                )
            }
            (None, None) => (self.net.head(self.net.features(x, Some(onehot))), None),
        }
    }
}

pub struct Conditional {
    cfg: ConditionalConfig,
    hyper: Hyper,
    device: Device,
    g: Generator,
    d: ConditionalD,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
}

fn one_hot(labels: &[u8], device: &Device) -> Tensor<2> {
    let mut values = vec![0f32; labels.len() * CLASSES];
    for (i, &label) in labels.iter().enumerate() {
        values[i * CLASSES + label as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(values, [labels.len(), CLASSES]), device)
}

fn label_tensor(labels: &[u8], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Tensor::from_data(TensorData::new(values, [labels.len()]), device)
}

impl Conditional {
    pub fn new(cfg: ConditionalConfig, hyper: &Hyper, device: &Device) -> Self {
        let concat = cfg.conditioning == Conditioning::Concat;
        let nets = NetsConfig::new(cfg.arch, cfg.latent_dim)
            .with_g_extra_inputs(CLASSES)
            .with_d_batch_norm(cfg.loss != Loss::WganGp)
            .with_d_extra_inputs(if concat { CLASSES } else { 0 });
        let net = nets.init_discriminator(device);
        let width = net.feature_width();
        let d = ConditionalD {
            embed: (cfg.conditioning == Conditioning::Projection).then(|| {
                LinearConfig::new(CLASSES, width)
                    .with_bias(false)
                    .init(device)
            }),
            classify: (cfg.conditioning == Conditioning::AuxClassifier)
                .then(|| LinearConfig::new(width, CLASSES).init(device)),
            net,
        };
        let adam = AdamConfig::new()
            .with_beta_1(hyper.beta1)
            .with_beta_2(hyper.beta2)
            .with_epsilon(1e-8);
        Self {
            g: nets.init_generator(device),
            d,
            opt_g: adam.init(),
            opt_d: adam.init(),
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    fn generate_from(
        &self,
        g: &Generator,
        labels: &[u8],
        rng: &mut StdRng,
        device: &Device,
    ) -> Tensor<4> {
        let z = util::normal(rng, [labels.len(), self.cfg.latent_dim], device);
        g.forward(Tensor::cat(vec![z, one_hot(labels, device)], 1))
    }

    fn random_labels(rng: &mut StdRng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.random_range(0..CLASSES as u8)).collect()
    }
}

impl Variant for Conditional {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![StreamRequest {
            name: "images".into(),
            classes: None,
            batches: self.cfg.d_steps,
        }]
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real_all = batch.streams[0].images.clone();
        let labels_all: Vec<u8> = batch.streams[0]
            .labels
            .clone()
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .unwrap_or_default()
            .into_iter()
            .map(|l| l as u8)
            .collect();
        let [total, ..] = real_all.dims();
        let adv = self.cfg.adversarial();
        let n = adv.per_update(total);
        let loss = adv.loss;
        let aux = self.cfg.aux_weight;
        let ce = CrossEntropyLossConfig::new().init(&self.device);
        let mut rng = StdRng::seed_from_u64(batch.seed);

        let mut d_report = Vec::new();
        for k in 0..adv.d_steps {
            let start = (k * n).min(total - n);
            let real = real_all.clone().narrow(0, start, n);
            let real_labels = &labels_all[start..start + n];
            let fake_labels = Self::random_labels(&mut rng, n);
            let fake = self
                .generate_from(&self.g, &fake_labels, &mut rng, &self.device)
                .detach();
            let real_hot = one_hot(real_labels, &self.device);
            let (real_scores, real_class) = self.d.forward(real.clone(), real_hot.clone());
            let (fake_scores, fake_class) = self
                .d
                .forward(fake.clone(), one_hot(&fake_labels, &self.device));
            let mut loss_d =
                loss.d_loss(real_scores.clone(), fake_scores.clone(), adv.real_target());
            let mut extras = Vec::new();
            if let (Some(rc), Some(fc)) = (real_class, fake_class) {
                let class_loss = ce.forward(rc, label_tensor(real_labels, &self.device))
                    + ce.forward(fc, label_tensor(&fake_labels, &self.device));
                loss_d = loss_d + class_loss.clone() * aux;
                extras.push(("class_loss_d", class_loss));
            }
            if adv.penalised() {
                let d = &self.d;
                let mix = util::uniform(&mut rng, [n, 1, 1, 1], &self.device);
                let critic = |x: Tensor<4>| d.forward(x, real_hot.clone()).0;
                let penalty = gradient_penalty(critic, real, fake, mix) * self.cfg.gp_weight;
                loss_d = loss_d + penalty.clone();
                extras.push(("gradient_penalty", penalty));
            }
            let norm_d;
            (self.d, norm_d) = update(
                self.d.clone(),
                &mut self.opt_d,
                self.hyper.lr_d,
                loss_d.clone(),
                &self.device,
            );
            if k + 1 == adv.d_steps {
                d_report = losses::d_report(loss, loss_d, real_scores, fake_scores, norm_d);
                d_report.extend(extras);
            }
        }

        // D stays fixed while G learns: no gradients for its weights.
        let d = self.d.clone().no_grad();
        let mut g_report = Vec::new();
        for k in 0..adv.g_steps {
            let labels = Self::random_labels(&mut rng, n);
            let fake = self.generate_from(&self.g, &labels, &mut rng, &self.device);
            let (scores, class) = d.forward(fake, one_hot(&labels, &self.device));
            let mut loss_g = loss.g_loss(scores);
            if let Some(class) = class {
                loss_g = loss_g + ce.forward(class, label_tensor(&labels, &self.device)) * aux;
            }
            let norm_g;
            (self.g, norm_g) = update(
                self.g.clone(),
                &mut self.opt_g,
                self.hyper.lr_g,
                loss_g.clone(),
                &self.device,
            );
            if k + 1 == adv.g_steps {
                g_report = vec![("loss_g", loss_g), ("grad_norm_g", norm_g)];
            }
        }
        d_report.extend(g_report);
        read_scalars(d_report)
    }

    /// One row per class, labelled with its name; the same noise in every row.
    fn sample_grid(&self) -> SampleGrid {
        let g = self.g.valid();
        let inner = self.device.clone().inner();
        let z = util::seeded_noise(GRID_COLS, self.cfg.latent_dim, self.hyper.seed, &inner);
        let z = z.repeat_dim(0, CLASSES);
        let labels: Vec<u8> = (0..CLASSES as u8)
            .flat_map(|c| std::iter::repeat_n(c, GRID_COLS))
            .collect();
        let images = g.forward(Tensor::cat(vec![z, one_hot(&labels, &inner)], 1));
        SampleGrid {
            rows: CLASSES,
            cols: GRID_COLS,
            pixels: util::pixels(images),
            row_labels: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn evaluate(&self, judge: &dyn Judge, samples: usize, seed: u64) -> Result<Vec<Scalar>> {
        crate::evaluate_generator(self, judge, samples, seed)
    }

    fn noise(&self) -> Option<&dyn NoiseSampler> {
        Some(self)
    }

    fn classes(&self) -> Option<&dyn ClassSampler> {
        Some(self)
    }

    fn save(&self, dir: &Path) -> Result<()> {
        util::save_pair(dir, (&self.g, &self.d), (&self.opt_g, &self.opt_d))
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        util::load_pair(
            dir,
            (&mut self.g, &mut self.d),
            (&mut self.opt_g, &mut self.opt_d),
        )
    }
}

impl NoiseSampler for Conditional {
    /// Classes in turn (0, 1, ..., 9, 0, ...).
    fn generate(&self, n: usize, seed: u64) -> Vec<f32> {
        let labels: Vec<u8> = (0..n).map(|i| (i % CLASSES) as u8).collect();
        self.generate_labeled(&labels, seed)
    }

    fn latent_dim(&self) -> usize {
        self.cfg.latent_dim
    }

    fn generate_from_noise(&self, noise: &[f32], labels: Option<&[u8]>) -> Vec<f32> {
        let inner = self.device.clone().inner();
        let z = util::noise_tensor(noise, self.cfg.latent_dim, &inner);
        let n = z.dims()[0];
        let labels: Vec<u8> = match labels {
            Some(l) => l.to_vec(),
            None => (0..n).map(|i| (i % CLASSES) as u8).collect(),
        };
        let images = self
            .g
            .valid()
            .forward(Tensor::cat(vec![z, one_hot(&labels, &inner)], 1));
        util::pixels(images)
    }
}

impl ClassSampler for Conditional {
    fn num_classes(&self) -> usize {
        CLASSES
    }

    fn generate_labeled(&self, labels: &[u8], seed: u64) -> Vec<f32> {
        let g = self.g.valid();
        let inner = self.device.clone().inner();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut out = Vec::with_capacity(labels.len() * IMAGE_PIXELS);
        for chunk in labels.chunks(500) {
            out.extend(util::pixels(
                self.generate_from(&g, chunk, &mut rng, &inner),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper() -> Hyper {
        crate::util::test_hyper(4, 10)
    }

    fn batch(device: &Device) -> Batch {
        let images = Tensor::<4>::zeros([4, 1, 28, 28], device);
        let labels = label_tensor(&[0, 3, 7, 9], device);
        Batch {
            streams: vec![crate::Stream { images, labels }],
            step: 1,
            seed: 5,
        }
    }

    #[test]
    fn every_conditioning_trains_and_samples_the_requested_class() {
        let device = Device::flex().autodiff();
        for conditioning in [
            Conditioning::Concat,
            Conditioning::Projection,
            Conditioning::AuxClassifier,
        ] {
            for arch in [Arch::Mlp, Arch::Dcgan] {
                let cfg = ConditionalConfig {
                    arch,
                    conditioning,
                    ..Default::default()
                };
                let mut v = Conditional::new(cfg, &hyper(), &device);
                let scalars = v.train_step(&batch(&device));
                assert!(
                    scalars.iter().all(|s| s.value.is_finite()),
                    "{conditioning:?}: {scalars:?}"
                );
                let has_class_loss = scalars.iter().any(|s| s.name == "class_loss_d");
                assert_eq!(has_class_loss, conditioning == Conditioning::AuxClassifier);
                let grid = v.sample_grid();
                assert_eq!(
                    (grid.rows, grid.cols, grid.pixels.len()),
                    (10, 8, 80 * IMAGE_PIXELS)
                );
                assert_eq!(grid.row_labels[7], "Sneaker");
                let images = v.generate_labeled(&[7, 7, 2], 3);
                assert_eq!(images.len(), 3 * IMAGE_PIXELS);
                assert_eq!(v.classes().map(|c| c.num_classes()), Some(10));
            }
        }
    }

    #[test]
    fn the_label_changes_the_image() {
        let device = Device::flex().autodiff();
        let v = Conditional::new(ConditionalConfig::default(), &hyper(), &device);
        // Same noise seed, different class: different images.
        let a = v.generate_labeled(&[1], 9);
        let b = v.generate_labeled(&[8], 9);
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-4));
        assert_eq!(a, v.generate_labeled(&[1], 9));
    }
}

#[cfg(test)]
mod panel_tests {
    use super::*;

    #[test]
    fn the_panel_shows_each_class_and_names_the_weakest() {
        let mut run = RunView::default();
        run.latest.insert("cond_acc".into(), (500, 0.8));
        for c in 0..CLASSES {
            let acc = if c == 6 { 0.3 } else { 0.9 };
            run.latest.insert(format!("class_acc_{c}"), (500, acc));
            run.latest
                .insert(format!("intra_fid_{c}"), (500, 100.0 + c as f64));
        }
        let panel = ConditionalConfig::default().panel(&run).unwrap();
        assert!(panel.text.contains("80.0%"), "{}", panel.text);
        assert!(
            panel.text.contains("weakest class is Shirt (30.0%)"),
            "{}",
            panel.text
        );
        let bars = panel.bars.unwrap();
        assert_eq!(bars.labels.len(), 10);
        assert_eq!(bars.values[6], 0.3);
        let table = panel.table.unwrap();
        assert_eq!(table.rows[9], vec!["9 Ankle boot", "90.0%", "109.0"]);
        assert_eq!(panel.grid_row_labels.unwrap()[7], "Sneaker");

        let empty = ConditionalConfig::default()
            .panel(&RunView::default())
            .unwrap();
        assert!(empty.bars.is_none() && empty.table.is_none());
        assert!(empty.text.contains("No evaluation was recorded"));
    }
}
