//! A stateful fake of the Telegram Bot API on loopback.
//!
//! Methods arrive as `POST /bot<token>/<method>` (matched case-insensitively) with a
//! JSON or multipart body and answer `{"ok":true,"result":...}` with Message objects
//! shaped like Telegram's. `getUpdates` honours `offset` (updates below it are
//! confirmed and dropped) and `timeout` (it waits for news). Like Telegram, it checks
//! the HTML of `parse_mode = "HTML"` texts (known tags, nesting, entities) and the
//! 4096-character limit, so a renderer mistake fails a test instead of passing silently.
//! Tests inject user messages, group messages and button clicks, and read what the
//! bot sent.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// The fake bot's user id.
pub const BOT_ID: i64 = 4242;
/// The fake bot's username.
pub const BOT_USERNAME: &str = "pipilu_bot";
/// The first update id handed out.
pub const FIRST_UPDATE_ID: i64 = 1000;
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A file uploaded in a multipart call.
#[derive(Debug, Clone)]
pub struct Upload {
    /// Form field (`photo`, `document`).
    pub field: String,
    /// File name given.
    pub file_name: Option<String>,
    /// Content.
    pub bytes: Vec<u8>,
}

/// One call the bot made (everything but `getUpdates` and `getMe`).
#[derive(Debug, Clone)]
pub struct Call {
    /// Method, lower-case (`sendmessage`, `editmessagetext`, ...).
    pub method: String,
    /// Parameters (multipart text fields as strings, JSON-looking ones parsed).
    pub params: Map<String, Value>,
    /// Uploaded files.
    pub files: Vec<Upload>,
    /// `None` when answered ok, else Telegram's error description.
    pub error: Option<String>,
    /// Id of the message sent or edited.
    pub message_id: Option<i64>,
}

impl Call {
    /// The `chat_id` parameter.
    pub fn chat_id(&self) -> Option<i64> {
        as_i64(self.params.get("chat_id")?)
    }

