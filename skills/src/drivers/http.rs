//! The HTTP client every driver uses. Reads are retried a bounded number of
//! times with exponential backoff on connection errors, timeouts, 429 and 5xx;
//! changes (a restart) are sent once, because a change that may have happened
//! must not happen twice. Every failure becomes a [`BackendError`] that says which
//! backend, which call and why, in words an on-call engineer can act on.

use crate::backends::BackendError;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Most bytes of an error body quoted in a message.
const BODY_QUOTE: usize = 200;

/// Where a backend is and how patient to be with it (a `[backends.*]` table).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// Base URL, e.g. `https://prometheus.example.com:9090`.
    pub url: String,
    /// Seconds before one call gives up.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Retries of a failed read (0 = try once).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Accept self-signed certificates (lab setups; off by default).
    #[serde(default)]
    pub insecure_tls: bool,
}

fn default_timeout() -> f64 {
    10.0
}

fn default_retries() -> u32 {
    2
}

impl Endpoint {
    /// An endpoint at `url` with default timeout and retries.
    pub fn new(url: impl Into<String>) -> Self {
        Endpoint { url: url.into(), timeout_secs: default_timeout(), retries: default_retries(), insecure_tls: false }
    }
}

/// How calls authenticate. Secrets are read from the environment by the caller.
#[derive(Clone, Default, PartialEq)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic auth (OPNsense API key and secret, Elasticsearch users).
    Basic {
        /// User or API key.
        user: String,
        /// Password or API secret.
        password: String,
    },
    /// A raw `Authorization` header value (`ApiKey ...` for Elasticsearch).
    Header(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(..)",
            Auth::Basic { .. } => "Auth::Basic(..)",
            Auth::Header(_) => "Auth::Header(..)",
        })
    }
}

/// Reads a secret from the environment variable a config key names.
pub fn secret_from_env(backend: &str, var: &str) -> Result<String, BackendError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Ok(_) => Err(BackendError::new(backend, "configure", format!("environment variable {var} is empty"))),
        Err(_) => Err(BackendError::new(backend, "configure", format!("environment variable {var} is not set"))),
    }
}

/// Is a call safe to repeat?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read: retried on transient failures.
    Read,
    /// A change: sent exactly once.
    Never,
}

/// A client for one backend: base URL, auth, timeout and retry policy.
#[derive(Debug, Clone)]
pub struct Http {
    backend: &'static str,
    base: String,
    auth: Auth,
    retries: u32,
    timeout: Duration,
    client: reqwest::Client,
}

impl Http {
    /// A client for `backend` (its name in error cards) at `endpoint`.
    pub fn new(backend: &'static str, endpoint: &Endpoint, auth: Auth) -> Result<Self, BackendError> {
        let url = endpoint.url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(BackendError::new(
                backend,
                "configure",
                format!("url '{url}' must start with http:// or https://"),
            ));
        }
        if !(endpoint.timeout_secs.is_finite() && endpoint.timeout_secs > 0.0) {
            return Err(BackendError::new(backend, "configure", "timeout_secs must be a positive number"));
        }
        let timeout = Duration::from_secs_f64(endpoint.timeout_secs);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .danger_accept_invalid_certs(endpoint.insecure_tls)
            .user_agent(concat!("pipilu/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BackendError::new(backend, "configure", format!("http client: {e}")))?;
        Ok(Http { backend, base: url.to_string(), auth, retries: endpoint.retries, timeout, client })
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `path` (relative to the base URL) with auth applied.
    /// Query parameters go through `.query(...)`, which percent-encodes them.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.client.request(method, format!("{}{}", self.base, path));
        match &self.auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Header(h) => req.header(reqwest::header::AUTHORIZATION, h),
        }
    }

    /// Sends `build()` (rebuilt for each attempt), retrying per `retry`, and
    /// returns the successful response's body.
    pub async fn send(
        &self,
        call: &str,
        retry: Retry,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<bytes::Bytes, BackendError> {
        let attempts = match retry {
            Retry::Read => self.retries + 1,
            Retry::Never => 1,
        };
        let mut backoff = Duration::from_millis(100);
        let mut last = None;
        for attempt in 1..=attempts {
            match self.once(call, build()).await {
                Ok(body) => return Ok(body),
                Err(Failure { error, transient, retry_after }) => {
                    if !transient || attempt == attempts {
                        return Err(error);
                    }
                    let wait = retry_after.unwrap_or(backoff).min(Duration::from_secs(5));
                    tracing::debug!(backend = self.backend, call, attempt, ?wait, "retrying: {}", error.cause);
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or_else(|| BackendError::new(self.backend, call, "no attempt made")))
    }

    /// Sends and decodes a JSON answer; a body that is not the expected shape is
    /// reported as malformed, quoting serde's reason.
    pub async fn json<T: DeserializeOwned>(
        &self,
        call: &str,
        retry: Retry,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, BackendError> {
        let body = self.send(call, retry, build).await?;
        serde_json::from_slice(&body)
            .map_err(|e| BackendError::new(self.backend, call, format!("malformed response: {e}")))
    }

    async fn once(&self, call: &str, req: RequestBuilder) -> Result<bytes::Bytes, Failure> {
        let resp = req.send().await.map_err(|e| self.transport_error(call, &e))?;
        let status = resp.status();
        if status.is_success() {
            return resp.bytes().await.map_err(|e| self.transport_error(call, &e));
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp.bytes().await.unwrap_or_default();
        let quote = quote_body(&body);
        let (cause, transient, not_found) = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                (format!("{status}: credentials rejected, check the token or key in the config{quote}"), false, false)
            }
            StatusCode::NOT_FOUND => (format!("{status}{quote}"), false, true),
            StatusCode::TOO_MANY_REQUESTS => (format!("{status}: rate limited{quote}"), true, false),
            s if s.is_server_error() => (format!("{status}: server error{quote}"), true, false),
            s => (format!("{s}{quote}"), false, false),
        };
        let mut error = BackendError::new(self.backend, call, cause);
        error.not_found = not_found;
        Err(Failure { error, transient, retry_after })
    }

    fn transport_error(&self, call: &str, e: &reqwest::Error) -> Failure {
        let cause = if e.is_timeout() {
            format!("no answer from {} within {:.1} s", self.base, self.timeout.as_secs_f64())
        } else if e.is_connect() {
            format!("cannot connect to {}: {}", self.base, root_cause(e))
        } else {
            format!("request to {} failed: {}", self.base, root_cause(e))
        };
        Failure { error: BackendError::new(self.backend, call, cause), transient: true, retry_after: None }
    }
}

/// A failed attempt and whether trying again could help.
struct Failure {
    error: BackendError,
    transient: bool,
    retry_after: Option<Duration>,
}

/// The innermost error's message (reqwest wraps hyper wraps io).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `: "first 200 bytes"` of an error body, or nothing when it is empty.
fn quote_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let mut cut: String = text.chars().filter(|c| !c.is_control()).take(BODY_QUOTE).collect();
    if text.chars().count() > BODY_QUOTE {
        cut.push('…');
    }
    format!(": {cut}")
}
