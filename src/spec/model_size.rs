//! Parameter counts and KV bytes per token from the model shape.
//!
//! Sources: the transformer parameter arithmetic of Kaplan et al., "Scaling Laws for Neural
//! Language Models" (2020) §2.1 and Narayanan et al., "Efficient Large-Scale Language Model
//! Training on GPU Clusters Using Megatron-LM" (SC'21) §5.1; GQA: Ainslie et al. (2023); MLA:
//! DeepSeek-V2 paper (2024) §2.1; MoE: Fedus et al., "Switch Transformers" (2021).
//! Assumptions: biases and norm weights are ignored (< 0.1 % of the weights); FFNs and experts are
//! gated (SwiGLU, 3 matrices) unless `gated_ffn = false` (2 matrices).

use crate::spec::task::{AttentionKind, Model};

/// Parameters of one attention block (projections only).
pub fn attention_params(m: &Model) -> f64 {
    let d = m.hidden_size as f64;
    let h = m.heads as f64;
    match (&m.attention, &m.mla) {
        (AttentionKind::Mla, Some(mla)) => {
            let qk = (mla.qk_nope_head_dim + mla.qk_rope_head_dim) as f64;
            let q = if mla.q_lora_rank > 0 {
                let r = mla.q_lora_rank as f64;
                d * r + r * h * qk
            } else {
                d * h * qk
            };
            let c = mla.kv_lora_rank as f64;
            let kv = d * (c + mla.qk_rope_head_dim as f64)
                + c * h * (mla.qk_nope_head_dim + mla.v_head_dim) as f64;
            let o = h * mla.v_head_dim as f64 * d;
            q + kv + o
        }
        _ => {
            let hd = m.head_dim as f64;
            let kv = m.kv_heads as f64;
            d * h * hd + 2.0 * d * kv * hd + h * hd * d
        }
    }
}

/// Parameters of one FFN with intermediate size `inter` (gated: gate, up, down).
pub fn ffn_params(m: &Model, inter: u64) -> f64 {
    let mats = if m.gated_ffn { 3.0 } else { 2.0 };
    mats * m.hidden_size as f64 * inter as f64
}

/// Parameters of one routed expert.
pub fn expert_params(m: &Model) -> f64 {
    m.moe
        .as_ref()
        .map_or(0.0, |moe| ffn_params(m, moe.expert_intermediate_size))
}

/// Parameters of the router and shared experts of one MoE layer (replicated with attention).
pub fn moe_dense_part_params(m: &Model) -> f64 {
    m.moe.as_ref().map_or(0.0, |moe| {
        m.hidden_size as f64 * moe.experts as f64
            + moe.shared_experts as f64 * ffn_params(m, moe.shared_expert_intermediate_size)
    })
}

/// Embedding table parameters (vocab × hidden).
pub fn embedding_params(m: &Model) -> f64 {
    m.vocab_size as f64 * m.hidden_size as f64
}

/// LM head parameters (0 extra when tied to the embedding for storage; still read when used).
pub fn lm_head_params(m: &Model) -> f64 {
    embedding_params(m)
}

/// Bytes per parameter of the token embedding and the LM head: 16 bits whatever the weights'
/// dtype. Quantized checkpoints leave both unquantized (DeepSeek-V3's and Qwen3's block-FP8
/// checkpoints store `embed_tokens` and `lm_head` in BF16 with no `weight_scale_inv`; NVIDIA
/// ModelOpt's FP8 checkpoints list `lm_head` in `exclude_modules`, `hf_quant_config.json`; AWQ /
/// GPTQ quantize linear layers of the blocks only), engines load them so (vLLM's
/// `ParallelLMHead` takes the unquantized embedding method under FP8), and AIConfigurator 0.12
/// charges the logits GEMM at `GEMMQuantMode.bfloat16` for every weight precision
/// (aiconfigurator_core/sdk/models). A 32-bit model keeps its 4 bytes.
pub fn embedding_bytes_per_param(m: &Model) -> f64 {
    m.dtype.bytes().max(2.0)
}

/// Bytes of the whole model's weights (declared-size scale included): the blocks at the weights'
/// dtype, the embedding and LM head at [`embedding_bytes_per_param`].
pub fn weight_bytes(m: &Model) -> f64 {
    let heads = if m.tied_embeddings { 1.0 } else { 2.0 };
    let extra = embedding_bytes_per_param(m) - m.dtype.bytes();
    (total_params(m) * m.dtype.bytes() + heads * embedding_params(m) * extra) * weight_scale(m)
}

