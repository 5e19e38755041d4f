//! Alertmanager label matchers as people type them in chat: `alertname=HighCPU`,
//! `job!=node`, `instance=~"db-.*"`, or just the alert's name (`HighLatency`),
//! which is by far the commonest and means `alertname=HighLatency`.
//!
//! A matcher is parsed into its three parts, so the silence a skill creates
//! from it is built from data, never by splicing the user's text.

use serde::Serialize;
use std::fmt;

/// How a label matcher compares, as Alertmanager spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchOp {
    /// `=`
    #[serde(rename = "=")]
    Equal,
    /// `!=`
    #[serde(rename = "!=")]
    NotEqual,
    /// `=~` (a regular expression, anchored by Alertmanager)
    #[serde(rename = "=~")]
    Regex,
    /// `!~`
    #[serde(rename = "!~")]
    NotRegex,
}

impl MatchOp {
    /// The operator as written in Alertmanager matchers.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher: a valid label name, an operator and a non-empty value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelMatcher {
    /// Label name (`[A-Za-z_][A-Za-z0-9_]*`, Prometheus's rule).
    pub label: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value, unquoted.
    pub value: String,
}

impl fmt::Display for LabelMatcher {
    /// Alertmanager's form; the value is quoted (with `"` and `\` escaped)
    /// unless it is a plain word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.value.chars().all(|c| c.is_alphanumeric() || "_-.:/".contains(c));
        if plain {
            write!(f, "{}{}{}", self.label, self.op.as_str(), self.value)
        } else {
            let escaped = self.value.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "{}{}\"{escaped}\"", self.label, self.op.as_str())
        }
    }
}

/// Longest matcher text considered: Alertmanager has no limit, but a chat
/// message's matcher beyond this is not one a person typed.
const MAX_LEN: usize = 256;

/// Parses one matcher; `None` when the text is not one (the slot keeps its raw text).
pub fn parse_matcher(text: &str) -> Option<LabelMatcher> {
    let text = text.trim().trim_matches(|c| c == '{' || c == '}' || c == ',').trim();
    if text.is_empty() || text.len() > MAX_LEN {
        return None;
    }
    let Some(at) = text.find(['=', '!']) else {
        // A bare name: an alert's name, by the shape Prometheus allows for it.
        return is_alert_name(text).then(|| LabelMatcher {
            label: "alertname".into(),
            op: MatchOp::Equal,
            value: text.to_string(),
        });
    };
    let label = text[..at].trim();
    let rest = &text[at..];
    let (op, value) =
        [("=~", MatchOp::Regex), ("!~", MatchOp::NotRegex), ("!=", MatchOp::NotEqual), ("=", MatchOp::Equal)]
            .into_iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|v| (op, v)))?;
    let value = unquote(value.trim())?;
    (is_label_name(label) && !value.is_empty()).then(|| LabelMatcher { label: label.to_string(), op, value })
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An alert name as written bare: a label-name-like word, which must hold a
/// capital or an underscore or digit, so that ordinary words ("disk", "all")
/// are not taken for alert names.
fn is_alert_name(s: &str) -> bool {
    is_label_name(s) && s.chars().skip(1).any(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
}

/// The value without surrounding quotes (`"..."`, `'...'`, `` `...` ``);
/// `None` for an opened quote that is never closed.
fn unquote(v: &str) -> Option<String> {
    let Some(q) = v.chars().next().filter(|c| ['"', '\'', '`'].contains(c)) else {
        return Some(v.to_string());
    };
    let inner = v[1..].strip_suffix(q)?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(label: &str, op: MatchOp, value: &str) -> Option<LabelMatcher> {
        Some(LabelMatcher { label: label.into(), op, value: value.into() })
    }

    #[test]
    fn matchers_as_typed() {
        assert_eq!(parse_matcher("alertname=HighCPU"), m("alertname", MatchOp::Equal, "HighCPU"));
        assert_eq!(parse_matcher("job!=node"), m("job", MatchOp::NotEqual, "node"));
        assert_eq!(parse_matcher(r#"instance=~"db-.*""#), m("instance", MatchOp::Regex, "db-.*"));
        assert_eq!(parse_matcher("env !~ 'dev|test'"), m("env", MatchOp::NotRegex, "dev|test"));
        assert_eq!(parse_matcher("{severity=\"info\"}"), m("severity", MatchOp::Equal, "info"));
        assert_eq!(parse_matcher("instance=web-3:9100"), m("instance", MatchOp::Equal, "web-3:9100"));
    }

    #[test]
    fn a_bare_alert_name_means_alertname() {
        assert_eq!(parse_matcher("HighLatency"), m("alertname", MatchOp::Equal, "HighLatency"));
        assert_eq!(parse_matcher("KubePodCrashLooping"), m("alertname", MatchOp::Equal, "KubePodCrashLooping"));
        assert_eq!(parse_matcher("node_down"), m("alertname", MatchOp::Equal, "node_down"));
        assert_eq!(parse_matcher("disk"), None, "an ordinary word is not an alert name");
        assert_eq!(parse_matcher("磁盘告警"), None);
    }

    #[test]
    fn what_is_not_a_matcher() {
        for bad in ["", "=", "=x", "job=", "1job=x", "job=\"open", "a b=c", "job=~", &"x".repeat(300)] {
            assert_eq!(parse_matcher(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_quotes_what_is_not_a_plain_word() {
        assert_eq!(parse_matcher("alertname=HighCPU").map(|m| m.to_string()).as_deref(), Some("alertname=HighCPU"));
        let tricky = LabelMatcher { label: "msg".into(), op: MatchOp::Regex, value: r#"a "b" \ .*"#.into() };
        assert_eq!(tricky.to_string(), r#"msg=~"a \"b\" \\ .*""#);
    }
}
