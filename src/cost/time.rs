//! Time of one pipeline stage for one micro-batch: per-operator roofline plus communication.
//!
//! FLOPs per operator (forward pass, 2 FLOPs per multiply-add; Kaplan et al. 2020 §2.1):
//! * projections / FFN / experts / router / LM head: `2 × tokens × parameters` (GQA: the K and V
//!   projections have `kv_heads` heads; MLA: the down- and up-projections of DeepSeek-V2 §2.1 —
//!   in decode the up-projections are absorbed into the query and output, FlashMLA, which costs
//!   the same multiply-adds per token);
//! * causal attention in prefill: `h × (d_qk + d_v) × s²` per sequence and layer (QKᵀ and AV over
//!   the lower triangle, `Σ_i i ≈ s²/2`, 2 FLOPs each), at the actual input length `s`;
//! * attention in decode: `2 × h × (d_qk + d_v) × c` per sequence and layer at context `c` (MLA
//!   absorbed: `d_qk = kv_lora + rope`, `d_v = kv_lora`, all heads share the latent).
//!
//! The attention core (QKᵀ, softmax, AV) runs at the precision of the KV cache: with 8-bit
//! weights and a 16-bit cache it runs at the GPU's 16-bit peak ([`attention_flops_ratio`]),
//! as in DeepSeek's deployment ("matmuls in FP8, MLA core in BF16", calibration.md).
//!
//! Bytes per operator: the GPU's weight shard (read once per micro-batch), KV cache written
//! (prefill) or read (decode: the whole context of every sequence), and the layer's activations.
//! Element-wise kernels that are separate launches in vLLM/SGLang/TensorRT-LLM are memory-bound
//! operators of their own ([`ELEMENTWISE_ELEMS`]): two RMSNorms with their residual adds, the
//! SwiGLU activation, and for MoE the permutation of token copies before and after the experts.
//!
//! MoE (Fedus et al. 2021; DeepSeek-V3 report §3.4): `k` expert assignments per token, spread over
//! `ep` groups with an explicit imbalance factor on the busiest GPU; in decode only the experts
//! the micro-batch activates are read — with `n` assignments drawn uniformly from `E` experts the
//! expected number of distinct experts among the `E/ep` local ones is `E/ep · (1 − (1 − 1/E)^n)`.
//! Shared experts run on every attention rank for its own tokens (split over `tp`); dense leading
//! layers (DeepSeek-V3: 3) are dense FFN layers on the stages that hold them.
//!
//! Communication per layer: TP ring all-reduce after attention and after a TP-split FFN
//! (Megatron-LM, Shoeybi et al. 2019 §3); MoE dispatch + combine all-to-all over the stage width
//! (dispatch in the weight precision when that is 8-bit, combine in the activation precision, as
//! DeepEP does); the SP (ring-attention) KV exchange; the PP activation hand-off.
//! Overlap ([`crate::spec::task::CostParams::comm_overlap`] = `o`): the stage takes
//! `operators + communication − o · min(operators, communication)`; `o = 1` is perfect two-batch
//! overlap (`max` of the two: DeepSeek's dual micro-batch prefill and 5-stage decode pipeline,
//! SGLang's two-batch overlap), `o = 0` none (vLLM / TensorRT-LLM TP all-reduce on the critical
//! path).
//! Assumption: every stage runs at the same MFU / bandwidth utilization given by the task.

use super::comm::{self, Routing};
use super::memory::{StageShape, kv_bytes_per_token_layer_gpu, stage_shapes};
use super::params;
use crate::layout::{Layout, Phase};
use crate::spec::presets;
use crate::spec::task::{Dtype, Task};
use serde::Serialize;

/// Time of the slowest stage for one micro-batch, split by kind (seconds).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StepBreakdown {
    /// Sum over operators of `max(compute, memory)`.
    pub operators_s: f64,
    /// Of which compute-bound time (FLOPs / (peak × MFU)) summed over compute-bound operators.
    pub compute_bound_s: f64,
    /// Of which memory-bound time summed over memory-bound operators.
    pub memory_bound_s: f64,
    /// Of `operators_s`: the attention core (QKᵀ, softmax, AV) of all layers of the stage.
    pub attention_core_s: f64,
    /// Of `operators_s`: element-wise kernels (norms, residual adds, SwiGLU, MoE permutation).
    pub elementwise_s: f64,
    pub tp_all_reduce_s: f64,
    pub ep_all_to_all_s: f64,
    pub sp_exchange_s: f64,
    pub pp_send_s: f64,
    /// Communication left on the critical path after overlap.
    pub communication_s: f64,
    /// `operators_s + communication_s`.
    pub stage_time_s: f64,
    /// Stage that sets the pace.
    pub stage: u64,
}

