//! Plain-language diagnosis of a run from its numbers: a pure function of
//! the metric series (no database, no files), so every rule is unit-tested.
//!
//! The thresholds are constants here and are printed in the report's
//! footnote by [`thresholds`], so the page says exactly what it checked.

use serde::Serialize;

use crate::util::stats;

/// Both D accuracies above this count as "D wins every batch".
pub const STRONG_ACC: f64 = 0.95;
/// ... on at least this share of the logged steps in the second half.
pub const STRONG_SHARE: f64 = 0.30;
/// loss_g "climbs" when its last-quarter median exceeds its second-quarter
/// median by this fraction (of the latter's magnitude).
pub const CLIMB_REL: f64 = 0.10;
/// Mean D accuracy at or below this counts as "D no better than chance".
pub const WEAK_ACC: f64 = 0.55;
/// ... on at least this share of the logged steps in the second half.
pub const WEAK_SHARE: f64 = 0.50;
/// With two or more FID evaluations, the FID is "poor" when the last one is
/// above this fraction of the first (improved by less than 25%).
pub const FID_POOR_RATIO: f64 = 0.75;
/// Fewer classes than this covered at the end counts as mode collapse
/// (when the count fell from an earlier evaluation).
pub const MIN_CLASSES: f64 = 8.0;
/// coverage_kl "rises" when the last value exceeds this multiple of the
/// lowest earlier one, and by at least [`KL_MIN_RISE`].
pub const KL_RISE: f64 = 1.5;
pub const KL_MIN_RISE: f64 = 0.05;
/// Gradient norms "explode" when the last-quarter median exceeds this
/// multiple of the first-quarter median.
pub const GRAD_EXPLOSION: f64 = 20.0;
/// Balance rules need at least this many logged steps in the second half.
pub const MIN_SECOND_HALF: usize = 10;
/// The gradient rule needs at least this many logged steps.
pub const MIN_GRAD_POINTS: usize = 8;

/// The numbers a diagnosis looks at; series are (step, value) sorted by step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The failure reason when the run failed.
    pub failed_reason: Option<&'a str>,
    pub acc_real: &'a [(u64, f64)],
    pub acc_fake: &'a [(u64, f64)],
    pub loss_g: &'a [(u64, f64)],
    pub grad_norm_d: &'a [(u64, f64)],
    pub grad_norm_g: &'a [(u64, f64)],
    pub fid: &'a [(u64, f64)],
    pub classes_covered: &'a [(u64, f64)],
    pub coverage_kl: &'a [(u64, f64)],
}

/// One conclusion, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    DiscriminatorTooStrong {
        /// Share of second-half steps with both accuracies above [`STRONG_ACC`].
        share: f64,
        loss_g_second_quarter: f64,
        loss_g_last_quarter: f64,
    },
    DiscriminatorTooWeak {
        /// Share of second-half steps with mean accuracy at or below [`WEAK_ACC`].
        share: f64,
        /// Mean D accuracy over the second half.
        mean_acc: f64,
        /// First and last FID, when evaluated at least twice.
        fid: Option<(f64, f64)>,
    },
    ModeCollapse {
        /// Peak and final classes covered, when that rule fired.
        classes: Option<(f64, f64)>,
        /// Lowest earlier and final coverage KL, when that rule fired.
        coverage_kl: Option<(f64, f64)>,
    },
    DivergedNonFinite {
        reason: String,
    },
    GradientExplosion {
        metric: String,
        first_quarter_median: f64,
        last_quarter_median: f64,
    },
    Healthy,
}

