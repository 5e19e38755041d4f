//! The engine: layers put together, trained, saved, loaded and queried.
//!
//! A parse runs the lexical model first; when it is sure (the common case:
//! "restart latte") the answer costs microseconds. Otherwise the neural layer
//! embeds the sentence and the two distributions are mixed. A confidence
//! threshold and a margin turn the mix into a verdict: confident, ambiguous
//! (offer alternatives), or out of scope. Slots are tagged for the chosen
//! intent and resolved by built-in parsers and the gazetteer.

use crate::builtin;
use crate::crf::CrfParams;
use crate::crossfit::CrossFit;
use crate::data::{Example, SpanLabel};
use crate::features::Lexicon;
use crate::fuzzy::Gazetteer;
use crate::intent::IntentModel;
use crate::knn::{Knn, blend};
use crate::logreg::{TrainParams, fit_temperature, softmax};
use crate::mlp::{Mlp, MlpParams};
use crate::novelty::Novelty;
use crate::parse::{OUT_OF_SCOPE, Parse, Resolved, Scored, Slot, Verdict};
use crate::slots::SlotTagger;
use crate::spell::SpellIndex;
use crate::tokenize::{Token, TokenKind, tokenize};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Longest input the engine reads, in bytes; longer text is cut at a char boundary.
pub const MAX_INPUT_BYTES: usize = 2048;

/// Something that turns sentences into fixed-size vectors (MiniLM in production).
pub trait SentenceEncoder: Send + Sync {
    /// Feature vectors of a batch of sentences, for the neural head. The first
    /// [`SentenceEncoder::sentence_dim`] values are the unit-length sentence
    /// embedding that nearest neighbours are found by.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;

    /// Length of the sentence embedding at the head of each feature vector;
    /// the whole vector unless an encoder says otherwise.
    fn sentence_dim(&self) -> Option<usize> {
        None
    }
}

impl<T: SentenceEncoder + ?Sized> SentenceEncoder for std::sync::Arc<T> {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        (**self).embed_batch(texts)
    }

    fn sentence_dim(&self) -> Option<usize> {
        (**self).sentence_dim()
    }
}

/// Errors of training, loading and saving.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No examples to learn from.
    #[error("no training examples")]
    Empty,
    /// The sentence encoder failed.
    #[error("sentence encoder: {0}")]
    Encoder(String),
    /// Reading or writing the model file.
    #[error("model file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The model file is not a model of this version.
    #[error("model file {path} is not a valid pipilu model: {message}")]
    Format {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
}

/// One text's probabilities from each intent layer before mixing, and the
/// trained mix: `classify` gives `lexical` alone when it is at least
/// `lexical_sure`, else the geometric mix at `neural_weight`, blended with the
/// nearest-neighbour vote at `knn_weight`.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerScores {
    /// The lexical model's probabilities, in the order of `Engine::labels`.
    pub lexical: Vec<f32>,
    /// The neural head's, when the encoder is loaded.
    pub neural: Option<Vec<f32>>,
    /// The nearest-neighbour vote, when validation data gave it a weight.
    pub knn: Option<Vec<f32>>,
    /// Weight of the neural layer in the geometric mix.
    pub neural_weight: f32,
    /// Weight of the nearest-neighbour vote.
    pub knn_weight: f32,
    /// The factor the mix is scaled by for the embedding's distance from the
    /// training intents, when validation data gave the distance a weight.
    pub novelty: Option<f32>,
    /// Lexical confidence at which the neural layer is skipped.
    pub lexical_sure: f32,
}

/// The decision thresholds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Thresholds {
    /// Below this probability the best intent is not trusted: out of scope.
    pub min_confidence: f32,
    /// When the runner-up is closer than this, the parse is ambiguous.
    pub min_margin: f32,
    /// Lexical probability above which the neural layer is skipped.
    pub lexical_sure: f32,
    /// Stricter minimum for risky intents (a restart must never run on a guess).
    pub risky_min_confidence: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { min_confidence: 0.45, min_margin: 0.1, lexical_sure: 0.98, risky_min_confidence: 0.6 }
    }
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Lexical model hyper-parameters.
    pub intent: TrainParams,
    /// Slot tagger hyper-parameters.
    pub crf: CrfParams,
    /// Train the slot tagger (when the data has slots).
    pub slots: bool,
    /// The out-of-scope label, when the data has one.
    pub oos_label: Option<String>,
    /// Fixed thresholds. The confidence threshold is tuned instead on validation
    /// data, or without it on out-of-fold predictions of the training data
    /// (500 examples or more), when those have out-of-scope examples.
    pub thresholds: Thresholds,
    /// The gazetteer was built from the training examples' slot values (benchmarks):
    /// cross-fit it too, so the tagger does not learn to trust it blindly.
    pub names_from_examples: bool,
    /// Correct typos of frequent words before classifying.
    pub spell: bool,
    /// Intents that change things and so need `risky_min_confidence`.
    pub risky: Vec<String>,
    /// Slot-value-swapped copies of each annotated example for the tagger.
    /// One, chosen on SNIPS's validation split (slot F1 94.82 with none,
    /// 95.02 with one, 94.69 with two, 94.41 with four).
    pub augment: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            intent: TrainParams::default(),
            crf: CrfParams::default(),
            slots: true,
            oos_label: Some(OUT_OF_SCOPE.to_string()),
            thresholds: Thresholds::default(),
            names_from_examples: false,
            spell: true,
            risky: vec!["restart_service".to_string()],
            augment: 1,
        }
    }
}

