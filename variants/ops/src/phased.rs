//! im2col and col2im for convolutions whose image is exactly `stride` times
//! their grid of kernel positions (`h = s·oh`, `w = s·ow`: every layer of the
//! DCGAN, kernel 4, stride 2, padding 1, and every stride-1 "same" layer).
//!
//! Such an image splits into `s × s` phase grids (the pixels `iy ≡ py`,
//! `ix ≡ px` modulo the stride), each shaped like the position grid, and a
//! kernel tap reads one phase grid shifted by a constant offset. So each tap
//! moves a whole image's positions as one contiguous, vectorised run (a mask
//! zeroes the positions whose shifted column leaves the row) instead of a
//! strided gather or scatter per row of 7 or 14 pixels; the image is
//! (de)interleaved from its phase grids once.
//!
//! Imports `buffer` and `geometry`; `im2col` chooses these passes and its
//! property test holds them equal to the row-by-row ones.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::buffer::written;
use crate::geometry::Geometry;

/// Where one kernel tap reads: its phase grid, the offset of the value it
/// reads from its position's index, the index range `lo..hi` that holds every
/// position reading inside the image, and which mask zeroes the rest.
struct Tap {
    phase: usize,
    offset: isize,
    lo: usize,
    hi: usize,
    mask: usize,
}

/// The taps of `g` in column-matrix row order, and their masks (one per
/// horizontal shift: 1 where a position's shifted column stays in its row).
fn taps(g: &Geometry) -> (Vec<Tap>, Vec<Vec<f32>>) {
    let [kh, kw] = g.kernel;
    let (oh, ow) = (g.oh as isize, g.ow as isize);
    let split = |k: usize, axis: usize| {
        let t = k as isize - g.padding[axis] as isize;
        let s = g.stride[axis] as isize;
        (t.rem_euclid(s) as usize, t.div_euclid(s))
    };
    let mut masks: Vec<(isize, Vec<f32>)> = Vec::new();
    let mut taps = Vec::with_capacity(kh * kw);
    for ky in 0..kh {
        for kx in 0..kw {
            let ((py, dy), (px, dx)) = (split(ky, 0), split(kx, 1));
            let offset = dy * ow + dx;
            let lo = ((-dy).max(0) * ow).max(-offset).min(oh * ow);
            let hi = ((oh - dy).min(oh) * ow).min(oh * ow - offset).max(lo);
            let mask = match masks.iter().position(|(shift, _)| *shift == dx) {
                Some(index) => index,
                None => {
                    let row =
                        (0..oh * ow).map(|i| f32::from(u8::from((0..ow).contains(&(i % ow + dx)))));
                    masks.push((dx, row.collect()));
                    masks.len() - 1
                }
            };
            taps.push(Tap {
                phase: py * g.stride[1] + px,
                offset,
                lo: lo as usize,
                hi: hi as usize,
                mask,
            });
        }
    }
    (taps, masks.into_iter().map(|(_, m)| m).collect())
}

/// Images per parallel task: about four tasks per core.
fn chunk(n: usize) -> usize {
    n.div_ceil(4 * rayon::current_num_threads()).max(1)
}

