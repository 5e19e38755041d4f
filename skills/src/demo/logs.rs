//! Logs: a deterministic generator of realistic lines per service, shaped by the
//! estate (no lines from a crashed instance, more errors in error bursts, start
//! and crash lines where instances started or died).
//!
//! Time is cut into 2-second slots; whether a slot has a line, its level and its
//! text all come from a hash of (seed, service, instance, slot), so any window is
//! generated on its own and the same window always gives the same lines.
//!
//! A search formats as little as it can: a slot's possible levels come from its
//! hash, its template's words are matched against the query once per template
//! (a line is formatted only when the query could fall on its numbers), lines
//! are counted without being built, and only the newest `limit` are formatted.
//! The test module keeps the straightforward generator it must agree with.

use super::estate::{InstanceSim, Sim};
use super::noise::{hash, hash_more, key, unit};
use super::services::env_of;
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{BackendError, InstanceState, LogLine, LogQuery, LogResult, LogsBackend};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::collections::VecDeque;
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

/// Bounds of the share of lines that are errors, and the share of warnings above it.
const P_ERROR_MIN: f64 = 0.005;
const P_ERROR_MAX: f64 = 0.6;
const P_WARN: f64 = 0.06;

/// The line levels the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    const ALL: [Level; 3] = [Level::Info, Level::Warn, Level::Error];

    fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// The level of a line with hash `h` when the instance's error ratio is `ratio`.
    fn of(ratio: f64, h: u64) -> Level {
        let p_error = (ratio * 6.0).clamp(P_ERROR_MIN, P_ERROR_MAX);
        let roll = Level::roll(h);
        if roll < p_error {
            Level::Error
        } else if roll < p_error + P_WARN {
            Level::Warn
        } else {
            Level::Info
        }
    }

    fn roll(h: u64) -> f64 {
        unit(h.rotate_left(29))
    }

    /// The levels [`Level::of`] can give a line with hash `h` at some error
    /// ratio, by `Level as usize`: the error share is clamped, so a high roll
    /// is never an error and a low one never info, whatever the ratio.
    fn possible(h: u64) -> [bool; 3] {
        let roll = Level::roll(h);
        [roll >= P_ERROR_MIN + P_WARN, (P_ERROR_MIN..P_ERROR_MAX + P_WARN).contains(&roll), roll < P_ERROR_MAX]
    }

    fn templates(self, voice: &'static Voice) -> &'static [&'static str] {
        match self {
            Level::Info => voice.info,
            Level::Warn => voice.warn,
            Level::Error => voice.error,
        }
    }
}

/// The placeholders [`fill`] knows.
const PLACEHOLDERS: [&str; 4] = ["{ms}", "{n}", "{hex}", "{pct}"];

/// Fills a template's placeholders from a hash.
fn fill(template: &str, h: u64) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    fill_into(&mut out, template, h);
    out
}

/// [`fill`], appending to `out`: `{ms}`, `{n}`, `{hex}` and `{pct}` become numbers
/// (the same for every occurrence in a line), anything else is copied.
fn fill_into(out: &mut String, template: &str, h: u64) {
    use std::fmt::Write as _;
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let Some(placeholder) = PLACEHOLDERS.iter().find(|p| rest.starts_with(**p)) else {
            out.push('{');
            rest = &rest[1..];
            continue;
        };
        // Writing to a String cannot fail.
        let _ = match *placeholder {
            "{ms}" => write!(out, "{}", 3 + (h % 97) + ((h >> 8) % 4) * ((h >> 12) % 120)),
            "{n}" => write!(out, "{}", 1 + (h >> 20) % 250),
            "{hex}" => write!(out, "{:08x}", (h >> 24) as u32),
            _ => write!(out, "{}", 60 + (h >> 36) % 39),
        };
        rest = &rest[placeholder.len()..];
    }
    out.push_str(rest);
}

fn pick(options: &'static [&'static str], h: u64) -> &'static str {
    options.get(pick_index(options, h)).copied().unwrap_or("")
}

fn pick_index(options: &[&str], h: u64) -> usize {
    (h % options.len().max(1) as u64) as usize
}

