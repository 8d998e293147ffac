//! Per-layout coefficients (DESIGN.md §4; issue 12's three levels): everything about a layout
//! that does not depend on the batch — stage shapes, weight parameters per operator on one GPU,
//! memory per stage, communication groups — computed once by [`LayoutCoeffs::new`]. The
//! per-batch kernel ([`LayoutCoeffs::figures`], [`super::time`]) then evaluates a few roofline
//! terms per operator class with no allocation.

use super::kernels::Kernels;
use super::memory::{self, MemoryBreakdown};
use super::params;
use super::time::{self, StepBreakdown};
use super::{Figures, sequences_per_rank};
use crate::layout::{Layout, Phase};
use crate::spec::task::{AttentionKind, Task};

/// One distinct pipeline stage: its layers and the weight parameters one GPU holds per operator
/// (after the declared-size scale and TP / expert sharding).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageCoeffs {
    pub stage: u64,
    pub dense_layers: f64,
    pub moe_layers: f64,
    pub lm_head: bool,
}

/// Per-GPU operator sizes shared by every stage of the layout.
#[derive(Clone, Copy, Debug)]
pub struct OpSizes {
    /// Attention projection parameters on one GPU.
    pub attention_p: f64,
    /// GEMM launches of one attention block (GQA: QKV + output; MLA: q_a, q_b, kv_a, kv_b, o).
    pub attention_gemms: f64,
    pub ffn_p: f64,
    pub ffn_inter: f64,
    pub expert_p: f64,
    pub expert_inter: f64,
    pub shared_p: f64,
    pub shared_inter: f64,
    pub router_p: f64,
    pub lm_p: f64,
    pub heads: f64,
    pub dqk_prefill: f64,
    pub dv_prefill: f64,
    pub dqk_decode: f64,
    pub dv_decode: f64,
    pub kv_layer: f64,
    pub d: f64,
    pub experts: f64,
    pub top_k: f64,
    pub local_experts: f64,
    pub weight_bytes: f64,
    /// Bytes per parameter of the LM head ([`super::params::embedding_bytes_per_param`]).
    pub lm_bytes: f64,
    pub act_bytes: f64,
    /// The grouped MoE GEMM runs at the heavier routing skew of its curve
    /// ([`crate::cost::profile::Curve::skew`]): a model of [`crate::spec::task::RoutingSkew::High`]
    /// on an EP layout (`ep = 1`: the routing cannot load one GPU more than another).
    pub routing_skewed: bool,
    /// Busiest GPU's expert load over the mean: the task's imbalance, 1 without EP (`ep = 1`:
    /// every GPU holds a slice of every expert, so routing cannot unbalance them).
    pub imbalance: f64,
}

/// Everything about one layout of one phase that the batch does not change.
#[derive(Clone, Debug)]
pub struct LayoutCoeffs<'t> {
    pub task: &'t Task,
    pub layout: Layout,
    pub phase: Phase,
    pub kernels: Kernels,
    pub ops: OpSizes,
    /// Distinct stages (same layers and LM-head placement evaluated once).
    pub stages: smallvec::SmallVec<[StageCoeffs; 4]>,
    /// Whether any stage has dense-FFN layers / MoE layers.
    pub has_dense: bool,
    pub has_moe: bool,
    pub memory: memory::MemoryCoeffs,
    /// Tokens per sequence a step feeds through the model: decode under speculative decoding
    /// `1 + draft tokens` (the step verifies the drafts), else 1.
    pub queries: f64,
    /// Decode under speculative decoding: TPOT over the verify pass's time, `(L + d) / L / E`
    /// (the `d` draft-module passes costed as `d` more layers, as AIConfigurator's
    /// `mtp_scale_factor`, aiconfigurator_core/sdk/models/helpers.py; `E` tokens per step).
    pub tpot_per_step: Option<f64>,
    /// Decode under speculative decoding: `d / E`, LM-head GEMMs over the micro-batch's sequences
    /// per emitted token (0 otherwise). Each of the `d` draft passes also scores its draft token on
    /// the LM head (DeepSeek-V3 report §2.2: every MTP module shares the output head; SGLang's
    /// EAGLE worker and TensorRT-LLM's MTP run it per draft step), which the `d / L` layers above
    /// do not hold ([`LayoutCoeffs::tpot`]).
    pub draft_heads_per_token: f64,
    /// Host work per step the engine leaves on the critical path, per emitted token
    /// ([`exposed_host_s`]); 0 where the engine overlaps it.
    pub host_per_token_s: f64,
}

