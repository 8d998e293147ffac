//! The optimizer: candidates → pruning → ILP (two solves for lexicographic objectives) →
//! verification against the shadow model → the chosen deployment.

pub mod engine_search;
pub mod formulation;
pub mod frontier;
pub mod model;
pub mod oracle;
pub mod report;
pub mod solver;

pub use report::{OracleCheck, SearchSpace, SolverStatus};

use crate::candidates::{self, Candidate, Limit, PhaseCandidates};
use crate::error::{Error, Result};
use crate::layout::Phase;
use crate::spec::task::Task;
use formulation::{Formulation, Mode, Objective, Stage};
use serde::Serialize;
use std::time::Instant;

/// Time limit of each ILP solve, seconds.
pub const TIME_LIMIT_S: f64 = 3.0;

/// Largest enumeration (pairs × instance counts) the post-solve oracle check runs on; beyond it
/// the check is skipped and the report says so.
pub const ORACLE_CHECK_MAX_WORK: u64 = 2_000_000;

/// One phase of the chosen deployment.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseChoice {
    pub candidate: Candidate,
    pub instances: u64,
}

impl PhaseChoice {
    pub fn gpus(&self) -> u64 {
        self.instances.saturating_mul(self.candidate.gpus_per_instance())
    }
}

/// Solver facts reported in the plan (its `solver` object).
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SolverReport {
    /// `optimal`, or `time limit (gap g)`.
    #[schemars(with = "String")]
    pub status: SolverStatus,
    /// The objective in words.
    pub objective: String,
    /// `per-gpu`, `min-gpus` or `total`.
    #[schemars(with = "String")]
    pub objective_kind: Objective,
    /// Value of the final (secondary) solve's objective.
    pub objective_value: f64,
    /// The primary criterion's optimum (k tokens/s per GPU summed over phases, GPUs, or
    /// requests/s) and the secondary criterion's.
    pub primary_value: f64,
    pub secondary_value: f64,
    /// Largest relative gap of the solves (0 when every solve is proven optimal).
    pub gap: f64,
    /// End-to-end optimizer time: enumeration, pruning, solves, checks (s).
    pub solve_time_s: f64,
    /// Of which enumeration and scoring of candidates (s; for the bench and the summary, not
    /// in the plan: only `solve_time_s` measures the machine there).
    #[serde(skip)]
    pub enumeration_time_s: f64,
    /// Of which the ILP solves (s; not in the plan, as above).
    #[serde(skip)]
    pub ilp_time_s: f64,
    /// Time limit of each solve (s).
    pub time_limit_s: f64,
    /// Candidates evaluated (layouts × batches) over both phases.
    pub candidates: u64,
    /// Feasible candidates over both phases.
    pub feasible: u64,
    /// Candidates left in the ILP after dominance pruning.
    pub in_model: u64,
    /// Variables and rows of the final model.
    pub variables: u64,
    pub rows: u64,
    pub solves: u64,
    /// Every solver answer satisfied the shadow model (bounds, integrality, rows, objective).
    pub verified: bool,
    /// Exhaustive enumeration over the model's candidates: `equal` or why it was skipped.
    #[schemars(with = "String")]
    pub oracle_check: OracleCheck,
    /// How an engine's pair rule shaped the search (`--engine sglang`: same TP), when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_search: Option<String>,
    /// The search caps the optimum was proven within (absent for an evaluated strategy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_space: Option<SearchSpace>,
}

/// The optimizer's answer.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub mode: Mode,
    pub objective: Objective,
    pub prefill: PhaseChoice,
    pub decode: PhaseChoice,
    /// Requests/s the deployment sustains (min of the two phases' capacities).
    pub request_rate_per_s: f64,
    /// The no-limit `per-gpu` objective's tolerance (a share of the best tokens/s per GPU).
    pub tolerance: f64,
    pub solver: SolverReport,
    /// No-limit mode: the plan with the fewest GPUs, when it differs.
    pub fewest_gpus: Option<(PhaseChoice, PhaseChoice)>,
    /// The final model solved (for LP export and reports).
    pub model: model::Model,
    /// The primary model (first solve).
    pub primary_model: model::Model,
    /// The candidates that entered the ILP, per phase (survivors of dominance pruning).
    pub candidates: [Vec<Candidate>; 2],
}

