//! The `pdplan` binary: parse arguments, run, print the error chain, exit with a distinct code.

use clap::Parser;
use pdplan::app::cli::{Cli, run};
use pdplan::error::{Error, exit};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .init();
    std::panic::set_hook(Box::new(panic_hook));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { exit::OK };
            // `--help` / `--version` on stdout: a write that fails other than on a closed pipe
            // is an output error, as for every other stdout write (see `panic_hook`).
            let code = match e.print() {
                Err(w) if w.kind() != std::io::ErrorKind::BrokenPipe && code == exit::OK => exit::OUTPUT,
                _ => code,
            };
            std::process::exit(code);
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if let Error::Infeasible { report, .. } = &e
                && !report.is_empty()
            {
                eprint!("{report}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// No panic reaches the user as a Rust panic message: a closed stdout pipe (`pdplan task t.md |
/// head`) is success (exit 0: the reader has what it wanted, as for `head`-style tools); any
/// other failed write to stdout (a full disk) is an output error (exit 4); anything else is a bug, reported as an internal error
/// (exit 1) with where it happened. `RUST_BACKTRACE=1` adds the backtrace for developers.
fn panic_hook(info: &std::panic::PanicHookInfo) {
    let msg = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    if let Some(rest) = msg.strip_prefix("failed printing to stdout: ") {
        if rest.contains("Broken pipe") {
            std::process::exit(exit::OK);
        }
        eprintln!("error: cannot write to standard output: {rest}");
        std::process::exit(exit::OUTPUT);
    }
    let at = info
        .location()
        .map(|l| format!(" at {}:{}", l.file(), l.line()))
        .unwrap_or_default();
    eprintln!("error: internal error (a bug in pdplan, please report it with the task file): {msg}{at}");
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
        eprintln!("{}", std::backtrace::Backtrace::force_capture());
    }
    std::process::exit(exit::INTERNAL);
}
