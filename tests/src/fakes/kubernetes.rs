//! Fake Kubernetes API: Deployments and Pods of namespaces, in the shapes of
//! `apps/v1` and `core/v1`. A strategic merge patch of a deployment (what
//! `kubectl rollout restart` sends) starts a rollout that advances one step
//! per read of the deployment and ends with new pods; every request is recorded.

use super::FaultSwitch;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `GET`, `PATCH`, ...
    pub method: String,
    /// Path and query, exactly as sent.
    pub uri: String,
    /// `Content-Type`, when sent.
    pub content_type: Option<String>,
    /// `Authorization`, when sent.
    pub authorization: Option<String>,
}

/// A patch the fake applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedPatch {
    /// Deployment patched.
    pub deployment: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// The body, parsed.
    pub body: Value,
}

/// One pod.
#[derive(Debug, Clone, PartialEq)]
pub struct FakePod {
    /// Pod name.
    pub name: String,
    /// `Running`, `Pending`, ...
    pub phase: String,
    /// Container ready.
    pub ready: bool,
    /// Container restarts.
    pub restarts: i32,
    /// Why the container last terminated (`OOMKilled`).
    pub last_termination: Option<String>,
    /// Container waiting reason (`CrashLoopBackOff`) instead of running.
    pub waiting: Option<String>,
    /// When the container (and pod) started.
    pub started_at: DateTime<Utc>,
}

/// One deployment and its pods.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeDeployment {
    /// Name (also the `app` label).
    pub name: String,
    /// `spec.replicas`.
    pub replicas: u32,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Pod template annotations.
    pub annotations: BTreeMap<String, String>,
    /// Memory limit of the container (`512Mi`).
    pub mem_limit: String,
    /// Its pods.
    pub pods: Vec<FakePod>,
    /// Rollout step after a restart (`None` when settled).
    pub rollout: Option<u32>,
    /// Restarts so far (names new pods).
    pub restarts_done: u32,
}

/// The fake's whole state.
#[derive(Debug, Default)]
pub struct KubeState {
    /// Deployments by namespace and name.
    pub deployments: BTreeMap<(String, String), FakeDeployment>,
    /// Every request, in order.
    pub requests: Vec<Recorded>,
    /// Every patch, in order.
    pub patches: Vec<RecordedPatch>,
    /// Deployments whose rollouts never finish.
    pub stuck: HashSet<String>,
}

/// The fake Kubernetes API.
#[derive(Clone, Default)]
pub struct FakeKubernetes {
    state: Arc<Mutex<KubeState>>,
    /// Faults to inject.
    pub faults: FaultSwitch,
}

fn pod(name: String, started_at: DateTime<Utc>) -> FakePod {
    FakePod {
        name,
        phase: "Running".into(),
        ready: true,
        restarts: 0,
        last_termination: None,
        waiting: None,
        started_at,
    }
}

fn deployment(name: &str, replicas: u32, mem_limit: &str, now: DateTime<Utc>) -> FakeDeployment {
    FakeDeployment {
        name: name.into(),
        replicas,
        generation: 3,
        observed_generation: 3,
        annotations: BTreeMap::new(),
        mem_limit: mem_limit.into(),
        pods: (0..replicas).map(|i| pod(format!("{name}-7d9f8b6c5-{i}a{i}b"), now - Duration::hours(26))).collect(),
        rollout: None,
        restarts_done: 0,
    }
}

impl FakeKubernetes {
    /// Seeded in namespace `shop`: `latte` (2 healthy pods), `search` (2 pods,
    /// one with 7 restarts, last OOMKilled, not ready), `payments-api` (3 pods).
    pub fn seeded() -> Self {
        let fake = FakeKubernetes::default();
        let now = Utc::now();
        {
            let mut s = fake.state();
            let mut search = deployment("search", 2, "1Gi", now);
            search.pods[1].restarts = 7;
            search.pods[1].last_termination = Some("OOMKilled".into());
            search.pods[1].ready = false;
            search.pods[1].started_at = now - Duration::minutes(3);
            for d in [deployment("latte", 2, "512Mi", now), search, deployment("payments-api", 3, "256Mi", now)] {
                s.deployments.insert(("shop".into(), d.name.clone()), d);
            }
        }
        fake
    }

