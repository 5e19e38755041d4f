//! The Loki driver against the fake Loki: lines, totals, levels, environments,
//! and hostile words that must be searched literally.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pipilu_e2e::fakes::loki::LokiFake;
use pipilu_e2e::fakes::{Fault, serve};
use skills::Window;
use skills::backends::{LogQuery, LogsBackend};
use skills::drivers::http::{Auth, Endpoint};
use skills::drivers::loki::{LevelSource, Loki, LokiLabels};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, 10, 0, 0).single().expect("valid time")
}

fn at(min: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(min)
}

fn query(service: &str) -> LogQuery {
    LogQuery {
        service: service.into(),
        env: None,
        window: Window { from: at(-60), to: t0() },
        query: None,
        level: None,
        limit: 3,
    }
}

fn client(url: String, labels: LokiLabels) -> Loki {
    let mut ep = Endpoint::new(url);
    ep.timeout_secs = 2.0;
    ep.retries = 0;
    Loki::new(&ep, Auth::None, labels).expect("client")
}

/// checkout in prod (two pods, mixed levels) and staging, plus another service.
fn seeded() -> LokiFake {
    let fake = LokiFake::new();
    let prod = [("service", "checkout"), ("env", "prod")];
    fake.seed(
        &[prod[0], prod[1], ("pod", "checkout-a"), ("level", "info")],
        &[(at(-50), "GET /cart 200 12ms"), (at(-40), "GET /cart 200 9ms"), (at(-5), "GET /pay 200 30ms")],
    );
    fake.seed(
        &[prod[0], prod[1], ("pod", "checkout-b"), ("level", "error")],
        &[(at(-30), "payment gateway timeout"), (at(-10), "payment gateway refused")],
    );
    fake.seed(&[prod[0], prod[1], ("pod", "checkout-b"), ("level", "info")], &[(at(-120), "too old to be seen")]);
    fake.seed(
        &[("service", "checkout"), ("env", "staging"), ("pod", "checkout-s"), ("level", "warn")],
        &[(at(-20), "staging only line")],
    );
    fake.seed(&[("service", "search"), ("env", "prod"), ("pod", "search-a"), ("level", "info")], &[(at(-3), "hit")]);
    fake
}

#[tokio::test]
async fn newest_lines_first_and_total_counts_all_matches() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    let r = loki.query(&LogQuery { env: Some("prod".into()), ..query("checkout") }).await.expect("query");
    let msgs: Vec<&str> = r.lines.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(msgs, ["GET /pay 200 30ms", "payment gateway refused", "payment gateway timeout"]);
    assert_eq!(r.total, 5, "all five prod lines in the window, not just the three returned");
    assert_eq!(r.lines[0].ts, at(-5));
    assert_eq!(r.lines[0].instance, "checkout-a");
    assert_eq!(r.lines[1].instance, "checkout-b");
    assert_eq!(r.lines[1].level, "error");
    assert_eq!(r.lines[0].level, "info");
}

#[tokio::test]
async fn env_selects_streams_and_no_env_means_all() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    let staging = loki.query(&LogQuery { env: Some("staging".into()), ..query("checkout") }).await.expect("query");
    assert_eq!(staging.total, 1);
    assert_eq!(staging.lines[0].message, "staging only line");
    assert_eq!(staging.lines[0].level, "warn");
    let all = loki.query(&LogQuery { limit: 10, ..query("checkout") }).await.expect("query");
    assert_eq!(all.total, 6);
    assert_eq!(all.lines.len(), 6);
    assert!(all.lines.windows(2).all(|w| w[0].ts >= w[1].ts), "newest first");
}

#[tokio::test]
async fn level_filter_uses_the_level_label() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    let r = loki
        .query(&LogQuery { env: Some("prod".into()), level: Some("ERR".into()), ..query("checkout") })
        .await
        .expect("query");
    assert_eq!(r.total, 2);
    assert!(r.lines.iter().all(|l| l.level == "error"));
    assert!(fake.matchers().contains(&("level".into(), "=".into(), "error".into())));
}

#[tokio::test]
async fn configured_labels_and_logfmt_level() {
    let fake = LokiFake::new();
    fake.seed(
        &[("app", "billing"), ("namespace", "prod"), ("instance", "billing-0")],
        &[
            (at(-30), "level=error msg=\"card declined\""),
            (at(-20), "level=info msg=ok"),
            (at(-10), "level=error msg=again"),
        ],
    );
    let served = serve(fake.router()).await;
    let labels = LokiLabels {
        service: "app".into(),
        env: "namespace".into(),
        level: LevelSource::Logfmt("level".into()),
        ..LokiLabels::default()
    };
    let loki = client(served.url(), labels);
    let q = LogQuery { env: Some("prod".into()), level: Some("error".into()), ..query("billing") };
    let r = loki.query(&q).await.expect("query");
    assert_eq!(r.total, 2);
    assert_eq!(
        r.lines.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
        ["level=error msg=again", "level=error msg=\"card declined\""]
    );
    assert!(r.lines.iter().all(|l| l.level == "error" && l.instance == "billing-0"));
    let unfiltered = loki.query(&LogQuery { level: None, ..q }).await.expect("query");
    assert_eq!(unfiltered.total, 3);
    assert_eq!(unfiltered.lines[1].level, "info", "level read from the parsed line");
}