impl Finding {
    /// A short title.
    pub fn title(&self) -> &'static str {
        match self {
            Self::DiscriminatorTooStrong { .. } => "Discriminator too strong",
            Self::DiscriminatorTooWeak { .. } => "Discriminator too weak (generator winning)",
            Self::ModeCollapse { .. } => "Mode collapse",
            Self::DivergedNonFinite { .. } => "Diverged (non-finite values)",
            Self::GradientExplosion { .. } => "Diverging (exploding gradients)",
            Self::Healthy => "Healthy",
        }
    }

    /// Whether this is a problem (anything but [`Finding::Healthy`]).
    pub fn is_problem(&self) -> bool {
        !matches!(self, Self::Healthy)
    }

    /// The explanation in plain language, with the evidence numbers.
    pub fn explanation(&self) -> String {
        match self {
            Self::DiscriminatorTooStrong {
                share,
                loss_g_second_quarter,
                loss_g_last_quarter,
            } => format!(
                "D classified both real and fake batches with accuracy above {STRONG_ACC} on \
                 {:.0}% of the steps in the second half of training, while the generator loss \
                 climbed (median {loss_g_second_quarter:.3} in the second quarter, \
                 {loss_g_last_quarter:.3} in the last). The generator gets little useful \
                 gradient: try a lower D learning rate, fewer D steps, label smoothing or a \
                 non-saturating / WGAN-GP loss.",
                share * 100.0
            ),
            Self::DiscriminatorTooWeak {
                share,
                mean_acc,
                fid,
            } => {
                let fid = match fid {
                    Some((first, last)) => format!(
                        " FID barely improved: {first:.3} at the first evaluation, {last:.3} at \
                         the last."
                    ),
                    None => String::new(),
                };
                format!(
                    "D's mean accuracy was at or below {WEAK_ACC} on {:.0}% of the steps in the \
                     second half (mean {mean_acc:.3}): it cannot tell real from fake, so it \
                     gives the generator no signal.{fid} Try a higher D learning rate or more D \
                     steps.",
                    share * 100.0
                )
            }
            Self::ModeCollapse {
                classes,
                coverage_kl,
            } => {
                let mut parts = Vec::new();
                if let Some((peak, last)) = classes {
                    parts.push(format!(
                        "the samples covered {last:.0} classes at the last evaluation, down \
                         from {peak:.0}"
                    ));
                }
                if let Some((low, last)) = coverage_kl {
                    parts.push(format!(
                        "the class-coverage KL rose from {low:.3} to {last:.3}"
                    ));
                }
                format!(
                    "The generator is producing fewer kinds of images: {}. Try minibatch \
                     diversity tricks, a lower learning rate or a WGAN-GP loss.",
                    parts.join("; ")
                )
            }
            Self::DivergedNonFinite { reason } => format!(
                "Training stopped on a non-finite number: {reason}. Lower the learning \
                 rates or use a loss with bounded gradients."
            ),
            Self::GradientExplosion {
                metric,
                first_quarter_median,
                last_quarter_median,
            } => format!(
                "The median of {metric} grew from {first_quarter_median:.3} in the first \
                 quarter to {last_quarter_median:.3} in the last ({:.0}x): training is \
                 heading towards divergence.",
                last_quarter_median / first_quarter_median
            ),
            Self::Healthy => "None of the problem rules fired: D and G stay in balance, \
                              gradients are stable and (where evaluated) class coverage holds."
                .to_string(),
        }
    }
}

/// The exact rules, for the report's footnote.
pub fn thresholds() -> Vec<String> {
    vec![
        format!(
            "Discriminator too strong: acc_real and acc_fake both > {STRONG_ACC} on at least \
             {:.0}% of the logged steps in the second half (by step), and the median of loss_g \
             over the last quarter of its points exceeds the median over the second quarter \
             by more than {:.0}% of the latter's magnitude.",
            STRONG_SHARE * 100.0,
            CLIMB_REL * 100.0
        ),
        format!(
            "Discriminator too weak: (acc_real + acc_fake) / 2 <= {WEAK_ACC} on at least \
             {:.0}% of the logged steps in the second half; when FID was evaluated at least \
             twice, also the last FID > {FID_POOR_RATIO} x the first.",
            WEAK_SHARE * 100.0
        ),
        format!(
            "Both balance rules need at least {MIN_SECOND_HALF} logged steps in the second half."
        ),
        format!(
            "Mode collapse (needs two or more evaluations): classes_covered at the last \
             evaluation < {MIN_CLASSES} and below an earlier value, or coverage_kl at the last \
             evaluation > {KL_RISE} x the lowest earlier value and higher by at least \
             {KL_MIN_RISE}."
        ),
        format!(
            "Divergence: the run failed on a non-finite value (NaN or infinity), or the median \
             of grad_norm_d or grad_norm_g over the last quarter of its points > \
             {GRAD_EXPLOSION} x the median over the first quarter (needs at least \
             {MIN_GRAD_POINTS} points)."
        ),
        "Healthy: none of the above.".to_string(),
    ]
}

