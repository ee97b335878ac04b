//! The values a sweep gives its parameters: the combinations of a grid, and
//! the draws of a random search from its distributions (each trial seeded on
//! its own), all as `--set` value text.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ron::value::RawValue;

use super::spec::{Distribution, RandomSpec};

/// A value's RON text, as a `--set` value.
pub(super) fn raw(value: &RawValue) -> &str {
    value.get_ron().trim()
}

/// The grid's combinations, the last key varying fastest.
pub(super) fn grid_points(
    grid: &BTreeMap<String, Vec<Box<RawValue>>>,
) -> Vec<Vec<(String, String)>> {
    let mut points = vec![Vec::new()];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|point: Vec<(String, String)>| {
                values.iter().map(move |v| {
                    let mut p = point.clone();
                    p.push((key.clone(), raw(v).to_string()));
                    p
                })
            })
            .collect();
    }
    points
}

impl RandomSpec {
    /// The values of trial `trial`: each trial has its own generator, so
    /// adding trials keeps the earlier ones.
    pub(super) fn draw(&self, trial: usize) -> Vec<(String, String)> {
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ (trial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        self.params
            .iter()
            .map(|(key, dist)| (key.clone(), dist.sample(&mut rng)))
            .collect()
    }
}

impl Distribution {
    pub(super) fn check(&self) -> std::result::Result<(), String> {
        match self {
            Distribution::Uniform(low, high)
                if !(low.is_finite()
                    && high.is_finite()
                    && (high - low).is_finite()
                    && low <= high) =>
            {
                Err(format!(
                    "Uniform({low}, {high}) needs finite low <= high, less than 1e308 apart"
                ))
            }
            Distribution::LogUniform(low, high)
                if !(*low > 0.0 && high.is_finite() && low <= high) =>
            {
                Err(format!("LogUniform({low}, {high}) needs 0 < low <= high"))
            }
            Distribution::IntRange(low, high) if low > high => {
                Err(format!("IntRange({low}, {high}) needs low <= high"))
            }
            Distribution::Choice(values) if values.is_empty() => {
                Err("Choice lists no values; list at least one".into())
            }
            _ => Ok(()),
        }
    }

    /// Values that stand for the distribution when checking it against the spec.
    pub(super) fn examples(&self) -> Vec<String> {
        match self {
            Distribution::Uniform(low, high) | Distribution::LogUniform(low, high) => {
                vec![format_float(*low), format_float(*high)]
            }
            Distribution::IntRange(low, high) => vec![low.to_string(), high.to_string()],
            Distribution::Choice(values) => values.iter().map(|v| raw(v).to_string()).collect(),
        }
    }

    /// One draw, as `--set` value text (floats with 3 significant digits, so
    /// that names stay readable and a value is exactly what the name says).
    fn sample(&self, rng: &mut StdRng) -> String {
        match self {
            Distribution::Uniform(low, high) => format_float(rng.random_range(*low..=*high)),
            Distribution::LogUniform(low, high) => {
                format_float(rng.random_range(low.ln()..=high.ln()).exp())
            }
            Distribution::IntRange(low, high) => rng.random_range(*low..=*high).to_string(),
            Distribution::Choice(values) => {
                raw(&values[rng.random_range(0..values.len())]).to_string()
            }
        }
    }
}

/// `0.000123` as `1.23e-4`: three significant digits, JSON-readable.
fn format_float(value: f64) -> String {
    let text = format!("{value:.2e}");
    // Rust writes `1.23e-4`, which JSON reads; keep it, but trim `.00`.
    text.replace(".00e", "e")
}
