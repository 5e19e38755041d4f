//! The Telegram adapter end to end: a real core (lexical NLU trained from the
//! built-in data, demo estate) behind `pipilu::adapters::telegram::serve`, talking
//! teloxide to the loopback fake of the Bot API.

use async_trait::async_trait;
use pipilu::adapters::telegram;
use pipilu::config::{Config, NluConfig, TelegramConfig, ThresholdOverrides};
use pipilu::core::Core;
use pipilu_e2e::TempDir;
use pipilu_e2e::fakes::telegram::{BOT_USERNAME, Call, TelegramFake};
use pipilu_e2e::fakes::{Served, serve};
use skills::{Backends, Card, Request, Risk, Skill, SkillError, Status};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const ALICE: i64 = 111;
const MALLORY: i64 = 666;
const GROUP: i64 = -100_123;
const WAIT: Duration = Duration::from_secs(20);

fn engine() -> nlu::Engine {
    static ENGINE: OnceLock<nlu::Engine> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let cfg = NluConfig {
                models: std::env::temp_dir().join("pipilu-e2e-telegram-no-models"),
                neural: false,
                cache: true,
                inventory_refresh_secs: 0,
                thresholds: ThresholdOverrides::default(),
            };
            match pipilu::app::load_engine(&cfg) {
                Ok((e, _)) => e,
                Err(e) => panic!("engine: {e:#}"),
            }
        })
        .clone()
}

/// Stands in for the log search: a huge, hostile answer, and counts its runs.
struct HostileLogs(Arc<AtomicUsize>);

#[async_trait]
impl Skill for HostileLogs {
    fn intent(&self) -> &'static str {
        "query_logs"
    }
    fn required_slots(&self) -> &'static [&'static str] {
        &[]
    }
    fn risk(&self) -> Risk {
        Risk::Read
    }
    async fn run(&self, _req: &Request, _backends: &Backends) -> Result<Card, SkillError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let lines: Vec<String> =
            (0..600).map(|i| format!("2025-01-01T00:00:{i:02} ERROR <script>alert({i})</script> & co")).collect();
        Ok(Card::new("logs of <script>alert('x')</script> & friends", Status::Warning)
            .field("Query", "a<b && c>d")
            .code(lines.join("\n"))
            .footer("demo & co"))
    }
}

async fn core(log_runs: Arc<AtomicUsize>) -> Arc<Core> {
    let config = Config::default();
    let estate = Arc::new(skills::DemoEstate::new(config.demo.seed));
    let mut skills = skills::registry();
    skills.push(Box::new(HostileLogs(log_runs)));
    let core = Core::new(engine(), skills, estate.backends(), config.policy());
    core.refresh_inventory().await;
    Arc::new(core)
}

struct Bot {
    fake: TelegramFake,
    served: Served,
    log_runs: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A fresh folder for the adapter's offset file, removed when the test ends.
fn state_dir(name: &str) -> TempDir {
    pipilu_e2e::temp_dir(&format!("pipilu-e2e-telegram-{name}"))
}

fn offset_file(dir: &TempDir) -> PathBuf {
    dir.path().join("offset")
}

fn config(fake: &TelegramFake, served: &Served, state: &std::path::Path) -> TelegramConfig {
    let mut cfg = TelegramConfig::new(fake.token());
    cfg.api_url = Some(served.url());
    cfg.state_file = Some(state.to_path_buf());
    cfg.poll_timeout_secs = 2;
    cfg.users.insert(ALICE.to_string(), "alice".into());
    cfg
}

fn spawn(core: Arc<Core>, cfg: TelegramConfig) -> (watch::Sender<bool>, JoinHandle<anyhow::Result<()>>) {
    let (stop, rx) = watch::channel(false);
    (stop, tokio::spawn(telegram::serve(core, cfg, rx)))
}

async fn start(name: &str) -> (Bot, TempDir) {
    let state = state_dir(name);
    (start_with(TelegramFake::default(), offset_file(&state)).await, state)
}

async fn start_with(fake: TelegramFake, state: PathBuf) -> Bot {
    let served = serve(fake.router()).await;
    let log_runs = Arc::new(AtomicUsize::new(0));
    let (stop, task) = spawn(core(log_runs.clone()).await, config(&fake, &served, &state));
    Bot { fake, served, log_runs, stop, task }
}

impl Bot {
    /// Waits for the `n`-th `sendMessage` to `chat` and returns it.
    async fn nth_message(&self, chat: i64, n: usize) -> Call {
        let to_chat = |calls: &[Call]| -> Vec<Call> {
            calls.iter().filter(|c| c.method == "sendmessage" && c.chat_id() == Some(chat)).cloned().collect()
        };
        let calls = self.fake.wait_for(WAIT, |c| to_chat(c).len() >= n).await;
        match to_chat(&calls).into_iter().nth(n - 1) {
            Some(c) => c,
            None => panic!("no message #{n} to {chat}; calls: {calls:#?}"),
        }
    }

