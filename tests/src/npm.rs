//! A node project of the tests, ready to run: `npm ci` when `package` is not installed in
//! `dir` yet (idempotent). Included by path wherever a test needs one (`tests/src/console.rs`,
//! `scheduler/tests/common`), so the crates need not depend on each other.
use std::path::{Path, PathBuf};
use std::process::Command;

/// `dir` with its packages installed; `None`, with a SKIPPED line naming `what`, when npm or
/// node is not installed.
pub fn project(dir: &Path, package: &str, what: &str) -> Option<PathBuf> {
    let available = ["npm", "node"].iter().all(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !available {
        eprintln!("SKIPPED: npm/node not installed; {what} needs them");
        return None;
    }
    if !dir
        .join("node_modules")
        .join(package)
        .join("package.json")
        .is_file()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci failed in {}", dir.display());
    }
    Some(dir.to_path_buf())
}
