//! The Slack adapter: mentions in channels and DMs, button clicks and `/pipilu`
//! in, Block Kit cards out, answered in the thread the question came from.
//!
//! Events arrive over Socket Mode (default when an app token is configured; no
//! public URL needed) or the Events API (signed HTTP POSTs). A button click is
//! answered with a new message in the same thread, not by editing the card: the
//! card stays as the record of what was asked, and the click's result is read
//! below it. Restart progress is one message updated in place.

pub mod api;
mod dedup;
mod http;
mod identity;
pub mod incoming;
mod process;
pub mod signature;
mod socket;

pub use process::REFUSAL;

use crate::config::{SlackConfig, SlackMode};
use crate::core::Core;
use anyhow::{Context as _, Result};
use process::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// How many event ids are remembered to drop Slack's retries.
const DEDUP_CAPACITY: usize = 10_000;

/// The secrets the config names, read from the environment (or given by tests).
#[derive(Clone, Default)]
pub struct Secrets {
    /// `xoxb-...`
    pub bot_token: String,
    /// `xapp-...`, for Socket Mode.
    pub app_token: Option<String>,
    /// The signing secret, for the Events API.
    pub signing_secret: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Reads the variables `cfg` names.
    pub fn from_env(cfg: &SlackConfig) -> Result<Self> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .with_context(|| format!("environment variable {name} is not set"))
        };
        Ok(Secrets {
            bot_token: var(&cfg.bot_token_env)?,
            app_token: cfg.app_token_env.as_deref().map(var).transpose()?,
            signing_secret: cfg.signing_secret_env.as_deref().map(var).transpose()?,
        })
    }
}

/// A started adapter.
pub struct Running {
    /// Where the Events API endpoint listens (Events mode only).
    pub addr: Option<SocketAddr>,
    /// The adapter; ends when shutdown turns true.
    pub task: tokio::task::JoinHandle<Result<()>>,
}

/// Serves Slack until `shutdown` turns true; secrets are read from the environment.
pub async fn serve(core: Arc<Core>, cfg: SlackConfig, shutdown: watch::Receiver<bool>) -> Result<()> {
    let secrets = Secrets::from_env(&cfg)?;
    start(core, &cfg, secrets, shutdown).await?.task.await.context("slack adapter task")?
}

/// Checks the bot token (`auth.test`), then starts Socket Mode or the Events API endpoint.
pub async fn start(
    core: Arc<Core>,
    cfg: &SlackConfig,
    secrets: Secrets,
    mut shutdown: watch::Receiver<bool>,
) -> Result<Running> {
    let api = api::Api::new(api::client(cfg.api_url.as_deref())?, &secrets.bot_token);
    let bot_user = api.bot_user_id().await.context("checking the Slack bot token")?;
    let shared = Arc::new(Shared {
        core,
        api,
        identity: identity::Identity::new(cfg.users.clone(), cfg.user_groups.clone()),
        dedup: dedup::Dedup::new(DEDUP_CAPACITY),
        bot_user,
    });
    match cfg.mode {
        SlackMode::Socket => {
            let app = secrets.app_token.context("Socket Mode needs the app token ([slack] app_token_env)")?;
            Ok(Running { addr: None, task: tokio::spawn(socket::run(shared, app, shutdown)) })
        }
        SlackMode::Events => {
            let secret = secrets
                .signing_secret
                .context("the Events API needs the signing secret ([slack] signing_secret_env)")?;
            let listener = tokio::net::TcpListener::bind(cfg.listen)
                .await
                .with_context(|| format!("listening on {}", cfg.listen))?;
            let addr = listener.local_addr()?;
            tracing::info!("slack: Events API on http://{addr}/slack/events");
            let app = http::router(shared, secret);
            let task = tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        while !*shutdown.borrow_and_update() {
                            if shutdown.changed().await.is_err() {
                                break;
                            }
                        }
                    })
                    .await
                    .context("slack Events API server")
            });
            Ok(Running { addr: Some(addr), task })
        }
    }
}
