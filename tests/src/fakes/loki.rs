//! Fake Loki: seeded streams, and the two query endpoints pipilu uses
//! (`/loki/api/v1/query_range` for lines, `/loki/api/v1/query` for the count).
//!
//! Queries are parsed the way Loki's lexer reads them: string literals are Go
//! strings (double-quoted with escapes, or backquoted raw), so a test can prove
//! that hostile input survives the client's escaping literally. The subset
//! understood: `{a="x", b!="y"}` selectors, `|=`/`!=` line filters, `| logfmt`,
//! `| json`, `| field="x"` label filters, and `sum(count_over_time(<log> [dur]))`.
//! Anything else is rejected with 400 and Loki's `parse error at line 1, col N: ...`.

use super::FaultSwitch;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

/// A fake Loki; clones share state.
#[derive(Clone, Default)]
pub struct LokiFake {
    state: Arc<Mutex<LokiState>>,
    /// Fault injected into every answer.
    pub faults: FaultSwitch,
}

/// A stream: its labels and its lines (nanosecond timestamp, text).
type Stream = (BTreeMap<String, String>, Vec<(i64, String)>);

#[derive(Default)]
struct LokiState {
    streams: Vec<Stream>,
    queries: Vec<String>,
    parsed: Vec<Parsed>,
}

impl LokiFake {
    /// An empty Loki.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LokiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a stream with `labels` and its `lines`.
    pub fn seed(&self, labels: &[(&str, &str)], lines: &[(DateTime<Utc>, &str)]) {
        let labels = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lines = lines.iter().map(|(t, l)| (t.timestamp_nanos_opt().unwrap_or(0), l.to_string())).collect();
        self.lock().streams.push((labels, lines));
    }

    /// Every query string received, raw.
    pub fn queries(&self) -> Vec<String> {
        self.lock().queries.clone()
    }

    /// The `|=` filters of every query that parsed, unescaped as Loki would.
    pub fn line_filters(&self) -> Vec<String> {
        self.lock()
            .parsed
            .iter()
            .flat_map(|p| p.log.stages.iter())
            .filter_map(|s| match s {
                Stage::Contains(x) => Some(x.clone()),
                _ => None,
            })
            .collect()
    }

    /// The selector matchers (`name`, `=` or `!=`, value) of every query that parsed.
    pub fn matchers(&self) -> Vec<(String, String, String)> {
        self.lock()
            .parsed
            .iter()
            .flat_map(|p| p.log.matchers.iter())
            .map(|m| (m.name.clone(), if m.eq { "=" } else { "!=" }.to_string(), m.value.clone()))
            .collect()
    }

    /// The API as an axum router.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/loki/api/v1/query_range", get(query_range))
            .route("/loki/api/v1/query", get(query_instant))
            .with_state(self.clone())
    }
}

fn bad(msg: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, msg.into()).into_response()
}

/// The parsed query, or the 400 body.
fn parse_logged(fake: &LokiFake, params: &HashMap<String, String>) -> Result<Parsed, String> {
    let q = params.get("query").ok_or("query parameter is required")?;
    fake.lock().queries.push(q.clone());
    let parsed = parse(q).map_err(|e| e.to_string())?;
    fake.lock().parsed.push(parsed.clone());
    Ok(parsed)
}

/// An integer parameter, or the 400 body.
fn int_param(params: &HashMap<String, String>, name: &str) -> Result<i64, String> {
    let v = params.get(name).ok_or_else(|| format!("fake loki: {name} is required"))?;
    v.parse::<i64>().map_err(|_| format!("invalid parameter \"{name}\": cannot parse \"{v}\" to a valid timestamp"))
}

