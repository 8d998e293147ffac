//! Heuristic baselines: the rules of thumb people use instead of the optimizer, each returning
//! the optimizer's plan type (a [`PhaseChoice`] per phase) scored by the same cost model
//! ([`candidates::check`], [`cost::evaluate`]), so that `pdplan compare` can state what the ILP
//! gains over them.
//!
//! | baseline | rule |
//! |---|---|
//! | `exhaustive` | the oracle ([`oracle::exhaustive_runnable`]: the pairs the engine runs) over every feasible candidate: must equal pdplan |
//! | `fit-then-replicate` | the smallest TP (≤ GPUs per node), then PP, whose weights + KV of one maximum-length sequence fit; experts split by TP as vLLM does without `--enable-expert-parallel`; the largest per-instance batch that fits; replicas to hold / serve the workload |
//! | `same-layout-both-phases` | the best single layout (degrees) used for prefill and decode alike, no disaggregation of strategies; per-phase batch and replicas free |
//! | `expert-per-gpu` | MoE only: one expert per GPU, EP = GPUs of the instance = experts, no expert-TP, PP 1; the attention split (TP × SP × attention-DP) and the batch free |
//! | `enumerate-and-ratio` | AIConfigurator's method: per phase the best tokens/s per GPU under the SLA from TP ∈ {1,2,4,8}, PP 1 (MoE: attention-DP ∈ {1..32}, EP = TP × attention-DP); then the prefill:decode worker ratio x:y ≤ 32:32, deployed in whole blocks: no limit, the ratio with the most requests/s per GPU, as many blocks as hold the batch; budget, the x:y and block count with the most requests/s within it; target rate, the fewest GPUs reaching it |
//!
//! A baseline may give a plan that misses a requirement (memory, TTFT, TPOT, throughput per GPU,
//! the batch, the budget, the rate): the misses are reported with the plan, never hidden.
//! "Same layout both phases" still uses two pools in the cost model: the model has no term for
//! prefill/decode interference on shared GPUs, so it flatters colocated serving if anything.
//!
//! Sources: vLLM docs, "Distributed inference and serving" (choose TP to fit the model in a node,
//! then PP); AIConfigurator (ai-dynamo/aiconfigurator, `sweep` + `picking`: TP list {1,2,4,8},
//! disaggregated x:y worker ratios).

use crate::candidates::{self, Candidate, Limit};
use crate::cost;
use crate::ilp::formulation::Mode;
use crate::ilp::{self, PhaseChoice, oracle};
use crate::layout::{self, Layout, Phase};
use crate::params::powers_of_two;
use crate::spec::task::Task;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;

/// The baselines, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    Exhaustive,
    FitThenReplicate,
    SameLayoutBothPhases,
    ExpertPerGpu,
    EnumerateAndRatio,
}

impl Baseline {
    pub const ALL: [Baseline; 5] = [
        Baseline::Exhaustive,
        Baseline::FitThenReplicate,
        Baseline::SameLayoutBothPhases,
        Baseline::ExpertPerGpu,
        Baseline::EnumerateAndRatio,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Baseline::Exhaustive => "exhaustive",
            Baseline::FitThenReplicate => "fit-then-replicate",
            Baseline::SameLayoutBothPhases => "same-layout-both-phases",
            Baseline::ExpertPerGpu => "expert-per-gpu",
            Baseline::EnumerateAndRatio => "enumerate-and-ratio",
        }
    }

    /// A heuristic (not the oracle, which is pdplan's own optimum found another way).
    pub fn is_heuristic(self) -> bool {
        self != Baseline::Exhaustive
    }

    /// The rule in one line.
    pub fn rule(self) -> &'static str {
        match self {
            Baseline::Exhaustive => "enumerate every layout pair and instance count (the ILP's oracle)",
            Baseline::FitThenReplicate => {
                "smallest TP (≤ node), then PP, that fits weights + KV; largest batch that fits; replicate"
            }
            Baseline::SameLayoutBothPhases => "best single layout used for prefill and decode alike",
            Baseline::ExpertPerGpu => "MoE: one expert per GPU (EP = GPUs = experts), no expert-TP, PP 1",
            Baseline::EnumerateAndRatio => {
                "AIConfigurator: best tokens/s/GPU from TP ∈ {1,2,4,8}, PP 1 (× attention-DP, EP), then x:y ≤ 32:32"
            }
        }
    }
}

