//! The skills, one file each, and the registry the core routes intents to.

mod common;
mod firewall_status;
mod grafana_snapshot;
mod health_check;
mod help;
mod not_configured;
mod query_logs;
mod restart_service;

pub use common::suggest;
pub use firewall_status::FirewallStatus;
pub use grafana_snapshot::GrafanaSnapshot;
pub use health_check::HealthCheck;
pub use help::Help;
pub use not_configured::NotConfigured;
pub use query_logs::QueryLogs;
pub use restart_service::RestartService;

use crate::skill::Skill;

/// Every skill, one per intent (all NLU intents except `out_of_scope`).
pub fn registry() -> Vec<Box<dyn Skill>> {
    let mut skills: Vec<Box<dyn Skill>> = vec![
        Box::new(HealthCheck),
        Box::new(RestartService),
        Box::new(QueryLogs),
        Box::new(GrafanaSnapshot),
        Box::new(FirewallStatus),
        Box::new(Help),
    ];
    skills.extend(NotConfigured::all().into_iter().map(|s| Box::new(s) as Box<dyn Skill>));
    skills
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skill::Risk;
    use std::collections::HashSet;

    #[test]
    fn one_skill_per_intent_with_the_right_risk() {
        let skills = registry();
        let intents: Vec<&str> = skills.iter().map(|s| s.intent()).collect();
        let expected = [
            "health_check",
            "restart_service",
            "query_logs",
            "grafana_snapshot",
            "firewall_status",
            "help",
            "list_alerts",
            "ack_alert",
            "silence_alert",
            "resolve_incident",
            "audit_query",
        ];
        assert_eq!(intents, expected);
        assert_eq!(intents.iter().collect::<HashSet<_>>().len(), intents.len());
        let risk = |i: &str| skills.iter().find(|s| s.intent() == i).map(|s| s.risk());
        assert_eq!(risk("restart_service"), Some(Risk::Change));
        assert_eq!(risk("health_check"), Some(Risk::Read));
        let slots = |i: &str| skills.iter().find(|s| s.intent() == i).map(|s| s.required_slots());
        assert_eq!(slots("health_check"), Some(&["service"][..]));
        assert_eq!(slots("grafana_snapshot"), Some(&["dashboard"][..]));
        assert_eq!(slots("firewall_status"), Some(&[][..]));
    }
}
