//! The slot tagger: token features into a linear-chain CRF, BIO spans out.
//!
//! Features per token: the word, its shape, affixes, neighbours within two,
//! word bigrams, gazetteer hits (so names never seen in training but present
//! in the live inventory are found), built-in hits (time words, numbers,
//! durations) and the predicted intent (slots depend on it).

use crate::crf::{Crf, CrfParams, TokenAttrs};
use crate::crossfit::Knowledge;
use crate::data::{Example, SpanLabel, spans_from_bio};
use crate::features::{Lexicon, hash_str};
use crate::fuzzy::Gazetteer;
use crate::tokenize::{Token, TokenKind, shape};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Words that make up time expressions in English and Chinese.
const TIME_WORDS: &[&str] = &[
    "last",
    "past",
    "since",
    "ago",
    "now",
    "today",
    "yesterday",
    "tonight",
    "morning",
    "hour",
    "hours",
    "hr",
    "hrs",
    "h",
    "minute",
    "minutes",
    "min",
    "mins",
    "m",
    "second",
    "seconds",
    "sec",
    "secs",
    "s",
    "day",
    "days",
    "d",
    "week",
    "weeks",
    "w",
    "an",
    "half",
    "最",
    "近",
    "过",
    "去",
    "分",
    "钟",
    "小",
    "时",
    "天",
    "今",
    "昨",
    "秒",
    "周",
    "半",
];

/// Chinese numerals, so `十分钟` looks like `10 minutes` to the tagger.
const CJK_DIGITS: &[&str] = &["一", "二", "两", "三", "四", "五", "六", "七", "八", "九", "十", "百"];

/// Gazetteer tag of each token: (entity kind, begins an entry).
pub fn gazetteer_tags(tokens: &[Token], gaz: &Gazetteer) -> Vec<Option<(String, bool)>> {
    let norms: Vec<&str> = tokens.iter().map(|t| t.norm.as_str()).collect();
    let mut tags = vec![None; tokens.len()];
    let mut i = 0;
    while i < norms.len() {
        if let Some((kind, len)) = gaz.longest_at(&norms, i) {
            let len = len.max(1);
            for (j, tag) in tags.iter_mut().enumerate().skip(i).take(len) {
                *tag = Some((kind.to_string(), j == i));
            }
            i += len;
        } else {
            i += 1;
        }
    }
    tags
}

/// Words that can begin a time expression ("earlier today", "over the weekend").
const TIME_STARTS: &[&str] = &[
    "this",
    "earlier",
    "over",
    "the",
    "since",
    "from",
    "between",
    "previous",
    "starting",
    "after",
    "during",
    "in",
    "for",
    "within",
    "overnight",
    "weekend",
    "afternoon",
    "evening",
    "本",
    "上",
    "前",
    "从",
    "自",
    "下",
    "晚",
    "这",
];

/// Longest time expression a chunk may span, in tokens.
const MAX_TIME_TOKENS: usize = 8;

/// Tokens inside time expressions that the built-in resolver understands, so the
/// tagger finds phrasings it never saw in training ("over the weekend", "本月"):
/// `Some(begins)` per token, longest match first, left to right.
pub fn time_chunks(tokens: &[Token]) -> Vec<Option<bool>> {
    // Only whether a phrase resolves matters here, not to what: any fixed "now" will do.
    let now = chrono::DateTime::from_timestamp(1_767_787_200, 0).unwrap_or_default();
    let mut out = vec![None; tokens.len()];
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let may_start = is_time_like(&t.norm)
            || TIME_STARTS.contains(&t.norm.as_str())
            || t.kind == TokenKind::Number
            || CJK_DIGITS.contains(&t.norm.as_str())
            || TIME_WORDS.contains(&t.norm.as_str());
        let found = may_start.then(|| {
            (i + 1..=tokens.len().min(i + MAX_TIME_TOKENS))
                .rev()
                .find(|&j| crate::builtin::parse_time_range(&join_tokens(&tokens[i..j]), now).is_some())
        });
        match found.flatten() {
            Some(j) => {
                for (k, slot) in out.iter_mut().enumerate().take(j).skip(i) {
                    *slot = Some(k == i);
                }
                i = j;
            }
            None => i += 1,
        }
    }
    out
}