    /// The state, to inspect or change.
    pub fn state(&self) -> MutexGuard<'_, KubeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One deployment of namespace `shop`, cloned.
    pub fn deployment(&self, name: &str) -> Option<FakeDeployment> {
        self.state().deployments.get(&("shop".to_string(), name.to_string())).cloned()
    }

    /// Rollouts of `name` never finish from now on.
    pub fn stick(&self, name: &str) {
        self.state().stuck.insert(name.to_string());
    }

    /// The router to serve.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/apis/apps/v1/namespaces/{ns}/deployments", get(list_deployments))
            .route("/apis/apps/v1/namespaces/{ns}/deployments/{name}", get(get_deployment).patch(patch_deployment))
            .route("/api/v1/namespaces/{ns}/pods", get(list_pods))
            .fallback(|| async { not_found("the server could not find the requested resource") })
            .layer(middleware::from_fn_with_state(self.clone(), record_and_fault))
            .with_state(self.clone())
    }
}

async fn record_and_fault(State(fake): State<FakeKubernetes>, req: Request, next: Next) -> Response {
    let rec = {
        let text = |name| req.headers().get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).map(String::from);
        Recorded {
            method: req.method().to_string(),
            uri: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
            content_type: text(header::CONTENT_TYPE),
            authorization: text(header::AUTHORIZATION),
        }
    };
    fake.state().requests.push(rec);
    if let Some(resp) = fake.faults.get().apply().await {
        return resp;
    }
    next.run(req).await
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A `Status` object as the API server answers errors.
fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn not_found(message: &str) -> Response {
    status(StatusCode::NOT_FOUND, "NotFound", message)
}

/// (updated, ready, available, total) replicas at the deployment's rollout step.
fn counts(d: &FakeDeployment) -> (u32, u32, u32, u32) {
    let n = d.replicas;
    match d.rollout {
        None => {
            let ready = u32::try_from(d.pods.iter().filter(|p| p.ready).count()).unwrap_or(0);
            (n, ready, ready, n)
        }
        Some(0) => (0, n, n, n),
        // One new pod surges and is not ready yet.
        Some(s) => (s.min(n), n.saturating_sub(1), n.saturating_sub(1), n + 1),
    }
}

fn deployment_json(ns: &str, d: &FakeDeployment) -> Value {
    let (updated, ready, available, total) = counts(d);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": d.name, "namespace": ns, "uid": format!("uid-{}", d.name),
            "generation": d.generation, "labels": {"app": d.name},
        },
        "spec": {
            "replicas": d.replicas,
            "selector": {"matchLabels": {"app": d.name}},
            "template": {
                "metadata": {"labels": {"app": d.name}, "annotations": d.annotations},
                "spec": {"containers": [{"name": d.name, "image": format!("registry.example/{}:1.4.2", d.name)}]},
            },
        },
        "status": {
            "observedGeneration": d.observed_generation,
            "replicas": total, "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": if available >= d.replicas { "True" } else { "False" },
                 "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True",
                 "reason": if d.rollout.is_some() { "ReplicaSetUpdated" } else { "NewReplicaSetAvailable" }},
            ],
        },
    })
}

