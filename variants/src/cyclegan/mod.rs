//! CycleGAN: Zhu et al. 2017, "Unpaired Image-to-Image Translation using
//! Cycle-Consistent Adversarial Networks", scaled to 28x28 images.
//!
//! Two domains are two disjoint sets of Fashion-MNIST classes. Generator G
//! maps A to B and F maps B to A (ResNet generators with instance norm),
//! each domain has a PatchGAN discriminator, the adversarial loss is least
//! squares, and cycle-consistency (`|F(G(a)) - a|`, `|G(F(b)) - b|`) and
//! identity (`|G(b) - b|`, `|F(a) - a|`) L1 terms keep translations faithful.
//! One step updates both generators, then both discriminators on fakes drawn
//! from a history pool of each domain. The learning rate decays linearly to
//! zero from `lr_decay_from` of the run on.

use std::path::Path;

mod nets;
mod pool;

use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::TensorData;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};

use crate::adversarial::update;
use crate::metric::{self, Better, MetricInfo, Objective, Section};
use crate::nets::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::panel::{Bars, Panel, PanelTable, RunView};
use crate::util::{self, read_scalars};
pub use nets::{Discriminators, Generators, PatchDiscriminator, ResBlock, ResnetGenerator};
pub use pool::ImagePool;

use crate::{
    Batch, CLASS_NAMES, Direction, Hyper, Judge, Loss, Purpose, Result, SampleGrid, Scalar,
    StreamRequest, Translator, Variant, VariantConfig, VariantError,
};

/// Images per row of the sample grid.
const GRID_COLS: usize = 8;
/// Images per forward pass at inference.
const CHUNK: usize = 256;

/// The generator architecture.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleGenerator {
    /// Encoder 28→14→7 (stride-2 convolutions), `blocks` residual blocks at
    /// 7x7, decoder back to 28 (transposed convolutions), tanh.
    Resnet { blocks: usize },
}

/// How the generator's 7x7 and residual-block convolutions pad their input.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Zeros (burn's convolution padding).
    Zero,
    /// Reflection of the border, as in the reference (no dark frame to hide in).
    Reflect,
}

/// The normalisation inside generators and discriminators.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Norm {
    /// Instance norm without learned scale and shift, as in the reference.
    Instance,
    /// No normalisation.
    Off,
}

/// The CycleGAN variant's part of an experiment spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CycleGanConfig {
    /// Classes of domain A.
    pub domain_a: Vec<u8>,
    /// Classes of domain B (disjoint from A).
    pub domain_b: Vec<u8>,
    pub generator: CycleGenerator,
    /// Channels of the generators' first layer (doubled at each downsampling).
    pub ngf: usize,
    /// Channels of the discriminators' first layer.
    pub ndf: usize,
    pub norm: Norm,
    /// Padding of the generators' 7x7 and residual-block convolutions.
    pub padding: Padding,
    /// Weight of the cycle-consistency L1 loss.
    pub lambda_cycle: f32,
    /// Weight of the identity L1 loss, as a multiple of `lambda_cycle`.
    pub lambda_identity: f32,
    /// Generated images each discriminator's history pool holds (0: no pool).
    pub pool_size: usize,
    /// Share of the run after which the learning rate decays linearly to zero (`None`: constant).
    pub lr_decay_from: Option<f64>,
}

impl Default for CycleGanConfig {
    fn default() -> Self {
        Self {
            domain_a: vec![7],
            domain_b: vec![9],
            generator: CycleGenerator::Resnet { blocks: 4 },
            ngf: 16,
            ndf: 32,
            norm: Norm::Instance,
            padding: Padding::Zero,
            lambda_cycle: 10.0,
            lambda_identity: 0.5,
            pool_size: 50,
            lr_decay_from: Some(0.5),
        }
    }
}

const TRANSLATES: Purpose = Purpose {
    what: "it translates images between two domains",
    command: "gan-lab translate RUN --direction a2b --input FILE --out out.png",
};

use Better::{Higher, Lower, Neither};
use Section::{DiscriminatorAccuracy, Evaluation, Losses, Other, VariantScores};

