//! What several skills share: "now", required slots, and turning backend errors
//! into [`SkillError`]s with name suggestions.

use crate::backends::{BackendError, Backends};
use crate::skill::{Request, SkillError, Window};
use chrono::{DateTime, Duration, Utc};

/// Similarity at or above which a known name is offered as a suggestion.
const SUGGEST_AT: f64 = 0.7;
/// Most suggestions offered.
const MAX_SUGGESTIONS: usize = 3;

/// The request's "now", so skills and tests agree; the wall clock otherwise.
pub(crate) fn now(req: &Request) -> DateTime<Utc> {
    req.now.unwrap_or_else(Utc::now)
}

/// The request's window, or the last `default` before now.
pub(crate) fn window_or_last(req: &Request, default: Duration) -> Window {
    req.window.unwrap_or_else(|| {
        let to = now(req);
        Window { from: to - default, to }
    })
}

/// The service slot, trimmed; `Missing` when absent or blank.
pub(crate) fn service(req: &Request) -> Result<&str, SkillError> {
    req.service.as_deref().map(str::trim).filter(|s| !s.is_empty()).ok_or(SkillError::Missing("service"))
}

/// How alike two names are, 0..=1, ignoring case.
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    strsim::jaro_winkler(&a, &b).max(strsim::normalized_damerau_levenshtein(&a, &b))
}

/// How alike two spellings are by edits alone, 0..=1, ignoring case. Stricter
/// than [`similarity`] (no prefix bonus): good enough to act on a typo.
pub(crate) fn typo_similarity(a: &str, b: &str) -> f64 {
    strsim::normalized_damerau_levenshtein(&a.to_lowercase(), &b.to_lowercase())
}

/// Known names close to `name`, best first (at most three).
pub fn suggest(name: &str, known: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut scored: Vec<(f64, String)> =
        known.into_iter().map(|k| (similarity(name, &k), k)).filter(|(score, _)| *score >= SUGGEST_AT).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().take(MAX_SUGGESTIONS).map(|(_, k)| k).collect()
}

/// A backend failure as the user sees it.
pub(crate) fn backend_error(e: BackendError) -> SkillError {
    SkillError::Backend { backend: e.backend, call: e.call, cause: e.cause }
}

/// A failed service call: an unknown service becomes `Unknown` with close names
/// from `services.list()`; anything else is a backend error.
pub(crate) async fn service_error(backends: &Backends, name: &str, e: BackendError) -> SkillError {
    if !e.not_found {
        return backend_error(e);
    }
    let known = backends.services.list().await.unwrap_or_else(|err| {
        tracing::warn!(%err, "listing services for suggestions failed");
        Vec::new()
    });
    SkillError::Unknown { kind: "service", name: name.to_string(), suggestions: suggest(name, known) }
}

/// Small print: where the data came from and when.
pub(crate) fn footer(source: &str, now: DateTime<Utc>) -> String {
    format!("{source} · {} UTC", crate::format::clock(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn suggestions_rank_close_names_and_drop_far_ones() {
        let known = names(&["latte", "payments-api", "auth", "search", "loadbalancers", "checkout"]);
        assert_eq!(suggest("lattee", known.clone()), vec!["latte"]);
        assert_eq!(suggest("LATET", known.clone()), vec!["latte"]);
        assert_eq!(suggest("payments", known.clone())[0], "payments-api");
        assert!(suggest("zzzz", known).is_empty());
    }
}