/// The tokens' text with single spaces where the original had any gap.
fn join_tokens(tokens: &[Token]) -> String {
    let mut s = String::new();
    for (k, t) in tokens.iter().enumerate() {
        if k > 0 && t.start > tokens[k - 1].end {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

struct AttrWriter<'a> {
    out: &'a mut Vec<u64>,
}

impl AttrWriter<'_> {
    fn put(&mut self, template: u8, value: &str) {
        self.out.push(hash_str(template, value));
    }
    fn put2(&mut self, template: u8, a: &str, b: &str) {
        let h = hash_str(template, a);
        self.out.push(h.rotate_left(17) ^ hash_str(template.wrapping_add(101), b));
    }
}

fn is_time_like(norm: &str) -> bool {
    if TIME_WORDS.contains(&norm) {
        return true;
    }
    // 15m, 2h, 30min, now-30m, 10:00, 9am
    let digits = norm.chars().filter(|c| c.is_ascii_digit()).count();
    digits > 0
        && (norm.starts_with("now")
            || norm.contains(':')
            || norm.ends_with('m')
            || norm.ends_with('h')
            || norm.ends_with('d')
            || norm.ends_with("min")
            || norm.ends_with("am")
            || norm.ends_with("pm"))
}

fn token_attrs(
    tokens: &[Token],
    i: usize,
    intent: &str,
    gaz: &[Option<(String, bool)>],
    chunks: &[Option<bool>],
    lexicon: &Lexicon,
    out: &mut Vec<u64>,
) {
    out.clear();
    let mut w = AttrWriter { out };
    let word =
        |j: isize| -> &str { if j < 0 { "<s>" } else { tokens.get(j as usize).map_or("</s>", |t| t.norm.as_str()) } };
    let t = &tokens[i];
    let ii = i as isize;
    let w0 = t.norm.as_str();
    w.put(1, "bias");
    w.put(2, w0);
    let sh = shape(&t.text);
    w.put(3, &sh);
    w.put(4, &format!("{:?}", t.kind));
    if t.kind != TokenKind::Cjk {
        let chars: Vec<char> = w0.chars().collect();
        for n in 2..=4 {
            if chars.len() > n {
                w.put(5 + n as u8, &chars[..n].iter().collect::<String>());
                w.put(10 + n as u8, &chars[chars.len() - n..].iter().collect::<String>());
            }
        }
    }
    for (tpl, off) in [(20u8, -2isize), (21, -1), (22, 1), (23, 2)] {
        w.put(tpl, word(ii + off));
    }
    w.put2(24, word(ii - 1), w0);
    w.put2(25, w0, word(ii + 1));
    w.put2(26, word(ii - 2), word(ii - 1));
    w.put2(27, word(ii + 1), word(ii + 2));
    if i > 0 {
        w.put(28, &shape(&tokens[i - 1].text));
    }
    if let Some(n) = tokens.get(i + 1) {
        w.put(29, &shape(&n.text));
    }
    for (tpl, off) in [(30u8, -1isize), (31, 0), (32, 1)] {
        let j = ii + off;
        if j >= 0 && (j as usize) < tokens.len() {
            let n = tokens[j as usize].norm.as_str();
            if is_time_like(n) {
                w.put(tpl, "time");
            }
            if CJK_DIGITS.contains(&n) || tokens[j as usize].kind == TokenKind::Number {
                w.put(tpl, "num");
            }
            if let Some((kind, begin)) = &gaz[j as usize] {
                w.put2(tpl + 10, kind, if *begin { "B" } else { "I" });
            }
            if let Some(begin) = chunks[j as usize] {
                w.put2(tpl + 14, "timechunk", if begin { "B" } else { "I" });
            }
        }
    }
    let novel = |j: isize| -> &str {
        match usize::try_from(j).ok().and_then(|j| tokens.get(j)) {
            Some(t) if lexicon.is_novel(t) => "novel",
            Some(_) => "known",
            None => "edge",
        }
    };
    w.put(33, novel(ii));
    w.put2(34, novel(ii), word(ii - 1));
    w.put2(35, novel(ii), word(ii + 1));
    w.put2(36, novel(ii - 1), novel(ii + 1));
    w.put2(37, novel(ii), intent);
    w.put(40, intent);
    w.put2(41, intent, w0);
    w.put2(42, intent, word(ii - 1));
    if let Some((kind, begin)) = &gaz[i] {
        w.put2(43, intent, &format!("{kind}{begin}"));
    }
}

/// A trained slot tagger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotTagger {
    columns: FxHashMap<u64, u32>,
    crf: Crf,
    lexicon: Lexicon,
}

