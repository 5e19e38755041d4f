//! Fuzzy matching of user-typed names (services, dashboards, firewalls ...)
//! against a gazetteer that the bot replaces at run time with the live inventory.
//!
//! Names are compared in a *key* form: lowercase with '-', '_' and whitespace
//! removed, so "Payments API", "payments-api" and "payments_api" are the same
//! name. An exact key match (canonical or synonym) scores 1.0.
//!
//! # Fuzzy scoring
//!
//! For a query key `q` and a name key `c` (lengths in chars, `short`/`long`):
//!
//! 1. **Edit budget.** `d` = Damerau-Levenshtein distance (adjacent swaps cost 1).
//!    Allowed: `short <= 2` nothing; `short == 3` only a single adjacent swap
//!    ("dsn" → "dns" ≈ 0.61, never "dbs" → "dns"); `4..=5` one edit; `6..=8`
//!    two; longer three. Beyond the budget the score is 0.
//! 2. **Similarity.** `(1 - d/long + jaro_winkler(q, c)) / 2`: the edit ratio
//!    keeps long names honest, Jaro-Winkler rewards the shared prefix that real
//!    typos keep ("latet" → "latte" ≈ 0.88, "paymnts-api" → "payments-api" ≈ 0.95).
//! 3. **First letter.** Typos rarely hit the first character, and in short names a
//!    different first letter usually means a different name ("auth" vs "oauth"),
//!    so a first-letter mismatch costs `0.6/long` (0.12 for "oauth", ≈ 0.75 total).
//! 4. Fuzzy scores are capped at 0.99 so only exact matches reach 1.0.
//!
//! With [`DEFAULT_MIN_SCORE`] (0.8) single typos in names of four or more
//! letters match, 3-letter names need an exact match, and "auth"/"oauth" or
//! "api"/"app" do not; a lower threshold is still useful for "did you mean".

use std::collections::{BTreeMap, HashMap};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// A threshold that accepts single typos in names of four or more letters and
/// rejects short look-alikes; see the module docs for the scoring.
pub const DEFAULT_MIN_SCORE: f32 = 0.8;

/// Queries longer than this (in chars) are matched exactly only: no inventory
/// name is that long, and edit distance is quadratic.
const MAX_FUZZY_CHARS: usize = 128;

/// Fuzzy scores stay below this so a typo never looks like an exact match.
const MAX_FUZZY_SCORE: f64 = 0.99;

/// One canonical value with its synonyms: the serialised form of a gazetteer entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GazetteerEntry {
    /// The name the bot acts on ("payments-api").
    pub canonical: String,
    /// Other names users type for it ("payments", "payment api", "支付").
    #[serde(default)]
    pub synonyms: Vec<String>,
}

/// Names of one entity kind (service, dashboard, firewall ...) with synonyms, matched exactly or fuzzily.
///
/// Serialises as `{ kind: [ { canonical, synonyms }, ... ] }`; lookup indexes
/// are rebuilt on deserialisation.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "BTreeMap<String, Vec<GazetteerEntry>>")]
pub struct Gazetteer {
    kinds: BTreeMap<String, KindTable>,
    /// First sub-token → phrases (across all kinds) that start with it, for [`Gazetteer::longest_at`].
    index: HashMap<String, Vec<Phrase>>,
}

/// A match of a typed name against a gazetteer value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The canonical value matched.
    pub canonical: String,
    /// 1.0 for an exact or synonym match, below 1.0 for a fuzzy one.
    pub score: f32,
}

