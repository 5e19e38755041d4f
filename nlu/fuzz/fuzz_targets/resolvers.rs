//! Fuzzes the pieces under the engine that take raw strings: the built-in
//! resolvers, the tokenizer and the annotated-example parser.
//! All of them are documented as total: any string yields a value or an error, never a panic.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use nlu::builtin::{MAX_PHRASE_BYTES, parse_duration, parse_env, parse_number, parse_severity, parse_time_range};
use nlu::tokenize::{Token, tokenize};
use nlu::yaml::parse_annotated;

/// Thursday 2026-11-26, noon UTC (as in the engine tests).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).single().expect("valid time")
}

/// Tokens are non-empty, in order, non-overlapping, and slice back to their text.
fn check_tokens(s: &str, tokens: &[Token]) {
    let mut prev_end = 0;
    for t in tokens {
        assert!(t.start < t.end && t.end <= s.len(), "token span {}..{} in {} bytes of {s:?}", t.start, t.end, s.len());
        assert!(t.start >= prev_end, "token {}..{} overlaps the previous one in {s:?}", t.start, t.end);
        assert!(s.is_char_boundary(t.start) && s.is_char_boundary(t.end), "token span not on char boundaries");
        assert_eq!(&s[t.start..t.end], t.text, "token text vs span in {s:?}");
        prev_end = t.end;
    }
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let s = s.as_ref();
    let long = s.len() > MAX_PHRASE_BYTES;

    for now in [now(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        if let Some(r) = parse_time_range(s, now) {
            assert!(!long, "time range from a {}-byte phrase", s.len());
            assert!(r.from <= r.to, "time range {r:?} ends before it starts for {s:?}");
            assert!(r.to <= now, "time range {r:?} ends after now {now} for {s:?}");
        }
    }
    let d = parse_duration(s);
    let n = parse_number(s);
    let sev = parse_severity(s);
    let env = parse_env(s);
    if long {
        assert!(d.is_none() && n.is_none() && sev.is_none() && env.is_none(), "resolved a {}-byte phrase", s.len());
    }

    check_tokens(s, &tokenize(s));

    if let Ok(e) = parse_annotated(s, "help") {
        check_tokens(&e.text, &e.tokens);
        for sp in &e.spans {
            assert!(
                sp.start < sp.end && sp.end <= e.tokens.len(),
                "span {}..{} of {} tokens",
                sp.start,
                sp.end,
                e.tokens.len()
            );
        }
    }
});