/// A deployment as the optimizer returns it: one layout, batch and instance count per phase.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub prefill: PhaseChoice,
    pub decode: PhaseChoice,
}

impl Plan {
    pub fn gpus(&self) -> u64 {
        self.prefill.gpus() + self.decode.gpus()
    }
}

/// A plan scored in the terms of the task's mode (DESIGN.md §3).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    /// No limit: Σ phase tokens/s per GPU (the ILP objective); budget: requests/s sustained;
    /// target rate: total GPUs.
    pub objective: f64,
    pub gpus: u64,
    pub prefill_gpus: u64,
    pub decode_gpus: u64,
    /// Phase tokens/s per GPU as the mode counts it (no limit: instances share the batch B).
    pub prefill_tokens_per_s_per_gpu: f64,
    pub decode_tokens_per_s_per_gpu: f64,
    pub request_rate_per_s: f64,
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
}

/// What the mode optimizes, in words.
pub fn objective_name(mode: Mode) -> &'static str {
    match mode {
        Mode::NoLimit => "Σ phase tokens/s per GPU (max), then GPUs (min)",
        Mode::Budget { .. } => "sustained requests/s within the budget (max), then GPUs (min)",
        Mode::Rate { .. } => "GPUs sustaining the target rate (min)",
    }
}

/// Phase tokens/s per GPU: no-limit mode counts the instances sharing the batch B, the other
/// modes full instances (as `plan::Counting`).
fn phase_tokens_per_gpu(task: &Task, mode: Mode, c: &PhaseChoice) -> f64 {
    let f = &c.candidate.figures;
    match mode {
        Mode::NoLimit if c.instances == c.candidate.cover_instances => c.candidate.cover_tokens_per_s_per_gpu,
        Mode::NoLimit => {
            // More instances than needed to hold B: they share B, each runs below its batch.
            let held = c.instances.saturating_mul(c.candidate.batch).max(1) as f64;
            f.throughput_tokens_per_s_per_gpu * (task.workload.batch as f64 / held).min(1.0)
        }
        // Under a request stream: at the instance's capacity, as the optimizer counts it.
        _ => c.candidate.serving.tokens_per_s_per_gpu,
    }
}

/// Score two phase choices (pdplan's or a baseline's) the same way.
pub fn score(task: &Task, mode: Mode, prefill: &PhaseChoice, decode: &PhaseChoice) -> Score {
    let rate = ilp::sustained_rate(mode, prefill, decode);
    let p = phase_tokens_per_gpu(task, mode, prefill);
    let d = phase_tokens_per_gpu(task, mode, decode);
    let gpus = prefill.gpus().saturating_add(decode.gpus());
    Score {
        objective: match mode {
            Mode::NoLimit => p + d,
            Mode::Budget { .. } => rate,
            Mode::Rate { .. } => gpus as f64,
        },
        gpus,
        prefill_gpus: prefill.gpus(),
        decode_gpus: decode.gpus(),
        prefill_tokens_per_s_per_gpu: p,
        decode_tokens_per_s_per_gpu: d,
        request_rate_per_s: rate,
        ttft_s: ttft_at_rate(mode, prefill, rate),
        tpot_s: decode.candidate.figures.tpot_s,
    }
}

/// Prefill TTFT as `solve` reports it: the batch's prefill time without a GPU limit; under a
/// request stream at the deployment's rate, with batch formation, queueing and the KV hand-off
/// (infinite when the instances are saturated).
fn ttft_at_rate(mode: Mode, prefill: &PhaseChoice, rate: f64) -> Option<f64> {
    let c = &prefill.candidate;
    let d = c.figures.ttft_s?;
    if mode == Mode::NoLimit {
        return Some(d);
    }
    let load = rate / prefill.instances.max(1) as f64;
    Some(
        crate::candidates::queueing::ttft_at(d, c.batch, c.serving.kv_transfer_s, load)
            .map_or(f64::INFINITY, |b| b.total_s()),
    )
}

