//! Fake Cloud Foundry v3 API: the apps of spaces, their web processes and
//! process stats, in the documented shapes. The restart action resets every
//! instance's uptime; they answer STARTING for a couple of stats reads, then
//! RUNNING. Every request is recorded.

use super::{Fault, FaultSwitch};
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One instance of an app's web process.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeInstance {
    /// `RUNNING`, `STARTING`, `CRASHED`, `DOWN`.
    pub state: String,
    /// When it started (uptime is counted from here).
    pub started: DateTime<Utc>,
    /// CPU as a fraction of one core.
    pub cpu: f64,
    /// Memory used, bytes.
    pub mem: u64,
    /// Disk used, bytes.
    pub disk: u64,
}

/// One app and its web process.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeApp {
    /// App GUID.
    pub guid: String,
    /// App name.
    pub name: String,
    /// Space GUID.
    pub space: String,
    /// `STARTED` or `STOPPED`.
    pub state: String,
    /// Web process GUID.
    pub process_guid: String,
    /// Memory quota per instance, MB.
    pub memory_in_mb: u64,
    /// Disk quota per instance, MB.
    pub disk_in_mb: u64,
    /// The instances.
    pub instances: Vec<FakeInstance>,
    /// Stats reads since the last restart while instances are still starting.
    pub starting_reads: Option<u32>,
}

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct CfState {
    /// Apps by name.
    pub apps: BTreeMap<String, FakeApp>,
    /// Every request (method and path with query), in order.
    pub requests: Vec<(String, String)>,
    /// The next this many requests answer 500 (a transient failure).
    pub fail_next: u32,
    /// Most apps per page (the real API allows 5000).
    pub max_per_page: usize,
    /// Restarts never bring instances back.
    pub stuck: bool,
}

/// The fake Cloud Foundry API.
#[derive(Clone)]
pub struct FakeCloudFoundry {
    state: Arc<Mutex<CfState>>,
    /// Faults for every answer.
    pub faults: FaultSwitch,
    /// Faults for the restart action only (after the reads before it succeeded).
    pub action_faults: FaultSwitch,
}

/// The space the seeded apps live in.
pub const SPACE: &str = "5a1b2c3d-0000-4000-8000-00000000c0de";

fn instance(state: &str, started: DateTime<Utc>, cpu: f64, mem_mb: u64) -> FakeInstance {
    FakeInstance { state: state.into(), started, cpu, mem: mem_mb * 1024 * 1024, disk: 180 * 1024 * 1024 }
}

impl FakeCloudFoundry {
    /// Seeded: `latte` (2 instances running for a day), `search` (1 running,
    /// 1 crashed), `payments-api` (stopped, no instances).
    pub fn seeded() -> Self {
        let now = Utc::now();
        let mut apps = BTreeMap::new();
        let app = |n: u32, name: &str, state: &str, instances: Vec<FakeInstance>| FakeApp {
            guid: format!("a0000000-0000-4000-8000-00000000000{n}"),
            name: name.into(),
            space: SPACE.into(),
            state: state.into(),
            process_guid: format!("b0000000-0000-4000-8000-00000000000{n}"),
            memory_in_mb: 1024,
            disk_in_mb: 1024,
            instances,
            starting_reads: None,
        };
        let day = now - Duration::hours(24);
        for a in [
            app(1, "latte", "STARTED", vec![instance("RUNNING", day, 0.042, 300), instance("RUNNING", day, 0.08, 310)]),
            app(
                2,
                "search",
                "STARTED",
                vec![instance("RUNNING", day, 0.5, 900), instance("CRASHED", now - Duration::minutes(2), 0.0, 0)],
            ),
            app(3, "payments-api", "STOPPED", vec![]),
        ] {
            apps.insert(a.name.clone(), a);
        }
        FakeCloudFoundry {
            state: Arc::new(Mutex::new(CfState { apps, max_per_page: 5000, ..CfState::default() })),
            faults: FaultSwitch::default(),
            action_faults: FaultSwitch::default(),
        }
    }

    /// The state, to inspect or change.
    pub fn state(&self) -> MutexGuard<'_, CfState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many requests had this method and a path starting with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.state().requests.iter().filter(|(m, p)| m == method && p.starts_with(prefix)).count()
    }

    /// The router to serve.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v3/apps", get(list_apps))
            .route("/v3/apps/{guid}/processes/web", get(web_process))
            .route("/v3/apps/{guid}/actions/restart", post(restart))
            .route("/v3/processes/{guid}/stats", get(stats))
            .fallback(|| async { not_found("Unknown request") })
            .layer(middleware::from_fn_with_state(self.clone(), record_and_fault))
            .with_state(self.clone())
    }
}

