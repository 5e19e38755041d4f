//! Intents pipilu understands but has no backend for yet (alerts, incidents,
//! audit). They route like any skill and say so plainly, instead of falling
//! through to "I don't understand".

use crate::backends::Backends;
use crate::card::{Card, Status};
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;

/// A routed skill whose backend is not configured; answers an honest card.
#[derive(Debug, Clone, Copy)]
pub struct NotConfigured {
    intent: &'static str,
    risk: Risk,
    /// Card title ("Alerts are not configured yet").
    title: &'static str,
    /// What the user asked for, as a verb phrase ("acknowledge an alert").
    asked: &'static str,
    /// What would have to be connected, without an article.
    needs: &'static str,
}

const ALERTS: &str = "Alerts are not configured yet";
const ALERTING: &str = "alerting backend (Alertmanager, Grafana OnCall or PagerDuty)";

impl NotConfigured {
    /// The five intents without a backend, in registry order.
    pub fn all() -> [NotConfigured; 5] {
        [
            NotConfigured {
                intent: "list_alerts",
                risk: Risk::Read,
                title: ALERTS,
                asked: "list alerts",
                needs: ALERTING,
            },
            NotConfigured {
                intent: "ack_alert",
                risk: Risk::Change,
                title: ALERTS,
                asked: "acknowledge an alert",
                needs: ALERTING,
            },
            NotConfigured {
                intent: "silence_alert",
                risk: Risk::Change,
                title: ALERTS,
                asked: "silence alerts",
                needs: ALERTING,
            },
            NotConfigured {
                intent: "resolve_incident",
                risk: Risk::Change,
                title: "Incidents are not configured yet",
                asked: "resolve an incident",
                needs: "incident backend (PagerDuty, Opsgenie or Grafana OnCall)",
            },
            NotConfigured {
                intent: "audit_query",
                risk: Risk::Read,
                title: "The audit log is not configured yet",
                asked: "search the audit log",
                needs: "audit log store",
            },
        ]
    }
}

/// The slots the user gave, so the card shows it understood them.
fn understood(req: &Request) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |k: &'static str, v: &Option<String>| {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            out.push((k, v.to_string()));
        }
    };
    add("incident", &req.incident);
    add("service", &req.service);
    add("env", &req.env);
    add("severity", &req.severity);
    add("matcher", &req.matcher);
    add("user", &req.subject_user);
    if let Some(secs) = req.duration_secs {
        out.push((
            "duration",
            crate::format::duration(chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))),
        ));
    }
    out
}

#[async_trait]
impl Skill for NotConfigured {
    fn intent(&self) -> &'static str {
        self.intent
    }

    /// None: asking for an incident id only to say "not configured" wastes the user's time.
    fn required_slots(&self) -> &'static [&'static str] {
        &[]
    }

    fn risk(&self) -> Risk {
        self.risk
    }

    async fn run(&self, req: &Request, _backends: &Backends) -> Result<Card, SkillError> {
        let mut card = Card::new(self.title, Status::Unknown).text(format!(
            "I understood that you want to {}, but pipilu has no {} connected yet, so nothing was done.",
            self.asked, self.needs
        ));
        for (k, v) in understood(req) {
            card = card.field(k, v);
        }
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::testing::Fixture;

    #[tokio::test]
    async fn every_unconfigured_intent_answers_honestly() {
        let fx = Fixture::new();
        let intents: Vec<&str> = NotConfigured::all().iter().map(|s| s.intent()).collect();
        assert_eq!(intents, vec!["list_alerts", "ack_alert", "silence_alert", "resolve_incident", "audit_query"]);
        for skill in NotConfigured::all() {
            let card = skill.run(&Request::default(), &fx.backends).await.unwrap();
            assert_eq!(card.status, Status::Unknown);
            assert!(card.title.ends_with("not configured yet"), "{}", card.title);
            assert!(skill.required_slots().is_empty());
        }
        let ack = NotConfigured::all()[1];
        let req = Request { incident: Some("#3727".into()), duration_secs: Some(7200), ..Request::default() };
        let card = ack.run(&req, &fx.backends).await.unwrap();
        assert_eq!(card.title, "Alerts are not configured yet");
        assert_eq!(card.field_value("incident"), Some("#3727"));
        assert_eq!(card.field_value("duration"), Some("2h"));
        assert_eq!(ack.risk(), Risk::Change);
        assert_eq!(
            card.blocks,
            vec![crate::card::Block::Text {
                text: "I understood that you want to acknowledge an alert, but pipilu has no alerting backend \
                       (Alertmanager, Grafana OnCall or PagerDuty) connected yet, so nothing was done."
                    .into()
            }]
        );
    }
}
