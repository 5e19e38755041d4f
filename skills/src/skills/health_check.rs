//! "is latte ok?": the classic Cloud Foundry health card, per instance.

use super::common::{footer, now, service, service_error};
use crate::backends::{Backends, InstanceState, ServiceHealth};
use crate::card::{ButtonStyle, Card, Status, Table};
use crate::format;
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Shows a service's instances: state, uptime, CPU, memory, disk, restarts.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthCheck;

#[async_trait]
impl Skill for HealthCheck {
    fn intent(&self) -> &'static str {
        "health_check"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &["service"]
    }

    fn risk(&self) -> Risk {
        Risk::Read
    }

    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError> {
        let name = service(req)?;
        let health = match backends.services.health(name, req.env.as_deref()).await {
            Ok(h) => h,
            Err(e) => return Err(service_error(backends, name, e).await),
        };
        Ok(health_card(&health, now(req), backends.services.name()))
    }
}

/// Overall status: all wanted instances running is ok, none running is critical,
/// anything in between is a warning.
fn status(h: &ServiceHealth) -> Status {
    if h.requested_state != "started" {
        return if h.running == 0 { Status::Ok } else { Status::Warning };
    }
    let all_running = h.instances.iter().all(|i| i.state == InstanceState::Running);
    if h.running >= h.desired && all_running {
        Status::Ok
    } else if h.running == 0 {
        Status::Critical
    } else {
        Status::Warning
    }
}

fn state_word(state: InstanceState) -> &'static str {
    match state {
        InstanceState::Running => "running",
        InstanceState::Starting => "starting",
        InstanceState::Crashed => "crashed",
        InstanceState::Down => "down",
    }
}

/// The health card for `h` as seen at `now`; `source` is the backend's name.
/// Shared with the restart skill, which answers with the fresh card.
pub(crate) fn health_card(h: &ServiceHealth, now: DateTime<Utc>, source: &str) -> Card {
    let target = format!("{}@{}", h.name, h.env);
    let rows = h
        .instances
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                state_word(i.state).to_string(),
                format::duration(now - i.since),
                format::percent(i.cpu_percent),
                format::bytes_of(i.mem_bytes, i.mem_quota),
                format::bytes_of(i.disk_bytes, i.disk_quota),
                i.restarts.to_string(),
            ]
        })
        .collect();
    let header = ["#", "state", "since", "cpu", "memory", "disk", "restarts"].map(String::from).to_vec();
    let mut card = Card::new(format!("{} ({})", h.name, h.env), status(h))
        .field("requested state", h.requested_state.clone())
        .field("instances", format!("{}/{}", h.running, h.desired));
    for i in h.instances.iter().filter(|i| i.state != InstanceState::Running) {
        let why = i.last_termination.as_deref().map(|r| format!(", last termination: {r}")).unwrap_or_default();
        card = card.text(format!("Instance {} is {}{why}.", i.id, state_word(i.state)));
    }
    card.table(Table { header, rows })
        // `name@env`: a click acts on the environment this card shows.
        .button("Restart", "restart", target.clone(), ButtonStyle::Danger)
        .button("Logs", "logs", target.clone(), ButtonStyle::Default)
        .button("Refresh", "refresh", target, ButtonStyle::Default)
        .footer(footer(source, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::testing::Fixture;

    fn req(service: &str, fx: &Fixture) -> Request {
        Request { service: Some(service.into()), now: Some(fx.now()), ..Request::default() }
    }

    #[tokio::test]
    async fn latte_card_reads_like_the_cloud_foundry_one() {
        let fx = Fixture::new();
        let card = HealthCheck.run(&req("latte", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.title, "latte (prod)");
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.field_value("requested state"), Some("started"));
        assert_eq!(card.field_value("instances"), Some("2/2"));
        let table = card.table.as_ref().unwrap();
        assert_eq!(table.header, ["#", "state", "since", "cpu", "memory", "disk", "restarts"]);
        assert_eq!(table.rows.len(), 2);
        let row = &table.rows[0];
        assert_eq!((row[0].as_str(), row[1].as_str(), row[2].as_str()), ("0", "running", "2h 5m"));
        assert_eq!(table.rows[1][2], "2h 4m");
        let cpu: f64 = row[3].strip_suffix('%').unwrap().parse().unwrap();
        assert!(cpu > 1.0 && cpu < 40.0, "{cpu}");
        assert!(row[4].ends_with(" MB of 1 GB") && row[5].ends_with(" MB of 1 GB"), "{row:?}");
        let mem: u32 = row[4].split(' ').next().unwrap().parse().unwrap();
        assert!((150..=400).contains(&mem), "{mem}");
        assert_eq!(row[6], "0");
        let buttons: Vec<(&str, &str, &str, ButtonStyle)> =
            card.buttons.iter().map(|b| (b.label.as_str(), b.action.as_str(), b.payload.as_str(), b.style)).collect();
        assert_eq!(
            buttons,
            vec![
                ("Restart", "restart", "latte@prod", ButtonStyle::Danger),
                ("Logs", "logs", "latte@prod", ButtonStyle::Default),
                ("Refresh", "refresh", "latte@prod", ButtonStyle::Default)
            ]
        );
        assert_eq!(card.footer.as_deref(), Some("demo · 10:00:00 UTC"));
    }

    #[tokio::test]
    async fn crashed_search_instance_is_a_warning() {
        let fx = Fixture::new();
        let card = HealthCheck.run(&req("search", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.status, Status::Warning);
        assert_eq!(card.field_value("instances"), Some("1/2"));
        let row = &card.table.as_ref().unwrap().rows[1];
        assert_eq!(
            (row[1].as_str(), row[2].as_str(), row[3].as_str(), row[6].as_str()),
            ("crashed", "12m", "0.0%", "7")
        );
        let text = format!("{:?}", card.blocks);
        assert!(text.contains("Instance 1 is crashed, last termination: OOMKilled"), "{text}");
    }

    #[tokio::test]
    async fn staging_is_its_own_environment() {
        let fx = Fixture::new();
        let r = Request { env: Some("staging".into()), ..req("payments-api", &fx) };
        let card = HealthCheck.run(&r, &fx.backends).await.unwrap();
        assert_eq!(card.title, "payments-api (staging)");
        assert_eq!(card.field_value("instances"), Some("1/1"));
    }

    #[tokio::test]
    async fn unknown_service_suggests_close_names() {
        let fx = Fixture::new();
        match HealthCheck.run(&req("lattee", &fx), &fx.backends).await {
            Err(SkillError::Unknown { kind, name, suggestions }) => {
                assert_eq!((kind, name.as_str()), ("service", "lattee"));
                assert_eq!(suggestions, vec!["latte"]);
            }
            other => panic!("expected Unknown, got {other:?}"),
        }
        assert!(matches!(
            HealthCheck.run(&Request::default(), &fx.backends).await,
            Err(SkillError::Missing("service"))
        ));
    }

    #[tokio::test]
    async fn other_backend_failures_name_backend_and_call() {
        let fx = Fixture::new();
        let r = Request { env: Some("dev".into()), ..req("latte", &fx) };
        match HealthCheck.run(&r, &fx.backends).await {
            Err(SkillError::Backend { backend, call, cause }) => {
                assert_eq!((backend.as_str(), call.as_str()), ("demo", "health latte"));
                assert!(cause.contains("unknown environment 'dev'"), "{cause}");
            }
            other => panic!("expected Backend, got {other:?}"),
        }
    }
}
