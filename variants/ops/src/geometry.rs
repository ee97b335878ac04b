//! A 2-D convolution's geometry (image size, kernel, stride, padding and the
//! grid of kernel positions), shared by the column-matrix passes and the
//! burn-facing layers. Imports nothing.

/// A 2-D convolution's geometry: the image it reads (`n, c, h, w`) and the
/// grid of kernel positions (`oh, ow`). Dilation 1, one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub oh: usize,
    pub ow: usize,
}

impl Geometry {
    /// Geometry of a convolution over `[n, c, h, w]`, output size derived.
    pub fn conv(
        [n, c, h, w]: [usize; 4],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> Self {
        let out = |size: usize, i: usize| (size + 2 * padding[i] - kernel[i]) / stride[i] + 1;
        Self {
            n,
            c,
            h,
            w,
            kernel,
            stride,
            padding,
            oh: out(h, 0),
            ow: out(w, 1),
        }
    }

    /// Rows of the column matrix: `c × kh × kw`.
    pub fn rows(&self) -> usize {
        self.c * self.kernel[0] * self.kernel[1]
    }

    /// Whether the image is exactly `stride` times the grid of positions, and
    /// not empty (see [`crate::phased`]).
    pub fn phased(&self) -> bool {
        self.h == self.stride[0] * self.oh
            && self.w == self.stride[1] * self.ow
            && self.n * self.c * self.h * self.w > 0
    }

    /// Columns of the column matrix: `n × oh × ow`.
    pub fn cols(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// The output positions `lo..hi` along the width whose tap `kx` reads
    /// inside the image (column `ox · stride + kx - padding`), and the column
    /// position `lo` reads.
    pub fn inside(&self, kx: usize) -> (usize, usize, usize) {
        let (s, p) = (self.stride[1], self.padding[1]);
        let lo = p.saturating_sub(kx).div_ceil(s).min(self.ow);
        let hi = (self.w + p).saturating_sub(kx).div_ceil(s).min(self.ow);
        (lo, hi.max(lo), (lo * s + kx).saturating_sub(p))
    }

    /// The image row read by kernel row `ky` at output row `oy`, if inside.
    pub fn source_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride[0] + ky)
            .checked_sub(self.padding[0])
            .filter(|&iy| iy < self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dcgan_layers_are_phased() {
        for (h, oh) in [(28, 14), (14, 7)] {
            let g = Geometry::conv([2, 3, h, h], [4, 4], [2, 2], [1, 1]);
            assert!(g.phased() && g.oh == oh, "{g:?}");
        }
        assert!(Geometry::conv([2, 3, 9, 9], [3, 3], [1, 1], [1, 1]).phased());
        assert!(!Geometry::conv([2, 3, 9, 9], [3, 3], [2, 2], [1, 1]).phased());
    }
}
