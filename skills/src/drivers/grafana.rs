//! Grafana over its HTTP API: dashboards from `/api/search`, panels from
//! `/api/dashboards/uid/:uid`, images from the image renderer at
//! `/render/d-solo/...`.
//!
//! Many Grafanas have no image renderer (it is a separate plugin or service).
//! Then the panel's PromQL targets are drawn by pipilu from Prometheus, so the
//! user still gets a graph, and the card says whose drawing it is.

use super::http::{Auth, Endpoint, Http, Retry};
use super::prometheus::{Prometheus, expand, step_for};
use crate::backends::{BackendError, Dashboard, GraphBackend, Panel, PanelImage};
use crate::chart::{Chart, render_png};
use crate::skill::Window;
use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;

/// Backend name in error cards.
const NAME: &str = "grafana";

/// The card's note when pipilu drew the panel itself.
pub const FALLBACK_NOTE: &str = "Grafana has no image renderer; drawn by pipilu from Prometheus";

/// Scrape interval assumed for `$__rate_interval`, in seconds.
const SCRAPE: u64 = 60;

/// The first bytes of every PNG.
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// One hit of `/api/search`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchHit {
    /// Stable id.
    pub uid: String,
    /// Title.
    pub title: String,
    /// Tags, for `tag` searches.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Path of the dashboard in the UI (`/d/<uid>/<slug>`).
    #[serde(default)]
    pub url: String,
}

/// A panel with what it queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQueries {
    /// Panel id.
    pub id: u32,
    /// Title.
    pub title: String,
    /// PromQL of its visible targets, as written (with Grafana's `$variables`).
    pub exprs: Vec<String>,
    /// Its unit (`percent`, `bytes`, ...), if set.
    pub unit: String,
}

/// A dashboard with its panels (rows flattened) and variable values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardDetail {
    /// Stable id.
    pub uid: String,
    /// Title.
    pub title: String,
    /// URL slug, for render paths.
    pub slug: String,
    /// Panels that draw something, rows' panels included.
    pub panels: Vec<PanelQueries>,
    /// Dashboard variables' current single values (`namespace` = `default`).
    pub variables: Vec<(String, String)>,
}

/// A Grafana server, with the Prometheus to draw from when it cannot render.
#[derive(Debug, Clone)]
pub struct Grafana {
    http: Http,
    fallback: Option<Arc<Prometheus>>,
}

impl Grafana {
    /// A client for Grafana at `endpoint` (auth: a service account token as
    /// [`Auth::Bearer`]); `fallback` draws panels when Grafana cannot.
    pub fn new(endpoint: &Endpoint, auth: Auth, fallback: Option<Arc<Prometheus>>) -> Result<Self, BackendError> {
        Ok(Grafana { http: Http::new(NAME, endpoint, auth)?, fallback })
    }

    /// Dashboards whose title matches `query` (empty: all), optionally with `tag`.
    pub async fn search(&self, query: &str, tag: Option<&str>) -> Result<Vec<SearchHit>, BackendError> {
        let mut params = vec![("type", "dash-db"), ("limit", "5000")];
        if !query.is_empty() {
            params.push(("query", query));
        }
        if let Some(tag) = tag {
            params.push(("tag", tag));
        }
        self.http.json("search", Retry::Read, || self.http.request(Method::GET, "/api/search").query(&params)).await
    }

    /// One dashboard's panels, targets and variables.
    pub async fn dashboard(&self, uid: &str) -> Result<BoardDetail, BackendError> {
        let call = format!("dashboard {uid}");
        let path = format!("/api/dashboards/uid/{}", path_segment(uid));
        let got: DashboardResponse =
            self.http.json(&call, Retry::Read, || self.http.request(Method::GET, &path)).await.map_err(|mut e| {
                if e.not_found {
                    e.cause = format!("dashboard '{uid}' not found");
                }
                e
            })?;
        let mut panels = Vec::new();
        flatten(got.dashboard.panels, &mut panels);
        for row in got.dashboard.rows {
            flatten(row.panels, &mut panels);
        }
        let variables = got
            .dashboard
            .templating
            .list
            .into_iter()
            .filter_map(|v| match v.current?.value? {
                serde_json::Value::String(s) if s != "$__all" => Some((v.name, s)),
                _ => None,
            })
            .collect();
        let title = got.dashboard.title;
        let slug = got.meta.slug.filter(|s| !s.is_empty()).unwrap_or_else(|| slugify(&title));
        Ok(BoardDetail { uid: got.dashboard.uid.unwrap_or_else(|| uid.to_string()), title, slug, panels, variables })
    }

