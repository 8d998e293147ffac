//! The search under an engine whose rules bind the prefill / decode pair: SGLang without wide EP
//! needs the same attention TP on both phases (`sglang.same_tp` in
//! [`crate::layout::capability::RULES`]).
//!
//! A pair rule is not a property of one candidate, so it is kept by splitting the search: for each
//! attention TP `t` both phases are restricted to layouts with TP `t` or wide-EP, and the best of
//! these solves is the optimum under the rule. Every pair the rule allows lies in some branch (two
//! non-wide layouts share their TP; a pair with a wide-EP side lies in the branch of the other
//! side's TP), and every pair of a branch is allowed, so the split is exact. Each branch is an
//! ordinary solve, verified and oracle-checked like any other. The layouts are scanned once, their
//! results kept per attention TP and wide-EP apart (`candidates::scan_by`, `ClassBy::AttentionTp`); a branch
//! merges its classes, which gives exactly the candidates of a scan of its layouts alone (plans
//! byte-identical to scanning per branch; Qwen3-235B seed task with `--engine sglang` 21.2 →
//! 13.7 ms per process).

use super::{Deployment, optimize_pairs_from, optimize_pairs_unrestricted};
use crate::candidates::{self, PhaseCandidates};
use crate::error::{Error, Result};
use crate::layout::capability::{self, Rule};
use crate::layout::{self, Limits, Phase};
use crate::spec::goal::{Criterion, Mode, Objective};
use crate::spec::task::{Engine, Task};
use std::collections::BTreeSet;
use std::time::Instant;

/// Relative tolerance when comparing branch optima (the ILP's own objective floor slack is 1e-9).
const TIE: f64 = 1e-9;

/// [`super::optimize_tol`]: the plain search, or the per-TP split when the task's engine has a
/// pair rule the plain optimum breaks.
pub fn optimize(task: &Task, mode: Mode, objective: Objective, tolerance: f64) -> Result<Deployment> {
    match task.rules_engine() {
        Engine::Any => any_engine(task, mode, objective, tolerance),
        engine => one_engine(task, engine, (mode, objective, tolerance)),
    }
}

/// The search under one engine's rules (or none: `unrestricted`).
fn one_engine(
    task: &Task,
    engine: Engine,
    (mode, objective, tolerance): (Mode, Objective, f64),
) -> Result<Deployment> {
    if !capability::has_pair_rule(engine) || task.engine_tp_pin.is_some() {
        return optimize_pairs_unrestricted(task, mode, objective, tolerance);
    }
    super::check_goal(mode, objective, tolerance)?;
    // One scan serves every branch: its results are kept per attention TP (and wide EP apart),
    // and a branch merges the classes it allows — the candidates a scan of just its layouts
    // would give (`candidates::Scanned`).
    let start = Instant::now();
    let scanned = candidates::scan_by(task, (mode, objective), candidates::ClassBy::AttentionTp);
    let enumeration_s = start.elapsed().as_secs_f64();
    let goal = (mode, objective, tolerance);
    let every = |_: u64| true;
    let tp_of = |c: u64| c;
    same_tp_search(
        task,
        (engine, goal),
        &scanned,
        (&every, &tp_of),
        (start, enumeration_s),
    )
}

/// Which classes of a scan a search keeps, and the attention TP of a class
/// ([`candidates::WIDE_EP_CLASS`] for wide EP).
type ClassView<'f> = (&'f dyn Fn(u64) -> bool, &'f dyn Fn(u64) -> u64);

