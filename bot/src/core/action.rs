//! Button actions: their names and the encoded request a `run` button carries.
//!
//! A `run` button's payload is `intent?slot=value&slot=value` with `%`-escapes,
//! so clicking it replays exactly the choice the card offered (intent and
//! canonical names) without going through the NLU again. The policy still
//! checks it: a clicked restart must name a service that exists.

/// Run an encoded request ([`RunPayload`]).
pub const RUN: &str = "run";
/// Treat the payload as a sentence the clicker typed.
pub const SAY: &str = "say";
/// Drop any pending question; do nothing.
pub const CANCEL: &str = "cancel";

/// Longest payload accepted, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 1024;
/// Most slots a payload may carry.
const MAX_SLOTS: usize = 16;

/// The intent a shortcut button action (payload: a name) stands for, and the slot the payload fills.
pub fn shortcut(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "restart" => ("restart_service", "service"),
        "logs" => ("query_logs", "service"),
        "refresh" | "health" | "check" => ("health_check", "service"),
        "graph" => ("grafana_snapshot", "dashboard"),
        "firewall" => ("firewall_status", "firewall"),
        _ => return None,
    })
}

/// An intent with slot values, as carried by a `run` button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPayload {
    /// Intent to run.
    pub intent: String,
    /// Slot name and value (canonical names; times as written, resolved at click time).
    pub slots: Vec<(String, String)>,
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '%' | '&' | '=' | '?' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

fn unescape(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl RunPayload {
    /// A payload for `intent` with these slots.
    pub fn new(intent: &str, slots: Vec<(String, String)>) -> Self {
        RunPayload { intent: intent.to_string(), slots }
    }

    /// The payload text: `intent?slot=value&...`.
    pub fn encode(&self) -> String {
        let mut out = self.intent.clone();
        for (i, (k, v)) in self.slots.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            escape(k, &mut out);
            out.push('=');
            escape(v, &mut out);
        }
        out
    }

    /// Reads a payload; `None` when it is not one this module wrote.
    pub fn decode(text: &str) -> Option<Self> {
        if text.len() > MAX_PAYLOAD_BYTES {
            return None;
        }
        let (intent, rest) = match text.split_once('?') {
            Some((i, r)) => (i, Some(r)),
            None => (text, None),
        };
        if !is_name(intent) {
            return None;
        }
        let mut slots = Vec::new();
        for pair in rest.into_iter().flat_map(|r| r.split('&')).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=')?;
            let (k, v) = (unescape(k)?, unescape(v)?);
            if !is_name(&k) || slots.len() >= MAX_SLOTS {
                return None;
            }
            slots.push((k, v));
        }
        Some(RunPayload { intent: intent.to_string(), slots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let p = RunPayload::new(
            "query_logs",
            vec![("service".into(), "latte".into()), ("time_range".into(), "last 30m & more=%?".into())],
        );
        let text = p.encode();
        assert_eq!(text, "query_logs?service=latte&time_range=last%2030m%20%26%20more%3D%25%3F");
        assert_eq!(RunPayload::decode(&text), Some(p));
        assert_eq!(RunPayload::decode("help"), Some(RunPayload::new("help", vec![])));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "Restart", "a b", "x?=1", "x?k", "x?k=%zz", "x?K=1", "x?k=%ff", &"a".repeat(2000)] {
            assert_eq!(RunPayload::decode(bad), None, "{bad:?}");
        }
    }
}