/// Whether a template's lines can contain the searched words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextMatch {
    /// Every line from it: the words are in its fixed text.
    Always,
    /// No line from it.
    Never,
    /// Depends on the numbers filled in: format and look.
    Check,
}

impl TextMatch {
    /// How lines from `template` match the lowercase `needle`.
    ///
    /// A filled line is the template's fixed pieces with numbers (digits, and
    /// lowercase hex digits for `{hex}`) between them. A match that touches no
    /// number lies inside one fixed piece; any other match contains a character
    /// of a number. So: the needle in a fixed piece matches always; a needle with
    /// no character a number could have never matches; the rest are checked line
    /// by line. Non-ASCII templates (lowercasing that depends on neighbours) are
    /// always checked.
    fn of(template: &str, needle: Option<&str>) -> TextMatch {
        let Some(needle) = needle else { return TextMatch::Always };
        if !template.is_ascii() {
            return TextMatch::Check;
        }
        let (mut digits, mut hex) = (false, false);
        let mut rest = template;
        loop {
            let next = PLACEHOLDERS.iter().filter_map(|p| rest.find(p).map(|at| (at, *p))).min();
            let piece = next.map_or(rest, |(at, _)| &rest[..at]);
            if piece.to_ascii_lowercase().contains(needle) {
                return TextMatch::Always;
            }
            let Some((at, placeholder)) = next else { break };
            digits = true;
            hex |= placeholder == "{hex}";
            rest = &rest[at + placeholder.len()..];
        }
        let numeric = |c: char| (digits && c.is_ascii_digit()) || (hex && matches!(c, 'a'..='f'));
        if needle.chars().any(numeric) { TextMatch::Check } else { TextMatch::Never }
    }
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

/// How one service's generated lines are matched: per level, whether it is
/// wanted and, per template (by [`pick_index`]), how its text matches.
struct Matcher {
    voice: &'static Voice,
    /// By `Level as usize` (the order of [`Level::ALL`]); `None` for a level
    /// the filter drops.
    levels: [Option<Vec<TextMatch>>; 3],
    /// Whether a line's level must be known to match it.
    needs_level: bool,
}

impl Matcher {
    fn new(voice: &'static Voice, filter: &Filter) -> Matcher {
        let levels = Level::ALL.map(|level| {
            filter.level_ok(level.name()).then(|| {
                let options = level.templates(voice);
                (0..options.len().max(1))
                    .map(|i| TextMatch::of(options.get(i).copied().unwrap_or(""), filter.needle.as_deref()))
                    .collect()
            })
        });
        Matcher { voice, levels, needs_level: filter.level.is_some() || filter.needle.is_some() }
    }

