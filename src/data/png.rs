//! 28x28 greyscale PNG images: reading one ([`read_png_28`]) or a folder of
//! them ([`read_png_folder`]), and writing one ([`write_png_gray`]).
//!
//! Colour images count by their first channel, alpha is ignored and 16-bit
//! samples keep their high byte. The size in a PNG header is checked before
//! any frame buffer is allocated, so a tiny file that claims to be huge fails
//! at once.

use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::{DataError, IMAGE_PIXELS, IMAGE_SIDE, Result};
use crate::util::fsutil::write_atomic;

/// What the decoder may allocate besides the frame (chunk buffers, one row):
/// far more than a 28x28 image needs.
const DECODER_LIMIT_BYTES: usize = 1 << 20;

/// Reads a 28x28 PNG file as 784 greyscale bytes, row after row.
pub fn read_png_28(path: &Path) -> Result<Vec<u8>> {
    let bad = |problem: String| DataError::Png {
        path: path.to_path_buf(),
        problem,
    };
    let file = File::open(path).map_err(DataError::io("open", path))?;
    let mut decoder = png::Decoder::new_with_limits(
        BufReader::new(file),
        png::Limits {
            bytes: DECODER_LIMIT_BYTES,
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let header = decoder.read_header_info().map_err(|e| bad(e.to_string()))?;
    let side = IMAGE_SIDE as u32;
    if (header.width, header.height) != (side, side) {
        return Err(bad(format!(
            "it is {}x{} pixels, not {IMAGE_SIDE}x{IMAGE_SIDE}",
            header.width, header.height
        )));
    }
    let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
    // At most 28 x 28 x 4 channels once 16-bit samples are stripped.
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| bad("its frame size overflows".to_string()))?;
    let mut buf = vec![0; size];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(e.to_string()))?;
    let channels = frame.color_type.samples();
    let pixels: Vec<u8> = buf[..frame.buffer_size()]
        .chunks_exact(channels)
        .map(|px| px[0])
        .collect();
    if pixels.len() != IMAGE_PIXELS {
        return Err(bad(format!(
            "its frame holds {} pixels, not {IMAGE_PIXELS}",
            pixels.len()
        )));
    }
    Ok(pixels)
}

/// Reads every `*.png` file in `dir` (sorted by name), each 28x28, as
/// `n * 784` greyscale bytes; a folder without PNG files is an error.
pub fn read_png_folder(dir: &Path) -> Result<Vec<u8>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(DataError::io("list", dir))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("png"))
        })
        .collect();
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    let mut pixels = Vec::new();
    for file in &files {
        pixels.extend(read_png_28(file)?);
    }
    Ok(pixels)
}

