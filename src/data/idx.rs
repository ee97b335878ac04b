//! IDX files (the Fashion-MNIST format): reading, raw or gzip-compressed, and
//! writing, uncompressed.
//!
//! Reading trusts no size in a header: the sizes it promises must fit the
//! limits ([`MAX_IDX_ITEMS`], [`MAX_IDX_BYTES`]) and, for a raw file, match the
//! file's length before any memory is set aside for the data; a gzip stream is
//! decompressed no further than one byte past what the header promises.
//!
//! Hand-written on purpose: the format itself is a 4-byte magic, big-endian
//! sizes and raw bytes, a few lines to parse; what this module is for is the
//! distrust above (limits checked before allocating, gzip read as a bounded
//! stream, errors that name the file), which a generic reader crate would
//! have to be wrapped in anyway.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use flate2::bufread::GzDecoder;

use super::{DataError, Result};
use crate::util::fsutil::AtomicFile;

/// Most items (images or labels) an IDX file may hold; Fashion-MNIST has 70,000.
pub const MAX_IDX_ITEMS: u64 = 10_000_000;

/// Most data bytes an IDX file may hold (8 GiB).
pub const MAX_IDX_BYTES: u64 = 8 << 30;

pub(super) const IMAGES_MAGIC: u32 = 0x0000_0803;
pub(super) const LABELS_MAGIC: u32 = 0x0000_0801;
const UNSIGNED_BYTE: u8 = 0x08;
const MAX_SIDE: u32 = 4096;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Initial buffer for decompressed data; it grows with what is really there.
const GZIP_INITIAL_CAPACITY: u64 = 1 << 20;

/// What is wrong with an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatProblem {
    /// The file ends before its header does.
    ShortHeader { present: u64, needed: u64 },
    /// The magic number is not the expected one.
    BadMagic { found: u32, expected: u32 },
    /// The data type byte is not 0x08 (unsigned byte).
    WrongDataType { found: u8 },
    /// The header says the file holds no items.
    NoItems,
    /// The header claims more than [`MAX_IDX_ITEMS`] items.
    TooManyItems { count: u64 },
    /// An image side is 0 or larger than 4096.
    BadSide { side: &'static str, value: u32 },
    /// The header promises more than [`MAX_IDX_BYTES`] bytes of data.
    TooLarge { bytes: u64 },
    /// The file is shorter than its header says (sizes after decompression).
    Truncated { expected: u64, present: u64 },
    /// The raw file is longer than its header says.
    TrailingBytes { expected: u64, present: u64 },
    /// The gzip stream decompresses to more than its header says.
    TrailingData { expected: u64 },
    /// The gzip stream is corrupt or cut short.
    CorruptGzip { reason: String },
}

impl fmt::Display for FormatProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatProblem::ShortHeader { present, needed } => write!(
                f,
                "it holds only {present} bytes, too few for the {needed}-byte IDX header"
            ),
            FormatProblem::BadMagic { found, expected } => write!(
                f,
                "its magic number is 0x{found:08x}{}, expected 0x{expected:08x}{}",
                magic_meaning(*found),
                magic_meaning(*expected)
            ),
            FormatProblem::WrongDataType { found } => write!(
                f,
                "its data type byte is 0x{found:02x}, expected 0x{UNSIGNED_BYTE:02x} (unsigned byte)"
            ),
            FormatProblem::NoItems => f.write_str("its header says it holds 0 items"),
            FormatProblem::TooManyItems { count } => write!(
                f,
                "its header claims {count} items; gan-lab reads at most {MAX_IDX_ITEMS}"
            ),
            FormatProblem::BadSide { side, value } => write!(
                f,
                "its header gives {value} {side}, expected 1 to {MAX_SIDE}"
            ),
            FormatProblem::TooLarge { bytes } => write!(
                f,
                "its header promises {bytes} bytes of data; gan-lab reads at most {MAX_IDX_BYTES} \
                 (8 GiB)"
            ),
            FormatProblem::Truncated { expected, present } => write!(
                f,
                "it is cut short (incomplete download?): its header promises {expected} bytes \
                 but only {present} are present"
            ),
            FormatProblem::TrailingBytes { expected, present } => write!(
                f,
                "it has {} unexpected bytes at the end: its header promises {expected} bytes \
                 but {present} are present",
                present - expected
            ),
            FormatProblem::TrailingData { expected } => write!(
                f,
                "it decompresses to more than the {expected} bytes its header promises"
            ),
            FormatProblem::CorruptGzip { reason } => {
                write!(f, "its gzip compression is corrupt or cut short ({reason})")
            }
        }
    }
}

