//! Scoring: intent accuracy and macro F1, CoNLL slot F1, exact match,
//! in-scope accuracy and out-of-scope recall, per-intent table, confusions.

use crate::data::{Example, SpanLabel};
use crate::engine::Engine;
use crate::parse::OUT_OF_SCOPE;
use crate::tokenize::Token;
use serde::Serialize;
use std::collections::BTreeMap;

/// One scored test sentence.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The sentence.
    pub text: String,
    /// Gold intent (the corpus's out-of-scope label normalised to `out_of_scope`).
    pub gold: String,
    /// Predicted intent.
    pub pred: String,
    /// Gold slot spans.
    pub gold_spans: Vec<(String, usize, usize)>,
    /// Predicted slot spans.
    pub pred_spans: Vec<(String, usize, usize)>,
    /// Whether the neural layer ran.
    pub neural: bool,
    /// The probability of each intent, for analyses that combine models.
    pub probabilities: BTreeMap<String, f32>,
    /// Each layer's probabilities before the mix, when asked for.
    pub layers: Option<LayerProbabilities>,
}

/// One sentence's probabilities from each intent layer before the mix, keyed
/// by intent, and the trained weights of the mix (see `engine::LayerScores`).
#[derive(Debug, Clone, Serialize)]
pub struct LayerProbabilities {
    /// The lexical model's.
    pub lexical: BTreeMap<String, f32>,
    /// The neural head's, when the encoder is loaded.
    pub neural: Option<BTreeMap<String, f32>>,
    /// The nearest-neighbour vote, when it has a weight.
    pub knn: Option<BTreeMap<String, f32>>,
    /// Weight of the neural layer in the geometric mix.
    pub neural_weight: f32,
    /// Weight of the nearest-neighbour vote.
    pub knn_weight: f32,
    /// The novelty discount the mix is scaled by, when one is trained.
    pub novelty: Option<f32>,
    /// Lexical confidence at which the neural layer is skipped.
    pub lexical_sure: f32,
}

fn layer_probabilities(engine: &Engine, text: &str, tokens: &[Token]) -> LayerProbabilities {
    let s = engine.layer_scores(text, tokens);
    let by_label = |v: &[f32]| engine.labels().iter().cloned().zip(v.iter().copied()).collect();
    LayerProbabilities {
        lexical: by_label(&s.lexical),
        neural: s.neural.as_deref().map(by_label),
        knn: s.knn.as_deref().map(by_label),
        neural_weight: s.neural_weight,
        knn_weight: s.knn_weight,
        novelty: s.novelty,
        lexical_sure: s.lexical_sure,
    }
}

fn key(s: &[SpanLabel]) -> Vec<(String, usize, usize)> {
    let mut v: Vec<_> = s.iter().map(|s| (s.slot.clone(), s.start, s.end)).collect();
    v.sort();
    v
}

/// Runs the engine over test examples; `with_layers` also keeps each layer's
/// unmixed probabilities (a second neural pass per sentence).
pub fn predict_all(engine: &Engine, test: &[Example], oos_label: Option<&str>, with_layers: bool) -> Vec<Prediction> {
    test.iter()
        .map(|e| {
            let tokens = engine.correct(e.tokens.clone());
            let (probs, layers) = engine.classify(&e.text, &tokens, false);
            let (pred, _, _, _) = engine.decide(&probs);
            let gold = if Some(e.intent.as_str()) == oos_label { OUT_OF_SCOPE.to_string() } else { e.intent.clone() };
            let pred = if Some(pred.as_str()) == oos_label { OUT_OF_SCOPE.to_string() } else { pred };
            Prediction {
                text: e.text.clone(),
                pred_spans: key(&engine.tag(&tokens, &pred)),
                gold_spans: key(&e.spans),
                gold,
                pred,
                neural: layers.contains(&"neural"),
                probabilities: engine.labels().iter().cloned().zip(probs).collect(),
                layers: with_layers.then(|| layer_probabilities(engine, &e.text, &tokens)),
            }
        })
        .collect()
}

/// Per-intent scores.
#[derive(Debug, Clone, Serialize)]
pub struct IntentRow {
    /// Intent.
    pub intent: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Gold count.
    pub support: usize,
}