/// A stage of training, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Lexical intent model epochs.
    Lexical,
    /// Sentence embeddings, in sentences.
    Embedding,
    /// Neural head epochs.
    NeuralHead,
    /// Slot tagger epochs.
    Slots,
}

/// Progress callback: stage, done, total.
pub type Progress<'a> = &'a mut dyn FnMut(Stage, usize, usize);

/// Everything learned; what is saved to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    labels: Vec<String>,
    lexical: IntentModel,
    neural: Option<Mlp>,
    neural_weight: f32,
    /// Nearest-neighbour vote over training embeddings, when validation data chose a weight for it.
    knn: Option<Knn>,
    knn_weight: f32,
    /// Distance from the training intents in embedding space, when validation
    /// data chose a weight for it: far sentences' confidences are discounted.
    novelty: Option<Novelty>,
    tagger: Option<SlotTagger>,
    thresholds: Thresholds,
    oos: Option<usize>,
    risky: Vec<usize>,
    gazetteer: Gazetteer,
    spell: SpellIndex,
}

/// The engine: a model plus, optionally, the sentence encoder (shared by clones).
#[derive(Clone)]
pub struct Engine {
    model: Model,
    encoder: Option<std::sync::Arc<dyn SentenceEncoder>>,
}

const MAGIC: &[u8; 8] = b"PIPNLU05";

fn embed_all(enc: &dyn SentenceEncoder, texts: &[&str], progress: Progress) -> Result<Vec<Vec<f32>>, EngineError> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        out.extend(enc.embed_batch(chunk).map_err(EngineError::Encoder)?);
        progress(Stage::Embedding, out.len(), texts.len());
    }
    Ok(out)
}

/// What a sentence's embedding contributes to its intent probabilities.
struct NeuralVotes {
    /// The neural head's probabilities.
    neural: Vec<f32>,
    /// The nearest-neighbour vote, when one is trained.
    knn: Option<Vec<f32>>,
    /// The novelty discount, when one is trained.
    novelty: Option<f32>,
}

fn argmax(p: &[f32]) -> usize {
    p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |x| x.0)
}

/// Weighted geometric mean of two distributions, renormalised.
fn mix(lex: &[f32], neu: &[f32], w: f32) -> Vec<f32> {
    let mut out: Vec<f32> =
        lex.iter().zip(neu).map(|(a, b)| (1.0 - w) * a.max(1e-9).ln() + w * b.max(1e-9).ln()).collect();
    softmax(&mut out, 1.0);
    out
}

