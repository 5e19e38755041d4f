//! Webhook mode: Telegram POSTs each update to `webhook_url` (HTTPS, served by a
//! proxy in front of pipilu), which reaches pipilu at `listen`. Only requests
//! carrying the secret registered with `setWebhook` in
//! `X-Telegram-Bot-Api-Secret-Token` are taken; anything else gets 401 and
//! nothing runs. Updates are handled one at a time, and an update id at or below
//! the last handled one (Telegram redelivers when an answer is slow) is
//! acknowledged without running again.

use super::Adapter;
use super::offset::OffsetFile;
use anyhow::{Context as _, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Update};
use tokio::sync::{Mutex, watch};

/// The header Telegram sends the secret token in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

struct Shared {
    adapter: Adapter,
    state: OffsetFile,
    last: Mutex<Option<u32>>,
    secret: String,
}

/// Registers the webhook and serves it until `shutdown` turns true.
pub(super) async fn serve(
    adapter: Adapter,
    state: OffsetFile,
    last: Option<u32>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<()> {
    let cfg = &adapter.cfg;
    let url = cfg.webhook_url.as_deref().context("telegram: webhook mode needs webhook_url")?;
    let url: url::Url = url.parse().with_context(|| format!("telegram.webhook_url {url:?}"))?;
    let secret = cfg.secret_token.as_ref().context("telegram: webhook mode needs secret_token_env")?.0.clone();
    adapter
        .bot
        .set_webhook(url.clone())
        .secret_token(secret.clone())
        .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
        .await
        .context("telegram: setWebhook failed")?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("telegram: listening on {}", cfg.listen))?;
    tracing::info!(listen = %cfg.listen, url = %url, "telegram: webhook");
    let path = if url.path().is_empty() { "/".to_string() } else { url.path().to_string() };
    let shared = Arc::new(Shared { adapter, state, last: Mutex::new(last), secret });
    let app = Router::new().route(&path, post(receive)).with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
        .context("telegram: webhook server")
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers.get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !bool::from(given.ct_eq(shared.secret.as_bytes())) {
        tracing::warn!("telegram: webhook call without the right secret token; ignored");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "telegram: webhook body is not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    let mut last = shared.last.lock().await;
    if last.is_some_and(|l| update.id.0 <= l) {
        return StatusCode::OK;
    }
    let id = update.id.0;
    shared.adapter.handle(update).await;
    *last = Some(id);
    if let Err(e) = shared.state.save(id) {
        tracing::warn!(error = %format!("{e:#}"), "telegram: cannot save the update offset");
    }
    StatusCode::OK
}
