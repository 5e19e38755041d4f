//! Maps NLU slots to the [`skills::Request`] a skill reads, and rebuilds slots
//! from a clicked button's values.

use chrono::{DateTime, Utc};
use nlu::{Gazetteer, Resolved, Slot};
use skills::{Request, Window};

/// Slots whose values are names from the live inventory (gazetteer kinds).
pub const ENTITY_SLOTS: &[&str] = &["service", "dashboard", "firewall"];

/// Builds the skill request from slots; `now` is the instant relative times were resolved against.
pub fn from_slots(slots: &[Slot], user: &str, now: DateTime<Utc>) -> Request {
    let mut req = Request { user: user.to_string(), now: Some(now), ..Request::default() };
    for slot in slots {
        let value = slot.value.trim();
        if value.is_empty() {
            continue;
        }
        let text = Some(value.to_string());
        match slot.name.as_str() {
            "service" => set(&mut req.service, text),
            "env" => {
                let env = match &slot.resolved {
                    Some(Resolved::Env { value }) => value.as_str().to_string(),
                    _ => value.to_lowercase(),
                };
                set(&mut req.env, Some(env));
            }
            "namespace" => set(&mut req.namespace, text),
            "time_range" => {
                if let Some(Resolved::TimeRange(r)) = &slot.resolved {
                    req.window.get_or_insert(Window { from: r.from, to: r.to });
                }
            }
            "query" => set(&mut req.query, text),
            "level" => set(&mut req.level, Some(value.to_lowercase())),
            "dashboard" => set(&mut req.dashboard, text),
            "panel" => {
                let panel = match &slot.resolved {
                    Some(Resolved::Number { value }) => value.to_string(),
                    _ => value.to_string(),
                };
                set(&mut req.panel, Some(panel));
            }
            "firewall" => set(&mut req.firewall, text),
            "incident" => set(&mut req.incident, text),
            "severity" => {
                let sev = match &slot.resolved {
                    Some(Resolved::Severity { value }) => value.as_str().to_string(),
                    _ => value.to_lowercase(),
                };
                set(&mut req.severity, Some(sev));
            }
            "duration" => {
                if let Some(Resolved::Duration { seconds }) = &slot.resolved {
                    req.duration_secs.get_or_insert(*seconds);
                }
            }
            "matcher" => set(&mut req.matcher, text),
            "user" => set(&mut req.subject_user, text),
            _ => {}
        }
    }
    req
}

/// Keeps the first value of a slot that appears twice.
fn set(field: &mut Option<String>, value: Option<String>) {
    if field.is_none() {
        *field = value;
    }
}

/// A slot rebuilt from a name and a value (a button's payload or an answer to a question),
/// resolved as the NLU resolves a tagged span (`nlu::engine::resolve_slot`).
pub fn slot_from_value(name: &str, value: &str, gaz: &Gazetteer, now: DateTime<Utc>) -> Slot {
    let mut slot =
        Slot { name: name.to_string(), raw: value.to_string(), span: (0, 0), value: value.to_string(), resolved: None };
    nlu::engine::resolve_slot(&mut slot, gaz, now);
    slot
}

/// The value a button should carry for a slot: canonical names, times as written (resolved again at click time).
pub fn payload_value(slot: &Slot) -> String {
    match slot.name.as_str() {
        "time_range" | "duration" => slot.raw.clone(),
        _ => slot.value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaz() -> Gazetteer {
        let mut g = Gazetteer::new();
        g.insert("service", "latte", &[]);
        g.insert("level", "error", &["errors"]);
        g
    }

    #[test]
    fn maps_slots_to_request() {
        let now = Utc::now();
        let g = gaz();
        let slots = vec![
            slot_from_value("service", "latet", &g, now),
            slot_from_value("time_range", "last 30m", &g, now),
            slot_from_value("env", "production", &g, now),
            slot_from_value("duration", "2h", &g, now),
            slot_from_value("level", "errors", &g, now),
            slot_from_value("panel", "2", &g, now),
            slot_from_value("severity", "p1", &g, now),
            slot_from_value("user", "alice", &g, now),
            slot_from_value("matcher", "HighLatency", &g, now),
        ];
        let req = from_slots(&slots, "op", now);
        assert_eq!(req.user, "op");
        assert_eq!(req.service.as_deref(), Some("latte"));
        assert_eq!(req.env.as_deref(), Some("prod"));
        assert_eq!(req.duration_secs, Some(7200));
        assert_eq!(req.level.as_deref(), Some("error"));
        assert_eq!(req.panel.as_deref(), Some("2"));
        assert_eq!(req.severity.as_deref(), Some("critical"));
        assert_eq!(req.subject_user.as_deref(), Some("alice"));
        assert_eq!(req.matcher.as_deref(), Some("alertname=HighLatency"));
        assert_eq!(req.now, Some(now));
        let w = req.window.expect("window");
        assert_eq!((w.to - w.from).num_minutes(), 30);
        assert!(matches!(slots[0].resolved, Some(Resolved::Entity { score, .. }) if score < 1.0));
    }

    #[test]
    fn unknown_names_pass_through_raw() {
        let now = Utc::now();
        let s = slot_from_value("service", "pizza", &gaz(), now);
        assert_eq!(s.value, "pizza");
        assert!(s.resolved.is_none());
        assert_eq!(from_slots(&[s], "op", now).service.as_deref(), Some("pizza"));
    }
}
