//! Analytic cost model (DESIGN.md §4): memory per GPU, prefill latency, decode step time.
//!
//! Every figure is for the *most loaded* GPU / the *slowest* pipeline stage of one instance: that
//! is what sets memory fit and pace. The model is a per-operator roofline — each operator takes
//! `launch + max(FLOPs / (peak × c), bytes / (HBM bandwidth × b))` (Williams et al., "Roofline",
//! CACM 2009; applied to LLM inference as in Yuan et al., "LLM Inference Unveiled", 2024) with the
//! efficiencies `c`, `b` and the launch cost measured per kernel class and size
//! ([`profile`]) — plus communication that is not overlapped.
//!
//! Three levels (issue 12): per-task constants ([`kernels::Kernels`]), per-layout coefficients
//! ([`LayoutCoeffs::new`]: stage shapes, weight parameters per operator, memory per stage,
//! communication groups), and a per-batch kernel ([`LayoutCoeffs::figures`]) that evaluates a
//! few terms per operator class without allocating.

pub mod calibration;
pub mod coeffs;
pub mod comm;
pub mod fp8_quant;
pub mod kernels;
pub mod lazy_json;
pub mod memory;
pub mod mla_module;
pub mod moe_shapes;
pub mod overlap;
pub mod profile;
/// Model size arithmetic (parameter counts, KV bytes) lives with the specification.
pub use crate::spec::model_size as params;
pub mod time;

use crate::layout::{Layout, Phase};
use crate::spec::task::Task;
use serde::Serialize;

pub use coeffs::LayoutCoeffs;
pub use memory::MemoryBreakdown;
pub use time::StepBreakdown;

/// Everything the optimizer and the plan need about one layout with one per-instance batch.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Figures {
    pub memory: MemoryBreakdown,
    /// Prefill: time for the instance to prefill its batch at the TTFT input length.
    pub ttft_s: Option<f64>,
    /// Prefill: the same at the maximum sequence length.
    pub ttft_at_max_length_s: Option<f64>,
    /// Decode: time per output token at the last output token's context.
    pub tpot_s: Option<f64>,
    /// Decode: time per output token at the mean context (throughput is computed here).
    pub tpot_mean_s: Option<f64>,
    pub micro_batches: u64,
    /// Tokens/s of one instance (prefill: input tokens; decode: output tokens).
    pub throughput_tokens_per_s: f64,
    /// Tokens/s per GPU of one instance.
    pub throughput_tokens_per_s_per_gpu: f64,
    /// Requests/s one instance sustains (prefill: batch / TTFT; decode: batch / (OSL × TPOT)).
    pub rate_requests_per_s: f64,
    /// Where the time of the slowest stage goes, for one micro-batch.
    pub breakdown: StepBreakdown,
}

/// The same figures with the TTFT at the maximum length filled in (prefill; for reports).
pub fn with_max_length(task: &Task, phase: Phase, layout: &Layout, batch: u64, mut f: Figures) -> Figures {
    if phase == Phase::Prefill && f.ttft_at_max_length_s.is_none() {
        f.ttft_at_max_length_s = LayoutCoeffs::new(task, layout, phase).ttft_at_max_length(batch);
    }
    f
}

/// Sequences per attention-DP rank (the most loaded rank).
pub fn sequences_per_rank(layout: &Layout, batch: u64) -> u64 {
    let dp = layout.attention_dp;
    // A power of two (every dense layout, most MoE ones) by a shift: the enumeration calls this
    // once per candidate and a 64-bit division is its slowest instruction.
    match dp.is_power_of_two().then(|| batch.checked_add(dp - 1)).flatten() {
        Some(up) => up >> dp.trailing_zeros(),
        None => batch.div_ceil(dp),
    }
}

