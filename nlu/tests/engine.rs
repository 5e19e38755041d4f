//! The engine trained on pipilu's ChatOps data: behaviour a user relies on, and bad input.

use chrono::{TimeZone, Utc};
use nlu::yaml::DataSet;
use nlu::{Engine, Resolved, TrainOptions, Verdict};
use std::path::Path;
use std::sync::OnceLock;

fn train() -> Engine {
    let data =
        DataSet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nlu/train")).expect("training data");
    Engine::train(&data.examples, &[], nlu::gazetteer_from(&data), None, &TrainOptions::default(), &mut |_, _, _| {})
        .expect("training")
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(train)
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).single().expect("valid time")
}

#[test]
fn classic_commands_parse() {
    let e = engine();
    let p = e.parse_at("restart latte", now());
    assert_eq!(p.intent, "restart_service");
    assert_eq!(p.verdict, Verdict::Confident);
    assert_eq!(p.slot("service").map(|s| s.value.as_str()), Some("latte"));

    let p = e.parse_at("graf db loadbalancers:2 now-30m", now());
    assert_eq!(p.intent, "grafana_snapshot");
    assert_eq!(p.slot("dashboard").map(|s| s.value.as_str()), Some("loadbalancers"));
    assert_eq!(p.slot("panel").map(|s| s.value.as_str()), Some("2"));
    match p.slot("time_range").and_then(|s| s.resolved.clone()) {
        Some(Resolved::TimeRange(r)) => assert_eq!((r.to - r.from).num_minutes(), 30),
        other => panic!("time range not resolved: {other:?}"),
    }

    let p = e.parse_at("重启 latte", now());
    assert_eq!(p.intent, "restart_service");

    let p = e.parse_at("看一下 payments 最近十分钟的错误日志", now());
    assert_eq!(p.intent, "query_logs");
    assert_eq!(p.slot("service").map(|s| s.value.as_str()), Some("payments-api"));
    assert_eq!(p.slot("level").map(|s| s.value.as_str()), Some("error"));
}

#[test]
fn an_alert_named_bare_becomes_an_alertname_matcher() {
    let e = engine();
    let p = e.parse_at("silence ElasticsearchClusterRed for 3h", now());
    assert_eq!(p.intent, "silence_alert");
    let m = p.slot("matcher").expect("a matcher");
    assert_eq!((m.raw.as_str(), m.value.as_str()), ("ElasticsearchClusterRed", "alertname=ElasticsearchClusterRed"));
    assert!(matches!(&m.resolved, Some(Resolved::Matcher(lm)) if lm.label == "alertname"), "{m:?}");
    let p = e.parse_at("silence alertname=Foo job!=bar for 1h", now());
    let matchers: Vec<&str> = p.slots.iter().filter(|s| s.name == "matcher").map(|s| s.value.as_str()).collect();
    assert_eq!(matchers, ["alertname=Foo", "job!=bar"]);
}

#[test]
fn chit_chat_is_out_of_scope() {
    let e = engine();
    for s in ["hey guys what happened?", "thanks!", "good morning", "deploy latte v2 to prod please"] {
        let p = e.parse_at(s, now());
        assert_ne!(p.intent, "restart_service", "{s}");
        assert_eq!(p.verdict, Verdict::OutOfScope, "{s}: {p:?}");
    }
}

#[test]
fn typos_are_understood_and_names_fuzzy_matched() {
    let e = engine();
    let p = e.parse_at("restrat latet", now());
    assert_eq!(p.intent, "restart_service");
    let s = p.slot("service").expect("service slot");
    assert_eq!(s.raw, "latet");
    match &s.resolved {
        Some(Resolved::Entity { canonical, score }) => {
            assert_eq!(canonical, "latte");
            assert!(*score < 1.0, "a fuzzy match must say so");
        }
        other => panic!("not resolved: {other:?}"),
    }
}

#[test]
fn live_inventory_replaces_the_gazetteer() {
    let mut e = engine().clone();
    e.gazetteer_mut().replace_kind("service", vec![("zebra-api".to_string(), vec![])]);
    let p = e.parse_at("restart zebra-api", now());
    let s = p.slot("service").expect("service slot");
    assert_eq!(s.resolved, Some(Resolved::Entity { canonical: "zebra-api".into(), score: 1.0 }));
}

#[test]
fn bad_input_gets_a_clear_result() {
    let e = engine();
    let huge = "restart latte ".repeat(8000);
    let rtl = "\u{202e}ettal tratser \u{05e9}\u{05dc}\u{05d5}\u{05dd}";
    for s in ["", "   ", "🔥🔥🔥", "\u{0}\u{1}\u{7}\u{1b}[31m", rtl, "[[[]]]((()))", "\\", huge.as_str()] {
        let p = e.parse_at(s, now());
        assert!(p.confidence.is_finite());
        assert!(p.text.len() <= nlu::engine::MAX_INPUT_BYTES);
        for slot in &p.slots {
            assert_eq!(&p.text[slot.span.0..slot.span.1], slot.raw);
        }
    }
    let p = e.parse_at("", now());
    assert_eq!(p.verdict, Verdict::OutOfScope);
    assert!(e.parse_at(&huge, now()).truncated);
}

