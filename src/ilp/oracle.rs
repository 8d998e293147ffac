//! Exhaustive enumeration over the same candidates: the oracle the ILP must equal.
//!
//! It shares nothing with the ILP but the candidate list and the per-candidate numbers
//! ([`per_gpu_k`], [`crate::candidates::Serving`]): it walks every layout pair (and in the budget mode every
//! instance count), so it is slow on large budgets and used by tests, baselines, the bench and
//! the post-solve optimality check.

use super::formulation::{
    DEFAULT_TOLERANCE, KTOK, Mode, Objective, min_instances, per_gpu_k, tokens_per_gpu_k,
};
use crate::candidates::Candidate;
use crate::layout::Phase;

/// The best deployment found by enumeration: `(prefill index, instances, decode index,
/// instances)`, the primary objective value (as in the ILP), the secondary one, and the total GPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct Best {
    pub prefill: (usize, u64),
    pub decode: (usize, u64),
    /// Primary criterion: Σ k tokens/s per GPU, total GPUs or requests/s (see [`Objective`]).
    pub objective: f64,
    /// Secondary criterion.
    pub secondary: f64,
    pub gpus: u64,
}

const REL: f64 = 1e-9;

fn better(a: f64, b: f64) -> bool {
    a > b + REL * b.abs().max(1.0)
}

/// `(primary, secondary)` of `a` lexicographically better than `b`; `max` says per criterion
/// whether higher is better.
fn lex_better(a: (f64, f64), b: (f64, f64), max: (bool, bool)) -> bool {
    let orient = |v: f64, up: bool| if up { v } else { -v };
    let (a0, b0) = (orient(a.0, max.0), orient(b.0, max.0));
    if better(a0, b0) {
        return true;
    }
    if better(b0, a0) {
        return false;
    }
    better(orient(a.1, max.1), orient(b.1, max.1))
}

/// Enumerate with the mode's default objective; `None` when no combination is feasible.
/// (The task's batch is carried by each candidate: `cover_instances`.)
pub fn exhaustive(mode: Mode, prefill: &[Candidate], decode: &[Candidate]) -> Option<Best> {
    exhaustive_with(mode, Objective::default_for(mode), prefill, decode)
}

/// [`exhaustive_with`] over the prefill / decode pairs the task's engine runs. With a pair rule
/// (SGLang: both phases on one attention TP unless one is wide-EP,
/// `capability::pair_excluded_by`), one enumeration per attention TP with each side keeping that
/// TP or wide-EP layouts — the branches the solver searches (`super::engine_search`), whose union
/// is exactly the allowed pairs; the best branch wins. Indices are into `prefill` / `decode`.
pub fn exhaustive_runnable(
    task: &crate::spec::task::Task,
    mode: Mode,
    objective: Objective,
    prefill: &[Candidate],
    decode: &[Candidate],
) -> Option<Best> {
    use crate::layout::capability;
    if task.rules_engine() == crate::spec::task::Engine::Any {
        return exhaustive_any_engine(task, (mode, objective), (prefill, decode));
    }
    if !capability::has_pair_rule(task.rules_engine()) || task.engine_tp_pin.is_some() {
        return exhaustive_with(mode, objective, prefill, decode);
    }
    let moe = task.model.moe.is_some();
    let keep = |cs: &[Candidate], tp: u64| -> Vec<usize> {
        (0..cs.len())
            .filter(|&i| capability::in_tp_branch(&cs[i].layout, tp, moe))
            .collect()
    };
    let tps: std::collections::BTreeSet<u64> = prefill.iter().chain(decode).map(|c| c.layout.tp).collect();
    let branches = tps
        .into_iter()
        .map(|tp| ((), keep(prefill, tp), keep(decode, tp)));
    best_branch(objective, (prefill, decode), branches, |_, p, d| {
        exhaustive_with(mode, objective, p, d)
    })
}

