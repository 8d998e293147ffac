//! `pdplan batch`: solve many task files, one sub-folder each, plus `summary.csv` / `summary.md`.

use super::BatchArgs;
use crate::app::batch::{self, Input, Options, Status, TaskResult};
use crate::error::{Error, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C: no new task starts; a second Ctrl-C exits at once (files are still never
/// half-written: every file is written to a temporary name and renamed).
static CANCEL: AtomicBool = AtomicBool::new(false);

fn line(r: &TaskResult) -> String {
    match r.status {
        Status::Solved => format!(
            "{}: solved, {} GPUs ({:.3} s)",
            r.name,
            r.solved.as_ref().map_or(0, |s| s.prefill.gpus + s.decode.gpus),
            r.solve_time_s
        ),
        _ => format!(
            "{}: {}: {}",
            r.name,
            r.status.name(),
            r.reason.lines().next().unwrap_or("")
        ),
    }
}

/// Log lines on standard output that never stop the batch: after the first failed write
/// nothing more is printed, and the failure (unless a closed pipe) is kept for the exit code.
#[derive(Default)]
struct Lines {
    closed: bool,
    failed: Option<std::io::Error>,
}

impl Lines {
    fn line(&mut self, text: &str) {
        use std::io::Write;
        if self.closed {
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, "{text}").and_then(|_| out.flush()) {
            self.closed = true;
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                self.failed = Some(e);
            }
        }
    }
}

/// The progress bar of an interactive batch run.
fn progress_bar(len: usize) -> ProgressBar {
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {wide_msg}")
            .expect("a valid progress template"),
    );
    b
}

/// The closing lines: counts per status, wall time, exit code, files written.
fn print_totals(stdout: &mut Lines, report: &batch::Report, written: &[std::path::PathBuf]) {
    let counts = Status::ALL
        .iter()
        .filter(|&&s| report.count(s) > 0)
        .map(|&s| format!("{} {}", report.count(s), s.name()))
        .collect::<Vec<_>>()
        .join(", ");
    let counts = if counts.is_empty() {
        log::warn!("no task file found in the inputs (a task is a .md or .json file)");
        "no tasks".to_string()
    } else {
        counts
    };
    stdout.line(&format!(
        "{counts} in {:.2} s on {} jobs; exit code {}",
        report.wall_s,
        report.jobs,
        report.exit_code()
    ));
    for p in written {
        stdout.line(&format!("wrote {}", p.display()));
    }
}

pub fn run(args: BatchArgs) -> Result<i32> {
    // Threads: more than the tasks are never started; the bound only stops a typo early.
    super::limits::opt_count("--jobs", args.jobs.map(|j| j as u64), 1024)?;
    for p in &args.inputs {
        if !p.exists() {
            log::warn!("{} does not exist; it is reported as bad input", p.display());
        }
    }
    let inputs: Vec<Input> = batch::collect(&args.inputs, &args.out);
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Write {
        path: args.out.clone(),
        source,
    })?;
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(batch::INTERRUPTED);
        }
        eprintln!("\ninterrupted: finishing the running tasks (Ctrl-C again to quit at once)");
    });
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = Options {
        out: args.out.clone(),
        jobs,
        compare: args.compare,
    };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| progress_bar(inputs.len()));
    // Plain log lines are printed in input order, as soon as every earlier input is done.
    let mut done: Vec<Option<String>> = vec![None; inputs.len()];
    let mut printed = 0;
    let plain = !args.quiet && bar.is_none();
    let mut stdout = Lines::default();
    let report = batch::run(&inputs, &opts, &CANCEL, |i, r| {
        if let Some(b) = &bar {
            b.inc(1);
            b.set_message(line(r));
            if !matches!(r.status, Status::Solved | Status::Skipped) {
                b.println(line(r));
            }
        } else if plain {
            done[i] = Some(line(r));
            while let Some(Some(l)) = done.get(printed) {
                stdout.line(&format!("[{}/{}] {l}", printed + 1, inputs.len()));
                printed += 1;
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let written = batch::write_summary(&args.out, &report)?;
    if !args.quiet {
        print_totals(&mut stdout, &report, &written);
    }
    // Standard output failing (a full disk) is an output error once every task is done and the
    // summary is written; a closed pipe (`| head -2`) is not an error.
    match stdout.failed {
        Some(e) => Err(Error::Write {
            path: "standard output".into(),
            source: e,
        }),
        None => Ok(report.exit_code()),
    }
}
