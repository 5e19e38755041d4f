//! Command line: subcommands of the `pipilu` binary.

mod nlu;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// pipilu: a ChatOps assistant that understands sentences locally.
#[derive(Debug, Parser)]
#[command(name = "pipilu", version, about)]
pub struct Cli {
    /// Log as JSON lines instead of text (filter with RUST_LOG).
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train, query and evaluate the language-understanding engine.
    Nlu(nlu::NluArgs),
}

/// Sets up tracing on stderr with an env filter (`RUST_LOG`, default `warn`).
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Nlu(args) => nlu::run(args),
    }
}
