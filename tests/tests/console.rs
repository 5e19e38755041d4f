//! End-to-end tests: the real `pipilu` binary on its embedded defaults (demo
//! estate, NLU trained from the built-in data), run from an empty folder so no
//! local model files change the answers.

use pipilu_e2e::TempDir;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A fresh empty folder for one test, removed when the test ends.
fn workdir(name: &str) -> TempDir {
    pipilu_e2e::temp_dir(&format!("pipilu-e2e-{name}"))
}

fn run(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(pipilu_e2e::pipilu_bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_CACHE_HOME", std::env::temp_dir().join("pipilu-e2e-cache"))
        .env_remove("RUST_LOG")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pipilu");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("wait for pipilu")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `pipilu ask --json TEXT` in a fresh folder: exit 0 and one JSON object.
fn ask_json(name: &str, question: &str) -> (Value, TempDir) {
    let dir = workdir(name);
    let out = run(dir.path(), &["ask", "--json", question], None);
    assert!(out.status.success(), "exit {:?}\nstderr: {}", out.status, text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", text(&out.stdout), text(&out.stderr)));
    (v, dir)
}

fn outcome(v: &Value) -> (&str, &str) {
    let o = &v["outcome"];
    (o["kind"].as_str().unwrap_or(""), o["intent"].as_str().unwrap_or(""))
}

fn card(v: &Value) -> &Value {
    &v["cards"][0]
}

fn field<'a>(card: &'a Value, key: &str) -> Option<&'a str> {
    card["fields"].as_array()?.iter().find(|f| f[0] == key).and_then(|f| f[1].as_str())
}

#[test]
fn check_latte_answers_with_a_health_card() {
    let (v, _) = ask_json("health", "check latte");
    assert_eq!(outcome(&v), ("ran", "health_check"), "{v}");
    let c = card(&v);
    assert!(c["title"].as_str().unwrap_or("").contains("latte"), "{c}");
    assert!(field(c, "instances").is_some(), "{c}");
    assert!(c["table"]["rows"].as_array().is_some_and(|r| !r.is_empty()), "{c}");
    assert!(c["buttons"].as_array().is_some_and(|b| b.iter().any(|b| b["action"] == "restart")), "{c}");
}

#[test]
fn restart_latte_restarts_it() {
    let (v, _) = ask_json("restart", "restart latte");
    assert_eq!(outcome(&v), ("ran", "restart_service"), "{v}");
    assert!(card(&v)["title"].as_str().unwrap_or("").contains("latte was restarted"), "{v}");
}

#[test]
fn restart_of_a_misspelt_service_asks_first_and_the_button_restarts() {
    let (v, dir) = ask_json("restart-typo", "restart latet");
    assert_eq!(outcome(&v).0, "clarified", "{v}");
    let c = card(&v);
    assert_eq!(c["title"], "I don't know a service called 'latet'. Did you mean latte?");
    let button = &c["buttons"][0];
    assert_eq!(button["action"], "run");
    let payload = button["payload"].as_str().expect("payload");
    let out = run(dir.path(), &["ask", "--json", "--action", "run", "--payload", payload], None);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outcome(&v), ("ran", "restart_service"), "{v}");
}

#[test]
fn a_negated_questioned_or_either_or_restart_is_not_run() {
    for (name, sentence, cue) in [
        ("negated", "do not restart latte", "do not"),
        ("negated-zh", "别重启 latte", "别"),
        ("either-or", "check or restart latte", "or"),
        ("either-or-zh", "重启 latte 还是 payments", "还是"),
        ("question", "should I restart latte?", "should I"),
        ("question-zh", "要不要重启 latte", "要不要"),
    ] {
        let (v, _) = ask_json(name, sentence);
        assert_eq!(outcome(&v).0, "clarified", "{sentence}: {v}");
        let title = card(&v)["title"].as_str().unwrap_or("");
        assert!(title.contains(&format!("'{cue}'")), "{sentence}: {title}");
        assert!(!title.contains("was restarted"), "{sentence}: {v}");
    }
}

#[test]
fn a_restart_called_off_is_declined_and_offers_no_restart() {
    for (name, sentence, cue) in
        [("undo", "undo the restart of latte", "undo"), ("cancel-zh", "取消重启 latte", "取消")]
    {
        let (v, _) = ask_json(name, sentence);
        assert_eq!(outcome(&v).0, "declined", "{sentence}: {v}");
        assert!(v.to_string().contains(&format!("'{cue}'")), "{sentence}: {v}");
        assert!(!v.to_string().contains("restart_service?service="), "{sentence} offered a restart: {v}");
    }
}

#[test]
fn a_restart_of_two_services_asks_which_and_the_button_restarts_that_one() {
    let (v, dir) = ask_json("two-services", "restart latte and payments");
    assert_eq!(outcome(&v).0, "clarified", "{v}");
    let buttons = card(&v)["buttons"].as_array().cloned().unwrap_or_default();
    let labels: Vec<&str> = buttons.iter().filter_map(|b| b["label"].as_str()).collect();
    assert_eq!(labels, ["Restart latte", "Restart payments-api", "No"], "{v}");
    let payload = buttons[1]["payload"].as_str().expect("payload");
    let out = run(dir.path(), &["ask", "--json", "--action", "run", "--payload", payload], None);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outcome(&v), ("ran", "restart_service"), "{v}");
    assert!(card(&v)["title"].as_str().unwrap_or("").contains("payments-api"), "{v}");
}