impl SlotTagger {
    /// Trains on gold spans; `knowledge` gives each example's cross-fitted gazetteer and lexicon.
    pub fn train<'k>(
        examples: &[Example],
        knowledge: &dyn Fn(usize) -> &'k Knowledge,
        lexicon: Lexicon,
        params: CrfParams,
        on_epoch: &mut dyn FnMut(usize),
    ) -> Self {
        let mut label_ids: FxHashMap<String, usize> = FxHashMap::default();
        let mut labels = vec!["O".to_string()];
        label_ids.insert("O".into(), 0);
        let mut raw: Vec<Vec<Vec<u64>>> = Vec::with_capacity(examples.len());
        let mut ys = Vec::with_capacity(examples.len());
        let mut buf = Vec::new();
        for (n, ex) in examples.iter().enumerate() {
            let k = knowledge(n);
            let gt = gazetteer_tags(&ex.tokens, &k.gazetteer);
            let tc = time_chunks(&ex.tokens);
            let seq: Vec<Vec<u64>> = (0..ex.tokens.len())
                .map(|i| {
                    token_attrs(&ex.tokens, i, &ex.intent, &gt, &tc, &k.lexicon, &mut buf);
                    buf.clone()
                })
                .collect();
            raw.push(seq);
            let y: Vec<usize> = ex
                .bio()
                .into_iter()
                .map(|tag| {
                    let n = label_ids.len();
                    *label_ids.entry(tag.clone()).or_insert_with(|| {
                        labels.push(tag);
                        n
                    })
                })
                .collect();
            ys.push(y);
        }
        let columns = columns_by_frequency(&raw);
        let xs: Vec<Vec<TokenAttrs>> =
            raw.iter().map(|seq| seq.iter().map(|attrs| to_attrs(&columns, attrs)).collect()).collect();
        let crf = Crf::train(labels, columns.len(), &xs, &ys, params, on_epoch);
        SlotTagger { columns, crf, lexicon }
    }

    /// Tags tokens, given the intent they were classified as.
    pub fn tag(&self, tokens: &[Token], intent: &str, gaz: &Gazetteer) -> Vec<SpanLabel> {
        if tokens.is_empty() {
            return Vec::new();
        }
        let gt = gazetteer_tags(tokens, gaz);
        let tc = time_chunks(tokens);
        let mut buf = Vec::new();
        let xs: Vec<TokenAttrs> = (0..tokens.len())
            .map(|i| {
                token_attrs(tokens, i, intent, &gt, &tc, &self.lexicon, &mut buf);
                to_attrs(&self.columns, &buf)
            })
            .collect();
        let path = self.crf.decode(&xs);
        let labels = self.crf.labels();
        let tags: Vec<&str> = path.iter().map(|&k| labels[k].as_str()).collect();
        spans_from_bio(&tags)
    }
}

/// Column ids for the attributes, the most frequent first: the weight rows that
/// almost every sentence reads then share cache lines and pages, and the CRF's
/// state-score sums wait less on memory.
fn columns_by_frequency(raw: &[Vec<Vec<u64>>]) -> FxHashMap<u64, u32> {
    let mut all: Vec<u64> = raw.iter().flatten().flatten().copied().collect();
    all.sort_unstable();
    let mut counted: Vec<(usize, u64)> = Vec::new();
    for run in all.chunk_by(|a, b| a == b) {
        counted.push((run.len(), run[0]));
    }
    counted.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    counted.iter().enumerate().map(|(i, &(_, h))| (h, i as u32)).collect()
}

fn to_attrs(columns: &FxHashMap<u64, u32>, raw: &[u64]) -> TokenAttrs {
    let mut v: TokenAttrs = raw.iter().filter_map(|h| columns.get(h).map(|&c| (c, 1.0))).collect();
    v.sort_unstable_by_key(|x| x.0);
    v.dedup_by_key(|x| x.0);
    v
}
