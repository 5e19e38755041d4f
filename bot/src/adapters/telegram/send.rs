//! Sending replies: each card as an HTML message with its keyboard, its image as a
//! photo (the keyboard then goes under the photo, so buttons stay last), and the whole
//! card as a text document when the message had to be cut. Restart steps edit one
//! progress message in place.

use crate::core::Reply;
use crate::render::telegram::{Callbacks, escape, render};
use skills::backends::{Progress, RestartStep};
use teloxide::prelude::*;
use teloxide::types::{InputFile, ParseMode};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Sends a plain notice (refusals, "only text").
pub async fn notice(bot: &Bot, chat: ChatId, text: &str) {
    if let Err(e) = bot.send_message(chat, text).await {
        tracing::warn!(chat = chat.0, error = %e, "telegram: sendMessage failed");
    }
}

/// Sends every card of a reply, in order. Failures are logged; a card Telegram rejects
/// as HTML is sent again as plain text so the user still gets an answer.
pub async fn reply(bot: &Bot, chat: ChatId, reply: &Reply, callbacks: &Callbacks) {
    for card in &reply.cards {
        let r = render(card, callbacks);
        let keyboard_on_text = r.photo.is_none();
        let mut msg = bot.send_message(chat, r.html.clone()).parse_mode(ParseMode::Html);
        if keyboard_on_text && let Some(k) = r.keyboard.clone() {
            msg = msg.reply_markup(k);
        }
        if let Err(e) = msg.await {
            tracing::warn!(chat = chat.0, error = %e, "telegram: sendMessage (HTML) failed; sending plain text");
            let plain: String = card.title.chars().take(1000).collect();
            notice(bot, chat, &format!("{plain}\n(the full answer could not be shown: {e})")).await;
        }
        if let Some(p) = r.photo {
            let file = InputFile::memory(p.png).file_name(p.file_name);
            let mut photo = bot.send_photo(chat, file).caption(p.caption).parse_mode(ParseMode::Html);
            if let Some(k) = r.keyboard.clone() {
                photo = photo.reply_markup(k);
            }
            if let Err(e) = photo.await {
                tracing::warn!(chat = chat.0, error = %e, "telegram: sendPhoto failed");
            }
        }
        if let Some(d) = r.document {
            let file = InputFile::memory(d.text.into_bytes()).file_name(d.file_name);
            let doc = bot.send_document(chat, file).caption("The whole answer, uncut.");
            if let Err(e) = doc.await {
                tracing::warn!(chat = chat.0, error = %e, "telegram: sendDocument failed");
            }
        }
    }
}

/// Shows a restart's steps in one message: "restarting…" on the first step, then
/// edited in place. Steps that arrive faster than Telegram answers are merged.
pub struct ProgressMessage {
    progress: Progress,
    task: JoinHandle<()>,
}

impl ProgressMessage {
    /// Starts watching for steps in `chat`.
    pub fn start(bot: Bot, chat: ChatId) -> Self {
        let (tx, rx) = mpsc::unbounded_channel::<RestartStep>();
        let progress = Progress::to(move |step: &RestartStep| {
            let _ = tx.send(step.clone());
        });
        let task = tokio::spawn(follow(bot, chat, rx));
        ProgressMessage { progress, task }
    }

    /// The sink to hand to the core.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Waits (briefly) for the last edit after the core has answered.
    pub async fn finish(self) {
        let ProgressMessage { progress, task } = self;
        drop(progress);
        if tokio::time::timeout(std::time::Duration::from_secs(10), task).await.is_err() {
            tracing::warn!("telegram: progress updates did not finish in time");
        }
    }
}

async fn follow(bot: Bot, chat: ChatId, mut rx: mpsc::UnboundedReceiver<RestartStep>) {
    let mut message = None;
    while let Some(mut step) = rx.recv().await {
        while let Ok(next) = rx.try_recv() {
            step = next;
        }
        let id = match message {
            Some(id) => id,
            None => {
                let text = format!("⏳ restarting {}…", escape(&step.service));
                match bot.send_message(chat, text).parse_mode(ParseMode::Html).await {
                    Ok(m) => {
                        message = Some(m.id);
                        m.id
                    }
                    Err(e) => {
                        tracing::warn!(chat = chat.0, error = %e, "telegram: progress message failed");
                        continue;
                    }
                }
            }
        };
        let icon = if step.done { "✅" } else { "⏳" };
        let text = format!("{icon} {}", escape(&step.to_string()));
        if let Err(e) = bot.edit_message_text(chat, id, text).parse_mode(ParseMode::Html).await {
            tracing::debug!(chat = chat.0, error = %e, "telegram: progress edit failed");
        }
    }
}
