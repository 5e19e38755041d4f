//! Kubernetes: services are Deployments in one namespace. Health reads the
//! Deployment and its Pods; a restart is exactly `kubectl rollout restart` (a
//! strategic merge patch of the pod template's `restartedAt` annotation),
//! followed until the rollout finishes. Requests are built by `kube` and sent
//! once through its client; reads are retried here, the patch never is.

use crate::backends::{
    BackendError, InstanceHealth, InstanceState, MetricsBackend, Progress, RestartStep, ServiceBackend, ServiceHealth,
};
use crate::skill::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::Resource;
use kube::api::{GetParams, ListParams, ObjectList, Patch, PatchParams};
use kube::client::Body;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Backend name in error cards.
const BACKEND: &str = "kubernetes";

/// The annotation `kubectl rollout restart` writes; changing it rolls the pods.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Retries of a failed read (a change is never retried).
const READ_RETRIES: u32 = 2;

/// Where the cluster is and how patient to be with it.
#[derive(Clone)]
pub struct KubernetesOptions {
    /// Environment these deployments make up (`prod`).
    pub env: String,
    /// API server URL, e.g. `https://k8s.example.com:6443`.
    pub api_url: String,
    /// Bearer token (read from the environment by the caller).
    pub token: String,
    /// PEM of the CA that signed the API server's certificate, when not public.
    pub ca_pem: Option<String>,
    /// Accept any certificate (lab clusters only).
    pub insecure_tls: bool,
    /// Namespace holding the deployments.
    pub namespace: String,
    /// Limit of one API call.
    pub timeout: Duration,
    /// Limit of a whole rollout after a restart.
    pub rollout_timeout: Duration,
    /// How often a rollout is polled.
    pub poll_interval: Duration,
    /// Where per-pod CPU and memory come from (series named by pod), if anywhere.
    pub metrics: Option<Arc<dyn MetricsBackend>>,
}

impl KubernetesOptions {
    /// Options with default timeouts (10 s per call, 5 min rollouts, 500 ms polls) and no metrics.
    pub fn new(env: &str, api_url: &str, token: &str, namespace: &str) -> Self {
        KubernetesOptions {
            env: env.to_string(),
            api_url: api_url.to_string(),
            token: token.to_string(),
            ca_pem: None,
            insecure_tls: false,
            namespace: namespace.to_string(),
            timeout: Duration::from_secs(10),
            rollout_timeout: Duration::from_secs(300),
            poll_interval: Duration::from_millis(500),
            metrics: None,
        }
    }
}

/// Deployments of one namespace as a [`ServiceBackend`].
pub struct KubernetesServices {
    opts: KubernetesOptions,
    client: kube::Client,
}

