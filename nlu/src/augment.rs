//! Slot-value substitution: more training sentences for the tagger.
//!
//! Hand-written data pairs each context with a few names ("restart latte"), so a
//! tagger can learn the names instead of the contexts. Each annotated example is
//! copied with its slot values swapped for values of the same slot seen
//! elsewhere in the data; the contexts stay, the values vary. Seeded, so
//! training stays deterministic. Variants are spliced token by token, so a
//! benchmark's own tokenisation and any slot name survive them.

use crate::data::{Example, SpanLabel};
use crate::tokenize::Token;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// One slot value as it occurred: its text, its tokens (offsets from the
/// value's start) and the canonical value the data gave it.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    tokens: Vec<Token>,
    canonical: Option<String>,
}

impl Value {
    fn of(e: &Example, s: &SpanLabel) -> Option<Value> {
        let (a, b) = (e.tokens.get(s.start)?, e.tokens.get(s.end.checked_sub(1)?)?);
        let tokens = e.tokens[s.start..s.end].iter().map(|t| moved(t, a.start, 0)).collect();
        Some(Value { text: e.text[a.start..b.end].to_string(), tokens, canonical: s.value.clone() })
    }
}

/// `t` with its offsets moved from counting at `from` to counting at `to`.
fn moved(t: &Token, from: usize, to: usize) -> Token {
    Token { start: t.start - from + to, end: t.end - from + to, ..t.clone() }
}

/// The values of each slot across the examples, deduplicated, per group.
fn value_pool<'a>(examples: &'a [Example], group: &dyn Fn(usize) -> usize) -> BTreeMap<(usize, &'a str), Vec<Value>> {
    let mut pool: BTreeMap<(usize, &str), Vec<Value>> = BTreeMap::new();
    for (i, e) in examples.iter().enumerate() {
        for s in &e.spans {
            if let Some(v) = Value::of(e, s) {
                pool.entry((group(i), s.slot.as_str())).or_default().push(v);
            }
        }
    }
    for v in pool.values_mut() {
        v.sort_by(|a, b| a.text.cmp(&b.text));
        v.dedup_by(|a, b| a.text == b.text);
    }
    pool
}

/// Returns the examples plus `copies` variants of each annotated example, each with
/// the index of the example it came from.
///
/// A variant takes its values from examples of the same `group` (the
/// cross-fitting fold): a fold's gazetteer and lexicon leave out that fold's
/// values, and a value from another fold would be one they know, teaching the
/// tagger to trust them more than unseen text deserves.
pub fn augment(
    examples: &[Example],
    copies: usize,
    seed: u64,
    group: &dyn Fn(usize) -> usize,
) -> Vec<(usize, Example)> {
    let mut out: Vec<(usize, Example)> = examples.iter().cloned().enumerate().collect();
    if copies == 0 {
        return out;
    }
    let pool = value_pool(examples, group);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for (i, e) in examples.iter().enumerate().filter(|(_, e)| !e.spans.is_empty()) {
        for _ in 0..copies {
            let picks: Vec<Option<&Value>> = e
                .spans
                .iter()
                .map(|s| pool.get(&(group(i), s.slot.as_str())).and_then(|p| p.choose(&mut rng)))
                .collect();
            if let Some(x) = splice(e, &picks) {
                out.push((i, x));
            }
        }
    }
    out
}

/// `e` with the value of span `k` replaced by `picks[k]` (kept where `None`);
/// the tokens of the replacement are the value's own, so each dataset keeps
/// its tokenisation.
fn splice(e: &Example, picks: &[Option<&Value>]) -> Option<Example> {
    let mut text = String::with_capacity(e.text.len() + 16);
    let mut tokens: Vec<Token> = Vec::with_capacity(e.tokens.len() + 4);
    let mut spans = Vec::with_capacity(e.spans.len());
    let mut last_byte = 0;
    let mut next_token = 0;
    for (s, pick) in e.spans.iter().zip(picks) {
        let first = e.tokens.get(s.start)?;
        let value = match pick {
            Some(v) => Cow::Borrowed(*v),
            None => Cow::Owned(Value::of(e, s)?),
        };
        let base = text.len();
        tokens.extend(e.tokens[next_token..s.start].iter().map(|t| moved(t, last_byte, base)));
        text.push_str(e.text.get(last_byte..first.start)?);
        let base = text.len();
        let start = tokens.len();
        tokens.extend(value.tokens.iter().map(|t| moved(t, 0, base)));
        text.push_str(&value.text);
        spans.push(SpanLabel { slot: s.slot.clone(), start, end: tokens.len(), value: value.canonical.clone() });
        last_byte = e.tokens.get(s.end - 1)?.end;
        next_token = s.end;
    }
    let base = text.len();
    tokens.extend(e.tokens[next_token..].iter().map(|t| moved(t, last_byte, base)));
    text.push_str(e.text.get(last_byte..)?);
    Some(Example { text, tokens, intent: e.intent.clone(), spans })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_annotated;

    #[test]
    fn swaps_values_and_keeps_contexts() {
        let ex = vec![
            parse_annotated("restart [latte](service) now", "restart_service").unwrap(),
            parse_annotated("is [payments-api](service) ok?", "health_check").unwrap(),
        ];
        let out = augment(&ex, 3, 1, &|_| 0);
        assert_eq!(out.len(), 8);
        for (_, e) in &out {
            assert_eq!(e.spans.len(), 1);
            let s = &e.spans[0];
            let text = &e.text[e.tokens[s.start].start..e.tokens[s.end - 1].end];
            assert!(text == "latte" || text == "payments-api", "{text}");
        }
        assert!(out.iter().any(|(i, e)| *i == 0 && e.text == "restart payments-api now"));
    }

    #[test]
    fn keeps_offsets_canonical_values_and_foreign_slot_names() {
        let ex = vec![
            Example::from_bio("play the song hey jude", &["O", "O", "O", "B-track", "I-track"], "PlayMusic").unwrap(),
            Example::from_bio("find the film heat wave", &["O", "O", "O", "B-movie", "I-movie"], "Search").unwrap(),
            parse_annotated("restart [latte](service) in [production](env:prod)", "restart_service").unwrap(),
            parse_annotated("is [payments-api](service) ok in [staging](env:staging)?", "health_check").unwrap(),
        ];
        let out = augment(&ex, 4, 7, &|_| 0);
        assert_eq!(out.len(), 4 + 16);
        for (_, e) in &out {
            for t in &e.tokens {
                assert_eq!(&e.text[t.start..t.end], t.text, "{}", e.text);
            }
            for s in e.spans.iter().filter(|s| s.slot == "env") {
                let raw = &e.text[e.tokens[s.start].start..e.tokens[s.end - 1].end];
                let want = if raw == "production" { "prod" } else { "staging" };
                assert_eq!(s.value.as_deref(), Some(want));
            }
        }
        assert!(out.iter().any(|(i, e)| *i == 2 && e.text == "restart payments-api in staging"));
    }

    #[test]
    fn values_stay_within_their_group() {
        let ex: Vec<Example> = ["latte", "mocha", "payments", "billing"]
            .iter()
            .map(|n| parse_annotated(&format!("restart [{n}](service)"), "restart_service").unwrap())
            .collect();
        let out = augment(&ex, 8, 3, &|i| i % 2);
        for (i, e) in &out {
            let name = e.text.trim_start_matches("restart ");
            let j = ex.iter().position(|x| x.text.ends_with(name)).unwrap();
            assert_eq!(i % 2, j % 2, "{} drew {name}", ex[*i].text);
        }
    }
}
