//! OPNsense firewalls over their REST API (basic auth with an API key and
//! secret). One [`OpnSense`] is one box; [`Firewalls`] is the
//! [`FirewallBackend`] over several named boxes. A vendor client only has to
//! implement [`FirewallClient`] to join a [`Firewalls`] (FortiGate next).
//!
//! Calls, all reads (OPNsense 24.x paths):
//! - `GET /api/diagnostics/system/system_information`: `versions[0]` is
//!   `"OPNsense 24.7.12-amd64"`;
//! - `GET /api/diagnostics/activity/get_activity`: top's headers, one of them
//!   `"CPU: 2.3% user, ... 96.4% idle"`; CPU use is 100 - idle;
//! - `GET /api/diagnostics/system/system_resources`: `memory.total` / `memory.used` in bytes;
//! - `GET /api/diagnostics/firewall/pf_states`: `{"current": "6183", "limit": "1621700"}`;
//! - `GET /api/interfaces/overview/interfaces_info`: `rows[]` with `identifier`,
//!   `description`, `status` (`up`, `down`, `no carrier`), `addr4`, `addr6`;
//! - `GET /api/diagnostics/interface/get_vip_status`: `rows[]` of CARP VIPs with
//!   `status` `MASTER`, `BACKUP`, `INIT` or `DISABLED`.
//!
//! pf keeps one state per connection and OPNsense has no separate session
//! count, so `sessions` is the state count.

use crate::backends::{BackendError, FirewallBackend, FirewallStatus, HaRole, Interface};
use crate::drivers::http::{Auth, Endpoint, Http, Retry};
use async_trait::async_trait;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const BACKEND: &str = "opnsense";

/// One firewall of some vendor: its name and how to read its status.
#[async_trait]
pub trait FirewallClient: Send + Sync {
    /// The name users call it by.
    fn name(&self) -> &str;
    /// Its vitals now.
    async fn status(&self) -> Result<FirewallStatus, BackendError>;
}

/// One OPNsense box.
#[derive(Debug, Clone)]
pub struct OpnSense {
    name: String,
    http: Http,
}

impl OpnSense {
    /// The OPNsense called `name` at `endpoint`, with the API `key` and `secret`
    /// (System > Access > Users > API keys).
    pub fn new(name: impl Into<String>, endpoint: &Endpoint, key: &str, secret: &str) -> Result<Self, BackendError> {
        let auth = Auth::Basic { user: key.to_string(), password: secret.to_string() };
        Ok(OpnSense { name: name.into(), http: Http::new(BACKEND, endpoint, auth)? })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BackendError> {
        let call = format!("status {}", self.name);
        self.http.json(&call, Retry::Read, || self.http.request(Method::GET, path)).await
    }

    fn malformed(&self, what: impl std::fmt::Display) -> BackendError {
        BackendError::new(BACKEND, format!("status {}", self.name), format!("malformed response: {what}"))
    }
}

#[derive(Deserialize)]
struct SystemInformation {
    versions: Vec<String>,
}

#[derive(Deserialize)]
struct Activity {
    headers: Vec<String>,
}

#[derive(Deserialize)]
struct Resources {
    memory: Memory,
}

#[derive(Deserialize)]
struct Memory {
    total: Value,
    used: Value,
}

#[derive(Deserialize)]
struct PfStates {
    current: Value,
    limit: Value,
}

#[derive(Deserialize)]
struct Rows<T> {
    rows: Vec<T>,
}

#[derive(Deserialize)]
struct InterfaceRow {
    identifier: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    addr4: Option<String>,
    #[serde(default)]
    addr6: Option<String>,
}

#[derive(Deserialize)]
struct VipRow {
    status: String,
}

/// A number OPNsense may send as a JSON number or a string (sysctl values are strings).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite() && *n >= 0.0)
}

/// `OPNsense 24.7.12-amd64` -> `OPNsense 24.7.12`.
fn version(versions: &[String]) -> Option<String> {
    let first = versions.first()?.trim();
    let cut = match first.rsplit_once('-') {
        Some((v, arch)) if !arch.contains(' ') && arch.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => v,
        _ => first,
    };
    Some(cut.to_string())
}

/// CPU use from top's `CPU:` header line: 100 - idle.
fn cpu_from_top(headers: &[String]) -> Option<f64> {
    let line = headers.iter().find(|h| h.trim_start().starts_with("CPU:"))?;
    let idle = line.split(',').find(|p| p.contains("idle"))?;
    let pct: f64 = idle.trim().trim_start_matches("CPU:").trim().split('%').next()?.trim().parse().ok()?;
    Some((100.0 - pct).clamp(0.0, 100.0))
}

/// `10.0.0.1/24` -> `10.0.0.1`.
fn address(a: &Option<String>) -> Option<String> {
    let a = a.as_deref()?.trim();
    let ip = a.split('/').next().unwrap_or(a).trim();
    (!ip.is_empty()).then(|| ip.to_string())
}