const REL: f64 = 1e-9;

/// `a` is strictly better than `b` in the mode's lexicographic objective.
pub fn better(mode: Mode, a: &Score, b: &Score) -> bool {
    let tol = REL * a.objective.abs().max(b.objective.abs()).max(1.0);
    match mode {
        Mode::Rate { .. } => a.gpus < b.gpus,
        _ => a.objective > b.objective + tol || (a.objective >= b.objective - tol && a.gpus < b.gpus),
    }
}

/// `a` beats pdplan's `ours`, chosen with `tolerance` (no GPU limit, per-GPU objective: the
/// fewest GPUs within `tolerance` of each phase's best tokens/s per GPU): [`better`], except that a
/// higher objective on more GPUs that `ours` is within the tolerance of is what the tolerance
/// trades for fewer GPUs, not a better plan.
pub fn beats(mode: Mode, tolerance: f64, a: &Score, ours: &Score) -> bool {
    let traded = tolerance > 0.0
        && ours.gpus < a.gpus
        && ours.objective >= (1.0 - tolerance) * a.objective * (1.0 - REL);
    better(mode, a, ours) && !traded
}

/// How much better `ours` is than `theirs`, as a factor ≥ 1 when ours is at least as good:
/// objective ratio for maximized objectives, GPU ratio (theirs / ours) for the rate mode.
pub fn gain(mode: Mode, ours: &Score, theirs: &Score) -> f64 {
    match mode {
        Mode::Rate { .. } => theirs.gpus as f64 / ours.gpus.max(1) as f64,
        _ if theirs.objective > 0.0 => ours.objective / theirs.objective,
        _ => f64::INFINITY,
    }
}

/// What a baseline produced.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Outcome {
    /// A plan; `misses` lists each requirement it does not meet (empty: all met).
    Plan {
        plan: Box<Plan>,
        score: Score,
        misses: Vec<String>,
    },
    /// The rule gives no plan at all (e.g. nothing fits memory), with the reason.
    NoPlan { reason: String },
    /// The rule does not apply to this task (e.g. expert-per-GPU on a dense model).
    NotApplicable { reason: String },
}

impl Outcome {
    /// A plan meeting every requirement.
    pub fn met(&self) -> Option<&Score> {
        match self {
            Outcome::Plan { score, misses, .. } if misses.is_empty() => Some(score),
            _ => None,
        }
    }
}

/// One baseline's result.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineResult {
    pub baseline: Baseline,
    pub rule: &'static str,
    pub outcome: Outcome,
    /// How the rule's choices came out (layouts, ratio), for the report.
    pub note: String,
    pub time_s: f64,
}

/// Run every baseline on a task.
pub fn run_all(task: &Task, mode: Mode) -> Vec<BaselineResult> {
    Baseline::ALL.iter().map(|&b| run(task, mode, b)).collect()
}

/// Run one baseline.
pub fn run(task: &Task, mode: Mode, b: Baseline) -> BaselineResult {
    let start = Instant::now();
    let (outcome, note) = match b {
        Baseline::Exhaustive => exhaustive(task, mode),
        Baseline::FitThenReplicate => fit_then_replicate(task, mode),
        Baseline::SameLayoutBothPhases => same_layout(task, mode),
        Baseline::ExpertPerGpu => expert_per_gpu(task, mode),
        Baseline::EnumerateAndRatio => enumerate_and_ratio(task, mode),
    };
    BaselineResult {
        baseline: b,
        rule: b.rule(),
        outcome,
        note,
        time_s: start.elapsed().as_secs_f64(),
    }
}

/// Score a layout with the cost model even when it misses a requirement: the candidate and,
/// when `candidates::check` rejects it, the reason in words.
fn scored(task: &Task, phase: Phase, l: &Layout, batch: u64) -> (Candidate, Option<String>) {
    match candidates::check(task, phase, l, batch) {
        Ok(c) => (c, None),
        Err(why) => {
            let figures = cost::evaluate(task, phase, l, batch);
            let c = Candidate::new(task, phase, l, batch, figures);
            (c, Some(format!("{phase}: {}", why.text(task, l, batch))))
        }
    }
}