/// The best of enumerations over subsets of the candidates (the first among equals): each
/// branch is a tag and the indices it keeps in `prefill` / `decode`, enumerated by `enumerate`;
/// the result's indices are into the full lists.
fn best_branch<B>(
    objective: Objective,
    (prefill, decode): (&[Candidate], &[Candidate]),
    branches: impl IntoIterator<Item = (B, Vec<usize>, Vec<usize>)>,
    enumerate: impl Fn(&B, &[Candidate], &[Candidate]) -> Option<Best>,
) -> Option<Best> {
    let mut best: Option<Best> = None;
    for (tag, pi, di) in branches {
        let pc: Vec<Candidate> = pi.iter().map(|&i| prefill[i].clone()).collect();
        let dc: Vec<Candidate> = di.iter().map(|&i| decode[i].clone()).collect();
        if let Some(mut b) = enumerate(&tag, &pc, &dc)
            && best.as_ref().is_none_or(|x| b.beats(x, objective))
        {
            (b.prefill.0, b.decode.0) = (pi[b.prefill.0], di[b.decode.0]);
            best = Some(b);
        }
    }
    best
}

/// [`exhaustive_runnable`] under `Engine: any`: the best pair of all when one engine runs it,
/// else the best of each engine's own enumeration (its layouts, its pair rule), the first engine
/// of [`crate::spec::task::Engine::RUNNABLE`] among equals — the search `ilp::engine_search`
/// makes.
fn exhaustive_any_engine(
    task: &crate::spec::task::Task,
    (mode, objective): (Mode, Objective),
    (prefill, decode): (&[Candidate], &[Candidate]),
) -> Option<Best> {
    use crate::layout::capability::{self, Context};
    let ctx = Context::of(task);
    let plain = exhaustive_with(mode, objective, prefill, decode)?;
    let (p, d) = (&prefill[plain.prefill.0].layout, &decode[plain.decode.0].layout);
    if capability::engine_running_pair(p, d, ctx).is_some() {
        return Some(plain);
    }
    let keep = |cs: &[Candidate], phase, e| -> Vec<usize> {
        (0..cs.len())
            .filter(|&i| capability::allows(e, phase, &cs[i].layout, ctx, None))
            .collect()
    };
    let branches = crate::spec::task::Engine::RUNNABLE.into_iter().map(|e| {
        (
            e,
            keep(prefill, Phase::Prefill, e),
            keep(decode, Phase::Decode, e),
        )
    });
    best_branch(objective, (prefill, decode), branches, |&e, p, d| {
        let mut t = task.clone();
        t.runnable_on = Some(e);
        exhaustive_runnable(&t, mode, objective, p, d)
    })
}

/// Instances needed to reach `rate` (at least `min`).
fn need(rate: f64, per: f64, min: u64) -> u64 {
    ((rate / per * (1.0 - REL)).ceil() as u64).max(min)
}

/// Enumerate with an objective and the default tolerance; `None` when no combination is
/// feasible (or the objective is not defined in the mode).
pub fn exhaustive_with(
    mode: Mode,
    objective: Objective,
    prefill: &[Candidate],
    decode: &[Candidate],
) -> Option<Best> {
    exhaustive_tol(mode, objective, DEFAULT_TOLERANCE, prefill, decode)
}

/// A plan offered to the enumeration: candidates and counts, Σ tokens/s per GPU (k), GPUs, rate.
struct Offer {
    pi: usize,
    np: u64,
    di: usize,
    nd: u64,
    tpg: f64,
    gpus: u64,
    rate: f64,
}

/// Per criterion of `objective`, whether higher is better.
fn orientation(objective: Objective) -> (bool, bool) {
    match objective {
        Objective::PerGpu | Objective::Total => (true, false),
        Objective::MinGpus => (false, true),
    }
}

impl Best {
    /// Whether this combination beats `other` under `objective`, as the enumeration keeps its
    /// best (e.g. to merge the enumerations of disjoint candidate sets).
    pub fn beats(&self, other: &Best, objective: Objective) -> bool {
        lex_better(
            (self.objective, self.secondary),
            (other.objective, other.secondary),
            orientation(objective),
        )
    }
}

/// Keep the lexicographically best offer under an objective.
fn keep_best(best: &mut Option<Best>, objective: Objective, o: Offer) {
    let max = orientation(objective);
    let (a, b) = match objective {
        Objective::PerGpu => (o.tpg, o.gpus as f64),
        Objective::MinGpus => (o.gpus as f64, o.tpg),
        Objective::Total => (o.rate, o.gpus as f64),
    };
    if best
        .as_ref()
        .is_none_or(|x| lex_better((a, b), (x.objective, x.secondary), max))
    {
        *best = Some(Best {
            prefill: (o.pi, o.np),
            decode: (o.di, o.nd),
            objective: a,
            secondary: b,
            gpus: o.gpus,
        });
    }
}

