//! Dashboards and panel images.

use super::BackendError;
use crate::skill::Window;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A panel of a dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Panel {
    /// Panel id.
    pub id: u32,
    /// Title.
    pub title: String,
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Stable id.
    pub uid: String,
    /// Title (what users type).
    pub title: String,
    /// Its panels.
    pub panels: Vec<Panel>,
}

/// Where dashboards live.
#[async_trait]
pub trait GraphBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// All dashboards (fed to the NLU gazetteer).
    async fn dashboards(&self) -> Result<Vec<Dashboard>, BackendError>;
    /// A PNG of one panel over a window.
    async fn render(
        &self,
        dashboard_uid: &str,
        panel_id: u32,
        window: Window,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, BackendError>;
}