    /// Whether a line with hash `h` can match at all, from its hash alone: one
    /// of the levels it can have is wanted, with a template that can match.
    fn may_match(&self, h: u64) -> bool {
        let possible = Level::possible(h);
        Level::ALL.into_iter().any(|level| {
            possible[level as usize]
                && self.levels[level as usize]
                    .as_ref()
                    .is_some_and(|matches| matches[pick_index(level.templates(self.voice), h >> 3)] != TextMatch::Never)
        })
    }
}

/// A generated line kept for the result, by its slot hash (its level and text
/// are worked out again only if it is among the newest).
#[derive(Debug, Clone, Copy)]
struct Slot {
    ts: DateTime<Utc>,
    h: u64,
}

/// One instance's matches in a window: how many, the newest `limit` generated
/// lines (oldest first) and its start and crash lines.
struct InstanceMatches {
    total: u64,
    newest: VecDeque<Slot>,
    events: Vec<LogLine>,
}

/// The matches of one instance in `[from, to)`; only the newest `limit`
/// generated lines are kept, and none is formatted unless its text decides
/// whether it matches.
fn instance_matches(
    sim: &Sim<'_>,
    inst: &InstanceSim,
    window: (DateTime<Utc>, DateTime<Utc>),
    filter: &Filter,
    matcher: &Matcher,
    limit: usize,
) -> InstanceMatches {
    let (from, to) = window;
    let prefix = hash(&[sim.seed, slot_key(sim), u64::from(inst.index)]);
    let mut ratios = sim.error_ratios(inst);
    let mut total = 0;
    let mut newest = VecDeque::with_capacity(limit.min(1024) + 1);
    let mut scratch = String::new();
    let first = from.timestamp_millis().div_euclid(SLOT_MS);
    let last = to.timestamp_millis().div_euclid(SLOT_MS);
    for slot in first..=last {
        let h = hash_more(prefix, slot as u64);
        if h % 100 >= DENSITY {
            continue;
        }
        if matcher.needs_level && !matcher.may_match(h) {
            continue;
        }
        let Some(ts) = DateTime::from_timestamp_millis(slot * SLOT_MS + ((h >> 40) % SLOT_MS as u64) as i64) else {
            continue;
        };
        if ts < from || ts >= to {
            continue;
        }
        if matcher.needs_level {
            let Some(ratio) = ratios.when_running(ts) else { continue };
            let level = Level::of(ratio, h);
            let Some(matches) = &matcher.levels[level as usize] else { continue };
            let options = level.templates(matcher.voice);
            let index = pick_index(options, h >> 3);
            match matches[index] {
                TextMatch::Always => {}
                TextMatch::Never => continue,
                TextMatch::Check => {
                    scratch.clear();
                    fill_into(&mut scratch, pick(options, h >> 3), h.rotate_left(13));
                    if !filter.text_ok(&scratch) {
                        continue;
                    }
                }
            }
        } else if !inst.running_at(ts) {
            continue;
        }
        total += 1;
        newest.push_back(Slot { ts, h });
        if newest.len() > limit {
            newest.pop_front();
        }
    }
    let events: Vec<LogLine> = event_lines(sim, inst, &instance_name(sim, inst), from, to)
        .into_iter()
        .filter(|l| filter.level_ok(&l.level) && filter.text_ok(&l.message))
        .collect();
    total += events.len() as u64;
    InstanceMatches { total, newest, events }
}

/// The hash key of a service's lines in an environment.
fn slot_key(sim: &Sim<'_>) -> u64 {
    key(sim.svc.spec.name) ^ key(sim.env.spec.name).rotate_left(7)
}

fn instance_name(sim: &Sim<'_>, inst: &InstanceSim) -> String {
    format!("{}/{}", sim.svc.spec.name, inst.index)
}

/// The line a kept slot stands for.
fn slot_line(sim: &Sim<'_>, inst: &InstanceSim, voice: &'static Voice, name: &str, slot: Slot) -> LogLine {
    let Slot { ts, h } = slot;
    let level = Level::of(sim.error_ratio(inst, ts), h);
    let message = fill(pick(level.templates(voice), h >> 3), h.rotate_left(13));
    LogLine { ts, level: level.name().to_string(), instance: name.to_string(), message }
}

/// The newest `limit` matching lines of a service (newest first, then by
/// instance name) and the count of all matches.
fn search(sim: &Sim<'_>, window: (DateTime<Utc>, DateTime<Utc>), filter: &Filter, limit: usize) -> LogResult {
    let voice = voice(sim.svc.spec.name);
    let matcher = Matcher::new(voice, filter);
    let per_instance: Vec<(&InstanceSim, String, InstanceMatches)> = sim
        .svc
        .instances
        .iter()
        .map(|inst| (inst, instance_name(sim, inst), instance_matches(sim, inst, window, filter, &matcher, limit)))
        .collect();
    let total = per_instance.iter().map(|(_, _, m)| m.total).sum();

    /// A kept line: its instance (index into `per_instance`), its place in that
    /// instance's lines (generated oldest first, then events) and what it is.
    enum Kept<'m> {
        Slot(Slot),
        Event(&'m LogLine),
    }
    let mut kept: Vec<(DateTime<Utc>, usize, usize, Kept<'_>)> = Vec::new();
    for (i, (_, _, m)) in per_instance.iter().enumerate() {
        let slots = m.newest.iter().map(|s| (s.ts, Kept::Slot(*s)));
        let events = m.events.iter().map(|l| (l.ts, Kept::Event(l)));
        kept.extend(slots.chain(events).enumerate().map(|(seq, (ts, k))| (ts, i, seq, k)));
    }
    // Newest first, then by instance name; equal lines keep their instance's order.
    kept.sort_unstable_by(|a, b| {
        b.0.cmp(&a.0).then_with(|| per_instance[a.1].1.cmp(&per_instance[b.1].1)).then_with(|| a.2.cmp(&b.2))
    });
    kept.truncate(limit);
    let lines = kept
        .into_iter()
        .map(|(_, i, _, k)| match k {
            Kept::Slot(slot) => slot_line(sim, per_instance[i].0, voice, &per_instance[i].1, slot),
            Kept::Event(line) => line.clone(),
        })
        .collect();
    LogResult { lines, total }
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
        Ok(search(&sim, (q.window.from, q.window.to), &filter, q.limit))
    }
}

#[cfg(test)]
mod tests {
    use crate::backends::LogQuery;
    use crate::demo::testing::{Fixture, t0};
    use crate::skill::Window;
    use chrono::Duration;

