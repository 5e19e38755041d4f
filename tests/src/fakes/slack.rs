//! A stateful fake of Slack on loopback: the Web API methods pipilu calls
//! (`/api/<method>`, form, query or JSON bodies, bearer tokens checked), the
//! upload URL of the three-step file upload, and a Socket Mode WebSocket that
//! can push envelopes and records their acknowledgements. It records every
//! message posted or updated, can answer one method with 429 and `Retry-After`,
//! and has helpers to sign and POST events to an Events API endpoint.

use crate::fakes::{Served, serve};
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// The bot token the fake accepts for Web API calls.
pub const BOT_TOKEN: &str = "xoxb-fake-bot";
/// The app token the fake accepts for `apps.connections.open`.
pub const APP_TOKEN: &str = "xapp-fake-app";
/// The bot's user id (`auth.test`).
pub const BOT_USER: &str = "UBOT";

/// A message posted, posted ephemerally or updated.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `chat.postMessage`, `chat.postEphemeral` or `chat.update`.
    pub method: String,
    /// Channel.
    pub channel: String,
    /// Thread it went to.
    pub thread_ts: Option<String>,
    /// The message's ts (for an update: the message updated).
    pub ts: String,
    /// For ephemeral messages: who sees it.
    pub user: Option<String>,
    /// Fallback text.
    pub text: String,
    /// Block Kit blocks, as sent (`Null` when none).
    pub blocks: Value,
}

/// A file of the three-step upload.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    /// Name given to `files.getUploadURLExternal`.
    pub filename: String,
    /// Length announced.
    pub length: usize,
    /// Bytes POSTed to the upload URL.
    pub bytes: Option<Vec<u8>>,
    /// Channel and thread given to `files.completeUploadExternal`.
    pub shared_to: Option<(String, Option<String>)>,
}

/// Everything the fake saw and holds.
#[derive(Debug, Default)]
pub struct SlackState {
    base: String,
    next_ts: u64,
    /// Web API methods called, in order (429s included).
    pub calls: Vec<String>,
    /// Messages, in order.
    pub messages: Vec<Posted>,
    /// Uploads by file id.
    pub uploads: HashMap<String, Upload>,
    /// User group members.
    pub groups: HashMap<String, Vec<String>>,
    /// Answer the next call of this method 429 with this Retry-After (seconds).
    pub rate_limit_once: Option<(String, u64)>,
    /// When the 429 was sent and when the same method next succeeded.
    pub rate_limited: Vec<(String, Instant)>,
    /// When each successful call was answered.
    pub answered: Vec<(String, Instant)>,
    /// Envelope ids acknowledged over the WebSocket.
    pub acks: Vec<String>,
    /// WebSocket connections made.
    pub connections: usize,
    sockets: Vec<mpsc::UnboundedSender<String>>,
    /// Woken (`notify_waiters`) each time a message is recorded.
    recorded: Arc<Notify>,
}

/// The fake, served.
pub struct SlackFake {
    /// State, shared with the handlers.
    pub state: Arc<Mutex<SlackState>>,
    served: Served,
}

fn lock(s: &Mutex<SlackState>) -> MutexGuard<'_, SlackState> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SlackFake {
    /// Starts the fake on 127.0.0.1.
    pub async fn start() -> SlackFake {
        let state = Arc::new(Mutex::new(SlackState { next_ts: 1_700_000_000, ..SlackState::default() }));
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/upload/{file}", post(upload))
            .route("/socket", get(socket))
            .with_state(state.clone());
        let served = serve(router).await;
        lock(&state).base = served.url();
        SlackFake { state, served }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.served.url()
    }

    /// The Web API base for pipilu's `[slack] api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api/", self.served.url())
    }

    /// Locks the state.
    pub fn state(&self) -> MutexGuard<'_, SlackState> {
        lock(&self.state)
    }

    /// Notified each time a message is posted, posted ephemerally or updated, so a
    /// waiter can sleep until the next one instead of polling.
    pub fn recorded(&self) -> Arc<Notify> {
        self.state().recorded.clone()
    }

    /// Messages of one method.
    pub fn messages(&self, method: &str) -> Vec<Posted> {
        self.state().messages.iter().filter(|m| m.method == method).cloned().collect()
    }

    /// Waits up to `timeout` for `cond` on the state.
    pub async fn wait_for(&self, timeout: Duration, cond: impl Fn(&SlackState) -> bool) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if cond(&self.state()) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Pushes a Socket Mode envelope to the newest connection; false when none is open.
    pub fn push(&self, envelope: &Value) -> bool {
        let mut s = self.state();
        s.sockets.retain(|t| !t.is_closed());
        s.sockets.last().is_some_and(|t| t.send(envelope.to_string()).is_ok())
    }
}

