//! Speed of the engine: `cargo bench -p pipilu-nlu --bench parse`.
//!
//! Lexical parse of a typical command, a parse through the neural layer, a
//! mixed stream of chat messages (neural only where the lexical layer is
//! unsure), and lexical training of the ChatOps model. The neural benches
//! run only when `scripts/fetch-model.sh` has placed the model files.

use criterion::{Criterion, criterion_group, criterion_main};
use nlu::yaml::DataSet;
use nlu::{Engine, TrainOptions};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const STREAM: &[&str] = &[
    "restart latte",
    "is latte ok?",
    "show payments errors from the last 15 min",
    "graf db loadbalancers:2 now-30m",
    "firewall status",
    "重启 latte",
    "hey guys what happened?",
    "看一下 payments 最近十分钟的错误日志",
    "thanks!",
    "who restarted auth yesterday",
    "silence alertname=HighCPU for 2h",
    "ack #3727",
    "any alerts firing in prod?",
    "can someone review my PR",
    "what can you do",
    "logs search level warn since 10:00",
];

fn data() -> DataSet {
    DataSet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/nlu/train")).expect("training data")
}

fn engine(data: &DataSet, neural: bool) -> Option<Engine> {
    let enc = if neural {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/all-MiniLM-L6-v2");
        Some(nlu::load_encoder(&dir).ok()??)
    } else {
        None
    };
    Engine::train(&data.examples, &[], nlu::gazetteer_from(data), enc, &TrainOptions::default(), &mut |_, _, _| {}).ok()
}

fn benches(c: &mut Criterion) {
    let data = data();
    let now = chrono::Utc::now();
    let lexical = engine(&data, false).expect("lexical engine");
    c.bench_function("lexical_parse_typical_command", |b| {
        b.iter(|| black_box(lexical.parse_at(black_box("restart latte in prod"), now)))
    });
    if let Some(neural) = engine(&data, true) {
        c.bench_function("neural_parse_typical_command", |b| {
            b.iter(|| black_box(neural.parse_with(black_box("restart latte in prod"), now, true)))
        });
        c.bench_function("mixed_stream_per_message", |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % STREAM.len();
                black_box(neural.parse_at(STREAM[i], now))
            })
        });
    } else {
        eprintln!("model files missing: neural benches skipped (run scripts/fetch-model.sh)");
    }
    let mut g = c.benchmark_group("training");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("train_chatops_lexical", |b| b.iter(|| black_box(engine(&data, false))));
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
