//! `pipilu chat | ask | check-config`.

use crate::adapters::console::{self, Output};
use crate::app;
use crate::config::{self, Config};
use crate::core::Content;
use crate::render::console::ColorChoice;
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// When to colour.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Color {
    /// When stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options shared by `chat` and `ask`.
#[derive(Debug, Clone, Default, Args)]
pub struct ShowArgs {
    /// Folder images are saved to (default: ./pipilu-images, or [console] image_dir).
    #[arg(long, value_name = "DIR")]
    image_dir: Option<PathBuf>,
    /// Colour output (default: [console] color, else auto).
    #[arg(long, value_enum)]
    color: Option<Color>,
    /// Run the NLU lexical-only even where the neural layer's files are present.
    #[arg(long)]
    no_neural: bool,
}

/// `pipilu chat`.
#[derive(Debug, Clone, Default, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    show: ShowArgs,
}

/// `pipilu ask`.
#[derive(Debug, Clone, Args)]
pub struct AskArgs {
    /// What to ask, in plain words ("restart latte").
    text: Option<String>,
    /// Print the reply as one JSON object.
    #[arg(long)]
    json: bool,
    /// Press a button instead: its action (`restart`, `run`, ...).
    #[arg(long, conflicts_with = "text")]
    action: Option<String>,
    /// The pressed button's payload.
    #[arg(long, requires = "action", default_value = "")]
    payload: String,
    /// Start everything, print the start-up time and exit (for benchmarks).
    #[arg(long, hide = true)]
    ready_check: bool,
    #[command(flatten)]
    show: ShowArgs,
}

fn output(config: &Config, show: &ShowArgs, json: bool) -> Output {
    let choice = match show.color {
        Some(Color::Always) => ColorChoice::Always,
        Some(Color::Never) => ColorChoice::Never,
        Some(Color::Auto) => ColorChoice::Auto,
        None => config.console.color,
    };
    Output {
        json,
        color: !json && choice.enabled(),
        image_dir: show.image_dir.clone().or_else(|| config.console.image_dir.clone()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?)
}

fn adjust(mut config: Config, show: &ShowArgs) -> Config {
    if show.no_neural {
        config.nlu.neural = false;
    }
    config
}

/// `pipilu chat`: the prompt shows at once while the NLU loads in the background.
pub fn chat(config: Config, args: ChatArgs) -> Result<ExitCode> {
    let config = adjust(config, &args.show);
    let out = output(&config, &args.show, false);
    let refresh = Duration::from_secs(config.nlu.inventory_refresh_secs);
    let rt = runtime()?;
    let starting = rt.spawn(app::start(config));
    console::chat(&rt, starting, &out, refresh)?;
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(ExitCode::SUCCESS)
}

/// `pipilu run`: the chat adapters, until SIGTERM.
pub fn run(config: Config) -> Result<ExitCode> {
    runtime()?.block_on(crate::serve::run(config))?;
    Ok(ExitCode::SUCCESS)
}

/// `pipilu ask`: one answer; exit 0 whenever the bot answered, a decline included.
pub fn ask(config: Config, args: AskArgs) -> Result<ExitCode> {
    let config = adjust(config, &args.show);
    let out = output(&config, &args.show, args.json);
    let content = match (&args.action, &args.text) {
        (Some(action), _) => Content::Action { action: action.clone(), payload: args.payload.clone() },
        (None, Some(text)) => Content::Text(text.clone()),
        (None, None) if args.ready_check => Content::Text(String::new()),
        (None, None) => bail!("give the question, e.g. pipilu ask \"is latte ok?\" (or --action NAME --payload P)"),
    };
    let rt = runtime()?;
    let started = rt.block_on(app::start(config))?;
    eprintln!("pipilu: {}", started.note);
    if args.ready_check {
        println!("ready in {} ms", started.elapsed.as_millis());
        return Ok(ExitCode::SUCCESS);
    }
    let reply = rt.block_on(console::ask(&started.core, content, &out))?;
    tracing::debug!(outcome = ?reply.outcome, "answered");
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(ExitCode::SUCCESS)
}

/// `pipilu check-config`: every problem with its key path; exit 1 when any is an error.
pub fn check_config(path: Option<&Path>) -> Result<ExitCode> {
    let default = Path::new("pipilu.toml");
    let path = match path {
        Some(p) => p,
        None if default.exists() => default,
        None => bail!("give the file to check: pipilu check-config --config pipilu.toml"),
    };
    let (config, problems) = config::load(path)?;
    for p in &problems {
        println!("{}: {p}", path.display());
    }
    let errors = problems.iter().filter(|p| p.level == config::Level::Error).count();
    let warnings = problems.len() - errors;
    if errors > 0 {
        println!("{}: {errors} error(s), {warnings} warning(s)", path.display());
        return Ok(ExitCode::from(1));
    }
    println!(
        "{}: OK ({warnings} warning(s)); models {}, demo seed {}, log {:?} {:?}",
        path.display(),
        config.nlu.models.display(),
        config.demo.seed,
        config.log.format,
        config.log.filter
    );
    Ok(ExitCode::SUCCESS)
}
