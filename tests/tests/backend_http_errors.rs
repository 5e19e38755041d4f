//! The shared HTTP client's error paths against a loopback fake: every failure
//! names the backend, the call and a cause an on-call engineer can act on, and
//! reads are retried (changes never).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pipilu_e2e::fakes::{Fault, FaultSwitch, serve};
use reqwest::Method;
use serde::Deserialize;
use skills::drivers::http::{Auth, Endpoint, Http, Retry};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
struct Fake {
    hits: Arc<AtomicUsize>,
    faults: FaultSwitch,
    /// Answer 429 with `Retry-After: 1` this many times first.
    limited: Arc<AtomicUsize>,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Pong {
    ok: bool,
}

async fn ping(State(f): State<Fake>, headers: HeaderMap) -> Response {
    f.hits.fetch_add(1, Ordering::SeqCst);
    if f.limited.load(Ordering::SeqCst) > 0 {
        f.limited.fetch_sub(1, Ordering::SeqCst);
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "slow down").into_response();
    }
    if let Some(r) = f.faults.get().apply().await {
        return r;
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    axum::Json(serde_json::json!({"ok": true, "auth": auth})).into_response()
}

async fn start() -> (Fake, pipilu_e2e::fakes::Served) {
    let fake = Fake::default();
    let served = serve(Router::new().route("/ping", get(ping)).with_state(fake.clone())).await;
    (fake, served)
}

fn http(url: String, timeout: f64, retries: u32) -> Http {
    let ep = Endpoint { url, timeout_secs: timeout, retries, insecure_tls: false };
    Http::new("testbackend", &ep, Auth::Bearer("tok".into())).expect("client")
}

async fn get_ping(h: &Http, retry: Retry) -> Result<Pong, skills::BackendError> {
    h.json::<Pong>("ping", retry, || h.request(Method::GET, "/ping")).await
}

#[tokio::test]
async fn success_decodes() {
    let (fake, served) = start().await;
    let h = http(served.url(), 2.0, 2);
    assert_eq!(get_ping(&h, Retry::Read).await.expect("ok"), Pong { ok: true });
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn backend_down_cannot_connect() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let h = http(format!("http://127.0.0.1:{port}"), 2.0, 1);
    let e = get_ping(&h, Retry::Read).await.expect_err("down");
    assert_eq!((e.backend.as_str(), e.call.as_str()), ("testbackend", "ping"));
    assert!(e.cause.contains("cannot connect to http://127.0.0.1:"), "{e}");
}

#[tokio::test]
async fn server_error_on_read_is_retried_then_named() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::ServerError);
    let h = http(served.url(), 2.0, 2);
    let e = get_ping(&h, Retry::Read).await.expect_err("500");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 3, "one try and two retries");
    assert!(e.cause.contains("500") && e.cause.contains("server error"), "{e}");
    assert!(e.cause.contains("internal error"), "quotes the body: {e}");
}

#[tokio::test]
async fn server_error_recovers_on_retry() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::ServerError);
    let h = http(served.url(), 2.0, 3);
    let f = fake.clone();
    let flip = tokio::spawn(async move {
        while f.hits.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        f.faults.set(Fault::None);
    });
    assert_eq!(get_ping(&h, Retry::Read).await.expect("recovers"), Pong { ok: true });
    flip.await.expect("flip");
    assert!(fake.hits.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn server_error_on_change_is_sent_once() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::ServerError);
    let h = http(served.url(), 2.0, 5);
    let e = get_ping(&h, Retry::Never).await.expect_err("500");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1, "a change is never repeated");
    assert!(e.cause.contains("500"), "{e}");
}

#[tokio::test]
async fn slow_answer_times_out_naming_the_seconds() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::Slow(Duration::from_secs(3)));
    let h = http(served.url(), 0.3, 0);
    let started = Instant::now();
    let e = get_ping(&h, Retry::Read).await.expect_err("timeout");
    assert!(started.elapsed() < Duration::from_secs(2), "gave up at the timeout");
    assert!(e.cause.contains("no answer from") && e.cause.contains("within 0.3 s"), "{e}");
}

#[tokio::test]
async fn malformed_json_is_named() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::Malformed);
    let h = http(served.url(), 2.0, 2);
    let e = get_ping(&h, Retry::Read).await.expect_err("malformed");
    assert!(e.cause.starts_with("malformed response"), "{e}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1, "a 200 with bad JSON is not retried");
}

#[tokio::test]
async fn unauthorized_names_credentials_and_is_not_retried() {
    let (fake, served) = start().await;
    fake.faults.set(Fault::Unauthorized);
    let h = http(served.url(), 2.0, 2);
    let e = get_ping(&h, Retry::Read).await.expect_err("401");
    assert!(e.cause.contains("401") && e.cause.contains("credentials"), "{e}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let (fake, served) = start().await;
    fake.limited.store(1, Ordering::SeqCst);
    let h = http(served.url(), 2.0, 2);
    let started = Instant::now();
    assert_eq!(get_ping(&h, Retry::Read).await.expect("after waiting"), Pong { ok: true });
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "waited {waited:?}, Retry-After says 1 s");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn rate_limit_exhausted_is_named() {
    let (fake, served) = start().await;
    fake.limited.store(10, Ordering::SeqCst);
    let h = http(served.url(), 2.0, 1);
    let e = get_ping(&h, Retry::Read).await.expect_err("429");
    assert!(e.cause.contains("429") && e.cause.contains("rate limited"), "{e}");
    assert_eq!(fake.hits.load(Ordering::SeqCst), 2);
}

#[test]
fn bad_config_is_refused() {
    let e = Http::new("x", &Endpoint::new("ftp://host"), Auth::None).expect_err("scheme");
    assert!(e.cause.contains("http://"), "{e}");
    let ep = Endpoint { timeout_secs: 0.0, ..Endpoint::new("http://h") };
    assert!(Http::new("x", &ep, Auth::None).is_err());
}
