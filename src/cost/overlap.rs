//! Two-batch overlap as a schedule: how long an MoE layer takes when two micro-batches take turns
//! on the GPU's compute and on its all-to-all links (issue 11, item 4: partial overlap).
//!
//! **The schedule.** SGLang's two-batch overlap runs each MoE layer of a micro-batch as two
//! stages and alternates the micro-batches stage by stage (`_compute_moe_deepseek_blog_prefill`
//! in `python/sglang/srt/batch_overlap/operations_strategy.py`: attention, gate, *issue the
//! dispatch* | yield | *wait for it*, experts, *issue the combine* | yield | *wait for it*, next
//! layer); DeepSeek's dual micro-batch (deepseek-ai/profile-data README, "Inference System
//! Overview") is the same ping-pong. With `a` the attention part, `d` the dispatch, `m` the experts
//! and `c` the combine of one micro-batch (each at the half batch's own kernel sizes):
//!
//! * compute runs `a_A, a_B, m_A, m_B`, then the next layer;
//! * the links run `d_A, d_B, c_A, c_B`;
//! * each micro-batch is a chain `a → d → m → c → a (next layer)`.
//!
//! **Its period** is the largest mean of a cycle of this event graph over one layer (the
//! cycle-mean theorem of max-plus algebra: Baccelli, Cohen, Olsder, Quadrat, *Synchronization and
//! Linearity*, 1992, ch. 3): the compute loop `2(a + m)`, the link loop `2(d + c)`, one micro-
//! batch's chain `a + d + m + c`, and the cycles through both micro-batches, each of which is that
//! chain plus one step's time minus another's — so
//!
//! `period = max(2(a + m), 2(d + c), a + d + m + c + max(a, d, m, c) − min(a, d, m, c))`.
//!
//! Balanced steps hide all communication (`2·max` of the two loads); unequal ones leave bubbles:
//! a micro-batch's experts wait for its dispatch when the other's attention is shorter than that
//! dispatch. The overlap is thus partial by the kernels' own times, with no efficiency factor of
//! its own (the test `period_is_the_simulated_schedule` checks the formula against the schedule
//! run step by step).
//!
//! SGLang's decode strategy cuts the layer finer (five stages, the second micro-batch two stages
//! behind); it is modeled with the same two-stage ping-pong.

/// One MoE layer of one micro-batch (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HalfLayer {
    /// Attention, its projections and the router (compute).
    pub attention: f64,
    /// The dispatch all-to-all (and any TP all-reduce before it).
    pub dispatch: f64,
    /// The expert FFNs and their element-wise kernels (compute).
    pub experts: f64,
    /// The combine all-to-all.
    pub combine: f64,
}

impl HalfLayer {
    /// Time per layer of the two micro-batches in steady state (module documentation).
    pub fn period(&self) -> f64 {
        let HalfLayer {
            attention: a,
            dispatch: d,
            experts: m,
            combine: c,
        } = *self;
        let (hi, lo) = (a.max(d).max(m).max(c), a.min(d).min(m).min(c));
        (2.0 * (a + m)).max(2.0 * (d + c)).max(a + d + m + c + hi - lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schedule run step by step for `layers` layers: each step starts when its resource is
    /// free and its micro-batch's previous step has ended; the period is the mean time per layer
    /// over the second half (steady state).
    fn simulated(h: &HalfLayer, layers: usize) -> f64 {
        let (mut compute, mut links) = (0.0f64, 0.0f64);
        let mut ready = [0.0f64; 2]; // end of each micro-batch's previous combine
        let mut ends = Vec::with_capacity(layers);
        for _ in 0..layers {
            let mut attn = [0.0; 2];
            for (b, end) in attn.iter_mut().enumerate() {
                compute = compute.max(ready[b]) + h.attention;
                *end = compute;
            }
            let mut disp = [0.0; 2];
            for (b, end) in disp.iter_mut().enumerate() {
                links = links.max(attn[b]) + h.dispatch;
                *end = links;
            }
            let mut exp = [0.0; 2];
            for (b, end) in exp.iter_mut().enumerate() {
                compute = compute.max(disp[b]) + h.experts;
                *end = compute;
            }
            for (b, end) in ready.iter_mut().enumerate() {
                links = links.max(exp[b]) + h.combine;
                *end = links;
            }
            ends.push(ready[1]);
        }
        let half = layers / 2;
        (ends[layers - 1] - ends[half]) / (layers - 1 - half) as f64
    }

    #[test]
    fn period_is_the_simulated_schedule() {
        // A fixed pseudo-random sequence (xorshift) of step times spanning three orders of size.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1_000_000) as f64 / 1e6
        };
        for _ in 0..5_000 {
            let mut v = [0.0; 4];
            for x in &mut v {
                *x = next().powi(3);
            }
            let h = HalfLayer {
                attention: v[0],
                dispatch: v[1],
                experts: v[2],
                combine: v[3],
            };
            let (f, sim) = (h.period(), simulated(&h, 64));
            assert!((f - sim).abs() <= 1e-9 * f.max(1e-12), "{h:?}: {f} vs {sim}");
        }
    }

    #[test]
    fn balanced_steps_hide_the_communication_and_unequal_ones_do_not() {
        let even = HalfLayer {
            attention: 1.0,
            dispatch: 1.0,
            experts: 1.0,
            combine: 1.0,
        };
        assert_eq!(even.period(), 4.0);
        // Same loads on both resources (2 each), but a long dispatch after a short attention:
        // the experts wait, so the layer takes longer than either resource is busy.
        let skewed = HalfLayer {
            attention: 0.2,
            dispatch: 1.8,
            experts: 1.8,
            combine: 0.2,
        };
        assert!(skewed.period() > 4.0 + 1.0, "{}", skewed.period());
        // Never below either resource's load nor above running everything one after the other.
        for h in [even, skewed] {
            let (ops, comm) = (h.attention + h.experts, h.dispatch + h.combine);
            assert!(h.period() >= 2.0 * ops.max(comm));
            assert!(h.period() <= 2.0 * (ops + comm));
        }
    }
}
