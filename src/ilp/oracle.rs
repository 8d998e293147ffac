//! Exhaustive enumeration over the same candidates: the oracle the ILP must equal.
//!
//! It shares nothing with the ILP but the candidate list: it walks every layout pair and every
//! instance count, so it is slow on large budgets and used by tests, baselines and the bench.

use super::formulation::{KTOK, Mode, holds_batch, tokens_per_gpu_k};
use crate::candidates::Candidate;
use crate::layout::Phase;

/// The best deployment found by enumeration: `(prefill index, instances, decode index,
/// instances)`, the primary objective value (as in the ILP) and the total GPUs.
#[derive(Clone, Debug, PartialEq)]
pub struct Best {
    pub prefill: (usize, u64),
    pub decode: (usize, u64),
    pub objective: f64,
    pub gpus: u64,
}

const REL: f64 = 1e-9;

fn better(a: f64, b: f64) -> bool {
    a > b + REL * b.abs().max(1.0)
}

/// Enumerate; `None` when no combination is feasible.
pub fn exhaustive(mode: Mode, batch: u64, prefill: &[Candidate], decode: &[Candidate]) -> Option<Best> {
    match mode {
        Mode::NoLimit => {
            let best_of = |cs: &[Candidate]| -> Option<(usize, f64, u64)> {
                let mut best: Option<(usize, f64, u64)> = None;
                for (i, c) in cs.iter().enumerate() {
                    let v = tokens_per_gpu_k(c);
                    let g = c.cover_instances * c.gpus_per_instance();
                    let take = match best {
                        None => true,
                        Some((_, bv, bg)) => better(v, bv) || (!better(bv, v) && g < bg),
                    };
                    if take {
                        best = Some((i, v, g));
                    }
                }
                best
            };
            let (pi, pv, pg) = best_of(prefill)?;
            let (di, dv, dg) = best_of(decode)?;
            Some(Best {
                prefill: (pi, prefill[pi].cover_instances),
                decode: (di, decode[di].cover_instances),
                objective: pv + dv,
                gpus: pg + dg,
            })
        }
        Mode::Budget { gpus: budget } => {
            let mut best: Option<Best> = None;
            for (pi, p) in prefill.iter().enumerate() {
                for (di, d) in decode.iter().enumerate() {
                    let (gp, gd) = (p.gpus_per_instance(), d.gpus_per_instance());
                    let np_min = if holds_batch(mode, Phase::Prefill) {
                        batch.div_ceil(p.batch)
                    } else {
                        1
                    };
                    let nd_min = batch.div_ceil(d.batch);
                    if np_min * gp + nd_min * gd > budget {
                        continue;
                    }
                    let np_max = (budget - nd_min * gd) / gp;
                    for np in np_min..=np_max {
                        let nd = (budget - np * gp) / gd;
                        let rate = (np as f64 * p.figures.rate_requests_per_s)
                            .min(nd as f64 * d.figures.rate_requests_per_s);
                        // Fewest GPUs reaching this rate with these layouts.
                        let need = |r: f64, per: f64, min: u64| -> u64 {
                            ((r / per * (1.0 - REL)).ceil() as u64).max(min)
                        };
                        let np2 = need(rate, p.figures.rate_requests_per_s, np_min);
                        let nd2 = need(rate, d.figures.rate_requests_per_s, nd_min);
                        let g = np2 * gp + nd2 * gd;
                        let take = match &best {
                            None => true,
                            Some(b) => {
                                better(rate, b.objective) || (!better(b.objective, rate) && g < b.gpus)
                            }
                        };
                        if take {
                            best = Some(Best {
                                prefill: (pi, np2),
                                decode: (di, nd2),
                                objective: rate,
                                gpus: g,
                            });
                        }
                    }
                }
            }
            best
        }
        Mode::Rate { rate } => {
            let mut best: Option<Best> = None;
            for (pi, p) in prefill.iter().enumerate() {
                for (di, d) in decode.iter().enumerate() {
                    let np = ((rate / p.figures.rate_requests_per_s * (1.0 - REL)).ceil() as u64).max(
                        if holds_batch(mode, Phase::Prefill) {
                            batch.div_ceil(p.batch)
                        } else {
                            1
                        },
                    );
                    let nd = ((rate / d.figures.rate_requests_per_s * (1.0 - REL)).ceil() as u64)
                        .max(batch.div_ceil(d.batch));
                    let g = np * p.gpus_per_instance() + nd * d.gpus_per_instance();
                    if best.as_ref().is_none_or(|b| g < b.gpus) {
                        best = Some(Best {
                            prefill: (pi, np),
                            decode: (di, nd),
                            objective: g as f64,
                            gpus: g,
                        });
                    }
                }
            }
            best
        }
    }
}

/// Tokens/s per GPU objective of a no-limit plan, for reports (tokens/s, not thousands).
pub fn tokens_per_gpu(c: &Candidate) -> f64 {
    tokens_per_gpu_k(c) * KTOK
}