fn pod_json(ns: &str, d: &FakeDeployment, p: &FakePod) -> Value {
    let started = rfc3339(p.started_at);
    let state = match &p.waiting {
        Some(reason) => json!({"waiting": {"reason": reason, "message": "back-off restarting failed container"}}),
        None => json!({"running": {"startedAt": started}}),
    };
    let last_state = match &p.last_termination {
        Some(reason) => {
            json!({"terminated": {"exitCode": 137, "reason": reason, "startedAt": rfc3339(p.started_at - Duration::hours(1)), "finishedAt": started}})
        }
        None => json!({}),
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": p.name, "namespace": ns, "labels": {"app": d.name, "pod-template-hash": "7d9f8b6c5"},
                     "creationTimestamp": started},
        "spec": {"containers": [{
            "name": d.name, "image": format!("registry.example/{}:1.4.2", d.name),
            "resources": {"limits": {"memory": d.mem_limit, "cpu": "500m"}, "requests": {"memory": "128Mi"}},
        }]},
        "status": {
            "phase": p.phase, "startTime": started,
            "conditions": [{"type": "Ready", "status": if p.ready { "True" } else { "False" }}],
            "containerStatuses": [{
                "name": d.name, "image": format!("registry.example/{}:1.4.2", d.name), "imageID": "sha256:abc",
                "ready": p.ready, "started": true, "restartCount": p.restarts, "state": state, "lastState": last_state,
            }],
        },
    })
}

async fn list_deployments(State(fake): State<FakeKubernetes>, Path(ns): Path<String>) -> Response {
    let s = fake.state();
    let items: Vec<Value> =
        s.deployments.iter().filter(|((n, _), _)| *n == ns).map(|((n, _), d)| deployment_json(n, d)).collect();
    axum::Json(json!({"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": {"resourceVersion": "4711"}, "items": items}))
        .into_response()
}

async fn get_deployment(State(fake): State<FakeKubernetes>, Path((ns, name)): Path<(String, String)>) -> Response {
    let mut s = fake.state();
    let stuck = s.stuck.contains(&name);
    let Some(d) = s.deployments.get_mut(&(ns.clone(), name.clone())) else {
        return not_found(&format!("deployments.apps \"{name}\" not found"));
    };
    // Each read of a rolling deployment moves the rollout one step on.
    if let Some(step) = d.rollout {
        d.observed_generation = d.generation;
        if stuck {
            d.rollout = Some(1);
        } else if step >= d.replicas {
            d.restarts_done += 1;
            let now = Utc::now();
            d.pods = (0..d.replicas)
                .map(|i| pod(format!("{}-{}f{}c-{i}x{i}", d.name, d.restarts_done, d.generation), now))
                .collect();
            d.rollout = None;
        } else {
            d.rollout = Some(step + 1);
        }
    }
    axum::Json(deployment_json(&ns, d)).into_response()
}

async fn patch_deployment(
    State(fake): State<FakeKubernetes>,
    Path((ns, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if content_type != "application/strategic-merge-patch+json" {
        return status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "unsupported patch type");
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return status(StatusCode::BAD_REQUEST, "BadRequest", "patch is not JSON");
    };
    let mut s = fake.state();
    s.patches.push(RecordedPatch { deployment: name.clone(), content_type, body: patch.clone() });
    let Some(d) = s.deployments.get_mut(&(ns.clone(), name.clone())) else {
        return not_found(&format!("deployments.apps \"{name}\" not found"));
    };
    let annotations = patch.pointer("/spec/template/metadata/annotations").and_then(Value::as_object);
    let mut changed = false;
    for (k, v) in annotations.into_iter().flatten() {
        let v = v.as_str().unwrap_or_default().to_string();
        changed |= d.annotations.get(k) != Some(&v);
        d.annotations.insert(k.clone(), v);
    }
    if changed {
        d.generation += 1;
        d.rollout = Some(0);
    }
    axum::Json(deployment_json(&ns, d)).into_response()
}

async fn list_pods(
    State(fake): State<FakeKubernetes>,
    Path(ns): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
) -> Response {
    debug_assert_eq!(method, Method::GET);
    let selector: Vec<(String, String)> = q
        .get("labelSelector")
        .map(|s| s.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect())
        .unwrap_or_default();
    let s = fake.state();
    let items: Vec<Value> = s
        .deployments
        .iter()
        .filter(|((n, d), _)| *n == ns && selector.iter().all(|(k, v)| k == "app" && v == d))
        .flat_map(|((n, _), d)| d.pods.iter().map(move |p| pod_json(n, d, p)))
        .collect();
    axum::Json(json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "4712"}, "items": items}))
        .into_response()
}