/// The requirements a deployment misses beyond the per-candidate checks: the batch held, the
/// budget, the target rate.
fn deployment_misses(task: &Task, mode: Mode, plan: &Plan, score: &Score) -> Vec<String> {
    let mut out = Vec::new();
    // A plan is meant to be started (DESIGN.md §7): the task's engine must run the pair.
    let (pl, dl) = (&plan.prefill.candidate.layout, &plan.decode.candidate.layout);
    out.extend(layout::capability::why_not_runnable(task, pl, dl));
    let b = task.workload.batch;
    for c in [&plan.prefill, &plan.decode] {
        let held = c.instances * c.candidate.batch;
        if ilp::formulation::holds_batch(mode, c.candidate.phase) && held < b {
            out.push(format!(
                "{}: {} instances × {} sequences = {held} < batch {b}",
                c.candidate.phase, c.instances, c.candidate.batch
            ));
        }
    }
    match mode {
        Mode::Budget { gpus } if plan.gpus() > gpus => {
            out.push(format!("{} GPUs > budget {gpus}", plan.gpus()))
        }
        Mode::Rate { rate } if score.request_rate_per_s < rate * (1.0 - REL) => out.push(format!(
            "{:.3} requests/s < target {rate}",
            score.request_rate_per_s
        )),
        _ => {}
    }
    // Under a request stream prefill batches must fill in time at the deployment's rate (the
    // optimizer's `prefill_load` row): TTFT holds at the rate, not only at capacity.
    let p = &plan.prefill;
    let least = p.instances as f64 * p.candidate.serving.min_rate_per_s;
    let load = match mode {
        Mode::Rate { rate } => rate,
        _ => score.request_rate_per_s,
    };
    if mode != Mode::NoLimit && least > load * (1.0 + REL) {
        out.push(format!(
            "prefill: {} instances get {:.3} requests/s each, too few to fill batches of {} within TTFT (at least {:.3})",
            p.instances,
            load / p.instances as f64,
            p.candidate.batch,
            p.candidate.serving.min_rate_per_s
        ));
    }
    out
}

/// Assemble a baseline's plan from two scored candidates with instance counts.
fn plan_outcome(
    task: &Task,
    mode: Mode,
    p: (Candidate, Option<String>, u64),
    d: (Candidate, Option<String>, u64),
) -> Outcome {
    let plan = Plan {
        prefill: PhaseChoice {
            candidate: p.0,
            instances: p.2,
        },
        decode: PhaseChoice {
            candidate: d.0,
            instances: d.2,
        },
    };
    let score = score(task, mode, &plan.prefill, &plan.decode);
    let mut misses: Vec<String> = [p.1, d.1].into_iter().flatten().collect();
    misses.extend(deployment_misses(task, mode, &plan, &score));
    Outcome::Plan {
        plan: Box::new(plan),
        score,
        misses,
    }
}

/// Instance counts for one fixed candidate per phase, chosen the way the optimizer would
/// (oracle over two singletons); `None` when even the fewest instances exceed the budget.
fn instances_for(mode: Mode, p: &Candidate, d: &Candidate) -> Option<(u64, u64)> {
    oracle::exhaustive(mode, std::slice::from_ref(p), std::slice::from_ref(d))
        .map(|b| (b.prefill.1, b.decode.1))
}

/// The oracle over candidate lists; the plan it picks (all its candidates are feasible).
fn best_of(task: &Task, mode: Mode, p: &[Candidate], d: &[Candidate]) -> Option<Outcome> {
    let objective = ilp::formulation::Objective::default_for(mode);
    // Only pairs the engine runs (its pair rule), as the solver searches them.
    let best = oracle::exhaustive_runnable(task, mode, objective, p, d)?;
    let (pi, np) = best.prefill;
    let (di, nd) = best.decode;
    Some(plan_outcome(
        task,
        mode,
        (p[pi].clone(), None, np),
        (d[di].clone(), None, nd),
    ))
}