/// Diagnoses a run; returns at least one finding ([`Finding::Healthy`] when
/// no rule fires).
pub fn diagnose(e: &Evidence) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(reason) = e.failed_reason
        && is_non_finite_reason(reason)
    {
        out.push(Finding::DivergedNonFinite {
            reason: reason.to_string(),
        });
    }
    for (metric, series) in [
        ("grad_norm_d", e.grad_norm_d),
        ("grad_norm_g", e.grad_norm_g),
    ] {
        if let Some(f) = gradient_explosion(metric, series) {
            out.push(f);
        }
    }
    out.extend(too_strong(e));
    out.extend(too_weak(e));
    out.extend(mode_collapse(e));
    if out.is_empty() {
        out.push(Finding::Healthy);
    }
    out
}

fn is_non_finite_reason(reason: &str) -> bool {
    let lower = reason.to_ascii_lowercase();
    ["nan", "inf", "non-finite", "diverged"]
        .iter()
        .any(|w| lower.contains(w))
}

/// The median of the finite values (None when there are none).
fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    stats::median(values.into_iter().filter(|x| x.is_finite()))
}

/// The values of the `q`-th quarter (0-based) of a series, by position.
fn quarter(series: &[(u64, f64)], q: usize) -> impl Iterator<Item = f64> + '_ {
    let n = series.len();
    series[q * n / 4..(q + 1) * n / 4].iter().map(|p| p.1)
}

fn gradient_explosion(metric: &str, series: &[(u64, f64)]) -> Option<Finding> {
    if series.len() < MIN_GRAD_POINTS {
        return None;
    }
    let first = median(quarter(series, 0))?;
    let last = median(quarter(series, 3))?;
    (first > 0.0 && last > GRAD_EXPLOSION * first).then(|| Finding::GradientExplosion {
        metric: metric.to_string(),
        first_quarter_median: first,
        last_quarter_median: last,
    })
}

