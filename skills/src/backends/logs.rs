//! Log search.

use super::BackendError;
use crate::skill::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A search: service, window, optional words and level, newest `limit` lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    /// Service name.
    pub service: String,
    /// Environment.
    pub env: Option<String>,
    /// Time window.
    pub window: Window,
    /// Words to find, matched literally (backends escape them).
    pub query: Option<String>,
    /// Level filter (`error`, `warn`, ...).
    pub level: Option<String>,
    /// Most lines to return, newest first.
    pub limit: usize,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// When.
    pub ts: DateTime<Utc>,
    /// Level.
    pub level: String,
    /// Which instance logged it.
    pub instance: String,
    /// The message.
    pub message: String,
}

/// The newest lines and the count of all matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogResult {
    /// Newest first, at most `limit`.
    pub lines: Vec<LogLine>,
    /// All matches in the window.
    pub total: u64,
}

/// Where logs live.
#[async_trait]
pub trait LogsBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// Runs a search.
    async fn query(&self, q: &LogQuery) -> Result<LogResult, BackendError>;
}
