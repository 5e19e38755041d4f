//! The Slack adapter end to end, in-process: a real core on the demo estate, the
//! adapter built on slack-morphism, and the loopback fake of Slack (Web API,
//! upload URL, Socket Mode WebSocket). Events are signed and POSTed like Slack does.

use pipilu::adapters::slack::{self, REFUSAL, Running, Secrets};
use pipilu::config::{Config, SlackConfig, SlackMode};
use pipilu::core::Core;
use pipilu_e2e::fakes::slack::{
    APP_TOKEN, BOT_TOKEN, Posted, Signing, SlackFake, app_mention, block_actions, direct_message, event_callback,
    events_envelope, interactive_envelope, post_command, post_event, post_interaction,
};
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

const SECRET: &str = "fake-signing-secret";
const WAIT: Duration = Duration::from_secs(15);

/// One core for the whole file (training the lexical engine takes a few seconds).
fn core() -> Arc<Core> {
    static CORE: OnceLock<Arc<Core>> = OnceLock::new();
    CORE.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            let mut c = Config::default();
            c.nlu.models = std::env::temp_dir().join("pipilu-e2e-slack-no-models");
            rt.block_on(pipilu::app::start(c)).expect("core").core
        })
        .join()
        .expect("core thread")
    })
    .clone()
}

struct Adapter {
    running: Running,
    _stop: watch::Sender<bool>,
}

impl Adapter {
    fn events_url(&self) -> String {
        format!("http://{}/slack/events", self.running.addr.expect("events mode has an address"))
    }
}

fn config(fake: &SlackFake, mode: SlackMode) -> SlackConfig {
    let mut cfg = SlackConfig::new("UNUSED");
    cfg.mode = mode;
    cfg.listen = "127.0.0.1:0".parse().expect("addr");
    cfg.api_url = Some(fake.api_url());
    cfg.users.insert("U1".into(), "alice".into());
    cfg.user_groups.insert("S1".into(), "oncall".into());
    cfg
}

async fn start(fake: &SlackFake, mode: SlackMode) -> Adapter {
    fake.state().groups.insert("S1".into(), vec!["U7".into()]);
    let (tx, rx) = watch::channel(false);
    let secrets =
        Secrets { bot_token: BOT_TOKEN.into(), app_token: Some(APP_TOKEN.into()), signing_secret: Some(SECRET.into()) };
    let running = slack::start(core(), &config(fake, mode), secrets, rx).await.expect("adapter starts");
    Adapter { running, _stop: tx }
}

async fn posted(fake: &SlackFake, n: usize) -> Vec<Posted> {
    let ok = fake.wait_for(WAIT, |s| s.messages.iter().filter(|m| m.method == "chat.postMessage").count() >= n).await;
    let got = fake.messages("chat.postMessage");
    assert!(ok, "expected {n} messages, got {got:#?}");
    got
}

fn kinds(blocks: &Value) -> Vec<String> {
    blocks.as_array().into_iter().flatten().map(|b| b["type"].as_str().unwrap_or("").to_string()).collect()
}

fn header(m: &Posted) -> String {
    m.blocks[0]["text"]["text"].as_str().unwrap_or("").to_string()
}

