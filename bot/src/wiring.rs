//! Building the skills' backends from the config: the drivers of
//! [`skills::drivers`] for what `[environments.*]` and `[backends.*]` configure,
//! a clear "not configured" answer for what they leave out, and the demo
//! estate when nothing real is configured at all.
//!
//! Secrets are read from the environment here, at start, and nowhere else.

use crate::config::{AuthConfig, BackendsConfig, EnvConfig, PrometheusConfig};
use anyhow::{Context as _, Result, anyhow};
use skills::backends::{FirewallBackend, GraphBackend, LogsBackend, MetricsBackend, ServiceBackend};
use skills::drivers::cloudfoundry::CloudFoundryServices;
use skills::drivers::elasticsearch::{Elasticsearch, EsFields};
use skills::drivers::grafana::Grafana;
use skills::drivers::http::{Auth, secret_from_env};
use skills::drivers::kubernetes::{KubernetesOptions, KubernetesServices};
use skills::drivers::loki::{Loki, LokiLabels};
use skills::drivers::opnsense::{Firewalls, OpnSense};
use skills::drivers::prometheus::{Prometheus, Queries};
use skills::drivers::routed::ServicesByEnv;
use skills::drivers::unconfigured::Unconfigured;
use skills::{BackendError, Backends};
use std::sync::Arc;
use std::time::Duration;

/// How often a restart's rollout is polled.
const POLL: Duration = Duration::from_millis(500);

/// The backends the config describes; `None` when it configures none (the demo estate answers).
pub fn backends(cfg: &BackendsConfig) -> Result<Option<Backends>> {
    if cfg.is_empty() {
        return Ok(None);
    }
    let prometheus = cfg.prometheus.as_ref().map(|p| prometheus(p, &p.namespace)).transpose()?;
    let services: Arc<dyn ServiceBackend> = if cfg.environments.is_empty() {
        Arc::new(Unconfigured { kind: "services", add: "[environments.<name>] with a platform" })
    } else {
        let mut envs = Vec::new();
        for (name, env) in &cfg.environments {
            let backend = environment(cfg, name, env).with_context(|| format!("environment {name}"))?;
            envs.push((name.clone(), backend));
        }
        let default = cfg.default_env.clone().or_else(|| cfg.environments.keys().next().cloned()).unwrap_or_default();
        Arc::new(ServicesByEnv::new(&default, envs).map_err(driver)?)
    };
    let metrics: Arc<dyn MetricsBackend> = match &prometheus {
        Some(p) => Arc::clone(p) as Arc<dyn MetricsBackend>,
        None => Arc::new(Unconfigured { kind: "metrics", add: "[backends.prometheus]" }),
    };
    let logs: Arc<dyn LogsBackend> = if let Some(l) = &cfg.loki {
        let labels = LokiLabels { service: l.service_label.clone(), env: l.env_label.clone(), ..LokiLabels::default() };
        Arc::new(Loki::new(&l.endpoint.endpoint(), auth(&l.auth, "loki")?, labels).map_err(driver)?)
    } else if let Some(e) = &cfg.elasticsearch {
        let auth = auth(&e.auth, "elasticsearch")?;
        Arc::new(Elasticsearch::new(&e.endpoint.endpoint(), auth, &e.index, EsFields::default()).map_err(driver)?)
    } else {
        Arc::new(Unconfigured { kind: "logs", add: "[backends.loki] or [backends.elasticsearch]" })
    };
    let graphs: Arc<dyn GraphBackend> = match &cfg.grafana {
        Some(g) => {
            let token = secret_from_env("grafana", &g.token_env).map_err(driver)?;
            Arc::new(Grafana::new(&g.endpoint.endpoint(), Auth::Bearer(token), prometheus.clone()).map_err(driver)?)
        }
        None => Arc::new(Unconfigured { kind: "dashboards", add: "[backends.grafana]" }),
    };
    let firewalls: Arc<dyn FirewallBackend> = if cfg.opnsense.is_empty() {
        Arc::new(Unconfigured { kind: "firewall", add: "[backends.opnsense.<name>]" })
    } else {
        let mut boxes = Vec::new();
        for fw in &cfg.opnsense {
            let key = secret_from_env("opnsense", &fw.key_env).map_err(driver)?;
            let secret = secret_from_env("opnsense", &fw.secret_env).map_err(driver)?;
            boxes.push(OpnSense::new(fw.name.clone(), &fw.endpoint.endpoint(), &key, &secret).map_err(driver)?);
        }
        Arc::new(Firewalls::new(boxes))
    };
    Ok(Some(Backends { services, metrics, logs, graphs, firewalls }))
}