async fn query_range(State(fake): State<LokiFake>, Query(params): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = fake.faults.get().apply().await {
        return r;
    }
    let parsed = match parse_logged(&fake, &params) {
        Ok(p) => p,
        Err(msg) => return bad(msg),
    };
    if parsed.range_ns.is_some() {
        return bad("fake loki: metric queries are only served by /loki/api/v1/query");
    }
    let (start, end) = match (int_param(&params, "start"), int_param(&params, "end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(msg), _) | (_, Err(msg)) => return bad(msg),
    };
    let limit: usize = params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    if params.get("direction").map(String::as_str) != Some("backward") {
        return bad("fake loki: only direction=backward is served");
    }
    let mut hits = fake.matching(&parsed.log, |ts| start <= ts && ts < end);
    hits.sort_by_key(|h| std::cmp::Reverse(h.1));
    hits.truncate(limit);
    let mut grouped: BTreeMap<BTreeMap<String, String>, Vec<(i64, String)>> = BTreeMap::new();
    for (labels, ts, line) in hits {
        grouped.entry(labels).or_default().push((ts, line));
    }
    let result: Vec<Value> = grouped
        .into_iter()
        .map(|(labels, values)| {
            json!({"stream": labels, "values": values.iter().map(|(t, l)| json!([t.to_string(), l])).collect::<Vec<_>>()})
        })
        .collect();
    axum::Json(json!({"status": "success", "data": {"resultType": "streams", "result": result, "stats": {}}}))
        .into_response()
}

async fn query_instant(State(fake): State<LokiFake>, Query(params): Query<HashMap<String, String>>) -> Response {
    if let Some(r) = fake.faults.get().apply().await {
        return r;
    }
    let parsed = match parse_logged(&fake, &params) {
        Ok(p) => p,
        Err(msg) => return bad(msg),
    };
    let Some(range) = parsed.range_ns else {
        return bad(
            "log queries are not supported as an instant query type, please change your query to a range query type",
        );
    };
    let time = match int_param(&params, "time") {
        Ok(t) => t,
        Err(msg) => return bad(msg),
    };
    let n = fake.matching(&parsed.log, |ts| time - range < ts && ts <= time).len();
    let result = if n == 0 { vec![] } else { vec![json!({"metric": {}, "value": [time as f64 / 1e9, n.to_string()]})] };
    axum::Json(json!({"status": "success", "data": {"resultType": "vector", "result": result, "stats": {}}}))
        .into_response()
}

impl LokiFake {
    /// Entries matching `log` whose time passes `when`: final labels, ts, line.
    fn matching(&self, log: &LogExpr, when: impl Fn(i64) -> bool) -> Vec<(BTreeMap<String, String>, i64, String)> {
        let st = self.lock();
        let mut out = Vec::new();
        for (labels, lines) in &st.streams {
            let selected = log.matchers.iter().all(|m| {
                let v = labels.get(&m.name).map(String::as_str).unwrap_or("");
                (v == m.value) == m.eq
            });
            if !selected {
                continue;
            }
            'line: for (ts, line) in lines.iter().filter(|(ts, _)| when(*ts)) {
                let mut labels = labels.clone();
                for stage in &log.stages {
                    match stage {
                        Stage::Contains(s) if !line.contains(s.as_str()) => continue 'line,
                        Stage::NotContains(s) if line.contains(s.as_str()) => continue 'line,
                        Stage::Contains(_) | Stage::NotContains(_) => {}
                        Stage::Logfmt => extract(&mut labels, logfmt(line)),
                        Stage::Json => extract(&mut labels, json_fields(line)),
                        Stage::Label { name, eq, value } => {
                            if (labels.get(name).map(String::as_str).unwrap_or("") == value) != *eq {
                                continue 'line;
                            }
                        }
                    }
                }
                out.push((labels, *ts, line.clone()));
            }
        }
        out
    }
}

/// Adds extracted fields; a name that is already a stream label gets `_extracted`, as in Loki.
fn extract(labels: &mut BTreeMap<String, String>, fields: Vec<(String, String)>) {
    for (k, v) in fields {
        let k = if labels.contains_key(&k) { format!("{k}_extracted") } else { k };
        labels.insert(k, v);
    }
}

fn logfmt(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        let mut value = String::new();
        if let Some(r) = rest.strip_prefix('=') {
            rest = r;
            if let Some(r) = rest.strip_prefix('"') {
                let mut chars = r.char_indices();
                let mut end = r.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                rest = &r[end..];
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                value = rest[..end].to_string();
                rest = &rest[end..];
            }
        }
        if !key.is_empty() {
            out.push((key.to_string(), value));
        }
        rest = rest.trim_start();
    }
    out
}

fn json_fields(line: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                Value::Bool(b) => Some((k, b.to_string())),
                _ => None,
            })
            .collect(),
        _ => vec![("__error__".into(), "JSONParserErr".into())],
    }
}

// ---- the LogQL subset ----

#[derive(Debug, Clone)]
struct Parsed {
    log: LogExpr,
    /// `Some` for `sum(count_over_time(... [range]))`.
    range_ns: Option<i64>,
}

