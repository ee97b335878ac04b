//! [`FusedOps`] on burn-flex: forward passes straight from the kernels
//! (`kernels`, `im2col`), and on `Autodiff<Flex>` one graph node per layer
//! whose backward pass computes only the gradients its inputs need (no weight
//! gradients for a frozen network). The one module that sees burn's backend
//! types; imports the kernels, `geometry`, `leak` and the crate root's trait.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Flex};
use burn::tensor::TensorData;
use burn_flex::FlexTensor;

use crate::geometry::Geometry;
use crate::im2col::{col2im, im2col};
use crate::kernels::{self, Mat};
use crate::{FusedOps, Leak};

/// The tensor's values, contiguous.
fn values(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("fused ops take contiguous f32 tensors")
}

fn dims<const D: usize>(t: &FlexTensor) -> [usize; D] {
    let shape = t.layout().shape();
    assert_eq!(shape.num_dims(), D, "fused ops: tensor rank");
    std::array::from_fn(|i| shape[i])
}

fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// Geometry of a convolution's input image, from `x [n, ci, h, w]` and
/// `weight [co, ci, kh, kw]`.
fn conv_geometry(
    x: &[usize; 4],
    weight: &[usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Geometry {
    assert_eq!(x[1], weight[1], "conv2d: input channels");
    Geometry::conv(*x, [weight[2], weight[3]], stride, padding)
}

/// Geometry of a transposed convolution's output image (the image the
/// equivalent convolution reads), from `x [n, ci, h, w]` and `weight [ci, co, kh, kw]`.
fn transpose_geometry(
    x: &[usize; 4],
    weight: &[usize; 4],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Geometry {
    assert_eq!(x[1], weight[0], "conv_transpose2d: input channels");
    let out = |i: usize| (x[2 + i] - 1) * stride[i] + weight[2 + i] - 2 * padding[i];
    Geometry {
        n: x[0],
        c: weight[1],
        h: out(0),
        w: out(1),
        kernel: [weight[2], weight[3]],
        stride,
        padding,
        oh: x[2],
        ow: x[3],
    }
}

/// The convolution's output and its column matrix (`im2col` of `x`).
fn conv2d_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    g: &Geometry,
    leak: Leak,
) -> (FlexTensor, Vec<f32>) {
    let co = dims::<4>(w)[0];
    let cols = im2col(slice(x), g);
    let y = kernels::matmul(
        Mat::new(slice(w), co, g.rows()),
        Mat::new(&cols, g.rows(), g.cols()),
    );
    let p = g.oh * g.ow;
    let y = kernels::from_channel_major(&y, g.n, co, p, Some(slice(b)), leak);
    (tensor(y, &[g.n, co, g.oh, g.ow]), cols)
}

/// The transposed convolution's output and its input, channel-major.
fn conv_transpose2d_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    g: &Geometry,
) -> (FlexTensor, Vec<f32>) {
    let ci = dims::<4>(w)[0];
    let p = g.oh * g.ow;
    let xcm = kernels::to_channel_major(slice(x), g.n, ci, p);
    let cols = kernels::matmul(
        Mat::new(slice(w), ci, g.rows()).t(),
        Mat::new(&xcm, ci, g.cols()),
    );
    let y = col2im(&cols, g, Some(slice(b)));
    (tensor(y, &[g.n, g.c, g.h, g.w]), xcm)
}

impl FusedOps for Flex {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        leak: Leak,
    ) -> FloatTensor<Self> {
        let (x, w, b) = (values(&x), values(&weight), values(&bias));
        let g = conv_geometry(&dims(&x), &dims(&w), stride, padding);
        conv2d_forward(&x, &w, &b, &g, leak).0
    }

    fn fused_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let (x, w, b) = (values(&x), values(&weight), values(&bias));
        let g = transpose_geometry(&dims(&x), &dims(&w), stride, padding);
        conv_transpose2d_forward(&x, &w, &b, &g).0
    }

    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        leak: Leak,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let (x, gamma, beta) = (values(&x), values(&gamma), values(&beta));
        let (y, stats) = batch_norm_forward(&x, &gamma, &beta, epsilon, leak);
        let c = stats.mean.len();
        (y, tensor(stats.mean, &[c]), tensor(stats.variance, &[c]))
    }

    fn fused_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let x = values(&x);
        let y = kernels::map(slice(&x), |v| Leak(slope).apply(v));
        tensor(y, x.layout().shape())
    }

    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = values(&x);
        let y = kernels::map(slice(&x), f32::tanh);
        tensor(y, x.layout().shape())
    }
}

/// `[n, c, p]` of a tensor `[n, c, ...]`.
fn channel_dims(t: &FlexTensor) -> [usize; 3] {
    let shape = t.layout().shape();
    assert!(shape.num_dims() >= 2, "batch norm: tensor rank below 2");
    [shape[0], shape[1], shape.iter().skip(2).product()]
}

/// A batch's per-channel statistics, saved for batch norm's backward pass.
#[derive(Clone, Debug)]
struct BatchStats {
    mean: Vec<f32>,
    /// Biased.
    variance: Vec<f32>,
    /// `1 / sqrt(variance + epsilon)`.
    inv_std: Vec<f32>,
}

