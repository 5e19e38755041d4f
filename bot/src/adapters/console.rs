//! The console adapter: `pipilu chat` (a REPL for the local operator) and
//! `pipilu ask` (one question, one answer).
//!
//! In a terminal, chat has line editing and history (rustyline); when stdin is
//! a pipe it reads plain lines and echoes each, so a whole conversation can be
//! piped in and read back as a transcript. Buttons become `/1`, `/2` commands.

use crate::app::Started;
use crate::core::normalise::quote;
use crate::core::{Content, Core, Inbound, Platform, Reply};
use crate::render::json::reply_json;
use crate::render::{ButtonHints, Console, ImageStore};
use anyhow::{Context as _, Result, anyhow};
use rustyline::error::ReadlineError;
use skills::Button;
use skills::backends::{Progress, RestartStep};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

/// The conversation id of the terminal session.
const CONVERSATION: &str = "console";

/// The local operator: `$USER`, else `operator`.
pub fn local_user() -> String {
    std::env::var("USER").ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "operator".into())
}

/// How `ask` and `chat` show replies.
#[derive(Debug, Clone)]
pub struct Output {
    /// Print JSON instead of text (`ask --json`).
    pub json: bool,
    /// ANSI colour.
    pub color: bool,
    /// Where images are saved.
    pub image_dir: Option<PathBuf>,
}

/// Answers one message and prints the reply. An answer of any kind (a decline too) is success.
pub async fn ask(core: &Core, content: Content, out: &Output) -> Result<Reply> {
    let reply = core
        .handle(Inbound { platform: Platform::Console, conversation: CONVERSATION.into(), user: local_user(), content })
        .await;
    let images = ImageStore::new(out.image_dir.clone());
    let mut stdout = std::io::stdout().lock();
    if out.json {
        writeln!(stdout, "{}", reply_json(&reply, &images))?;
    } else {
        let (text, _) = Console::new(out.color, ButtonHints::Command, images).render_reply(&reply);
        write!(stdout, "{text}")?;
    }
    stdout.flush()?;
    Ok(reply)
}

/// Where chat lines come from.
enum Input {
    Editor { editor: Box<rustyline::DefaultEditor>, history: Option<PathBuf> },
    Plain(std::io::StdinLock<'static>),
}

fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("pipilu").join("history"))
}

impl Input {
    fn open() -> Input {
        if std::io::stdin().is_terminal() {
            match rustyline::DefaultEditor::new() {
                Ok(mut editor) => {
                    let history = history_path();
                    if let Some(h) = &history {
                        let _ = editor.load_history(h);
                    }
                    return Input::Editor { editor: Box::new(editor), history };
                }
                Err(e) => tracing::warn!("line editing unavailable: {e}"),
            }
        }
        Input::Plain(std::io::stdin().lock())
    }

    fn interactive(&self) -> bool {
        matches!(self, Input::Editor { .. })
    }

    /// The next line; `None` at end of input.
    fn next(&mut self) -> Option<String> {
        match self {
            Input::Editor { editor, .. } => loop {
                match editor.readline("pipilu> ") {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        return Some(line);
                    }
                    Err(ReadlineError::Interrupted) => eprintln!("(type /quit to leave)"),
                    Err(ReadlineError::Eof) => return None,
                    Err(e) => {
                        eprintln!("error reading input: {e}");
                        return None;
                    }
                }
            },
            Input::Plain(stdin) => {
                let mut buf = Vec::new();
                match stdin.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string()),
                }
            }
        }
    }

    fn save(&mut self) {
        if let Input::Editor { editor, history: Some(h) } = self {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.save_history(h);
        }
    }
}

/// A chat command (`/quit`, `/2`) or a message.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Quit,
    Help,
    Button(usize),
    UnknownCommand(String),
    Message(String),
    Blank,
}

fn classify(line: &str) -> Line {
    let t = line.trim();
    if t.is_empty() {
        return Line::Blank;
    }
    let Some(cmd) = t.strip_prefix('/') else {
        return Line::Message(line.to_string());
    };
    match cmd.trim() {
        "quit" | "exit" | "q" => Line::Quit,
        "help" | "?" => Line::Help,
        n => match n.parse::<usize>() {
            Ok(i) if i > 0 => Line::Button(i),
            _ => Line::UnknownCommand(quote(t, 40)),
        },
    }
}