async fn record_and_fault(State(fake): State<FakeCloudFoundry>, req: Request, next: Next) -> Response {
    let uri = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
    let transient = {
        let mut s = fake.state();
        s.requests.push((req.method().to_string(), uri));
        let fail = s.fail_next > 0;
        s.fail_next = s.fail_next.saturating_sub(1);
        fail
    };
    if transient {
        return Fault::ServerError.apply().await.unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if let Some(resp) = fake.faults.get().apply().await {
        return resp;
    }
    next.run(req).await
}

/// A v3 error document.
fn error(status: StatusCode, code: u32, title: &str, detail: &str) -> Response {
    (status, axum::Json(json!({"errors": [{"code": code, "title": title, "detail": detail}]}))).into_response()
}

fn not_found(detail: &str) -> Response {
    error(StatusCode::NOT_FOUND, 10010, "CF-ResourceNotFound", detail)
}

fn app_json(base: &str, a: &FakeApp) -> Value {
    json!({
        "guid": a.guid, "name": a.name, "state": a.state,
        "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-02T10:00:00Z",
        "lifecycle": {"type": "buildpack", "data": {"buildpacks": ["java_buildpack"], "stack": "cflinuxfs4"}},
        "relationships": {"space": {"data": {"guid": a.space}}},
        "metadata": {"labels": {}, "annotations": {}},
        "links": {"self": {"href": format!("{base}/v3/apps/{}", a.guid)}},
    })
}

fn base_url(headers: &HeaderMap) -> String {
    format!("http://{}", headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"))
}

async fn list_apps(
    State(fake): State<FakeCloudFoundry>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let base = base_url(&headers);
    let s = fake.state();
    let names: Option<Vec<&str>> = q.get("names").map(|n| n.split(',').collect());
    let spaces: Option<Vec<&str>> = q.get("space_guids").map(|n| n.split(',').collect());
    let matching: Vec<&FakeApp> = s
        .apps
        .values()
        .filter(|a| names.as_ref().is_none_or(|n| n.contains(&a.name.as_str())))
        .filter(|a| spaces.as_ref().is_none_or(|sp| sp.contains(&a.space.as_str())))
        .collect();
    let per_page = q.get("per_page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(50).clamp(1, s.max_per_page);
    let page = q.get("page").and_then(|p| p.parse::<usize>().ok()).unwrap_or(1).max(1);
    let pages = matching.len().div_ceil(per_page).max(1);
    let link = |p: usize| {
        let mut query = format!("page={p}&per_page={per_page}");
        if let Some(sp) = q.get("space_guids") {
            query.push_str(&format!("&space_guids={sp}"));
        }
        json!({"href": format!("{base}/v3/apps?{query}")})
    };
    let resources: Vec<Value> =
        matching.iter().skip((page - 1) * per_page).take(per_page).map(|a| app_json(&base, a)).collect();
    axum::Json(json!({
        "pagination": {
            "total_results": matching.len(), "total_pages": pages,
            "first": link(1), "last": link(pages),
            "next": if page < pages { link(page + 1) } else { Value::Null },
            "previous": if page > 1 { link(page - 1) } else { Value::Null },
        },
        "resources": resources,
    }))
    .into_response()
}

fn by_guid<'a>(s: &'a mut CfState, guid: &str) -> Option<&'a mut FakeApp> {
    s.apps.values_mut().find(|a| a.guid == guid)
}

async fn web_process(State(fake): State<FakeCloudFoundry>, Path(guid): Path<String>) -> Response {
    let mut s = fake.state();
    let Some(a) = by_guid(&mut s, &guid) else { return not_found("App not found") };
    axum::Json(json!({
        "guid": a.process_guid, "type": "web", "command": "[PRIVATE DATA HIDDEN]",
        "instances": a.instances.len(), "memory_in_mb": a.memory_in_mb, "disk_in_mb": a.disk_in_mb,
        "log_rate_limit_in_bytes_per_second": 1024,
        "health_check": {"type": "port", "data": {"timeout": null, "invocation_timeout": null}},
        "relationships": {"app": {"data": {"guid": a.guid}}, "revision": null},
        "metadata": {"labels": {}, "annotations": {}},
        "created_at": "2024-03-01T10:00:00Z", "updated_at": "2024-03-02T10:00:00Z",
    }))
    .into_response()
}

async fn restart(State(fake): State<FakeCloudFoundry>, Path(guid): Path<String>) -> Response {
    if let Some(resp) = fake.action_faults.get().apply().await {
        return resp;
    }
    let mut s = fake.state();
    let Some(a) = by_guid(&mut s, &guid) else { return not_found("App not found") };
    let now = Utc::now();
    a.state = "STARTED".into();
    for i in &mut a.instances {
        *i = instance("STARTING", now, 0.0, 0);
    }
    a.starting_reads = Some(0);
    let base = "http://127.0.0.1";
    axum::Json(app_json(base, a)).into_response()
}

async fn stats(State(fake): State<FakeCloudFoundry>, Path(guid): Path<String>) -> Response {
    let mut s = fake.state();
    let stuck = s.stuck;
    let Some(a) = s.apps.values_mut().find(|a| a.process_guid == guid) else {
        return not_found("Process not found");
    };
    // Instances come up on the second stats read after a restart.
    if let Some(reads) = a.starting_reads {
        if reads >= 1 && !stuck {
            for i in &mut a.instances {
                i.state = "RUNNING".into();
                i.cpu = 0.12;
                i.mem = 256 * 1024 * 1024;
            }
            a.starting_reads = None;
        } else {
            a.starting_reads = Some(reads + 1);
        }
    }
    let now = Utc::now();
    let resources: Vec<Value> = a
        .instances
        .iter()
        .enumerate()
        .map(|(index, i)| {
            let up = i.state == "RUNNING" || i.state == "STARTING";
            json!({
                "type": "web", "index": index, "state": i.state,
                "host": if up { "10.0.0.7" } else { "" },
                "instance_ports": [],
                "uptime": (now - i.started).num_seconds().max(0),
                "usage": if up { json!({"time": now.to_rfc3339(), "cpu": i.cpu, "mem": i.mem, "disk": i.disk}) } else { json!({}) },
                "mem_quota": if up { json!(a.memory_in_mb * 1024 * 1024) } else { Value::Null },
                "disk_quota": if up { json!(a.disk_in_mb * 1024 * 1024) } else { Value::Null },
                "fds_quota": 16384,
                "isolation_segment": null,
                "details": if i.state == "CRASHED" { json!("APP/PROC/WEB: Exited with status 137 (out of memory)") } else { Value::Null },
            })
        })
        .collect();
    axum::Json(json!({"resources": resources})).into_response()
}
