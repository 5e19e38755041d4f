//! Fuzzes the whole lexical pipeline: `Engine::parse_at` on arbitrary chat text.
//!
//! The engine is trained once on the ChatOps fixtures; every input must parse
//! without panicking and give a `Parse` whose slots and cues point into its text.
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use nlu::engine::MAX_INPUT_BYTES;
use nlu::{Engine, TrainOptions};
use std::path::Path;
use std::sync::OnceLock;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/nlu/train");
        let data = nlu::yaml::DataSet::load_dir(&dir).expect("training data");
        Engine::train(
            &data.examples,
            &[],
            nlu::gazetteer_from(&data),
            None,
            &TrainOptions::default(),
            &mut |_, _, _| {},
        )
        .expect("training")
    })
}

/// Thursday 2026-11-26, noon UTC (as in the engine tests).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).single().expect("valid time")
}

fn check_prob(what: &str, p: f32, text: &str) {
    assert!(p.is_finite() && (0.0..=1.0).contains(&p), "{what} {p} out of [0,1] for {text:?}");
}

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    let p = engine().parse_at(&input, now());
    let text = p.text.as_str();
    assert!(text.len() <= MAX_INPUT_BYTES, "parsed text is {} bytes", text.len());
    assert!(input.starts_with(text), "parsed text is not a prefix of the input");
    assert_eq!(p.truncated, input.len() > MAX_INPUT_BYTES, "truncated flag for {} bytes", input.len());
    check_prob("confidence", p.confidence, text);
    for a in &p.alternatives {
        check_prob("alternative confidence", a.confidence, text);
    }
    let spans = p.slots.iter().map(|s| (s.name.as_str(), s.span, s.raw.as_str()));
    let cues = p.cues.iter().map(|c| ("cue", c.span, c.raw.as_str()));
    for (what, (a, b), raw) in spans.chain(cues) {
        assert!(a <= b && b <= text.len(), "{what} span {a}..{b} outside {} bytes of {text:?}", text.len());
        assert!(
            text.is_char_boundary(a) && text.is_char_boundary(b),
            "{what} span {a}..{b} not on char boundaries of {text:?}"
        );
        assert_eq!(&text[a..b], raw, "{what} span {a}..{b} vs raw in {text:?}");
    }
});