impl Deployment {
    pub fn phase(&self, p: Phase) -> &PhaseChoice {
        match p {
            Phase::Prefill => &self.prefill,
            Phase::Decode => &self.decode,
        }
    }
    pub fn total_gpus(&self) -> u64 {
        self.prefill.gpus() + self.decode.gpus()
    }
}

/// Explain why a phase has no feasible candidate: the binding limit and the best value reached.
pub fn infeasible_phase(task: &Task, pc: &PhaseCandidates) -> Error {
    let gib = |b: f64| b / crate::params::GIB;
    // The binding limit is the last check any candidate reached.
    let binding = pc.rejected.keys().max().copied();
    let mut report = format!(
        "{} phase: {} layouts × batches evaluated, none feasible:\n",
        pc.phase, pc.evaluated
    );
    for (limit, r) in &pc.rejected {
        report.push_str(&format!(
            "  {:>5} rejected by {} (e.g. {})\n",
            r.count,
            limit.name(),
            r.example
        ));
    }
    let binding_text = match binding {
        None => "no valid layout for this model (check heads, KV heads, experts)".to_string(),
        Some(limit) => {
            let r = &pc.rejected[&limit];
            match limit {
                Limit::Memory => format!(
                    "memory: the smallest footprint reachable is {:.1} GiB per GPU > {:.1} GiB capacity",
                    gib(r.best),
                    gib(task.hardware.memory_bytes)
                ),
                Limit::Ttft => format!(
                    "TTFT: the best reachable is {} s > required {} s",
                    candidates::fmt_sig(r.best),
                    candidates::fmt_sig(task.requirements.ttft_s.unwrap_or(f64::NAN))
                ),
                Limit::TtftAtLoad => format!(
                    "TTFT under load: with batch formation and queueing no load keeps TTFT within {} s (the best batch alone with its KV hand-off takes {:.3} s)",
                    task.requirements.ttft_s.unwrap_or(f64::NAN),
                    r.best
                ),
                Limit::Tpot => format!(
                    "TPOT: the best reachable is {} ms > required {} ms",
                    candidates::fmt_sig(r.best * 1e3),
                    candidates::fmt_sig(task.requirements.tpot_s.unwrap_or(f64::NAN) * 1e3)
                ),
                Limit::ThroughputPerGpu => format!(
                    "throughput per GPU: the best reachable is {:.0} tokens/s/GPU < required {:.0}",
                    r.best,
                    task.requirements
                        .throughput_per_gpu_tokens_per_s
                        .unwrap_or(f64::NAN)
                ),
                Limit::Balance => "balance: every layout leaves attention-DP ranks idle".to_string(),
                Limit::GpuCount => format!(
                    "GPUs to hold B: the fewest reachable is {:.0} GPUs for B = {} sequences > {} (the largest deployment pdplan plans); relax the TTFT / TPOT requirement or the batch",
                    r.best,
                    task.workload.batch,
                    crate::spec::resolve::limits::GPU_BUDGET
                ),
            }
        }
    };
    Error::Infeasible {
        phase: pc.phase.to_string(),
        binding: binding_text,
        report,
    }
}

