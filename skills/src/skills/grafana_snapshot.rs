//! "graf db loadbalancers:2 now-30m": one dashboard panel as a PNG.
//!
//! Names are forgiving: a dashboard is found by title, uid or a close name, a
//! panel by id, title, the metric it shows ("cpu", "延迟") or a close title, and
//! hubot's `name:panel` form is understood.

use super::common::{backend_error, footer, now, suggest, typo_similarity, window_or_last};
use crate::backends::{Backends, Dashboard, Panel};
use crate::card::{Card, Image, Status};
use crate::format;
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;
use chrono::Duration;

/// Image size: readable on a phone, small enough to upload fast.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 400;
/// Edit similarity at which a misspelt name is taken without asking ("paymnets");
/// below it the user gets suggestions, never a guess.
const TAKE_AT: f64 = 0.8;

/// Renders a dashboard panel.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrafanaSnapshot;

#[async_trait]
impl Skill for GrafanaSnapshot {
    fn intent(&self) -> &'static str {
        "grafana_snapshot"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &["dashboard"]
    }

    fn risk(&self) -> Risk {
        Risk::Read
    }

    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError> {
        // "graph latte cpu" names a service; its dashboard is the best guess.
        let asked = req
            .dashboard
            .as_deref()
            .or(req.service.as_deref())
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .ok_or(SkillError::Missing("dashboard"))?;
        let (name, inline_panel) = split_panel(asked);
        let panel_asked = req.panel.as_deref().map(str::trim).filter(|p| !p.is_empty()).or(inline_panel);

        let boards = backends.graphs.dashboards().await.map_err(backend_error)?;
        let board = find_dashboard(&boards, name).ok_or_else(|| SkillError::Unknown {
            kind: "dashboard",
            name: name.to_string(),
            suggestions: or_all(suggest(name, boards.iter().map(|d| d.title.clone())), boards.iter().map(|d| &d.title)),
        })?;
        let panel = match panel_asked {
            None => board.panels.first(),
            Some(p) => find_panel(&board.panels, p),
        };
        let panel = panel.ok_or_else(|| {
            let asked = panel_asked.unwrap_or_default();
            let titles = board.panels.iter().map(|p| p.title.clone());
            SkillError::Unknown {
                kind: "panel",
                name: asked.to_string(),
                suggestions: or_all(suggest(asked, titles), board.panels.iter().map(|p| &p.title)),
            }
        })?;

        let at = now(req);
        let window = window_or_last(req, Duration::hours(1));
        let rendered =
            backends.graphs.render(&board.uid, panel.id, window, WIDTH, HEIGHT).await.map_err(backend_error)?;
        let range = format::range(window, at);
        let title = format!("{} / {}", board.title, panel.title);
        let image = Image {
            png: rendered.png,
            alt: format!("{title}, {range}"),
            file_name: format!("{}-{}.png", board.title, panel.id),
        };
        let mut card = Card::new(title, Status::Ok)
            .field("dashboard", board.title.clone())
            .field("panel", format!("{} (#{})", panel.title, panel.id))
            .field("range", format::range_long(window, at));
        // Say so when the picture is not Grafana's own (no image renderer).
        if let Some(note) = rendered.note {
            card = card.text(note);
        }
        Ok(card.image(image).footer(footer(backends.graphs.name(), at)))
    }
}

/// Splits hubot's "loadbalancers:2" into name and panel.
fn split_panel(asked: &str) -> (&str, Option<&str>) {
    match asked.rsplit_once(':') {
        Some((name, panel)) if !name.trim().is_empty() && !panel.trim().is_empty() => (name.trim(), Some(panel.trim())),
        _ => (asked, None),
    }
}

/// Letters and digits only, lower case: "Load Balancers" and "loadbalancers" agree.
fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Suggestions, or every name when none is close (a short list beats none).
fn or_all<'a>(close: Vec<String>, all: impl Iterator<Item = &'a String>) -> Vec<String> {
    if close.is_empty() { all.cloned().collect() } else { close }
}

/// The best of `items` by `score`, if it reaches `at`.
fn best<T>(items: &[T], at: f64, score: impl Fn(&T) -> f64) -> Option<&T> {
    items.iter().map(|i| (score(i), i)).filter(|(s, _)| *s >= at).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, i)| i)
}

