//! gan-lab's fused layers: convolution and transposed convolution as one
//! matrix product over batch × positions (bias fused), batch norm in training
//! (two passes each way), leaky ReLU and tanh, each with its own backward
//! pass, as a burn backend extension. The networks of `gan-lab-variants` and
//! the evaluator of `gan-lab` call the wrappers below ([`conv2d`],
//! [`batch_norm_relu`], ...) on burn's own layer structs, so their records
//! (checkpoints) are burn's.
//!
//! The burn-flex backend (gan-lab's default CPU device), with or without
//! autodiff, runs the kernels here; every other device, and shapes the
//! kernels do not cover (dilation, groups, asymmetric padding), take burn's
//! own layers, so results only differ by float rounding; `GAN_LAB_PLAIN_LAYERS=1`
//! sends every layer to burn's. A GPU twin would be one more `impl FusedOps`
//! beside the flex ones, selected in `fused`.
//!
//! Why hand-written: burn 0.22's CPU convolutions are general and pay for it
//! in a GAN's training step. Their backward passes are built from the forward
//! ones (the input gradient a transposed convolution, the weight gradient a
//! convolution over swapped axes, each with its own layout changes) and run
//! whether or not a frozen network needs its weight gradients; an
//! activation's backward is a compare, a multiply and a `mask_where`. Here
//! each product is one gemm call over the whole batch on one band of columns
//! per core, bias and activation ride on the layout pass, the forward column
//! matrix is kept for the weight gradient, and im2col/col2im move contiguous
//! runs on the DCGAN's geometries. Each change was measured on the whole
//! DCGAN step (`docs/performance.md`, "History"): banded products +19% img/s
//! at batch 64, phased im2col/col2im +14% (+25% at 256); retraining the
//! evaluator takes 5 CPU-minutes instead of 9. `cargo bench -p gan-lab-ops`
//! measures each layer against burn's own, forward and backward at batch 64:
//! the convolutions 1.3–7x faster fused. The fused batch norm was +14% when
//! burn's took about ten passes each way; burn 0.22.1 has its own
//! `batch_norm_train` node, and the bench now puts burn's batch norm + ReLU
//! ahead (an open question, see the bench). No crate offers these layers for
//! burn; the property tests below hold each one to burn's within float
//! rounding on random shapes.
//!
//! Modules, leaves first (each imports only modules listed before it, and
//! `flex` the trait [`FusedOps`] of this root):
//! - `leak`, `buffer`, `geometry`: the activation, uninitialised output
//!   buffers, a convolution's geometry (import nothing);
//! - `phased`: im2col/col2im for images exactly stride × the position grid;
//! - `im2col`: the column matrix and its adjoint, choosing `phased` or the
//!   row-by-row passes;
//! - `kernels`: the matrix product, layout changes, batch-norm sums and the
//!   elementwise passes;
//! - `flex`: [`FusedOps`] on burn-flex and its autodiff, the only module that
//!   sees burn-flex's tensors.
//!
//! All of the crate's `unsafe` is in the kernels (`buffer`, `im2col`,
//! `phased`, `kernels`), each block with the reason it holds; the crate
//! denies it everywhere else.

#![deny(unsafe_code)]

mod buffer;
mod flex;
mod geometry;
mod im2col;
mod kernels;
mod leak;
mod phased;

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, backend_extension};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::prelude::*;

pub use leak::Leak;