    /// The straightforward generator the fast search must agree with: every
    /// line of the window formatted, filtered, sorted, cut.
    mod reference {
        use super::super::*;

        fn fill(template: &str, h: u64) -> String {
            let ms = 3 + (h % 97) + ((h >> 8) % 4) * ((h >> 12) % 120);
            template
                .replace("{ms}", &ms.to_string())
                .replace("{n}", &(1 + (h >> 20) % 250).to_string())
                .replace("{hex}", &format!("{:08x}", (h >> 24) as u32))
                .replace("{pct}", &(60 + (h >> 36) % 39).to_string())
        }

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
                let Some(ts) = DateTime::from_timestamp_millis(slot * SLOT_MS + ((h >> 40) % SLOT_MS as u64) as i64)
                else {
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

        pub(super) fn search(
            sim: &Sim<'_>,
            (from, to): (DateTime<Utc>, DateTime<Utc>),
            filter: &Filter,
            limit: usize,
        ) -> LogResult {
            let mut lines: Vec<LogLine> =
                sim.svc.instances.iter().flat_map(|inst| instance_lines(sim, inst, from, to, filter)).collect();
            let total = lines.len() as u64;
            lines.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| a.instance.cmp(&b.instance)));
            lines.truncate(limit);
            LogResult { lines, total }
        }

        pub(super) fn fill_reference(template: &str, h: u64) -> String {
            fill(template, h)
        }
    }

    #[test]
    fn fill_matches_the_replace_chain() {
        use super::{AUTH, CHECKOUT, LATTE, LOADBALANCERS, PAYMENTS, SEARCH, Voice, fill};
        use crate::demo::noise::mix;
        let voices: [&Voice; 6] = [&LATTE, &PAYMENTS, &AUTH, &SEARCH, &LOADBALANCERS, &CHECKOUT];
        let odd = ["", "{", "}{", "{x}{ms", "{{n}}", "a{pct}b{hex}{hex}c{ms}{n}", "{ms}{ms}"];
        let templates = voices.iter().flat_map(|v| v.info.iter().chain(v.warn).chain(v.error).copied()).chain(odd);
        for template in templates {
            for i in 0..200 {
                let h = mix(i);
                assert_eq!(fill(template, h), reference::fill_reference(template, h), "{template}");
            }
        }
    }

    #[test]
    fn possible_levels_include_the_level_at_any_ratio() {
        use super::Level;
        use crate::demo::noise::mix;
        let ratios = [0.0, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.11, 0.2, 1.0, 10.0];
        for i in 0..20_000 {
            let h = mix(i);
            for ratio in ratios {
                assert!(Level::possible(h)[Level::of(ratio, h) as usize], "h={h} ratio={ratio}");
            }
        }
    }

