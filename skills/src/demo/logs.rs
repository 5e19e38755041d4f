//! Logs: a deterministic generator of realistic lines per service, shaped by the
//! estate (no lines from a crashed instance, more errors in error bursts, start
//! and crash lines where instances started or died).
//!
//! Time is cut into 2-second slots; whether a slot has a line, its level and its
//! text all come from a hash of (seed, service, instance, slot), so any window is
//! generated on its own and the same window always gives the same lines.

use super::estate::{InstanceSim, Sim};
use super::noise::{hash, key, unit};
use super::services::env_of;
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{BackendError, InstanceState, LogLine, LogQuery, LogResult, LogsBackend};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

const SLOT_MS: i64 = 2000;
/// Percent of slots that carry a line.
const DENSITY: u64 = 55;
/// Longest window the demo generates (a week is ~1M slots).
const MAX_WINDOW_DAYS: i64 = 7;

/// The demo's [`LogsBackend`].
pub(crate) struct DemoLogs(pub Arc<DemoEstate>);

/// What a service says at each level. `{ms}`, `{n}`, `{hex}` and `{pct}` are
/// filled from the line's hash.
struct Voice {
    info: &'static [&'static str],
    warn: &'static [&'static str],
    error: &'static [&'static str],
}

const LATTE: Voice = Voice {
    info: &[
        "GET /api/orders 200 {ms}ms",
        "GET /api/orders 200 {ms}ms",
        "POST /api/orders 201 {ms}ms",
        "GET /api/menu 200 {ms}ms",
        "GET /healthz 200 1ms",
        "cache hit ratio {pct}% over the last minute",
    ],
    warn: &[
        "slow query on orders table: {ms}ms",
        "retrying redis-cache:6379 (attempt {n}/3)",
        "GET /api/orders 429 {ms}ms rate limited client 10.0.{n}.{n}",
    ],
    error: &[
        "upstream timeout after 3000ms",
        "connection refused: redis-cache:6379",
        "GET /api/orders 502 {ms}ms upstream payments-api unavailable",
    ],
};

const PAYMENTS: Voice = Voice {
    info: &[
        "POST /v1/charges 200 {ms}ms",
        "POST /v1/charges 200 {ms}ms",
        "GET /v1/charges/ch_{hex} 200 {ms}ms",
        "webhook delivered to merchant m_{n} in {ms}ms",
        "refund re_{hex} created",
    ],
    warn: &[
        "issuer slow to respond: {ms}ms",
        "idempotency key reused: key_{hex}",
        "retrying charge ch_{hex} (attempt {n}/3)",
    ],
    error: &[
        "card authorization failed: issuer unavailable",
        "card authorization failed: issuer unavailable (issuer=visa-eu-2, merchant=m_{n}, request_id=req_{hex}, retry_in=30s, circuit=half-open)",
        "upstream timeout after 3000ms",
        "database deadlock detected, transaction rolled back",
    ],
};

const AUTH: Voice = Voice {
    info: &[
        "POST /oauth/token 200 {ms}ms",
        "POST /oauth/token 200 {ms}ms",
        "session refreshed for user u{n}",
        "GET /.well-known/jwks.json 200 {ms}ms",
    ],
    warn: &["invalid password for user u{n}", "expired token presented by client app-{n}", "ldap slow to bind: {ms}ms"],
    error: &[
        "ldap bind failed: connection reset by peer",
        "connection refused: redis-cache:6379",
        "upstream timeout after 3000ms",
    ],
};