    async fn stop(self) -> (TelegramFake, Served) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(WAIT, self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("the adapter did not stop cleanly: {other:?}"),
        }
        (self.fake, self.served)
    }
}

fn no_errors(fake: &TelegramFake) {
    let failed: Vec<Call> = fake.calls().into_iter().filter(|c| c.error.is_some()).collect();
    assert!(failed.is_empty(), "Telegram refused calls: {failed:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_question_gets_an_html_health_card_with_buttons() {
    let (bot, _state) = start("health").await;
    bot.fake.private_message(ALICE, "Alice", "is latte ok?");
    let m = bot.nth_message(ALICE, 1).await;
    assert_eq!(m.str("parse_mode"), "HTML", "{m:?}");
    let text = m.text();
    assert!(text.contains("<b>") && text.contains("latte"), "{text}");
    assert!(text.contains("<pre>"), "the instances table: {text}");
    let buttons = m.buttons();
    assert!(buttons.iter().any(|(_, d)| d.starts_with("restart latte")), "{buttons:?}");
    assert!(buttons.iter().all(|(_, d)| !d.is_empty() && d.len() <= 64), "{buttons:?}");
    no_errors(&bot.fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_answer_only_when_mentioned_or_replied_to() {
    let (bot, _state) = start("group").await;
    bot.fake.group_message(GROUP, ALICE, "Alice", "is latte ok?", None);
    bot.fake.group_message(GROUP, ALICE, "Alice", &format!("@{BOT_USERNAME} is latte ok?"), None);
    let first = bot.nth_message(GROUP, 1).await;
    assert!(first.text().contains("latte"), "{first:?}");
    bot.fake.group_message(GROUP, ALICE, "Alice", "thanks", None);
    bot.fake.group_message(GROUP, ALICE, "Alice", "help", first.message_id);
    let second = bot.nth_message(GROUP, 2).await;
    let (fake, _served) = bot.stop().await;
    let to_group = fake.calls_of("sendmessage").into_iter().filter(|c| c.chat_id() == Some(GROUP)).count();
    assert_eq!(to_group, 2, "the messages without a mention were ignored");
    assert!(!second.text().contains('@'), "{second:?}");
    no_errors(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_a_button_runs_its_action_answers_the_click_and_posts_the_result() {
    let (bot, _state) = start("click").await;
    bot.fake.private_message(ALICE, "Alice", "is latte ok?");
    let card = bot.nth_message(ALICE, 1).await;
    let (_, data) = card.buttons().into_iter().find(|(_, d)| d.starts_with("restart ")).expect("a restart button");
    let card_id = card.message_id.expect("message id");
    bot.fake.click(ALICE, ALICE, "Alice", card_id, &data);
    let calls = bot
        .fake
        .wait_for(WAIT, |c| {
            c.iter().any(|c| c.method == "answercallbackquery")
                && c.iter().filter(|c| c.method == "sendmessage" && c.text().contains("restarted")).count() > 0
        })
        .await;
    assert_eq!(calls.iter().filter(|c| c.method == "answercallbackquery").count(), 1, "{calls:#?}");
    let answered = calls.iter().position(|c| c.method == "answercallbackquery");
    let result = calls.iter().position(|c| c.method == "sendmessage" && c.text().contains("restarted"));
    assert!(answered < result && result.is_some(), "the click is answered first, then the result: {calls:#?}");
    // A forged click is answered too, with an alert, and runs nothing.
    bot.fake.click(ALICE, ALICE, "Alice", card_id, "#nope");
    let calls = bot.fake.wait_for(WAIT, |c| c.iter().filter(|c| c.method == "answercallbackquery").count() == 2).await;
    let alert = calls.iter().rfind(|c| c.method == "answercallbackquery").expect("answered");
    assert!(alert.str("text").contains("expired"), "{alert:?}");
    no_errors(&bot.fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_is_sent_as_a_png_photo() {
    let (bot, _state) = start("graph").await;
    bot.fake.private_message(ALICE, "Alice", "graf db loadbalancers:2 now-30m");
    let calls = bot.fake.wait_for(WAIT, |c| c.iter().any(|c| c.method == "sendphoto")).await;
    let photo = calls.iter().find(|c| c.method == "sendphoto").unwrap_or_else(|| panic!("no photo: {calls:#?}"));
    let file = photo.file("photo").expect("the PNG upload");
    assert!(file.bytes.starts_with(b"\x89PNG\r\n\x1a\n") && file.bytes.len() > 1000, "{} bytes", file.bytes.len());
    assert!(!photo.text().is_empty(), "the alt text is the caption");
    assert!(photo.error.is_none(), "{photo:?}");
    no_errors(&bot.fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_edits_one_progress_message_in_place() {
    let (bot, _state) = start("progress").await;
    bot.fake.private_message(ALICE, "Alice", "restart latte");
    let calls = bot
        .fake
        .wait_for(WAIT, |c| c.iter().any(|c| c.method == "sendmessage" && c.text().contains("was restarted")))
        .await;
    let progress = calls
        .iter()
        .find(|c| c.method == "sendmessage" && c.text().contains("restarting latte"))
        .unwrap_or_else(|| panic!("no progress message: {calls:#?}"));
    let edits: Vec<&Call> = calls.iter().filter(|c| c.method == "editmessagetext").collect();
    assert!(!edits.is_empty(), "{calls:#?}");
    let id = progress.message_id.expect("id");
    assert!(edits.iter().all(|e| e.params.get("message_id").and_then(|v| v.as_i64()) == Some(id)), "{edits:#?}");
    assert!(edits.iter().any(|e| e.text().contains("restarted")), "the last step says done: {edits:#?}");
    assert!(edits.iter().all(|e| e.error.is_none()), "{edits:#?}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_hostile_output_is_escaped_cut_under_the_limit_and_sent_whole_as_a_file() {
    let (bot, _state) = start("long").await;
    bot.fake.private_message(ALICE, "Alice", "show logs for latte");
    let m = bot.nth_message(ALICE, 1).await;
    assert_eq!(bot.log_runs.load(Ordering::SeqCst), 1, "the log skill ran: {m:?}");
    let text = m.text();
    assert!(m.error.is_none(), "Telegram refused it: {m:?}");
    assert!(text.encode_utf16().count() <= 4096, "{}", text.len());
    assert!(text.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; friends"), "{text}");
    assert!(!text.contains("<script>"), "{text}");
    assert!(text.contains("<b>Query:</b> a&lt;b &amp;&amp; c&gt;d"), "{text}");
    assert!(text.contains("… (cut: ") && text.contains(" more lines"), "{text}");
    assert!(text.ends_with("<i>demo &amp; co</i>"), "{text}");
    let calls = bot.fake.wait_for(WAIT, |c| c.iter().any(|c| c.method == "senddocument")).await;
    let doc = calls.iter().find(|c| c.method == "senddocument").expect("the whole card as a file");
    let file = doc.file("document").expect("the upload");
    let body = String::from_utf8_lossy(&file.bytes);
    assert!(body.contains("alert(599)"), "the document has every line");
    no_errors(&bot.fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_are_refused_and_nothing_runs() {
    let (bot, _state) = start("stranger").await;
    bot.fake.private_message(MALLORY, "Mallory", "show logs for latte");
    let m = bot.nth_message(MALLORY, 1).await;
    assert!(m.text().contains("don't know you") && m.text().contains("666"), "{m:?}");
    // A click by a stranger in a known chat is refused too, and still answered.
    bot.fake.group_message(GROUP, ALICE, "Alice", &format!("@{BOT_USERNAME} show logs for latte"), None);
    let card = bot.nth_message(GROUP, 1).await;
    assert_eq!(bot.log_runs.load(Ordering::SeqCst), 1);
    bot.fake.click(GROUP, MALLORY, "Mallory", card.message_id.unwrap_or(0), "say show logs for latte");
    let calls = bot.fake.wait_for(WAIT, |c| c.iter().any(|c| c.method == "answercallbackquery")).await;
    let answer = calls.iter().find(|c| c.method == "answercallbackquery").expect("answered");
    assert!(answer.str("text").contains("don't know you"), "{answer:?}");
    bot.fake.private_message(ALICE, "Alice", "help");
    bot.nth_message(ALICE, 1).await;
    assert_eq!(bot.log_runs.load(Ordering::SeqCst), 1, "nothing ran for the stranger");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_updates_do_not_stop_the_bot() {
    let (bot, _state) = start("odd").await;
    bot.fake.push_update(serde_json::json!({"edited_message": {"message_id": 9, "date": 1, "chat": {"id": ALICE, "type": "private", "first_name": "A"}, "text": "x"}}));
    bot.fake.push_update(serde_json::json!({"something_new": {"x": 1}}));
    bot.fake.push_update(serde_json::json!({"message": {"message_id": 10, "date": 1, "chat": {"id": ALICE, "type": "private", "first_name": "A"}, "from": {"id": ALICE, "is_bot": false, "first_name": "A"}, "sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 1, "height": 1, "is_animated": false, "is_video": false}}}));
    bot.fake.private_message(ALICE, "Alice", &"latte ".repeat(5000));
    let only_text = bot.nth_message(ALICE, 1).await;
    assert!(only_text.text().contains("only understand text"), "{only_text:?}");
    bot.nth_message(ALICE, 2).await;
    no_errors(&bot.fake);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_adapter_neither_repeats_nor_loses_updates() {
    // First run: one question answered; the offset file records it.
    let dir = state_dir("restart");
    let state = offset_file(&dir);
    let bot = start_with(TelegramFake::default(), state.clone()).await;
    let first = bot.fake.private_message(ALICE, "Alice", "help");
    bot.nth_message(ALICE, 1).await;
    bot.stop().await;
    let saved = std::fs::read_to_string(&state).expect("the offset file");
    assert_eq!(saved.trim(), first.to_string());
    // Telegram never got the confirmation (a crash before the next poll): a fresh fake
    // queues the same update again, and a new one that came while the bot was down.
    let fake = TelegramFake::default();
    let again = fake.private_message(ALICE, "Alice", "help");
    assert_eq!(again, first);
    fake.private_message(ALICE, "Alice", "is latte ok?");
    let bot = start_with(fake, state.clone()).await;
    let m = bot.nth_message(ALICE, 1).await;
    assert!(m.text().contains("latte"), "the new update is answered: {m:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (fake, _served) = bot.stop().await;
    assert_eq!(fake.calls_of("sendmessage").len(), 1, "the handled update was not repeated");
    assert_eq!(fake.queued(), 0, "both updates confirmed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_stops_the_adapter_with_an_error() {
    let fake = TelegramFake::default();
    let served = serve(fake.router()).await;
    let dir = state_dir("token");
    let mut cfg = config(&fake, &served, &offset_file(&dir));
    cfg.token = pipilu::config::BotToken("999:wrong".into());
    let (_stop, task) = spawn(core(Arc::new(AtomicUsize::new(0))).await, cfg);
    let result = tokio::time::timeout(WAIT, task).await.expect("stops").expect("joins");
    let err = result.expect_err("refused");
    assert!(format!("{err:#}").contains("getMe"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_takes_only_updates_with_the_secret_and_each_once() {
    let fake = TelegramFake::default();
    let served = serve(fake.router()).await;
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let dir = state_dir("webhook");
    let mut cfg = config(&fake, &served, &offset_file(&dir));
    cfg.mode = pipilu::config::TelegramMode::Webhook;
    cfg.webhook_url = Some("https://bot.example.com/tg/hook".into());
    cfg.secret_token = Some(pipilu::config::BotToken("s3cret_T0ken".into()));
    cfg.listen = listen;
    let (stop, task) = spawn(core(Arc::new(AtomicUsize::new(0))).await, cfg);
    let calls = fake.wait_for(WAIT, |c| c.iter().any(|c| c.method == "setwebhook")).await;
    let set = calls.iter().find(|c| c.method == "setwebhook").expect("setWebhook");
    assert_eq!(set.str("url"), "https://bot.example.com/tg/hook");
    assert_eq!(set.str("secret_token"), "s3cret_T0ken");

    let update = serde_json::json!({
        "update_id": 7001,
        "message": {
            "message_id": 1, "date": 1_764_000_000,
            "chat": {"id": ALICE, "type": "private", "first_name": "alice"},
            "from": {"id": ALICE, "is_bot": false, "first_name": "alice"},
            "text": "is latte ok?"
        }
    });
    let http = reqwest::Client::new();
    let url = format!("http://{listen}/tg/hook");
    let post = |secret: Option<&'static str>| {
        let mut req = http.post(&url).json(&update);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        req.send()
    };
    // The server may take a moment to bind after setWebhook.
    let mut answer = None;
    for _ in 0..50 {
        if let Ok(r) = post(None).await {
            answer = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, Some(reqwest::StatusCode::UNAUTHORIZED), "no secret: refused");
    let wrong = post(Some("guess")).await.expect("post").status();
    assert_eq!(wrong, reqwest::StatusCode::UNAUTHORIZED);
    assert!(fake.calls_of("sendmessage").is_empty(), "nothing ran without the secret");

    assert_eq!(post(Some("s3cret_T0ken")).await.expect("post").status(), reqwest::StatusCode::OK);
    let sent = fake.wait_for(WAIT, |c| c.iter().any(|c| c.method == "sendmessage")).await;
    let card = sent.iter().find(|c| c.method == "sendmessage").expect("card");
    assert!(card.text().contains("latte"), "{}", card.text());
    // Redelivered (Telegram retries slow answers): acknowledged, not run again.
    assert_eq!(post(Some("s3cret_T0ken")).await.expect("post").status(), reqwest::StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.calls_of("sendmessage").len(), 1);

    let _ = stop.send(true);
    let done = tokio::time::timeout(WAIT, task).await.expect("stops on shutdown").expect("task");
    assert!(done.is_ok(), "{done:?}");
}
