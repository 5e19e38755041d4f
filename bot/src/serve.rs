//! `pipilu run`: every configured chat adapter at once (Slack, Telegram) on one
//! core, until SIGTERM or Ctrl-C. Shutdown is graceful: adapters stop taking
//! new messages, and what is in flight gets [`GRACE`] to finish.

use crate::app;
use crate::config::Config;
use anyhow::{Result, bail};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight work may take to finish after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(30);

/// Starts the core and the adapters the config enables, and runs until a
/// signal or until every adapter has stopped (an adapter that fails stops the others).
pub async fn run(config: Config) -> Result<()> {
    if config.slack.is_none() && config.telegram.is_none() {
        bail!("no chat adapter is configured: add [slack] or [telegram] to the config (or use `pipilu chat`)");
    }
    let refresh = Duration::from_secs(config.nlu.inventory_refresh_secs);
    let slack = config.slack.clone();
    let telegram = config.telegram.clone();
    let started = app::start(config).await?;
    eprintln!("pipilu: {}; ready in {} ms", started.note, started.elapsed.as_millis());
    let inventory = app::spawn_inventory_refresh(started.core.clone(), refresh);

    let (stop, stopped) = watch::channel(false);
    let mut adapters = JoinSet::new();
    if let Some(cfg) = slack {
        let (core, rx) = (started.core.clone(), stopped.clone());
        adapters.spawn(async move { ("slack", crate::adapters::slack::serve(core, cfg, rx).await) });
    }
    if let Some(cfg) = telegram {
        let (core, rx) = (started.core.clone(), stopped.clone());
        adapters.spawn(async move { ("telegram", crate::adapters::telegram::serve(core, cfg, rx).await) });
    }

    let mut failure = None;
    tokio::select! {
        signal = shutdown_signal() => tracing::info!("{signal}: shutting down"),
        Some(done) = adapters.join_next() => {
            failure = adapter_failure(done);
        }
    }
    let _ = stop.send(true);
    if let Some(t) = inventory {
        t.abort();
    }
    let drained = tokio::time::timeout(GRACE, async {
        while let Some(done) = adapters.join_next().await {
            if let Some(e) = adapter_failure(done) {
                failure.get_or_insert(e);
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!("adapters still busy after {} s; in-flight work was interrupted", GRACE.as_secs());
        adapters.abort_all();
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn adapter_failure(done: Result<(&'static str, Result<()>), tokio::task::JoinError>) -> Option<anyhow::Error> {
    match done {
        Ok((_, Ok(()))) => None,
        Ok((name, Err(e))) => Some(e.context(format!("the {name} adapter stopped"))),
        Err(e) => Some(anyhow::anyhow!("an adapter task failed: {e}")),
    }
}

/// Waits for SIGTERM or SIGINT (Ctrl-C) and says which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