#[derive(Debug, Clone)]
struct LogExpr {
    matchers: Vec<Matcher>,
    stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
struct Matcher {
    name: String,
    eq: bool,
    value: String,
}

#[derive(Debug, Clone)]
enum Stage {
    Contains(String),
    NotContains(String),
    Logfmt,
    Json,
    Label { name: String, eq: bool, value: String },
}

#[derive(Debug)]
struct ParseError {
    col: usize,
    msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parse error at line 1, col {}: {}", self.col, self.msg)
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

fn parse(q: &str) -> Result<Parsed, ParseError> {
    let mut p = Parser { chars: q.chars().collect(), pos: 0 };
    let parsed = if p.peek_word() == "sum" {
        p.word("sum")?;
        p.expect("(")?;
        p.word("count_over_time")?;
        p.expect("(")?;
        let log = p.log_expr()?;
        p.expect("[")?;
        let range = p.duration()?;
        p.expect("]")?;
        p.expect(")")?;
        p.expect(")")?;
        Parsed { log, range_ns: Some(range) }
    } else {
        Parsed { log: p.log_expr()?, range_ns: None }
    };
    p.ws();
    if p.pos < p.chars.len() {
        return Err(p.err(format!("syntax error: unexpected {}", p.chars[p.pos])));
    }
    Ok(parsed)
}

impl Parser {
    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError { col: self.pos + 1, msg: msg.into() }
    }

    fn ws(&mut self) {
        while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        let t: Vec<char> = tok.chars().collect();
        if self.chars[self.pos..].starts_with(&t) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), ParseError> {
        if self.eat(tok) { Ok(()) } else { Err(self.err(format!("syntax error: expected {tok}"))) }
    }

    fn peek_word(&mut self) -> String {
        self.ws();
        self.chars[self.pos..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').collect()
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        let w = self.peek_word();
        if w.is_empty() || w.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.err("syntax error: expected identifier"));
        }
        self.pos += w.len();
        Ok(w)
    }

    fn word(&mut self, w: &str) -> Result<(), ParseError> {
        if self.peek_word() == w {
            self.pos += w.len();
            Ok(())
        } else {
            Err(self.err(format!("syntax error: expected {w}")))
        }
    }

    fn log_expr(&mut self) -> Result<LogExpr, ParseError> {
        self.expect("{")?;
        let mut matchers = Vec::new();
        loop {
            let name = self.ident()?;
            if self.eat("=~") || self.eat("!~") {
                return Err(self.err("fake loki: regex matchers are not supported"));
            }
            let eq = if self.eat("!=") {
                false
            } else if self.eat("=") {
                true
            } else {
                return Err(self.err("syntax error: unexpected IDENTIFIER, expecting = or != or =~ or !~"));
            };
            let value = self.string()?;
            matchers.push(Matcher { name, eq, value });
            if self.eat(",") {
                continue;
            }
            self.expect("}")?;
            break;
        }
        if !matchers.iter().any(|m| m.eq && !m.value.is_empty()) {
            return Err(self.err("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"));
        }
        let mut stages = Vec::new();
        loop {
            if self.eat("|=") {
                stages.push(Stage::Contains(self.string()?));
            } else if self.eat("!=") {
                stages.push(Stage::NotContains(self.string()?));
            } else if self.eat("|~") || self.eat("!~") {
                return Err(self.err("fake loki: regex line filters are not supported"));
            } else if self.eat("|") {
                let w = self.ident()?;
                match w.as_str() {
                    "logfmt" => stages.push(Stage::Logfmt),
                    "json" => stages.push(Stage::Json),
                    _ => {
                        let eq = if self.eat("!=") {
                            false
                        } else if self.eat("=") {
                            true
                        } else {
                            return Err(self.err("syntax error: unexpected IDENTIFIER"));
                        };
                        stages.push(Stage::Label { name: w, eq, value: self.string()? });
                    }
                }
            } else {
                break;
            }
        }
        Ok(LogExpr { matchers, stages })
    }

