//! Helpers shared by the data module's unit tests.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use tempfile::TempDir;

use super::{FILE_STEMS, Images, write_images, write_labels};

pub(super) fn sample_images(count: usize, rows: usize, cols: usize) -> Images {
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

pub(super) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub(super) fn raw_images_bytes(images: &Images) -> Vec<u8> {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("x");
    write_images(&path, images).unwrap();
    fs::read(path).unwrap()
}

pub(super) fn raw_labels_bytes(labels: &[u8]) -> Vec<u8> {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("x");
    write_labels(&path, labels).unwrap();
    fs::read(path).unwrap()
}

/// Writes a small, valid data folder: 3 training and 2 test items, raw or gzip.
pub(super) fn write_dataset(dir: &Path, gz: bool) {
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
