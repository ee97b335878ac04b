//! Fashion-MNIST loading for gan-lab.
//!
//! * Reading and writing IDX files ([`read_images`], [`read_labels`],
//!   [`write_images`], [`write_labels`]); gzip-compressed files are detected
//!   by their magic bytes, whatever their name.
//! * Loading a split from a folder holding the four standard files
//!   ([`load_split`]), with or without `.gz`.
//! * Finding that folder ([`locate`]): the `--data-dir` flag, else the
//!   `GAN_LAB_DATA` environment variable, else the user cache folder, where the
//!   official files are downloaded and MD5-checked when missing. Folders the
//!   user names are used as they are: never written to, never checksummed.
//! * A content hash of a data folder ([`data_hash`]) for keying caches.
//!
//! Nothing here prints; every error names the file or folder concerned, the
//! problem, and what to do about it.

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use flate2::bufread::GzDecoder;
use md5::{Digest, Md5};
use sha2::Sha256;

/// The result type of this module.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Environment variable naming a folder with the four Fashion-MNIST files.
pub const ENV_VAR: &str = "GAN_LAB_DATA";

/// Number of Fashion-MNIST classes; every label is below this.
pub const NUM_CLASSES: usize = 10;

/// Class names, indexed by label (shared with the variants' labelled grids).
pub const CLASS_NAMES: [&str; NUM_CLASSES] = gan_lab_variants::CLASS_NAMES;

/// The four file stems, in the fixed order used by [`data_hash`] and
/// [`Source::md5`]. On disk each may carry a `.gz` suffix.
pub const FILE_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Where to download the data from, and the MD5 checksums to expect.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Base URL ending in `/`; each file is fetched from `base_url + stem + ".gz"`.
    pub base_url: &'a str,
    /// Lower-case hex MD5 of each `.gz` file, in [`FILE_STEMS`] order.
    pub md5: [&'a str; 4],
}

/// The official Fashion-MNIST download, with the checksums published in its README.
pub const OFFICIAL_SOURCE: Source<'static> = Source {
    base_url: "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    md5: [
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ],
};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const UNSIGNED_BYTE: u8 = 0x08;
const MAX_SIDE: u32 = 4096;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const FIX_FILE: &str = "re-download it (a file in the gan-lab cache folder is downloaded again once \
     deleted) or point --data-dir / GAN_LAB_DATA at a folder with the four Fashion-MNIST files";

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Everything that can go wrong while finding, downloading or reading the data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or folder could not be opened, read, written or renamed.
    #[error("could not {action} {}: {source}{}", .path.display(), io_hint(.source))]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// A file exists but is not a valid IDX file of the expected kind.
    #[error("{} is not a usable Fashion-MNIST file: {problem}; {FIX_FILE}", .path.display())]
    Format {
        path: PathBuf,
        problem: FormatProblem,
    },

    /// A folder that should hold the data does not exist.
    #[error("the {origin} {} does not exist; {}", .dir.display(), origin.fix())]
    NoSuchDir { dir: PathBuf, origin: DirOrigin },

    /// A folder that should hold the data lacks some of the four files.
    #[error(
        "the {origin} {} lacks {} (each may also end in .gz); {}",
        .dir.display(), .missing.join(", "), origin.fix()
    )]
    MissingFiles {
        dir: PathBuf,
        origin: DirOrigin,
        missing: Vec<&'static str>,
    },

    /// The image and label files of a split disagree on the number of items.
    #[error(
        "{} holds {images} images but {} holds {labels} labels; the two files must come from \
         the same release; re-download them or point --data-dir / GAN_LAB_DATA at a folder \
         with the four Fashion-MNIST files",
        .images_path.display(), .labels_path.display()
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    /// A label is not a Fashion-MNIST class index.
    #[error(
        "{} is not a Fashion-MNIST label file: label #{index} is {value}, but Fashion-MNIST \
         has only {NUM_CLASSES} classes (0-9); {FIX_FILE}",
        .path.display()
    )]
    BadLabel {
        path: PathBuf,
        index: usize,
        value: u8,
    },

    /// A download failed (offline, server error, ...).
    #[error(
        "could not download {url}: {cause}\nWithout internet access, put the four Fashion-MNIST \
         files into {}:\n  {}\n(with or without .gz), or use a folder that has them with \
         --data-dir DIR or {ENV_VAR}=DIR",
        .dir.display(), gz_names().join(", ")
    )]
    DownloadFailed {
        url: String,
        dir: PathBuf,
        cause: Box<DataError>,
    },

    /// An HTTP request failed; raised by [`Fetch`] implementations.
    #[error("{reason}")]
    Http { url: String, reason: String },

    /// A downloaded file does not have the published checksum.
    #[error(
        "the download of {url} has MD5 {actual}, expected {expected}; it was discarded and \
         nothing was written to {}. Try again later, or put the four Fashion-MNIST files there \
         yourself, or use --data-dir DIR or {ENV_VAR}=DIR",
        .path.display()
    )]
    ChecksumMismatch {
        url: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// The system reports no per-user cache folder to download into.
    #[error(
        "no user cache folder is known on this system (is HOME set?), so the data cannot be \
         downloaded; use --data-dir DIR or {ENV_VAR}=DIR with a folder holding the four \
         Fashion-MNIST files: {}",
        gz_names().join(", ")
    )]
    NoCacheDir,

    /// An [`Images`] value is inconsistent and cannot be written.
    #[error("cannot write {}: {reason}", .path.display())]
    CannotWrite { path: PathBuf, reason: String },
}

