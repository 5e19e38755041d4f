//! Slot-value substitution: more training sentences for the tagger.
//!
//! Hand-written data pairs each context with a few names ("restart latte"), so a
//! tagger can learn the names instead of the contexts. Each annotated example is
//! copied with its slot values swapped for values of the same slot seen
//! elsewhere in the data; the contexts stay, the values vary. Seeded, so
//! training stays deterministic.

use crate::data::Example;
use crate::yaml::parse_annotated;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;

/// The texts of each slot's spans across the examples, deduplicated.
fn value_pool(examples: &[Example]) -> BTreeMap<String, Vec<String>> {
    let mut pool: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in examples {
        for s in &e.spans {
            if let (Some(a), Some(b)) = (e.tokens.get(s.start), e.tokens.get(s.end.saturating_sub(1))) {
                pool.entry(s.slot.clone()).or_default().push(e.text[a.start..b.end].to_string());
            }
        }
    }
    for v in pool.values_mut() {
        v.sort();
        v.dedup();
    }
    pool
}

/// Returns the examples plus `copies` variants of each annotated example, each with
/// the index of the example it came from.
pub fn augment(examples: &[Example], copies: usize, seed: u64) -> Vec<(usize, Example)> {
    let mut out: Vec<(usize, Example)> = examples.iter().cloned().enumerate().collect();
    if copies == 0 {
        return out;
    }
    let pool = value_pool(examples);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for (i, e) in examples.iter().enumerate().filter(|(_, e)| !e.spans.is_empty()) {
        for _ in 0..copies {
            let mut src = String::new();
            let mut last = 0;
            for s in &e.spans {
                let (Some(a), Some(b)) = (e.tokens.get(s.start), e.tokens.get(s.end.saturating_sub(1))) else {
                    continue;
                };
                let original = &e.text[a.start..b.end];
                let value = pool.get(&s.slot).and_then(|p| p.choose(&mut rng)).map_or(original, String::as_str);
                src.push_str(&escape(&e.text[last..a.start]));
                src.push('[');
                src.push_str(&escape(value));
                src.push_str("](");
                src.push_str(&s.slot);
                src.push(')');
                last = b.end;
            }
            src.push_str(&escape(&e.text[last..]));
            if let Ok(x) = parse_annotated(&src, &e.intent) {
                out.push((i, x));
            }
        }
    }
    out
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_values_and_keeps_contexts() {
        let ex = vec![
            parse_annotated("restart [latte](service) now", "restart_service").unwrap(),
            parse_annotated("is [payments-api](service) ok?", "health_check").unwrap(),
        ];
        let out = augment(&ex, 3, 1);
        assert_eq!(out.len(), 8);
        for (_, e) in &out {
            assert_eq!(e.spans.len(), 1);
            let s = &e.spans[0];
            let text = &e.text[e.tokens[s.start].start..e.tokens[s.end - 1].end];
            assert!(text == "latte" || text == "payments-api", "{text}");
        }
        assert!(out.iter().any(|(i, e)| *i == 0 && e.text == "restart payments-api now"));
    }
}
