//! Services: the health card and restarts.

use super::BackendError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// State of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceState {
    /// Serving.
    Running,
    /// Coming up.
    Starting,
    /// Crashed (or crash-looping).
    Crashed,
    /// Stopped or unreachable.
    Down,
}

/// One instance's vitals, as on the classic Cloud Foundry health card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceHealth {
    /// Instance index or pod name.
    pub id: String,
    /// State.
    pub state: InstanceState,
    /// Since when it has been in this state.
    pub since: DateTime<Utc>,
    /// CPU use in percent of one core.
    pub cpu_percent: f64,
    /// Memory used, bytes.
    pub mem_bytes: u64,
    /// Memory quota, bytes (0 when none).
    pub mem_quota: u64,
    /// Disk used, bytes.
    pub disk_bytes: u64,
    /// Disk quota, bytes (0 when none).
    pub disk_quota: u64,
    /// Restarts so far.
    pub restarts: u32,
    /// Why it last terminated (`OOMKilled`), when known.
    pub last_termination: Option<String>,
}

/// A service's health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHealth {
    /// Canonical name.
    pub name: String,
    /// Environment it runs in.
    pub env: String,
    /// What the operator asked for (`started`, `stopped`).
    pub requested_state: String,
    /// Instances wanted.
    pub desired: u32,
    /// Instances running.
    pub running: u32,
    /// Per-instance vitals.
    pub instances: Vec<InstanceHealth>,
}

/// Where services live: health and restart.
#[async_trait]
pub trait ServiceBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// Names of all services (the NLU gazetteer is fed from this).
    async fn list(&self) -> Result<Vec<String>, BackendError>;
    /// Health of one service; `not_found` error when unknown.
    async fn health(&self, service: &str, env: Option<&str>) -> Result<ServiceHealth, BackendError>;
    /// Restarts a service (never retried automatically).
    async fn restart(&self, service: &str, env: Option<&str>) -> Result<(), BackendError>;
}
