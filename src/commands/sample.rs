//! `gan-lab sample`: images from a run's model, written as an IDX3 file or,
//! for a `.png` path, as a grid. It asks the variant what it can do (sample
//! from noise, by class, from a caption) and refuses clearly when it cannot.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use gan_lab_variants::{
    ClassSampler, IMAGE_PIXELS, NoiseSampler, SampleGrid, Variant, VariantConfig,
};

use crate::commands::error::{AppError, Result};
use crate::commands::restore::restore;
use crate::context::Context;
use crate::data;
use crate::store::layout::Checkpoint;

/// `gan-lab sample`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab sample 3f9c --n 64 --out grid.png\n  \
    gan-lab sample 3f9c --n 10000 --out samples.idx   (for `gan-lab eval --images`)\n  \
    gan-lab sample cgan --class sneaker --n 64 --out sneakers.png\n  \
    gan-lab sample cgan --class sneaker --interpolate 10 --n 6 --out walk.png\n  \
    gan-lab sample stackgan --caption \"a dark patterned dress\" --n 16 --out dress.png"
)]
pub struct SampleArgs {
    /// Run id, unique id prefix, or unique run name
    pub run: String,
    /// How many images (with --interpolate: how many rows) [default: 64, or 10 with --interpolate]
    #[arg(long)]
    pub n: Option<usize>,
    /// Output file: .png for a grid, anything else for IDX3
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint to sample: last, best (by the variant's score) or a step kept by `checkpoint.keep_every`
    #[arg(long, default_value = "last")]
    pub checkpoint: Checkpoint,
    /// Noise seed
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Only this class (conditional runs): a name such as sneaker, or an index 0-9
    #[arg(long)]
    pub class: Option<String>,
    /// Draw from this caption (StackGAN runs), such as "a dark patterned dress"; a .png shows the Stage-I row (upscaled) above the Stage-II row, any other name holds the Stage-II images
    #[arg(long, conflicts_with_all = ["class", "interpolate"])]
    pub caption: Option<String>,
    /// Rows that walk between two random noise vectors in this many steps (spherical interpolation); a conditional run keeps one class per row
    #[arg(long, value_name = "STEPS")]
    pub interpolate: Option<usize>,
    /// Draw each pixel of a .png grid as an N x N block (crisp, nearest neighbour), 1 to 16
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub scale: usize,
}

impl SampleArgs {
    /// The request, with `--n`'s default: 64 images, or 10 rows of a walk.
    pub fn request(&self) -> SampleRequest {
        SampleRequest {
            n: self
                .n
                .unwrap_or(if self.interpolate.is_some() { 10 } else { 64 }),
            seed: self.seed,
            class: self.class.clone(),
            interpolate: self.interpolate,
            caption: self.caption.clone(),
            scale: self.scale,
        }
    }
}

/// `gan-lab sample`: writes the images and says what was written.
pub fn execute(ctx: &Context, args: &SampleArgs) -> Result<ExitCode> {
    let written = sample(ctx, &args.run, args.checkpoint, &args.request(), &args.out)?;
    println!("{written}");
    Ok(ExitCode::SUCCESS)
}

/// What `gan-lab sample` draws.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRequest {
    /// Images, or with `interpolate` the number of rows (walks).
    pub n: usize,
    pub seed: u64,
    /// Only this class (conditional runs): a name or an index.
    pub class: Option<String>,
    /// Walk between two noise vectors in this many steps per row.
    pub interpolate: Option<usize>,
    /// Draw from this caption (text-conditioned runs).
    pub caption: Option<String>,
    /// Pixels per image pixel in a PNG grid (nearest neighbour).
    pub scale: usize,
}

/// Images per grid row when sampling from a caption.
const CAPTION_COLS: usize = 16;

/// Images one `sample` call may write (a 10,000-image IDX3 file is the usual
/// input of `eval --images`; this leaves ample room and bounds memory).
pub const MAX_SAMPLES: usize = 100_000;
/// The largest `--scale` (a 64-image grid at 16 is about 4,000 pixels wide).
pub const MAX_SCALE: usize = 16;

/// The variant's noise sampler, or an error that says what the run is for
/// and which command fits.
pub fn require_noise<'a>(
    run_id: &str,
    config: &dyn VariantConfig,
    variant: &'a dyn Variant,
) -> Result<&'a dyn NoiseSampler> {
    variant
        .noise()
        .ok_or_else(|| super::wrong_run(run_id, config, "`gan-lab sample` draws from noise"))
}

/// The variant's class sampler, or an error naming what the run is.
fn require_classes<'a>(
    run_id: &str,
    kind: &str,
    variant: &'a dyn Variant,
) -> Result<&'a dyn ClassSampler> {
    variant.classes().ok_or_else(|| {
        AppError::Usage(format!(
            "run {run_id} is a {kind} run, which is not class-conditional; --class needs a conditional run"
        ))
    })
}

