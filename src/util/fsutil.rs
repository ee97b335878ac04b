//! Writing files and folders so that readers never see half of one: write to
//! a temporary file (or folder) beside the target, then rename it into place.
//!
//! A rename within one folder is atomic on POSIX file systems, so a target
//! file holds either its old content or the whole new one, even after a crash
//! or Ctrl-C. The temporary is named `<target name>.<pid>-<n>.part` and is
//! removed again when writing fails.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit(false)
}

/// Fills a new folder through `fill` (given the temporary folder's path),
/// then puts it in place of `target`, replacing any old folder. A failing
/// `fill` leaves the old folder untouched. Replacing is two renames (old
/// folder aside, new one in), so only a crash between them leaves no
/// `target`, with the old folder still beside it (`<name>.<pid>-<n>.old`).
pub fn write_dir_atomic<E: From<io::Error>>(
    target: &Path,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let staging = beside(target, "part")?;
    fs::create_dir_all(&staging)?;
    if let Err(error) = fill(&staging) {
        let _ = fs::remove_dir_all(&staging);
        return Err(error);
    }
    let old = beside(target, "old")?;
    let moved_aside = target.exists();
    let swapped = (|| {
        if moved_aside {
            fs::rename(target, &old)?;
        }
        fs::rename(&staging, target)
    })();
    if let Err(error) = swapped {
        let _ = fs::remove_dir_all(&staging);
        if moved_aside && !target.exists() {
            let _ = fs::rename(&old, target);
        }
        return Err(error.into());
    }
    if moved_aside {
        let _ = fs::remove_dir_all(&old);
    }
    Ok(())
}

/// A fresh path beside `target`: `<name>.<pid>-<n>.<suffix>`.
fn beside(target: &Path, suffix: &str) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = target
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file or folder", target.display()),
            )
        })?
        .to_os_string();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    name.push(format!(".{}-{n}.{suffix}", std::process::id()));
    Ok(target.with_file_name(name))
}

/// A file being written beside its target; [`AtomicFile::commit`] renames it
/// into place, dropping it without a commit deletes it.
pub struct AtomicFile {
    temp: PathBuf,
    target: PathBuf,
    /// `None` once committed.
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temporary file beside `target` (the target is untouched).
    pub fn create(target: &Path) -> io::Result<Self> {
        let temp = beside(target, "part")?;
        let file = File::create(&temp)?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
            writer: Some(BufWriter::new(file)),
        })
    }

    /// Flushes, optionally syncs the data to disk (`sync`), and renames the
    /// temporary file over the target. On failure the temporary file is removed.
    pub fn commit(mut self, sync: bool) -> io::Result<()> {
        let writer = self
            .writer
            .take()
            .expect("AtomicFile is committed only once");
        let result = writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(|file| if sync { file.sync_all() } else { Ok(()) })
            .and_then(|()| fs::rename(&self.temp, &self.target));
        if result.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().map_or(Ok(0), |w| w.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().map_or(Ok(()), BufWriter::flush)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn dropped_file_is_removed_and_target_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half").unwrap();
        file.flush().unwrap();
        let temp = format!("out.bin.{}-", std::process::id());
        let during = names(dir.path());
        assert_eq!(during.len(), 2, "{during:?}");
        assert!(
            during[1].starts_with(&temp) && during[1].ends_with(".part"),
            "{during:?}"
        );
        drop(file);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn committed_with_sync() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"data").unwrap();
        file.commit(true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"data");
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = write_atomic(&dir.path().join("no/such/out.bin"), b"x").unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn write_dir_atomic_replaces_a_folder_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("checkpoint");
        write_dir_atomic(&target, |staging| fs::write(staging.join("a"), b"1")).unwrap();
        assert_eq!(fs::read(target.join("a")).unwrap(), b"1");
        write_dir_atomic(&target, |staging| fs::write(staging.join("b"), b"2")).unwrap();
        assert_eq!(names(&target), ["b"]);
        assert_eq!(names(dir.path()), ["checkpoint"]);

        // A failing fill leaves the old folder as it was and no staging folder.
        let result: Result<(), io::Error> = write_dir_atomic(&target, |staging| {
            fs::write(staging.join("c"), b"3")?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(result.unwrap_err().to_string(), "disk full");
        assert_eq!(names(&target), ["b"]);
        assert_eq!(names(dir.path()), ["checkpoint"]);
    }
}
