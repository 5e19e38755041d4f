//! Hashed sparse features for the lexical intent model.
//!
//! Word unigrams and bigrams, character n-grams inside words (robust to typos
//! such as `restrat`), CJK character bigrams (through the per-character tokens),
//! token kinds and gazetteer hits. Features are hashed, so the model needs no
//! vocabulary file and new words cost nothing; TF-IDF weighting and L2
//! normalisation follow the classic recipe that makes linear models strong.

use crate::tokenize::{Token, TokenKind};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A sparse vector: (feature id, value), ids unique.
pub type SparseVec = Vec<(u32, f32)>;

/// FNV-1a, stable across builds and platforms (models are saved to disk).
pub fn hash_str(namespace: u8, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(namespace);
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn hash_pair(namespace: u8, a: &str, b: &str) -> u64 {
    let h = hash_str(namespace, a);
    let mut h2 = h ^ 0x9e37_79b9_7f4a_7c15;
    for byte in b.as_bytes() {
        h2 ^= u64::from(*byte);
        h2 = h2.wrapping_mul(0x0100_0000_01b3);
    }
    h2
}

/// Words seen in training outside slot spans: the language around names.
///
/// A word outside it is probably a name (a service, a user) that the models
/// never saw; both models get a `<name>` feature for it, so "restart wallet"
/// looks like "restart latte" even when `wallet` is new.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lexicon(rustc_hash::FxHashSet<u64>);

impl Lexicon {
    /// Collects the words outside slot spans.
    pub fn fit(examples: &[crate::data::Example]) -> Self {
        let mut set = rustc_hash::FxHashSet::default();
        for e in examples {
            for (i, t) in e.tokens.iter().enumerate() {
                if !e.spans.iter().any(|s| s.start <= i && i < s.end) {
                    set.insert(hash_str(0, &t.norm));
                }
            }
        }
        Lexicon(set)
    }

    /// True when the word was seen outside slots.
    pub fn contains(&self, norm: &str) -> bool {
        self.0.contains(&hash_str(0, norm))
    }

    /// True for a word token that the lexicon has not seen.
    pub fn is_novel(&self, t: &Token) -> bool {
        !self.0.is_empty() && t.kind != TokenKind::Punct && !self.contains(&t.norm)
    }
}

/// Produces the raw hashed features of one utterance (before weighting).
pub fn raw_features(
    tokens: &[Token],
    entity_of: &dyn Fn(usize) -> Option<String>,
    lexicon: &Lexicon,
    out: &mut Vec<u64>,
) {
    out.clear();
    let kept: Vec<&Token> = tokens.iter().filter(|t| t.kind != TokenKind::Punct || t.norm == "?").collect();
    let words: Vec<&str> = kept.iter().map(|t| t.norm.as_str()).collect();
    let generic: Vec<&str> =
        kept.iter().map(|t| if lexicon.is_novel(t) { "<name>" } else { t.norm.as_str() }).collect();
    for (i, w) in words.iter().enumerate() {
        out.push(hash_str(1, w));
        let prev = if i == 0 { "<s>" } else { words[i - 1] };
        out.push(hash_pair(2, prev, w));
        if generic[i] != *w || (i > 0 && generic[i - 1] != prev) {
            let gprev = if i == 0 { "<s>" } else { generic[i - 1] };
            out.push(hash_pair(2, gprev, generic[i]));
        }
    }
    if let Some(last) = words.last() {
        out.push(hash_pair(2, last, "</s>"));
    }
    for t in tokens {
        match t.kind {
            TokenKind::Word | TokenKind::Ops | TokenKind::Number => {
                char_ngrams(&t.norm, out);
                if t.kind != TokenKind::Word {
                    out.push(hash_str(4, crate::tokenize::shape(&t.norm).as_str()));
                }
            }
            TokenKind::Cjk | TokenKind::Punct => {}
        }
    }
    for i in 0..tokens.len() {
        if let Some(kind) = entity_of(i) {
            out.push(hash_str(5, &kind));
        }
    }
    if words.is_empty() {
        out.push(hash_str(6, "<empty>"));
    }
}

fn char_ngrams(word: &str, out: &mut Vec<u64>) {
    let chars: Vec<char> = std::iter::once('<').chain(word.chars().take(40)).chain(std::iter::once('>')).collect();
    let mut buf = String::new();
    for n in 3..=5 {
        if chars.len() < n {
            break;
        }
        for win in chars.windows(n) {
            buf.clear();
            buf.extend(win);
            out.push(hash_str(3 + (n as u8) * 16, &buf));
        }
    }
}

/// Maps hashed features to columns and weights them by IDF; learned from training data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeatureSpace {
    columns: FxHashMap<u64, u32>,
    idf: Vec<f32>,
}

impl FeatureSpace {
    /// Builds the column map and IDF weights from the raw features of each training document.
    pub fn fit(docs: &[Vec<u64>]) -> Self {
        let mut df: FxHashMap<u64, u32> = FxHashMap::default();
        let mut seen = rustc_hash::FxHashSet::default();
        for d in docs {
            seen.clear();
            for h in d {
                if seen.insert(*h) {
                    *df.entry(*h).or_insert(0) += 1;
                }
            }
        }
        let mut keys: Vec<(u64, u32)> = df.into_iter().collect();
        keys.sort_unstable();
        let n = docs.len() as f32;
        let mut columns = FxHashMap::default();
        let mut idf = Vec::with_capacity(keys.len());
        for (i, (h, c)) in keys.into_iter().enumerate() {
            columns.insert(h, i as u32);
            idf.push(((1.0 + n) / (1.0 + c as f32)).ln() + 1.0);
        }
        FeatureSpace { columns, idf }
    }

    /// Number of columns.
    pub fn dim(&self) -> usize {
        self.idf.len()
    }

    /// TF-IDF vector (sublinear tf, L2-normalised); unknown features are dropped.
    pub fn vectorize(&self, raw: &[u64]) -> SparseVec {
        let mut counts: FxHashMap<u32, f32> = FxHashMap::default();
        for h in raw {
            if let Some(&c) = self.columns.get(h) {
                *counts.entry(c).or_insert(0.0) += 1.0;
            }
        }
        let mut v: SparseVec = counts.into_iter().map(|(c, tf)| (c, (1.0 + tf.ln()) * self.idf[c as usize])).collect();
        v.sort_unstable_by_key(|x| x.0);
        let norm = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut v {
                x.1 /= norm;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::tokenize;

    #[test]
    fn tfidf_is_normalised_and_drops_unknowns() {
        let none = |_: usize| None;
        let lex = Lexicon::default();
        let mut a = Vec::new();
        raw_features(&tokenize("restart latte"), &none, &lex, &mut a);
        let mut b = Vec::new();
        raw_features(&tokenize("check latte"), &none, &lex, &mut b);
        let space = FeatureSpace::fit(&[a.clone(), b]);
        let v = space.vectorize(&a);
        let norm: f32 = v.iter().map(|x| x.1 * x.1).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        let mut c = Vec::new();
        raw_features(&tokenize("zzzz qqqq"), &none, &lex, &mut c);
        assert!(space.vectorize(&c).is_empty());
    }

    #[test]
    fn hashing_is_stable() {
        assert_eq!(hash_str(1, "latte"), hash_str(1, "latte"));
        assert_ne!(hash_str(1, "latte"), hash_str(2, "latte"));
    }
}