    fn duration(&mut self) -> Result<i64, ParseError> {
        self.ws();
        let mut total: i64 = 0;
        let start = self.pos;
        while self.pos < self.chars.len() && self.chars[self.pos].is_ascii_digit() {
            let n_start = self.pos;
            while self.pos < self.chars.len() && self.chars[self.pos].is_ascii_digit() {
                self.pos += 1;
            }
            let n: i64 = self.chars[n_start..self.pos]
                .iter()
                .collect::<String>()
                .parse()
                .map_err(|_| self.err("bad duration"))?;
            let unit: String = self.chars[self.pos..].iter().take_while(|c| c.is_ascii_alphabetic()).collect();
            let mult: i64 = match unit.as_str() {
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "d" => 86_400_000_000_000,
                _ => return Err(self.err(format!("not a valid duration string: unit \"{unit}\""))),
            };
            self.pos += unit.len();
            total = total.saturating_add(n.saturating_mul(mult));
        }
        if self.pos == start || total <= 0 {
            return Err(self.err("syntax error: expected a duration"));
        }
        Ok(total)
    }

    /// A Go string literal: `"..."` with escapes, or `` `...` `` raw.
    fn string(&mut self) -> Result<String, ParseError> {
        self.ws();
        let open = self.pos;
        match self.chars.get(self.pos) {
            Some('`') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    match self.chars.get(self.pos) {
                        None => return Err(ParseError { col: open + 1, msg: "literal not terminated".into() }),
                        Some('`') => {
                            self.pos += 1;
                            return Ok(s);
                        }
                        Some(&c) => {
                            s.push(c);
                            self.pos += 1;
                        }
                    }
                }
            }
            Some('"') => {
                self.pos += 1;
                let mut s = String::new();
                loop {
                    let Some(&c) = self.chars.get(self.pos) else {
                        return Err(ParseError { col: open + 1, msg: "literal not terminated".into() });
                    };
                    self.pos += 1;
                    match c {
                        '"' => return Ok(s),
                        '\n' => return Err(ParseError { col: open + 1, msg: "literal not terminated".into() }),
                        '\\' => s.push(self.escape()?),
                        c => s.push(c),
                    }
                }
            }
            _ => Err(self.err("syntax error: unexpected IDENTIFIER, expecting STRING")),
        }
    }

    fn escape(&mut self) -> Result<char, ParseError> {
        let Some(&c) = self.chars.get(self.pos) else {
            return Err(self.err("literal not terminated"));
        };
        self.pos += 1;
        let hex = |p: &mut Parser, n: usize| -> Result<char, ParseError> {
            let digits: String = p.chars.get(p.pos..p.pos + n).unwrap_or(&[]).iter().collect();
            let v = u32::from_str_radix(&digits, 16).map_err(|_| p.err("invalid char escape"))?;
            p.pos += n;
            char::from_u32(v).ok_or_else(|| p.err("escape sequence is invalid Unicode code point"))
        };
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            '"' => '"',
            'x' => {
                let ch = hex(self, 2)?;
                if !ch.is_ascii() {
                    return Err(self.err("fake loki: \\x escapes above 0x7f (raw bytes) are not supported"));
                }
                ch
            }
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            '0'..='7' => {
                let digits: String = self.chars.get(self.pos - 1..self.pos + 2).unwrap_or(&[]).iter().collect();
                let v = u32::from_str_radix(&digits, 8).map_err(|_| self.err("invalid char escape"))?;
                self.pos += 2;
                char::from_u32(v)
                    .filter(char::is_ascii)
                    .ok_or_else(|| self.err("fake loki: octal byte escapes above 0x7f are not supported"))?
            }
            _ => return Err(self.err("invalid char escape")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Stage, parse};

    #[test]
    fn go_strings_unquote() {
        let p = parse(r#"{app="a\"b"} |= "x\\y\n\u00e9\t" |= `raw\n`"#).expect("parses");
        assert_eq!(p.log.matchers[0].value, "a\"b");
        assert!(matches!(&p.log.stages[0], Stage::Contains(s) if s == "x\\y\né\t"));
        assert!(matches!(&p.log.stages[1], Stage::Contains(s) if s == "raw\\n"));
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse(r#"{app="a"} |= "unterminated"#).is_err());
        assert!(parse(r#"{app="a"} |= "bad \q escape""#).is_err());
        assert!(parse(r#"{app="a"} |= "x" }"#).is_err());
        assert!(parse("{app=\"a\"} |= \"raw\nnewline\"").is_err());
        let p = parse(r#"sum(count_over_time({app="a"} |= "x" [1h30m]))"#).expect("parses");
        assert_eq!(p.range_ns, Some(5_400_000_000_000));
    }
}
