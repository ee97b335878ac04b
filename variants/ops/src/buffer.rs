//! Output buffers the kernels fill without a zeroing pass first (a fresh
//! `vec![0.0; n]` was a measurable share of the step: see
//! `docs/performance.md`, "Kernels write into uninitialised buffers").
//! Imports nothing.

#![allow(unsafe_code)]

use std::mem::MaybeUninit;

/// A vector of `len` values written by `fill`, which writes every element:
/// no zeroing pass over a buffer about to be overwritten.
pub(crate) fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: every caller's `fill` writes each element of the slice it gets.
    unsafe { v.set_len(len) };
    v
}
