//! Normalisation and tokenisation that keep ops tokens whole.
//!
//! Chat about infrastructure is full of tokens that a word tokenizer would
//! shred: `payments-api`, `loadbalancers:2`, `now-30m`, `10.0.0.1`, `#3727`,
//! `alertname=HighCPU`. We split on whitespace, peel punctuation off the ends
//! of a run, keep inner punctuation, and give every CJK character a token of
//! its own (the tagger and the n-gram features see character bigrams).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// What a token looks like; a cheap feature for both models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenKind {
    /// Letters (and maybe digits), no inner punctuation: `latte`, `p1`.
    Word,
    /// Digits only: `15`, `2`.
    Number,
    /// A run with inner punctuation: `payments-api`, `now-30m`, `#3727`.
    Ops,
    /// One CJK character.
    Cjk,
    /// Punctuation, symbols, emoji.
    Punct,
}

/// One token with its byte span in the original text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// The text as the user wrote it.
    pub text: String,
    /// NFKC-normalised, lowercased form used by the models.
    pub norm: String,
    /// Byte offset of the first byte in the original text.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Coarse class of the token.
    pub kind: TokenKind,
}

/// True for characters tokenised one by one (Han, kana, Hangul, CJK punctuation).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // kana
        | 0x3400..=0x4DBF // CJK ext A
        | 0x4E00..=0x9FFF // CJK unified
        | 0xAC00..=0xD7AF // Hangul
        | 0xF900..=0xFAFF // compatibility ideographs
        | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 // full-width punctuation
        | 0x20000..=0x2FFFF)
}

/// Characters that may start a token and stay attached: `#3727`, `@alice`, `-n`, `~/x`.
fn keeps_leading(c: char, next: Option<char>) -> bool {
    matches!(c, '#' | '@' | '-' | '~' | '$') && next.is_some_and(|n| n.is_alphanumeric())
}

fn normalise(s: &str) -> String {
    let nfkc: String = s.nfkc().collect();
    nfkc.to_lowercase()
}

fn classify(s: &str) -> TokenKind {
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    if s.chars().count() == 1 && is_cjk(first) {
        if first.is_alphanumeric() {
            return TokenKind::Cjk;
        }
        return TokenKind::Punct;
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        TokenKind::Number
    } else if s.chars().all(|c| c.is_alphanumeric()) {
        TokenKind::Word
    } else if s.chars().any(|c| c.is_alphanumeric()) {
        TokenKind::Ops
    } else {
        TokenKind::Punct
    }
}

fn push(tokens: &mut Vec<Token>, text: &str, start: usize, end: usize) {
    if start >= end {
        return;
    }
    let t = &text[start..end];
    tokens.push(Token { text: t.to_string(), norm: normalise(t), start, end, kind: classify(t) });
}

/// Splits a whitespace- and CJK-free run into leading punctuation, core, trailing punctuation.
fn split_run(tokens: &mut Vec<Token>, text: &str, start: usize, end: usize) {
    let run = &text[start..end];
    let chars: Vec<(usize, char)> = run.char_indices().collect();
    let mut lo = 0;
    while lo < chars.len() {
        let c = chars[lo].1;
        let next = chars.get(lo + 1).map(|x| x.1);
        if c.is_alphanumeric() || keeps_leading(c, next) {
            break;
        }
        let s = start + chars[lo].0;
        push(tokens, text, s, s + c.len_utf8());
        lo += 1;
    }
    let mut hi = chars.len();
    while hi > lo && !chars[hi - 1].1.is_alphanumeric() {
        hi -= 1;
    }
    if lo < hi {
        let s = start + chars[lo].0;
        let e = start + chars[hi - 1].0 + chars[hi - 1].1.len_utf8();
        push(tokens, text, s, e);
    }
    for &(off, c) in &chars[hi.max(lo)..] {
        let s = start + off;
        push(tokens, text, s, s + c.len_utf8());
    }
}

/// Tokenises raw chat text. Never fails; control characters count as spaces.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut run_start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let breaks = c.is_whitespace() || c.is_control() || is_bidi_control(c);
        if breaks || is_cjk(c) {
            if let Some(s) = run_start.take() {
                split_run(&mut tokens, text, s, i);
            }
            if !breaks {
                push(&mut tokens, text, i, i + c.len_utf8());
            }
        } else if run_start.is_none() {
            run_start = Some(i);
        }
    }
    if let Some(s) = run_start {
        split_run(&mut tokens, text, s, text.len());
    }
    tokens
}

/// Tokens of pre-tokenised text (the benchmark corpora): split on whitespace only.
pub fn tokenize_whitespace(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                push(&mut tokens, text, s, i);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        push(&mut tokens, text, s, text.len());
    }
    tokens
}

/// Directional marks and isolates: invisible, they must not glue words together.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A word's shape, such as `xxx-xxd` for `now-30m`; letters and digits collapsed to runs.
pub fn shape(s: &str) -> String {
    let mut out = String::new();
    let mut last = None;
    for c in s.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_alphabetic() {
            if is_cjk(c) { 'C' } else { 'x' }
        } else if c.is_ascii_digit() {
            'd'
        } else {
            c
        };
        if Some(k) != last || !k.is_alphanumeric() {
            out.push(k);
        }
        last = Some(k);
        if out.len() > 12 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn keeps_ops_tokens_whole() {
        assert_eq!(texts("graf db loadbalancers:2 now-30m"), ["graf", "db", "loadbalancers:2", "now-30m"]);
        assert_eq!(
            texts("is payments-api ok? ping 10.0.0.1."),
            ["is", "payments-api", "ok", "?", "ping", "10.0.0.1", "."]
        );
        assert_eq!(texts("ack #3727!"), ["ack", "#3727", "!"]);
        assert_eq!(
            texts("silence alertname=HighCPU @alice -n kube-system"),
            ["silence", "alertname=HighCPU", "@alice", "-n", "kube-system"]
        );
        assert_eq!(texts("(latte)"), ["(", "latte", ")"]);
        assert_eq!(texts("\"connection refused\""), ["\"", "connection", "refused", "\""]);
    }

    #[test]
    fn splits_cjk_per_character() {
        assert_eq!(texts("重启latte"), ["重", "启", "latte"]);
        assert_eq!(texts("看一下 payments，谢谢"), ["看", "一", "下", "payments", "，", "谢", "谢"]);
    }

    #[test]
    fn spans_point_into_the_original() {
        let s = "重启 Latte？";
        for t in tokenize(s) {
            assert_eq!(&s[t.start..t.end], t.text);
        }
        assert_eq!(tokenize("ＬＡＴＴＥ")[0].norm, "latte");
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for s in ["", "   ", "🔥🔥🔥", "\u{0}\u{1}x\u{7f}", "\u{202e}ettal tratser", "-", "#", "a\u{200b}b"] {
            let toks = tokenize(s);
            for t in &toks {
                assert_eq!(&s[t.start..t.end], t.text);
                assert!(!t.text.is_empty());
            }
        }
        assert_eq!(texts("a\u{200b}b"), ["a", "b"]);
    }

    #[test]
    fn shapes() {
        assert_eq!(shape("now-30m"), "x-dx");
        assert_eq!(shape("Latte"), "Xx");
        assert_eq!(shape("10.0.0.1"), "d.d.d.d");
    }
}