impl Engine {
    /// Trains on `train`; `valid` (may be empty) calibrates and tunes thresholds.
    pub fn train(
        train: &[Example],
        valid: &[Example],
        gazetteer: Gazetteer,
        encoder: Option<Box<dyn SentenceEncoder>>,
        opts: &TrainOptions,
        progress: Progress,
    ) -> Result<Self, EngineError> {
        if train.is_empty() {
            return Err(EngineError::Empty);
        }
        let mut labels: Vec<String> = train.iter().map(|e| e.intent.clone()).collect();
        labels.sort();
        labels.dedup();
        let id = |s: &str| id_in(&labels, s);
        let ys: Vec<usize> = train.iter().map(|e| id(&e.intent).unwrap_or(0)).collect();
        let oos = opts.oos_label.as_deref().and_then(id);
        let cross = CrossFit::new(train, &gazetteer, opts.names_from_examples, 5);
        // Without a validation split, mix weight and threshold are chosen by
        // cross-validation, which needs the gazetteer as it was given.
        let cross_validate = valid.is_empty() && train.len() >= CV_MIN_EXAMPLES;
        let base_gazetteer = if cross_validate { gazetteer.clone() } else { Gazetteer::default() };
        let mut gazetteer = gazetteer;
        if opts.names_from_examples {
            crate::add_example_names(&mut gazetteer, train);
        }
        let lexicon = Lexicon::fit(train);
        // The tagger trains on the second core while the intent models train on this one.
        let train_tagger = || {
            if !opts.slots || train.iter().all(|e| e.spans.is_empty()) {
                return None;
            }
            let keep: Vec<usize> =
                (0..train.len()).filter(|&i| Some(&train[i].intent) != opts.oos_label.as_ref()).collect();
            let with_slots: Vec<Example> = keep.iter().map(|&i| train[i].clone()).collect();
            // Variants see the knowledge of their original's fold.
            let (origin, with_slots): (Vec<usize>, Vec<Example>) =
                crate::augment::augment(&with_slots, opts.augment, opts.intent.seed, &|j| cross.fold(keep[j]))
                    .into_iter()
                    .unzip();
            let keep: Vec<usize> = origin.iter().map(|&j| keep[j]).collect();
            Some(SlotTagger::train(
                &with_slots,
                &|n| cross.for_example(keep[n]),
                lexicon.clone(),
                opts.crf,
                &mut |_| {},
            ))
        };
        let (lexical, neural, tagger, out_of_fold, knn, novelty) =
            std::thread::scope(|scope| -> Result<_, EngineError> {
                let tagger = scope.spawn(train_tagger);
                let epochs = opts.intent.epochs;
                let lexical = IntentModel::train(
                    train,
                    &ys,
                    labels.len(),
                    &|i| cross.for_example(i),
                    lexicon.clone(),
                    opts.intent,
                    &mut |e| progress(Stage::Lexical, e, epochs),
                );
                let mut knn = None;
                let mut novelty = None;
                let mut xs = None;
                if let Some(enc) = encoder.as_deref() {
                    let texts: Vec<&str> = train.iter().map(|e| e.text.as_str()).collect();
                    let emb = embed_all(enc, &texts, progress)?;
                    if !valid.is_empty() {
                        let dim = enc.sentence_dim().unwrap_or_else(|| emb.first().map_or(0, Vec::len));
                        knn = Some(Knn::new(&emb, dim, &ys, labels.len()));
                        if oos.is_some() {
                            novelty = Novelty::fit(&emb, dim, &ys, oos);
                        }
                    }
                    xs = Some(emb);
                }
                let out_of_fold = cross_validate.then(|| {
                    let cv = CvInputs {
                        train,
                        ys: &ys,
                        classes: labels.len(),
                        base: &base_gazetteer,
                        cross: &cross,
                        lexicon: &lexicon,
                        xs: xs.as_deref(),
                    };
                    cross_validated_logits(&cv, opts)
                });
                let neural = xs.as_deref().map(|xs| {
                    Mlp::train(xs, &ys, labels.len(), neural_params(opts), &mut |e, of| {
                        progress(Stage::NeuralHead, e, of)
                    })
                });
                let tagger = tagger.join().map_err(|_| EngineError::Encoder("slot tagger training panicked".into()))?;
                progress(Stage::Slots, opts.crf.epochs, opts.crf.epochs);
                Ok((lexical, neural, tagger, out_of_fold, knn, novelty))
            })?;
        let mut lexical = lexical;
        let risky: Vec<usize> = opts.risky.iter().filter_map(|r| id(r)).collect();
        let mut model = Model {
            labels,
            lexical,
            neural,
            neural_weight: 0.5,
            knn: None,
            knn_weight: 0.0,
            novelty: None,
            tagger,
            thresholds: opts.thresholds,
            oos,
            risky,
            spell: if opts.spell { SpellIndex::fit(train, 3) } else { SpellIndex::default() },
            gazetteer,
        };
        if let Some((lex_l, neu_l)) = out_of_fold {
            // No validation split: the softmax temperatures, the mix weight
            // and (where the data has out-of-scope examples) the confidence
            // threshold are chosen on out-of-fold scores of the training data,
            // so they are never tuned on what they are scored on. Calibrating
            // matters here as much as with a validation split: the risky
            // intents' threshold is an absolute probability.
            let (t, lex_p) = calibrated(&lex_l, &ys);
            model.lexical.set_temperature(t);
            let neu_p = neu_l.map(|l| {
                let (t, p) = calibrated(&l, &ys);
                if let Some(head) = model.neural.as_mut() {
                    head.set_temperature(t);
                }
                p
            });
            let probs = match &neu_p {
                Some(neu_p) => {
                    model.neural_weight = best_mix(&lex_p, neu_p, &ys, oos, model.thresholds);
                    lex_p.iter().zip(neu_p).map(|(a, b)| mix(a, b, model.neural_weight)).collect()
                }
                None => lex_p.clone(),
            };
            if oos.is_some() {
                model.thresholds = tune_thresholds(&probs, &ys, oos, model.thresholds).0;
            }
            if neu_p.is_some() {
                model.thresholds.lexical_sure = tune_lexical_sure(&lex_p, &probs, &ys, oos, model.thresholds);
            }
        }
        let valid: Vec<&Example> =
            valid.iter().filter(|e| model.labels.contains(&e.intent) || is_oos(e, opts)).collect();
        if !valid.is_empty() {
            let vys: Vec<usize> = valid.iter().map(|e| id_in(&model.labels, &e.intent).unwrap_or(usize::MAX)).collect();
            let known: Vec<(usize, &Example)> =
                valid.iter().zip(&vys).filter(|(_, y)| **y != usize::MAX).map(|(e, y)| (*y, *e)).collect();
            let kys: Vec<usize> = known.iter().map(|k| k.0).collect();
            let kex: Vec<Example> = known.iter().map(|k| k.1.clone()).collect();
            lexical = model.lexical.clone();
            lexical.calibrate(&kex, &kys, &model.gazetteer);
            model.lexical = lexical;
            let lex_p: Vec<Vec<f32>> =
                valid.iter().map(|e| model.lexical.predict(&e.tokens, &model.gazetteer)).collect();
            let mut probs = lex_p.clone();
            if let (Some(enc), Some(head)) = (encoder.as_deref(), model.neural.as_mut()) {
                let texts: Vec<&str> = valid.iter().map(|e| e.text.as_str()).collect();
                let emb = embed_all(enc, &texts, progress)?;
                let logits: Vec<Vec<f32>> = emb.iter().map(|v| head.logits(v)).collect();
                let kl: Vec<Vec<f32>> =
                    logits.iter().zip(&vys).filter(|(_, y)| **y != usize::MAX).map(|(l, _)| l.clone()).collect();
                let t = fit_temperature(&kl, &kys);
                head.set_temperature(t);
                let neu_p = with_temperature(&logits, t);
                model.neural_weight = best_mix(&lex_p, &neu_p, &vys, oos, model.thresholds);
                probs = lex_p.iter().zip(&neu_p).map(|(a, b)| mix(a, b, model.neural_weight)).collect();
                if let Some(knn) = knn {
                    let votes: Vec<Vec<f32>> = emb.iter().map(|v| knn.vote(v, None)).collect();
                    let (w, blended) = best_knn_weight(&probs, &votes, &vys, oos, model.thresholds);
                    if w > 0.0 {
                        model.knn = Some(knn);
                        model.knn_weight = w;
                        probs = blended;
                    }
                }
                if let Some(novelty) = novelty {
                    let distances: Vec<f32> = emb.iter().map(|v| novelty.distance(v)).collect();
                    let (w, scaled) =
                        best_novelty_weight(&probs, &distances, novelty.centre(), &vys, oos, model.thresholds);
                    if w > 0.0 {
                        model.novelty = Some(novelty.with_weight(w));
                        probs = scaled;
                    }
                }
            }
            if valid.iter().any(|e| is_oos(e, opts)) {
                model.thresholds = tune_thresholds(&probs, &vys, oos, model.thresholds).0;
            }
            if model.neural.is_some() && encoder.is_some() {
                model.thresholds.lexical_sure = tune_lexical_sure(&lex_p, &probs, &vys, oos, model.thresholds);
            }
        }
        Ok(Engine { model, encoder: encoder.map(std::sync::Arc::from) })
    }

