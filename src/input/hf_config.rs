//! Reading a Hugging Face `config.json` (and a ModelOpt `hf_quant_config.json` beside it) into a
//! [`RawModel`] (DESIGN.md §1.3).
//!
//! Field meanings follow `transformers` (`LlamaConfig`, `Llama4TextConfig`, `Qwen3MoeConfig`,
//! `DeepseekV3Config`, `MixtralConfig`, `GptOssConfig`, `Glm4MoeConfig`, `GlmMoeDsaConfig`,
//! MiniMax-M2's `configuration_minimax_m2.py`):
//!
//! | HF key | task field |
//! |---|---|
//! | `num_hidden_layers` | `layers` |
//! | `hidden_size` | `hidden_size` |
//! | `num_attention_heads` / `num_key_value_heads` | `heads` / `kv_heads` |
//! | `head_dim` (MLA: `qk_head_dim`, else `qk_nope_head_dim + qk_rope_head_dim`) | `head_dim` |
//! | `kv_lora_rank`, `q_lora_rank`, `qk_nope_head_dim`, `qk_rope_head_dim`, `v_head_dim` | `mla` |
//! | `intermediate_size` | dense FFN size; the expert size when there is no `moe_intermediate_size` (Mixtral, MiniMax, gpt-oss, Llama-4) |
//! | `intermediate_size_mlp` (Llama-4) | dense FFN size of the non-MoE layers |
//! | `moe_intermediate_size` | `moe.expert_intermediate_size` |
//! | `num_experts` / `n_routed_experts` / `num_local_experts` | `moe.experts` |
//! | `num_experts_per_tok` / `experts_per_token` | `moe.top_k` |
//! | `topk_method: noaux_tc` (DeepSeek-V3's auxiliary-loss-free routing), `model_type` `deepseek_v3` / `deepseek_v32` / `kimi_k2` | `moe.routing_skew` low (else the default, high) |
//! | `n_shared_experts` / `num_shared_experts`, `shared_expert_intermediate_size` / `shared_intermediate_size`; Llama-4: one shared expert of `intermediate_size` | `moe.shared_experts`, `moe.shared_expert_intermediate_size` |
//! | `first_k_dense_replace`, `mlp_only_layers`, `decoder_sparse_step`, `interleave_moe_layer_step`, `moe_layers`, `moe_layer_freq` | `moe.dense_layers` (layers without experts; their placement is not modelled) |
//! | `vocab_size`, `tie_word_embeddings` | `vocab_size`, `tied_embeddings` |
//! | `quantization_config` (fp8, mxfp4, compressed-tensors int/float 4/8 bits, awq, gptq, modelopt, bitsandbytes), `hf_quant_config.json` (`quant_algo` FP8 / NVFP4 / W4A16_AWQ / W4A8_AWQ, `kv_cache_quant_algo`), else `torch_dtype` / `dtype` (float32 read as BF16, the width engines serve it in) | `dtype`, `kv_cache_dtype` |
//! | `quantization_config.weight_block_size` (FP8 weights) | `weight_block_size` (block-scaled FP8 GEMM) |
//! | `quantization_config.activation_scheme`, compressed-tensors `input_activations.dynamic`, ModelOpt `quant_algo: FP8` (static), `fbgemm_fp8` / `ptpc_fp8` (dynamic), per-tensor FP8 weights | `static_activation_scales` (static: the FP8 GEMMs without the scale computation their measured rows include) |
//! | other families' names of these keys (GPT-2, MPT / DBRX and their nested `attn_config` / `ffn_config`, Falcon, ChatGLM, Gemma-4, Nemotron: [`ALIASES`]) | as the standard key |
//! | `hybrid_override_pattern` / `layers_block_type` (Nemotron-H Mamba-2 / attention stacks), `moe_latent_size` | one layer per FFN block; block-by-block count as `declared_params` |
//! | `layer_types` with `linear_attention` (Qwen3-Next / Qwen3.5 Gated DeltaNet) | layer-by-layer count as `declared_params` |
//! | `block_configs` (NAS-pruned Llama, DeciLM) | one layer per attention block holding every block's FFN |
//!
//! Features the cost model does not have are warnings (stderr and every plan): sliding-window
//! and chunked attention (`layer_types`, `sliding_window`, `attention_chunk_size`), sparse
//! attention (`index_topk`: DeepSeek-V3.2 / GLM-5 DSA), linear / hybrid attention, modules kept
//! out of quantization, a vision tower, and every key that is neither read nor known to leave
//! compute and memory unchanged. Multi-token-prediction layers are noted, not counted. A
//! multimodal config that nests the language model under `text_config` is read from there.

use crate::error::{Error, Result};
use crate::input::task::{AttentionKind, Dtype, Mla, RawModel, RawMoe, RoutingSkew};
use serde_json::{Map, Value};

mod stacks;

