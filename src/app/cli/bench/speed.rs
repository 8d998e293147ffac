//! The speed table (wall and CPU medians in-process and as a process, against a baseline binary)
//! and the growth tables of `pdplan bench`.

use super::{file_name, first_line, median, task_files, with_budget};
use crate::error::{Error, Result};
use crate::ilp::formulation::Mode;
use crate::spec::resolve::Resolved;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// CPU seconds (user + system) of this process (`children = false`, all threads) or of its
/// waited-for children; NaN where `getrusage` is not available.
fn cpu_s(children: bool) -> f64 {
    #[cfg(unix)]
    {
        use nix::sys::resource::{UsageWho, getrusage};
        let who = if children {
            UsageWho::RUSAGE_CHILDREN
        } else {
            UsageWho::RUSAGE_SELF
        };
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
        getrusage(who).map_or(f64::NAN, |u| secs(u.user_time()) + secs(u.system_time()))
    }
    #[cfg(not(unix))]
    {
        let _ = children;
        f64::NAN
    }
}

/// Medians of one measured thing (seconds).
#[derive(Clone, Copy)]
struct Timing {
    wall_s: f64,
    cpu_s: f64,
}

/// Wall and CPU samples of one measured thing.
#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Samples {
    /// Time one run of `f` (CPU of this process, or of children when `children`); false when it
    /// failed (its sample is kept but the measurement is void).
    fn take(&mut self, children: bool, f: &mut dyn FnMut() -> bool) -> bool {
        let (t, c) = (Instant::now(), cpu_s(children));
        let ok = f();
        self.wall.push(t.elapsed().as_secs_f64());
        self.cpu.push(cpu_s(children) - c);
        ok
    }

    fn medians(self) -> Timing {
        Timing {
            wall_s: median(self.wall),
            cpu_s: median(self.cpu),
        }
    }
}

/// Run `f` `runs` times; median wall and CPU (of this process, or of children when `children`).
fn measure(runs: usize, children: bool, mut f: impl FnMut() -> bool) -> Option<Timing> {
    let mut s = Samples::default();
    for _ in 0..runs {
        if !s.take(children, &mut f) {
            return None;
        }
    }
    Some(s.medians())
}

/// [`measure`] of two processes taking turns (this binary, then the baseline, `runs` times): a
/// burst of load on the machine then slows both sides of the ratio alike instead of whichever
/// side was being measured at the time.
fn measure_turns(
    runs: usize,
    mut a: impl FnMut() -> bool,
    mut b: impl FnMut() -> bool,
) -> (Option<Timing>, Option<Timing>) {
    let (mut sa, mut sb) = (Samples::default(), Samples::default());
    let (mut ok_a, mut ok_b) = (true, true);
    for _ in 0..runs {
        ok_a = ok_a && sa.take(true, &mut a);
        ok_b = ok_b && sb.take(true, &mut b);
    }
    (ok_a.then(|| sa.medians()), ok_b.then(|| sb.medians()))
}

/// One scenario: a task file, optionally under a GPU budget (`solve --gpus`).
struct Scenario {
    name: String,
    path: PathBuf,
    gpus: Option<u64>,
}

/// `BIN solve TASK -o OUT [--gpus N]` once; true when it ran to a verdict (plan or infeasible).
fn run_process(bin: &Path, s: &Scenario, out: &Path) -> bool {
    let mut cmd = Command::new(bin);
    cmd.arg("solve").arg(&s.path).arg("-o").arg(out);
    if let Some(g) = s.gpus {
        cmd.arg("--gpus").arg(g.to_string());
    }
    let status = cmd.stdout(Stdio::null()).stderr(Stdio::null()).status();
    // 0: plans written; 3: infeasible (a verdict, timed like a plan).
    status.is_ok_and(|st| matches!(st.code(), Some(0 | 3)))
}

fn ms(s: Option<f64>) -> String {
    match s {
        Some(v) if v.is_finite() => format!("{:.1}", v * 1e3),
        _ => "-".into(),
    }
}

fn ratio(base: Option<f64>, this: Option<f64>) -> String {
    match (base, this) {
        (Some(b), Some(t)) if t > 0.0 && b.is_finite() && t.is_finite() => format!("{:.1}×", b / t),
        _ => "-".into(),
    }
}

/// In-process: wall and CPU medians of `solve`, candidates evaluated and the enumeration's ns per
/// candidate (median enumeration time / candidates).
fn in_process(r: &Resolved, runs: usize) -> (Option<Timing>, u64, Option<f64>) {
    let mode = Mode::of(&r.task);
    let mut enumeration = Vec::new();
    let mut evaluated = 0;
    let t = measure(runs, false, || match crate::app::pipeline::solve(r, Some(mode)) {
        Ok(s) => {
            evaluated = s.deployment.solver.candidates;
            enumeration.push(s.deployment.solver.enumeration_time_s);
            true
        }
        Err(e) => matches!(e, Error::Infeasible { .. }),
    });
    let ns = (evaluated > 0).then(|| median(enumeration) * 1e9 / evaluated as f64);
    (t, evaluated, ns)
}

