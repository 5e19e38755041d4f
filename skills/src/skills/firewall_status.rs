//! "firewall status": an OPNsense box's vitals, links and HA role.

use super::common::{backend_error, footer, now, suggest};
use crate::backends::{Backends, FirewallStatus as Vitals, HaRole};
use crate::card::{Card, Status, Table};
use crate::format;
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;

/// State-table use above which the card warns, percent.
const STATES_WARN_PERCENT: f64 = 80.0;

/// Shows a firewall's status; the backend's default firewall when none is named.
#[derive(Debug, Clone, Copy, Default)]
pub struct FirewallStatus;

#[async_trait]
impl Skill for FirewallStatus {
    fn intent(&self) -> &'static str {
        "firewall_status"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &[]
    }

    fn risk(&self) -> Risk {
        Risk::Read
    }

    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError> {
        let asked = req.firewall.as_deref().map(str::trim).filter(|f| !f.is_empty());
        let fw = match backends.firewalls.status(asked).await {
            Ok(s) => s,
            Err(e) if e.not_found => {
                let name = asked.unwrap_or_default().to_string();
                let known = backends.firewalls.list().await.unwrap_or_default();
                return Err(SkillError::Unknown { kind: "firewall", suggestions: suggest(&name, known), name });
            }
            Err(e) => return Err(backend_error(e)),
        };
        let others: Vec<String> =
            backends.firewalls.list().await.unwrap_or_default().into_iter().filter(|n| *n != fw.name).collect();
        let mut card = firewall_card(&fw, now(req), backends.firewalls.name());
        if !others.is_empty() {
            card = card.text(format!("Also known: {}.", others.join(", ")));
        }
        Ok(card)
    }
}

fn role_word(role: HaRole) -> &'static str {
    match role {
        HaRole::Master => "master",
        HaRole::Backup => "backup",
        HaRole::Standalone => "standalone",
    }
}

/// The card for one firewall as seen at `now`.
fn firewall_card(fw: &Vitals, now: chrono::DateTime<chrono::Utc>, source: &str) -> Card {
    let states_pct = if fw.states_max == 0 { 0.0 } else { fw.states_used as f64 * 100.0 / fw.states_max as f64 };
    let down: Vec<&str> = fw.interfaces.iter().filter(|i| !i.up).map(|i| i.name.as_str()).collect();
    let up = fw.interfaces.len() - down.len();
    let status = if !down.is_empty() || states_pct > STATES_WARN_PERCENT { Status::Warning } else { Status::Ok };
    let links = if down.is_empty() {
        format!("{up} up")
    } else {
        format!("{up} up, {} down ({})", down.len(), down.join(", "))
    };
    let rows = fw
        .interfaces
        .iter()
        .map(|i| {
            let link = if i.up { "up" } else { "down" };
            vec![i.name.clone(), link.to_string(), i.address.clone().unwrap_or_else(|| "-".to_string())]
        })
        .collect();
    let mut card = Card::new(format!("{} ({})", fw.name, role_word(fw.ha_role)), status)
        .field("version", fw.version.clone())
        .field("CPU", format::percent(fw.cpu_percent))
        .field("memory", format::percent(fw.mem_percent))
        .field(
            "state table",
            format!(
                "{} / {} ({})",
                format::thousands(fw.states_used),
                format::thousands(fw.states_max),
                format::percent(states_pct)
            ),
        )
        .field("sessions", format::thousands(fw.sessions))
        .field("interfaces", links)
        .field("HA role", role_word(fw.ha_role));
    for name in &down {
        card = card.text(format!("Interface {name} is down."));
    }
    if states_pct > STATES_WARN_PERCENT {
        card = card.text(format!("The state table is {} full.", format::percent(states_pct)));
    }
    card.table(Table { header: ["interface", "link", "address"].map(String::from).to_vec(), rows })
        .footer(footer(source, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::Interface;
    use crate::card::Block;
    use crate::demo::testing::{Fixture, t0};

    fn req(firewall: Option<&str>, fx: &Fixture) -> Request {
        Request { firewall: firewall.map(String::from), now: Some(fx.now()), ..Request::default() }
    }

    #[tokio::test]
    async fn default_firewall_is_the_master_and_healthy() {
        let fx = Fixture::new();
        let card = FirewallStatus.run(&req(None, &fx), &fx.backends).await.unwrap();
        assert_eq!(card.title, "fw-edge-1 (master)");
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.field_value("HA role"), Some("master"));
        assert_eq!(card.field_value("interfaces"), Some("4 up"));
        assert!(card.field_value("version").unwrap().starts_with("OPNsense "));
        let states = card.field_value("state table").unwrap();
        assert!(states.contains(" / 1,000,000 (1."), "{states}");
        assert!(card.field_value("CPU").unwrap().ends_with('%'));
        let table = card.table.as_ref().unwrap();
        let names: Vec<&str> = table.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, vec!["wan", "lan", "dmz", "pfsync"]);
        assert!(card.blocks.contains(&Block::Text { text: "Also known: fw-edge-2.".into() }));
    }

    #[tokio::test]
    async fn a_down_link_is_a_warning() {
        let fx = Fixture::new();
        let card = FirewallStatus.run(&req(Some("fw-edge-2"), &fx), &fx.backends).await.unwrap();
        assert_eq!(card.title, "fw-edge-2 (backup)");
        assert_eq!(card.status, Status::Warning);
        assert_eq!(card.field_value("interfaces"), Some("3 up, 1 down (dmz)"));
        let dmz = &card.table.as_ref().unwrap().rows[2];
        assert_eq!((dmz[0].as_str(), dmz[1].as_str()), ("dmz", "down"));
        assert!(card.blocks.contains(&Block::Text { text: "Interface dmz is down.".into() }));
    }

    #[test]
    fn a_full_state_table_is_a_warning() {
        let fw = Vitals {
            name: "fw-x".into(),
            version: "OPNsense 24.7".into(),
            cpu_percent: 5.0,
            mem_percent: 30.0,
            states_used: 850_000,
            states_max: 1_000_000,
            sessions: 12_345,
            interfaces: vec![Interface { name: "wan".into(), up: true, address: None }],
            ha_role: HaRole::Standalone,
        };
        let card = firewall_card(&fw, t0(), "demo");
        assert_eq!(card.status, Status::Warning);
        assert_eq!(card.field_value("state table"), Some("850,000 / 1,000,000 (85.0%)"));
        assert_eq!(card.field_value("sessions"), Some("12,345"));
        assert_eq!(card.table.unwrap().rows[0], vec!["wan", "up", "-"]);
    }

    #[tokio::test]
    async fn unknown_firewall_suggests() {
        let fx = Fixture::new();
        match FirewallStatus.run(&req(Some("fw-edge-3"), &fx), &fx.backends).await {
            Err(SkillError::Unknown { kind: "firewall", name, suggestions }) => {
                assert_eq!(name, "fw-edge-3");
                assert_eq!(suggestions.len(), 2);
            }
            other => panic!("expected Unknown firewall, got {other:?}"),
        }
    }
}
