//! What the engine answers: intent, confidence, alternatives and resolved slots.

use crate::builtin::{Env, Severity, TimeRange};
use crate::cues::Cue;
use crate::matcher::LabelMatcher;
use serde::Serialize;

/// The label used when nothing fits.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

/// An intent with its probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Intent name.
    pub intent: String,
    /// Calibrated probability.
    pub confidence: f32,
}

/// How sure the engine is, which decides what the bot may do with the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Above the confidence threshold with a clear margin over the runner-up.
    Confident,
    /// Plausible, but the runner-up is close: offer the alternatives.
    Ambiguous,
    /// Nothing fits well enough.
    OutOfScope,
}

/// A slot value resolved into something a skill can use directly.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolved {
    /// An absolute time window.
    TimeRange(TimeRange),
    /// A length of time, in seconds.
    Duration {
        /// Whole seconds.
        seconds: u64,
    },
    /// An integer.
    Number {
        /// The value.
        value: u64,
    },
    /// A severity.
    Severity {
        /// The value.
        value: Severity,
    },
    /// An environment.
    Env {
        /// The value.
        value: Env,
    },
    /// An Alertmanager label matcher (a bare alert name reads as `alertname=`).
    Matcher(LabelMatcher),
    /// A known name from the gazetteer (exact, synonym, or fuzzy with `score < 1`).
    Entity {
        /// Canonical name.
        canonical: String,
        /// 1.0 for an exact or synonym match.
        score: f32,
    },
}

/// One extracted slot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    /// Slot name (`service`, `time_range`, ...).
    pub name: String,
    /// The text as written.
    pub raw: String,
    /// Byte span in the parsed text.
    pub span: (usize, usize),
    /// Canonical value (the gazetteer's name, or the raw text).
    pub value: String,
    /// The value resolved by a built-in parser or the gazetteer, where one applies.
    pub resolved: Option<Resolved>,
}

/// The result of parsing one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parse {
    /// The text that was parsed (cut to the engine's limit).
    pub text: String,
    /// Best intent, or `out_of_scope`.
    pub intent: String,
    /// Probability of the best in-scope intent.
    pub confidence: f32,
    /// How to treat the parse.
    pub verdict: Verdict,
    /// The next-best intents, best first.
    pub alternatives: Vec<Scored>,
    /// Extracted slots, in text order.
    pub slots: Vec<Slot>,
    /// Which layers ran (`lexical`, `neural`).
    pub layers: Vec<&'static str>,
    /// True when the input was longer than the engine reads and was cut.
    pub truncated: bool,
    /// Negations and alternatives in the text ("don't", "or"), which the
    /// intent does not show: a change must not run on such a sentence.
    pub cues: Vec<Cue>,
}

impl Parse {
    /// The first slot with this name.
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }
}
