//! The `pdplan` binary: parse arguments, run, print the error chain, exit with a distinct code.

use clap::Parser;
use pdplan::cli::{Cli, run};
use pdplan::error::{Error, exit};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::BAD_INPUT } else { exit::OK };
            let _ = e.print();
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
