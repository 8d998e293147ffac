//! Time of one pipeline stage for one micro-batch: per-operator roofline plus communication.
//!
//! FLOPs per operator (forward pass, 2 FLOPs per multiply-add; Kaplan et al. 2020 §2.1):
//! * projections / FFN / experts: `2 × tokens × parameters`;
//! * causal attention in prefill: `h × (d_qk + d_v) × s²` per sequence and layer (QKᵀ and AV over
//!   the lower triangle, `Σ_i i ≈ s²/2`, 2 FLOPs each);
//! * attention in decode: `2 × h × (d_qk + d_v) × c` per sequence and layer at context `c`.
//!
//! Bytes per operator: the GPU's weight shard (read once per micro-batch), KV cache written
//! (prefill) or read (decode: the whole context of every sequence), and the layer's activations.
//! MoE (Fedus et al. 2021; DeepSeek-V3 report §3.4): `k` expert assignments per token, spread over
//! `ep` groups with an explicit imbalance factor on the busiest GPU; in decode only the experts
//! the micro-batch activates are read — with `n` assignments drawn uniformly from `E` experts the
//! expected number of distinct experts among the `E/ep` local ones is `E/ep · (1 − (1 − 1/E)^n)`.
//! Assumption: every stage runs at the same MFU / bandwidth utilization given by the task.

use super::comm;
use super::memory::{StageShape, kv_bytes_per_token_layer_gpu, stage_shapes};
use super::params;
use crate::layout::{Layout, Phase};
use crate::task::Task;
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
    pub tp_all_reduce_s: f64,
    pub ep_all_to_all_s: f64,
    pub sp_exchange_s: f64,
    pub pp_send_s: f64,
    /// Communication counted after overlap.
    pub communication_s: f64,
    /// `operators_s + communication_s`.
    pub stage_time_s: f64,
    /// Stage that sets the pace.
    pub stage: u64,
}

struct Roofline {
    flops_per_s: f64,
    bytes_per_s: f64,
    compute: f64,
    memory: f64,
}

impl Roofline {
    fn op(&mut self, flops: f64, bytes: f64) -> f64 {
        let c = flops / self.flops_per_s;
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

fn one_stage(task: &Task, phase: Phase, l: &Layout, seqs: u64, len: u64, s: &StageShape) -> StepBreakdown {
    let m = &task.model;
    let hw = &task.hardware;
    let act = task.cost.activation_bytes;
    let wbytes = m.dtype.bytes() * params::weight_scale(m);
    let mut r = Roofline {
        flops_per_s: hw.peak_flops_per_s * hw.mfu,
        bytes_per_s: hw.hbm_bytes_per_s * hw.bandwidth_utilization,
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

    // --- one attention block ---
    let attn_p = params::attention_params(m) / tp;
    let proj = r.op(2.0 * tokens * attn_p, attn_p * wbytes + tokens * 4.0 * d * act);
    let core = if decode {
        let ctx = len as f64;
        r.op(
            seqs_f * 2.0 * heads_gpu * (dqk + dv) * ctx,
            seqs_f * ctx * kv_layer,
        )
    } else {
        let s_len = len as f64;
        let flops = seqs_f * heads_gpu * (dqk + dv) * s_len * s_len / l.sp as f64;
        r.op(flops, tokens * kv_layer + tokens * 2.0 * d * act)
    };
    let attention = proj + core;

    // --- dense FFN layer ---
    let ffn_p = params::ffn_params(m, m.ffn_intermediate_size) / tp;
    let dense_ffn = if s.dense_layers > 0 {
        r.op(2.0 * tokens * ffn_p, ffn_p * wbytes + tokens * 2.0 * d * act)
    } else {
        0.0
    };

    // --- MoE layer ---
    let mut moe_ffn = 0.0;
    let mut a2a = 0.0;
    if let (Some(moe), true) = (&m.moe, s.moe_layers > 0) {
        let e = moe.experts as f64;
        let local = (moe.experts / l.ep) as f64;
        let expert_p = params::expert_params(m) / l.expert_tp as f64;
        let assignments = stage_tokens * moe.top_k as f64;
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
            moe.shared_experts as f64 * params::ffn_params(m, moe.shared_expert_intermediate_size) / tp;
        let shared = if shared_p > 0.0 {
            r.op(2.0 * tokens * shared_p, shared_p * wbytes)
        } else {
            0.0
        };
        moe_ffn = router + experts + shared;
        // Dispatch (token copies to each expert shard) and combine, per GPU.
        let w = l.width();
        if w > 1 {
            let copies = assignments * l.expert_tp as f64 / w as f64 * task.cost.moe_imbalance;
            let dispatch_bytes = copies * d * m.dtype.bytes().min(act);
            let combine_bytes = copies * d * act;
            a2a = comm::all_to_all_s(hw, w, dispatch_bytes) + comm::all_to_all_s(hw, w, combine_bytes);
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
    let mut operators = layers * attention + dense_n * dense_ffn + moe_n * moe_ffn;

    // --- LM head on the last stage: prefill needs logits of the last token only ---
    if s.lm_head && m.vocab_size > 0 {
        let lm_p = params::lm_head_params(m) / tp;
        let rows = seqs_f;
        operators += r.op(2.0 * rows * lm_p, lm_p * wbytes);
    }
    let tp_total = dense_n * ar_dense + moe_n * ar_moe;
    let ep_total = moe_n * a2a;
    let sp_total = layers * sp_x;
    let pp_send = if l.pp > 1 && !s.lm_head {
        comm::send_s(hw, l.gpus_per_instance(), tokens * d * act)
    } else {
        0.0
    };
    let raw_comm = tp_total + ep_total + sp_total + pp_send;
    let communication = raw_comm * (1.0 - task.cost.comm_overlap);
    StepBreakdown {
        operators_s: operators,
        compute_bound_s: compute_share(&r, operators),
        memory_bound_s: operators - compute_share(&r, operators),
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
