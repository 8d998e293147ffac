//! Reading a Hugging Face `config.json` into a [`RawModel`] (DESIGN.md §1.3).
//!
//! Only the keys the cost model needs are read; every other key (HF configs have dozens) is
//! ignored. Field meanings follow `transformers` (`LlamaConfig`, `Qwen3MoeConfig`,
//! `DeepseekV3Config`, `MixtralConfig`):
//!
//! | HF key | task field |
//! |---|---|
//! | `num_hidden_layers` | `layers` |
//! | `hidden_size` | `hidden_size` |
//! | `num_attention_heads` / `num_key_value_heads` | `heads` / `kv_heads` |
//! | `head_dim` (else `qk_nope_head_dim + qk_rope_head_dim` for MLA) | `head_dim` |
//! | `kv_lora_rank`, `q_lora_rank`, `qk_nope_head_dim`, `qk_rope_head_dim`, `v_head_dim` | `mla` |
//! | `intermediate_size` | `ffn_intermediate_size` (dense layers); expert size for Mixtral |
//! | `moe_intermediate_size` | `moe.expert_intermediate_size` |
//! | `num_experts` / `n_routed_experts` / `num_local_experts` | `moe.experts` |
//! | `num_experts_per_tok` | `moe.top_k` |
//! | `n_shared_experts`, `shared_expert_intermediate_size` | `moe.shared_experts`, `moe.shared_expert_intermediate_size` |
//! | `first_k_dense_replace` (or the count of `mlp_only_layers`) | `moe.dense_layers` |
//! | `vocab_size`, `tie_word_embeddings` | `vocab_size`, `tied_embeddings` |
//! | `quantization_config.quant_method == "fp8"`, else `torch_dtype` / `dtype` | `dtype` |
//!
//! A multimodal config that nests the language model under `text_config` is read from there.

use crate::error::{Error, Result};
use crate::input::task::{AttentionKind, Dtype, Mla, RawModel, RawMoe};
use serde::Deserialize;
use std::path::Path;

/// What a `config.json` gave, and remarks on how it was read (approximations, ignored keys).
#[derive(Clone, Debug, PartialEq)]
pub struct HfModel {
    pub model: RawModel,
    pub notes: Vec<String>,
}

#[derive(Deserialize, Default, Debug)]
struct HfQuant {
    #[serde(default)]
    quant_method: Option<String>,
    #[serde(default)]
    bits: Option<u64>,
    #[serde(default)]
    fmt: Option<String>,
}

/// The keys read; unknown keys are ignored (no `deny_unknown_fields`), `null` is absent.
#[derive(Deserialize, Default, Debug)]
struct HfRaw {
    model_type: Option<String>,
    num_hidden_layers: Option<u64>,
    hidden_size: Option<u64>,
    num_attention_heads: Option<u64>,
    num_key_value_heads: Option<u64>,
    head_dim: Option<u64>,
    intermediate_size: Option<u64>,
    moe_intermediate_size: Option<u64>,
    num_experts: Option<u64>,
    n_routed_experts: Option<u64>,
    num_local_experts: Option<u64>,
    num_experts_per_tok: Option<u64>,
    n_shared_experts: Option<u64>,
    shared_expert_intermediate_size: Option<u64>,
    first_k_dense_replace: Option<u64>,
    mlp_only_layers: Option<Vec<u64>>,
    decoder_sparse_step: Option<u64>,
    kv_lora_rank: Option<u64>,
    q_lora_rank: Option<u64>,
    qk_nope_head_dim: Option<u64>,
    qk_rope_head_dim: Option<u64>,
    v_head_dim: Option<u64>,
    vocab_size: Option<u64>,
    tie_word_embeddings: Option<bool>,
    torch_dtype: Option<String>,
    dtype: Option<String>,
    quantization_config: Option<HfQuant>,
    hidden_act: Option<String>,
    num_nextn_predict_layers: Option<u64>,
    text_config: Option<Box<HfRaw>>,
}

/// Read and convert a `config.json` file.
pub fn read_hf_config(path: &Path) -> Result<HfModel> {
    // Bounded and never blocking on a FIFO or a device (the input policy, `input::read`).
    let text = super::read::read_text_bounded(path, super::read::MAX_TASK_BYTES)?;
    parse_hf_config(&path.display().to_string(), &text)
}

