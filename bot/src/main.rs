//! `pipilu`: the ChatOps assistant's binary.

use clap::Parser;

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    let args = pipilu::cli::Cli::parse();
    match pipilu::cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Rust ignores SIGPIPE, so `pipilu nlu eval | head` would panic in `println!`
/// once `head` exits. Like other command-line tools, stop quietly instead.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread starts; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