/// (acc_real, acc_fake) pairs at the steps in the second half of training
/// (steps above half of the last step), joined by step.
fn second_half_accuracies(e: &Evidence) -> Vec<(f64, f64)> {
    let last = e
        .acc_real
        .last()
        .map_or(0, |p| p.0)
        .max(e.acc_fake.last().map_or(0, |p| p.0));
    let half = last / 2;
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < e.acc_real.len() && j < e.acc_fake.len() {
        let (sr, vr) = e.acc_real[i];
        let (sf, vf) = e.acc_fake[j];
        match sr.cmp(&sf) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if sr > half && vr.is_finite() && vf.is_finite() {
                    out.push((vr, vf));
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn too_strong(e: &Evidence) -> Option<Finding> {
    let pairs = second_half_accuracies(e);
    if pairs.len() < MIN_SECOND_HALF || e.loss_g.len() < 4 {
        return None;
    }
    let strong = pairs
        .iter()
        .filter(|(r, f)| *r > STRONG_ACC && *f > STRONG_ACC)
        .count();
    let share = strong as f64 / pairs.len() as f64;
    let q2 = median(quarter(e.loss_g, 1))?;
    let q4 = median(quarter(e.loss_g, 3))?;
    let climbs = q4 > q2 + CLIMB_REL * q2.abs();
    (share >= STRONG_SHARE && climbs).then_some(Finding::DiscriminatorTooStrong {
        share,
        loss_g_second_quarter: q2,
        loss_g_last_quarter: q4,
    })
}

fn too_weak(e: &Evidence) -> Option<Finding> {
    let pairs = second_half_accuracies(e);
    if pairs.len() < MIN_SECOND_HALF {
        return None;
    }
    let means: Vec<f64> = pairs.iter().map(|(r, f)| (r + f) / 2.0).collect();
    let weak = means.iter().filter(|m| **m <= WEAK_ACC).count();
    let share = weak as f64 / means.len() as f64;
    let mean_acc = means.iter().sum::<f64>() / means.len() as f64;
    let fid: Vec<f64> = e
        .fid
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    let fid = (fid.len() >= 2).then(|| (fid[0], fid[fid.len() - 1]));
    let fid_poor = fid.is_none_or(|(first, last)| last > FID_POOR_RATIO * first);
    (share >= WEAK_SHARE && fid_poor).then_some(Finding::DiscriminatorTooWeak {
        share,
        mean_acc,
        fid,
    })
}

fn mode_collapse(e: &Evidence) -> Option<Finding> {
    let finite = |s: &[(u64, f64)]| -> Vec<f64> {
        s.iter().map(|p| p.1).filter(|v| v.is_finite()).collect()
    };
    let classes = finite(e.classes_covered);
    let classes = match classes.split_last() {
        Some((&last, earlier)) if !earlier.is_empty() => {
            let peak = earlier.iter().copied().fold(f64::MIN, f64::max);
            (last < MIN_CLASSES && last < peak).then_some((peak, last))
        }
        _ => None,
    };
    let kl = finite(e.coverage_kl);
    let kl = match kl.split_last() {
        Some((&last, earlier)) if !earlier.is_empty() => {
            let low = earlier.iter().copied().fold(f64::MAX, f64::min);
            (last > KL_RISE * low && last - low >= KL_MIN_RISE).then_some((low, last))
        }
        _ => None,
    };
    (classes.is_some() || kl.is_some()).then_some(Finding::ModeCollapse {
        classes,
        coverage_kl: kl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: impl IntoIterator<Item = f64>) -> Vec<(u64, f64)> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, v))
            .collect()
    }

    fn constant(n: usize, v: f64) -> Vec<(u64, f64)> {
        series(std::iter::repeat_n(v, n))
    }

    #[test]
    fn balanced_run_is_healthy() {
        let acc = constant(100, 0.7);
        let loss = constant(100, 1.0);
        let grad = constant(100, 2.0);
        let e = Evidence {
            acc_real: &acc,
            acc_fake: &acc,
            loss_g: &loss,
            grad_norm_d: &grad,
            grad_norm_g: &grad,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
        assert!(!diagnose(&Evidence::default())[0].is_problem());
    }

    #[test]
    fn strong_discriminator_needs_high_accuracy_and_climbing_loss() {
        // Accuracies 0.99 on the last 40 of 100 steps: 80% of the second half.
        let acc = series((0..100).map(|i| if i >= 60 { 0.99 } else { 0.7 }));
        let climbing = series((0..100).map(|i| 1.0 + i as f64 / 20.0));
        let e = Evidence {
            acc_real: &acc,
            acc_fake: &acc,
            loss_g: &climbing,
            ..Default::default()
        };
        let found = diagnose(&e);
        let Finding::DiscriminatorTooStrong {
            share,
            loss_g_second_quarter,
            loss_g_last_quarter,
        } = &found[0]
        else {
            panic!("{found:?}")
        };
        assert!((share - 0.8).abs() < 1e-9, "{share}");
        assert!(loss_g_last_quarter > loss_g_second_quarter);
        assert!(found[0].explanation().contains("80%"));

        // A flat generator loss: not "too strong".
        let flat = constant(100, 3.0);
        let e = Evidence { loss_g: &flat, ..e };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);

        // Only one accuracy high: not "too strong".
        let low = constant(100, 0.6);
        let e = Evidence {
            acc_fake: &low,
            loss_g: &climbing,
            ..e
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);

        // Too short a stretch: 20 of 50 second-half steps is 40%, 10 is 20%.
        let acc = series((0..100).map(|i| if i >= 90 { 0.99 } else { 0.7 }));
        let e = Evidence {
            acc_real: &acc,
            acc_fake: &acc,
            loss_g: &climbing,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
    }

    #[test]
    fn weak_discriminator_depends_on_fid_when_evaluated() {
        let acc = constant(100, 0.5);
        let e = Evidence {
            acc_real: &acc,
            acc_fake: &acc,
            ..Default::default()
        };
        assert!(matches!(
            diagnose(&e)[0],
            Finding::DiscriminatorTooWeak { fid: None, .. }
        ));
        // FID fell from 100 to 20: the generator is doing fine.
        let good = vec![(10, 100.0), (100, 20.0)];
        let e2 = Evidence { fid: &good, ..e };
        assert_eq!(diagnose(&e2), vec![Finding::Healthy]);
        // FID stuck: weak D and poor samples.
        let poor = vec![(10, 100.0), (100, 90.0)];
        let e3 = Evidence { fid: &poor, ..e };
        let found = diagnose(&e3);
        assert_eq!(
            found[0],
            Finding::DiscriminatorTooWeak {
                share: 1.0,
                mean_acc: 0.5,
                fid: Some((100.0, 90.0))
            }
        );
        assert!(found[0].explanation().contains("90.000"));
        // Too few steps to judge.
        let short = constant(12, 0.5);
        let e4 = Evidence {
            acc_real: &short,
            acc_fake: &short,
            ..Default::default()
        };
        assert_eq!(diagnose(&e4), vec![Finding::Healthy]);
    }

    #[test]
    fn mode_collapse_from_classes_or_kl() {
        let falling = vec![(100, 10.0), (200, 9.0), (300, 5.0)];
        let e = Evidence {
            classes_covered: &falling,
            ..Default::default()
        };
        assert_eq!(
            diagnose(&e),
            vec![Finding::ModeCollapse {
                classes: Some((10.0, 5.0)),
                coverage_kl: None
            }]
        );
        // Never fell: few classes but rising (early training) is no collapse.
        let rising = vec![(100, 3.0), (200, 6.0)];
        let e = Evidence {
            classes_covered: &rising,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
        // One evaluation is not enough.
        let one = vec![(100, 2.0)];
        let e = Evidence {
            classes_covered: &one,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
        // KL rising well above its low point.
        let kl = vec![(100, 0.3), (200, 0.1), (300, 0.4)];
        let e = Evidence {
            coverage_kl: &kl,
            ..Default::default()
        };
        assert_eq!(
            diagnose(&e),
            vec![Finding::ModeCollapse {
                classes: None,
                coverage_kl: Some((0.1, 0.4))
            }]
        );
        // Tiny wobble near zero is not a rise.
        let kl = vec![(100, 0.01), (200, 0.02)];
        let e = Evidence {
            coverage_kl: &kl,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
    }

    #[test]
    fn divergence_from_failure_or_exploding_gradients() {
        let e = Evidence {
            failed_reason: Some("loss_d became NaN at step 8 (training diverged)"),
            ..Default::default()
        };
        assert!(matches!(diagnose(&e)[0], Finding::DivergedNonFinite { .. }));
        // A failure for another reason is not divergence.
        let e = Evidence {
            failed_reason: Some("out of disk space"),
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);

        // 1.0 in the first quarter, 50.0 in the last: 50x.
        let grad = series((0..40).map(|i| if i >= 30 { 50.0 } else { 1.0 }));
        let e = Evidence {
            grad_norm_g: &grad,
            ..Default::default()
        };
        assert_eq!(
            diagnose(&e),
            vec![Finding::GradientExplosion {
                metric: "grad_norm_g".into(),
                first_quarter_median: 1.0,
                last_quarter_median: 50.0
            }]
        );
        // 10x is within bounds; a single spike does not move the median.
        let grad = series((0..40).map(|i| match i {
            20 => 1e6,
            i if i >= 30 => 10.0,
            _ => 1.0,
        }));
        let e = Evidence {
            grad_norm_d: &grad,
            ..Default::default()
        };
        assert_eq!(diagnose(&e), vec![Finding::Healthy]);
    }

    #[test]
    fn thresholds_name_every_rule() {
        let text = thresholds().join(" ");
        for needle in ["0.95", "30%", "0.55", "20 x", "< 8", "1.5 x"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }
}
