//! Memory per GPU: weights as sharded, KV cache, activations at peak, runtime reserve.
//!
//! Sharding follows Megatron-LM (Shoeybi et al. 2019; Narayanan et al. SC'21): attention and
//! dense FFN weights split over `tp` and replicated over `sp` and `attention_dp`; routed experts
//! split over `ep` (whole experts) and `expert_tp` (inside an expert); the embedding on the first
//! stage and the LM head on the last, vocab-parallel over `tp`; layers over `pp`.
//! KV cache: vLLM's PagedAttention accounting (Kwon et al., SOSP'23) — every sequence may reach the
//! maximum length, so `max_len` tokens are reserved per sequence; GQA KV heads split over `tp` and
//! replicated when `tp > kv_heads`; MLA's latent is replicated on every TP rank (vLLM/SGLang MLA);
//! context parallelism (`sp`) splits the KV of a sequence over its `sp` GPUs (ring attention,
//! Liu et al. 2023).

use super::params;
use crate::layout::{Layout, Phase, kv_heads_per_gpu, stage_layers};
use crate::spec::task::{Model, Task};
use serde::Serialize;

/// Memory of the most loaded GPU of an instance, bytes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MemoryBreakdown {
    pub weights_bytes: f64,
    pub kv_cache_bytes: f64,
    pub activations_bytes: f64,
    pub reserve_bytes: f64,
    pub total_bytes: f64,
    pub capacity_bytes: f64,
    /// Pipeline stage of the most loaded GPU.
    pub stage: u64,
}

impl MemoryBreakdown {
    pub fn fits(&self) -> bool {
        self.total_bytes <= self.capacity_bytes
    }
}

/// What one pipeline stage holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageShape {
    pub stage: u64,
    pub dense_layers: u64,
    pub moe_layers: u64,
    pub embedding: bool,
    pub lm_head: bool,
}

impl StageShape {
    pub fn layers(&self) -> u64 {
        self.dense_layers + self.moe_layers
    }
}

/// Shapes of all stages (dense leading layers land on the first stages).
pub fn stage_shapes(model: &Model, pp: u64) -> Vec<StageShape> {
    let dense_lead = model.dense_ffn_layers();
    let moe = model.is_moe();
    stage_layers(model.layers, pp)
        .into_iter()
        .enumerate()
        .map(|(s, (first, last))| {
            let n = last - first + 1;
            let dense = if moe {
                (last + 1).min(dense_lead).saturating_sub(first)
            } else {
                n
            };
            StageShape {
                stage: s as u64,
                dense_layers: dense,
                moe_layers: n - dense,
                embedding: s == 0,
                lm_head: s as u64 == pp - 1,
            }
        })
        .collect()
}

/// Weight parameters on one GPU of a stage (before the declared-size scale).
pub fn stage_weight_params(model: &Model, l: &Layout, s: &StageShape) -> f64 {
    let tp = l.tp as f64;
    let mut p = s.layers() as f64 * params::attention_params(model) / tp
        + s.dense_layers as f64 * params::ffn_params(model, model.ffn_intermediate_size) / tp;
    if let Some(moe) = &model.moe {
        let experts_here = moe.experts.div_ceil(l.ep) as f64;
        let router = model.hidden_size as f64 * moe.experts as f64;
        let shared =
            moe.shared_experts as f64 * params::ffn_params(model, moe.shared_expert_intermediate_size);
        p += s.moe_layers as f64
            * (experts_here * params::expert_params(model) / l.expert_tp as f64 + router + shared / tp);
    }
    if s.embedding {
        p += params::embedding_params(model) / tp;
    }
    if s.lm_head && !(model.tied_embeddings && s.embedding) {
        p += params::lm_head_params(model) / tp;
    }
    p
}

