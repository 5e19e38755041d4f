//! Prometheus over its HTTP API: `/api/v1/query_range` for the metric series
//! skills chart, `/api/v1/query` for one-off values.
//!
//! The PromQL per metric comes from templates ([`Queries`]), so estates whose
//! metrics are named differently only change config. The service a user typed is
//! never spliced into PromQL raw: `$service` becomes the escaped contents of a
//! double-quoted string and `$service_re` a regex-quoted, then string-escaped
//! value, so a hostile name stays a (non-matching) label value.

use super::http::{Auth, Endpoint, Http, Retry};
use crate::backends::{BackendError, MetricsBackend, Series};
use crate::skill::Window;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Backend name in error cards.
const NAME: &str = "prometheus";

/// The metrics skills ask for, in the order they are documented.
pub const METRICS: [&str; 5] = ["cpu", "memory", "requests", "errors", "latency_p99"];

/// PromQL templates, one per metric (a `[backends.prometheus.queries]` table).
///
/// Variables: `$service` (inside `"..."`: the service name, string-escaped),
/// `$service_re` (inside `"..."` after `=~`: the name as a literal regex) and
/// `$namespace` (inside `"..."`: [`Queries::namespace`], string-escaped).
///
/// The defaults read Kubernetes metrics: cAdvisor's `container_*` for cpu and
/// memory and the common `http_requests_total` / `http_request_duration_seconds`
/// instrumentation for the rest, per pod. A pod belongs to a service when it is
/// named like a Deployment's (`<service>-<replicaset hash>-<5 chars>`) or a
/// StatefulSet's (`<service>-<ordinal>`) pods, so `payments` does not take in
/// `payments-api`'s pods.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Queries {
    /// Kubernetes namespace the services run in.
    pub namespace: String,
    /// CPU in percent of one core, per pod.
    pub cpu: String,
    /// Working-set memory in MiB, per pod.
    pub memory: String,
    /// Requests per second, per pod.
    pub requests: String,
    /// 5xx answers per second, per pod.
    pub errors: String,
    /// 99th percentile latency in milliseconds, per pod.
    pub latency_p99: String,
}

/// The pod selector the default templates share.
const PODS: &str = r#"namespace="$namespace",pod=~"$service_re-[a-z0-9]+-[a-z0-9]{5}|$service_re-[0-9]+""#;

