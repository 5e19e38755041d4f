//! Dashboards: Grafana-like boards whose panels chart the estate's metrics.

use super::estate::Metric;
use super::metrics::check_window;
use super::services::env_of;
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{BackendError, Dashboard, GraphBackend, Panel, PanelImage};
use crate::chart::{Chart, render_png};
use crate::skill::Window;
use async_trait::async_trait;
use std::sync::Arc;

/// The demo's [`GraphBackend`].
pub(crate) struct DemoGraphs(pub Arc<DemoEstate>);

/// Whose metric a panel charts.
enum Source {
    /// Each instance of one service.
    Service(&'static str),
    /// Every service, summed over its instances.
    EachService,
}

struct PanelSpec {
    id: u32,
    title: &'static str,
    source: Source,
    metric: Metric,
}

struct DashboardSpec {
    uid: &'static str,
    title: &'static str,
    panels: &'static [PanelSpec],
}

const fn panel(id: u32, title: &'static str, source: Source, metric: Metric) -> PanelSpec {
    PanelSpec { id, title, source, metric }
}

const DASHBOARDS: &[DashboardSpec] = &[
    DashboardSpec {
        uid: "lb",
        title: "loadbalancers",
        panels: &[
            panel(1, "Requests per second", Source::Service("loadbalancers"), Metric::Requests),
            panel(2, "Backend latency p99", Source::Service("loadbalancers"), Metric::LatencyP99),
            panel(3, "5xx rate", Source::Service("loadbalancers"), Metric::Errors),
            panel(4, "Active connections", Source::Service("loadbalancers"), Metric::Connections),
        ],
    },
    DashboardSpec {
        uid: "payments",
        title: "payments",
        panels: &[
            panel(1, "Requests per second", Source::Service("payments-api"), Metric::Requests),
            panel(2, "Failed authorizations", Source::Service("payments-api"), Metric::Errors),
            panel(3, "Latency p99", Source::Service("payments-api"), Metric::LatencyP99),
            panel(4, "CPU", Source::Service("payments-api"), Metric::Cpu),
        ],
    },
    DashboardSpec {
        uid: "latte",
        title: "latte-overview",
        panels: &[
            panel(1, "CPU", Source::Service("latte"), Metric::Cpu),
            panel(2, "Memory", Source::Service("latte"), Metric::Memory),
            panel(3, "Requests per second", Source::Service("latte"), Metric::Requests),
            panel(4, "Latency p99", Source::Service("latte"), Metric::LatencyP99),
        ],
    },
    DashboardSpec {
        uid: "k8s",
        title: "kubernetes-cluster",
        panels: &[
            panel(1, "CPU by service", Source::EachService, Metric::Cpu),
            panel(2, "Memory by service", Source::EachService, Metric::Memory),
            panel(3, "Requests by service", Source::EachService, Metric::Requests),
        ],
    },
];

/// Smallest and largest image side the demo draws, in pixels.
const SIDE: std::ops::RangeInclusive<u32> = 120..=4000;

#[async_trait]
impl GraphBackend for DemoGraphs {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn dashboards(&self) -> Result<Vec<Dashboard>, BackendError> {
        Ok(DASHBOARDS
            .iter()
            .map(|d| Dashboard {
                uid: d.uid.to_string(),
                title: d.title.to_string(),
                panels: d.panels.iter().map(|p| Panel { id: p.id, title: p.title.to_string() }).collect(),
            })
            .collect())
    }

    async fn render(
        &self,
        dashboard_uid: &str,
        panel_id: u32,
        window: Window,
        width: u32,
        height: u32,
    ) -> Result<PanelImage, BackendError> {
        let call = format!("render {dashboard_uid}/{panel_id}");
        check_window(window, &call)?;
        if !SIDE.contains(&width) || !SIDE.contains(&height) {
            return Err(BackendError::new(
                BACKEND_NAME,
                &call,
                format!("image size {width}x{height} is outside {}..={} pixels", SIDE.start(), SIDE.end()),
            ));
        }
        let board = DASHBOARDS
            .iter()
            .find(|d| d.uid == dashboard_uid)
            .ok_or_else(|| BackendError::not_found(BACKEND_NAME, &call, format!("dashboard '{dashboard_uid}'")))?;
        let panel = board.panels.iter().find(|p| p.id == panel_id).ok_or_else(|| {
            BackendError::not_found(BACKEND_NAME, &call, format!("panel {panel_id} on dashboard '{}'", board.title))
        })?;

        let series = {
            let estate = self.0.read();
            let env = env_of(&estate, None, &call)?;
            match panel.source {
                Source::Service(service) => self.0.instance_series(env, service, panel.metric, window, &call)?,
                Source::EachService => self.0.service_totals(env, panel.metric, window),
            }
        };
        let title = format!("{} / {}", board.title, panel.title);
        let chart = Chart { title: &title, unit: panel.metric.unit(), series: &series, window, width, height };
        let png = render_png(&chart).map_err(|cause| BackendError::new(BACKEND_NAME, &call, cause))?;
        // The demo has no Grafana: its own charts are the real thing, nothing to note.
        Ok(PanelImage { png, note: None })
    }
}

#[cfg(test)]
mod tests {
    use crate::demo::testing::{Fixture, png_size, t0};
    use crate::skill::Window;
    use chrono::Duration;

    #[tokio::test]
    async fn dashboards_and_panels() {
        let fx = Fixture::new();
        let boards = fx.backends.graphs.dashboards().await.unwrap();
        let uids: Vec<&str> = boards.iter().map(|d| d.uid.as_str()).collect();
        assert_eq!(uids, vec!["lb", "payments", "latte", "k8s"]);
        let lb = &boards[0];
        assert_eq!(lb.title, "loadbalancers");
        let titles: Vec<&str> = lb.panels.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, vec!["Requests per second", "Backend latency p99", "5xx rate", "Active connections"]);
    }

    #[tokio::test]
    async fn renders_every_panel() {
        let fx = Fixture::new();
        let window = Window { from: t0() - Duration::hours(1), to: t0() };
        for board in fx.backends.graphs.dashboards().await.unwrap() {
            for panel in &board.panels {
                let image = fx.backends.graphs.render(&board.uid, panel.id, window, 400, 200).await.unwrap();
                assert_eq!(png_size(&image.png), Some((400, 200)), "{}/{}", board.uid, panel.id);
                assert_eq!(image.note, None);
            }
        }
    }

    #[tokio::test]
    async fn rejects_unknown_board_panel_and_bad_size() {
        let fx = Fixture::new();
        let g = &fx.backends.graphs;
        let window = Window { from: t0() - Duration::hours(1), to: t0() };
        assert!(g.render("nope", 1, window, 400, 200).await.unwrap_err().not_found);
        assert!(g.render("lb", 9, window, 400, 200).await.unwrap_err().not_found);
        assert!(g.render("lb", 1, window, 0, 200).await.is_err());
    }
}
