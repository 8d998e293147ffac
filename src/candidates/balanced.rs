//! The balanced deployment of two chosen layouts (DESIGN.md §3.2): the smallest numbers of
//! prefill and decode instances whose request rates match within [`MAX_MISMATCH`] — the unit to
//! replicate as traffic grows — and the idle share of each pool.
//!
//! Rates are those of the rate reading ([`super::Serving`]): a prefill instance at its highest
//! admissible load, a decode instance at its concurrency (Little's law). Each layout runs at its
//! best stream-capable batch ([`best_stream_candidate`]): a plan of the batch reading may prefill
//! B requests per pass, which no request stream forms within TTFT, while the same layout serves a
//! stream at a smaller batch. A pool's idle share at a rate `λ` is `1 − λ / capacity`.

use super::{Candidate, check, ends_layout, rate_batch_options, rate_reading};
use crate::layout::{Layout, Phase};
use crate::spec::task::Task;
use serde::Serialize;
use std::borrow::Cow;

/// Rates of the two pools match when they differ by at most this share of the larger.
pub const MAX_MISMATCH: f64 = 0.1;

/// Most instances per phase searched for a match.
pub const MAX_INSTANCES: u64 = 1024;

/// The balanced unit of a prefill and a decode layout.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Balanced {
    /// Requests per prefill pass of each prefill instance in the unit (its best stream batch).
    pub prefill_batch: u64,
    /// Concurrent sequences of each decode instance in the unit (its best stream batch).
    pub decode_batch: u64,
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

/// The task as the rate reading sees it: unchanged under a GPU budget or a target rate; without
/// a limit, the same task with an unbounded budget (the checks read only whether the reading is
/// the rate reading, never the budget's size).
fn stream_view(task: &Task) -> Cow<'_, Task> {
    if rate_reading(task) {
        return Cow::Borrowed(task);
    }
    let mut t = task.clone();
    t.hardware.gpu_budget = Some(u64::MAX);
    Cow::Owned(t)
}

/// The layout at its best stream-capable batch: of the rate reading's batches
/// ([`rate_batch_options`]), the one whose serving rate (requests/s per instance) is highest
/// while meeting TTFT at load, TPOT, memory and throughput per GPU ([`check`] under the rate
/// reading); ties go to the smaller batch. The scan stops where a failure holds for every larger
/// batch ([`ends_layout`]). `None` when no batch of the layout serves a request stream.
pub fn best_stream_candidate(task: &Task, phase: Phase, layout: &Layout) -> Option<Candidate> {
    let stream = stream_view(task);
    let mut best: Option<Candidate> = None;
    for b in rate_batch_options() {
        match check(&stream, phase, layout, b) {
            Ok(c) if c.serving.rate_per_s > 0.0 => {
                if best
                    .as_ref()
                    .is_none_or(|x| c.serving.rate_per_s > x.serving.rate_per_s)
                {
                    best = Some(c);
                }
            }
            Ok(_) => {}
            Err(f) if ends_layout(f.limit) => break,
            Err(_) => {}
        }
    }
    best
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
        // The decode counts that match `np` prefill instances form an interval around
        // `np·rp/rd`; its smallest member is the one a fewest-instances unit can use (the floor of
        // its lower end and the next integer: one of them is it, whatever the rounding).
        let lower = (1.0 - MAX_MISMATCH) * np as f64 * rp / rd;
        for nd in [lower.floor() as u64, lower.floor() as u64 + 1] {
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
        prefill_batch: p.batch,
        decode_batch: d.batch,
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
