//! Safe paths from names and stored paths.
//!
//! [`component`] turns a user-given name (an experiment, sweep or run name)
//! into exactly one path component. Policy: encode, refuse only what cannot
//! be encoded. The encoding is deterministic and one-to-one (two names never
//! share a folder), and leaves ordinary names, Unicode included, as they are:
//! - `%`, the separators `/` and `\`, control characters (NUL included) and
//!   the characters Windows forbids in file names (`< > : " | ? *`) are
//!   percent-encoded, byte by byte (`a/b` becomes `a%2Fb`);
//! - a leading `.` is encoded, so no result is `.`, `..` or hidden, and so
//!   is a trailing `.` or space (Windows drops them);
//! - a Windows device name (`CON`, `nul.txt`, `COM1`, ...) gets its first
//!   letter encoded.
//!
//! Empty names and names over [`MAX_NAME_BYTES`] bytes are refused, as is an
//! encoded result over [`MAX_COMPONENT_BYTES`] bytes (the file systems'
//! limit); these are user errors.
//!
//! [`resolve`] makes a path the user gave absolute, once at start-up.
//!
//! [`join_inside`] joins a relative path read from storage (a run folder, an
//! artifact file) onto a base folder and refuses absolute paths, drive
//! prefixes and `..`, so a stored path cannot lead outside the base. The
//! check is on the text: links inside the base are followed as usual.

use std::path::{Component, Path, PathBuf};

/// The longest name [`component`] accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest component [`component`] returns, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// Names Windows reserves for devices, with or without an extension.
const DEVICES: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error(
        "an empty name cannot name a folder; give it 1 to {MAX_NAME_BYTES} bytes, such as \"dcgan-lr\""
    )]
    Empty,
    #[error(
        "the name `{preview}` is {bytes} bytes long; names that become folders are at most {MAX_NAME_BYTES} bytes: shorten it"
    )]
    TooLong { preview: String, bytes: usize },
    #[error(
        "the name `{preview}` is {bytes} bytes long once encoded for the file system (`/`, `%`, control and some other characters take 3 bytes each); the limit is {MAX_COMPONENT_BYTES}: use fewer of them"
    )]
    EncodedTooLong { preview: String, bytes: usize },
    #[error(
        "the path `{rel}` leads outside {}: {reason}; only relative paths without `..` are allowed",
        base.display()
    )]
    Outside {
        base: PathBuf,
        rel: String,
        reason: &'static str,
    },
}

impl PathError {
    /// Every path error comes from input (a name, a stored path), not a fault.
    pub fn is_user_error(&self) -> bool {
        true
    }
}

pub type Result<T, E = PathError> = std::result::Result<T, E>;

/// `name` as one safe path component (see the module notes for the rules).
pub fn component(name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(PathError::Empty);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(PathError::TooLong {
            preview: preview(name),
            bytes: name.len(),
        });
    }
    let stem = name.split('.').next().unwrap_or_default();
    let device = DEVICES.contains(&stem.to_ascii_lowercase().as_str());
    let last = name.chars().count() - 1;
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let encode = matches!(
            c,
            '%' | '/' | '\\' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
        ) || c.is_control()
            || (i == 0 && (c == '.' || device))
            || (i == last && (c == '.' || c == ' '));
        if encode {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out += &format!("%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    if out.len() > MAX_COMPONENT_BYTES {
        return Err(PathError::EncodedTooLong {
            preview: preview(name),
            bytes: out.len(),
        });
    }
    Ok(out)
}

/// The first 32 characters of a name, control characters escaped.
fn preview(name: &str) -> String {
    let mut short: String = name.chars().take(32).collect();
    if short.len() < name.len() {
        short += "…";
    }
    short.escape_debug().to_string()
}

/// `path` made absolute against the current folder, with `..` and links in
/// its folder part resolved (as far as the folders exist); the last
/// component is kept as given, so a database file linked from elsewhere keeps
/// its run folders beside the link. Unchanged where the current folder cannot
/// be read.
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match (absolute.components().next_back(), absolute.parent()) {
        (Some(Component::Normal(name)), Some(parent)) => resolve_folder(parent).join(name),
        _ => resolve_folder(&absolute),
    }
}

/// `folder` with links and `..` resolved: by the file system as far as it
/// exists, by the text below that (a folder that does not exist is no link).
fn resolve_folder(folder: &Path) -> PathBuf {
    if let Ok(real) = folder.canonicalize() {
        return real;
    }
    match (folder.components().next_back(), folder.parent()) {
        (Some(Component::Normal(name)), Some(parent)) => resolve_folder(parent).join(name),
        (Some(Component::ParentDir), Some(parent)) => {
            let up = resolve_folder(parent);
            up.parent().map_or(up.clone(), Path::to_path_buf)
        }
        _ => folder.to_path_buf(),
    }
}