/// Rejections grouped by limit, in words: "12 × memory per GPU (e.g. ...)".
#[derive(Default)]
struct Rejected(BTreeMap<Limit, (u64, String)>);

impl Rejected {
    fn add(&mut self, limit: Limit, example: impl FnOnce() -> String) {
        self.0.entry(limit).or_insert_with(|| (0, example())).0 += 1;
    }
    fn text(&self, what: &str) -> String {
        if self.0.is_empty() {
            return format!("{what}: no valid layout for this model");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(l, (n, e))| format!("{n} × {} (e.g. {e})", l.name()))
            .collect();
        format!("{what}: none meets the requirements: {}", parts.join("; "))
    }
}

/// Feasible candidates of the given layouts over the usual batch options, and the rejections.
fn feasible_of(task: &Task, phase: Phase, layouts: &[Layout]) -> (Vec<Candidate>, Rejected) {
    let mut ok = Vec::new();
    let mut rejected = Rejected::default();
    for l in layouts {
        for b in candidates::batches_for(task) {
            match candidates::check(task, phase, l, b) {
                Ok(c) => ok.push(c),
                Err(why) => {
                    rejected.add(why.limit, || why.text(task, l, b));
                    if matches!(why.limit, Limit::Memory | Limit::Ttft | Limit::Tpot) {
                        break;
                    }
                }
            }
        }
    }
    (ok, rejected)
}

/// Pairs of candidates the exhaustive baseline walks without pruning.
const MAX_PAIRS: u128 = 4_000_000;

fn exhaustive(task: &Task, mode: Mode) -> (Outcome, String) {
    let all = Phase::BOTH.map(|p| candidates::generate(task, p));
    for pc in &all {
        if pc.feasible.is_empty() {
            let reason = ilp::infeasible_phase(task, pc).to_string();
            return (Outcome::NoPlan { reason }, String::new());
        }
    }
    let (p, d) = (&all[0].feasible, &all[1].feasible);
    // The budget and rate modes walk every pair; beyond this many pairs, drop dominated
    // candidates first (the ILP's pruning, which keeps the optimum and its tie-break).
    let pairs = p.len() as u128 * d.len() as u128;
    let pruned;
    let (p, d, note) = if mode != Mode::NoLimit && pairs > MAX_PAIRS {
        let objective = ilp::formulation::Objective::default_for(mode);
        // Inside each class of the engine's searches only: pruned together, a candidate that
        // one of another branch dominates is lost where it is its branch's best.
        let class = |phase| move |c: &Candidate| layout::capability::branch_class(task, phase, &c.layout);
        pruned = [
            crate::candidates::prune::prune_per_class(mode, objective, p, class(Phase::Prefill)),
            crate::candidates::prune::prune_per_class(mode, objective, d, class(Phase::Decode)),
        ];
        let note = format!(
            "{} × {} feasible candidates, {} × {} after dominance pruning, enumerated",
            p.len(),
            d.len(),
            pruned[0].len(),
            pruned[1].len()
        );
        (&pruned[0], &pruned[1], note)
    } else {
        (
            p,
            d,
            format!("{} × {} feasible candidates enumerated", p.len(), d.len()),
        )
    };
    match best_of(task, mode, p, d) {
        Some(o) => (o, note),
        None => (
            Outcome::NoPlan {
                reason: "no combination of feasible layouts fits the budget".into(),
            },
            note,
        ),
    }
}

/// The layout a person sizes by hand: TP over powers of two inside a node (experts split by TP,
/// as vLLM does by default), PP only when the largest TP of a node does not fit.
fn fit_layout(task: &Task, phase: Phase) -> Option<Layout> {
    let m = &task.model;
    for pp in 1..=m.layers.min(16) {
        for tp in powers_of_two(task.hardware.gpus_per_node.max(1)) {
            let (ep, expert_tp) = if m.is_moe() { (1, tp) } else { (1, 1) };
            let l = Layout {
                tp,
                pp,
                sp: 1,
                attention_dp: 1,
                ep,
                expert_tp,
            };
            if layout::validate(m, phase, &l).is_ok() && cost::memory::per_gpu(task, phase, &l, 1).fits() {
                return Some(l);
            }
        }
    }
    None
}