/// Elements read + written per token and layer by the element-wise kernels, in units of the
/// hidden size `d` (norms and residuals) — each RMSNorm with its fused residual add reads the
/// residual and the branch output and writes both (4d), twice per layer (before attention and
/// before the FFN). Sources: the kernel lists of vLLM's `fused_add_rms_norm` and SGLang's
/// `RMSNorm.forward_cuda`.
pub const ELEMENTWISE_ELEMS: f64 = 8.0;

/// Ratio of the attention-core FLOP rate to the GPU's peak for the weights' dtype.
///
/// The attention core multiplies queries with the KV cache, so it runs at the cache's precision:
/// with 8-bit weights (FP8/INT8 GEMMs at the 8-bit peak) and a 16-bit KV cache it runs at the
/// 16-bit peak, half the 8-bit one on Hopper/Blackwell (datasheets). Known only when the task
/// names a GPU preset; a task that gives one peak figure is taken at its word (ratio 1).
pub fn attention_flops_ratio(task: &Task) -> f64 {
    let m = &task.model;
    if m.kv_cache_dtype.bytes() < 2.0 || m.dtype.bytes() >= 2.0 {
        return 1.0;
    }
    match task.hardware.preset.as_deref().and_then(presets::gpu_preset) {
        Some(gpu) => {
            let weights = gpu.peak_for(m.dtype).flops_per_s;
            let sixteen = gpu.peak_for(Dtype::Bf16).flops_per_s;
            (sixteen / weights).min(1.0)
        }
        None => 1.0,
    }
}

struct Roofline {
    flops_per_s: f64,
    bytes_per_s: f64,
    compute: f64,
    memory: f64,
}

impl Roofline {
    /// One operator at the weights' peak: `max(FLOPs / (peak·MFU), bytes / (HBM·utilization))`.
    fn op(&mut self, flops: f64, bytes: f64) -> f64 {
        self.op_at(flops, 1.0, bytes)
    }
    /// One operator whose compute runs at `rate × peak`.
    fn op_at(&mut self, flops: f64, rate: f64, bytes: f64) -> f64 {
        let c = flops / (self.flops_per_s * rate);
        let m = bytes / self.bytes_per_s;
        if c >= m {
            self.compute += c;
        } else {
            self.memory += m;
        }
        c.max(m)
    }
}

/// Time of the slowest stage of `layout` for a micro-batch of `seqs` sequences per attention
/// rank, at input length `len` (prefill) or context `len` (decode).
pub fn stage_step(task: &Task, phase: Phase, l: &Layout, seqs: u64, len: u64) -> StepBreakdown {
    let mut shapes = stage_shapes(&task.model, l.pp);
    // Stages with the same layers and LM-head placement take the same time: evaluate each once.
    shapes.dedup_by_key(|s| (s.dense_layers, s.moe_layers, s.lm_head));
    shapes
        .iter()
        .map(|s| one_stage(task, phase, l, seqs, len, s))
        .fold(StepBreakdown::default(), |worst, b| {
            if b.stage_time_s > worst.stage_time_s {
                b
            } else {
                worst
            }
        })
}

/// Per-layer times of one stage (seconds), before multiplying by the layer counts.
struct Layer {
    attention: f64,
    attention_core: f64,
    dense_ffn: f64,
    moe_ffn: f64,
    elementwise_dense: f64,
    elementwise_moe: f64,
    all_to_all: f64,
}

