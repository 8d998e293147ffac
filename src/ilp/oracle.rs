//! Exhaustive enumeration over the same candidates: the oracle the ILP must equal.
//!
//! It shares nothing with the ILP but the candidate list and the per-candidate numbers
//! ([`per_gpu_k`], [`cover_rate`]): it walks every layout pair (and in the budget mode every
//! instance count), so it is slow on large budgets and used by tests, baselines, the bench and
//! the post-solve optimality check.

use super::formulation::{KTOK, Mode, Objective, cover_rate, min_instances, per_gpu_k, tokens_per_gpu_k};
use crate::candidates::Candidate;

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

/// Instances needed to reach `rate` (at least `min`).
fn need(rate: f64, per: f64, min: u64) -> u64 {
    ((rate / per * (1.0 - REL)).ceil() as u64).max(min)
}

/// Enumerate with an objective; `None` when no combination is feasible (or the objective is not
/// defined in the mode).
pub fn exhaustive_with(
    mode: Mode,
    objective: Objective,
    prefill: &[Candidate],
    decode: &[Candidate],
) -> Option<Best> {
    objective.check(mode).ok()?;
    if mode == Mode::NoLimit {
        return no_limit(objective, prefill, decode);
    }
    let mut best: Option<Best> = None;
    let max = match objective {
        Objective::PerGpu => (true, false),
        Objective::MinGpus => (false, true),
        Objective::Total => (true, false),
    };
    // Offer a plan: (pi, np, di, nd, tokens/s per GPU (k), gpus, rate).
    let mut offer = |pi: usize, np: u64, di: usize, nd: u64, tpg: f64, gpus: u64, rate: f64| {
        let (a, b) = match objective {
            Objective::PerGpu => (tpg, gpus as f64),
            Objective::MinGpus => (gpus as f64, tpg),
            Objective::Total => (rate, gpus as f64),
        };
        if best
            .as_ref()
            .is_none_or(|x| lex_better((a, b), (x.objective, x.secondary), max))
        {
            best = Some(Best {
                prefill: (pi, np),
                decode: (di, nd),
                objective: a,
                secondary: b,
                gpus,
            });
        }
    };
    for (pi, p) in prefill.iter().enumerate() {
        for (di, d) in decode.iter().enumerate() {
            let (gp, gd) = (p.gpus_per_instance(), d.gpus_per_instance());
            let tpg = per_gpu_k(mode, p) + per_gpu_k(mode, d);
            let (rp, rd) = (p.figures.rate_requests_per_s, d.figures.rate_requests_per_s);
            let np_min = min_instances(mode, p);
            let nd_min = min_instances(mode, d);
            match mode {
                Mode::NoLimit => unreachable!("handled by no_limit"),
                Mode::Budget { gpus: budget } => {
                    if np_min * gp + nd_min * gd > budget {
                        continue;
                    }
                    let rate_at = |np: u64, nd: u64| (np as f64 * rp).min(nd as f64 * rd);
                    if objective != Objective::Total {
                        // The rate is free: the fewest instances are as good as any.
                        offer(
                            pi,
                            np_min,
                            di,
                            nd_min,
                            tpg,
                            np_min * gp + nd_min * gd,
                            rate_at(np_min, nd_min),
                        );
                        continue;
                    }
                    let np_max = (budget - nd_min * gd) / gp;
                    for np in np_min..=np_max {
                        let nd = (budget - np * gp) / gd;
                        let rate = rate_at(np, nd);
                        // Fewest GPUs reaching this rate with these layouts.
                        let np2 = need(rate, rp, np_min);
                        let nd2 = need(rate, rd, nd_min);
                        offer(pi, np2, di, nd2, tpg, np2 * gp + nd2 * gd, rate);
                    }
                }
                Mode::Rate { rate } => {
                    let np = need(rate, rp, np_min);
                    let nd = need(rate, rd, nd_min);
                    offer(pi, np, di, nd, tpg, np * gp + nd * gd, rate);
                }
            }
        }
    }
    best
}

/// No-limit mode: each phase is one candidate with `cover_instances` instances and the phases are
/// independent, so every objective separates into a best candidate per phase (the set of optimal
/// pairs is a product): this walks each list once instead of every pair.
fn no_limit(objective: Objective, prefill: &[Candidate], decode: &[Candidate]) -> Option<Best> {
    let gpus = |c: &Candidate| c.cover_instances * c.gpus_per_instance();
    // Best of one list by (primary, secondary), among those passing `keep`.
    let best_of = |cs: &[Candidate],
                   key: &dyn Fn(&Candidate) -> (f64, f64),
                   max: (bool, bool),
                   keep: &dyn Fn(&Candidate) -> bool| {
        let mut best: Option<(usize, (f64, f64))> = None;
        for (i, c) in cs.iter().enumerate().filter(|(_, c)| keep(c)) {
            let k = key(c);
            if best.is_none_or(|(_, b)| lex_better(k, b, max)) {
                best = Some((i, k));
            }
        }
        best.map(|(i, _)| i)
    };
    let all = |_: &Candidate| true;
    let (pi, di) = match objective {
        Objective::PerGpu => {
            let key = |c: &Candidate| (tokens_per_gpu_k(c), gpus(c) as f64);
            (
                best_of(prefill, &key, (true, false), &all)?,
                best_of(decode, &key, (true, false), &all)?,
            )
        }
        Objective::MinGpus => {
            let key = |c: &Candidate| (gpus(c) as f64, tokens_per_gpu_k(c));
            (
                best_of(prefill, &key, (false, true), &all)?,
                best_of(decode, &key, (false, true), &all)?,
            )
        }
        Objective::Total => {
            let top = |cs: &[Candidate]| cs.iter().map(cover_rate).fold(f64::NEG_INFINITY, f64::max);
            let r = top(prefill).min(top(decode));
            if !r.is_finite() {
                return None;
            }
            let enough = |c: &Candidate| !better(r, cover_rate(c));
            let key = |c: &Candidate| (gpus(c) as f64, 0.0);
            (
                best_of(prefill, &key, (false, false), &enough)?,
                best_of(decode, &key, (false, false), &enough)?,
            )
        }
    };
    let (p, d) = (&prefill[pi], &decode[di]);
    let tpg = tokens_per_gpu_k(p) + tokens_per_gpu_k(d);
    let g = gpus(p) + gpus(d);
    let (objective, secondary) = match objective {
        Objective::PerGpu => (tpg, g as f64),
        Objective::MinGpus => (g as f64, tpg),
        Objective::Total => (cover_rate(p).min(cover_rate(d)), g as f64),
    };
    Some(Best {
        prefill: (pi, p.cover_instances),
        decode: (di, d.cover_instances),
        objective,
        secondary,
        gpus: g,
    })
}

/// Tokens/s per GPU objective of a no-limit plan, for reports (tokens/s, not thousands).
pub fn tokens_per_gpu(c: &Candidate) -> f64 {
    tokens_per_gpu_k(c) * KTOK
}
