//! pipilu's understanding library: a local intent classifier and slot extractor.
//!
//! Pure and synchronous, with no network: the bot calls [`Engine::parse`] on
//! every message and gets an intent, a calibrated confidence, the runner-up
//! intents and resolved slots. Layers, cheapest first:
//!
//! - [`tokenize`]: normalisation that keeps ops tokens (`payments-api`, `now-30m`) whole;
//! - [`intent`]: hashed word and character n-grams into logistic regression;
//! - neural (feature `neural`): MiniLM sentence embeddings with a trained head,
//!   run only when the lexical layer is unsure;
//! - [`slots`]: a linear-chain CRF tagger, then [`builtin`] parsers and the
//!   [`fuzzy`] gazetteer resolve values.

pub mod augment;
pub mod builtin;
pub mod crf;
pub mod crossfit;
pub mod cues;
pub mod data;
pub mod datasets;
pub mod embed_cache;
#[cfg(feature = "neural")]
pub mod encoder;
pub mod engine;
pub mod eval;
mod fastexp;
pub mod features;
pub mod fuzzy;
pub mod intent;
pub mod knn;
pub mod logreg;
pub mod matcher;
pub mod mlp;
pub mod novelty;
pub mod parse;
pub mod slots;
pub mod spell;
pub mod tokenize;
mod vector;
pub mod yaml;

pub use cues::{Cue, CueKind};
pub use engine::{Engine, EngineError, LayerScores, SentenceEncoder, Stage, Thresholds, TrainOptions};
pub use fuzzy::Gazetteer;
pub use parse::{OUT_OF_SCOPE, Parse, Resolved, Scored, Slot, Verdict};

use std::path::Path;

/// Builds the gazetteer from the entity lists of a data set (and the canonical values in its examples).
pub fn gazetteer_from(data: &yaml::DataSet) -> Gazetteer {
    let mut g = Gazetteer::new();
    for (kind, def) in &data.entities {
        for (canonical, syns) in &def.values {
            let syns: Vec<&str> = syns.iter().flatten().map(String::as_str).collect();
            g.insert(kind, canonical, &syns);
        }
    }
    g
}

/// Builds a gazetteer from the slot values seen in training (benchmarks have no entity lists).
pub fn gazetteer_from_examples(examples: &[data::Example]) -> Gazetteer {
    let mut g = Gazetteer::new();
    add_example_names(&mut g, examples);
    g
}

/// Adds the slot values of examples to a gazetteer.
pub fn add_example_names(g: &mut Gazetteer, examples: &[data::Example]) {
    for e in examples {
        for s in &e.spans {
            if let (Some(a), Some(b)) = (e.tokens.get(s.start), e.tokens.get(s.end.saturating_sub(1))) {
                g.insert(&s.slot, &e.text[a.start..b.end].to_lowercase(), &[]);
            }
        }
    }
}

/// Loads the MiniLM encoder from `dir` if its files are there; `None` (lexical-only) otherwise.
#[cfg(feature = "neural")]
pub fn load_encoder(dir: &Path) -> Result<Option<Box<dyn SentenceEncoder>>, String> {
    if !dir.join("model.safetensors").exists() {
        return Ok(None);
    }
    encoder::Encoder::load(dir).map(|e| Some(Box::new(e) as Box<dyn SentenceEncoder>)).map_err(|e| e.to_string())
}

/// Without the `neural` feature there is never an encoder.
#[cfg(not(feature = "neural"))]
pub fn load_encoder(_dir: &Path) -> Result<Option<Box<dyn SentenceEncoder>>, String> {
    Ok(None)
}

#[cfg(feature = "neural")]
impl SentenceEncoder for encoder::Encoder {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        encoder::Encoder::features_batch(self, texts).map_err(|e| e.to_string())
    }

    fn sentence_dim(&self) -> Option<usize> {
        Some(encoder::Encoder::DIM)
    }
}