impl DataError {
    /// True when the user can fix this by pointing at (or providing) the
    /// right files; false for trouble with the system, the network or the
    /// program itself.
    pub fn is_user_error(&self) -> bool {
        match self {
            DataError::Io { source, .. } => source.kind() == io::ErrorKind::NotFound,
            DataError::Format { .. }
            | DataError::NoSuchDir { .. }
            | DataError::MissingFiles { .. }
            | DataError::CountMismatch { .. }
            | DataError::BadLabel { .. } => true,
            DataError::DownloadFailed { .. }
            | DataError::Http { .. }
            | DataError::ChecksumMismatch { .. }
            | DataError::NoCacheDir
            | DataError::CannotWrite { .. } => false,
        }
    }

    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DataError {
        let path = path.to_path_buf();
        move |source| DataError::Io {
            action,
            path,
            source,
        }
    }
}

fn io_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::NotFound => "; check the path",
        io::ErrorKind::PermissionDenied => "; check its permissions",
        _ => "",
    }
}

fn gz_names() -> Vec<String> {
    FILE_STEMS.iter().map(|stem| format!("{stem}.gz")).collect()
}

/// Who chose a data folder; used to word errors about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirOrigin {
    /// The `--data-dir` command-line flag.
    Flag,
    /// The `GAN_LAB_DATA` environment variable.
    Env,
    /// A folder passed to [`load_split`] or [`data_hash`] directly.
    Given,
}

impl DirOrigin {
    fn fix(self) -> &'static str {
        match self {
            DirOrigin::Flag => {
                "put the four Fashion-MNIST files there, or drop --data-dir to use the \
                 download cache"
            }
            DirOrigin::Env => {
                "put the four Fashion-MNIST files there, or unset GAN_LAB_DATA to use the \
                 download cache"
            }
            DirOrigin::Given => {
                "put the four Fashion-MNIST files there, or point --data-dir / GAN_LAB_DATA \
                 at a folder that has them"
            }
        }
    }
}