/// The keys a CycleGAN run records beyond the shared training ones.
const CYCLE_METRICS: &[MetricInfo] = &[
    MetricInfo::new("loss_d_a", "discriminator loss, domain A", Neither, Losses),
    MetricInfo::new("loss_d_b", "discriminator loss, domain B", Neither, Losses),
    MetricInfo::new(
        "loss_g_a2b",
        "adversarial loss of G (A to B)",
        Neither,
        Losses,
    ),
    MetricInfo::new(
        "loss_g_b2a",
        "adversarial loss of F (B to A)",
        Neither,
        Losses,
    ),
    MetricInfo::new(
        "loss_cycle_a",
        "cycle loss |F(G(a)) - a|, weighted",
        Lower,
        Losses,
    ),
    MetricInfo::new(
        "loss_cycle_b",
        "cycle loss |G(F(b)) - b|, weighted",
        Lower,
        Losses,
    ),
    MetricInfo::new(
        "loss_idt_a",
        "identity loss |G(b) - b|, weighted",
        Lower,
        Losses,
    ),
    MetricInfo::new(
        "loss_idt_b",
        "identity loss |F(a) - a|, weighted",
        Lower,
        Losses,
    ),
    MetricInfo::new("lr", "generator learning rate", Neither, Other),
    MetricInfo::new(
        "acc_real_a",
        "D_A accuracy on real A images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "acc_fake_a",
        "D_A accuracy on translated images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "acc_real_b",
        "D_B accuracy on real B images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "acc_fake_b",
        "D_B accuracy on translated images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "translation_acc_a2b",
        "translation accuracy A to B (share in domain B)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new(
        "translation_acc_b2a",
        "translation accuracy B to A (share in domain A)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new("fid_a2b", "FID of G(A) against B", Lower, Evaluation),
    MetricInfo::new("fid_b2a", "FID of F(B) against A", Lower, Evaluation),
    MetricInfo::new(
        "translation_fid",
        "translation FID, mean of both directions",
        Lower,
        Evaluation,
    ),
    MetricInfo::new(
        "cycle_acc_a",
        "cycle accuracy A (F(G(a)) keeps its class)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new(
        "cycle_acc_b",
        "cycle accuracy B (G(F(b)) keeps its class)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new(
        "real_acc_a",
        "real A images in domain A (ceiling of B to A)",
        Higher,
        VariantScores,
    ),
    MetricInfo::new(
        "real_acc_b",
        "real B images in domain B (ceiling of A to B)",
        Higher,
        VariantScores,
    ),
    MetricInfo::new(
        "cycle_l1_a",
        "cycle L1 of A in 8-bit pixels (0-1 scale)",
        Lower,
        VariantScores,
    ),
    MetricInfo::new(
        "cycle_l1_b",
        "cycle L1 of B in 8-bit pixels (0-1 scale)",
        Lower,
        VariantScores,
    ),
];

fn class_list(classes: &[u8]) -> String {
    classes
        .iter()
        .map(|&c| CLASS_NAMES.get(c as usize).copied().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl VariantConfig for CycleGanConfig {
    fn kind(&self) -> &'static str {
        "cyclegan"
    }

    fn validate(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, msg: String| problems.push((field.to_string(), msg));
        for (field, domain) in [("domain_a", &self.domain_a), ("domain_b", &self.domain_b)] {
            if domain.is_empty() {
                bad(
                    field,
                    format!(
                        "{field} is empty; list one or more classes 0 to 9, e.g. [7] (sneakers)"
                    ),
                );
            }
            if let Some(c) = domain.iter().find(|&&c| c > 9) {
                bad(
                    field,
                    format!("{field} has class {c}; Fashion-MNIST classes are 0 to 9"),
                );
            }
        }
        let shared: Vec<u8> = self
            .domain_a
            .iter()
            .copied()
            .filter(|c| self.domain_b.contains(c))
            .collect();
        if !shared.is_empty() {
            bad(
                "domain_b",
                format!(
                    "domain_b shares class(es) {shared:?} with domain_a; the two domains must be disjoint"
                ),
            );
        }
        let CycleGenerator::Resnet { blocks } = self.generator;
        if !(1..=16).contains(&blocks) {
            bad(
                "generator.blocks",
                format!("blocks is {blocks}; use 1 to 16 residual blocks (4 at 28x28)"),
            );
        }
        for (field, value) in [("ngf", self.ngf), ("ndf", self.ndf)] {
            if !(1..=512).contains(&value) {
                bad(
                    field,
                    format!("{field} is {value}; use 1 to 512 channels (32 or 64 are usual)"),
                );
            }
        }
        for (field, value) in [
            ("lambda_cycle", self.lambda_cycle),
            ("lambda_identity", self.lambda_identity),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                bad(
                    field,
                    format!(
                        "{field} is {value}; use a non-negative number (10 and 0.5 are the reference)"
                    ),
                );
            }
        }
        if self.pool_size > 10_000 {
            bad(
                "pool_size",
                format!(
                    "pool_size is {}; use 0 (no pool) to 10000 images (50 is the reference)",
                    self.pool_size
                ),
            );
        }
        if let Some(from) = self.lr_decay_from
            && !(0.0..=1.0).contains(&from)
        {
            bad(
                "lr_decay_from",
                format!(
                    "lr_decay_from is Some({from}); use a share of the run from 0.0 to 1.0 (Some(0.5) is the reference), or None for a constant rate"
                ),
            );
        }
        problems
    }

    fn describe(&self) -> String {
        let CycleGenerator::Resnet { blocks } = self.generator;
        format!(
            "{} <-> {} / resnet {blocks} blocks",
            class_list(&self.domain_a),
            class_list(&self.domain_b)
        )
    }

    fn purpose(&self) -> Purpose {
        TRANSLATES
    }

    fn metrics(&self) -> Vec<MetricInfo> {
        let shared = ["loss_d", "loss_g", "acc_real", "acc_fake", "img_per_s"];
        let mut all: Vec<MetricInfo> = metric::TRAINING
            .iter()
            .filter(|m| shared.contains(&m.key.as_ref()))
            .cloned()
            .collect();
        all.extend(CYCLE_METRICS.iter().cloned());
        all
    }

    /// Evaluations always score translation FID, whatever `eval.metrics` asks.
    fn objective(&self, _scores: &[&str]) -> Option<Objective> {
        Some(Objective {
            key: "translation_fid".into(),
            better: Lower,
        })
    }

    fn build(&self, hyper: &Hyper, device: &Device) -> Box<dyn Variant> {
        Box::new(CycleGan::new(self.clone(), hyper, device))
    }

    fn class_sets(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("domain_a", self.domain_a.clone()),
            ("domain_b", self.domain_b.clone()),
        ]
    }

    /// Translation accuracy per direction against its ceiling, FID and
    /// cycle numbers, and the six-row grid.
    fn panel(&self, run: &RunView) -> Option<Panel> {
        let a = class_list(&self.domain_a);
        let b = class_list(&self.domain_b);
        let v = |key: &str| run.value(key);
        let pct = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| format!("{:.1}%", 100.0 * x));
        let num = |x: Option<f64>, d: usize| x.map_or_else(|| "-".into(), |x| format!("{x:.d$}"));
        let evaluated = v("translation_acc_a2b").is_some();
        let text = match run.step("translation_acc_a2b") {
            Some(step) => format!(
                "Domain A: {a}; domain B: {b}. At step {step}, the evaluator put {} of the translated A test images into domain B and {} of the translated B images into domain A (real images reach {} and {}). Reconstructions keep their class in {} (A) and {} (B) of cases: a low value with a small cycle L1 means the generators hide their input in invisible noise.",
                pct(v("translation_acc_a2b")),
                pct(v("translation_acc_b2a")),
                pct(v("real_acc_b")),
                pct(v("real_acc_a")),
                pct(v("cycle_acc_a")),
                pct(v("cycle_acc_b")),
            ),
            None => format!(
                "Domain A: {a}; domain B: {b}. No evaluation was recorded; add an `eval` section to the spec to measure translation accuracy."
            ),
        };
        let dir = |d: &str| format!("{d} (A = {a}, B = {b})");
        Some(Panel {
            title: "Translation".into(),
            text,
            bars: evaluated.then(|| Bars {
                title: "translation accuracy against its ceiling (real images)".into(),
                labels: vec![
                    "A to B".into(),
                    "real B".into(),
                    "B to A".into(),
                    "real A".into(),
                ],
                values: [
                    "translation_acc_a2b",
                    "real_acc_b",
                    "translation_acc_b2a",
                    "real_acc_a",
                ]
                .iter()
                .map(|k| v(k).unwrap_or(0.0))
                .collect(),
                max: Some(1.0),
            }),
            table: evaluated.then(|| PanelTable {
                header: vec![
                    "direction".into(),
                    "accuracy".into(),
                    "ceiling".into(),
                    "FID".into(),
                    "cycle L1 (source)".into(),
                    "cycle accuracy (source)".into(),
                ],
                rows: vec![
                    vec![
                        dir("A to B"),
                        pct(v("translation_acc_a2b")),
                        pct(v("real_acc_b")),
                        num(v("fid_a2b"), 1),
                        num(v("cycle_l1_a"), 4),
                        pct(v("cycle_acc_a")),
                    ],
                    vec![
                        dir("B to A"),
                        pct(v("translation_acc_b2a")),
                        pct(v("real_acc_a")),
                        num(v("fid_b2a"), 1),
                        num(v("cycle_l1_b"), 4),
                        pct(v("cycle_acc_b")),
                    ],
                ],
            }),
            grid_row_labels: Some(GRID_ROWS.iter().map(|s| s.to_string()).collect()),
        })
    }
}

