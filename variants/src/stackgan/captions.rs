//! What a caption says and how it is measured. Fashion-MNIST has labels
//! but no text, so each caption names the class and up to three attributes
//! measured from the pixels: text conditioning then carries more than the
//! label, and generated images can be checked with the same measurements.
//!
//! - tone (mean intensity of the garment: dark, mid-tone, light), size (share
//!   of the frame the garment covers: slim, wide) and texture (mean change
//!   between neighbouring garment pixels: plain, patterned);
//! - bins are per-class quantiles of the training split ([`Thresholds`]), so
//!   each attribute's chance level is one over its bin count and no
//!   attribute stands in for the class.
//!
//! The words of captions are in [`super::vocabulary`].

use crate::IMAGE_PIXELS;
use crate::classes::NUM_CLASSES;

/// Intensity in `[0, 1]` above which a pixel belongs to the garment.
pub const INK: f32 = 0.1;

/// One measured attribute: its name and, per bin, its words (the first is
/// the canonical one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attribute {
    pub name: &'static str,
    pub bins: &'static [&'static [&'static str]],
}

/// Tone, size and texture, in caption order.
pub const ATTRIBUTES: [Attribute; 3] = [
    Attribute {
        name: "tone",
        bins: &[
            &["dark", "black", "deep"],
            &["mid-tone", "grey", "gray"],
            &["light", "pale", "bright"],
        ],
    },
    Attribute {
        name: "size",
        bins: &[&["slim", "narrow", "small"], &["wide", "broad", "large"]],
    },
    Attribute {
        name: "texture",
        bins: &[
            &["plain", "smooth", "simple"],
            &["patterned", "textured", "busy"],
        ],
    },
];

/// What a caption says: the class and, per attribute, a bin or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caption {
    pub class: u8,
    pub attrs: [Option<u8>; 3],
}

impl Caption {
    /// A caption that names only the class.
    pub fn class_only(class: u8) -> Self {
        Self {
            class,
            attrs: [None; 3],
        }
    }
}

/// Tone, size and texture of one image (`784` values in `[-1, 1]`).
pub fn measure(image: &[f32]) -> [f32; 3] {
    let side = crate::IMAGE_SIDE;
    let unit: Vec<f32> = image.iter().map(|&p| (p + 1.0) * 0.5).collect();
    let ink = |i: usize| unit[i] > INK;
    let (mut count, mut sum) = (0usize, 0f32);
    let (mut pairs, mut change) = (0usize, 0f32);
    for y in 0..side {
        for x in 0..side {
            let i = y * side + x;
            if !ink(i) {
                continue;
            }
            count += 1;
            sum += unit[i];
            for j in [
                (x + 1 < side).then(|| i + 1),
                (y + 1 < side).then(|| i + side),
            ]
            .into_iter()
            .flatten()
            {
                if ink(j) {
                    pairs += 1;
                    change += (unit[i] - unit[j]).abs();
                }
            }
        }
    }
    let tone = if count > 0 { sum / count as f32 } else { 0.0 };
    let texture = if pairs > 0 {
        change / pairs as f32
    } else {
        0.0
    };
    [tone, count as f32 / IMAGE_PIXELS as f32, texture]
}

/// Per class and attribute, the cut points between bins (quantiles of the
/// training split).
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// `cuts[class][attribute]`: ascending, one fewer than the bins.
    pub cuts: Vec<[Vec<f32>; 3]>,
}

impl Thresholds {
    /// Quantile cuts of `images` (`n * 784`, `[-1, 1]`) per class of `labels`;
    /// a class without images gets the cuts of all images.
    pub fn fit(images: &[f32], labels: &[u8]) -> Self {
        let measures: Vec<[f32; 3]> = images.chunks(IMAGE_PIXELS).map(measure).collect();
        let cuts_of = |rows: &[[f32; 3]]| -> [Vec<f32>; 3] {
            std::array::from_fn(|a| {
                let mut values: Vec<f32> = rows.iter().map(|m| m[a]).collect();
                values.sort_by(f32::total_cmp);
                let bins = ATTRIBUTES[a].bins.len();
                (1..bins)
                    .map(|k| values.get(k * values.len() / bins).copied().unwrap_or(0.0))
                    .collect()
            })
        };
        let all = cuts_of(&measures);
        let cuts = (0..NUM_CLASSES as u8)
            .map(|c| {
                let rows: Vec<[f32; 3]> = measures
                    .iter()
                    .zip(labels)
                    .filter(|(_, l)| **l == c)
                    .map(|(m, _)| *m)
                    .collect();
                if rows.is_empty() {
                    all.clone()
                } else {
                    cuts_of(&rows)
                }
            })
            .collect();
        Self { cuts }
    }

    /// The bin of each attribute of `image` as an image of `class`.
    pub fn bins(&self, image: &[f32], class: u8) -> [u8; 3] {
        let m = measure(image);
        std::array::from_fn(|a| {
            self.cuts[class as usize][a]
                .iter()
                .filter(|&&c| m[a] >= c)
                .count() as u8
        })
    }

    /// The full caption of `image` as an image of `class`.
    pub fn caption(&self, image: &[f32], class: u8) -> Caption {
        Caption {
            class,
            attrs: self.bins(image, class).map(Some),
        }
    }
}

#[cfg(test)]
/// A 28x28 image in `[-1, 1]`: a `w` x `h` block of `value` (in `[0, 1]`)
/// at the top left, every other column changed by `stripe`.
pub(super) fn block(w: usize, h: usize, value: f32, stripe: f32) -> Vec<f32> {
    let mut img = vec![-1.0; IMAGE_PIXELS];
    for y in 0..h {
        for x in 0..w {
            let v = if x % 2 == 1 { value - stripe } else { value };
            img[y * 28 + x] = v * 2.0 - 1.0;
        }
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_agree_with_hand_made_images() {
        let [tone, size, texture] = measure(&block(14, 28, 0.8, 0.0));
        assert!((tone - 0.8).abs() < 1e-5, "{tone}");
        assert!((size - 0.5).abs() < 1e-6, "{size}");
        assert!(texture.abs() < 1e-6, "{texture}");
        // Stripes: every horizontal pair changes by 0.4, vertical pairs not at all.
        let [tone, _, texture] = measure(&block(10, 10, 0.8, 0.4));
        assert!((tone - 0.6).abs() < 1e-5, "{tone}");
        let expected = (9.0 * 10.0 * 0.4) / (9.0 * 10.0 + 10.0 * 9.0);
        assert!((texture - expected).abs() < 1e-5, "{texture} vs {expected}");
        assert_eq!(measure(&vec![-1.0; IMAGE_PIXELS]), [0.0, 0.0, 0.0]);

        // Dark, mid and light blocks of one class fall into the three tone bins;
        // small and large ones into the two size bins.
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for (i, tone) in [0.3f32, 0.6, 0.9].into_iter().enumerate() {
            for w in [8, 20] {
                images.extend(block(w, 20, tone, 0.05 * i as f32));
                labels.push(3);
            }
        }
        let t = Thresholds::fit(&images, &labels);
        assert_eq!(t.bins(&block(8, 20, 0.3, 0.0), 3), [0, 0, 0]);
        assert_eq!(t.bins(&block(20, 20, 0.9, 0.1), 3), [2, 1, 1]);
        assert_eq!(t.bins(&block(20, 20, 0.6, 0.05), 3)[..2], [1, 1]);
        // A class without images takes the cuts of all images.
        assert_eq!(t.cuts[0], t.cuts[3]);
    }
}
