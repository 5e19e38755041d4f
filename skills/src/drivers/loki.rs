//! Grafana Loki: log lines from `query_range`, the count of all matches from an
//! instant `sum(count_over_time(...))` query over the same selector and filters.
//!
//! Everything the user typed reaches LogQL only as a double-quoted string
//! literal built by [`logql_string`] (Go string rules: `\\`, `\"`, `\n`, `\r`,
//! `\t`, other control characters as `\u00XX`), never spliced raw. The words
//! are a case-sensitive line filter `|= "..."`, so they match literally.

use crate::backends::{BackendError, LogLine, LogQuery, LogResult, LogsBackend};
use crate::drivers::http::{Auth, Endpoint, Http, Retry};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

const BACKEND: &str = "loki";

/// Where a line's level comes from. Levels are compared lowercased
/// (`warning` is asked for as `warn`, `err`/`fatal` as `error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LevelSource {
    /// A stream label (the default, `level`): filtered in the selector, the cheapest for Loki.
    Label(String),
    /// A field of logfmt lines, extracted with `| logfmt`.
    Logfmt(String),
    /// A top-level field of JSON lines, extracted with `| json`.
    Json(String),
}

/// Which labels mean what in this Loki: sites name them differently
/// (`app` instead of `service`, `namespace` for the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LokiLabels {
    /// Label holding the service name (default `service`).
    pub service: String,
    /// Label holding the environment (default `env`); only used when a query names one.
    pub env: String,
    /// Where the level is (default the `level` label).
    pub level: LevelSource,
    /// Labels naming the instance, first present wins (default `pod`, `instance`, `host`).
    pub instance: Vec<String>,
}

impl Default for LokiLabels {
    fn default() -> Self {
        LokiLabels {
            service: "service".into(),
            env: "env".into(),
            level: LevelSource::Label("level".into()),
            instance: vec!["pod".into(), "instance".into(), "host".into()],
        }
    }
}

/// A [`LogsBackend`] over Loki's HTTP API.
#[derive(Debug, Clone)]
pub struct Loki {
    http: Http,
    labels: LokiLabels,
    tenant: Option<String>,
}

impl Loki {
    /// A client for the Loki at `endpoint`, reading labels as `labels` says.
    pub fn new(endpoint: &Endpoint, auth: Auth, labels: LokiLabels) -> Result<Self, BackendError> {
        let names = [&labels.service, &labels.env].into_iter().chain(labels.instance.iter()).chain(std::iter::once(
            match &labels.level {
                LevelSource::Label(l) | LevelSource::Logfmt(l) | LevelSource::Json(l) => l,
            },
        ));
        for name in names {
            if !is_label_name(name) {
                return Err(BackendError::new(
                    BACKEND,
                    "configure",
                    format!("'{name}' is not a valid Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
                ));
            }
        }
        Ok(Loki { http: Http::new(BACKEND, endpoint, auth)?, labels, tenant: None })
    }

    /// Sends `X-Scope-OrgID: tenant` (multi-tenant Loki).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The selector and pipeline for `q` (without a range): what both the lines
    /// and the count query search.
    pub fn logql(&self, q: &LogQuery) -> String {
        let mut sel = format!("{}={}", self.labels.service, logql_string(&q.service));
        if let Some(env) = q.env.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            let _ = write!(sel, ", {}={}", self.labels.env, logql_string(env));
        }
        let level = q.level.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(canonical_level);
        if let (LevelSource::Label(name), Some(l)) = (&self.labels.level, &level) {
            let _ = write!(sel, ", {name}={}", logql_string(l));
        }
        let mut out = format!("{{{sel}}}");
        if let Some(words) = q.query.as_deref().filter(|w| !w.trim().is_empty()) {
            let _ = write!(out, " |= {}", logql_string(words));
        }
        match &self.labels.level {
            LevelSource::Label(_) => {}
            LevelSource::Logfmt(field) | LevelSource::Json(field) => {
                let parser = if matches!(self.labels.level, LevelSource::Logfmt(_)) { "logfmt" } else { "json" };
                let _ = write!(out, " | {parser}");
                if let Some(l) = &level {
                    let _ = write!(out, " | {field}={}", logql_string(l));
                }
            }
        }
        out
    }

    fn request(&self, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(Method::GET, path);
        match &self.tenant {
            Some(t) => req.header("X-Scope-OrgID", t),
            None => req,
        }
    }

    fn line(
        &self,
        labels: &BTreeMap<String, String>,
        ns: &serde_json::Value,
        text: &serde_json::Value,
    ) -> Option<LogLine> {
        let ns: i64 = ns.as_str()?.parse().ok()?;
        let message = text.as_str()?.to_string();
        let level_label = match &self.labels.level {
            LevelSource::Label(l) | LevelSource::Logfmt(l) | LevelSource::Json(l) => l.as_str(),
        };
        let level = labels
            .get(level_label)
            .or_else(|| labels.get("detected_level"))
            .map(|l| l.to_lowercase())
            .unwrap_or_else(|| "unknown".into());
        let instance = self.labels.instance.iter().find_map(|k| labels.get(k)).cloned().unwrap_or_default();
        Some(LogLine { ts: DateTime::<Utc>::from_timestamp_nanos(ns), level, instance, message })
    }
}

