//! The curves as data: what the page's script draws (and redraws when
//! `gan-lab serve` sends fresher data), serialised as JSON.
//!
//! Each chart holds its series as step, seconds since the run started and
//! value, reduced to at most `max_points` points (the lowest and highest of
//! each bucket of steps, so spikes stay visible); a seed group's series is
//! the mean over its runs with the lowest and highest run as a band.
//! Every chart earns its place: a metric recorded at most [`SPARSE_POINTS`]
//! times by every run is no chart but a number in the runs table (per-class
//! scores recorded so rarely are left to the variant's panel), and
//! per-class series (`class_acc_0..9`) share one chart with one line per
//! class (one chart per run or seed group).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gan_lab_variants::MetricInfo;
use serde::Serialize;

use super::chart::css_color;

/// A metric that no run recorded more often than this is shown as numbers.
pub const SPARSE_POINTS: usize = 2;

/// One drawn line: steps, seconds since its run started, values; for a
/// seed group the lowest and highest value at each point.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: String,
    pub x: Vec<u64>,
    pub t: Vec<f64>,
    pub y: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lo: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hi: Option<Vec<f64>>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Chart {
    /// Stable between refreshes: the metric key (or family and group).
    pub id: String,
    pub title: String,
    /// Whether the y axis starts on a log scale (scores such as FID).
    pub log: bool,
    pub lines: Vec<Line>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Section {
    pub title: String,
    pub charts: Vec<Chart>,
}

/// A recorded point: step, value, wall time.
pub type Point = (u64, f64, f64);

/// A run's series by metric key.
pub type RunSeries<'k> = BTreeMap<&'k str, Vec<Point>>;

/// One member of a seed group: its points and the time its run started.
type Part<'a> = (&'a [Point], f64);

/// Per step while averaging a group: sum, count, lowest, highest, summed time.
type StepSums = (f64, usize, f64, f64, f64);

/// Collects the lines of each seed group, then lays out the charts.
pub struct Builder {
    keys: Vec<String>,
    max_points: usize,
    /// Most points any run recorded, by key.
    counts: HashMap<String, usize>,
    /// Lines by key, with their group's index.
    lines: BTreeMap<String, Vec<(usize, Line)>>,
}

impl Builder {
    pub fn new(keys: Vec<String>, max_points: usize) -> Builder {
        Builder {
            keys,
            max_points,
            counts: HashMap::new(),
            lines: BTreeMap::new(),
        }
    }

    /// Adds seed group `group` (labelled `label`): its members' series and
    /// the times they started.
    pub fn add_group(&mut self, group: usize, label: &str, members: &[(&RunSeries, f64)]) {
        for key in &self.keys {
            let parts: Vec<Part> = members
                .iter()
                .filter_map(|(m, start)| Some((m.get(key.as_str())?.as_slice(), *start)))
                .filter(|(s, _)| !s.is_empty())
                .collect();
            for (p, _) in &parts {
                let n = self.counts.entry(key.clone()).or_default();
                *n = (*n).max(p.len());
            }
            if parts.is_empty() {
                continue;
            }
            let line = if members.len() == 1 {
                single(label, group, parts[0].0, parts[0].1, self.max_points)
            } else {
                mean(label, group, &parts, self.max_points)
            };
            self.lines
                .entry(key.clone())
                .or_default()
                .push((group, line));
        }
    }

    /// The keys recorded at most [`SPARSE_POINTS`] times by every run that
    /// are not per-class: the runs table shows them as numbers.
    pub fn sparse_keys(&self) -> Vec<String> {
        let families = families(self.lines.keys().map(String::as_str));
        self.lines
            .keys()
            .filter(|k| self.counts[*k] <= SPARSE_POINTS && !families.contains_key(k.as_str()))
            .cloned()
            .collect()
    }

