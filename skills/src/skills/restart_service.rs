//! "restart latte": restarts every instance, then answers with the fresh health
//! card so the user sees the effect rather than a bare "done".

use super::common::{now, service, service_error};
use super::health_check::health_card;
use crate::backends::Backends;
use crate::card::{Block, Card};
use crate::format;
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;

/// Restarts a service (a change: the policy step confirms it first).
#[derive(Debug, Clone, Copy, Default)]
pub struct RestartService;

#[async_trait]
impl Skill for RestartService {
    fn intent(&self) -> &'static str {
        "restart_service"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &["service"]
    }

    fn risk(&self) -> Risk {
        Risk::Change
    }

    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError> {
        let name = service(req)?;
        let env = req.env.as_deref();
        if let Err(e) = backends.services.restart(name, env, &req.progress).await {
            return Err(service_error(backends, name, e).await);
        }
        let health = match backends.services.health(name, env).await {
            Ok(h) => h,
            Err(e) => return Err(service_error(backends, name, e).await),
        };
        let at = now(req);
        let mut card = health_card(&health, at, backends.services.name());
        card.title = format!("{} was restarted", health.name);
        card.blocks.insert(
            0,
            Block::Text {
                text: format!(
                    "Restarted {} instance(s) of {} in {} at {} UTC.",
                    health.instances.len(),
                    health.name,
                    health.env,
                    format::clock(at)
                ),
            },
        );
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Status;
    use crate::demo::testing::Fixture;
    use crate::skills::HealthCheck;
    use chrono::Duration;

    fn req(service: &str, fx: &Fixture) -> Request {
        Request { service: Some(service.into()), now: Some(fx.now()), ..Request::default() }
    }

    #[tokio::test]
    async fn restart_resets_uptime_and_spikes_cpu() {
        let fx = Fixture::new();
        fx.advance(Duration::minutes(3));
        let card = RestartService.run(&req("latte", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.title, "latte was restarted");
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.field_value("instances"), Some("2/2"));
        let rows = &card.table.as_ref().unwrap().rows;
        assert!(rows.iter().all(|r| r[2] == "0s"), "{rows:?}");
        let cpu: f64 = rows[0][3].trim_end_matches('%').parse().unwrap();
        assert!(cpu > 80.0, "startup spike: {cpu}");
        assert_eq!(card.buttons.len(), 3);

        // The next health check sees the same restart, a few minutes on, CPU back to normal.
        fx.advance(Duration::minutes(10));
        let later = HealthCheck.run(&req("latte", &fx), &fx.backends).await.unwrap();
        let rows = &later.table.as_ref().unwrap().rows;
        assert!(rows.iter().all(|r| r[2] == "10m"), "{rows:?}");
        let cpu: f64 = rows[0][3].trim_end_matches('%').parse().unwrap();
        assert!(cpu < 40.0, "settled: {cpu}");
    }

    #[tokio::test]
    async fn restart_clears_the_search_crash() {
        let fx = Fixture::new();
        let before = HealthCheck.run(&req("search", &fx), &fx.backends).await.unwrap();
        assert_eq!(before.status, Status::Warning);
        let card = RestartService.run(&req("search", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.field_value("instances"), Some("2/2"));
        let crashed_before = &before.table.as_ref().unwrap().rows[1];
        let row = &card.table.as_ref().unwrap().rows[1];
        assert_eq!(row[1], "running");
        assert_eq!(row[6], "8", "the crashed instance's restart is counted (was {})", crashed_before[6]);
        assert_eq!(card.table.as_ref().unwrap().rows[0][6], "0");
        let refreshed = HealthCheck.run(&req("search", &fx), &fx.backends).await.unwrap();
        assert_eq!(refreshed.field_value("instances"), Some("2/2"));
    }

    #[tokio::test]
    async fn unknown_service_is_not_restarted() {
        let fx = Fixture::new();
        let err = RestartService.run(&req("lattee", &fx), &fx.backends).await.unwrap_err();
        assert!(matches!(err, SkillError::Unknown { ref suggestions, .. } if suggestions == &["latte"]), "{err:?}");
        assert_eq!(RestartService.risk(), Risk::Change);
    }
}
