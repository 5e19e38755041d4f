//! Firewalls: an OPNsense HA pair whose load moves over time; the backup has its
//! DMZ link down, so there is always something to notice.

use super::noise::{key, smooth};
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{BackendError, FirewallBackend, FirewallStatus, HaRole, Interface};
use async_trait::async_trait;
use std::f64::consts::TAU;
use std::sync::Arc;

/// The demo's [`FirewallBackend`].
pub(crate) struct DemoFirewalls(pub Arc<DemoEstate>);

struct FirewallSpec {
    name: &'static str,
    role: HaRole,
    /// Interfaces: name, address, link up.
    interfaces: &'static [(&'static str, &'static str, bool)],
    /// Typical share of the state table's entries it carries.
    states: f64,
    /// Sessions per state entry (the backup only mirrors states via pfsync).
    sessions_per_state: f64,
    cpu: f64,
}

const VERSION: &str = "OPNsense 24.7.12";
const STATES_MAX: u64 = 1_000_000;

/// The pair; the first is the default.
const FIREWALLS: &[FirewallSpec] = &[
    FirewallSpec {
        name: "fw-edge-1",
        role: HaRole::Master,
        interfaces: &[
            ("wan", "203.0.113.2", true),
            ("lan", "10.0.0.2", true),
            ("dmz", "172.16.0.2", true),
            ("pfsync", "192.168.255.1", true),
        ],
        states: 12_000.0,
        sessions_per_state: 0.62,
        cpu: 14.0,
    },
    FirewallSpec {
        name: "fw-edge-2",
        role: HaRole::Backup,
        interfaces: &[
            ("wan", "203.0.113.3", true),
            ("lan", "10.0.0.3", true),
            ("dmz", "172.16.0.3", false),
            ("pfsync", "192.168.255.2", true),
        ],
        states: 11_800.0,
        sessions_per_state: 0.01,
        cpu: 4.0,
    },
];

impl DemoEstate {
    fn firewall_status(&self, spec: &FirewallSpec) -> FirewallStatus {
        let e = (self.now() - self.start).num_milliseconds() as f64 / 1000.0;
        let k = key(spec.name);
        let n = |salt: u64, period: f64| smooth(self.seed, k ^ salt, e, period);
        let wave = (TAU * e / 3600.0).sin();
        let states = (spec.states * (1.0 + 0.2 * wave + 0.08 * n(1, 120.0))).max(0.0);
        FirewallStatus {
            name: spec.name.to_string(),
            version: VERSION.to_string(),
            cpu_percent: (spec.cpu * (1.0 + 0.3 * wave) + 3.0 * n(2, 60.0)).clamp(0.5, 100.0),
            mem_percent: (38.0 + 4.0 * n(3, 900.0)).clamp(0.0, 100.0),
            states_used: states as u64,
            states_max: STATES_MAX,
            sessions: (states * spec.sessions_per_state) as u64,
            interfaces: spec
                .interfaces
                .iter()
                .map(|&(name, address, up)| Interface {
                    name: name.to_string(),
                    up,
                    address: Some(address.to_string()),
                })
                .collect(),
            ha_role: spec.role,
        }
    }
}

#[async_trait]
impl FirewallBackend for DemoFirewalls {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn list(&self) -> Result<Vec<String>, BackendError> {
        Ok(FIREWALLS.iter().map(|f| f.name.to_string()).collect())
    }

    async fn status(&self, name: Option<&str>) -> Result<FirewallStatus, BackendError> {
        let spec = match name {
            None => FIREWALLS.first(),
            Some(n) => FIREWALLS.iter().find(|f| f.name.eq_ignore_ascii_case(n.trim())),
        };
        let spec = spec.ok_or_else(|| {
            BackendError::not_found(
                BACKEND_NAME,
                format!("status {}", name.unwrap_or("")),
                format!("firewall '{}'", name.unwrap_or("")),
            )
        })?;
        Ok(self.0.firewall_status(spec))
    }
}

#[cfg(test)]
mod tests {
    use crate::backends::HaRole;
    use crate::demo::testing::Fixture;
    use chrono::Duration;

    #[tokio::test]
    async fn pair_with_a_down_link_on_the_backup_moving_over_time() {
        let fx = Fixture::new();
        let fw = &fx.backends.firewalls;
        assert_eq!(fw.list().await.unwrap(), vec!["fw-edge-1", "fw-edge-2"]);
        let master = fw.status(None).await.unwrap();
        assert_eq!((master.name.as_str(), master.ha_role), ("fw-edge-1", HaRole::Master));
        assert!(master.interfaces.iter().all(|i| i.up));
        assert!(master.states_used > 5_000 && master.states_used < 20_000);
        let backup = fw.status(Some("FW-EDGE-2")).await.unwrap();
        assert_eq!(backup.ha_role, HaRole::Backup);
        let down: Vec<&str> = backup.interfaces.iter().filter(|i| !i.up).map(|i| i.name.as_str()).collect();
        assert_eq!(down, vec!["dmz"]);
        fx.advance(Duration::minutes(10));
        let later = fw.status(Some("fw-edge-1")).await.unwrap();
        assert_ne!(later.states_used, master.states_used);
        assert!(fw.status(Some("fw-core")).await.unwrap_err().not_found);
    }
}
