//! Sample grids as greyscale PNG files.

use std::path::Path;

use gan_lab_variants::SampleGrid;

use crate::data::{IMAGE_SIDE as SIDE, unit_to_byte as to_byte};

const GAP: usize = 2;

/// 3x5 pixel digits, one row of bits per line (most significant bit left).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];
/// Width of the margin that holds row numbers in labelled grids.
const MARGIN: usize = 10;

/// Lays the grid out with a 2-pixel dark gap between images and encodes it.
/// A grid with row labels (one row per class) gets each row's number, drawn
/// in a left margin (the labels themselves go into the report).
pub fn encode_png(grid: &SampleGrid) -> Result<Vec<u8>, png::EncodingError> {
    encode_png_scaled(grid, 1)
}

/// [`encode_png`] with every pixel drawn as a `scale` x `scale` block
/// (nearest neighbour: crisp pixels).
pub fn encode_png_scaled(grid: &SampleGrid, scale: usize) -> Result<Vec<u8>, png::EncodingError> {
    let margin = if grid.row_labels.is_empty() {
        0
    } else {
        MARGIN
    };
    let width = margin + grid.cols * (SIDE + GAP) + GAP;
    let height = grid.rows * (SIDE + GAP) + GAP;
    let mut canvas = vec![0u8; width * height];
    for row in 0..grid.row_labels.len().min(grid.rows) {
        // Two-digit rows are not needed: labelled grids have at most 10 rows.
        let glyph = DIGITS[row % 10];
        let top = row * (SIDE + GAP) + GAP + SIDE / 2 - 5;
        for (y, bits) in glyph.iter().enumerate() {
            for x in 0..3 {
                if bits & (4 >> x) != 0 {
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        canvas[(top + 2 * y + dy) * width + 2 + 2 * x + dx] = 255;
                    }
                }
            }
        }
    }
    let count = grid.pixels.len() / (SIDE * SIDE);
    for index in 0..count.min(grid.rows * grid.cols) {
        let (row, col) = (index / grid.cols, index % grid.cols);
        let image = &grid.pixels[index * SIDE * SIDE..(index + 1) * SIDE * SIDE];
        for y in 0..SIDE {
            let top = (row * (SIDE + GAP) + GAP + y) * width + margin + col * (SIDE + GAP) + GAP;
            for x in 0..SIDE {
                canvas[top + x] = to_byte(image[y * SIDE + x]);
            }
        }
    }
    let scale = scale.max(1);
    if scale > 1 {
        canvas = canvas
            .chunks(width)
            .flat_map(|row| {
                let wide: Vec<u8> = row
                    .iter()
                    .flat_map(|&p| std::iter::repeat_n(p, scale))
                    .collect();
                std::iter::repeat_n(wide, scale).flatten()
            })
            .collect();
    }
    let (width, height) = (width * scale, height * scale);
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&canvas)?;
    }
    Ok(out)
}

/// Writes the grid as a PNG file (through a temporary file, then a rename).
pub fn write_png(path: &Path, grid: &SampleGrid) -> std::io::Result<()> {
    write_png_scaled(path, grid, 1)
}

/// [`write_png`] scaled up `scale` times (see [`encode_png_scaled`]).
pub fn write_png_scaled(path: &Path, grid: &SampleGrid, scale: usize) -> std::io::Result<()> {
    let bytes = encode_png_scaled(grid, scale).map_err(std::io::Error::other)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::util::fsutil::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_png_has_the_expected_size_and_pixels() {
        let grid = SampleGrid {
            rows: 2,
            cols: 3,
            pixels: vec![1.0; 6 * 784],
            row_labels: vec![],
        };
        let bytes = encode_png(&grid).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3 * 30 + 2, 2 * 30 + 2));
        let big = encode_png_scaled(&grid, 4).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(big))
            .read_info()
            .unwrap();
        let mut scaled = vec![0; reader.output_buffer_size().unwrap()];
        let info4 = reader.next_frame(&mut scaled).unwrap();
        assert_eq!(
            (info4.width, info4.height),
            (4 * info.width, 4 * info.height)
        );
        // Nearest neighbour: each pixel a 4x4 block of the same value.
        let (w, w4) = (info.width as usize, info4.width as usize);
        for (y, x) in [(0, 0), (2, 2), (5, 40), (61, 91)] {
            for (dy, dx) in [(0, 0), (3, 3), (1, 2)] {
                assert_eq!(scaled[(4 * y + dy) * w4 + 4 * x + dx], buf[y * w + x]);
            }
        }
        assert_eq!(buf[0], 0); // gap
        assert_eq!(buf[2 * info.width as usize + 2], 255); // first image pixel
        assert_eq!(to_byte(-1.0), 0);
        let labelled = SampleGrid {
            row_labels: vec!["a".into(), "b".into()],
            ..grid
        };
        let bytes = encode_png(&labelled).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width, 3 * 30 + 2 + 10);
        // Row 0 carries a drawn "0" in the margin.
        assert!(
            buf[..info.height as usize * info.width as usize]
                .chunks(info.width as usize)
                .take(30)
                .any(|line| line[..8].contains(&255))
        );
        assert_eq!(to_byte(0.0), 128);
    }
}
