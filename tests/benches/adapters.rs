//! Latency a chat adapter adds to one message, end to end on loopback.
//!
//! One core (lexical NLU, demo estate, built-in skills) serves both adapters; the
//! question is "is latte ok?" from a known user.
//!
//! - `adapters/core_handle`: `Core::handle` alone, the part of a reply that is not
//!   the adapter's.
//! - `adapters/slack_events_api`: a signed `app_mention` POSTed to the Slack
//!   adapter's Events API endpoint (one kept-alive HTTP client, as Slack reuses
//!   connections) until the Slack fake has received the `chat.postMessage` card.
//! - `adapters/telegram_long_poll`: a private message queued in the Telegram fake
//!   while the adapter long-polls `getUpdates`, until the fake has received the
//!   `sendMessage` card.
//!
//! Waiting is on a `Notify` the fakes wake when they record a call, not polling.
//! After criterion, a plain loop of `SAMPLES` messages per case prints median, p99
//! and max, and the adapter's added latency (end to end minus the core's median).

use criterion::{Criterion, criterion_group, criterion_main};
use pipilu::adapters::{slack, telegram};
use pipilu::config::{Config, NluConfig, SlackConfig, SlackMode, TelegramConfig, ThresholdOverrides};
use pipilu::core::{Core, Inbound, Platform};
use pipilu_e2e::fakes::slack::{BOT_TOKEN, SlackFake, app_mention, event_callback, signature};
use pipilu_e2e::fakes::telegram::TelegramFake;
use pipilu_e2e::fakes::{Served, serve};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::{Notify, watch};

const TEXT: &str = "is latte ok?";
const SECRET: &str = "bench-signing-secret";
const SLACK_USER: &str = "U1";
const SLACK_CHANNEL: &str = "C1";
const TELEGRAM_USER: i64 = 111;
/// Messages per case in the percentile loop.
const SAMPLES: usize = 1000;
/// A reply slower than this is a failure, not a sample.
const TIMEOUT: Duration = Duration::from_secs(10);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

async fn core() -> Arc<Core> {
    let cfg = NluConfig {
        models: std::env::temp_dir().join("pipilu-bench-adapters-no-models"),
        neural: false,
        cache: true,
        inventory_refresh_secs: 0,
        thresholds: ThresholdOverrides::default(),
    };
    let engine = match pipilu::app::load_engine(&cfg) {
        Ok((e, _)) => e,
        Err(e) => panic!("engine: {e:#}"),
    };
    let config = Config::default();
    let estate = Arc::new(skills::DemoEstate::new(config.demo.seed));
    let core = Core::new(engine, skills::registry(), estate.backends(), config.policy());
    core.refresh_inventory().await;
    Arc::new(core)
}

