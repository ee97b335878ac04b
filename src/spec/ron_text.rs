//! RON text as both spec parsers (experiments and sweeps) read it: the parser
//! options, a size-bounded read, positions of keys in the text and errors
//! that carry `file:line:col`.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use ron::extensions::Extensions;

/// Spec files larger than this are refused before they are read.
pub const MAX_SPEC_BYTES: u64 = 1 << 20;

/// The options every spec text (file, stored spec, `--set` value) is parsed with.
pub fn options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES | Extensions::IMPLICIT_SOME)
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("could not read spec file {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "spec file {} is larger than the limit of {MAX_SPEC_BYTES} bytes (1 MiB); a spec is a few hundred lines at most: check that this is the file you meant",
        path.display()
    )]
    TooLarge { path: PathBuf },
}

/// Reads a spec file, refusing one over [`MAX_SPEC_BYTES`] before reading it
/// all (by its size, and by reading at most one byte more than the limit).
pub fn read(path: &Path) -> Result<String, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
    };
    if file.metadata().map_err(io)?.len() > MAX_SPEC_BYTES {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(MAX_SPEC_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > MAX_SPEC_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// A place in a spec file, shown as `file:line:col` (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Place {
    /// The place of byte `offset` in `text`, read from `file`.
    pub fn at(file: &Path, text: &str, offset: usize) -> Self {
        let (line, col) = line_col(text, offset);
        Self {
            file: file.display().to_string(),
            line,
            col,
        }
    }

    /// Where the RON parser stopped.
    pub fn of_ron(file: &Path, error: &ron::error::SpannedError) -> Self {
        Self {
            file: file.display().to_string(),
            line: error.span.start.line,
            col: error.span.start.col,
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A message about a place in a spec file: `file:line:col: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct Located {
    pub place: Place,
    pub message: String,
}

/// The 1-based line and column of byte `offset` in `text` (columns count bytes).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Offset of the last of `keys` found, each searched after the one before
/// (`["train", "steps"]` finds `steps:` inside `train:`); 0 when the first
/// is missing. A key is a field name (`steps`) or a quoted map key
/// (`"train.lr_d"`), and counts where a `:` follows it.
pub fn offset_of(text: &str, keys: &[&str]) -> usize {
    let mut from = 0;
    let mut found = 0;
    for key in keys {
        match find_key(text, from, key) {
            Some(at) => {
                found = at;
                from = at + key.len();
            }
            None => break,
        }
    }
    found
}

/// The place of a dotted field path (`train.steps`) in spec text: the last
/// key found after its parents, else the deepest parent, else 1:1.
pub fn locate(text: &str, path: &str) -> (usize, usize) {
    let keys: Vec<&str> = path.split('.').collect();
    line_col(text, offset_of(text, &keys))
}

/// Offset of `key` at or after `from` used as a key (not inside a longer
/// name, followed by `:`), skipping `//` comments.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        if end > from {
            let code = line.split("//").next().unwrap_or("");
            let mut search = from.saturating_sub(offset);
            while search <= code.len() {
                let Some(i) = code.get(search..).and_then(|rest| rest.find(key)) else {
                    break;
                };
                let at = search + i;
                let before_ok = !code[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_');
                if before_ok && code[at + key.len()..].trim_start().starts_with(':') {
                    return Some(offset + at);
                }
                search = at + key.len();
            }
        }
        offset = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "// steps: not here\n(\n    name: \"a\", // train: no\n    train: (\n        steps: 1, max_steps: 2,\n    ),\n    grid: {\"train.steps\": [1]},\n)\n";

    #[test]
    fn keys_are_found_after_their_parents_outside_comments() {
        assert_eq!(locate(TEXT, "name"), (3, 5));
        assert_eq!(locate(TEXT, "train.steps"), (5, 9));
        assert_eq!(locate(TEXT, "train.max_steps"), (5, 19));
        // Missing child: the parent; missing parent: the start.
        assert_eq!(locate(TEXT, "train.lr"), (4, 5));
        assert_eq!(locate(TEXT, "eval.every"), (1, 1));
        assert_eq!(
            line_col(TEXT, offset_of(TEXT, &["grid", "\"train.steps\""])),
            (7, 12)
        );
    }

    #[test]
    fn line_col_counts_from_one_and_survives_odd_offsets() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
        // Inside a multi-byte character: the character's start.
        assert_eq!(line_col("é", 1), (1, 1));
    }

    #[test]
    fn located_errors_read_file_line_col() {
        let e = Located {
            place: Place::at(Path::new("x.ron"), "a\nbc", 3),
            message: "bad".into(),
        };
        assert_eq!(e.to_string(), "x.ron:2:2: bad");
    }

    #[test]
    fn large_files_are_refused_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.ron");
        std::fs::write(&path, vec![b' '; MAX_SPEC_BYTES as usize + 1]).unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("big.ron") && e.contains("1048576 bytes"), "{e}");
        std::fs::write(&path, "()").unwrap();
        assert_eq!(read(&path).unwrap(), "()");
        let e = read(&dir.path().join("none.ron")).unwrap_err().to_string();
        assert!(e.contains("could not read spec file"), "{e}");
    }
}