/// `base` joined with the relative path `rel` (parts separated by `/` or
/// `\`), refused when `rel` is absolute, names a drive, or uses `..`.
pub fn join_inside(base: &Path, rel: &str) -> Result<PathBuf> {
    let outside = |reason| PathError::Outside {
        base: base.to_path_buf(),
        rel: rel.escape_debug().to_string(),
        reason,
    };
    if rel.starts_with(['/', '\\']) || Path::new(rel).has_root() {
        return Err(outside("it is absolute"));
    }
    let mut out = base.to_path_buf();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => continue,
            ".." => return Err(outside("it climbs up with `..`")),
            _ => {}
        }
        let mut parts = Path::new(part).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(_)), None) => out.push(part),
            _ => return Err(outside("it names a drive")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_makes_paths_absolute_and_keeps_the_last_component() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("link")).unwrap();
        // `..` and links in the folder part are resolved where it exists.
        assert_eq!(
            resolve(&root.join("sub/../db.sqlite")),
            root.join("db.sqlite")
        );
        assert_eq!(
            resolve(&root.join("link/db.sqlite")),
            root.join("sub/db.sqlite")
        );
        // The last component is kept as given, even a link.
        assert_eq!(resolve(&root.join("sub/../link")), root.join("link"));
        assert_eq!(resolve(&root.join("sub/..")), root);
        // Folders that do not exist yet are resolved by the text.
        let missing = root.join("new/runs/db.sqlite");
        assert_eq!(resolve(&missing), missing);
        assert_eq!(
            resolve(&root.join("link/new/../../x/db.sqlite")),
            root.join("x/db.sqlite")
        );
        assert!(resolve(Path::new("runs/db.sqlite")).is_absolute());
    }

    /// `c` is one component that stays inside any base it is joined onto.
    fn assert_safe(name: &str, c: &str) {
        assert!(!c.is_empty(), "{name:?}");
        assert!(!c.contains(['/', '\\', '\0']), "{name:?} -> {c:?}");
        assert!(!c.chars().any(char::is_control), "{name:?} -> {c:?}");
        assert!(!c.starts_with('.'), "{name:?} -> {c:?}");
        assert!(c.len() <= MAX_COMPONENT_BYTES);
        let base = Path::new("/srv/reports");
        let joined = base.join(c);
        assert_eq!(joined.parent(), Some(base), "{name:?} -> {c:?}");
        let parts: Vec<Component> = Path::new(c).components().collect();
        assert!(
            matches!(parts[..], [Component::Normal(_)]),
            "{name:?} -> {parts:?}"
        );
        assert_eq!(join_inside(base, c).unwrap(), joined, "{name:?}");
    }

    #[test]
    fn hostile_names_become_one_safe_component() {
        let hostile = [
            ".",
            "..",
            "...",
            "../x",
            "/etc",
            "/",
            "a/../../b",
            ".hidden",
            "\\\\server\\x",
            "a\nb",
            "\u{0}",
            "a\u{0}b",
            "\u{7f}\u{85}",
            "C:\\x",
            "C:",
            "~",
            "~/x",
            "CON",
            "nul.txt",
            "com1",
            "end.",
            "end ",
            "100%",
            "a?*<>|\"",
        ];
        for name in hostile {
            assert_safe(name, &component(name).unwrap());
        }
    }

    #[test]
    fn ordinary_and_unicode_names_stay_as_they_are() {
        for name in [
            "dcgan",
            "cgan lr=1e-4 seed=2",
            "sweep-lr_2",
            "a.b",
            "Ünïcødé",
            "试验",
            "🙂 gan",
            "x..y",
            "conv",
            "~",
        ] {
            let c = component(name).unwrap();
            assert_eq!(c, name);
            assert_safe(name, &c);
        }
    }

    #[test]
    fn the_encoding_is_percent_encoding_and_one_to_one() {
        assert_eq!(component("a/b").unwrap(), "a%2Fb");
        assert_eq!(component("..").unwrap(), "%2E%2E");
        assert_eq!(component(".hidden").unwrap(), "%2Ehidden");
        assert_eq!(component("C:\\x").unwrap(), "C%3A%5Cx");
        assert_eq!(component("a\nb").unwrap(), "a%0Ab");
        assert_eq!(component("\u{0}").unwrap(), "%00");
        assert_eq!(component("\u{85}").unwrap(), "%C2%85");
        assert_eq!(component("CON").unwrap(), "%43ON");
        // `%` itself is encoded, so an encoded name never equals another name.
        assert_eq!(component("a%2Fb").unwrap(), "a%252Fb");
        assert_ne!(component("a/b").unwrap(), component("a%2Fb").unwrap());
    }

    #[test]
    fn empty_and_long_names_are_refused_with_the_rule() {
        let e = component("").unwrap_err();
        assert!(matches!(e, PathError::Empty) && e.is_user_error());
        assert!(e.to_string().contains("1 to 128 bytes"), "{e}");

        let long = "a".repeat(65_536);
        let e = component(&long).unwrap_err();
        assert!(matches!(e, PathError::TooLong { bytes: 65_536, .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains("at most 128 bytes") && text.len() < 300,
            "{text}"
        );

        assert_eq!(component(&"a".repeat(128)).unwrap().len(), 128);
        assert!(component(&"a".repeat(129)).is_err());
        // 128 bytes of slashes encode to 384 bytes.
        let e = component(&"/".repeat(128)).unwrap_err();
        assert!(
            matches!(e, PathError::EncodedTooLong { bytes: 384, .. }),
            "{e}"
        );
        let ok = component(&"/".repeat(85)).unwrap();
        assert_safe("85 slashes", &ok);
    }

    #[test]
    fn stored_paths_stay_inside_the_base() {
        let base = Path::new("runs");
        assert_eq!(
            join_inside(base, "0190abc").unwrap(),
            Path::new("runs/0190abc")
        );
        assert_eq!(
            join_inside(base, "samples/step-000004.png").unwrap(),
            Path::new("runs/samples/step-000004.png")
        );
        assert_eq!(
            join_inside(base, "./a//b\\c").unwrap(),
            Path::new("runs/a/b/c")
        );
        for rel in [
            "..",
            "../x",
            "../../etc",
            "a/../../b",
            "a/..",
            "a\\..\\..\\b",
            "/etc/passwd",
            "\\\\server\\share",
            "\\x",
        ] {
            let e = join_inside(base, rel).unwrap_err();
            assert!(matches!(e, PathError::Outside { .. }), "{rel}");
            assert!(e.to_string().contains("without `..`"), "{e}");
        }
        #[cfg(windows)]
        assert!(join_inside(base, "C:x").is_err());
    }
}
