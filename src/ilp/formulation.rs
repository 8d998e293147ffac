//! The ILP of DESIGN.md §5, one small function per constraint family, every row named.
//!
//! Variables, per phase `p` and candidate `c` (a layout with a per-instance batch):
//! `x_p_c ∈ {0,1}` (the phase uses this layout) and `n_p_c ∈ ℤ≥0` (its instance count);
//! in the budget mode also `rate ≥ 0` (requests/s the deployment sustains).
//! Units of coefficients are kept near unity: GiB, seconds, milliseconds, thousands of tokens/s.

use super::model::{Cmp, Model, Sense, VarKind};
use crate::candidates::Candidate;
use crate::layout::Phase;
use crate::task::Task;
use serde::Serialize;

/// What the deployment optimizes (DESIGN.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each phase holds the batch; max tokens/s per GPU, then fewest GPUs.
    NoLimit,
    /// At most `gpus` GPUs; max sustained request rate, then fewest GPUs.
    Budget { gpus: u64 },
    /// Sustain `rate` requests/s with the fewest GPUs.
    Rate { rate: f64 },
}

impl Mode {
    pub fn of(task: &Task) -> Mode {
        match (task.requirements.request_rate_per_s, task.hardware.gpu_budget) {
            (Some(rate), _) => Mode::Rate { rate },
            (None, Some(gpus)) => Mode::Budget { gpus },
            (None, None) => Mode::NoLimit,
        }
    }
}

/// Which solve of a lexicographic pair.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// The primary objective.
    Primary,
    /// Fewest GPUs with the primary objective held at its optimum: per-phase floors on tokens/s
    /// per GPU (no-limit mode) or a floor on the rate (budget mode).
    FewestGpus { floors: Vec<f64> },
    /// Fewest GPUs with no floor (the "fewest GPUs" alternative of the no-limit mode).
    FewestGpusOnly,
}

pub const GIB: f64 = (1u64 << 30) as f64;
/// Tokens/s are written in thousands in the model.
pub const KTOK: f64 = 1e3;
/// Relative slack on the floors of the second solve (numerical calm, not a change of optimum).
pub const FLOOR_SLACK: f64 = 1e-9;

/// Variable handles of one phase.
pub struct PhaseVars {
    pub phase: Phase,
    pub x: Vec<usize>,
    pub n: Vec<usize>,
}

/// The built model and where its variables are.
pub struct Formulation {
    pub model: Model,
    pub phases: Vec<PhaseVars>,
    pub rate: Option<usize>,
}

/// Objective coefficient of a candidate in the no-limit mode: its phase tokens/s per GPU (k).
pub fn tokens_per_gpu_k(c: &Candidate) -> f64 {
    c.cover_tokens_per_s_per_gpu / KTOK
}

/// Largest useful instance count of a candidate.
fn max_instances(mode: Mode, c: &Candidate) -> f64 {
    let g = c.gpus_per_instance();
    match mode {
        Mode::NoLimit => c.cover_instances as f64,
        Mode::Budget { gpus } => (gpus / g) as f64,
        Mode::Rate { rate } => {
            ((rate / c.figures.rate_requests_per_s).ceil() as u64).max(c.cover_instances) as f64
        }
    }
}

fn add_phase_vars(m: &mut Model, mode: Mode, phase: Phase, cands: &[Candidate]) -> PhaseVars {
    let mut x = Vec::new();
    let mut n = Vec::new();
    for c in cands {
        let id = c.id();
        x.push(m.add_var(format!("x_{}_{}", phase.name(), id), VarKind::Binary, 0.0, 1.0));
        n.push(m.add_var(
            format!("n_{}_{}", phase.name(), id),
            VarKind::Integer,
            0.0,
            max_instances(mode, c),
        ));
    }
    PhaseVars { phase, x, n }
}

/// `one_layout_p`: exactly one layout per phase.
fn one_layout(m: &mut Model, v: &PhaseVars) {
    let terms = v.x.iter().map(|&x| (x, 1.0)).collect();
    m.add_row(
        "one_layout",
        format!("one_layout_{}", v.phase.name()),
        terms,
        Cmp::Eq,
        1.0,
    );
}

/// `link_p_c`: instances only of the chosen layout (`n ≤ M·x`, M = the variable's upper bound).
fn link(m: &mut Model, v: &PhaseVars, cands: &[Candidate]) {
    for (i, c) in cands.iter().enumerate() {
        let big_m = m.vars[v.n[i]].upper;
        m.add_row(
            "link",
            format!("link_{}_{}", v.phase.name(), c.id()),
            vec![(v.n[i], 1.0), (v.x[i], -big_m)],
            Cmp::Le,
            0.0,
        );
    }
}