/// Total parameters derived from the shape.
pub fn total_params(m: &Model) -> f64 {
    let dense_layers = m.dense_ffn_layers() as f64;
    let moe_layers = m.moe_layers() as f64;
    let experts = m.moe.as_ref().map_or(0.0, |x| x.experts as f64);
    let heads = if m.tied_embeddings { 1.0 } else { 2.0 };
    m.layers as f64 * attention_params(m)
        + dense_layers * ffn_params(m, m.ffn_intermediate_size)
        + moe_layers * (experts * expert_params(m) + moe_dense_part_params(m))
        + heads * embedding_params(m)
}

/// Parameters one token activates (attention, dense FFN or top-k experts + shared, LM head).
pub fn active_params(m: &Model) -> f64 {
    let top_k = m.moe.as_ref().map_or(0.0, |x| x.top_k as f64);
    m.layers as f64 * attention_params(m)
        + m.dense_ffn_layers() as f64 * ffn_params(m, m.ffn_intermediate_size)
        + m.moe_layers() as f64 * (top_k * expert_params(m) + moe_dense_part_params(m))
        + lm_head_params(m)
}

/// Factor applied to weight bytes so memory is safe when the declared parameter count exceeds
/// what the shape adds up to (DESIGN.md §1.4). 1 when nothing is declared or the shape is larger.
pub fn weight_scale(m: &Model) -> f64 {
    match m.declared_params {
        Some(declared) if declared > total_params(m) => declared / total_params(m),
        _ => 1.0,
    }
}

/// The parameter counts of a model's parts, computed once per task: the per-layout coefficients
/// read them for every layout (the same values the functions above return).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ModelSizes {
    pub total: f64,
    /// [`weight_scale`].
    pub scale: f64,
    pub attention: f64,
    /// One dense FFN at the model's intermediate size.
    pub ffn: f64,
    pub expert: f64,
    /// One shared expert (0 without MoE).
    pub shared_expert: f64,
    pub embedding: f64,
    pub lm_head: f64,
}

impl ModelSizes {
    pub fn of(m: &Model) -> ModelSizes {
        ModelSizes {
            total: total_params(m),
            scale: weight_scale(m),
            attention: attention_params(m),
            ffn: ffn_params(m, m.ffn_intermediate_size),
            expert: expert_params(m),
            shared_expert: m
                .moe
                .as_ref()
                .map_or(0.0, |moe| ffn_params(m, moe.shared_expert_intermediate_size)),
            embedding: embedding_params(m),
            lm_head: lm_head_params(m),
        }
    }
}

/// KV-cache bytes per token per layer for the whole model width (before TP sharding).
/// GQA/MHA: `2 (K,V) × kv_heads × head_dim × bytes`; MLA: `(kv_lora_rank + rope_dim) × bytes`
/// (the compressed latent and the decoupled RoPE key, DeepSeek-V2 §2.1.2).
pub fn kv_bytes_per_token_layer(m: &Model) -> f64 {
    let b = m.kv_cache_dtype.bytes();
    match (&m.attention, &m.mla) {
        (AttentionKind::Mla, Some(mla)) => (mla.kv_lora_rank + mla.qk_rope_head_dim) as f64 * b,
        _ => 2.0 * m.kv_heads as f64 * m.head_dim as f64 * b,
    }
}

/// KV-cache bytes per token for all layers (the figure of DeepSeek's ISCA'25 Table 1).
pub fn kv_bytes_per_token(m: &Model) -> f64 {
    m.layers as f64 * kv_bytes_per_token_layer(m)
}

/// Query-key and value head dims for attention FLOPs: `(d_qk, d_v)`. MLA in prefill attends with
/// the decompressed heads (nope + rope, v_head_dim); in decode with the absorbed latent
/// (kv_lora + rope, kv_lora) as FlashMLA does.
pub fn attention_dims(m: &Model, decode: bool) -> (f64, f64) {
    match (&m.attention, &m.mla) {
        (AttentionKind::Mla, Some(mla)) if decode => (
            (mla.kv_lora_rank + mla.qk_rope_head_dim) as f64,
            mla.kv_lora_rank as f64,
        ),
        (AttentionKind::Mla, Some(mla)) => (
            (mla.qk_nope_head_dim + mla.qk_rope_head_dim) as f64,
            mla.v_head_dim as f64,
        ),
        _ => (m.head_dim as f64, m.head_dim as f64),
    }
}
