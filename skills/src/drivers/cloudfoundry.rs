//! Cloud Foundry (v3 API): services are the apps of one space. Health is the
//! classic card (requested state, instances, per-instance state, uptime, cpu,
//! memory and disk of quota) from the app, its web process and that process's
//! stats; a restart is the app's restart action, sent once and followed until
//! every instance runs again.

use super::http::{Auth, Endpoint, Http, Retry};
use crate::backends::{
    BackendError, InstanceHealth, InstanceState, Progress, RestartStep, ServiceBackend, ServiceHealth,
};
use async_trait::async_trait;
use chrono::Utc;
use reqwest::Method;
use serde::Deserialize;
use std::time::{Duration, Instant};

/// Backend name in error cards.
const BACKEND: &str = "cloudfoundry";

/// Most pages of apps followed (5000 apps each).
const MAX_PAGES: usize = 20;

/// The apps of one space as a [`ServiceBackend`].
pub struct CloudFoundryServices {
    env: String,
    http: Http,
    space_guid: String,
    rollout_timeout: Duration,
    poll_interval: Duration,
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    #[serde(default)]
    pagination: Option<Pagination>,
    resources: Vec<T>,
}

#[derive(Debug, Deserialize)]
struct Pagination {
    #[serde(default)]
    next: Option<Link>,
}

#[derive(Debug, Deserialize)]
struct Link {
    href: String,
}

#[derive(Debug, Deserialize)]
struct App {
    guid: String,
    name: String,
    state: String,
}

#[derive(Debug, Deserialize)]
struct Process {
    guid: String,
    instances: u32,
    #[serde(default)]
    memory_in_mb: Option<u64>,
    #[serde(default)]
    disk_in_mb: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Stats {
    resources: Vec<InstanceStats>,
}

#[derive(Debug, Deserialize)]
struct InstanceStats {
    index: u32,
    state: String,
    #[serde(default)]
    uptime: Option<u64>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    mem_quota: Option<u64>,
    #[serde(default)]
    disk_quota: Option<u64>,
    #[serde(default)]
    details: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Usage {
    #[serde(default)]
    cpu: Option<f64>,
    #[serde(default)]
    mem: Option<u64>,
    #[serde(default)]
    disk: Option<u64>,
}

const MIB: u64 = 1024 * 1024;

/// A GUID from the API, checked before it becomes part of a path.
fn guid<'a>(g: &'a str, call: &str) -> Result<&'a str, BackendError> {
    if !g.is_empty() && g.len() <= 64 && g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(g)
    } else {
        Err(BackendError::new(BACKEND, call, format!("malformed response: guid '{g}' is not a GUID")))
    }
}

fn state_of(s: &str) -> InstanceState {
    match s {
        "RUNNING" => InstanceState::Running,
        "STARTING" => InstanceState::Starting,
        "CRASHED" => InstanceState::Crashed,
        _ => InstanceState::Down,
    }
}

impl CloudFoundryServices {
    /// A client for the space `space_guid` at `endpoint`, answering for environment `env`.
    /// Restarts are followed for at most `rollout_timeout`, polling every `poll_interval`.
    pub fn new(
        env: &str,
        endpoint: &Endpoint,
        auth: Auth,
        space_guid: &str,
        rollout_timeout: Duration,
        poll_interval: Duration,
    ) -> Result<Self, BackendError> {
        let http = Http::new(BACKEND, endpoint, auth)?;
        guid(space_guid, "configure")
            .map_err(|_| BackendError::new(BACKEND, "configure", format!("space_guid '{space_guid}' is not a GUID")))?;
        Ok(CloudFoundryServices {
            env: env.to_string(),
            http,
            space_guid: space_guid.to_string(),
            rollout_timeout,
            poll_interval,
        })
    }

    fn check_env(&self, env: Option<&str>, call: &str) -> Result<(), BackendError> {
        match env {
            Some(e) if !e.eq_ignore_ascii_case(&self.env) => {
                Err(BackendError::new(BACKEND, call, format!("unknown environment '{e}' (known: {})", self.env)))
            }
            _ => Ok(()),
        }
    }

    async fn app(&self, service: &str, call: &str) -> Result<App, BackendError> {
        let page: Page<App> = self
            .http
            .json(call, Retry::Read, || {
                self.http
                    .request(Method::GET, "/v3/apps")
                    .query(&[("names", service), ("space_guids", self.space_guid.as_str())])
            })
            .await?;
        page.resources
            .into_iter()
            .find(|a| a.name == service)
            .ok_or_else(|| BackendError::not_found(BACKEND, call, format!("service '{service}'")))
    }

    async fn web_process(&self, app: &App, call: &str) -> Result<Process, BackendError> {
        let path = format!("/v3/apps/{}/processes/web", guid(&app.guid, call)?);
        self.http.json(call, Retry::Read, || self.http.request(Method::GET, &path)).await
    }

    async fn stats(&self, process: &Process, call: &str) -> Result<Vec<InstanceStats>, BackendError> {
        let path = format!("/v3/processes/{}/stats", guid(&process.guid, call)?);
        let stats: Stats = self.http.json(call, Retry::Read, || self.http.request(Method::GET, &path)).await?;
        let mut resources = stats.resources;
        resources.sort_by_key(|r| r.index);
        Ok(resources)
    }
}