/// The search under `engine`'s rules over the classes of `scanned` that `member` keeps: the
/// plain optimum when it keeps the engine's same-TP pair rule (always, for an engine without
/// one), else the best TP branch.
fn same_tp_search(
    task: &Task,
    (engine, goal): (Engine, (Mode, Objective, f64)),
    scanned: &candidates::Scanned,
    (member, tp_of): ClassView,
    (start, enumeration_s): (Instant, f64),
) -> Result<Deployment> {
    let (mode, objective, _) = goal;
    let moe = task.model.moe.is_some();
    let plain = optimize_pairs_from(task, goal, scanned.candidates(member), (start, enumeration_s));
    let broken = match &plain {
        Ok(d) => capability::pair_excluded_by(
            engine,
            &d.prefill.candidate.layout,
            &d.decode.candidate.layout,
            moe,
        ),
        Err(_) => None,
    };
    let Some(rule) = broken else {
        return plain;
    };
    let Ok(unrestricted) = plain else {
        return plain;
    };
    // The branches, highest bound first (the optimum is usually there and lets the others be
    // skipped); the result is the best branch, the lowest TP among equals, as an ascending scan
    // that keeps the first of equals gives.
    let mut branches: Vec<(u64, [PhaseCandidates; 2], f64)> = attention_tps(task)
        .into_iter()
        .map(|tp| {
            let in_branch = |c: u64| member(c) && (tp_of(c) == tp || tp_of(c) == candidates::WIDE_EP_CLASS);
            let cands = scanned.candidates(in_branch);
            let bound = primary_bound(mode, objective, &cands);
            (tp, cands, bound)
        })
        .collect();
    branches.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let mut best: Option<(u64, Deployment)> = None;
    for (tp, cands, bound) in branches {
        if let Some((_, b)) = &best {
            let floor = b.solver.primary_value;
            if bound < floor - TIE * floor.abs().max(1.0) {
                continue; // cannot reach the best branch's primary: not better, not equal
            }
        }
        let mut pinned = task.clone();
        pinned.engine_tp_pin = Some(tp);
        match optimize_pairs_from(&pinned, goal, cands, (Instant::now(), enumeration_s)) {
            Ok(d)
                if best.as_ref().is_none_or(|(bt, b)| {
                    better(objective, &d, b) || (!better(objective, b, &d) && tp < *bt)
                }) =>
            {
                best = Some((tp, d))
            }
            Ok(_) | Err(Error::Infeasible { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut best = best.map(|(_, d)| d).ok_or_else(|| Error::Infeasible {
        phase: "both".into(),
        binding: format!("engine rule {}: {}", rule.id, rule.says),
        report: format!(
            "no prefill / decode pair with one attention TP (or a wide-EP side) meets the \
             requirements; the unrestricted optimum uses {}",
            pair_text(&unrestricted)
        ),
    })?;
    best.solver.engine_search = Some(explain(rule, &unrestricted, &best));
    Ok(best)
}

/// The search under `Engine: any`: a plan that one engine runs, prefill and decode alike.
///
/// The layouts are those some engine runs in their phase (`candidates::engine_allows`); their
/// optimum is the answer when one engine runs its pair (the common case, one solve). Otherwise
/// (e.g. Mixtral on 32 H100s: a decode only SGLang runs beside a prefill of another attention
/// TP) each engine is searched on its own layouts and pair rule, and the best of these optima is
/// the plan, the first engine of [`Engine::RUNNABLE`] among equals: every pair one engine runs
/// lies in that engine's search, so the best of the searches is the optimum over runnable pairs.
/// The layouts are scanned once, kept apart by branch class, and each search merges its classes
/// (the candidates of a scan of its layouts alone: plans byte-identical to one scan per engine,
/// checked on 42 such tasks; Mixtral 17.1 → 11.9 ms per process). The cost model stays the
/// task's (`any`: the reference kernels) in every search.
fn any_engine(task: &Task, mode: Mode, objective: Objective, tolerance: f64) -> Result<Deployment> {
    super::check_goal(mode, objective, tolerance)?;
    // One scan, its results kept per branch class (the engines that run a layout, and its
    // attention TP where SGLang's rule applies): every search below merges the classes it
    // allows, the candidates a scan of just its layouts would give.
    let start = Instant::now();
    let scanned = candidates::scan_by(task, (mode, objective), candidates::ClassBy::EngineBranch);
    let enumeration_s = start.elapsed().as_secs_f64();
    let goal = (mode, objective, tolerance);
    let first = optimize_pairs_from(task, goal, scanned.candidates(|_| true), (start, enumeration_s))?;
    let ctx = capability::Context::of(task);
    let (p, d) = (&first.prefill.candidate.layout, &first.decode.candidate.layout);
    if capability::engine_running_pair(p, d, ctx).is_some() {
        return Ok(first);
    }
    let mut best: Option<(Engine, Deployment)> = None;
    for (bit, e) in capability::engines_of(task).into_iter().enumerate() {
        let mut t = task.clone();
        t.runnable_on = Some(e);
        let member = |c: u64| capability::class_runs_on(c, bit);
        let tp_of = capability::class_tp;
        // Without a pair rule the search is its plain solve.
        let at = (Instant::now(), enumeration_s);
        match same_tp_search(&t, (e, goal), &scanned, (&member, &tp_of), at) {
            Ok(d) if best.as_ref().is_none_or(|(_, b)| better(objective, &d, b)) => best = Some((e, d)),
            Ok(_) | Err(Error::Infeasible { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let Some((engine, mut best)) = best else {
        return Err(Error::Infeasible {
            phase: "both".into(),
            binding: "engine rules: no engine runs a prefill / decode pair that meets the requirements"
                .into(),
            report: format!(
                "the best plan over layouts some engine runs pairs {}, which no one engine runs \
                 (`--engine unrestricted` plans it anyway)",
                pair_text(&first)
            ),
        });
    };
    let why = format!(
        "engine any: the optimum over layouts some engine runs ({}; objective {:.6} then {:.6}) is \
         run by no one engine for both phases; this plan is the best that one engine runs, {} \
         (objective {:.6} then {:.6}){}",
        pair_text(&first),
        first.solver.primary_value,
        first.solver.secondary_value,
        engine.name(),
        best.solver.primary_value,
        best.solver.secondary_value,
        best.solver
            .engine_search
            .as_ref()
            .map_or(String::new(), |s| format!("; within {}: {s}", engine.name()))
    );
    best.solver.engine_search = Some(why);
    Ok(best)
}

/// An upper bound on a branch's primary value: with tokens/s per GPU as the primary criterion
/// (maximized; one layout per phase, `one_layout`), the sum of each phase's best candidate's
/// tokens/s per GPU as the mode counts it; no bound (infinite) for the other criteria.
fn primary_bound(mode: Mode, objective: Objective, cands: &[PhaseCandidates; 2]) -> f64 {
    if objective.criteria().0 != Criterion::TokensPerGpu {
        return f64::INFINITY;
    }
    cands
        .iter()
        .map(|pc| {
            pc.feasible
                .iter()
                .map(|c| candidates::per_gpu_k(mode, c))
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum()
}

/// Attention TP values any layout of either phase can take, ascending.
pub(super) fn attention_tps(task: &Task) -> BTreeSet<u64> {
    let limits = Limits::for_budget(task.hardware.gpu_budget);
    Phase::BOTH
        .iter()
        .flat_map(|&p| layout::enumerate(&task.model, p, &limits))
        .map(|l| l.tp)
        .collect()
}

/// `a` is strictly better than `b` under the objective's lexicographic criteria.
fn better(objective: Objective, a: &Deployment, b: &Deployment) -> bool {
    let (c1, c2) = objective.criteria();
    let pairs = [
        (c1, a.solver.primary_value, b.solver.primary_value),
        (c2, a.solver.secondary_value, b.solver.secondary_value),
    ];
    for (c, x, y) in pairs {
        let tol = TIE * x.abs().max(y.abs()).max(1.0);
        if (x - y).abs() <= tol {
            continue;
        }
        return match c {
            Criterion::Gpus => x < y,
            Criterion::TokensPerGpu | Criterion::Rate => x > y,
        };
    }
    false
}

fn pair_text(d: &Deployment) -> String {
    format!(
        "prefill {} / decode {}",
        d.prefill.candidate.layout, d.decode.candidate.layout
    )
}

/// Why the plan is not the unrestricted optimum, with both objective values.
fn explain(rule: &Rule, unrestricted: &Deployment, chosen: &Deployment) -> String {
    format!(
        "{} ({}): the unrestricted optimum ({}; objective {:.6} then {:.6}) breaks it; this plan is \
         the best over the pairs with one attention TP or a wide-EP side ({}; objective {:.6} then \
         {:.6})",
        rule.id,
        rule.says,
        pair_text(unrestricted),
        unrestricted.solver.primary_value,
        unrestricted.solver.secondary_value,
        pair_text(chosen),
        chosen.solver.primary_value,
        chosen.solver.secondary_value
    )
}
