//! Evaluate one given strategy (no search): is it consistent under DESIGN.md §2, does it fit,
//! what are its TTFT / TPOT / throughput, and how far is it from pdplan's optimum.
//!
//! The degrees come from the task's `Parallelism Strategy` section ([`GivenStrategy`]) with
//! command-line flags overriding them. A strategy written the way engineers often write it
//! (`TP16, PP4, DP4, EP32 on 128 GPUs`) may not be a layout at all: the degrees are then
//! *read* — every valid layout (with its replica count) that uses the stated GPU count is a
//! candidate reading, its distance is the number of stated degrees it changes, and the nearest
//! readings are evaluated. `dp` ("Data parallelism") is ambiguous: it matches a reading whose
//! attention-DP, replicas, or their product equals it.
//!
//! Exit policy: [`crate::error::exit::OK`] only when the strategy as written is a consistent
//! layout and meets every requirement (memory, TTFT, TPOT, throughput per GPU, batch) in every
//! phase evaluated; otherwise [`crate::error::exit::INFEASIBLE`] — an invalid strategy is
//! reported as not deployable as written even when a nearby reading would pass.

use crate::candidates::{Candidate, holds_batch};
use crate::cost::{self, Figures};
use crate::error::exit;
use crate::ilp::{self, OracleCheck, PhaseChoice, SolverReport, SolverStatus, formulation::Mode};
use crate::layout::{self, Layout, Limits, Phase, kv_heads_per_gpu};
use crate::plan::{
    self, Counting, DeploymentFacts, EvaluateMode, EvaluatedDeployment, EvaluationFacts, PhaseInput,
    PhasePlan,
};
use crate::spec::resolve::Resolved;
use crate::spec::task::{AttentionKind, GivenStrategy, Model, Task};
use serde::Serialize;

use crate::params::GIB;
/// Nearest readings evaluated per phase.
pub const MAX_READINGS: usize = 3;

/// The strategy as stated: the task section with the flags laid over it.
pub fn merge(task: Option<&GivenStrategy>, flags: &GivenStrategy) -> GivenStrategy {
    let t = task.cloned().unwrap_or_default();
    GivenStrategy {
        gpus: flags.gpus.or(t.gpus),
        tp: flags.tp.or(t.tp),
        pp: flags.pp.or(t.pp),
        sp: flags.sp.or(t.sp),
        dp: flags.dp.or(t.dp),
        attention_dp: flags.attention_dp.or(t.attention_dp),
        ep: flags.ep.or(t.ep),
        expert_tp: flags.expert_tp.or(t.expert_tp),
        replicas: flags.replicas.or(t.replicas),
        batch: flags.batch.or(t.batch),
    }
}

/// A layout with a replica count that reads the given strategy, and what it changes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Reading {
    pub layout: Layout,
    pub replicas: u64,
    /// Stated degrees this reading changes, in words (`DP 4 → attention-DP 2`); empty = as written.
    pub changes: Vec<String>,
}

impl Reading {
    pub fn gpus(&self) -> u64 {
        self.replicas * self.layout.gpus_per_instance()
    }
    pub fn describe(&self) -> String {
        let l = &self.layout;
        let mut s = format!("TP{} PP{}", l.tp, l.pp);
        if l.sp > 1 {
            s.push_str(&format!(" SP{}", l.sp));
        }
        s.push_str(&format!(" attention-DP{}", l.attention_dp));
        if l.ep > 1 || l.expert_tp > 1 {
            s.push_str(&format!(" EP{} expert-TP{}", l.ep, l.expert_tp));
        }
        format!(
            "{s}, {} replica{} = {} GPUs",
            self.replicas,
            if self.replicas == 1 { "" } else { "s" },
            self.gpus()
        )
    }
}

/// One stated degree a reading changes.
enum Change<'a> {
    /// A named degree: stated, then read.
    Degree(&'a str, u64, u64),
    /// `dp` read as neither attention-DP, nor replicas, nor their product.
    Dp {
        dp: u64,
        attention_dp: u64,
        replicas: u64,
    },
}

