//! How metric points are stored: each batch of a series is one row of the
//! `chunks` table, its points packed as JSON text (`[[step, value,
//! wall_time], ...]`), under the series' interned id (`series`: one row per
//! run and key). A batch of 1,000 points over 8 metrics is 8 rows instead of
//! 1,000 rows and 1,000 index entries; the `metrics` view unpacks them for
//! SQL (one row per point, as the table of schema 3 had).
//!
//! A run that ends gets a *digest* per series (`series.digest`): the series
//! itself when it is short, else one point per bucket of consecutive points
//! (the bucket's first step and mean) and each bucket's lowest and highest
//! point, so a report reads a few kilobytes per series instead of every
//! point. Writing to a series clears its digest.

use rusqlite::{Transaction, params};

use super::MetricPoint;

/// Series of at most this many points are their own digest.
pub const DIGEST_EXACT: usize = 1000;

/// Longer series are digested into this many buckets.
pub const DIGEST_BUCKETS: usize = DIGEST_EXACT / 2;

/// A stored point: step, value (NaN for a non-finite one), wall time.
pub(super) type Point = (u64, f64, f64);

/// Packs points into a chunk: JSON text `[[step, value, wall_time], ...]`,
/// `null` for a non-finite value, so that SQL can read it (`json_each`, the
/// `metrics` view) as well as gan-lab.
pub(super) fn encode<'p>(points: impl IntoIterator<Item = &'p MetricPoint>) -> String {
    let stored: Vec<Stored> = points
        .into_iter()
        .map(|p| (p.step, p.value.is_finite().then_some(p.value), p.wall_time))
        .collect();
    serde_json::to_string(&stored).expect("numbers serialize")
}

/// Packs stored points into a chunk.
pub(super) fn encode_points(points: &[Point]) -> String {
    let stored: Vec<Stored> = points
        .iter()
        .map(|&(step, value, wall)| (step, value.is_finite().then_some(value), wall))
        .collect();
    serde_json::to_string(&stored).expect("numbers serialize")
}

/// A point as a chunk holds it: a non-finite value is `null`.
type Stored = (u64, Option<f64>, f64);

/// Appends the points of a chunk (NaN for `null`); a chunk that does not
/// parse adds nothing.
pub(super) fn decode_into(chunk: &[u8], out: &mut Vec<Point>) {
    if let Ok(stored) = serde_json::from_slice::<Vec<Stored>>(chunk) {
        out.extend(
            stored
                .into_iter()
                .map(|(step, value, wall)| (step, value.unwrap_or(f64::NAN), wall)),
        );
    }
}

/// The points of a series' chunks (given in the order they were written),
/// ordered by step, points of one step in the order they were written.
pub(super) fn read_series(
    tx: &rusqlite::Connection,
    series_id: i64,
) -> rusqlite::Result<Vec<Point>> {
    let mut stmt =
        tx.prepare_cached("SELECT points FROM chunks WHERE series_id = ?1 ORDER BY rowid")?;
    let mut rows = stmt.query([series_id])?;
    let mut points = Vec::new();
    while let Some(row) = rows.next()? {
        decode_into(row.get_ref(0)?.as_bytes()?, &mut points);
    }
    // Stable: ties keep the order they were written in.
    points.sort_by_key(|p| p.0);
    Ok(points)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn f64_at(bytes: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// A digest of a metric series, read back by [`Tracker::metric_digests`](super::Tracker::metric_digests).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDigest {
    /// The series itself (step, value) when it has at most [`DIGEST_EXACT`]
    /// points; else per bucket of consecutive points its first step and the
    /// mean of its finite values, and the series' last point after them.
    pub points: Vec<(u64, f64)>,
    /// For a digested long series, each bucket's lowest and highest finite
    /// point in step order (what `chart::downsample` keeps); `None` when
    /// `points` is the whole series.
    pub extremes: Option<Vec<(u64, f64)>>,
    /// The wall time of each of `points`: the point's own, or its bucket's
    /// mean (for a chart's time axis).
    pub walls: Vec<f64>,
}

impl SeriesDigest {
    /// The digest of a series (step, value, wall time) ordered by step.
    pub fn of(series: &[(u64, f64, f64)]) -> SeriesDigest {
        if series.len() <= DIGEST_EXACT {
            return SeriesDigest {
                points: series.iter().map(|p| (p.0, p.1)).collect(),
                extremes: None,
                walls: series.iter().map(|p| p.2).collect(),
            };
        }
        let n = series.len();
        let mut points = Vec::with_capacity(DIGEST_BUCKETS + 1);
        let mut walls = Vec::with_capacity(DIGEST_BUCKETS + 1);
        let mut extremes = Vec::with_capacity(DIGEST_EXACT);
        for b in 0..DIGEST_BUCKETS {
            let bucket = &series[b * n / DIGEST_BUCKETS..(b + 1) * n / DIGEST_BUCKETS];
            walls.push(bucket.iter().map(|p| p.2).sum::<f64>() / bucket.len() as f64);
            let finite: Vec<(u64, f64)> = bucket
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|p| (p.0, p.1))
                .collect();
            let mean = if finite.is_empty() {
                f64::NAN
            } else {
                finite.iter().map(|p| p.1).sum::<f64>() / finite.len() as f64
            };
            points.push((bucket[0].0, mean));
            if finite.is_empty() {
                continue;
            }
            let (mut lo, mut hi) = (0, 0);
            for (i, p) in finite.iter().enumerate() {
                if p.1 < finite[lo].1 {
                    lo = i;
                }
                if p.1 > finite[hi].1 {
                    hi = i;
                }
            }
            let (a, b) = (lo.min(hi), lo.max(hi));
            extremes.push(finite[a]);
            if b != a {
                extremes.push(finite[b]);
            }
        }
        let last = series[n - 1];
        if points.last().is_none_or(|p| p.0 != last.0) {
            points.push((last.0, last.1));
            walls.push(last.2);
        }
        SeriesDigest {
            points,
            extremes: Some(extremes),
            walls,
        }
    }

    /// The digest as a blob: the two lists, each a u32 count and (step,
    /// value) pairs; a count of `u32::MAX` for missing extremes; then one
    /// wall time per point.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut list = |points: Option<&Vec<(u64, f64)>>| match points {
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            Some(points) => {
                out.extend_from_slice(&(points.len() as u32).to_le_bytes());
                for (s, v) in points {
                    out.extend_from_slice(&s.to_le_bytes());
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        };
        list(Some(&self.points));
        list(self.extremes.as_ref());
        for wall in &self.walls {
            out.extend_from_slice(&wall.to_le_bytes());
        }
        out
    }

    /// Reads a blob written by [`SeriesDigest::encode`]; `None` if it is
    /// damaged (the series is then read in full).
    pub(super) fn decode(blob: &[u8]) -> Option<SeriesDigest> {
        let mut at = 0;
        let mut list = || -> Option<Option<Vec<(u64, f64)>>> {
            let count = u32::from_le_bytes(blob.get(at..at + 4)?.try_into().ok()?);
            at += 4;
            if count == u32::MAX {
                return Some(None);
            }
            let bytes = blob.get(at..at + 16 * count as usize)?;
            at += bytes.len();
            Some(Some(
                bytes
                    .chunks_exact(16)
                    .map(|c| (u64_at(c, 0), f64_at(c, 8)))
                    .collect(),
            ))
        };
        let points = list()??;
        let extremes = list()?;
        let walls: Vec<f64> = blob
            .get(at..at + 8 * points.len())?
            .chunks_exact(8)
            .map(|c| f64_at(c, 0))
            .collect();
        Some(SeriesDigest {
            points,
            extremes,
            walls,
        })
    }
}