/// Host work between decode steps that the engine runs in series with the GPU: SGLang's EAGLE
/// worker (speculative decoding, which pdplan launches with `--speculative-algorithm EAGLE`)
/// turns the overlap scheduler off, so the scheduling, draft / verify bookkeeping and metadata
/// preparation of every step sit between two steps' kernels. 1.9 ms per step: the gain of the
/// overlapped worker at batch 1 in SGLang's own A/B (sgl-project/sglang#12128: DeepSeek-R1, TP8,
/// `sglang.test.send_one`, 512 tokens at accept length 2.296 in 3.644 s without and 3.206 s
/// with overlap: 16.3 → 14.4 ms per step). Without speculative decoding SGLang's overlap
/// scheduler (on by default since v0.4) hides it, as TensorRT-LLM's and vLLM's do
/// ([`super::kernels`], "No per-step host term").
pub const SGLANG_EAGLE_HOST_S: f64 = (3.644 - 3.206) / (512.0 / 2.296);

/// [`LayoutCoeffs::host_per_token_s`] of `task`'s decode under speculative decoding.
fn exposed_host_s(task: &Task, accepted_tokens: f64) -> f64 {
    match task.cost.engine {
        crate::spec::task::Engine::Sglang => SGLANG_EAGLE_HOST_S / accepted_tokens,
        _ => 0.0,
    }
}

fn op_sizes(task: &Task, l: &Layout, z: &params::ModelSizes) -> OpSizes {
    let m = &task.model;
    let scale = z.scale;
    let tp = l.tp as f64;
    let (dqk_p, dv_p) = params::attention_dims(m, false);
    let (dqk_d, dv_d) = params::attention_dims(m, true);
    let moe = m.moe.as_ref();
    let etp = l.expert_tp as f64;
    OpSizes {
        attention_p: scale * z.attention / tp,
        attention_gemms: if m.attention == AttentionKind::Mla {
            5.0
        } else {
            2.0
        },
        ffn_p: scale * z.ffn / tp,
        ffn_inter: m.ffn_intermediate_size as f64 / tp,
        expert_p: scale * z.expert / etp,
        expert_inter: moe.map_or(0.0, |x| x.expert_intermediate_size as f64 / etp),
        shared_p: moe.map_or(0.0, |x| scale * x.shared_experts as f64 * z.shared_expert / tp),
        shared_inter: moe.map_or(0.0, |x| {
            x.shared_experts as f64 * x.shared_expert_intermediate_size as f64 / tp
        }),
        router_p: moe.map_or(0.0, |x| m.hidden_size as f64 * x.experts as f64),
        lm_p: scale * z.lm_head / tp,
        heads: m.heads as f64 / tp,
        dqk_prefill: dqk_p,
        dv_prefill: dv_p,
        dqk_decode: dqk_d,
        dv_decode: dv_d,
        kv_layer: memory::kv_bytes_per_token_layer_gpu(m, l.tp),
        d: m.hidden_size as f64,
        experts: moe.map_or(0.0, |x| x.experts as f64),
        top_k: moe.map_or(0.0, |x| x.top_k as f64),
        local_experts: moe.map_or(0.0, |x| x.experts as f64 / l.ep as f64),
        weight_bytes: m.dtype.bytes(),
        lm_bytes: super::params::embedding_bytes_per_param(m),
        act_bytes: task.cost.activation_bytes,
        routing_skewed: l.ep > 1
            && moe.is_some_and(|x| x.routing_skew == crate::spec::task::RoutingSkew::High),
        imbalance: if l.ep > 1 { task.cost.moe_imbalance } else { 1.0 },
    }
}

