//! Metrics series.

use super::BackendError;
use crate::skill::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A named series of points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Legend name (instance, label set).
    pub name: String,
    /// Points in time order.
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// Where metrics live.
#[async_trait]
pub trait MetricsBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// Series of `metric` (`cpu`, `memory`, `requests`, `errors`, `latency_p99`) for a service.
    async fn series(&self, service: &str, metric: &str, window: Window) -> Result<Vec<Series>, BackendError>;
}
