//! The Slack Web API calls the adapter makes, over slack-morphism, with one
//! rate-limit gate: a 429 closes the gate for its `Retry-After`, and every call
//! (this one and those queued behind it) waits and is retried rather than dropped.

use crate::render::blockkit::Rendered;
use anyhow::{Context as _, Result, anyhow};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// slack-morphism's hyper connector, able to speak plain http to a loopback fake.
pub type Connector = SlackClientHyperConnector<HttpsConnector<HttpConnector>>;

/// How often one call is retried after 429s before it is given up (and logged).
const MAX_RATE_RETRIES: u32 = 5;
/// Retry-After used when Slack sends none; the longest we honour.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(120);

/// The bot's Web API client.
#[derive(Clone)]
pub struct Api {
    client: Arc<SlackClient<Connector>>,
    token: SlackApiToken,
    /// Until when calls must wait after a 429.
    gate: Arc<Mutex<Option<Instant>>>,
}

/// The client, pointed at `api_url` (`https://slack.com/api` when `None`).
pub fn client(api_url: Option<&str>) -> Result<Arc<SlackClient<Connector>>> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .context("loading the system's TLS roots")?
        .https_or_http()
        .enable_http1()
        .build();
    let mut connector = SlackClientHyperConnector::with_connector(https);
    if let Some(url) = api_url {
        // slack-morphism joins `{base}/{method}`.
        connector = connector.with_slack_api_url(url.trim_end_matches('/'));
    }
    Ok(Arc::new(SlackClient::new(connector)))
}

/// Blocks from the renderer as slack-morphism's types; `None` when they do not convert (text only then).
fn blocks(rendered: &Rendered) -> Option<Vec<SlackBlock>> {
    match serde_json::from_value::<Vec<SlackBlock>>(Value::Array(rendered.blocks.clone())) {
        Ok(b) => Some(b),
        Err(e) => {
            tracing::warn!("slack: blocks not sent, text only: {e}");
            None
        }
    }
}

fn content(rendered: &Rendered) -> SlackMessageContent {
    SlackMessageContent::new().with_text(rendered.text.clone()).opt_blocks(blocks(rendered))
}

impl Api {
    /// A client for the bot token.
    pub fn new(client: Arc<SlackClient<Connector>>, bot_token: &str) -> Self {
        let token = SlackApiToken::new(SlackApiTokenValue(bot_token.to_string()));
        Api { client, token, gate: Arc::new(Mutex::new(None)) }
    }

    /// The shared client (for Socket Mode).
    pub fn client(&self) -> &Arc<SlackClient<Connector>> {
        &self.client
    }

    /// Runs a call through the rate-limit gate, retrying on 429 after `Retry-After`.
    async fn call<T, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: Fn(Arc<SlackClient<Connector>>, SlackApiToken) -> Fut,
        Fut: Future<Output = ClientResult<T>>,
    {
        let mut tries = 0;
        loop {
            let wait_until = *self.gate.lock().await;
            if let Some(t) = wait_until {
                tokio::time::sleep_until(t).await;
            }
            match f(self.client.clone(), self.token.clone()).await {
                Err(SlackClientError::RateLimitError(e)) if tries < MAX_RATE_RETRIES => {
                    tries += 1;
                    let after = e.retry_after.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY);
                    tracing::info!("slack: {what} rate limited; retrying in {} s", after.as_secs_f32());
                    let until = Instant::now() + after;
                    let mut g = self.gate.lock().await;
                    if g.is_none_or(|t| t < until) {
                        *g = Some(until);
                    }
                }
                Err(e) => return Err(anyhow!("slack {what}: {e}")),
                Ok(v) => return Ok(v),
            }
        }
    }

    /// `auth.test`: the bot's own user id (to strip its mention and ignore its own messages).
    pub async fn bot_user_id(&self) -> Result<String> {
        let r = self.call("auth.test", |c, t| async move { c.open_session(&t).auth_test().await }).await?;
        Ok(r.user_id.0)
    }

    /// `chat.postMessage`; returns the message's `ts`.
    pub async fn post(&self, channel: &str, thread_ts: Option<&str>, rendered: &Rendered) -> Result<String> {
        let req = SlackApiChatPostMessageRequest::new(SlackChannelId(channel.into()), content(rendered))
            .opt_thread_ts(thread_ts.map(|t| SlackTs(t.into())));
        let r = self
            .call("chat.postMessage", |c, t| {
                let req = req.clone();
                async move { c.open_session(&t).chat_post_message(&req).await }
            })
            .await?;
        Ok(r.ts.0)
    }

    /// `chat.postEphemeral`: a message only `user` sees.
    pub async fn post_ephemeral(&self, channel: &str, user: &str, thread_ts: Option<&str>, text: &str) -> Result<()> {
        let req = SlackApiChatPostEphemeralRequest::new(
            SlackChannelId(channel.into()),
            SlackUserId(user.into()),
            SlackMessageContent::new().with_text(text.into()),
        )
        .opt_thread_ts(thread_ts.map(|t| SlackTs(t.into())));
        self.call("chat.postEphemeral", |c, t| {
            let req = req.clone();
            async move { c.open_session(&t).chat_post_ephemeral(&req).await }
        })
        .await?;
        Ok(())
    }

    /// `chat.update` of an earlier message.
    pub async fn update(&self, channel: &str, ts: &str, rendered: &Rendered) -> Result<()> {
        let req = SlackApiChatUpdateRequest::new(SlackChannelId(channel.into()), content(rendered), SlackTs(ts.into()));
        self.call("chat.update", |c, t| {
            let req = req.clone();
            async move { c.open_session(&t).chat_update(&req).await }
        })
        .await?;
        Ok(())
    }

    /// Uploads a PNG into a thread in three steps: `files.getUploadURLExternal`, the bytes
    /// to the returned URL, `files.completeUploadExternal` with the channel and thread.
    /// Returns the file id.
    pub async fn upload_png(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        file_name: &str,
        alt: &str,
        png: &[u8],
    ) -> Result<String> {
        let req = SlackApiFilesGetUploadUrlExternalRequest::new(file_name.into(), png.len()).with_alt_txt(alt.into());
        let url = self
            .call("files.getUploadURLExternal", |c, t| {
                let req = req.clone();
                async move { c.open_session(&t).get_upload_url_external(&req).await }
            })
            .await?;
        let up = SlackApiFilesUploadViaUrlRequest::new(url.upload_url.clone(), png.to_vec(), "image/png".into());
        self.call("file upload", |c, t| {
            let up = up.clone();
            async move { c.open_session(&t).files_upload_via_url(&up).await }
        })
        .await?;
        let done = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(url.file_id.clone()).with_title(alt.into()),
        ])
        .with_channel_id(SlackChannelId(channel.into()))
        .opt_thread_ts(thread_ts.map(|t| SlackTs(t.into())));
        self.call("files.completeUploadExternal", |c, t| {
            let done = done.clone();
            async move { c.open_session(&t).files_complete_upload_external(&done).await }
        })
        .await?;
        Ok(url.file_id.0)
    }

    /// `usergroups.users.list`: the members of a user group.
    pub async fn group_members(&self, group: &str) -> Result<Vec<String>> {
        let req = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.into()));
        let r = self
            .call("usergroups.users.list", |c, t| {
                let req = req.clone();
                async move { c.open_session(&t).usergroups_users_list(&req).await }
            })
            .await?;
        Ok(r.users.into_iter().map(|u| u.0).collect())
    }
}
