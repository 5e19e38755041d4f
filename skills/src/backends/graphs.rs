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

/// A rendered panel, and what the user should know about how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelImage {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Shown on the card when the image is not what the backend itself drew
    /// (Grafana without an image renderer, so pipilu charted the queries).
    pub note: Option<String>,
}

/// Where dashboards live.
#[async_trait]
pub trait GraphBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// All dashboards (fed to the NLU gazetteer).
    async fn dashboards(&self) -> Result<Vec<Dashboard>, BackendError>;
    /// A PNG of one panel over a window, with a note when it was drawn another way.
    async fn render(
        &self,
        dashboard_uid: &str,
        panel_id: u32,
        window: Window,
        width: u32,
        height: u32,
    ) -> Result<PanelImage, BackendError>;
}
