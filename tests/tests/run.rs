//! `pipilu run --config`: the real binary serving Telegram (against the loopback
//! fake of the Bot API) until SIGTERM, then stopping cleanly with the update
//! offset kept.

use pipilu_e2e::fakes::serve;
use pipilu_e2e::fakes::telegram::TelegramFake;
use std::process::{Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "4242:run-test-token";
const ALICE: i64 = 111;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_telegram_until_sigterm() {
    let fake = TelegramFake::new(TOKEN);
    let served = serve(fake.router()).await;
    let dir = pipilu_e2e::temp_dir("pipilu-run");
    let state = dir.path().join("telegram.offset");
    let config = format!(
        "[telegram]\ntoken_env = \"PIPILU_RUN_TG_TOKEN\"\napi_url = \"{}\"\nstate_file = \"{}\"\n\
         poll_timeout_secs = 1\nusers = {{ \"{ALICE}\" = \"alice\" }}\n[nlu]\nneural = false\n",
        served.url(),
        state.display()
    );
    std::fs::write(dir.path().join("pipilu.toml"), config).expect("write config");
    let child = Command::new(pipilu_e2e::pipilu_bin())
        .args(["run", "--config", "pipilu.toml"])
        .current_dir(dir.path())
        .env("PIPILU_RUN_TG_TOKEN", TOKEN)
        .env("XDG_CACHE_HOME", std::env::temp_dir().join("pipilu-e2e-cache"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pipilu");

    let id = fake.private_message(ALICE, "alice", "is latte ok?");
    let sent = fake
        .wait_for(Duration::from_secs(60), |calls| calls.iter().any(|c| c.method.eq_ignore_ascii_case("sendMessage")))
        .await;
    let card = sent.iter().find(|c| c.method.eq_ignore_ascii_case("sendMessage")).expect("a card was sent");
    assert!(card.text().contains("latte"), "{}", card.text());

    // SIGTERM: a clean exit, with the handled update remembered.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.expect("task").expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let kept = std::fs::read_to_string(&state).expect("offset file");
    assert!(kept.contains(&id.to_string()), "offset file {kept:?} should hold update {id}");
}