    /// Loads a saved model; `encoder` is used only if the model has a neural head.
    pub fn load(path: &Path, encoder: Option<Box<dyn SentenceEncoder>>) -> Result<Self, EngineError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| EngineError::Io { path: p.clone(), source })?;
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(EngineError::Format {
                path: p,
                message: "wrong header (written by another version of pipilu? `pipilu nlu train` writes a new one)"
                    .into(),
            });
        }
        let model: Model = bincode::deserialize(&bytes[MAGIC.len()..])
            .map_err(|e| EngineError::Format { path: p, message: e.to_string() })?;
        let encoder = if model.neural.is_some() { encoder.map(std::sync::Arc::from) } else { None };
        Ok(Engine { model, encoder })
    }

    /// Saves the model (not the encoder weights, which live in their own files).
    pub fn save(&self, path: &Path) -> Result<(), EngineError> {
        let p = path.display().to_string();
        let mut bytes = MAGIC.to_vec();
        bytes.extend(
            bincode::serialize(&self.model)
                .map_err(|e| EngineError::Format { path: p.clone(), message: e.to_string() })?,
        );
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| EngineError::Io { path: p.clone(), source })?;
        }
        std::fs::write(path, bytes).map_err(|source| EngineError::Io { path: p, source })
    }

    /// Which layers this engine can run.
    pub fn layers(&self) -> Vec<&'static str> {
        if self.has_neural() { vec!["lexical", "neural"] } else { vec!["lexical"] }
    }

    /// True when the neural layer is trained and its encoder loaded.
    pub fn has_neural(&self) -> bool {
        self.encoder.is_some() && self.model.neural.is_some()
    }

    /// True when the model was trained with a neural head (whether or not the encoder is here).
    pub fn model_has_neural(&self) -> bool {
        self.model.neural.is_some()
    }

    /// Intent labels the model knows.
    pub fn labels(&self) -> &[String] {
        &self.model.labels
    }

    /// The weight of the novelty discount (0 when there is none).
    pub fn novelty_weight(&self) -> f32 {
        self.model.novelty.as_ref().map_or(0.0, Novelty::weight)
    }

    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.model.thresholds
    }

    /// Overrides the thresholds.
    pub fn set_thresholds(&mut self, t: Thresholds) {
        self.model.thresholds = t;
    }

    /// The gazetteer: the bot replaces kinds with the live inventory.
    pub fn gazetteer_mut(&mut self) -> &mut Gazetteer {
        &mut self.model.gazetteer
    }

    /// The gazetteer in use.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.model.gazetteer
    }

    /// Intent probabilities for tokens, and the layers that ran. `force_neural` disables the skip.
    pub fn classify(&self, text: &str, tokens: &[Token], force_neural: bool) -> (Vec<f32>, Vec<&'static str>) {
        let lex = self.model.lexical.predict(tokens, &self.model.gazetteer);
        if !self.has_neural() || (!force_neural && lex[argmax(&lex)] >= self.model.thresholds.lexical_sure) {
            return (lex, vec!["lexical"]);
        }
        match self.neural_votes(text) {
            Some(NeuralVotes { neural, knn, novelty }) => {
                let mut p = mix(&lex, &neural, self.model.neural_weight);
                if let Some(vote) = knn {
                    p = blend(&p, &vote, self.model.knn_weight);
                }
                if let Some(f) = novelty {
                    p.iter_mut().for_each(|x| *x *= f);
                }
                (p, vec!["lexical", "neural"])
            }
            None => (lex, vec!["lexical"]),
        }
    }

    /// What the embedding of a text says; `None` without an encoder or when it fails.
    fn neural_votes(&self, text: &str) -> Option<NeuralVotes> {
        let (enc, head) = (self.encoder.as_deref()?, self.model.neural.as_ref()?);
        let v = enc.embed_batch(&[text]).ok()?.into_iter().next()?;
        Some(NeuralVotes {
            neural: head.predict_proba(&v),
            knn: self.model.knn.as_ref().map(|k| k.vote(&v, None)),
            novelty: self.model.novelty.as_ref().map(|n| n.factor(&v)),
        })
    }

    /// Each layer's own probabilities for a text, unmixed, with the neural
    /// layer run even where the lexical one is sure: what an analysis needs to
    /// replay the mix at other weights than the trained ones.
    pub fn layer_scores(&self, text: &str, tokens: &[Token]) -> LayerScores {
        let lexical = self.model.lexical.predict(tokens, &self.model.gazetteer);
        let votes = self.neural_votes(text);
        let (neural, knn, novelty) = votes.map_or((None, None, None), |v| (Some(v.neural), v.knn, v.novelty));
        LayerScores {
            lexical,
            neural,
            knn,
            novelty,
            neural_weight: self.model.neural_weight,
            knn_weight: self.model.knn_weight,
            lexical_sure: self.model.thresholds.lexical_sure,
        }
    }

    /// Parses a message, resolving times relative to now.
    pub fn parse(&self, text: &str) -> Parse {
        self.parse_at(text, Utc::now())
    }

    /// Parses a message, resolving times relative to `now`.
    pub fn parse_at(&self, text: &str, now: DateTime<Utc>) -> Parse {
        self.parse_with(text, now, false)
    }

    /// Parses a message; `force_neural` runs the neural layer even when the lexical one is sure.
    pub fn parse_with(&self, text: &str, now: DateTime<Utc>, force_neural: bool) -> Parse {
        let (text, truncated) = cut(text);
        let tokens = tokenize(text);
        let cues = crate::cues::find(text, &tokens);
        let tokens = self.correct(tokens);
        if tokens.iter().all(|t| t.kind == TokenKind::Punct) {
            return Parse {
                text: text.to_string(),
                intent: OUT_OF_SCOPE.into(),
                confidence: 0.0,
                verdict: Verdict::OutOfScope,
                alternatives: vec![],
                slots: vec![],
                layers: vec![],
                truncated,
                cues,
            };
        }
        let (probs, layers) = self.classify(text, &tokens, force_neural);
        let (intent, confidence, verdict, alternatives) = self.decide(&probs);
        let slots = if verdict == Verdict::OutOfScope {
            Vec::new()
        } else {
            let spans = self.tag(&tokens, &intent);
            resolve_slots(text, &tokens, &spans, &self.model.gazetteer, now)
        };
        Parse { text: text.to_string(), intent, confidence, verdict, alternatives, slots, layers, truncated, cues }
    }

    /// Replaces typos of frequent words by the words (`restrat` -> `restart`); names are kept.
    pub fn correct(&self, mut tokens: Vec<Token>) -> Vec<Token> {
        for t in tokens.iter_mut().filter(|t| t.kind == TokenKind::Word) {
            if let Some(c) = self.model.spell.correct(&t.norm)
                && self.model.gazetteer.longest_at(&[t.norm.as_str()], 0).is_none()
            {
                t.norm = c.to_string();
            }
        }
        tokens
    }

    /// Tags slot spans for a known intent (evaluation uses this on gold tokens).
    pub fn tag(&self, tokens: &[Token], intent: &str) -> Vec<SpanLabel> {
        match &self.model.tagger {
            Some(t) if intent != OUT_OF_SCOPE => t.tag(tokens, intent, &self.model.gazetteer),
            _ => Vec::new(),
        }
    }

    /// Turns probabilities into (intent, confidence, verdict, alternatives).
    pub fn decide(&self, probs: &[f32]) -> (String, f32, Verdict, Vec<Scored>) {
        let th = self.model.thresholds;
        let mut order: Vec<usize> = (0..probs.len()).filter(|&i| Some(i) != self.model.oos).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        let top = order.first().copied();
        let alternatives: Vec<Scored> = order
            .iter()
            .skip(1)
            .take(3)
            .filter(|&&i| probs[i] >= 0.05)
            .map(|&i| Scored { intent: self.model.labels[i].clone(), confidence: probs[i] })
            .collect();
        let Some(top) = top else {
            return (OUT_OF_SCOPE.into(), 0.0, Verdict::OutOfScope, alternatives);
        };
        let p = probs[top];
        let oos_p = self.model.oos.map_or(0.0, |o| probs[o]);
        let second = order.get(1).map_or(0.0, |&i| probs[i]);
        // A risky intent needs the stricter of the two: a tuned general
        // threshold above the risky one must not make risky intents laxer.
        let min = if self.model.risky.contains(&top) {
            th.risky_min_confidence.max(th.min_confidence)
        } else {
            th.min_confidence
        };
        if oos_p > p || p < min {
            let alts = if p >= 0.2 {
                std::iter::once(Scored { intent: self.model.labels[top].clone(), confidence: p })
                    .chain(alternatives)
                    .take(3)
                    .collect()
            } else {
                Vec::new()
            };
            return (OUT_OF_SCOPE.into(), p, Verdict::OutOfScope, alts);
        }
        let verdict = if p - second < th.min_margin { Verdict::Ambiguous } else { Verdict::Confident };
        (self.model.labels[top].clone(), p, verdict, alternatives)
    }
}