impl KubernetesServices {
    /// A client for the cluster in `opts`. The config is built by hand (no
    /// kubeconfig), so it works as well against a loopback fake.
    pub fn new(opts: KubernetesOptions) -> Result<Self, BackendError> {
        let conf_err = |m: String| BackendError::new(BACKEND, "configure", m);
        let url = opts.api_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(conf_err(format!("url '{url}' must start with http:// or https://")));
        }
        let uri = url.parse().map_err(|e| conf_err(format!("url '{url}': {e}")))?;
        if !is_dns_name(&opts.namespace) {
            return Err(conf_err(format!("namespace '{}' is not a valid name", opts.namespace)));
        }
        let mut config = kube::Config::new(uri);
        config.default_namespace = opts.namespace.clone();
        config.auth_info.token = Some(secrecy::SecretString::from(opts.token.clone()));
        config.accept_invalid_certs = opts.insecure_tls;
        config.connect_timeout = Some(opts.timeout.min(Duration::from_secs(5)));
        config.read_timeout = Some(opts.timeout);
        config.write_timeout = Some(opts.timeout);
        config.reset_reader_on_write = true;
        // Retries are decided here: reads a bounded number of times, the patch never.
        config.default_retry = false;
        if let Some(pem) = &opts.ca_pem {
            let certs = pem::parse_many(pem.as_bytes()).map_err(|e| conf_err(format!("ca certificate: {e}")))?;
            if certs.is_empty() {
                return Err(conf_err("ca certificate: no PEM certificate found".to_string()));
            }
            config.root_cert = Some(certs.into_iter().map(pem::Pem::into_contents).collect());
        }
        let client = kube::Client::try_from(config).map_err(|e| conf_err(format!("kubernetes client: {e}")))?;
        Ok(KubernetesServices { opts, client })
    }

    fn check_env(&self, env: Option<&str>, call: &str) -> Result<(), BackendError> {
        match env {
            Some(e) if !e.eq_ignore_ascii_case(&self.opts.env) => {
                Err(BackendError::new(BACKEND, call, format!("unknown environment '{e}' (known: {})", self.opts.env)))
            }
            _ => Ok(()),
        }
    }

    fn deployments(&self) -> kube::core::Request {
        kube::core::Request::new(Deployment::url_path(&(), Some(&self.opts.namespace)))
    }

    fn pods(&self) -> kube::core::Request {
        kube::core::Request::new(Pod::url_path(&(), Some(&self.opts.namespace)))
    }

    /// Sends one request and decodes the answer, turning every failure into a
    /// [`BackendError`] an on-call engineer can act on.
    async fn send<T: DeserializeOwned>(
        &self,
        call: &str,
        req: Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    ) -> Result<T, Attempt> {
        let req = req.map_err(|e| Attempt::fatal(BackendError::new(BACKEND, call, format!("bad request: {e}"))))?;
        let exchange = async {
            let resp = self.client.send(req.map(Body::from)).await?;
            let status = resp.status();
            let body = resp.into_body().collect_bytes().await?;
            Ok::<_, kube::Error>((status, body))
        };
        let (status, body) = match tokio::time::timeout(self.opts.timeout, exchange).await {
            Err(_) => return Err(Attempt::transient(self.timed_out(call))),
            Ok(Err(e)) => return Err(self.transport_error(call, &e)),
            Ok(Ok(answer)) => answer,
        };
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| Attempt::fatal(BackendError::new(BACKEND, call, format!("malformed response: {e}"))));
        }
        let message = serde_json::from_slice::<kube::core::Status>(&body)
            .ok()
            .map(|s| s.message)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(200).collect());
        let quote = if message.trim().is_empty() { String::new() } else { format!(": {}", message.trim()) };
        let code = status.as_u16();
        Err(match code {
            401 | 403 => Attempt::fatal(BackendError::new(
                BACKEND,
                call,
                format!("{status}: credentials rejected, check the token in the config{quote}"),
            )),
            404 => Attempt::fatal(BackendError::not_found(BACKEND, call, format!("{status}{quote}"))),
            429 => Attempt::transient(BackendError::new(BACKEND, call, format!("{status}: rate limited{quote}"))),
            500..=599 => Attempt::transient(BackendError::new(BACKEND, call, format!("{status}: server error{quote}"))),
            _ => Attempt::fatal(BackendError::new(BACKEND, call, format!("{status}{quote}"))),
        })
    }

    /// A read, retried with backoff on transient failures.
    async fn read<T: DeserializeOwned>(
        &self,
        call: &str,
        build: impl Fn() -> Result<http::Request<Vec<u8>>, kube::core::request::Error>,
    ) -> Result<T, BackendError> {
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            match self.send(call, build()).await {
                Ok(v) => return Ok(v),
                Err(Attempt { error, transient }) => {
                    if !transient || attempt >= READ_RETRIES {
                        return Err(error);
                    }
                    tracing::debug!(backend = BACKEND, call, attempt, "retrying: {}", error.cause);
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }

    fn timed_out(&self, call: &str) -> BackendError {
        BackendError::new(
            BACKEND,
            call,
            format!("no answer from {} within {:.1} s", self.opts.api_url, self.opts.timeout.as_secs_f64()),
        )
    }

    fn transport_error(&self, call: &str, e: &kube::Error) -> Attempt {
        let mut chain = e.to_string();
        let mut root: &dyn std::error::Error = e;
        let mut refused = false;
        let mut timed_out = false;
        while let Some(next) = root.source() {
            chain.push_str(&format!(": {next}"));
            if let Some(io) = next.downcast_ref::<std::io::Error>() {
                refused |=
                    matches!(io.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset);
                timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
            }
            root = next;
        }
        if timed_out {
            return Attempt::transient(self.timed_out(call));
        }
        let cause = if refused || chain.contains("Connect") || chain.contains("connect") {
            format!("cannot connect to {}: {root}", self.opts.api_url)
        } else {
            format!("request to {} failed: {root}", self.opts.api_url)
        };
        Attempt::transient(BackendError::new(BACKEND, call, cause))
    }

    async fn deployment(&self, service: &str, call: &str) -> Result<Deployment, BackendError> {
        // Names are DNS labels; anything else cannot exist and never reaches a URL.
        if !is_dns_name(service) {
            return Err(unknown(service, call));
        }
        self.read(call, || self.deployments().get(service, &GetParams::default()))
            .await
            .map_err(|e| if e.not_found { unknown(service, call) } else { e })
    }

    /// Last point per series name of `metric`, when metrics are configured and answer.
    async fn last_points(&self, service: &str, metric: &str) -> HashMap<String, f64> {
        let Some(metrics) = &self.opts.metrics else { return HashMap::new() };
        let to = Utc::now();
        let window = Window { from: to - chrono::Duration::minutes(5), to };
        match metrics.series(service, metric, window).await {
            Ok(series) => {
                series.into_iter().filter_map(|s| s.points.last().map(|(_, v)| (s.name.clone(), *v))).collect()
            }
            Err(e) => {
                tracing::warn!(service, metric, "no metrics for the health card: {e}");
                HashMap::new()
            }
        }
    }
}

/// A failed attempt and whether trying again could help.
struct Attempt {
    error: BackendError,
    transient: bool,
}

impl Attempt {
    fn fatal(error: BackendError) -> Self {
        Attempt { error, transient: false }
    }

    fn transient(error: BackendError) -> Self {
        Attempt { error, transient: true }
    }
}

fn unknown(service: &str, call: &str) -> BackendError {
    BackendError::not_found(BACKEND, call, format!("service '{service}'"))
}

/// A DNS-1123 subdomain: what Kubernetes accepts as a name.
fn is_dns_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Bytes of a quantity (`512Mi`, `1G`, `1.5Gi`, `1e9`), or 0 when unreadable.
fn quantity_bytes(q: &Quantity) -> u64 {
    let s = q.0.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E').unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let mult: f64 = match suffix {
        "" => 1.0,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "m" => 1e-3,
        _ => return 0,
    };
    match num.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => (n * mult).round() as u64,
        _ => 0,
    }
}