impl fmt::Display for DirOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DirOrigin::Flag => "--data-dir folder",
            DirOrigin::Env => "GAN_LAB_DATA folder",
            DirOrigin::Given => "data folder",
        })
    }
}

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
    /// An image side is 0 or larger than 4096.
    BadSide { side: &'static str, value: u32 },
    /// The header promises more data than this machine can hold.
    TooLarge { bytes: u64 },
    /// The file is shorter than its header says (sizes after decompression).
    Truncated { expected: u64, present: u64 },
    /// The file is longer than its header says (sizes after decompression).
    TrailingBytes { expected: u64, present: u64 },
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
            FormatProblem::BadSide { side, value } => write!(
                f,
                "its header gives {value} {side}, expected 1 to {MAX_SIDE}"
            ),
            FormatProblem::TooLarge { bytes } => write!(
                f,
                "its header promises {bytes} bytes of data, more than this machine can hold"
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

// ---------------------------------------------------------------------------
// IDX reading and writing
// ---------------------------------------------------------------------------

/// A stack of greyscale images, row-major, one byte per pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    /// `count * rows * cols` bytes: image after image, row after row.
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels of one image.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `index`. Panics when `index >= count`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.pixels_per_image();
        &self.pixels[index * size..(index + 1) * size]
    }
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

/// Writes `images` as an uncompressed IDX3 file.
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

/// Writes `labels` as an uncompressed IDX1 file.
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
    let file = File::create(path).map_err(DataError::io("create", path))?;
    let mut writer = BufWriter::new(file);
    writer
        .write_all(header)
        .and_then(|()| writer.write_all(data))
        .and_then(|()| writer.flush())
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
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let gzip = reader
        .fill_buf()
        .map_err(DataError::io("read", path))?
        .starts_with(&GZIP_MAGIC);
    let parsed = if gzip {
        parse_idx(GzDecoder::new(reader), magic, ndims)
    } else {
        parse_idx(reader, magic, ndims)
    };
    parsed.map_err(|error| match error {
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

fn parse_idx(
    mut reader: impl Read,
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
    if words[1] == 0 {
        return Err(FormatProblem::NoItems.into());
    }
    for (side, &value) in ["rows", "columns"].into_iter().zip(&words[2..]) {
        if value == 0 || value > MAX_SIDE {
            return Err(FormatProblem::BadSide { side, value }.into());
        }
    }

    // At most 2^32 * 4096 * 4096 = 2^56: no overflow in u64.
    let data_len: u64 = words[1..].iter().map(|&w| u64::from(w)).product();
    let too_large = || FormatProblem::TooLarge { bytes: data_len };
    let mut data = Vec::new();
    data.try_reserve_exact(usize::try_from(data_len).map_err(|_| too_large())?)
        .map_err(|_| too_large())?;
    reader.by_ref().take(data_len).read_to_end(&mut data)?;
    let present = data.len() as u64;
    if present < data_len {
        return Err(FormatProblem::Truncated {
            expected: header_len + data_len,
            present: header_len + present,
        }
        .into());
    }
    let extra = io::copy(&mut reader, &mut io::sink())?;
    if extra > 0 {
        return Err(FormatProblem::TrailingBytes {
            expected: header_len + data_len,
            present: header_len + data_len + extra,
        }
        .into());
    }
    let dims = words[1..].iter().map(|&w| w as usize).collect();
    Ok((dims, data))
}

// ---------------------------------------------------------------------------
// Splits and classes
// ---------------------------------------------------------------------------

/// The two standard Fashion-MNIST splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// 60,000 training images (`train-*`).
    Train,
    /// 10,000 test images (`t10k-*`).
    Test,
}

impl Split {
    /// Both splits.
    pub const ALL: [Split; 2] = [Split::Train, Split::Test];

    /// Lower-case name: `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// File stem of the image file.
    pub fn images_stem(self) -> &'static str {
        match self {
            Split::Train => FILE_STEMS[0],
            Split::Test => FILE_STEMS[2],
        }
    }

    /// File stem of the label file.
    pub fn labels_stem(self) -> &'static str {
        match self {
            Split::Train => FILE_STEMS[1],
            Split::Test => FILE_STEMS[3],
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The images of one split with their labels (`labels[i]` belongs to image `i`).
#[derive(Clone, PartialEq, Eq)]
pub struct Dataset {
    pub images: Images,
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of labelled images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always false for a dataset from [`load_split`], which rejects empty files.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("images", &self.images)
            .field("labels", &format_args!("<{} labels>", self.labels.len()))
            .finish()
    }
}

/// Path of the file with this stem in `dir`: `stem.gz` if present, else `stem`.
pub fn find_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [format!("{stem}.gz"), stem.to_string()]
        .into_iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Loads one split from `dir`, checking that images and labels match and
/// that every label is a Fashion-MNIST class.
pub fn load_split(dir: &Path, split: Split) -> Result<Dataset> {
    let [images_path, labels_path] = require_files(
        dir,
        DirOrigin::Given,
        [split.images_stem(), split.labels_stem()],
    )?;
    let images = read_images(&images_path)?;
    let labels = read_labels(&labels_path)?;
    if images.count != labels.len() {
        return Err(DataError::CountMismatch {
            images_path,
            images: images.count,
            labels_path,
            labels: labels.len(),
        });
    }
    if let Some((index, &value)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= NUM_CLASSES)
    {
        return Err(DataError::BadLabel {
            path: labels_path,
            index,
            value,
        });
    }
    Ok(Dataset { images, labels })
}

/// The class index for a name such as `"Ankle boot"`, `"ankle-boot"`,
/// `"sneakers"`, `"tshirt"` or a digit `"0"`..`"9"`. Case, spaces and
/// punctuation are ignored.
pub fn class_index(name: &str) -> Option<usize> {
    let name = name.trim();
    if let Ok(digit) = name.parse::<usize>() {
        return (name.len() == 1 && digit < NUM_CLASSES).then_some(digit);
    }
    let key: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let index = match key.as_str() {
        "tshirttop" | "tshirt" | "tshirts" | "tee" | "top" | "tops" => 0,
        "trouser" | "trousers" | "pants" => 1,
        "pullover" | "pullovers" | "sweater" | "sweaters" => 2,
        "dress" | "dresses" => 3,
        "coat" | "coats" => 4,
        "sandal" | "sandals" => 5,
        "shirt" | "shirts" => 6,
        "sneaker" | "sneakers" => 7,
        "bag" | "bags" => 8,
        "ankleboot" | "ankleboots" | "boot" | "boots" => 9,
        _ => return None,
    };
    Some(index)
}

// ---------------------------------------------------------------------------
// Finding and downloading the data
// ---------------------------------------------------------------------------

/// Downloads a URL, writing the body to `dest`.
pub trait Fetch {
    /// Writes the body of `url` to `dest`; fails on network and HTTP errors.
    fn fetch(&self, url: &str, dest: &mut dyn Write) -> Result<()>;
}

/// The real downloader: plain HTTP(S) through `ureq`.
pub struct HttpFetcher {
    agent: ureq::Agent,
}

impl HttpFetcher {
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .build();
        HttpFetcher {
            agent: config.into(),
        }
    }
}

impl Default for HttpFetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetch for HttpFetcher {
    fn fetch(&self, url: &str, dest: &mut dyn Write) -> Result<()> {
        let http = |reason: String| DataError::Http {
            url: url.to_string(),
            reason,
        };
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| http(e.to_string()))?;
        // `as_reader` has no size limit, unlike `read_to_vec`.
        io::copy(&mut response.body_mut().as_reader(), dest)
            .map_err(|e| http(format!("transfer failed: {e}")))?;
        Ok(())
    }
}

