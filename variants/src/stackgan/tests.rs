use burn::prelude::*;
use burn::tensor::TensorData;

use super::model::{StackGan, downscale2, upscale2};
use super::nets::{Stage1G, kl, nearest2};
use super::step::pool2;
use super::{Encoder, StackGanConfig};
use crate::panel::RunView;
use crate::shared::tensors;
use crate::{Batch, Hyper, IMAGE_PIXELS, Scalar, Stream, Variant, VariantConfig, metric};

const GRID_COLS: usize = 8;

fn hyper() -> Hyper {
    crate::shared::test_hyper(6, 4)
}

fn tiny(encoder: Encoder, stage1_steps: Option<u64>) -> StackGanConfig {
    StackGanConfig {
        latent_dim: 8,
        encoder,
        embed_dim: 8,
        cond_dim: 4,
        stage1_steps,
        res_blocks: 1,
        ngf: 8,
        ndf: 4,
        ..Default::default()
    }
}

/// Generated images: class c is a block of width 6 + 2c and varying brightness.
fn data(n: usize) -> (Vec<f32>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(n * IMAGE_PIXELS);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 10) as u8;
        let w = 6 + 2 * c as usize + i % 3;
        let v = 0.2 + 0.15 * (i % 5) as f32;
        pixels.extend((0..IMAGE_PIXELS).map(|p| if p % 28 < w { v } else { -1.0 }));
        labels.push(c);
    }
    (pixels, labels)
}

fn batch(step: u64, device: &Device) -> Batch {
    let (pixels, labels) = data(6);
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [6, 1, 28, 28]), device);
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Batch {
        streams: vec![Stream {
            images,
            labels: Tensor::from_data(TensorData::new(labels, [6]), device),
        }],
        step,
        seed: 100 + step,
    }
}

#[test]
fn the_kl_term_matches_its_closed_form() {
    let device = Device::flex();
    let mu = [0.5f32, -1.0, 0.0, 2.0];
    let logvar = [0.0f32, 0.3, -0.7, 1.0];
    let t = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [2, 2]), &device);
    let got = kl(t(&mu), t(&logvar)).into_scalar::<f32>();
    let expected: f32 = mu
        .iter()
        .zip(&logvar)
        .map(|(m, l)| -0.5 * (1.0 + l - m * m - l.exp()))
        .sum::<f32>()
        / 4.0;
    assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    // N(0, 1) itself costs nothing.
    assert_eq!(kl(t(&[0.0; 4]), t(&[0.0; 4])).into_scalar::<f32>(), 0.0);
}

#[test]
fn both_encoders_train_both_stages_and_draw_from_captions() {
    let device = Device::flex().autodiff();
    for encoder in [Encoder::Bag, Encoder::Gru] {
        let mut v = StackGan::new(tiny(encoder, None), &hyper(), &device);
        let (pixels, labels) = data(40);
        v.prepare(&pixels, &labels);
        for step in 1..=2 {
            let scalars = v.train_step(&batch(step, &device));
            for key in [
                "loss_d",
                "loss_g",
                "loss_d_stage1",
                "loss_g_stage2",
                "kl",
                "d_wrong",
            ] {
                let value = metric::find(&scalars, key);
                assert!(
                    value.is_some_and(f64::is_finite),
                    "{encoder:?} {key}: {scalars:?}"
                );
            }
        }
        let grid = v.sample_grid();
        assert_eq!((grid.rows, grid.cols), (20, GRID_COLS));
        assert_eq!(grid.pixels.len(), 20 * GRID_COLS * IMAGE_PIXELS);
        assert!(
            grid.row_labels[1].ends_with("Stage-II"),
            "{:?}",
            grid.row_labels
        );

        let sampler = v.captions().unwrap();
        let texts = vec!["a dark dress".to_string(), "wide ankle boot".to_string()];
        let drawn = sampler.generate_captioned(&texts, 3).unwrap();
        assert_eq!(drawn.stages.len(), 2);
        assert!(drawn.stages.iter().all(|s| s.1.len() == 2 * IMAGE_PIXELS));
        assert_eq!(drawn, sampler.generate_captioned(&texts, 3).unwrap());
        // Stage-I is upscaled: every 2x2 block holds one value.
        let first = &drawn.stages[0].1;
        assert_eq!(first[0], first[29]);
        let err = sampler.read_caption("a sparkly dress").unwrap_err();
        assert!(err.to_string().contains("sneaker"), "{err}");
    }
}