/// The values of one kind with their exact-match index.
#[derive(Debug, Clone, Default)]
struct KindTable {
    values: Vec<Value>,
    /// Canonical key → value index (identity of a value).
    by_canonical: HashMap<String, usize>,
    /// Any name key → value index. A canonical beats another value's synonym;
    /// between synonyms the first inserted wins.
    exact: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
struct Value {
    entry: GazetteerEntry,
    /// Canonical first, then distinct synonyms.
    names: Vec<Name>,
}

/// A name in key form, with what fuzzy scoring needs precomputed.
#[derive(Debug, Clone)]
struct Name {
    key: String,
    chars: usize,
    first: Option<char>,
}

/// A multi-word name for the tagger: its sub-tokens ("payment", "api").
#[derive(Debug, Clone)]
struct Phrase {
    kind: String,
    /// Canonical key of the owning value, to remove its phrases on replace.
    owner: String,
    subtokens: Vec<String>,
}

fn is_separator(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Maps full-width ASCII ("ｐｒｏｄ", common with Chinese IMEs) to ASCII, as NFKC would.
fn fullwidth_to_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Lowercase, full-width folded, separators removed: the form exact matching compares.
fn key_of(s: &str) -> String {
    s.chars().map(fullwidth_to_ascii).filter(|c| !is_separator(*c)).flat_map(char::to_lowercase).collect()
}

/// Lowercase and full-width folded, separators kept: the form tagger phrases are built from.
fn lower_of(s: &str) -> String {
    s.chars().map(fullwidth_to_ascii).flat_map(char::to_lowercase).collect()
}

/// Characters the tokenizer gives a token each (same ranges as `tokenize::is_cjk`),
/// so "支付服务" must be matched character by character.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F
        | 0x3040..=0x30FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF
        | 0xFF01..=0xFF0F
        | 0xFF1A..=0xFF20
        | 0x20000..=0x2FFFF)
}

/// The words the tagger compares: split on separators, each CJK character on its
/// own ("payments-api" → "payments", "api"; "支付api" → "支", "付", "api").
fn subtokens(s: &str) -> Words<'_> {
    Words { rest: s }
}

/// Iterator behind [`subtokens`]; borrows, never allocates.
struct Words<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(is_separator);
        let c = s.chars().next()?;
        let end =
            if is_cjk(c) { c.len_utf8() } else { s.find(|ch: char| is_separator(ch) || is_cjk(ch)).unwrap_or(s.len()) };
        self.rest = &s[end..];
        Some(&s[..end])
    }
}

impl Name {
    fn new(key: String) -> Self {
        Name { chars: key.chars().count(), first: key.chars().next(), key }
    }
}

impl Value {
    fn new(canonical: &str, synonyms: &[String]) -> Option<Self> {
        let canonical = canonical.trim();
        let key = key_of(canonical);
        if key.is_empty() {
            return None;
        }
        let mut names = vec![Name::new(key)];
        let mut kept = Vec::new();
        for syn in synonyms {
            let syn = syn.trim();
            let key = key_of(syn);
            if key.is_empty() || names.iter().any(|n| n.key == key) {
                continue;
            }
            names.push(Name::new(key));
            kept.push(syn.to_string());
        }
        Some(Value { entry: GazetteerEntry { canonical: canonical.to_string(), synonyms: kept }, names })
    }

    fn key(&self) -> &str {
        &self.names[0].key
    }

    /// Tagger phrases for every name: the word sequence, plus the joined form
    /// so a single token "paymentsapi" also hits "payments api".
    fn phrases(&self, kind: &str) -> Vec<Phrase> {
        let mut seqs: Vec<Vec<String>> = Vec::new();
        let raw = std::iter::once(&self.entry.canonical).chain(&self.entry.synonyms);
        for name in raw {
            let lower = lower_of(name);
            let words: Vec<String> = subtokens(&lower).map(str::to_string).collect();
            if words.is_empty() {
                continue;
            }
            if words.len() > 1 {
                let joined = vec![words.concat()];
                if !seqs.contains(&joined) {
                    seqs.push(joined);
                }
            }
            if !seqs.contains(&words) {
                seqs.push(words);
            }
        }
        seqs.into_iter()
            .map(|subtokens| Phrase { kind: kind.to_string(), owner: self.key().to_string(), subtokens })
            .collect()
    }
}