fn fit_then_replicate(task: &Task, mode: Mode) -> (Outcome, String) {
    let mut picked = Vec::new();
    for phase in Phase::BOTH {
        let Some(l) = fit_layout(task, phase) else {
            let reason = format!(
                "{phase}: no TP ≤ {} (powers of two) × PP ≤ 16 fits the weights and the KV cache of one {}-token sequence",
                task.hardware.gpus_per_node,
                task.workload.kv_tokens_per_sequence()
            );
            return (Outcome::NoPlan { reason }, String::new());
        };
        // The largest batch that fits memory (as an engine sizes max_num_seqs from free KV).
        let batch = candidates::batch_options(task.workload.batch)
            .into_iter()
            .rfind(|&b| cost::memory::per_gpu(task, phase, &l, b).fits())
            .unwrap_or(1);
        let (c, miss) = scored(task, phase, &l, batch);
        picked.push((c, miss));
    }
    let (d, p) = (picked.pop().expect("decode"), picked.pop().expect("prefill"));
    let note = format!(
        "prefill {} b={}, decode {} b={}",
        p.0.layout, p.0.batch, d.0.layout, d.0.batch
    );
    match instances_for(mode, &p.0, &d.0) {
        Some((np, nd)) => (plan_outcome(task, mode, (p.0, p.1, np), (d.0, d.1, nd)), note),
        None => {
            let instances = |c: &Candidate| {
                if ilp::formulation::holds_batch(mode, c.phase) {
                    task.workload.batch.div_ceil(c.batch)
                } else {
                    1
                }
            };
            let need = instances(&p.0) * p.0.gpus_per_instance() + instances(&d.0) * d.0.gpus_per_instance();
            let reason = format!("holding the batch needs {need} GPUs, more than the budget");
            (Outcome::NoPlan { reason }, note)
        }
    }
}

/// A phase's candidates ordered by layout, each layout's in their own order (what grouping them
/// by layout needs): the enumeration's order already is (its layouts come sorted, a layout's
/// batches together), so they are borrowed, not copied (copying every ~600-byte candidate into a
/// map was most of the baseline's time); any other order is sorted (stably) into a copy.
fn by_layout(cs: &[Candidate]) -> std::borrow::Cow<'_, [Candidate]> {
    if cs.windows(2).all(|w| w[0].layout <= w[1].layout) {
        std::borrow::Cow::Borrowed(cs)
    } else {
        let mut v = cs.to_vec();
        v.sort_by_key(|c| c.layout);
        std::borrow::Cow::Owned(v)
    }
}

/// Each layout's run of candidates in a list ordered by layout ([`by_layout`]).
fn runs_by_layout(cs: &[Candidate]) -> BTreeMap<Layout, &[Candidate]> {
    cs.chunk_by(|a, b| a.layout == b.layout)
        .map(|run| (run[0].layout, run))
        .collect()
}

fn same_layout(task: &Task, mode: Mode) -> (Outcome, String) {
    let all = Phase::BOTH.map(|p| candidates::generate(task, p));
    let sorted = all.each_ref().map(|pc| by_layout(&pc.feasible));
    let (gp, gd) = (runs_by_layout(&sorted[0]), runs_by_layout(&sorted[1]));
    let mut best: Option<(Outcome, Score, Layout)> = None;
    let mut common = 0;
    for (l, ps) in &gp {
        let Some(ds) = gd.get(l) else { continue };
        common += 1;
        if let Some(o) = best_of(task, mode, ps, ds) {
            let Outcome::Plan { score, .. } = &o else { continue };
            let s = score.clone();
            if best.as_ref().is_none_or(|(_, b, _)| better(mode, &s, b)) {
                best = Some((o, s, *l));
            }
        }
    }
    match best {
        Some((o, _, l)) => (
            o,
            format!("{l} in both phases ({common} layouts feasible in both)"),
        ),
        None => {
            let reason = if common == 0 {
                "no layout is feasible in both phases".to_string()
            } else {
                format!("none of the {common} layouts feasible in both phases fits the budget")
            };
            (Outcome::NoPlan { reason }, String::new())
        }
    }
}