/// The folder this user's downloads go to: `<cache dir>/gan-lab/fashion-mnist`.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("gan-lab").join("fashion-mnist"))
}

/// Finds the folder holding the four Fashion-MNIST files: `flag` (the
/// `--data-dir` option) if given, else `$GAN_LAB_DATA` if set and non-empty
/// (both must already hold the files), else the user cache folder, where
/// missing files are downloaded from the official site and checksummed.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf> {
    locate_with(
        flag,
        std::env::var_os(ENV_VAR),
        default_cache_dir(),
        &OFFICIAL_SOURCE,
        &HttpFetcher::new(),
    )
}

/// [`locate`] with its environment made explicit: `env` is the value of
/// `GAN_LAB_DATA`, `cache` the download folder.
pub fn locate_with(
    flag: Option<&Path>,
    env: Option<OsString>,
    cache: Option<PathBuf>,
    source: &Source<'_>,
    fetcher: &dyn Fetch,
) -> Result<PathBuf> {
    if let Some(dir) = flag {
        require_files(dir, DirOrigin::Flag, FILE_STEMS)?;
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = env.filter(|value| !value.is_empty()) {
        let dir = PathBuf::from(dir);
        require_files(&dir, DirOrigin::Env, FILE_STEMS)?;
        return Ok(dir);
    }
    let dir = cache.ok_or(DataError::NoCacheDir)?;
    download_missing(&dir, source, fetcher)?;
    Ok(dir)
}

/// The paths of the files with these stems in `dir` (see [`find_file`]), or
/// an error naming every missing one.
fn require_files<const N: usize>(
    dir: &Path,
    origin: DirOrigin,
    stems: [&'static str; N],
) -> Result<[PathBuf; N]> {
    if !dir.is_dir() {
        return Err(DataError::NoSuchDir {
            dir: dir.to_path_buf(),
            origin,
        });
    }
    let found = stems.map(|stem| find_file(dir, stem));
    let missing: Vec<&'static str> = stems
        .into_iter()
        .zip(&found)
        .filter(|(_, path)| path.is_none())
        .map(|(stem, _)| stem)
        .collect();
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            origin,
            missing,
        });
    }
    Ok(found.map(Option::unwrap_or_default))
}