/// Writes the digest of every series of `run`.
pub(super) fn write_digests(tx: &Transaction, run: &str) -> rusqlite::Result<()> {
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM series WHERE run_id = ?1")?
        .query_map([run], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare_cached("UPDATE series SET digest = ?2 WHERE id = ?1")?;
    for id in ids {
        let points = read_series(tx, id)?;
        update.execute(params![id, SeriesDigest::of(&points).encode()])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_their_own_digest() {
        let s: Vec<(u64, f64, f64)> = vec![(1, 0.5, 7.0), (2, f64::NAN, 8.0), (2, 0.25, 9.0)];
        let d = SeriesDigest::of(&s);
        assert_eq!(d.extremes, None);
        let back = SeriesDigest::decode(&d.encode()).unwrap();
        assert_eq!(back.points.len(), 3);
        assert_eq!(back.walls, vec![7.0, 8.0, 9.0]);
        assert_eq!((back.points[0], back.points[2]), ((1, 0.5), (2, 0.25)));
        assert!(back.points[1].1.is_nan());
        assert_eq!(SeriesDigest::decode(&[1, 2]), None);
    }

    #[test]
    fn long_series_keep_bucket_means_extremes_and_the_last_point() {
        // 10,000 steps: a ramp with one spike and one NaN.
        let s: Vec<(u64, f64, f64)> = (1..=10_000u64)
            .map(|i| match i {
                5_003 => (i, 100.0, i as f64),
                7_000 => (i, f64::NAN, i as f64),
                _ => (i, i as f64, i as f64),
            })
            .collect();
        let d = SeriesDigest::of(&s);
        // Each bucket's mean wall time; the last point's own.
        assert_eq!((d.walls[0], d.walls[DIGEST_BUCKETS]), (10.5, 10_000.0));
        assert_eq!(d.walls.len(), d.points.len());
        // 500 buckets of 20 points, then the last point.
        assert_eq!(d.points.len(), DIGEST_BUCKETS + 1);
        assert_eq!(d.points[0], (1, 10.5));
        assert_eq!(d.points[DIGEST_BUCKETS], (10_000, 10_000.0));
        // The bucket with the NaN averages its 19 finite values.
        let nan_bucket = d.points[(7_000 - 1) / 20];
        assert_eq!(nan_bucket.0, 6_981);
        assert!(
            (nan_bucket.1 - (6_981..=7_000).filter(|&i| i != 7_000).sum::<u64>() as f64 / 19.0)
                .abs()
                < 1e-9
        );
        let ext = d.extremes.as_ref().unwrap();
        assert_eq!(ext.len(), DIGEST_EXACT);
        // The spike survives as its bucket's lowest point, in step order.
        assert!(ext.contains(&(5_003, 100.0)));
        assert!(ext.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(SeriesDigest::decode(&d.encode()).unwrap(), d);
    }

    #[test]
    fn chunks_round_trip_with_nan_for_non_finite() {
        let pts = [
            MetricPoint {
                key: "k".into(),
                step: 3,
                value: f64::INFINITY,
                wall_time: 9.5,
            },
            MetricPoint {
                key: "k".into(),
                step: u64::MAX,
                value: -1.5,
                wall_time: 10.0,
            },
        ];
        let mut out = Vec::new();
        decode_into(encode(&pts).as_bytes(), &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].1.is_nan() && out[0].0 == 3 && out[0].2 == 9.5);
        assert_eq!(out[1], (u64::MAX, -1.5, 10.0));
        let mut again = Vec::new();
        decode_into(encode_points(&out[1..]).as_bytes(), &mut again);
        assert_eq!(again, vec![(u64::MAX, -1.5, 10.0)]);
    }
}