/// Folds of the cross-validation that picks the mix weight without a validation split.
const CV_FOLDS: usize = 5;
/// Fewer training sentences than this keep the even mix: folds of a few dozen
/// sentences make too noisy an estimate to beat it (the Braun corpora, 30 to
/// 100 sentences each, lose 2 points of accuracy to it).
const CV_MIN_EXAMPLES: usize = 500;

fn neural_params(opts: &TrainOptions) -> MlpParams {
    MlpParams { seed: opts.intent.seed, balanced: opts.intent.balanced, ..MlpParams::default() }
}

/// What the cross-validation of the two intent layers needs.
struct CvInputs<'a> {
    train: &'a [Example],
    ys: &'a [usize],
    classes: usize,
    base: &'a Gazetteer,
    cross: &'a CrossFit,
    lexicon: &'a Lexicon,
    /// The neural head's inputs, when the encoder is there.
    xs: Option<&'a [Vec<f32>]>,
}

/// Out-of-fold scores (logits) of the lexical and (when there are inputs for
/// it) neural layers for every training example. Folds are the cross-fit's, so a
/// held-out sentence is scored with the gazetteer of the other folds: its own
/// names unknown, as on live text.
fn cross_validated_logits(cv: &CvInputs<'_>, opts: &TrainOptions) -> (Vec<Vec<f32>>, Option<Vec<Vec<f32>>>) {
    let n = cv.train.len();
    let mut lex_p = vec![Vec::new(); n];
    let mut neu_p = vec![Vec::new(); n];
    for fold in 0..CV_FOLDS {
        let (held, kept): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % CV_FOLDS == fold);
        if held.is_empty() || kept.is_empty() {
            continue;
        }
        let sub: Vec<Example> = kept.iter().map(|&i| cv.train[i].clone()).collect();
        let sub_ys: Vec<usize> = kept.iter().map(|&i| cv.ys[i]).collect();
        let sub_cross = CrossFit::new(&sub, cv.base, opts.names_from_examples, CV_FOLDS);
        let lex = IntentModel::train(
            &sub,
            &sub_ys,
            cv.classes,
            &|i| sub_cross.for_example(i),
            cv.lexicon.clone(),
            opts.intent,
            &mut |_| {},
        );
        for &i in &held {
            lex_p[i] = lex.logits(&cv.train[i].tokens, &cv.cross.for_example(i).gazetteer);
        }
        if let Some(xs) = cv.xs {
            let sub_xs: Vec<Vec<f32>> = kept.iter().map(|&i| xs[i].clone()).collect();
            let head = Mlp::train(&sub_xs, &sub_ys, cv.classes, neural_params(opts), &mut |_, _| {});
            for &i in &held {
                neu_p[i] = head.logits(&xs[i]);
            }
        }
    }
    (lex_p, cv.xs.map(|_| neu_p))
}

