//! Writing files so that readers never see half of one: write to a temporary
//! file beside the target (a [`tempfile::NamedTempFile`] in the same folder,
//! so the rename stays on one file system), then rename it into place.
//!
//! A rename within one folder is atomic on POSIX file systems, so a target
//! file holds either its old content or the whole new one, even after a crash
//! or Ctrl-C. The temporary is named `<target name>.<random>.part`, is created
//! with the permissions of a plain `File::create` (0o666 less the umask, not
//! tempfile's 0o600), and is removed again when writing fails or the
//! [`AtomicFile`] is dropped without a commit.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit(false)
}

/// A file being written beside its target; [`AtomicFile::commit`] renames it
/// into place, dropping it without a commit deletes it.
pub struct AtomicFile {
    writer: BufWriter<NamedTempFile>,
    target: PathBuf,
}

impl AtomicFile {
    /// Creates the temporary file beside `target` (the target is untouched).
    pub fn create(target: &Path) -> io::Result<Self> {
        let name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", target.display()),
            )
        })?;
        let folder = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut prefix = name.to_os_string();
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".part");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(folder)?;
        Ok(AtomicFile {
            writer: BufWriter::new(temp),
            target: target.to_path_buf(),
        })
    }

    /// Flushes, optionally syncs the data to disk (`sync`), and renames the
    /// temporary file over the target. On failure the temporary file is removed.
    pub fn commit(self, sync: bool) -> io::Result<()> {
        let temp = self
            .writer
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        if sync {
            temp.as_file().sync_all()?;
        }
        temp.persist(&self.target).map_err(|e| e.error)?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

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
        let during = names(dir.path());
        assert_eq!(during.len(), 2, "{during:?}");
        assert!(
            during[1].starts_with("out.bin.") && during[1].ends_with(".part"),
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

    #[cfg(unix)]
    #[test]
    fn written_files_get_plain_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (atomic, plain) = (dir.path().join("atomic"), dir.path().join("plain"));
        write_atomic(&atomic, b"x").unwrap();
        fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&atomic), mode(&plain));
    }
}