fn expert_per_gpu(task: &Task, mode: Mode) -> (Outcome, String) {
    let m = &task.model;
    let Some(moe) = &m.moe else {
        let reason = "dense model: no experts to place".to_string();
        return (Outcome::NotApplicable { reason }, String::new());
    };
    let w = moe.experts;
    let layouts = |phase: Phase| -> Vec<Layout> {
        let sps: Vec<u64> = match phase {
            Phase::Prefill => powers_of_two(16),
            Phase::Decode => vec![1],
        };
        let mut out = Vec::new();
        for tp in (1..=m.heads.min(w)).filter(|t| m.heads.is_multiple_of(*t)) {
            for &sp in &sps {
                if !w.is_multiple_of(tp * sp) {
                    continue;
                }
                let l = Layout {
                    tp,
                    pp: 1,
                    sp,
                    attention_dp: w / (tp * sp),
                    ep: w,
                    expert_tp: 1,
                };
                if layout::validate(m, phase, &l).is_ok() {
                    out.push(l);
                }
            }
        }
        out
    };
    let (p, rp) = feasible_of(task, Phase::Prefill, &layouts(Phase::Prefill));
    let (d, rd) = feasible_of(task, Phase::Decode, &layouts(Phase::Decode));
    let note = format!("EP{w} on {w} GPUs per instance; attention split and batch chosen by the oracle");
    if p.is_empty() || d.is_empty() {
        let reason = if p.is_empty() {
            rp.text("prefill")
        } else {
            rd.text("decode")
        };
        return (Outcome::NoPlan { reason }, note);
    }
    match best_of(task, mode, &p, &d) {
        Some(o) => (o, note),
        None => {
            let reason = format!("instances of {w} GPUs for both phases exceed the budget");
            (Outcome::NoPlan { reason }, note)
        }
    }
}

/// AIConfigurator's fixed candidate list: TP ∈ {1,2,4,8}, PP 1, no SP; MoE: attention-DP ∈
/// {1,2,4,8,16,32} with EP = TP × attention-DP (no expert-TP).
fn aiconfigurator_layouts(task: &Task, phase: Phase) -> Vec<Layout> {
    let m = &task.model;
    let dps: &[u64] = if m.is_moe() { &[1, 2, 4, 8, 16, 32] } else { &[1] };
    let mut out = Vec::new();
    for tp in [1, 2, 4, 8] {
        for &dp in dps {
            let ep = if m.is_moe() { tp * dp } else { 1 };
            let l = Layout {
                tp,
                pp: 1,
                sp: 1,
                attention_dp: dp,
                ep,
                expert_tp: 1,
            };
            if layout::validate(m, phase, &l).is_ok() {
                out.push(l);
            }
        }
    }
    out
}

/// Largest ratio considered on each side (AIConfigurator searches x, y ≤ 32).
const MAX_WORKERS: u64 = 32;

/// AIConfigurator's worker of a phase: the best tokens/s per GPU (as the mode counts it) of
/// its layouts; ties: fewer GPUs, then the list order. `Err` with the rejections in words.
fn best_worker(task: &Task, mode: Mode, phase: Phase) -> Result<Candidate, String> {
    let (cs, rejected) = feasible_of(task, phase, &aiconfigurator_layouts(task, phase));
    let best = cs.into_iter().reduce(|a, c| {
        let (va, vc) = (
            ilp::formulation::per_gpu_k(mode, &a),
            ilp::formulation::per_gpu_k(mode, &c),
        );
        if vc > va * (1.0 + REL) || (vc >= va * (1.0 - REL) && c.gpus_per_instance() < a.gpus_per_instance())
        {
            c
        } else {
            a
        }
    });
    best.ok_or_else(|| rejected.text(&format!("{phase} (TP ∈ {{1,2,4,8}}, PP 1)")))
}