/// Probabilities of `logits` at softmax temperature `t`.
fn with_temperature(logits: &[Vec<f32>], t: f32) -> Vec<Vec<f32>> {
    logits
        .iter()
        .map(|l| {
            let mut p = l.clone();
            softmax(&mut p, t);
            p
        })
        .collect()
}

/// The temperature that calibrates held-out `logits`, and the probabilities it gives.
fn calibrated(logits: &[Vec<f32>], ys: &[usize]) -> (f32, Vec<Vec<f32>>) {
    let t = fit_temperature(logits, ys);
    (t, with_temperature(logits, t))
}

/// The weight of the nearest-neighbour vote (0 to 0.6 by tenths) that scores
/// best on validation data, and the blended probabilities.
fn best_knn_weight(
    probs: &[Vec<f32>],
    votes: &[Vec<f32>],
    ys: &[usize],
    oos: Option<usize>,
    th: Thresholds,
) -> (f32, Vec<Vec<f32>>) {
    let weights = (1..=6).map(|step| step as f32 / 10.0);
    best_weight(probs, weights, ys, oos, th, |w| probs.iter().zip(votes).map(|(p, v)| blend(p, v, w)).collect())
}

/// Of `probs` as they are (weight 0) and `apply(w)` for each of `weights`,
/// the one that scores best on validation data (thresholds tuned alongside):
/// its weight and its probabilities. Ties keep the earlier, smaller weight.
fn best_weight(
    probs: &[Vec<f32>],
    weights: impl IntoIterator<Item = f32>,
    ys: &[usize],
    oos: Option<usize>,
    th: Thresholds,
    apply: impl Fn(f32) -> Vec<Vec<f32>>,
) -> (f32, Vec<Vec<f32>>) {
    let mut best = (tune_thresholds(probs, ys, oos, th).1, 0.0, probs.to_vec());
    for w in weights {
        let candidate = apply(w);
        let score = tune_thresholds(&candidate, ys, oos, th).1;
        if score > best.0 + 1e-6 {
            best = (score, w, candidate);
        }
    }
    (best.1, best.2)
}

/// Novelty weights tried on validation data besides 0, which leaves confidences alone.
const NOVELTY_WEIGHTS: [f32; 7] = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];

/// The weight of the novelty discount that scores best on validation data,
/// and the discounted probabilities. `distances` are the validation sentences'
/// (see `Novelty::distance`), `centre` the training sentences' mean.
fn best_novelty_weight(
    probs: &[Vec<f32>],
    distances: &[f32],
    centre: f32,
    ys: &[usize],
    oos: Option<usize>,
    th: Thresholds,
) -> (f32, Vec<Vec<f32>>) {
    best_weight(probs, NOVELTY_WEIGHTS, ys, oos, th, |w| {
        probs
            .iter()
            .zip(distances)
            .map(|(p, d)| {
                let f = Novelty::discount(*d, centre, w);
                p.iter().map(|x| x * f).collect()
            })
            .collect()
    })
}

/// The neural layer's weight in the mix (0 to 1 by tenths) that scores best on
/// held-out predictions, thresholds tuned alongside where there is out-of-scope data.
fn best_mix(lex_p: &[Vec<f32>], neu_p: &[Vec<f32>], ys: &[usize], oos: Option<usize>, th: Thresholds) -> f32 {
    let mut best = (f32::NEG_INFINITY, 0.5);
    for step in 0..=10 {
        let w = step as f32 / 10.0;
        let mixed: Vec<Vec<f32>> = lex_p.iter().zip(neu_p).map(|(a, b)| mix(a, b, w)).collect();
        let score = tune_thresholds(&mixed, ys, oos, th).1;
        if score > best.0 + 1e-6 {
            best = (score, w);
        }
    }
    best.1
}