/// The evaluation report; `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Dataset name.
    pub dataset: String,
    /// Test sentences.
    pub sentences: usize,
    /// Layers that ran.
    pub layers: Vec<String>,
    /// Share of sentences on which the neural layer ran.
    pub neural_share: f64,
    /// Intent accuracy over all test sentences, in percent.
    pub intent_accuracy: f64,
    /// Macro-averaged intent F1, in percent.
    pub intent_macro_f1: f64,
    /// Slot precision (CoNLL exact span and label), percent; null without slots.
    pub slot_precision: Option<f64>,
    /// Slot recall, percent.
    pub slot_recall: Option<f64>,
    /// Slot F1, percent.
    pub slot_f1: Option<f64>,
    /// Sentences with the right intent and exactly the right slots, percent.
    pub exact_match: f64,
    /// Accuracy on in-scope sentences (where the data has out-of-scope), percent.
    pub in_scope_accuracy: Option<f64>,
    /// Recall of out-of-scope sentences, percent.
    pub oos_recall: Option<f64>,
    /// Out-of-scope sentences parsed as `restart_service` (must be 0 for ChatOps).
    pub oos_as_restart_service: usize,
    /// Per-intent table.
    pub per_intent: Vec<IntentRow>,
    /// Most confused (gold, predicted, count).
    pub confusions: Vec<(String, String, usize)>,
    /// Seconds spent training.
    pub train_seconds: f64,
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// Computes the report from predictions.
pub fn score(dataset: &str, preds: &[Prediction], has_slots: bool, has_oos: bool, layers: Vec<String>) -> Report {
    let n = preds.len();
    let correct = preds.iter().filter(|p| p.gold == p.pred).count();
    let mut intents: Vec<&str> = preds.iter().map(|p| p.gold.as_str()).collect();
    intents.sort();
    intents.dedup();
    let per_intent: Vec<IntentRow> = intents
        .iter()
        .map(|&i| {
            let tp = preds.iter().filter(|p| p.gold == i && p.pred == i).count();
            let pred_n = preds.iter().filter(|p| p.pred == i).count();
            let gold_n = preds.iter().filter(|p| p.gold == i).count();
            let (pr, rc) = (pct(tp, pred_n), pct(tp, gold_n));
            IntentRow { intent: i.to_string(), precision: pr, recall: rc, f1: f1(pr, rc), support: gold_n }
        })
        .collect();
    let macro_f1 = per_intent.iter().map(|r| r.f1).sum::<f64>() / per_intent.len().max(1) as f64;
    let (mut tp, mut np, mut ng) = (0, 0, 0);
    let mut exact = 0;
    for p in preds {
        np += p.pred_spans.len();
        ng += p.gold_spans.len();
        let hit = p.pred_spans.iter().filter(|s| p.gold_spans.contains(s)).count();
        tp += hit;
        if p.gold == p.pred && (!has_slots || p.pred_spans == p.gold_spans) {
            exact += 1;
        }
    }
    let (sp, sr) = (pct(tp, np), pct(tp, ng));
    let in_scope: Vec<&Prediction> = preds.iter().filter(|p| p.gold != OUT_OF_SCOPE).collect();
    let oos: Vec<&Prediction> = preds.iter().filter(|p| p.gold == OUT_OF_SCOPE).collect();
    let mut conf: BTreeMap<(String, String), usize> = BTreeMap::new();
    for p in preds.iter().filter(|p| p.gold != p.pred) {
        *conf.entry((p.gold.clone(), p.pred.clone())).or_insert(0) += 1;
    }
    let mut confusions: Vec<(String, String, usize)> = conf.into_iter().map(|((a, b), c)| (a, b, c)).collect();
    confusions.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.cmp(b)));
    confusions.truncate(10);
    Report {
        dataset: dataset.to_string(),
        sentences: n,
        layers,
        neural_share: pct(preds.iter().filter(|p| p.neural).count(), n),
        intent_accuracy: pct(correct, n),
        intent_macro_f1: macro_f1,
        slot_precision: has_slots.then_some(sp),
        slot_recall: has_slots.then_some(sr),
        slot_f1: has_slots.then_some(f1(sp, sr)),
        exact_match: pct(exact, n),
        in_scope_accuracy: has_oos.then(|| pct(in_scope.iter().filter(|p| p.gold == p.pred).count(), in_scope.len())),
        oos_recall: has_oos.then(|| pct(oos.iter().filter(|p| p.pred == OUT_OF_SCOPE).count(), oos.len())),
        oos_as_restart_service: oos.iter().filter(|p| p.pred == "restart_service").count(),
        per_intent,
        confusions,
        train_seconds: 0.0,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.2}"));
        writeln!(f, "dataset            {} ({} test sentences)", self.dataset, self.sentences)?;
        writeln!(f, "layers             {} (neural ran on {:.1}%)", self.layers.join(" + "), self.neural_share)?;
        writeln!(f, "train time         {:.1} s", self.train_seconds)?;
        writeln!(f, "intent accuracy    {:.2}", self.intent_accuracy)?;
        writeln!(f, "intent macro F1    {:.2}", self.intent_macro_f1)?;
        writeln!(
            f,
            "slots P / R / F1   {} / {} / {}",
            opt(self.slot_precision),
            opt(self.slot_recall),
            opt(self.slot_f1)
        )?;
        writeln!(f, "exact match        {:.2}", self.exact_match)?;
        writeln!(f, "in-scope accuracy  {}", opt(self.in_scope_accuracy))?;
        writeln!(f, "oos recall         {}", opt(self.oos_recall))?;
        if self.oos_recall.is_some() {
            writeln!(f, "oos -> restart     {}", self.oos_as_restart_service)?;
        }
        writeln!(f, "\n{:<32} {:>7} {:>7} {:>7} {:>7}", "intent", "prec", "recall", "f1", "n")?;
        for r in &self.per_intent {
            writeln!(f, "{:<32} {:>7.2} {:>7.2} {:>7.2} {:>7}", r.intent, r.precision, r.recall, r.f1, r.support)?;
        }
        if !self.confusions.is_empty() {
            writeln!(f, "\nmost confused (gold -> predicted)")?;
            for (g, p, c) in &self.confusions {
                writeln!(f, "  {c:>4}  {g} -> {p}")?;
            }
        }
        Ok(())
    }
}