    /// A string parameter.
    pub fn str(&self, key: &str) -> &str {
        self.params.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// The text (`text`, else `caption`).
    pub fn text(&self) -> &str {
        let t = self.str("text");
        if t.is_empty() { self.str("caption") } else { t }
    }

    /// The file uploaded as `field` (directly or through `attach://`).
    pub fn file(&self, field: &str) -> Option<&Upload> {
        let wanted = self.str(field).strip_prefix("attach://").unwrap_or(field).to_string();
        self.files.iter().find(|f| f.field == wanted)
    }

    /// The inline keyboard's buttons as (label, callback data).
    pub fn buttons(&self) -> Vec<(String, String)> {
        let Some(rows) =
            self.params.get("reply_markup").and_then(|m| m.get("inline_keyboard")).and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .map(|b| {
                let s = |k: &str| b.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (s("text"), s("callback_data"))
            })
            .collect()
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

#[derive(Debug)]
struct St {
    token: String,
    next_update: i64,
    updates: VecDeque<Value>,
    next_message: i64,
    chats: HashMap<i64, Value>,
    /// Texts of messages, for edits.
    texts: HashMap<(i64, i64), String>,
    calls: Vec<Call>,
    polls: usize,
}

/// The fake; clones share state.
#[derive(Debug, Clone)]
pub struct TelegramFake {
    state: Arc<Mutex<St>>,
    news: Arc<Notify>,
    /// Woken (`notify_waiters`) each time a call of the bot is recorded.
    recorded: Arc<Notify>,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn user_json(id: i64, name: &str) -> Value {
    json!({"id": id, "is_bot": false, "first_name": name, "username": name.to_lowercase()})
}

fn bot_json() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "pipilu", "username": BOT_USERNAME})
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn fail(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (status, axum::Json(json!({"ok": false, "error_code": code, "description": description}))).into_response()
}

/// Telegram's HTML check: known tags, properly nested, known entities; returns the visible text.
pub fn check_html(html: &str) -> Result<String, String> {
    let mut visible = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("Unclosed start tag")?;
                let tag = &rest[1..end];
                let (closing, name) = match tag.strip_prefix('/') {
                    Some(n) => (true, n),
                    None => (false, tag),
                };
                if !["b", "i", "u", "s", "code", "pre"].contains(&name) {
                    return Err(format!("Unsupported start tag \"{name}\""));
                }
                if closing {
                    if open.pop().as_deref() != Some(name) {
                        return Err(format!("Unexpected end tag \"{name}\""));
                    }
                } else {
                    open.push(name.to_string());
                }
                rest = &rest[end + 1..];
            }
            '&' => {
                let end = rest.find(';').filter(|e| *e <= 6).ok_or("Character entity expected")?;
                let ch = match &rest[1..end] {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    other => return Err(format!("Unsupported HTML entity \"&{other};\"")),
                };
                visible.push(ch);
                rest = &rest[end + 1..];
            }
            '>' => return Err("Unexpected '>'".into()),
            c => {
                visible.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(t) = open.pop() {
        return Err(format!("Can't find end tag corresponding to start tag \"{t}\""));
    }
    Ok(visible)
}

impl Default for TelegramFake {
    fn default() -> Self {
        TelegramFake::new("123456:TEST-token")
    }
}

impl TelegramFake {
    /// A fake accepting `token`, with no updates queued.
    pub fn new(token: &str) -> Self {
        TelegramFake {
            state: Arc::new(Mutex::new(St {
                token: token.to_string(),
                next_update: FIRST_UPDATE_ID,
                updates: VecDeque::new(),
                next_message: 1,
                chats: HashMap::new(),
                texts: HashMap::new(),
                calls: Vec::new(),
                polls: 0,
            })),
            news: Arc::new(Notify::new()),
            recorded: Arc::new(Notify::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, St> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token it accepts.
    pub fn token(&self) -> String {
        self.lock().token.clone()
    }

    /// The axum router.
    pub fn router(&self) -> Router {
        Router::new().route("/{bot}/{method}", any(call)).with_state(self.clone())
    }

    /// Queues an update of any kind (`{"message": ...}`, `{"edited_message": ...}`); returns its id.
    pub fn push_update(&self, mut kind: Value) -> i64 {
        let id = {
            let mut s = self.lock();
            let id = s.next_update;
            s.next_update += 1;
            if let Some(o) = kind.as_object_mut() {
                o.insert("update_id".into(), json!(id));
            }
            s.updates.push_back(kind);
            id
        };
        self.news.notify_waiters();
        id
    }

    fn new_message(&self, chat: Value, from: Value, text: &str, extra: Option<(&str, Value)>) -> Value {
        let mut s = self.lock();
        let id = s.next_message;
        s.next_message += 1;
        let chat_id = chat["id"].as_i64().unwrap_or(0);
        s.chats.insert(chat_id, chat.clone());
        s.texts.insert((chat_id, id), text.to_string());
        let mut m = json!({"message_id": id, "date": now(), "chat": chat, "from": from, "text": text});
        if let (Some((k, v)), Some(o)) = (extra, m.as_object_mut()) {
            o.insert(k.into(), v);
        }
        m
    }

    /// A private message from user `user_id` (the chat id is the user id); returns the update id.
    pub fn private_message(&self, user_id: i64, name: &str, text: &str) -> i64 {
        let chat = json!({"id": user_id, "type": "private", "first_name": name});
        let m = self.new_message(chat, user_json(user_id, name), text, None);
        self.push_update(json!({"message": m}))
    }

    /// A message in group `chat_id` from `user_id`; `reply_to` makes it a reply to that message of the bot.
    pub fn group_message(&self, chat_id: i64, user_id: i64, name: &str, text: &str, reply_to: Option<i64>) -> i64 {
        let chat = json!({"id": chat_id, "type": "supergroup", "title": "ops"});
        let extra = reply_to.map(|id| {
            let original =
                json!({"message_id": id, "date": now(), "chat": chat.clone(), "from": bot_json(), "text": "…"});
            ("reply_to_message", original)
        });
        let m = self.new_message(chat, user_json(user_id, name), text, extra);
        self.push_update(json!({"message": m}))
    }

    /// A click by `user_id` on a button with `data` under the bot's message `message_id` in `chat_id`.
    pub fn click(&self, chat_id: i64, user_id: i64, name: &str, message_id: i64, data: &str) -> i64 {
        let (chat, text) = {
            let s = self.lock();
            let chat = s.chats.get(&chat_id).cloned().unwrap_or_else(|| json!({"id": chat_id, "type": "private"}));
            (chat, s.texts.get(&(chat_id, message_id)).cloned().unwrap_or_default())
        };
        let message = json!({"message_id": message_id, "date": now(), "chat": chat, "from": bot_json(), "text": text});
        let q = json!({
            "id": format!("cb{message_id}-{user_id}-{}", now()),
            "from": user_json(user_id, name),
            "message": message,
            "chat_instance": "ci1",
            "data": data,
        });
        self.push_update(json!({"callback_query": q}))
    }

    /// Every call the bot made so far (but `getUpdates` and `getMe`).
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Notified each time a call of the bot is recorded (see [`TelegramFake::calls`]),
    /// so a waiter can sleep until the next one instead of polling.
    pub fn recorded(&self) -> Arc<Notify> {
        self.recorded.clone()
    }

    /// The calls made after the first `from` (cheaper than [`TelegramFake::calls`] when many were made).
    pub fn calls_since(&self, from: usize) -> Vec<Call> {
        self.lock().calls.get(from..).map(<[Call]>::to_vec).unwrap_or_default()
    }

    /// Calls of one method (lower-case name).
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == method).collect()
    }

    /// How many `getUpdates` calls arrived.
    pub fn polls(&self) -> usize {
        self.lock().polls
    }

    /// Updates still queued (not confirmed by an offset).
    pub fn queued(&self) -> usize {
        self.lock().updates.len()
    }

    /// Waits until `pred` holds for the calls made, or `timeout` passes; returns the calls then.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let calls = self.calls();
            if pred(&calls) || tokio::time::Instant::now() >= deadline {
                return calls;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn get_updates(&self, p: &Map<String, Value>) -> Option<Vec<Value>> {
        let mut s = self.lock();
        s.polls += 1;
        if let Some(offset) = p.get("offset").and_then(as_i64).filter(|o| *o > 0) {
            s.updates.retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= offset));
        }
        let limit = p.get("limit").and_then(as_i64).filter(|l| (1..=100).contains(l)).unwrap_or(100) as usize;
        (!s.updates.is_empty()).then(|| s.updates.iter().take(limit).cloned().collect())
    }

    fn sent_message(&self, chat_id: i64, text: &str, extra: Map<String, Value>) -> Value {
        let mut s = self.lock();
        let id = s.next_message;
        s.next_message += 1;
        s.texts.insert((chat_id, id), text.to_string());
        let chat = s.chats.get(&chat_id).cloned().unwrap_or_else(|| json!({"id": chat_id, "type": "private"}));
        let mut m = json!({"message_id": id, "date": now(), "chat": chat, "from": bot_json()});
        if let Some(o) = m.as_object_mut() {
            o.extend(extra);
        }
        m
    }

    fn record(&self, method: &str, params: Map<String, Value>, files: Vec<Upload>, result: &Result<Value, String>) {
        let message_id = result.as_ref().ok().and_then(|r| r.get("message_id")).and_then(Value::as_i64);
        let error = result.as_ref().err().cloned();
        self.lock().calls.push(Call { method: method.to_string(), params, files, error, message_id });
        self.recorded.notify_waiters();
    }

    /// Answers one method call (after the token and body were read).
    fn answer(&self, method: &str, p: &Map<String, Value>, files: &[Upload]) -> Result<Value, String> {
        let chat_id = p.get("chat_id").and_then(as_i64);
        let str_of = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let html = str_of("parse_mode").eq_ignore_ascii_case("html");
        let check_text = |text: &str, limit: usize| -> Result<(), String> {
            let visible = if html {
                check_html(text).map_err(|e| format!("Bad Request: can't parse entities: {e}"))?
            } else {
                text.to_string()
            };
            if visible.encode_utf16().count() > limit {
                return Err(if limit == 4096 {
                    "Bad Request: message is too long".into()
                } else {
                    "Bad Request: message caption is too long".into()
                });
            }
            Ok(())
        };
        let markup = |extra: &mut Map<String, Value>| {
            if let Some(m) = p.get("reply_markup").filter(|m| m.is_object()) {
                extra.insert("reply_markup".into(), m.clone());
            }
        };
        match method {
            "sendmessage" => {
                let chat = chat_id.ok_or("Bad Request: chat_id is empty")?;
                let text = str_of("text");
                if text.trim().is_empty() {
                    return Err("Bad Request: message text is empty".into());
                }
                check_text(&text, 4096)?;
                let mut extra = Map::new();
                extra.insert("text".into(), json!(text));
                markup(&mut extra);
                Ok(self.sent_message(chat, &text, extra))
            }
            "editmessagetext" => {
                let chat = chat_id.ok_or("Bad Request: chat_id is empty")?;
                let id = p.get("message_id").and_then(as_i64).ok_or("Bad Request: message_id is empty")?;
                let text = str_of("text");
                check_text(&text, 4096)?;
                let mut s = self.lock();
                let old = s.texts.get_mut(&(chat, id)).ok_or("Bad Request: message to edit not found")?;
                if *old == text {
                    return Err("Bad Request: message is not modified".into());
                }
                *old = text.clone();
                let chat_json = s.chats.get(&chat).cloned().unwrap_or_else(|| json!({"id": chat, "type": "private"}));
                Ok(
                    json!({"message_id": id, "date": now(), "edit_date": now(), "chat": chat_json, "from": bot_json(), "text": text}),
                )
            }
            "sendphoto" | "senddocument" => {
                let chat = chat_id.ok_or("Bad Request: chat_id is empty")?;
                let field = if method == "sendphoto" { "photo" } else { "document" };
                // teloxide (like Telegram's docs) may send the file under another name, pointed at by `attach://name`.
                let attached = str_of(field);
                let wanted = attached.strip_prefix("attach://").unwrap_or(field);
                let file =
                    files.iter().find(|f| f.field == wanted).ok_or("Bad Request: there is no file in the request")?;
                let caption = str_of("caption");
                check_text(&caption, 1024)?;
                let size = file.bytes.len();
                let mut extra = Map::new();
                if method == "sendphoto" {
                    if !file.bytes.starts_with(PNG_SIGNATURE) {
                        return Err("Bad Request: IMAGE_PROCESS_FAILED".into());
                    }
                    extra.insert(
                        "photo".into(),
                        json!([{"file_id": "ph1", "file_unique_id": "uph1", "width": 640, "height": 320, "file_size": size}]),
                    );
                } else {
                    extra.insert(
                        "document".into(),
                        json!({"file_id": "doc1", "file_unique_id": "udoc1", "file_name": file.file_name, "file_size": size}),
                    );
                }
                if !caption.is_empty() {
                    extra.insert("caption".into(), json!(caption));
                }
                markup(&mut extra);
                Ok(self.sent_message(chat, "", extra))
            }
            "answercallbackquery" => {
                if str_of("callback_query_id").is_empty() {
                    return Err(
                        "Bad Request: query is too old and response timeout expired or query ID is invalid".into()
                    );
                }
                Ok(json!(true))
            }
            "sendchataction" => Ok(json!(true)),
            "setwebhook" => {
                let url = str_of("url");
                if !url.starts_with("https://") {
                    return Err("Bad Request: bad webhook: An HTTPS URL must be provided for webhook".into());
                }
                let secret = str_of("secret_token");
                if !secret.is_empty()
                    && (secret.len() > 256
                        || !secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
                {
                    return Err("Bad Request: secret token contains unallowed characters".into());
                }
                Ok(json!(true))
            }
            other => Err(format!("Not Found: method {other} is not faked")),
        }
    }
}

/// Reads a JSON or multipart body into parameters and files.
async fn read_body(req: Request) -> Result<(Map<String, Value>, Vec<Upload>), String> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let body = Bytes::from_request(req, &()).await.map_err(|e| e.to_string())?;
        if body.is_empty() {
            return Ok((Map::new(), Vec::new()));
        }
        return match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => Ok((m, Vec::new())),
            _ => Err("Bad Request: body is not a JSON object".into()),
        };
    }
    let mut form = Multipart::from_request(req, &()).await.map_err(|e| e.to_string())?;
    let (mut params, mut files) = (Map::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(String::from);
        let bytes = field.bytes().await.map_err(|e| e.to_string())?;
        if file_name.is_some() {
            files.push(Upload { field: name, file_name, bytes: bytes.to_vec() });
        } else {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let value = match serde_json::from_str::<Value>(&text) {
                Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
                _ => Value::String(text),
            };
            params.insert(name, value);
        }
    }
    Ok((params, files))
}

async fn call(State(fake): State<TelegramFake>, Path((bot, method)): Path<(String, String)>, req: Request) -> Response {
    if bot.strip_prefix("bot") != Some(fake.token().as_str()) {
        return fail(401, "Unauthorized");
    }
    let method = method.to_ascii_lowercase();
    let (params, files) = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return fail(400, &e),
    };
    match method.as_str() {
        "getme" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "pipilu", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false
        })),
        "getupdates" => {
            let timeout = params.get("timeout").and_then(as_i64).unwrap_or(0).clamp(0, 50);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout as u64);
            loop {
                let notified = fake.news.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(updates) = fake.get_updates(&params) {
                    return ok(Value::Array(updates));
                }
                if tokio::time::timeout_at(deadline, notified).await.is_err() {
                    return ok(json!([]));
                }
            }
        }
        m => {
            let result = fake.answer(m, &params, &files);
            fake.record(m, params, files, &result);
            match result {
                Ok(v) => ok(v),
                Err(e) if e.starts_with("Not Found") => fail(404, &e),
                Err(e) => fail(400, &e),
            }
        }
    }
}