/// Enumerate with an objective; `tolerance` is the no-limit `per-gpu` objective's
/// ([`super::formulation::uses_tolerance`]). `None` when no combination is feasible (or the
/// objective is not defined in the mode).
pub fn exhaustive_tol(
    mode: Mode,
    objective: Objective,
    tolerance: f64,
    prefill: &[Candidate],
    decode: &[Candidate],
) -> Option<Best> {
    objective.check(mode).ok()?;
    if mode == Mode::NoLimit {
        return no_limit(objective, tolerance, prefill, decode);
    }
    let mut best: Option<Best> = None;
    for (pi, p) in prefill.iter().enumerate() {
        for (di, d) in decode.iter().enumerate() {
            if cannot_beat(mode, objective, best.as_ref(), p, d) {
                continue;
            }
            for (np, nd) in counts(mode, objective, p, d) {
                let rate = (np as f64 * p.serving.rate_per_s).min(nd as f64 * d.serving.rate_per_s);
                let offer = Offer {
                    pi,
                    np,
                    di,
                    nd,
                    tpg: per_gpu_k(mode, p) + per_gpu_k(mode, d),
                    gpus: np
                        .saturating_mul(p.gpus_per_instance())
                        .saturating_add(nd.saturating_mul(d.gpus_per_instance())),
                    rate,
                };
                keep_best(&mut best, objective, offer);
            }
        }
    }
    best
}

/// Whether no plan of the pair `p`, `d` can replace `best` (budget mode, `total`): every offer of
/// the pair has `np·gp + nd·gd ≤ budget` and rate `min(np·rp, nd·rd)`, which is at most the
/// relaxation's `rp·rd·budget / (gp·rd + gd·rp)` (both terms equal); when the best rate is
/// [`better`] than that bound, every offer loses to `best` at its turn ([`keep_best`] keeps only
/// a strictly better rate or an equal one with fewer GPUs), so skipping the pair changes nothing.
fn cannot_beat(mode: Mode, objective: Objective, best: Option<&Best>, p: &Candidate, d: &Candidate) -> bool {
    let (Mode::Budget { gpus }, Objective::Total, Some(b)) = (mode, objective, best) else {
        return false;
    };
    let (rp, rd) = (p.serving.rate_per_s, d.serving.rate_per_s);
    let (gp, gd) = (p.gpus_per_instance() as f64, d.gpus_per_instance() as f64);
    let bound = rp * rd * gpus as f64 / (gp * rd + gd * rp);
    // A margin over the rounding of the bound's own arithmetic.
    bound.is_finite() && better(b.objective, bound * (1.0 + 1e-12))
}

/// Whether `np` prefill instances at `rate` requests/s get enough load to form their batches
/// (the `prefill_load` row).
fn loaded(p: &Candidate, np: u64, rate: f64) -> bool {
    !better(np as f64 * p.serving.min_rate_per_s, rate)
}

/// The instance counts worth offering for a pair (budget and rate modes): the fewest GPUs for
/// every rate the pair can reach (`total`), or the fewest instances meeting every row.
fn counts(mode: Mode, objective: Objective, p: &Candidate, d: &Candidate) -> Vec<(u64, u64)> {
    let (gp, gd) = (p.gpus_per_instance(), d.gpus_per_instance());
    let (rp, rd) = (p.serving.rate_per_s, d.serving.rate_per_s);
    let np_min = min_instances(mode, p);
    let nd_min = min_instances(mode, d);
    // A layout that serves no request stream within its requirements (rate 0) is in no plan of
    // the rate reading (the enumeration rejects it; baselines may offer it).
    if mode != Mode::NoLimit && (rp.is_nan() || rd.is_nan() || rp <= 0.0 || rd <= 0.0) {
        return Vec::new();
    }
    match mode {
        Mode::NoLimit => unreachable!("handled by no_limit"),
        Mode::Budget { gpus: budget } => {
            if np_min
                .saturating_mul(gp)
                .saturating_add(nd_min.saturating_mul(gd))
                > budget
            {
                return Vec::new();
            }
            if objective != Objective::Total {
                // The rate is free: the fewest instances are as good as any, with enough decode
                // for one prefill instance's batches to form.
                let nd = need(np_min as f64 * p.serving.min_rate_per_s, rd, nd_min);
                let ok = np_min.saturating_mul(gp).saturating_add(nd.saturating_mul(gd)) <= budget
                    && loaded(p, np_min, rp.min(nd as f64 * rd));
                return if ok { vec![(np_min, nd)] } else { Vec::new() };
            }
            let np_max = (budget - nd_min * gd) / gp;
            let mut out = Vec::new();
            for np in np_min..=np_max {
                let nd = (budget - np * gp) / gd;
                let rate = (np as f64 * rp).min(nd as f64 * rd);
                if !loaded(p, np, rate) {
                    continue;
                }
                // Fewest GPUs reaching this rate with these layouts (fewer prefill instances
                // only raise their load).
                out.push((need(rate, rp, np_min), need(rate, rd, nd_min)));
            }
            out
        }
        Mode::Rate { rate } => {
            let np = need(rate, rp, np_min);
            let nd = need(rate, rd, nd_min);
            if loaded(p, np, rate) {
                vec![(np, nd)]
            } else {
                Vec::new()
            }
        }
    }
}

