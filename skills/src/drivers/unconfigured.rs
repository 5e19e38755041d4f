//! The backend for a kind the config leaves out when others are configured: it
//! says what to add instead of answering from the demo estate, so real and
//! simulated data are never mixed. Its lists are empty, so inventory refreshes
//! stay quiet.

use crate::backends::{
    BackendError, Dashboard, FirewallBackend, FirewallStatus, GraphBackend, LogQuery, LogResult, LogsBackend,
    MetricsBackend, PanelImage, Progress, Series, ServiceBackend, ServiceHealth,
};
use crate::skill::Window;
use async_trait::async_trait;

/// A backend kind that is not configured, with the config table that would configure it.
#[derive(Debug, Clone, Copy)]
pub struct Unconfigured {
    /// What is missing (`logs`, `metrics`).
    pub kind: &'static str,
    /// What to add (`[backends.loki] or [backends.elasticsearch]`).
    pub add: &'static str,
}

impl Unconfigured {
    fn error(&self, call: impl Into<String>) -> BackendError {
        BackendError::new(
            "pipilu",
            call,
            format!("no {} backend is configured; add {} to pipilu.toml", self.kind, self.add),
        )
    }
}

#[async_trait]
impl ServiceBackend for Unconfigured {
    fn name(&self) -> &str {
        "unconfigured"
    }
    async fn list(&self) -> Result<Vec<String>, BackendError> {
        Ok(Vec::new())
    }
    async fn health(&self, service: &str, _env: Option<&str>) -> Result<ServiceHealth, BackendError> {
        Err(self.error(format!("health {service}")))
    }
    async fn restart(&self, service: &str, _env: Option<&str>, _p: &Progress) -> Result<(), BackendError> {
        Err(self.error(format!("restart {service}")))
    }
}

#[async_trait]
impl MetricsBackend for Unconfigured {
    fn name(&self) -> &str {
        "unconfigured"
    }
    async fn series(&self, service: &str, metric: &str, _w: Window) -> Result<Vec<Series>, BackendError> {
        Err(self.error(format!("{metric} of {service}")))
    }
}

#[async_trait]
impl LogsBackend for Unconfigured {
    fn name(&self) -> &str {
        "unconfigured"
    }
    async fn query(&self, q: &LogQuery) -> Result<LogResult, BackendError> {
        Err(self.error(format!("logs of {}", q.service)))
    }
}

#[async_trait]
impl GraphBackend for Unconfigured {
    fn name(&self) -> &str {
        "unconfigured"
    }
    async fn dashboards(&self) -> Result<Vec<Dashboard>, BackendError> {
        Ok(Vec::new())
    }
    async fn render(&self, uid: &str, panel: u32, _w: Window, _x: u32, _y: u32) -> Result<PanelImage, BackendError> {
        Err(self.error(format!("render {uid} panel {panel}")))
    }
}

#[async_trait]
impl FirewallBackend for Unconfigured {
    fn name(&self) -> &str {
        "unconfigured"
    }
    async fn list(&self) -> Result<Vec<String>, BackendError> {
        Ok(Vec::new())
    }
    async fn status(&self, name: Option<&str>) -> Result<FirewallStatus, BackendError> {
        Err(self.error(format!("status {}", name.unwrap_or("firewall"))))
    }
}
