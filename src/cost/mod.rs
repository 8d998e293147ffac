//! Analytic cost model (DESIGN.md §4): memory per GPU, prefill latency, decode step time.
//!
//! Every figure is for the *most loaded* GPU / the *slowest* pipeline stage of one instance: that
//! is what sets memory fit and pace. The model is a per-operator roofline — each operator takes
//! `max(FLOPs / (peak × MFU), bytes / (HBM bandwidth × utilization))` (Williams et al.,
//! "Roofline", CACM 2009; applied to LLM inference as in Yuan et al., "LLM Inference Unveiled:
//! Survey and Roofline Model Insights", 2024) — plus communication that is not overlapped.

pub mod calibration;
pub mod comm;
pub mod memory;
/// Model size arithmetic (parameter counts, KV bytes) lives with the specification.
pub use crate::spec::model_size as params;
pub mod time;

use crate::layout::{Layout, Phase};
use crate::spec::task::Task;
use serde::Serialize;

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
        let mut at_max = task.clone();
        at_max.workload.input_len = Some(task.workload.max_len);
        f.ttft_at_max_length_s = evaluate(&at_max, phase, layout, batch).ttft_s;
    }
    f
}

/// Sequences per attention-DP rank (the most loaded rank).
pub fn sequences_per_rank(layout: &Layout, batch: u64) -> u64 {
    batch.div_ceil(layout.attention_dp)
}

/// Evaluate a layout with `batch` sequences per instance.
///
/// Pipeline model (GPipe, Huang et al. 2019; Narayanan et al. SC'21 §2.2):
/// * prefill: one micro-batch per sequence of each attention rank (`m = sequences per rank`);
///   the batch finishes after `(m + pp − 1)` stage times (fill + drain); with `pp = 1` one pass.
/// * decode: `m = min(pp, sequences per rank)` micro-batches circulate; a token needs `pp` stage
///   times, so `TPOT = pp × stage time(micro-batch)`; with `m < pp` stages idle (bubbles).
pub fn evaluate(task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Figures {
    let model = &task.model;
    let wl = &task.workload;
    let memory = memory::per_gpu(task, phase, layout, batch);
    let seqs = sequences_per_rank(layout, batch);
    let gpus = layout.gpus_per_instance() as f64;
    match phase {
        Phase::Prefill => {
            let m = if layout.pp > 1 { seqs } else { 1 };
            let per_mb = seqs.div_ceil(m);
            let at = |len: u64| {
                let step = time::stage_step(task, phase, layout, per_mb, len);
                ((m + layout.pp - 1) as f64 * step.stage_time_s, step)
            };
            let isl = wl.ttft_input_len();
            let (ttft, breakdown) = at(isl);
            // The TTFT at the maximum length is only reported; `with_max_length` fills it.
            let ttft_max = if isl == wl.max_len { Some(ttft) } else { None };
            let tokens = batch as f64 * isl as f64;
            let throughput = tokens / ttft;
            let _ = model;
            Figures {
                memory,
                ttft_s: Some(ttft),
                ttft_at_max_length_s: ttft_max,
                tpot_s: None,
                tpot_mean_s: None,
                micro_batches: m,
                throughput_tokens_per_s: throughput,
                throughput_tokens_per_s_per_gpu: throughput / gpus,
                rate_requests_per_s: batch as f64 / ttft,
                breakdown,
            }
        }
        Phase::Decode => {
            let m = layout.pp.min(seqs);
            let per_mb = seqs.div_ceil(m);
            let tpot_at = |ctx: u64| {
                let step = time::stage_step(task, phase, layout, per_mb, ctx);
                (layout.pp as f64 * step.stage_time_s, step)
            };
            let (tpot_last, _) = tpot_at(wl.decode_last_context());
            let (tpot_mean, breakdown) = tpot_at(wl.decode_mean_context());
            let throughput = batch as f64 / tpot_mean;
            Figures {
                memory,
                ttft_s: None,
                ttft_at_max_length_s: None,
                tpot_s: Some(tpot_last),
                tpot_mean_s: Some(tpot_mean),
                micro_batches: m,
                throughput_tokens_per_s: throughput,
                throughput_tokens_per_s_per_gpu: throughput / gpus,
                rate_requests_per_s: throughput / wl.rate_output_len() as f64,
                breakdown,
            }
        }
    }
}
