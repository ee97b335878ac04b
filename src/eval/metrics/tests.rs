//! Tests across the metrics: a cross-check of FID and KID against numpy/scipy
//! (their timing on 10,000 samples is a benchmark: `cargo bench -- metrics`).

use super::testutil::{correlated, feats};
use super::*;

const PYTHON_REFERENCE: &str = r#"
import json, sys
import numpy as np
from scipy import linalg

def load(path, rows, cols):
    return np.fromfile(path, dtype="<f4").reshape(rows, cols).astype(np.float64)

def fid(a, b):
    # pytorch-fid's calculate_frechet_distance.
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))

def mmd2(x, y):
    d = x.shape[1]
    n, m = len(x), len(y)
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1))
                 + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.sum() / (n * m))

a_path, b_path, na, nb, d = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
a, b = load(a_path, na, d), load(b_path, nb, d)
print(json.dumps({"fid": fid(a, b), "mmd2": mmd2(a, b), "mmd2_equal": mmd2(a[:nb], b)}))
"#;

const PYTHON_HINT: &str = "this test cross-checks FID/KID against numpy/scipy; \
     install Python 3 and run `pip install numpy scipy`";

fn python_reference(a: &[f32], b: &[f32], d: usize) -> reference_json::Reference {
    let dir = std::env::temp_dir().join(format!(
        "gan-lab-metrics-xcheck-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, v: &[f32]| {
        let path = dir.join(name);
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let (pa, pb) = (write("a.f32", a), write("b.f32", b));
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(PYTHON_REFERENCE)
        .arg(&pa)
        .arg(&pb)
        .args([
            (a.len() / d).to_string(),
            (b.len() / d).to_string(),
            d.to_string(),
        ])
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let output = match output {
        Ok(o) => o,
        Err(e) => panic!("could not run python3 ({e}): {PYTHON_HINT}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python3 reference script failed ({}): {PYTHON_HINT}\nstderr:\n{stderr}",
        output.status
    );
    reference_json::Reference::parse(&stdout)
        .unwrap_or_else(|| panic!("unexpected output of the python3 script: {stdout}"))
}

/// Tiny parser for the script's one-line JSON object of numbers (keeps dev-deps at zero).
mod reference_json {
    pub struct Reference {
        pub fid: f64,
        pub mmd2: f64,
        pub mmd2_equal: f64,
    }

    impl Reference {
        pub fn parse(line: &str) -> Option<Self> {
            let body = line.trim().strip_prefix('{')?.strip_suffix('}')?;
            let get = |key: &str| -> Option<f64> {
                body.split(',').find_map(|kv| {
                    let (k, v) = kv.split_once(':')?;
                    (k.trim().trim_matches('"') == key).then(|| v.trim().parse().ok())?
                })
            };
            Some(Self {
                fid: get("fid")?,
                mmd2: get("mmd2")?,
                mmd2_equal: get("mmd2_equal")?,
            })
        }
    }
}

// An independent implementation (pytorch-fid's FID, the textbook MMD²) catches formula slips.
#[test]
fn cross_check_with_numpy_scipy() {
    let d = 16;
    let a = correlated(20, 300, d, 0.6, 0.0);
    let b = correlated(21, 250, d, 0.3, 0.2);
    let reference = python_reference(&a, &b, d);
    let (fa, fb) = (feats(&a, d), feats(&b, d));

    // FID: scipy's sqrtm (Schur method) and our symmetric eigendecompositions are both
    // backward-stable double-precision methods on well-conditioned 16 × 16 matrices, so
    // they agree to ~1e-12 relative; 1e-6 leaves ample margin.
    let ours = fid(fa, fb).unwrap();
    let rel = (ours - reference.fid).abs() / reference.fid.abs();
    assert!(
        rel < 1e-6,
        "FID {ours} vs scipy {} (relative {rel:e})",
        reference.fid
    );

    // MMD²: same formula, only the summation order differs. The kernel sums are of order
    // 1e4–1e5 terms of magnitude ~1–10 that nearly cancel, so rounding leaves absolute
    // errors ~1e-13; 1e-9 × (1 + |value|) is tight yet robust.
    let tol = |v: f64| 1e-9 * (1.0 + v.abs());
    let ours = kid::mmd2_of_columns(&fa.columns_f64(None), &fb.columns_f64(None));
    assert!(
        (ours - reference.mmd2).abs() < tol(reference.mmd2),
        "MMD² {ours} vs numpy {}",
        reference.mmd2
    );
    // KID with one subset of the full (equal) set size is the plain MMD² (it is invariant
    // to the order in which the subset is drawn), so it matches without shared randomness.
    let fa_equal = feats(&a[..250 * d], d);
    let opts = KidOptions {
        subsets: 1,
        subset_size: 250,
        seed: 3,
    };
    let k = kid(fa_equal, fb, &opts).unwrap();
    assert!(
        (k.mean - reference.mmd2_equal).abs() < tol(reference.mmd2_equal),
        "KID {} vs numpy {}",
        k.mean,
        reference.mmd2_equal
    );
    assert_eq!(k.std, 0.0);
    assert!(reference.mmd2 > 1e-3, "test data should be clearly apart");
    println!(
        "FID {:e} relative, MMD² {:e} and KID {:e} absolute from numpy/scipy",
        rel,
        (ours - reference.mmd2).abs(),
        (k.mean - reference.mmd2_equal).abs()
    );
}
