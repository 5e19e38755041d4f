//! The Grafana driver against the fake Grafana, and its fallback drawing from a
//! real Prometheus when Grafana has no image renderer.

use chrono::{Duration, TimeZone, Utc};
use pipilu_e2e::fakes::Fault;
use pipilu_e2e::fakes::grafana::{FakeGrafana, Renderer, TOKEN};
use pipilu_e2e::servers::{Prometheus, seed_openmetrics};
use skills::backends::GraphBackend;
use skills::drivers::grafana::{FALLBACK_NOTE, Grafana};
use skills::drivers::http::{Auth, Endpoint};
use skills::drivers::prometheus::{self, Queries};
use skills::{Block, DemoEstate, Request, Skill, Window};
use std::sync::Arc;

fn endpoint(url: &str) -> Endpoint {
    Endpoint { retries: 0, ..Endpoint::new(url) }
}

fn client(url: &str) -> Grafana {
    Grafana::new(&endpoint(url), Auth::Bearer(TOKEN.into()), None).expect("client")
}

/// Width and height from a PNG's header, after checking the signature.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |r: std::ops::Range<usize>| png.get(r).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes);
    Some((be(16..20)?, be(20..24)?))
}

/// Pixels of the first series' line colour in pipilu's charts.
fn line_pixels(png: &[u8]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    buf[..info.buffer_size()].chunks(3).filter(|p| p == &[31, 119, 180]).count()
}

#[tokio::test]
async fn dashboards_panels_and_searches() {
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    let g = client(&served.url());
    let boards = g.dashboards().await.unwrap();
    let uids: Vec<&str> = boards.iter().map(|d| d.uid.as_str()).collect();
    assert_eq!(uids, vec!["latte", "payments"]);
    let latte: Vec<(u32, &str)> = boards[0].panels.iter().map(|p| (p.id, p.title.as_str())).collect();
    // The collapsed row's panel is there; the row itself is not.
    assert_eq!(latte, vec![(1, "CPU"), (2, "Memory"), (3, "Requests per second"), (4, "Latency p99")]);

    let detail = g.dashboard("latte").await.unwrap();
    assert_eq!(detail.slug, "latte-overview");
    assert_eq!(detail.variables, vec![("namespace".to_string(), "default".to_string())]);
    assert_eq!(detail.panels[0].unit, "percent");
    assert_eq!(detail.panels[2].exprs.len(), 1, "hidden targets are left out");
    assert!(g.dashboard("nope").await.unwrap_err().not_found);

    let hits = g.search("PAY", None).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.uid.as_str()).collect::<Vec<_>>(), vec!["payments"]);
    let tagged = g.search("", Some("kubernetes")).await.unwrap();
    assert_eq!(tagged.iter().map(|h| h.uid.as_str()).collect::<Vec<_>>(), vec!["latte"]);
}

#[tokio::test]
async fn render_asks_for_the_panel_window_and_size() {
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    let g = client(&served.url());
    let to = Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).single().unwrap();
    let window = Window { from: to - Duration::minutes(30), to };
    let image = g.render("latte", 3, window, 800, 400).await.unwrap();
    assert_eq!(png_size(&image.png), Some((800, 400)));
    assert_eq!(image.note, None, "Grafana's own image needs no note");

    let asked = fake.renders();
    assert_eq!(asked.len(), 1);
    let r = &asked[0];
    assert_eq!((r.uid.as_str(), r.slug.as_str()), ("latte", "latte-overview"));
    let p = |k: &str| r.params.get(k).map(String::as_str);
    assert_eq!(p("panelId"), Some("3"));
    assert_eq!(p("orgId"), Some("1"));
    assert_eq!(p("from"), Some("1741944600000"));
    assert_eq!(p("to"), Some("1741946400000"));
    assert_eq!((p("width"), p("height")), (Some("800"), Some("400")));

    let e = g.render("latte", 99, window, 800, 400).await.unwrap_err();
    assert!(e.not_found && e.cause.contains("panel 99"), "{e}");
    assert_eq!(fake.renders().len(), 1, "an unknown panel is not sent to the renderer");
}

