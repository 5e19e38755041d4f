//! The Elasticsearch/OpenSearch driver against the fake: lines, exact totals,
//! levels, environments, configurable fields, and hostile words that reach the
//! query DSL as one string value.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pipilu_e2e::fakes::elasticsearch::EsFake;
use pipilu_e2e::fakes::{Fault, serve};
use serde_json::json;
use skills::Window;
use skills::backends::{LogQuery, LogsBackend};
use skills::drivers::elasticsearch::{Elasticsearch, EsFields};
use skills::drivers::http::{Auth, Endpoint};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).single().expect("valid time")
}

fn at(min: i64) -> String {
    (t0() + Duration::minutes(min)).to_rfc3339()
}

fn query(service: &str) -> LogQuery {
    LogQuery {
        service: service.into(),
        env: None,
        window: Window { from: t0() - Duration::minutes(60), to: t0() },
        query: None,
        level: None,
        limit: 3,
    }
}

fn client(url: String, index: &str, fields: EsFields) -> Elasticsearch {
    let ep = Endpoint { timeout_secs: 2.0, retries: 0, ..Endpoint::new(url) };
    Elasticsearch::new(&ep, Auth::Basic { user: "u".into(), password: "p".into() }, index, fields).expect("client")
}

fn doc(min: i64, service: &str, env: &str, level: &str, host: &str, msg: &str) -> serde_json::Value {
    json!({"@timestamp": at(min), "message": msg, "service": {"name": service, "environment": env},
           "log": {"level": level}, "host": {"name": host}})
}

fn seeded() -> EsFake {
    let fake = EsFake::new();
    let i = "logs-2025.03.04";
    fake.seed(i, doc(-50, "checkout", "prod", "info", "checkout-a", "GET /cart 200"));
    fake.seed(i, doc(-40, "checkout", "prod", "INFO", "checkout-a", "GET /cart 200 again"));
    fake.seed(i, doc(-30, "checkout", "prod", "ERROR", "checkout-b", "payment gateway timeout"));
    fake.seed(i, doc(-10, "checkout", "prod", "error", "checkout-b", "payment gateway refused"));
    fake.seed(i, doc(-5, "checkout", "prod", "info", "checkout-a", "GET /pay 200"));
    fake.seed(i, doc(-90, "checkout", "prod", "info", "checkout-a", "too old"));
    fake.seed(i, doc(-20, "checkout", "staging", "warning", "checkout-s", "staging only"));
    fake.seed(i, doc(-3, "search", "prod", "info", "search-a", "payment gateway elsewhere"));
    fake.seed("other-index", doc(-2, "checkout", "prod", "info", "x", "not in the pattern"));
    fake
}

#[tokio::test]
async fn newest_lines_and_exact_total() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let es = client(served.url(), "logs-*", EsFields::default());
    let r = es.query(&LogQuery { env: Some("prod".into()), ..query("checkout") }).await.expect("query");
    let msgs: Vec<&str> = r.lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(msgs, ["GET /pay 200", "payment gateway refused", "payment gateway timeout"]);
    assert_eq!(r.total, 5);
    assert_eq!(r.lines[1].level, "error");
    assert_eq!(r.lines[2].instance, "checkout-b");
    assert_eq!(r.lines[0].ts.to_rfc3339(), at(-5));
    let body = fake.bodies().pop().expect("a body");
    assert_eq!(body["track_total_hits"], true);
    assert_eq!(body["size"], 3);
    assert_eq!(body["sort"][0]["@timestamp"]["order"], "desc");
}

#[tokio::test]
async fn env_level_and_words() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let es = client(served.url(), "logs-*", EsFields::default());
    let staging = es.query(&LogQuery { env: Some("staging".into()), limit: 10, ..query("checkout") }).await.expect("q");
    assert_eq!((staging.total, staging.lines[0].message.as_str()), (1, "staging only"));
    let all = es.query(&LogQuery { limit: 10, ..query("checkout") }).await.expect("q");
    assert_eq!(all.total, 6);
    let errors = es.query(&LogQuery { level: Some("err".into()), limit: 10, ..query("checkout") }).await.expect("q");
    assert_eq!(errors.total, 2, "error and ERROR both count");
    assert!(errors.lines.iter().all(|l| l.level == "error"));
    let warn = es.query(&LogQuery { level: Some("warn".into()), limit: 10, ..query("checkout") }).await.expect("q");
    assert_eq!(warn.total, 1, "warning is a warn");
    let words = es.query(&LogQuery { query: Some("Gateway Refused".into()), ..query("checkout") }).await.expect("q");
    assert_eq!(words.total, 1);
    assert_eq!(words.lines[0].message, "payment gateway refused");
}