#[async_trait]
impl ServiceBackend for CloudFoundryServices {
    fn name(&self) -> &str {
        BACKEND
    }

    async fn list(&self) -> Result<Vec<String>, BackendError> {
        let call = "list apps";
        let mut names = Vec::new();
        let mut path = format!("/v3/apps?space_guids={}&per_page=5000", self.space_guid);
        for _ in 0..MAX_PAGES {
            let page: Page<App> = self.http.json(call, Retry::Read, || self.http.request(Method::GET, &path)).await?;
            names.extend(page.resources.into_iter().map(|a| a.name));
            let Some(next) = page.pagination.and_then(|p| p.next) else { return Ok(names) };
            // Follow only links back to the same API.
            path = match next.href.strip_prefix(self.http.base()) {
                Some(rest) if rest.starts_with("/v3/apps?") => rest.to_string(),
                _ => {
                    return Err(BackendError::new(
                        BACKEND,
                        call,
                        format!("malformed response: next page '{}' is not on {}", next.href, self.http.base()),
                    ));
                }
            };
        }
        Err(BackendError::new(BACKEND, call, format!("more than {MAX_PAGES} pages of apps")))
    }

    async fn health(&self, service: &str, env: Option<&str>) -> Result<ServiceHealth, BackendError> {
        let call = format!("health {service}");
        self.check_env(env, &call)?;
        let app = self.app(service, &call).await?;
        let process = self.web_process(&app, &call).await?;
        let stats = self.stats(&process, &call).await?;
        let now = Utc::now();
        let instances: Vec<InstanceHealth> = stats
            .iter()
            .map(|s| {
                let usage = s.usage.as_ref();
                let uptime = i64::try_from(s.uptime.unwrap_or(0)).unwrap_or(0);
                InstanceHealth {
                    id: s.index.to_string(),
                    state: state_of(&s.state),
                    since: now - chrono::Duration::seconds(uptime),
                    cpu_percent: usage.and_then(|u| u.cpu).filter(|c| c.is_finite()).unwrap_or(0.0) * 100.0,
                    mem_bytes: usage.and_then(|u| u.mem).unwrap_or(0),
                    mem_quota: s.mem_quota.or(process.memory_in_mb.map(|m| m * MIB)).unwrap_or(0),
                    disk_bytes: usage.and_then(|u| u.disk).unwrap_or(0),
                    disk_quota: s.disk_quota.or(process.disk_in_mb.map(|m| m * MIB)).unwrap_or(0),
                    restarts: 0,
                    last_termination: s.details.clone().filter(|d| !d.is_empty()),
                }
            })
            .collect();
        let running = instances.iter().filter(|i| i.state == InstanceState::Running).count();
        Ok(ServiceHealth {
            name: app.name,
            env: self.env.clone(),
            requested_state: if app.state == "STARTED" { "started" } else { "stopped" }.to_string(),
            desired: process.instances,
            running: u32::try_from(running).unwrap_or(u32::MAX),
            instances,
        })
    }

    async fn restart(&self, service: &str, env: Option<&str>, progress: &Progress) -> Result<(), BackendError> {
        let call = format!("restart {service}");
        self.check_env(env, &call)?;
        let app = self.app(service, &call).await?;
        let process = self.web_process(&app, &call).await?;
        let path = format!("/v3/apps/{}/actions/restart", guid(&app.guid, &call)?);
        let started = Instant::now();
        self.http.send(&call, Retry::Never, || self.http.request(Method::POST, &path)).await?;
        let desired = process.instances;
        let mut last: Option<(u32, u32)> = None;
        loop {
            tokio::time::sleep(self.poll_interval).await;
            let stats = self.stats(&process, &format!("{call} (instance stats)")).await?;
            // An instance is replaced once its uptime began after the restart was sent.
            let since_restart = started.elapsed().as_secs() + 1;
            let fresh: Vec<&InstanceStats> =
                stats.iter().filter(|s| s.uptime.is_some_and(|u| u <= since_restart)).collect();
            let updated = u32::try_from(fresh.len()).unwrap_or(u32::MAX).min(desired);
            let ready = u32::try_from(fresh.iter().filter(|s| s.state == "RUNNING").count()).unwrap_or(u32::MAX);
            let all_running = !stats.is_empty() && stats.iter().all(|s| s.state == "RUNNING");
            let done = all_running && ready >= desired;
            if last != Some((updated, ready)) || done {
                progress.report(&RestartStep { service: app.name.clone(), updated, ready, desired, done });
                last = Some((updated, ready));
            }
            if done {
                tracing::info!(service = app.name, "cloudfoundry: restart finished");
                return Ok(());
            }
            if started.elapsed() >= self.rollout_timeout {
                return Err(BackendError::new(
                    BACKEND,
                    &call,
                    format!(
                        "restart of {} did not finish within {} s: {ready} of {desired} instances running again",
                        app.name,
                        self.rollout_timeout.as_secs_f64().round()
                    ),
                ));
            }
        }
    }
}