const SEARCH: Voice = Voice {
    info: &[
        "GET /search?q=espresso 200 {ms}ms",
        "GET /search?q=decaf 200 {ms}ms",
        "index segment merged ({n} docs)",
        "refreshed index products in {ms}ms",
    ],
    warn: &["GC pause {ms}ms", "heap usage {pct}% of max", "query took {ms}ms, over the 500ms budget"],
    error: &[
        "java.lang.OutOfMemoryError: Java heap space at org.pipilu.search.index.SegmentMerger.merge(SegmentMerger.java:214) at org.pipilu.search.index.IndexWriter.flush(IndexWriter.java:988) at org.pipilu.search.http.QueryHandler.handle(QueryHandler.java:77) at java.base/java.lang.Thread.run(Thread.java:1583)",
        "query timeout after 3000ms",
        "circuit breaker tripped: [parent] data too large",
    ],
};

const LOADBALANCERS: Voice = Voice {
    info: &[
        "GET /api/orders -> latte:8080 200 {ms}ms",
        "POST /v1/charges -> payments-api:8443 200 {ms}ms",
        "POST /checkout -> checkout:8080 200 {ms}ms",
        "health check passed for backend latte/{n}",
    ],
    warn: &["backend payments-api slow: {ms}ms", "retrying request on another backend (attempt {n}/2)"],
    error: &[
        "502 Bad Gateway: no healthy upstream for search",
        "upstream timeout after 3000ms",
        "connection refused: checkout:8080",
    ],
};

const CHECKOUT: Voice = Voice {
    info: &["POST /checkout 200 {ms}ms", "cart c_{hex} checked out", "GET /checkout/summary 200 {ms}ms"],
    warn: &["inventory check slow: {ms}ms", "retrying payments-api (attempt {n}/3)"],
    error: &[
        "payment declined: card authorization failed",
        "connection refused: payments-api:8443",
        "upstream timeout after 3000ms",
    ],
};

fn voice(service: &str) -> &'static Voice {
    match service {
        "latte" => &LATTE,
        "payments-api" => &PAYMENTS,
        "auth" => &AUTH,
        "search" => &SEARCH,
        "loadbalancers" => &LOADBALANCERS,
        _ => &CHECKOUT,
    }
}

/// A level as users and query languages spell it, in the demo's spelling.
fn normalize_level(level: &str) -> Option<&'static str> {
    Some(match level.trim().to_ascii_lowercase().as_str() {
        "error" | "errors" | "err" | "fatal" => "error",
        "warn" | "warning" | "warnings" => "warn",
        "info" => "info",
        "debug" => "debug",
        _ => return None,
    })
}

/// Fills a template's placeholders from a hash.
fn fill(template: &str, h: u64) -> String {
    let ms = 3 + (h % 97) + ((h >> 8) % 4) * ((h >> 12) % 120);
    template
        .replace("{ms}", &ms.to_string())
        .replace("{n}", &(1 + (h >> 20) % 250).to_string())
        .replace("{hex}", &format!("{:08x}", (h >> 24) as u32))
        .replace("{pct}", &(60 + (h >> 36) % 39).to_string())
}

fn pick(options: &'static [&'static str], h: u64) -> &'static str {
    options.get((h % options.len().max(1) as u64) as usize).copied().unwrap_or("")
}

/// Filters a candidate line: level, then literal case-insensitive words.
struct Filter {
    level: Option<&'static str>,
    needle: Option<String>,
}

impl Filter {
    fn level_ok(&self, level: &str) -> bool {
        self.level.is_none_or(|l| l == level)
    }

    fn text_ok(&self, message: &str) -> bool {
        self.needle.as_ref().is_none_or(|n| message.to_lowercase().contains(n))
    }
}