#[test]
fn saved_model_round_trips() {
    let e = engine();
    let dir = std::env::temp_dir().join(format!("pipilu-nlu-test-{}", std::process::id()));
    let path = dir.join("m.bin");
    e.save(&path).expect("save");
    let loaded = Engine::load(&path, None).expect("load");
    assert_eq!(loaded.parse_at("restart latte", now()), e.parse_at("restart latte", now()));
    std::fs::write(&path, b"garbage").expect("write");
    assert!(Engine::load(&path, None).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn training_is_deterministic() {
    let a = train();
    let s = "why is checkout slow since 10:00";
    assert_eq!(a.parse_at(s, now()), engine().parse_at(s, now()));
}

#[test]
fn a_risky_intent_never_gets_a_laxer_threshold_than_the_rest() {
    let mut e = engine().clone();
    // As when the general threshold is tuned above the risky one.
    e.set_thresholds(nlu::Thresholds { min_confidence: 0.9, risky_min_confidence: 0.6, ..e.thresholds() });
    let labels = e.labels().to_vec();
    let with = |intent: &str, p: f32| -> Vec<f32> {
        let mut probs = vec![(1.0 - p) / (labels.len() - 1) as f32; labels.len()];
        probs[labels.iter().position(|l| l == intent).expect("intent")] = p;
        probs
    };
    assert_eq!(e.decide(&with("restart_service", 0.8)).2, Verdict::OutOfScope);
    assert_eq!(e.decide(&with("health_check", 0.8)).2, Verdict::OutOfScope);
    assert_eq!(e.decide(&with("restart_service", 0.95)).2, Verdict::Confident);
}

/// A stand-in for MiniLM: hashed bag of words, unit length. Enough to train a
/// neural head on, so the mix can be checked without the model files.
struct HashedWords;

impl nlu::SentenceEncoder for HashedWords {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        Ok(texts
            .iter()
            .map(|t| {
                const DIM: usize = 64;
                let mut v = vec![0.0f32; DIM];
                for w in t.split_whitespace() {
                    let h = w.bytes().fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
                    v[h as usize % DIM] += 1.0;
                }
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter().map(|x| x / n).collect()
            })
            .collect())
    }
}

#[test]
fn layer_scores_replay_the_mix_the_engine_decides_on() {
    let data =
        DataSet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nlu/train")).expect("training data");
    let e = Engine::train(
        &data.examples,
        &[],
        nlu::gazetteer_from(&data),
        Some(Box::new(HashedWords)),
        &TrainOptions::default(),
        &mut |_, _, _| {},
    )
    .expect("training");
    for text in ["restart latte", "is latte ok?", "hey guys what happened?", "graf db loadbalancers:2 now-30m"] {
        let tokens = e.correct(nlu::tokenize::tokenize(text));
        let s = e.layer_scores(text, &tokens);
        let neural = s.neural.as_ref().expect("the neural layer ran");
        assert_eq!(s.knn, None, "no validation split, so no nearest-neighbour vote");
        let mut replay: Vec<f32> = s
            .lexical
            .iter()
            .zip(neural)
            .map(|(a, b)| (1.0 - s.neural_weight) * a.max(1e-9).ln() + s.neural_weight * b.max(1e-9).ln())
            .collect();
        let top = replay.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        replay.iter_mut().for_each(|x| *x = (*x - top).exp());
        let z: f32 = replay.iter().sum();
        let (forced, layers) = e.classify(text, &tokens, true);
        assert_eq!(layers, ["lexical", "neural"]);
        for (r, f) in replay.iter().zip(&forced) {
            assert!((r / z - f).abs() < 1e-5, "{text}: replayed {replay:?} against {forced:?}");
        }
        let (unforced, _) = e.classify(text, &tokens, false);
        let lexical_top = s.lexical.iter().copied().fold(0.0, f32::max);
        if lexical_top >= s.lexical_sure {
            assert_eq!(unforced, s.lexical, "{text}: a sure lexical layer is used alone");
        } else {
            assert_eq!(unforced, forced, "{text}");
        }
    }
    let lexical_only = engine();
    let tokens = lexical_only.correct(nlu::tokenize::tokenize("restart latte"));
    let s = lexical_only.layer_scores("restart latte", &tokens);
    assert_eq!((s.neural, s.knn), (None, None));
    assert_eq!(s.lexical, lexical_only.classify("restart latte", &tokens, false).0);
}