    #[test]
    fn text_match_decides_from_the_template_when_it_can() {
        use super::TextMatch::{self, Always, Check, Never};
        let of = |template: &str, needle: &str| TextMatch::of(template, Some(needle));
        assert_eq!(TextMatch::of("GET /api/menu 200 {ms}ms", None), Always);
        assert_eq!(of("GET /api/menu 200 {ms}ms", "api/menu 2"), Always);
        assert_eq!(of("GET /api/menu 200 {ms}ms", "ms"), Always);
        assert_eq!(of("GET /api/menu 200 {ms}ms", "00 1"), Check);
        assert_eq!(of("GET /api/menu 200 {ms}ms", "menu 200 ms"), Check);
        assert_eq!(of("GET /api/menu 200 {ms}ms", "menu ms"), Never);
        assert_eq!(of("refund re_{hex} created", "re_ab"), Check);
        assert_eq!(of("session refreshed for user u{n}", "u a"), Never);
        assert_eq!(of("upstream timeout after 3000ms", "3001"), Never);
        assert_eq!(of("{MS} {x}", "{ms} {x}"), Always);
    }

    #[test]
    fn fast_search_agrees_with_the_reference() {
        use super::{Filter, normalize_level, search};
        use crate::demo::catalog::SERVICES;
        use crate::demo::estate::{Estate, Sim};

        // A start with nanoseconds, like the wall clock's, and one on the second.
        for (seed, start) in [(42, t0()), (7, t0() + Duration::nanoseconds(123_456_789))] {
            let mut estate = Estate::new(start);
            // Restarts about 5 minutes in (search/1 is crashed at the start), on
            // the millisecond of a generated search/0 line, so that its start
            // line ties with it and the order of equal lines is tested too.
            let restart_at = {
                let env = estate.env(None).unwrap();
                let sim = Sim { seed, start, env, svc: env.service("search").unwrap() };
                let from = start + Duration::minutes(5);
                let no_filter = Filter { level: None, needle: None };
                let lines = reference::search(&sim, (from, from + Duration::minutes(1)), &no_filter, usize::MAX).lines;
                lines.iter().rev().find(|l| l.instance == "search/0").unwrap().ts
            };
            for inst in &mut estate.env_mut(None).unwrap().service_mut("search").unwrap().instances {
                inst.restart(restart_at);
            }
            let windows = [
                (start - Duration::minutes(15), start),
                (start - Duration::minutes(30), start),
                (start - Duration::hours(1), start),
                (start - Duration::minutes(13), start - Duration::minutes(11)),
                (start + Duration::seconds(3) + Duration::microseconds(1500), start + Duration::minutes(9)),
                (start - Duration::seconds(1), start - Duration::milliseconds(999)),
            ];
            let levels = [None, Some("errors"), Some("warn"), Some("info"), Some("debug")];
            let queries = [
                None,
                Some("ISSUER Unavailable"),
                Some("ms"),
                Some("0ms"),
                Some("200 1"),
                Some("ch_a"),
                Some("e"),
                Some("7"),
                Some("/"),
                Some("attempt 2/3"),
                Some("OOMKilled"),
                Some("after restart"),
                Some("no such words .*"),
                Some("É"),
            ];
            for env in &estate.envs {
                for spec in SERVICES {
                    let svc = env.service(spec.name).unwrap();
                    let sim = Sim { seed, start, env, svc };
                    for (w, &window) in windows.iter().enumerate() {
                        for level in levels {
                            for query in queries {
                                // Every combination would be slow; a spread of them.
                                if (w + level.map_or(0, str::len) + query.map_or(0, str::len)) % 3 != 0
                                    && !(query.is_none() || level.is_none())
                                {
                                    continue;
                                }
                                let filter = || Filter {
                                    level: level.and_then(normalize_level),
                                    needle: query.map(str::to_lowercase),
                                };
                                let all = reference::search(&sim, window, &filter(), usize::MAX);
                                for limit in [0, 1, 20, usize::MAX] {
                                    let fast = search(&sim, window, &filter(), limit);
                                    let case = format!(
                                        "{} {} window {w} level {level:?} query {query:?} limit {limit}",
                                        env.spec.name, spec.name
                                    );
                                    assert_eq!(fast.total, all.total, "{case}");
                                    assert_eq!(fast.lines.len(), all.lines.len().min(limit), "{case}");
                                    for (i, (a, b)) in fast.lines.iter().zip(&all.lines).enumerate() {
                                        assert_eq!(a, b, "{case}, line {i}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

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

        fx.backends.services.restart("search", None, &crate::backends::Progress::none()).await.unwrap();
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