/// What the enumeration checks and ranks a layout's batches by, computed from the sequences per
/// attention rank alone: memory and step times depend on the batch only through
/// `ceil(batch / attention_dp)`, so the enumeration computes this once per distinct value
/// ([`rank_after`], no breakdown) and finishes each batch with [`RankScalars::throughput`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankScalars {
    pub seqs: u64,
    /// Memory of the most loaded GPU (bytes) and whether it fits.
    pub memory_bytes: f64,
    pub fits: bool,
    /// Prefill: TTFT at the TTFT input length; decode: TPOT at the last token's context.
    pub latency_s: f64,
    /// Prefill: TTFT at the maximum length when that is the TTFT input length; decode: TPOT at
    /// the mean context.
    pub second_s: Option<f64>,
    pub micro_batches: u64,
    /// Sequences per micro-batch (the stage times depend on the batch only through it).
    pub per_micro_batch: u64,
    /// The slowest stage's time at the two lengths of [`rank_lens`].
    stage_s: [f64; 2],
}

/// [`RankScalars`] with the memory and the slowest stage's breakdown (the plan's figures).
#[derive(Clone, Debug, PartialEq)]
pub struct RankFigures {
    pub scalars: RankScalars,
    pub memory: MemoryBreakdown,
    pub breakdown: StepBreakdown,
}

/// The batch-independent part of [`evaluate`] for `seqs` sequences per attention rank.
pub fn evaluate_rank(task: &Task, phase: Phase, layout: &Layout, seqs: u64) -> RankFigures {
    rank_with(&LayoutCoeffs::new(task, layout, phase), seqs)
}

/// [`evaluate_rank`] from the layout's coefficients (computed once per layout by the caller):
/// the formulas of [`LayoutCoeffs::figures`] split at the sequences per rank, so
/// `rank_with(c, seqs).at_batch(..)` equals `c.figures(batch)` and its scalars equal
/// [`rank_after`]'s (tests/driver.rs holds them equal).
pub fn rank_with(c: &LayoutCoeffs, seqs: u64) -> RankFigures {
    rank_with_cache(c, seqs, &mut time::LayerCache::default())
}

/// [`rank_with`] reading the layer times from `cache` (filled by the same task's layouts, as
/// [`rank_after`] does; hits return the stored values, so the figures are equal bit for bit).
pub fn rank_with_cache(c: &LayoutCoeffs, seqs: u64, cache: &mut time::LayerCache) -> RankFigures {
    let memory = c.memory.at(seqs);
    let (m, per_mb) = micro_batches(c.phase, &c.layout, seqs);
    let steps = time::slowest_stages(c, per_mb, rank_lens(c), cache);
    let times = [steps[0].stage_time_s, steps[1].stage_time_s];
    let [first, second] = steps;
    RankFigures {
        scalars: RankScalars::of(c, seqs, (memory.total_bytes, memory.fits()), (m, per_mb), times),
        memory,
        // Prefill: the step at the TTFT length; decode: the step at the mean context.
        breakdown: if c.phase == Phase::Prefill { first } else { second },
    }
}

/// The lengths / contexts a rank's stages are timed at: prefill the TTFT input length (twice),
/// decode the last token's and the mean context.
fn rank_lens(c: &LayoutCoeffs) -> [u64; 2] {
    let wl = &c.task.workload;
    match c.phase {
        Phase::Prefill => [wl.ttft_input_len(); 2],
        Phase::Decode => [wl.decode_last_context(), wl.decode_mean_context()],
    }
}

/// Micro-batches and sequences per micro-batch of `seqs` sequences per rank (the pipeline model
/// of [`LayoutCoeffs::figures`]): prefill one micro-batch per sequence when `pp > 1`, decode
/// `min(pp, seqs)` micro-batches.
fn micro_batches(phase: Phase, layout: &Layout, seqs: u64) -> (u64, u64) {
    let m = match phase {
        Phase::Prefill if layout.pp > 1 => seqs,
        Phase::Prefill => 1,
        Phase::Decode => layout.pp.min(seqs),
    };
    (m, seqs.div_ceil(m.max(1)))
}

