//! Fake Elasticsearch: seeded documents per index and `POST /<index>/_search`
//! evaluating the bool query pipilu sends: `term`, `terms` and `range` filters
//! and `match_phrase` on a text field (lowercased word tokens in sequence, as the
//! standard analyzer would). Any other query clause is rejected with 400 and an
//! Elasticsearch-shaped `parsing_exception`.

use super::FaultSwitch;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, PoisonError};

/// A fake Elasticsearch; clones share state.
#[derive(Clone, Default)]
pub struct EsFake {
    state: Arc<Mutex<EsState>>,
    /// Fault injected into every answer.
    pub faults: FaultSwitch,
}

#[derive(Default)]
struct EsState {
    docs: Vec<(String, Value)>,
    bodies: Vec<Value>,
}

impl EsFake {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, EsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a document to `index`.
    pub fn seed(&self, index: &str, doc: Value) {
        self.lock().docs.push((index.to_string(), doc));
    }

    /// Every search body received.
    pub fn bodies(&self) -> Vec<Value> {
        self.lock().bodies.clone()
    }

    /// The `query` of every `match_phrase` received, as Elasticsearch decoded it.
    pub fn phrases(&self) -> Vec<String> {
        let mut out = Vec::new();
        for b in self.lock().bodies.iter() {
            for clause in b.pointer("/query/bool/must").and_then(Value::as_array).into_iter().flatten() {
                if let Some(Value::Object(m)) = clause.get("match_phrase") {
                    for v in m.values() {
                        match v.get("query").unwrap_or(v) {
                            Value::String(s) => out.push(s.clone()),
                            other => out.push(other.to_string()),
                        }
                    }
                }
            }
        }
        out
    }

    /// The API as an axum router.
    pub fn router(&self) -> Router {
        Router::new().route("/{index}/_search", post(search)).with_state(self.clone())
    }
}

fn parsing_error(reason: impl Into<String>) -> Response {
    let reason = reason.into();
    let err = json!({"type": "parsing_exception", "reason": reason});
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"root_cause": [err.clone()], "type": "parsing_exception", "reason": reason}, "status": 400})))
        .into_response()
}

async fn search(State(fake): State<EsFake>, Path(index): Path<String>, body: String) -> Response {
    if let Some(r) = fake.faults.get().apply().await {
        return r;
    }
    let body: Value = match serde_json::from_str(&body) {
        Ok(b) => b,
        Err(e) => return parsing_error(format!("request body is not JSON: {e}")),
    };
    fake.lock().bodies.push(body.clone());
    let size = body.get("size").and_then(Value::as_u64).unwrap_or(10) as usize;
    let exact = body.get("track_total_hits").and_then(Value::as_bool).unwrap_or(false);
    let query = body.get("query").cloned().unwrap_or(json!({"match_all": {}}));
    let mut hits = Vec::new();
    {
        let st = fake.lock();
        for (i, (idx, doc)) in st.docs.iter().enumerate() {
            if !index.split(',').any(|p| glob(p, idx)) {
                continue;
            }
            match matches(&query, doc) {
                Ok(true) => hits.push((i, idx.clone(), doc.clone())),
                Ok(false) => {}
                Err(reason) => return parsing_error(reason),
            }
        }
    }
    let sort_field = body
        .pointer("/sort/0")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_else(|| "@timestamp".into());
    hits.sort_by(|a, b| {
        let ta = lookup(&a.2, &sort_field).and_then(Value::as_str).and_then(time);
        let tb = lookup(&b.2, &sort_field).and_then(Value::as_str).and_then(time);
        tb.cmp(&ta)
    });
    let total = hits.len();
    let (value, relation) = if exact || total <= 10_000 { (total, "eq") } else { (10_000, "gte") };
    let hits: Vec<Value> = hits
        .into_iter()
        .take(size)
        .map(|(i, idx, doc)| json!({"_index": idx, "_id": i.to_string(), "_score": null, "_source": doc}))
        .collect();
    axum::Json(json!({
        "took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"total": {"value": value, "relation": relation}, "max_score": null, "hits": hits}
    }))
    .into_response()
}

fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, rest)) => {
            name.starts_with(pre)
                && (0..=name.len() - pre.len())
                    .any(|i| name.is_char_boundary(pre.len() + i) && glob(rest, &name[pre.len() + i..]))
        }
    }
}

fn time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// A dotted field, nested or flat.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    lookup(doc.get(head)?, rest)
}

/// Lowercased runs of letters and digits: the standard analyzer, roughly.
fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

fn single<'a>(clause: &'a Value, kind: &str) -> Result<(&'a String, &'a Value), String> {
    let m = clause.as_object().filter(|m| m.len() == 1).ok_or_else(|| format!("[{kind}] query malformed, no field"))?;
    m.iter().next().ok_or_else(|| format!("[{kind}] query malformed"))
}

fn matches(q: &Value, doc: &Value) -> Result<bool, String> {
    let (kind, clause) = q.as_object().and_then(|m| m.iter().next()).ok_or("query malformed, empty clause")?;
    Ok(match kind.as_str() {
        "match_all" => true,
        "bool" => {
            for key in clause.as_object().into_iter().flat_map(|m| m.keys()) {
                if !["filter", "must", "should", "must_not"].contains(&key.as_str()) {
                    return Err(format!("[bool] query does not support [{key}]"));
                }
            }
            let list = |k: &str| -> Vec<Value> {
                match clause.get(k) {
                    Some(Value::Array(a)) => a.clone(),
                    Some(v) => vec![v.clone()],
                    None => vec![],
                }
            };
            for c in list("filter").iter().chain(list("must").iter()) {
                if !matches(c, doc)? {
                    return Ok(false);
                }
            }
            for c in list("must_not") {
                if matches(&c, doc)? {
                    return Ok(false);
                }
            }
            let should = list("should");
            should.is_empty() || should.iter().map(|c| matches(c, doc)).collect::<Result<Vec<_>, _>>()?.contains(&true)
        }
        "term" => {
            let (field, v) = single(clause, "term")?;
            let want = v.get("value").unwrap_or(v);
            lookup(doc, field) == Some(want)
        }
        "terms" => {
            let (field, v) = single(clause, "terms")?;
            let options = v.as_array().ok_or("[terms] query does not support a non-array value")?;
            lookup(doc, field).is_some_and(|have| options.contains(have))
        }
        "range" => {
            let (field, v) = single(clause, "range")?;
            let Some(have) = lookup(doc, field).and_then(Value::as_str).and_then(time) else { return Ok(false) };
            let bound = |k: &str| -> Result<Option<DateTime<Utc>>, String> {
                match v.get(k) {
                    None => Ok(None),
                    Some(b) => b.as_str().and_then(time).map(Some).ok_or(format!("failed to parse date field [{b}]")),
                }
            };
            bound("gte")?.is_none_or(|b| have >= b)
                && bound("gt")?.is_none_or(|b| have > b)
                && bound("lte")?.is_none_or(|b| have <= b)
                && bound("lt")?.is_none_or(|b| have < b)
        }
        "match_phrase" => {
            let (field, v) = single(clause, "match_phrase")?;
            let phrase = v.get("query").unwrap_or(v).as_str().ok_or("[match_phrase] query must be a string")?;
            let want = tokens(phrase);
            let have = lookup(doc, field).and_then(Value::as_str).map(tokens).unwrap_or_default();
            !want.is_empty() && have.windows(want.len()).any(|w| w == want.as_slice())
        }
        other => return Err(format!("unknown query [{other}]")),
    })
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("logs-*", "logs-2025.03.04"));
        assert!(glob("*", "x"));
        assert!(!glob("logs-*", "metrics-1"));
        assert!(glob("a*c*e", "abcde"));
    }
}