/// Visit the changes a reading makes to the stated degrees, in the order they are reported.
fn each_change(g: &GivenStrategy, l: &Layout, replicas: u64, mut visit: impl FnMut(Change)) {
    for (name, stated, got) in [
        ("TP", g.tp, l.tp),
        ("PP", g.pp, l.pp),
        ("SP", g.sp, l.sp),
        ("EP", g.ep, l.ep),
        ("expert-TP", g.expert_tp, l.expert_tp),
        ("attention-DP", g.attention_dp, l.attention_dp),
        ("replicas", g.replicas, replicas),
    ] {
        if let Some(s) = stated
            && s != got
        {
            visit(Change::Degree(name, s, got));
        }
    }
    if let Some(dp) = g.dp
        && ![l.attention_dp, replicas, l.attention_dp * replicas].contains(&dp)
    {
        visit(Change::Dp {
            dp,
            attention_dp: l.attention_dp,
            replicas,
        });
    }
}

/// The changes a reading makes to the stated degrees, in words.
fn changes(g: &GivenStrategy, l: &Layout, replicas: u64) -> Vec<String> {
    let mut out = Vec::new();
    each_change(g, l, replicas, |c| {
        out.push(match c {
            Change::Degree(name, s, got) => format!("{name} {s} → {got}"),
            Change::Dp {
                dp,
                attention_dp,
                replicas,
            } => format!(
                "DP {dp} → attention-DP {attention_dp} × {replicas} replica{}",
                if replicas == 1 { "" } else { "s" }
            ),
        })
    });
    out
}

/// How many stated degrees a reading changes ([`changes`] without the words).
fn change_count(g: &GivenStrategy, l: &Layout, replicas: u64) -> usize {
    let mut n = 0;
    each_change(g, l, replicas, |_| n += 1);
    n
}

/// The nearest valid readings of the strategy for a phase, at most `max`: those that change the
/// fewest stated degrees, ordered by the smallest moves (Σ |log2(new / stated)|, so TP16 → 8 is
/// nearer than PP4 → 1), then fewer GPUs, then layout order. With a stated GPU count only
/// readings that use exactly that many GPUs. Every layout is weighed by its change count alone;
/// only the nearest are ordered and put into words (ordering and describing every layout took
/// ~35M instructions, a fifth of a solve of the Qwen3 given-strategy seed task).
pub fn nearest_readings(task: &Task, phase: Phase, g: &GivenStrategy, max: usize) -> Vec<Reading> {
    // In decode the stated SP does not apply (one token per step): not counted as a change.
    let stated = g_for(phase, g);
    let mut fewest = usize::MAX;
    let mut near: Vec<(Layout, u64)> = Vec::new();
    for (l, replicas) in valid_readings(task, phase, g) {
        let n = change_count(&stated, &l, replicas);
        if n < fewest {
            (fewest, near) = (n, Vec::new());
        }
        if n == fewest {
            near.push((l, replicas));
        }
    }
    near.sort_by_cached_key(|(l, replicas)| {
        (
            (1000.0 * moves(&stated, l, *replicas)).round() as u64,
            replicas * l.gpus_per_instance(),
            *l,
        )
    });
    near.into_iter()
        .take(max)
        .map(|(layout, replicas)| Reading {
            layout,
            replicas,
            changes: changes(&stated, &layout, replicas),
        })
        .collect()
}

/// Every valid reading of the strategy for a phase as (layout, replicas), in layout order; with a
/// stated GPU count only those that use exactly that many GPUs.
fn valid_readings(task: &Task, phase: Phase, g: &GivenStrategy) -> Vec<(Layout, u64)> {
    let m = &task.model;
    let gpus = g.gpus;
    let stated_w = g.tp.unwrap_or(1) * g.sp.unwrap_or(1) * g.attention_dp.or(g.dp).unwrap_or(1);
    let max_w = gpus.unwrap_or(u64::MAX).min(256.max(stated_w)).min(1024);
    let limits = Limits {
        max_width: max_w,
        max_pp: 16.max(g.pp.unwrap_or(1)).min(m.layers),
        max_instance_gpus: gpus.unwrap_or(4096),
    };
    let mut out = Vec::new();
    for l in layout::enumerate(m, phase, &limits) {
        if phase == Phase::Decode && l.sp != 1 {
            continue;
        }
        let per = l.gpus_per_instance();
        match gpus {
            Some(n) if n % per == 0 => out.push((l, n / per)),
            Some(_) => {}
            None => {
                let mut v = vec![g.replicas.unwrap_or(1)];
                if let Some(dp) = g.dp {
                    v.push(dp);
                }
                v.sort_unstable();
                v.dedup();
                out.extend(v.into_iter().map(|r| (l, r)));
            }
        }
    }
    out
}