/// Writes `bytes` (`width * height` greyscale pixels, row after row) as an
/// 8-bit greyscale PNG file, through a temporary file and a rename.
pub fn write_png_gray(path: &Path, width: u32, height: u32, bytes: &[u8]) -> Result<()> {
    let cannot = |reason: String| DataError::CannotWrite {
        path: path.to_path_buf(),
        reason,
    };
    let expected = (width as usize).checked_mul(height as usize);
    if expected != Some(bytes.len()) {
        return Err(cannot(format!(
            "a {width}x{height} image needs {} bytes, but {} were given",
            expected.map_or("too many".to_string(), |n| n.to_string()),
            bytes.len()
        )));
    }
    let mut encoded = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut encoded, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(bytes))
            .map_err(|e| cannot(e.to_string()))?;
    }
    write_atomic(path, &encoded).map_err(DataError::io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tempfile::TempDir;

    fn image(seed: u8) -> Vec<u8> {
        (0..IMAGE_PIXELS)
            .map(|i| (i as u8).wrapping_mul(3).wrapping_add(seed))
            .collect()
    }

    /// Encodes `samples` (row after row) with the given colour type and depth.
    fn encode(
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        samples: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(depth);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(samples).unwrap();
        writer.finish().unwrap();
        out
    }

    /// A PNG signature and an IHDR chunk (with a correct CRC) claiming
    /// `width` x `height` 8-bit greyscale, followed by `rest`.
    fn png_header(width: u32, height: u32, rest: &[u8]) -> Vec<u8> {
        let mut chunk = b"IHDR".to_vec();
        chunk.extend_from_slice(&width.to_be_bytes());
        chunk.extend_from_slice(&height.to_be_bytes());
        chunk.extend_from_slice(&[8, 0, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        out.extend_from_slice(&13u32.to_be_bytes());
        out.extend_from_slice(&chunk);
        out.extend_from_slice(&crc32(&chunk).to_be_bytes());
        out.extend_from_slice(rest);
        out
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn read_bytes(dir: &TempDir, bytes: &[u8]) -> Result<Vec<u8>> {
        let path = dir.path().join("image.png");
        fs::write(&path, bytes).unwrap();
        read_png_28(&path)
    }

    #[test]
    fn write_then_read_round_trip() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("a.png");
        let pixels = image(5);
        write_png_gray(&path, 28, 28, &pixels).unwrap();
        assert_eq!(read_png_28(&path).unwrap(), pixels);
        assert!(matches!(
            write_png_gray(&path, 28, 27, &pixels),
            Err(DataError::CannotWrite { .. })
        ));
    }

    #[test]
    fn colour_alpha_and_16_bit_take_the_first_channel() {
        let dir = TempDir::new().unwrap();
        let grey = image(9);
        let rgba: Vec<u8> = grey.iter().flat_map(|&g| [g, 1, 2, 3]).collect();
        let png = encode(28, 28, png::ColorType::Rgba, png::BitDepth::Eight, &rgba);
        assert_eq!(read_bytes(&dir, &png).unwrap(), grey);
        let rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, 200, 100]).collect();
        let png = encode(28, 28, png::ColorType::Rgb, png::BitDepth::Eight, &rgb);
        assert_eq!(read_bytes(&dir, &png).unwrap(), grey);
        let grey_alpha: Vec<u8> = grey.iter().flat_map(|&g| [g, 0]).collect();
        let png = encode(
            28,
            28,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &grey_alpha,
        );
        assert_eq!(read_bytes(&dir, &png).unwrap(), grey);
        let sixteen: Vec<u8> = grey.iter().flat_map(|&g| [g, 0x7f]).collect();
        let png = encode(
            28,
            28,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &sixteen,
        );
        assert_eq!(read_bytes(&dir, &png).unwrap(), grey);
    }

    #[test]
    fn huge_claimed_size_fails_fast_naming_28x28() {
        let dir = TempDir::new().unwrap();
        let error = read_bytes(&dir, &png_header(100_000, 100_000, &[])).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, DataError::Png { .. }), "{error:?}");
        assert!(message.contains("100000x100000"), "{message}");
        assert!(message.contains("28x28"), "{message}");
        assert!(message.contains("image.png"), "{message}");
        assert!(error.is_user_error());

        let png = encode(
            29,
            28,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0; 29 * 28],
        );
        let message = read_bytes(&dir, &png).unwrap_err().to_string();
        assert!(message.contains("29x28"), "{message}");
    }

    #[test]
    fn not_a_png_and_cut_short() {
        let dir = TempDir::new().unwrap();
        let error = read_bytes(&dir, b"hello").unwrap_err();
        assert!(matches!(error, DataError::Png { .. }), "{error:?}");
        let png = encode(
            28,
            28,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &image(1),
        );
        let error = read_bytes(&dir, &png[..png.len() - 30]).unwrap_err();
        assert!(matches!(error, DataError::Png { .. }), "{error:?}");
        let missing = read_png_28(&dir.path().join("absent.png")).unwrap_err();
        assert!(missing.is_user_error());
        assert!(missing.to_string().contains("absent.png"), "{missing}");
    }

    #[test]
    fn folder_is_read_sorted_and_only_png() {
        let dir = TempDir::new().unwrap();
        assert!(matches!(
            read_png_folder(dir.path()),
            Err(DataError::NoImages { .. })
        ));
        write_png_gray(&dir.path().join("b.png"), 28, 28, &image(2)).unwrap();
        write_png_gray(&dir.path().join("a.PNG"), 28, 28, &image(1)).unwrap();
        fs::write(dir.path().join("notes.txt"), "not an image").unwrap();
        let pixels = read_png_folder(dir.path()).unwrap();
        assert_eq!(pixels, [image(1), image(2)].concat());

        write_png_gray(&dir.path().join("c.png"), 2, 2, &[0; 4]).unwrap();
        let message = read_png_folder(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("c.png") && message.contains("2x2"),
            "{message}"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let dir = TempDir::new().unwrap();
            if let Ok(pixels) = read_bytes(&dir, &bytes) {
                prop_assert_eq!(pixels.len(), IMAGE_PIXELS);
            }
        }

        #[test]
        fn arbitrary_header_sizes_are_checked(
            width in any::<u32>(),
            height in any::<u32>(),
            rest in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let dir = TempDir::new().unwrap();
            let result = read_bytes(&dir, &png_header(width, height, &rest));
            if (width, height) != (28, 28) {
                prop_assert!(matches!(result, Err(DataError::Png { .. })), "{:?}", result);
            }
        }

        #[test]
        fn any_28x28_image_round_trips(pixels in proptest::collection::vec(any::<u8>(), IMAGE_PIXELS)) {
            let dir = TempDir::new().unwrap();
            let path = dir.path().join("x.png");
            write_png_gray(&path, 28, 28, &pixels).unwrap();
            prop_assert_eq!(read_png_28(&path).unwrap(), pixels);
        }
    }
}