#[test]
fn logs_come_as_code_lines() {
    let (v, _) = ask_json("logs", "log latte errors last 30m");
    assert_eq!(outcome(&v), ("ran", "query_logs"), "{v}");
    let blocks = card(&v)["blocks"].as_array().cloned().unwrap_or_default();
    let code = blocks.iter().find(|b| b["kind"] == "code").unwrap_or_else(|| panic!("no code block: {v}"));
    let lines: Vec<&str> = code["text"].as_str().unwrap_or("").lines().collect();
    assert!(!lines.is_empty(), "{v}");
    assert!(lines.iter().all(|l| l.to_lowercase().contains("error")), "{lines:?}");
}

#[test]
fn graph_is_saved_as_png() {
    let (v, dir) = ask_json("graph", "graf db loadbalancers:2 now-30m");
    assert_eq!(outcome(&v), ("ran", "grafana_snapshot"), "{v}");
    let image = &card(&v)["image"];
    let path = image["path"].as_str().unwrap_or_else(|| panic!("no image path: {v}"));
    let bytes = std::fs::read(dir.path().join(path)).expect("image file");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(!image["alt"].as_str().unwrap_or("").is_empty());
    assert!(image.get("png").is_none(), "bytes must not be in the JSON");
}

#[test]
fn firewall_status_answers() {
    let (v, _) = ask_json("firewall", "check firewall status");
    assert_eq!(outcome(&v), ("ran", "firewall_status"), "{v}");
    assert!(card(&v)["fields"].as_array().is_some_and(|f| !f.is_empty()), "{v}");
}

#[test]
fn chit_chat_is_declined_and_runs_nothing() {
    let (v, _) = ask_json("decline", "hey guys what happened?");
    assert_eq!(outcome(&v).0, "declined", "{v}");
    let c = card(&v);
    let examples = c["buttons"].as_array().map_or(0, Vec::len);
    assert!((3..=4).contains(&examples), "{c}");
}

#[test]
fn ask_prints_cards_as_text() {
    let tmp = workdir("text");
    let dir = tmp.path();
    let out = run(dir, &["ask", "check latte"], None);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("latte"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "colour on a pipe: {stdout}");
    assert!(text(&out.stderr).contains("NLU lexical"), "{}", text(&out.stderr));
}

#[test]
fn chat_answers_a_piped_conversation() {
    let tmp = workdir("chat");
    let dir = tmp.path();
    let conversation = "check latte\nrestart latte\nlog latte errors last 30m\ngraf db loadbalancers:2 now-30m\n\
                        check firewall status\nhey guys what happened?\n/1\n/99\n/help\n/quit\nthis is never read\n";
    let out = run(dir, &["chat"], Some(conversation.as_bytes()));
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "you> check latte",
        "latte was restarted",
        "    │ ",
        "image ",
        "you> hey guys what happened?",
        "Try something like:",
        "-> [",
        "no button /99",
        "/quit",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("this is never read"));
    let images: Vec<_> = std::fs::read_dir(dir.join("pipilu-images")).expect("image dir").collect();
    assert_eq!(images.len(), 1);
}

#[test]
fn bad_input_never_breaks_it() {
    let tmp = workdir("bad");
    let dir = tmp.path();
    let huge = "restart latte ".repeat(8_000);
    let controls = "check\u{1}\u{1b}[2J\u{7} latte\u{202e}";
    for input in ["", "   ", huge.as_str(), controls, "💥💥💥", "%%%?&="] {
        let out = run(dir, &["ask", "--json", input], None);
        assert!(out.status.success(), "input {:?}: {}", &input[..input.len().min(40)], text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(v["cards"].as_array().is_some_and(|c| !c.is_empty()));
    }
    for (action, payload) in [("bogus", "x"), ("run", "%%%"), ("run", "rm_rf?service=latte"), ("restart", ""), ("", "")]
    {
        let out = run(dir, &["ask", "--json", "--action", action, "--payload", payload], None);
        assert!(out.status.success(), "{action} {payload}: {}", text(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_ne!(outcome(&v).0, "ran", "{action} {payload}: {v}");
    }
    let mut piped = b"\xff\xfe invalid utf8\n\0\0\0\n".to_vec();
    piped.extend(huge.as_bytes());
    piped.extend(b"\n\x1b[31mred\n");
    let out = run(dir, &["chat"], Some(&piped));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains('\x1b'), "escape echoed to the terminal");
}

#[test]
fn check_config_names_the_broken_keys() {
    let tmp = workdir("config");
    let dir = tmp.path();
    let file = dir.join("pipilu.toml");
    std::fs::write(&file, "[nlu]\nmodles = \"models\"\n[demo]\nseed = \"forty-two\"\n[slack]\ntoken = \"xoxb\"\n")
        .expect("write");
    let out = run(dir, &["check-config", "--config", "pipilu.toml"], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for key in [
        "nlu.modles: unknown key",
        "demo.seed: expected a whole number",
        "slack.token: secrets are read only from environment variables",
        "slack.bot_token_env: required",
    ] {
        assert!(stdout.contains(key), "missing {key:?} in:\n{stdout}");
    }
    let out = run(dir, &["ask", "--config", "pipilu.toml", "check latte"], None);
    assert_eq!(out.status.code(), Some(1), "a broken config must stop the start");

    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/../pipilu.example.toml"), &file).expect("copy example");
    let out = run(dir, &["check-config", "--config", "pipilu.toml"], None);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = run(dir, &["ask", "--config", "pipilu.toml", "--json", "check latte"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}