impl Default for Queries {
    fn default() -> Self {
        Queries {
            namespace: "default".into(),
            cpu: format!(r#"sum by (pod) (rate(container_cpu_usage_seconds_total{{{PODS},container!=""}}[5m])) * 100"#),
            memory: format!(r#"sum by (pod) (container_memory_working_set_bytes{{{PODS},container!=""}}) / 1048576"#),
            requests: format!("sum by (pod) (rate(http_requests_total{{{PODS}}}[5m]))"),
            errors: format!(r#"sum by (pod) (rate(http_requests_total{{{PODS},code=~"5.."}}[5m]))"#),
            latency_p99: format!(
                "histogram_quantile(0.99, sum by (pod, le) (rate(http_request_duration_seconds_bucket{{{PODS}}}[5m]))) * 1000"
            ),
        }
    }
}

impl Queries {
    /// The template for `metric`, if it is one of [`METRICS`].
    pub fn template(&self, metric: &str) -> Option<&str> {
        match metric {
            "cpu" => Some(&self.cpu),
            "memory" => Some(&self.memory),
            "requests" => Some(&self.requests),
            "errors" => Some(&self.errors),
            "latency_p99" => Some(&self.latency_p99),
            _ => None,
        }
    }
}

/// The contents of a PromQL double-quoted string holding `s` exactly: `\` and
/// `"` are escaped, control characters written as escapes (a raw newline would
/// end the query's string early).
pub fn string_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push_str(r"\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `s` as an RE2 regex matching exactly that text (Go's `regexp.QuoteMeta`).
pub fn regex_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Replaces `$name` variables in one pass (a value is never expanded again);
/// the longest name wins, so `$service_re` is not `$service` + `_re`. Unknown
/// `$words` (Grafana's, PromQL has none) are left as they are.
pub fn expand(template: &str, vars: &[(&str, &str)]) -> String {
    let mut names: Vec<&(&str, &str)> = vars.iter().collect();
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let hit = names.iter().find(|(n, _)| {
            after.starts_with(n)
                && !after[n.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match hit {
            Some((n, v)) => {
                out.push_str(v);
                rest = &after[n.len()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A step for `window` giving 120 to 300 points, on a round number of seconds.
pub fn step_for(window: Window) -> u64 {
    const NICE: [u64; 17] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200];
    let span = (window.to - window.from).num_seconds().max(1) as u64;
    let wanted = span.div_ceil(300);
    NICE.iter().copied().find(|&s| s >= wanted).unwrap_or_else(|| span.div_ceil(240))
}

/// One value of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels (`__name__` included when Prometheus kept it).
    pub labels: BTreeMap<String, String>,
    /// When it was evaluated.
    pub at: DateTime<Utc>,
    /// The value (may be NaN or infinite, as Prometheus says).
    pub value: f64,
}

/// A Prometheus server.
#[derive(Debug, Clone)]
pub struct Prometheus {
    http: Http,
    queries: Queries,
}

impl Prometheus {
    /// A client for the server at `endpoint`; fails on a bad URL or on a
    /// template that does not select by service (it would chart every pod).
    pub fn new(endpoint: &Endpoint, auth: Auth, queries: Queries) -> Result<Self, BackendError> {
        for metric in METRICS {
            let t = queries.template(metric).unwrap_or_default();
            if !t.contains("$service") {
                return Err(BackendError::new(
                    NAME,
                    "configure",
                    format!("the {metric} query must select by $service or $service_re: '{t}'"),
                ));
            }
        }
        Ok(Prometheus { http: Http::new(NAME, endpoint, auth)?, queries })
    }

    /// The PromQL asked for `metric` of `service`, with the name escaped.
    pub fn query_for(&self, service: &str, metric: &str) -> Option<String> {
        let template = self.queries.template(metric)?;
        let service_s = string_escape(service);
        let service_re = string_escape(&regex_quote(service));
        let namespace = string_escape(&self.queries.namespace);
        Some(expand(template, &[("service", &service_s), ("service_re", &service_re), ("namespace", &namespace)]))
    }

    /// Series of a PromQL `query` over `window`, `call` naming it in errors.
    pub async fn range(&self, call: &str, query: &str, window: Window) -> Result<Vec<Series>, BackendError> {
        if window.to <= window.from {
            return Err(BackendError::new(NAME, call, "the window ends before it starts"));
        }
        let step = step_for(window).to_string();
        let (start, end) = (window.from.timestamp().to_string(), window.to.timestamp().to_string());
        let data = self
            .call(call, "/api/v1/query_range", &[("query", query), ("start", &start), ("end", &end), ("step", &step)])
            .await?;
        match data {
            Data::Matrix(rows) => Ok(rows
                .into_iter()
                .map(|r| Series {
                    name: series_name(&r.metric),
                    points: r.values.iter().filter_map(point).filter(|p| p.1.is_finite()).collect(),
                })
                .collect()),
            other => Err(BackendError::new(NAME, call, format!("expected a matrix, got a {}", other.kind()))),
        }
    }

    /// The value of a PromQL `query` now: one sample per series (a scalar is one
    /// sample without labels).
    pub async fn instant(&self, query: &str) -> Result<Vec<Sample>, BackendError> {
        let sample = |labels, v: &Value| point(v).map(|(at, value)| Sample { labels, at, value });
        match self.call("query", "/api/v1/query", &[("query", query)]).await? {
            Data::Vector(rows) => Ok(rows.into_iter().filter_map(|r| sample(r.metric, &r.value)).collect()),
            Data::Scalar(v) => Ok(sample(BTreeMap::new(), &v).into_iter().collect()),
            other => Err(BackendError::new(NAME, "query", format!("expected a vector, got a {}", other.kind()))),
        }
    }

    async fn call(&self, call: &str, path: &str, params: &[(&str, &str)]) -> Result<Data, BackendError> {
        let body = self
            .http
            .send(call, Retry::Read, || self.http.request(Method::GET, path).query(params))
            .await
            .map_err(api_error)?;
        let envelope: Envelope = serde_json::from_slice(&body)
            .map_err(|e| BackendError::new(NAME, call, format!("malformed response: {e}")))?;
        if envelope.status != "success" {
            let kind = envelope.error_type.unwrap_or_else(|| "error".into());
            let text = envelope.error.unwrap_or_else(|| format!("status '{}'", envelope.status));
            return Err(BackendError::new(NAME, call, format!("{kind}: {text}")));
        }
        envelope.data.ok_or_else(|| BackendError::new(NAME, call, "malformed response: no data"))
    }
}

#[async_trait]
impl MetricsBackend for Prometheus {
    fn name(&self) -> &str {
        NAME
    }

    async fn series(&self, service: &str, metric: &str, window: Window) -> Result<Vec<Series>, BackendError> {
        let call = format!("query_range {metric} {service}");
        let query = self.query_for(service, metric).ok_or_else(|| {
            BackendError::new(NAME, &call, format!("unknown metric '{metric}' (known: {})", METRICS.join(", ")))
        })?;
        self.range(&call, &query, window).await
    }
}

/// The API's answer around every result.
#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Matrix(Vec<RangeRow>),
    Vector(Vec<InstantRow>),
    Scalar(Value),
    String(serde::de::IgnoredAny),
}

impl Data {
    fn kind(&self) -> &'static str {
        match self {
            Data::Matrix(_) => "matrix",
            Data::Vector(_) => "vector",
            Data::Scalar(_) => "scalar",
            Data::String(_) => "string",
        }
    }
}

#[derive(Deserialize)]
struct RangeRow {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<Value>,
}

#[derive(Deserialize)]
struct InstantRow {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Value,
}

/// `[unix seconds, "value"]`.
type Value = (f64, String);

fn point((ts, v): &Value) -> Option<(DateTime<Utc>, f64)> {
    let at = DateTime::from_timestamp_millis((ts * 1000.0).round() as i64)?;
    Some((at, v.trim().parse().ok()?))
}

/// A legend name: the pod, else the instance, else the label set.
fn series_name(labels: &BTreeMap<String, String>) -> String {
    if let Some(n) = labels.get("pod").or_else(|| labels.get("instance")) {
        return n.clone();
    }
    let set: Vec<String> =
        labels.iter().filter(|(k, _)| *k != "__name__").map(|(k, v)| format!("{k}=\"{}\"", string_escape(v))).collect();
    match (labels.get("__name__"), set.is_empty()) {
        (Some(n), true) => n.clone(),
        (Some(n), false) => format!("{n}{{{}}}", set.join(",")),
        (None, true) => "value".into(),
        (None, false) => format!("{{{}}}", set.join(",")),
    }
}

/// Prometheus answers a bad query with 400/422 and an error envelope, which the
/// shared client quotes; the message then reads as Prometheus' own words.
fn api_error(mut e: BackendError) -> BackendError {
    let Some(at) = e.cause.find(r#"{"status":"error""#) else { return e };
    let quoted = &e.cause[at..];
    let (kind, text) = match serde_json::from_str::<Envelope>(quoted.trim_end_matches('…')) {
        Ok(env) => (env.error_type, env.error),
        // Cut short by the quote limit: take what there is of the fields.
        Err(_) => (json_field(quoted, "errorType"), json_field(quoted, "error").map(|t| t + "…")),
    };
    if let Some(text) = text {
        e.cause = format!("{}: {text}", kind.unwrap_or_else(|| "error".into()));
    }
    e
}

/// The (possibly cut) string value of `"field":"..."` in JSON text.
fn json_field(json: &str, field: &str) -> Option<String> {
    let start = json.find(&format!("\"{field}\":\""))? + field.len() + 4;
    let mut out = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => break,
            },
            '…' => break,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn names_are_escaped_never_spliced() {
        assert_eq!(string_escape(r#"a"} or vector(1) #"#), r#"a\"} or vector(1) #"#);
        assert_eq!(string_escape("a\\b\nc\u{1}"), r"a\\b\nc\u0001");
        assert_eq!(regex_quote("a.b|c$"), r"a\.b\|c\$");
        let p = Prometheus::new(&Endpoint::new("http://127.0.0.1:1"), Auth::None, Queries::default()).unwrap();
        let q = p.query_for(r#"x"}|~"\"#, "requests").unwrap();
        assert!(q.contains(r#"pod=~"x\"\\}\\|~\"\\\\-[a-z0-9]+-"#), "{q}");
        assert!(p.query_for("latte", "disk").is_none());
    }

    #[test]
    fn expansion_is_one_pass_and_longest_first() {
        let vars = [("service", "$namespace"), ("service_re", "RE"), ("namespace", "ns")];
        assert_eq!(
            expand("$service $service_re $namespace $__rate_interval $", &vars),
            "$namespace RE ns $__rate_interval $"
        );
    }

    #[test]
    fn steps_give_120_to_300_points() {
        let t = Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).single().unwrap();
        for mins in [5, 15, 30, 60, 90, 180, 360, 720, 1440, 4320, 10_080, 43_200] {
            let w = Window { from: t - Duration::minutes(mins), to: t };
            let points = (mins * 60) as u64 / step_for(w);
            assert!((120..=300).contains(&points), "{mins}m: {points} points");
        }
    }

    #[test]
    fn templates_must_select_by_service() {
        let q = Queries { cpu: "sum(rate(cpu[5m]))".into(), ..Queries::default() };
        let e = Prometheus::new(&Endpoint::new("http://127.0.0.1:1"), Auth::None, q).unwrap_err();
        assert!(e.cause.contains("cpu query must select"), "{e}");
    }

    #[test]
    fn error_envelopes_become_prometheus_words() {
        let e = BackendError::new(
            NAME,
            "query",
            r#"400 Bad Request: {"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected \"}\""}"#,
        );
        assert_eq!(api_error(e).cause, r#"bad_data: 1:5: parse error: unexpected "}""#);
        let cut =
            BackendError::new(NAME, "query", r#"400: {"status":"error","errorType":"bad_data","error":"long te…"#);
        assert_eq!(api_error(cut).cause, "bad_data: long te…");
    }

    #[test]
    fn legend_names() {
        let l = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(series_name(&l(&[("pod", "latte-1"), ("instance", "x")])), "latte-1");
        assert_eq!(series_name(&l(&[("instance", "10.0.0.1:9100")])), "10.0.0.1:9100");
        assert_eq!(series_name(&l(&[("__name__", "up"), ("job", "a")])), r#"up{job="a"}"#);
        assert_eq!(series_name(&l(&[])), "value");
    }
}
