//! "show payments errors from the last 15 min": the newest matching lines, cut to
//! fit a phone screen, with the count of all matches.

use super::common::{footer, now, service, service_error, window_or_last};
use crate::backends::{Backends, LogLine, LogQuery};
use crate::card::{Card, Status};
use crate::format;
use crate::skill::{Request, Risk, Skill, SkillError};
use async_trait::async_trait;
use chrono::Duration;

/// Lines shown at most.
const LIMIT: usize = 20;
/// Characters per line at most.
const MAX_LINE: usize = 200;
/// Window when none is asked for.
const DEFAULT_WINDOW_MINUTES: i64 = 15;

/// Searches a service's logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryLogs;

#[async_trait]
impl Skill for QueryLogs {
    fn intent(&self) -> &'static str {
        "query_logs"
    }

    fn required_slots(&self) -> &'static [&'static str] {
        &["service"]
    }

    fn risk(&self) -> Risk {
        Risk::Read
    }

    async fn run(&self, req: &Request, backends: &Backends) -> Result<Card, SkillError> {
        let name = service(req)?;
        let at = now(req);
        let window = window_or_last(req, Duration::minutes(DEFAULT_WINDOW_MINUTES));
        let query = req.query.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let level = req.level.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let q = LogQuery {
            service: name.to_string(),
            env: req.env.clone(),
            window,
            query: query.map(str::to_string),
            level: level.map(str::to_string),
            limit: LIMIT,
        };
        let result = match backends.logs.query(&q).await {
            Ok(r) => r,
            Err(e) => return Err(service_error(backends, name, e).await),
        };
        let range = format::range_long(window, at);
        let source = footer(backends.logs.name(), at);

        if result.lines.is_empty() {
            let mut what = Vec::new();
            if let Some(l) = level {
                what.push(format!("level {l}"));
            }
            if let Some(qt) = query {
                what.push(format!("\"{qt}\""));
            }
            let filter = if what.is_empty() { String::new() } else { format!(" matched {}", what.join(" and ")) };
            let text = format!("No lines from {name}{filter} in the {range}.");
            let text = if range.starts_with("last ") {
                text
            } else {
                format!("No lines from {name}{filter} between {range}.")
            };
            return Ok(Card::new(format!("{name} logs: no matches"), Status::Ok)
                .text(text)
                .field("window", range)
                .footer(source));
        }

        let mut card = Card::new(format!("{name} logs"), status(&result.lines)).field("window", range);
        if let Some(l) = level {
            card = card.field("level", l);
        }
        if let Some(qt) = query {
            card = card.field("query", format!("\"{qt}\""));
        }
        let shown = result.lines.len() as u64;
        let matches = if result.total > shown {
            format!("{} (showing newest {shown})", format::thousands(result.total))
        } else {
            format::thousands(result.total)
        };
        card = card.field("matches", matches);

        // Oldest first, like `tail`: the newest line is the last one read.
        let mut any_cut = false;
        let text: Vec<String> = result
            .lines
            .iter()
            .rev()
            .map(|l| {
                let (line, cut) = format::cut(&render(l), MAX_LINE);
                any_cut |= cut;
                line
            })
            .collect();
        card = card.code(text.join("\n"));
        if any_cut {
            card = card.text("(long lines cut)");
        }
        Ok(card.footer(source))
    }
}

/// "HH:MM:SS LEVEL instance message".
fn render(l: &LogLine) -> String {
    format!("{} {:<5} {} {}", format::clock(l.ts), l.level.to_uppercase(), l.instance, l.message)
}