fn download_missing(dir: &Path, source: &Source<'_>, fetcher: &dyn Fetch) -> Result<()> {
    for (stem, md5) in FILE_STEMS.into_iter().zip(source.md5) {
        if find_file(dir, stem).is_none() {
            fs::create_dir_all(dir).map_err(DataError::io("create the cache folder", dir))?;
            download(dir, stem, md5, source.base_url, fetcher)?;
        }
    }
    Ok(())
}

/// Downloads `stem.gz` into `dir` through a temporary file, which is renamed
/// to its final name only once its MD5 matches `md5`.
fn download(dir: &Path, stem: &str, md5: &str, base_url: &str, fetcher: &dyn Fetch) -> Result<()> {
    let name = format!("{stem}.gz");
    let url = format!("{base_url}{name}");
    let path = dir.join(&name);
    let part = dir.join(format!("{name}.{}.part", std::process::id()));

    let file = File::create(&part).map_err(DataError::io("create", &part))?;
    let mut writer = Md5Writer {
        inner: BufWriter::new(file),
        md5: Md5::new(),
    };
    let fetched = fetcher
        .fetch(&url, &mut writer)
        .map_err(|cause| DataError::DownloadFailed {
            url: url.clone(),
            dir: dir.to_path_buf(),
            cause: Box::new(cause),
        })
        .and_then(|()| {
            writer
                .inner
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|file| file.sync_all())
                .map_err(DataError::io("write", &part))
        });
    if let Err(error) = fetched {
        let _ = fs::remove_file(&part);
        return Err(error);
    }

    let actual = hex::encode(writer.md5.finalize());
    if !actual.eq_ignore_ascii_case(md5) {
        let _ = fs::remove_file(&part);
        return Err(DataError::ChecksumMismatch {
            url,
            path,
            expected: md5.to_string(),
            actual,
        });
    }
    fs::rename(&part, &path).map_err(|source| {
        let _ = fs::remove_file(&part);
        DataError::Io {
            action: "move the download into place at",
            path,
            source,
        }
    })
}

/// Writes through to `inner` while computing the MD5 of what was written.
struct Md5Writer<W> {
    inner: W,
    md5: Md5,
}

