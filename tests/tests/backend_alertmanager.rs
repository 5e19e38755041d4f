//! The Alertmanager harness: a real server starts and answers its API (the
//! alert skills' tests build on it).

use pipilu_e2e::servers::Alertmanager;

#[tokio::test]
async fn alertmanager_starts_and_answers_status() {
    let am = Alertmanager::start().await;
    let resp = reqwest::get(format!("{}/api/v2/status", am.url())).await.expect("status answers");
    assert!(resp.status().is_success(), "{}", resp.status());
    let status: serde_json::Value = resp.json().await.expect("status is JSON");
    assert!(status["versionInfo"]["version"].is_string(), "{status}");
    assert_eq!(status["cluster"]["status"], "disabled", "no gossip: {status}");
    assert!(status["config"]["original"].as_str().unwrap_or_default().contains("blackhole"), "{status}");
    let silences = reqwest::get(format!("{}/api/v2/silences", am.url())).await.expect("silences answer");
    assert!(silences.status().is_success());
}