fn is_oos(e: &Example, opts: &TrainOptions) -> bool {
    opts.oos_label.as_deref() == Some(e.intent.as_str())
}

fn id_in(labels: &[String], s: &str) -> Option<usize> {
    labels.iter().position(|l| l == s)
}

/// Chooses the confidence threshold that maximises `3/4 in-scope accuracy + 1/4
/// out-of-scope recall` on validation data; returns the thresholds and the score.
/// In-scope accuracy weighs more: wrongly refusing a real request costs the user
/// a retype, and the bot's policy still asks before anything risky.
fn tune_thresholds(probs: &[Vec<f32>], ys: &[usize], oos: Option<usize>, base: Thresholds) -> (Thresholds, f32) {
    let has_oos = ys.iter().any(|&y| Some(y) == oos || y == usize::MAX);
    let candidates: Vec<f32> =
        if has_oos { (0..=95).map(|i| i as f32 / 100.0).collect() } else { vec![base.min_confidence] };
    let mut best = (base, f32::NEG_INFINITY);
    for &c in &candidates {
        let (mut ok_in, mut n_in, mut ok_oos, mut n_oos) = (0usize, 0usize, 0usize, 0usize);
        for (p, &y) in probs.iter().zip(ys) {
            let ok = decided_right(p, y, oos, c);
            if Some(y) == oos || y == usize::MAX {
                n_oos += 1;
                ok_oos += usize::from(ok);
            } else {
                n_in += 1;
                ok_in += usize::from(ok);
            }
        }
        let acc = ok_in as f32 / n_in.max(1) as f32;
        let score = if n_oos > 0 { 0.75 * acc + 0.25 * ok_oos as f32 / n_oos as f32 } else { acc };
        if score > best.1 + 1e-6 {
            best = (Thresholds { min_confidence: c, ..base }, score);
        }
    }
    best
}

/// Whether probabilities `p` give the right verdict for gold class `y`
/// (`usize::MAX` or `oos` for out of scope) at confidence threshold `c`.
fn decided_right(p: &[f32], y: usize, oos: Option<usize>, c: f32) -> bool {
    let top = (0..p.len()).filter(|&i| Some(i) != oos).max_by(|&a, &b| p[a].total_cmp(&p[b]));
    let oos_p = oos.map_or(0.0, |o| p[o]);
    let pred_oos = top.is_none_or(|t| oos_p > p[t] || p[t] < c);
    if Some(y) == oos || y == usize::MAX { pred_oos } else { !pred_oos && top == Some(y) }
}

/// Lexical confidences at which the neural layer may be skipped, lowest first.
const SKIP_CANDIDATES: [f32; 6] = [0.9, 0.95, 0.98, 0.99, 0.995, 0.999];

/// The lowest lexical confidence above which skipping the neural layer loses
/// no held-out decision: on the held-out sentences the lexical layer is that
/// sure of, its verdicts alone are right at least as often as the mix's. The
/// skip is what keeps a typical message in microseconds, so it is never turned
/// off, only raised to the highest candidate.
fn tune_lexical_sure(lex_p: &[Vec<f32>], probs: &[Vec<f32>], ys: &[usize], oos: Option<usize>, th: Thresholds) -> f32 {
    let c = th.min_confidence;
    let last = SKIP_CANDIDATES[SKIP_CANDIDATES.len() - 1];
    SKIP_CANDIDATES
        .into_iter()
        .find(|&t| {
            let (mut lex_ok, mut mix_ok) = (0usize, 0usize);
            for ((lex, mixed), &y) in lex_p.iter().zip(probs).zip(ys) {
                if lex.get(argmax(lex)).is_some_and(|&top| top >= t) {
                    lex_ok += usize::from(decided_right(lex, y, oos, c));
                    mix_ok += usize::from(decided_right(mixed, y, oos, c));
                }
            }
            lex_ok >= mix_ok
        })
        .unwrap_or(last)
}