/// Whether a phase must hold the task's batch B at once. Without a GPU limit each phase serves
/// the batch (DESIGN.md §3 mode 1). With a budget or a target rate the batch is the concurrency
/// of generation: the decode pool keeps B sequences' KV cache; prefill instances are sized by the
/// rate they must match (a request is prefilled once, then handed over).
pub fn holds_batch(mode: Mode, phase: Phase) -> bool {
    mode == Mode::NoLimit || phase == Phase::Decode
}

/// `cover_p`: the instances hold the whole batch B at once.
fn cover(m: &mut Model, v: &PhaseVars, cands: &[Candidate], batch: u64) {
    let terms = cands
        .iter()
        .enumerate()
        .map(|(i, c)| (v.n[i], c.batch as f64))
        .collect();
    m.add_row(
        "cover",
        format!("cover_{}", v.phase.name()),
        terms,
        Cmp::Ge,
        batch as f64,
    );
}

/// `balance_p` (no-limit mode): no instance beyond those needed, so B splits evenly —
/// `Σ b·n − Σ (b − 1)·x ≤ B`, i.e. `(n − 1)·b < B` for the chosen layout.
fn balance(m: &mut Model, v: &PhaseVars, cands: &[Candidate], batch: u64) {
    let mut terms = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        terms.push((v.n[i], c.batch as f64));
        terms.push((v.x[i], -(c.batch as f64 - 1.0)));
    }
    m.add_row(
        "balance",
        format!("balance_{}", v.phase.name()),
        terms,
        Cmp::Le,
        batch as f64,
    );
}

/// `memory_p`: the most loaded GPU fits (GiB).
fn memory(m: &mut Model, v: &PhaseVars, cands: &[Candidate], capacity_bytes: f64) {
    let terms = cands
        .iter()
        .enumerate()
        .map(|(i, c)| (v.x[i], c.figures.memory.total_bytes / GIB))
        .collect();
    m.add_row(
        "memory",
        format!("memory_{}", v.phase.name()),
        terms,
        Cmp::Le,
        capacity_bytes / GIB,
    );
}

/// `ttft_prefill` (s) and `tpot_decode` (ms) requirement rows.
fn latency(m: &mut Model, v: &PhaseVars, cands: &[Candidate], task: &Task) {
    match v.phase {
        Phase::Prefill => {
            if let Some(limit) = task.requirements.ttft_s {
                let terms = cands
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (v.x[i], c.figures.ttft_s.unwrap_or(0.0)))
                    .collect();
                m.add_row("ttft", "ttft_prefill".into(), terms, Cmp::Le, limit);
            }
        }
        Phase::Decode => {
            if let Some(limit) = task.requirements.tpot_s {
                let terms = cands
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (v.x[i], c.figures.tpot_s.unwrap_or(0.0) * 1e3))
                    .collect();
                m.add_row("tpot", "tpot_decode".into(), terms, Cmp::Le, limit * 1e3);
            }
        }
    }
}

/// Per-GPU throughput of a candidate as the mode counts it (k tokens/s/GPU).
fn per_gpu_k(mode: Mode, c: &Candidate) -> f64 {
    match mode {
        Mode::NoLimit => tokens_per_gpu_k(c),
        _ => c.figures.throughput_tokens_per_s_per_gpu / KTOK,
    }
}

/// `throughput_per_gpu_p`: the requirement on tokens/s per GPU (k).
fn throughput_per_gpu(m: &mut Model, mode: Mode, v: &PhaseVars, cands: &[Candidate], task: &Task) {
    if let Some(min) = task.requirements.throughput_per_gpu_tokens_per_s {
        let terms = cands
            .iter()
            .enumerate()
            .map(|(i, c)| (v.x[i], per_gpu_k(mode, c)))
            .collect();
        m.add_row(
            "throughput_per_gpu",
            format!("throughput_per_gpu_{}", v.phase.name()),
            terms,
            Cmp::Ge,
            min / KTOK,
        );
    }
}

fn gpu_terms(phases: &[PhaseVars], cands: &[&[Candidate]]) -> Vec<(usize, f64)> {
    let mut terms = Vec::new();
    for (v, cs) in phases.iter().zip(cands) {
        for (i, c) in cs.iter().enumerate() {
            terms.push((v.n[i], c.gpus_per_instance() as f64));
        }
    }
    terms
}

