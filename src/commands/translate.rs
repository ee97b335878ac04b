//! `gan-lab translate`: a translating run's generator applied to the user's
//! images (an IDX3 file, one 28x28 PNG or a folder of them), written as an
//! IDX3 file or, for a `.png` path, as input rows above output rows.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use gan_lab_variants::{Direction, IMAGE_PIXELS, SampleGrid, Translator, Variant, VariantConfig};

use crate::commands::error::{AppError, Result};
use crate::commands::restore::restore;
use crate::commands::sample::write_images;
use crate::context::Context;
use crate::data;
use crate::store::layout::Checkpoint;

/// Images per row of a PNG output.
const PNG_COLS: usize = 16;
/// Images a PNG output may hold (more go to an IDX3 file).
pub const MAX_PNG_IMAGES: usize = 1024;

/// `gan-lab translate`'s flags.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  gan-lab translate 3f9c --direction a2b --input sneaker.png --out boot.png\n  \
    gan-lab translate 3f9c --direction b2a --input boots/ --out sneakers.png   (a folder of 28x28 PNGs)\n  \
    gan-lab translate 3f9c --direction a2b --input t10k-images-idx3-ubyte --out boots.idx\n\n\
    A .png output shows each row of inputs above its translations; any other name is an IDX3 file."
)]
pub struct TranslateArgs {
    /// Run id, unique id prefix, or unique run name
    pub run: String,
    /// a2b (domain A to domain B) or b2a
    #[arg(long, value_enum)]
    pub direction: DirectionArg,
    /// Images to translate: an IDX3 file, one 28x28 greyscale PNG or a folder of them
    #[arg(long, value_name = "FILE|DIR")]
    pub input: PathBuf,
    /// Output file: .png for inputs above translations, anything else for IDX3
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint to use: last, best (by translation FID) or a step kept by `checkpoint.keep_every`
    #[arg(long, default_value = "last")]
    pub checkpoint: Checkpoint,
}

/// `--direction`: the names of the variants crate's [`Direction`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    #[value(name = "a2b")]
    AToB,
    #[value(name = "b2a")]
    BToA,
}

impl From<DirectionArg> for Direction {
    fn from(arg: DirectionArg) -> Self {
        match arg {
            DirectionArg::AToB => Direction::AToB,
            DirectionArg::BToA => Direction::BToA,
        }
    }
}

/// `gan-lab translate`: writes the translations and says what was written.
pub fn execute(ctx: &Context, args: &TranslateArgs) -> Result<ExitCode> {
    let written = translate(
        ctx,
        &args.run,
        args.checkpoint,
        args.direction.into(),
        &args.input,
        &args.out,
    )?;
    println!("{written}");
    Ok(ExitCode::SUCCESS)
}

/// The variant's translator, or an error that says what the run is for
/// and which command fits.
pub fn require_translator<'a>(
    run_id: &str,
    config: &dyn VariantConfig,
    variant: &'a dyn Variant,
) -> Result<&'a dyn Translator> {
    variant.translator().ok_or_else(|| {
        super::wrong_run(
            run_id,
            config,
            "`gan-lab translate` needs a run that translates between two domains",
        )
    })
}

/// Input images in `[-1, 1]`: an IDX3 file, a 28x28 PNG or a folder of them.
pub fn read_input(path: &Path) -> Result<Vec<f32>> {
    let is_png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let bytes = if path.is_dir() {
        data::read_png_folder(path)?
    } else if is_png {
        data::read_png_28(path)?
    } else {
        let images = data::read_images(path)?;
        if (images.rows, images.cols) != (28, 28) {
            return Err(AppError::Usage(format!(
                "{} holds {}x{} images; translate takes 28x28 greyscale images (resize them first)",
                path.display(),
                images.rows,
                images.cols
            )));
        }
        images.pixels
    };
    if bytes.is_empty() {
        return Err(AppError::Usage(format!(
            "{} holds no images; give an IDX3 file, a 28x28 PNG or a folder of them",
            path.display()
        )));
    }
    Ok(data::to_unit_range(&bytes))
}