/// Batch norm's forward pass: statistics in one pass, normalisation, affine
/// and activation in a second.
fn batch_norm_forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    leak: Leak,
) -> (FlexTensor, BatchStats) {
    let [n, c, p] = channel_dims(x);
    let (mean, variance) = kernels::channel_moments(slice(x), n, c, p);
    let inv_std: Vec<f32> = variance
        .iter()
        .map(|&v| (1.0 / (f64::from(v) + epsilon).sqrt()) as f32)
        .collect();
    let (gamma, beta) = (slice(gamma), slice(beta));
    let scale: Vec<f32> = inv_std.iter().zip(gamma).map(|(s, g)| s * g).collect();
    let y = kernels::channel_zip([slice(x); 3], c, p, |ci, v, _, _| {
        leak.apply((v - mean[ci]) * scale[ci] + beta[ci])
    });
    let stats = BatchStats {
        mean,
        variance,
        inv_std,
    };
    (tensor(y, x.layout().shape()), stats)
}

/// Saved for a convolution's backward pass: input, weight, geometry, and,
/// when the weight needs its gradient, the forward pass's matrix that the
/// weight gradient multiplies (the column matrix of a convolution, the
/// channel-major input of a transposed one) instead of computing it again.
/// "Needs" is read as burn does for parameters: a leaf tensor that requires
/// its gradient; any other weight has the matrix computed again.
type ConvState = (FlexTensor, FlexTensor, Geometry, Option<Vec<f32>>);

/// The output and its activation, saved when the layer has one: the
/// gradient reaching the layer's own output is `leak.backward(dy, y)`.
type Activation = Option<(FlexTensor, Leak)>;

/// The activation state a layer keeps: none for [`Leak::NONE`].
fn activation(y: &FlexTensor, leak: Leak) -> Activation {
    (leak != Leak::NONE).then(|| (y.clone(), leak))
}

#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = (ConvState, Activation);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let ((x, w, g, cols), act) = ops.state;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let co = dims::<4>(&w)[0];
        let p = g.oh * g.ow;
        let act = act.as_ref().map(|(y, leak)| (slice(y), *leak));
        let (dy_cm, db) = kernels::to_channel_major_grad(slice(&dy), act, g.n, co, p);
        let dy_cm = Mat::new(&dy_cm, co, g.cols());
        if let Some(node) = node_b {
            grads.register::<Flex>(node.id, tensor(db, &[co]));
        }
        if let Some(node) = node_w {
            let cols = cols.unwrap_or_else(|| im2col(slice(&x), &g));
            let dw = kernels::matmul(dy_cm, Mat::new(&cols, g.rows(), g.cols()).t());
            grads.register::<Flex>(node.id, tensor(dw, &dims::<4>(&w)));
        }
        if let Some(node) = node_x {
            let dcols = kernels::matmul(Mat::new(slice(&w), co, g.rows()).t(), dy_cm);
            let dx = col2im(&dcols, &g, None);
            grads.register::<Flex>(node.id, tensor(dx, &[g.n, g.c, g.h, g.w]));
        }
    }
}

#[derive(Debug)]
struct ConvTranspose2dBackward;

impl Backward<Flex, 3> for ConvTranspose2dBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let (x, w, g, xcm) = ops.state;
        let ci = dims::<4>(&w)[0];
        let p = g.oh * g.ow;
        if let Some(node) = node_b {
            let db = kernels::channel_sums(slice(&dy), g.n, g.c, g.h * g.w);
            grads.register::<Flex>(node.id, tensor(db, &[g.c]));
        }
        if node_w.is_none() && node_x.is_none() {
            return;
        }
        let dcols = im2col(slice(&dy), &g);
        let dcols = Mat::new(&dcols, g.rows(), g.cols());
        if let Some(node) = node_w {
            let xcm = xcm.unwrap_or_else(|| kernels::to_channel_major(slice(&x), g.n, ci, p));
            let dw = kernels::matmul(Mat::new(&xcm, ci, g.cols()), dcols.t());
            grads.register::<Flex>(node.id, tensor(dw, &dims::<4>(&w)));
        }
        if let Some(node) = node_x {
            let dx_cm = kernels::matmul(Mat::new(slice(&w), ci, g.rows()), dcols);
            let dx = kernels::from_channel_major(&dx_cm, g.n, ci, p, None, Leak::NONE);
            grads.register::<Flex>(node.id, tensor(dx, &[g.n, ci, g.oh, g.ow]));
        }
    }
}