/// Waits until `done` holds, woken by `notify` (registered before each check, so no wake-up is lost).
async fn until(notify: &Notify, mut done: impl FnMut() -> bool) {
    let wait = async {
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done() {
                return;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(TIMEOUT, wait).await.is_err() {
        panic!("no reply within {TIMEOUT:?}");
    }
}

struct SlackBench {
    fake: SlackFake,
    recorded: Arc<Notify>,
    client: reqwest::Client,
    url: String,
    next: u64,
    _running: slack::Running,
    _stop: watch::Sender<bool>,
}

impl SlackBench {
    async fn start(core: Arc<Core>) -> Self {
        let fake = SlackFake::start().await;
        let mut cfg = SlackConfig::new("UNUSED");
        cfg.mode = SlackMode::Events;
        cfg.listen = "127.0.0.1:0".parse().expect("addr");
        cfg.api_url = Some(fake.api_url());
        cfg.users.insert(SLACK_USER.into(), "alice".into());
        let secrets =
            slack::Secrets { bot_token: BOT_TOKEN.into(), app_token: None, signing_secret: Some(SECRET.into()) };
        let (stop, rx) = watch::channel(false);
        let running = slack::start(core, &cfg, secrets, rx).await.expect("slack adapter starts");
        let url = format!("http://{}/slack/events", running.addr.expect("events mode has an address"));
        let recorded = fake.recorded();
        SlackBench { fake, recorded, client: reqwest::Client::new(), url, next: 0, _running: running, _stop: stop }
    }

    /// One mention in, its card out; the time between.
    async fn once(&mut self) -> Duration {
        self.next += 1;
        let n = self.next;
        self.fake.state().messages.clear();
        let ts = format!("{}.{:06}", 1_700_000_000 + n / 1_000_000, n % 1_000_000);
        let event = event_callback(&format!("EvBench{n}"), app_mention(SLACK_USER, SLACK_CHANNEL, &ts, None, TEXT));
        let body = event.to_string();
        let stamp = chrono::Utc::now().timestamp();
        let request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-slack-request-timestamp", stamp.to_string())
            .header("x-slack-signature", signature(SECRET, stamp, body.as_bytes()))
            .body(body);
        let fake = &self.fake;
        let start = Instant::now();
        let post = async {
            let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            assert_eq!(status, 200, "Events API answer");
        };
        let reply = async {
            until(&self.recorded, || fake.state().messages.iter().any(|m| m.method == "chat.postMessage")).await;
            Instant::now()
        };
        let ((), end) = tokio::join!(post, reply);
        end - start
    }

    /// The card posted for the last message (header text).
    fn last_card(&self) -> String {
        let s = self.fake.state();
        let m = s.messages.iter().find(|m| m.method == "chat.postMessage").expect("a card");
        assert_eq!(m.thread_ts.as_deref(), Some(format!("1700000000.{:06}", self.next).as_str()), "in the thread");
        m.blocks[0]["text"]["text"].as_str().unwrap_or("").to_string()
    }
}

struct TelegramBench {
    fake: TelegramFake,
    recorded: Arc<Notify>,
    seen: usize,
    _served: Served,
    _stop: watch::Sender<bool>,
    _state: std::path::PathBuf,
}

impl TelegramBench {
    async fn start(core: Arc<Core>) -> Self {
        let fake = TelegramFake::default();
        let served = serve(fake.router()).await;
        let dir = std::env::temp_dir().join(format!("pipilu-bench-adapters-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut cfg = TelegramConfig::new(fake.token());
        cfg.api_url = Some(served.url());
        cfg.state_file = Some(dir.join("offset"));
        cfg.users.insert(TELEGRAM_USER.to_string(), "alice".into());
        let (stop, rx) = watch::channel(false);
        tokio::spawn(telegram::serve(core, cfg, rx));
        let recorded = fake.recorded();
        TelegramBench { fake, recorded, seen: 0, _served: served, _stop: stop, _state: dir }
    }

    /// One private message in, its card out; the time between.
    async fn once(&mut self) -> Duration {
        let mut sent = None;
        let start = Instant::now();
        self.fake.private_message(TELEGRAM_USER, "alice", TEXT);
        until(&self.recorded, || {
            let new = self.fake.calls_since(self.seen);
            self.seen += new.len();
            sent = new.into_iter().find(|c| c.method == "sendmessage");
            sent.is_some()
        })
        .await;
        let elapsed = start.elapsed();
        let card = sent.expect("a card");
        assert_eq!((card.chat_id(), card.error.as_deref()), (Some(TELEGRAM_USER), None), "{card:?}");
        elapsed
    }

    /// The card sent for the next message (its text).
    async fn card(&mut self) -> String {
        self.once().await;
        let calls = self.fake.calls_of("sendmessage");
        calls.last().map(|c| c.text().to_string()).unwrap_or_default()
    }
}

async fn core_once(core: &Core) -> Duration {
    let start = Instant::now();
    let reply = core.handle(Inbound::text(Platform::Telegram, &TELEGRAM_USER.to_string(), "alice", TEXT)).await;
    let elapsed = start.elapsed();
    black_box(reply);
    elapsed
}

struct Bench {
    rt: Runtime,
    core: Arc<Core>,
    slack: SlackBench,
    telegram: TelegramBench,
}

fn setup() -> Bench {
    let rt = runtime();
    let (core, slack, mut telegram) = rt.block_on(async {
        let core = core().await;
        let slack = SlackBench::start(core.clone()).await;
        let telegram = TelegramBench::start(core.clone()).await;
        (core, slack, telegram)
    });
    // The replies are the health card of latte, on both platforms.
    let mut slack = slack;
    let (s, t) = rt.block_on(async {
        slack.once().await;
        (slack.last_card(), telegram.card().await)
    });
    assert!(s.contains("latte"), "slack card: {s}");
    assert!(t.contains("latte"), "telegram card: {t}");
    Bench { rt, core, slack, telegram }
}

fn latency(c: &mut Criterion) {
    let mut b = setup();
    let mut g = c.benchmark_group("adapters");
    g.bench_function("core_handle", |bench| {
        bench.iter_custom(|iters| {
            b.rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += core_once(&b.core).await;
                }
                total
            })
        })
    });
    g.bench_function("slack_events_api", |bench| {
        bench.iter_custom(|iters| {
            b.rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += b.slack.once().await;
                }
                total
            })
        })
    });
    g.bench_function("telegram_long_poll", |bench| {
        bench.iter_custom(|iters| {
            b.rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += b.telegram.once().await;
                }
                total
            })
        })
    });
    g.finish();
    percentiles(&mut b);
}

/// Sorted durations' value at quantile `q`.
fn at(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn percentiles(b: &mut Bench) {
    let mut core = Vec::with_capacity(SAMPLES);
    let mut slack = Vec::with_capacity(SAMPLES);
    let mut telegram = Vec::with_capacity(SAMPLES);
    b.rt.block_on(async {
        for _ in 0..SAMPLES {
            core.push(core_once(&b.core).await);
        }
        for _ in 0..SAMPLES {
            slack.push(b.slack.once().await);
        }
        for _ in 0..SAMPLES {
            telegram.push(b.telegram.once().await);
        }
    });
    for v in [&mut core, &mut slack, &mut telegram] {
        v.sort();
    }
    let core_median = at(&core, 0.5);
    println!("\nadapters: {SAMPLES} messages each, \"{TEXT}\", one at a time");
    println!("{:<20} {:>12} {:>12} {:>12}", "case", "median", "p99", "max");
    for (name, v) in [("core_handle", &core), ("slack_events_api", &slack), ("telegram_long_poll", &telegram)] {
        println!("{name:<20} {:>12} {:>12} {:>12}", ms(at(v, 0.5)), ms(at(v, 0.99)), ms(at(v, 1.0)));
    }
    println!("added by the adapter (end to end minus the core's median {}):", ms(core_median));
    for (name, v) in [("slack_events_api", &slack), ("telegram_long_poll", &telegram)] {
        let added = |q| at(v, q).saturating_sub(core_median);
        let p99 = added(0.99);
        let verdict = if p99 <= Duration::from_millis(10) { "met" } else { "NOT met" };
        println!("{name:<20} median {:>10}  p99 {:>10}  (target p99 <= 10 ms: {verdict})", ms(added(0.5)), ms(p99));
    }
}

criterion_group!(benches, latency);
criterion_main!(benches);
