//! The planner's fixed parameters, each defined once: search caps, the batch grid, numerical
//! tolerances, units. Every optimized plan states the caps it was proven within
//! (`solver.search_space`, [`crate::ilp::SearchSpace`]).

/// Bytes per GiB (2³⁰), for memory reported in GiB and the ILP's memory rows.
pub const GIB: f64 = (1u64 << 30) as f64;

/// Largest stage width `W = tp·sp·attention_dp` enumerated: 256 GPUs, beyond the largest
/// published expert-parallel deployments (DeepSeek-V3 decode EP144-320, DeepSeek-V3 report §3.4).
pub const MAX_STAGE_WIDTH: u64 = 256;
/// Largest pipeline depth enumerated (deeper pipelines only add bubbles at inference sizes).
pub const MAX_PP: u64 = 16;
/// Largest GPU count of one instance (`pp·W`).
pub const MAX_GPUS_PER_INSTANCE: u64 = 1024;
/// Largest sequence-parallel (context-parallel) degree of prefill.
pub const MAX_SP: u64 = 16;

/// Batch grid: per-instance batches `ceil(B/n)` for every instance count n up to this one ...
pub const BATCH_LINEAR_INSTANCES: u64 = 32;
/// ... then n grows geometrically by this factor (a bounded number of batch sizes for any B).
pub const BATCH_INSTANCE_GROWTH: f64 = 1.3;

/// Absolute tolerance of the verifier's row and integrality checks (ILP coefficients are kept
/// near unity: GiB, ms, thousands of tokens/s).
pub const TOL: f64 = 1e-6;
/// Relative tolerance when the ILP optimum is compared with exhaustive enumeration.
pub const ORACLE_REL_TOL: f64 = 1e-6;

/// Declared parameter count within this band of the count the layer shapes add up to is
/// consistent; outside it the larger figure is used and the conflict reported.
pub const DECLARED_PARAMS_BAND: std::ops::RangeInclusive<f64> = 0.9..=1.1;

/// Powers of two `1, 2, 4, …` up to `max` inclusive.
pub fn powers_of_two(max: u64) -> Vec<u64> {
    std::iter::successors(Some(1u64), |p| p.checked_mul(2))
        .take_while(|&p| p <= max)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_of_two_stop_at_max_and_do_not_overflow() {
        assert_eq!(powers_of_two(16), [1, 2, 4, 8, 16]);
        assert_eq!(powers_of_two(15), [1, 2, 4, 8]);
        assert_eq!(powers_of_two(u64::MAX).len(), 64);
    }
}
