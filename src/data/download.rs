//! Finding the Fashion-MNIST folder, downloading the official files into the
//! user cache folder (MD5-checked, written through a temporary file), and the
//! content hash of a data folder.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};
use sha2::Sha256;

use super::split::{FILE_STEMS, find_file, require_files};
use super::{DataError, DirOrigin, ENV_VAR, Result};
use crate::util::fsutil::AtomicFile;

/// Largest body a download may have; the biggest official file is ~26 MB.
const MAX_DOWNLOAD_BYTES: u64 = 256 << 20;

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
        // `read_to_vec` would hold the body in memory; this streams it, up to a cap.
        let mut body = response.body_mut().as_reader().take(MAX_DOWNLOAD_BYTES + 1);
        let copied =
            io::copy(&mut body, dest).map_err(|e| http(format!("transfer failed: {e}")))?;
        if copied > MAX_DOWNLOAD_BYTES {
            return Err(http(format!(
                "the server sent more than {MAX_DOWNLOAD_BYTES} bytes, far more than a \
                 Fashion-MNIST file"
            )));
        }
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
        env_dir().map(PathBuf::into_os_string),
        default_cache_dir(),
        &OFFICIAL_SOURCE,
        &HttpFetcher::new(),
    )
}

/// `$GAN_LAB_DATA` if set and non-empty, made absolute against the folder
/// gan-lab was started in (gan-lab never changes its working folder), so that
/// the child processes it starts, wherever they run, read the same folder.
pub fn env_dir() -> Option<PathBuf> {
    let dir = std::env::var_os(ENV_VAR).filter(|value| !value.is_empty())?;
    Some(crate::util::paths::resolve(Path::new(&dir)))
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
    let file = AtomicFile::create(&path).map_err(DataError::io("create a file beside", &path))?;
    let mut writer = Md5Writer {
        inner: file,
        md5: Md5::new(),
    };
    fetcher
        .fetch(&url, &mut writer)
        .map_err(|cause| DataError::DownloadFailed {
            url: url.clone(),
            dir: dir.to_path_buf(),
            cause: Box::new(cause),
        })?;
    let actual = hex::encode(writer.md5.finalize());
    if !actual.eq_ignore_ascii_case(md5) {
        // Dropping `writer.inner` removes the temporary file.
        return Err(DataError::ChecksumMismatch {
            url,
            path,
            expected: md5.to_string(),
            actual,
        });
    }
    writer
        .inner
        .commit(true)
        .map_err(DataError::io("move the download into place at", &path))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testutil::write_dataset;
    use crate::data::{Split, gz_names, load_split};
    use std::cell::RefCell;
    use std::collections::HashMap;
    use tempfile::TempDir;

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
        assert_eq!(load_split(&cache, Split::Train).unwrap().labels.len(), 3);

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
}
