//! Services: the health card and restarts.

use super::BackendError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

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
    /// Restarts a service and follows it until every instance is back or the
    /// backend's rollout timeout passes, reporting steps to `progress`. Never
    /// retried automatically: a restart that may have happened is not sent twice.
    async fn restart(&self, service: &str, env: Option<&str>, progress: &Progress) -> Result<(), BackendError>;
}

/// One step of a restart in progress (a rollout), so an adapter can update its
/// message in place instead of posting a new one per step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartStep {
    /// Service being restarted.
    pub service: String,
    /// Instances already replaced.
    pub updated: u32,
    /// Instances ready.
    pub ready: u32,
    /// Instances wanted.
    pub desired: u32,
    /// The rollout finished.
    pub done: bool,
}

impl fmt::Display for RestartStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.done { "restarted" } else { "restarting" };
        write!(f, "{} {what}: {} of {} updated, {} ready", self.service, self.updated, self.desired, self.ready)
    }
}

/// A function that receives restart steps.
type StepSink = Arc<dyn Fn(&RestartStep) + Send + Sync>;

/// Where restart steps go. Cheap to clone; the default drops them.
#[derive(Clone, Default)]
pub struct Progress(Option<StepSink>);

impl Progress {
    /// Progress that goes nowhere.
    pub fn none() -> Self {
        Progress(None)
    }

    /// Progress handed to `f`.
    pub fn to(f: impl Fn(&RestartStep) + Send + Sync + 'static) -> Self {
        Progress(Some(Arc::new(f)))
    }

    /// Reports one step.
    pub fn report(&self, step: &RestartStep) {
        if let Some(f) = &self.0 {
            f(step);
        }
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Progress(sink)" } else { "Progress(none)" })
    }
}

/// All progress sinks are alike for comparisons of requests.
impl PartialEq for Progress {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