#[tokio::test]
async fn without_a_renderer_panels_are_drawn_from_prometheus_and_say_so() {
    let prom = Prometheus::start(&seed_openmetrics(Utc::now(), 3)).await;
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    let p = prometheus::Prometheus::new(&endpoint(&prom.url()), Auth::None, Queries::default()).unwrap();
    let g = Grafana::new(&endpoint(&served.url()), Auth::Bearer(TOKEN.into()), Some(Arc::new(p))).unwrap();
    let to = Utc::now();
    let window = Window { from: to - Duration::hours(1), to };
    for mode in [Renderer::Missing, Renderer::MissingNotFound, Renderer::NotPng] {
        fake.set_renderer(mode);
        let image = g.render("latte", 1, window, 800, 400).await.unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(png_size(&image.png), Some((800, 400)), "{mode:?}");
        assert_eq!(image.note.as_deref(), Some(FALLBACK_NOTE), "{mode:?}");
        // Drawn with data ($namespace and $__rate_interval resolved), not "no data".
        let drawn = line_pixels(&image.png);
        if drawn <= 200 {
            let _ = std::fs::write(std::env::temp_dir().join("pipilu-fallback-failed.png"), &image.png);
        }
        assert!(drawn > 200, "{mode:?}: the series is drawn ({drawn} px)");
    }

    // The snapshot card carries the note.
    let estate = Arc::new(DemoEstate::new(1));
    let mut backends = estate.backends();
    backends.graphs = Arc::new(g);
    let req = Request { dashboard: Some("latte".into()), panel: Some("cpu".into()), ..Request::default() };
    let card = skills::skills::GrafanaSnapshot.run(&req, &backends).await.unwrap();
    assert_eq!(card.title, "latte-overview / CPU");
    assert!(card.blocks.contains(&Block::Text { text: FALLBACK_NOTE.into() }), "{:?}", card.blocks);
    assert!(card.image.is_some());

    // No Prometheus to fall back on: say what is missing.
    let bare = client(&served.url());
    let e = bare.render("latte", 1, window, 800, 400).await.unwrap_err();
    assert!(e.cause.contains("no image renderer") && e.cause.contains("Prometheus"), "{e}");
}

#[tokio::test]
async fn a_rejected_token_is_reported() {
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    let g = Grafana::new(&endpoint(&served.url()), Auth::Bearer("wrong".into()), None).unwrap();
    let e = g.dashboards().await.unwrap_err();
    assert_eq!(e.backend, "grafana");
    assert!(e.cause.contains("401") && e.cause.contains("credentials rejected"), "{e}");
    // The fault switch gives the same answer to the right token.
    fake.fault.set(Fault::Unauthorized);
    assert!(client(&served.url()).dashboards().await.unwrap_err().cause.contains("credentials rejected"));
}

#[tokio::test]
async fn malformed_answers_and_server_errors_are_reported() {
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    let g = client(&served.url());
    fake.fault.set(Fault::Malformed);
    let e = g.dashboards().await.unwrap_err();
    assert!(e.cause.contains("malformed response"), "{e}");
    fake.fault.set(Fault::ServerError);
    let window = Window { from: Utc::now() - Duration::hours(1), to: Utc::now() };
    let e = g.render("latte", 1, window, 800, 400).await.unwrap_err();
    assert!(e.cause.contains("500") && e.cause.contains("server error"), "{e}");
}

#[tokio::test]
async fn a_slow_grafana_times_out() {
    let fake = FakeGrafana::new();
    let served = fake.serve().await;
    fake.fault.set(Fault::Slow(std::time::Duration::from_secs(3)));
    let slow = Endpoint { timeout_secs: 0.3, retries: 0, ..Endpoint::new(served.url()) };
    let g = Grafana::new(&slow, Auth::Bearer(TOKEN.into()), None).unwrap();
    let started = std::time::Instant::now();
    let e = g.dashboards().await.unwrap_err();
    assert!(e.cause.contains("no answer") && e.cause.contains("0.3 s"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}