    /// The chart sections, laid out by `layout` (sections of keys with
    /// their titles, as the vocabulary orders them).
    pub fn sections(
        self,
        vocabulary: &[MetricInfo],
        layout: impl Fn(&[MetricInfo], Vec<&str>) -> Vec<(&'static str, Vec<(String, String)>)>,
    ) -> Vec<Section> {
        let families = families(self.lines.keys().map(String::as_str));
        let charted: Vec<&str> = self
            .lines
            .keys()
            .map(String::as_str)
            .filter(|k| self.counts[*k] > SPARSE_POINTS)
            .collect();
        // A family is placed where its first member would be.
        let mut placed: BTreeSet<&str> = BTreeSet::new();
        let representatives: Vec<&str> = charted
            .iter()
            .copied()
            .filter(|k| match families.get(k) {
                Some(family) => placed.insert(family.as_str()),
                None => true,
            })
            .collect();
        let mut sections = Vec::new();
        for (title, keys) in layout(vocabulary, representatives) {
            let mut charts = Vec::new();
            for (key, chart_title) in keys {
                match families.get(key.as_str()) {
                    Some(family) => charts.extend(self.family_charts(family, &charted)),
                    None => charts.push(Chart {
                        log: log_scale(&key),
                        lines: self.lines[&key].iter().map(|l| l.1.clone()).collect(),
                        id: key,
                        title: chart_title,
                    }),
                }
            }
            sections.push(Section {
                title: title.to_string(),
                charts,
            });
        }
        sections
    }

    /// One chart per seed group with a line per member of `family`.
    fn family_charts(&self, family: &str, charted: &[&str]) -> Vec<Chart> {
        let mut members: Vec<(u64, &str)> = charted
            .iter()
            .filter_map(|k| Some((member_index(k, family)?, *k)))
            .collect();
        members.sort();
        let mut by_group: BTreeMap<usize, (String, Vec<Line>)> = BTreeMap::new();
        for (i, (class, key)) in members.iter().enumerate() {
            for (group, line) in &self.lines[*key] {
                let entry = by_group
                    .entry(*group)
                    .or_insert_with(|| (line.label.clone(), Vec::new()));
                entry.1.push(Line {
                    label: format!("{family}{class}"),
                    color: css_color(i),
                    lo: None,
                    hi: None,
                    ..line.clone()
                });
            }
        }
        let several = by_group.len() > 1;
        by_group
            .into_iter()
            .map(|(group, (label, lines))| Chart {
                id: format!("{family}*@{group}"),
                title: if several {
                    format!("{family}*: {label}")
                } else {
                    format!("{family}*: one line per class")
                },
                log: log_scale(family),
                lines,
            })
            .collect()
    }
}

/// Scores such as FID and KID start on a log scale.
fn log_scale(key: &str) -> bool {
    let base = key.rsplit('/').next().unwrap_or(key);
    base.contains("fid") || base.starts_with("kid")
}

/// The index of `key` in `family` (`class_acc_3` in `class_acc_`).
fn member_index(key: &str, family: &str) -> Option<u64> {
    key.strip_prefix(family)?.parse().ok()
}

/// Keys of the form `prefix_N` whose prefix at least two keys share, mapped
/// to that prefix (with its trailing `_`).
fn families<'k>(keys: impl Iterator<Item = &'k str>) -> HashMap<&'k str, String> {
    let mut by_prefix: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for key in keys {
        if let Some(cut) = key.rfind('_')
            && !key[cut + 1..].is_empty()
            && key[cut + 1..].bytes().all(|b| b.is_ascii_digit())
        {
            by_prefix.entry(&key[..=cut]).or_default().push(key);
        }
    }
    by_prefix
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .flat_map(|(prefix, members)| members.into_iter().map(move |k| (k, prefix.to_string())))
        .collect()
}

/// Indices of at most `max_points` of `values`: the lowest and highest of
/// each of `max_points / 2` buckets of consecutive points, in order.
pub fn keep(values: &[f64], max_points: usize) -> Vec<usize> {
    let max_points = max_points.max(2);
    if values.len() <= max_points {
        return (0..values.len()).collect();
    }
    let buckets = max_points / 2;
    let n = values.len();
    let mut out = Vec::with_capacity(max_points);
    for b in 0..buckets {
        let (start, end) = (b * n / buckets, (b + 1) * n / buckets);
        let (mut lo, mut hi) = (start, start);
        for i in start..end {
            if values[i] < values[lo] {
                lo = i;
            }
            if values[i] > values[hi] {
                hi = i;
            }
        }
        out.push(lo.min(hi));
        if lo != hi {
            out.push(lo.max(hi));
        }
    }
    out
}

fn single(label: &str, group: usize, points: &[(u64, f64, f64)], start: f64, max: usize) -> Line {
    let finite: Vec<&(u64, f64, f64)> = points.iter().filter(|p| p.1.is_finite()).collect();
    let values: Vec<f64> = finite.iter().map(|p| p.1).collect();
    let kept = keep(&values, max);
    Line {
        label: label.to_string(),
        color: css_color(group),
        x: kept.iter().map(|&i| finite[i].0).collect(),
        t: kept
            .iter()
            .map(|&i| (finite[i].2 - start).max(0.0))
            .collect(),
        y: kept.iter().map(|&i| values[i]).collect(),
        lo: None,
        hi: None,
    }
}