fn magic_meaning(magic: u32) -> &'static str {
    match magic {
        IMAGES_MAGIC => " (IDX images)",
        LABELS_MAGIC => " (IDX labels)",
        _ => "",
    }
}

/// A stack of greyscale images, row-major, one byte per pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes: image after image, row after row.
    pub pixels: Vec<u8>,
}

impl fmt::Debug for Images {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Images")
            .field("count", &self.count)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("pixels", &format_args!("<{} bytes>", self.pixels.len()))
            .finish()
    }
}

/// Reads an IDX3 unsigned-byte image file, raw or gzip-compressed.
pub fn read_images(path: &Path) -> Result<Images> {
    let (dims, pixels) = read_idx(path, IMAGES_MAGIC, 3)?;
    Ok(Images {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Reads an IDX1 unsigned-byte label file, raw or gzip-compressed.
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    read_idx(path, LABELS_MAGIC, 1).map(|(_, labels)| labels)
}

/// Writes `images` as an uncompressed IDX3 file (through a temporary file).
pub fn write_images(path: &Path, images: &Images) -> Result<()> {
    let invalid = |reason: String| DataError::CannotWrite {
        path: path.to_path_buf(),
        reason,
    };
    let expected = images
        .count
        .checked_mul(images.rows)
        .and_then(|n| n.checked_mul(images.cols));
    if expected != Some(images.pixels.len()) {
        return Err(invalid(format!(
            "{} images of {}x{} pixels need {} bytes, but {} were given",
            images.count,
            images.rows,
            images.cols,
            expected.map_or("too many".to_string(), |n| n.to_string()),
            images.pixels.len()
        )));
    }
    let mut header = IMAGES_MAGIC.to_be_bytes().to_vec();
    for (what, value) in [
        ("image count", images.count),
        ("row count", images.rows),
        ("column count", images.cols),
    ] {
        let value = u32::try_from(value)
            .map_err(|_| invalid(format!("the {what} {value} does not fit in an IDX header")))?;
        header.extend_from_slice(&value.to_be_bytes());
    }
    write_file(path, &header, &images.pixels)
}

/// Writes `labels` as an uncompressed IDX1 file (through a temporary file).
pub fn write_labels(path: &Path, labels: &[u8]) -> Result<()> {
    let count = u32::try_from(labels.len()).map_err(|_| DataError::CannotWrite {
        path: path.to_path_buf(),
        reason: format!("{} labels do not fit in an IDX file", labels.len()),
    })?;
    let mut header = Vec::with_capacity(8);
    header.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    header.extend_from_slice(&count.to_be_bytes());
    write_file(path, &header, labels)
}

fn write_file(path: &Path, header: &[u8], data: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path).map_err(DataError::io("create", path))?;
    file.write_all(header)
        .and_then(|()| file.write_all(data))
        .and_then(|()| file.commit(false))
        .map_err(DataError::io("write", path))
}

/// Why parsing failed, before we know whether a read error means a corrupt
/// gzip stream or trouble with the file system.
enum ParseError {
    Io(io::Error),
    Format(FormatProblem),
}

impl From<io::Error> for ParseError {
    fn from(error: io::Error) -> Self {
        ParseError::Io(error)
    }
}

impl From<FormatProblem> for ParseError {
    fn from(problem: FormatProblem) -> Self {
        ParseError::Format(problem)
    }
}

/// Reads a whole IDX file of unsigned bytes with `ndims` dimensions and the
/// given magic number; returns its dimensions and data.
fn read_idx(path: &Path, magic: u32, ndims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let file = File::open(path).map_err(DataError::io("open", path))?;
    let metadata = file.metadata().map_err(DataError::io("read", path))?;
    // Only a regular file's length is known in advance (not a pipe's).
    let file_len = metadata.is_file().then_some(metadata.len());
    let reader = BufReader::with_capacity(1 << 16, file);
    decode_idx(reader, file_len, magic, ndims).map_err(|(error, gzip)| match error {
        ParseError::Format(problem) => DataError::Format {
            path: path.to_path_buf(),
            problem,
        },
        ParseError::Io(source) if gzip => DataError::Format {
            path: path.to_path_buf(),
            problem: FormatProblem::CorruptGzip {
                reason: source.to_string(),
            },
        },
        ParseError::Io(source) => DataError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Decodes IDX bytes from `reader`, raw or gzip; `len` is the length of the
/// raw stream when known. The error comes with whether the stream was gzip.
fn decode_idx(
    mut reader: impl BufRead,
    len: Option<u64>,
    magic: u32,
    ndims: usize,
) -> Result<(Vec<usize>, Vec<u8>), (ParseError, bool)> {
    let gzip = match reader.fill_buf() {
        Ok(start) => start.starts_with(&GZIP_MAGIC),
        Err(error) => return Err((error.into(), false)),
    };
    if gzip {
        parse_idx(GzDecoder::new(reader), None, magic, ndims).map_err(|e| (e, true))
    } else {
        parse_idx(reader, len, magic, ndims).map_err(|e| (e, false))
    }
}

/// Parses an uncompressed IDX stream; `len` is its length when known.
fn parse_idx(
    mut reader: impl Read,
    len: Option<u64>,
    magic: u32,
    ndims: usize,
) -> Result<(Vec<usize>, Vec<u8>), ParseError> {
    let header_len = 4 * (1 + ndims) as u64;
    let mut header = Vec::with_capacity(header_len as usize);
    reader.by_ref().take(header_len).read_to_end(&mut header)?;
    // A wrong magic number says more than a short header: check it first.
    if let Some(&bytes) = header.first_chunk::<4>() {
        let found = u32::from_be_bytes(bytes);
        if found >> 16 == 0 && bytes[2] != UNSIGNED_BYTE {
            return Err(FormatProblem::WrongDataType { found: bytes[2] }.into());
        }
        if found != magic {
            return Err(FormatProblem::BadMagic {
                found,
                expected: magic,
            }
            .into());
        }
    }
    if (header.len() as u64) < header_len {
        return Err(FormatProblem::ShortHeader {
            present: header.len() as u64,
            needed: header_len,
        }
        .into());
    }
    let words: Vec<u32> = header
        .chunks_exact(4)
        .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
        .collect();
    let count = u64::from(words[1]);
    if count == 0 {
        return Err(FormatProblem::NoItems.into());
    }
    if count > MAX_IDX_ITEMS {
        return Err(FormatProblem::TooManyItems { count }.into());
    }
    for (side, &value) in ["rows", "columns"].into_iter().zip(&words[2..]) {
        if value == 0 || value > MAX_SIDE {
            return Err(FormatProblem::BadSide { side, value }.into());
        }
    }
    // At most 2^32 * 4096 * 4096 = 2^56: no overflow in u64.
    let data_len: u64 = words[1..].iter().map(|&w| u64::from(w)).product();
    if data_len > MAX_IDX_BYTES {
        return Err(FormatProblem::TooLarge { bytes: data_len }.into());
    }
    let expected = header_len + data_len;
    match len {
        Some(present) if present < expected => {
            return Err(FormatProblem::Truncated { expected, present }.into());
        }
        Some(present) if present > expected => {
            return Err(FormatProblem::TrailingBytes { expected, present }.into());
        }
        _ => {}
    }

    // The full size is set aside only when the file is known to hold it.
    let capacity = if len.is_some() {
        data_len
    } else {
        data_len.min(GZIP_INITIAL_CAPACITY)
    };
    let mut data = Vec::new();
    data.try_reserve_exact(capacity as usize)
        .map_err(|_| FormatProblem::TooLarge { bytes: data_len })?;
    // One byte more than promised tells a longer stream from an exact one.
    reader.take(data_len + 1).read_to_end(&mut data)?;
    let present = data.len() as u64;
    if present < data_len {
        return Err(FormatProblem::Truncated {
            expected,
            present: header_len + present,
        }
        .into());
    }
    if present > data_len {
        return Err(FormatProblem::TrailingData { expected }.into());
    }
    let dims = words[1..].iter().map(|&w| w as usize).collect();
    Ok((dims, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{gzip, raw_images_bytes, raw_labels_bytes, sample_images};
    use proptest::prelude::*;
    use std::fs;
    use tempfile::TempDir;

    /// Writes `bytes` to a file in `dir` and reads it back as images.
    fn images_from(dir: &TempDir, bytes: &[u8]) -> Result<Images> {
        let path = dir.path().join("images");
        fs::write(&path, bytes).unwrap();
        read_images(&path)
    }

    fn format_problem(result: Result<impl fmt::Debug>) -> FormatProblem {
        match result {
            Err(DataError::Format { problem, .. }) => problem,
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_raw_and_gzip() {
        let dir = TempDir::new().unwrap();
        let images = sample_images(3, 28, 28);
        let labels = vec![0, 5, 9];
        let images_path = dir.path().join("images");
        let labels_path = dir.path().join("labels");
        write_images(&images_path, &images).unwrap();
        write_labels(&labels_path, &labels).unwrap();
        assert_eq!(read_images(&images_path).unwrap(), images);
        assert_eq!(read_labels(&labels_path).unwrap(), labels);
        assert_eq!(fs::metadata(&images_path).unwrap().len(), 16 + 3 * 28 * 28);

        // Gzip is detected by content, not by name.
        let gz_images = dir.path().join("images-no-suffix");
        let gz_labels = dir.path().join("labels.gz");
        fs::write(&gz_images, gzip(&fs::read(&images_path).unwrap())).unwrap();
        fs::write(&gz_labels, gzip(&fs::read(&labels_path).unwrap())).unwrap();
        assert_eq!(read_images(&gz_images).unwrap(), images);
        assert_eq!(read_labels(&gz_labels).unwrap(), labels);
    }

    #[test]
    fn write_rejects_inconsistent_images() {
        let dir = TempDir::new().unwrap();
        let mut images = sample_images(2, 3, 3);
        images.pixels.pop();
        let error = write_images(&dir.path().join("x"), &images).unwrap_err();
        assert!(matches!(error, DataError::CannotWrite { .. }), "{error}");
    }

    #[test]
    fn bad_magic_says_found_and_expected() {
        let dir = TempDir::new().unwrap();
        let labels = raw_labels_bytes(&[1, 2, 3]);
        let path = dir.path().join("labels");
        fs::write(&path, &labels).unwrap();
        let error = read_images(&path).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("0x00000801") && message.contains("0x00000803"),
            "{message}"
        );
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("GAN_LAB_DATA"), "{message}");
        assert!(error.is_user_error());

        let mut bytes = raw_images_bytes(&sample_images(1, 2, 2));
        bytes[0] = 0x12;
        assert_eq!(
            format_problem(images_from(&dir, &bytes)),
            FormatProblem::BadMagic {
                found: 0x1200_0803,
                expected: IMAGES_MAGIC
            }
        );
    }

    #[test]
    fn wrong_data_type() {
        let dir = TempDir::new().unwrap();
        let mut bytes = raw_images_bytes(&sample_images(1, 2, 2));
        bytes[2] = 0x0d; // float
        let problem = format_problem(images_from(&dir, &bytes));
        assert_eq!(problem, FormatProblem::WrongDataType { found: 0x0d });
        assert!(problem.to_string().contains("0x08"), "{problem}");
    }

    #[test]
    fn zero_count_and_bad_sides() {
        let dir = TempDir::new().unwrap();
        let mut header = Vec::new();
        for word in [IMAGES_MAGIC, 0, 28, 28] {
            header.extend_from_slice(&word.to_be_bytes());
        }
        assert_eq!(
            format_problem(images_from(&dir, &header)),
            FormatProblem::NoItems
        );

        let labels = dir.path().join("labels");
        write_labels(&labels, &[]).unwrap();
        assert_eq!(format_problem(read_labels(&labels)), FormatProblem::NoItems);

        header[4..8].copy_from_slice(&1u32.to_be_bytes());
        header[12..16].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            format_problem(images_from(&dir, &header)),
            FormatProblem::BadSide { value: 0, .. }
        ));
        header[12..16].copy_from_slice(&5000u32.to_be_bytes());
        assert!(matches!(
            format_problem(images_from(&dir, &header)),
            FormatProblem::BadSide { value: 5000, .. }
        ));
    }

    /// Writes an IDX3 header with these words and no data.
    fn header(words: [u32; 4]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn huge_headers_are_refused_before_allocating() {
        let dir = TempDir::new().unwrap();
        let problem = format_problem(images_from(&dir, &header([IMAGES_MAGIC, u32::MAX, 1, 1])));
        assert_eq!(
            problem,
            FormatProblem::TooManyItems {
                count: u64::from(u32::MAX)
            }
        );
        assert!(problem.to_string().contains("10000000"), "{problem}");
        let problem = format_problem(images_from(
            &dir,
            &header([IMAGES_MAGIC, 1_000_000, 4096, 4096]),
        ));
        assert!(
            matches!(problem, FormatProblem::TooLarge { .. }),
            "{problem:?}"
        );
        assert!(problem.to_string().contains("8 GiB"), "{problem}");
        // Within the limits but far longer than the file: refused by its length.
        let problem = format_problem(images_from(&dir, &header([IMAGES_MAGIC, 60_000, 100, 100])));
        assert_eq!(
            problem,
            FormatProblem::Truncated {
                expected: 16 + 600_000_000,
                present: 16
            }
        );
        // The same inside a gzip stream: decompression finds the data missing.
        let problem = format_problem(images_from(
            &dir,
            &gzip(&header([IMAGES_MAGIC, 60_000, 100, 100])),
        ));
        assert!(
            matches!(problem, FormatProblem::Truncated { present: 16, .. }),
            "{problem:?}"
        );
    }

    #[test]
    fn truncated_raw_file() {
        let dir = TempDir::new().unwrap();
        let bytes = raw_images_bytes(&sample_images(2, 3, 3));
        let error = images_from(&dir, &bytes[..bytes.len() - 5]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("34") && message.contains("29"),
            "{message}"
        );
        assert!(matches!(
            error,
            DataError::Format {
                problem: FormatProblem::Truncated {
                    expected: 34,
                    present: 29
                },
                ..
            }
        ));

        assert_eq!(
            format_problem(images_from(&dir, &bytes[..10])),
            FormatProblem::ShortHeader {
                present: 10,
                needed: 16
            }
        );
        assert_eq!(
            format_problem(images_from(&dir, &[])),
            FormatProblem::ShortHeader {
                present: 0,
                needed: 16
            }
        );
    }

    #[test]
    fn truncated_gzip_file() {
        let dir = TempDir::new().unwrap();
        let bytes = raw_images_bytes(&sample_images(20, 28, 28));

        // Complete gzip stream of truncated content.
        let short_content = gzip(&bytes[..bytes.len() - 100]);
        assert_eq!(
            format_problem(images_from(&dir, &short_content)),
            FormatProblem::Truncated {
                expected: bytes.len() as u64,
                present: bytes.len() as u64 - 100
            }
        );

        // Gzip stream cut short, as by an interrupted download.
        let compressed = gzip(&bytes);
        let problem = format_problem(images_from(&dir, &compressed[..compressed.len() / 2]));
        assert!(
            matches!(problem, FormatProblem::CorruptGzip { .. }),
            "{problem:?}"
        );
    }

    #[test]
    fn corrupt_gzip() {
        let dir = TempDir::new().unwrap();
        let mut compressed = gzip(&raw_images_bytes(&sample_images(5, 28, 28)));
        let middle = compressed.len() / 2;
        for byte in &mut compressed[10..middle] {
            *byte ^= 0x5a;
        }
        let error = images_from(&dir, &compressed).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::Format {
                    problem: FormatProblem::CorruptGzip { .. },
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("gzip"), "{error}");
    }

    #[test]
    fn trailing_bytes() {
        let dir = TempDir::new().unwrap();
        let mut bytes = raw_images_bytes(&sample_images(2, 3, 3));
        bytes.extend_from_slice(b"junk");
        let problem = format_problem(images_from(&dir, &bytes));
        assert_eq!(
            problem,
            FormatProblem::TrailingBytes {
                expected: 34,
                present: 38
            }
        );
        assert!(
            problem.to_string().contains("4 unexpected bytes"),
            "{problem}"
        );
        // Inside a gzip stream, decompression stops one byte past the promise.
        let problem = format_problem(images_from(&dir, &gzip(&bytes)));
        assert_eq!(problem, FormatProblem::TrailingData { expected: 34 });
        assert!(
            problem.to_string().contains("more than the 34 bytes"),
            "{problem}"
        );
    }

    #[test]
    fn missing_file_is_a_user_error() {
        let dir = TempDir::new().unwrap();
        let error = read_labels(&dir.path().join("nope")).unwrap_err();
        assert!(error.is_user_error());
        assert!(error.to_string().contains("nope"), "{error}");
    }

    /// Parses `bytes` as an images file held in memory (raw or gzip).
    fn decode_images(bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>), ParseError> {
        decode_idx(bytes, Some(bytes.len() as u64), IMAGES_MAGIC, 3).map_err(|(e, _)| e)
    }

    /// A valid-looking header with arbitrary sizes, and arbitrary data after it.
    fn arbitrary_images_file() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u32>(),
            prop_oneof![any::<u32>(), 0u32..64],
            prop_oneof![any::<u32>(), 0u32..64],
            proptest::collection::vec(any::<u8>(), 0..1024),
        )
            .prop_map(|(count, rows, cols, data)| {
                let count = if count % 2 == 0 { count % 8 } else { count };
                let mut bytes = header([IMAGES_MAGIC, count, rows, cols]);
                bytes.extend(data);
                bytes
            })
    }

    fn check_decoded(
        result: Result<(Vec<usize>, Vec<u8>), ParseError>,
    ) -> Result<(), TestCaseError> {
        if let Ok((dims, data)) = result {
            prop_assert_eq!(dims.iter().product::<usize>(), data.len());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            check_decoded(decode_images(&bytes))?;
            check_decoded(decode_images(&gzip(&bytes)))?;
            let labels = decode_idx(&bytes[..], Some(bytes.len() as u64), LABELS_MAGIC, 1);
            check_decoded(labels.map_err(|(e, _)| e))?;
        }

        #[test]
        fn arbitrary_header_sizes_never_panic(bytes in arbitrary_images_file()) {
            check_decoded(decode_images(&bytes))?;
            check_decoded(decode_images(&gzip(&bytes)))?;
            // A stream of unknown length (a pipe) is bounded the same way.
            check_decoded(parse_idx(&bytes[..], None, IMAGES_MAGIC, 3))?;
        }

        #[test]
        fn write_then_read_round_trip(
            (count, rows, cols, pixels) in (1usize..6, 1usize..30, 1usize..30).prop_flat_map(
                |(count, rows, cols)| (
                    Just(count),
                    Just(rows),
                    Just(cols),
                    proptest::collection::vec(any::<u8>(), count * rows * cols),
                )
            ),
            labels in proptest::collection::vec(any::<u8>(), 1..64),
        ) {
            let dir = TempDir::new().unwrap();
            let images = Images { count, rows, cols, pixels };
            let path = dir.path().join("images");
            write_images(&path, &images).unwrap();
            prop_assert_eq!(read_images(&path).unwrap(), images);
            let path = dir.path().join("labels");
            write_labels(&path, &labels).unwrap();
            prop_assert_eq!(read_labels(&path).unwrap(), labels);
        }
    }
}