fn buttons(m: &Posted) -> Vec<Value> {
    m.blocks
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_is_answered_with_block_kit_in_its_thread() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev1", app_mention("U1", "C1", "100.000001", None, "check latte"));
    let (status, _) = post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    assert_eq!(status, 200);
    let m = posted(&fake, 1).await.remove(0);
    assert_eq!((m.channel.as_str(), m.thread_ts.as_deref()), ("C1", Some("100.000001")));
    assert!(header(&m).contains("latte"), "{}", m.blocks);
    let k = kinds(&m.blocks);
    assert_eq!(k.first().map(String::as_str), Some("header"), "{k:?}");
    assert!(k.contains(&"section".to_string()) && k.contains(&"actions".to_string()), "{k:?}");
    let b = buttons(&m);
    assert!(
        b.iter().any(|b| b["action_id"] == "restart" && b["value"].as_str().is_some_and(|v| v.starts_with("latte"))),
        "{b:?}"
    );
    assert!(m.text.contains("latte"), "fallback text: {}", m.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_verification_answers_the_challenge() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let body = serde_json::json!({"type": "url_verification", "challenge": "abc123", "token": "t"});
    let (status, text) = post_event(&a.events_url(), &body, &Signing::now(SECRET)).await;
    assert_eq!((status, text.contains("abc123")), (200, true), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_is_answered_and_group_members_are_let_in() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev2", direct_message("U7", "D1", "200.000001", "check latte"));
    assert_eq!(post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await.0, 200);
    let m = posted(&fake, 1).await.remove(0);
    assert_eq!((m.channel.as_str(), m.thread_ts.as_deref()), ("D1", Some("200.000001")));
    assert!(fake.state().calls.iter().any(|c| c == "usergroups.users.list"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_click_runs_its_action_in_the_same_thread() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev3", app_mention("U1", "C1", "300.000001", None, "check latte"));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    let card = posted(&fake, 1).await.remove(0);
    let logs = buttons(&card).into_iter().find(|b| b["action_id"] == "logs").expect("a logs button");
    let click = block_actions("U1", "C1", &card.ts, Some("300.000001"), "logs", logs["value"].as_str().unwrap_or(""));
    let (status, _) = post_interaction(&a.events_url(), &click, &Signing::now(SECRET)).await;
    assert_eq!(status, 200);
    let m = posted(&fake, 2).await.remove(1);
    assert_eq!(m.thread_ts.as_deref(), Some("300.000001"));
    assert!(header(&m).to_lowercase().contains("log"), "{}", m.blocks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_is_uploaded_in_three_steps_into_the_thread() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev4", app_mention("U1", "C1", "400.000001", None, "graf db loadbalancers:2 now-30m"));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    let m = posted(&fake, 1).await.remove(0);
    let calls = fake.state().calls.clone();
    let pos = |name: &str| calls.iter().position(|c| c == name).unwrap_or(usize::MAX);
    assert!(pos("files.getUploadURLExternal") < pos("files.completeUploadExternal"), "{calls:?}");
    assert!(pos("files.completeUploadExternal") < pos("chat.postMessage"), "{calls:?}");
    let uploads = fake.state().uploads.clone();
    assert_eq!(uploads.len(), 1);
    let up = uploads.values().next().cloned().unwrap_or_default();
    assert!(up.bytes.as_ref().is_some_and(|b| b.starts_with(b"\x89PNG")), "no PNG uploaded");
    assert_eq!(up.shared_to, Some(("C1".to_string(), Some("400.000001".to_string()))));
    assert!(m.blocks.to_string().contains("image in the thread"), "{}", m.blocks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_and_stale_timestamps_are_refused() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev5", app_mention("U1", "C1", "500.000001", None, "check latte"));
    let (status, _) = post_event(&a.events_url(), &ev, &Signing::now("wrong-secret")).await;
    assert_eq!(status, 401);
    let mut stale = Signing::now(SECRET);
    stale.timestamp -= 6 * 60;
    let (status, _) = post_event(&a.events_url(), &ev, &stale).await;
    assert_eq!(status, 401);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = fake.state().calls.clone();
    assert_eq!(calls, ["auth.test"], "nothing may run");
    // The same event, signed right, still runs: the refusals did not mark it seen.
    assert_eq!(post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await.0, 200);
    posted(&fake, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_event_is_handled_once() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev6", app_mention("U1", "C1", "600.000001", None, "check latte"));
    assert_eq!(post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await.0, 200);
    let mut retry = Signing::now(SECRET);
    retry.retry = Some(1);
    assert_eq!(post_event(&a.events_url(), &ev, &retry).await.0, 200);
    posted(&fake, 1).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.messages("chat.postMessage").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_is_refused_and_nothing_runs() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev7", app_mention("U999", "C1", "700.000001", None, "restart latte"));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    assert!(fake.wait_for(WAIT, |s| s.messages.iter().any(|m| m.method == "chat.postEphemeral")).await);
    let e = fake.messages("chat.postEphemeral").remove(0);
    assert_eq!(
        (e.user.as_deref(), e.text.as_str(), e.thread_ts.as_deref()),
        (Some("U999"), REFUSAL, Some("700.000001"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(fake.messages("chat.postMessage").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_retry_after_not_dropped() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    fake.state().rate_limit_once = Some(("chat.postMessage".into(), 1));
    let ev = event_callback("Ev8", app_mention("U1", "C1", "800.000001", None, "check latte"));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    posted(&fake, 1).await;
    let s = fake.state();
    let limited = s.rate_limited.first().map(|(_, t)| *t).expect("a 429 was sent");
    let after = s.answered.iter().find(|(m, _)| m == "chat.postMessage").map(|(_, t)| *t).expect("answered");
    assert!(after.duration_since(limited) >= Duration::from_millis(950), "{:?}", after.duration_since(limited));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_shows_progress_then_the_card() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let ev = event_callback("Ev9", app_mention("U1", "C1", "900.000001", None, "restart latte"));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    let m = posted(&fake, 2).await;
    assert!(m[0].text.contains("latte restarted"), "{m:#?}");
    assert!(header(&m[1]).contains("latte was restarted"), "{m:#?}");
    assert!(m.iter().all(|m| m.thread_ts.as_deref() == Some("900.000001")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slash_command_is_answered_in_the_channel() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let (status, _) = post_command(&a.events_url(), "U1", "C9", "check latte", &Signing::now(SECRET)).await;
    assert_eq!(status, 200);
    let m = posted(&fake, 1).await.remove(0);
    assert_eq!((m.channel.as_str(), m.thread_ts.as_deref()), ("C9", None));
    assert!(header(&m).contains("latte"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_mode_envelopes_are_acked_and_answered() {
    let fake = SlackFake::start().await;
    let _a = start(&fake, SlackMode::Socket).await;
    assert!(fake.wait_for(WAIT, |s| s.connections >= 1).await, "no WebSocket connection");
    let ev = event_callback("Ev10", app_mention("U1", "C1", "1000.000001", None, "check latte"));
    assert!(fake.push(&events_envelope("env-1", &ev)));
    assert!(fake.wait_for(WAIT, |s| s.acks.iter().any(|a| a == "env-1")).await, "not acked");
    let card = posted(&fake, 1).await.remove(0);
    assert_eq!(card.thread_ts.as_deref(), Some("1000.000001"));
    let click = block_actions("U1", "C1", &card.ts, Some("1000.000001"), "logs", "latte");
    assert!(fake.push(&interactive_envelope("env-2", &click)));
    assert!(fake.wait_for(WAIT, |s| s.acks.iter().any(|a| a == "env-2")).await, "click not acked");
    let m = posted(&fake, 2).await.remove(1);
    assert_eq!(m.thread_ts.as_deref(), Some("1000.000001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_cannot_ping_or_link() {
    let fake = SlackFake::start().await;
    let a = start(&fake, SlackMode::Events).await;
    let text = "check <!channel> & <https://evil.example|latte>";
    let ev = event_callback("Ev11", app_mention("U1", "C1", "1100.000001", None, text));
    post_event(&a.events_url(), &ev, &Signing::now(SECRET)).await;
    let m = posted(&fake, 1).await.remove(0);
    let all = format!("{}{}", m.text, m.blocks);
    assert!(!all.contains("<!channel>") && !all.contains("<https://evil"), "{all}");
    let card = skills::Card::new("<!here> & co", skills::Status::Warning).text("<@U1> <https://x|y>");
    let r = pipilu::render::blockkit::render(&card, None);
    assert_eq!(r.blocks[0]["text"]["text"], "⚠️ <!here> & co", "plain_text headers are not parsed");
    assert_eq!(r.blocks[1]["text"]["text"], "&lt;@U1&gt; &lt;https://x|y&gt;");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_messages_are_updated_in_place_and_bad_tokens_fail() {
    use pipilu::adapters::slack::api::{Api, client};
    use pipilu::render::blockkit::Rendered;
    let fake = SlackFake::start().await;
    let api = Api::new(client(Some(&fake.api_url())).expect("client"), BOT_TOKEN);
    let msg = |t: &str| Rendered { text: t.into(), blocks: Vec::new() };
    let ts = api.post("C1", Some("1.0"), &msg("⏳ latte restarting: 0 of 2 updated")).await.expect("post");
    api.update("C1", &ts, &msg("✅ latte restarted: 2 of 2 updated")).await.expect("update");
    let updates = fake.messages("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!((updates[0].ts.as_str(), updates[0].text.as_str()), (ts.as_str(), "✅ latte restarted: 2 of 2 updated"));
    let bad = Api::new(client(Some(&fake.api_url())).expect("client"), "xoxb-wrong");
    let e = bad.bot_user_id().await.expect_err("a wrong token fails");
    assert!(e.to_string().contains("invalid_auth"), "{e}");
}