    /// The renderer's PNG, or why there is none: `Ok(None)` means "no image
    /// renderer", any other failure is an error.
    async fn rendered(
        &self,
        call: &str,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<Option<Vec<u8>>, BackendError> {
        match self.http.send(call, Retry::Read, || self.http.request(Method::GET, path).query(params)).await {
            Ok(body) if body.starts_with(PNG_SIGNATURE) => Ok(Some(body.to_vec())),
            Ok(body) => {
                let head: String = String::from_utf8_lossy(&body[..body.len().min(80)]).chars().take(80).collect();
                tracing::info!(call, "grafana answered the render with no PNG ({head:?}); drawing it instead");
                Ok(None)
            }
            Err(e) if e.cause.to_lowercase().contains("renderer") => {
                tracing::info!(call, "grafana has no image renderer ({}); drawing it instead", e.cause);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Draws a panel's PromQL targets from Prometheus with pipilu's charts.
    async fn draw(
        &self,
        call: &str,
        board: &BoardDetail,
        panel: &PanelQueries,
        window: Window,
        size: (u32, u32),
    ) -> Result<PanelImage, BackendError> {
        let Some(prometheus) = &self.fallback else {
            return Err(BackendError::new(
                NAME,
                call,
                "Grafana has no image renderer (install the grafana-image-renderer plugin) \
                 and no Prometheus is configured to draw the panel from",
            ));
        };
        if panel.exprs.is_empty() {
            return Err(BackendError::new(
                NAME,
                call,
                "Grafana has no image renderer and the panel has no PromQL queries to draw",
            ));
        }
        let step = step_for(window);
        let span = (window.to - window.from).num_seconds().max(1);
        let builtins = [
            // Grafana's max(interval + scrape, 4 x scrape), assuming a 1m scrape
            // interval: pipilu cannot see the datasource's, and a range too short
            // for two samples draws nothing.
            ("__rate_interval", format!("{}s", (step + SCRAPE).max(4 * SCRAPE))),
            ("__interval", format!("{step}s")),
            ("__range", format!("{span}s")),
        ];
        let vars: Vec<(&str, &str)> = builtins
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(board.variables.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect();
        let mut series = Vec::new();
        let mut failed = Vec::new();
        for expr in &panel.exprs {
            match prometheus.range(call, &expand(expr, &vars), window).await {
                Ok(s) => series.extend(s),
                Err(e) => failed.push(e),
            }
        }
        if failed.len() == panel.exprs.len() {
            return Err(failed.swap_remove(0));
        }
        let title = format!("{} / {}", board.title, panel.title);
        let chart = Chart { title: &title, unit: &panel.unit, series: &series, window, width: size.0, height: size.1 };
        let png = render_png(&chart).map_err(|cause| BackendError::new(NAME, call, cause))?;
        let mut note = FALLBACK_NOTE.to_string();
        if !failed.is_empty() {
            note.push_str(&format!(" ({} of {} queries could not be drawn)", failed.len(), panel.exprs.len()));
        }
        Ok(PanelImage { png, note: Some(note) })
    }
}

#[async_trait]
impl GraphBackend for Grafana {
    fn name(&self) -> &str {
        NAME
    }

    async fn dashboards(&self) -> Result<Vec<Dashboard>, BackendError> {
        let mut out = Vec::new();
        for hit in self.search("", None).await? {
            // Deleted between the search and now: leave it out.
            let board = match self.dashboard(&hit.uid).await {
                Ok(b) => b,
                Err(e) if e.not_found => continue,
                Err(e) => return Err(e),
            };
            let panels = board.panels.into_iter().map(|p| Panel { id: p.id, title: p.title }).collect();
            out.push(Dashboard { uid: hit.uid, title: hit.title, panels });
        }
        Ok(out)
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
        if window.to <= window.from {
            return Err(BackendError::new(NAME, &call, "the window ends before it starts"));
        }
        let board = self.dashboard(dashboard_uid).await?;
        let panel = board.panels.iter().find(|p| p.id == panel_id).ok_or_else(|| {
            BackendError::not_found(NAME, &call, format!("panel {panel_id} on dashboard '{}'", board.title))
        })?;
        let path = format!("/render/d-solo/{}/{}", path_segment(&board.uid), path_segment(&board.slug));
        let params = [
            ("orgId", "1".to_string()),
            ("panelId", panel_id.to_string()),
            ("from", window.from.timestamp_millis().to_string()),
            ("to", window.to.timestamp_millis().to_string()),
            ("width", width.to_string()),
            ("height", height.to_string()),
            ("tz", "UTC".to_string()),
        ];
        match self.rendered(&call, &path, &params).await? {
            Some(png) => Ok(PanelImage { png, note: None }),
            None => self.draw(&call, &board, panel, window, (width, height)).await,
        }
    }
}

/// `Load Balancers (prod)` -> `load-balancers-prod`, as Grafana makes slugs.
fn slugify(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Percent-encodes a path segment (uids are usually safe, but never trust them).
fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Panels that draw, in order; rows contribute their nested panels.
fn flatten(panels: Vec<RawPanel>, out: &mut Vec<PanelQueries>) {
    for p in panels {
        if p.kind.as_deref() == Some("row") {
            flatten(p.panels, out);
            continue;
        }
        let Some(id) = p.id else { continue };
        let exprs = p.targets.into_iter().filter(|t| !t.hide).filter_map(|t| t.expr).filter(|e| !e.trim().is_empty());
        let unit = p.field_config.and_then(|f| f.defaults.unit).unwrap_or_default();
        out.push(PanelQueries { id, title: p.title, exprs: exprs.collect(), unit });
        flatten(p.panels, out);
    }
}

#[derive(Deserialize)]
struct DashboardResponse {
    dashboard: RawDashboard,
    #[serde(default)]
    meta: Meta,
}

#[derive(Deserialize, Default)]
struct Meta {
    slug: Option<String>,
}

#[derive(Deserialize)]
struct RawDashboard {
    uid: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    panels: Vec<RawPanel>,
    /// Dashboards from before schema 16 keep panels in rows.
    #[serde(default)]
    rows: Vec<RawRow>,
    #[serde(default)]
    templating: Templating,
}

#[derive(Deserialize)]
struct RawRow {
    #[serde(default)]
    panels: Vec<RawPanel>,
}

#[derive(Deserialize, Default)]
struct Templating {
    #[serde(default)]
    list: Vec<Variable>,
}

#[derive(Deserialize)]
struct Variable {
    name: String,
    current: Option<Current>,
}

#[derive(Deserialize)]
struct Current {
    value: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawPanel {
    id: Option<u32>,
    #[serde(default)]
    title: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    targets: Vec<Target>,
    /// A row's panels (collapsed rows keep them here).
    #[serde(default)]
    panels: Vec<RawPanel>,
    #[serde(rename = "fieldConfig")]
    field_config: Option<FieldConfig>,
}

#[derive(Deserialize)]
struct Target {
    expr: Option<String>,
    #[serde(default)]
    hide: bool,
}

#[derive(Deserialize)]
struct FieldConfig {
    #[serde(default)]
    defaults: FieldDefaults,
}

#[derive(Deserialize, Default)]
struct FieldDefaults {
    unit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_segments() {
        assert_eq!(slugify("Load Balancers (prod)"), "load-balancers-prod");
        assert_eq!(slugify("latte-overview"), "latte-overview");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn rows_are_flattened_and_hidden_targets_dropped() {
        let json = serde_json::json!({
            "dashboard": {"uid": "u", "title": "T", "panels": [
                {"id": 1, "title": "CPU", "type": "timeseries", "targets": [{"expr": "a"}, {"expr": "b", "hide": true}]},
                {"id": 2, "title": "Row", "type": "row", "collapsed": true, "panels": [
                    {"id": 3, "title": "Mem", "type": "timeseries", "fieldConfig": {"defaults": {"unit": "bytes"}}}
                ]},
                {"title": "no id"}
            ]},
            "meta": {"slug": "t"}
        });
        let got: DashboardResponse = serde_json::from_value(json).unwrap();
        let mut panels = Vec::new();
        flatten(got.dashboard.panels, &mut panels);
        let ids: Vec<u32> = panels.iter().map(|p| p.id).collect();
        assert_eq!(ids, vec![1, 3]);
        assert_eq!(panels[0].exprs, vec!["a"]);
        assert_eq!(panels[1].unit, "bytes");
    }
}
