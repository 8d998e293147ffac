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

use crate::layout::Layout;
use crate::layout::capability::is_wide_ep;
use crate::spec::task::{BatchOverlap, Engine};

/// How a stage runs its MoE layers' all-to-all beside compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// One batch; the all-to-all adds to the layer (the task's `comm_overlap` aside).
    Plain,
    /// Two micro-batches taking turns ([`HalfLayer::period`]).
    TwoBatch,
    /// One batch with SGLang's single-batch overlap (`time::sbo_time`).
    SingleBatch,
}

impl Schedule {
    /// The schedule a stage's breakdown records.
    pub fn of(b: &super::time::StepBreakdown) -> Schedule {
        if b.two_batch_overlap {
            Schedule::TwoBatch
        } else if b.single_batch_overlap {
            Schedule::SingleBatch
        } else {
            Schedule::Plain
        }
    }
}

/// When an engine runs two micro-batches so that one's MoE all-to-all overlaps the other's compute
/// (DESIGN.md §4, "partial overlap ... by engine"), as pdplan launches it: the launch sets the
/// engine's flag exactly for the layouts [`TwoBatchOverlap::launched`] accepts, so the plan and
/// the command line agree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TwoBatchOverlap {
    /// TensorRT-LLM: no micro-batch overlap of the MoE all-to-all in its PyTorch flow as
    /// AIConfigurator 0.12 models it (the all-to-all is a sequential op of the MoE block).
    Never,
    /// `any`: what DeepSeek's own system does (dual micro-batch overlap, "Inference System
    /// Overview", Feb 2025) whenever experts are spread over `ep > 1` GPUs.
    ExpertParallel,
    /// SGLang `--enable-two-batch-overlap` (lmsys.org/blog/2025-05-05-large-scale-ep): it needs an
    /// all-to-all backend (server_args.py: "When enabling two batch overlap, moe_a2a_backend
    /// cannot be 'none'"), which the launch sets (`--moe-a2a-backend deepep`) for wide EP only.
    WideEp,
    /// vLLM `--enable-dbo` (docs/design/dbo.md): DP + EP only (`--data-parallel-size` > 1 with
    /// `--enable-expert-parallel`, DeepEP all-to-all), and a step is split only when a rank holds
    /// at least `--dbo-decode-token-threshold` (32) decode tokens or
    /// `--dbo-prefill-token-threshold` (512) tokens with a prefill (ParallelConfig defaults;
    /// `check_ubatch_thresholds` compares with `>=`).
    DataParallelExperts { decode_tokens: f64, prefill_tokens: f64 },
}

impl TwoBatchOverlap {
    pub fn of(engine: Engine) -> TwoBatchOverlap {
        match engine {
            Engine::Trtllm => TwoBatchOverlap::Never,
            Engine::Sglang => TwoBatchOverlap::WideEp,
            Engine::Vllm => TwoBatchOverlap::DataParallelExperts {
                decode_tokens: 32.0,
                prefill_tokens: 512.0,
            },
            Engine::Any | Engine::Unrestricted => TwoBatchOverlap::ExpertParallel,
        }
    }

    /// Whether the engine runs layout `l` with two-batch overlap on (the launch sets its flag).
    pub fn launched(self, l: &Layout, moe: bool) -> bool {
        let spread = moe && l.ep > 1 && l.width() > 1;
        match self {
            TwoBatchOverlap::Never => false,
            TwoBatchOverlap::ExpertParallel => spread,
            TwoBatchOverlap::WideEp => is_wide_ep(l, moe),
            TwoBatchOverlap::DataParallelExperts { .. } => spread && l.attention_dp > 1,
        }
    }

    /// The schedules the engine may run on layout `l` under the task's `batch_overlap`, in order
    /// of preference among equal times. Layouts the engine runs no overlap on
    /// ([`TwoBatchOverlap::launched`]: beyond its DeepEP layouts) run none; on the others the
    /// task's choice, and `auto` the faster of the engine's (`time::slowest_by` costs each and
    /// keeps the fastest at the requirement's length; the plan records it and the launch sets its
    /// flag): SGLang two-batch or single-batch (two-batch does not pay for a small batch on a
    /// card with slow tensor cores: each half pads its experts' tiles, sglang#9660), vLLM
    /// dual-batch or none, `any` two-batch (DeepSeek's own system) or none (any engine runs
    /// without it: at a moderate decode batch the halves read the experts' weights twice).
    pub fn candidates(self, setting: BatchOverlap, l: &Layout, moe: bool) -> &'static [Schedule] {
        if !self.launched(l, moe) {
            return &[Schedule::Plain];
        }
        match (setting, self) {
            (BatchOverlap::TwoBatch, _) => &[Schedule::TwoBatch],
            (BatchOverlap::SingleBatch, _) => &[Schedule::SingleBatch],
            (BatchOverlap::Off, _) => &[Schedule::Plain],
            (BatchOverlap::Auto, TwoBatchOverlap::WideEp) => &[Schedule::TwoBatch, Schedule::SingleBatch],
            (BatchOverlap::Auto, _) => &[Schedule::TwoBatch, Schedule::Plain],
        }
    }

    /// Whether a step of `seqs` sequences and `tokens` tokens per attention rank is split in two:
    /// vLLM by its token thresholds; SGLang (and `any`) a decode step by sequences, half of them
    /// (rounded down) in the first micro-batch (`compute_split_seq_index`: `(num_tokens //
    /// token_num_per_seq) // 2`, python/sglang/srt/batch_overlap/two_batch_overlap.py), so one
    /// sequence (with all its draft tokens) leaves a micro-batch empty; a prefill by tokens (its
    /// two-chunk split cuts a prompt in two).
    pub fn splits(self, decode: bool, seqs: f64, tokens: f64) -> bool {
        match self {
            TwoBatchOverlap::DataParallelExperts {
                decode_tokens,
                prefill_tokens,
            } => tokens >= if decode { decode_tokens } else { prefill_tokens },
            _ if decode => seqs >= 2.0,
            _ => tokens >= 2.0,
        }
    }
}

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
    fn engines_overlap_where_their_launch_turns_it_on() {
        let wide = Layout {
            tp: 1,
            pp: 1,
            sp: 1,
            attention_dp: 8,
            ep: 8,
            expert_tp: 1,
        };
        let tp_ep = Layout {
            tp: 8,
            attention_dp: 1,
            ..wide
        };
        let etp = Layout {
            ep: 2,
            expert_tp: 4,
            ..wide
        };
        let [trt, sgl, vll, any] =
            [Engine::Trtllm, Engine::Sglang, Engine::Vllm, Engine::Any].map(TwoBatchOverlap::of);
        assert!(!trt.launched(&wide, true));
        assert!(sgl.launched(&wide, true) && !sgl.launched(&etp, true) && !sgl.launched(&wide, false));
        assert!(vll.launched(&wide, true) && !vll.launched(&tp_ep, true));
        assert!(any.launched(&etp, true) && any.launched(&tp_ep, true));
        // vLLM splits a decode step from 32 tokens per rank, a prefill step from 512.
        assert!(!vll.splits(true, 31.0, 31.0) && vll.splits(true, 32.0, 32.0));
        assert!(!vll.splits(false, 1.0, 511.0) && vll.splits(false, 1.0, 512.0));
        // SGLang splits a decode step by sequences: one sequence with a draft token (2 tokens)
        // stays whole; a prefill by tokens.
        assert!(sgl.splits(true, 2.0, 2.0) && !sgl.splits(true, 1.0, 2.0));
        assert!(sgl.splits(false, 1.0, 2.0) && !sgl.splits(false, 1.0, 1.0));
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