/// Operations with a fused implementation on the flex backend.
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// 2-D convolution (dilation 1, one group): `x [n, ci, h, w]`,
    /// `weight [co, ci, kh, kw]`, `bias [co]`; then the activation `leak`.
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        leak: Leak,
    ) -> FloatTensor<Self>;

    /// 2-D transposed convolution (dilation 1, one group, no output padding):
    /// `x [n, ci, h, w]`, `weight [ci, co, kh, kw]`, `bias [co]`.
    fn fused_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self>;

    /// Batch norm with the batch's own statistics: `x [n, c, ...]` less the
    /// per-channel mean, over `sqrt(variance + epsilon)`, `· gamma + beta`
    /// (`[c]` each), then the activation `leak`. Returns the output, the mean
    /// and the biased variance.
    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        leak: Leak,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// `x` where positive, `slope · x` elsewhere.
    fn fused_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self>;

    /// Hyperbolic tangent.
    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The activation `leak` as a layer of its own (after one of burn's layers):
/// nothing, burn's ReLU, or the fused [`leaky_relu`].
fn activate<const D: usize>(x: Tensor<D>, leak: Leak) -> Tensor<D> {
    match leak {
        Leak::NONE => x,
        Leak::RELU => burn::tensor::activation::relu(x),
        Leak(slope) => leaky_relu(x, f64::from(slope)),
    }
}

/// Environment variable that, set to `1`, sends every layer to burn's own
/// implementation (to measure or rule out the fused layers).
pub const PLAIN_LAYERS_ENV: &str = "GAN_LAB_PLAIN_LAYERS";

/// Whether the fused kernels serve tensors on `device`.
fn fused(device: &Device, dtype: burn::tensor::DType) -> bool {
    static PLAIN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let plain = *PLAIN.get_or_init(|| std::env::var(PLAIN_LAYERS_ENV).is_ok_and(|v| v == "1"));
    !plain
        && dtype == burn::tensor::DType::F32
        && matches!(
            device.clone().inner().as_dispatch(),
            DispatchDevice::Flex(_)
        )
}

/// `conv.forward(x)`, fused where the device and the layer's shape allow.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    conv2d_act(conv, x, Leak::NONE)
}

/// `leaky_relu(conv.forward(x), slope)` in one fused layer where it can be.
pub fn conv2d_leaky_relu(conv: &Conv2d, x: Tensor<4>, slope: f64) -> Tensor<4> {
    conv2d_act(conv, x, Leak(slope as f32))
}

fn conv2d_act(conv: &Conv2d, x: Tensor<4>, leak: Leak) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let [kh, kw] = conv.kernel_size;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            Some([top, left])
        }
        _ => None,
    };
    let padding = padding.filter(|&[ph, pw]| {
        conv.dilation == [1, 1] && conv.groups == 1 && h + 2 * ph >= kh && w + 2 * pw >= kw
    });
    match &conv.bias {
        Some(bias) if padding.is_some() && fused(&x.device(), x.dtype()) => {
            Tensor::from_dispatch(<Dispatch as FusedOps>::fused_conv2d(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                conv.stride,
                padding.unwrap_or_default(),
                leak,
            ))
        }
        _ => activate(conv.forward(x), leak),
    }
}

/// `conv.forward(x)`, fused where the device and the layer's shape allow.
pub fn conv_transpose2d(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let [kh, kw] = conv.kernel_size;
    let [ph, pw] = conv.padding;
    let [sh, sw] = conv.stride;
    let simple = conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.padding_out == [0, 0]
        && (h - 1) * sh + kh > 2 * ph
        && (w - 1) * sw + kw > 2 * pw;
    match &conv.bias {
        Some(bias) if simple && fused(&x.device(), x.dtype()) => {
            Tensor::from_dispatch(<Dispatch as FusedOps>::fused_conv_transpose2d(
                x.into_dispatch(),
                conv.weight.val().into_dispatch(),
                bias.val().into_dispatch(),
                conv.stride,
                conv.padding,
            ))
        }
        _ => conv.forward(x),
    }
}

/// `bn.forward(x)`, fused on the flex device when the layer trains (autodiff
/// device, layer not frozen): the batch statistics and the normalisation in
/// two passes, the running statistics updated as burn's `BatchNorm` does
/// (`running · (1 - momentum) + batch · momentum`, biased variance). In
/// evaluation, burn's layer normalises with the running statistics.
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    batch_norm_act(bn, x, Leak::NONE)
}

/// `relu(bn.forward(x))`, one fused layer in training (see [`batch_norm`]).
pub fn batch_norm_relu<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    batch_norm_act(bn, x, Leak::RELU)
}

/// `leaky_relu(bn.forward(x), slope)`, one fused layer in training (see [`batch_norm`]).
pub fn batch_norm_leaky_relu<const D: usize>(
    bn: &BatchNorm,
    x: Tensor<D>,
    slope: f64,
) -> Tensor<D> {
    batch_norm_act(bn, x, Leak(slope as f32))
}