/// Explain a task where one phase or both have no feasible candidate: each failing phase's
/// binding limit, and for a phase that is feasible what it reaches, so the user sees the whole
/// picture in one run.
pub fn infeasible_phases(task: &Task, all: &[PhaseCandidates; 2]) -> Error {
    let mut bindings = Vec::new();
    let mut report = String::new();
    for pc in all {
        if pc.feasible.is_empty() {
            if let Error::Infeasible {
                binding, report: r, ..
            } = infeasible_phase(task, pc)
            {
                bindings.push(format!("{}: {binding}", pc.phase));
                report.push_str(&r);
            }
        } else {
            let best = pc
                .feasible
                .iter()
                .map(|c| c.cover_tokens_per_s_per_gpu)
                .fold(f64::NEG_INFINITY, f64::max);
            report.push_str(&format!(
                "{} phase: feasible ({} candidates meet every requirement; up to {best:.0} tokens/s per GPU)\n",
                pc.phase, pc.feasible_seen
            ));
        }
    }
    let failing: Vec<String> = all
        .iter()
        .filter(|pc| pc.feasible.is_empty())
        .map(|pc| pc.phase.to_string())
        .collect();
    Error::Infeasible {
        phase: failing.join(" and "),
        binding: bindings.join("; "),
        report,
    }
}

/// Accept a solver answer only if it satisfies its model: every bound, integrality, every row,
/// and the objective value it claims, recomputed from the values. A failure is an internal error:
/// no plan is ever built from an answer that is infeasible or misreported under its own model.
pub fn accept(model: &model::Model, s: &solver::Solved) -> Result<()> {
    model
        .verify(&s.values)
        .map_err(|e| Error::Internal(format!("solver answer fails the model {}: {e}", model.name)))?;
    let recomputed = model.objective_value(&s.values);
    let agrees = (recomputed - s.objective).abs() <= model::TOL * (1.0 + recomputed.abs());
    if !agrees {
        return Err(Error::Internal(format!(
            "solver claims objective {} for the model {}, the values give {recomputed}",
            s.objective, model.name
        )));
    }
    Ok(())
}

/// Counters over the solves of one optimization.
#[derive(Default)]
struct Tally {
    solves: u64,
    time_s: f64,
    gap: f64,
    status: Option<SolverStatus>,
}

fn run(f: &Formulation, warm: Option<&[f64]>, tally: &mut Tally) -> Result<Option<solver::Solved>> {
    tally.solves += 1;
    match solver::solve(&f.model, TIME_LIMIT_S, warm) {
        Ok(s) => {
            tally.time_s += s.solve_time_s;
            accept(&f.model, &s)?;
            tally.gap = tally.gap.max(s.gap);
            if s.gap > 0.0 {
                tally.status = Some(s.status);
            }
            Ok(Some(s))
        }
        Err(solver::Failure::Infeasible) => Ok(None),
        Err(solver::Failure::OutOfRange(e)) => Err(Error::Invalid {
            path: "(task)".into(),
            field: "hardware.gpu_budget / requirements.request_rate_per_s".into(),
            message: format!(
                "beyond the supported range: {e}; lower the GPU budget or the target request \
                 rate (the instance counts they imply must stay below 2^31)"
            ),
        }),
        Err(solver::Failure::Other(e)) => Err(Error::Internal(format!("microlp: {e}"))),
    }
}

fn choice(f: &Formulation, s: &solver::Solved, phase: usize, cands: &[Candidate]) -> Result<PhaseChoice> {
    let v = &f.phases[phase];
    let i =
        v.x.iter()
            .position(|&x| s.values[x] > 0.5)
            .ok_or_else(|| Error::Internal("no layout chosen".into()))?;
    Ok(PhaseChoice {
        candidate: cands[v.cand[i]].clone(),
        instances: v.instances(i, &s.values),
    })
}

/// One lexicographic optimization over given candidates: the primary model and its answer, the
/// secondary model and its answer; `None` when the primary model is infeasible.
pub struct Lexicographic {
    pub primary: Formulation,
    pub first: solver::Solved,
    pub secondary: Formulation,
    pub second: solver::Solved,
}

fn lexicographic(
    task: &Task,
    goal: (Mode, Objective, f64),
    cands: [&[Candidate]; 2],
    tally: &mut Tally,
) -> Result<Option<Lexicographic>> {
    let enumerated = enumerated_optimum(goal, cands);
    lexicographic_from(task, goal, cands, enumerated.as_ref(), tally)
}