#[test]
fn stage_one_first_then_stage_two_with_stage_one_frozen() {
    let device = Device::flex().autodiff();
    let mut v = StackGan::new(tiny(Encoder::Bag, Some(1)), &hyper(), &device);
    let first = v.train_step(&batch(1, &device));
    assert!(metric::find(&first, "loss_d_stage1").is_some());
    assert!(metric::find(&first, "loss_d_stage2").is_none());
    let frozen = v.stage1.g.clone().into_record();
    let second = v.train_step(&batch(2, &device));
    assert!(metric::find(&second, "loss_d_stage2").is_some());
    assert!(metric::find(&second, "loss_d_stage1").is_none());
    // Stage-I's parameters and batch statistics did not move.
    let inner = device.clone().inner();
    let lists = vec![vec![1u32, 30, 40]];
    let tokens = StackGan::tokens(&lists, &inner);
    let z = tensors::seeded_noise(1, 8, 5, &inner);
    let eps = Tensor::<2>::zeros([1, 4], &inner);
    let before = Stage1G::new(
        &tiny(Encoder::Bag, Some(1)),
        v.book.vocabulary.size(),
        &device,
    )
    .load_record(frozen)
    .valid()
    .forward(z.clone(), &tokens, eps.clone())
    .0;
    let after = v.stage1.g.valid().forward(z, &tokens, eps).0;
    assert!(
        tensors::pixels(before) == tensors::pixels(after),
        "Stage-I moved"
    );
}

#[test]
fn pooling_and_upscaling_are_exact() {
    let device = Device::flex();
    let pixels: Vec<f32> = (0..IMAGE_PIXELS).map(|i| i as f32).collect();
    let x = Tensor::<4>::from_data(TensorData::new(pixels.clone(), [1, 1, 28, 28]), &device);
    let pooled = tensors::pixels(pool2(x));
    assert_eq!(pooled, downscale2(&pixels));
    // The block at (0, 0) averages pixels 0, 1, 28 and 29.
    assert_eq!(pooled[0], (0.0 + 1.0 + 28.0 + 29.0) / 4.0);
    let up = upscale2(&pooled);
    assert_eq!(up.len(), IMAGE_PIXELS);
    assert_eq!(
        (up[0], up[1], up[28], up[29]),
        (pooled[0], pooled[0], pooled[0], pooled[0])
    );
    assert_eq!(up[2], pooled[1]);
}

#[test]
fn stage_two_upsamples_by_repeating_each_pixel() {
    let device = Device::flex();
    // Two images of two channels each, 14x14, every value distinct.
    let values: Vec<f32> = (0..4 * 196).map(|i| i as f32).collect();
    let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [2, 2, 14, 14]), &device);
    let up = nearest2(x);
    assert_eq!(up.dims(), [2, 2, 28, 28]);
    // Per plane, exactly what upscale2 does to a 14x14 image.
    assert_eq!(tensors::pixels(up), upscale2(&values));
}