/// Build the model for a mode and stage. `cands[0]` are prefill, `cands[1]` decode candidates.
pub fn build(task: &Task, mode: Mode, stage: &Stage, cands: [&[Candidate]; 2]) -> Formulation {
    let (sense, what) = match (mode, stage) {
        (Mode::NoLimit, Stage::Primary) => (Sense::Maximize, "max Σ phase tokens/s per GPU (thousands)"),
        (Mode::Budget { .. }, Stage::Primary) => (Sense::Maximize, "max sustained request rate (requests/s)"),
        _ => (Sense::Minimize, "min total GPUs"),
    };
    let name = format!(
        "pdplan_{}",
        match mode {
            Mode::NoLimit => "no_limit",
            Mode::Budget { .. } => "gpu_budget",
            Mode::Rate { .. } => "target_rate",
        }
    );
    let mut m = Model::new(&name, sense, what);
    let phases: Vec<PhaseVars> = Phase::BOTH
        .iter()
        .zip(cands)
        .map(|(&p, cs)| add_phase_vars(&mut m, mode, p, cs))
        .collect();
    let rate = match mode {
        Mode::Budget { .. } => Some(m.add_var("rate".into(), VarKind::Continuous, 0.0, f64::INFINITY)),
        _ => None,
    };
    for (v, cs) in phases.iter().zip(cands) {
        one_layout(&mut m, v);
        link(&mut m, v, cs);
        if holds_batch(mode, v.phase) {
            cover(&mut m, v, cs, task.workload.batch);
        }
        if mode == Mode::NoLimit {
            balance(&mut m, v, cs, task.workload.batch);
        }
        memory(&mut m, v, cs, task.hardware.memory_bytes);
        latency(&mut m, v, cs, task);
        throughput_per_gpu(&mut m, mode, v, cs, task);
        match mode {
            Mode::Budget { .. } => {
                let mut terms = vec![(rate.expect("budget mode has a rate variable"), 1.0)];
                terms.extend(
                    cs.iter()
                        .enumerate()
                        .map(|(i, c)| (v.n[i], -c.figures.rate_requests_per_s)),
                );
                m.add_row(
                    "rate_match",
                    format!("rate_{}", v.phase.name()),
                    terms,
                    Cmp::Le,
                    0.0,
                );
            }
            Mode::Rate { rate } => {
                let terms = cs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (v.n[i], c.figures.rate_requests_per_s))
                    .collect();
                m.add_row(
                    "rate_match",
                    format!("rate_{}", v.phase.name()),
                    terms,
                    Cmp::Ge,
                    rate,
                );
            }
            Mode::NoLimit => {}
        }
    }
    if let Mode::Budget { gpus } = mode {
        m.add_row(
            "gpu_budget",
            "gpu_budget".into(),
            gpu_terms(&phases, &cands),
            Cmp::Le,
            gpus as f64,
        );
    }
    // Objective and the floors of a second solve.
    match (mode, stage) {
        (Mode::NoLimit, Stage::Primary) => {
            for (v, cs) in phases.iter().zip(cands) {
                m.objective
                    .extend(cs.iter().enumerate().map(|(i, c)| (v.x[i], tokens_per_gpu_k(c))));
            }
        }
        (Mode::Budget { .. }, Stage::Primary) => m.objective = vec![(rate.expect("rate var"), 1.0)],
        _ => m.objective = gpu_terms(&phases, &cands),
    }
    if let Stage::FewestGpus { floors } = stage {
        match mode {
            Mode::NoLimit => {
                for ((v, cs), &floor) in phases.iter().zip(cands).zip(floors) {
                    let terms = cs
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (v.x[i], tokens_per_gpu_k(c)))
                        .collect();
                    m.add_row(
                        "objective_floor",
                        format!("objective_floor_{}", v.phase.name()),
                        terms,
                        Cmp::Ge,
                        floor - FLOOR_SLACK * floor.abs().max(1.0),
                    );
                }
            }
            Mode::Budget { .. } => {
                let floor = floors[0];
                m.add_row(
                    "objective_floor",
                    "objective_floor_rate".into(),
                    vec![(rate.expect("rate var"), 1.0)],
                    Cmp::Ge,
                    floor - FLOOR_SLACK * floor.abs().max(1.0),
                );
            }
            Mode::Rate { .. } => {}
        }
    }
    Formulation {
        model: m,
        phases,
        rate,
    }
}
