//! Build facts for `llmwatch --version`: the git commit (or "unknown" outside a git checkout of
//! this crate) and the date of the bundled price table (`_source.date` in prices.json).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/cost/prices.json");
    println!("cargo:rustc-env=LLMWATCH_GIT_COMMIT={}", git_commit(&manifest));
    println!("cargo:rustc-env=LLMWATCH_PRICES_DATE={}", prices_date(&manifest));
}

fn git(manifest: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(manifest)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The short commit of HEAD, only when this crate is the top of the checkout (a source tarball
/// unpacked inside some other repository must not report that repository's commit).
fn git_commit(manifest: &Path) -> String {
    let top = git(manifest, &["rev-parse", "--show-toplevel"]).map(PathBuf::from);
    let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if !top.is_some_and(|t| same(&t, manifest)) {
        return "unknown".into();
    }
    // Rebuild when HEAD moves: HEAD itself, and the branch file it points at.
    let branch = git(manifest, &["rev-parse", "--symbolic-full-name", "HEAD"]);
    for name in std::iter::once("HEAD".to_string()).chain(branch) {
        if let Some(p) = git(manifest, &["rev-parse", "--git-path", &name]).map(|p| manifest.join(p))
            && p.exists()
        {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    git(manifest, &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}

/// `"date":"YYYY-MM-DD"` from the `_source` entry on the second line of prices.json (the file
/// `scripts/update-prices.py` writes); read as text to keep the build script dependency-free.
fn prices_date(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest.join("src/cost/prices.json")).unwrap_or_default();
    let source = text.lines().find(|l| l.starts_with("\"_source\"")).unwrap_or("");
    source
        .split("\"date\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .filter(|d| d.len() == 10)
        .unwrap_or("unknown")
        .to_string()
}
