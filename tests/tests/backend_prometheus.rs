//! The Prometheus driver against a real Prometheus serving backfilled data.

use chrono::{Duration, Utc};
use pipilu_e2e::servers::{Prometheus, SEEDED_PODS, seed_openmetrics};
use skills::Window;
use skills::backends::MetricsBackend;
use skills::drivers::http::{Auth, Endpoint};
use skills::drivers::prometheus::{self, Queries};

async fn seeded() -> pipilu_e2e::servers::RunningPrometheus {
    Prometheus::start(&seed_openmetrics(Utc::now(), 4)).await
}

fn client(url: &str, queries: Queries) -> prometheus::Prometheus {
    prometheus::Prometheus::new(&Endpoint::new(url), Auth::None, queries).expect("client")
}

fn last(hours: i64) -> Window {
    let to = Utc::now();
    Window { from: to - Duration::hours(hours), to }
}

#[tokio::test]
async fn series_of_the_seeded_pods_have_plausible_values() {
    let server = seeded().await;
    let p = client(&server.url(), Queries::default());
    // (service, metric, plausible range per point)
    let cases: &[(&str, &str, std::ops::RangeInclusive<f64>)] = &[
        ("latte", "cpu", 15.0..=60.0),
        ("latte", "memory", 250.0..=400.0),
        ("latte", "requests", 25.0..=55.0),
        ("latte", "errors", 0.2..=0.6),
        ("latte", "latency_p99", 250.0..=500.0),
        ("payments-api", "cpu", 5.0..=20.0),
        ("payments-api", "errors", 0.3..=0.9),
    ];
    for (service, metric, plausible) in cases {
        let series = p.series(service, metric, last(3)).await.unwrap_or_else(|e| panic!("{service} {metric}: {e}"));
        let mut names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
        names.sort();
        let mut want: Vec<&str> =
            SEEDED_PODS.iter().copied().filter(|p| p.starts_with(&format!("{service}-"))).collect();
        want.sort();
        assert_eq!(names, want, "{service} {metric}");
        for s in &series {
            assert!((120..=300).contains(&s.points.len()), "{service} {metric} {}: {} points", s.name, s.points.len());
            assert!(s.points.windows(2).all(|w| w[0].0 < w[1].0), "points in time order");
            let bad: Vec<f64> = s.points.iter().map(|p| p.1).filter(|v| !plausible.contains(v)).collect();
            assert!(bad.is_empty(), "{service} {metric} {}: implausible {bad:?}", s.name);
        }
    }
    // "payments" is not "payments-api": a Deployment's pods only.
    assert!(p.series("payments", "cpu", last(3)).await.unwrap().is_empty());
    // A window before the seed: nothing, not an error.
    let before = Window { from: Utc::now() - Duration::days(3), to: Utc::now() - Duration::days(2) };
    assert!(p.series("latte", "cpu", before).await.unwrap().is_empty());
}

#[tokio::test]
async fn hostile_service_names_match_nothing_and_inject_nothing() {
    let server = seeded().await;
    let p = client(&server.url(), Queries::default());
    let hostile = [
        r#"a"} or vector(1) #"#,
        r#"latte"} or container_memory_working_set_bytes{pod=~".+"#,
        "latte\\",
        "latte\\\"",
        "}",
        "latte\n",
        "latte\"\n) or vector(1",
        "|~",
        ".*",
        "latte|payments-api",
        "lat.e",
        "$service_re",
        "\u{0}\u{7f}é中",
    ];
    for name in hostile {
        for metric in ["cpu", "memory", "requests", "errors", "latency_p99"] {
            match p.series(name, metric, last(1)).await {
                Ok(series) => assert!(series.is_empty(), "{name:?} {metric} matched {series:?}"),
                Err(e) => panic!("{name:?} {metric}: the query broke: {e}"),
            }
        }
    }
    // The same machinery still finds the real service.
    assert_eq!(p.series("latte", "cpu", last(1)).await.unwrap().len(), 2);
}

#[tokio::test]
async fn instant_queries_read_vectors_and_scalars() {
    let server = seeded().await;
    let p = client(&server.url(), Queries::default());
    let counts = p.instant("count by (namespace) (container_memory_working_set_bytes)").await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].labels.get("namespace").map(String::as_str), Some("default"));
    assert_eq!(counts[0].value, 4.0);
    let scalar = p.instant("scalar(vector(42))").await.unwrap();
    assert_eq!(scalar.len(), 1);
    assert_eq!(scalar[0].value, 42.0);
    assert!(scalar[0].labels.is_empty());
}

#[tokio::test]
async fn promql_errors_are_reported_in_prometheus_words() {
    let server = seeded().await;
    let broken = Queries {
        cpu: r#"sum(rate(container_cpu_usage_seconds_total{pod="$service"}[5m])"#.into(),
        ..Queries::default()
    };
    let p = client(&server.url(), broken);
    let e = p.series("latte", "cpu", last(1)).await.unwrap_err();
    assert_eq!(e.backend, "prometheus");
    assert_eq!(e.call, "query_range cpu latte");
    assert!(e.cause.starts_with("bad_data: "), "{e}");
    assert!(e.cause.contains("parse error"), "{e}");
    // A query that parses but cannot run: Prometheus' execution error.
    let e = p.instant(r#"label_replace(vector(1), "x", "$1", "y", "(")"#).await.unwrap_err();
    assert_eq!(e.cause, "execution: invalid regular expression in label_replace(): (");
    let e = p.series("latte", "disk", last(1)).await.unwrap_err();
    assert!(e.cause.contains("unknown metric 'disk'"), "{e}");
}

#[tokio::test]
async fn a_server_that_is_down_cannot_be_connected_to() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = Endpoint { retries: 0, ..Endpoint::new(format!("http://127.0.0.1:{port}")) };
    let p = prometheus::Prometheus::new(&endpoint, Auth::None, Queries::default()).unwrap();
    let e = p.series("latte", "cpu", last(1)).await.unwrap_err();
    assert!(e.cause.contains("cannot connect"), "{e}");
    assert_eq!(e.to_string().split(':').next(), Some("prometheus"));
}

#[tokio::test]
async fn an_empty_prometheus_starts_and_answers_nothing() {
    let server = Prometheus::start("").await;
    let p = client(&server.url(), Queries::default());
    assert!(p.series("latte", "cpu", last(1)).await.unwrap().is_empty());
}
