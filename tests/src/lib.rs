//! Helpers for pipilu's end-to-end tests: the path of the real `pipilu` binary,
//! loopback fakes of the backends and chat platforms, and real servers started
//! on 127.0.0.1.

pub mod fakes;
pub mod servers;

use std::path::PathBuf;
pub use tempfile::TempDir;

/// A fresh empty folder under the system temp dir, removed when dropped, so
/// test runs leave nothing behind.
pub fn temp_dir(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("{prefix}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir {prefix}-*: {e}"))
}

/// Path of the `pipilu` binary built beside the test executable
/// (`target/<profile>/pipilu`), or `$PIPILU_BIN` when set.
pub fn pipilu_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PIPILU_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/pipilu
    let profile_dir = exe.parent().and_then(|d| d.parent()).map(PathBuf::from).unwrap_or_default();
    profile_dir.join(format!("pipilu{}", std::env::consts::EXE_SUFFIX))
}
