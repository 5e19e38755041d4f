//! Socket Mode with slack-morphism's listener: it calls `apps.connections.open`
//! with the app token, keeps the WebSocket (pings, reconnects) and acknowledges
//! each envelope once our callback returns; the callbacks only hand the event to
//! a task, so acks are quick. Events are turned back into Slack's JSON and read by
//! the same code as the Events API.

use super::http::{on_event, on_interaction};
use super::process::Shared;
use anyhow::{Result, anyhow};
use slack_morphism::prelude::*;
use std::sync::Arc;
use tokio::sync::watch;

async fn shared_of(states: &SlackClientEventsUserState) -> Option<Arc<Shared>> {
    states.read().await.get_user_state::<Arc<Shared>>().cloned()
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(shared) = shared_of(&states).await {
        match serde_json::to_value(&ev) {
            Ok(v) => on_event(&shared, &v, None),
            Err(e) => tracing::warn!("slack: socket event not readable: {e}"),
        }
    }
    Ok(())
}

async fn on_interactive(
    ev: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(shared) = shared_of(&states).await {
        match serde_json::to_value(&ev) {
            Ok(v) => on_interaction(&shared, &v),
            Err(e) => tracing::warn!("slack: socket interaction not readable: {e}"),
        }
    }
    Ok(())
}

/// Runs Socket Mode until `shutdown` turns true.
pub async fn run(shared: Arc<Shared>, app_token: String, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let client = shared.api.client().clone();
    let env = Arc::new(SlackClientEventsListenerEnvironment::new(client).with_user_state(shared));
    let callbacks =
        SlackSocketModeListenerCallbacks::new().with_push_events(on_push).with_interaction_events(on_interactive);
    let config = SlackClientSocketModeConfig::new().with_max_connections_count(1).with_initial_backoff_in_seconds(1);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue(app_token));
    listener.listen_for(&token).await.map_err(|e| anyhow!("slack socket mode: {e}"))?;
    listener.start().await;
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    listener.shutdown().await;
    Ok(())
}