/// Lines of one instance in `[from, to)` that pass `filter`.
fn instance_lines(
    sim: &Sim<'_>,
    inst: &InstanceSim,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filter: &Filter,
) -> Vec<LogLine> {
    let name = format!("{}/{}", sim.svc.spec.name, inst.index);
    let voice = voice(sim.svc.spec.name);
    let svc_key = key(sim.svc.spec.name) ^ key(sim.env.spec.name).rotate_left(7);
    let mut out = Vec::new();
    let first = from.timestamp_millis().div_euclid(SLOT_MS);
    let last = to.timestamp_millis().div_euclid(SLOT_MS);
    for slot in first..=last {
        let h = hash(&[sim.seed, svc_key, u64::from(inst.index), slot as u64]);
        if h % 100 >= DENSITY {
            continue;
        }
        let Some(ts) = DateTime::from_timestamp_millis(slot * SLOT_MS + ((h >> 40) % SLOT_MS as u64) as i64) else {
            continue;
        };
        if ts < from || ts >= to || !inst.running_at(ts) {
            continue;
        }
        let p_error = (sim.error_ratio(inst, ts) * 6.0).clamp(0.005, 0.6);
        let roll = unit(h.rotate_left(29));
        let (level, options) = if roll < p_error {
            ("error", voice.error)
        } else if roll < p_error + 0.06 {
            ("warn", voice.warn)
        } else {
            ("info", voice.info)
        };
        if !filter.level_ok(level) {
            continue;
        }
        let message = fill(pick(options, h >> 3), h.rotate_left(13));
        if filter.text_ok(&message) {
            out.push(LogLine { ts, level: level.to_string(), instance: name.clone(), message });
        }
    }
    out.extend(
        event_lines(sim, inst, &name, from, to)
            .into_iter()
            .filter(|l| filter.level_ok(&l.level) && filter.text_ok(&l.message)),
    );
    out
}

/// Start and crash lines where the instance's epochs begin.
fn event_lines(sim: &Sim<'_>, inst: &InstanceSim, name: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<LogLine> {
    inst.epochs
        .iter()
        .filter(|e| e.start >= from && e.start < to)
        .map(|e| {
            let (level, message) = match e.state {
                InstanceState::Running if e.restarted => {
                    ("info", "instance started after restart, listening on :8080".to_string())
                }
                InstanceState::Running | InstanceState::Starting => {
                    ("info", "instance started, listening on :8080".to_string())
                }
                InstanceState::Crashed | InstanceState::Down => {
                    let reason = inst.last_termination.as_deref().unwrap_or("crashed");
                    let quota = crate::format::bytes(sim.svc.spec.mem_quota);
                    ("error", format!("instance exited: {reason} (exit status 137, memory quota {quota})"))
                }
            };
            LogLine { ts: e.start, level: level.to_string(), instance: name.to_string(), message }
        })
        .collect()
}

#[async_trait]
impl LogsBackend for DemoLogs {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn query(&self, q: &LogQuery) -> Result<LogResult, BackendError> {
        let call = format!("query logs {}", q.service);
        super::metrics::check_window(q.window, &call)?;
        if q.window.to - q.window.from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(BackendError::new(
                BACKEND_NAME,
                &call,
                format!("windows longer than {MAX_WINDOW_DAYS} days are not kept"),
            ));
        }
        let level = match q.level.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
            None => None,
            Some(l) => Some(normalize_level(l).ok_or_else(|| {
                BackendError::new(BACKEND_NAME, &call, format!("unknown level '{l}' (use error, warn, info or debug)"))
            })?),
        };
        let needle = q.query.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
        let filter = Filter { level, needle };

        let estate = self.0.read();
        let env = env_of(&estate, q.env.as_deref(), &call)?;
        let svc = env
            .service(&q.service)
            .ok_or_else(|| BackendError::not_found(BACKEND_NAME, &call, format!("service '{}'", q.service)))?;
        let sim = Sim { seed: self.0.seed, start: self.0.start, env, svc };
        let mut lines: Vec<LogLine> = svc
            .instances
            .iter()
            .flat_map(|inst| instance_lines(&sim, inst, q.window.from, q.window.to, &filter))
            .collect();
        drop(estate);

        let total = lines.len() as u64;
        lines.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| a.instance.cmp(&b.instance)));
        lines.truncate(q.limit);
        Ok(LogResult { lines, total })
    }
}

