//! Firewalls (OPNsense first; FortiGate and others can follow the same trait).

use super::BackendError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// High-availability role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HaRole {
    /// CARP master.
    Master,
    /// CARP backup.
    Backup,
    /// No HA pair.
    Standalone,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Name (`wan`, `lan`, `igb0`).
    pub name: String,
    /// Link up.
    pub up: bool,
    /// Address, when it has one.
    pub address: Option<String>,
}

/// A firewall's vitals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirewallStatus {
    /// Name.
    pub name: String,
    /// Firmware version.
    pub version: String,
    /// CPU use, percent.
    pub cpu_percent: f64,
    /// Memory use, percent.
    pub mem_percent: f64,
    /// State-table entries in use.
    pub states_used: u64,
    /// State-table size.
    pub states_max: u64,
    /// Active sessions.
    pub sessions: u64,
    /// Interfaces.
    pub interfaces: Vec<Interface>,
    /// HA role.
    pub ha_role: HaRole,
}

/// Where firewalls live.
#[async_trait]
pub trait FirewallBackend: Send + Sync {
    /// Backend name for error cards.
    fn name(&self) -> &str;
    /// Firewall names (fed to the NLU gazetteer).
    async fn list(&self) -> Result<Vec<String>, BackendError>;
    /// Status of one firewall; the default one when `name` is `None`.
    async fn status(&self, name: Option<&str>) -> Result<FirewallStatus, BackendError>;
}
