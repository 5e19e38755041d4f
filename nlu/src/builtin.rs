//! Built-in slot resolvers: time ranges, durations, numbers, severities and
//! environments, as ops users type them in chat, in English and Chinese.
//!
//! Every function here is total: any input (empty, 100 KB, emoji, control
//! characters, RTL text, absurd numbers) yields `None` rather than a panic, and
//! all arithmetic is checked. Phrases longer than [`MAX_PHRASE_BYTES`] are
//! rejected up front, since no slot value is that long and it bounds the work.
//!
//! Wall-clock phrases ("today", "since 10:00", "昨天") are interpreted in UTC by
//! [`parse_time_range`]; use [`parse_time_range_in`] for another fixed offset.

use std::fmt;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc,
};
use serde::{Deserialize, Serialize};

/// Longest phrase (in bytes) the resolvers look at; longer input is not a slot value.
pub const MAX_PHRASE_BYTES: usize = 256;

/// A resolved time window, `from <= to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Inclusive start of the window.
    pub from: DateTime<Utc>,
    /// End of the window (usually `now`).
    pub to: DateTime<Utc>,
}

/// Canonical alert severity, so "p1", "sev-1", "crit" and "严重" route the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Pages someone: critical, crit, P0/P1, sev0/sev1, 严重, 紧急 ...
    Critical,
    /// Needs attention soon: warning, warn, P2, sev2, 警告 ...
    Warning,
    /// Informational: info, notice, low, P3-P5, sev3-sev5, 信息, 提示 ...
    Info,
}

impl Severity {
    /// The canonical lowercase name, identical to the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Canonical deployment environment, so "production", "live" and "线上" address the same target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Env {
    /// Production: prod, production, prd, live, 生产, 线上 ...
    Prod,
    /// Pre-production: staging, stage, stg, preprod, 预发 ...
    Staging,
    /// Development: dev, development, 开发 ...
    Dev,
    /// Test / QA: test, testing, qa, uat, sit, 测试 ...
    Test,
}

impl Env {
    /// The canonical lowercase name, identical to the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Env::Prod => "prod",
            Env::Staging => "staging",
            Env::Dev => "dev",
            Env::Test => "test",
        }
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

/// Characters stripped from the end of a phrase ("last hour?", "今天。").
const TRAILING_PUNCT: &[char] = &['.', '?', '!', ',', ';', '。', '？', '！', '，', '；'];

/// Lowercases, maps full-width ASCII to ASCII, collapses whitespace and drops
/// trailing punctuation. A Grafana month unit (`now-1M`) is spelled out before
/// lowercasing so it does not turn into minutes.
fn normalize(text: &str) -> Option<String> {
    if text.len() > MAX_PHRASE_BYTES {
        return None;
    }
    let chars: Vec<char> = text.chars().map(fullwidth_to_ascii).collect();
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c == 'M' && is_grafana_month(&chars, i) {
            out.push_str("month");
        } else {
            out.extend(c.to_lowercase());
        }
    }
    let trimmed = out.trim_end_matches(TRAILING_PUNCT).trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Maps full-width ASCII variants (common with Chinese IMEs: "１０：００") to ASCII.
fn fullwidth_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// True when `chars[i]` is the `M` of a Grafana expression like `now-3M`.
fn is_grafana_month(chars: &[char], i: usize) -> bool {
    if chars.get(i + 1).is_some_and(|c| c.is_alphanumeric()) {
        return false;
    }
    let mut j = i;
    let mut digits = 0;
    while j > 0 && chars[j - 1].is_ascii_digit() {
        j -= 1;
        digits += 1;
    }
    if digits == 0 {
        return false;
    }
    while j > 0 && chars[j - 1] == ' ' {
        j -= 1;
    }
    if j == 0 || chars[j - 1] != '-' {
        return false;
    }
    j -= 1;
    while j > 0 && chars[j - 1] == ' ' {
        j -= 1;
    }
    j >= 3 && chars[j - 3..j].iter().map(|c| c.to_ascii_lowercase()).eq("now".chars())
}

/// Removes all whitespace (Chinese phrases are written without spaces, but users add some).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Strips the first matching prefix from `prefixes`.
fn strip_any_prefix<'a>(s: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| s.strip_prefix(p))
}

/// Strips the first matching suffix from `suffixes`.
fn strip_any_suffix<'a>(s: &'a str, suffixes: &[&str]) -> Option<&'a str> {
    suffixes.iter().find_map(|p| s.strip_suffix(p))
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// Parses an integer in digits or Chinese numerals ("42", "十", "二十五", "一百", "两"),
/// also English words up to ninety-nine ("five", "twenty-five") so "last two hours" works.
///
/// Chinese numerals follow the usual grammar (十/百/千/万/亿 with 零 as a gap
/// marker, "一百五" = 150) or are read digit by digit when no unit appears
/// ("二零二六" = 2026). Overflowing or malformed input is `None`.
pub fn parse_number(text: &str) -> Option<u64> {
    let s = normalize(text)?;
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let squashed = squash(&s);
    if squashed.chars().all(is_cn_numeral_or_digit) {
        return parse_cn_number(&squashed);
    }
    parse_en_number(&s)
}

/// Value of a Chinese digit character.
fn cn_digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' | '幺' => 1,
        '二' | '贰' | '两' | '俩' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// Multiplier of a Chinese unit character below 万.
fn cn_small_unit(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' | '佰' => 100,
        '千' | '仟' => 1000,
        _ => return None,
    })
}

fn is_cn_numeral(c: char) -> bool {
    cn_digit(c).is_some() || cn_small_unit(c).is_some() || matches!(c, '万' | '萬' | '亿' | '億')
}

fn is_cn_numeral_or_digit(c: char) -> bool {
    is_cn_numeral(c) || c.is_ascii_digit()
}

/// Parses Chinese numerals, optionally mixed with ASCII digit runs ("3万").
fn parse_cn_number(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let has_unit = s.chars().any(|c| !c.is_ascii_digit() && cn_digit(c).is_none());
    if !has_unit {
        // Digit by digit: "二零二六", "三". ASCII digits mixed in are not a number.
        return s.chars().try_fold(0u64, |acc, c| acc.checked_mul(10)?.checked_add(cn_digit(c)?));
    }

    let chars: Vec<char> = s.chars().collect();
    let mut yi_total: u64 = 0; // whole 亿 groups
    let mut wan: u64 = 0; // the 万 group within the current 亿 group
    let mut section: u64 = 0; // below 万
    let mut current: Option<u64> = None; // a digit waiting for its unit
    let mut last_small_unit: u64 = u64::MAX; // units must descend within a section
    let mut last_unit: u64 = 1; // for the colloquial "一百五" = 150
    let mut gap = false; // a 零 since the last unit
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if current.is_some() {
                return None;
            }
            let run: String = chars[start..i].iter().collect();
            current = Some(run.parse().ok()?);
            continue;
        }
        if let Some(d) = cn_digit(c) {
            if d == 0 {
                if current.is_some() {
                    return None;
                }
                gap = true;
            } else {
                if current.is_some() {
                    return None;
                }
                current = Some(d);
            }
        } else if let Some(u) = cn_small_unit(c) {
            if u >= last_small_unit {
                return None;
            }
            let n = match current.take() {
                Some(n) => n,
                None if u == 10 => 1,
                None => return None,
            };
            section = section.checked_add(n.checked_mul(u)?)?;
            last_small_unit = u;
            last_unit = u;
            gap = false;
        } else if matches!(c, '万' | '萬') {
            if wan != 0 {
                return None;
            }
            let v = section.checked_add(current.take().unwrap_or(0))?;
            if v == 0 {
                return None;
            }
            wan = v.checked_mul(10_000)?;
            section = 0;
            last_small_unit = u64::MAX;
            last_unit = 10_000;
            gap = false;
        } else if matches!(c, '亿' | '億') {
            if yi_total != 0 {
                return None;
            }
            let v = wan.checked_add(section)?.checked_add(current.take().unwrap_or(0))?;
            if v == 0 {
                return None;
            }
            yi_total = v.checked_mul(100_000_000)?;
            wan = 0;
            section = 0;
            last_small_unit = u64::MAX;
            last_unit = 100_000_000;
            gap = false;
        } else {
            return None;
        }
        i += 1;
    }
    let tail = match current {
        // "一百五" = 150, "三千五" = 3500, "一万五" = 15000 (but "一百零五" = 105).
        Some(d) if d < 10 && last_unit >= 100 && !gap => d.checked_mul(last_unit / 10)?,
        Some(d) => d,
        None => 0,
    };
    yi_total.checked_add(wan)?.checked_add(section)?.checked_add(tail)
}