fn params(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut add_form = |text: &[u8]| {
        if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(text) {
            for (k, v) in pairs {
                out.insert(k, Value::String(v));
            }
        }
    };
    if let Some(q) = query {
        add_form(q.as_bytes());
    }
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct.starts_with("application/json") {
        if let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(body) {
            out.extend(m);
        }
    } else {
        add_form(body);
    }
    out
}

fn ok(v: Value) -> Response {
    let mut v = v;
    v["ok"] = json!(true);
    axum::Json(v).into_response()
}

fn err(e: &str) -> Response {
    axum::Json(json!({"ok": false, "error": e})).into_response()
}

fn str_of(p: &Map<String, Value>, k: &str) -> Option<String> {
    match p.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A parameter that is JSON, sent either as JSON or as a JSON string in a form.
fn json_of(p: &Map<String, Value>, k: &str) -> Value {
    match p.get(k) {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

async fn api(
    State(state): State<Arc<Mutex<SlackState>>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = params(&headers, query.as_deref(), &body);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| str_of(&p, "token"));
    let want = if method == "apps.connections.open" { APP_TOKEN } else { BOT_TOKEN };
    let mut s = lock(&state);
    s.calls.push(method.clone());
    if bearer.as_deref() != Some(want) {
        return err("invalid_auth");
    }
    if let Some((m, secs)) = s.rate_limit_once.clone()
        && m == method
    {
        s.rate_limit_once = None;
        s.rate_limited.push((method.clone(), Instant::now()));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, secs.to_string()), (header::CONTENT_TYPE, "application/json".into())],
            json!({"ok": false, "error": "ratelimited"}).to_string(),
        )
            .into_response();
    }
    s.answered.push((method.clone(), Instant::now()));
    let channel = str_of(&p, "channel").or_else(|| str_of(&p, "channel_id")).unwrap_or_default();
    let thread_ts = str_of(&p, "thread_ts");
    let text = str_of(&p, "text").unwrap_or_default();
    let blocks = json_of(&p, "blocks");
    match method.as_str() {
        "auth.test" => ok(json!({"url": "https://fake.slack.com/", "team": "Fake", "user": "pipilu",
            "team_id": "T1", "user_id": BOT_USER, "bot_id": "B1"})),
        "chat.postMessage" | "chat.postEphemeral" => {
            if channel.is_empty() {
                return err("channel_not_found");
            }
            s.next_ts += 1;
            let ts = format!("{}.000100", s.next_ts);
            s.messages.push(Posted {
                method: method.clone(),
                channel: channel.clone(),
                thread_ts,
                ts: ts.clone(),
                user: str_of(&p, "user"),
                text: text.clone(),
                blocks,
            });
            s.recorded.notify_waiters();
            if method == "chat.postEphemeral" {
                ok(json!({"message_ts": ts}))
            } else {
                ok(json!({"channel": channel, "ts": ts, "message": {"type": "message", "text": text, "ts": ts}}))
            }
        }
        "chat.update" => {
            let ts = str_of(&p, "ts").unwrap_or_default();
            if !s.messages.iter().any(|m| m.ts == ts && m.channel == channel) {
                return err("message_not_found");
            }
            s.messages.push(Posted {
                method: method.clone(),
                channel: channel.clone(),
                thread_ts: None,
                ts: ts.clone(),
                user: None,
                text: text.clone(),
                blocks,
            });
            s.recorded.notify_waiters();
            ok(json!({"channel": channel, "ts": ts, "text": text, "message": {"text": text}}))
        }
        "files.getUploadURLExternal" => {
            let length = str_of(&p, "length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let Some(filename) = str_of(&p, "filename").filter(|_| length > 0) else {
                return err("invalid_arguments");
            };
            let id = format!("F{}", s.uploads.len() + 1);
            s.uploads.insert(id.clone(), Upload { filename, length, ..Upload::default() });
            let url = format!("{}/upload/{id}", s.base);
            ok(json!({"upload_url": url, "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let files = json_of(&p, "files");
            let mut done = Vec::new();
            for f in files.as_array().cloned().unwrap_or_default() {
                let id = f.get("id").and_then(Value::as_str).unwrap_or("").to_string();
                match s.uploads.get_mut(&id) {
                    Some(u) if u.bytes.is_some() => {
                        u.shared_to = (!channel.is_empty()).then(|| (channel.clone(), thread_ts.clone()));
                        done.push(json!({"id": id, "title": f.get("title").cloned().unwrap_or(Value::Null)}));
                    }
                    _ => return err("file_not_found"),
                }
            }
            if done.is_empty() {
                return err("invalid_arguments");
            }
            ok(json!({"files": done}))
        }
        "apps.connections.open" => {
            let ws = s.base.replacen("http://", "ws://", 1);
            ok(json!({"url": format!("{ws}/socket")}))
        }
        "usergroups.users.list" => {
            let g = str_of(&p, "usergroup").unwrap_or_default();
            match s.groups.get(&g) {
                Some(users) => ok(json!({"users": users})),
                None => err("no_such_subteam"),
            }
        }
        _ => err("unknown_method"),
    }
}

async fn upload(State(state): State<Arc<Mutex<SlackState>>>, Path(file): Path<String>, body: Bytes) -> Response {
    let mut s = lock(&state);
    let Some(u) = s.uploads.get_mut(&file) else {
        return (StatusCode::NOT_FOUND, "no such upload").into_response();
    };
    if !body.starts_with(b"\x89PNG\r\n\x1a\n") || body.len() != u.length {
        return (StatusCode::BAD_REQUEST, "not the PNG announced").into_response();
    }
    u.bytes = Some(body.to_vec());
    (StatusCode::OK, format!("OK - {}", body.len())).into_response()
}

async fn socket(State(state): State<Arc<Mutex<SlackState>>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |sock| run_socket(state, sock))
}

async fn run_socket(state: Arc<Mutex<SlackState>>, mut sock: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    {
        let mut s = lock(&state);
        s.connections += 1;
        s.sockets.push(tx);
    }
    let hello = json!({"type": "hello", "num_connections": 1,
        "debug_info": {"host": "fake", "approximate_connection_time": 3600}, "connection_info": {"app_id": "A1"}});
    if sock.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => if sock.send(Message::Text(text.into())).await.is_err() { return },
                None => return,
            },
            inc = sock.recv() => match inc {
                Some(Ok(Message::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                        && let Some(id) = v.get("envelope_id").and_then(Value::as_str)
                    {
                        lock(&state).acks.push(id.to_string());
                    }
                }
                Some(Ok(Message::Ping(p))) => if sock.send(Message::Pong(p)).await.is_err() { return },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// An `events_api` envelope around an `event_callback`.
pub fn events_envelope(envelope_id: &str, callback: &Value) -> Value {
    json!({"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": false,
        "retry_attempt": 0, "retry_reason": "", "payload": callback})
}

/// An `interactive` envelope.
pub fn interactive_envelope(envelope_id: &str, payload: &Value) -> Value {
    json!({"envelope_id": envelope_id, "type": "interactive", "accepts_response_payload": false, "payload": payload})
}

/// An `event_callback` body.
pub fn event_callback(event_id: &str, event: Value) -> Value {
    json!({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "event": event, "type": "event_callback",
        "event_id": event_id, "event_time": 1_700_000_000,
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": true}]})
}

/// An `app_mention` of the bot.
pub fn app_mention(user: &str, channel: &str, ts: &str, thread_ts: Option<&str>, text: &str) -> Value {
    let mut e = json!({"type": "app_mention", "user": user, "channel": channel, "ts": ts, "event_ts": ts,
        "text": format!("<@{BOT_USER}> {text}")});
    if let Some(t) = thread_ts {
        e["thread_ts"] = json!(t);
    }
    e
}

/// A direct message to the bot.
pub fn direct_message(user: &str, channel: &str, ts: &str, text: &str) -> Value {
    json!({"type": "message", "channel_type": "im", "user": user, "channel": channel, "ts": ts, "event_ts": ts,
        "text": text})
}

/// A `block_actions` payload: `user` clicked the button `action_id` with `value` on message `message_ts`.
pub fn block_actions(
    user: &str,
    channel: &str,
    message_ts: &str,
    thread_ts: Option<&str>,
    action_id: &str,
    value: &str,
) -> Value {
    let mut message = json!({"type": "message", "ts": message_ts, "text": "card", "user": BOT_USER});
    if let Some(t) = thread_ts {
        message["thread_ts"] = json!(t);
    }
    json!({"type": "block_actions", "team": {"id": "T1", "domain": "fake"}, "user": {"id": user, "team_id": "T1"},
        "api_app_id": "A1", "trigger_id": "1.2.3",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": false},
        "channel": {"id": channel, "name": "ops"}, "message": message,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b1", "value": value,
            "action_ts": "1700000001.000"}]})
}

/// `X-Slack-Signature` for a body at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// How to sign a request sent to an Events API endpoint.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The secret to sign with.
    pub secret: String,
    /// The timestamp to claim (Unix seconds).
    pub timestamp: i64,
    /// `X-Slack-Retry-Num`, for retries.
    pub retry: Option<u32>,
}

impl Signing {
    /// Signed now with `secret`.
    pub fn now(secret: &str) -> Self {
        Signing { secret: secret.into(), timestamp: chrono::Utc::now().timestamp(), retry: None }
    }
}

/// POSTs a signed body to `url`; returns the status and body.
pub async fn post_signed(url: &str, body: &[u8], content_type: &str, sign: &Signing) -> (u16, String) {
    let client = reqwest::Client::new();
    let mut req = client
        .post(url)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", sign.timestamp.to_string())
        .header("x-slack-signature", signature(&sign.secret, sign.timestamp, body))
        .body(body.to_vec());
    if let Some(n) = sign.retry {
        req = req.header("x-slack-retry-num", n.to_string()).header("x-slack-retry-reason", "http_timeout");
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

/// POSTs a signed JSON event body.
pub async fn post_event(url: &str, body: &Value, sign: &Signing) -> (u16, String) {
    post_signed(url, body.to_string().as_bytes(), "application/json", sign).await
}

/// POSTs a signed interactivity payload (`payload=` form field).
pub async fn post_interaction(url: &str, payload: &Value, sign: &Signing) -> (u16, String) {
    let form = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
    post_signed(url, form.as_bytes(), "application/x-www-form-urlencoded", sign).await
}

/// POSTs a signed slash command.
pub async fn post_command(url: &str, user: &str, channel: &str, text: &str, sign: &Signing) -> (u16, String) {
    let form = serde_urlencoded::to_string([
        ("command", "/pipilu"),
        ("text", text),
        ("user_id", user),
        ("channel_id", channel),
        ("team_id", "T1"),
        ("trigger_id", "1.2.3"),
    ])
    .unwrap_or_default();
    post_signed(url, form.as_bytes(), "application/x-www-form-urlencoded", sign).await
}