impl KindTable {
    fn add_exact(&mut self, idx: usize) {
        let Some(value) = self.values.get(idx) else {
            return;
        };
        for name in &value.names[1..] {
            self.exact.entry(name.key.clone()).or_insert(idx);
        }
        self.exact.insert(value.key().to_string(), idx);
    }

    fn rebuild_exact(&mut self) {
        self.exact.clear();
        for (idx, value) in self.values.iter().enumerate() {
            for name in &value.names[1..] {
                self.exact.entry(name.key.clone()).or_insert(idx);
            }
        }
        for (idx, value) in self.values.iter().enumerate() {
            self.exact.insert(value.key().to_string(), idx);
        }
    }
}

impl Gazetteer {
    /// An empty gazetteer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a canonical value with its synonyms for `kind`.
    ///
    /// Values are identified by their key form, so inserting "Payments-API"
    /// replaces "payments api". Names that are empty after normalisation are ignored.
    pub fn insert(&mut self, kind: &str, canonical: &str, synonyms: &[&str]) {
        let synonyms: Vec<String> = synonyms.iter().map(|s| s.to_string()).collect();
        self.insert_owned(kind, canonical, &synonyms);
    }

    fn insert_owned(&mut self, kind: &str, canonical: &str, synonyms: &[String]) {
        let Some(value) = Value::new(canonical, synonyms) else {
            return;
        };
        let phrases = value.phrases(kind);
        let key = value.key().to_string();
        let table = self.kinds.entry(kind.to_string()).or_default();
        match table.by_canonical.get(&key).copied() {
            // Re-inserting the same value (common when built from examples) is a no-op.
            Some(idx) if table.values[idx].entry == value.entry => return,
            Some(idx) => {
                let old = std::mem::replace(&mut table.values[idx], value);
                table.rebuild_exact();
                for phrase in old.phrases(kind) {
                    if let Some(first) = phrase.subtokens.first()
                        && let Some(bucket) = self.index.get_mut(first)
                    {
                        bucket.retain(|p| !(p.kind == kind && p.owner == key));
                        if bucket.is_empty() {
                            self.index.remove(first);
                        }
                    }
                }
            }
            None => {
                let idx = table.values.len();
                table.values.push(value);
                table.by_canonical.insert(key, idx);
                table.add_exact(idx);
            }
        }
        for phrase in phrases {
            if let Some(first) = phrase.subtokens.first() {
                self.index.entry(first.clone()).or_default().push(phrase);
            }
        }
    }

    /// Replaces all values of one kind (live inventory refresh).
    pub fn replace_kind(&mut self, kind: &str, values: impl IntoIterator<Item = (String, Vec<String>)>) {
        self.kinds.insert(kind.to_string(), KindTable::default());
        self.index.retain(|_, bucket| {
            bucket.retain(|p| p.kind != kind);
            !bucket.is_empty()
        });
        for (canonical, synonyms) in values {
            self.insert_owned(kind, &canonical, &synonyms);
        }
    }

    /// The entity kinds present, in sorted order.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// Best match of `text` among values of `kind`: exact (case-insensitive, also ignoring '-'/'_'/space differences) or synonym = 1.0; else fuzzy above `min_score`.
    ///
    /// See the module docs for the scoring; [`DEFAULT_MIN_SCORE`] is a sensible threshold.
    /// `latet` → latte (≈ 0.88), `paymnts-api` → payments-api, `pizza` → None.
    pub fn lookup(&self, kind: &str, text: &str, min_score: f32) -> Option<Match> {
        let table = self.kinds.get(kind)?;
        let key = key_of(text);
        if key.is_empty() {
            return None;
        }
        if let Some(&idx) = table.exact.get(&key) {
            return (1.0 >= min_score)
                .then(|| Match { canonical: table.values[idx].entry.canonical.clone(), score: 1.0 });
        }
        scored(table, &key, min_score)
            .into_iter()
            .next()
            .map(|(score, idx)| Match { canonical: table.values[idx].entry.canonical.clone(), score })
    }