fn batch_norm_act<const D: usize>(bn: &BatchNorm, x: Tensor<D>, leak: Leak) -> Tensor<D> {
    let device = x.device();
    if !(device.is_autodiff() && bn.training.is_enabled() && fused(&device, x.dtype())) {
        return activate(bn.forward(x), leak);
    }
    let [features] = bn.gamma.shape().dims();
    assert!(
        D >= 2 && x.dims()[1] == features,
        "batch norm of {features} features on a tensor of shape {:?}",
        x.dims()
    );
    let (y, mean, variance) = <Dispatch as FusedOps>::fused_batch_norm_train(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
        leak,
    );
    let update = |running: &burn::module::RunningState<Tensor<1>>, batch| {
        let batch = Tensor::<1>::from_dispatch(batch).detach();
        let value = running
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.mul_scalar(bn.momentum));
        running.update(value.detach());
    };
    update(&bn.running_mean, mean);
    update(&bn.running_var, variance);
    Tensor::from_dispatch(y)
}

/// burn's `leaky_relu`, fused on the flex device.
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    if fused(&x.device(), x.dtype()) {
        Tensor::from_dispatch(<Dispatch as FusedOps>::fused_leaky_relu(
            x.into_dispatch(),
            slope as f32,
        ))
    } else {
        burn::tensor::activation::leaky_relu(x, slope)
    }
}

/// burn's `tanh`, fused on the flex device.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if fused(&x.device(), x.dtype()) {
        Tensor::from_dispatch(<Dispatch as FusedOps>::fused_tanh(x.into_dispatch()))
    } else {
        burn::tensor::activation::tanh(x)
    }
}

#[cfg(test)]
mod tests {
    //! Each fused layer against burn's own on random shapes: outputs and the
    //! gradients of a random weighting of them agree to within
    //! `1e-4 · (1 + largest magnitude of burn's value)`; batch norm's running
    //! statistics too.