#[tokio::test]
async fn empty_result() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let es = client(served.url(), "logs-*", EsFields::default());
    let r = es.query(&LogQuery { query: Some("flux capacitor".into()), ..query("checkout") }).await.expect("q");
    assert_eq!((r.lines.len(), r.total), (0, 0));
}

#[tokio::test]
async fn configured_fields_flat_documents() {
    let fake = EsFake::new();
    fake.seed(
        "app",
        json!({"ts": at(-10), "msg": "boom", "app": "billing", "ns": "prod", "severity": "Error", "pod": "b-0"}),
    );
    fake.seed(
        "app",
        json!({"ts": at(-5), "msg": "fine", "app": "billing", "ns": "prod", "severity": "info", "pod": "b-1"}),
    );
    let served = serve(fake.router()).await;
    let fields = EsFields {
        timestamp: "ts".into(),
        message: "msg".into(),
        service: "app".into(),
        level: "severity".into(),
        instance: "pod".into(),
        env: "ns".into(),
    };
    let es = client(served.url(), "app", fields);
    let r = es
        .query(&LogQuery { env: Some("prod".into()), level: Some("error".into()), ..query("billing") })
        .await
        .expect("q");
    assert_eq!(r.total, 1);
    assert_eq!(
        (r.lines[0].message.as_str(), r.lines[0].instance.as_str(), r.lines[0].level.as_str()),
        ("boom", "b-0", "error")
    );
}

const HOSTILE: &[&str] = &[
    r#"say "hi" now"#,
    r"path C:\temp\new",
    "} or {\"match_all\": {}",
    "line\nbreak here",
    "\" or 1=1 --",
    "service.name:* OR *",
    "ünïcödé ✓ 日本",
    "`backtick` |~ query",
];

#[tokio::test]
async fn hostile_words_are_one_phrase_value() {
    let fake = EsFake::new();
    let idx = "logs-1";
    fake.seed(idx, doc(-59, "evil", "prod", "info", "h", "plain line"));
    for (i, h) in HOSTILE.iter().enumerate() {
        fake.seed(idx, doc(-50 + i as i64, "evil", "prod", "info", "h", &format!("marker{i} {h} end")));
    }
    // Lines of another service that a broken-out query would find.
    fake.seed(idx, doc(-1, "search", "prod", "info", "h", "marker0 say hi now"));
    let served = serve(fake.router()).await;
    let es = client(served.url(), "logs-*", EsFields::default());
    for (i, h) in HOSTILE.iter().enumerate() {
        let words = format!("marker{i} {h}");
        let r = es
            .query(&LogQuery { query: Some(words.clone()), limit: 10, ..query("evil") })
            .await
            .unwrap_or_else(|e| panic!("query {h:?} failed: {e}"));
        assert_eq!(r.total, 1, "{h:?} finds exactly its line: {:?}", r.lines);
        assert_eq!(r.lines[0].message, format!("{words} end"));
        assert_eq!(fake.phrases().last(), Some(&words), "the phrase arrives as the exact string");
        let body = fake.bodies().pop().expect("body");
        assert!(body.to_string().find("query_string").is_none());
    }
}

#[tokio::test]
async fn faults_and_bad_config() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let es = client(served.url(), "logs-*", EsFields::default());
    fake.faults.set(Fault::Unauthorized);
    let e = es.query(&query("checkout")).await.expect_err("401");
    assert!(e.backend == "elasticsearch" && e.cause.contains("credentials"), "{e}");
    fake.faults.set(Fault::Malformed);
    let e = es.query(&query("checkout")).await.expect_err("malformed");
    assert!(e.cause.contains("malformed response"), "{e}");
    let bad = Elasticsearch::new(&Endpoint::new(served.url()), Auth::None, "logs/../_all", EsFields::default());
    assert!(bad.is_err());
}
