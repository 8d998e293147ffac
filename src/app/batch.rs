//! Solving many task files at once (`pdplan batch`).
//!
//! * Inputs are files and folders. A file named on the command line is always a task. Folders
//!   are walked recursively in sorted order (hidden entries, symbolic links to folders and the
//!   output folder are not entered); there a `.md` file is a task unless the parser finds no
//!   task field in it (a README), and a `.json` file is a task when it is not valid JSON (it is
//!   then reported as bad input) or when its top-level object has a `hardware`, `model` or
//!   `workload` key (plans, schemas and Hugging Face `config.json` files have none). Everything
//!   else is listed as skipped with the reason.
//! * Each task gets `OUT/<file stem>/` with the same `prefill.json`, `decode.json` and
//!   `submission.json` as `pdplan solve` writes ([`crate::app::pipeline::write_solution`]); two tasks with the
//!   same stem (compared without case) are both bad input rather than one overwriting the other.
//!   A task that fails has any plan files of an earlier run in its folder removed, so no plan file
//!   claims a success the summary does not.
//! * Tasks run on `jobs` threads; results are kept in input order, so the summary does not
//!   depend on which thread finished first.
//! * Cancellation (Ctrl-C in the CLI) stops taking new tasks; running ones finish and write
//!   their files atomically; the rest are listed as cancelled.

use super::output::OutputSet;
use crate::analysis::baselines;
use crate::analysis::compare;
use crate::error::Error;
use crate::ilp::formulation::Mode;
pub use crate::report::batch::{CompareRow, INTERRUPTED, PhaseRow, Report, Solved, Status, TaskResult};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Files the batch writes at the top of the output folder (no task sub-folder may take them).
pub const SUMMARY_FILES: [&str; 2] = ["summary.csv", "summary.md"];

/// One input found on the command line or in a folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub path: PathBuf,
    /// Sub-folder of the output (the file stem).
    pub name: String,
    pub kind: InputKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// A task file to solve.
    Task,
    /// Not a task file (the reason); listed, not solved, not a failure.
    Skipped(String),
    /// A task that cannot be solved for a reason found before reading it (bad input).
    Rejected(String),
}

impl TaskResult {
    fn bare(input: &Input, status: Status, reason: String) -> TaskResult {
        TaskResult {
            input: input.path.clone(),
            name: input.name.clone(),
            status,
            reason,
            mode: None,
            solved: None,
            solve_time_s: 0.0,
            compare: None,
        }
    }
}

/// Options of a batch run.
#[derive(Clone, Debug)]
pub struct Options {
    pub out: PathBuf,
    pub jobs: usize,
    pub compare: bool,
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// The output sub-folder of a task: its file stem, sanitized (`...md` has the stem `..`; a
/// name never leads outside the output folder, see [`super::output::sanitize_name`]).
fn stem(p: &Path) -> String {
    let s = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::output::sanitize_name(&s)
}

/// Whether a file found in a folder is a task file (`None`) or why it is not.
fn not_a_task(path: &Path) -> Option<String> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "json" => {
            // Bounded, and never blocking on a FIFO: an unreadable file is a task, reported as
            // bad input when it is read.
            let text =
                crate::input::read::read_text_bounded(path, crate::input::read::MAX_TASK_BYTES).ok()?;
            let v: serde_json::Value = serde_json::from_str(&text).ok()?;
            let is_task = v.as_object().is_some_and(|o| {
                ["hardware", "model", "workload"]
                    .iter()
                    .any(|k| o.contains_key(*k))
            });
            (!is_task).then(|| {
                "JSON without a `hardware`, `model` or `workload` key (a plan, schema or model config?): not a task"
                    .to_string()
            })
        }
        // pdplan's own reports (`batch`'s summary.md, `compare`'s compare.md) in a folder of
        // an earlier run.
        "md" if first_line(path).is_some_and(|l| l.starts_with("# pdplan ")) => {
            Some("a report pdplan wrote (`# pdplan ...`): not a task".into())
        }
        "md" => match crate::input::load::load_task(path) {
            // The parser's "no task field found" (see markdown.rs): a README, not a task.
            Err(Error::Missing { field, .. }) if field == "Environment Condition" => {
                Some("Markdown without any task field: not a task".into())
            }
            _ => None,
        },
        _ => Some("not a .md or .json file".into()),
    }
}

/// The first line of a regular file (bounded read; `None` for anything unreadable, which is then
/// reported when it is read as a task).
fn first_line(path: &Path) -> Option<String> {
    let text = crate::input::read::read_text_bounded(path, crate::input::read::MAX_TASK_BYTES).ok()?;
    text.lines().next().map(str::to_string)
}

