//! A fake Grafana: `/api/search`, `/api/dashboards/uid/:uid` with panels, rows
//! and PromQL targets, and `/render/d-solo/:uid/:slug` answering a real PNG.
//! A switch takes the image renderer away the ways real Grafanas say so, and
//! every render request is recorded so tests can check what was asked.

use super::server::{FaultSwitch, Served, serve};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The service account token the fake accepts.
pub const TOKEN: &str = "glsa_fake_token";

/// How the fake answers `/render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Renderer {
    /// A PNG of the asked size.
    #[default]
    Installed,
    /// 500 `{"message":"Rendering failed: No image renderer available/installed"}` (Grafana 8+).
    Missing,
    /// 404 with the message (older Grafanas, or the route hidden by a proxy).
    MissingNotFound,
    /// 200 with an HTML page instead of a PNG (a login page or proxy error).
    NotPng,
}

/// One recorded render request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderRequest {
    /// Dashboard uid in the path.
    pub uid: String,
    /// Slug in the path.
    pub slug: String,
    /// Query parameters.
    pub params: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct Inner {
    renderer: Renderer,
    renders: Vec<RenderRequest>,
}

/// The fake's state, shared with its router.
#[derive(Debug, Clone, Default)]
pub struct FakeGrafana {
    inner: Arc<Mutex<Inner>>,
    /// Faults for every answer.
    pub fault: FaultSwitch,
}

impl FakeGrafana {
    /// A Grafana with the `latte-overview` and `payments` dashboards.
    pub fn new() -> Self {
        FakeGrafana::default()
    }

    /// Serves it on 127.0.0.1.
    pub async fn serve(&self) -> Served {
        serve(self.router()).await
    }

