//! The Cloud Foundry v3 service driver against the fake Cloud Foundry API on loopback.

use chrono::Utc;
use pipilu_e2e::fakes::cloudfoundry::{FakeCloudFoundry, SPACE};
use pipilu_e2e::fakes::{Fault, Served, serve};
use skills::backends::{InstanceState, Progress, RestartStep, ServiceBackend};
use skills::drivers::cloudfoundry::CloudFoundryServices;
use skills::drivers::http::{Auth, Endpoint};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn start() -> (FakeCloudFoundry, Served) {
    let fake = FakeCloudFoundry::seeded();
    let served = serve(fake.router()).await;
    (fake, served)
}

fn client_with(url: &str, rollout: Duration) -> CloudFoundryServices {
    let mut ep = Endpoint::new(url);
    ep.timeout_secs = 2.0;
    CloudFoundryServices::new("prod", &ep, Auth::Bearer("cf-token".into()), SPACE, rollout, Duration::from_millis(20))
        .expect("client")
}

fn client(url: &str) -> CloudFoundryServices {
    client_with(url, Duration::from_secs(5))
}

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn lists_apps_following_pages() {
    let (fake, served) = start().await;
    fake.state().max_per_page = 2;
    let names = client(&served.url()).list().await.unwrap();
    assert_eq!(names, ["latte", "payments-api", "search"]);
    assert_eq!(fake.count("GET", "/v3/apps?"), 2, "two pages");
    let first = fake.state().requests[0].1.clone();
    assert_eq!(first, format!("/v3/apps?space_guids={SPACE}&per_page=5000"));
}

#[tokio::test]
async fn health_card_values() {
    let (_fake, served) = start().await;
    let h = client(&served.url()).health("latte", Some("prod")).await.unwrap();
    assert_eq!((h.name.as_str(), h.env.as_str(), h.requested_state.as_str()), ("latte", "prod", "started"));
    assert_eq!((h.desired, h.running), (2, 2));
    let i0 = &h.instances[0];
    assert_eq!((i0.id.as_str(), i0.state), ("0", InstanceState::Running));
    assert!((i0.cpu_percent - 4.2).abs() < 1e-9, "cpu fraction to percent: {}", i0.cpu_percent);
    assert_eq!((i0.mem_bytes, i0.mem_quota), (300 * MIB, 1024 * MIB));
    assert_eq!((i0.disk_bytes, i0.disk_quota), (180 * MIB, 1024 * MIB));
    let age = Utc::now() - i0.since;
    assert!(age > chrono::Duration::hours(23) && age < chrono::Duration::hours(25), "{age}");
    assert_eq!(h.instances[1].id, "1");
}

#[tokio::test]
async fn crashed_instance_and_stopped_app() {
    let (_fake, served) = start().await;
    let cf = client(&served.url());
    let h = cf.health("search", None).await.unwrap();
    assert_eq!((h.desired, h.running), (2, 1));
    let crashed = &h.instances[1];
    assert_eq!(crashed.state, InstanceState::Crashed);
    assert_eq!(crashed.mem_quota, 1024 * MIB, "quota from the process when stats have none");
    assert!(crashed.last_termination.as_deref().unwrap_or_default().contains("out of memory"));
    let h = cf.health("payments-api", None).await.unwrap();
    assert_eq!((h.requested_state.as_str(), h.desired, h.running), ("stopped", 0, 0));
}

#[tokio::test]
async fn unknown_service_and_environment() {
    let (fake, served) = start().await;
    let cf = client(&served.url());
    let err = cf.health("lattee", None).await.unwrap_err();
    assert!(err.not_found, "{err}");
    assert_eq!(err.backend, "cloudfoundry");
    let err = cf.restart("nope", None, &Progress::none()).await.unwrap_err();
    assert!(err.not_found, "{err}");
    assert_eq!(fake.count("POST", "/"), 0);
    let err = cf.health("latte", Some("dev")).await.unwrap_err();
    assert!(!err.not_found && err.cause.contains("unknown environment 'dev'"), "{err}");
}

#[tokio::test]
async fn hostile_names_are_query_values_only() {
    let (fake, served) = start().await;
    let cf = client(&served.url());
    let err = cf.health("a/b?c=../", None).await.unwrap_err();
    assert!(err.not_found, "{err}");
    let err = cf.restart("../../v3/apps&x=1", None, &Progress::none()).await.unwrap_err();
    assert!(err.not_found, "{err}");
    let reqs = fake.state().requests.clone();
    assert_eq!(reqs.len(), 2);
    for (_, uri) in &reqs {
        let (path, query) = uri.split_once('?').unwrap();
        assert_eq!(path, "/v3/apps");
        assert!(!query.contains('/') && !query.contains("../"), "{uri}");
    }
    assert!(reqs[0].1.starts_with("/v3/apps?names=a%2Fb%3Fc%3D..%2F&space_guids="), "{}", reqs[0].1);
}

#[tokio::test]
async fn restart_posts_once_and_follows_instances_back() {
    let (fake, served) = start().await;
    let cf = client(&served.url());
    let steps: Arc<Mutex<Vec<RestartStep>>> = Arc::default();
    let sink = steps.clone();
    cf.restart("latte", None, &Progress::to(move |s| sink.lock().unwrap().push(s.clone()))).await.unwrap();

    assert_eq!(fake.count("POST", "/v3/apps/a0000000-0000-4000-8000-000000000001/actions/restart"), 1);
    let steps = steps.lock().unwrap().clone();
    assert!(steps.len() >= 2, "{steps:?}");
    assert!(!steps[0].done && steps[0].ready == 0, "starting observed: {steps:?}");
    let last = steps.last().unwrap();
    assert_eq!((last.updated, last.ready, last.desired, last.done), (2, 2, 2, true));

    let h = cf.health("latte", None).await.unwrap();
    assert_eq!(h.running, 2);
    assert!(h.instances.iter().all(|i| Utc::now() - i.since < chrono::Duration::seconds(10)), "uptime reset");
}

#[tokio::test]
async fn restart_that_never_finishes_times_out() {
    let (fake, served) = start().await;
    fake.state().stuck = true;
    let err = client_with(&served.url(), Duration::from_millis(300))
        .restart("latte", None, &Progress::none())
        .await
        .unwrap_err();
    assert!(err.cause.contains("restart of latte did not finish within"), "{err}");
    assert!(err.cause.contains("0 of 2 instances running"), "{err}");
}

#[tokio::test]
async fn restart_is_never_retried() {
    let (fake, served) = start().await;
    fake.action_faults.set(Fault::ServerError);
    let err = client(&served.url()).restart("latte", None, &Progress::none()).await.unwrap_err();
    assert!(err.cause.contains("500"), "{err}");
    assert_eq!(fake.count("POST", "/v3/apps/"), 1, "a change is sent once");
}

#[tokio::test]
async fn reads_retry_a_transient_server_error() {
    let (fake, served) = start().await;
    fake.state().fail_next = 1;
    let h = client(&served.url()).health("latte", None).await.unwrap();
    assert_eq!(h.running, 2);
    assert_eq!(fake.count("GET", "/v3/apps?names=latte"), 2, "retried once");
}

#[tokio::test]
async fn error_paths_say_what_to_do() {
    let (fake, served) = start().await;
    let cf = client(&served.url());
    fake.faults.set(Fault::Unauthorized);
    let err = cf.health("latte", None).await.unwrap_err();
    assert!(err.cause.contains("credentials"), "{err}");
    fake.faults.set(Fault::Malformed);
    let err = cf.list().await.unwrap_err();
    assert!(err.cause.contains("malformed response"), "{err}");
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
}