/// By uid or title, then ignoring spaces and dashes, then by a word of the
/// title ("latte" is latte-overview), then by a misspelling of a title or uid.
fn find_dashboard<'a>(boards: &'a [Dashboard], name: &str) -> Option<&'a Dashboard> {
    let wanted = squash(name);
    let exact = |d: &&Dashboard| d.uid.eq_ignore_ascii_case(name) || d.title.eq_ignore_ascii_case(name);
    let squashed = |d: &&Dashboard| squash(&d.title) == wanted || squash(&d.uid) == wanted;
    let by_word = |d: &&Dashboard| {
        let title = d.title.to_lowercase();
        let mut words = title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 3);
        // "latte" names latte-overview; "payments-api" names payments.
        words.any(|w| w == name.to_lowercase() || name.to_lowercase().split('-').next() == Some(w))
    };
    boards
        .iter()
        .find(exact)
        .or_else(|| boards.iter().find(squashed))
        .or_else(|| boards.iter().find(by_word))
        .or_else(|| best(boards, TAKE_AT, |d| typo_similarity(name, &d.title).max(typo_similarity(name, &d.uid))))
}

/// What a panel shows, from words users type (English and Chinese).
fn concept(text: &str) -> Option<&'static str> {
    const CONCEPTS: &[(&str, &[&str])] = &[
        ("cpu", &["cpu", "处理器"]),
        ("memory", &["memory", "mem", "ram", "heap", "内存"]),
        ("latency", &["latency", "p99", "slow", "response time", "延迟", "耗时"]),
        ("errors", &["error", "5xx", "fail", "错误", "报错", "失败"]),
        ("connections", &["connection", "conn", "连接"]),
        ("requests", &["request", "rps", "throughput", "traffic", "qps", "请求", "流量"]),
    ];
    let t = text.to_lowercase();
    CONCEPTS.iter().find(|(_, words)| words.iter().any(|w| t.contains(w))).map(|(c, _)| *c)
}