fn g_for(phase: Phase, g: &GivenStrategy) -> GivenStrategy {
    let mut s = g.clone();
    if phase == Phase::Decode {
        s.sp = None;
    }
    s
}

/// How far a reading moves the stated degrees: `Σ |log2(new / stated)|`, a pipeline-depth move
/// counted twice (it re-partitions the layers over different GPUs, a larger change to a
/// deployment than regrouping GPUs inside a stage).
fn moves(g: &GivenStrategy, l: &Layout, replicas: u64) -> f64 {
    let d = |stated: Option<u64>, got: u64| stated.map_or(0.0, |s| ((got as f64) / (s as f64)).log2().abs());
    let dp = g.dp.map_or(0.0, |dp| {
        [l.attention_dp, replicas, l.attention_dp * replicas]
            .iter()
            .map(|&x| d(Some(dp), x))
            .fold(f64::INFINITY, f64::min)
    });
    d(g.tp, l.tp)
        + 2.0 * d(g.pp, l.pp)
        + d(g.sp, l.sp)
        + d(g.ep, l.ep)
        + d(g.expert_tp, l.expert_tp)
        + d(g.attention_dp, l.attention_dp)
        + d(g.replicas, replicas)
        + dp
}

/// The degrees as written, absent ones 1 (`dp` stands for attention-DP when that is absent).
struct Stated {
    tp: u64,
    pp: u64,
    sp: u64,
    dp: u64,
}

/// The strategy as written, checked against DESIGN.md §2, in words.
pub fn consistency(task: &Task, g: &GivenStrategy) -> Vec<String> {
    let m = &task.model;
    let st = Stated {
        tp: g.tp.unwrap_or(1),
        pp: g.pp.unwrap_or(1),
        sp: g.sp.unwrap_or(1),
        dp: g.attention_dp.or(g.dp).unwrap_or(1),
    };
    let mut out = Vec::new();
    if let (Some(gpus), Some(_)) = (g.gpus, g.dp) {
        out.extend(product_finding(&st, gpus));
    }
    if let Some(gpus) = g.gpus {
        out.extend(stage_findings(m, g, &st, gpus));
    }
    let tp = st.tp;
    if m.attention != AttentionKind::Mla && tp > m.kv_heads && tp.is_multiple_of(m.kv_heads) {
        out.push(format!(
            "TP{tp} > {} KV heads: every KV head is stored on {} GPUs (KV cache ×{} per GPU compared with TP{})",
            m.kv_heads,
            tp / m.kv_heads,
            tp / m.kv_heads,
            m.kv_heads
        ));
    }
    out
}

/// `TP × DP × PP (× SP)` against the stated GPU count.
fn product_finding(st: &Stated, gpus: u64) -> Option<String> {
    let Stated { tp, pp, sp, dp } = *st;
    let product = tp * dp * pp * sp;
    (product != gpus).then(|| {
        let (sp_name, sp_value) = if sp > 1 {
            (" × SP", format!(" × {sp}"))
        } else {
            ("", String::new())
        };
        format!(
            "TP × DP × PP{sp_name} = {tp} × {dp} × {pp}{sp_value} = {product} GPUs, but the strategy states {gpus} GPUs"
        )
    })
}

/// The stage width W the GPU count implies, and whether experts and attention fill it.
fn stage_findings(m: &Model, g: &GivenStrategy, st: &Stated, gpus: u64) -> Vec<String> {
    let pp = st.pp;
    if !gpus.is_multiple_of(pp) {
        return vec![format!(
            "{gpus} GPUs do not split into PP{pp} equal pipeline stages"
        )];
    }
    let replicas = g.replicas.unwrap_or(1);
    let w = gpus / pp / replicas.max(1);
    let mut out = vec![format!(
        "with PP{pp} on {gpus} GPUs{} each pipeline stage has W = {w} GPUs",
        if replicas > 1 {
            format!(" and {replicas} replicas")
        } else {
            String::new()
        }
    )];
    let (ep, etp) = (g.ep.unwrap_or(1), g.expert_tp.unwrap_or(1));
    if m.is_moe() && ep * etp != w {
        out.push(format!(
            "the experts use EP{ep} × expert-TP{etp} = {} GPUs per stage, not W = {w}",
            ep * etp
        ));
    }
    out.extend(attention_finding(m, st, w));
    out
}

