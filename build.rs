//! Records the git commit the binary was built from (stored with every run).
//!
//! Only reads the repository: `git describe --dirty` refreshes and rewrites
//! `.git/index`, which made every second `cargo build` rerun this script and
//! recompile gan-lab. `--no-optional-locks` keeps `git status` from writing it.
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .arg("--no-optional-locks")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).filter(|s| !s.is_empty());
    let version = match commit {
        Some(commit) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            }
        }
        None => "unknown commit".to_string(),
    };
    println!("cargo:rustc-env=GAN_LAB_GIT={version}");
    // HEAD, the branch it points to, and the index (staged changes) live in the
    // git directory, which is `.git/` in a clone and elsewhere in a worktree.
    let git_dir = git(&["rev-parse", "--git-dir"]).map(PathBuf::from);
    let common_dir = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from);
    if let Some(dir) = &git_dir {
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", dir.join("index").display());
    }
    if let (Some(common), Some(branch)) = (&common_dir, git(&["symbolic-ref", "-q", "HEAD"])) {
        let loose = common.join(&branch);
        if loose.exists() {
            println!("cargo:rerun-if-changed={}", loose.display());
        }
        let packed = common.join("packed-refs");
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
    // Edits to tracked sources change the dirty mark; they recompile gan-lab anyway.
    for path in ["build.rs", "Cargo.toml", "src", "variants"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
