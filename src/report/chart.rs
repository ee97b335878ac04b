//! Charts drawn with plotters as SVG (bars, scatter, parallel
//! coordinates), the colours runs keep across the page, and the point
//! budget of the curves (which the page's script draws, see `curves`).
//!
//! plotters' SVG backend escapes text (`<`, `>`, `&`, quotes) itself, so
//! labels are handed over raw: escaping them here would double-escape.

use plotters::prelude::*;

/// At most this many points per drawn series.
pub const MAX_POINTS: usize = 1000;
/// Fewest points per series when many series share a chart.
pub const MIN_POINTS: usize = 100;
/// Rough cap on the points of one chart, over all its series.
pub const CHART_POINT_BUDGET: usize = 100_000;
/// Series beyond this many get no legend entry.
pub const MAX_LEGEND: usize = 16;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 300;

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th series, as CSS.
pub fn css_color(i: usize) -> String {
    let c = PALETTE[i % PALETTE.len()];
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Points per series for a chart with `n` series.
pub fn points_per_series(n: usize) -> usize {
    (CHART_POINT_BUDGET / n.max(1)).clamp(MIN_POINTS, MAX_POINTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_shrinks_with_many_series() {
        assert_eq!(points_per_series(1), MAX_POINTS);
        assert_eq!(points_per_series(10), MAX_POINTS);
        assert_eq!(points_per_series(1000), MIN_POINTS);
    }
}

/// A bar chart: one bar per label, values from 0 to `max` (or the largest value).
pub fn bars(
    title: &str,
    labels: &[String],
    values: &[f64],
    max: Option<f64>,
) -> Result<String, String> {
    let top = max
        .unwrap_or_else(|| {
            values
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
        })
        .max(1e-9);
    let n = labels.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..n as f64, 0.0..top * 1.05)
            .map_err(|e| e.to_string())?;
        let names = labels.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_labels(n * 2 + 1)
            .x_label_formatter(&|x| {
                // Labels sit at bar centres (i + 0.5).
                let i = (x - 0.5).round();
                if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_style(("sans-serif", 10).into_font())
            .y_labels(6)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let v = if v.is_finite() { v } else { 0.0 };
                Rectangle::new(
                    [(i as f64 + 0.15, 0.0), (i as f64 + 0.85, v)],
                    PALETTE[0].filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// An axis of a scatter or parallel-coordinates chart: numbers (drawn on a
/// log scale when `log`) or named categories at evenly spaced positions.
#[derive(Clone, Debug, PartialEq)]
pub enum Axis {
    Numeric { log: bool },
    Categories(Vec<String>),
}

impl Axis {
    /// The axis for these value texts: numeric when all parse, log when all
    /// are positive and span more than a factor of 10.
    pub fn for_values(values: &[String]) -> Axis {
        let numbers: Option<Vec<f64>> = values.iter().map(|v| v.parse::<f64>().ok()).collect();
        match numbers {
            Some(n) if !n.is_empty() => {
                let (lo, hi) = n
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                Axis::Numeric {
                    log: lo > 0.0 && hi / lo > 10.0,
                }
            }
            _ => {
                let mut cats: Vec<String> = values.to_vec();
                cats.sort();
                cats.dedup();
                Axis::Categories(cats)
            }
        }
    }

    /// The position of a value text on the axis (before scaling).
    pub fn position(&self, value: &str) -> Option<f64> {
        match self {
            Axis::Numeric { log } => {
                let v = value.parse::<f64>().ok()?;
                if *log {
                    (v > 0.0).then(|| v.log10())
                } else {
                    Some(v)
                }
            }
            Axis::Categories(cats) => cats.iter().position(|c| c == value).map(|i| i as f64),
        }
    }

    fn label(&self, position: f64) -> String {
        match self {
            Axis::Numeric { log: true } => format!("{:.1e}", 10f64.powf(position)),
            Axis::Numeric { log: false } => format_tick(position),
            Axis::Categories(cats) => {
                let i = position.round();
                if (position - i).abs() < 1e-6 && i >= 0.0 {
                    cats.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }
}

fn format_tick(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-2 || v.abs() >= 1e5) {
        format!("{v:.1e}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    }
}

/// One parameter against the score: a dot per run, coloured by its group.
pub fn scatter(
    title: &str,
    x_name: &str,
    y_name: &str,
    axis: &Axis,
    points: &[(String, f64, usize)],
) -> Result<String, String> {
    let placed: Vec<(f64, f64, usize)> = points
        .iter()
        .filter(|p| p.1.is_finite())
        .filter_map(|(x, y, c)| Some((axis.position(x)?, *y, *c)))
        .collect();
    let (x0, x1) = match axis {
        Axis::Categories(c) => (-0.5, c.len() as f64 - 0.5),
        Axis::Numeric { .. } => span(placed.iter().map(|p| p.0)),
    };
    let (y0, y1) = span(placed.iter().map(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH / 2 + 40, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        let ticks = match axis {
            Axis::Categories(c) => c.len() * 2 + 1,
            Axis::Numeric { .. } => 5,
        };
        chart
            .configure_mesh()
            .x_desc(x_name)
            .y_desc(y_name)
            .x_labels(ticks)
            .x_label_formatter(&|x| axis.label(*x))
            .y_labels(6)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(placed.iter().map(|&(x, y, c)| {
                Circle::new((x, y), 5, PALETTE[c % PALETTE.len()].mix(0.8).filled())
            }))
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Parallel coordinates: one vertical axis per parameter and a last one for
/// the score; each run is a line through its values, darker for better
/// scores. `lines` hold one value text per axis and the score.
pub fn parallel(
    title: &str,
    names: &[String],
    axes: &[Axis],
    score_name: &str,
    lines: &[(Vec<String>, f64)],
    lower_is_better: bool,
) -> Result<String, String> {
    let k = axes.len();
    // Each axis scaled to 0..1 over its values.
    let ranges: Vec<(f64, f64)> = (0..k)
        .map(|a| match &axes[a] {
            Axis::Categories(c) => (-0.5, c.len() as f64 - 0.5),
            axis => span(lines.iter().filter_map(|l| axis.position(&l.0[a]))),
        })
        .collect();
    let scores: Vec<f64> = lines
        .iter()
        .map(|l| l.1)
        .filter(|s| s.is_finite())
        .collect();
    let score_range = span(scores.iter().copied());
    let scale = |v: f64, (lo, hi): (f64, f64)| (v - lo) / (hi - lo);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH + 160, HEIGHT + 40)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(20)
            .margin_left(60)
            .margin_right(60)
            .x_label_area_size(30)
            .build_cartesian_2d(-0.1..k as f64 + 0.1, -0.08..1.08)
            .map_err(|e| e.to_string())?;
        let mut all_names: Vec<String> = names.to_vec();
        all_names.push(score_name.to_string());
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_y_axis()
            .x_labels(k + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    all_names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .draw()
            .map_err(|e| e.to_string())?;
        let style = ("sans-serif", 11).into_font();
        for a in 0..=k {
            let x = a as f64;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, 1.0)],
                    BLACK.mix(0.5),
                )))
                .map_err(|e| e.to_string())?;
            // Bottom and top values of each axis.
            let (lo_text, hi_text) = if a < k {
                match &axes[a] {
                    Axis::Categories(c) => (
                        c.first().cloned().unwrap_or_default(),
                        c.last().cloned().unwrap_or_default(),
                    ),
                    axis => (axis.label(ranges[a].0), axis.label(ranges[a].1)),
                }
            } else {
                (format_tick(score_range.0), format_tick(score_range.1))
            };
            chart
                .draw_series([
                    Text::new(lo_text, (x + 0.02, -0.05), style.clone()),
                    Text::new(hi_text, (x + 0.02, 1.06), style.clone()),
                ])
                .map_err(|e| e.to_string())?;
            if let (true, Some(Axis::Categories(c))) = (a < k, axes.get(a)) {
                for (i, name) in c.iter().enumerate().skip(1).take(c.len().saturating_sub(2)) {
                    let y = scale(i as f64, ranges[a]);
                    chart
                        .draw_series(std::iter::once(Text::new(
                            name.clone(),
                            (x + 0.02, y),
                            style.clone(),
                        )))
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        for (values, score) in lines {
            let mut path = Vec::with_capacity(k + 1);
            for a in 0..k {
                if let Some(p) = axes[a].position(&values[a]) {
                    path.push((a as f64, scale(p, ranges[a])));
                }
            }
            if !score.is_finite() {
                continue;
            }
            let s = scale(*score, score_range);
            path.push((k as f64, s));
            // Better scores are drawn darker.
            let goodness = if lower_is_better { 1.0 - s } else { s }.clamp(0.0, 1.0);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    path,
                    PALETTE[0].mix(0.25 + 0.75 * goodness).stroke_width(2),
                )))
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