/// `gan-lab translate`: returns what was written.
pub fn translate(
    ctx: &Context,
    run_ref: &str,
    which: Checkpoint,
    direction: Direction,
    input: &Path,
    out: &Path,
) -> Result<String> {
    let pixels = read_input(input)?;
    let n = pixels.len() / IMAGE_PIXELS;
    let is_png = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if is_png && n > MAX_PNG_IMAGES {
        return Err(AppError::Usage(format!(
            "{n} images are too many for a PNG (at most {MAX_PNG_IMAGES}); write an IDX3 file instead, e.g. --out translated.idx"
        )));
    }
    let restored = restore(ctx, run_ref, which)?;
    let config = restored.spec.variant.config();
    let translator = require_translator(&restored.run.id, config, restored.variant.as_ref())?;
    let translated = translator.translate(&pixels, direction);
    let (a, b) = translator.domains();
    let names = |classes: &[u8]| {
        classes
            .iter()
            .map(|&c| data::CLASS_NAMES[c as usize])
            .collect::<Vec<_>>()
            .join("/")
    };
    let (from, to) = match direction {
        Direction::AToB => (names(&a), names(&b)),
        Direction::BToA => (names(&b), names(&a)),
    };
    let grid = if is_png {
        pair_rows(&pixels, &translated, &from, &to)
    } else {
        SampleGrid {
            rows: n,
            cols: 1,
            pixels: translated,
            row_labels: Vec::new(),
        }
    };
    let format = write_images(out, grid)?;
    Ok(format!(
        "translated {n} image(s) from {from} to {to} with run {} (checkpoint at step {}); wrote {} as {format}",
        restored.run.id,
        restored.step,
        out.display()
    ))
}

/// Rows of up to [`PNG_COLS`] inputs, each above its translations (a short
/// last row is padded with black).
fn pair_rows(input: &[f32], output: &[f32], from: &str, to: &str) -> SampleGrid {
    let n = input.len() / IMAGE_PIXELS;
    let cols = n.min(PNG_COLS);
    let width = cols * IMAGE_PIXELS;
    let mut pixels = Vec::new();
    let mut row_labels = Vec::new();
    for (i, o) in input.chunks(width).zip(output.chunks(width)) {
        for (row, label) in [(i, from), (o, to)] {
            pixels.extend_from_slice(row);
            pixels.resize(pixels.len() + width - row.len(), -1.0);
            row_labels.push(label.to_string());
        }
    }
    SampleGrid {
        rows: row_labels.len(),
        cols,
        pixels,
        row_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_parse_and_rows_pair_inputs_with_outputs() {
        let parse = |name| DirectionArg::from_str(name, false).map(Direction::from);
        assert_eq!(parse("b2a"), Ok(Direction::BToA));
        assert_eq!(parse("a2b"), Ok(Direction::AToB));
        assert!(parse("ab").is_err());
        let input = vec![0.5; 18 * IMAGE_PIXELS];
        let output = vec![-0.5; 18 * IMAGE_PIXELS];
        let grid = pair_rows(&input, &output, "Sneaker", "Ankle boot");
        assert_eq!((grid.rows, grid.cols), (4, 16));
        assert_eq!(grid.pixels.len(), 4 * 16 * IMAGE_PIXELS);
        assert_eq!(
            grid.row_labels,
            ["Sneaker", "Ankle boot", "Sneaker", "Ankle boot"]
        );
        // Row 1 is translations; row 2's third image is black padding.
        assert_eq!(grid.pixels[16 * IMAGE_PIXELS], -0.5);
        assert_eq!(grid.pixels[32 * IMAGE_PIXELS + 2 * IMAGE_PIXELS], -1.0);
    }
}
