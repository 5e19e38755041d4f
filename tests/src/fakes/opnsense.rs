//! Fake OPNsense: one box per fake, answering the diagnostics and interface
//! overview calls with the shapes OPNsense 24.x sends (numbers as strings where
//! sysctl produces them), behind basic auth with an API key and secret.

use super::FaultSwitch;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};

/// What the box reports.
#[derive(Debug, Clone)]
pub struct FirewallSeed {
    /// `product_version`, e.g. `24.7.12`.
    pub version: String,
    /// top's idle percent.
    pub cpu_idle: f64,
    /// Physical memory, bytes.
    pub mem_total: u64,
    /// Memory in use, bytes.
    pub mem_used: u64,
    /// pf states in use.
    pub states: u64,
    /// pf state limit.
    pub states_limit: u64,
    /// Interfaces: identifier, description, status (`up`, `down`, `no carrier`), `addr4` (with prefix).
    pub interfaces: Vec<(String, String, String, Option<String>)>,
    /// CARP VIP statuses (`MASTER`, `BACKUP`, `INIT`); empty for a standalone box.
    pub vips: Vec<String>,
}

impl Default for FirewallSeed {
    fn default() -> Self {
        FirewallSeed {
            version: "24.7.12".into(),
            cpu_idle: 87.5,
            mem_total: 8_000_000_000,
            mem_used: 2_000_000_000,
            states: 12_345,
            states_limit: 1_621_700,
            interfaces: vec![
                ("wan".into(), "WAN".into(), "up".into(), Some("203.0.113.2/24".into())),
                ("lan".into(), "LAN".into(), "up".into(), Some("10.0.0.2/24".into())),
                ("opt1".into(), "".into(), "no carrier".into(), None),
            ],
            vips: vec!["MASTER".into(), "MASTER".into()],
        }
    }
}

/// A fake OPNsense; clones share state.
#[derive(Clone)]
pub struct OpnSenseFake {
    seed: Arc<Mutex<FirewallSeed>>,
    /// `Basic base64(key:secret)`.
    expected_auth: String,
    /// Fault injected into every answer.
    pub faults: FaultSwitch,
}

impl OpnSenseFake {
    /// A box accepting the API `key` and `secret`.
    pub fn new(key: &str, secret: &str, seed: FirewallSeed) -> Self {
        OpnSenseFake {
            seed: Arc::new(Mutex::new(seed)),
            expected_auth: format!("Basic {}", base64(format!("{key}:{secret}").as_bytes())),
            faults: FaultSwitch::default(),
        }
    }

    /// Changes what the box reports.
    pub fn update(&self, f: impl FnOnce(&mut FirewallSeed)) {
        f(&mut self.seed.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn seed(&self) -> FirewallSeed {
        self.seed.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The API as an axum router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/diagnostics/system/system_information", get(system_information))
            .route("/api/diagnostics/activity/get_activity", get(activity))
            .route("/api/diagnostics/system/system_resources", get(resources))
            .route("/api/diagnostics/firewall/pf_states", get(pf_states))
            .route("/api/interfaces/overview/interfaces_info", get(interfaces))
            .route("/api/diagnostics/interface/get_vip_status", get(vips))
            .layer(middleware::from_fn_with_state(self.clone(), guard))
            .with_state(self.clone())
    }
}

async fn guard(State(fake): State<OpnSenseFake>, req: Request, next: Next) -> Response {
    if let Some(r) = fake.faults.get().apply().await {
        return r;
    }
    let ok = req.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(fake.expected_auth.as_str());
    if !ok {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"status": 401, "message": "Authentication Failed"})))
            .into_response();
    }
    next.run(req).await
}

async fn system_information(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let s = f.seed();
    axum::Json(json!({
        "name": "fw.example.org",
        "versions": [format!("OPNsense {}-amd64", s.version), "FreeBSD 14.1-RELEASE-p6", "OpenSSL 3.0.15"],
        "updates": "Click to check for updates."
    }))
}

async fn activity(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let s = f.seed();
    let busy = 100.0 - s.cpu_idle;
    axum::Json(json!({
        "headers": [
            "last pid: 12345;  load averages:  0.20,  0.25,  0.22  up 12+03:04:05    10:00:00",
            "120 threads:   3 running, 100 sleeping, 17 waiting",
            format!("CPU: {:.1}% user,  0.0% nice, {:.1}% system,  0.0% interrupt, {:.1}% idle", busy / 2.0, busy / 2.0, s.cpu_idle),
            "Mem: 150M Active, 1200M Inact, 1500M Wired, 4000M Free",
        ],
        "details": []
    }))
}

async fn resources(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let s = f.seed();
    axum::Json(json!({"memory": {
        "total": s.mem_total.to_string(),
        "total_frmt": (s.mem_total / 1024 / 1024).to_string(),
        "used": s.mem_used,
        "used_frmt": (s.mem_used / 1024 / 1024).to_string(),
    }}))
}

async fn pf_states(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let s = f.seed();
    axum::Json(json!({"current": s.states.to_string(), "limit": s.states_limit.to_string()}))
}

async fn interfaces(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let rows: Vec<Value> = f
        .seed()
        .interfaces
        .iter()
        .enumerate()
        .map(|(i, (id, descr, status, addr4))| {
            json!({
                "identifier": id, "description": descr, "device": format!("igb{i}"), "status": status,
                "enabled": true, "is_physical": true, "addr4": addr4.clone().unwrap_or_default(), "addr6": "",
                "macaddr": format!("00:0c:29:00:00:0{i}"), "ipv4": [], "ipv6": []
            })
        })
        .collect();
    axum::Json(json!({"total": rows.len(), "rowCount": rows.len(), "current": 1, "rows": rows}))
}

async fn vips(State(f): State<OpnSenseFake>) -> axum::Json<Value> {
    let rows: Vec<Value> = f
        .seed()
        .vips
        .iter()
        .enumerate()
        .map(|(i, st)| {
            json!({"interface": "LAN", "vhid": (i + 1).to_string(), "advbase": "1", "advskew": "0",
                   "subnet": format!("10.0.0.{}", 100 + i), "status": st, "status_txt": st, "mode": "carp"})
        })
        .collect();
    axum::Json(json!({"total": rows.len(), "rowCount": rows.len(), "current": 1, "rows": rows,
        "carp": {"demotion": "0", "allow": "1", "maintenancemode": false}}))
}

/// Standard base64 with padding (for the expected `Authorization` header).
fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"key:secret"), "a2V5OnNlY3JldA==");
    }
}
