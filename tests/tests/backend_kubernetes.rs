//! The Kubernetes service driver against the fake Kubernetes API on loopback.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pipilu_e2e::fakes::kubernetes::FakeKubernetes;
use pipilu_e2e::fakes::{Fault, Served, serve};
use skills::backends::{BackendError, InstanceState, MetricsBackend, Progress, RestartStep, Series, ServiceBackend};
use skills::drivers::kubernetes::{KubernetesOptions, KubernetesServices, RESTARTED_AT};
use skills::skill::Window;
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn start() -> (FakeKubernetes, Served) {
    let fake = FakeKubernetes::seeded();
    let served = serve(fake.router()).await;
    (fake, served)
}

fn options(url: &str) -> KubernetesOptions {
    let mut o = KubernetesOptions::new("prod", url, "s3cret-token", "shop");
    o.timeout = Duration::from_secs(3);
    o.poll_interval = Duration::from_millis(20);
    o.rollout_timeout = Duration::from_secs(5);
    o
}

fn client(url: &str) -> KubernetesServices {
    KubernetesServices::new(options(url)).expect("client")
}

/// Per-pod metrics: cpu 12.5 % and 300 MiB for every pod named.
struct PodMetrics(Vec<String>);

#[async_trait]
impl MetricsBackend for PodMetrics {
    fn name(&self) -> &str {
        "test-metrics"
    }

    async fn series(&self, _service: &str, metric: &str, window: Window) -> Result<Vec<Series>, BackendError> {
        let last = match metric {
            "cpu" => 12.5,
            "memory" => 300.0 * 1024.0 * 1024.0,
            _ => return Ok(vec![]),
        };
        Ok(self
            .0
            .iter()
            .map(|p| Series { name: p.clone(), points: vec![(window.from, 99.0), (window.to, last)] })
            .collect())
    }
}

#[tokio::test]
async fn lists_deployments_and_sends_the_token() {
    let (fake, served) = start().await;
    let mut names = client(&served.url()).list().await.unwrap();
    names.sort();
    assert_eq!(names, ["latte", "payments-api", "search"]);
    let reqs = fake.state().requests.clone();
    assert_eq!(reqs[0].uri.trim_end_matches('?'), "/apis/apps/v1/namespaces/shop/deployments");
    assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer s3cret-token"));
}

#[tokio::test]
async fn health_card_values_from_deployment_and_pods() {
    let (fake, served) = start().await;
    let pods: Vec<String> = fake.deployment("latte").unwrap().pods.iter().map(|p| p.name.clone()).collect();
    let mut opts = options(&served.url());
    opts.metrics = Some(Arc::new(PodMetrics(pods.clone())));
    let k8s = KubernetesServices::new(opts).unwrap();

    let h = k8s.health("latte", Some("prod")).await.unwrap();
    assert_eq!((h.name.as_str(), h.env.as_str(), h.requested_state.as_str()), ("latte", "prod", "started"));
    assert_eq!((h.desired, h.running), (2, 2));
    assert_eq!(h.instances.len(), 2);
    let mut ids: Vec<String> = h.instances.iter().map(|i| i.id.clone()).collect();
    ids.sort();
    let mut want = pods.clone();
    want.sort();
    assert_eq!(ids, want);
    for i in &h.instances {
        assert_eq!(i.state, InstanceState::Running);
        assert_eq!(i.mem_quota, 512 * 1024 * 1024);
        assert_eq!(i.mem_bytes, 300 * 1024 * 1024);
        assert!((i.cpu_percent - 12.5).abs() < 1e-9, "last point per pod: {}", i.cpu_percent);
        let age = Utc::now() - i.since;
        assert!(age > chrono::Duration::hours(25) && age < chrono::Duration::hours(27), "{age}");
        assert_eq!((i.restarts, i.last_termination.as_deref()), (0, None));
    }
    let pod_query = fake.state().requests.iter().find(|r| r.uri.starts_with("/api/v1/")).cloned().unwrap();
    assert_eq!(pod_query.uri, "/api/v1/namespaces/shop/pods?&labelSelector=app%3Dlatte");
}

#[tokio::test]
async fn oom_killed_pod_shows_restarts_and_reason() {
    let (_fake, served) = start().await;
    let h = client(&served.url()).health("search", None).await.unwrap();
    assert_eq!((h.desired, h.running), (2, 1));
    let sick = h.instances.iter().find(|i| i.restarts > 0).expect("a pod with restarts");
    assert_eq!(sick.restarts, 7);
    assert_eq!(sick.last_termination.as_deref(), Some("OOMKilled"));
    assert_eq!(sick.state, InstanceState::Starting, "running but not ready");
    assert_eq!(sick.mem_quota, 1024 * 1024 * 1024);
    assert!(Utc::now() - sick.since < chrono::Duration::minutes(4));
}

#[tokio::test]
async fn crash_looping_pod_is_crashed() {
    let (fake, served) = start().await;
    {
        let mut s = fake.state();
        let d = s.deployments.get_mut(&("shop".to_string(), "payments-api".to_string())).unwrap();
        d.pods[0].waiting = Some("CrashLoopBackOff".into());
        d.pods[0].ready = false;
    }
    let h = client(&served.url()).health("payments-api", None).await.unwrap();
    assert_eq!((h.desired, h.running), (3, 2));
    assert_eq!(h.instances.iter().filter(|i| i.state == InstanceState::Crashed).count(), 1);
}

#[tokio::test]
async fn unknown_service_and_environment() {
    let (_fake, served) = start().await;
    let k8s = client(&served.url());
    let err = k8s.health("lattee", None).await.unwrap_err();
    assert!(err.not_found, "{err}");
    assert_eq!(err.backend, "kubernetes");
    let err = k8s.restart("nope", None, &Progress::none()).await.unwrap_err();
    assert!(err.not_found, "{err}");
    let err = k8s.health("latte", Some("staging")).await.unwrap_err();
    assert!(!err.not_found);
    assert!(err.cause.contains("unknown environment 'staging'"), "{err}");
}

