//! Arbitrary command lines and task files through the real command runner: the first line of the
//! input is the command line (words split on spaces), the rest the task file. Paths on the
//! command line are redirected into a private temporary folder (the task file, `--out`, `-o`,
//! `--export-lp`), so that a fuzzed run never touches anything else; what is fuzzed is the
//! parsing and limits of every flag and what the commands do with them. Every input must give
//! an exit code or an error, never a panic, a hang or a runaway allocation; an error must have
//! the exit code of its kind (2 bad input, 3 infeasible, 4 output), never 1 (a bug).
#![no_main]

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use pdplan::app::cli::{Cli, Command, run};
use std::path::Path;

/// Point every path of the command at `dir`; `None` for commands not fuzzed here (batch walks
/// folders, bench and calibrate take minutes, presets reads nothing).
fn confine(cli: &mut Cli, dir: &Path) -> Option<()> {
    let task = dir.join("t.md");
    match &mut cli.command {
        Command::Solve(a) => {
            a.task = task;
            a.out = dir.join("out");
            if let Some(lp) = &mut a.export_lp {
                *lp = dir.join(lp.file_name()?);
            }
        }
        Command::Task { file } => *file = task,
        Command::Evaluate(a) => {
            a.task = task;
            if let Some(out) = &mut a.out {
                *out = dir.join(out.file_name()?);
            }
        }
        Command::Compare(a) => {
            a.task = task;
            a.out = a.out.as_ref().map(|_| dir.join("cmp"));
        }
        Command::ExportLp(a) => {
            a.task = task;
            a.output = dir.join(a.output.file_name()?);
        }
        _ => return None,
    }
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (line, task) = text.split_once('\n').unwrap_or((text, ""));
    let args = std::iter::once("pdplan").chain(line.split(' ').filter(|w| !w.is_empty()));
    let Ok(mut cli) = Cli::try_parse_from(args) else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary folder");
    if confine(&mut cli, dir.path()).is_none() {
        return;
    }
    std::fs::write(dir.path().join("t.md"), task).expect("the task file is written");
    if let Err(e) = run(cli) {
        assert_ne!(e.exit_code(), 1, "internal error: {e}");
    }
});
