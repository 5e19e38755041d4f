//! Services in several environments, each on its own platform: `prod` on a
//! Kubernetes cluster, `staging` on Cloud Foundry. Requests go to the
//! environment they name, or to the default one.

use crate::backends::{BackendError, Progress, ServiceBackend, ServiceHealth};
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Name in error cards for routing problems (an unknown environment).
const NAME: &str = "pipilu";

/// A [`ServiceBackend`] that routes by environment.
pub struct ServicesByEnv {
    default_env: String,
    envs: Vec<(String, Arc<dyn ServiceBackend>)>,
    name: String,
}

impl ServicesByEnv {
    /// Routes `envs` by name; `default_env` answers requests that name none and must be one of them.
    pub fn new(default_env: &str, envs: Vec<(String, Arc<dyn ServiceBackend>)>) -> Result<Self, BackendError> {
        if !envs.iter().any(|(n, _)| n == default_env) {
            return Err(BackendError::new(
                NAME,
                "configure",
                format!("default environment '{default_env}' is not set up"),
            ));
        }
        let kinds: BTreeSet<&str> = envs.iter().map(|(_, b)| b.name()).collect();
        let name = kinds.into_iter().collect::<Vec<_>>().join("+");
        Ok(ServicesByEnv { default_env: default_env.to_string(), envs, name })
    }

    fn route(&self, env: Option<&str>, call: &str) -> Result<(&str, &Arc<dyn ServiceBackend>), BackendError> {
        let want = env.unwrap_or(&self.default_env);
        self.envs.iter().find(|(n, _)| n.eq_ignore_ascii_case(want)).map(|(n, b)| (n.as_str(), b)).ok_or_else(|| {
            let known: Vec<&str> = self.envs.iter().map(|(n, _)| n.as_str()).collect();
            BackendError::new(NAME, call, format!("no environment '{want}' (known: {})", known.join(", ")))
        })
    }
}

#[async_trait]
impl ServiceBackend for ServicesByEnv {
    fn name(&self) -> &str {
        &self.name
    }

    /// Every environment's services, listed concurrently; one failing environment
    /// is logged and skipped unless all fail.
    async fn list(&self) -> Result<Vec<String>, BackendError> {
        let mut tasks = tokio::task::JoinSet::new();
        for (env, backend) in &self.envs {
            let (env, backend) = (env.clone(), Arc::clone(backend));
            tasks.spawn(async move { (env, backend.list().await) });
        }
        let mut names = BTreeSet::new();
        let mut first_error = None;
        let mut any_ok = false;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((_, Ok(list))) => {
                    any_ok = true;
                    names.extend(list);
                }
                Ok((env, Err(e))) => {
                    tracing::warn!(env, "listing services: {e}");
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(BackendError::new(NAME, "list services", format!("task failed: {e}")));
                }
            }
        }
        match (any_ok, first_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(names.into_iter().collect()),
        }
    }

    async fn health(&self, service: &str, env: Option<&str>) -> Result<ServiceHealth, BackendError> {
        let (env, backend) = self.route(env, &format!("health {service}"))?;
        let mut health = backend.health(service, Some(env)).await?;
        health.env = env.to_string();
        Ok(health)
    }

    async fn restart(&self, service: &str, env: Option<&str>, progress: &Progress) -> Result<(), BackendError> {
        let (env, backend) = self.route(env, &format!("restart {service}"))?;
        backend.restart(service, Some(env), progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DemoEstate;

    fn routed() -> ServicesByEnv {
        let demo = Arc::new(DemoEstate::new(1)).backends().services;
        ServicesByEnv::new("prod", vec![("prod".into(), Arc::clone(&demo)), ("staging".into(), demo)]).unwrap()
    }

    #[tokio::test]
    async fn routes_by_env_and_defaults() {
        let r = routed();
        assert_eq!(r.name(), "demo");
        assert_eq!(r.health("latte", None).await.unwrap().env, "prod");
        assert_eq!(r.health("latte", Some("STAGING")).await.unwrap().env, "staging");
        let e = r.health("latte", Some("qa")).await.unwrap_err();
        assert_eq!(e.cause, "no environment 'qa' (known: prod, staging)");
        assert!(!e.not_found);
        assert!(r.list().await.unwrap().contains(&"latte".to_string()));
    }

    #[test]
    fn default_must_exist() {
        let demo = Arc::new(DemoEstate::new(1)).backends().services;
        assert!(ServicesByEnv::new("qa", vec![("prod".into(), demo)]).is_err());
    }
}