impl<W: Write> Write for Md5Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.md5.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// SHA-256 (lower-case hex) of the four data files' bytes as stored on disk,
/// concatenated in [`FILE_STEMS`] order (`.gz` preferred, as when loading).
/// Equals `cat <the four files> | sha256sum`.
pub fn data_hash(dir: &Path) -> Result<String> {
    let mut sha = Sha256::new();
    for path in require_files(dir, DirOrigin::Given, FILE_STEMS)? {
        let mut file = File::open(&path).map_err(DataError::io("open", &path))?;
        io::copy(&mut file, &mut sha).map_err(DataError::io("read", &path))?;
    }
    Ok(hex::encode(sha.finalize()))
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use tempfile::TempDir;

    fn sample_images(count: usize, rows: usize, cols: usize) -> Images {
        let pixels = (0..count * rows * cols)
            .map(|i| (i * 7 % 256) as u8)
            .collect();
        Images {
            count,
            rows,
            cols,
            pixels,
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn raw_images_bytes(images: &Images) -> Vec<u8> {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("x");
        write_images(&path, images).unwrap();
        fs::read(path).unwrap()
    }

    fn raw_labels_bytes(labels: &[u8]) -> Vec<u8> {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("x");
        write_labels(&path, labels).unwrap();
        fs::read(path).unwrap()
    }

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

    /// Writes a small, valid data folder: 3 training and 2 test items, raw or gzip.
    fn write_dataset(dir: &Path, gz: bool) {
        let files = [
            raw_images_bytes(&sample_images(3, 4, 5)),
            raw_labels_bytes(&[0, 9, 4]),
            raw_images_bytes(&sample_images(2, 4, 5)),
            raw_labels_bytes(&[1, 2]),
        ];
        for (stem, bytes) in FILE_STEMS.iter().zip(files) {
            if gz {
                fs::write(dir.join(format!("{stem}.gz")), gzip(&bytes)).unwrap();
            } else {
                fs::write(dir.join(stem), bytes).unwrap();
            }
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
        assert_eq!(read_images(&gz_images).unwrap().image(2), images.image(2));
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

    #[test]
    fn huge_header_is_not_allocated_blindly() {
        let dir = TempDir::new().unwrap();
        let mut header = Vec::new();
        for word in [IMAGES_MAGIC, u32::MAX, 4096, 4096] {
            header.extend_from_slice(&word.to_be_bytes());
        }
        // Either the reservation fails or the read finds the data missing.
        let problem = format_problem(images_from(&dir, &header));
        assert!(
            matches!(
                problem,
                FormatProblem::TooLarge { .. } | FormatProblem::Truncated { .. }
            ),
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
        // Also inside a gzip stream.
        assert!(matches!(
            format_problem(images_from(&dir, &gzip(&bytes))),
            FormatProblem::TrailingBytes { .. }
        ));
    }

    #[test]
    fn missing_file_is_a_user_error() {
        let dir = TempDir::new().unwrap();
        let error = read_labels(&dir.path().join("nope")).unwrap_err();
        assert!(error.is_user_error());
        assert!(error.to_string().contains("nope"), "{error}");
    }

    #[test]
    fn load_split_raw_and_gzip() {
        for gz in [false, true] {
            let dir = TempDir::new().unwrap();
            write_dataset(dir.path(), gz);
            let train = load_split(dir.path(), Split::Train).unwrap();
            assert_eq!(train.labels, [0, 9, 4]);
            assert_eq!(train.images, sample_images(3, 4, 5));
            let test = load_split(dir.path(), Split::Test).unwrap();
            assert_eq!(test.len(), 2);
        }
    }

    #[test]
    fn gz_is_preferred_over_raw() {
        let dir = TempDir::new().unwrap();
        write_dataset(dir.path(), true);
        write_labels(&dir.path().join(FILE_STEMS[1]), &[7, 7, 7]).unwrap();
        let train = load_split(dir.path(), Split::Train).unwrap();
        assert_eq!(train.labels, [0, 9, 4]);
    }

    #[test]
    fn label_and_image_counts_must_agree() {
        let dir = TempDir::new().unwrap();
        write_dataset(dir.path(), false);
        write_labels(&dir.path().join(FILE_STEMS[1]), &[1, 2]).unwrap();
        let error = load_split(dir.path(), Split::Train).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(FILE_STEMS[0]) && message.contains(FILE_STEMS[1]));
    }

    #[test]
    fn labels_must_be_classes() {
        let dir = TempDir::new().unwrap();
        write_dataset(dir.path(), false);
        write_labels(&dir.path().join(FILE_STEMS[3]), &[3, 10]).unwrap();
        let error = load_split(dir.path(), Split::Test).unwrap_err();
        assert!(
            matches!(
                error,
                DataError::BadLabel {
                    index: 1,
                    value: 10,
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("10 classes"), "{error}");
    }

    #[test]
    fn class_names_and_aliases() {
        for (index, name) in CLASS_NAMES.iter().enumerate() {
            assert_eq!(class_index(name), Some(index), "{name}");
            assert_eq!(class_index(&name.to_uppercase()), Some(index), "{name}");
            assert_eq!(class_index(&index.to_string()), Some(index));
            assert_eq!(class_index(&format!(" {index}\n")), Some(index));
        }
        for (alias, index) in [
            ("tshirt", 0),
            ("t-shirt", 0),
            ("top", 0),
            ("trousers", 1),
            ("shirt", 6),
            ("sneakers", 7),
            ("ankle-boot", 9),
            ("ankle_boot", 9),
            ("AnkleBoot", 9),
        ] {
            assert_eq!(class_index(alias), Some(index), "{alias}");
        }
        for bad in ["", "10", "-1", "+1", "0x1", "1.", "hat", "shoe"] {
            assert_eq!(class_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn split_file_names() {
        assert_eq!(Split::Train.images_stem(), "train-images-idx3-ubyte");
        assert_eq!(Split::Train.labels_stem(), "train-labels-idx1-ubyte");
        assert_eq!(Split::Test.images_stem(), "t10k-images-idx3-ubyte");
        assert_eq!(Split::Test.labels_stem(), "t10k-labels-idx1-ubyte");
    }

    #[test]
    fn data_hash_is_sha256_of_concatenated_files() {
        let dir = TempDir::new().unwrap();
        write_dataset(dir.path(), true);
        let mut all = Vec::new();
        for stem in FILE_STEMS {
            all.extend(fs::read(dir.path().join(format!("{stem}.gz"))).unwrap());
        }
        assert_eq!(
            data_hash(dir.path()).unwrap(),
            hex::encode(Sha256::digest(&all))
        );
        let empty = TempDir::new().unwrap();
        assert!(matches!(
            data_hash(empty.path()),
            Err(DataError::MissingFiles { .. })
        ));
    }

    /// Serves canned bodies; unknown URLs fail like an offline machine.
    #[derive(Default)]
    struct FakeFetcher {
        bodies: HashMap<String, Vec<u8>>,
        requests: RefCell<Vec<String>>,
    }

    impl Fetch for FakeFetcher {
        fn fetch(&self, url: &str, dest: &mut dyn Write) -> Result<()> {
            self.requests.borrow_mut().push(url.to_string());
            match self.bodies.get(url) {
                Some(body) => {
                    // Write in two parts so a partial file exists mid-download.
                    let (first, rest) = body.split_at(body.len() / 2);
                    dest.write_all(first).unwrap();
                    dest.write_all(rest).unwrap();
                    Ok(())
                }
                None => Err(DataError::Http {
                    url: url.to_string(),
                    reason: "connection refused".to_string(),
                }),
            }
        }
    }

    const BASE: &str = "http://example.test/fm/";

    /// A fake server with a valid dataset, and the matching checksum table.
    fn fake_server() -> (FakeFetcher, [String; 4]) {
        let source = TempDir::new().unwrap();
        write_dataset(source.path(), true);
        let mut fetcher = FakeFetcher::default();
        let md5s = FILE_STEMS.map(|stem| {
            let body = fs::read(source.path().join(format!("{stem}.gz"))).unwrap();
            let md5 = hex::encode(Md5::digest(&body));
            fetcher.bodies.insert(format!("{BASE}{stem}.gz"), body);
            md5
        });
        (fetcher, md5s)
    }

    fn source_for(md5s: &[String; 4]) -> Source<'_> {
        Source {
            base_url: BASE,
            md5: [&md5s[0], &md5s[1], &md5s[2], &md5s[3]],
        }
    }

    fn dir_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn lookup_order_flag_env_cache() {
        let flag = TempDir::new().unwrap();
        let env = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        for dir in [&flag, &env, &cache] {
            write_dataset(dir.path(), false);
        }
        let offline = FakeFetcher::default();
        let source = OFFICIAL_SOURCE;
        let env_value = Some(env.path().as_os_str().to_owned());
        let cache_dir = Some(cache.path().to_path_buf());

        let found = locate_with(
            Some(flag.path()),
            env_value.clone(),
            cache_dir.clone(),
            &source,
            &offline,
        );
        assert_eq!(found.unwrap(), flag.path());
        let found = locate_with(None, env_value, cache_dir.clone(), &source, &offline);
        assert_eq!(found.unwrap(), env.path());
        let found = locate_with(None, None, cache_dir.clone(), &source, &offline);
        assert_eq!(found.unwrap(), cache.path());
        // An empty variable counts as unset.
        let found = locate_with(None, Some(OsString::new()), cache_dir, &source, &offline);
        assert_eq!(found.unwrap(), cache.path());
        assert!(offline.requests.borrow().is_empty());
    }

    #[test]
    fn user_folders_without_files_are_errors_not_downloads() {
        let empty = TempDir::new().unwrap();
        let cache = TempDir::new().unwrap();
        write_dataset(cache.path(), false);
        let (fetcher, md5s) = fake_server();
        let source = source_for(&md5s);
        let cache_dir = Some(cache.path().to_path_buf());

        let error = locate_with(
            Some(empty.path()),
            None,
            cache_dir.clone(),
            &source,
            &fetcher,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::MissingFiles { origin: DirOrigin::Flag, ref missing, .. } if missing.len() == 4)
        );
        assert!(
            message.contains(&empty.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("--data-dir"), "{message}");
        assert!(error.is_user_error());

        let env_value = Some(empty.path().join("absent").into_os_string());
        let error = locate_with(None, env_value, cache_dir, &source, &fetcher).unwrap_err();
        assert!(matches!(
            error,
            DataError::NoSuchDir {
                origin: DirOrigin::Env,
                ..
            }
        ));
        assert!(error.to_string().contains("GAN_LAB_DATA"), "{error}");

        assert!(fetcher.requests.borrow().is_empty());
        assert!(dir_names(empty.path()).is_empty());
    }

    #[test]
    fn download_fills_the_cache() {
        let root = TempDir::new().unwrap();
        let cache = root.path().join("gan-lab").join("fashion-mnist");
        let (fetcher, md5s) = fake_server();
        let source = source_for(&md5s);

        let found = locate_with(None, None, Some(cache.clone()), &source, &fetcher).unwrap();
        assert_eq!(found, cache);
        let expected: Vec<String> = {
            let mut names = gz_names();
            names.sort();
            names
        };
        assert_eq!(dir_names(&cache), expected);
        assert_eq!(fetcher.requests.borrow().len(), 4);
        assert_eq!(load_split(&cache, Split::Train).unwrap().len(), 3);

        // Files already there are not downloaded again; only missing ones are.
        fs::remove_file(cache.join(format!("{}.gz", FILE_STEMS[3]))).unwrap();
        fetcher.requests.borrow_mut().clear();
        locate_with(None, None, Some(cache.clone()), &source, &fetcher).unwrap();
        assert_eq!(
            *fetcher.requests.borrow(),
            [format!("{BASE}{}.gz", FILE_STEMS[3])]
        );
    }

    #[test]
    fn checksum_mismatch_leaves_no_file() {
        let cache = TempDir::new().unwrap();
        let (fetcher, mut md5s) = fake_server();
        md5s[0] = "0123456789abcdef0123456789abcdef".to_string();
        let source = source_for(&md5s);

        let error = locate_with(
            None,
            None,
            Some(cache.path().to_path_buf()),
            &source,
            &fetcher,
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::ChecksumMismatch { .. }),
            "{error:?}"
        );
        assert!(
            message.contains("0123456789abcdef0123456789abcdef"),
            "{message}"
        );
        assert!(message.contains(&hex::encode(Md5::digest(
            &fetcher.bodies[&format!("{BASE}{}.gz", FILE_STEMS[0])]
        ))));
        // Neither the final file nor the temporary one is left behind.
        assert!(
            dir_names(cache.path()).is_empty(),
            "{:?}",
            dir_names(cache.path())
        );
    }

    #[test]
    fn offline_error_says_where_to_put_the_files() {
        let root = TempDir::new().unwrap();
        let cache = root.path().join("cache");
        let offline = FakeFetcher::default();
        let error =
            locate_with(None, None, Some(cache.clone()), &OFFICIAL_SOURCE, &offline).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DataError::DownloadFailed { .. }),
            "{error:?}"
        );
        assert!(message.contains(&cache.display().to_string()), "{message}");
        assert!(message.contains("GAN_LAB_DATA=DIR"), "{message}");
        assert!(message.contains("--data-dir DIR"), "{message}");
        assert!(message.contains("connection refused"), "{message}");
        for name in gz_names() {
            assert!(message.contains(&name), "{message}");
        }
        assert!(!error.is_user_error());
        assert!(dir_names(&cache).is_empty());

        let error = locate_with(None, None, None, &OFFICIAL_SOURCE, &offline).unwrap_err();
        assert!(matches!(error, DataError::NoCacheDir));
        assert!(error.to_string().contains("GAN_LAB_DATA=DIR"));
    }

    /// Loads the real data when `GAN_LAB_DATA` points at it.
    #[test]
    fn real_fashion_mnist() {
        let Some(dir) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) else {
            eprintln!("note: {ENV_VAR} is unset; real_fashion_mnist checked nothing");
            return;
        };
        let dir = PathBuf::from(dir);
        for (split, count) in [(Split::Train, 60_000), (Split::Test, 10_000)] {
            let data = load_split(&dir, split).unwrap();
            assert_eq!(data.images.count, count);
            assert_eq!(data.len(), count);
            assert_eq!((data.images.rows, data.images.cols), (28, 28));
            assert_eq!(data.images.pixels.len(), count * 28 * 28);
        }
        assert_eq!(data_hash(&dir).unwrap().len(), 64);
    }
}
