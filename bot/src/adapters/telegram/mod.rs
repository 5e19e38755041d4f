//! The Telegram adapter: long polling of the Bot API (`getUpdates`) or a webhook
//! ([`webhook`]), one update at a time, in order, with the last handled update id
//! kept in a state file.
//!
//! - Private chats: every message. Groups: messages that mention the bot or reply
//!   to it (see [`route`]); `allowed_chats`, when set, limits the groups.
//! - Only users mapped in `[telegram] users` are served; anybody else gets a polite
//!   refusal and the core is not called.
//! - A button click is answered at once (`answerCallbackQuery`, always, with an
//!   alert when refused) and its result is sent as a *new* message in the same chat:
//!   the clicked card stays as it was, so the history reads in order and its
//!   buttons (refresh, logs) can be pressed again.
//! - A restart's rollout steps edit one "restarting…" message in place.
//!
//! Updates are handled one after another: the offset file then always names the
//! last update fully answered, so a restart neither repeats nor loses any.

pub mod offset;
pub mod route;
pub mod send;
mod webhook;

use crate::config::{TelegramConfig, TelegramMode};
use crate::core::{Content, Core, Inbound, Platform};
use crate::render::telegram::Callbacks;
use anyhow::{Context as _, Result, bail};
use offset::OffsetFile;
use route::{Incoming, Me, Route};
use send::ProgressMessage;
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, CallbackQuery, Message, Update, UpdateKind};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;

/// What the adapter shares between updates.
struct Adapter {
    bot: Bot,
    core: Arc<Core>,
    cfg: TelegramConfig,
    me: Me,
    callbacks: Callbacks,
}

/// The Bot API client for these settings (with a request timeout longer than the long poll).
pub fn client(cfg: &TelegramConfig) -> Result<Bot> {
    let http = teloxide::net::default_reqwest_settings()
        .timeout(Duration::from_secs(u64::from(cfg.poll_timeout_secs) + 15))
        .build()
        .context("building the HTTP client")?;
    let mut bot = Bot::with_client(cfg.token.0.clone(), http);
    if let Some(url) = &cfg.api_url {
        bot = bot.set_api_url(url.parse().with_context(|| format!("telegram.api_url {url:?}"))?);
    }
    Ok(bot)
}