/// KV-cache bytes per token per layer held by one GPU (after TP sharding / replication).
pub fn kv_bytes_per_token_layer_gpu(model: &Model, tp: u64) -> f64 {
    let full = params::kv_bytes_per_token_layer(model);
    match model.attention {
        crate::spec::task::AttentionKind::Mla => full,
        _ => {
            let (per_gpu, _) = kv_heads_per_gpu(model, tp);
            full * per_gpu as f64 / model.kv_heads as f64
        }
    }
}

/// Activation bytes at peak for `tokens` tokens in flight on one GPU of a stage.
///
/// Assumption: inference keeps only the live tensors of one layer (no saved activations), the
/// peak being the residual stream in/out (`2d`), the attention projections (`(q + 2kv)/tp`) and
/// the largest FFN intermediate on the GPU (gate and up: `2·inter/tp`, or for experts the routed
/// token copies `k·(d + 2·inter/expert_tp)`), plus FP32 logits on the last stage. FlashAttention
/// keeps no `s²` score matrix (Dao et al. 2022).
fn activation_bytes(task: &Task, l: &Layout, tokens: f64, logits_tokens: f64, lm: bool) -> f64 {
    let m = &task.model;
    let d = m.hidden_size as f64;
    let qkv = (m.heads + 2 * m.kv_heads) as f64 * m.head_dim as f64 / l.tp as f64;
    let dense = if m.dense_ffn_layers() > 0 {
        2.0 * m.ffn_intermediate_size as f64 / l.tp as f64
    } else {
        0.0
    };
    let experts = m.moe.as_ref().map_or(0.0, |moe| {
        moe.top_k as f64
            * (d + 2.0 * moe.expert_intermediate_size as f64 / l.expert_tp as f64)
            * task.cost.moe_imbalance
    });
    let per_token = 2.0 * d + qkv + dense.max(experts);
    let logits = if lm {
        logits_tokens * m.vocab_size as f64 / l.tp as f64 * 4.0
    } else {
        0.0
    };
    tokens * per_token * task.cost.activation_bytes + logits
}

/// Memory of the most loaded GPU of an instance holding `batch` sequences.
pub fn per_gpu(task: &Task, phase: Phase, l: &Layout, batch: u64) -> MemoryBreakdown {
    let m = &task.model;
    let capacity = task.hardware.memory_bytes;
    let wbytes = m.dtype.bytes() * params::weight_scale(m);
    let seqs = super::sequences_per_rank(l, batch) as f64;
    let kv_tokens = task.workload.kv_tokens_per_sequence().div_ceil(l.sp) as f64;
    let kv_layer = kv_bytes_per_token_layer_gpu(m, l.tp);
    let reserve = task.cost.reserve_fraction * capacity;
    // Tokens in flight on one GPU: prefill processes up to a chunk of its sequences' tokens,
    // decode one token per sequence.
    let (tokens, logits_tokens) = match phase {
        Phase::Prefill => {
            let all = seqs * (task.workload.max_len.div_ceil(l.sp)) as f64;
            (all.min(task.cost.prefill_chunk_tokens as f64), seqs)
        }
        Phase::Decode => (seqs, seqs),
    };
    let even_split = params::total_params(m) * wbytes / l.gpus_per_instance() as f64;
    let mut worst: Option<MemoryBreakdown> = None;
    let mut shapes = stage_shapes(m, l.pp);
    shapes.dedup_by_key(|s| (s.dense_layers, s.moe_layers, s.lm_head, s.embedding));
    for s in shapes {
        let weights = (stage_weight_params(m, l, &s) * wbytes).max(even_split);
        let kv = s.layers() as f64 * seqs * kv_tokens * kv_layer;
        let act = activation_bytes(task, l, tokens, logits_tokens, s.lm_head);
        let total = weights + kv + act + reserve;
        if worst.as_ref().is_none_or(|w| total > w.total_bytes) {
            worst = Some(MemoryBreakdown {
                weights_bytes: weights,
                kv_cache_bytes: kv,
                activations_bytes: act,
                reserve_bytes: reserve,
                total_bytes: total,
                capacity_bytes: capacity,
                stage: s.stage,
            });
        }
    }
    worst.expect("pp >= 1 gives at least one stage")
}