/// The exhaustive optimum over the candidates when that enumeration is cheap (≤
/// [`WARM_START_MAX_WORK`] steps): computed once per optimization, it warm-starts the primary
/// solve, bounds the large-budget model ([`formulation::build_bounded`]) and is the oracle the
/// answer is checked against.
fn enumerated_optimum(goal: (Mode, Objective, f64), cands: [&[Candidate]; 2]) -> Option<oracle::Best> {
    let (mode, objective, tolerance) = goal;
    (oracle_work(mode, objective, cands) <= WARM_START_MAX_WORK)
        .then(|| oracle::exhaustive_tol(mode, objective, tolerance, cands[0], cands[1]))
        .flatten()
}

/// The rate floor a budget model under `total` may use: the enumerated optimum's rate.
fn rate_floor(mode: Mode, objective: Objective, best: Option<&oracle::Best>) -> Option<f64> {
    match (mode, objective, best) {
        (Mode::Budget { .. }, Objective::Total, Some(b)) => Some(b.objective),
        _ => None,
    }
}

fn lexicographic_from(
    task: &Task,
    goal: (Mode, Objective, f64),
    cands: [&[Candidate]; 2],
    enumerated: Option<&oracle::Best>,
    tally: &mut Tally,
) -> Result<Option<Lexicographic>> {
    let (mode, objective, tolerance) = goal;
    let floor = rate_floor(mode, objective, enumerated);
    let primary = formulation::build_bounded(task, mode, objective, Stage::Primary, cands, floor);
    // Large budgets make microlp's branch and bound slow to find a first point: start it from the
    // enumerated optimum over the same candidates when that enumeration is cheap. The ILP still
    // has to prove it (status and gap say whether it did).
    let warm = enumerated.and_then(|best| warm_start(&primary, best, cands));
    let Some(first) = run(&primary, warm.as_deref(), tally)? else {
        return Ok(None);
    };
    let secondary = formulation::build_bounded(
        task,
        mode,
        objective,
        Stage::Secondary {
            floor: first.objective,
            tolerance,
        },
        cands,
        floor,
    );
    // The first answer satisfies the second model (its objective is the floor): start from it.
    let warm_second = secondary
        .model
        .verify(&first.values)
        .is_ok()
        .then_some(first.values.as_slice());
    let second = run(&secondary, warm_second, tally)?
        .ok_or_else(|| Error::Internal("second solve infeasible although the first had a solution".into()))?;
    Ok(Some(Lexicographic {
        primary,
        first,
        secondary,
        second,
    }))
}

/// Enumeration work below which the primary solve is warm-started from the oracle's optimum.
const WARM_START_MAX_WORK: u64 = 50_000_000;

/// The model's variable values for an enumerated plan, if its columns exist and every row holds.
fn warm_start(f: &Formulation, best: &oracle::Best, cands: [&[Candidate]; 2]) -> Option<Vec<f64>> {
    let mut values = vec![0.0; f.model.vars.len()];
    let mut capacity = [0.0f64; 2];
    for (p, &(ci, k)) in [best.prefill, best.decode].iter().enumerate() {
        let v = &f.phases[p];
        let i = (0..v.x.len()).find(|&i| v.cand[i] == ci && v.count[i].is_none_or(|c| c == k))?;
        values[v.x[i]] = 1.0;
        if v.count[i].is_none() {
            values[v.n[i]] = k as f64;
        }
        capacity[p] = k as f64 * cands[p][ci].serving.rate_per_s;
    }
    if let Some(r) = f.rate {
        values[r] = capacity[0].min(capacity[1]);
    }
    f.model.verify(&values).is_ok().then_some(values)
}

/// Requests/s one phase choice serves: in the budget and rate modes its instances at their
/// capacity under a request stream ([`crate::candidates::Serving`]); without a GPU limit, full
/// instances of the batch reading (a batch per TTFT, a batch per OSL × TPOT).
pub fn phase_rate(mode: Mode, c: &PhaseChoice) -> f64 {
    let per = match mode {
        Mode::NoLimit => c.candidate.figures.rate_requests_per_s,
        _ => c.candidate.serving.rate_per_s,
    };
    c.instances as f64 * per
}