fn one_stage(task: &Task, phase: Phase, l: &Layout, seqs: u64, len: u64, s: &StageShape) -> StepBreakdown {
    let m = &task.model;
    // Links at their achieved rate (CostParams::network_utilization).
    let mut net = task.hardware.clone();
    net.intra_node_bytes_per_s *= task.cost.network_utilization;
    net.inter_node_bytes_per_s *= task.cost.network_utilization;
    let hw = &net;
    let act = task.cost.activation_bytes;
    let wbytes = m.dtype.bytes();
    // When the declared parameter count exceeds what the shapes add up to, every weight matrix
    // is taken as that much larger, for the bytes it reads and the FLOPs it costs alike
    // (DESIGN.md §1.4: use the figure that is safe; a plan sized on the smaller figure would miss
    // its latency if the declared size is the true one). 1 for consistent tasks.
    let scale = params::weight_scale(m);
    let mut r = Roofline {
        flops_per_s: task.hardware.peak_flops_per_s * task.hardware.mfu,
        bytes_per_s: task.hardware.hbm_bytes_per_s * task.hardware.bandwidth_utilization,
        compute: 0.0,
        memory: 0.0,
    };
    let tp = l.tp as f64;
    let seqs_f = seqs as f64;
    let d = m.hidden_size as f64;
    let decode = phase == Phase::Decode;
    // Distinct query tokens on this GPU (TP ranks share tokens; SP splits the sequence).
    let tokens = if decode {
        seqs_f
    } else {
        seqs_f * len.div_ceil(l.sp) as f64
    };
    // Distinct tokens in the whole stage.
    let stage_tokens = tokens * (l.sp * l.attention_dp) as f64;
    let (dqk, dv) = params::attention_dims(m, decode);
    let heads_gpu = m.heads as f64 / tp;
    let kv_layer = kv_bytes_per_token_layer_gpu(m, l.tp);
    let attn_rate = attention_flops_ratio(task);

    let mut layer = Layer {
        attention: 0.0,
        attention_core: 0.0,
        dense_ffn: 0.0,
        moe_ffn: 0.0,
        elementwise_dense: 0.0,
        elementwise_moe: 0.0,
        all_to_all: 0.0,
    };

    // --- one attention block: projections, then the core ---
    let attn_p = scale * params::attention_params(m) / tp;
    let proj = r.op(2.0 * tokens * attn_p, attn_p * wbytes + tokens * 4.0 * d * act);
    layer.attention_core = if decode {
        let ctx = len as f64;
        r.op_at(
            seqs_f * 2.0 * heads_gpu * (dqk + dv) * ctx,
            attn_rate,
            seqs_f * ctx * kv_layer,
        )
    } else {
        let s_len = len as f64;
        let flops = seqs_f * heads_gpu * (dqk + dv) * s_len * s_len / l.sp as f64;
        r.op_at(flops, attn_rate, tokens * kv_layer + tokens * 2.0 * d * act)
    };
    layer.attention = proj + layer.attention_core;
    let norms = r.op(0.0, tokens * ELEMENTWISE_ELEMS * d * act);

    // --- dense FFN layer (SwiGLU: the activation reads gate and up, writes one) ---
    let ffn_p = scale * params::ffn_params(m, m.ffn_intermediate_size) / tp;
    if s.dense_layers > 0 {
        layer.dense_ffn = r.op(2.0 * tokens * ffn_p, ffn_p * wbytes + tokens * 2.0 * d * act);
        let inter = m.ffn_intermediate_size as f64 / tp;
        layer.elementwise_dense = norms + r.op(0.0, tokens * 3.0 * inter * act);
    }

    // --- MoE layer ---
    if let (Some(moe), true) = (&m.moe, s.moe_layers > 0) {
        let e = moe.experts as f64;
        let k = moe.top_k as f64;
        let local = e / l.ep as f64;
        let expert_p = scale * params::expert_params(m) / l.expert_tp as f64;
        let assignments = stage_tokens * k;
        // Expert-token pairs computed by the busiest GPU.
        let busiest = assignments / l.ep as f64 * task.cost.moe_imbalance;
        let active_local = if decode {
            local * (1.0 - (1.0 - 1.0 / e).powf(assignments))
        } else {
            local
        };
        let router = r.op(2.0 * tokens * d * e, d * e * wbytes);
        let experts = r.op(
            2.0 * busiest * expert_p,
            active_local * expert_p * wbytes + busiest * 2.0 * d * act,
        );
        let shared_p =
            scale * moe.shared_experts as f64 * params::ffn_params(m, moe.shared_expert_intermediate_size)
                / tp;
        let shared = if shared_p > 0.0 {
            r.op(2.0 * tokens * shared_p, shared_p * wbytes)
        } else {
            0.0
        };
        layer.moe_ffn = router + experts + shared;
        // Element-wise: norms, SwiGLU of the routed copies and the shared experts, and the
        // permutation of the copies into expert order and back (read + write k·d each way).
        let expert_inter = moe.expert_intermediate_size as f64 / l.expert_tp as f64;
        let shared_inter = moe.shared_experts as f64 * moe.shared_expert_intermediate_size as f64 / tp;
        layer.elementwise_moe = norms
            + r.op(
                0.0,
                (busiest * (3.0 * expert_inter + 4.0 * d) + tokens * 3.0 * shared_inter) * act,
            );
        // Dispatch (token copies to each expert shard) and combine, per GPU. TP ranks of an
        // attention group share their tokens, each sending `1/tp` of them.
        let w = l.width();
        if w > 1 {
            let routing = if decode {
                Routing::PerCopy
            } else {
                Routing::NodeDedup
            };
            let sent = tokens / tp * l.expert_tp as f64 * task.cost.moe_imbalance;
            let dispatch = comm::moe_all_to_all_s(hw, w, sent, k, d * m.dtype.bytes().min(act), routing);
            let combine = comm::moe_all_to_all_s(hw, w, sent, k, d * act, routing);
            layer.all_to_all = dispatch + combine;
        }
    }

    // --- TP all-reduce after attention and after a TP-split FFN (Megatron-LM §3) ---
    let ar_bytes = tokens * d * act;
    let ar = comm::all_reduce_s(hw, l.tp, l.tp, ar_bytes);
    let shared_tp = m.moe.as_ref().is_some_and(|x| x.shared_experts > 0);
    let ar_dense = 2.0 * ar;
    let ar_moe = if shared_tp { 2.0 * ar } else { ar };

    // --- SP / context-parallel KV exchange: each GPU receives the other chunks' KV ---
    let sp_x = if !decode && l.sp > 1 {
        let bytes = seqs_f * len as f64 * (l.sp - 1) as f64 / l.sp as f64 * kv_layer;
        comm::send_s(hw, l.tp * l.sp, bytes)
    } else {
        0.0
    };

    let layers = s.layers() as f64;
    let dense_n = s.dense_layers as f64;
    let moe_n = s.moe_layers as f64;
    let elementwise = dense_n * layer.elementwise_dense + moe_n * layer.elementwise_moe;
    let mut operators =
        layers * layer.attention + dense_n * layer.dense_ffn + moe_n * layer.moe_ffn + elementwise;

    // --- LM head on the last stage: prefill needs logits of the last token only ---
    if s.lm_head && m.vocab_size > 0 {
        let lm_p = scale * params::lm_head_params(m) / tp;
        let rows = seqs_f;
        operators += r.op(2.0 * rows * lm_p, lm_p * wbytes);
    }
    let tp_total = dense_n * ar_dense + moe_n * ar_moe;
    let ep_total = moe_n * layer.all_to_all;
    let sp_total = layers * sp_x;
    let pp_send = if l.pp > 1 && !s.lm_head {
        comm::send_s(hw, l.gpus_per_instance(), tokens * d * act)
    } else {
        0.0
    };
    let raw_comm = tp_total + ep_total + sp_total + pp_send;
    let communication = raw_comm - task.cost.comm_overlap * raw_comm.min(operators);
    StepBreakdown {
        operators_s: operators,
        compute_bound_s: compute_share(&r, operators),
        memory_bound_s: operators - compute_share(&r, operators),
        attention_core_s: layers * layer.attention_core,
        elementwise_s: elementwise,
        tp_all_reduce_s: tp_total,
        ep_all_to_all_s: ep_total,
        sp_exchange_s: sp_total,
        pp_send_s: pp_send,
        communication_s: communication,
        stage_time_s: operators + communication,
        stage: s.stage,
    }
}

/// Operators time that is compute-bound, scaled from the per-operator tallies of one layer of
/// each kind to the stage total.
fn compute_share(r: &Roofline, operators: f64) -> f64 {
    let sum = r.compute + r.memory;
    if sum <= 0.0 {
        0.0
    } else {
        operators * r.compute / sum
    }
}