/// The scalars of [`rank_with`] without its breakdowns, reusing the stage times of `prev` (the
/// same layout's scalars at other sequences per rank) when its micro-batches hold as many
/// sequences: the stage times depend on the sequences per rank only through that size (with
/// `pp > 1` a prefill micro-batch is one sequence whatever the batch), so only memory and the
/// pipeline count are recomputed; layer times come from `cache` when a layout of the same shape
/// computed them. Equal to [`rank_with`]'s scalars bit for bit (tests/driver.rs).
pub fn rank_after(
    c: &LayoutCoeffs,
    seqs: u64,
    prev: Option<&RankScalars>,
    cache: &mut time::LayerCache,
) -> RankScalars {
    let total = c.memory.total_at(seqs);
    let (m, per_mb) = micro_batches(c.phase, &c.layout, seqs);
    let times = match prev.filter(|p| p.per_micro_batch == per_mb) {
        Some(p) => p.stage_s,
        None => time::slowest_times(c, per_mb, rank_lens(c), cache),
    };
    RankScalars::of(c, seqs, (total, c.memory.fits(total)), (m, per_mb), times)
}

impl RankScalars {
    /// From the memory, the pipeline counts and the slowest stage's times at [`rank_lens`]
    /// (pipeline model of [`LayoutCoeffs::figures`]): prefill TTFT `(m + pp − 1) × stage`, decode
    /// TPOT `pp × stage`.
    fn of(
        c: &LayoutCoeffs,
        seqs: u64,
        (memory_bytes, fits): (f64, bool),
        (m, per_mb): (u64, u64),
        stage_s: [f64; 2],
    ) -> RankScalars {
        let (l, wl) = (&c.layout, &c.task.workload);
        let (latency_s, second_s) = match c.phase {
            Phase::Prefill => {
                let ttft = (m + l.pp - 1) as f64 * stage_s[0];
                // The TTFT at the maximum length is only reported; `with_max_length` fills it.
                (ttft, (wl.ttft_input_len() == wl.max_len).then_some(ttft))
            }
            Phase::Decode => {
                let pp = l.pp as f64;
                (
                    c.tpot(pp * stage_s[0], per_mb),
                    Some(c.tpot(pp * stage_s[1], per_mb)),
                )
            }
        };
        RankScalars {
            seqs,
            memory_bytes,
            fits,
            latency_s,
            second_s,
            micro_batches: m,
            per_micro_batch: per_mb,
            stage_s,
        }
    }
}

/// Evaluate a layout with `batch` sequences per instance (one layout, one batch; to evaluate
/// many batches of a layout build [`LayoutCoeffs`] once and call [`LayoutCoeffs::figures`]).
pub fn evaluate(task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Figures {
    LayoutCoeffs::new(task, layout, phase).figures(batch)
}

/// What the plan should state about the cost model's parameters for `task`: the kernel profile
/// used (GPU, engine, versions), or that a GPU without one runs on scaled reference curves.
pub fn assumptions(task: &Task) -> Vec<String> {
    let engine = task.cost.engine;
    let Some((p, measured)) = profile::gpu_profile(task) else {
        return vec!["kernel efficiencies: no profile embedded; one MFU and one bandwidth utilization for every kernel".into()];
    };
    let key = profile::engine_key(engine);
    let used = if p.engines.contains_key(key) {
        key
    } else {
        profile::REFERENCE_ENGINE
    };
    let mut out = vec![format!(
        "kernel efficiencies by class and size measured on {} with {} ({}); engine {} (default any = TensorRT-LLM kernels with two-batch overlap of the MoE all-to-all); `pdplan presets --sources` lists every parameter's source",
        p.gpu,
        used,
        p.engines.get(used).map_or("", |k| k.gemm_bf16.source.as_str()),
        engine.name()
    )];
    if let Some(m) = mla_module::MlaModule::of_task(task) {
        out.push(format!(
            "MLA attention blocks in decode take the measured module time at their heads per GPU, sequences and context ({}) instead of the sum of their kernels, inside the measured grid",
            m.source()
        ));
    }
    if !measured {
        out.push(format!(
            "this GPU has no measured kernel profile: the {} curves stand in — a kernel takes the longer of its FLOPs at this GPU's peak ({:.0} TFLOP/s) times its MFU and its time on {} scaled by HBM bandwidth ({:.2} TB/s here); memory-bound kernels run at this bandwidth times its utilization",
            p.gpu,
            task.hardware.peak_flops_per_s / 1e12,
            p.gpu,
            task.hardware.hbm_bytes_per_s / 1e12
        ));
    }
    out
}

/// Throughput figures of one instance holding `batch` sequences (tokens/s, tokens/s per GPU,
/// requests/s): prefill `batch × ISL / TTFT`, decode `batch / TPOT(mean context)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throughput {
    pub tokens_per_s: f64,
    pub tokens_per_s_per_gpu: f64,
    pub rate_requests_per_s: f64,
}