fn enumerate_and_ratio(task: &Task, mode: Mode) -> (Outcome, String) {
    let b_total = task.workload.batch;
    let (p, d) = match (
        best_worker(task, mode, Phase::Prefill),
        best_worker(task, mode, Phase::Decode),
    ) {
        (Ok(p), Ok(d)) => (p, d),
        (Err(reason), _) | (_, Err(reason)) => return (Outcome::NoPlan { reason }, String::new()),
    };
    let (gp, gd) = (p.gpus_per_instance(), d.gpus_per_instance());
    let rate_of = |c: &Candidate| match mode {
        Mode::NoLimit => c.figures.rate_requests_per_s,
        _ => c.serving.rate_per_s,
    };
    let (rp, rd) = (rate_of(&p), rate_of(&d));
    // Prefill holds B only in the batch reading (no GPU limit).
    let prefill_holds = ilp::formulation::holds_batch(mode, Phase::Prefill);
    // Blocks of x prefill and y decode workers (x, y ≤ 32), deployed k times: k holds the batch
    // (no limit), fills the budget, or is the fewest reaching the rate.
    let mut best: Option<(u64, u64, u64, Score, bool)> = None;
    for x in 1..=MAX_WORKERS {
        for y in 1..=MAX_WORKERS {
            let block = x * gp + y * gd;
            let block_rate = (x as f64 * rp).min(y as f64 * rd);
            let hold_p = if prefill_holds {
                b_total.div_ceil(x * p.batch)
            } else {
                1
            };
            let hold = hold_p.max(b_total.div_ceil(y * d.batch));
            let k = match mode {
                Mode::NoLimit => hold,
                Mode::Budget { gpus } if block > gpus => continue,
                Mode::Budget { gpus } => gpus / block,
                Mode::Rate { rate } => ((rate / block_rate * (1.0 - REL)).ceil() as u64).max(hold),
            };
            let holds = k >= hold;
            let pc = PhaseChoice {
                candidate: p.clone(),
                instances: k * x,
            };
            let dc = PhaseChoice {
                candidate: d.clone(),
                instances: k * y,
            };
            // No limit: AIConfigurator's pick, the most requests/s per GPU of the block.
            let mut sc = score(task, mode, &pc, &dc);
            if mode == Mode::NoLimit {
                sc.objective = block_rate / block as f64;
            }
            let take = match &best {
                None => true,
                Some((.., bs, bh)) => (holds && !bh) || (holds == *bh && better(mode, &sc, bs)),
            };
            if take {
                best = Some((x, y, k, sc, holds));
            }
        }
    }
    let Some((x, y, k, ..)) = best else {
        let reason = format!("one prefill ({gp} GPUs) and one decode ({gd} GPUs) worker exceed the budget");
        return (Outcome::NoPlan { reason }, String::new());
    };
    let note = format!(
        "prefill {} b={}, decode {} b={}; ratio {x}:{y} × {k} blocks",
        p.layout, p.batch, d.layout, d.batch
    );
    (plan_outcome(task, mode, (p, None, k * x), (d, None, k * y)), note)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouping by layout without copies equals the copying grouping it replaced, for the
    /// enumeration's order (borrowed) and for a shuffled one (sorted into a copy).
    #[test]
    fn runs_by_layout_equal_grouping_copies() {
        let task = crate::spec::resolve::fixture_task("llama3-70b-budget-tpot.md");
        let feasible = candidates::generate(&task, Phase::Decode).feasible;
        assert!(feasible.len() > 100);
        let mut shuffled = feasible.clone();
        // A fixed permutation that splits every layout's run.
        let n = shuffled.len();
        for i in 0..n {
            shuffled.swap(i, (i * 7919 + 13) % n);
        }
        for cs in [&feasible, &shuffled] {
            let mut copies: BTreeMap<Layout, Vec<Candidate>> = BTreeMap::new();
            for c in cs.iter() {
                copies.entry(c.layout).or_default().push(c.clone());
            }
            let sorted = by_layout(cs);
            let runs = runs_by_layout(&sorted);
            assert_eq!(runs.len(), copies.len());
            for ((l, run), (k, v)) in runs.iter().zip(&copies) {
                assert_eq!((l, *run), (k, v.as_slice()));
            }
        }
        assert!(matches!(by_layout(&feasible), std::borrow::Cow::Borrowed(_)));
    }
}
