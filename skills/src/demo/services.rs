//! Services: health cards computed from the estate, and restarts that change it.

use super::estate::{EnvSim, Estate, Metric, Sim};
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{
    BackendError, InstanceHealth, InstanceState, Progress, RestartStep, ServiceBackend, ServiceHealth,
};
use async_trait::async_trait;
use std::sync::Arc;

/// The demo's [`ServiceBackend`].
pub(crate) struct DemoServices(pub Arc<DemoEstate>);

/// The environment, or an error naming the known ones. Not `not_found`: that flag
/// means the *service* is unknown, and skills answer it with service suggestions.
pub(super) fn env_of<'a>(estate: &'a Estate, env: Option<&str>, call: &str) -> Result<&'a EnvSim, BackendError> {
    estate.env(env).ok_or_else(|| {
        let known = estate.env_names().join(", ");
        BackendError::new(BACKEND_NAME, call, format!("unknown environment '{}' (known: {known})", env.unwrap_or("")))
    })
}

#[async_trait]
impl ServiceBackend for DemoServices {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn list(&self) -> Result<Vec<String>, BackendError> {
        let estate = self.0.read();
        let env = env_of(&estate, None, "list services")?;
        Ok(env.services.iter().map(|s| s.spec.name.to_string()).collect())
    }

    async fn health(&self, service: &str, env: Option<&str>) -> Result<ServiceHealth, BackendError> {
        let call = format!("health {service}");
        let now = self.0.now();
        let estate = self.0.read();
        let env = env_of(&estate, env, &call)?;
        let svc = env
            .service(service)
            .ok_or_else(|| BackendError::not_found(BACKEND_NAME, &call, format!("service '{service}'")))?;
        let sim = Sim { seed: self.0.seed, start: self.0.start, env, svc };
        let instances: Vec<InstanceHealth> = svc
            .instances
            .iter()
            .map(|inst| {
                let state = inst.current().map_or(InstanceState::Down, |e| e.state);
                InstanceHealth {
                    id: inst.index.to_string(),
                    state,
                    since: inst.current().map_or(now, |e| e.start),
                    cpu_percent: sim.sample(inst, Metric::Cpu, now),
                    mem_bytes: sim.sample(inst, Metric::Memory, now) as u64,
                    mem_quota: svc.spec.mem_quota,
                    disk_bytes: sim.disk(inst, now) as u64,
                    disk_quota: svc.spec.disk_quota,
                    restarts: inst.restarts,
                    last_termination: inst.last_termination.clone(),
                }
            })
            .collect();
        let running = instances.iter().filter(|i| i.state == InstanceState::Running).count();
        Ok(ServiceHealth {
            name: svc.spec.name.to_string(),
            env: env.spec.name.to_string(),
            requested_state: "started".to_string(),
            desired: u32::try_from(instances.len()).unwrap_or(u32::MAX),
            running: u32::try_from(running).unwrap_or(u32::MAX),
            instances,
        })
    }

    async fn restart(&self, service: &str, env: Option<&str>, progress: &Progress) -> Result<(), BackendError> {
        let call = format!("restart {service}");
        let now = self.0.now();
        let mut estate = self.0.write();
        // Check the environment first so its error names the known ones.
        env_of(&estate, env, &call)?;
        let svc = estate
            .env_mut(env)
            .and_then(|e| e.service_mut(service))
            .ok_or_else(|| BackendError::not_found(BACKEND_NAME, &call, format!("service '{service}'")))?;
        for inst in &mut svc.instances {
            inst.restart(now);
        }
        let n = u32::try_from(svc.instances.len()).unwrap_or(u32::MAX);
        progress.report(&RestartStep {
            service: svc.spec.name.to_string(),
            updated: n,
            ready: n,
            desired: n,
            done: true,
        });
        tracing::info!(service = svc.spec.name, "demo: restarted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::backends::{InstanceState, Progress};
    use crate::demo::testing::Fixture;
    use chrono::Duration;

    #[tokio::test]
    async fn health_moves_with_time_and_restart_takes_effect() {
        let fx = Fixture::new();
        let svc = &fx.backends.services;
        assert_eq!(svc.list().await.unwrap().len(), 6);
        let h0 = svc.health("latte", None).await.unwrap();
        assert_eq!((h0.env.as_str(), h0.desired, h0.running), ("prod", 2, 2));
        fx.advance(Duration::minutes(7));
        let h1 = svc.health("LATTE", Some("prod")).await.unwrap();
        assert_eq!(h1.instances[0].since, h0.instances[0].since, "since stays while nothing happens");
        assert_ne!(h1.instances[0].cpu_percent, h0.instances[0].cpu_percent, "cpu moves");

        svc.restart("search", None, &Progress::none()).await.unwrap();
        let h2 = svc.health("search", None).await.unwrap();
        assert_eq!(h2.running, 2);
        assert!(h2.instances.iter().all(|i| i.state == InstanceState::Running && i.since == fx.now()));
        assert_eq!(h2.instances[1].restarts, 8);
        assert_eq!(h2.instances[0].restarts, 0);
    }

    #[tokio::test]
    async fn unknown_service_and_environment() {
        let fx = Fixture::new();
        let err = fx.backends.services.health("lattee", None).await.unwrap_err();
        assert!(err.not_found);
        let err = fx.backends.services.restart("nope", None, &Progress::none()).await.unwrap_err();
        assert!(err.not_found);
        let err = fx.backends.services.health("latte", Some("dev")).await.unwrap_err();
        assert!(!err.not_found);
        assert!(err.cause.contains("prod, staging"), "{}", err.cause);
        let staging = fx.backends.services.health("latte", Some("staging")).await.unwrap();
        assert_eq!(staging.desired, 1);
    }
}
