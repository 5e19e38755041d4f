//! Throughput of the core and start-up time.
//!
//! - `core/mixed_read_only`: messages per second through `Core::handle` with the
//!   lexical NLU and the demo estate, each reply rendered to console text. The
//!   stream mixes health, logs, firewall, help and declined chit-chat (no
//!   restarts, which change the estate, and no graphs, whose PNG rendering is
//!   measured separately).
//! - `core/mixed_read_only_without_logs`: the same without the log searches.
//! - `core/mixed_read_only_2_tasks`: the same stream split over two tasks on a
//!   two-thread runtime (the machine has two cores).
//! - `core/graph`: one graph request (PNG rendered, not saved).
//! - `core/logs_1h`: one log search over an hour (the demo estate simulates every
//!   line of the window, so this measures mostly the demo backend).
//! - `start/*`: time to a ready core, in-process and as `pipilu ask --ready-check`
//!   (a fresh process: cached model, or training when `PIPILU_BENCH_TRAIN` is set).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pipilu::app;
use pipilu::config::Config;
use pipilu::core::{Core, Inbound, Platform};
use pipilu::render::{ButtonHints, Console, ImageStore};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const MESSAGES: &[&str] = &[
    "check latte",
    "is payments-api ok?",
    "how is search doing",
    "log latte errors last 30m",
    "show auth warnings from the last 15 min",
    "check firewall status",
    "status of fw-edge-2",
    "help",
    "hey guys what happened?",
    "check latet",
    "logs checkout last 15m",
    "what's the weather like",
];

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join("pipilu-bench");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn config() -> Config {
    let mut c = Config::default();
    // No trained model here: the lexical engine, cached after the first training.
    c.nlu.models = scratch().join("no-models");
    c
}

fn core(rt: &tokio::runtime::Runtime) -> Arc<Core> {
    match rt.block_on(app::start(config())) {
        Ok(started) => started.core,
        Err(e) => panic!("start: {e:#}"),
    }
}

fn handle_all(rt: &tokio::runtime::Runtime, core: &Core, console: &Console, messages: &[&str]) -> usize {
    let mut bytes = 0;
    for m in messages {
        let reply = rt.block_on(core.handle(Inbound::text(Platform::Console, "bench", "bench", *m)));
        bytes += console.render_reply(&reply).0.len();
    }
    bytes
}

fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let core = core(&rt);
    let console = Console::new(false, ButtonHints::Numbered, ImageStore::new(Some(scratch())));
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(MESSAGES.len() as u64));
    g.bench_function("mixed_read_only", |b| b.iter(|| black_box(handle_all(&rt, &core, &console, MESSAGES))));

    // The same stream without log searches: the core's own cost (the demo logs
    // backend simulates every line of the window, which dominates the mix above).
    let no_logs: Vec<&str> =
        MESSAGES.iter().filter(|m| !m.contains("log") && !m.contains("warnings")).copied().collect();
    g.throughput(Throughput::Elements(no_logs.len() as u64));
    g.bench_function("mixed_read_only_without_logs", |b| {
        b.iter(|| black_box(handle_all(&rt, &core, &console, &no_logs)))
    });

    let batch: Vec<&str> = MESSAGES.iter().cycle().take(MESSAGES.len() * 20).copied().collect();
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("mixed_read_only_2_tasks", |b| {
        b.iter(|| {
            rt.block_on(async {
                let (left, right) = batch.split_at(batch.len() / 2);
                let run = |part: Vec<&'static str>| {
                    let core = Arc::clone(&core);
                    tokio::spawn(async move {
                        let console = Console::new(false, ButtonHints::Numbered, ImageStore::new(Some(scratch())));
                        let mut bytes = 0;
                        for m in part {
                            let reply = core.handle(Inbound::text(Platform::Console, "bench", "bench", m)).await;
                            bytes += console.render_reply(&reply).0.len();
                        }
                        bytes
                    })
                };
                let (a, b) = tokio::join!(run(left.to_vec()), run(right.to_vec()));
                black_box(a.unwrap_or(0) + b.unwrap_or(0))
            })
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("logs_1h", |b| b.iter(|| black_box(handle_all(&rt, &core, &console, &["logs checkout last 1h"]))));
    g.bench_function("graph", |b| {
        b.iter(|| {
            let reply = rt.block_on(core.handle(Inbound::text(
                Platform::Console,
                "bench",
                "bench",
                "graf db loadbalancers:2 now-30m",
            )));
            black_box(reply.cards.len())
        })
    });
    g.finish();
}

fn startup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // Warm the model cache once, so both measure the usual start.
    drop(core(&rt));
    let mut g = c.benchmark_group("start");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("in_process_cached_model", |b| b.iter(|| black_box(core(&rt))));
    let exe = env!("CARGO_BIN_EXE_pipilu");
    let dir = scratch();
    g.bench_function("process_ask_ready_check", |b| {
        b.iter_batched(
            || (),
            |()| {
                let out =
                    Command::new(exe).args(["ask", "--ready-check"]).current_dir(&dir).output().expect("run pipilu");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                black_box(out.stdout.len())
            },
            BatchSize::PerIteration,
        )
    });
    if std::env::var_os("PIPILU_BENCH_TRAIN").is_some() {
        std::fs::write(dir.join("no-cache.toml"), "[nlu]\ncache = false\n").expect("write config");
        g.bench_function("process_ask_ready_check_training", |b| {
            b.iter(|| {
                let out = Command::new(exe)
                    .args(["ask", "--ready-check", "--config", "no-cache.toml"])
                    .current_dir(&dir)
                    .output()
                    .expect("run pipilu");
                black_box(out.status.success())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, throughput, startup);
criterion_main!(benches);