/// Requests/s two phase choices sustain together: the smaller of the two phases' rates.
pub fn sustained_rate(mode: Mode, p: &PhaseChoice, d: &PhaseChoice) -> f64 {
    phase_rate(mode, p).min(phase_rate(mode, d))
}

/// Candidates of both phases for a mode, enumerated on one pool of threads over both phases'
/// layouts and pruned while enumerating ([`candidates::generate_both_for`]).
pub fn candidates_for(task: &Task, mode: Mode, objective: Objective) -> [PhaseCandidates; 2] {
    candidates::generate_both_for(task, mode, objective)
}

/// Plan both phases with the mode's default objective.
pub fn optimize(task: &Task, mode: Mode) -> Result<Deployment> {
    optimize_with(task, mode, Objective::default_for(mode))
}

/// Plan both phases with the default tolerance ([`formulation::DEFAULT_TOLERANCE`]).
pub fn optimize_with(task: &Task, mode: Mode, objective: Objective) -> Result<Deployment> {
    optimize_tol(task, mode, objective, formulation::DEFAULT_TOLERANCE)
}

/// Plan both phases: enumerate and prune candidates, solve the lexicographic pair, verify every
/// answer against the shadow model and the optimum against exhaustive enumeration (when small).
/// `tolerance` is the no-limit `per-gpu` objective's (fewest GPUs within it of the best
/// tokens/s per GPU of each phase). An engine with a rule on the prefill / decode pair (SGLang's
/// same TP) is searched once per attention TP ([`engine_search`]).
pub fn optimize_tol(task: &Task, mode: Mode, objective: Objective, tolerance: f64) -> Result<Deployment> {
    engine_search::optimize(task, mode, objective, tolerance)
}

/// [`optimize_tol`] without the pair rules of an engine (per-layout rules still apply).
pub fn optimize_pairs_unrestricted(
    task: &Task,
    mode: Mode,
    objective: Objective,
    tolerance: f64,
) -> Result<Deployment> {
    check_goal(mode, objective, tolerance)?;
    let start = Instant::now();
    let all = candidates_for(task, mode, objective);
    let enumeration_time_s = start.elapsed().as_secs_f64();
    optimize_pairs_from(
        task,
        (mode, objective, tolerance),
        all,
        (start, enumeration_time_s),
    )
}

/// The objective is defined in the mode and the tolerance is a share below 1.
pub(crate) fn check_goal(mode: Mode, objective: Objective, tolerance: f64) -> Result<()> {
    objective.check(mode).map_err(Error::Usage)?;
    if !(0.0..1.0).contains(&tolerance) {
        return Err(Error::Usage(format!(
            "--tolerance must be at least 0 and below 1 (a share: 0.05 = 5 %), not {tolerance}"
        )));
    }
    Ok(())
}