    /// The best few matches above `min_score`, best first (for "did you mean").
    ///
    /// Ties are broken by canonical name so the order is stable.
    pub fn suggest(&self, kind: &str, text: &str, min_score: f32, n: usize) -> Vec<Match> {
        let Some(table) = self.kinds.get(kind) else {
            return Vec::new();
        };
        let key = key_of(text);
        if key.is_empty() || n == 0 {
            return Vec::new();
        }
        let mut scored = scored(table, &key, min_score);
        if let Some(&idx) = table.exact.get(&key)
            && 1.0 >= min_score
        {
            scored.retain(|&(_, i)| i != idx);
            scored.insert(0, (1.0, idx));
        }
        scored.truncate(n);
        scored
            .into_iter()
            .map(|(score, idx)| Match { canonical: table.values[idx].entry.canonical.clone(), score })
            .collect()
    }

    /// Exact (normalised) lookup of a token sequence across all kinds: used as a tagger feature.
    ///
    /// Returns (kind, token_len) of the longest entry starting at `tokens[i]`
    /// (entries may be multi-word: "payment api"). Tokens must already be
    /// lowercase; '-'/'_' inside a token split it into words, so the token
    /// "payment-api" and the tokens "payment", "api" both match "payment api".
    /// When kinds share a phrase, the alphabetically first kind wins.
    pub fn longest_at(&self, tokens: &[&str], i: usize) -> Option<(&str, usize)> {
        let first = subtokens(tokens.get(i)?).next()?;
        let bucket = self.index.get(first)?;
        let max_words = bucket.iter().map(|p| p.subtokens.len()).max()?;
        // Input words with the index of the token they came from, whole tokens only.
        let mut words: Vec<(&str, usize)> = Vec::with_capacity(max_words);
        for (offset, token) in tokens[i..].iter().enumerate() {
            words.extend(subtokens(token).map(|w| (w, offset)));
            if words.len() >= max_words {
                break;
            }
        }
        let mut best: Option<(&str, usize)> = None;
        for phrase in bucket {
            let n = phrase.subtokens.len();
            if n > words.len() || n == 0 {
                continue;
            }
            let same = phrase.subtokens.iter().zip(&words[..n]).all(|(p, (w, _))| p == w);
            let last_token = words[n - 1].1;
            let ends_on_token = words.get(n).is_none_or(|(_, t)| *t != last_token);
            if !same || !ends_on_token {
                continue;
            }
            let len = last_token + 1;
            let better = match best {
                None => true,
                Some((kind, best_len)) => len > best_len || (len == best_len && phrase.kind.as_str() < kind),
            };
            if better {
                best = Some((phrase.kind.as_str(), len));
            }
        }
        best
    }
}

/// Fuzzy scores of every value of `table` at or above `min_score`, best first.
fn scored(table: &KindTable, key: &str, min_score: f32) -> Vec<(f32, usize)> {
    let query = Name::new(key.to_string());
    if query.chars > MAX_FUZZY_CHARS {
        return Vec::new();
    }
    let mut out: Vec<(f32, usize)> = table
        .values
        .iter()
        .enumerate()
        .filter_map(|(idx, value)| {
            let best = value.names.iter().map(|name| fuzzy_score(&query, name)).fold(0.0f32, f32::max);
            (best > 0.0 && best >= min_score).then_some((best, idx))
        })
        .collect();
    out.sort_by(|a, b| {
        b.0.total_cmp(&a.0).then_with(|| table.values[a.1].entry.canonical.cmp(&table.values[b.1].entry.canonical))
    });
    out
}