/// Sum of a resource's limits over the pod's containers.
fn limit_bytes(pod: &Pod, resource: &str) -> u64 {
    pod.spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.resources.as_ref()?.limits.as_ref()?.get(resource))
                .map(quantity_bytes)
                .sum()
        })
        .unwrap_or(0)
}

/// The card's state of a pod.
fn pod_state(pod: &Pod) -> InstanceState {
    if pod.metadata.deletion_timestamp.is_some() {
        return InstanceState::Down;
    }
    let Some(status) = &pod.status else { return InstanceState::Starting };
    let containers = status.container_statuses.as_deref().unwrap_or_default();
    let crashed = containers.iter().any(|c| {
        let state = c.state.as_ref();
        let waiting = state.and_then(|s| s.waiting.as_ref()).and_then(|w| w.reason.as_deref());
        matches!(waiting, Some("CrashLoopBackOff" | "Error" | "OOMKilled"))
            || state.is_some_and(|s| s.terminated.is_some())
    });
    let phase = status.phase.as_deref().unwrap_or("Unknown");
    if crashed || phase == "Failed" {
        return InstanceState::Crashed;
    }
    let ready = !containers.is_empty() && containers.iter().all(|c| c.ready);
    match phase {
        "Running" if ready => InstanceState::Running,
        "Running" | "Pending" => InstanceState::Starting,
        _ => InstanceState::Down,
    }
}

/// Since when the pod has been in its state: its newest container start, else the pod's start.
fn pod_since(status: Option<&PodStatus>, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(status) = status else { return now };
    status
        .container_statuses
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .map(|t| t.0)
        .max()
        .or_else(|| status.start_time.as_ref().map(|t| t.0))
        .map(|t| DateTime::<Utc>::from_timestamp(t.as_second(), 0).unwrap_or(now))
        .unwrap_or(now)
}

fn instance(pod: &Pod, cpu: &HashMap<String, f64>, mem: &HashMap<String, f64>, now: DateTime<Utc>) -> InstanceHealth {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let containers = pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let restarts = containers.iter().map(|c| u32::try_from(c.restart_count).unwrap_or(0)).sum();
    let last_termination =
        containers.iter().filter_map(|c| c.last_state.as_ref()?.terminated.as_ref()?.reason.clone()).next();
    InstanceHealth {
        state: pod_state(pod),
        since: pod_since(pod.status.as_ref(), now),
        cpu_percent: cpu.get(&name).copied().filter(|v| v.is_finite()).unwrap_or(0.0),
        mem_bytes: mem.get(&name).copied().filter(|v| v.is_finite() && *v >= 0.0).unwrap_or(0.0) as u64,
        mem_quota: limit_bytes(pod, "memory"),
        disk_bytes: 0,
        disk_quota: limit_bytes(pod, "ephemeral-storage"),
        restarts,
        last_termination,
        id: name,
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rollout {
    desired: u32,
    updated: u32,
    ready: u32,
    available: u32,
    total: u32,
    observed: bool,
}

impl Rollout {
    fn of(d: &Deployment) -> Self {
        let count = |v: Option<i32>| u32::try_from(v.unwrap_or(0)).unwrap_or(0);
        let desired = count(Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)));
        let status = d.status.clone().unwrap_or_default();
        let generation = d.metadata.generation.unwrap_or(0);
        Rollout {
            desired,
            updated: count(status.updated_replicas),
            ready: count(status.ready_replicas),
            available: count(status.available_replicas),
            total: count(status.replicas),
            observed: status.observed_generation.unwrap_or(0) >= generation,
        }
    }

    /// `kubectl rollout status`'s notion of done: new generation seen, every
    /// replica updated, ready and available, and no old replica left.
    fn done(&self) -> bool {
        self.observed
            && self.updated == self.desired
            && self.ready == self.desired
            && self.available == self.desired
            && self.total == self.desired
    }
}