/// By id, then title, then a title containing the words, then what it shows,
/// then a misspelt title.
fn find_panel<'a>(panels: &'a [Panel], asked: &str) -> Option<&'a Panel> {
    if let Ok(id) = asked.trim_start_matches('#').parse::<u32>() {
        return panels.iter().find(|p| p.id == id);
    }
    let lower = asked.to_lowercase();
    panels
        .iter()
        .find(|p| p.title.eq_ignore_ascii_case(asked))
        .or_else(|| panels.iter().find(|p| p.title.to_lowercase().contains(&lower)))
        .or_else(|| concept(asked).and_then(|c| panels.iter().find(|p| concept(&p.title) == Some(c))))
        .or_else(|| best(panels, TAKE_AT, |p| typo_similarity(asked, &p.title)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::testing::{Fixture, png_size, t0};
    use crate::skill::Window;

    fn req(dashboard: &str, fx: &Fixture) -> Request {
        Request { dashboard: Some(dashboard.into()), now: Some(fx.now()), ..Request::default() }
    }

    #[tokio::test]
    async fn loadbalancers_panel_two_last_thirty_minutes() {
        let fx = Fixture::new();
        let window = Some(Window { from: t0() - Duration::minutes(30), to: t0() });
        let card = GrafanaSnapshot.run(&Request { window, ..req("loadbalancers:2", &fx) }, &fx.backends).await.unwrap();
        assert_eq!(card.title, "loadbalancers / Backend latency p99");
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.field_value("dashboard"), Some("loadbalancers"));
        assert_eq!(card.field_value("panel"), Some("Backend latency p99 (#2)"));
        assert_eq!(card.field_value("range"), Some("last 30m (09:30–10:00 UTC)"));
        let image = card.image.as_ref().unwrap();
        assert_eq!(image.alt, "loadbalancers / Backend latency p99, last 30m");
        assert_eq!(image.file_name, "loadbalancers-2.png");
        assert_eq!(&image.png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png_size(&image.png), Some((800, 400)));
    }

    #[tokio::test]
    async fn finds_boards_and_panels_by_many_names() {
        let fx = Fixture::new();
        let cases: &[(Request, &str)] = &[
            (req("lb", &fx), "loadbalancers / Requests per second"),
            (Request { panel: Some("5xx rate".into()), ..req("load balancers", &fx) }, "loadbalancers / 5xx rate"),
            (Request { panel: Some("p99 latency".into()), ..req("payments", &fx) }, "payments / Latency p99"),
            (Request { panel: Some("4".into()), ..req("payments", &fx) }, "payments / CPU"),
            (req("k8s", &fx), "kubernetes-cluster / CPU by service"),
            (req("kubernetes", &fx), "kubernetes-cluster / CPU by service"),
            (req("latte overview", &fx), "latte-overview / CPU"),
            (req("loadbalancer", &fx), "loadbalancers / Requests per second"),
            (Request { panel: Some("内存".into()), ..req("latte", &fx) }, "latte-overview / Memory"),
            (
                Request {
                    service: Some("latte".into()),
                    panel: Some("request rate".into()),
                    now: Some(fx.now()),
                    ..Request::default()
                },
                "latte-overview / Requests per second",
            ),
        ];
        for (r, title) in cases {
            let card = GrafanaSnapshot.run(r, &fx.backends).await.unwrap();
            assert_eq!(&card.title, title, "{r:?}");
        }
    }

    #[tokio::test]
    async fn default_window_is_the_last_hour() {
        let fx = Fixture::new();
        let card = GrafanaSnapshot.run(&req("payments", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.field_value("range"), Some("last 1h (09:00–10:00 UTC)"));
        assert_eq!(card.image.unwrap().file_name, "payments-1.png");
    }

    #[tokio::test]
    async fn unknown_dashboard_and_panel_suggest() {
        let fx = Fixture::new();
        // A typo is taken; a different name only suggests.
        let typo = GrafanaSnapshot.run(&req("paymnets", &fx), &fx.backends).await.unwrap();
        assert_eq!(typo.field_value("dashboard"), Some("payments"));
        match GrafanaSnapshot.run(&req("payment-gw", &fx), &fx.backends).await.map(|c| c.title) {
            Err(SkillError::Unknown { kind: "dashboard", name, suggestions }) => {
                assert_eq!(name, "payment-gw");
                assert_eq!(suggestions, vec!["payments"]);
            }
            other => panic!("expected Unknown dashboard, got {other:?}"),
        }
        match GrafanaSnapshot.run(&req("node-exporter", &fx), &fx.backends).await.map(|c| c.title) {
            Err(SkillError::Unknown { kind: "dashboard", suggestions, .. }) => assert_eq!(suggestions.len(), 4),
            other => panic!("expected Unknown dashboard, got {other:?}"),
        }
        match GrafanaSnapshot.run(&req("lb:9", &fx), &fx.backends).await.map(|c| c.title) {
            Err(SkillError::Unknown { kind: "panel", name, suggestions }) => {
                assert_eq!(name, "9");
                assert!(suggestions.contains(&"Backend latency p99".to_string()));
            }
            other => panic!("expected Unknown panel, got {other:?}"),
        }
        assert!(matches!(
            GrafanaSnapshot.run(&Request::default(), &fx.backends).await,
            Err(SkillError::Missing("dashboard"))
        ));
    }

    /// Graphs that draw like the demo but say the image is a stand-in.
    struct Noted(std::sync::Arc<dyn crate::backends::GraphBackend>);

    #[async_trait]
    impl crate::backends::GraphBackend for Noted {
        fn name(&self) -> &str {
            "grafana"
        }
        async fn dashboards(&self) -> Result<Vec<Dashboard>, crate::backends::BackendError> {
            self.0.dashboards().await
        }
        async fn render(
            &self,
            uid: &str,
            panel: u32,
            window: Window,
            width: u32,
            height: u32,
        ) -> Result<crate::backends::PanelImage, crate::backends::BackendError> {
            let mut image = self.0.render(uid, panel, window, width, height).await?;
            image.note = Some("Grafana has no image renderer; drawn by pipilu from Prometheus".into());
            Ok(image)
        }
    }

    #[tokio::test]
    async fn a_stand_in_image_is_said_on_the_card() {
        let fx = Fixture::new();
        let mut backends = fx.backends.clone();
        backends.graphs = std::sync::Arc::new(Noted(fx.backends.graphs.clone()));
        let card = GrafanaSnapshot.run(&req("payments", &fx), &backends).await.unwrap();
        assert!(card.image.is_some());
        assert!(
            card.blocks
                .iter()
                .any(|b| matches!(b, crate::card::Block::Text { text } if text.contains("no image renderer")))
        );
        let plain = GrafanaSnapshot.run(&req("payments", &fx), &fx.backends).await.unwrap();
        assert!(plain.blocks.is_empty());
    }

    #[test]
    fn hubot_panel_syntax() {
        assert_eq!(split_panel("loadbalancers:2"), ("loadbalancers", Some("2")));
        assert_eq!(split_panel("loadbalancers"), ("loadbalancers", None));
        assert_eq!(split_panel("lb:"), ("lb:", None));
    }
}