/// The mean over a seed group's runs at each step some run logged, with the
/// lowest and highest value and the mean time since each run started.
fn mean(label: &str, group: usize, parts: &[Part], max: usize) -> Line {
    // Sum, count, lowest, highest, summed seconds.
    let mut by_step: BTreeMap<u64, StepSums> = BTreeMap::new();
    for (series, start) in parts {
        for &(step, v, wall) in *series {
            if !v.is_finite() {
                continue;
            }
            let e = by_step
                .entry(step)
                .or_insert((0.0, 0, f64::INFINITY, f64::NEG_INFINITY, 0.0));
            e.0 += v;
            e.1 += 1;
            e.2 = e.2.min(v);
            e.3 = e.3.max(v);
            e.4 += (wall - start).max(0.0);
        }
    }
    let rows: Vec<(u64, StepSums)> = by_step.into_iter().collect();
    let means: Vec<f64> = rows.iter().map(|r| r.1.0 / r.1.1 as f64).collect();
    let kept = keep(&means, max);
    Line {
        label: label.to_string(),
        color: css_color(group),
        x: kept.iter().map(|&i| rows[i].0).collect(),
        t: kept
            .iter()
            .map(|&i| rows[i].1.4 / rows[i].1.1 as f64)
            .collect(),
        y: kept.iter().map(|&i| means[i]).collect(),
        lo: Some(kept.iter().map(|&i| rows[i].1.2).collect()),
        hi: Some(kept.iter().map(|&i| rows[i].1.3).collect()),
    }
}

/// JSON for a `<script type="application/json">` element: `<` is written
/// as `\u003c`, so no string in it can close the element.
pub fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .expect("curves serialise")
        .replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: u64) -> Vec<(u64, f64, f64)> {
        (1..=n).map(|s| (s, s as f64, 100.0 + s as f64)).collect()
    }

    #[test]
    fn keeping_the_extremes_of_each_bucket() {
        let mut values: Vec<f64> = (0..10_000).map(|i| (i % 7) as f64).collect();
        values[5_000] = 1e6;
        let kept = keep(&values, 1000);
        assert!(kept.len() <= 1000 && kept.len() >= 500);
        assert!(kept.contains(&5_000), "the spike survives");
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "in order");
        assert_eq!(keep(&values[..5], 1000), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn rare_scores_are_numbers_and_classes_share_a_chart() {
        let keys = [
            "loss_d",
            "fid",
            "eval/fid",
            "class_acc_0",
            "class_acc_1",
            "eval/class_acc_0",
            "eval/class_acc_1",
        ];
        let mut run: RunSeries = BTreeMap::new();
        run.insert("loss_d", series(50));
        run.insert("fid", series(5));
        run.insert("class_acc_0", series(5));
        run.insert("class_acc_1", series(5));
        for k in ["eval/fid", "eval/class_acc_0", "eval/class_acc_1"] {
            run.insert(k, series(1));
        }
        let mut b = Builder::new(keys.iter().map(|k| k.to_string()).collect(), 1000);
        b.add_group(0, "a", &[(&run, 100.0)]);
        assert_eq!(b.sparse_keys(), vec!["eval/fid"]);
        let sections = b.sections(&[], |_, keys| {
            vec![(
                "all",
                keys.iter()
                    .map(|k| (k.to_string(), k.to_string()))
                    .collect(),
            )]
        });
        let charts: Vec<(&str, usize, bool)> = sections[0]
            .charts
            .iter()
            .map(|c| (c.id.as_str(), c.lines.len(), c.log))
            .collect();
        assert_eq!(
            charts,
            vec![
                ("class_acc_*@0", 2, false),
                ("fid", 1, true),
                ("loss_d", 1, false)
            ]
        );
        let class_chart = &sections[0].charts[0];
        assert_eq!(class_chart.lines[1].label, "class_acc_1");
        assert_eq!(class_chart.lines[0].t[0], 1.0, "seconds since the start");
    }

    #[test]
    fn a_seed_group_is_a_mean_with_a_band() {
        // Three points: a series of at most two is a number, not a chart.
        let a: RunSeries = [("loss", vec![(1, 1.0, 10.0), (2, 3.0, 12.0), (3, 5.0, 13.0)])].into();
        let b: RunSeries = [(
            "loss",
            vec![(1, 3.0, 20.0), (2, f64::NAN, 21.0), (3, 7.0, 22.0)],
        )]
        .into();
        let mut builder = Builder::new(vec!["loss".into()], 1000);
        builder.add_group(2, "g", &[(&a, 10.0), (&b, 20.0)]);
        let sections = builder.sections(&[], |_, keys| {
            vec![(
                "s",
                keys.iter()
                    .map(|k| (k.to_string(), k.to_string()))
                    .collect(),
            )]
        });
        let line = &sections[0].charts[0].lines[0];
        assert_eq!(line.x, vec![1, 2, 3]);
        assert_eq!(line.y, vec![2.0, 3.0, 6.0]);
        assert_eq!(line.lo, Some(vec![1.0, 3.0, 5.0]));
        assert_eq!(line.hi, Some(vec![3.0, 3.0, 7.0]));
        assert_eq!(line.t, vec![0.0, 2.0, 2.5]);
        assert_eq!(line.color, css_color(2));
    }

    #[test]
    fn embedded_json_cannot_close_its_script() {
        let json = script_json(&"</script><script>alert(1)</script>");
        assert!(!json.contains('<'), "{json}");
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, "</script><script>alert(1)</script>");
    }
}