#[tokio::test]
async fn hostile_names_never_change_the_path() {
    let (fake, served) = start().await;
    let k8s = client(&served.url());
    for name in ["a/b?c=../", "../../api/v1/secrets", "latte?watch=1", "latte%2Fx"] {
        let err = k8s.health(name, None).await.unwrap_err();
        assert!(err.not_found, "{name}: {err}");
        let err = k8s.restart(name, None, &Progress::none()).await.unwrap_err();
        assert!(err.not_found, "{name}: {err}");
    }
    let s = fake.state();
    assert!(s.patches.is_empty());
    assert!(s.requests.iter().all(|r| !r.uri.contains("..") && !r.uri.contains("secrets")), "{:?}", s.requests);
}

#[tokio::test]
async fn restart_patches_like_kubectl_and_follows_the_rollout() {
    let (fake, served) = start().await;
    let k8s = client(&served.url());
    let before = fake.deployment("latte").unwrap();
    let steps: Arc<Mutex<Vec<RestartStep>>> = Arc::default();
    let sink = steps.clone();
    let progress = Progress::to(move |s| sink.lock().unwrap().push(s.clone()));
    let t0 = Utc::now();

    k8s.restart("latte", Some("prod"), &progress).await.unwrap();

    let patches = fake.state().patches.clone();
    assert_eq!(patches.len(), 1, "one patch, never retried");
    let patch = &patches[0];
    assert_eq!(patch.content_type, "application/strategic-merge-patch+json");
    let annotations = patch.body.pointer("/spec/template/metadata/annotations").unwrap().as_object().unwrap();
    assert_eq!(annotations.keys().collect::<Vec<_>>(), [RESTARTED_AT]);
    assert_eq!(RESTARTED_AT, "kubectl.kubernetes.io/restartedAt");
    let at: DateTime<Utc> = annotations[RESTARTED_AT].as_str().unwrap().parse().expect("RFC 3339");
    assert!((at - t0).num_seconds().abs() <= 2);
    assert_eq!(patch.body.as_object().unwrap().len(), 1, "only spec is patched: {}", patch.body);

    let after = fake.deployment("latte").unwrap();
    assert_eq!(after.generation, before.generation + 1);
    assert!(after.rollout.is_none());
    for p in &after.pods {
        assert!(before.pods.iter().all(|old| old.name != p.name), "pods replaced");
    }

    let steps = steps.lock().unwrap().clone();
    assert!(steps.len() >= 3, "progress observed: {steps:?}");
    assert!(steps[..steps.len() - 1].iter().all(|s| !s.done));
    let last = steps.last().unwrap();
    assert_eq!((last.updated, last.ready, last.desired, last.done), (2, 2, 2, true));
    assert!(steps.iter().any(|s| s.updated == 1 && !s.done));

    let h = k8s.health("latte", None).await.unwrap();
    assert_eq!(h.running, 2);
    assert!(h.instances.iter().all(|i| Utc::now() - i.since < chrono::Duration::seconds(10)), "ages reset");
}

#[tokio::test]
async fn rollout_that_never_finishes_times_out() {
    let (fake, served) = start().await;
    fake.stick("payments-api");
    let mut opts = options(&served.url());
    opts.rollout_timeout = Duration::from_millis(300);
    let k8s = KubernetesServices::new(opts).unwrap();
    let err = k8s.restart("payments-api", None, &Progress::none()).await.unwrap_err();
    assert!(!err.not_found);
    assert!(err.cause.contains("rollout of payments-api did not finish within"), "{err}");
    assert!(err.cause.contains("1 of 3 updated"), "{err}");
    assert_eq!(fake.state().patches.len(), 1);
}

#[tokio::test]
async fn restart_is_not_retried_on_server_error() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::ServerError);
    let err = client(&served.url()).restart("latte", None, &Progress::none()).await.unwrap_err();
    assert!(err.cause.contains("server error"), "{err}");
    let s = fake.state();
    assert_eq!(s.requests.iter().filter(|r| r.method == "PATCH").count(), 1);
}

#[tokio::test]
async fn reads_retry_a_transient_server_error() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::ServerError);
    let k8s = client(&served.url());
    let faults = fake.faults.clone();
    let heal = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        faults.set(Fault::None);
    });
    let names = k8s.list().await.unwrap();
    heal.await.unwrap();
    assert_eq!(names.len(), 3);
    assert!(fake.state().requests.len() >= 2);
}

#[tokio::test]
async fn error_paths_say_what_to_do() {
    let (fake, served) = start().await;
    let k8s = client(&served.url());
    fake.faults.set(Fault::Unauthorized);
    let err = k8s.health("latte", None).await.unwrap_err();
    assert!(err.cause.contains("credentials"), "{err}");
    fake.faults.set(Fault::Malformed);
    let err = k8s.list().await.unwrap_err();
    assert!(err.cause.contains("malformed response"), "{err}");
    fake.faults.set(Fault::Slow(Duration::from_secs(5)));
    let mut opts = options(&served.url());
    opts.timeout = Duration::from_millis(200);
    let err = KubernetesServices::new(opts).unwrap().list().await.unwrap_err();
    assert!(err.cause.contains("no answer"), "{err}");
}

#[tokio::test]
async fn backend_down_cannot_connect() {
    let url = {
        let (_fake, served) = start().await;
        served.url()
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = client(&url).list().await.unwrap_err();
    assert!(err.cause.contains("cannot connect"), "{err}");
    assert_eq!(err.backend, "kubernetes");
}
