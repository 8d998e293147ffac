//! `pdplan bench`: how fast `solve` is (median of several runs).
//!
//! 1. **Speed** (always): every task file of a folder, and the budget fixture and the Qwen3 task
//!    at 4,096 GPUs — in-process wall and CPU medians of `solve` (enumerate, prune, ILP, verify,
//!    plans; no writes), the enumeration's cost per candidate in ns, and the same `solve` as a
//!    process (`pdplan solve TASK -o TMP`: start-up, reading and writing included) for this binary
//!    and, with `--baseline BIN`, for a previous release measured in the same run (same method,
//!    the two processes taking turns run by run, so that both see the same machine state): the
//!    ratio is baseline / this.
//! 2. **Growth** (`--growth`): time against the GPU budget (8 … 4,096) and against the experts,
//!    layers and batch of the Qwen3 task.
//! 3. **Exhaustive** (`--exhaustive`): `solve` against exhaustive enumeration on every fixture and
//!    on budgets 8..4096, and ILP solve time against the number of candidates in the model.
//!
//! CPU time is user + system time from `getrusage` (all threads; for a process, its children
//! counter after `wait`), so a run on 2 cores can take more CPU than wall time.

use super::BenchArgs;
use crate::candidates::{self, Candidate};
use crate::error::{Error, Result};
use crate::ilp::formulation::{Mode, Objective};
use crate::ilp::{self, oracle, solver};
use crate::layout::Phase;
use crate::spec::task::Task;
use std::path::{Path, PathBuf};
use std::time::Instant;

mod speed;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median seconds of `runs` calls of `f`; the last result is returned.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        out = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    (median(times), out.expect("at least one run"))
}

fn ms(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else {
        format!("{:.2}", s * 1e3)
    }
}

/// Exhaustive enumeration as an enumeration tool does it: every candidate, every pair.
fn exhaustive_all(task: &Task, mode: Mode, max_work: u64) -> Option<(u64, Option<oracle::Best>)> {
    let p = candidates::generate(task, Phase::Prefill).feasible;
    let d = candidates::generate(task, Phase::Decode).feasible;
    let objective = Objective::default_for(mode);
    let work = ilp::oracle_work(mode, objective, [&p, &d]);
    if work > max_work {
        return None;
    }
    Some((work, oracle::exhaustive_with(mode, objective, &p, &d)))
}

struct Row {
    name: String,
    mode: String,
    evaluated: u64,
    feasible: u64,
    in_model: u64,
    solve_s: f64,
    ilp_s: f64,
    exhaustive_s: f64,
    note: String,
}

fn header() {
    println!(
        "{:<34} {:<12} {:>8} {:>8} {:>6} {:>9} {:>8} {:>11} {:>7}  note",
        "task", "mode", "evald", "feasible", "in ILP", "solve ms", "ILP ms", "exhaust. ms", "ratio"
    );
}

fn print_row(r: &Row) {
    let ratio = if r.exhaustive_s.is_nan() {
        "-".to_string()
    } else {
        format!("{:.1}", r.exhaustive_s / r.solve_s)
    };
    println!(
        "{:<34} {:<12} {:>8} {:>8} {:>6} {:>9} {:>8} {:>11} {:>7}  {}",
        r.name,
        r.mode,
        r.evaluated,
        r.feasible,
        r.in_model,
        ms(r.solve_s),
        ms(r.ilp_s),
        ms(r.exhaustive_s),
        ratio,
        r.note
    );
}

fn mode_name(m: Mode) -> String {
    match m {
        Mode::NoLimit => "no-limit".into(),
        Mode::Budget { gpus } => format!("budget {gpus}"),
        Mode::Rate { rate } => format!("rate {rate}"),
    }
}

fn bench_task(name: &str, r: &crate::spec::resolve::Resolved, runs: usize, max_work: u64) -> Row {
    let mode = Mode::of(&r.task);
    let (solve_s, out) = time(runs, || crate::app::pipeline::solve(r, Some(mode)));
    let mut row = Row {
        name: name.to_string(),
        mode: mode_name(mode),
        evaluated: 0,
        feasible: 0,
        in_model: 0,
        solve_s,
        ilp_s: f64::NAN,
        exhaustive_s: f64::NAN,
        note: String::new(),
    };
    match &out {
        Ok(s) => {
            let rep = &s.deployment.solver;
            row.evaluated = rep.candidates;
            row.feasible = rep.feasible;
            row.in_model = rep.in_model;
            row.ilp_s = rep.ilp_time_s;
            row.note = format!("{}; oracle {}", rep.status, rep.oracle_check);
        }
        Err(e) => row.note = format!("{}: {}", e.kind(), first_line(&e.to_string())),
    }
    if out.is_ok() {
        let (ex_s, ex) = time(runs.min(3), || exhaustive_all(&r.task, mode, max_work));
        match ex {
            Some((work, Some(best))) => {
                row.exhaustive_s = ex_s;
                if let Ok(s) = &out {
                    let same = (s.deployment.solver.primary_value - best.objective).abs()
                        <= crate::params::ORACLE_REL_TOL * best.objective.abs().max(1.0);
                    row.note = format!(
                        "{}; exhaustive: {work} combinations, {}",
                        row.note,
                        if same { "same optimum" } else { "DIFFERENT OPTIMUM" }
                    );
                }
            }
            Some((_, None)) => row.note.push_str("; exhaustive: none"),
            None => row
                .note
                .push_str("; exhaustive skipped (work > --max-oracle-work)"),
        }
    }
    row
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn task_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("md" | "json")))
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    v.sort();
    Ok(v)
}

