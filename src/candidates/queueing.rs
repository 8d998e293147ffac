//! Prefill under a request stream (DESIGN.md §3.1, rate reading): the TTFT a request sees at a
//! given load and the range of loads at which an instance keeps TTFT within the requirement.
//!
//! Model (stated in every plan): an instance prefills batches of exactly `b` requests; requests
//! arrive as a Poisson stream of `λ` requests/s per instance; a batch takes `D` seconds (the cost
//! model's prefill time of `b` requests at the TTFT input length).
//! * batch formation — the mean over the `b` requests of a batch of the time until the batch is
//!   complete: `(b − 1) / (2λ)` (the i-th arrival waits for `b − i` more, each `1/λ` apart);
//! * queueing — batches wait for the instance as in an M/D/1 queue at utilization
//!   `ρ = λ·D / b`: mean wait `ρ·D / (2(1 − ρ))` (Pollaczek–Khinchine with deterministic service;
//!   DistServe, Zhong et al., OSDI'24, §3.1, models a prefill instance exactly so:
//!   `avg TTFT = D + R·D² / (2(1 − R·D))`). Batches of `b > 1` arrive Erlang-`b`, less variable
//!   than Poisson, so for them the M/D/1 wait is an upper bound (the GI/D/1 wait grows with the
//!   inter-arrival variance; Kingman, 1961);
//! * KV hand-off — the request's KV cache sent to its decode instance (see
//!   [`kv_transfer_s`]).
//!
//! `TTFT(λ) = D + (b−1)/(2λ) + ρD/(2(1−ρ)) + kv` is convex in `λ`, so the loads meeting a limit
//! form an interval: with `a = (b−1)/b` and `u = 2(limit − D − kv)/D`, `TTFT ≤ limit` ⇔
//! `(1+u)ρ² − (a+u)ρ + a ≤ 0`. The upper end is capped at [`MAX_UTILIZATION`].

/// Highest prefill utilization a plan runs at: the M/D/1 wait grows without bound as `ρ → 1`,
/// and the rate model is an average, so a margin is kept (AIConfigurator derates prefill rates
/// by the same 0.9).
pub const MAX_UTILIZATION: f64 = 0.9;

/// The terms of TTFT at a load (seconds).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct TtftBreakdown {
    pub prefill_s: f64,
    pub batch_formation_s: f64,
    pub queueing_s: f64,
    pub kv_transfer_s: f64,
}

impl TtftBreakdown {
    /// TTFT: the sum of the terms.
    pub fn total_s(&self) -> f64 {
        self.prefill_s + self.batch_formation_s + self.queueing_s + self.kv_transfer_s
    }
}

/// TTFT of a request at `load_per_s` requests/s per instance (batches of `batch`, service
/// `service_s`, hand-off `kv_s`); `None` when the instance is saturated (`ρ ≥ 1`) or idle.
pub fn ttft_at(service_s: f64, batch: u64, kv_s: f64, load_per_s: f64) -> Option<TtftBreakdown> {
    let b = batch as f64;
    let rho = load_per_s * service_s / b;
    // `<= 0` or NaN: no load.
    if load_per_s.is_nan() || load_per_s <= 0.0 || rho >= 1.0 {
        return None;
    }
    Some(TtftBreakdown {
        prefill_s: service_s,
        batch_formation_s: (b - 1.0) / (2.0 * load_per_s),
        queueing_s: rho * service_s / (2.0 * (1.0 - rho)),
        kv_transfer_s: kv_s,
    })
}

/// Loads (requests/s per instance) at which TTFT stays within the limit and `ρ ≤`
/// [`MAX_UTILIZATION`].
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LoadRange {
    /// Fewest requests/s that still fill batches in time (0 for `b = 1`).
    pub min_per_s: f64,
    /// Most requests/s: the instance's capacity in the rate reading.
    pub max_per_s: f64,
}

/// The load range of a prefill instance, `None` when no load meets the limit.
pub fn load_range(service_s: f64, batch: u64, kv_s: f64, ttft_limit_s: Option<f64>) -> Option<LoadRange> {
    let b = batch as f64;
    let to_rate = |rho: f64| rho * b / service_s;
    let Some(limit) = ttft_limit_s else {
        return Some(LoadRange {
            min_per_s: 0.0,
            max_per_s: to_rate(MAX_UTILIZATION),
        });
    };
    let slack = limit - service_s - kv_s;
    if slack.is_nan() || slack <= 0.0 || service_s.is_nan() || service_s <= 0.0 {
        return None;
    }
    let a = (b - 1.0) / b;
    let u = 2.0 * slack / service_s;
    // (1+u)ρ² − (a+u)ρ + a ≤ 0
    let disc = (a + u) * (a + u) - 4.0 * (1.0 + u) * a;
    if disc < 0.0 {
        return None;
    }
    let root = disc.sqrt();
    let lo = (a + u - root) / (2.0 * (1.0 + u));
    let hi = ((a + u + root) / (2.0 * (1.0 + u))).min(MAX_UTILIZATION);
    if lo > hi {
        return None;
    }
    // Nudge inward so the ends meet the limit despite rounding.
    let eps = 1e-12;
    let lo = if a > 0.0 { lo * (1.0 + eps) } else { 0.0 };
    Some(LoadRange {
        min_per_s: to_rate(lo),
        max_per_s: to_rate(hi * (1.0 - eps)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unbatched_capacity_is_the_m_d_1_bound() {
        // D = 0.2 s, limit 1 s, no hand-off: ρ/(1−ρ)·0.1 ≤ 0.8 ⇒ ρ ≤ 8/9 < 0.9.
        let r = load_range(0.2, 1, 0.0, Some(1.0)).unwrap();
        assert_eq!(r.min_per_s, 0.0);
        let t = ttft_at(0.2, 1, 0.0, r.max_per_s).unwrap();
        assert!((t.total_s() - 1.0).abs() < 1e-9, "{t:?}");
        assert!((r.max_per_s - 8.0 / 9.0 / 0.2).abs() < 1e-9);
    }

    #[test]
    fn ends_of_the_range_meet_the_limit_and_the_middle_is_inside() {
        for b in [2u64, 5, 16, 64] {
            let (d, kv, limit) = (0.05 * b as f64, 0.01, 3.0);
            let Some(r) = load_range(d, b, kv, Some(limit)) else {
                continue;
            };
            for load in [r.min_per_s, (r.min_per_s + r.max_per_s) / 2.0, r.max_per_s] {
                let t = ttft_at(d, b, kv, load).unwrap();
                assert!(t.total_s() <= limit * (1.0 + 1e-9), "b={b} load={load}: {t:?}");
                assert!(load * d / b as f64 <= MAX_UTILIZATION + 1e-12);
            }
            // Just outside the range the limit is missed (unless the cap binds).
            let below = ttft_at(d, b, kv, r.min_per_s * 0.99).unwrap();
            assert!(below.total_s() > limit, "b={b}");
        }
    }

    #[test]
    fn no_range_when_the_batch_alone_misses_the_limit() {
        assert!(load_range(2.0, 4, 0.0, Some(1.5)).is_none());
        assert!(load_range(1.0, 1, 0.6, Some(1.5)).is_none());
    }
}