impl<'t> LayoutCoeffs<'t> {
    /// Coefficients of `layout` in `phase` (once per layout).
    pub fn new(task: &'t Task, layout: &Layout, phase: Phase) -> LayoutCoeffs<'t> {
        Self::with_kernels(task, layout, phase, Kernels::for_task(task))
    }

    /// [`LayoutCoeffs::new`] with the task's kernel constants computed once by the caller.
    pub fn with_kernels(task: &'t Task, layout: &Layout, phase: Phase, kernels: Kernels) -> LayoutCoeffs<'t> {
        let runs = memory::stage_runs(&task.model, layout.pp);
        Self::with_runs(task, layout, phase, kernels, &runs)
    }

    /// [`LayoutCoeffs::with_kernels`] from the layout's stage runs ([`memory::stage_runs`] of the
    /// model at `layout.pp`, which a caller scanning many layouts computes once per depth): equal
    /// stages have equal coefficients, so the runs give the same memory and time terms as every
    /// stage would, the first stage of a run naming it.
    pub fn with_runs(
        task: &'t Task,
        layout: &Layout,
        phase: Phase,
        kernels: Kernels,
        runs: &[memory::StageShape],
    ) -> LayoutCoeffs<'t> {
        let memory = memory::MemoryCoeffs::with_sizes(task, phase, layout, runs, &kernels.sizes);
        // Inline storage: a layout has a few distinct stages (one allocation less per layout).
        let mut stages: smallvec::SmallVec<[StageCoeffs; 4]> = smallvec::SmallVec::new();
        let key = |s: &memory::StageShape| (s.dense_layers, s.moe_layers, s.lm_head);
        let mut last = None;
        for s in runs {
            if last == Some(key(s)) {
                continue;
            }
            last = Some(key(s));
            stages.push(StageCoeffs {
                stage: s.stage,
                dense_layers: s.dense_layers as f64,
                moe_layers: s.moe_layers as f64,
                lm_head: s.lm_head,
            });
        }
        let ops = op_sizes(task, layout, &kernels.sizes);
        let speculative = task.cost.speculative().filter(|_| phase == Phase::Decode);
        LayoutCoeffs {
            queries: speculative.map_or(1.0, |s| 1.0 + s.draft_tokens as f64),
            tpot_per_step: speculative.map(|s| {
                let layers = task.model.layers as f64;
                (layers + s.draft_tokens as f64) / layers / s.accepted_tokens
            }),
            host_per_token_s: speculative.map_or(0.0, |s| exposed_host_s(task, s.accepted_tokens)),
            draft_heads_per_token: speculative.map_or(0.0, |s| s.draft_tokens as f64 / s.accepted_tokens),
            has_dense: stages.iter().any(|s| s.dense_layers > 0.0),
            has_moe: stages.iter().any(|s| s.moe_layers > 0.0),
            task,
            layout: *layout,
            phase,
            // The grouped MoE GEMM's curve follows the layout: the task's expert shape measured on
            // it, else the class of its expert slice and local experts (once per layout).
            kernels: kernels.for_expert_layout(layout, ops.d * ops.expert_inter, ops.local_experts),
            ops,
            stages,
            memory,
        }
    }

    /// Memory of the most loaded GPU with `batch` sequences per instance.
    pub fn memory(&self, batch: u64) -> MemoryBreakdown {
        self.memory.at(sequences_per_rank(&self.layout, batch))
    }

    /// Slowest stage for a micro-batch of `seqs` sequences per rank at length / context `len`.
    pub fn stage_step(&self, seqs: u64, len: u64) -> StepBreakdown {
        time::slowest_stage(self, seqs, len)
    }

    /// The figures of the layout with `batch` sequences per instance.
    ///
    /// Pipeline model (GPipe, Huang et al. 2019; Narayanan et al. SC'21 §2.2):
    /// * prefill: one micro-batch per sequence of each attention rank (`m = sequences per rank`);
    ///   the batch finishes after `(m + pp − 1)` stage times (fill + drain); `pp = 1`: one pass.
    /// * decode: `m = min(pp, sequences per rank)` micro-batches circulate; a token needs `pp`
    ///   stage times, so `TPOT = pp × stage time(micro-batch)`; with `m < pp` stages idle.
    pub fn figures(&self, batch: u64) -> Figures {
        let l = &self.layout;
        let wl = &self.task.workload;
        let memory = self.memory(batch);
        let seqs = sequences_per_rank(l, batch);
        let gpus = l.gpus_per_instance() as f64;
        match self.phase {
            Phase::Prefill => {
                let m = if l.pp > 1 { seqs } else { 1 };
                let per_mb = seqs.div_ceil(m);
                let isl = wl.ttft_input_len();
                let breakdown = self.stage_step(per_mb, isl);
                let ttft = (m + l.pp - 1) as f64 * breakdown.stage_time_s;
                let throughput = batch as f64 * isl as f64 / ttft;
                Figures {
                    memory,
                    ttft_s: Some(ttft),
                    ttft_at_max_length_s: (isl == wl.max_len).then_some(ttft),
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
                let m = l.pp.min(seqs);
                let per_mb = seqs.div_ceil(m);
                let pp = l.pp as f64;
                let lens = [wl.decode_last_context(), wl.decode_mean_context()];
                let [last, breakdown] = time::slowest_stages(self, per_mb, lens, &mut Default::default());
                let tpot_last = self.tpot(pp * last.stage_time_s, per_mb);
                let tpot_mean = self.tpot(pp * breakdown.stage_time_s, per_mb);
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

    /// Decode: the TPOT of a step of `step_s` seconds over micro-batches of `per_mb` sequences
    /// (speculative decoding emits more than one token per step, [`LayoutCoeffs::tpot_per_step`],
    /// and scores each draft on the LM head, [`LayoutCoeffs::draft_heads_per_token`]).
    pub fn tpot(&self, step_s: f64, per_mb: u64) -> f64 {
        let Some(f) = self.tpot_per_step else {
            return step_s;
        };
        let heads = self.draft_heads_per_token * time::lm_head(&self.kernels, &self.ops, per_mb as f64).0;
        step_s * f + heads + self.host_per_token_s
    }

    /// Prefill TTFT at the maximum length (reports; `None` in decode).
    pub fn ttft_at_max_length(&self, batch: u64) -> Option<f64> {
        if self.phase != Phase::Prefill {
            return None;
        }
        let l = &self.layout;
        let seqs = sequences_per_rank(l, batch);
        let m = if l.pp > 1 { seqs } else { 1 };
        let step = self.stage_step(seqs.div_ceil(m), self.task.workload.max_len);
        Some((m + l.pp - 1) as f64 * step.stage_time_s)
    }
}