fn walk(dir: &Path, exclude: Option<&Path>, out: &mut Vec<Input>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect::<Vec<_>>(),
        Err(e) => {
            out.push(Input {
                path: dir.to_path_buf(),
                name: stem(dir),
                kind: InputKind::Rejected(format!("cannot read folder: {e}")),
            });
            return;
        }
    };
    let mut entries = entries;
    entries.sort();
    for p in entries {
        if is_hidden(&p) {
            continue;
        }
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            let canon = p.canonicalize().ok();
            if canon.is_some() && canon.as_deref() == exclude {
                continue;
            }
            walk(&p, exclude, out);
        } else if meta.file_type().is_symlink() && p.is_dir() {
            out.push(Input {
                path: p.clone(),
                name: stem(&p),
                kind: InputKind::Skipped("symbolic link to a folder: not followed".into()),
            });
        } else {
            let kind = match not_a_task(&p) {
                None => InputKind::Task,
                Some(why) => InputKind::Skipped(why),
            };
            out.push(Input {
                name: stem(&p),
                path: p,
                kind,
            });
        }
    }
}

/// The inputs in order: files as given, folders walked in sorted order; the same file given
/// twice is kept once; tasks sharing a sub-folder name are rejected.
pub fn collect(inputs: &[PathBuf], out_dir: &Path) -> Vec<Input> {
    let exclude = out_dir.canonicalize().ok();
    let mut found = Vec::new();
    for p in inputs {
        if p.is_dir() {
            walk(p, exclude.as_deref(), &mut found);
        } else {
            found.push(Input {
                path: p.clone(),
                name: stem(p),
                kind: InputKind::Task,
            });
        }
    }
    // The same file twice (a file and its folder): keep the first.
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|i| seen.insert(i.path.canonicalize().unwrap_or_else(|_| i.path.clone())));
    // Sub-folder names: unique among tasks, never a summary file's name.
    let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, inp) in found.iter().enumerate() {
        if inp.kind == InputKind::Task {
            by_name.entry(inp.name.to_lowercase()).or_default().push(i);
        }
    }
    for idx in by_name.values() {
        for &i in idx {
            let name = found[i].name.clone();
            if SUMMARY_FILES.contains(&name.to_lowercase().as_str()) {
                found[i].kind = InputKind::Rejected(format!(
                    "its output sub-folder `{name}` would take the name of the batch summary; rename the file"
                ));
            } else if idx.len() > 1 {
                let others: Vec<String> = idx
                    .iter()
                    .filter(|&&j| j != i)
                    .map(|&j| found[j].path.display().to_string())
                    .collect();
                found[i].kind = InputKind::Rejected(format!(
                    "output sub-folder `{name}` is also the one of {}; rename one of them",
                    others.join(", ")
                ));
            }
        }
    }
    found
}

fn phase_row(mode: Mode, c: &crate::ilp::PhaseChoice) -> PhaseRow {
    let counting = crate::plan::Counting::of(mode);
    PhaseRow {
        layout: c.candidate.layout,
        batch_per_instance: c.candidate.batch,
        replicas: c.instances,
        gpus: c.gpus(),
        tokens_per_s_per_gpu: crate::plan::phase_tokens_per_gpu(c, counting),
    }
}

/// The plan files of a task folder.
pub const PLAN_FILES: [&str; 3] = ["prefill.json", "decode.json", "submission.json"];

/// Remove plan files an earlier run left in a task's folder (the task failed or was cancelled
/// this time), under the folder's lock; only regular files are removed.
pub fn remove_stale(dir: &Path) -> crate::error::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut set = OutputSet::new();
    for f in PLAN_FILES {
        set.remove(dir.join(f));
    }
    set.write().map(|_| ())
}

/// A failed task's result: its error, and no plan left in its folder.
fn failed(input: &Input, dir: &Path, e: &Error, start: Instant) -> TaskResult {
    let mut res = TaskResult::bare(input, Status::of(e), e.to_string());
    if let Err(w) = remove_stale(dir) {
        res.status = Status::OutputError;
        res.reason = format!("{e}; and {w}");
    }
    res.solve_time_s = start.elapsed().as_secs_f64();
    res
}

