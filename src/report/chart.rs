//! Charts: min/max downsampling, seed-group aggregation (mean line with a
//! min–max band) and SVG drawing with plotters.
//!
//! plotters' SVG backend escapes text (`<`, `>`, `&`, quotes) itself, so
//! labels are handed over raw: escaping them here would double-escape.

use std::collections::BTreeMap;

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

/// Reduces a series to at most `max_points` by splitting it into
/// `max_points / 2` buckets of consecutive points and keeping each bucket's
/// lowest and highest point (in their original order), so spikes survive.
/// Non-finite values are dropped (they cannot be drawn).
pub fn downsample(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let max_points = max_points.max(2);
    if finite.len() <= max_points {
        return finite;
    }
    let buckets = max_points / 2;
    let n = finite.len();
    let mut out = Vec::with_capacity(buckets * 2);
    for b in 0..buckets {
        let bucket = &finite[b * n / buckets..(b + 1) * n / buckets];
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in bucket.iter().enumerate() {
            if p.1 < bucket[lo].1 {
                lo = i;
            }
            if p.1 > bucket[hi].1 {
                hi = i;
            }
        }
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(bucket[a]);
        if b != a {
            out.push(bucket[b]);
        }
    }
    out
}

/// Several runs of one configuration (differing only by seed) merged step
/// by step: (step, mean, min, max) over the runs that logged that step.
pub fn aggregate(runs: &[&[(u64, f64)]]) -> Vec<(u64, f64, f64, f64)> {
    let mut by_step: BTreeMap<u64, (f64, usize, f64, f64)> = BTreeMap::new();
    for series in runs {
        for &(step, v) in *series {
            if !v.is_finite() {
                continue;
            }
            let e = by_step
                .entry(step)
                .or_insert((0.0, 0, f64::INFINITY, f64::NEG_INFINITY));
            e.0 += v;
            e.1 += 1;
            e.2 = e.2.min(v);
            e.3 = e.3.max(v);
        }
    }
    by_step
        .into_iter()
        .map(|(s, (sum, n, lo, hi))| (s, sum / n as f64, lo, hi))
        .collect()
}

/// A polyline: (step, value) points.
pub type Line = Vec<(f64, f64)>;

/// One drawn series: a line, and for a seed group the min–max band.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub label: String,
    pub line: Line,
    /// Lower and upper edge of the band, each downsampled.
    pub band: Option<(Line, Line)>,
}

impl Series {
    /// A single run's series, downsampled.
    pub fn single(label: String, points: &[(u64, f64)], max_points: usize) -> Series {
        let pts: Vec<(f64, f64)> = points.iter().map(|&(s, v)| (s as f64, v)).collect();
        Series {
            label,
            line: downsample(&pts, max_points),
            band: None,
        }
    }

    /// A seed group's mean line and min–max band, downsampled.
    pub fn group(label: String, runs: &[&[(u64, f64)]], max_points: usize) -> Series {
        let agg = aggregate(runs);
        let pick = |f: fn(&(u64, f64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
            let pts: Vec<(f64, f64)> = agg.iter().map(|a| (a.0 as f64, f(a))).collect();
            downsample(&pts, max_points)
        };
        Series {
            label,
            line: pick(|a| a.1),
            band: Some((pick(|a| a.2), pick(|a| a.3))),
        }
    }

    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        let band = self.band.iter().flat_map(|(lo, hi)| lo.iter().chain(hi));
        self.line.iter().chain(band)
    }
}

/// Draws series on one chart; `index[i]` picks series `i`'s colour, so a
/// run keeps its colour across charts. Returns the SVG markup.
pub fn draw(title: &str, series: &[(usize, Series)]) -> Result<String, String> {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, s) in series {
        for &(x, y) in s.points() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    let pad = if y1 > y0 {
        (y1 - y0) * 0.05
    } else {
        y0.abs().max(1.0) * 0.1
    };
    let (y0, y1) = (y0 - pad, y1 + pad);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_labels(6)
            .y_labels(6)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(|e| e.to_string())?;
        for (n, (index, s)) in series.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            if let Some((lo, hi)) = &s.band {
                let polygon: Vec<(f64, f64)> = hi.iter().chain(lo.iter().rev()).copied().collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        polygon,
                        color.mix(0.2).filled(),
                    )))
                    .map_err(|e| e.to_string())?;
            }
            let anno = chart
                .draw_series(LineSeries::new(
                    s.line.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?;
            if n < MAX_LEGEND {
                anno.label(s.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            }
            if s.line.len() <= 40 {
                chart
                    .draw_series(s.line.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| e.to_string())?;
            }
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_spikes_and_bounds() {
        let mut pts: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, (i % 7) as f64)).collect();
        pts[4321].1 = 1e6;
        pts[8765].1 = -1e6;
        pts[100].1 = f64::NAN;
        let out = downsample(&pts, 1000);
        assert!(out.len() <= 1000, "{}", out.len());
        assert!(out.contains(&(4321.0, 1e6)));
        assert!(out.contains(&(8765.0, -1e6)));
        assert!(out.iter().all(|p| p.1.is_finite()));
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0), "order kept");
        // Every bucket keeps its min and max: the global extremes of any
        // window of the input survive.
        let max = out.iter().map(|p| p.1).fold(f64::MIN, f64::max);
        let min = out.iter().map(|p| p.1).fold(f64::MAX, f64::min);
        assert_eq!((min, max), (-1e6, 1e6));
        // Short series pass through.
        assert_eq!(downsample(&pts[..5], 1000), pts[..5].to_vec());
    }

    #[test]
    fn aggregate_gives_mean_min_max_per_step() {
        let a = [(1, 1.0), (2, 2.0), (3, f64::NAN)];
        let b = [(1, 3.0), (2, 6.0), (3, 5.0)];
        assert_eq!(
            aggregate(&[&a, &b]),
            vec![(1, 2.0, 1.0, 3.0), (2, 4.0, 2.0, 6.0), (3, 5.0, 5.0, 5.0)]
        );
    }

    #[test]
    fn budget_shrinks_with_many_series() {
        assert_eq!(points_per_series(1), MAX_POINTS);
        assert_eq!(points_per_series(10), MAX_POINTS);
        assert_eq!(points_per_series(1000), MIN_POINTS);
    }

    #[test]
    fn svg_escapes_labels() {
        let s = Series::single(
            "<script>alert(1)</script>".into(),
            &[(1, 1.0), (2, 2.0)],
            1000,
        );
        let svg = draw("loss & <g>", &[(0, s)]).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!svg.contains("<script"));
        assert!(svg.contains("loss &amp; &lt;g&gt;"));
    }
}