#[test]
fn the_checkpoint_keeps_thresholds_and_vocabulary() {
    let device = Device::flex().autodiff();
    let dir = std::env::temp_dir().join(format!("gan-lab-stackgan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut v = StackGan::new(tiny(Encoder::Gru, None), &hyper(), &device);
    let (pixels, labels) = data(40);
    v.prepare(&pixels, &labels);
    v.train_step(&batch(1, &device));
    v.save(&dir).unwrap();
    let mut w = StackGan::new(tiny(Encoder::Gru, None), &hyper(), &device);
    w.load(&dir).unwrap();
    assert_eq!(w.book, v.book);
    assert!(w.book.thresholds.is_some());
    assert!(
        w.sample_grid() == v.sample_grid(),
        "the restored grid differs"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn validation_names_each_bad_field() {
    assert!(StackGanConfig::default().validate().is_empty());
    let bad = StackGanConfig {
        cond_dim: 0,
        kl_weight: -1.0,
        omit: 1.0,
        stage1_steps: Some(0),
        ..Default::default()
    };
    let fields: Vec<String> = bad.validate().into_iter().map(|p| p.0).collect();
    assert_eq!(fields, ["cond_dim", "kl_weight", "omit", "stage1_steps"]);
}

#[test]
fn the_panel_sets_agreement_against_chance() {
    let mut run = RunView::default();
    run.latest.insert("caption_class_acc".into(), (800, 0.75));
    run.latest.insert("attr_acc_tone".into(), (800, 0.6));
    run.latest.insert("attr_acc_size".into(), (800, 0.7));
    run.latest.insert("attr_acc_texture".into(), (800, 0.65));
    let panel = StackGanConfig::default().panel(&run).unwrap();
    assert!(panel.text.contains("step 800"), "{}", panel.text);
    let table = panel.table.unwrap();
    assert_eq!(table.rows[0], vec!["class", "75.0%", "10.0%"]);
    assert_eq!(table.rows[1], vec!["tone", "60.0%", "33.3%"]);
    assert_eq!(table.rows[3], vec!["texture", "65.0%", "50.0%"]);
    let labels = panel.grid_row_labels.unwrap();
    assert_eq!(labels.len(), 20);
    assert!(
        labels[0].ends_with("Stage-I") && labels[0].contains("t-shirt"),
        "{labels:?}"
    );
    let empty = StackGanConfig::default()
        .panel(&RunView::default())
        .unwrap();
    assert!(empty.table.is_none() && empty.text.contains("No evaluation"));
}

#[test]
fn a_restored_variant_continues_across_the_stage_switch() {
    let device = Device::flex().autodiff();
    let dir = std::env::temp_dir().join(format!("gan-lab-stackgan-resume-{}", std::process::id()));
    let (start, middle) = (dir.join("start"), dir.join("middle"));
    std::fs::create_dir_all(&start).unwrap();
    std::fs::create_dir_all(&middle).unwrap();
    let cfg = tiny(Encoder::Bag, Some(2));
    let (pixels, labels) = data(40);
    let mut whole = StackGan::new(cfg.clone(), &hyper(), &device);
    whole.prepare(&pixels, &labels);
    whole.save(&start).unwrap();
    // As the runner does: a grid and a checkpoint every two steps.
    let scratch = dir.join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let expected: Vec<Vec<Scalar>> = (1..=4)
        .map(|s| {
            let scalars = whole.train_step(&batch(s, &device));
            if s % 2 == 0 {
                whole.sample_grid();
                whole.save(&scratch).unwrap();
            }
            scalars
        })
        .collect();
    let mut first = StackGan::new(cfg.clone(), &hyper(), &device);
    first.load(&start).unwrap();
    let mut got = vec![first.train_step(&batch(1, &device))];
    first.sample_grid();
    first.save(&middle).unwrap();
    let mut resumed = StackGan::new(cfg, &hyper(), &device);
    resumed.load(&middle).unwrap();
    got.extend((2..=4).map(|s| resumed.train_step(&batch(s, &device))));
    std::fs::remove_dir_all(&dir).unwrap();
    for (step, (a, b)) in expected.iter().zip(&got).enumerate() {
        assert!(a == b, "step {}: {a:?} vs {b:?}", step + 1);
    }
}