    use super::*;
    use burn::module::Module;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::Distribution;
    use proptest::prelude::*;

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn assert_close<const D: usize>(what: &str, fused: Tensor<D>, plain: Tensor<D>) {
        assert_eq!(fused.dims(), plain.dims(), "{what}: shape");
        let fused = fused.into_data().try_to_vec::<f32>().unwrap();
        let plain = plain.into_data().try_to_vec::<f32>().unwrap();
        let scale = 1.0 + plain.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in fused.iter().zip(&plain).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * scale,
                "{what}[{i}]: fused {a} vs burn {b}"
            );
        }
    }

    fn random(shape: [usize; 4]) -> Tensor<4> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device())
    }

    /// Runs `layer` on a fresh copy of `x` and returns the output and the
    /// gradient of `sum(output · weights)` with respect to that copy.
    fn run(
        layer: impl Fn(Tensor<4>) -> Tensor<4>,
        x: &Tensor<4>,
        weights: &Tensor<4>,
    ) -> (Tensor<4>, Tensor<4>, burn::tensor::Gradients) {
        let x = x.clone().detach().require_grad();
        let y = layer(x.clone());
        let grads = (y.clone() * weights.clone()).sum().backward();
        let dx = x.grad(&grads).expect("input gradient");
        (y, dx, grads)
    }

    /// No activation, ReLU, or a leaky ReLU of some slope.
    fn leaks() -> impl Strategy<Value = Leak> {
        prop_oneof![
            Just(Leak::NONE),
            Just(Leak::RELU),
            (0.01f32..0.9).prop_map(Leak)
        ]
    }

    /// burn's own activation, independent of the fused layers.
    fn burn_act<const D: usize>(x: Tensor<D>, leak: Leak) -> Tensor<D> {
        match leak {
            Leak::NONE => x,
            Leak::RELU => burn::tensor::activation::relu(x),
            Leak(slope) => burn::tensor::activation::leaky_relu(x, f64::from(slope)),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        #[test]
        fn conv2d_matches_burn(
            n in 1usize..4, ci in 1usize..4, co in 1usize..5,
            h in 1usize..9, w in 1usize..9, k in 1usize..5,
            stride in 1usize..3, pad in 0usize..3, frozen in any::<bool>(),
            leak in leaks(),
        ) {
            prop_assume!(h + 2 * pad >= k && w + 2 * pad >= k);
            let mut conv = Conv2dConfig::new([ci, co], [k, k])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .init(&device());
            if frozen {
                conv = conv.no_grad();
            }
            let x = random([n, ci, h, w]);
            let plain_y = conv.forward(x.clone());
            let weights = Tensor::random(plain_y.dims(), Distribution::Normal(0.0, 1.0), &device());
            let (y, dx, grads) = run(|x| conv2d_act(&conv, x, leak), &x, &weights);
            let (py, pdx, pgrads) = run(|x| burn_act(conv.forward(x), leak), &x, &weights);
            assert_close("output", y, py);
            assert_close("input gradient", dx, pdx);
            let bias = conv.bias.as_ref().unwrap();
            if frozen {
                prop_assert!(conv.weight.grad(&grads).is_none());
            } else {
                assert_close("weight gradient", conv.weight.grad(&grads).unwrap(), conv.weight.grad(&pgrads).unwrap());
                assert_close("bias gradient", bias.grad(&grads).unwrap(), bias.grad(&pgrads).unwrap());
            }
        }

        #[test]
        fn conv_transpose2d_matches_burn(
            n in 1usize..4, ci in 1usize..4, co in 1usize..5,
            h in 1usize..8, w in 1usize..8, k in 1usize..5,
            stride in 1usize..3, pad in 0usize..2, frozen in any::<bool>(),
        ) {
            prop_assume!((h - 1) * stride + k > 2 * pad && (w - 1) * stride + k > 2 * pad);
            let mut conv = ConvTranspose2dConfig::new([ci, co], [k, k])
                .with_stride([stride, stride])
                .with_padding([pad, pad])
                .init(&device());
            if frozen {
                conv = conv.no_grad();
            }
            let x = random([n, ci, h, w]);
            let plain_y = conv.forward(x.clone());
            let weights = Tensor::random(plain_y.dims(), Distribution::Normal(0.0, 1.0), &device());
            let (y, dx, grads) = run(|x| conv_transpose2d(&conv, x), &x, &weights);
            let (py, pdx, pgrads) = run(|x| conv.forward(x), &x, &weights);
            assert_close("output", y, py);
            assert_close("input gradient", dx, pdx);
            let bias = conv.bias.as_ref().unwrap();
            if frozen {
                prop_assert!(conv.weight.grad(&grads).is_none());
            } else {
                assert_close("weight gradient", conv.weight.grad(&grads).unwrap(), conv.weight.grad(&pgrads).unwrap());
                assert_close("bias gradient", bias.grad(&grads).unwrap(), bias.grad(&pgrads).unwrap());
            }
        }

        #[test]
        fn batch_norm_matches_burn(
            n in 2usize..6, c in 1usize..6, h in 1usize..9, w in 1usize..9,
            images in any::<bool>(), offset in -20.0f32..20.0, spread in 0.1f32..3.0,
            momentum in 0.0f64..=1.0, epsilon in 1e-5f64..1e-2, frozen in any::<bool>(),
            leak in leaks(),
        ) {
            // Inputs off-centre (mean up to 20 spreads away) and both ranks the nets use.
            let batch = || random([n, c, h, w]).mul_scalar(spread).add_scalar(offset);
            if images {
                check_batch_norm([batch(), batch()], momentum, epsilon, frozen, leak);
            } else {
                let flat = || batch().reshape([n, c * h * w]);
                check_batch_norm([flat(), flat()], momentum, epsilon, frozen, leak);
            }
        }

        #[test]
        fn activations_match_burn(
            n in 1usize..5, c in 1usize..70, h in 1usize..30, slope in 0.0f64..1.0,
        ) {
            // Up to 8,000 elements per side of the parallel threshold's range.
            let x = random([n, c, h, 7]);
            let weights = random([n, c, h, 7]);
            let (y, dx, _) = run(|x| leaky_relu(x, slope), &x, &weights);
            let (py, pdx, _) = run(|x| burn::tensor::activation::leaky_relu(x, slope), &x, &weights);
            assert_close("leaky_relu", y, py);
            assert_close("leaky_relu gradient", dx, pdx);
            let (y, dx, _) = run(tanh, &x, &weights);
            let (py, pdx, _) = run(burn::tensor::activation::tanh, &x, &weights);
            assert_close("tanh", y, py);
            assert_close("tanh gradient", dx, pdx);
        }
    }

    /// A batch norm layer with the given parameters and running statistics,
    /// sharing no state with any other.
    fn batch_norm_layer(
        gamma: &Tensor<1>,
        beta: &Tensor<1>,
        momentum: f64,
        epsilon: f64,
        frozen: bool,
    ) -> BatchNorm {
        use burn::module::{Param, RunningState};
        let c = gamma.dims()[0];
        let layer = BatchNorm {
            gamma: Param::from_tensor(gamma.clone().detach()),
            beta: Param::from_tensor(beta.clone().detach()),
            training: Param::from_bool(true),
            running_mean: RunningState::new(Tensor::random(
                [c],
                Distribution::Normal(0.0, 1.0),
                &device(),
            )),
            running_var: RunningState::new(Tensor::ones([c], &device())),
            momentum,
            epsilon,
        };
        if frozen { layer.no_grad() } else { layer }
    }

    /// Two training batches through the fused and burn's batch norm, then one
    /// in evaluation: outputs, gradients (input, gamma, beta) and running
    /// statistics must agree.
    fn check_batch_norm<const D: usize>(
        batches: [Tensor<D>; 2],
        momentum: f64,
        epsilon: f64,
        frozen: bool,
        leak: Leak,
    ) {
        let c = batches[0].dims()[1];
        let gamma = Tensor::<1>::random([c], Distribution::Normal(1.0, 0.5), &device());
        let beta = Tensor::<1>::random([c], Distribution::Normal(0.0, 0.5), &device());
        let fused = batch_norm_layer(&gamma, &beta, momentum, epsilon, frozen);
        let plain = batch_norm_layer(&gamma, &beta, momentum, epsilon, frozen);
        plain.running_mean.update(fused.running_mean.value());
        for x in &batches {
            let weights = Tensor::<D>::random(x.dims(), Distribution::Normal(0.0, 1.0), &device());
            let run = |layer: &dyn Fn(Tensor<D>) -> Tensor<D>| {
                let x = x.clone().detach().require_grad();
                let y = layer(x.clone());
                let grads = (y.clone() * weights.clone()).sum().backward();
                (y, x.grad(&grads).expect("input gradient"), grads)
            };
            let (y, dx, grads) = run(&|x| batch_norm_act(&fused, x, leak));
            let (py, pdx, pgrads) = run(&|x| burn_act(plain.forward(x), leak));
            assert_close("output", y, py);
            assert_close("input gradient", dx, pdx);
            for (what, f, p) in [
                ("gamma", &fused.gamma, &plain.gamma),
                ("beta", &fused.beta, &plain.beta),
            ] {
                match (f.grad(&grads), p.grad(&pgrads)) {
                    (Some(f), Some(p)) => assert_close(what, f, p),
                    (None, None) => assert!(frozen, "{what}: no gradient"),
                    _ => panic!("{what}: gradient on one side only"),
                }
            }
            assert_close(
                "running mean",
                fused.running_mean.value(),
                plain.running_mean.value(),
            );
            assert_close(
                "running variance",
                fused.running_var.value(),
                plain.running_var.value(),
            );
        }
        let x = batches[0].clone().detach();
        let eval = |mut layer: BatchNorm| {
            layer.training = burn::module::Param::from_bool(false);
            layer
        };
        let (fused, plain) = (eval(fused), eval(plain));
        assert_close(
            "evaluation",
            batch_norm_act(&fused, x.clone(), leak),
            burn_act(plain.forward(x), leak),
        );
    }

    #[test]
    fn other_shapes_and_devices_take_burns_layers() {
        // Dilation 2 is not fused: the wrapper must still give burn's answer.
        let conv = Conv2dConfig::new([2, 3], [3, 3])
            .with_dilation([2, 2])
            .init(&device());
        let x = random([2, 2, 9, 9]);
        assert_close("dilated", conv2d(&conv, x.clone()), conv.forward(x));
        assert!(!fused(
            &Device::default().autodiff(),
            burn::tensor::DType::F16
        ));
        assert!(fused(&device(), burn::tensor::DType::F32));
    }
}