#[async_trait]
impl ServiceBackend for KubernetesServices {
    fn name(&self) -> &str {
        BACKEND
    }

    async fn list(&self) -> Result<Vec<String>, BackendError> {
        let list: ObjectList<Deployment> =
            self.read("list deployments", || self.deployments().list(&ListParams::default())).await?;
        Ok(list.items.into_iter().filter_map(|d| d.metadata.name).collect())
    }

    async fn health(&self, service: &str, env: Option<&str>) -> Result<ServiceHealth, BackendError> {
        let call = format!("health {service}");
        self.check_env(env, &call)?;
        let deployment = self.deployment(service, &call).await?;
        let spec = deployment.spec.as_ref();
        let labels = spec.and_then(|s| s.selector.match_labels.as_ref());
        let selector =
            labels.map(|l| l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")).unwrap_or_default();
        if selector.is_empty() {
            return Err(BackendError::new(BACKEND, &call, "deployment has no matchLabels selector"));
        }
        let pods: ObjectList<Pod> =
            self.read(&call, || self.pods().list(&ListParams::default().labels(&selector))).await?;
        let (cpu, mem) = tokio::join!(self.last_points(service, "cpu"), self.last_points(service, "memory"));
        let now = Utc::now();
        let mut instances: Vec<InstanceHealth> = pods.items.iter().map(|p| instance(p, &cpu, &mem, now)).collect();
        instances.sort_by(|a, b| a.id.cmp(&b.id));
        let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
        let running = instances.iter().filter(|i| i.state == InstanceState::Running).count();
        Ok(ServiceHealth {
            name: deployment.metadata.name.clone().unwrap_or_else(|| service.to_string()),
            env: self.opts.env.clone(),
            requested_state: if replicas > 0 { "started" } else { "stopped" }.to_string(),
            desired: u32::try_from(replicas).unwrap_or(0),
            running: u32::try_from(running).unwrap_or(u32::MAX),
            instances,
        })
    }

    async fn restart(&self, service: &str, env: Option<&str>, progress: &Progress) -> Result<(), BackendError> {
        let call = format!("restart {service}");
        self.check_env(env, &call)?;
        if !is_dns_name(service) {
            return Err(unknown(service, &call));
        }
        let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let patch = serde_json::json!({
            "spec": { "template": { "metadata": { "annotations": { RESTARTED_AT: now } } } }
        });
        let patched: Deployment = self
            .send(&call, self.deployments().patch(service, &PatchParams::default(), &Patch::Strategic(&patch)))
            .await
            .map_err(|a| if a.error.not_found { unknown(service, &call) } else { a.error })?;
        let name = patched.metadata.name.clone().unwrap_or_else(|| service.to_string());
        let started = Instant::now();
        let mut last: Option<Rollout> = None;
        let mut current = Rollout::of(&patched);
        loop {
            let step = RestartStep {
                service: name.clone(),
                updated: current.updated,
                ready: current.ready,
                desired: current.desired,
                done: current.done(),
            };
            if last != Some(current) || step.done {
                progress.report(&step);
                last = Some(current);
            }
            if step.done {
                tracing::info!(service = name, "kubernetes: rollout finished");
                return Ok(());
            }
            if started.elapsed() >= self.opts.rollout_timeout {
                return Err(BackendError::new(
                    BACKEND,
                    &call,
                    format!(
                        "rollout of {name} did not finish within {} s: {} of {} updated, {} ready, {} available",
                        self.opts.rollout_timeout.as_secs_f64().round(),
                        current.updated,
                        current.desired,
                        current.ready,
                        current.available
                    ),
                ));
            }
            tokio::time::sleep(self.opts.poll_interval).await;
            let poll_call = format!("{call} (rollout status)");
            let d: Deployment =
                self.read(&poll_call, || self.deployments().get(service, &GetParams::default())).await?;
            current = Rollout::of(&d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes(&Quantity("512Mi".into())), 512 * 1024 * 1024);
        assert_eq!(quantity_bytes(&Quantity("1G".into())), 1_000_000_000);
        assert_eq!(quantity_bytes(&Quantity("1e3".into())), 1000);
        assert_eq!(quantity_bytes(&Quantity("1.5Gi".into())), 1610612736);
        assert_eq!(quantity_bytes(&Quantity("lots".into())), 0);
    }

    #[test]
    fn names() {
        assert!(is_dns_name("payments-api"));
        assert!(!is_dns_name("a/b?c=../"));
        assert!(!is_dns_name("Latte"));
        assert!(!is_dns_name(""));
    }
}
