//! Command line: subcommands of the `pipilu` binary.

pub mod bot;
pub mod nlu;

use crate::config::{self, Config, LogFormat};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// pipilu: a ChatOps assistant that understands sentences locally.
#[derive(Debug, Parser)]
#[command(name = "pipilu", version, about)]
pub struct Cli {
    /// Log as JSON lines instead of text (filter with RUST_LOG).
    #[arg(long, global = true)]
    pub log_json: bool,
    /// Configuration file (TOML); without it pipilu runs on built-in defaults.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Chat with pipilu in the terminal (the default).
    Chat(bot::ChatArgs),
    /// Ask one question (or press one button) and print the answer.
    Ask(bot::AskArgs),
    /// Serve every configured chat adapter (Slack, Telegram) until SIGTERM.
    Run,
    /// Check a configuration file and explain every problem (exit 1 if any).
    CheckConfig,
    /// Train, query and evaluate the language-understanding engine.
    Nlu(nlu::NluArgs),
}

/// Sets up tracing on stderr: `RUST_LOG` if set, else `filter`; JSON lines when asked.
pub fn init_tracing(json: bool, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Reads the config file, prints its problems on stderr; errors stop the start.
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let Some(path) = path else { return Ok(Config::default()) };
    let (config, problems) = config::load(path)?;
    for p in &problems {
        eprintln!("{}: {p}", path.display());
    }
    if config::has_errors(&problems) {
        anyhow::bail!(
            "{} has problems; `pipilu check-config --config {}` explains them",
            path.display(),
            path.display()
        );
    }
    Ok(config)
}

/// Runs the chosen subcommand (`chat` when none is given).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Chat(bot::ChatArgs::default()));
    if let Command::CheckConfig = command {
        init_tracing(cli.log_json, "warn");
        return bot::check_config(cli.config.as_deref());
    }
    let config = match &command {
        Command::Nlu(_) => Config::default(),
        _ => load_config(cli.config.as_deref())?,
    };
    init_tracing(cli.log_json || config.log.format == LogFormat::Json, &config.log.filter);
    match command {
        Command::Nlu(args) => nlu::run(args),
        Command::Chat(args) => bot::chat(config, args),
        Command::Ask(args) => bot::ask(config, args),
        Command::Run => bot::run(config),
        Command::CheckConfig => Ok(ExitCode::SUCCESS),
    }
}