/// A warning when errors are among the lines shown.
fn status(lines: &[LogLine]) -> Status {
    if lines.iter().any(|l| l.level.eq_ignore_ascii_case("error")) { Status::Warning } else { Status::Ok }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::Block;
    use crate::demo::testing::{Fixture, t0};
    use crate::skill::Window;

    fn req(service: &str, fx: &Fixture) -> Request {
        Request { service: Some(service.into()), now: Some(fx.now()), ..Request::default() }
    }

    fn code(card: &Card) -> &str {
        card.blocks
            .iter()
            .find_map(|b| match b {
                Block::Code { text } => Some(text.as_str()),
                Block::Text { .. } => None,
            })
            .unwrap_or("")
    }

    fn total(card: &Card) -> u64 {
        let m = card.field_value("matches").unwrap();
        m.split(' ').next().unwrap().replace(',', "").parse().unwrap()
    }

    #[tokio::test]
    async fn newest_twenty_lines_of_the_last_fifteen_minutes() {
        let fx = Fixture::new();
        let card = QueryLogs.run(&req("latte", &fx), &fx.backends).await.unwrap();
        assert_eq!(card.title, "latte logs");
        assert_eq!(card.field_value("window"), Some("last 15m (09:45–10:00 UTC)"));
        let matches = card.field_value("matches").unwrap();
        assert!(matches.ends_with(" (showing newest 20)"), "{matches}");
        assert!(total(&card) > 100);
        let lines: Vec<&str> = code(&card).lines().collect();
        assert_eq!(lines.len(), 20);
        // "HH:MM:SS LEVEL instance message", oldest first, all inside the window.
        for l in &lines {
            let mut parts = l.split_whitespace();
            let time = parts.next().unwrap();
            assert!(time.len() == 8 && ("09:45:00"..="09:59:59").contains(&time), "{l}");
            assert!(["INFO", "WARN", "ERROR"].contains(&parts.next().unwrap()), "{l}");
            assert!(parts.next().unwrap().starts_with("latte/"), "{l}");
        }
        assert!(lines.windows(2).all(|w| w[0][..8] <= w[1][..8]));
    }

    #[tokio::test]
    async fn level_and_words_filter_and_count() {
        let fx = Fixture::new();
        let window = Some(Window { from: t0() - Duration::hours(1), to: t0() });
        let all = QueryLogs.run(&Request { window, ..req("payments-api", &fx) }, &fx.backends).await.unwrap();
        let errors = QueryLogs
            .run(&Request { window, level: Some("error".into()), ..req("payments-api", &fx) }, &fx.backends)
            .await
            .unwrap();
        assert_eq!(errors.status, Status::Warning);
        assert_eq!(errors.field_value("level"), Some("error"));
        assert!(total(&errors) < total(&all));
        assert!(code(&errors).lines().all(|l| l.split_whitespace().nth(1) == Some("ERROR")));

        let r =
            Request { window, level: Some("error".into()), query: Some("issuer".into()), ..req("payments-api", &fx) };
        let issuer = QueryLogs.run(&r, &fx.backends).await.unwrap();
        assert_eq!(issuer.field_value("query"), Some("\"issuer\""));
        assert!(total(&issuer) > 0 && total(&issuer) <= total(&errors));
        assert!(code(&issuer).lines().all(|l| l.contains("issuer")));
    }

    #[tokio::test]
    async fn long_lines_are_cut_with_a_note() {
        let fx = Fixture::new();
        // The search instance logged Java OOM traces before it crashed 12 minutes ago.
        let window = Some(Window { from: t0() - Duration::hours(3), to: t0() - Duration::minutes(12) });
        let r = Request { window, query: Some("OutOfMemoryError".into()), ..req("search", &fx) };
        let card = QueryLogs.run(&r, &fx.backends).await.unwrap();
        let lines: Vec<&str> = code(&card).lines().collect();
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|l| l.chars().count() <= 200 && l.ends_with('…')), "{lines:?}");
        assert!(card.blocks.contains(&Block::Text { text: "(long lines cut)".into() }));
        assert_eq!(card.field_value("window"), Some("07:00–09:48 UTC"));
    }

    #[tokio::test]
    async fn no_match_is_an_ok_card_with_the_window() {
        let fx = Fixture::new();
        let r = Request { query: Some("flux capacitor".into()), level: Some("warn".into()), ..req("auth", &fx) };
        let card = QueryLogs.run(&r, &fx.backends).await.unwrap();
        assert_eq!(card.status, Status::Ok);
        assert_eq!(card.title, "auth logs: no matches");
        assert_eq!(card.field_value("window"), Some("last 15m (09:45–10:00 UTC)"));
        assert_eq!(
            card.blocks,
            vec![Block::Text {
                text: "No lines from auth matched level warn and \"flux capacitor\" in the last 15m (09:45–10:00 UTC)."
                    .into()
            }]
        );
    }

    #[tokio::test]
    async fn unknown_service_suggests() {
        let fx = Fixture::new();
        let err = QueryLogs.run(&req("serach", &fx), &fx.backends).await.unwrap_err();
        assert!(
            matches!(err, SkillError::Unknown { kind: "service", ref suggestions, .. } if suggestions[0] == "search")
        );
    }
}