/// `gan-lab sample`: returns what was written.
pub fn sample(
    ctx: &Context,
    run_ref: &str,
    which: Checkpoint,
    request: &SampleRequest,
    out: &Path,
) -> Result<String> {
    let n = request.n;
    if !(1..=MAX_SAMPLES).contains(&n) {
        return Err(AppError::Usage(format!(
            "--n is {n}; use 1 to {MAX_SAMPLES} images per call (10000 is usual for scoring)"
        )));
    }
    if let Some(steps) = request.interpolate
        && (!(2..=64).contains(&steps) || n > 64)
    {
        return Err(AppError::Usage(format!(
            "--interpolate {steps} with --n {n}: use 2 to 64 steps per row and at most 64 rows (--n is the number of rows here), e.g. --interpolate 10 --n 8"
        )));
    }
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !(1..=MAX_SCALE).contains(&request.scale) || (request.scale > 1 && !is_png) {
        return Err(AppError::Usage(format!(
            "--scale is {}; use 1 to {MAX_SCALE}, for a .png output only (4 shows a garment's detail)",
            request.scale
        )));
    }
    if let Some(text) = &request.caption {
        return sample_captioned(ctx, run_ref, which, text, request, out);
    }
    let class = request.class.as_deref().map(parse_class).transpose()?;
    let restored = restore(ctx, run_ref, which)?;
    let variant = restored.variant.as_ref();
    let run = &restored.run;
    let config = restored.spec.variant.config();
    let noise = require_noise(&run.id, config, variant)?;
    let classes = match class {
        Some(_) => Some(require_classes(&run.id, config.kind(), variant)?),
        None => variant.classes(),
    };
    let (pixels, rows, cols, row_labels) = match request.interpolate {
        Some(steps) => {
            let walks =
                crate::commands::interpolate::walks(n, steps, noise.latent_dim(), request.seed);
            // A conditional run walks within one class: the asked one, or class r in row r.
            let row_classes: Option<Vec<u8>> = classes.map(|c| {
                let k = c.num_classes();
                (0..n).map(|r| class.unwrap_or((r % k) as u8)).collect()
            });
            let labels: Option<Vec<u8>> = row_classes.as_ref().map(|c| {
                c.iter()
                    .flat_map(|&c| std::iter::repeat_n(c, steps))
                    .collect()
            });
            let pixels = noise.generate_from_noise(&walks, labels.as_deref());
            let row_labels = row_classes
                .map(|c| {
                    c.iter()
                        .map(|&c| data::CLASS_NAMES[c as usize].to_string())
                        .collect()
                })
                .unwrap_or_default();
            (pixels, n, steps, row_labels)
        }
        None => {
            let pixels = match (class, classes) {
                (Some(class), Some(sampler)) => {
                    sampler.generate_labeled(&vec![class; n], request.seed)
                }
                _ => noise.generate(n, request.seed),
            };
            let cols = (n as f64).sqrt().ceil() as usize;
            (pixels, n.div_ceil(cols), cols, Vec::new())
        }
    };
    let grid = SampleGrid {
        rows,
        cols,
        pixels,
        row_labels,
    };
    let format = write_images_scaled(out, grid, request.scale)?;
    let what = match request.interpolate {
        Some(steps) => format!("{n} interpolations of {steps} steps"),
        None => format!("{n} samples"),
    };
    Ok(format!(
        "wrote {what} of run {} (checkpoint at step {}) to {} as {format}",
        run.id,
        restored.step,
        out.display()
    ))
}

/// `gan-lab sample --caption`: `n` images of one caption; a PNG shows each
/// stage's row (earlier stages upscaled) above the next stage's, an IDX3
/// file holds the last stage's images.
fn sample_captioned(
    ctx: &Context,
    run_ref: &str,
    which: Checkpoint,
    text: &str,
    request: &SampleRequest,
    out: &Path,
) -> Result<String> {
    let restored = restore(ctx, run_ref, which)?;
    let run = &restored.run;
    let config = restored.spec.variant.config();
    let sampler = restored.variant.captions().ok_or_else(|| {
        super::wrong_run(&run.id, config, "--caption needs a text-conditioned run")
    })?;
    let said = |e: gan_lab_variants::stackgan::vocabulary::CaptionError| {
        AppError::Usage(format!("--caption: {e}"))
    };
    sampler.read_caption(text).map_err(said)?;
    let n = request.n;
    let drawn = sampler
        .generate_captioned(&vec![text.to_string(); n], request.seed)
        .map_err(said)?;
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let grid = if is_png {
        let cols = n.min(CAPTION_COLS);
        let mut pixels = Vec::new();
        let mut row_labels = Vec::new();
        for start in (0..n).step_by(cols) {
            let end = (start + cols).min(n);
            for (name, stage) in &drawn.stages {
                pixels.extend_from_slice(&stage[start * IMAGE_PIXELS..end * IMAGE_PIXELS]);
                pixels.resize(pixels.len() + (start + cols - end) * IMAGE_PIXELS, -1.0);
                row_labels.push(name.to_string());
            }
        }
        SampleGrid {
            rows: row_labels.len(),
            cols,
            pixels,
            row_labels,
        }
    } else {
        let last = drawn.stages.last().map(|s| s.1.clone()).unwrap_or_default();
        SampleGrid {
            rows: n,
            cols: 1,
            pixels: last,
            row_labels: Vec::new(),
        }
    };
    let format = write_images_scaled(out, grid, request.scale)?;
    Ok(format!(
        "wrote {n} samples of \"{text}\" from run {} (checkpoint at step {}) to {} as {format}",
        run.id,
        restored.step,
        out.display()
    ))
}