/// Read, solve, write one task (and compare it with the baselines when asked).
pub fn solve_one(input: &Input, opts: &Options) -> TaskResult {
    match &input.kind {
        InputKind::Skipped(why) => return TaskResult::bare(input, Status::Skipped, why.clone()),
        InputKind::Rejected(why) => {
            if input.path.is_dir() {
                return TaskResult::bare(input, Status::BadInput, why.clone());
            }
            // A duplicate stem: neither task may keep plans that the summary does not vouch for.
            let e = Error::Usage(why.clone());
            return failed(input, &opts.out.join(&input.name), &e, Instant::now());
        }
        InputKind::Task => {}
    }
    let dir = opts.out.join(&input.name);
    let start = Instant::now();
    let r = match crate::app::pipeline::read_task(&input.path) {
        Ok(r) => r,
        Err(e) => return failed(input, &dir, &e, start),
    };
    let mode = Mode::of(&r.task);
    let solved = crate::app::pipeline::solve(&r, Some(mode));
    let solve_time_s = start.elapsed().as_secs_f64();
    let mut res = TaskResult {
        mode: Some(mode),
        solve_time_s,
        ..TaskResult::bare(input, Status::Solved, String::new())
    };
    match &solved {
        Ok(sol) => {
            let d = &sol.deployment;
            let score = baselines::score(&r.task, mode, &d.prefill, &d.decode);
            res.solved = Some(Solved {
                prefill: phase_row(mode, &d.prefill),
                decode: phase_row(mode, &d.decode),
                // The plan's TTFT: under load (batch formation, queueing, KV hand-off) in the
                // rate reading, as the plan's requirement check reads it.
                ttft_s: sol.plans[0].performance.ttft_s,
                tpot_s: d.decode.candidate.figures.tpot_s,
                request_rate_per_s: d.request_rate_per_s,
                objective: score.objective,
            });
            if let Err(e) = crate::app::pipeline::write_solution(&dir, &input.path, sol) {
                return TaskResult {
                    solve_time_s,
                    ..failed(input, &dir, &e, start)
                };
            }
            if opts.compare {
                let c = compare::compare(&input.name, &r.task, mode, Ok(d), solve_time_s);
                let best = c.best_heuristic();
                res.compare = Some(CompareRow {
                    best_baseline: best.as_ref().map(|b| b.name.clone()),
                    best_baseline_objective: best.as_ref().map(|b| b.objective),
                    gain: best.as_ref().and_then(|b| b.gain),
                    gpus_saved: best.as_ref().and_then(|b| b.gpus_saved),
                    gain_text: best.map_or("-".into(), |b| b.gain_text),
                    beaten_by: c.beaten_by().iter().map(|r| r.name.clone()).collect(),
                });
            }
        }
        Err(e) => {
            return TaskResult {
                mode: Some(mode),
                solve_time_s,
                ..failed(input, &dir, e, start)
            };
        }
    }
    res
}

/// A panic inside one task is that task's internal error, not the end of the batch.
fn solve_guarded(input: &Input, opts: &Options) -> TaskResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| solve_one(input, opts))).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        TaskResult::bare(input, Status::InternalError, format!("internal error: {msg}"))
    })
}

/// Solve every input on `opts.jobs` threads. `on_done(index, result)` is called on the calling
/// thread as each finishes (in completion order); the returned results are in input order.
/// Once `cancel` is set no new task starts; those not started are `Cancelled`.
pub fn run(
    inputs: &[Input],
    opts: &Options,
    cancel: &AtomicBool,
    mut on_done: impl FnMut(usize, &TaskResult),
) -> Report {
    let start = Instant::now();
    let jobs = opts.jobs.max(1).min(inputs.len().max(1));
    // Each task enumerates on its share of the cores (the tasks already run side by side).
    let share = (crate::candidates::machine_cores() / jobs).max(1);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<TaskResult>> = vec![None; inputs.len()];
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                crate::candidates::with_threads(share, || {
                    loop {
                        if cancel.load(Ordering::SeqCst) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(input) = inputs.get(i) else { break };
                        if tx.send((i, solve_guarded(input, opts))).is_err() {
                            break;
                        }
                    }
                })
            });
        }
        drop(tx);
        for (i, r) in rx {
            on_done(i, &r);
            results[i] = Some(r);
        }
    });
    let cancelled = results.iter().any(Option::is_none);
    let results = results
        .into_iter()
        .zip(inputs)
        .map(|(r, input)| {
            r.unwrap_or_else(|| {
                let mut res =
                    TaskResult::bare(input, Status::Cancelled, "interrupted before it started".into());
                if input.kind == InputKind::Task
                    && let Err(e) = remove_stale(&opts.out.join(&input.name))
                {
                    res.reason = format!("interrupted before it started; {e}");
                }
                res
            })
        })
        .collect();
    Report {
        results,
        wall_s: start.elapsed().as_secs_f64(),
        jobs,
        compare: opts.compare,
        cancelled,
    }
}

/// Write `summary.csv` and `summary.md` atomically into the output folder.
pub fn write_summary(out: &Path, report: &Report) -> crate::error::Result<Vec<PathBuf>> {
    crate::app::output::write_files(
        out,
        &[
            ("summary.csv", crate::report::batch::summary_csv(report)?),
            ("summary.md", crate::report::batch::summary_md(report)),
        ],
    )
}
