//! How a StackGAN is scored and shown: its caption scores (agreement of
//! images drawn from test captions with their class and attributes, each
//! attribute's chance level, Stage-I's FID), the captions of its sample
//! grid, and its report panel.

use super::StackGanConfig;
use super::captions::{ATTRIBUTES, Caption};
use super::model::{StackGan, downscale2, grid_captions, upscale2};
use super::vocabulary::Vocabulary;
use crate::classes::NUM_CLASSES;
use crate::metric::{Better, MetricInfo, Section};
use crate::panel::{Bars, Panel, PanelTable, RunView};
use crate::{IMAGE_PIXELS, Judge, Result, Scalar};

use Better::{Higher, Lower, Neither};
use Section::{Evaluation, VariantScores};

/// The scores of caption-conditioned generation (captions built from test
/// images): agreement with the caption's class and attributes, each
/// attribute's chance level beside it, and the first stage's FID.
pub const CAPTION_SCORES: &[MetricInfo] = &[
    MetricInfo::new(
        "caption_class_acc",
        "caption class agreement (share the evaluator assigns to the caption's class)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new(
        "attr_acc_tone",
        "tone agreement with the caption",
        Higher,
        VariantScores,
    ),
    MetricInfo::new(
        "attr_acc_size",
        "size agreement with the caption",
        Higher,
        VariantScores,
    ),
    MetricInfo::new(
        "attr_acc_texture",
        "texture agreement with the caption",
        Higher,
        VariantScores,
    ),
    MetricInfo::new(
        "attr_chance_tone",
        "tone agreement by chance",
        Neither,
        VariantScores,
    ),
    MetricInfo::new(
        "attr_chance_size",
        "size agreement by chance",
        Neither,
        VariantScores,
    ),
    MetricInfo::new(
        "attr_chance_texture",
        "texture agreement by chance",
        Neither,
        VariantScores,
    ),
    MetricInfo::new(
        "fid_stage1",
        "FID of Stage-I (upscaled, against downscaled test images)",
        Lower,
        Evaluation,
    ),
];

impl StackGan {
    /// The scores of [`crate::Variant::evaluate`]: captions of the first
    /// `samples` test images, then class-only captions, classes in turn.
    pub(super) fn score(
        &self,
        judge: &dyn Judge,
        samples: usize,
        seed: u64,
    ) -> Result<Vec<Scalar>> {
        let thresholds = self.thresholds()?;
        let (test, test_labels) = judge.test_set();
        let n = samples.min(test_labels.len());
        let test = &test[..n * IMAGE_PIXELS];
        let captions: Vec<Caption> = test
            .chunks(IMAGE_PIXELS)
            .zip(test_labels)
            .map(|(image, &label)| thresholds.caption(image, label))
            .collect();
        let texts: Vec<String> = captions.iter().map(Vocabulary::canonical).collect();
        let (stage1, stage2) = self.draw(&self.tokens_of(&texts), seed);

        let mut scores = judge.image_scores(&stage2)?;
        if scores.iter().any(|s| s.name == "fid") {
            let reference = upscale2(&downscale2(test));
            scores.push(Scalar::new("fid_stage1", judge.fid(&stage1, &reference)?));
        }
        let predicted = judge.classify(&stage2);
        let share = |hits: usize| hits as f64 / n.max(1) as f64;
        let class_hits = predicted
            .iter()
            .zip(&captions)
            .filter(|(p, c)| **p == c.class)
            .count();
        scores.push(Scalar::new("caption_class_acc", share(class_hits)));
        let measured: Vec<[u8; 3]> = stage2
            .chunks(IMAGE_PIXELS)
            .zip(&captions)
            .map(|(image, c)| thresholds.bins(image, c.class))
            .collect();
        for (a, attr) in ATTRIBUTES.iter().enumerate() {
            let hits = measured
                .iter()
                .zip(&captions)
                .filter(|(m, c)| c.attrs[a] == Some(m[a]))
                .count();
            scores.push(Scalar::new(format!("attr_acc_{}", attr.name), share(hits)));
            scores.push(Scalar::new(
                format!("attr_chance_{}", attr.name),
                1.0 / attr.bins.len() as f64,
            ));
        }

        let labels: Vec<u8> = (0..n).map(|i| (i % NUM_CLASSES) as u8).collect();
        let texts: Vec<String> = labels
            .iter()
            .map(|&c| Vocabulary::canonical(&Caption::class_only(c)))
            .collect();
        let (_, by_class) = self.draw(&self.tokens_of(&texts), seed ^ 0x5eed);
        scores.extend(judge.class_scores(&by_class, &labels)?);
        Ok(scores)
    }
}

/// The panel of one run: caption → Stage-I → Stage-II grids and each
/// attribute's agreement against its chance level.
pub(super) fn panel(cfg: &StackGanConfig, run: &RunView) -> Panel {
    let labels: Vec<String> = grid_captions()
        .iter()
        .flat_map(|c| {
            let text = Vocabulary::canonical(c);
            [format!("{text} · Stage-I"), format!("{text} · Stage-II")]
        })
        .collect();
    let rows: Vec<(String, Option<f64>, Option<f64>)> = std::iter::once((
        "class".to_string(),
        run.value("caption_class_acc"),
        Some(0.1),
    ))
    .chain(ATTRIBUTES.iter().map(|a| {
        (
            a.name.to_string(),
            run.value(&format!("attr_acc_{}", a.name)),
            Some(1.0 / a.bins.len() as f64),
        )
    }))
    .collect();
    let measured = rows.iter().any(|r| r.1.is_some());
    let pct = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{:.1}%", 100.0 * v));
    let text = match run.step("caption_class_acc") {
        Some(step) => format!(
            "Encoder: {}; {}. At step {step}, images generated from captions of test images: the share the evaluator assigns to the caption's class, and per attribute the share whose measured bin matches the caption, beside the share a random image would match (chance). Grid rows: each caption's Stage-I image (14x14, upscaled) above its Stage-II image.",
            cfg.encoder,
            cfg.stages()
        ),
        None => format!(
            "Encoder: {}; {}. No evaluation was recorded, so there is no caption agreement; add an `eval` section to the spec to measure it. Grid rows: each caption's Stage-I image above its Stage-II image.",
            cfg.encoder,
            cfg.stages()
        ),
    };
    Panel {
        title: "Captions: agreement against chance".into(),
        text,
        bars: measured.then(|| Bars {
            title: "agreement with the caption (class, then each attribute)".into(),
            labels: rows.iter().map(|r| r.0.clone()).collect(),
            values: rows.iter().map(|r| r.1.unwrap_or(0.0)).collect(),
            max: Some(1.0),
        }),
        table: measured.then(|| PanelTable {
            header: vec!["field".into(), "agreement".into(), "chance".into()],
            rows: rows
                .iter()
                .map(|r| vec![r.0.clone(), pct(r.1), pct(r.2)])
                .collect(),
        }),
        grid_row_labels: Some(labels),
    }
}
