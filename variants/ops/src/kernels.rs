//! CPU kernels of the fused layers on plain `f32` slices (NCHW images,
//! row-major matrices) besides the column matrix (`im2col`): one matrix
//! product over batch × positions, channel-major layout changes, batch-norm
//! statistics and affine passes, and the elementwise activations. Parallel
//! over the cores with rayon; no backend types here, so a GPU twin can mirror
//! them. Imports `buffer` and `leak`.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::buffer::written;
use crate::leak::Leak;

/// Below this many elements an elementwise pass stays on one core.
const PAR_MIN: usize = 1 << 15;

/// `dst[i] = src[i]`.
fn copy_into(dst: &mut [MaybeUninit<f32>], src: &[f32]) {
    assert_eq!(dst.len(), src.len(), "copy: lengths");
    dst.iter_mut().zip(src).for_each(|(d, &s)| {
        d.write(s);
    });
}

/// A read-only matrix view: data with its row and column strides.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> Mat<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose, without copying.
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    fn check(&self) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix view out of bounds");
        }
    }
}

/// `a · b` as a row-major `a.rows × b.cols` matrix, on all cores: the `gemm`
/// crate, single-threaded on one band of the result's columns per core (its
/// own split was 2–2.5x slower for the weight gradients' long inner
/// dimension, see `docs/performance.md`).
pub fn matmul(a: Mat, b: Mat) -> Vec<f32> {
    assert_eq!(a.cols, b.rows, "matmul: inner dimensions");
    a.check();
    b.check();
    let (m, n, k) = (a.rows, b.cols, a.cols);
    if m == 0 || n == 0 || k == 0 {
        return vec![0.0f32; m * n];
    }
    let threads = rayon::current_num_threads();
    let band = if m * n * k < 1 << 16 || threads < 2 {
        n
    } else {
        n.div_ceil(threads).next_multiple_of(16)
    };
    let mut dst = Vec::<f32>::with_capacity(m * n);
    let out = dst.as_mut_ptr() as usize;
    (0..n)
        .step_by(band)
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each(|j| {
            // SAFETY: `check` proved every index the strides reach lies inside
            // `a` and `b`, so do the columns `j..j + width` of `b`; the band
            // writes columns `j..j + width` of the `m × n` result (rows `n`
            // apart, from column `j < n`), whole, without reading them
            // (`read_dst` false).
            unsafe {
                gemm::gemm(
                    m,
                    band.min(n - j),
                    k,
                    (out as *mut f32).add(j),
                    1,
                    n as isize,
                    false,
                    a.data.as_ptr(),
                    a.col_stride as isize,
                    a.row_stride as isize,
                    b.data.as_ptr().add(j * b.col_stride),
                    b.col_stride as isize,
                    b.row_stride as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    // SAFETY: the bands wrote every column of every row.
    unsafe { dst.set_len(m * n) };
    dst
}

/// `[n, c, p]` to channel-major `[c, n·p]`.
pub fn to_channel_major(x: &[f32], n: usize, c: usize, p: usize) -> Vec<f32> {
    assert_eq!(x.len(), n * c * p, "to_channel_major: size");
    if n * p == 0 {
        return Vec::new();
    }
    written(x.len(), |out| {
        out.par_chunks_mut(n * p).enumerate().for_each(|(ci, row)| {
            for ni in 0..n {
                copy_into(&mut row[ni * p..][..p], &x[(ni * c + ci) * p..][..p]);
            }
        });
    })
}

/// Channel-major `[c, n·p]` to `[n, c, p]`, adding `bias[c]` when given,
/// then the activation `leak`.
pub fn from_channel_major(
    x: &[f32],
    n: usize,
    c: usize,
    p: usize,
    bias: Option<&[f32]>,
    leak: Leak,
) -> Vec<f32> {
    assert_eq!(x.len(), n * c * p, "from_channel_major: size");
    if c * p == 0 {
        return Vec::new();
    }
    written(x.len(), |out| {
        out.par_chunks_mut(c * p)
            .enumerate()
            .for_each(|(ni, image)| {
                for ci in 0..c {
                    let src = &x[ci * n * p + ni * p..][..p];
                    let dst = &mut image[ci * p..][..p];
                    match (bias, leak) {
                        (None, Leak::NONE) => copy_into(dst, src),
                        _ => {
                            let b = bias.map_or(0.0, |b| b[ci]);
                            dst.iter_mut().zip(src).for_each(|(d, &s)| {
                                d.write(leak.apply(s + b));
                            })
                        }
                    }
                }
            });
    })
}

/// Sum of each channel of `[n, c, p]`: the bias gradient.
pub fn channel_sums(x: &[f32], n: usize, c: usize, p: usize) -> Vec<f32> {
    assert_eq!(x.len(), n * c * p, "channel_sums: size");
    (0..c)
        .into_par_iter()
        .map(|ci| {
            (0..n)
                .map(|ni| x[(ni * c + ci) * p..][..p].iter().sum::<f32>())
                .sum()
        })
        .collect()
}

/// `f(x)` elementwise, parallel above [`PAR_MIN`] elements.
pub fn map(x: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    zip_map(x, x, |v, _| f(v))
}

/// `f(a, b)` elementwise over two slices of one length.
pub fn zip_map(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) -> Vec<f32> {
    assert_eq!(a.len(), b.len(), "zip_map: lengths");
    let run = |o: &mut [MaybeUninit<f32>], a: &[f32], b: &[f32]| {
        for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
            o.write(f(x, y));
        }
    };
    written(a.len(), |out| {
        if a.len() < PAR_MIN {
            run(out, a, b);
        } else {
            let chunk = PAR_MIN / 4;
            out.par_chunks_mut(chunk)
                .zip(a.par_chunks(chunk).zip(b.par_chunks(chunk)))
                .for_each(|(o, (a, b))| run(o, a, b));
        }
    })
}

/// Per-channel sums over `[n, c, p]` of the two values of `f(channel, a, b, c)`
/// for the channel's elements of three slices: one pass, parallel over
/// channels, eight `f32` lanes within an image's plane and `f64` across planes.
fn channel_sums2(
    [a, b, d]: [&[f32]; 3],
    n: usize,
    c: usize,
    p: usize,
    f: impl Fn(usize, f32, f32, f32) -> [f32; 2] + Sync,
) -> Vec<[f64; 2]> {
    assert_eq!(a.len(), n * c * p, "channel sums: size");
    assert!(
        b.len() == a.len() && d.len() == a.len(),
        "channel sums: lengths"
    );
    (0..c)
        .into_par_iter()
        .map(|ci| {
            let mut total = [0.0f64; 2];
            for ni in 0..n {
                let plane = (ni * c + ci) * p..(ni * c + ci + 1) * p;
                let (a, b, d) = (&a[plane.clone()], &b[plane.clone()], &d[plane]);
                let mut lanes = [[0.0f32; 8]; 2];
                let (ac, bc, dc) = (a.chunks_exact(8), b.chunks_exact(8), d.chunks_exact(8));
                let (ar, br, dr) = (ac.remainder(), bc.remainder(), dc.remainder());
                for ((a, b), d) in ac.zip(bc).zip(dc) {
                    for l in 0..8 {
                        let [u, v] = f(ci, a[l], b[l], d[l]);
                        lanes[0][l] += u;
                        lanes[1][l] += v;
                    }
                }
                for ((&a, &b), &d) in ar.iter().zip(br).zip(dr) {
                    let [u, v] = f(ci, a, b, d);
                    lanes[0][0] += u;
                    lanes[1][0] += v;
                }
                for (t, lane) in total.iter_mut().zip(&lanes) {
                    *t += lane.iter().map(|&v| f64::from(v)).sum::<f64>();
                }
            }
            total
        })
        .collect()
}

/// Per-channel mean and biased variance of `[n, c, p]` (batch norm's batch
/// statistics), in one pass: sums of `x - k` and `(x - k)²` with `k` the
/// channel's first value, which keeps the variance exact when the mean is
/// large next to the spread.
pub fn channel_moments(x: &[f32], n: usize, c: usize, p: usize) -> (Vec<f32>, Vec<f32>) {
    let count = (n * p) as f64;
    let shift: Vec<f32> = (0..c)
        .map(|ci| if count > 0.0 { x[ci * p] } else { 0.0 })
        .collect();
    channel_sums2([x, x, x], n, c, p, |ci, v, _, _| {
        let d = v - shift[ci];
        [d, d * d]
    })
    .iter()
    .zip(&shift)
    .map(|(&[s, s2], &k)| {
        let m = s / count;
        (
            (f64::from(k) + m) as f32,
            (s2 / count - m * m).max(0.0) as f32,
        )
    })
    .unzip()
}

/// Per-channel sums of `dz` and of `dz · (x - mean[c])` over `[n, c, p]`,
/// with `dz = leak.backward(dy, y)` the gradient through the activation that
/// gave `y` (`y` may be `dy` itself for [`Leak::NONE`]): batch norm's beta
/// gradient and, times the inverse deviation, gamma's.
#[allow(clippy::too_many_arguments)]
pub fn channel_grad_sums(
    dy: &[f32],
    x: &[f32],
    (y, leak): (&[f32], Leak),
    n: usize,
    c: usize,
    p: usize,
    mean: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    channel_sums2([dy, x, y], n, c, p, |ci, d, v, y| {
        let dz = leak.backward(d, y);
        [dz, dz * (v - mean[ci])]
    })
    .iter()
    .map(|&[s, sx]| (s as f32, sx as f32))
    .unzip()
}

/// `f(channel, a, b, d)` elementwise over three `[n, c, p]` slices, parallel over images.
pub fn channel_zip(
    [a, b, d]: [&[f32]; 3],
    c: usize,
    p: usize,
    f: impl Fn(usize, f32, f32, f32) -> f32 + Sync,
) -> Vec<f32> {
    assert!(
        b.len() == a.len() && d.len() == a.len(),
        "channel_zip: lengths"
    );
    let image = c * p;
    if image == 0 {
        return vec![0.0f32; a.len()];
    }
    let per_task = (PAR_MIN / 4).div_ceil(image) * image;
    written(a.len(), |out| {
        out.par_chunks_mut(per_task)
            .zip(
                a.par_chunks(per_task)
                    .zip(b.par_chunks(per_task).zip(d.par_chunks(per_task))),
            )
            .for_each(|(o, (a, (b, d)))| {
                let planes = o
                    .chunks_mut(p)
                    .zip(a.chunks(p).zip(b.chunks(p).zip(d.chunks(p))));
                for (plane, (o, (a, (b, d)))) in planes.enumerate() {
                    let ci = plane % c;
                    for (((o, &x), &y), &z) in o.iter_mut().zip(a).zip(b).zip(d) {
                        o.write(f(ci, x, y, z));
                    }
                }
            });
    })
}

/// `[n, c, p]` to channel-major `[c, n·p]` through an activation's gradient
/// (`leak.backward(dy, y)`, or `dy` itself without one), with the sum of each
/// channel: a convolution's output gradient, ready for its products, and its
/// bias gradient, in one pass.
pub fn to_channel_major_grad(
    dy: &[f32],
    act: Option<(&[f32], Leak)>,
    n: usize,
    c: usize,
    p: usize,
) -> (Vec<f32>, Vec<f32>) {
    assert_eq!(dy.len(), n * c * p, "to_channel_major_grad: size");
    if let Some((y, _)) = act {
        assert_eq!(y.len(), dy.len(), "to_channel_major_grad: lengths");
    }
    if n * p == 0 {
        return (Vec::new(), vec![0.0; c]);
    }
    let mut sums = vec![0.0f32; c];
    let out = written(dy.len(), |out| {
        out.par_chunks_mut(n * p)
            .zip(sums.par_iter_mut())
            .enumerate()
            .for_each(|(ci, (row, sum))| {
                for ni in 0..n {
                    let at = (ni * c + ci) * p;
                    let (dst, src) = (&mut row[ni * p..][..p], &dy[at..][..p]);
                    let plane = match act {
                        None => src.iter().zip(dst).fold(0.0f32, |t, (&d, o)| {
                            o.write(d);
                            t + d
                        }),
                        Some((y, leak)) => src.iter().zip(&y[at..][..p]).zip(dst).fold(
                            0.0f32,
                            |t, ((&d, &y), o)| {
                                let dz = leak.backward(d, y);
                                o.write(dz);
                                t + dz
                            },
                        ),
                    };
                    *sum += plane;
                }
            });
    });
    (out, sums)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `a · b` the plain way.
    fn naive(a: Mat, b: Mat) -> Vec<f32> {
        let at = |v: &Mat, i: usize, j: usize| v.data[i * v.row_stride + j * v.col_stride];
        let mut out = vec![0.0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                out[i * b.cols + j] = (0..a.cols).map(|l| at(&a, i, l) * at(&b, l, j)).sum();
            }
        }
        out
    }

    #[test]
    fn matmul_matches_the_plain_product_for_every_view() {
        // Small and large enough to be split over the cores, each operand as
        // stored and transposed, degenerate single rows and columns too.
        for (m, k, n) in [(1, 1, 1), (3, 5, 2), (1, 40, 1), (7, 1, 9), (37, 45, 130)] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 3.0)
                .collect();
            let b: Vec<f32> = (0..k * n)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 2.0)
                .collect();
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = if ta {
                    Mat::new(&a, k, m).t()
                } else {
                    Mat::new(&a, m, k)
                };
                let b = if tb {
                    Mat::new(&b, n, k).t()
                } else {
                    Mat::new(&b, k, n)
                };
                let (got, want) = (matmul(a, b), naive(a, b));
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (g - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "{m}x{k}x{n} {ta} {tb} [{i}]: {g} vs {w}"
                    );
                }
            }
        }
    }
}
