//! The two Fashion-MNIST splits: their files, loading them with their labels
//! checked, and the class names.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{DataError, DirOrigin, Images, NUM_CLASSES, Result, read_images, read_labels};

/// Class names, indexed by label (shared with the variants' labelled grids).
pub const CLASS_NAMES: [&str; NUM_CLASSES] = gan_lab_variants::classes::CLASS_NAMES;

/// The four file stems, in the fixed order used by [`super::data_hash`] and
/// [`super::Source::md5`]. On disk each may carry a `.gz` suffix.
pub const FILE_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The two standard Fashion-MNIST splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// 60,000 training images (`train-*`).
    Train,
    /// 10,000 test images (`t10k-*`).
    Test,
}

impl Split {
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
/// punctuation are ignored. The aliases are the ones captions use
/// (`gan_lab_variants::classes::CLASS_ALIASES`).
pub fn class_index(name: &str) -> Option<usize> {
    let name = name.trim();
    if let Ok(digit) = name.parse::<usize>() {
        return (name.len() == 1 && digit < NUM_CLASSES).then_some(digit);
    }
    gan_lab_variants::classes::class_index(name)
}

/// The paths of the files with these stems in `dir` (see [`find_file`]), or
/// an error naming every missing one.
pub(super) fn require_files<const N: usize>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::{sample_images, write_dataset};
    use crate::data::{ENV_VAR, data_hash, write_labels};
    use tempfile::TempDir;

    #[test]
    fn load_split_raw_and_gzip() {
        for gz in [false, true] {
            let dir = TempDir::new().unwrap();
            write_dataset(dir.path(), gz);
            let train = load_split(dir.path(), Split::Train).unwrap();
            assert_eq!(train.labels, [0, 9, 4]);
            assert_eq!(train.images, sample_images(3, 4, 5));
            let test = load_split(dir.path(), Split::Test).unwrap();
            assert_eq!(test.labels.len(), 2);
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
            assert_eq!(data.labels.len(), count);
            assert_eq!((data.images.rows, data.images.cols), (28, 28));
            assert_eq!(data.images.pixels.len(), count * 28 * 28);
        }
        assert_eq!(data_hash(&dir).unwrap().len(), 64);
    }
}