/// What a `config.json` gave: the model, remarks on how it was read (assumptions) and features
/// it has that pdplan does not model (warnings).
#[derive(Clone, Debug, PartialEq)]
pub struct HfModel {
    pub model: RawModel,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Other families' names for the keys this reader uses, as `transformers` maps them (each config
/// class's `attribute_map`, and the nested sub-configs of DBRX): `GPT2Config` / `GPTJConfig`
/// (`n_layer`, `n_embd`, `n_head`, `n_inner`), `FalconConfig` (`num_kv_heads`, older `n_head_kv`),
/// `MptConfig` / `DbrxConfig` (`n_layers`, `d_model`, `n_heads`, `attn_config.kv_n_heads`,
/// `ffn_config.ffn_hidden_size` / `moe_num_experts` / `moe_top_k`), ChatGLM (`num_layers`,
/// `multi_query_group_num`, `ffn_hidden_size`, `kv_channels`, `padded_vocab_size`). A name is
/// read only when the standard key is absent or null; a dotted name is a key of a sub-object.
const ALIASES: &[(&str, &[&str])] = &[
    ("num_hidden_layers", &["n_layer", "n_layers", "num_layers"]),
    ("hidden_size", &["n_embd", "d_model"]),
    ("num_attention_heads", &["n_head", "n_heads"]),
    (
        "num_key_value_heads",
        &[
            "num_kv_heads",
            "n_head_kv",
            "multi_query_group_num",
            "attn_config.kv_n_heads",
        ],
    ),
    (
        "intermediate_size",
        &["n_inner", "ffn_hidden_size", "ffn_config.ffn_hidden_size"],
    ),
    ("num_local_experts", &["ffn_config.moe_num_experts"]),
    ("num_experts_per_tok", &["ffn_config.moe_top_k", "top_k_experts"]),
    ("vocab_size", &["padded_vocab_size"]),
    ("head_dim", &["kv_channels"]),
    (
        "shared_expert_intermediate_size",
        &["moe_shared_expert_intermediate_size"],
    ),
];

/// The config with every [`ALIASES`] name copied under its standard key (and a multi-query
/// config's single KV head), with a note naming what was read under another name.
fn normalized(m: &Map<String, Value>, notes: &mut Vec<String>) -> Map<String, Value> {
    let at = |name: &str| -> Option<&Value> {
        let v = match name.split_once('.') {
            Some((outer, inner)) => m.get(outer)?.as_object()?.get(inner)?,
            None => m.get(name)?,
        };
        (!v.is_null()).then_some(v)
    };
    let mut out = m.clone();
    let mut read = Vec::new();
    for (standard, names) in ALIASES {
        if out.get(*standard).is_some_and(|v| !v.is_null()) {
            continue;
        }
        if let Some((name, v)) = names.iter().find_map(|n| at(n).map(|v| (*n, v.clone()))) {
            out.insert(standard.to_string(), v);
            read.push(format!("`{name}` as `{standard}`"));
        }
    }
    // Falcon-7B style multi-query attention (`multi_query: true`): one KV head for all queries.
    if out.get("num_key_value_heads").is_none_or(Value::is_null)
        && m.get("multi_query") == Some(&Value::Bool(true))
    {
        out.insert("num_key_value_heads".into(), Value::from(1u64));
        read.push("`multi_query: true` as one KV head".into());
    }
    if !read.is_empty() {
        notes.push(format!("config.json: read {}", read.join(", ")));
    }
    out
}

/// Keys read for the shape or precision (with the other names of [`ALIASES`] and the objects
/// holding them).
const READ_KEYS: &[&str] = &[
    "n_layer",
    "n_layers",
    "num_layers",
    "n_embd",
    "d_model",
    "n_head",
    "n_heads",
    "num_kv_heads",
    "n_head_kv",
    "multi_query_group_num",
    "multi_query",
    "attn_config",
    "ffn_config",
    "n_inner",
    "ffn_hidden_size",
    "padded_vocab_size",
    "kv_channels",
    "expansion_ratio",
    "top_k_experts",
    "moe_shared_expert_intermediate_size",
    "hybrid_override_pattern",
    "layers_block_type",
    "mlp_hidden_act",
    "block_configs",
    "full_attention_interval",
    "attn_output_gate",
    "linear_conv_kernel_dim",
    "linear_key_head_dim",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "linear_value_head_dim",
    "moe_latent_size",
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "qk_head_dim",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "intermediate_size",
    "intermediate_size_mlp",
    "moe_intermediate_size",
    "num_experts",
    "n_routed_experts",
    "num_local_experts",
    "num_experts_per_tok",
    "experts_per_token",
    "topk_method",
    "n_shared_experts",
    "num_shared_experts",
    "shared_expert_intermediate_size",
    "shared_intermediate_size",
    "first_k_dense_replace",
    "mlp_only_layers",
    "decoder_sparse_step",
    "interleave_moe_layer_step",
    "moe_layers",
    "moe_layer_freq",
    "vocab_size",
    "tie_word_embeddings",
    "torch_dtype",
    "dtype",
    "quantization_config",
    "model_type",
    "hidden_act",
    "num_nextn_predict_layers",
    "num_mtp_modules",
    "use_mtp",
    "mtp_transformer_layers",
    "sliding_window",
    "use_sliding_window",
    "max_window_layers",
    "layer_types",
    "attention_chunk_size",
    "index_topk",
    "index_n_heads",
    "index_head_dim",
    "attn_type_list",
    "text_config",
    "vision_config",
];

/// Keys known to leave parameter count, FLOPs and memory unchanged (or changing them by well
/// under 1 %: norms, biases, routing rules, positions, token ids, training settings).
const NEUTRAL_KEYS: &[&str] = &[
    "architectures",
    "auto_map",
    "attention_bias",
    "attention_dropout",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "initializer_range",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_theta",
    "rope_scaling",
    "rope_parameters",
    "rope_interleave",
    "partial_rotary_factor",
    "rotary_dim",
    "transformers_version",
    "use_cache",
    "output_router_logits",
    "router_aux_loss_coef",
    "router_jitter_noise",
    "aux_loss_alpha",
    "seq_aux",
    "norm_topk_prob",
    "routed_scaling_factor",
    "scoring_func",
    "topk_method",
    "topk_group",
    "n_group",
    "ep_size",
    "pretraining_tp",
    "use_qk_norm",
    "qk_norm_type",
    "use_routing_bias",
    "swiglu_limit",
    "initial_context_length",
    "attn_temperature_tuning",
    "floor_scale",
    "attn_scale",
    "no_rope_layers",
    "no_rope_layer_interval",
    "nope_layer_interval",
    "qkv_bias",
    "indexer_rope_interleave",
    "moe_router_dtype",
    "mlp_bias",
    "_name_or_path",
    "model_name",
    "use_bfloat16",
    "id2label",
    "label2id",
    "tokenizer_class",
    "ignore_index",
    "image_token_index",
    "image_token_id",
    "video_token_id",
    "media_placeholder_token_id",
    "video_placeholder",
    "use_unified_vision_chunk",
    "projector_hidden_act",
    "vision_feature_layer",
    "vision_feature_select_strategy",
    "boi_token_index",
    "eoi_token_index",
    "router_dtype",
    "e_score_correction_bias",
    "residual_dropout",
    "embedding_dropout",
    "hidden_dropout",
    "resid_pdrop",
    "embd_pdrop",
    "attn_pdrop",
    "tie_encoder_decoder",
    "is_encoder_decoder",
    "is_decoder",
    "add_cross_attention",
    "return_dict",
    "torchscript",
    "output_attentions",
    "output_hidden_states",
    "max_length",
    "min_length",
    "do_sample",
    "temperature",
    "top_k",
    "top_p",
    "num_beams",
    "num_beam_groups",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "chunk_size_feed_forward",
    "early_stopping",
    "diversity_penalty",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
    "decoder_start_token_id",
    "sep_token_id",
    "prefix",
    "problem_type",
    "pruned_heads",
    "finetuning_task",
    "task_specific_params",
    "tf_legacy_loss",
    "cross_attention_hidden_size",
    "output_scores",
    "return_dict_in_generate",
    "rope_type",
    "max_seq_len",
    "bias",
    // GPT-2 / Falcon / MPT / ChatGLM spellings of norms, dropout, biases, positions, init and
    // classification heads (parallel attention and MLP keep the same matrices and FLOPs).
    "n_positions",
    "n_ctx",
    "layer_norm_epsilon",
    "layer_norm_eps",
    "layernorm_epsilon",
    "activation_function",
    "resid_pdrop",
    "embd_pdrop",
    "emb_pdrop",
    "attn_pdrop",
    "hidden_dropout",
    "output_past",
    "summary_type",
    "summary_use_proj",
    "summary_activation",
    "summary_proj_to_labels",
    "summary_first_dropout",
    "alibi",
    "apply_residual_connection_post_layernorm",
    "parallel_attn",
    "new_decoder_architecture",
    "no_bias",
    "norm_type",
    "init_config",
    "init_device",
    "verbose",
    "tokenizer_name",
    "embedding_fraction",
    "qk_layernorm",
    "add_bias_linear",
    "add_qkv_bias",
    "apply_query_key_layer_scaling",
    "attention_softmax_in_fp32",
    "bias_dropout_fusion",
    "fp32_residual_connection",
    "post_layer_norm",
    "rmsnorm",
    "seq_length",
    "original_rope",
    "multi_query_attention",
];

/// Keys the conversion reads as whole numbers (sizes, counts): a value of another type (`"8"`,
/// `8.5`, `-1`, `true`) is refused naming the key, since the typed getters would otherwise read
/// it as absent — a string `num_key_value_heads` silently became one KV head per query head.
/// `null` stays "absent".
const COUNT_KEYS: [&str; 34] = [
    "num_hidden_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
    "intermediate_size",
    "intermediate_size_mlp",
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "shared_intermediate_size",
    "num_experts",
    "num_local_experts",
    "n_routed_experts",
    "num_experts_per_tok",
    "experts_per_token",
    "n_shared_experts",
    "num_shared_experts",
    "first_k_dense_replace",
    "kv_lora_rank",
    "q_lora_rank",
    "qk_head_dim",
    "qk_nope_head_dim",
    "qk_rope_head_dim",
    "v_head_dim",
    "num_nextn_predict_layers",
    "num_mtp_modules",
    "n_groups",
    "ssm_state_size",
    "mamba_num_heads",
    "mamba_head_dim",
    "linear_num_key_heads",
    "linear_num_value_heads",
    "index_topk",
];

/// Refuse a [`COUNT_KEYS`] value that is not a whole number ≥ 0 or `null`.
fn check_counts(path: &str, m: &Map<String, Value>) -> Result<()> {
    for key in COUNT_KEYS {
        match m.get(key) {
            None | Some(Value::Null) => {}
            Some(v) if v.as_u64().is_some() => {}
            Some(v) => {
                return Err(Error::Json {
                    path: path.to_string(),
                    message: format!("`{key}` is {v}; expected a whole number (or null)"),
                });
            }
        }
    }
    Ok(())
}

/// A `config.json` object with typed getters (`null` = absent).
struct Cfg<'a>(&'a Map<String, Value>);