const CHAT_HELP: &str = "\
Type a request in plain words, for example:
  is latte ok?          restart latte          show latte errors last 30m
  graph loadbalancers last 30m                 firewall status
Commands:
  /1, /2, ...   press a button of the last answer
  /help         this text
  /quit         leave (Ctrl-D works too)";

/// The core once it is ready: chat shows its prompt while the NLU trains in the background.
enum Startup {
    Loading(JoinHandle<Result<Started>>),
    Ready(Arc<Core>),
}

impl Startup {
    fn core(&mut self, rt: &Runtime, refresh: Duration, interactive: bool) -> Result<Arc<Core>> {
        if let Startup::Loading(task) = self {
            if interactive && !task.is_finished() {
                eprintln!("(loading the language model...)");
            }
            let started = rt.block_on(task).context("starting pipilu")??;
            eprintln!("pipilu: {}; ready in {} ms", started.note, started.elapsed.as_millis());
            let _guard = rt.enter();
            crate::app::spawn_inventory_refresh(Arc::clone(&started.core), refresh);
            *self = Startup::Ready(started.core);
        }
        match self {
            Startup::Ready(core) => Ok(Arc::clone(core)),
            Startup::Loading(_) => Err(anyhow!("pipilu did not start")),
        }
    }
}

/// Runs the chat loop until `/quit` or end of input. `starting` is the core being built.
pub fn chat(rt: &Runtime, starting: JoinHandle<Result<Started>>, out: &Output, refresh: Duration) -> Result<()> {
    let mut input = Input::open();
    let interactive = input.interactive();
    let console = Console::new(out.color, ButtonHints::Numbered, ImageStore::new(out.image_dir.clone()));
    let user = local_user();
    let mut startup = Startup::Loading(starting);
    let mut buttons: Vec<Button> = Vec::new();
    if interactive {
        println!("pipilu: ask about your services in plain words. /help for help, /quit to leave.");
    }
    let mut stdout = std::io::stdout();
    while let Some(line) = input.next() {
        let kind = classify(&line);
        if !interactive && kind != Line::Blank {
            println!("you> {}", quote(&line, 200));
        }
        let content = match kind {
            Line::Blank => continue,
            Line::Quit => break,
            Line::Help => {
                println!("{CHAT_HELP}");
                continue;
            }
            Line::UnknownCommand(c) => {
                println!("unknown command {c}; /help lists the commands");
                continue;
            }
            Line::Button(n) => match buttons.get(n - 1) {
                Some(b) => {
                    println!("-> [{}]", quote(&b.label, 60));
                    Content::Action { action: b.action.clone(), payload: b.payload.clone() }
                }
                None if buttons.is_empty() => {
                    println!("the last answer has no buttons");
                    continue;
                }
                None => {
                    println!("no button /{n}; the last answer has /1 to /{}", buttons.len());
                    continue;
                }
            },
            Line::Message(m) => Content::Text(m),
        };
        let core = startup.core(rt, refresh, interactive)?;
        // A restart following its rollout shows each step as it happens.
        let progress = Progress::to(|step: &RestartStep| println!("  … {step}"));
        let inbound =
            Inbound { platform: Platform::Console, conversation: CONVERSATION.into(), user: user.clone(), content };
        let reply = rt.block_on(core.handle_with_progress(inbound, &progress));
        let (text, b) = console.render_reply(&reply);
        buttons = b;
        writeln!(stdout, "{text}")?;
        stdout.flush()?;
    }
    input.save();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        assert_eq!(classify("/quit"), Line::Quit);
        assert_eq!(classify(" /2 "), Line::Button(2));
        assert_eq!(classify("/0"), Line::UnknownCommand("/0".into()));
        assert_eq!(classify("/x"), Line::UnknownCommand("/x".into()));
        assert_eq!(classify("  "), Line::Blank);
        assert_eq!(classify("restart latte"), Line::Message("restart latte".into()));
    }
}
