//! Fashion-MNIST data for gan-lab: finding, downloading and reading it.
//!
//! * [`idx`]: reading and writing IDX files ([`read_images`], [`read_labels`],
//!   [`write_images`], [`write_labels`]); gzip is detected by its magic bytes.
//!   Every size in a header is checked against the file before memory is set
//!   aside for it.
//! * [`split`]: the two splits ([`load_split`]) and the class names.
//! * [`download`]: finding the data folder ([`locate`]): `--data-dir`, else
//!   `GAN_LAB_DATA`, else the user cache folder, where the official files are
//!   downloaded and MD5-checked when missing; and [`data_hash`].
//! * [`png`]: 28x28 greyscale PNG files ([`read_png_28`], [`read_png_folder`]).
//! * Here: the errors, and the image size and pixel scaling shared by the crate.
//!
//! Nothing here prints; every error names the file or folder concerned, the
//! problem, and what to do about it.
//!
//! May import: `util` (atomic writes). Nothing else of the crate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub mod download;
pub mod idx;
pub mod png;
pub mod split;
#[cfg(test)]
mod testutil;

pub use download::{
    Fetch, HttpFetcher, OFFICIAL_SOURCE, Source, data_hash, default_cache_dir, env_dir, locate,
    locate_with,
};
pub use idx::{
    FormatProblem, Images, MAX_IDX_BYTES, MAX_IDX_ITEMS, read_images, read_labels, write_images,
    write_labels,
};
pub use png::{read_png_28, read_png_folder, write_png_gray};
pub use split::{CLASS_NAMES, Dataset, FILE_STEMS, Split, class_index, find_file, load_split};

/// The result type of this module.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Environment variable naming a folder with the four Fashion-MNIST files.
pub const ENV_VAR: &str = "GAN_LAB_DATA";

/// Number of Fashion-MNIST classes; every label is below this.
pub const NUM_CLASSES: usize = gan_lab_variants::classes::NUM_CLASSES;

/// Side of a Fashion-MNIST image in pixels (28; the variants' networks are built for it).
pub const IMAGE_SIDE: usize = gan_lab_variants::nets::IMAGE_SIDE;

/// Pixels of one Fashion-MNIST image (28 x 28 = 784).
pub const IMAGE_PIXELS: usize = gan_lab_variants::nets::IMAGE_PIXELS;

/// A pixel byte (0 black ..= 255 white) as a model value in `[-1, 1]`.
pub fn byte_to_unit(byte: u8) -> f32 {
    f32::from(byte) / 127.5 - 1.0
}

/// A model value as a pixel byte: clamped to `[-1, 1]`, then rounded.
pub fn unit_to_byte(value: f32) -> u8 {
    ((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// Pixel bytes as model values in `[-1, 1]` (see [`byte_to_unit`]).
pub fn to_unit_range(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().copied().map(byte_to_unit).collect()
}

const FIX_FILE: &str = "re-download it (a file in the gan-lab cache folder is downloaded again once \
     deleted) or point --data-dir / GAN_LAB_DATA at a folder with the four Fashion-MNIST files";

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

    /// A file is not a usable 28x28 PNG image.
    #[error(
        "{} is not a usable image: {problem}; expected a {IMAGE_SIDE}x{IMAGE_SIDE} greyscale PNG",
        .path.display()
    )]
    Png { path: PathBuf, problem: String },

    /// A folder that should hold PNG images holds none.
    #[error(
        "{} holds no .png files; expected {IMAGE_SIDE}x{IMAGE_SIDE} greyscale PNG images",
        .dir.display()
    )]
    NoImages { dir: PathBuf },
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
            | DataError::BadLabel { .. }
            | DataError::Png { .. }
            | DataError::NoImages { .. } => true,
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_scaling_round_trips() {
        assert_eq!(byte_to_unit(0), -1.0);
        assert_eq!(byte_to_unit(255), 1.0);
        for byte in 0..=255u8 {
            assert_eq!(unit_to_byte(byte_to_unit(byte)), byte);
        }
        assert_eq!(unit_to_byte(-7.0), 0);
        assert_eq!(unit_to_byte(3.0), 255);
        assert_eq!(to_unit_range(&[0, 255]), [-1.0, 1.0]);
        assert_eq!((IMAGE_SIDE, IMAGE_PIXELS, NUM_CLASSES), (28, 784, 10));
    }
}