    /// Its routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/search", get(search))
            .route("/api/dashboards/uid/{uid}", get(dashboard))
            .route("/render/d-solo/{uid}/{slug}", get(render))
            .with_state(self.clone())
    }

    /// Installs or removes the image renderer.
    pub fn set_renderer(&self, r: Renderer) {
        self.lock().renderer = r;
    }

    /// Render requests so far.
    pub fn renders(&self) -> Vec<RenderRequest> {
        self.lock().renders.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The PromQL the latte CPU panel charts (Grafana variables included).
pub const LATTE_CPU_EXPR: &str = r#"sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="$namespace",pod=~"latte-.*",container!=""}[$__rate_interval])) * 100"#;

/// The dashboards, as `/api/dashboards/uid/:uid` returns them.
fn dashboards() -> Vec<Value> {
    vec![
        json!({
            "meta": {"slug": "latte-overview", "url": "/d/latte/latte-overview", "type": "db"},
            "dashboard": {
                "uid": "latte", "title": "latte-overview", "schemaVersion": 39, "tags": ["latte", "kubernetes"],
                "templating": {"list": [
                    {"name": "namespace", "type": "custom", "current": {"text": "default", "value": "default"}},
                    {"name": "pod", "type": "query", "current": {"text": "All", "value": "$__all"}}
                ]},
                "panels": [
                    {"id": 1, "title": "CPU", "type": "timeseries", "fieldConfig": {"defaults": {"unit": "percent"}},
                     "targets": [{"refId": "A", "expr": LATTE_CPU_EXPR, "legendFormat": "{{pod}}"}]},
                    {"id": 2, "title": "Memory", "type": "timeseries",
                     "targets": [{"refId": "A", "expr": "sum by (pod) (container_memory_working_set_bytes{namespace=\"$namespace\",pod=~\"latte-.*\"}) / 1048576"}]},
                    {"id": 10, "title": "Traffic", "type": "row", "collapsed": true, "panels": [
                        {"id": 3, "title": "Requests per second", "type": "timeseries",
                         "targets": [{"refId": "A", "expr": "sum by (pod) (rate(http_requests_total{pod=~\"latte-.*\"}[5m]))"},
                                     {"refId": "B", "expr": "broken(", "hide": true}]}
                    ]},
                    {"id": 4, "title": "Latency p99", "type": "timeseries",
                     "targets": [{"refId": "A", "expr": "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{pod=~\"latte-.*\"}[5m])))"}]}
                ]
            }
        }),
        json!({
            "meta": {"slug": "payments", "url": "/d/payments/payments", "type": "db"},
            "dashboard": {
                "uid": "payments", "title": "payments", "schemaVersion": 39, "tags": ["payments"],
                "panels": [
                    {"id": 1, "title": "Requests per second", "type": "timeseries",
                     "targets": [{"refId": "A", "expr": "sum(rate(http_requests_total{pod=~\"payments-api-.*\"}[5m]))"}]},
                    {"id": 2, "title": "Notes", "type": "text"}
                ]
            }
        }),
    ]
}

/// The request carries the token, or the 401 Grafana gives.
fn authorized(headers: &HeaderMap) -> Option<Response> {
    let ok = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"));
    (!ok).then(|| (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Unauthorized"}))).into_response())
}

async fn search(
    State(g): State<FakeGrafana>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = g.fault.get().apply().await.or_else(|| authorized(&headers)) {
        return r;
    }
    let query = q.get("query").map(|s| s.to_lowercase()).unwrap_or_default();
    let tag = q.get("tag");
    let hits: Vec<Value> = dashboards()
        .into_iter()
        .map(|d| d["dashboard"].clone())
        .filter(|d| d["title"].as_str().unwrap_or_default().to_lowercase().contains(&query))
        .filter(|d| tag.is_none_or(|t| d["tags"].as_array().is_some_and(|ts| ts.iter().any(|x| x == t.as_str()))))
        .map(|d| {
            json!({
                "id": 1, "uid": d["uid"], "title": d["title"], "type": "dash-db", "tags": d["tags"],
                "url": format!("/d/{}/{}", d["uid"].as_str().unwrap_or_default(), d["title"].as_str().unwrap_or_default()),
                "isStarred": false
            })
        })
        .collect();
    axum::Json(hits).into_response()
}

async fn dashboard(State(g): State<FakeGrafana>, headers: HeaderMap, Path(uid): Path<String>) -> Response {
    if let Some(r) = g.fault.get().apply().await.or_else(|| authorized(&headers)) {
        return r;
    }
    match dashboards().into_iter().find(|d| d["dashboard"]["uid"] == uid.as_str()) {
        Some(d) => axum::Json(d).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Dashboard not found"}))).into_response(),
    }
}

async fn render(
    State(g): State<FakeGrafana>,
    headers: HeaderMap,
    Path((uid, slug)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = g.fault.get().apply().await.or_else(|| authorized(&headers)) {
        return r;
    }
    let renderer = {
        let mut inner = g.lock();
        inner.renders.push(RenderRequest { uid, slug, params: params.clone() });
        inner.renderer
    };
    let message = json!({"message": "Rendering failed: No image renderer available/installed"});
    match renderer {
        Renderer::Missing => (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(message)).into_response(),
        Renderer::MissingNotFound => (StatusCode::NOT_FOUND, axum::Json(message)).into_response(),
        Renderer::NotPng => {
            ([(header::CONTENT_TYPE, "text/html")], "<!doctype html><title>Grafana</title>").into_response()
        }
        Renderer::Installed => {
            let side = |k: &str| params.get(k).and_then(|v| v.parse::<u32>().ok()).filter(|v| (1..=4000).contains(v));
            match (side("width"), side("height")) {
                (Some(w), Some(h)) => ([(header::CONTENT_TYPE, "image/png")], png(w, h)).into_response(),
                _ => (StatusCode::BAD_REQUEST, "width and height are required").into_response(),
            }
        }
    }
}

/// A `w`x`h` RGB PNG: a gradient, so it is a real, decodable image.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&[(x * 255 / w.max(1)) as u8, (y * 255 / h.max(1)) as u8, 128]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    if let Ok(mut writer) = encoder.write_header() {
        let _ = writer.write_image_data(&data);
    }
    out
}