/// Serves Telegram until `shutdown` turns true (or its sender is dropped), by long
/// polling or, in webhook mode, by serving the webhook. Fails at start when the token
/// is refused; later network errors are retried with a growing pause.
pub async fn serve(core: Arc<Core>, cfg: TelegramConfig, mut shutdown: watch::Receiver<bool>) -> Result<()> {
    let bot = client(&cfg)?;
    let me = bot.get_me().await.context("telegram: getMe failed (is the token right?)")?;
    let me = Me { id: me.user.id.0, username: me.user.username.clone().unwrap_or_default().to_ascii_lowercase() };
    let state = OffsetFile::new(cfg.state_path());
    if state.path().is_none() {
        tracing::warn!("telegram: no state folder; the update offset is kept only in memory");
    }
    let mut last = state.load();
    tracing::info!(bot = %me.username, offset = ?last, "telegram: polling");
    let adapter = Adapter { bot, core, cfg, me, callbacks: Callbacks::default() };
    if adapter.cfg.mode == TelegramMode::Webhook {
        return webhook::serve(adapter, state, last, shutdown).await;
    }
    let mut pause = Duration::from_secs(1);
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let mut req = adapter
            .bot
            .get_updates()
            .timeout(adapter.cfg.poll_timeout_secs)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        if let Some(id) = last {
            req = req.offset(id.wrapping_add(1) as i32);
        }
        let updates = tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() { return Ok(()); }
                continue;
            }
            r = req.send() => r,
        };
        let updates = match updates {
            Ok(u) => {
                pause = Duration::from_secs(1);
                u
            }
            Err(RequestError::Api(ApiError::InvalidToken)) => {
                bail!("telegram: the bot token was refused")
            }
            Err(e) => {
                let wait = match &e {
                    RequestError::RetryAfter(s) => s.duration(),
                    _ => pause,
                };
                tracing::warn!(error = %e, retry_in = ?wait, "telegram: getUpdates failed");
                pause = (pause * 2).min(Duration::from_secs(30));
                tokio::select! {
                    changed = shutdown.changed() => if changed.is_err() { return Ok(()); },
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        for update in updates {
            if last.is_some_and(|l| update.id.0 <= l) {
                continue;
            }
            adapter.handle(update.clone()).await;
            last = Some(update.id.0);
            if let Err(e) = state.save(update.id.0) {
                tracing::warn!(error = %format!("{e:#}"), "telegram: cannot save the update offset");
            }
        }
    }
}

impl Adapter {
    async fn handle(&self, update: Update) {
        match update.kind {
            UpdateKind::Message(msg) => self.message(msg).await,
            UpdateKind::CallbackQuery(q) => self.click(q).await,
            other => {
                tracing::debug!(id = update.id.0, kind = ?std::mem::discriminant(&other), "telegram: ignored update")
            }
        }
    }

    /// The pipilu user for a Telegram user, if mapped.
    fn user(&self, id: UserId) -> Option<&str> {
        self.cfg.users.get(&id.0.to_string()).map(String::as_str)
    }

    fn chat_allowed(&self, chat: &teloxide::types::Chat) -> bool {
        chat.is_private() || self.cfg.allowed_chats.is_empty() || self.cfg.allowed_chats.contains(&chat.id.0)
    }

    async fn message(&self, msg: Message) {
        let Some(from) = msg.from.as_ref().filter(|u| !u.is_bot) else { return };
        if !self.chat_allowed(&msg.chat) {
            tracing::debug!(chat = msg.chat.id.0, "telegram: chat not in allowed_chats");
            return;
        }
        let incoming = Incoming {
            private: msg.chat.is_private(),
            text: msg.text(),
            replies_to_bot: msg.reply_to_message().and_then(|m| m.from.as_ref()).is_some_and(|u| u.id.0 == self.me.id),
        };
        let text = match route::route(&incoming, &self.me) {
            Route::Ignore => return,
            Route::OnlyText => {
                send::notice(&self.bot, msg.chat.id, "I only understand text messages. Try \"help\".").await;
                return;
            }
            Route::Ask(text) => text,
        };
        let Some(user) = self.user(from.id) else {
            tracing::info!(telegram_user = from.id.0, "telegram: refused an unknown user");
            send::notice(&self.bot, msg.chat.id, &refusal(from.id)).await;
            return;
        };
        self.run(msg.chat.id, user, Content::Text(text)).await;
    }

    /// Answers the click at once (always), then runs it and sends the result as a new message.
    async fn click(&self, q: CallbackQuery) {
        let decided = self.decide_click(&q);
        let mut answer = self.bot.answer_callback_query(q.id.clone());
        if let Err(why) = &decided {
            answer = answer.text(why.clone()).show_alert(true);
        }
        if let Err(e) = answer.await {
            tracing::warn!(error = %e, "telegram: answerCallbackQuery failed");
        }
        if let Ok((chat, user, content)) = decided {
            self.run(chat, &user, content).await;
        }
    }

    fn decide_click(&self, q: &CallbackQuery) -> Result<(ChatId, String, Content), String> {
        let chat = q.message.as_ref().map(|m| m.chat()).ok_or("This button cannot be answered here.")?;
        if !self.chat_allowed(chat) {
            return Err("pipilu does not answer in this chat.".into());
        }
        let user = self.user(q.from.id).ok_or_else(|| refusal(q.from.id))?;
        let data = q.data.as_deref().unwrap_or("");
        let click = self.callbacks.decode(data).ok_or("This button has expired. Ask again for a fresh one.")?;
        Ok((chat.id, user.to_string(), Content::Action { action: click.action, payload: click.payload }))
    }

    async fn run(&self, chat: ChatId, user: &str, content: Content) {
        let _typing = self.bot.send_chat_action(chat, teloxide::types::ChatAction::Typing).await;
        let inbound =
            Inbound { platform: Platform::Telegram, conversation: chat.0.to_string(), user: user.into(), content };
        let progress = ProgressMessage::start(self.bot.clone(), chat);
        let reply = self.core.handle_with_progress(inbound, progress.progress()).await;
        progress.finish().await;
        send::reply(&self.bot, chat, &reply, &self.callbacks).await;
    }
}

fn refusal(id: UserId) -> String {
    format!(
        "Sorry, I don't know you yet, so I can't do anything for you. Ask an operator to add your Telegram id {} \
         to [telegram] users.",
        id.0
    )
}
