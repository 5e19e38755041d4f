//! The classic ChatOps conversation (check, restart, logs, graph, firewall) run
//! by the real `pipilu` binary with `chat --config fixtures/config/lab.toml`,
//! against a real Prometheus and loopback fakes of Kubernetes, Loki, Grafana
//! and OPNsense: every answer comes from those servers through the drivers.

use chrono::{Duration, Utc};
use pipilu_e2e::fakes::grafana::{FakeGrafana, TOKEN as GRAFANA_TOKEN};
use pipilu_e2e::fakes::kubernetes::FakeKubernetes;
use pipilu_e2e::fakes::loki::LokiFake;
use pipilu_e2e::fakes::opnsense::{FirewallSeed, OpnSenseFake};
use pipilu_e2e::fakes::serve;
use pipilu_e2e::servers::{Prometheus, SEEDED_PODS, seed_openmetrics};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const K8S_TOKEN: &str = "lab-k8s-token";
const FW_KEY: &str = "lab-key";
const FW_SECRET: &str = "lab-secret";

/// Runs `pipilu chat --config <dir>/pipilu.toml` with `lines` on stdin.
fn chat(dir: &Path, lines: &str) -> Output {
    let mut child = Command::new(pipilu_e2e::pipilu_bin())
        .args(["chat", "--config", "pipilu.toml", "--no-neural"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", std::env::temp_dir().join("pipilu-e2e-cache"))
        .env("PIPILU_LAB_K8S_TOKEN", K8S_TOKEN)
        .env("PIPILU_LAB_GRAFANA_TOKEN", GRAFANA_TOKEN)
        .env("PIPILU_LAB_OPNSENSE_KEY", FW_KEY)
        .env("PIPILU_LAB_OPNSENSE_SECRET", FW_SECRET)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pipilu");
    child.stdin.take().expect("stdin").write_all(lines.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait for pipilu")
}

/// The answer to the `n`th line of a chat transcript (`you> ` starts each turn).
fn turn(transcript: &str, n: usize) -> &str {
    transcript.split("you> ").nth(n + 1).unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_classic_conversation_runs_against_real_backends() {
    let now = Utc::now();
    let prometheus = Prometheus::start(&seed_openmetrics(now, 3)).await;

    // Kubernetes: the fake's deployments in namespace `default`, latte's pods named
    // as the ones Prometheus has series for.
    let kube = FakeKubernetes::seeded();
    {
        let mut s = kube.state();
        let moved: Vec<_> = std::mem::take(&mut s.deployments).into_iter().collect();
        for ((_, name), mut d) in moved {
            if name == "latte" {
                for (pod, seeded) in d.pods.iter_mut().zip(&SEEDED_PODS[..2]) {
                    pod.name = (*seeded).to_string();
                }
            }
            s.deployments.insert(("default".into(), name), d);
        }
    }
    let kube_srv = serve(kube.router()).await;

    let loki = LokiFake::new();
    loki.seed(
        &[("service", "latte"), ("env", "prod"), ("level", "error"), ("pod", SEEDED_PODS[0])],
        &[
            (now - Duration::minutes(20), "upstream timeout after 3000ms"),
            (now - Duration::minutes(5), "connection refused: redis-cache:6379"),
        ],
    );
    loki.seed(
        &[("service", "latte"), ("env", "prod"), ("level", "info")],
        &[(now - Duration::minutes(3), "GET /health 200")],
    );
    let loki_srv = serve(loki.router()).await;

    let grafana = FakeGrafana::new();
    let grafana_srv = grafana.serve().await;

    let fw = OpnSenseFake::new(FW_KEY, FW_SECRET, FirewallSeed::default());
    let fw_srv = serve(fw.router()).await;

    let dir = pipilu_e2e::temp_dir("pipilu-lab");
    let config = include_str!("../../fixtures/config/lab.toml")
        .replace("{{kubernetes}}", &kube_srv.url())
        .replace("{{prometheus}}", &prometheus.url())
        .replace("{{loki}}", &loki_srv.url())
        .replace("{{grafana}}", &grafana_srv.url())
        .replace("{{opnsense}}", &fw_srv.url());
    std::fs::write(dir.path().join("pipilu.toml"), config).expect("write config");

    let lines = "is latte ok?\nrestart latte\nshow latte errors from the last 30 min\n\
                 graph latte-overview panel 1 last 1h\nfirewall status\n";
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || chat(&path, lines)).await.expect("chat task");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{stderr}", out.status);

    // 1. Health from the Deployment and its pods, cpu and memory from Prometheus.
    let health = turn(&stdout, 0);
    assert!(health.contains("latte (prod)"), "{health}\n{stderr}");
    assert!(health.contains("2/2"), "{health}");
    assert!(health.contains(SEEDED_PODS[0]), "{health}");
    assert!(health.contains("kubernetes"), "footer names the backend: {health}");
    assert!(!health.contains(" 0.0%"), "cpu comes from Prometheus: {health}");

    // 2. Restart: the exact kubectl annotation, new pods, and the fresh card.
    let restart = turn(&stdout, 1);
    assert!(restart.contains("latte was restarted"), "{restart}");
    assert!(restart.contains("… latte restarting:"), "the rollout's steps are shown: {restart}");
    assert!(restart.contains("… latte restarted: 2 of 2 updated, 2 ready"), "{restart}");
    let patches = kube.state().patches.clone();
    assert_eq!(patches.len(), 1, "one patch, never retried: {patches:?}");
    assert!(format!("{patches:?}").contains("kubectl.kubernetes.io/restartedAt"), "{patches:?}");
    assert!(!restart.contains(SEEDED_PODS[0]), "pods were replaced: {restart}");

    // 3. Logs from Loki, the user's level as a filter.
    let logs = turn(&stdout, 2);
    assert!(logs.contains("connection refused: redis-cache:6379"), "{logs}");
    assert!(!logs.contains("GET /health"), "info lines filtered out: {logs}");
    assert!(loki.queries().iter().any(|q| q.contains(r#"service="latte""#)), "{:?}", loki.queries());

    // 4. The panel PNG from Grafana's render API.
    let graph = turn(&stdout, 3);
    assert!(graph.contains("latte-overview"), "{graph}");
    assert!(graph.contains(".png"), "{graph}");
    let renders = grafana.renders();
    assert_eq!(renders.len(), 1, "{renders:?}");
    assert_eq!(renders[0].uid, "latte");
    let images: Vec<_> = std::fs::read_dir(dir.path().join("images")).expect("images folder").flatten().collect();
    assert_eq!(images.len(), 1);

    // 5. The firewall from OPNsense's API.
    let firewall = turn(&stdout, 4);
    assert!(firewall.contains("fw-edge-1"), "{firewall}");
    assert!(firewall.contains("24.7.12"), "{firewall}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_is_down_gets_a_card_naming_it() {
    // Nothing listens on these ports: every backend is down.
    let dir = pipilu_e2e::temp_dir("pipilu-lab-down");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let config = include_str!("../../fixtures/config/lab.toml")
        .replace("{{kubernetes}}", &closed)
        .replace("{{prometheus}}", &closed)
        .replace("{{loki}}", &closed)
        .replace("{{grafana}}", &closed)
        .replace("{{opnsense}}", &closed);
    std::fs::write(dir.path().join("pipilu.toml"), config).expect("write config");
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || chat(&path, "is latte ok?\nfirewall status\n")).await.expect("task");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    let health = turn(&stdout, 0);
    assert!(health.contains("kubernetes failed"), "{health}");
    assert!(health.contains("cannot connect"), "{health}");
    let firewall = turn(&stdout, 1);
    assert!(firewall.contains("opnsense failed"), "{firewall}");
}