impl RankScalars {
    /// The throughput of `batch` sequences (which must give `self.seqs` per rank).
    pub fn throughput(&self, task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Throughput {
        let wl = &task.workload;
        let gpus = layout.gpus_per_instance() as f64;
        match phase {
            Phase::Prefill => {
                let ttft = self.latency_s;
                let throughput = batch as f64 * wl.ttft_input_len() as f64 / ttft;
                Throughput {
                    tokens_per_s: throughput,
                    tokens_per_s_per_gpu: throughput / gpus,
                    rate_requests_per_s: batch as f64 / ttft,
                }
            }
            Phase::Decode => {
                let tpot_mean = self.second_s.unwrap_or(self.latency_s);
                let throughput = batch as f64 / tpot_mean;
                Throughput {
                    tokens_per_s: throughput,
                    tokens_per_s_per_gpu: throughput / gpus,
                    rate_requests_per_s: throughput / wl.rate_output_len() as f64,
                }
            }
        }
    }
}

impl RankFigures {
    /// The figures of `batch` sequences per instance (which must give `self.scalars.seqs` per
    /// rank).
    pub fn at_batch(&self, task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Figures {
        let t = self.scalars.throughput(task, phase, layout, batch);
        self.with_throughput(phase, t)
    }

    /// The figures with a throughput computed by [`RankScalars::throughput`].
    pub fn with_throughput(&self, phase: Phase, t: Throughput) -> Figures {
        let r = &self.scalars;
        let prefill = phase == Phase::Prefill;
        Figures {
            memory: self.memory.clone(),
            ttft_s: prefill.then_some(r.latency_s),
            ttft_at_max_length_s: if prefill { r.second_s } else { None },
            tpot_s: (!prefill).then_some(r.latency_s),
            tpot_mean_s: if prefill { None } else { r.second_s },
            micro_batches: r.micro_batches,
            throughput_tokens_per_s: t.tokens_per_s,
            throughput_tokens_per_s_per_gpu: t.tokens_per_s_per_gpu,
            rate_requests_per_s: t.rate_requests_per_s,
            breakdown: self.breakdown.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shift for a power-of-two attention-DP equals the division, up to the largest batch.
    #[test]
    fn sequences_per_rank_is_the_ceiling_of_the_division() {
        for dp in 1..=70u64 {
            let l = Layout {
                tp: 1,
                pp: 1,
                sp: 1,
                attention_dp: dp,
                ep: 1,
                expert_tp: 1,
            };
            let edges = [u64::MAX, u64::MAX - 1, u64::MAX - dp, 1 << 40];
            for b in (0..=600u64).chain(edges) {
                assert_eq!(sequences_per_rank(&l, b), b.div_ceil(dp), "dp {dp} batch {b}");
            }
        }
    }
}
