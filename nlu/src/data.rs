//! Labelled examples: the common currency of training and evaluation.

use crate::tokenize::{Token, tokenize, tokenize_whitespace};

/// A gold slot span over tokens `[start, end)`, with an optional canonical value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanLabel {
    /// Slot name.
    pub slot: String,
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// Canonical value given in the data (`[production](env:prod)`).
    pub value: Option<String>,
}

/// One labelled utterance.
#[derive(Debug, Clone)]
pub struct Example {
    /// The plain text (annotations removed).
    pub text: String,
    /// Its tokens.
    pub tokens: Vec<Token>,
    /// Gold intent.
    pub intent: String,
    /// Gold slot spans, in order, not overlapping.
    pub spans: Vec<SpanLabel>,
}

impl Example {
    /// An example of raw chat text with no slots.
    pub fn new(text: &str, intent: &str) -> Self {
        Example { text: text.to_string(), tokens: tokenize(text), intent: intent.to_string(), spans: vec![] }
    }

    /// An example of pre-tokenised text (benchmarks) with BIO tags per whitespace token.
    pub fn from_bio(text: &str, tags: &[&str], intent: &str) -> Result<Self, String> {
        let tokens = tokenize_whitespace(text);
        if tokens.len() != tags.len() {
            return Err(format!("{} tokens but {} tags", tokens.len(), tags.len()));
        }
        Ok(Example { text: text.to_string(), spans: spans_from_bio(tags), tokens, intent: intent.to_string() })
    }

    /// BIO tags, one per token.
    pub fn bio(&self) -> Vec<String> {
        let mut tags = vec!["O".to_string(); self.tokens.len()];
        for s in &self.spans {
            for (i, tag) in tags.iter_mut().enumerate().take(s.end).skip(s.start) {
                *tag = format!("{}-{}", if i == s.start { "B" } else { "I" }, s.slot);
            }
        }
        tags
    }
}

/// Spans from BIO tags, CoNLL style: an `I-x` after anything but `x` opens a new span.
pub fn spans_from_bio<S: AsRef<str>>(tags: &[S]) -> Vec<SpanLabel> {
    let mut spans: Vec<SpanLabel> = Vec::new();
    let mut open: Option<SpanLabel> = None;
    for (i, tag) in tags.iter().enumerate() {
        let tag = tag.as_ref();
        let (prefix, kind) = match tag.split_once('-') {
            Some((p, k)) if p == "B" || p == "I" => (p, k),
            _ => ("O", ""),
        };
        let continues = prefix == "I" && open.as_ref().is_some_and(|o| o.slot == kind);
        if continues {
            if let Some(o) = open.as_mut() {
                o.end = i + 1;
            }
            continue;
        }
        if let Some(o) = open.take() {
            spans.push(o);
        }
        if prefix != "O" {
            open = Some(SpanLabel { slot: kind.to_string(), start: i, end: i + 1, value: None });
        }
    }
    spans.extend(open);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bio_round_trip() {
        let e = Example::from_bio("play the beatles now", &["O", "B-artist", "I-artist", "O"], "PlayMusic").unwrap();
        assert_eq!(e.spans.len(), 1);
        assert_eq!((e.spans[0].start, e.spans[0].end), (1, 3));
        assert_eq!(e.bio(), ["O", "B-artist", "I-artist", "O"]);
        assert!(Example::from_bio("a b", &["O"], "x").is_err());
    }

    #[test]
    fn stray_inside_tag_opens_a_span() {
        let s = spans_from_bio(&["I-a", "I-a", "B-a", "I-b"]);
        let got: Vec<_> = s.iter().map(|s| (s.slot.as_str(), s.start, s.end)).collect();
        assert_eq!(got, [("a", 0, 2), ("a", 2, 3), ("b", 3, 4)]);
    }
}
