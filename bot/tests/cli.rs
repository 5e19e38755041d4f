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

#[test]
fn eval_writes_one_probability_row_per_test_sentence() {
    let dir = std::env::temp_dir().join(format!("pipilu-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("predictions.jsonl");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/nlu");
    let out = Command::new(env!("CARGO_BIN_EXE_pipilu"))
        .args(["nlu", "--no-neural", "eval", "--format", "pipilu", "--json", "--dataset", fixtures])
        .arg("--predictions")
        .arg(&file)
        .output()
        .expect("run pipilu");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON report");
    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&file)
        .expect("predictions written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON row"))
        .collect();
    assert_eq!(rows.len() as u64, report["sentences"].as_u64().expect("sentences"));
    let right = rows.iter().filter(|r| r["gold"] == r["intent"]).count();
    let accuracy = 100.0 * right as f64 / rows.len() as f64;
    assert!((accuracy - report["intent_accuracy"].as_f64().expect("accuracy")).abs() < 1e-9);
    for r in &rows {
        let p = r["probabilities"].as_object().expect("probabilities");
        assert!(p.contains_key("restart_service"), "{r}");
        let sum: f64 = p.values().map(|v| v.as_f64().expect("number")).sum();
        assert!((sum - 1.0).abs() < 1e-3, "{r}");
        // Lexical-only: the layer's own probabilities are the ones decided on.
        assert_eq!(r["layers"]["lexical"], r["probabilities"], "{r}");
        assert!(r["layers"]["neural"].is_null(), "{r}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
