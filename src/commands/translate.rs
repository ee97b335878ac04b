//! `gan-lab translate`: a translating run's generator applied to the user's
//! images (an IDX3 file, one 28x28 PNG or a folder of them), written as an
//! IDX3 file or, for a `.png` path, as input rows above output rows.

use std::path::Path;

use gan_lab_variants::{Direction, IMAGE_PIXELS, SampleGrid, Translator, Variant, VariantConfig};

use crate::commands::sample::write_images;
use crate::context::Context;
use crate::data;
use crate::error::{AppError, Result};
use crate::restore::restore;
use crate::store::layout::Checkpoint;

/// Images per row of a PNG output.
const PNG_COLS: usize = 16;
/// Images a PNG output may hold (more go to an IDX3 file).
pub const MAX_PNG_IMAGES: usize = 1024;

/// Parses `a2b` or `b2a`.
pub fn parse_direction(text: &str) -> std::result::Result<Direction, String> {
    match text {
        "a2b" => Ok(Direction::AToB),
        "b2a" => Ok(Direction::BToA),
        other => Err(format!(
            "unknown direction `{other}`; use a2b (domain A to B) or b2a (B to A)"
        )),
    }
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
        assert_eq!(parse_direction("b2a"), Ok(Direction::BToA));
        assert!(parse_direction("ab").unwrap_err().contains("a2b"));
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