/// Attention `tp × sp × dp` against the stage width, with the readings that would fill it.
fn attention_finding(m: &Model, st: &Stated, w: u64) -> Option<String> {
    let Stated { tp, sp, dp, .. } = *st;
    let attn = tp * sp * dp;
    if attn == w {
        return None;
    }
    let mut options = Vec::new();
    for t in [tp, w / (sp * dp).max(1)] {
        if t >= 1 && w.is_multiple_of(t * sp) && m.heads.is_multiple_of(t) {
            options.push(format!("TP{t} × attention-DP{}", w / (t * sp)));
        }
    }
    options.dedup();
    let fix = if options.is_empty() {
        String::new()
    } else {
        format!(
            " — it would need tp×sp×attention_dp = {w}: {}",
            options.join(", or ")
        )
    };
    Some(format!(
        "attention uses TP{tp} × SP{sp} × DP{dp} = {attn} GPUs per stage, but a stage has W = {w}{fix}"
    ))
}

/// One reading evaluated for one phase.
#[derive(Clone, Debug, Serialize)]
pub struct ReadingResult {
    pub reading: Reading,
    pub batch_per_instance: u64,
    pub figures: Figures,
    /// Phase tokens/s per GPU (instances share the task's batch).
    pub tokens_per_s_per_gpu: f64,
    /// Every requirement and check met.
    pub meets: bool,
    /// What is wrong, in words; empty when it meets everything.
    pub problems: Vec<String>,
    /// What costs more than it should without failing a requirement (KV-head replication).
    pub notes: Vec<String>,
    /// The plan (schema of `plan.schema.json`).
    #[serde(skip)]
    pub plan: PhasePlan,
}

/// The optimizer's answer for comparison (the plan's `evaluation.optimum`).
pub use crate::plan::Optimum;

/// A phase evaluated.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseEvaluation {
    pub phase: Phase,
    /// Nearest readings (the first is the one written to `--out`).
    pub results: Vec<ReadingResult>,
    pub optimum: Option<Optimum>,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub given: GivenStrategy,
    /// Findings about the strategy as written (inconsistencies, KV replication).
    pub findings: Vec<String>,
    /// The strategy as written is a valid layout with the stated GPU count.
    pub consistent: bool,
    pub phases: Vec<PhaseEvaluation>,
    /// Why no optimum could be computed, when it could not.
    pub optimum_error: Option<String>,
    pub exit_code: i32,
}

/// The `solver` object of an evaluated strategy: nothing was optimized.
fn evaluated_solver(cover: f64, gpus: u64) -> SolverReport {
    SolverReport {
        status: SolverStatus::Evaluated,
        objective: "none: a given strategy is evaluated, not optimized".into(),
        objective_kind: crate::ilp::formulation::Objective::PerGpu,
        objective_value: cover,
        primary_value: cover,
        secondary_value: gpus as f64,
        gap: 0.0,
        solve_time_s: 0.0,
        enumeration_time_s: 0.0,
        ilp_time_s: 0.0,
        time_limit_s: 0.0,
        candidates: 1,
        feasible: 0,
        in_model: 0,
        variables: 0,
        rows: 0,
        solves: 0,
        verified: false,
        oracle_check: OracleCheck::NotApplicable,
        engine_search: None,
        search_space: None,
    }
}

/// What is wrong with a reading, in words: memory, requirements, idle ranks, batch not held.
fn problems(task: &Task, c: &PhaseChoice, figures: &Figures, cover: f64, ttft: Option<f64>) -> Vec<String> {
    let l = &c.candidate.layout;
    let batch = c.candidate.batch;
    let mut problems = Vec::new();
    let mem = &figures.memory;
    if !mem.fits() {
        problems.push(format!(
            "does not fit: the most loaded GPU needs {:.1} GiB (weights {:.1}, KV cache {:.1}, activations {:.1}, reserve {:.1}) but has {:.1} GiB",
            mem.total_bytes / GIB,
            mem.weights_bytes / GIB,
            mem.kv_cache_bytes / GIB,
            mem.activations_bytes / GIB,
            mem.reserve_bytes / GIB,
            mem.capacity_bytes / GIB
        ));
    }
    problems.extend(requirement_problems(
        task,
        c.candidate.phase,
        figures,
        cover,
        ttft,
    ));
    if batch < l.attention_dp {
        problems.push(format!(
            "{batch} sequences per instance leave {} of the {} attention-DP ranks idle",
            l.attention_dp - batch,
            l.attention_dp
        ));
    }
    problems.extend(stream_problems(task, Mode::of(task), c));
    problems
}