/// [`crate::im2col::im2col`] for a phased geometry.
pub(crate) fn im2col(image: &[f32], g: &Geometry) -> Vec<f32> {
    let (m, grid, plane) = (g.cols(), g.oh * g.ow, g.h * g.w);
    let [sy, sx] = g.stride;
    let (taps, masks) = taps(g);
    let per_image = sy * sx * grid;
    let chunk = chunk(g.n);
    let tasks: Vec<(usize, usize)> = (0..g.c)
        .flat_map(|c| (0..g.n).step_by(chunk).map(move |n0| (c, n0)))
        .collect();
    written(g.rows() * m, |cols| {
        let cols = cols.as_mut_ptr() as usize;
        tasks.par_iter().for_each(|&(c, n0)| {
            let mut phases = vec![0.0f32; per_image];
            for n in n0..(n0 + chunk).min(g.n) {
                let src = &image[(n * g.c + c) * plane..][..plane];
                for (iy, row) in src.chunks(g.w).enumerate() {
                    let (py, oy) = (iy % sy, iy / sy);
                    for px in 0..sx {
                        let dst = &mut phases[(py * sx + px) * grid + oy * g.ow..][..g.ow];
                        for (d, &v) in dst.iter_mut().zip(row[px..].iter().step_by(sx)) {
                            *d = v;
                        }
                    }
                }
                for (t, tap) in taps.iter().enumerate() {
                    let row = c * taps.len() + t;
                    // SAFETY: task (c, n0) alone writes the positions of images
                    // n0.. in the rows of channel c, inside the `rows × m` buffer.
                    let out = unsafe {
                        std::slice::from_raw_parts_mut(
                            (cols as *mut MaybeUninit<f32>).add(row * m + n * grid),
                            grid,
                        )
                    };
                    let (lo, hi) = (tap.lo, tap.hi);
                    let (head, rest) = out.split_at_mut(lo);
                    let (inside, tail) = rest.split_at_mut(hi - lo);
                    for d in head.iter_mut().chain(tail) {
                        d.write(0.0);
                    }
                    if hi > lo {
                        let from = &phases[tap.phase * grid..][..grid];
                        let from = &from[(lo as isize + tap.offset) as usize..][..hi - lo];
                        for ((d, &v), &k) in
                            inside.iter_mut().zip(from).zip(&masks[tap.mask][lo..hi])
                        {
                            d.write(v * k);
                        }
                    }
                }
            }
        });
    })
}

/// [`crate::im2col::col2im`] for a phased geometry.
pub(crate) fn col2im(cols: &[f32], g: &Geometry, bias: Option<&[f32]>) -> Vec<f32> {
    let (m, grid, plane) = (g.cols(), g.oh * g.ow, g.h * g.w);
    let [sy, sx] = g.stride;
    let (taps, masks) = taps(g);
    let chunk = chunk(g.n);
    written(g.n * g.c * plane, |image| {
        image
            .par_chunks_mut(chunk * g.c * plane)
            .enumerate()
            .for_each(|(task, out)| {
                let n0 = task * chunk;
                let count = out.len() / (g.c * plane);
                let mut phases = vec![0.0f32; sy * sx * count * grid];
                for c in 0..g.c {
                    phases.fill(0.0);
                    for (t, tap) in taps.iter().enumerate() {
                        let row = &cols[(c * taps.len() + t) * m + n0 * grid..][..count * grid];
                        let to = &mut phases[tap.phase * count * grid..][..count * grid];
                        let (lo, hi) = (tap.lo, tap.hi);
                        if hi == lo {
                            continue;
                        }
                        for (src, dst) in row.chunks(grid).zip(to.chunks_mut(grid)) {
                            let dst = &mut dst[(lo as isize + tap.offset) as usize..][..hi - lo];
                            for ((d, &v), &k) in dst
                                .iter_mut()
                                .zip(&src[lo..hi])
                                .zip(&masks[tap.mask][lo..hi])
                            {
                                *d += v * k;
                            }
                        }
                    }
                    let start = bias.map_or(0.0, |b| b[c]);
                    for i in 0..count {
                        let dst = &mut out[(i * g.c + c) * plane..][..plane];
                        for (iy, row) in dst.chunks_mut(g.w).enumerate() {
                            let (py, oy) = (iy % sy, iy / sy);
                            for px in 0..sx {
                                let from = &phases
                                    [((py * sx + px) * count + i) * grid + oy * g.ow..][..g.ow];
                                for (d, &v) in row[px..].iter_mut().step_by(sx).zip(from) {
                                    d.write(start + v);
                                }
                            }
                        }
                    }
                }
            });
    })
}
