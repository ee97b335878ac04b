//! The metric vocabulary: every key a run records is defined once here (or by
//! the variant that records it, such as StackGAN's caption scores) with its label, which way is better and the
//! report section it belongs to. Losses, scoring, the progress bar, the
//! diagnosis, the report and sweep ranking all read it.

use std::borrow::Cow;

/// One named number from a training step or an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    pub name: Cow<'static, str>,
    pub value: f64,
}

impl Scalar {
    pub fn new(name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// The value of `name` among `scalars`.
pub fn find(scalars: &[Scalar], name: &str) -> Option<f64> {
    scalars.iter().find(|s| s.name == name).map(|s| s.value)
}

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// A diagnostic with no good direction (losses, D's outputs).
    Neither,
}

/// Where the report draws a metric, in page order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Losses,
    DiscriminatorOutputs,
    DiscriminatorAccuracy,
    GradientNorms,
    Throughput,
    /// Scores of generated images (FID and friends), shown as final and best in the runs table.
    Evaluation,
    /// Per-class or otherwise variant-specific scores, shown by the variant's panel.
    VariantScores,
    Other,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Losses => "Losses",
            Section::DiscriminatorOutputs => "Discriminator outputs",
            Section::DiscriminatorAccuracy => "Discriminator accuracy",
            Section::GradientNorms => "Gradient norms",
            Section::Throughput => "Throughput",
            Section::Evaluation => "Evaluation",
            Section::VariantScores => "Variant scores",
            Section::Other => "Other metrics",
        }
    }
}

/// What a metric key means.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricInfo {
    pub key: Cow<'static, str>,
    pub label: Cow<'static, str>,
    pub better: Better,
    pub section: Section,
}

impl MetricInfo {
    pub const fn new(
        key: &'static str,
        label: &'static str,
        better: Better,
        section: Section,
    ) -> Self {
        Self {
            key: Cow::Borrowed(key),
            label: Cow::Borrowed(label),
            better,
            section,
        }
    }

    /// The label with its direction, as chart titles show it.
    pub fn titled(&self) -> String {
        match self.better {
            Better::Lower => format!("{} (lower is better)", self.label),
            Better::Higher => format!("{} (higher is better)", self.label),
            Better::Neither => self.label.to_string(),
        }
    }

    /// Whether `a` is better than `b` by this metric (`Neither`: never).
    pub fn improves(&self, a: f64, b: f64) -> bool {
        match self.better {
            Better::Lower => a < b,
            Better::Higher => a > b,
            Better::Neither => false,
        }
    }
}

use Better::*;
use Section::*;

/// What every adversarial variant records at each step.
pub const TRAINING: &[MetricInfo] = &[
    MetricInfo::new("loss_d", "discriminator loss", Neither, Losses),
    MetricInfo::new("loss_g", "generator loss", Neither, Losses),
    MetricInfo::new("gradient_penalty", "gradient penalty", Neither, Losses),
    MetricInfo::new("class_loss_d", "discriminator class loss", Lower, Losses),
    MetricInfo::new("d_real", "D(x), real images", Neither, DiscriminatorOutputs),
    MetricInfo::new(
        "d_fake",
        "D(G(z)), generated images",
        Neither,
        DiscriminatorOutputs,
    ),
    MetricInfo::new(
        "acc_real",
        "accuracy on real images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "acc_fake",
        "accuracy on generated images",
        Neither,
        DiscriminatorAccuracy,
    ),
    MetricInfo::new(
        "grad_norm_d",
        "discriminator gradient norm",
        Neither,
        GradientNorms,
    ),
    MetricInfo::new(
        "grad_norm_g",
        "generator gradient norm",
        Neither,
        GradientNorms,
    ),
    MetricInfo::new("img_per_s", "images per second", Higher, Throughput),
];

/// The scores of generated images against the whole test split.
pub const IMAGE_SCORES: &[MetricInfo] = &[
    MetricInfo::new("fid", "FID", Lower, Evaluation),
    MetricInfo::new("kid", "KID", Lower, Evaluation),
    MetricInfo::new("is", "Inception-style score", Higher, Evaluation),
    MetricInfo::new("precision", "precision", Higher, Evaluation),
    MetricInfo::new("recall", "recall", Higher, Evaluation),
    MetricInfo::new(
        "classes_covered",
        "classes covered (of 10)",
        Higher,
        Evaluation,
    ),
    MetricInfo::new("coverage_kl", "class-coverage KL", Lower, Evaluation),
];

/// The scores of class-conditional generation.
pub fn class_scores(classes: usize) -> Vec<MetricInfo> {
    let mut out = vec![
        MetricInfo::new(
            "cond_acc",
            "conditional accuracy (share of the requested class)",
            Higher,
            Evaluation,
        ),
        MetricInfo::new("intra_fid_mean", "intra-class FID, mean", Lower, Evaluation),
    ];
    for c in 0..classes {
        out.push(MetricInfo {
            key: format!("class_acc_{c}").into(),
            label: format!("accuracy of class {c}").into(),
            better: Higher,
            section: VariantScores,
        });
        out.push(MetricInfo {
            key: format!("intra_fid_{c}").into(),
            label: format!("intra-class FID of class {c}").into(),
            better: Lower,
            section: VariantScores,
        });
    }
    out
}

/// The entry for `key` in `vocabulary`; a key nobody defined (a metric from a
/// newer gan-lab, a `*_std` spread) is an undirected "other" metric.
pub fn lookup(vocabulary: &[MetricInfo], key: &str) -> MetricInfo {
    vocabulary
        .iter()
        .find(|m| m.key == key)
        .cloned()
        .unwrap_or_else(|| MetricInfo {
            key: key.to_string().into(),
            label: key.to_string().into(),
            better: Neither,
            section: Other,
        })
}

/// A variant's primary score: it picks the best checkpoint and is what
/// sweeps rank by unless told otherwise.
#[derive(Clone, Debug, PartialEq)]
pub struct Objective {
    pub key: Cow<'static, str>,
    pub better: Better,
}

impl Objective {
    pub fn is_better(&self, a: f64, than: f64) -> bool {
        match self.better {
            Better::Higher => a > than,
            _ => a < than,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_defined_once() {
        let mut all: Vec<MetricInfo> = TRAINING.to_vec();
        all.extend(IMAGE_SCORES.iter().cloned());
        all.extend(class_scores(10));
        let mut keys: Vec<&str> = all.iter().map(|m| m.key.as_ref()).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn unknown_keys_are_other_and_directions_compare() {
        let other = lookup(IMAGE_SCORES, "kid_std");
        assert_eq!(
            (other.section, other.better),
            (Section::Other, Better::Neither)
        );
        let fid = lookup(IMAGE_SCORES, "fid");
        assert_eq!(fid.titled(), "FID (lower is better)");
        assert!(fid.improves(1.0, 2.0) && !fid.improves(2.0, 1.0));
        let up = Objective {
            key: "cond_acc".into(),
            better: Better::Higher,
        };
        assert!(up.is_better(0.9, 0.8));
    }
}
