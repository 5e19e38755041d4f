//! Elasticsearch and OpenSearch: one `POST /<index>/_search` with a bool query
//! of filters (service, environment, time range, level) and a `match_phrase`
//! on the message for the user's words. The body is built as a JSON value, so
//! the words are a query DSL string value, never a `query_string` (whose syntax
//! would let `OR`, `*` or `:` change the search). The total is
//! `hits.total.value` with `track_total_hits: true`, so it is exact, not capped
//! at 10 000.

use crate::backends::{BackendError, LogLine, LogQuery, LogResult, LogsBackend};
use crate::drivers::http::{Auth, Endpoint, Http, Retry};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

const BACKEND: &str = "elasticsearch";

/// Which document fields mean what (ECS names by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EsFields {
    /// Event time (default `@timestamp`).
    pub timestamp: String,
    /// The line (default `message`).
    pub message: String,
    /// Service name, a keyword field (default `service.name`).
    pub service: String,
    /// Level, a keyword field (default `log.level`).
    pub level: String,
    /// Instance (default `host.name`).
    pub instance: String,
    /// Environment, a keyword field (default `service.environment`).
    pub env: String,
}

impl Default for EsFields {
    fn default() -> Self {
        EsFields {
            timestamp: "@timestamp".into(),
            message: "message".into(),
            service: "service.name".into(),
            level: "log.level".into(),
            instance: "host.name".into(),
            env: "service.environment".into(),
        }
    }
}

/// A [`LogsBackend`] over an Elasticsearch or OpenSearch index pattern.
#[derive(Debug, Clone)]
pub struct Elasticsearch {
    http: Http,
    path: String,
    fields: EsFields,
}

impl Elasticsearch {
    /// A client searching `index` (a name or pattern such as `logs-*`) at `endpoint`.
    pub fn new(endpoint: &Endpoint, auth: Auth, index: &str, fields: EsFields) -> Result<Self, BackendError> {
        let index = index.trim();
        let valid = !index.is_empty()
            && !index.starts_with(['_', '-', '+'])
            && index.chars().all(|c| c.is_ascii_alphanumeric() || "-_.*,:".contains(c));
        if !valid {
            return Err(BackendError::new(BACKEND, "configure", format!("'{index}' is not a valid index pattern")));
        }
        Ok(Elasticsearch { http: Http::new(BACKEND, endpoint, auth)?, path: format!("/{index}/_search"), fields })
    }

    /// The `_search` body for `q`.
    pub fn body(&self, q: &LogQuery) -> Value {
        let f = &self.fields;
        let mut filter = vec![json!({"term": {f.service.as_str(): q.service}})];
        if let Some(env) = q.env.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            filter.push(json!({"term": {f.env.as_str(): env}}));
        }
        filter.push(json!({"range": {f.timestamp.as_str(): {
            "gte": rfc3339(q.window.from),
            "lt": rfc3339(q.window.to),
            "format": "strict_date_optional_time",
        }}}));
        if let Some(level) = q.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            filter.push(json!({"terms": {f.level.as_str(): level_spellings(level)}}));
        }
        let mut must = vec![];
        if let Some(words) = q.query.as_deref().filter(|w| !w.trim().is_empty()) {
            must.push(json!({"match_phrase": {f.message.as_str(): {"query": words}}}));
        }
        json!({
            "size": q.limit,
            "track_total_hits": true,
            "sort": [{f.timestamp.as_str(): {"order": "desc"}}],
            "query": {"bool": {"filter": filter, "must": must}},
        })
    }

    fn line(&self, source: &Value) -> Option<LogLine> {
        let f = &self.fields;
        let ts = DateTime::parse_from_rfc3339(text(field(source, &f.timestamp)?)?.as_str()).ok()?.with_timezone(&Utc);
        Some(LogLine {
            ts,
            level: field(source, &f.level).and_then(text).map(|l| l.to_lowercase()).unwrap_or_else(|| "unknown".into()),
            instance: field(source, &f.instance).and_then(text).unwrap_or_default(),
            message: field(source, &f.message).and_then(text).unwrap_or_default(),
        })
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The spellings a level is logged with (`error`, `ERROR`, `Error`, and `err`/`fatal`
/// for errors, `warning` for warn), since keyword terms are exact.
fn level_spellings(level: &str) -> Vec<String> {
    let l = level.to_lowercase();
    let names: Vec<&str> = match l.as_str() {
        "error" | "errors" | "err" | "fatal" => vec!["error", "err", "fatal"],
        "warn" | "warning" | "warnings" => vec!["warn", "warning"],
        other => vec![other],
    };
    let mut out = Vec::new();
    for n in names {
        let mut cap = n.to_string();
        if let Some(first) = cap.get(..1) {
            cap = first.to_uppercase() + &cap[1..];
        }
        for s in [n.to_string(), n.to_uppercase(), cap] {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// A dotted field from `_source`, nested (`{"log": {"level": ..}}`) or flat (`{"log.level": ..}`).
fn field<'a>(source: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = source.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    field(source.get(head)?, rest).or_else(|| {
        // `{"service": {"environment.name": ..}}` and other mixes.
        let obj = source.as_object()?;
        obj.iter().find_map(|(k, v)| path.strip_prefix(k.as_str())?.strip_prefix('.').and_then(|r| field(v, r)))
    })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => a.first().and_then(text),
        _ => None,
    }
}

#[derive(Deserialize)]
struct SearchResponse {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    total: Total,
    hits: Vec<Hit>,
}

/// `{"value": n, "relation": "eq"}`, or a bare number from old versions.
#[derive(Deserialize)]
#[serde(untagged)]
enum Total {
    Object { value: u64 },
    Number(u64),
}

#[derive(Deserialize)]
struct Hit {
    #[serde(rename = "_source")]
    source: Value,
}

#[async_trait]
impl LogsBackend for Elasticsearch {
    fn name(&self) -> &str {
        BACKEND
    }

    async fn query(&self, q: &LogQuery) -> Result<LogResult, BackendError> {
        let call = format!("query logs {}", q.service);
        if q.window.to <= q.window.from {
            return Err(BackendError::new(BACKEND, &call, "the window ends before it starts"));
        }
        let body = self.body(q);
        let r: SearchResponse =
            self.http.json(&call, Retry::Read, || self.http.request(Method::POST, &self.path).json(&body)).await?;
        let total = match r.hits.total {
            Total::Object { value } | Total::Number(value) => value,
        };
        let mut lines =
            r.hits.hits.iter().map(|h| self.line(&h.source)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                BackendError::new(
                    BACKEND,
                    &call,
                    format!("malformed response: a hit without a readable {}", self.fields.timestamp),
                )
            })?;
        lines.sort_by_key(|l| std::cmp::Reverse(l.ts));
        lines.truncate(q.limit);
        Ok(LogResult { total: total.max(lines.len() as u64), lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_nested_or_flat() {
        let v = json!({"log": {"level": "WARN"}, "service.name": "a", "host": {"name": ["h1"]}});
        assert_eq!(field(&v, "log.level").and_then(text).as_deref(), Some("WARN"));
        assert_eq!(field(&v, "service.name").and_then(text).as_deref(), Some("a"));
        assert_eq!(field(&v, "host.name").and_then(text).as_deref(), Some("h1"));
        assert_eq!(level_spellings("warning"), ["warn", "WARN", "Warn", "warning", "WARNING", "Warning"]);
    }
}