/// Master when it holds every CARP VIP; backup when it holds only some or none
/// (a split pair is worth a look, and a backup is the conservative answer);
/// standalone with no VIPs.
fn ha_role(vips: &[VipRow]) -> HaRole {
    if vips.is_empty() {
        HaRole::Standalone
    } else if vips.iter().all(|v| v.status.eq_ignore_ascii_case("MASTER")) {
        HaRole::Master
    } else {
        HaRole::Backup
    }
}

#[async_trait]
impl FirewallClient for OpnSense {
    fn name(&self) -> &str {
        &self.name
    }

    async fn status(&self) -> Result<FirewallStatus, BackendError> {
        let (info, activity, resources, states, ifaces, vips) = tokio::try_join!(
            self.get::<SystemInformation>("/api/diagnostics/system/system_information"),
            self.get::<Activity>("/api/diagnostics/activity/get_activity"),
            self.get::<Resources>("/api/diagnostics/system/system_resources"),
            self.get::<PfStates>("/api/diagnostics/firewall/pf_states"),
            self.get::<Rows<InterfaceRow>>("/api/interfaces/overview/interfaces_info"),
            self.get::<Rows<VipRow>>("/api/diagnostics/interface/get_vip_status"),
        )?;
        let version = version(&info.versions).ok_or_else(|| self.malformed("no firmware version"))?;
        let cpu_percent = cpu_from_top(&activity.headers).ok_or_else(|| self.malformed("no CPU line in activity"))?;
        let mem_percent = match (number(&resources.memory.total), number(&resources.memory.used)) {
            (Some(t), Some(u)) if t > 0.0 => (u / t * 100.0).clamp(0.0, 100.0),
            _ => return Err(self.malformed("memory total/used missing")),
        };
        let (states_used, states_max) = match (number(&states.current), number(&states.limit)) {
            (Some(c), Some(l)) => (c as u64, l as u64),
            _ => return Err(self.malformed("pf states current/limit missing")),
        };
        let interfaces = ifaces
            .rows
            .iter()
            .map(|r| Interface {
                name: r.description.clone().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| r.identifier.clone()),
                up: r.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("up")),
                address: address(&r.addr4).or_else(|| address(&r.addr6)),
            })
            .collect();
        Ok(FirewallStatus {
            name: self.name.clone(),
            version,
            cpu_percent,
            mem_percent,
            states_used,
            states_max,
            sessions: states_used,
            interfaces,
            ha_role: ha_role(&vips.rows),
        })
    }
}

/// The [`FirewallBackend`] over several named firewalls; the first is the default.
pub struct Firewalls {
    boxes: Vec<Box<dyn FirewallClient>>,
}

impl Firewalls {
    /// Firewalls by name; the first answers when no name is given.
    pub fn new(boxes: Vec<OpnSense>) -> Self {
        Firewalls { boxes: boxes.into_iter().map(|b| Box::new(b) as Box<dyn FirewallClient>).collect() }
    }

    /// Firewalls of any vendor.
    pub fn from_clients(boxes: Vec<Box<dyn FirewallClient>>) -> Self {
        Firewalls { boxes }
    }
}

#[async_trait]
impl FirewallBackend for Firewalls {
    fn name(&self) -> &str {
        BACKEND
    }

    async fn list(&self) -> Result<Vec<String>, BackendError> {
        Ok(self.boxes.iter().map(|b| b.name().to_string()).collect())
    }

    async fn status(&self, name: Option<&str>) -> Result<FirewallStatus, BackendError> {
        let fw = match name.map(str::trim).filter(|n| !n.is_empty()) {
            None => self.boxes.first().ok_or_else(|| BackendError::new(BACKEND, "status", "no firewall configured"))?,
            Some(n) => self.boxes.iter().find(|b| b.name().eq_ignore_ascii_case(n)).ok_or_else(|| {
                let known: Vec<&str> = self.boxes.iter().map(|b| b.name()).collect();
                BackendError::not_found(
                    BACKEND,
                    format!("status {n}"),
                    format!("no firewall '{n}' (known: {})", known.join(", ")),
                )
            })?,
        };
        fw.status().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_top_and_versions() {
        let h =
            vec!["last pid: 1".into(), "CPU:  2.3% user,  0.0% nice,  1.2% system,  0.1% interrupt, 96.4% idle".into()];
        let cpu = cpu_from_top(&h).expect("cpu");
        assert!((cpu - 3.6).abs() < 1e-9, "{cpu}");
        assert_eq!(version(&["OPNsense 24.7.12_4-amd64".into()]).as_deref(), Some("OPNsense 24.7.12_4"));
        assert_eq!(address(&Some("10.0.0.1/24".into())).as_deref(), Some("10.0.0.1"));
    }
}
