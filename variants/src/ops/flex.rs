//! [`FusedOps`] on burn-flex: forward passes straight from [`kernels`], and on
//! `Autodiff<Flex>` one graph node per layer whose backward pass computes only
//! the gradients its inputs need (no weight gradients for a frozen network).

use burn::backend::Flex;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::tensor::TensorData;
use burn_flex::FlexTensor;

use super::FusedOps;
use super::kernels::{self, Geometry, Mat};

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

fn conv2d_forward(x: &FlexTensor, w: &FlexTensor, b: &FlexTensor, g: &Geometry) -> FlexTensor {
    let co = dims::<4>(w)[0];
    let cols = kernels::im2col(slice(x), g);
    let y = kernels::matmul(
        Mat::new(slice(w), co, g.rows()),
        Mat::new(&cols, g.rows(), g.cols()),
    );
    let p = g.oh * g.ow;
    let y = kernels::from_channel_major(&y, g.n, co, p, Some(slice(b)));
    tensor(y, &[g.n, co, g.oh, g.ow])
}

fn conv_transpose2d_forward(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    g: &Geometry,
) -> FlexTensor {
    let ci = dims::<4>(w)[0];
    let p = g.oh * g.ow;
    let xcm = kernels::to_channel_major(slice(x), g.n, ci, p);
    let cols = kernels::matmul(
        Mat::new(slice(w), ci, g.rows()).t(),
        Mat::new(&xcm, ci, g.cols()),
    );
    let mut y = kernels::col2im(&cols, g);
    let bias = slice(b);
    let plane = g.h * g.w;
    y.chunks_mut(plane)
        .enumerate()
        .for_each(|(i, image)| image.iter_mut().for_each(|v| *v += bias[i % g.c]));
    tensor(y, &[g.n, g.c, g.h, g.w])
}

impl FusedOps for Flex {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let (x, w, b) = (values(&x), values(&weight), values(&bias));
        let g = conv_geometry(&dims(&x), &dims(&w), stride, padding);
        conv2d_forward(&x, &w, &b, &g)
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
        conv_transpose2d_forward(&x, &w, &b, &g)
    }

    fn fused_leaky_relu(x: FloatTensor<Self>, slope: f32) -> FloatTensor<Self> {
        let x = values(&x);
        let y = kernels::map(slice(&x), |v| if v > 0.0 { v } else { v * slope });
        tensor(y, x.layout().shape())
    }

    fn fused_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = values(&x);
        let y = kernels::map(slice(&x), f32::tanh);
        tensor(y, x.layout().shape())
    }
}

/// Saved for a convolution's backward pass: input, weight and geometry.
type ConvState = (FlexTensor, FlexTensor, Geometry);

#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 3> for Conv2dBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dy = values(&grads.consume::<Flex>(&ops.node));
        let (x, w, g) = ops.state;
        let co = dims::<4>(&w)[0];
        let p = g.oh * g.ow;
        let dy_cm = kernels::to_channel_major(slice(&dy), g.n, co, p);
        let dy_cm = Mat::new(&dy_cm, co, g.cols());
        if let Some(node) = node_b {
            let db = kernels::channel_sums(slice(&dy), g.n, co, p);
            grads.register::<Flex>(node.id, tensor(db, &[co]));
        }
        if let Some(node) = node_w {
            let cols = kernels::im2col(slice(&x), &g);
            let dw = kernels::matmul(dy_cm, Mat::new(&cols, g.rows(), g.cols()).t());
            grads.register::<Flex>(node.id, tensor(dw, &dims::<4>(&w)));
        }
        if let Some(node) = node_x {
            let dcols = kernels::matmul(Mat::new(slice(&w), co, g.rows()).t(), dy_cm);
            let dx = kernels::col2im(&dcols, &g);
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
        let (x, w, g) = ops.state;
        let ci = dims::<4>(&w)[0];
        let p = g.oh * g.ow;
        if let Some(node) = node_b {
            let db = kernels::channel_sums(slice(&dy), g.n, g.c, g.h * g.w);
            grads.register::<Flex>(node.id, tensor(db, &[g.c]));
        }
        if node_w.is_none() && node_x.is_none() {
            return;
        }
        let dcols = kernels::im2col(slice(&dy), &g);
        let dcols = Mat::new(&dcols, g.rows(), g.cols());
        if let Some(node) = node_w {
            let xcm = kernels::to_channel_major(slice(&x), g.n, ci, p);
            let dw = kernels::matmul(Mat::new(&xcm, ci, g.cols()), dcols.t());
            grads.register::<Flex>(node.id, tensor(dw, &dims::<4>(&w)));
        }
        if let Some(node) = node_x {
            let dx_cm = kernels::matmul(Mat::new(slice(&w), ci, g.rows()), dcols);
            let dx = kernels::from_channel_major(&dx_cm, g.n, ci, p, None);
            grads.register::<Flex>(node.id, tensor(dx, &[g.n, ci, g.oh, g.ow]));
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

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn fused_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let prep = Conv2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let (xv, wv, bv) = (
            values(x.primitive()),
            values(weight.primitive()),
            values(bias.primitive()),
        );
        let g = conv_geometry(&dims(&xv), &dims(&wv), stride, padding);
        let y = conv2d_forward(&xv, &wv, &bv, &g);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((xv, wv, g), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
    }

    fn fused_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        let prep = ConvTranspose2dBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let (xv, wv, bv) = (
            values(x.primitive()),
            values(weight.primitive()),
            values(bias.primitive()),
        );
        let g = transpose_geometry(&dims(&xv), &dims(&wv), stride, padding);
        let y = conv_transpose2d_forward(&xv, &wv, &bv, &g);
        match prep {
            OpsKind::Tracked(prep) => prep.finish((xv, wv, g), y),
            OpsKind::UnTracked(prep) => prep.finish(y),
        }
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