/// No-limit mode: each phase is one candidate with `cover_instances` instances and the phases are
/// independent, so every objective separates into a best candidate per phase (the set of optimal
/// pairs is a product): this walks each list once instead of every pair.
fn no_limit(
    objective: Objective,
    tolerance: f64,
    prefill: &[Candidate],
    decode: &[Candidate],
) -> Option<Best> {
    let gpus = |c: &Candidate| c.cover_instances * c.gpus_per_instance();
    let (pi, di) = match objective {
        Objective::PerGpu => (
            within_tolerance(prefill, tolerance)?,
            within_tolerance(decode, tolerance)?,
        ),
        Objective::MinGpus => {
            let key = |c: &Candidate| (gpus(c) as f64, tokens_per_gpu_k(c));
            (
                best_of(prefill, &key, (false, true))?,
                best_of(decode, &key, (false, true))?,
            )
        }
        Objective::Total => return None,
    };
    let (p, d) = (&prefill[pi], &decode[di]);
    let top = |cs: &[Candidate]| cs.iter().map(tokens_per_gpu_k).fold(0.0, f64::max);
    let tpg = tokens_per_gpu_k(p) + tokens_per_gpu_k(d);
    let g = gpus(p) + gpus(d);
    let (objective, secondary) = match objective {
        // The primary optimum is the best of each phase; the plan is the fewest GPUs within
        // the tolerance of it.
        Objective::PerGpu => (top(prefill) + top(decode), g as f64),
        _ => (g as f64, tpg),
    };
    Some(Best {
        prefill: (pi, p.cover_instances),
        decode: (di, d.cover_instances),
        objective,
        secondary,
        gpus: g,
    })
}

/// Best of one list by (primary, secondary); `max` says per criterion whether higher is better.
fn best_of(cs: &[Candidate], key: &dyn Fn(&Candidate) -> (f64, f64), max: (bool, bool)) -> Option<usize> {
    let mut best: Option<(usize, (f64, f64))> = None;
    for (i, c) in cs.iter().enumerate() {
        let k = key(c);
        if best.is_none_or(|(_, b)| lex_better(k, b, max)) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

/// The fewest-GPU candidate reaching the list's tolerance target (ties: higher tokens/s per GPU):
/// the target is [`super::formulation::tolerance_target`]'s definition, the choice enumerated.
fn within_tolerance(cs: &[Candidate], tolerance: f64) -> Option<usize> {
    let gpus = |c: &Candidate| c.cover_instances * c.gpus_per_instance();
    let points: Vec<(u64, f64)> = cs.iter().map(|c| (gpus(c), tokens_per_gpu_k(c))).collect();
    let floor = super::formulation::tolerance_target(&points, tolerance)?;
    let mut best: Option<(usize, (f64, f64))> = None;
    for (i, c) in cs.iter().enumerate() {
        if better(floor, tokens_per_gpu_k(c)) {
            continue;
        }
        let k = (gpus(c) as f64, tokens_per_gpu_k(c));
        if best.is_none_or(|(_, b)| lex_better(k, b, (false, true))) {
            best = Some((i, k));
        }
    }
    best.map(|(i, _)| i)
}

/// Tokens/s per GPU objective of a no-limit plan, for reports (tokens/s, not thousands).
pub fn tokens_per_gpu(c: &Candidate) -> f64 {
    tokens_per_gpu_k(c) * KTOK
}