/// Maps the usual spellings of a level to the one label value we ask for.
fn canonical_level(level: &str) -> String {
    let l = level.to_lowercase();
    match l.as_str() {
        "error" | "errors" | "err" | "fatal" => "error".into(),
        "warn" | "warning" | "warnings" => "warn".into(),
        _ => l,
    }
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `s` as a LogQL double-quoted string literal (Go's string rules, which Loki's
/// lexer unquotes with `strconv.Unquote`): backslash and quote escaped, control
/// characters as escapes, everything else, Unicode included, as is.
pub fn logql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nanos(call: &str, t: DateTime<Utc>) -> Result<i64, BackendError> {
    t.timestamp_nanos_opt().ok_or_else(|| BackendError::new(BACKEND, call, format!("time {t} is out of range")))
}

#[derive(Deserialize)]
struct Answer<T> {
    status: String,
    data: T,
}

#[derive(Deserialize)]
struct Streams {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    stream: BTreeMap<String, String>,
    /// `[ns, line]`, or `[ns, line, metadata]` in Loki 3.
    values: Vec<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Vector {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Sample>,
}

#[derive(Deserialize)]
struct Sample {
    /// `[unix seconds, "value"]`.
    value: (serde_json::Value, String),
}

#[async_trait]
impl LogsBackend for Loki {
    fn name(&self) -> &str {
        BACKEND
    }

    async fn query(&self, q: &LogQuery) -> Result<LogResult, BackendError> {
        let call = format!("query logs {}", q.service);
        let (from, to) = (q.window.from, q.window.to);
        if to <= from {
            return Err(BackendError::new(BACKEND, &call, "the window ends before it starts"));
        }
        let (start, end) = (nanos(&call, from)?, nanos(&call, to)?);
        let logql = self.logql(q);
        let limit = q.limit.max(1).to_string();

        let lines: Answer<Streams> = self
            .http
            .json(&call, Retry::Read, || {
                self.request("/loki/api/v1/query_range").query(&[
                    ("query", logql.as_str()),
                    ("start", &start.to_string()),
                    ("end", &end.to_string()),
                    ("limit", &limit),
                    ("direction", "backward"),
                ])
            })
            .await?;
        if lines.status != "success" || lines.data.result_type != "streams" {
            return Err(BackendError::new(
                BACKEND,
                &call,
                format!("malformed response: status {} with {} result", lines.status, lines.data.result_type),
            ));
        }
        let mut out: Vec<LogLine> = Vec::new();
        for s in &lines.data.result {
            for v in &s.values {
                match (v.first(), v.get(1)) {
                    (Some(ns), Some(text)) => match self.line(&s.stream, ns, text) {
                        Some(l) => out.push(l),
                        None => return Err(BackendError::new(BACKEND, &call, "malformed response: bad log entry")),
                    },
                    _ => return Err(BackendError::new(BACKEND, &call, "malformed response: short log entry")),
                }
            }
        }
        out.sort_by_key(|l| std::cmp::Reverse(l.ts));
        out.truncate(q.limit);

        let range_ms = (to - from).num_milliseconds().max(1);
        let count_query = format!("sum(count_over_time({logql} [{range_ms}ms]))");
        let count_call = format!("count logs {}", q.service);
        let counted: Answer<Vector> = self
            .http
            .json(&count_call, Retry::Read, || {
                self.request("/loki/api/v1/query").query(&[("query", count_query.as_str()), ("time", &end.to_string())])
            })
            .await?;
        if counted.status != "success" || counted.data.result_type != "vector" {
            return Err(BackendError::new(
                BACKEND,
                &count_call,
                format!("malformed response: status {} with {} result", counted.status, counted.data.result_type),
            ));
        }
        let total = match counted.data.result.first() {
            None => 0,
            Some(s) => s.value.1.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(|| {
                BackendError::new(BACKEND, &count_call, format!("malformed response: count '{}'", s.value.1))
            })? as u64,
        };
        // The count cannot be below what we hold (the instant range is (end - range, end]).
        Ok(LogResult { total: total.max(out.len() as u64), lines: out })
    }
}

#[cfg(test)]
mod tests {
    use super::logql_string;

    #[test]
    fn escapes_like_go() {
        assert_eq!(logql_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(logql_string("x\ny\tz\u{1}"), r#""x\ny\tz\u0001""#);
        assert_eq!(logql_string("ünï `{}` |~"), "\"ünï `{}` |~\"");
    }
}