#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    /// Input, gamma, the batch statistics and the activation.
    type State = (FlexTensor, FlexTensor, BatchStats, Activation);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let (x, gamma, stats, act) = ops.state;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let [n, c, p] = channel_dims(&x);
        let BatchStats { mean, inv_std, .. } = stats;
        // dz, the gradient before the activation, is computed where it is read.
        let (y, leak) = act
            .as_ref()
            .map_or((slice(&dy), Leak::NONE), |(y, leak)| (slice(y), *leak));
        // Pass one: sums of dz and dz · (x - mean) per channel.
        let (sum_dy, sum_dy_xc) =
            kernels::channel_grad_sums(slice(&dy), slice(&x), (y, leak), n, c, p, &mean);
        let gamma_grad: Vec<f32> = sum_dy_xc.iter().zip(&inv_std).map(|(s, i)| s * i).collect();
        if let Some(node) = node_x {
            // Pass two: dx = gamma · inv_std · (dz - mean(dz) - x̂ · mean(dz · x̂)).
            let count = (n * p) as f32;
            let scale: Vec<f32> = slice(&gamma)
                .iter()
                .zip(&inv_std)
                .map(|(g, i)| g * i)
                .collect();
            let mean_dy: Vec<f32> = sum_dy.iter().map(|s| s / count).collect();
            let slope: Vec<f32> = gamma_grad
                .iter()
                .zip(&inv_std)
                .map(|(g, i)| g * i / count)
                .collect();
            let dx = kernels::channel_zip([slice(&dy), slice(&x), y], c, p, |ci, d, v, y| {
                scale[ci] * (leak.backward(d, y) - mean_dy[ci] - (v - mean[ci]) * slope[ci])
            });
            grads.register::<Flex>(node.id, tensor(dx, x.layout().shape()));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, tensor(gamma_grad, &[c]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, tensor(sum_dy, &[c]));
        }
    }
}

#[derive(Debug)]
struct LeakyReluBackward;

impl Backward<Flex, 1> for LeakyReluBackward {
    type State = (FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let (x, slope) = ops.state;
        if let Some(node) = node_x {
            let dx = kernels::zip_map(
                slice(&dy),
                slice(&x),
                |d, v| {
                    if v > 0.0 { d } else { d * slope }
                },
            );
            grads.register::<Flex>(node.id, tensor(dx, x.layout().shape()));
        }
    }
}

#[derive(Debug)]
struct TanhBackward;

impl Backward<Flex, 1> for TanhBackward {
    /// The output: the derivative is `1 - y²`.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let y = ops.state;
        if let Some(node) = node_x {
            let dx = kernels::zip_map(slice(&dy), slice(&y), |d, y| d * (1.0 - y * y));
            grads.register::<Flex>(node.id, tensor(dx, y.layout().shape()));
        }
    }
}

/// One graph node over three inputs (an input, a weight, a bias): `forward`
/// gets their contiguous values and returns the output and the state its
/// backward pass keeps (dropped when no input needs a gradient).
fn node3<C: CheckpointStrategy, B: Backward<Flex, 3>>(
    backward: B,
    inputs: [&FloatTensor<Autodiff<Flex, C>>; 3],
    forward: impl FnOnce([FlexTensor; 3]) -> (FlexTensor, B::State),
) -> FloatTensor<Autodiff<Flex, C>> {
    let prep = backward
        .prepare::<C>(inputs.map(|t| t.node()))
        .compute_bound()
        .stateful();
    let (y, state) = forward(inputs.map(|t| values(t.primitive())));
    match prep {
        OpsKind::Tracked(prep) => prep.finish(state, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        leak: Leak,
    ) -> FloatTensor<Self> {
        let weight_grad = Self::float_is_require_grad(&weight);
        node3::<C, _>(Conv2dBackward, [&x, &weight, &bias], |[xv, wv, bv]| {
            let g = conv_geometry(&dims(&xv), &dims(&wv), stride, padding);
            let (y, cols) = conv2d_forward(&xv, &wv, &bv, &g, leak);
            let act = activation(&y, leak);
            (y, ((xv, wv, g, weight_grad.then_some(cols)), act))
        })
    }

    fn fused_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let weight_grad = Self::float_is_require_grad(&weight);
        node3::<C, _>(
            ConvTranspose2dBackward,
            [&x, &weight, &bias],
            |[xv, wv, bv]| {
                let g = transpose_geometry(&dims(&xv), &dims(&wv), stride, padding);
                let (y, xcm) = conv_transpose2d_forward(&xv, &wv, &bv, &g);
                (y, (xv, wv, g, weight_grad.then_some(xcm)))
            },
        )
    }

    fn fused_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        leak: Leak,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let mut moments = None;
        let y = node3::<C, _>(BatchNormBackward, [&x, &gamma, &beta], |[xv, gv, bv]| {
            let (y, stats) = batch_norm_forward(&xv, &gv, &bv, epsilon, leak);
            moments = Some((stats.mean.clone(), stats.variance.clone()));
            let act = activation(&y, leak);
            (y, (xv, gv, stats, act))
        });
        let (mean, variance) = moments.expect("the forward pass ran");
        let c = mean.len();
        (
            y,
            Self::from_inner(tensor(mean, &[c])),
            Self::from_inner(tensor(variance, &[c])),
        )
    }

    fn fused_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let prep = LeakyReluBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let xv = values(x.primitive());
        let y = Flex::fused_leaky_relu(xv.clone(), slope);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((xv, slope), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = TanhBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful();
        let y = Flex::fused_tanh(x.primitive().clone());
        match prep {
            OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }
}
