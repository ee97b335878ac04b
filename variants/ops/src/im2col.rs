//! im2col and its adjoint col2im: an image `[n, c, h, w]` to the column matrix
//! `[c·kh·kw, n·oh·ow]` a convolution multiplies, and back. Phased geometries
//! (image exactly stride × the grid of positions: every DCGAN layer) go
//! through [`crate::phased`], any other row by row here; the property test
//! below holds the two equal. Imports `buffer`, `geometry` and `phased`.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::buffer::written;
use crate::geometry::Geometry;
use crate::phased;

/// Image `[n, c, h, w]` to columns `[c·kh·kw, n·oh·ow]` (zeros where the kernel
/// overlaps the padding).
pub fn im2col(image: &[f32], g: &Geometry) -> Vec<f32> {
    assert_eq!(image.len(), g.n * g.c * g.h * g.w, "im2col: image size");
    if g.phased() {
        return phased::im2col(image, g);
    }
    im2col_any(image, g)
}

/// [`im2col`] for any geometry, row by row of the column matrix.
fn im2col_any(image: &[f32], g: &Geometry) -> Vec<f32> {
    let m = g.cols();
    let [kh, kw] = g.kernel;
    written(g.rows() * m, |cols| {
        cols.par_chunks_mut(m).enumerate().for_each(|(row, out)| {
            let (c, ky, kx) = (row / (kh * kw), (row / kw) % kh, row % kw);
            for n in 0..g.n {
                let plane = &image[(n * g.c + c) * g.h * g.w..][..g.h * g.w];
                let out = &mut out[n * g.oh * g.ow..][..g.oh * g.ow];
                for (oy, dst) in out.chunks_mut(g.ow).enumerate() {
                    let Some(iy) = g.source_row(oy, ky) else {
                        dst.iter_mut().for_each(|d| {
                            d.write(0.0);
                        });
                        continue;
                    };
                    let src = &plane[iy * g.w..][..g.w];
                    let (lo, hi, first) = g.inside(kx);
                    let s = g.stride[1];
                    for d in &mut dst[..lo] {
                        d.write(0.0);
                    }
                    for (j, d) in dst[lo..hi].iter_mut().enumerate() {
                        d.write(src[first + j * s]);
                    }
                    for d in &mut dst[hi..] {
                        d.write(0.0);
                    }
                }
            }
        });
    })
}

/// The adjoint of [`im2col`]: columns `[c·kh·kw, n·oh·ow]` summed back into an
/// image `[n, c, h, w]`, onto `bias[c]` when given.
pub fn col2im(cols: &[f32], g: &Geometry, bias: Option<&[f32]>) -> Vec<f32> {
    assert_eq!(
        cols.len(),
        g.rows() * g.cols(),
        "col2im: column matrix size"
    );
    if g.phased() {
        return phased::col2im(cols, g, bias);
    }
    col2im_any(cols, g, bias)
}

/// [`col2im`] for any geometry, image plane by image plane.
fn col2im_any(cols: &[f32], g: &Geometry, bias: Option<&[f32]>) -> Vec<f32> {
    let m = g.cols();
    let [kh, kw] = g.kernel;
    let plane_size = g.h * g.w;
    if plane_size == 0 {
        return Vec::new();
    }
    written(g.n * g.c * plane_size, |image| {
        image
            .par_chunks_mut(plane_size)
            .enumerate()
            .for_each(|(plane_index, plane)| {
                let (n, c) = (plane_index / g.c, plane_index % g.c);
                let start = bias.map_or(0.0, |b| b[c]);
                plane.iter_mut().for_each(|v| {
                    v.write(start);
                });
                // SAFETY: every element was just written.
                let plane = unsafe { &mut *(plane as *mut [MaybeUninit<f32>] as *mut [f32]) };
                for ky in 0..kh {
                    for kx in 0..kw {
                        let row = (c * kh + ky) * kw + kx;
                        let src = &cols[row * m + n * g.oh * g.ow..][..g.oh * g.ow];
                        for oy in 0..g.oh {
                            let Some(iy) = g.source_row(oy, ky) else {
                                continue;
                            };
                            let dst = &mut plane[iy * g.w..][..g.w];
                            let src = &src[oy * g.ow..][..g.ow];
                            let (lo, hi, first) = g.inside(kx);
                            for (j, &v) in src[lo..hi].iter().enumerate() {
                                dst[first + j * g.stride[1]] += v;
                            }
                        }
                    }
                }
            });
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i + seed) * 7919 % 613) as f32 - 306.0) / 97.0)
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The phased passes agree with the row-by-row ones on every phased
        /// geometry: strides 1–3, kernels larger and smaller than the
        /// stride (a phased kernel is `2·padding + 1` to `2·padding +
        /// stride`), one to many images.
        #[test]
        fn phased_passes_match_the_row_by_row_ones(
            n in 1usize..10, c in 1usize..4, oh in 1usize..7, ow in 1usize..7,
            sy in 1usize..4, sx in 1usize..4, ey in 0usize..3, ex in 0usize..3,
            py in 0usize..4, px in 0usize..4, with_bias in any::<bool>(),
        ) {
            let (h, w) = (sy * oh, sx * ow);
            let (kh, kw) = (2 * py + 1 + ey % sy, 2 * px + 1 + ex % sx);
            prop_assume!(h + 2 * py >= kh && w + 2 * px >= kw);
            let g = Geometry::conv([n, c, h, w], [kh, kw], [sy, sx], [py, px]);
            prop_assert!(g.phased(), "{:?}", g);
            let image = values(n * c * h * w, 1);
            prop_assert_eq!(phased::im2col(&image, &g), im2col_any(&image, &g));
            let cols = values(g.rows() * g.cols(), 2);
            let bias = values(c, 3);
            let bias = with_bias.then_some(&bias[..]);
            let (got, want) = (phased::col2im(&cols, &g, bias), col2im_any(&cols, &g, bias));
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                prop_assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "[{}]: {} vs {}", i, a, b);
            }
        }
    }
}