/// Fuzzy similarity of two keys in [0, 0.99]; 0 when outside the edit budget.
fn fuzzy_score(query: &Name, name: &Name) -> f32 {
    let short = query.chars.min(name.chars);
    let long = query.chars.max(name.chars);
    let budget = match short {
        0..=2 => return 0.0,
        3..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    if long - short > budget {
        return 0.0;
    }
    let d = strsim::damerau_levenshtein(&query.key, &name.key);
    if d == 0 || d > budget {
        return 0.0;
    }
    if short == 3 && !(query.chars == name.chars && d == 1 && same_letters(query, name)) {
        return 0.0;
    }
    // Lengths here are at most MAX_FUZZY_CHARS + 3, exact in f64.
    let long = long as f64;
    let mut score = (1.0 - d as f64 / long + strsim::jaro_winkler(&query.key, &name.key)) / 2.0;
    if query.first != name.first {
        score -= 0.6 / long;
    }
    score.clamp(0.0, MAX_FUZZY_SCORE) as f32
}

/// Same multiset of characters: with equal length and distance 1, an adjacent swap.
fn same_letters(a: &Name, b: &Name) -> bool {
    let mut x: Vec<char> = a.key.chars().collect();
    let mut y: Vec<char> = b.key.chars().collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

impl From<BTreeMap<String, Vec<GazetteerEntry>>> for Gazetteer {
    fn from(kinds: BTreeMap<String, Vec<GazetteerEntry>>) -> Self {
        let mut g = Gazetteer::new();
        for (kind, entries) in kinds {
            g.replace_kind(&kind, entries.into_iter().map(|e| (e.canonical, e.synonyms)));
        }
        g
    }
}

impl Serialize for Gazetteer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.kinds.len()))?;
        for (kind, table) in &self.kinds {
            let entries: Vec<&GazetteerEntry> = table.values.iter().map(|v| &v.entry).collect();
            map.serialize_entry(kind, &entries)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Gazetteer {
        let mut g = Gazetteer::new();
        g.insert("drink", "latte", &["caffe latte", "拿铁"]);
        g.insert("drink", "cappuccino", &["cappu"]);
        g.insert("drink", "espresso", &[]);
        g.insert("service", "payments-api", &["payment api", "payments"]);
        g.insert("service", "auth", &[]);
        g.insert("service", "search", &[]);
        g.insert("service", "dns", &[]);
        g.insert("service", "api", &[]);
        g.insert("dashboard", "payments overview", &["payments"]);
        g
    }

    fn canonical(m: Option<Match>) -> Option<String> {
        m.map(|m| m.canonical)
    }

    #[test]
    fn exact_and_synonyms_score_one() {
        let g = menu();
        for text in ["latte", "LATTE", "  Latte ", "caffe latte", "caffe-latte", "CaffeLatte", "拿铁", "ＬＡＴＴＥ"]
        {
            let m = g.lookup("drink", text, DEFAULT_MIN_SCORE);
            assert_eq!(m, Some(Match { canonical: "latte".into(), score: 1.0 }), "{text:?}");
        }
        for text in ["payments-api", "payments api", "payments_api", "PaymentsAPI", "payment api"] {
            let m = g.lookup("service", text, DEFAULT_MIN_SCORE).unwrap();
            assert_eq!((m.canonical.as_str(), m.score), ("payments-api", 1.0), "{text:?}");
        }
        // A synonym in one kind does not leak into another.
        assert_eq!(canonical(g.lookup("dashboard", "payments", 0.0)), Some("payments overview".into()));
        assert_eq!(g.lookup("drink", "payments", 0.5), None);
    }

    #[test]
    fn typos_match_fuzzily() {
        let g = menu();
        let m = g.lookup("drink", "latet", DEFAULT_MIN_SCORE).unwrap();
        assert_eq!(m.canonical, "latte");
        assert!((0.8..0.9).contains(&m.score), "latet scored {}", m.score);
        let m = g.lookup("drink", "lattee", DEFAULT_MIN_SCORE).unwrap();
        assert_eq!(m.canonical, "latte");
        assert!(m.score > 0.8 && m.score < 1.0, "lattee scored {}", m.score);
        let m = g.lookup("service", "paymnts-api", DEFAULT_MIN_SCORE).unwrap();
        assert_eq!(m.canonical, "payments-api");
        assert!(m.score > 0.9 && m.score < 1.0, "paymnts-api scored {}", m.score);
        // Typo in a synonym still finds the canonical.
        assert_eq!(canonical(g.lookup("drink", "capuccino", DEFAULT_MIN_SCORE)), Some("cappuccino".into()));
        assert_eq!(canonical(g.lookup("drink", "espreso", DEFAULT_MIN_SCORE)), Some("espresso".into()));
        assert_eq!(canonical(g.lookup("service", "serach", DEFAULT_MIN_SCORE)), Some("search".into()));
    }

    #[test]
    fn unrelated_and_short_names_do_not_match() {
        let g = menu();
        assert_eq!(g.lookup("drink", "pizza", DEFAULT_MIN_SCORE), None);
        assert_eq!(g.lookup("drink", "pizza", 0.0), None, "outside the edit budget");
        // auth vs oauth: one edit, but at the first letter of a short name.
        assert_eq!(g.lookup("service", "oauth", DEFAULT_MIN_SCORE), None);
        let m = g.lookup("service", "oauth", 0.5).unwrap();
        assert!(m.score < 0.77, "oauth scored {}", m.score);
        // Three letters: only an adjacent swap is a typo, and it stays below the default.
        assert_eq!(g.lookup("service", "app", 0.0), None);
        assert_eq!(g.lookup("service", "dbs", 0.0), None);
        assert_eq!(g.lookup("service", "dsn", DEFAULT_MIN_SCORE), None);
        assert_eq!(canonical(g.lookup("service", "dsn", 0.6)), Some("dns".into()));
        assert_eq!(g.lookup("service", "ap", 0.0), None);
        // Unknown kind, empty text, junk.
        assert_eq!(g.lookup("firewall", "latte", 0.0), None);
        for junk in ["", "   ", "-_-", "🙂", "\u{0}", "\u{202e}latte"] {
            assert_eq!(g.lookup("drink", junk, DEFAULT_MIN_SCORE), None, "{junk:?}");
        }
        let huge = "latte".repeat(20_000);
        assert_eq!(g.lookup("drink", &huge, 0.0), None);
        assert!(g.suggest("drink", &huge, 0.0, 5).is_empty());
        // Thresholds outside [0, 1] are handled.
        assert_eq!(g.lookup("drink", "latte", 1.5), None);
        assert_eq!(g.lookup("drink", "latte", f32::NAN), None);
        assert_eq!(canonical(g.lookup("drink", "latte", -1.0)), Some("latte".into()));
    }

    #[test]
    fn suggestions_are_ranked() {
        let mut g = Gazetteer::new();
        for name in ["payments-api", "payments-worker", "payouts-api", "profile-api"] {
            g.insert("service", name, &[]);
        }
        let s = g.suggest("service", "paymnts-api", 0.5, 3);
        let names: Vec<&str> = s.iter().map(|m| m.canonical.as_str()).collect();
        assert_eq!(names[0], "payments-api");
        assert!(names.contains(&"payouts-api"));
        assert!(s.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(s.len() <= 3);
        // An exact match comes first with 1.0, followed by near misses.
        let s = g.suggest("service", "payouts-api", 0.5, 5);
        assert_eq!(s[0].canonical, "payouts-api");
        assert_eq!(s[0].score, 1.0);
        assert!(s[1..].iter().all(|m| m.score < 1.0));
        assert!(g.suggest("service", "paymnts-api", 0.5, 0).is_empty());
        assert!(g.suggest("service", "zzzzzzzz", 0.5, 3).is_empty());
        assert!(g.suggest("nope", "payments-api", 0.5, 3).is_empty());
    }

    #[test]
    fn insert_replaces_and_replace_kind_refreshes() {
        let mut g = menu();
        // Same key: replaced, old synonym gone.
        g.insert("drink", "Latte", &["milk coffee"]);
        assert_eq!(canonical(g.lookup("drink", "latte", 1.0)), Some("Latte".into()));
        assert_eq!(canonical(g.lookup("drink", "milk coffee", 1.0)), Some("Latte".into()));
        assert_eq!(g.lookup("drink", "caffe latte", 1.0), None);
        assert_eq!(g.longest_at(&["caffe", "latte"], 0), None);
        assert_eq!(g.longest_at(&["caffe", "latte"], 1), Some(("drink", 1)));
        assert_eq!(g.longest_at(&["milk", "coffee"], 0), Some(("drink", 2)));
        // Empty names are ignored.
        g.insert("drink", " - ", &["x"]);
        assert_eq!(g.lookup("drink", "x", 1.0), None);

        g.replace_kind(
            "service",
            vec![("billing".to_string(), vec!["invoices".to_string()]), ("checkout-api".to_string(), vec![])],
        );
        assert_eq!(g.lookup("service", "payments-api", 1.0), None);
        assert_eq!(canonical(g.lookup("service", "invoices", 1.0)), Some("billing".into()));
        assert_eq!(g.longest_at(&["payments", "api"], 0), Some(("dashboard", 1)));
        assert_eq!(g.longest_at(&["checkout", "api"], 0), Some(("service", 2)));
        let kinds: Vec<&str> = g.kinds().collect();
        assert_eq!(kinds, ["dashboard", "drink", "service"]);
        g.replace_kind("service", Vec::new());
        assert_eq!(g.longest_at(&["checkout", "api"], 0), None);
    }

    #[test]
    fn canonical_beats_other_synonym() {
        let mut g = Gazetteer::new();
        g.insert("service", "gateway", &["edge"]);
        g.insert("service", "edge", &["cdn"]);
        g.insert("service", "cache", &["cdn"]);
        assert_eq!(canonical(g.lookup("service", "edge", 1.0)), Some("edge".into()));
        // First synonym wins between synonyms.
        assert_eq!(canonical(g.lookup("service", "cdn", 1.0)), Some("edge".into()));
        // Replacing a value keeps the rule.
        g.insert("service", "gateway", &["edge", "gw"]);
        assert_eq!(canonical(g.lookup("service", "edge", 1.0)), Some("edge".into()));
        assert_eq!(canonical(g.lookup("service", "gw", 1.0)), Some("gateway".into()));
        // Re-inserting an identical value changes nothing.
        g.insert("service", "cache", &["cdn"]);
        assert_eq!(canonical(g.lookup("service", "cdn", 1.0)), Some("edge".into()));
        assert_eq!(g.longest_at(&["cache"], 0), Some(("service", 1)));
    }

    #[test]
    fn longest_at_finds_multiword_entries() {
        let g = menu();
        let toks = ["restart", "the", "payment", "api", "now"];
        assert_eq!(g.longest_at(&toks, 2), Some(("service", 2)));
        assert_eq!(g.longest_at(&toks, 0), None);
        assert_eq!(g.longest_at(&toks, 3), Some(("service", 1)), "'api' alone");
        assert_eq!(g.longest_at(&toks, 99), None);
        assert_eq!(g.longest_at(&[], 0), None);
        // Hyphenated or joined single tokens.
        assert_eq!(g.longest_at(&["payments-api"], 0), Some(("service", 1)));
        assert_eq!(g.longest_at(&["paymentsapi"], 0), Some(("service", 1)));
        assert_eq!(g.longest_at(&["payments", "-", "api"], 0), Some(("service", 3)));
        // "payments" is a synonym in two kinds: longest wins, then kind order.
        assert_eq!(g.longest_at(&["payments", "overview"], 0), Some(("dashboard", 2)));
        assert_eq!(g.longest_at(&["payments", "api"], 0), Some(("service", 2)));
        assert_eq!(g.longest_at(&["payments"], 0), Some(("dashboard", 1)));
        // A match must end on a token boundary.
        assert_eq!(g.longest_at(&["payment", "api-v2"], 0), None);
        assert_eq!(g.longest_at(&["caffe", "latte", "please"], 0), Some(("drink", 2)));
        // The tokenizer gives each CJK character its own token; a whole run works too.
        assert_eq!(g.longest_at(&["拿", "铁"], 0), Some(("drink", 2)));
        assert_eq!(g.longest_at(&["拿铁"], 0), Some(("drink", 1)));
        assert_eq!(g.longest_at(&["拿"], 0), None);
        let mut g = g;
        g.insert("service", "payments-api", &["支付服务", "支付api"]);
        let toks = ["重", "启", "支", "付", "服", "务", "吧"];
        assert_eq!(g.longest_at(&toks, 2), Some(("service", 4)));
        assert_eq!(g.longest_at(&["支", "付", "api"], 0), Some(("service", 3)));
        assert_eq!(g.longest_at(&toks, 0), None);
        assert_eq!(g.longest_at(&["", "-", "🙂"], 0), None);
    }

    #[test]
    fn serde_round_trip_rebuilds_indexes() {
        let g = menu();
        let json = serde_json::to_string(&g).unwrap();
        assert!(json.contains(r#""canonical":"payments-api""#), "{json}");
        let back: Gazetteer = serde_json::from_str(&json).unwrap();
        assert_eq!(back.kinds().collect::<Vec<_>>(), g.kinds().collect::<Vec<_>>());
        assert_eq!(canonical(back.lookup("drink", "latet", DEFAULT_MIN_SCORE)), Some("latte".into()));
        assert_eq!(back.longest_at(&["payment", "api"], 0), Some(("service", 2)));
        // Synonyms may be omitted in hand-written files.
        let g: Gazetteer = serde_json::from_str(r#"{"firewall":[{"canonical":"edge-fw"}]}"#).unwrap();
        assert_eq!(canonical(g.lookup("firewall", "edge fw", 1.0)), Some("edge-fw".into()));
        let m = Match { canonical: "latte".into(), score: 1.0 };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"canonical":"latte","score":1.0}"#);
    }

    #[test]
    fn garbage_never_panics() {
        const PIECES: &[&str] = &[
            "a", "pay", "ments", "-", "_", " ", "api", "拿铁", "🙂", "\u{0}", "\u{202e}", "İ", "ß", "لا", "\u{301}",
            "latte", "x",
        ];
        let mut g = menu();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut pick = |n: u64| -> String { (0..n).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect() };
        for round in 0..3_000 {
            let a = pick(round % 6);
            let b = pick(round % 4);
            if round % 10 == 0 {
                g.insert("junk", &a, &[&b]);
            }
            let _ = g.lookup("junk", &b, 0.0);
            let _ = g.suggest("service", &a, 0.0, 3);
            let toks: Vec<&str> = a.split(' ').collect();
            for i in 0..=toks.len() {
                let _ = g.longest_at(&toks, i);
            }
        }
    }

    #[test]
    fn large_inventory_is_fast_enough() {
        let mut g = Gazetteer::new();
        g.replace_kind("service", (0..5_000).map(|i| (format!("service-{i}-api"), vec![format!("svc {i}")])));
        for i in 0..5_000 {
            g.insert("host", &format!("host-{i}"), &[]);
        }
        assert_eq!(canonical(g.lookup("service", "service-4999-api", 1.0)), Some("service-4999-api".into()));
        assert!(g.lookup("service", "servcie-4999-api", DEFAULT_MIN_SCORE).is_some());
        let toks = ["svc", "4999", "is", "down"];
        assert_eq!(g.longest_at(&toks, 0), Some(("service", 2)));
    }
}
