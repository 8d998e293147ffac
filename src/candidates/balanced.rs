//! The balanced deployment of two chosen layouts (DESIGN.md §3.2): the smallest numbers of
//! prefill and decode instances whose request rates match within [`MAX_MISMATCH`] — the unit to
//! replicate as traffic grows — and the idle share of each pool.
//!
//! Rates are those of the rate reading ([`super::Serving`]): a prefill instance at its highest
//! admissible load, a decode instance at its concurrency (Little's law). A pool's idle share at a
//! rate `λ` is `1 − λ / capacity`.

use super::Candidate;
use serde::Serialize;

/// Rates of the two pools match when they differ by at most this share of the larger.
pub const MAX_MISMATCH: f64 = 0.1;

/// Most instances per phase searched for a match.
pub const MAX_INSTANCES: u64 = 1024;

/// The balanced unit of a prefill and a decode layout.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Balanced {
    pub prefill_instances: u64,
    pub decode_instances: u64,
    pub prefill_gpus: u64,
    pub decode_gpus: u64,
    pub total_gpus: u64,
    /// Requests/s the unit sustains (the smaller pool's capacity).
    pub request_rate_per_s: f64,
    /// Idle shares of the pools in the unit at that rate.
    pub prefill_idle_share: f64,
    pub decode_idle_share: f64,
}

/// Idle share of a pool of capacity `capacity` at `rate` requests/s.
pub fn idle_share(capacity: f64, rate: f64) -> f64 {
    if capacity > 0.0 {
        (1.0 - rate / capacity).max(0.0)
    } else {
        0.0
    }
}

/// The smallest (fewest instances in all; ties: the higher rate) prefill and decode instance
/// counts whose capacities match within [`MAX_MISMATCH`]; `None` when a rate is zero or no pair up to
/// [`MAX_INSTANCES`] matches.
pub fn balanced(p: &Candidate, d: &Candidate) -> Option<Balanced> {
    let (rp, rd) = (p.serving.rate_per_s, d.serving.rate_per_s);
    if !(rp > 0.0 && rd > 0.0) {
        return None;
    }
    let mut best: Option<(u64, u64, f64)> = None;
    for np in 1..=MAX_INSTANCES {
        let ideal = np as f64 * rp / rd;
        for nd in [ideal.floor() as u64, ideal.ceil() as u64] {
            if nd == 0 || nd > MAX_INSTANCES {
                continue;
            }
            let (cp, cd) = (np as f64 * rp, nd as f64 * rd);
            if cp.min(cd) < (1.0 - MAX_MISMATCH) * cp.max(cd) {
                continue;
            }
            let rate = cp.min(cd);
            let better =
                best.is_none_or(|(bp, bd, br)| np + nd < bp + bd || (np + nd == bp + bd && rate > br));
            if better {
                best = Some((np, nd, rate));
            }
        }
        if best.is_some_and(|(bp, bd, _)| np > bp + bd) {
            break;
        }
    }
    let (np, nd, rate) = best?;
    let (gp, gd) = (np * p.gpus_per_instance(), nd * d.gpus_per_instance());
    Some(Balanced {
        prefill_instances: np,
        decode_instances: nd,
        prefill_gpus: gp,
        decode_gpus: gd,
        total_gpus: gp + gd,
        request_rate_per_s: rate,
        prefill_idle_share: idle_share(np as f64 * rp, rate),
        decode_idle_share: idle_share(nd as f64 * rd, rate),
    })
}