/// ILP time on growing subsets of the unpruned candidates of a budget task.
fn scaling(task: &Task, objective: Objective, runs: usize) {
    let mode = Mode::of(task);
    let all = [
        candidates::generate(task, Phase::Prefill).feasible,
        candidates::generate(task, Phase::Decode).feasible,
    ];
    println!(
        "\nILP solve time vs candidates in the model ({}, objective {}; {} + {} feasible candidates, evenly spaced subsets, no pruning):",
        mode_name(mode),
        objective.name(),
        all[0].len(),
        all[1].len()
    );
    println!(
        "{:>10} {:>9} {:>6} {:>12} {:>14}  status",
        "candidates", "variables", "rows", "2 solves ms", "µs / candidate"
    );
    let total = all[0].len() + all[1].len();
    let mut k = 16;
    while k / 2 < total {
        let take = |cs: &[Candidate]| -> Vec<Candidate> {
            let want = (k * cs.len()).div_ceil(total).max(1).min(cs.len());
            (0..want).map(|i| cs[i * cs.len() / want].clone()).collect()
        };
        let (p, d) = (take(&all[0]), take(&all[1]));
        let n = p.len() + d.len();
        let (t, res) = time(
            runs,
            || -> std::result::Result<(usize, usize, ilp::SolverStatus), String> {
                let f = ilp::formulation::build(
                    task,
                    mode,
                    objective,
                    ilp::formulation::Stage::Primary,
                    [&p, &d],
                );
                let s = solver::solve(&f.model, ilp::TIME_LIMIT_S, None).map_err(|e| format!("{e:?}"))?;
                let f2 = ilp::formulation::build(
                    task,
                    mode,
                    objective,
                    ilp::formulation::Stage::Secondary {
                        floor: s.objective,
                        tolerance: ilp::formulation::DEFAULT_TOLERANCE,
                    },
                    [&p, &d],
                );
                let s2 = solver::solve(&f2.model, ilp::TIME_LIMIT_S, None).map_err(|e| format!("{e:?}"))?;
                Ok((f2.model.vars.len(), f2.model.rows.len(), s2.status))
            },
        );
        match res {
            Ok((vars, rows, status)) => println!(
                "{n:>10} {vars:>9} {rows:>6} {:>12} {:>14.1}  {status}",
                ms(t),
                t * 1e6 / n as f64
            ),
            Err(e) => println!("{n:>10} {:>9} {:>6} {:>12} {:>14}  {e}", "-", "-", ms(t), "-"),
        }
        if k >= total {
            break;
        }
        k *= 2;
    }
}

pub fn run(args: BenchArgs) -> Result<i32> {
    let dir = args
        .tasks
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks"));
    let runs = super::limits::count("--runs", args.runs as u64, 1000)? as usize;
    println!(
        "pdplan bench: median of {runs} runs; {} CPU(s)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    speed::table(&dir, runs, args.baseline.as_deref())?;
    if args.growth {
        speed::growth(&dir, runs)?;
    }
    if args.exhaustive {
        exhaustive_tables(&dir, runs, args.max_oracle_work)?;
    }
    Ok(0)
}

/// `solve` against exhaustive enumeration, and ILP time against model size.
fn exhaustive_tables(dir: &Path, runs: usize, max_oracle_work: u64) -> Result<()> {
    println!(
        "\n== solve vs exhaustive enumeration (every feasible candidate, every pair) on {}",
        dir.display()
    );
    header();
    let mut budget_task = None;
    for path in task_files(dir)? {
        let name = file_name(&path);
        let r = match crate::app::pipeline::read_task(&path) {
            Ok(r) => r,
            Err(e) => {
                println!("{name:<34} (not a valid task: {})", first_line(&e.to_string()));
                continue;
            }
        };
        print_row(&bench_task(&name, &r, runs, max_oracle_work));
        if r.task.hardware.gpu_budget.is_some() && budget_task.is_none() {
            budget_task = Some((name.clone(), r.clone()));
        }
    }
    let qwen = crate::app::pipeline::read_task(&dir.join("qwen3-235b-moe.md")).ok();
    for (label, base) in [budget_task, qwen.map(|r| ("qwen3-235b-moe.md".to_string(), r))]
        .into_iter()
        .flatten()
    {
        println!("\n== GPU budgets on {label}");
        header();
        let mut b = 8u64;
        while b <= 4096 {
            let r = with_budget(&base, b);
            print_row(&bench_task(&format!("{label} @{b}"), &r, runs, max_oracle_work));
            b *= 2;
        }
    }
    if let Some(path) = task_files(dir)?
        .into_iter()
        .find(|p| p.to_string_lossy().contains("budget"))
        && let Ok(r) = crate::app::pipeline::read_task(&path)
    {
        // Count variables (min-gpus) and enumerated counts (total) at two budgets.
        scaling(&r.task, Objective::MinGpus, runs);
        let mut t = r.task.clone();
        t.hardware.gpu_budget = Some(512);
        scaling(&t, Objective::Total, runs);
        scaling(&t, Objective::MinGpus, runs);
    }
    Ok(())
}

/// The task under a GPU budget of `gpus` (as `solve --gpus` sets it; a target rate is dropped so
/// that the mode is the budget mode).
fn with_budget(base: &crate::spec::resolve::Resolved, gpus: u64) -> crate::spec::resolve::Resolved {
    let mut r = base.clone();
    r.task.hardware.gpu_budget = Some(gpus);
    r.task.requirements.request_rate_per_s = None;
    r
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