/// One environment's service backend: a Kubernetes namespace or a Cloud Foundry space.
fn environment(cfg: &BackendsConfig, name: &str, env: &EnvConfig) -> Result<Arc<dyn ServiceBackend>> {
    match env {
        EnvConfig::Kubernetes { cluster, namespace } => {
            let c = cfg.kubernetes.get(cluster).ok_or_else(|| anyhow!("no [backends.kubernetes.{cluster}]"))?;
            let token = secret_from_env("kubernetes", &c.token_env).map_err(driver)?;
            let mut opts = KubernetesOptions::new(name, &c.endpoint.url, &token, namespace);
            opts.insecure_tls = c.endpoint.insecure_tls;
            opts.timeout = Duration::from_secs_f64(c.endpoint.timeout_secs);
            opts.rollout_timeout = Duration::from_secs(c.rollout_timeout_secs);
            opts.poll_interval = POLL;
            if let Some(path) = &c.ca_file {
                let pem = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the CA file {} of cluster {cluster}", path.display()))?;
                opts.ca_pem = Some(pem);
            }
            // Health cards show cpu and memory per pod from Prometheus, in this namespace.
            if let Some(p) = &cfg.prometheus {
                opts.metrics = Some(prometheus(p, namespace)? as Arc<dyn MetricsBackend>);
            }
            Ok(Arc::new(KubernetesServices::new(opts).map_err(driver)?))
        }
        EnvConfig::CloudFoundry { space_guid } => {
            let c = cfg.cloudfoundry.as_ref().ok_or_else(|| anyhow!("no [backends.cloudfoundry]"))?;
            let token = secret_from_env("cloudfoundry", &c.token_env).map_err(driver)?;
            let services = CloudFoundryServices::new(
                name,
                &c.endpoint.endpoint(),
                Auth::Bearer(token),
                space_guid,
                Duration::from_secs(c.rollout_timeout_secs),
                POLL,
            )
            .map_err(driver)?;
            Ok(Arc::new(services))
        }
    }
}

fn prometheus(p: &PrometheusConfig, namespace: &str) -> Result<Arc<Prometheus>> {
    let mut queries = Queries { namespace: namespace.to_string(), ..Queries::default() };
    for (metric, q) in &p.queries {
        match metric.as_str() {
            "cpu" => queries.cpu = q.clone(),
            "memory" => queries.memory = q.clone(),
            "requests" => queries.requests = q.clone(),
            "errors" => queries.errors = q.clone(),
            "latency_p99" => queries.latency_p99 = q.clone(),
            other => return Err(anyhow!("backends.prometheus.queries.{other}: unknown metric")),
        }
    }
    Ok(Arc::new(Prometheus::new(&p.endpoint.endpoint(), auth(&p.auth, "prometheus")?, queries).map_err(driver)?))
}

fn auth(a: &AuthConfig, backend: &str) -> Result<Auth> {
    Ok(match a {
        AuthConfig::None => Auth::None,
        AuthConfig::Bearer { token_env } => Auth::Bearer(secret_from_env(backend, token_env).map_err(driver)?),
        AuthConfig::Basic { username_env, password_env } => Auth::Basic {
            user: secret_from_env(backend, username_env).map_err(driver)?,
            password: secret_from_env(backend, password_env).map_err(driver)?,
        },
    })
}

fn driver(e: BackendError) -> anyhow::Error {
    anyhow!("{}: {}", e.backend, e.cause)
}
