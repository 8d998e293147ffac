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
pub mod kernels;
pub mod memory;
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
    batch.div_ceil(layout.attention_dp)
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
    if !measured {
        out.push(format!(
            "this GPU has no measured kernel profile: the {} curves are scaled to its peak ({:.0} TFLOP/s) and HBM bandwidth ({:.2} TB/s), times MFU / bandwidth utilization over {}'s measured large-kernel figures",
            p.gpu,
            task.hardware.peak_flops_per_s / 1e12,
            task.hardware.hbm_bytes_per_s / 1e12,
            p.gpu
        ));
    }
    out
}
