//! One message or click, end to end: who is it, ask the core (with restart
//! progress shown by updating one message in place), post the cards in the thread.

use super::api::Api;
use super::dedup::Dedup;
use super::identity::Identity;
use super::incoming::Incoming;
use crate::core::{Core, Inbound, Platform};
use crate::render::blockkit::{self, ImageRef, Rendered};
use serde_json::json;
use skills::Card;
use skills::backends::{Progress, RestartStep};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What every handler of the adapter shares.
pub struct Shared {
    /// The core that answers.
    pub core: Arc<Core>,
    /// The Web API client.
    pub api: Api,
    /// Who may use pipilu.
    pub identity: Identity,
    /// Event ids already handled.
    pub dedup: Dedup,
    /// The bot's own user id.
    pub bot_user: String,
}

/// What the refused see (only them).
pub const REFUSAL: &str = "Sorry, you are not on pipilu's list of users here, so I did nothing. \
                           Ask whoever runs pipilu to add your Slack id to `[slack] users`.";

/// Handles one incoming message or click; errors are logged, never returned to Slack.
pub async fn process(shared: Arc<Shared>, inc: Incoming) {
    let thread = inc.thread_ts.as_deref();
    let Some(who) = shared.identity.resolve(&shared.api, &inc.user).await else {
        tracing::info!(user = %inc.user, "slack: refused an unknown user");
        if let Err(e) = shared.api.post_ephemeral(&inc.channel, &inc.user, thread, REFUSAL).await {
            tracing::warn!("slack: refusal: {e}");
        }
        return;
    };
    let conversation = match thread {
        Some(t) => format!("{}/{t}", inc.channel),
        None => inc.channel.clone(),
    };
    let inbound = Inbound { platform: Platform::Slack, conversation, user: who, content: inc.content };
    let (tx, rx) = mpsc::unbounded_channel::<RestartStep>();
    let progress = Progress::to(move |step: &RestartStep| {
        let _ = tx.send(step.clone());
    });
    let (done_tx, done_rx) = oneshot::channel();
    let updater =
        tokio::spawn(show_progress(shared.api.clone(), inc.channel.clone(), inc.thread_ts.clone(), rx, done_rx));
    let reply = shared.core.handle_with_progress(inbound, &progress).await;
    drop(progress);
    let _ = done_tx.send(());
    let _ = updater.await;
    for card in &reply.cards {
        if let Err(e) = send_card(&shared.api, &inc.channel, thread, card).await {
            tracing::warn!("slack: answer not sent: {e}");
        }
    }
}

/// Posts a card; its image is uploaded into the same thread first.
pub async fn send_card(api: &Api, channel: &str, thread: Option<&str>, card: &Card) -> anyhow::Result<String> {
    let image = match &card.image {
        Some(img) => match api.upload_png(channel, thread, &img.file_name, &img.alt, &img.png).await {
            Ok(_) => Some(ImageRef::InThread),
            Err(e) => {
                tracing::warn!("slack: image not uploaded: {e}");
                None
            }
        },
        None => None,
    };
    api.post(channel, thread, &blockkit::render(card, image.as_ref())).await
}

fn progress_message(step: &RestartStep) -> Rendered {
    let emoji = if step.done { "✅" } else { "⏳" };
    let text = format!("{emoji} {}", blockkit::escape(&step.to_string()));
    Rendered { blocks: vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })], text }
}

/// Posts the first restart step and updates that message with each later one, until `done`.
async fn show_progress(
    api: Api,
    channel: String,
    thread: Option<String>,
    mut steps: mpsc::UnboundedReceiver<RestartStep>,
    mut done: oneshot::Receiver<()>,
) {
    let mut ts: Option<String> = None;
    loop {
        let step = tokio::select! {
            biased;
            s = steps.recv() => s,
            _ = &mut done => steps.try_recv().ok(),
        };
        let Some(step) = step else { break };
        let msg = progress_message(&step);
        let sent = match &ts {
            None => api.post(&channel, thread.as_deref(), &msg).await.map(|t| ts = Some(t)),
            Some(t) => api.update(&channel, t, &msg).await,
        };
        if let Err(e) = sent {
            tracing::warn!("slack: progress: {e}");
        }
    }
}
