//! What skills need from the outside world, as traits. The demo estate implements
//! them in-process; real drivers (Kubernetes, Cloud Foundry, Prometheus, Loki,
//! Grafana, OPNsense) implement them over HTTP.

mod firewalls;
mod graphs;
mod logs;
mod metrics;
mod services;

pub use firewalls::{FirewallBackend, FirewallStatus, HaRole, Interface};
pub use graphs::{Dashboard, GraphBackend, Panel, PanelImage};
pub use logs::{LogLine, LogQuery, LogResult, LogsBackend};
pub use metrics::{MetricsBackend, Series};
pub use services::{InstanceHealth, InstanceState, Progress, RestartStep, ServiceBackend, ServiceHealth};

use std::sync::Arc;

/// A backend call that failed, named for the user: which backend, which call, why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{backend}: {call}: {cause}")]
pub struct BackendError {
    /// Backend name (`demo`, `kubernetes`, `loki`, ...).
    pub backend: String,
    /// The call (`health latte`, `query_range`, ...).
    pub call: String,
    /// What went wrong.
    pub cause: String,
    /// The thing asked for does not exist (so the skill can suggest names).
    pub not_found: bool,
}

impl BackendError {
    /// A failure of `call` on `backend`.
    pub fn new(backend: &str, call: impl Into<String>, cause: impl Into<String>) -> Self {
        BackendError { backend: backend.into(), call: call.into(), cause: cause.into(), not_found: false }
    }

    /// The named thing does not exist.
    pub fn not_found(backend: &str, call: impl Into<String>, what: impl Into<String>) -> Self {
        BackendError { backend: backend.into(), call: call.into(), cause: what.into(), not_found: true }
    }
}

/// The set of backends a skill may use.
#[derive(Clone)]
pub struct Backends {
    /// Services: health and restart.
    pub services: Arc<dyn ServiceBackend>,
    /// Metrics series.
    pub metrics: Arc<dyn MetricsBackend>,
    /// Log search.
    pub logs: Arc<dyn LogsBackend>,
    /// Dashboards and panel images.
    pub graphs: Arc<dyn GraphBackend>,
    /// Firewalls.
    pub firewalls: Arc<dyn FirewallBackend>,
}