/// [`optimize_pairs_unrestricted`] from the task's candidates, enumerated by the caller
/// (`timing`: when the optimization started and how long the enumeration took).
pub(crate) fn optimize_pairs_from(
    task: &Task,
    (mode, objective, tolerance): (Mode, Objective, f64),
    all: [PhaseCandidates; 2],
    (start, enumeration_time_s): (Instant, f64),
) -> Result<Deployment> {
    if all.iter().any(|pc| pc.feasible.is_empty()) {
        return Err(infeasible_phases(task, &all));
    }
    let cands = [all[0].feasible.as_slice(), all[1].feasible.as_slice()];
    let mut tally = Tally::default();
    let enumerated = enumerated_optimum((mode, objective, tolerance), cands);
    let lex = lexicographic_from(
        task,
        (mode, objective, tolerance),
        cands,
        enumerated.as_ref(),
        &mut tally,
    )?
    .ok_or_else(|| budget_infeasible(task, mode, cands))?;
    let prefill = choice(&lex.secondary, &lex.second, 0, cands[0])?;
    let decode = choice(&lex.secondary, &lex.second, 1, cands[1])?;
    let fewest_gpus = if mode == Mode::NoLimit && objective != Objective::MinGpus {
        fewest_alternative(
            task,
            (mode, tolerance),
            cands,
            &mut tally,
            prefill.gpus() + decode.gpus(),
        )?
    } else {
        None
    };
    let oracle_check = check_against_oracle((mode, objective, tolerance), cands, &lex, enumerated)?;
    let timing = (start.elapsed().as_secs_f64(), enumeration_time_s);
    let solver = solver_report(
        task,
        (mode, objective, tolerance),
        &tally,
        &lex,
        &all,
        timing,
        oracle_check,
    );
    let [p_all, d_all] = all;
    Ok(Deployment {
        mode,
        objective,
        request_rate_per_s: sustained_rate(mode, &prefill, &decode),
        tolerance,
        prefill,
        decode,
        solver,
        fewest_gpus,
        model: lex.secondary.model,
        primary_model: lex.primary.model,
        candidates: [p_all.feasible, d_all.feasible],
    })
}

/// The solver facts of an optimization; `timing` = (whole optimizer, enumeration) seconds.
fn solver_report(
    task: &Task,
    goal: (Mode, Objective, f64),
    tally: &Tally,
    lex: &Lexicographic,
    all: &[PhaseCandidates; 2],
    timing: (f64, f64),
    oracle_check: OracleCheck,
) -> SolverReport {
    let (mode, objective, tolerance) = goal;
    SolverReport {
        status: tally.status.unwrap_or(SolverStatus::Optimal),
        objective: objective_words(mode, objective, tolerance),
        objective_kind: objective,
        objective_value: lex.second.objective,
        primary_value: lex.first.objective,
        secondary_value: lex.second.objective,
        gap: tally.gap,
        solve_time_s: timing.0,
        enumeration_time_s: timing.1,
        ilp_time_s: tally.time_s,
        time_limit_s: TIME_LIMIT_S,
        candidates: all[0].evaluated + all[1].evaluated,
        feasible: all[0].feasible_seen + all[1].feasible_seen,
        in_model: (all[0].feasible.len() + all[1].feasible.len()) as u64,
        variables: lex.secondary.model.vars.len() as u64,
        rows: lex.secondary.model.rows.len() as u64,
        solves: tally.solves,
        verified: true,
        oracle_check,
        engine_search: None,
        search_space: Some(SearchSpace::of(&crate::layout::Limits::for_budget(
            task.hardware.gpu_budget,
        ))),
    }
}

/// The objective in words, with the tolerance where it applies.
fn objective_words(mode: Mode, objective: Objective, tolerance: f64) -> String {
    let (c1, c2) = objective.criteria();
    if formulation::uses_tolerance(mode, objective) {
        return format!(
            "{}, then {} where a phase takes more GPUs only for at least {}% more tokens/s per GPU (ending within that of its best; lexicographic, two solves)",
            c1.words(),
            c2.words(),
            tolerance * 100.0
        );
    }
    format!("{}, then {} (lexicographic, two solves)", c1.words(), c2.words())
}

/// No-limit mode: the fewest-GPU plan, when it uses fewer GPUs than the chosen one (`gpus`).
fn fewest_alternative(
    task: &Task,
    goal: (Mode, f64),
    cands: [&[Candidate]; 2],
    tally: &mut Tally,
    gpus: u64,
) -> Result<Option<(PhaseChoice, PhaseChoice)>> {
    let (mode, tolerance) = goal;
    let l = lexicographic(task, (mode, Objective::MinGpus, tolerance), cands, tally)?
        .ok_or_else(|| Error::Internal("fewest-GPU solve infeasible".into()))?;
    let p = choice(&l.secondary, &l.second, 0, cands[0])?;
    let d = choice(&l.secondary, &l.second, 1, cands[1])?;
    Ok((p.gpus() + d.gpus() < gpus).then_some((p, d)))
}