/// Every task file of `dir`, then the budget fixture and the Qwen3 task at 4,096 GPUs.
fn scenarios(dir: &Path) -> Result<Vec<Scenario>> {
    let mut v: Vec<Scenario> = task_files(dir)?
        .into_iter()
        .map(|path| Scenario {
            name: file_name(&path),
            path,
            gpus: None,
        })
        .collect();
    for name in ["llama3-70b-budget-tpot.md", "qwen3-235b-moe.md"] {
        let path = dir.join(name);
        if path.is_file() {
            v.push(Scenario {
                name: format!("{name} @4096"),
                path,
                gpus: Some(4096),
            });
        }
    }
    Ok(v)
}

/// A folder for the plans the timed processes write, removed afterwards.
fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("pdplan-bench-{}", std::process::id()))
}

/// The speed table.
pub fn table(dir: &Path, runs: usize, baseline: Option<&Path>) -> Result<()> {
    let this = std::env::current_exe().map_err(|source| Error::Read {
        path: PathBuf::from("/proc/self/exe"),
        source,
    })?;
    println!(
        "\n== speed: in-process solve (no writes); as a process `solve TASK -o TMP` for this binary{} (ratio = baseline / this, process medians)",
        baseline.map_or(String::new(), |b| format!(" and the baseline {}", b.display()))
    );
    println!(
        "{:<34} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9} {:>8} {:>7} {:>7}",
        "task",
        "cands",
        "ns/cand",
        "wall ms",
        "CPU ms",
        "proc wall",
        "proc CPU",
        "base wall",
        "base CPU",
        "×wall",
        "×CPU"
    );
    let out = scratch_dir();
    for s in scenarios(dir)? {
        let r = match crate::app::pipeline::read_task(&s.path) {
            Ok(r) => s.gpus.map_or(r.clone(), |g| with_budget(&r, g)),
            Err(e) => {
                println!(
                    "{:<34} (not a valid task: {})",
                    s.name,
                    first_line(&e.to_string())
                );
                continue;
            }
        };
        let (inp, cands, ns) = in_process(&r, runs);
        let (proc_t, base_t) = match baseline {
            Some(b) => measure_turns(runs, || run_process(&this, &s, &out), || run_process(b, &s, &out)),
            None => (measure(runs, true, || run_process(&this, &s, &out)), None),
        };
        let (pw, pc) = (proc_t.map(|t| t.wall_s), proc_t.map(|t| t.cpu_s));
        let (bw, bc) = (base_t.map(|t| t.wall_s), base_t.map(|t| t.cpu_s));
        println!(
            "{:<34} {:>7} {:>8} {:>9} {:>8} {:>9} {:>8} {:>9} {:>8} {:>7} {:>7}",
            s.name,
            cands,
            ns.map_or("-".into(), |v| format!("{v:.0}")),
            ms(inp.map(|t| t.wall_s)),
            ms(inp.map(|t| t.cpu_s)),
            ms(pw),
            ms(pc),
            ms(bw),
            ms(bc),
            ratio(bw, pw),
            ratio(bc, pc)
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

/// One growth row: in-process medians of a variant of a task.
fn growth_row(label: &str, r: &Resolved, runs: usize) {
    let (t, cands, ns) = in_process(r, runs);
    println!(
        "{label:<24} {cands:>9} {:>9} {:>9} {:>8}",
        ns.map_or("-".into(), |v| format!("{v:.0}")),
        ms(t.map(|t| t.wall_s)),
        ms(t.map(|t| t.cpu_s)),
    );
}

fn growth_header(what: &str) {
    println!("\n== growth: {what}");
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>8}",
        "variant", "cands", "ns/cand", "wall ms", "CPU ms"
    );
}

/// Time against the GPU budget (budget fixture) and the experts, layers and batch (Qwen3 task).
pub fn growth(dir: &Path, runs: usize) -> Result<()> {
    if let Ok(r) = crate::app::pipeline::read_task(&dir.join("llama3-70b-budget-tpot.md")) {
        growth_header("GPU budget, llama3-70b-budget-tpot.md");
        for k in 3..=12 {
            growth_row(&format!("{} GPUs", 1u64 << k), &with_budget(&r, 1 << k), runs);
        }
    }
    let Ok(r) = crate::app::pipeline::read_task(&dir.join("qwen3-235b-moe.md")) else {
        return Ok(());
    };
    if r.task.model.moe.is_some() {
        growth_header("experts (top-k 8), qwen3-235b-moe.md");
        for e in [16, 32, 64, 128, 256] {
            let mut v = r.clone();
            if let Some(m) = v.task.model.moe.as_mut() {
                m.experts = e;
            }
            growth_row(&format!("{e} experts"), &v, runs);
        }
    }
    growth_header("layers, qwen3-235b-moe.md");
    for layers in [12, 24, 47, 94, 188] {
        let mut v = r.clone();
        v.task.model.layers = layers;
        growth_row(&format!("{layers} layers"), &v, runs);
    }
    growth_header("batch B, qwen3-235b-moe.md");
    for b in [1, 16, 128, 1024, 8192, 65536] {
        let mut v = r.clone();
        v.task.workload.batch = b;
        growth_row(&format!("B = {b}"), &v, runs);
    }
    Ok(())
}