/// Value of an English number word.
fn en_number_word(w: &str) -> Option<u64> {
    Some(match w {
        "zero" | "none" => 0,
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "thirteen" => 13,
        "fourteen" => 14,
        "fifteen" => 15,
        "sixteen" => 16,
        "seventeen" => 17,
        "eighteen" => 18,
        "nineteen" => 19,
        "twenty" => 20,
        "thirty" => 30,
        "forty" => 40,
        "fifty" => 50,
        "sixty" => 60,
        "seventy" => 70,
        "eighty" => 80,
        "ninety" => 90,
        _ => return None,
    })
}

/// Parses "five", "twenty five", "twenty-five".
fn parse_en_number(s: &str) -> Option<u64> {
    let mut words = s.split([' ', '-']).filter(|w| !w.is_empty());
    let first = en_number_word(words.next()?)?;
    match (words.next(), words.next()) {
        (None, _) => Some(first),
        (Some(w), None) if first >= 20 && first % 10 == 0 => {
            let ones = en_number_word(w)?;
            (1..=9).contains(&ones).then_some(first + ones)
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------

const NS_MS: u128 = 1_000_000;
const NS_SEC: u128 = 1_000_000_000;
const NS_MIN: u128 = 60 * NS_SEC;
const NS_HOUR: u128 = 60 * NS_MIN;
const NS_DAY: u128 = 24 * NS_HOUR;
const NS_WEEK: u128 = 7 * NS_DAY;
/// Month and year lengths match humantime's, so "1 month" and "1month" agree.
const NS_MONTH: u128 = 2_630_016 * NS_SEC;
const NS_YEAR: u128 = 31_557_600 * NS_SEC;

/// Chinese units, longest first so "分钟" wins over "分".
const CN_UNITS: &[(&str, u128)] = &[
    ("秒钟", NS_SEC),
    ("分钟", NS_MIN),
    ("小时", NS_HOUR),
    ("钟头", NS_HOUR),
    ("刻钟", 15 * NS_MIN),
    ("星期", NS_WEEK),
    ("礼拜", NS_WEEK),
    ("秒", NS_SEC),
    ("分", NS_MIN),
    ("刻", 15 * NS_MIN),
    ("天", NS_DAY),
    ("日", NS_DAY),
    ("周", NS_WEEK),
    ("月", NS_MONTH),
    ("年", NS_YEAR),
];

/// Parses a duration phrase ("15m", "2h", "30 minutes", "an hour", "1h30m", "半小时", "三十分钟", "2天").
///
/// Compact forms go through humantime; word forms ("an hour and a half",
/// "two hours", "1 hour and 30 minutes", "一个半小时", "一刻钟") through a small
/// grammar here. A bare number has no unit and is `None`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let s = normalize(text)?;
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Ok(d) = humantime::parse_duration(&s) {
        return Some(d);
    }
    let toks = lex_duration(&s)?;
    let nanos = eval_duration(&toks)?;
    let secs = u64::try_from(nanos / NS_SEC).ok()?;
    let sub = u32::try_from(nanos % NS_SEC).ok()?;
    Some(Duration::new(secs, sub))
}

/// An exact non-negative fraction, so "1.5 hours" and "half an hour" need no floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ratio {
    num: u128,
    den: u128,
}

impl Ratio {
    const HALF: Ratio = Ratio { num: 1, den: 2 };

    fn int(n: u128) -> Self {
        Ratio { num: n, den: 1 }
    }

    fn plus_half(self) -> Option<Self> {
        Some(Ratio { num: self.num.checked_mul(2)?.checked_add(self.den)?, den: self.den.checked_mul(2)? })
    }

    fn times(self, nanos: u128) -> Option<u128> {
        nanos.checked_mul(self.num)?.checked_div(self.den)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Num(Ratio),
    /// A unit, in nanoseconds.
    Unit(u128),
    Half,
    Article,
    And,
    Couple,
    Of,
}

fn en_unit(w: &str) -> Option<u128> {
    Some(match w {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => NS_MS,
        "s" | "sec" | "secs" | "second" | "seconds" => NS_SEC,
        "m" | "min" | "mins" | "minute" | "minutes" => NS_MIN,
        "h" | "hr" | "hrs" | "hour" | "hours" => NS_HOUR,
        "d" | "day" | "days" => NS_DAY,
        "w" | "wk" | "wks" | "week" | "weeks" => NS_WEEK,
        "month" | "months" => NS_MONTH,
        "y" | "yr" | "yrs" | "year" | "years" => NS_YEAR,
        _ => return None,
    })
}

/// Parses "1", "1.5", "0.25" into an exact ratio.
fn parse_decimal(s: &str) -> Option<Ratio> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || frac.len() > 9 {
        return None;
    }
    if s.ends_with('.') {
        return None;
    }
    let mut num: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        num = num.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let den = 10u128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    Some(Ratio { num, den })
}

/// Splits a duration phrase into tokens; `None` on anything unrecognised.
fn lex_duration(s: &str) -> Option<Vec<Tok>> {
    let mut toks = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c.is_whitespace() || c == ',' || c == '，' || c == '个' {
            rest = &rest[c.len_utf8()..];
        } else if c == '-' {
            // Only as a joiner between words ("half-hour"), never a sign.
            let next_alpha = rest[1..].starts_with(|n: char| n.is_ascii_alphabetic());
            if toks.is_empty() || !next_alpha {
                return None;
            }
            rest = &rest[1..];
        } else if c.is_ascii_digit() {
            let end = rest.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(rest.len());
            toks.push(Tok::Num(parse_decimal(&rest[..end])?));
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() {
            let end = rest.find(|ch: char| !ch.is_ascii_alphabetic()).unwrap_or(rest.len());
            let word = &rest[..end];
            rest = &rest[end..];
            let tok = match word {
                "a" | "an" => Tok::Article,
                "half" => Tok::Half,
                "and" => Tok::And,
                "couple" => Tok::Couple,
                "of" => Tok::Of,
                _ => match (en_unit(word), en_number_word(word)) {
                    (Some(u), _) => Tok::Unit(u),
                    (None, Some(mut n)) => {
                        if n >= 20
                            && n % 10 == 0
                            && let Some((ones, after)) = following_ones(rest)
                        {
                            n += ones;
                            rest = after;
                        }
                        Tok::Num(Ratio::int(u128::from(n)))
                    }
                    (None, None) => return None,
                },
            };
            toks.push(tok);
        } else if is_cn_numeral(c) {
            let end = rest.find(|ch: char| !is_cn_numeral(ch)).unwrap_or(rest.len());
            let n = parse_cn_number(&rest[..end])?;
            toks.push(Tok::Num(Ratio::int(u128::from(n))));
            rest = &rest[end..];
        } else if c == '半' {
            toks.push(Tok::Half);
            rest = &rest[c.len_utf8()..];
        } else if c == '又' {
            toks.push(Tok::And);
            rest = &rest[c.len_utf8()..];
        } else {
            let (word, unit) = CN_UNITS.iter().find(|(w, _)| rest.starts_with(w))?;
            toks.push(Tok::Unit(*unit));
            rest = &rest[word.len()..];
        }
    }
    Some(toks)
}

/// After a tens word, consumes a following "five" / "-five" and returns its value.
fn following_ones(rest: &str) -> Option<(u64, &str)> {
    let after_sep = rest.strip_prefix('-').or_else(|| rest.strip_prefix(' '))?;
    let end = after_sep.find(|ch: char| !ch.is_ascii_alphabetic()).unwrap_or(after_sep.len());
    let n = en_number_word(&after_sep[..end])?;
    (1..=9).contains(&n).then_some((n, &after_sep[end..]))
}

/// Reads the amount in front of a unit.
fn duration_amount(toks: &[Tok], pos: &mut usize) -> Option<Ratio> {
    let two = Ratio::int(2);
    let (r, used) = match toks.get(*pos..)? {
        // "two and a half hours"
        [Tok::Num(r), Tok::And, Tok::Article, Tok::Half, Tok::Unit(_), ..] => (r.plus_half()?, 4),
        // "一个半小时"
        [Tok::Num(r), Tok::Half, Tok::Unit(_), ..] => (r.plus_half()?, 2),
        [Tok::Num(r), ..] => (*r, 1),
        [Tok::Article, Tok::Half, ..] | [Tok::Half, Tok::Article, ..] => (Ratio::HALF, 2),
        [Tok::Half, ..] => (Ratio::HALF, 1),
        [Tok::Article, Tok::Couple, Tok::Of, ..] => (two, 3),
        [Tok::Article, Tok::Couple, ..] | [Tok::Couple, Tok::Of, ..] => (two, 2),
        [Tok::Couple, ..] => (two, 1),
        [Tok::Article, ..] => (Ratio::int(1), 1),
        _ => return None,
    };
    *pos += used;
    Some(r)
}

/// Sums `amount unit` components ("1 hour and 30 minutes"), in nanoseconds.
fn eval_duration(toks: &[Tok]) -> Option<u128> {
    let mut pos = 0;
    let mut total: u128 = 0;
    let mut components = 0;
    while pos < toks.len() {
        if components > 0 {
            while toks.get(pos) == Some(&Tok::And) {
                pos += 1;
            }
        }
        let mut amount = duration_amount(toks, &mut pos)?;
        let Some(&Tok::Unit(unit)) = toks.get(pos) else {
            return None;
        };
        pos += 1;
        // A trailing half: "an hour and a half", "一小时半".
        let rest = &toks[pos..];
        let unit_follows = |r: &[Tok]| matches!(r.first(), Some(Tok::Unit(_)));
        match rest {
            [Tok::And, Tok::Article, Tok::Half, after @ ..] if !unit_follows(after) => {
                amount = amount.plus_half()?;
                pos += 3;
            }
            [Tok::Half, after @ ..] if !unit_follows(after) => {
                amount = amount.plus_half()?;
                pos += 1;
            }
            _ => {}
        }
        total = total.checked_add(amount.times(unit)?)?;
        components += 1;
    }
    (components > 0).then_some(total)
}

/// A duration, or a bare unit meaning one of it ("hour" in "last hour").
fn duration_or_unit(s: &str) -> Option<Duration> {
    let s = s.trim();
    parse_duration(s).or_else(|| {
        if s.starts_with(|c: char| c.is_ascii_alphabetic()) { parse_duration(&format!("1 {s}")) } else { None }
    })
}

// ---------------------------------------------------------------------------
// Time of day
// ---------------------------------------------------------------------------

/// Reads 1..=max_len ASCII digits.
fn small_digits(s: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// "10:00", "9am", "10:30 pm", "10", "noon", "midnight".
fn parse_tod_en(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let s = s.strip_prefix("at ").unwrap_or(s).trim();
    match s {
        "noon" | "midday" => return NaiveTime::from_hms_opt(12, 0, 0),
        "midnight" => return Some(NaiveTime::MIN),
        _ => {}
    }
    let (body, pm) = match strip_any_suffix(s, &["a.m.", "a.m", "am"]) {
        Some(b) => (b, Some(false)),
        None => match strip_any_suffix(s, &["p.m.", "p.m", "pm"]) {
            Some(b) => (b, Some(true)),
            None => (s, None),
        },
    };
    let body = body.trim();
    let body = strip_any_suffix(body, &["o'clock", "oclock"]).unwrap_or(body).trim();
    let mut parts = body.split(':');
    let h = small_digits(parts.next()?, 1, 2)?;
    let m = match parts.next() {
        Some(p) => small_digits(p, 2, 2)?,
        None => 0,
    };
    let sec = match parts.next() {
        Some(p) => small_digits(p, 2, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let h = match pm {
        None => h,
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            h % 12 + if pm { 12 } else { 0 }
        }
    };
    NaiveTime::from_hms_opt(h, m, sec)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayPart {
    Early,
    Morning,
    Noon,
    Afternoon,
    Night,
}

/// "10点", "10点半", "十点十五", "下午3点", "晚上10:30", "凌晨2点".
fn parse_tod_cn(s: &str) -> Option<NaiveTime> {
    let s = squash(s);
    const PARTS: &[(&str, DayPart)] = &[
        ("凌晨", DayPart::Early),
        ("早上", DayPart::Morning),
        ("早晨", DayPart::Morning),
        ("清晨", DayPart::Morning),
        ("上午", DayPart::Morning),
        ("中午", DayPart::Noon),
        ("下午", DayPart::Afternoon),
        ("傍晚", DayPart::Afternoon),
        ("晚上", DayPart::Night),
        ("晚间", DayPart::Night),
        ("夜里", DayPart::Night),
        ("夜间", DayPart::Night),
    ];
    let (rest, part) =
        PARTS.iter().find_map(|(p, part)| s.strip_prefix(p).map(|r| (r, Some(*part)))).unwrap_or((s.as_str(), None));
    let (h, m) = if let Some(idx) = rest.find(['点', '时']) {
        let hour = parse_number(&rest[..idx])?;
        let after = &rest[idx + '点'.len_utf8()..];
        let after = after.strip_prefix('钟').unwrap_or(after);
        let minute = match after {
            "" | "整" => 0,
            "半" => 30,
            "一刻" => 15,
            "三刻" => 45,
            _ => parse_number(after.strip_suffix('分').unwrap_or(after))?,
        };
        (u32::try_from(hour).ok()?, u32::try_from(minute).ok()?)
    } else if part.is_some() && rest.contains(':') {
        let t = parse_tod_en(rest)?;
        (t.hour(), t.minute())
    } else {
        return None;
    };
    let h = match part {
        Some(DayPart::Afternoon) if h < 12 => h + 12,
        Some(DayPart::Night) if h == 12 => 0,
        Some(DayPart::Night) if (5..12).contains(&h) => h + 12,
        Some(DayPart::Noon) if (1..=5).contains(&h) => h + 12,
        _ => h,
    };
    NaiveTime::from_hms_opt(h, m, 0)
}

fn parse_tod(s: &str) -> Option<NaiveTime> {
    parse_tod_en(s).or_else(|| parse_tod_cn(s))
}

// ---------------------------------------------------------------------------
// Time ranges
// ---------------------------------------------------------------------------

/// Parses a time-range phrase relative to `now`. None when the text is not a time range.
///
/// Wall-clock phrases are read in UTC; see [`parse_time_range_in`]. Supported,
/// case-insensitively (all end at `now` unless noted):
/// - durations, optionally after last/past/previous/the/in the: "15m", "last 30 minutes",
///   "the last hour", "past 2 hours", "last week"; Chinese 最近/过去/近 …(内): "最近十分钟", "半小时";
/// - "an hour ago", "1h ago", "一小时前"; Grafana "now-30m", "now-1M" (month);
/// - calendar phrases: "today" (from 00:00), "yesterday" (00:00 to 00:00 today),
///   "this morning" (from 00:00), "this week" (from Monday), 今天, 昨天, 前天;
/// - "since 10:00" / "since 9am" (yesterday if that is still ahead), "since yesterday",
///   "since 2026-11-25", "从10点开始", "昨天以来";
/// - explicit spans: "from 10:00 to 11:00", "between 9am and 10am", "now-6h to now-1h",
///   "10点到11点"; the end is clamped to `now`;
/// - a bare date "2026-11-25" (that whole day).
pub fn parse_time_range(text: &str, now: DateTime<Utc>) -> Option<TimeRange> {
    parse_time_range_in(text, now, FixedOffset::east_opt(0)?)
}

/// Like [`parse_time_range`], but reads wall-clock phrases ("today", "since 10:00")
/// in the user's fixed UTC `offset`; the result is still in UTC.
pub fn parse_time_range_in(text: &str, now: DateTime<Utc>, offset: FixedOffset) -> Option<TimeRange> {
    let s = normalize(text)?;
    let cx = Cx { now, offset };
    let r = cx.range(&s)?;
    (r.from <= r.to).then_some(r)
}

/// A point in time as written: either absolute or a bare time of day whose date
/// depends on how it is used ("since 22:00" is yesterday's 22:00 at noon).
#[derive(Debug, Clone, Copy)]
enum Point {
    At(DateTime<Utc>),
    TimeOfDay(NaiveTime),
}

const EN_FILLERS: &[&str] = &["in ", "for ", "over ", "during ", "within "];
const EN_LAST: &[&str] = &["last ", "past ", "previous ", "recent ", "trailing "];
const EN_SINCE: &[&str] = &["since ", "starting from ", "starting at ", "starting ", "beginning ", "after ", "from "];
const CN_LAST_PREFIX: &[&str] = &["最近的", "过去的", "最近", "过去", "近"];
const CN_WITHIN_SUFFIX: &[&str] = &["以内", "之内", "内", "里"];
const CN_SINCE_PREFIX: &[&str] = &["自从", "从", "自"];
const CN_SINCE_SUFFIX: &[&str] = &["到目前为止", "到现在", "至今", "以来", "开始", "之后", "以后", "起"];
const SPAN_SEPS: &[&str] = &[" to ", " until ", " till ", " through ", " thru ", " - ", "-", "–", "—", "~", "到", "至"];
/// Day words that can qualify a time of day ("yesterday 10:00", "昨天下午3点"), with days back.
const DAY_WORDS: &[(&str, u64)] = &[
    ("the day before yesterday", 2),
    ("day before yesterday", 2),
    ("yesterday", 1),
    ("today", 0),
    ("前天", 2),
    ("昨天", 1),
    ("昨日", 1),
    ("今天", 0),
    ("今日", 0),
];

struct Cx {
    now: DateTime<Utc>,
    offset: FixedOffset,
}

impl Cx {
    /// Wall-clock time of `t` (checked: `naive_local` panics at the ends of time).
    fn local(&self, t: DateTime<Utc>) -> Option<NaiveDateTime> {
        t.naive_utc().checked_add_offset(self.offset)
    }

    fn day(&self, back: u64) -> Option<NaiveDate> {
        self.local(self.now)?.date().checked_sub_days(Days::new(back))
    }

    fn at(&self, date: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
        self.offset.from_local_datetime(&date.and_time(t)).single().map(|d| d.with_timezone(&Utc))
    }

    fn midnight(&self, back: u64) -> Option<DateTime<Utc>> {
        self.at(self.day(back)?, NaiveTime::MIN)
    }

    fn ago(&self, d: Duration) -> Option<DateTime<Utc>> {
        self.now.checked_sub_signed(TimeDelta::from_std(d).ok()?)
    }

    fn span(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<TimeRange> {
        (from <= to).then_some(TimeRange { from, to })
    }

    fn until_now(&self, from: DateTime<Utc>) -> Option<TimeRange> {
        self.span(from, self.now)
    }

    /// The last `d` up to now; zero-length windows are not a time range.
    fn last(&self, d: Duration) -> Option<TimeRange> {
        if d.is_zero() {
            return None;
        }
        self.until_now(self.ago(d)?)
    }

    /// Most recent occurrence of `t` at or before now.
    fn last_occurrence(&self, t: NaiveTime) -> Option<DateTime<Utc>> {
        let today = self.at(self.day(0)?, t)?;
        if today <= self.now { Some(today) } else { self.at(self.day(1)?, t) }
    }

    /// First occurrence of `t` strictly after `from`.
    fn next_after(&self, from: DateTime<Utc>, t: NaiveTime) -> Option<DateTime<Utc>> {
        let date = self.local(from)?.date();
        let same_day = self.at(date, t)?;
        if same_day > from { Some(same_day) } else { self.at(date.succ_opt()?, t) }
    }

    fn resolve(&self, p: Point) -> Option<DateTime<Utc>> {
        match p {
            Point::At(t) => Some(t),
            Point::TimeOfDay(t) => self.last_occurrence(t),
        }
    }

    fn range(&self, s: &str) -> Option<TimeRange> {
        self.calendar(s)
            .or_else(|| self.relative(s))
            .or_else(|| self.since(s))
            .or_else(|| {
                // "now-30m", "an hour ago", "一小时前" on their own.
                self.relative_point(s).filter(|p| *p < self.now).and_then(|p| self.until_now(p))
            })
            .or_else(|| self.whole_day(s))
            .or_else(|| self.between(s))
    }

    /// Today at `hour`:00 local time.
    fn today_at(&self, hour: u32) -> Option<DateTime<Utc>> {
        self.at(self.day(0)?, NaiveTime::from_hms_opt(hour, 0, 0)?)
    }

    /// A part of the day from `hour`:00: today's when it has begun, else yesterday's
    /// (asked at 09:00, "this afternoon" can only mean yesterday's).
    fn part_of_day(&self, from_hour: u32, to_hour: u32) -> Option<TimeRange> {
        let from = self.today_at(from_hour)?;
        if from <= self.now {
            return self.until_now(from);
        }
        let y = self.midnight(1)?;
        self.span(y + TimeDelta::hours(i64::from(from_hour)), y + TimeDelta::hours(i64::from(to_hour)))
    }

    /// The most recent weekend: Saturday 00:00 to Monday 00:00, or to now during one.
    fn weekend(&self, previous: bool) -> Option<TimeRange> {
        let back = u64::from(self.day(0)?.weekday().num_days_from_monday());
        // Days back to the latest Saturday that has begun.
        let to_saturday = if back >= 5 { back - 5 } else { back + 2 };
        let to_saturday = if previous && back >= 5 { to_saturday + 7 } else { to_saturday };
        let from = self.midnight(to_saturday)?;
        let to = if to_saturday >= 2 { self.midnight(to_saturday - 2)? } else { self.now };
        self.span(from, to)
    }

    /// First day of this month, or of the month before.
    fn month_start(&self, months_back: u32) -> Option<DateTime<Utc>> {
        let today = self.day(0)?;
        let (mut y, mut m) = (today.year(), today.month());
        for _ in 0..months_back {
            (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
        }
        self.at(NaiveDate::from_ymd_opt(y, m, 1)?, NaiveTime::MIN)
    }

    /// Named calendar periods.
    fn calendar(&self, s: &str) -> Option<TimeRange> {
        let mut t = s;
        while let Some(rest) = strip_any_prefix(t, EN_FILLERS) {
            t = rest;
        }
        match squash(t).as_str() {
            "today" | "sofartoday" | "todaysofar" | "earliertoday" | "今天" | "今日" | "今天早些时候" => {
                self.until_now(self.midnight(0)?)
            }
            "thisafternoon" | "afternoon" | "今天下午" | "下午" => self.part_of_day(12, 18),
            "thisevening" | "tonight" | "evening" | "今晚" | "今天晚上" | "晚上" => self.part_of_day(18, 24),
            "lastnight" | "overnight" | "昨晚" | "昨天晚上" | "昨夜" => {
                let y = self.day(1)?;
                let from = self.at(y, NaiveTime::from_hms_opt(18, 0, 0)?)?;
                let to = self.today_at(6)?.min(self.now);
                self.span(from, to)
            }
            "theweekend" | "thisweekend" | "weekend" | "周末" | "这个周末" | "本周末" => self.weekend(false),
            "lastweekend" | "上周末" | "上个周末" => self.weekend(true),
            "thismonth" | "本月" | "这个月" | "这月" => self.until_now(self.month_start(0)?),
            "lastmonth" | "上个月" | "上月" => self.span(self.month_start(1)?, self.month_start(0)?),
            "上周" | "上个星期" | "上星期" => {
                let back = u64::from(self.day(0)?.weekday().num_days_from_monday());
                self.span(self.midnight(back + 7)?, self.midnight(back)?)
            }
            "thismorning" | "今早" | "今天早上" | "今天上午" => self.until_now(self.midnight(0)?),
            "yesterday" | "昨天" | "昨日" => self.span(self.midnight(1)?, self.midnight(0)?),
            "thedaybeforeyesterday" | "daybeforeyesterday" | "前天" => {
                self.span(self.midnight(2)?, self.midnight(1)?)
            }
            "thisweek" | "本周" | "这周" | "这个星期" | "本星期" => {
                let back = self.day(0)?.weekday().num_days_from_monday();
                self.until_now(self.midnight(u64::from(back))?)
            }
            _ => None,
        }
    }

    /// Durations back from now: "last 2h", "the past hour", "15m", "最近十分钟".
    fn relative(&self, s: &str) -> Option<TimeRange> {
        let mut t = s;
        while let Some(rest) = strip_any_prefix(t, EN_FILLERS) {
            t = rest;
        }
        let t = t.strip_prefix("the ").unwrap_or(t);
        if let Some(rest) = strip_any_prefix(t, EN_LAST) {
            return self.last(duration_or_unit(rest)?);
        }
        if let Some(d) = parse_duration(t) {
            return self.last(d);
        }
        let cn = squash(s);
        let cn = strip_any_prefix(&cn, CN_LAST_PREFIX).unwrap_or(&cn);
        let cn = strip_any_suffix(cn, CN_WITHIN_SUFFIX).unwrap_or(cn);
        self.last(parse_duration(cn)?)
    }

    /// "since 10:00", "since yesterday", "from 9am", "从10点开始", "昨天以来".
    fn since(&self, s: &str) -> Option<TimeRange> {
        if let Some(rest) = strip_any_prefix(s, EN_SINCE) {
            if let Some(p) = self.point(rest) {
                return self.until_now(self.resolve(p)?);
            }
            // "since 2h" is commonly meant as "for the last 2h".
            if s.starts_with("since ") {
                return self.last(duration_or_unit(rest)?);
            }
            return None;
        }
        let cn = squash(s);
        let prefixed = strip_any_prefix(&cn, CN_SINCE_PREFIX);
        let body = prefixed.unwrap_or(&cn);
        let suffixed = strip_any_suffix(body, CN_SINCE_SUFFIX);
        if prefixed.is_none() && suffixed.is_none() {
            return None;
        }
        let p = self.point(suffixed.unwrap_or(body))?;
        self.until_now(self.resolve(p)?)
    }

    /// A bare date: that whole day, up to now at most.
    fn whole_day(&self, s: &str) -> Option<TimeRange> {
        let date = parse_date(s)?;
        let from = self.at(date, NaiveTime::MIN)?;
        let to = self.at(date.succ_opt()?, NaiveTime::MIN)?.min(self.now);
        self.span(from, to)
    }

    /// "from X to Y", "between X and Y", "X-Y", "X到Y".
    fn between(&self, s: &str) -> Option<TimeRange> {
        let (body, and_sep) = if let Some(r) = s.strip_prefix("between ") {
            (r, true)
        } else if let Some(r) = strip_any_prefix(s, &["from ", "since ", "从", "自"]) {
            (r, false)
        } else {
            (s, false)
        };
        let and: &[&str] = if and_sep { &[" and "] } else { &[] };
        for sep in and.iter().chain(SPAN_SEPS) {
            for (idx, _) in body.match_indices(sep) {
                let (left, right) = (&body[..idx], &body[idx + sep.len()..]);
                let (Some(a), Some(b)) = (self.point(left), self.point(right)) else {
                    continue;
                };
                let mut from = self.resolve(a)?;
                let mut to = match b {
                    Point::At(t) => t,
                    Point::TimeOfDay(t) => self.next_after(from, t)?,
                };
                // Two clock times whose end would fall tomorrow ("from 11:00 to 10:00"
                // at noon) mean the span that ended today: shift it back a day.
                if let (Point::TimeOfDay(_), Point::TimeOfDay(_)) = (a, b)
                    && self.local(to)?.date() > self.day(0)?
                {
                    let day = TimeDelta::days(1);
                    from = from.checked_sub_signed(day)?;
                    to = to.checked_sub_signed(day)?;
                }
                let to = to.min(self.now);
                return (from < to).then_some(TimeRange { from, to });
            }
        }
        None
    }

    /// `now - d` for "now-30m", "30m ago", "半小时前".
    fn relative_point(&self, s: &str) -> Option<DateTime<Utc>> {
        if let Some(rest) = s.strip_prefix("now") {
            let rest = rest.trim_start().strip_prefix('-')?;
            return self.ago(parse_duration(rest)?);
        }
        if let Some(rest) = s.strip_suffix("ago") {
            return self.ago(duration_or_unit(rest)?);
        }
        let cn = squash(s);
        let rest = strip_any_suffix(&cn, &["之前", "以前", "前"])?;
        self.ago(parse_duration(rest)?)
    }

    /// One end of a span or the start of a "since".
    fn point(&self, s: &str) -> Option<Point> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let at = |t: Option<DateTime<Utc>>| t.map(Point::At);
        match squash(s).as_str() {
            "now" | "现在" | "目前" | "当前" | "此刻" => return Some(Point::At(self.now)),
            "today" | "thismorning" | "今天" | "今日" | "今早" => return at(self.midnight(0)),
            "yesterday" | "昨天" | "昨日" => return at(self.midnight(1)),
            "daybeforeyesterday" | "thedaybeforeyesterday" | "前天" => {
                return at(self.midnight(2));
            }
            _ => {}
        }
        if let Some(p) = self.relative_point(s) {
            return Some(Point::At(p));
        }
        if let Some(t) = parse_tod(s) {
            return Some(Point::TimeOfDay(t));
        }
        for (word, back) in DAY_WORDS {
            let tod = s.strip_prefix(word).or_else(|| s.strip_suffix(word)).and_then(parse_tod);
            if let Some(t) = tod {
                return at(self.at(self.day(*back)?, t));
            }
        }
        self.absolute(s).map(Point::At)
    }

    /// RFC 3339 timestamps, "2026-11-25 10:00" and bare dates (midnight).
    fn absolute(&self, s: &str) -> Option<DateTime<Utc>> {
        let upper = s.to_ascii_uppercase();
        if let Ok(t) = DateTime::parse_from_rfc3339(&upper) {
            return Some(t.with_timezone(&Utc));
        }
        for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(&upper, fmt) {
                return self.at(t.date(), t.time());
            }
        }
        self.at(parse_date(s)?, NaiveTime::MIN)
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(s, "%Y/%m/%d")).ok()
}

// ---------------------------------------------------------------------------
// Severity and environment
// ---------------------------------------------------------------------------

/// Lowercases and drops spaces and separators: "Sev-2" and "sev 2" both become "sev2".
fn compact_key(text: &str) -> Option<String> {
    let s = normalize(text)?;
    let key: String = s.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | ':' | '=')).collect();
    (!key.is_empty()).then_some(key)
}

/// Canonical severity: critical / warning / info from "crit", "p1", "sev1", "严重", "sev-2", "P3", "warn" ...
///
/// Numbered levels: P0/P1, sev0/sev1, 一级 → critical; P2, sev2 → warning;
/// P3-P5, sev3-sev5 → info. X.733 "major"/"minor" map to critical/warning;
/// "error" is left unmapped because teams disagree on it.
pub fn parse_severity(text: &str) -> Option<Severity> {
    let mut key = compact_key(text)?;
    let mut marked = false; // saw "severity"/"level"/"级": a bare number is a level
    for _ in 0..3 {
        let stripped =
            strip_any_suffix(&key, &["告警", "警报", "报警", "alerts", "alert", "severity", "级别", "级", "level"])
                .or_else(|| strip_any_prefix(&key, &["severity", "level"]));
        match stripped {
            Some(rest) if !rest.is_empty() => {
                key = rest.to_string();
                marked = true;
            }
            _ => break,
        }
    }
    if let Some(sev) = severity_word(&key) {
        return Some(sev);
    }
    let number = strip_any_prefix(&key, &["sev", "p"]).or(marked.then_some(key.as_str()))?;
    match parse_number(number)? {
        0 | 1 => Some(Severity::Critical),
        2 => Some(Severity::Warning),
        3..=5 => Some(Severity::Info),
        _ => None,
    }
}

fn severity_word(key: &str) -> Option<Severity> {
    Some(match key {
        "critical" | "crit" | "fatal" | "emergency" | "emerg" | "urgent" | "high" | "major" | "blocker" | "page"
        | "severe" | "disaster" | "严重" | "紧急" | "致命" | "高" | "重大" | "灾难" | "特别严重" => {
            Severity::Critical
        }
        "warning" | "warn" | "warnings" | "medium" | "med" | "moderate" | "minor" | "average" | "ticket" | "警告"
        | "一般" | "中" | "中等" | "次要" => Severity::Warning,
        "info" | "information" | "informational" | "notice" | "low" | "debug" | "信息" | "提示" | "通知" | "低"
        | "轻微" => Severity::Info,
        _ => return None,
    })
}

/// Canonical environment: prod / staging / dev / test from "production", "prd", "live", "生产", "线上", "stage", "stg", "预发", "development", "开发", "qa", "测试".
///
/// "env"/"environment"/"环境" around the name are ignored ("prod-env", "生产环境").
/// UAT and SIT count as test environments.
pub fn parse_env(text: &str) -> Option<Env> {
    let mut key = compact_key(text)?;
    for _ in 0..2 {
        let stripped = strip_any_suffix(&key, &["environment", "env", "环境"])
            .or_else(|| strip_any_prefix(&key, &["environment", "env", "the"]));
        match stripped {
            Some(rest) if !rest.is_empty() => key = rest.to_string(),
            _ => break,
        }
    }
    Some(match key.as_str() {
        "prod" | "production" | "prd" | "live" | "生产" | "线上" | "正式" | "现网" | "产线" => Env::Prod,
        "staging" | "stage" | "stg" | "stag" | "preprod" | "preproduction" | "pre" | "预发" | "预发布" | "预生产"
        | "准生产" => Env::Staging,
        "dev" | "development" | "develop" | "devel" | "开发" | "研发" => Env::Dev,
        "test" | "testing" | "tst" | "qa" | "uat" | "sit" | "测试" => Env::Test,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thursday 2026-11-26, noon UTC.
    fn now() -> DateTime<Utc> {
        ts("2026-11-26T12:00:00Z")
    }

    fn ts(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|e| panic!("bad test timestamp {s}: {e}"))
    }

    fn range(text: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        parse_time_range(text, now()).map(|r| (r.from, r.to))
    }

    #[track_caller]
    fn assert_range(text: &str, from: &str, to: &str) {
        assert_eq!(range(text), Some((ts(from), ts(to))), "{text:?}");
    }

    /// `text` means the last `secs` seconds up to now.
    #[track_caller]
    fn assert_last(text: &str, secs: i64) {
        let from = now() - TimeDelta::seconds(secs);
        assert_eq!(range(text), Some((from, now())), "{text:?}");
    }

    #[track_caller]
    fn assert_dur(text: &str, secs: u64) {
        assert_eq!(parse_duration(text), Some(Duration::from_secs(secs)), "{text:?}");
    }

    const M: i64 = 60;
    const H: i64 = 3600;
    const D: i64 = 86_400;

    #[test]
    fn relative_english() {
        for t in ["15m", "15 min", "15 minutes", "15 mins", "  15   Minutes  ", "15M"] {
            assert_last(t, 15 * M);
        }
        assert_last("last 30 minutes", 30 * M);
        assert_last("Last 30 Minutes?", 30 * M);
        assert_last("past 2 hours", 2 * H);
        assert_last("the last hour", H);
        assert_last("last hour", H);
        assert_last("past hour", H);
        assert_last("last 2h", 2 * H);
        assert_last("last day", D);
        assert_last("last week", 7 * D);
        assert_last("last 24h", 24 * H);
        assert_last("in the last 15 minutes", 15 * M);
        assert_last("over the past day", D);
        assert_last("for the last 2 hours", 2 * H);
        assert_last("last two hours", 2 * H);
        assert_last("last couple of hours", 2 * H);
        assert_last("last 1.5 hours", 90 * M);
        assert_last("last hour and a half", 90 * M);
        assert_last("half an hour", 30 * M);
        assert_last("2h", 2 * H);
        assert_last("1d", D);
    }

    #[test]
    fn parts_of_days_weeks_and_months() {
        // now() is Thursday 2026-11-26 12:00 UTC.
        assert_range("earlier today", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("this afternoon", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("this evening", "2026-11-25T18:00:00Z", "2026-11-26T00:00:00Z");
        assert_range("今天下午", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("last night", "2026-11-25T18:00:00Z", "2026-11-26T06:00:00Z");
        assert_range("昨晚", "2026-11-25T18:00:00Z", "2026-11-26T06:00:00Z");
        assert_range("over the weekend", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z");
        assert_range("周末", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z");
        assert_range("last weekend", "2026-11-21T00:00:00Z", "2026-11-23T00:00:00Z");
        assert_range("this month", "2026-11-01T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("本月", "2026-11-01T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("last month", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z");
        assert_range("上周", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z");
    }

    #[test]
    fn weekends_seen_from_the_weekend() {
        let sat = ts("2026-11-28T10:00:00Z");
        let r = parse_time_range("the weekend", sat).unwrap();
        assert_eq!((r.from, r.to), (ts("2026-11-28T00:00:00Z"), sat));
        let r = parse_time_range("last weekend", sat).unwrap();
        assert_eq!((r.from, r.to), (ts("2026-11-21T00:00:00Z"), ts("2026-11-23T00:00:00Z")));
        let mon = ts("2026-11-30T10:00:00Z");
        let r = parse_time_range("over the weekend", mon).unwrap();
        assert_eq!((r.from, r.to), (ts("2026-11-28T00:00:00Z"), ts("2026-11-30T00:00:00Z")));
    }

    #[test]
    fn grafana_and_ago() {
        assert_last("now-30m", 30 * M);
        assert_last("now-1h", H);
        assert_last("now-2d", 2 * D);
        assert_last("now - 15m", 15 * M);
        assert_last("NOW-1H", H);
        assert_last("now-1M", 2_630_016);
        assert_last("an hour ago", H);
        assert_last("1h ago", H);
        assert_last("30 minutes ago", 30 * M);
        assert_range("now-6h to now-1h", "2026-11-26T06:00:00Z", "2026-11-26T11:00:00Z");
        assert_eq!(range("now"), None);
        assert_eq!(range("now-0m"), None);
        assert_eq!(range("now+1h"), None);
    }

    #[test]
    fn since_time_of_day() {
        assert_range("since 10:00", "2026-11-26T10:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 9am", "2026-11-26T09:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 9 AM", "2026-11-26T09:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 9:15 a.m.", "2026-11-26T09:15:00Z", "2026-11-26T12:00:00Z");
        // Still ahead today, so yesterday's.
        assert_range("since 10:30pm", "2026-11-25T22:30:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 13:00", "2026-11-25T13:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 12pm", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 12am", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since noon", "2026-11-26T12:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since midnight", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 10", "2026-11-26T10:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("from 8:00", "2026-11-26T08:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since yesterday", "2026-11-25T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since yesterday 3pm", "2026-11-25T15:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 2026-11-20", "2026-11-20T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("since 2026-11-26T08:30:00Z", "2026-11-26T08:30:00Z", "2026-11-26T12:00:00Z");
        assert_range("since an hour ago", "2026-11-26T11:00:00Z", "2026-11-26T12:00:00Z");
        assert_last("since 2h", 2 * H);
        for bad in [
            "since banana",
            "since",
            "since 25:00",
            "since 10:60",
            "since 13pm",
            "since 2026",
            "since 2027-01-01",
            "since tomorrow",
        ] {
            assert_eq!(range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn calendar_phrases() {
        assert_range("today", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("Today.", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("yesterday", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z");
        assert_range("this morning", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("the day before yesterday", "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z");
        // 2026-11-26 is a Thursday.
        assert_range("this week", "2026-11-23T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("2026-11-20", "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z");
        assert_range("2026-11-26", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_eq!(range("2026-12-01"), None);
    }

    #[test]
    fn explicit_spans() {
        assert_range("from 10:00 to 11:00", "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z");
        assert_range("between 9am and 10:30am", "2026-11-26T09:00:00Z", "2026-11-26T10:30:00Z");
        assert_range("10:00-11:00", "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z");
        // Crosses midnight.
        assert_range("from 22:00 to 02:00", "2026-11-25T22:00:00Z", "2026-11-26T02:00:00Z");
        // The end is clamped to now.
        assert_range("from 10:00 to 13:00", "2026-11-26T10:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("yesterday 10:00 to 11:00", "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z");
        assert_range("from yesterday to today", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z");
        assert_range("2026-11-25 10:00 to 2026-11-25 18:00", "2026-11-25T10:00:00Z", "2026-11-25T18:00:00Z");
        assert_eq!(range("from banana to 11:00"), None);
        // Clock times ending tomorrow mean the span that ended today.
        assert_range("from 11:00 to 10:00", "2026-11-25T11:00:00Z", "2026-11-26T10:00:00Z");
        assert_range("from 11:00 to 11:00", "2026-11-25T11:00:00Z", "2026-11-26T11:00:00Z");
    }

    #[test]
    fn chinese_ranges() {
        assert_last("最近十分钟", 10 * M);
        assert_last("过去一小时", H);
        assert_last("最近30分钟", 30 * M);
        assert_last("近两小时", 2 * H);
        assert_last("过去24小时", 24 * H);
        assert_last("最近一天", D);
        assert_last("半小时", 30 * M);
        assert_last("最近半个小时", 30 * M);
        assert_last("最近一个半小时", 90 * M);
        assert_last("过去 1 小时内", H);
        assert_last("最近一周", 7 * D);
        assert_last("一小时前", H);
        assert_last("十分钟之前", 10 * M);
        assert_range("今天", "2026-11-26T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("昨天", "2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z");
        assert_range("前天", "2026-11-24T00:00:00Z", "2026-11-25T00:00:00Z");
        assert_range("从10点开始", "2026-11-26T10:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("10点半以来", "2026-11-26T10:30:00Z", "2026-11-26T12:00:00Z");
        assert_range("上午九点之后", "2026-11-26T09:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("下午3点以来", "2026-11-25T15:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("昨天以来", "2026-11-25T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("昨天晚上10点以来", "2026-11-25T22:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("10点到11点", "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z");
        assert_range("从十点到十一点一刻", "2026-11-26T10:00:00Z", "2026-11-26T11:15:00Z");
        assert_range("从昨天到现在", "2026-11-25T00:00:00Z", "2026-11-26T12:00:00Z");
        assert_range("１０：００－１１：００", "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z");
    }

    #[test]
    fn offset_aware() {
        // 12:00Z is 20:00 in UTC+8, so "today" starts at 16:00Z the day before.
        let cst = FixedOffset::east_opt(8 * 3600).unwrap();
        let r = parse_time_range_in("today", now(), cst).unwrap();
        assert_eq!((r.from, r.to), (ts("2026-11-25T16:00:00Z"), now()));
        let r = parse_time_range_in("since 9am", now(), cst).unwrap();
        assert_eq!(r.from, ts("2026-11-26T01:00:00Z"));
        let r = parse_time_range_in("last 15m", now(), cst).unwrap();
        assert_eq!(r.from, ts("2026-11-26T11:45:00Z"));
    }

    #[test]
    fn not_time_ranges() {
        for bad in [
            "",
            "   ",
            "latte",
            "last",
            "the last",
            "last few",
            "last banana",
            "15",
            "0m",
            "last 0 minutes",
            "-15m",
            "10:00",
            "999999999999999999999h",
            "last 999999999999999999999 hours",
            "last 99999999999 days",
            "now-999999999999999999999h",
            "🙂",
            "last 🙂 hours",
            "\u{0}\u{1b}[31m",
            "آخر ساعة",
            "שעה אחרונה",
            "pizza to pasta",
            "一小",
            "最近",
        ] {
            assert_eq!(range(bad), None, "{bad:?}");
        }
        let big = "5".repeat(100_000) + "m";
        assert_eq!(range(&big), None);
        let big_cn = "最近".repeat(30_000);
        assert_eq!(range(&big_cn), None);
    }

    #[test]
    fn extreme_now_does_not_panic() {
        for now in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for offset in [-86_399, 0, 86_399] {
                let off = FixedOffset::east_opt(offset).unwrap();
                for t in [
                    "today",
                    "yesterday",
                    "this week",
                    "last hour",
                    "since 10:00",
                    "from 22:00 to 02:00",
                    "now-1h",
                    "2026-11-20",
                    "前天",
                ] {
                    let _ = parse_time_range_in(t, now, off);
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_dur("15m", 15 * 60);
        assert_dur("15min", 15 * 60);
        assert_dur("2h", 7200);
        assert_dur("2 hours", 7200);
        assert_dur("1h30m", 5400);
        assert_dur("1h 30m", 5400);
        assert_dur("90s", 90);
        assert_dur("1d", 86_400);
        assert_dur("1 week", 604_800);
        assert_dur("an hour", 3600);
        assert_dur("An Hour", 3600);
        assert_dur("a minute", 60);
        assert_dur("half an hour", 1800);
        assert_dur("half hour", 1800);
        assert_dur("a half hour", 1800);
        assert_dur("half-hour", 1800);
        assert_dur("an hour and a half", 5400);
        assert_dur("one and a half hours", 5400);
        assert_dur("1.5 hours", 5400);
        assert_dur("two hours", 7200);
        assert_dur("twenty-five minutes", 1500);
        assert_dur("twenty five minutes", 1500);
        assert_dur("1 hour and 30 minutes", 5400);
        assert_dur("1 hour, 30 minutes", 5400);
        assert_dur("a couple of days", 2 * 86_400);
        assert_dur("半小时", 1800);
        assert_dur("半个小时", 1800);
        assert_dur("三十分钟", 1800);
        assert_dur("2天", 2 * 86_400);
        assert_dur("两小时", 7200);
        assert_dur("两个小时", 7200);
        assert_dur("一个半小时", 5400);
        assert_dur("一小时半", 5400);
        assert_dur("1小时30分钟", 5400);
        assert_dur("1小时30分", 5400);
        assert_dur("一刻钟", 900);
        assert_dur("十秒", 10);
        assert_dur("一周", 604_800);
        assert_dur("半天", 43_200);
        assert_dur("１５ｍ", 900);
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
    }

    #[test]
    fn not_durations() {
        for bad in [
            "",
            "15",
            "0",
            "hour",
            "latte",
            "-5m",
            "5 parsecs",
            "an",
            "half",
            "1 hour 30",
            "and 5m",
            "1.h",
            "1.2.3h",
            "999999999999999999999h",
            "99999999999999999999999999999999999999999 weeks",
            "九九九九九九九九九九九九九九九九九九九九九九天",
            "一万亿亿小时",
            "🙂",
            "\u{202e}5m",
            "5m\u{0}",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(parse_duration(&"9".repeat(100_000)), None);
        assert_eq!(parse_duration(&("1h".repeat(50_000))), None);
    }

    #[test]
    fn numbers() {
        for (text, n) in [
            ("42", 42),
            ("0", 0),
            (" 7 ", 7),
            ("十", 10),
            ("十五", 15),
            ("二十", 20),
            ("二十五", 25),
            ("一百", 100),
            ("一百零五", 105),
            ("一百一十", 110),
            ("一百五", 150),
            ("两", 2),
            ("两百", 200),
            ("三千零二十", 3020),
            ("一万", 10_000),
            ("一万五", 15_000),
            ("一万零一", 10_001),
            ("十万", 100_000),
            ("一亿", 100_000_000),
            ("一万亿", 1_000_000_000_000),
            ("二零二六", 2026),
            ("零", 0),
            ("3万", 30_000),
            ("壹佰", 100),
            ("four", 4),
            ("Twenty-Five", 25),
            ("ninety nine", 99),
            ("４２", 42),
            ("18446744073709551615", u64::MAX),
            ("九千九百九十九万九千九百九十九亿九千九百九十九万九千九百九十九", 9_999_999_999_999_999),
        ] {
            assert_eq!(parse_number(text), Some(n), "{text:?}");
        }
        for bad in [
            "",
            "abc",
            "-1",
            "1.5",
            "18446744073709551616",
            "百",
            "十十",
            "二三十",
            "二十三十",
            "一万一万",
            "万",
            "twenty twenty",
            "five five",
            "一亿亿",
            "一千亿亿",
            "🙂",
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
        assert_eq!(parse_number(&"9".repeat(100_000)), None);
    }

    #[test]
    fn severities() {
        use Severity::*;
        for (text, sev) in [
            ("critical", Critical),
            ("CRIT", Critical),
            ("p1", Critical),
            ("P0", Critical),
            ("sev1", Critical),
            ("SEV-1", Critical),
            ("sev 0", Critical),
            ("严重", Critical),
            ("紧急", Critical),
            ("一级", Critical),
            ("P1级", Critical),
            ("fatal", Critical),
            ("high", Critical),
            ("warning", Warning),
            ("warn", Warning),
            ("sev-2", Warning),
            ("Sev_2", Warning),
            ("P2", Warning),
            ("警告", Warning),
            ("警告级别", Warning),
            ("medium", Warning),
            ("info", Info),
            ("P3", Info),
            ("p5", Info),
            ("sev3", Info),
            ("notice", Info),
            ("low", Info),
            ("信息", Info),
            ("提示", Info),
            ("severity 1", Critical),
            ("level 3", Info),
            ("critical alerts", Critical),
        ] {
            assert_eq!(parse_severity(text), Some(sev), "{text:?}");
        }
        for bad in ["", "p9", "sev", "severity", "pizza", "error", "3", "p-", "🙂"] {
            assert_eq!(parse_severity(bad), None, "{bad:?}");
        }
        assert_eq!(parse_severity(&"p".repeat(100_000)), None);
    }

    #[test]
    fn environments() {
        use Env::*;
        for (text, env) in [
            ("prod", Prod),
            ("production", Prod),
            ("PRD", Prod),
            ("live", Prod),
            ("生产", Prod),
            ("生产环境", Prod),
            ("线上", Prod),
            ("prod-env", Prod),
            ("production environment", Prod),
            ("staging", Staging),
            ("stage", Staging),
            ("stg", Staging),
            ("pre-prod", Staging),
            ("预发", Staging),
            ("预发环境", Staging),
            ("dev", Dev),
            ("development", Dev),
            ("开发", Dev),
            ("test", Test),
            ("testing", Test),
            ("qa", Test),
            ("QA env", Test),
            ("测试", Test),
            ("测试环境", Test),
            ("uat", Test),
        ] {
            assert_eq!(parse_env(text), Some(env), "{text:?}");
        }
        for bad in ["", "env", "environment", "环境", "prodx", "latte", "🙂"] {
            assert_eq!(parse_env(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        // Deterministic pseudo-random phrases built from meaningful fragments and odd characters.
        const PIECES: &[&str] = &[
            "last",
            "since",
            "from",
            "to",
            "between",
            "and",
            "now",
            "-",
            "ago",
            "the",
            "a",
            "half",
            "hour",
            "m",
            "h",
            "1",
            "9",
            "10:30",
            "pm",
            "am",
            ".",
            ":",
            " ",
            "yesterday",
            "today",
            "最近",
            "过去",
            "十",
            "两",
            "半",
            "个",
            "小时",
            "分钟",
            "点",
            "到",
            "以来",
            "前",
            "万",
            "亿",
            "零",
            "🙂",
            "\u{0}",
            "\u{202e}",
            "é",
            "M",
            "99999999999999999999",
            "sev",
            "p",
            "级",
            "环境",
            "T",
            "Z",
            "2026-11-25",
            "-",
            "/",
            "ｍ",
            "\u{3000}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = next() % 7;
            let text: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            let _ = parse_time_range(&text, now());
            let _ = parse_duration(&text);
            let _ = parse_number(&text);
            let _ = parse_severity(&text);
            let _ = parse_env(&text);
        }
    }

    #[test]
    fn display_and_serde_agree() {
        for env in [Env::Prod, Env::Staging, Env::Dev, Env::Test] {
            let json = serde_json::to_string(&env).unwrap();
            assert_eq!(json, format!("\"{env}\""));
            assert_eq!(parse_env(&env.to_string()), Some(env));
        }
        for sev in [Severity::Critical, Severity::Warning, Severity::Info] {
            let json = serde_json::to_string(&sev).unwrap();
            assert_eq!(json, format!("\"{sev}\""));
            assert_eq!(parse_severity(sev.as_str()), Some(sev));
        }
        let r = parse_time_range("last hour", now()).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<TimeRange>(&json).unwrap(), r);
    }
}