fn cut(text: &str) -> (&str, bool) {
    if text.len() <= MAX_INPUT_BYTES {
        return (text, false);
    }
    let mut end = MAX_INPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Turns tagged spans into slots with resolved values.
fn resolve_slots(text: &str, tokens: &[Token], spans: &[SpanLabel], gaz: &Gazetteer, now: DateTime<Utc>) -> Vec<Slot> {
    let mut slots = Vec::new();
    for s in spans {
        let (Some(first), Some(last)) = (tokens.get(s.start), tokens.get(s.end.saturating_sub(1))) else {
            continue;
        };
        let raw = &text[first.start..last.end];
        let span = (first.start, last.end);
        let mut slot =
            Slot { name: s.slot.clone(), raw: raw.to_string(), span, value: raw.to_string(), resolved: None };
        if s.slot == "dashboard" {
            // Hubot style `loadbalancers:2` is one token: split off the panel.
            if let Some((name, panel)) = raw.rsplit_once(':')
                && let Some(n) = builtin::parse_number(panel)
                && !name.is_empty()
            {
                slot.value = name.to_string();
                slot.raw = name.to_string();
                slot.span = (span.0, span.0 + name.len());
                resolve_entity(&mut slot, gaz);
                let pstart = span.0 + name.len() + 1;
                slots.push(slot);
                slots.push(Slot {
                    name: "panel".into(),
                    raw: panel.to_string(),
                    span: (pstart, span.1),
                    value: n.to_string(),
                    resolved: Some(Resolved::Number { value: n }),
                });
                continue;
            }
        }
        resolve_slot(&mut slot, gaz, now);
        slots.push(slot);
    }
    slots
}

/// Resolves a slot's `raw` text as the tagger's spans are resolved: built-in
/// parsers for times, numbers, severities, environments, incidents and
/// matchers, the gazetteer for names. The bot calls it for values that did not
/// come from a sentence (a clicked button, an answer to a question).
pub fn resolve_slot(slot: &mut Slot, gaz: &Gazetteer, now: DateTime<Utc>) {
    let raw = slot.raw.clone();
    let raw = raw.as_str();
    let slot_name = slot.name.clone();
    match slot_name.as_str() {
        "time_range" => {
            slot.resolved = builtin::parse_time_range(raw, now).map(Resolved::TimeRange);
        }
        "duration" => {
            slot.resolved = builtin::parse_duration(raw).map(|d| Resolved::Duration { seconds: d.as_secs() });
        }
        "panel" => {
            slot.resolved = builtin::parse_number(raw).map(|value| Resolved::Number { value });
        }
        "severity" => {
            if let Some(v) = builtin::parse_severity(raw) {
                slot.value = v.to_string();
                slot.resolved = Some(Resolved::Severity { value: v });
            }
        }
        "env" => {
            if let Some(v) = builtin::parse_env(raw) {
                slot.value = v.to_string();
                slot.resolved = Some(Resolved::Env { value: v });
            }
        }
        "incident" => {
            slot.value = raw.trim_start_matches('#').to_string();
        }
        "matcher" => {
            if let Some(m) = crate::matcher::parse_matcher(raw) {
                slot.value = m.to_string();
                slot.resolved = Some(Resolved::Matcher(m));
            }
        }
        _ => resolve_entity(slot, gaz),
    }
}

/// Minimum fuzzy score for a name to be resolved to a gazetteer entry.
const FUZZY_MIN: f32 = crate::fuzzy::DEFAULT_MIN_SCORE;

fn resolve_entity(slot: &mut Slot, gaz: &Gazetteer) {
    let name = if slot.name == "service" { without_resource_kind(&slot.raw) } else { &slot.raw };
    slot.value = name.to_string();
    if let Some(m) = gaz.lookup(&slot.name, name, FUZZY_MIN) {
        slot.value = m.canonical.clone();
        slot.resolved = Some(Resolved::Entity { canonical: m.canonical, score: m.score });
    }
}

/// The name in kubectl's `kind/name` form (`deploy/latte`, `sts/kafka`), which
/// engineers type out of habit; anything else unchanged.
fn without_resource_kind(raw: &str) -> &str {
    const KINDS: [&str; 12] = [
        "deploy",
        "deployment",
        "deployments",
        "sts",
        "statefulset",
        "statefulsets",
        "ds",
        "daemonset",
        "daemonsets",
        "svc",
        "service",
        "services",
    ];
    match raw.split_once('/') {
        Some((kind, name))
            if !name.is_empty() && !name.contains('/') && KINDS.iter().any(|k| kind.eq_ignore_ascii_case(k)) =>
        {
            name
        }
        _ => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_kind_prefix_is_not_part_of_the_service_name() {
        assert_eq!(without_resource_kind("deploy/latte"), "latte");
        assert_eq!(without_resource_kind("StatefulSet/kafka"), "kafka");
        assert_eq!(without_resource_kind("latte"), "latte");
        assert_eq!(without_resource_kind("team/latte"), "team/latte");
        assert_eq!(without_resource_kind("deploy/"), "deploy/");
        assert_eq!(without_resource_kind("deploy/a/b"), "deploy/a/b");
    }

    #[test]
    fn skip_threshold_rises_above_confident_lexical_mistakes() {
        let th = Thresholds { min_confidence: 0.3, ..Thresholds::default() };
        // Sentence 0: lexical right at 0.97. Sentence 1: lexical wrong at 0.96,
        // the mix right. Skipping at 0.9 or 0.95 would lose sentence 1.
        let lex = vec![vec![0.97, 0.03], vec![0.96, 0.04]];
        let mixed = vec![vec![0.9, 0.1], vec![0.2, 0.8]];
        assert_eq!(tune_lexical_sure(&lex, &mixed, &[0, 1], None, th), 0.98);
        // When the lexical layer is right wherever it is sure, the lowest candidate wins.
        assert_eq!(tune_lexical_sure(&lex, &mixed, &[0, 0], None, th), SKIP_CANDIDATES[0]);
    }

    #[test]
    fn novelty_gets_a_weight_only_where_it_separates_out_of_scope() {
        let th = Thresholds::default();
        // Classes 0 and 1 in scope, 2 out of scope. The two out-of-scope
        // sentences are as confident as the in-scope ones (0.8), but farther
        // out than the training sentences (distance 3 against a centre of 1).
        let probs = vec![vec![0.8, 0.1, 0.1], vec![0.1, 0.8, 0.1], vec![0.8, 0.1, 0.1], vec![0.1, 0.8, 0.1]];
        let ys = [0, 1, 2, 2];
        let (w, scaled) = best_novelty_weight(&probs, &[1.0, 0.8, 3.0, 3.0], 1.0, &ys, Some(2), th);
        assert!(w > 0.0);
        assert_eq!(scaled[0], probs[0], "no discount up to the centre");
        assert!(scaled[2][0] < th.min_confidence, "the far sentence falls below the threshold");
        // Where distance says nothing, confidences are left alone.
        let (w, scaled) = best_novelty_weight(&probs, &[1.0, 1.0, 1.0, 1.0], 1.0, &ys, Some(2), th);
        assert_eq!(w, 0.0);
        assert_eq!(scaled, probs);
    }
}
