//! Typo correction of command words (`restrat` -> `restart`, `aletrs` -> `alerts`).
//!
//! Phone typing garbles the few words that carry the intent. Character n-grams
//! soften that, but a transposed `aletrs` shares few trigrams with `alerts`. So
//! words the models have never seen are corrected to a frequent training word
//! at Damerau-Levenshtein distance one, found through a SymSpell-style index of
//! single deletions (a handful of hash lookups per word, no scan). Names are
//! left alone: only words outside slots are in the index, and gazetteer hits
//! are never corrected.

use crate::data::Example;
use crate::features::hash_str;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Frequent words seen outside slot spans, indexed by their single deletions.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpellIndex {
    words: Vec<String>,
    deletes: FxHashMap<u64, Vec<u32>>,
    /// Every word seen in training, in or out of slots: never corrected.
    seen: rustc_hash::FxHashSet<u64>,
}

/// Shortest word considered for correction; shorter ones are too ambiguous.
const MIN_LEN: usize = 4;

fn deletions(word: &[char]) -> impl Iterator<Item = String> + '_ {
    (0..word.len()).map(move |i| word.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect())
}

impl SpellIndex {
    /// Indexes alphabetic words seen at least `min_count` times outside slots.
    pub fn fit(examples: &[Example], min_count: usize) -> Self {
        let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
        let mut seen = rustc_hash::FxHashSet::default();
        for e in examples {
            for (i, t) in e.tokens.iter().enumerate() {
                seen.insert(hash_str(9, &t.norm));
                if !e.spans.iter().any(|s| s.start <= i && i < s.end) && t.norm.chars().all(char::is_alphabetic) {
                    *counts.entry(t.norm.as_str()).or_insert(0) += 1;
                }
            }
        }
        let mut words: Vec<String> = counts
            .into_iter()
            .filter(|(w, c)| *c >= min_count && w.chars().count() >= MIN_LEN - 1)
            .map(|(w, _)| w.to_string())
            .collect();
        words.sort();
        let mut idx = SpellIndex { words: Vec::new(), deletes: FxHashMap::default(), seen };
        for (n, w) in words.iter().enumerate() {
            let chars: Vec<char> = w.chars().collect();
            idx.deletes.entry(hash_str(9, w)).or_default().push(n as u32);
            for d in deletions(&chars) {
                idx.deletes.entry(hash_str(9, &d)).or_default().push(n as u32);
            }
        }
        idx.words = words;
        idx
    }

    /// True when `word` was seen in training.
    pub fn knows(&self, word: &str) -> bool {
        self.seen.contains(&hash_str(9, word))
    }

    /// The unique indexed word at distance one from `word`; `None` when there is none or several.
    ///
    /// Conservative, because a wrong correction is worse than none: a plural or
    /// singular is not a typo (`reviews` stays), and a substituted letter only
    /// counts in words of five letters or more (`heap` is not `help`).
    pub fn correct(&self, word: &str) -> Option<&str> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < MIN_LEN || chars.len() > 24 || !chars.iter().all(|c| c.is_alphabetic()) || self.knows(word) {
            return None;
        }
        let mut found: Option<u32> = None;
        let mut probe = |key: &str| -> bool {
            for &n in self.deletes.get(&hash_str(9, key)).map_or(&[][..], Vec::as_slice) {
                let cand = &self.words[n as usize];
                if plausible_typo(cand, word) {
                    match found {
                        Some(f) if f != n => return false,
                        _ => found = Some(n),
                    }
                }
            }
            true
        };
        if !probe(word) {
            return None;
        }
        for d in deletions(&chars) {
            if !probe(&d) {
                return None;
            }
        }
        found.map(|n| self.words[n as usize].as_str())
    }
}

fn plausible_typo(cand: &str, word: &str) -> bool {
    if strsim::damerau_levenshtein(cand, word) != 1 || cand.starts_with(word) || word.starts_with(cand) {
        return false;
    }
    let (a, b) = (cand.chars().count(), word.chars().count());
    // Same length and not a transposition: a substitution.
    let substitution = a == b && strsim::levenshtein(cand, word) == 1;
    !substitution || b >= 5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SpellIndex {
        let ex: Vec<Example> = ["restart latte", "show alerts", "silence alerts", "help me", "restart auth"]
            .iter()
            .map(|s| Example::new(s, "x"))
            .collect();
        SpellIndex::fit(&ex, 1)
    }

    #[test]
    fn corrects_common_phone_typos() {
        let idx = index();
        assert_eq!(idx.correct("restrat"), Some("restart"));
        assert_eq!(idx.correct("aletrs"), Some("alerts"));
        assert_eq!(idx.correct("sielnce"), Some("silence"));
        assert_eq!(idx.correct("hepl"), Some("help"));
        assert_eq!(idx.correct("heap"), None);
        assert_eq!(idx.correct("restarts"), None);
        assert_eq!(idx.correct("restart"), None);
        assert_eq!(idx.correct("wallet"), None);
        assert_eq!(idx.correct(""), None);
        assert_eq!(idx.correct("🔥🔥🔥🔥"), None);
    }
}