/// What the phase misses as a whole under solve's rules: the batch B it must hold (both phases
/// without a GPU limit, the decode pool's floor with one) and, at a target rate, the rate it
/// must sustain.
fn stream_problems(task: &Task, mode: Mode, c: &PhaseChoice) -> Vec<String> {
    let mut out = Vec::new();
    let (b_total, batch) = (task.workload.batch, c.candidate.batch);
    if holds_batch(mode, c.candidate.phase) && c.instances * batch < b_total {
        out.push(format!(
            "{} replicas × {batch} sequences hold fewer than the batch of {b_total}",
            c.instances
        ));
    }
    if let Mode::Rate { rate } = mode {
        let capacity = c.instances as f64 * c.candidate.serving.rate_per_s;
        if capacity < rate * (1.0 - 1e-9) {
            out.push(format!(
                "{} replicas serve {capacity:.3} requests/s within the requirements, below the rate of {rate}",
                c.instances
            ));
        }
    }
    out
}

/// Rate reading: the requests/s each instance serves — the target rate shared by the
/// replicas, or (GPU budget) the instance's capacity ([`crate::candidates::Serving`]; for a
/// prefill instance no load keeps within TTFT, its load at the utilization cap). `None` in the
/// batch reading.
fn load_per_instance(mode: Mode, c: &PhaseChoice) -> Option<f64> {
    let cand = &c.candidate;
    match mode {
        Mode::NoLimit => None,
        Mode::Rate { rate } => Some(rate / c.instances.max(1) as f64),
        Mode::Budget { .. } if cand.serving.rate_per_s > 0.0 => Some(cand.serving.rate_per_s),
        Mode::Budget { .. } => {
            let d = cand.figures.ttft_s.or(cand.figures.tpot_s).unwrap_or(1.0);
            Some(crate::candidates::queueing::MAX_UTILIZATION * cand.batch as f64 / d)
        }
    }
}

/// TTFT, TPOT and throughput-per-GPU requirements a reading misses.
/// `ttft` is the plan's TTFT (under a request stream: with batch formation, queueing and the
/// KV hand-off at the instance's load; infinite when saturated); `phase` picks the phase's own
/// throughput requirement (`#Prefill` / `#Decode` scoping).
fn requirement_problems(
    task: &Task,
    phase: Phase,
    figures: &Figures,
    cover: f64,
    ttft: Option<f64>,
) -> Vec<String> {
    let req = &task.requirements;
    let mut problems = Vec::new();
    if let (Some(limit), Some(_)) = (req.ttft_s, figures.ttft_s) {
        let t = ttft.unwrap_or(f64::INFINITY);
        if t > limit {
            problems.push(format!("TTFT {t:.2} s exceeds the required {limit} s"));
        }
    }
    if let (Some(limit), Some(t)) = (req.tpot_s, figures.tpot_s)
        && t > limit
    {
        problems.push(format!(
            "TPOT {:.1} ms exceeds the required {:.1} ms",
            t * 1e3,
            limit * 1e3
        ));
    }
    if let Some(min) = req.throughput_per_gpu(matches!(phase, Phase::Prefill))
        && cover < min
    {
        problems.push(format!(
            "{cover:.0} tokens/s per GPU is below the required {min:.0}"
        ));
    }
    problems
}

/// What costs more than it should without failing a requirement (KV-head replication).
fn notes(task: &Task, l: &Layout) -> Vec<String> {
    let (_, repl) = kv_heads_per_gpu(&task.model, l.tp);
    if task.model.attention != AttentionKind::Mla && repl > 1 {
        vec![format!(
            "TP{} replicates each KV head {repl}× (the KV cache per GPU is {repl}× what TP{} would hold)",
            l.tp, task.model.kv_heads
        )]
    } else {
        Vec::new()
    }
}