const GRID_ROWS: [&str; 6] = ["real A", "G(A)", "F(G(A))", "real B", "F(B)", "G(F(B))"];

pub struct CycleGan {
    cfg: CycleGanConfig,
    hyper: Hyper,
    device: Device,
    g: Generators,
    d: Discriminators,
    opt_g: ModuleOptimizer,
    opt_d: ModuleOptimizer,
    pool_a: ImagePool,
    pool_b: ImagePool,
    /// The fixed inputs of the sample grid: the first images of domains A
    /// and B the run trained on (taken at its first step, then checkpointed).
    grid_a: Vec<f32>,
    grid_b: Vec<f32>,
}

fn images_tensor(pixels: &[f32], device: &Device) -> Tensor<4> {
    let n = pixels.len() / IMAGE_PIXELS;
    Tensor::from_data(
        TensorData::new(pixels.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

/// Least-squares loss of patch scores against a constant target.
fn mse(scores: Tensor<2>, target: f32) -> Tensor<1> {
    (scores - target).powi_scalar(2).mean().reshape([1])
}

fn l1(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    (a - b).abs().mean().reshape([1])
}

/// A model value rounded to the nearest 8-bit pixel (clamped to `[-1, 1]`).
fn to_8bit(v: f32) -> f32 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() / 127.5 - 1.0
}

/// The learning-rate factor at `step` (1-based) of `total`: 1 up to
/// `from * total`, then falling linearly over the `n` remaining steps to
/// `1 / (n + 1)` at the last one, as the reference's linear policy does per epoch.
pub fn lr_factor(step: u64, total: u64, from: Option<f64>) -> f64 {
    let Some(from) = from else { return 1.0 };
    let start = (from * total as f64).floor() as u64;
    if step <= start {
        return 1.0;
    }
    let decay_steps = total.saturating_sub(start) as f64;
    (1.0 - (step - start) as f64 / (decay_steps + 1.0)).clamp(0.0, 1.0)
}

fn write_floats(dir: &Path, name: &str, values: &[f32]) -> Result<()> {
    let path = dir.join(format!("{name}.f32"));
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&path, bytes).map_err(|source| VariantError::State { path, source })
}

fn read_floats(dir: &Path, name: &str) -> Result<Vec<f32>> {
    let path = dir.join(format!("{name}.f32"));
    let bytes = std::fs::read(&path).map_err(|source| VariantError::State {
        path: path.clone(),
        source,
    })?;
    if bytes.len() % (4 * IMAGE_PIXELS) != 0 {
        return Err(VariantError::State {
            path,
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a whole number of 28x28 float images",
            ),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

impl CycleGan {
    pub fn new(cfg: CycleGanConfig, hyper: &Hyper, device: &Device) -> Self {
        let adam = AdamConfig::new()
            .with_beta_1(hyper.beta1)
            .with_beta_2(hyper.beta2)
            .with_epsilon(1e-8);
        Self {
            g: Generators {
                a2b: ResnetGenerator::new(&cfg, device),
                b2a: ResnetGenerator::new(&cfg, device),
            },
            d: Discriminators {
                a: PatchDiscriminator::new(&cfg, device),
                b: PatchDiscriminator::new(&cfg, device),
            },
            opt_g: adam.init(),
            opt_d: adam.init(),
            pool_a: ImagePool::new(cfg.pool_size),
            pool_b: ImagePool::new(cfg.pool_size),
            grid_a: Vec::new(),
            grid_b: Vec::new(),
            device: device.clone(),
            hyper: hyper.clone(),
            cfg,
        }
    }

    /// Translations of `pixels` by the inference form of one generator.
    fn run_generator(&self, pixels: &[f32], direction: Direction) -> Vec<f32> {
        let g = self.g.valid();
        let net = match direction {
            Direction::AToB => &g.a2b,
            Direction::BToA => &g.b2a,
        };
        let inner = self.device.clone().inner();
        let mut out = Vec::with_capacity(pixels.len());
        for chunk in pixels.chunks(CHUNK * IMAGE_PIXELS) {
            out.extend(util::pixels(net.forward(images_tensor(chunk, &inner))));
        }
        out
    }

    /// Test images (and their classes) of one domain, at most `limit`.
    fn domain_test(judge: &dyn Judge, domain: &[u8], limit: usize) -> (Vec<f32>, Vec<u8>) {
        let (pixels, labels) = judge.test_set();
        let mut images = Vec::new();
        let mut classes = Vec::new();
        for (image, &label) in pixels.chunks(IMAGE_PIXELS).zip(labels) {
            if classes.len() == limit {
                break;
            }
            if domain.contains(&label) {
                images.extend_from_slice(image);
                classes.push(label);
            }
        }
        (images, classes)
    }

    /// Scores of one direction: (translation accuracy, ceiling, FID, cycle L1, cycle accuracy).
    fn score_direction(
        &self,
        judge: &dyn Judge,
        source: &(Vec<f32>, Vec<u8>),
        target: &(Vec<f32>, Vec<u8>),
        target_domain: &[u8],
        direction: Direction,
    ) -> Result<[f64; 5]> {
        let back = match direction {
            Direction::AToB => Direction::BToA,
            Direction::BToA => Direction::AToB,
        };
        let share = |hits: usize, n: usize| hits as f64 / n.max(1) as f64;
        let translated: Vec<f32> = self
            .run_generator(&source.0, direction)
            .into_iter()
            .map(to_8bit)
            .collect();
        let classes = judge.classify(&translated);
        let acc = share(
            classes.iter().filter(|c| target_domain.contains(c)).count(),
            classes.len(),
        );
        let real = judge.classify(&target.0);
        let ceiling = share(
            real.iter().filter(|c| target_domain.contains(c)).count(),
            real.len(),
        );
        let fid = judge.fid(&translated, &target.0)?;
        let rec: Vec<f32> = self
            .run_generator(&translated, back)
            .into_iter()
            .map(to_8bit)
            .collect();
        let cycle_l1 = rec
            .iter()
            .zip(&source.0)
            .map(|(r, x)| f64::from((r - x).abs()))
            .sum::<f64>()
            / (2.0 * rec.len().max(1) as f64);
        let rec_classes = judge.classify(&rec);
        let cycle_acc = share(
            rec_classes
                .iter()
                .zip(&source.1)
                .filter(|(a, b)| a == b)
                .count(),
            rec_classes.len(),
        );
        Ok([acc, ceiling, fid, cycle_l1, cycle_acc])
    }
}

impl Variant for CycleGan {
    fn streams(&self) -> Vec<StreamRequest> {
        vec![
            StreamRequest {
                name: "domain_a".into(),
                classes: Some(self.cfg.domain_a.clone()),
                batches: 1,
            },
            StreamRequest {
                name: "domain_b".into(),
                classes: Some(self.cfg.domain_b.clone()),
                batches: 1,
            },
        ]
    }

    fn train_step(&mut self, batch: &Batch) -> Vec<Scalar> {
        let real_a = batch.streams[0].images.clone();
        let real_b = batch.streams[1].images.clone();
        if self.grid_a.is_empty() {
            let take = |x: &Tensor<4>| {
                let n = x.dims()[0].min(GRID_COLS);
                util::pixels(x.clone().narrow(0, 0, n))
            };
            self.grid_a = take(&real_a);
            self.grid_b = take(&real_b);
        }
        let factor = lr_factor(batch.step, self.hyper.total_steps, self.cfg.lr_decay_from);
        let (lr_g, lr_d) = (self.hyper.lr_g * factor, self.hyper.lr_d * factor);
        let lambda = self.cfg.lambda_cycle;
        let lambda_idt = lambda * self.cfg.lambda_identity;

        // Generators first; the discriminators' gradients are dropped.
        let fake_b = self.g.a2b.forward(real_a.clone());
        let fake_a = self.g.b2a.forward(real_b.clone());
        let loss_g_a2b = mse(self.d.b.forward(fake_b.clone()), 1.0);
        let loss_g_b2a = mse(self.d.a.forward(fake_a.clone()), 1.0);
        let loss_cycle_a = l1(self.g.b2a.forward(fake_b.clone()), real_a.clone()) * lambda;
        let loss_cycle_b = l1(self.g.a2b.forward(fake_a.clone()), real_b.clone()) * lambda;
        let mut loss_g =
            loss_g_a2b.clone() + loss_g_b2a.clone() + loss_cycle_a.clone() + loss_cycle_b.clone();
        let mut idt = Vec::new();
        if lambda_idt > 0.0 {
            let loss_idt_a = l1(self.g.a2b.forward(real_b.clone()), real_b.clone()) * lambda_idt;
            let loss_idt_b = l1(self.g.b2a.forward(real_a.clone()), real_a.clone()) * lambda_idt;
            loss_g = loss_g + loss_idt_a.clone() + loss_idt_b.clone();
            idt = vec![("loss_idt_a", loss_idt_a), ("loss_idt_b", loss_idt_b)];
        }
        let norm_g;
        (self.g, norm_g) = update(
            self.g.clone(),
            &mut self.opt_g,
            lr_g,
            loss_g.clone(),
            &self.device,
        );

        // Then each discriminator on real images and fakes from its pool.
        let mut rng = StdRng::seed_from_u64(batch.seed);
        let pooled_b = self.pool_b.query(&util::pixels(fake_b.detach()), &mut rng);
        let pooled_a = self.pool_a.query(&util::pixels(fake_a.detach()), &mut rng);
        let fake_b = images_tensor(&pooled_b, &self.device);
        let fake_a = images_tensor(&pooled_a, &self.device);
        let real_scores_b = self.d.b.forward(real_b);
        let fake_scores_b = self.d.b.forward(fake_b);
        let real_scores_a = self.d.a.forward(real_a);
        let fake_scores_a = self.d.a.forward(fake_a);
        let loss = Loss::LeastSquares;
        let loss_d_b = loss.d_loss(real_scores_b.clone(), fake_scores_b.clone(), 1.0);
        let loss_d_a = loss.d_loss(real_scores_a.clone(), fake_scores_a.clone(), 1.0);
        let loss_d = loss_d_a.clone() + loss_d_b.clone();
        let norm_d;
        (self.d, norm_d) = update(
            self.d.clone(),
            &mut self.opt_d,
            lr_d,
            loss_d.clone(),
            &self.device,
        );
        let (acc_real_a, acc_fake_a) = loss.accuracies(real_scores_a, fake_scores_a);
        let (acc_real_b, acc_fake_b) = loss.accuracies(real_scores_b, fake_scores_b);

        let mut named = vec![
            ("loss_d", loss_d),
            ("loss_g", loss_g),
            ("loss_d_a", loss_d_a),
            ("loss_d_b", loss_d_b),
            ("loss_g_a2b", loss_g_a2b),
            ("loss_g_b2a", loss_g_b2a),
            ("loss_cycle_a", loss_cycle_a),
            ("loss_cycle_b", loss_cycle_b),
            ("acc_real", (acc_real_a.clone() + acc_real_b.clone()) * 0.5),
            ("acc_fake", (acc_fake_a.clone() + acc_fake_b.clone()) * 0.5),
            ("acc_real_a", acc_real_a),
            ("acc_fake_a", acc_fake_a),
            ("acc_real_b", acc_real_b),
            ("acc_fake_b", acc_fake_b),
            ("grad_norm_g", norm_g),
            ("grad_norm_d", norm_d),
        ];
        named.extend(idt);
        let mut scalars = read_scalars(named);
        scalars.push(Scalar::new("lr", lr_g));
        scalars
    }

    /// Six labelled rows: real A, G(A), F(G(A)), real B, F(B), G(F(B)).
    fn sample_grid(&self) -> SampleGrid {
        let cols = (self.grid_a.len() / IMAGE_PIXELS).min(self.grid_b.len() / IMAGE_PIXELS);
        let a = &self.grid_a[..cols * IMAGE_PIXELS];
        let b = &self.grid_b[..cols * IMAGE_PIXELS];
        let g_a = self.run_generator(a, Direction::AToB);
        let fg_a = self.run_generator(&g_a, Direction::BToA);
        let f_b = self.run_generator(b, Direction::BToA);
        let gf_b = self.run_generator(&f_b, Direction::AToB);
        SampleGrid {
            rows: 6,
            cols,
            pixels: [a, &g_a, &fg_a, b, &f_b, &gf_b].concat(),
            row_labels: GRID_ROWS.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn evaluate(&self, judge: &dyn Judge, samples: usize, _seed: u64) -> Result<Vec<Scalar>> {
        let a = Self::domain_test(judge, &self.cfg.domain_a, samples);
        let b = Self::domain_test(judge, &self.cfg.domain_b, samples);
        if a.1.is_empty() || b.1.is_empty() {
            return Err(VariantError::Judge(format!(
                "the test split has no images of domain {} (classes {:?} and {:?})",
                if a.1.is_empty() { "A" } else { "B" },
                self.cfg.domain_a,
                self.cfg.domain_b
            )));
        }
        let a2b = self.score_direction(judge, &a, &b, &self.cfg.domain_b, Direction::AToB)?;
        let b2a = self.score_direction(judge, &b, &a, &self.cfg.domain_a, Direction::BToA)?;
        Ok(vec![
            Scalar::new("translation_acc_a2b", a2b[0]),
            Scalar::new("translation_acc_b2a", b2a[0]),
            Scalar::new("real_acc_b", a2b[1]),
            Scalar::new("real_acc_a", b2a[1]),
            Scalar::new("fid_a2b", a2b[2]),
            Scalar::new("fid_b2a", b2a[2]),
            Scalar::new("translation_fid", (a2b[2] + b2a[2]) / 2.0),
            Scalar::new("cycle_l1_a", a2b[3]),
            Scalar::new("cycle_l1_b", b2a[3]),
            Scalar::new("cycle_acc_a", a2b[4]),
            Scalar::new("cycle_acc_b", b2a[4]),
        ])
    }

    /// Networks, optimisers, both image pools and the grid's fixed inputs.
    fn save(&self, dir: &Path) -> Result<()> {
        util::save_module(&self.g, dir, "generators")?;
        util::save_module(&self.d, dir, "discriminators")?;
        util::save_optimizer(&self.opt_g, dir, "optimizer_g")?;
        util::save_optimizer(&self.opt_d, dir, "optimizer_d")?;
        write_floats(dir, "pool_a", &self.pool_a.images)?;
        write_floats(dir, "pool_b", &self.pool_b.images)?;
        write_floats(dir, "grid_a", &self.grid_a)?;
        write_floats(dir, "grid_b", &self.grid_b)
    }

    fn load(&mut self, dir: &Path) -> Result<()> {
        self.g = util::load_module(self.g.clone(), dir, "generators")?;
        self.d = util::load_module(self.d.clone(), dir, "discriminators")?;
        self.opt_g = util::load_optimizer(self.opt_g.clone(), dir, "optimizer_g")?;
        self.opt_d = util::load_optimizer(self.opt_d.clone(), dir, "optimizer_d")?;
        self.pool_a.images = read_floats(dir, "pool_a")?;
        self.pool_b.images = read_floats(dir, "pool_b")?;
        self.grid_a = read_floats(dir, "grid_a")?;
        self.grid_b = read_floats(dir, "grid_b")?;
        Ok(())
    }

    fn translator(&self) -> Option<&dyn Translator> {
        Some(self)
    }
}

impl Translator for CycleGan {
    fn domains(&self) -> (Vec<u8>, Vec<u8>) {
        (self.cfg.domain_a.clone(), self.cfg.domain_b.clone())
    }

    fn translate(&self, pixels: &[f32], direction: Direction) -> Vec<f32> {
        self.run_generator(pixels, direction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hyper(total_steps: u64) -> Hyper {
        crate::util::test_hyper(2, total_steps)
    }

    fn small() -> CycleGanConfig {
        CycleGanConfig {
            generator: CycleGenerator::Resnet { blocks: 1 },
            ngf: 4,
            ndf: 4,
            pool_size: 3,
            ..Default::default()
        }
    }

    fn batch(step: u64, device: &Device) -> Batch {
        let mut rng = StdRng::seed_from_u64(step);
        let stream = |rng: &mut StdRng, label: i64| crate::Stream {
            images: util::uniform(rng, [2, 1, 28, 28], device) * 2.0 - 1.0,
            labels: Tensor::from_data(TensorData::new(vec![label; 2], [2]), device),
        };
        Batch {
            streams: vec![stream(&mut rng, 7), stream(&mut rng, 9)],
            step,
            seed: 100 + step,
        }
    }

    #[test]
    fn the_learning_rate_decays_linearly_to_zero() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert_eq!(lr_factor(1, 100, Some(0.5)), 1.0);
        assert_eq!(lr_factor(50, 100, Some(0.5)), 1.0);
        assert!(close(lr_factor(51, 100, Some(0.5)), 50.0 / 51.0));
        assert!(close(lr_factor(76, 100, Some(0.5)), 25.0 / 51.0));
        assert!(close(lr_factor(100, 100, Some(0.5)), 1.0 / 51.0));
        assert_eq!(lr_factor(100, 100, None), 1.0);
        assert!(close(lr_factor(1, 4, Some(0.0)), 0.8));
        assert!(close(lr_factor(4, 4, Some(0.0)), 0.2));
        assert_eq!(lr_factor(4, 4, Some(1.0)), 1.0);
    }

    #[test]
    fn validation_names_each_bad_field() {
        assert!(CycleGanConfig::default().validate().is_empty());
        let bad = CycleGanConfig {
            domain_a: vec![],
            domain_b: vec![3, 12],
            generator: CycleGenerator::Resnet { blocks: 0 },
            ngf: 0,
            lambda_cycle: -1.0,
            lr_decay_from: Some(1.5),
            ..Default::default()
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "domain_a",
                "domain_b",
                "generator.blocks",
                "ngf",
                "lambda_cycle",
                "lr_decay_from"
            ]
        );
        let overlap = CycleGanConfig {
            domain_a: vec![5, 7],
            domain_b: vec![7, 9],
            ..Default::default()
        };
        let problems = overlap.validate();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].1.contains("disjoint"), "{problems:?}");
    }

    #[test]
    fn networks_keep_the_image_shape_and_score_patches() {
        let device = Device::flex();
        let cfg = CycleGanConfig::default();
        let x = Tensor::<4>::zeros([3, 1, 28, 28], &device);
        let g = ResnetGenerator::new(&cfg, &device);
        assert_eq!(g.forward(x.clone()).dims(), [3, 1, 28, 28]);
        assert_eq!(
            PatchDiscriminator::new(&cfg, &device).forward(x).dims(),
            [3, 25]
        );
    }

    #[test]
    fn steps_record_every_term_and_a_restored_model_continues_exactly() {
        let device = Device::flex().autodiff();
        device.seed(4);
        let mut v = CycleGan::new(small(), &hyper(6), &device);
        let mut first = Vec::new();
        for step in 1..=3 {
            first = v.train_step(&batch(step, &device));
        }
        for key in [
            "loss_d",
            "loss_g",
            "loss_d_a",
            "loss_d_b",
            "loss_g_a2b",
            "loss_g_b2a",
            "loss_cycle_a",
            "loss_cycle_b",
            "loss_idt_a",
            "loss_idt_b",
            "lr",
            "acc_real_a",
            "acc_fake_b",
        ] {
            let value = metric::find(&first, key).unwrap_or_else(|| panic!("{key} missing"));
            assert!(value.is_finite(), "{key} = {value}");
        }
        assert_eq!(v.pool_a.len(), 3);
        let grid = v.sample_grid();
        assert_eq!((grid.rows, grid.cols, grid.row_labels.len()), (6, 2, 6));
        assert_eq!(grid.pixels.len(), 12 * IMAGE_PIXELS);
        assert_eq!(grid.pixels[..2 * IMAGE_PIXELS], v.grid_a[..]);

        let dir = std::env::temp_dir().join(format!("cyclegan-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        v.save(&dir).unwrap();
        let mut restored = CycleGan::new(small(), &hyper(6), &device);
        restored.load(&dir).unwrap();
        assert_eq!(restored.pool_b, v.pool_b);
        for step in 4..=6 {
            let a = v.train_step(&batch(step, &device));
            let b = restored.train_step(&batch(step, &device));
            assert_eq!(a, b, "step {step}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let x = vec![0.5; 2 * IMAGE_PIXELS];
        assert_eq!(v.translate(&x, Direction::BToA).len(), x.len());
        assert_eq!(v.domains(), (vec![7], vec![9]));
    }

    #[test]
    fn the_panel_sets_each_direction_against_its_ceiling() {
        let mut run = RunView::default();
        for (key, value) in [
            ("translation_acc_a2b", 0.85),
            ("translation_acc_b2a", 0.9),
            ("real_acc_a", 0.97),
            ("real_acc_b", 0.98),
            ("fid_a2b", 12.5),
            ("cycle_acc_a", 0.93),
        ] {
            run.latest.insert(key.into(), (1500, value));
        }
        let panel = CycleGanConfig::default().panel(&run).unwrap();
        assert!(panel.text.contains("At step 1500"), "{}", panel.text);
        assert!(panel.text.contains("85.0%") && panel.text.contains("98.0%"));
        assert_eq!(panel.bars.unwrap().values, [0.85, 0.98, 0.9, 0.97]);
        let table = panel.table.unwrap();
        assert_eq!(table.rows[0][3], "12.5");
        assert_eq!(table.rows[1][3], "-");
        assert_eq!(panel.grid_row_labels.unwrap().len(), 6);
        let empty = CycleGanConfig::default()
            .panel(&RunView::default())
            .unwrap();
        assert!(empty.bars.is_none() && empty.text.contains("No evaluation"));
    }
}