/// Writes images as a PNG grid (a `.png` path) or an IDX3 file (any other
/// name); returns which.
pub fn write_images(out: &Path, grid: SampleGrid) -> Result<&'static str> {
    write_images_scaled(out, grid, 1)
}

/// [`write_images`] with a PNG grid scaled up `scale` times.
fn write_images_scaled(out: &Path, grid: SampleGrid, scale: usize) -> Result<&'static str> {
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png {
        crate::train::grid::write_png_scaled(out, &grid, scale).map_err(|source| AppError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        return Ok("a PNG grid");
    }
    let images = data::Images {
        count: grid.pixels.len() / IMAGE_PIXELS,
        rows: 28,
        cols: 28,
        pixels: grid.pixels.iter().map(|&v| data::unit_to_byte(v)).collect(),
    };
    data::write_images(out, &images)?;
    Ok("an IDX3 file")
}

/// A class by name (any case, common aliases) or index.
pub fn parse_class(name: &str) -> Result<u8> {
    data::class_index(name).map(|c| c as u8).ok_or_else(|| {
        let valid: Vec<String> = data::CLASS_NAMES
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{i} {n}"))
            .collect();
        AppError::Usage(format!(
            "unknown class `{name}`; use a name or index: {}",
            valid.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gan_lab_variants::{
        Batch, Direction, Hyper, Judge, MetricInfo, Objective, Purpose, Scalar, StreamRequest,
        Translator,
    };
    use std::path::Path;

    /// A variant that only translates, as a CycleGAN does.
    struct OnlyTranslates;

    impl Variant for OnlyTranslates {
        fn streams(&self) -> Vec<StreamRequest> {
            Vec::new()
        }
        fn train_step(&mut self, _batch: &Batch) -> Vec<Scalar> {
            Vec::new()
        }
        fn sample_grid(&self) -> SampleGrid {
            SampleGrid {
                rows: 0,
                cols: 0,
                pixels: Vec::new(),
                row_labels: Vec::new(),
            }
        }
        fn evaluate(
            &self,
            _judge: &dyn Judge,
            _samples: usize,
            _seed: u64,
        ) -> gan_lab_variants::Result<Vec<Scalar>> {
            Ok(Vec::new())
        }
        fn save(&self, _dir: &Path) -> gan_lab_variants::Result<()> {
            Ok(())
        }
        fn load(&mut self, _dir: &Path) -> gan_lab_variants::Result<()> {
            Ok(())
        }
        fn translator(&self) -> Option<&dyn Translator> {
            Some(self)
        }
    }

    impl Translator for OnlyTranslates {
        fn domains(&self) -> (Vec<u8>, Vec<u8>) {
            (vec![7], vec![9])
        }
        fn translate(&self, pixels: &[f32], _direction: Direction) -> Vec<f32> {
            pixels.to_vec()
        }
    }

    struct TranslatorConfig;

    impl VariantConfig for TranslatorConfig {
        fn kind(&self) -> &'static str {
            "cyclegan"
        }
        fn validate(&self) -> Vec<(String, String)> {
            Vec::new()
        }
        fn describe(&self) -> String {
            String::new()
        }
        fn purpose(&self) -> Purpose {
            Purpose {
                what: "it translates images",
                command: "gan-lab translate",
            }
        }
        fn metrics(&self) -> Vec<MetricInfo> {
            Vec::new()
        }
        fn objective(&self, _scores: &[&str]) -> Option<Objective> {
            None
        }
        fn build(&self, _hyper: &Hyper, _device: &burn::prelude::Device) -> Box<dyn Variant> {
            Box::new(OnlyTranslates)
        }
    }

    #[test]
    fn sampling_a_variant_without_noise_names_the_command_that_fits() {
        let err = require_noise("3f2a000000000000", &TranslatorConfig, &OnlyTranslates)
            .err()
            .expect("a translator has no noise sampler");
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "run 3f2a000000000000 is a cyclegan run: it translates images; `gan-lab sample` draws from noise, so use `gan-lab translate` instead"
        );
        let class = require_classes("3f2a000000000000", "cyclegan", &OnlyTranslates)
            .err()
            .unwrap();
        assert!(class.to_string().contains("not class-conditional"));
    }
}
