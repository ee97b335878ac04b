//! The activation a fused layer applies to its output, as plain `f32`
//! arithmetic for the kernels. Imports nothing.

/// The activation a fused layer applies to its output: `v` where positive,
/// `slope · v` elsewhere. Slope 1 is no activation, 0 is ReLU.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Leak(pub f32);

impl Leak {
    pub const NONE: Leak = Leak(1.0);
    pub const RELU: Leak = Leak(0.0);

    /// The activation of `v`.
    #[inline]
    pub fn apply(self, v: f32) -> f32 {
        if v > 0.0 { v } else { v * self.0 }
    }

    /// The gradient through the activation, from the output `y` it gave.
    #[inline]
    pub fn backward(self, dy: f32, y: f32) -> f32 {
        if y > 0.0 { dy } else { dy * self.0 }
    }
}
