//! `pipilu`: the ChatOps assistant's binary.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = pipilu::cli::Cli::parse();
    match pipilu::cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