#[tokio::test]
async fn empty_result() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    let r = loki.query(&LogQuery { query: Some("no such words".into()), ..query("checkout") }).await.expect("query");
    assert!(r.lines.is_empty());
    assert_eq!(r.total, 0);
    let none = loki.query(&query("unknown-service")).await.expect("query");
    assert_eq!((none.lines.len(), none.total), (0, 0));
}

const HOSTILE: &[&str] = &[
    r#"say "hi""#,
    r"C:\temp\new",
    r#"\"} |~ ".*"#,
    "} or {service=\"search\"",
    "`backtick` `",
    "line\nbreak",
    "tab\there",
    "\" or 1=1",
    "ünïcödé ✓ 日本",
    "bell\u{7}char",
    "|= \"\" != \"x",
    "trailing backslash \\",
];

#[tokio::test]
async fn hostile_words_round_trip_literally() {
    let fake = LokiFake::new();
    let mut lines = vec![(at(-59), "plain line".to_string())];
    for (i, h) in HOSTILE.iter().enumerate() {
        lines.push((at(-50 + i as i64), format!("before {h} after")));
    }
    let seeded: Vec<(DateTime<Utc>, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
    fake.seed(&[("service", "evil"), ("level", "info")], &seeded);
    // Another service whose lines would match if the selector were broken out of.
    fake.seed(&[("service", "search"), ("level", "info")], &seeded);
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    for (i, h) in HOSTILE.iter().enumerate() {
        let r = loki
            .query(&LogQuery { query: Some(h.to_string()), limit: 10, ..query("evil") })
            .await
            .unwrap_or_else(|e| panic!("query {h:?} failed: {e}"));
        assert_eq!(r.lines.len(), 1, "{h:?} finds exactly its line, got {:?}", r.lines);
        assert_eq!(r.lines[0].message, format!("before {h} after"));
        assert_eq!(r.lines[0].ts, at(-50 + i as i64));
        assert_eq!(r.total, 1, "{h:?}");
        let filters = fake.line_filters();
        let n = filters.len();
        assert!(n >= 2, "both queries parsed");
        assert_eq!(filters[n - 2], *h, "lines query carries the words unescaped exactly");
        assert_eq!(filters[n - 1], *h, "count query carries the words unescaped exactly");
    }
    // Hostile service and env values stay inside their label values too.
    let r = loki
        .query(&LogQuery { env: Some("prod\"} or {x=\"".into()), ..query("evil\", service=\"search") })
        .await
        .expect("query");
    assert_eq!((r.lines.len(), r.total), (0, 0));
    assert!(fake.matchers().contains(&("service".into(), "=".into(), "evil\", service=\"search".into())));
}

#[tokio::test]
async fn malformed_query_is_rejected_like_loki() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let url = format!("{}/loki/api/v1/query_range", served.url());
    let resp = reqwest::Client::new()
        .get(&url)
        .query(&[
            ("query", r#"{service="checkout"} |= "open"#),
            ("start", "0"),
            ("end", "1"),
            ("direction", "backward"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let body = resp.text().await.expect("body");
    assert!(body.starts_with("parse error at line 1, col "), "{body}");
}

#[tokio::test]
async fn faults_become_named_errors() {
    let fake = seeded();
    let served = serve(fake.router()).await;
    let loki = client(served.url(), LokiLabels::default());
    fake.faults.set(Fault::Unauthorized);
    let e = loki.query(&query("checkout")).await.expect_err("401");
    assert_eq!(e.backend, "loki");
    assert!(e.cause.contains("credentials"), "{e}");
    fake.faults.set(Fault::Malformed);
    let e = loki.query(&query("checkout")).await.expect_err("malformed");
    assert!(e.cause.contains("malformed response"), "{e}");
}

#[test]
fn bad_label_names_are_refused() {
    let labels = LokiLabels { service: "app}".into(), ..LokiLabels::default() };
    let e = Loki::new(&Endpoint::new("http://127.0.0.1:1"), Auth::None, labels).expect_err("invalid");
    assert!(e.cause.contains("label name"), "{e}");
}