fn evaluate_reading(r: &Resolved, phase: Phase, g: &GivenStrategy, reading: &Reading) -> ReadingResult {
    let task = &r.task;
    let l = &reading.layout;
    let b_total = task.workload.batch;
    let batch = g
        .batch
        .unwrap_or_else(|| b_total.div_ceil(reading.replicas))
        .max(1);
    let figures = cost::with_max_length(task, phase, l, batch, cost::evaluate(task, phase, l, batch));
    let choice = PhaseChoice {
        candidate: Candidate::new(task, phase, l, batch, figures.clone()),
        instances: reading.replicas,
    };
    // The same serving rules as `solve` (DESIGN.md §3.1): the batch reading without a GPU
    // limit, the rate reading with a budget or a target rate.
    let mode = Mode::of(task);
    let counting = match mode {
        Mode::NoLimit => Counting::SharedBatch,
        _ => Counting::FullInstances,
    };
    let cover = plan::phase_tokens_per_gpu(&choice, counting);
    let solver = evaluated_solver(cover, choice.gpus());
    let plan = plan::phase_plan(
        r,
        &PhaseInput {
            phase,
            choice: &choice,
            counting,
            holds_batch: holds_batch(mode, phase),
            solver: &solver,
            load_per_s: load_per_instance(mode, &choice),
            deployment: DeploymentFacts::Evaluated(EvaluatedDeployment {
                mode: EvaluateMode::Evaluate,
                given_strategy: g.clone(),
                reading: reading.describe(),
                changes_from_given: reading.changes.clone(),
            }),
        },
    );
    let problems = problems(task, &choice, &figures, cover, plan.performance.ttft_s);
    ReadingResult {
        reading: reading.clone(),
        batch_per_instance: batch,
        tokens_per_s_per_gpu: cover,
        meets: plan.all_checks_pass() && problems.is_empty(),
        figures,
        problems,
        notes: notes(task, l),
        plan,
    }
}

/// pdplan's optimum per phase (prefill, decode), or why there is none.
fn optima(task: &Task) -> Result<[Optimum; 2], String> {
    let d = ilp::optimize(task, Mode::of(task)).map_err(|e| e.to_string())?;
    Ok(optima_of(&d))
}

/// The optimum per phase of a solved deployment.
pub fn optima_of(d: &ilp::Deployment) -> [Optimum; 2] {
    let counting = Counting::of(d.mode);
    Phase::BOTH.map(|p| {
        let c = d.phase(p);
        Optimum {
            layout: format!("{} × {} replicas", c.candidate.layout, c.instances),
            gpus: c.gpus(),
            tokens_per_s_per_gpu: plan::phase_tokens_per_gpu(c, counting),
        }
    })
}