impl Cfg<'_> {
    fn u(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }
    fn b(&self, key: &str) -> Option<bool> {
        self.0.get(key).and_then(Value::as_bool)
    }
    fn s(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }
    fn list(&self, key: &str) -> Option<&Vec<Value>> {
        self.0.get(key).and_then(Value::as_array)
    }
    fn nonzero(&self, key: &str) -> Option<u64> {
        self.u(key).filter(|&x| x > 0)
    }
    /// An integer key as a float (sizes multiplied into parameter counts).
    fn f(&self, key: &str) -> Option<f64> {
        self.u(key).map(|v| v as f64)
    }
}

/// Read and convert a `config.json` file.
pub fn read_hf_config(path: &std::path::Path) -> Result<HfModel> {
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

/// `text` with the bare `Infinity`, `-Infinity` and `NaN` that Python's `json` writes (outside
/// strings) replaced by `null`.
fn python_constants_as_null(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            (escaped, in_string) = match c {
                _ if escaped => (false, true),
                '\\' => (true, true),
                '"' => (false, false),
                _ => (false, true),
            };
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Convert the text of a `config.json`. `path` is only used in messages.
pub fn parse_hf_config(path: &str, text: &str) -> Result<HfModel> {
    let mut out = HfModel {
        model: RawModel::default(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    let top: Map<String, Value> = match serde_json::from_str(text) {
        Ok(top) => top,
        Err(e) => {
            // Python's json writes float('inf') / float('nan') as bare `Infinity` / `NaN`
            // (Nemotron-H's `time_step_limit: [0.0, Infinity]`): read those as null, else fail
            // with the strict parser's message.
            let relaxed = python_constants_as_null(text);
            let top = serde_json::from_str(&relaxed).map_err(|_| Error::Json {
                path: path.to_string(),
                message: format!("not a Hugging Face config.json: {e}"),
            })?;
            out.notes
                .push("config.json: Python's Infinity / NaN values read as null".to_string());
            top
        }
    };
    let inner = top.get("text_config").and_then(Value::as_object);
    let lm = match inner {
        Some(t) if !top.contains_key("num_hidden_layers") => {
            out.notes
                .push("config.json: language model read from `text_config`".to_string());
            t
        }
        _ => &top,
    };
    let mut lm = normalized(lm, &mut out.notes);
    check_counts(path, &lm)?;
    let counted = stacks::reshape(&mut lm, &mut out.warnings);
    let c = Cfg(&lm);
    let m = &mut out.model;
    // The stack's own parameter count scales weights and FLOPs up when the layers read add up
    // to less (`model_size::weight_scale`).
    m.declared_params = counted;
    m.layers = c.u("num_hidden_layers");
    m.hidden_size = c.u("hidden_size");
    m.heads = c.u("num_attention_heads");
    m.kv_heads = c.u("num_key_value_heads");
    m.head_dim = c.u("head_dim");
    m.vocab_size = c.u("vocab_size");
    m.tied_embeddings = c.b("tie_word_embeddings").or(Cfg(&top).b("tie_word_embeddings"));
    if m.tied_embeddings.is_none() {
        m.tied_embeddings = tied_by_default(&c, &mut out.notes);
    }
    attention(path, &c, &mut out)?;
    moe(&c, &mut out);
    gated(&c, &mut out.model);
    plain_ffn_size(&c, &mut out);
    precision(&c, &Cfg(&top), &mut out);
    features(&c, &mut out);
    if top.contains_key("vision_config") {
        out.warnings.push(
            "config.json: the vision encoder (`vision_config`) is not counted; text-only serving is planned"
                .to_string(),
        );
    }
    unknown_keys(&c, &mut out);
    Ok(out)
}

/// MLA when a KV latent rank is given, else GQA / MHA by the KV head count.
fn attention(path: &str, c: &Cfg, out: &mut HfModel) -> Result<()> {
    let m = &mut out.model;
    let Some(kv_lora_rank) = c.nonzero("kv_lora_rank") else {
        if let (Some(h), Some(kv)) = (m.heads, m.kv_heads) {
            m.attention = Some(if kv < h {
                AttentionKind::Gqa
            } else {
                AttentionKind::Mha
            });
        }
        return Ok(());
    };
    let need = |key: &str| {
        c.u(key).ok_or_else(|| Error::Missing {
            path: path.to_string(),
            field: key.to_string(),
            message: format!("config.json has no `{key}` (needed for MLA)"),
        })
    };
    let mla = Mla {
        q_lora_rank: c.u("q_lora_rank").unwrap_or(0),
        kv_lora_rank,
        qk_nope_head_dim: need("qk_nope_head_dim")?,
        qk_rope_head_dim: need("qk_rope_head_dim")?,
        v_head_dim: need("v_head_dim")?,
    };
    let sum = mla.qk_nope_head_dim.saturating_add(mla.qk_rope_head_dim);
    let qk = c.u("qk_head_dim").unwrap_or(sum);
    if qk != sum {
        out.warnings.push(format!(
            "config.json: qk_head_dim {qk} differs from qk_nope_head_dim + qk_rope_head_dim = {sum}; \
             the sum is what the MLA shape uses"
        ));
    }
    if let Some(hd) = m.head_dim.filter(|&hd| hd != sum) {
        out.notes.push(format!(
            "config.json: head_dim {hd} is not the MLA query/key head width; head_dim taken as \
             qk_nope_head_dim + qk_rope_head_dim = {sum}"
        ));
    } else if m.head_dim.is_none() {
        out.notes.push(format!(
            "config.json: MLA head_dim taken as qk_nope_head_dim + qk_rope_head_dim = {sum}"
        ));
    }
    m.head_dim = Some(sum);
    if c.u("q_lora_rank").is_none() {
        out.notes
            .push("config.json: q_lora_rank absent, queries not compressed".to_string());
    }
    m.mla = Some(mla);
    m.attention = Some(AttentionKind::Mla);
    Ok(())
}

/// Layers without routed experts, from whichever key the family uses.
fn dense_layer_count(c: &Cfg, layers: u64, notes: &mut Vec<String>) -> u64 {
    let mut dense = c.u("first_k_dense_replace").unwrap_or(0);
    if let Some(list) = c.list("mlp_only_layers").filter(|l| !l.is_empty()) {
        dense = dense.max(list.len() as u64);
        notes.push(format!(
            "config.json: mlp_only_layers ({} layers) counted as dense layers (placement approximated)",
            list.len()
        ));
    }
    for key in ["decoder_sparse_step", "interleave_moe_layer_step"] {
        if let Some(step) = c.u(key).filter(|&s| s > 1) {
            let moe_layers = layers.saturating_sub(dense) / step;
            dense = layers - moe_layers;
            notes.push(format!(
                "config.json: {key} {step}: {moe_layers} of {layers} layers hold experts, {dense} \
                 have a dense FFN (interleaving approximated as a block of dense layers)"
            ));
        }
    }
    if let Some(list) = c.list("moe_layers").filter(|l| !l.is_empty()) {
        dense = layers.saturating_sub(list.len() as u64);
    }
    if let Some(freq) = c.u("moe_layer_freq").filter(|&f| f > 1) {
        let moe_layers = layers.saturating_sub(dense) / freq;
        dense = layers - moe_layers;
        notes.push(format!(
            "config.json: moe_layer_freq {freq}: {moe_layers} MoE layers"
        ));
    }
    dense.min(layers)
}

/// Shared experts and their size, for every family's spelling.
fn shared_experts(c: &Cfg, expert_size: Option<u64>, is_llama4: bool) -> (u64, Option<u64>) {
    if is_llama4 {
        // Llama-4: every MoE layer adds one shared expert of `intermediate_size`.
        return (1, c.u("intermediate_size"));
    }
    let count = c.u("n_shared_experts").or(c.u("num_shared_experts"));
    let size = c
        .nonzero("shared_expert_intermediate_size")
        .or(c.nonzero("shared_intermediate_size"));
    match (count, size) {
        (Some(n), Some(s)) => (n, Some(s)),
        // DeepSeek / GLM / Kimi: each shared expert is the size of a routed one.
        (Some(n), None) => (n, if n > 0 { expert_size } else { None }),
        // Qwen2-MoE: one shared expert of the given size.
        (None, Some(s)) => (1, Some(s)),
        (None, None) => (0, None),
    }
}

fn moe(c: &Cfg, out: &mut HfModel) {
    let experts = c
        .nonzero("num_experts")
        .or(c.nonzero("n_routed_experts"))
        .or(c.nonzero("num_local_experts"));
    let Some(experts) = experts else {
        out.model.ffn_intermediate_size = c.u("intermediate_size");
        return;
    };
    let is_llama4 = c.s("model_type").is_some_and(|t| t.starts_with("llama4"));
    let expert_size = c.u("moe_intermediate_size").or_else(|| {
        out.notes.push(
            "config.json: no moe_intermediate_size; intermediate_size is the size of each expert \
             (Mixtral / Llama-4 / gpt-oss / MiniMax convention)"
                .to_string(),
        );
        c.u("intermediate_size")
    });
    let layers = c.u("num_hidden_layers").unwrap_or(0);
    let dense = dense_layer_count(c, layers, &mut out.notes);
    let dense_ffn = if is_llama4 {
        c.u("intermediate_size_mlp")
    } else {
        c.u("intermediate_size")
    };
    out.model.ffn_intermediate_size = if dense > 0 { dense_ffn } else { Some(0) };
    if let (0, Some(s), Some(_)) = (dense, c.u("intermediate_size"), c.u("moe_intermediate_size")) {
        out.notes.push(format!(
            "config.json: intermediate_size {s} ignored: every layer is MoE"
        ));
    }
    let (shared, shared_size) = shared_experts(c, expert_size, is_llama4);
    out.model.moe = Some(RawMoe {
        experts: Some(experts),
        top_k: c.u("num_experts_per_tok").or(c.u("experts_per_token")),
        expert_intermediate_size: expert_size,
        shared_experts: Some(shared),
        shared_expert_intermediate_size: shared_size,
        dense_layers: Some(dense),
        routing_skew: routing_skew(c, &mut out.notes),
    });
}

/// DeepSeek-V3's auxiliary-loss-free routing (`topk_method: noaux_tc`, a per-expert bias on the
/// routing scores; DeepSeek-V3 / R1 / V3.2 and Kimi-K2 configs) balances the experts as
/// [`RoutingSkew::Low`]; other routers are left to the default.
fn routing_skew(c: &Cfg, notes: &mut Vec<String>) -> Option<RoutingSkew> {
    let method = c.s("topk_method").unwrap_or("").to_ascii_lowercase();
    let model_type = c.s("model_type").unwrap_or("").to_ascii_lowercase();
    let deepseek = ["deepseek_v3", "deepseek_v32", "kimi_k2"].contains(&model_type.as_str());
    (method == "noaux_tc" || deepseek).then(|| {
        notes.push(
            "config.json: DeepSeek-V3's auxiliary-loss-free routing (topk_method noaux_tc): \
             routing skew low (power-law alpha 1.01)"
                .to_string(),
        );
        RoutingSkew::Low
    })
}

/// Gated FFN: SwiGLU/GeGLU families; classic GPT-style MLPs are not gated.
fn gated(c: &Cfg, m: &mut RawModel) {
    let model_type = c.s("model_type").unwrap_or("").to_ascii_lowercase();
    let plain = [
        "gpt2",
        "gpt_neox",
        "gptj",
        "opt",
        "bloom",
        "falcon",
        "phi",
        "starcoder2",
        "mpt",
    ];
    let act = c.s("mlp_hidden_act").or(c.s("hidden_act")).unwrap_or("");
    // Squared ReLU (Nemotron-4, Nemotron-H `relu2`) is an up and a down projection, not gated.
    if plain.contains(&model_type.as_str()) || act == "relu2" {
        m.gated_ffn = Some(false);
    } else if !model_type.is_empty() || c.s("hidden_act").is_some() {
        m.gated_ffn = Some(true);
    }
}

/// Whether the LM head shares the input embedding when the config does not say: `transformers`'
/// `PretrainedConfig` ties by default and the GPT-2, MPT, BLOOM, OPT and Gemma configs keep that
/// default (their models have no separate LM-head matrix), while Llama, Mistral, Qwen, Phi,
/// DeepSeek and most others set `tie_word_embeddings=False` and write the key. Other families
/// stay unknown (the task's default applies).
fn tied_by_default(c: &Cfg, notes: &mut Vec<String>) -> Option<bool> {
    let model_type = c.s("model_type")?.to_ascii_lowercase();
    let tied = [
        "gpt2",
        "mpt",
        "bloom",
        "opt",
        "gemma",
        "gemma2",
        "gemma3",
        "gemma3_text",
    ];
    tied.contains(&model_type.as_str()).then(|| {
        notes.push(format!(
            "config.json: no tie_word_embeddings: tied, the default of the `{model_type}` config \
             (the LM head is the input embedding)"
        ));
        true
    })
}

/// A classic GPT-style MLP whose config names no size (GPT-2 / GPT-J `n_inner: null`, Falcon,
/// MPT's `expansion_ratio`): `expansion_ratio × hidden`, 4 by default (`GPT2MLP`,
/// `FalconMLP`: `4 * hidden_size`; `MptMLP`: `expansion_ratio * d_model`).
fn plain_ffn_size(c: &Cfg, out: &mut HfModel) {
    let m = &mut out.model;
    if m.gated_ffn != Some(false) || m.ffn_intermediate_size.is_some() || m.moe.is_some() {
        return;
    }
    let Some(h) = m.hidden_size else { return };
    let ratio = c.u("expansion_ratio").unwrap_or(4);
    m.ffn_intermediate_size = Some(ratio * h);
    out.notes.push(format!(
        "config.json: no FFN size; the MLP is {ratio} × hidden = {} (GPT-style MLP)",
        ratio * h
    ));
}

/// The weight format a `quantization_config` names, with a note on how it was read.
fn quant_dtype(q: &Cfg) -> std::result::Result<Option<Dtype>, String> {
    let method = q.s("quant_method").unwrap_or("").to_ascii_lowercase();
    let bits = q.u("bits").or(q.u("w_bit")).or(q.u("weight_bits"));
    let by_bits = |b: Option<u64>| match b {
        Some(4) => Ok(Some(Dtype::Int4)),
        Some(8) => Ok(Some(Dtype::Int8)),
        _ => Err(format!(
            "quantization method `{method}` with bits {b:?} not understood"
        )),
    };
    match method.as_str() {
        "" => Ok(None),
        "fp8" | "fbgemm_fp8" | "ptpc_fp8" => Ok(Some(Dtype::Fp8)),
        "mxfp4" | "nvfp4" => Ok(Some(Dtype::Fp4)),
        "awq" | "gptq" | "gptq_marlin" | "awq_marlin" | "autoround" | "hqq" => by_bits(bits),
        "bitsandbytes" if q.b("load_in_4bit") == Some(true) => Ok(Some(Dtype::Int4)),
        "bitsandbytes" if q.b("load_in_8bit") == Some(true) => Ok(Some(Dtype::Int8)),
        "modelopt" => Ok(modelopt_algo(q.s("quant_algo").unwrap_or(""))),
        "compressed-tensors" => Ok(compressed_tensors(q)),
        _ if q.s("fmt").is_some_and(|f| f.contains("e4m3")) => Ok(Some(Dtype::Fp8)),
        _ => by_bits(bits),
    }
}

/// ModelOpt `quant_algo`: `FP8`, `NVFP4`, `W4A16_AWQ`, `W4A8_AWQ`, `W8A8_SQ_...`.
fn modelopt_algo(algo: &str) -> Option<Dtype> {
    let a = algo.to_ascii_uppercase();
    if a.contains("NVFP4") || a.contains("MXFP4") || a == "FP4" {
        Some(Dtype::Fp4)
    } else if a.starts_with("FP8") {
        Some(Dtype::Fp8)
    } else if a.starts_with("W4") || a.contains("INT4") {
        Some(Dtype::Int4)
    } else if a.starts_with("W8") || a.contains("INT8") {
        Some(Dtype::Int8)
    } else {
        None
    }
}

/// compressed-tensors: the weights of the first config group (`num_bits`, `type`).
fn compressed_tensors(q: &Cfg) -> Option<Dtype> {
    let groups = q.0.get("config_groups")?.as_object()?;
    let w = groups.values().find_map(|g| g.get("weights"))?.as_object()?;
    let w = Cfg(w);
    let float = w.s("type") == Some("float");
    match (w.u("num_bits")?, float) {
        (4, true) => Some(Dtype::Fp4),
        (4, false) => Some(Dtype::Int4),
        (8, true) => Some(Dtype::Fp8),
        (8, false) => Some(Dtype::Int8),
        _ => None,
    }
}

/// Module patterns a quantization keeps in higher precision (`modules_to_not_convert`,
/// `ignore`, `exclude_modules`), beyond the LM head and routers.
fn kept_modules(q: &Cfg) -> Vec<String> {
    let mut kept = Vec::new();
    for key in ["modules_to_not_convert", "ignore", "exclude_modules"] {
        for v in q.list(key).into_iter().flatten() {
            let Some(s) = v.as_str() else { continue };
            let minor = [
                "lm_head",
                "gate",
                "router",
                "e_score_correction_bias",
                "embed_tokens",
            ];
            if !minor
                .iter()
                .any(|m| s.ends_with(m) || s.ends_with(&format!("{m}*")))
            {
                kept.push(s.to_string());
            }
        }
    }
    kept
}

/// Precision: the quantization method wins over the compute dtype.
fn precision(c: &Cfg, top: &Cfg, out: &mut HfModel) {
    let q =
        c.0.get("quantization_config")
            .or(top.0.get("quantization_config"))
            .and_then(Value::as_object);
    let quant = match q.map(|q| quant_dtype(&Cfg(q))) {
        Some(Ok(d)) => d,
        Some(Err(msg)) => {
            out.warnings
                .push(format!("config.json: {msg}; precision taken from torch_dtype"));
            None
        }
        None => None,
    };
    if let (Some(d), Some(q)) = (quant, q) {
        note_kept_modules(&Cfg(q), d, &mut out.warnings);
        out.model.weight_block_size = block_size(&Cfg(q), d);
        let per_tensor = out.model.weight_block_size.is_none();
        if let Some(static_scales) = activation_scales(&Cfg(q)).filter(|_| d == Dtype::Fp8 && per_tensor) {
            out.model.static_activation_scales = Some(static_scales);
            out.notes
                .push(activation_scales_note("config.json", static_scales));
        }
        if let Some(b) = &out.model.weight_block_size {
            out.notes.push(format!(
                "config.json: FP8 weights scaled per {b:?} block (quantization_config.weight_block_size): \
                 GEMMs costed on the block-scaled FP8 kernel"
            ));
        }
    }
    let declared = c
        .s("torch_dtype")
        .or(c.s("dtype"))
        .or(top.s("torch_dtype"))
        .or(top.s("dtype"));
    out.model.dtype = quant.or_else(|| declared.and_then(torch_dtype));
    if out.model.dtype == Some(Dtype::Fp32) {
        // An unquantized float32 checkpoint is served in 16 bits: vLLM's default `--dtype auto`
        // "Downcast[s] for float32 models" to the platform's first dtype, BF16 on CUDA GPUs of
        // compute capability 8.0 and later (vllm/config/model.py `_resolve_auto_dtype`,
        // vllm/platforms/cuda.py `supported_dtypes`); SGLang's `--dtype auto` likewise casts
        // float32 to 16 bits. Planning 4-byte weights would size the deployment twice too large.
        out.model.dtype = Some(Dtype::Bf16);
        out.notes.push(
            "config.json: torch_dtype float32: planned as BF16, the 16-bit dtype the engines' \
             default `--dtype auto` serves a float32 checkpoint in (state `Precision: FP32` in \
             the task to plan float32 weights)"
                .into(),
        );
    }
    if out.model.dtype.is_none()
        && let Some(d) = declared
    {
        out.warnings
            .push(format!("config.json: torch_dtype `{d}` not understood; ignored"));
    }
}

/// FP8 weights scaled per block: `weight_block_size` (`[128, 128]`: DeepSeek-V3, Qwen3-FP8,
/// MiniMax-M2). AIConfigurator reads the same key the same way (`quant_method` fp8 with a
/// `weight_block_size` is its `fp8_block` GEMM mode; aiconfigurator-core 0.12
/// `sdk/models/helpers.py`). Read as `[rows, columns]`; a list of another length is not read.
fn block_size(q: &Cfg, d: Dtype) -> Option<[u64; 2]> {
    let block = q.list("weight_block_size")?;
    match block.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>()?[..] {
        [rows, cols] if d == Dtype::Fp8 => Some([rows, cols]),
        _ => None,
    }
}

/// How an FP8 checkpoint's activations are scaled: `Some(true)` static input scales shipped with
/// the checkpoint (ModelOpt `quant_method: modelopt` with `quant_algo: FP8`, `activation_scheme:
/// static`, compressed-tensors `input_activations.dynamic: false`), `Some(false)` scales computed
/// at run time (`activation_scheme: dynamic`, compressed-tensors `dynamic: true`, the per-row /
/// per-token methods `fbgemm_fp8` and `ptpc_fp8`), `None` not stated.
fn activation_scales(q: &Cfg) -> Option<bool> {
    let method = q.s("quant_method").unwrap_or("").to_ascii_lowercase();
    if matches!(method.as_str(), "fbgemm_fp8" | "ptpc_fp8") {
        return Some(false);
    }
    if method == "modelopt" && q.s("quant_algo").is_some_and(|a| a.eq_ignore_ascii_case("FP8")) {
        return Some(true);
    }
    match q.s("activation_scheme").map(str::to_ascii_lowercase).as_deref() {
        Some("dynamic") => return Some(false),
        Some("static") => return Some(true),
        _ => {}
    }
    let groups = q.0.get("config_groups").and_then(Value::as_object)?;
    groups.values().find_map(|group| {
        let inputs = group.get("input_activations")?;
        inputs
            .get("dynamic")
            .and_then(Value::as_bool)
            .map(|dynamic| !dynamic)
    })
}

/// The note for a stated activation-scale scheme.
fn activation_scales_note(source: &str, static_scales: bool) -> String {
    if static_scales {
        format!(
            "{source}: FP8 activations with static input scales: the FP8 GEMMs are costed \
             without the scale computation their measured (dynamic-scale) rows include"
        )
    } else {
        format!("{source}: FP8 activations scaled at run time (dynamic): the FP8 GEMMs as measured")
    }
}

fn note_kept_modules(q: &Cfg, d: Dtype, warnings: &mut Vec<String>) {
    let kept = kept_modules(q);
    if kept.is_empty() {
        return;
    }
    let shown: Vec<&str> = kept.iter().take(4).map(String::as_str).collect();
    let more = if kept.len() > 4 {
        format!(" and {} more", kept.len() - 4)
    } else {
        String::new()
    };
    warnings.push(format!(
        "config.json: the quantization keeps {}{more} in 16-bit; pdplan counts every weight at {} \
         (weight memory under-estimated by the share of those modules)",
        shown.join(", "),
        d.name()
    ));
}

/// Architecture features pdplan does not model, and MTP layers.
fn features(c: &Cfg, out: &mut HfModel) {
    let layers = c.u("num_hidden_layers").unwrap_or(0);
    let window = c
        .nonzero("sliding_window")
        .filter(|_| c.b("use_sliding_window") != Some(false));
    let sliding = c.list("layer_types").map_or(0, |l| {
        l.iter()
            .filter(|t| t.as_str().is_some_and(|s| s.contains("sliding")))
            .count()
    });
    if let Some(w) = window {
        let n = if sliding > 0 {
            sliding.to_string()
        } else {
            "all".to_string()
        };
        out.warnings.push(format!(
            "config.json: sliding-window attention (window {w} tokens) on {n} of {layers} layers is \
             not modelled: pdplan counts full attention and a full KV cache on every layer \
             (KV memory and attention time over-estimated)"
        ));
    }
    unknown_layer_types(c, layers, out);
    if let Some(chunk) = c.nonzero("attention_chunk_size") {
        out.warnings.push(format!(
            "config.json: chunked local attention (chunks of {chunk} tokens, Llama-4 iRoPE) is not \
             modelled: pdplan counts full attention on every layer"
        ));
    }
    if let Some(k) = c.nonzero("index_topk") {
        out.warnings.push(format!(
            "config.json: sparse attention (DSA: each query attends to the top {k} tokens picked by \
             a lightning indexer) is not modelled: pdplan counts dense attention over the whole \
             context and does not count the indexer"
        ));
    }
    if c.list("attn_type_list")
        .is_some_and(|l| l.iter().any(|t| t.as_u64() == Some(0)))
    {
        out.warnings.push(
            "config.json: linear (lightning) attention layers in `attn_type_list` are counted as \
             full attention"
                .to_string(),
        );
    }
    let mtp = c
        .nonzero("num_nextn_predict_layers")
        .or(c.nonzero("num_mtp_modules"));
    if let Some(n) = mtp {
        out.notes.push(format!(
            "config.json: {n} multi-token-prediction module(s) not counted (speculative decoding \
             heads, not needed to serve; a `Draft tokens` line costs and launches them)"
        ));
    }
}

/// Mixers of other kinds named in `layer_types` (Granite-4 / Falcon-H1 `mamba`, ...): costed as
/// full attention, like the hybrids this reader knows (`stacks`' hybrid and linear-
/// attention readers), but without their parameter count; a warning names them.
fn unknown_layer_types(c: &Cfg, layers: u64, out: &mut HfModel) {
    let mut other: Vec<(&str, usize)> = Vec::new();
    for t in c
        .list("layer_types")
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        // Kinds handled elsewhere: sliding and chunked attention and DSA sparse attention (warned
        // in [`features`]), linear attention (`stacks`) and plain attention.
        let known = ["full", "sliding", "linear", "chunked", "sparse"];
        if t == "attention" || known.iter().any(|k| t.contains(k)) {
            continue;
        }
        match other.iter_mut().find(|(k, _)| *k == t) {
            Some((_, n)) => *n += 1,
            None => other.push((t, 1)),
        }
    }
    if !other.is_empty() {
        let kinds: Vec<String> = other.iter().map(|(k, n)| format!("{k} on {n}")).collect();
        out.warnings.push(format!(
            "config.json: layer types not modelled ({} of {layers} layers): costed as full \
             attention layers, their own parameters not counted",
            kinds.join(", ")
        ));
    }
}

/// Keys neither read nor known to be neutral: warned about, so a new architecture feature is
/// never silently ignored.
fn unknown_keys(c: &Cfg, out: &mut HfModel) {
    let unknown: Vec<&str> =
        c.0.keys()
            .map(String::as_str)
            .filter(|k| !READ_KEYS.contains(k) && !NEUTRAL_KEYS.contains(k))
            .collect();
    if !unknown.is_empty() {
        out.warnings.push(format!(
            "config.json: keys not read by pdplan (check they do not change the shape): {}",
            unknown.join(", ")
        ));
    }
}

/// Apply a ModelOpt `hf_quant_config.json` (found beside `config.json`): its `quant_algo` is the
/// weight format, `kv_cache_quant_algo` the KV-cache format.
pub fn apply_hf_quant_config(path: &str, text: &str, hf: &mut HfModel) -> Result<()> {
    let v: Value = serde_json::from_str(text).map_err(|e| Error::Json {
        path: path.to_string(),
        message: format!("not a ModelOpt hf_quant_config.json: {e}"),
    })?;
    let Some(q) = v.get("quantization").and_then(Value::as_object) else {
        return Ok(());
    };
    let q = Cfg(q);
    let algo = q.s("quant_algo").unwrap_or("");
    if algo.eq_ignore_ascii_case("MIXED_PRECISION") {
        mixed_precision(path, &q, hf);
    } else {
        match_algo(path, &q, algo, hf);
    }
    if let Some(kv) = q.s("kv_cache_quant_algo").and_then(modelopt_algo) {
        hf.model.kv_cache_dtype = Some(kv);
        hf.notes.push(format!("{path}: KV cache in {}", kv.name()));
    }
    Ok(())
}

/// ModelOpt `MIXED_PRECISION`: each entry of `quantized_layers` names its own `quant_algo`. One
/// weight format is planned: the one of the FFN / expert projections (`mlp`, `experts`), which
/// hold most of the parameters, with a warning naming the other formats.
fn mixed_precision(path: &str, q: &Cfg, hf: &mut HfModel) {
    let Some(layers) = q.0.get("quantized_layers").and_then(Value::as_object) else {
        hf.warnings.push(format!(
            "{path}: quant_algo MIXED_PRECISION without quantized_layers; ignored"
        ));
        return;
    };
    let mut ffn: Vec<(&str, usize)> = Vec::new();
    let mut others: Vec<&str> = Vec::new();
    for (name, v) in layers {
        let Some(a) = v.get("quant_algo").and_then(Value::as_str) else {
            continue;
        };
        if name.contains("mlp") || name.contains("expert") {
            match ffn.iter_mut().find(|(x, _)| *x == a) {
                Some((_, n)) => *n += 1,
                None => ffn.push((a, 1)),
            }
        } else if !others.contains(&a) {
            others.push(a);
        }
    }
    let Some(&(main, _)) = ffn.iter().max_by_key(|(_, n)| *n) else {
        hf.warnings.push(format!(
            "{path}: quant_algo MIXED_PRECISION without FFN layers; ignored"
        ));
        return;
    };
    match_algo(path, q, main, hf);
    others.retain(|a| *a != main);
    if !others.is_empty() {
        hf.warnings.push(format!(
            "{path}: mixed precision: the FFN / expert weights' {main} is planned for every \
             weight; {} on the other layers (attention) is not modelled",
            others.join(", ")
        ));
    }
}

/// Apply one ModelOpt `quant_algo` as the weight format.
fn match_algo(path: &str, q: &Cfg, algo: &str, hf: &mut HfModel) {
    match modelopt_algo(algo) {
        Some(d) => {
            hf.model.dtype = Some(d);
            hf.notes
                .push(format!("{path}: quant_algo {algo} → weights {}", d.name()));
            // ModelOpt's per-tensor FP8 recipe calibrates static input scales.
            if algo.eq_ignore_ascii_case("FP8") {
                hf.model.static_activation_scales = Some(true);
                hf.notes.push(activation_scales_note(path, true));
            }
            note_kept_modules(q, d, &mut hf.warnings);
        }
        None if !algo.is_empty() => {
            hf.warnings
                .push(format!("{path}: quant_algo `{algo}` not understood; ignored"));
        }
        None => {}
    }
}
