//! The binary answers `--version` and `--help`. Having an integration test here
//! also makes `cargo test --workspace` build the `pipilu` binary that the
//! end-to-end tests in `tests/` run.

use std::process::Command;

#[test]
fn version_and_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_pipilu")).arg("--version").output().expect("run pipilu");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("pipilu "));
    let out = Command::new(env!("CARGO_BIN_EXE_pipilu")).arg("--help").output().expect("run pipilu");
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in ["chat", "ask", "check-config", "nlu"] {
        assert!(help.contains(sub), "{help}");
    }
}