/// The nearest readings of one phase evaluated, the one written to the plan first: one that
/// meets everything, then the highest throughput.
fn evaluate_phase(
    r: &Resolved,
    phase: Phase,
    g: &GivenStrategy,
    optimum: Option<Optimum>,
) -> PhaseEvaluation {
    let mut results: Vec<ReadingResult> = nearest_readings(&r.task, phase, g, MAX_READINGS)
        .iter()
        .map(|x| evaluate_reading(r, phase, g, x))
        .collect();
    results.sort_by(|a, b| {
        b.meets.cmp(&a.meets).then(
            b.tokens_per_s_per_gpu
                .partial_cmp(&a.tokens_per_s_per_gpu)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    PhaseEvaluation {
        phase,
        results,
        optimum,
    }
}

/// The `evaluation` object of each reading's plan.
fn attach_facts(e: &mut Evaluation) {
    for p in &mut e.phases {
        for res in &mut p.results {
            res.plan.evaluation = Some(EvaluationFacts {
                given_strategy: e.given.clone(),
                findings: e.findings.clone(),
                consistent_as_written: e.consistent,
                reading: res.reading.describe(),
                changes_from_given: res.reading.changes.clone(),
                problems: res.problems.clone(),
                notes: res.notes.clone(),
                meets_every_requirement: res.meets,
                optimum: p.optimum.clone(),
                fraction_of_optimum_throughput_per_gpu: p
                    .optimum
                    .as_ref()
                    .map(|o| res.tokens_per_s_per_gpu / o.tokens_per_s_per_gpu),
                exit_code: e.exit_code,
            });
        }
    }
}

/// Evaluate the strategy for the phases asked.
pub fn evaluate(r: &Resolved, phases: &[Phase], flags: &GivenStrategy) -> Evaluation {
    evaluate_against(r, phases, flags, optima(&r.task))
}

/// [`evaluate`] against an optimum already known (`solve` reports the given strategy next to
/// the plan it solved: its deployment is the optimum, so the task is not solved twice).
pub fn evaluate_against(
    r: &Resolved,
    phases: &[Phase],
    flags: &GivenStrategy,
    optima: Result<[Optimum; 2], String>,
) -> Evaluation {
    let task = &r.task;
    let g = merge(task.strategy.as_ref(), flags);
    let mut findings = consistency(task, &g);
    // Sequence parallelism splits a prompt's tokens: prefill only. Stated for a decode-only
    // evaluation it describes no evaluated phase, so the strategy is not evaluated as written.
    let sp_unused = g.sp.is_some_and(|sp| sp > 1) && !phases.contains(&Phase::Prefill);
    if sp_unused {
        findings.push(format!(
            "SP {}: sequence parallelism applies to prefill only; decode runs with SP 1, so decode is evaluated without it",
            g.sp.unwrap_or(1)
        ));
    }
    let (optimum, optimum_error) = match optima {
        Ok(o) => (Some(o), None),
        Err(e) => (None, Some(e)),
    };
    let out: Vec<PhaseEvaluation> = phases
        .iter()
        .map(|&phase| {
            let o = optimum
                .as_ref()
                .map(|o| o[usize::from(phase == Phase::Decode)].clone());
            evaluate_phase(r, phase, &g, o)
        })
        .collect();
    // As written: every phase's nearest reading changes nothing (findings other than KV
    // replication make the strategy inconsistent too).
    let consistent = !sp_unused
        && out
            .iter()
            .all(|p| p.results.first().is_some_and(|x| x.reading.changes.is_empty()));
    let all_meet = out.iter().all(|p| p.results.first().is_some_and(|x| x.meets));
    let exit_code = if consistent && all_meet {
        exit::OK
    } else {
        exit::INFEASIBLE
    };
    let mut e = Evaluation {
        given: g,
        findings,
        consistent,
        phases: out,
        optimum_error,
        exit_code,
    };
    attach_facts(&mut e);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: every valid reading put into words, sorted by (changes, moves, GPUs, layout),
    /// the nearest (fewest changes) kept — what `nearest_readings` computed before it weighed the
    /// layouts by their change count alone.
    fn reference(task: &Task, phase: Phase, g: &GivenStrategy, max: usize) -> Vec<Reading> {
        let stated = g_for(phase, g);
        let mut all: Vec<Reading> = valid_readings(task, phase, g)
            .into_iter()
            .map(|(layout, replicas)| Reading {
                layout,
                replicas,
                changes: changes(&stated, &layout, replicas),
            })
            .collect();
        all.sort_by_key(|r| {
            (
                r.changes.len(),
                (1000.0 * moves(&stated, &r.layout, r.replicas)).round() as u64,
                r.gpus(),
                r.layout,
            )
        });
        let fewest = all.first().map_or(0, |r| r.changes.len());
        all.into_iter()
            .take_while(|r| r.changes.len() == fewest)
            .take(max)
            .collect()
    }

    #[test]
    fn nearest_readings_equal_sorting_every_reading() {
        let task = crate::spec::resolve::fixture_task("qwen3-235b-given-strategy.md");
        let s = |tp, pp, dp, ep, gpus| GivenStrategy {
            tp,
            pp,
            dp,
            ep,
            gpus,
            ..GivenStrategy::default()
        };
        let strategies = [
            GivenStrategy::default(),
            s(Some(3), Some(4), Some(4), Some(32), Some(128)),
            s(Some(16), Some(4), None, None, None),
            s(Some(2), Some(2), Some(4), None, None),
            s(None, Some(5), Some(3), Some(7), None),
            s(Some(8), None, None, Some(64), Some(64)),
            s(Some(2), None, Some(2), None, Some(7)),
        ];
        let mut compared = 0;
        for g in &strategies {
            for phase in Phase::BOTH {
                for max in [1, 3, 1000] {
                    let got = nearest_readings(&task, phase, g, max);
                    assert_eq!(got, reference(&task, phase, g, max), "{g:?} {phase} max {max}");
                    compared += got.len();
                }
            }
        }
        assert!(compared > 100, "{compared} readings compared");
    }
}