fn torch_dtype(s: &str) -> Option<Dtype> {
    match s.trim().to_ascii_lowercase().trim_start_matches("torch.") {
        "bfloat16" | "bf16" => Some(Dtype::Bf16),
        "float16" | "fp16" | "half" => Some(Dtype::Fp16),
        "float32" | "fp32" | "float" => Some(Dtype::Fp32),
        "float8_e4m3fn" | "float8_e5m2" | "fp8" => Some(Dtype::Fp8),
        "int8" => Some(Dtype::Int8),
        _ => None,
    }
}

fn nonzero(v: Option<u64>) -> Option<u64> {
    v.filter(|&x| x > 0)
}

/// Convert the text of a `config.json`. `path` is only used in messages.
pub fn parse_hf_config(path: &str, text: &str) -> Result<HfModel> {
    let top: HfRaw = serde_json::from_str(text).map_err(|e| Error::Json {
        path: path.to_string(),
        message: format!("not a Hugging Face config.json: {e}"),
    })?;
    let mut notes = Vec::new();
    let c = match top.text_config {
        Some(inner) if top.num_hidden_layers.is_none() => {
            notes.push("config.json: language model read from `text_config`".to_string());
            *inner
        }
        _ => top,
    };
    let missing = |key: &str, why: &str| Error::Missing {
        path: path.to_string(),
        field: key.to_string(),
        message: format!("config.json has no `{key}` ({why})"),
    };

    let mut m = RawModel {
        layers: c.num_hidden_layers,
        hidden_size: c.hidden_size,
        heads: c.num_attention_heads,
        kv_heads: c.num_key_value_heads,
        head_dim: c.head_dim,
        vocab_size: c.vocab_size,
        tied_embeddings: c.tie_word_embeddings,
        ..RawModel::default()
    };

    // Attention: MLA when a KV latent rank is given.
    if let Some(kv_lora_rank) = nonzero(c.kv_lora_rank) {
        let need = |v: Option<u64>, key: &str| v.ok_or_else(|| missing(key, "needed for MLA"));
        let mla = Mla {
            q_lora_rank: c.q_lora_rank.unwrap_or(0),
            kv_lora_rank,
            qk_nope_head_dim: need(c.qk_nope_head_dim, "qk_nope_head_dim")?,
            qk_rope_head_dim: need(c.qk_rope_head_dim, "qk_rope_head_dim")?,
            v_head_dim: need(c.v_head_dim, "v_head_dim")?,
        };
        if m.head_dim.is_none() {
            m.head_dim = Some(mla.qk_nope_head_dim.saturating_add(mla.qk_rope_head_dim));
            notes.push(format!(
                "config.json: MLA head_dim taken as qk_nope_head_dim + qk_rope_head_dim = {}",
                mla.qk_nope_head_dim.saturating_add(mla.qk_rope_head_dim)
            ));
        }
        if c.q_lora_rank.is_none() {
            notes.push("config.json: q_lora_rank absent, queries not compressed".to_string());
        }
        m.mla = Some(mla);
        m.attention = Some(AttentionKind::Mla);
    } else if let (Some(h), Some(kv)) = (m.heads, m.kv_heads) {
        m.attention = Some(if kv < h {
            AttentionKind::Gqa
        } else {
            AttentionKind::Mha
        });
    }

    // MoE.
    let experts = nonzero(c.num_experts)
        .or(nonzero(c.n_routed_experts))
        .or(nonzero(c.num_local_experts));
    if let Some(experts) = experts {
        let expert_size = match c.moe_intermediate_size {
            Some(s) => Some(s),
            None => {
                // Mixtral: `intermediate_size` is the size of each expert.
                if c.intermediate_size.is_some() {
                    notes.push(
                        "config.json: no moe_intermediate_size; intermediate_size is the size \
                         of each expert (Mixtral convention)"
                            .to_string(),
                    );
                }
                c.intermediate_size
            }
        };
        let mut dense_layers = c.first_k_dense_replace;
        if let Some(list) = c.mlp_only_layers.as_ref().filter(|l| !l.is_empty()) {
            let n = list.len() as u64;
            let leading = list.iter().enumerate().all(|(i, &l)| l == i as u64);
            if !leading {
                notes.push(format!(
                    "config.json: mlp_only_layers {list:?} are not the leading layers; counted \
                     as {n} dense layers (placement approximated)"
                ));
            }
            dense_layers = Some(dense_layers.unwrap_or(0).max(n));
        }
        if let Some(step) = c.decoder_sparse_step.filter(|&s| s > 1)
            && let Some(layers) = c.num_hidden_layers
        {
            let sparse = layers / step;
            let dense = layers - sparse;
            notes.push(format!(
                "config.json: decoder_sparse_step {step} (every {step}th layer is MoE); \
                     counted as {dense} dense layers (placement approximated)"
            ));
            dense_layers = Some(dense_layers.unwrap_or(0).max(dense));
        }
        let (shared, shared_size) = match (c.n_shared_experts, c.shared_expert_intermediate_size) {
            (Some(n), Some(s)) => (Some(n), Some(s)),
            // DeepSeek: each shared expert is the size of a routed one.
            (Some(n), None) => (Some(n), if n > 0 { c.moe_intermediate_size } else { None }),
            // Qwen2-MoE: one shared expert of the given size.
            (None, Some(s)) if s > 0 => (Some(1), Some(s)),
            _ => (Some(0), None),
        };
        let has_dense = dense_layers.unwrap_or(0) > 0;
        if has_dense {
            m.ffn_intermediate_size = c.intermediate_size;
        } else if c.moe_intermediate_size.is_some() {
            if let Some(s) = c.intermediate_size {
                notes.push(format!(
                    "config.json: intermediate_size {s} ignored: every layer is MoE"
                ));
            }
            m.ffn_intermediate_size = Some(0);
        } else {
            m.ffn_intermediate_size = Some(0);
        }
        m.moe = Some(RawMoe {
            experts: Some(experts),
            top_k: c.num_experts_per_tok,
            expert_intermediate_size: expert_size,
            shared_experts: shared,
            shared_expert_intermediate_size: shared_size,
            dense_layers: Some(dense_layers.unwrap_or(0)),
        });
    } else {
        m.ffn_intermediate_size = c.intermediate_size;
    }

    // Gated FFN: SwiGLU/GeGLU families; classic GPT-style MLPs are not gated.
    let model_type = c.model_type.as_deref().unwrap_or("").to_ascii_lowercase();
    let plain_mlp = [
        "gpt2",
        "gpt_neox",
        "gptj",
        "opt",
        "bloom",
        "falcon",
        "phi",
        "starcoder2",
    ];
    if plain_mlp.contains(&model_type.as_str()) {
        m.gated_ffn = Some(false);
    } else if !model_type.is_empty() || c.hidden_act.is_some() {
        m.gated_ffn = Some(true);
    }

    // Precision: the quantization method wins over the compute dtype.
    let quant = c.quantization_config.unwrap_or_default();
    let qm = quant.quant_method.as_deref().unwrap_or("").to_ascii_lowercase();
    let quant_dtype = if qm.contains("fp8") || quant.fmt.as_deref().is_some_and(|f| f.contains("e4m3")) {
        Some(Dtype::Fp8)
    } else if !qm.is_empty() {
        match quant.bits {
            Some(4) => Some(Dtype::Int4),
            Some(8) => Some(Dtype::Int8),
            _ => {
                notes.push(format!(
                    "config.json: quantization method `{qm}` not understood; precision taken \
                     from torch_dtype"
                ));
                None
            }
        }
    } else {
        None
    };
    let declared_dtype = c.torch_dtype.as_deref().or(c.dtype.as_deref());
    m.dtype = quant_dtype.or_else(|| declared_dtype.and_then(torch_dtype));
    if m.dtype.is_none()
        && let Some(d) = declared_dtype
    {
        notes.push(format!("config.json: torch_dtype `{d}` not understood; ignored"));
    }
    if let Some(n) = c.num_nextn_predict_layers.filter(|&n| n > 0) {
        notes.push(format!(
            "config.json: {n} multi-token-prediction layer(s) not counted (speculative module)"
        ));
    }
    Ok(HfModel { model: m, notes })
}
