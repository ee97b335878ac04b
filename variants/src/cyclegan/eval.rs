//! How a CycleGAN is scored and shown: the metric keys it records, the
//! evaluation of both directions on the test split (translation accuracy
//! against the ceiling of real images, FID, cycle L1 and cycle accuracy),
//! and its report panel.

use super::model::{CycleGan, GRID_ROWS};
use super::{CycleGanConfig, class_list};
use crate::metric::{Better, MetricInfo, Section};
use crate::panel::{Bars, Panel, PanelTable, RunView};
use crate::{Direction, IMAGE_PIXELS, Judge, Result, Scalar, VariantError};

use Better::{Higher, Lower, Neither};
use Section::{DiscriminatorAccuracy, Evaluation, Losses, Other, VariantScores};

/// The keys a CycleGAN run records beyond the shared training ones.
pub(super) const CYCLE_METRICS: &[MetricInfo] = &[
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

/// A model value rounded to the nearest 8-bit pixel (clamped to `[-1, 1]`).
fn to_8bit(v: f32) -> f32 {
    ((v.clamp(-1.0, 1.0) + 1.0) * 127.5).round() / 127.5 - 1.0
}

impl CycleGan {
    /// The scores of [`crate::Variant::evaluate`]: both directions on up to
    /// `samples` test images of each domain.
    pub(super) fn score(&self, judge: &dyn Judge, samples: usize) -> Result<Vec<Scalar>> {
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

/// The panel of one run.
pub(super) fn panel(cfg: &CycleGanConfig, run: &RunView) -> Panel {
    let a = class_list(&cfg.domain_a);
    let b = class_list(&cfg.domain_b);
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
    Panel {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VariantConfig;

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
