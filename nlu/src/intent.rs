//! The lexical intent model: hashed TF-IDF features and logistic regression.

use crate::crossfit::Knowledge;
use crate::data::Example;
use crate::features::{FeatureSpace, Lexicon, SparseVec, raw_features};
use crate::fuzzy::Gazetteer;
use crate::logreg::{LogReg, TrainParams};
use crate::slots::gazetteer_tags;
use crate::tokenize::Token;
use serde::{Deserialize, Serialize};

/// Intent labels plus a classifier over a feature space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentModel {
    space: FeatureSpace,
    model: LogReg,
    lexicon: Lexicon,
}

/// The raw hashed features of tokens, with gazetteer kinds as extra features.
pub fn raw_of(tokens: &[Token], gaz: &Gazetteer, lexicon: &Lexicon) -> Vec<u64> {
    let tags = gazetteer_tags(tokens, gaz);
    let kind_of = |i: usize| -> Option<String> {
        match &tags[i] {
            Some((k, true)) => Some(k.clone()),
            _ => None,
        }
    };
    let mut out = Vec::new();
    raw_features(tokens, &kind_of, lexicon, &mut out);
    out
}

impl IntentModel {
    /// Trains on examples with intent ids `ys`; `knowledge` gives each example's cross-fitted gazetteer and lexicon.
    pub fn train<'k>(
        examples: &[Example],
        ys: &[usize],
        classes: usize,
        knowledge: &dyn Fn(usize) -> &'k Knowledge,
        lexicon: Lexicon,
        params: TrainParams,
        on_epoch: &mut dyn FnMut(usize),
    ) -> Self {
        let raws: Vec<Vec<u64>> = examples
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let k = knowledge(i);
                raw_of(&e.tokens, &k.gazetteer, &k.lexicon)
            })
            .collect();
        let space = FeatureSpace::fit(&raws);
        let xs: Vec<SparseVec> = raws.iter().map(|r| space.vectorize(r)).collect();
        let model = LogReg::train(&xs, ys, space.dim(), classes, params, on_epoch);
        IntentModel { space, model, lexicon }
    }

    /// Feature vector of tokens.
    pub fn vectorize(&self, tokens: &[Token], gaz: &Gazetteer) -> SparseVec {
        self.space.vectorize(&raw_of(tokens, gaz, &self.lexicon))
    }

    /// Class probabilities.
    pub fn predict(&self, tokens: &[Token], gaz: &Gazetteer) -> Vec<f32> {
        self.model.predict_proba(&self.vectorize(tokens, gaz))
    }

    /// Raw scores, before temperature and softmax.
    pub fn logits(&self, tokens: &[Token], gaz: &Gazetteer) -> Vec<f32> {
        self.model.logits(&self.vectorize(tokens, gaz))
    }

    /// Sets the softmax temperature (fitted on held-out scores elsewhere).
    pub fn set_temperature(&mut self, t: f32) {
        self.model.set_temperature(t);
    }

    /// Calibrates the softmax temperature on held-out examples.
    pub fn calibrate(&mut self, examples: &[Example], ys: &[usize], gaz: &Gazetteer) {
        let xs: Vec<SparseVec> = examples.iter().map(|e| self.vectorize(&e.tokens, gaz)).collect();
        self.model.fit_temperature(&xs, ys);
    }
}