/// Work of an exhaustive enumeration over candidate lists (pairs × instance counts).
pub fn oracle_work(mode: Mode, objective: Objective, cands: [&[Candidate]; 2]) -> u64 {
    let (p, d) = (cands[0].len() as u64, cands[1].len() as u64);
    match (mode, objective) {
        (Mode::NoLimit, _) => p + d,
        (Mode::Budget { gpus }, Objective::Total) => {
            let smallest = cands[0].iter().map(|c| c.gpus_per_instance()).min().unwrap_or(1);
            p.saturating_mul(d).saturating_mul(gpus / smallest.max(1) + 1)
        }
        _ => p.saturating_mul(d),
    }
}

/// The ILP's optimum (primary and secondary values) must equal exhaustive enumeration over the
/// same candidates; a difference is an internal error (a plan that is suboptimal under its own
/// model is never written). Skipped when the enumeration would be large.
fn check_against_oracle(
    goal: (Mode, Objective, f64),
    cands: [&[Candidate]; 2],
    lex: &Lexicographic,
    enumerated: Option<oracle::Best>,
) -> Result<OracleCheck> {
    let (mode, objective, tolerance) = goal;
    let work = oracle_work(mode, objective, cands);
    if lex.first.gap > 0.0 || lex.second.gap > 0.0 {
        return Ok(OracleCheck::SkippedTimeLimit);
    }
    // The enumeration already ran for the warm start when it was cheap enough: use it.
    let best = match enumerated {
        Some(best) => best,
        None if work > ORACLE_CHECK_MAX_WORK => {
            return Ok(OracleCheck::SkippedLarge {
                combinations: work,
                max: ORACLE_CHECK_MAX_WORK,
            });
        }
        None => oracle::exhaustive_tol(mode, objective, tolerance, cands[0], cands[1])
            .ok_or_else(|| Error::Internal("the ILP found a plan, exhaustive enumeration none".into()))?,
    };
    let close =
        |a: f64, b: f64| (a - b).abs() <= crate::params::ORACLE_REL_TOL * a.abs().max(b.abs()).max(1.0);
    if !close(lex.first.objective, best.objective) || !close(lex.second.objective, best.secondary) {
        return Err(Error::Internal(format!(
            "ILP optimum ({}, {}) differs from exhaustive enumeration ({}, {}) over the same candidates",
            lex.first.objective, lex.second.objective, best.objective, best.secondary
        )));
    }
    Ok(OracleCheck::Equal { combinations: work })
}

/// Both phases have feasible layouts but no combination fits the budget / reaches the rate.
fn budget_infeasible(task: &Task, mode: Mode, cands: [&[Candidate]; 2]) -> Error {
    let min_gpus = |cs: &[Candidate]| {
        cs.iter()
            .map(|c| formulation::min_instances(mode, c) * c.gpus_per_instance())
            .min()
            .unwrap_or(0)
    };
    let need = min_gpus(cands[0]) + min_gpus(cands[1]);
    let binding = match mode {
        Mode::Budget { gpus } => format!(
            "GPU budget: one prefill instance plus the decode instances that hold {} concurrent sequences need at least {need} GPUs > budget {gpus}",
            task.workload.batch
        ),
        Mode::Rate { rate } => match (
            task.hardware.gpu_budget,
            oracle::exhaustive(mode, cands[0], cands[1]),
        ) {
            (Some(gpus), Some(best)) => format!(
                "GPU budget: sustaining {rate} requests/s needs at least {} GPUs > budget {gpus}",
                best.gpus
            ),
            _ => "no combination of layouts meets the rows of the model".to_string(),
        },
        _ => "no combination of layouts meets the rows of the model".to_string(),
    };
    Error::Infeasible {
        phase: "deployment".into(),
        binding,
        report: String::new(),
    }
}