#[cfg(test)]
mod tests {
    use crate::backends::LogQuery;
    use crate::demo::testing::{Fixture, t0};
    use crate::skill::Window;
    use chrono::Duration;

    fn q(service: &str, minutes: i64) -> LogQuery {
        LogQuery {
            service: service.to_string(),
            env: None,
            window: Window { from: t0() - Duration::minutes(minutes), to: t0() },
            query: None,
            level: None,
            limit: 20,
        }
    }

    #[tokio::test]
    async fn newest_first_limited_with_total() {
        let fx = Fixture::new();
        let r = fx.backends.logs.query(&q("latte", 15)).await.unwrap();
        assert_eq!(r.lines.len(), 20);
        assert!(r.total > 300 && r.total < 1200, "about one line per 2 s per instance: {}", r.total);
        assert!(r.lines.windows(2).all(|w| w[0].ts >= w[1].ts));
        assert!(r.lines.iter().all(|l| l.ts < t0() && l.ts >= t0() - Duration::minutes(15)));
        assert!(r.lines.iter().any(|l| l.instance == "latte/0") && r.lines.iter().any(|l| l.instance == "latte/1"));
        let again = fx.backends.logs.query(&q("latte", 15)).await.unwrap();
        assert_eq!(r, again);
    }

    #[tokio::test]
    async fn filters_by_level_and_words() {
        let fx = Fixture::new();
        let all = fx.backends.logs.query(&q("payments-api", 60)).await.unwrap();
        let errors =
            fx.backends.logs.query(&LogQuery { level: Some("errors".into()), ..q("payments-api", 60) }).await.unwrap();
        assert!(errors.total > 0 && errors.total < all.total);
        assert!(errors.lines.iter().all(|l| l.level == "error"));
        let issuer = fx
            .backends
            .logs
            .query(&LogQuery { query: Some("ISSUER Unavailable".into()), ..q("payments-api", 60) })
            .await
            .unwrap();
        assert!(issuer.total > 0 && issuer.total <= errors.total);
        assert!(issuer.lines.iter().all(|l| l.message.to_lowercase().contains("issuer unavailable")));
        let none = fx
            .backends
            .logs
            .query(&LogQuery { query: Some("no such words .*".into()), ..q("payments-api", 60) })
            .await
            .unwrap();
        assert_eq!((none.total, none.lines.len()), (0, 0));
    }

    #[tokio::test]
    async fn crash_and_restart_show_in_the_logs() {
        let fx = Fixture::new();
        let crash =
            fx.backends.logs.query(&LogQuery { query: Some("OOMKilled".into()), ..q("search", 30) }).await.unwrap();
        assert_eq!(crash.total, 1);
        assert_eq!(crash.lines[0].instance, "search/1");
        assert_eq!(crash.lines[0].ts, t0() - Duration::minutes(12));
        // Nothing from the crashed instance after the crash.
        let recent = fx.backends.logs.query(&LogQuery { limit: 10_000, ..q("search", 10) }).await.unwrap();
        assert!(recent.lines.iter().all(|l| l.instance == "search/0"));

        fx.backends.services.restart("search", None).await.unwrap();
        fx.advance(Duration::minutes(1));
        let mut after = q("search", 2);
        after.window.to = fx.now();
        after.window.from = fx.now() - Duration::minutes(2);
        after.query = Some("after restart".into());
        let started = fx.backends.logs.query(&after).await.unwrap();
        assert_eq!(started.total, 2);
    }

    #[tokio::test]
    async fn rejects_bad_level_long_window_and_unknown_service() {
        let fx = Fixture::new();
        let logs = &fx.backends.logs;
        assert!(logs.query(&LogQuery { level: Some("loud".into()), ..q("latte", 5) }).await.is_err());
        assert!(logs.query(&q("latte", 8 * 24 * 60)).await.is_err());
        assert!(logs.query(&q("lattee", 5)).await.unwrap_err().not_found);
    }
}
