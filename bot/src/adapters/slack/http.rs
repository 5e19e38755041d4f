//! The Events API endpoint: Slack POSTs signed events (JSON), interactivity
//! payloads (`payload=` form field) and slash commands (form) here. Every request
//! is checked against the signing secret first; an event is acknowledged at once
//! and handled in a task, and a retried event (same `event_id`) only once.

use super::incoming::{self, Incoming};
use super::process::{Shared, process};
use super::signature;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::Arc;

struct Endpoint {
    shared: Arc<Shared>,
    secret: Vec<u8>,
}

/// The router: `/slack/events` (and the same handler at `/slack/interactive` and `/slack/commands`).
pub fn router(shared: Arc<Shared>, signing_secret: String) -> Router {
    let state = Arc::new(Endpoint { shared, secret: signing_secret.into_bytes() });
    Router::new()
        .route("/slack/events", post(endpoint))
        .route("/slack/interactive", post(endpoint))
        .route("/slack/commands", post(endpoint))
        .with_state(state)
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn spawn(shared: &Arc<Shared>, inc: Option<Incoming>) {
    if let Some(inc) = inc {
        tokio::spawn(process(shared.clone(), inc));
    }
}

async fn endpoint(State(ep): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let now = chrono::Utc::now().timestamp();
    let checked = signature::verify(
        &ep.secret,
        header_str(&headers, "x-slack-request-timestamp"),
        header_str(&headers, "x-slack-signature"),
        &body,
        now,
    );
    if let Err(e) = checked {
        tracing::warn!("slack: refused a request: {e}");
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let is_form = header_str(&headers, header::CONTENT_TYPE.as_str())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
            return (StatusCode::BAD_REQUEST, "bad form").into_response();
        };
        if let Some((_, payload)) = form.iter().find(|(k, _)| k == "payload") {
            let Ok(v) = serde_json::from_str::<Value>(payload) else {
                return (StatusCode::BAD_REQUEST, "bad payload").into_response();
            };
            spawn(&ep.shared, incoming::from_interaction(&v));
        } else {
            spawn(&ep.shared, incoming::from_command(&form));
        }
        return StatusCode::OK.into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    match v.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = v.get("challenge").and_then(Value::as_str).unwrap_or("");
            axum::Json(json!({ "challenge": challenge })).into_response()
        }
        Some("event_callback") => {
            on_event(&ep.shared, &v, header_str(&headers, "x-slack-retry-num"));
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

/// An `event_callback` (from HTTP or Socket Mode): once per `event_id`, handled in a task.
pub fn on_event(shared: &Arc<Shared>, v: &Value, retry: Option<&str>) {
    let id = v.get("event_id").and_then(Value::as_str).unwrap_or("");
    if !id.is_empty() && !shared.dedup.first(id) {
        tracing::debug!(event_id = id, retry, "slack: repeated event ignored");
        return;
    }
    if let Some(event) = v.get("event") {
        spawn(shared, incoming::from_event(event, &shared.bot_user));
    }
}

/// An interactivity payload (from Socket Mode).
pub fn on_interaction(shared: &Arc<Shared>, v: &Value) {
    spawn(shared, incoming::from_interaction(v));
}
