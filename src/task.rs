//! The task: hardware, model, workload and requirements, in two forms.
//!
//! * [`RawTask`] mirrors a task file one-to-one (JSON, `deny_unknown_fields`); every field is
//!   optional so a file may name a preset and override only what it changes. The Markdown parser
//!   ([`crate::markdown`]) produces the same struct.
//! * [`Task`] is the resolved, complete form the planner works on ([`crate::resolve`] builds it
//!   from a `RawTask`, presets and documented defaults). It serializes to JSON that loads back as a
//!   `RawTask` and resolves to the same `Task` (`pdplan task FILE` prints it).
//!
//! Units are SI and live in the field names: bytes, seconds, FLOP/s, bytes/s, tokens/s.

use serde::{Deserialize, Serialize};

/// A task file as written, every field optional (JSON form of DESIGN.md §1.2).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawTask {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub hardware: RawHardware,
    #[serde(default)]
    pub model: RawModel,
    #[serde(default)]
    pub workload: RawWorkload,
    #[serde(default)]
    pub requirements: Requirements,
    /// A fixed strategy to evaluate (`Parallelism Strategy` section), not used by `solve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<GivenStrategy>,
    /// Cost-model parameters; absent fields take the documented defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<RawCostParams>,
}

/// Hardware as written. A `preset` fills what is not given explicitly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawHardware {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Total GPUs the deployment may use; `None` = no limit ("ample resources").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_budget: Option<u64>,
    /// Peak dense FLOP/s of one GPU at the model's precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_flops_per_s: Option<f64>,
    /// Model FLOPs utilization, 0 < mfu <= 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfu: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hbm_bytes_per_s: Option<f64>,
    /// Achieved fraction of HBM bandwidth, 0 < u <= 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth_utilization: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus_per_node: Option<u64>,
    /// Per-GPU unidirectional bandwidth inside a node (NVLink class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intra_node_bytes_per_s: Option<f64>,
    /// Per-GPU unidirectional bandwidth between nodes (NIC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_node_bytes_per_s: Option<f64>,
}

/// Model as written. A `preset` or `hf_config` fills what is not given explicitly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// Path to a Hugging Face `config.json` (relative to the task file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_config: Option<String>,
    /// Parameter count as declared (e.g. "235B" = 235e9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_params: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<u64>,
    /// KV heads (GQA); equal to `heads` for MHA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_heads: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention: Option<AttentionKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mla: Option<Mla>,
    /// Intermediate size of the dense FFN (dense models and the dense leading layers of MoE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ffn_intermediate_size: Option<u64>,
    /// Gated FFN (SwiGLU: gate, up, down = 3 matrices) or plain MLP (2 matrices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gated_ffn: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<RawMoe>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocab_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tied_embeddings: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<Dtype>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_cache_dtype: Option<Dtype>,
}

/// MoE shape as written.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawMoe {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    /// Intermediate size of one routed expert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_intermediate_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_experts: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_expert_intermediate_size: Option<u64>,
    /// Leading layers that use a dense FFN instead of experts (DeepSeek-V3: 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dense_layers: Option<u64>,
}

/// Workload as written.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// Sequences the phase must hold at once (B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// Declared input length (ISL), tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_len: Option<u64>,
    /// Declared output length (OSL), tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_len: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_len: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u64>,
}

/// Performance requirements; `None` = no requirement.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
    /// Minimum throughput per GPU, for each phase on its own (prefill input tokens/s per prefill
    /// GPU, decode output tokens/s per decode GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_per_gpu_tokens_per_s: Option<f64>,
    /// Target request rate of the whole deployment (mode 3 of DESIGN.md §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_rate_per_s: Option<f64>,
}

/// A strategy given in the task (`Parallelism Strategy`), as written. `dp` is the ambiguous
/// "Data parallelism" line; `evaluate` interprets it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GivenStrategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_dp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ep: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert_tp: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
}

/// Cost-model parameters as written; see [`CostParams`] for meaning and defaults.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawCostParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe_imbalance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm_overlap: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_chunk_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_bytes: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_utilization: Option<f64>,
}

/// Attention variant.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AttentionKind {
    /// Multi-head attention: KV heads = query heads.
    Mha,
    /// Grouped-query attention: fewer KV heads than query heads.
    Gqa,
    /// Multi-head latent attention (DeepSeek-V2/V3): a compressed KV latent per token.
    Mla,
}

/// MLA shape (DeepSeek-V2 paper §2.1; DeepSeek-V3 `config.json` field names).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mla {
    /// Rank of the query compression; 0 = queries are not compressed.
    pub q_lora_rank: u64,
    /// Rank of the KV latent (cached per token and layer).
    pub kv_lora_rank: u64,
    pub qk_nope_head_dim: u64,
    /// Decoupled RoPE key dimension (also cached per token and layer).
    pub qk_rope_head_dim: u64,
    pub v_head_dim: u64,
}

/// Numeric format of weights or KV cache.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    Fp32,
    Bf16,
    Fp16,
    Fp8,
    Int8,
    Int4,
}

impl Dtype {
    pub fn bytes(self) -> f64 {
        match self {
            Dtype::Fp32 => 4.0,
            Dtype::Bf16 | Dtype::Fp16 => 2.0,
            Dtype::Fp8 | Dtype::Int8 => 1.0,
            Dtype::Int4 => 0.5,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Fp32 => "fp32",
            Dtype::Bf16 => "bf16",
            Dtype::Fp16 => "fp16",
            Dtype::Fp8 => "fp8",
            Dtype::Int8 => "int8",
            Dtype::Int4 => "int4",
        }
    }
}

/// The resolved task the planner works on: complete, validated, SI units.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Task {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub hardware: Hardware,
    pub model: Model,
    pub workload: Workload,
    pub requirements: Requirements,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<GivenStrategy>,
    pub cost: CostParams,
}

/// Resolved hardware (one GPU kind, homogeneous cluster).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_budget: Option<u64>,
    pub peak_flops_per_s: f64,
    pub mfu: f64,
    pub hbm_bytes_per_s: f64,
    pub bandwidth_utilization: f64,
    pub memory_bytes: f64,
    pub gpus_per_node: u64,
    pub intra_node_bytes_per_s: f64,
    pub inter_node_bytes_per_s: f64,
}

/// Resolved model shape.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_config: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_params: Option<f64>,
    pub layers: u64,
    pub hidden_size: u64,
    pub heads: u64,
    pub head_dim: u64,
    pub kv_heads: u64,
    pub attention: AttentionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mla: Option<Mla>,
    /// Dense FFN intermediate size (0 when every layer is MoE and no dense layer exists).
    pub ffn_intermediate_size: u64,
    pub gated_ffn: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moe: Option<Moe>,
    /// 0 when the task gives no vocabulary (embeddings then not counted; stated as assumption).
    pub vocab_size: u64,
    pub tied_embeddings: bool,
    pub dtype: Dtype,
    pub kv_cache_dtype: Dtype,
}

/// Resolved MoE shape.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Moe {
    pub experts: u64,
    pub top_k: u64,
    pub expert_intermediate_size: u64,
    pub shared_experts: u64,
    pub shared_expert_intermediate_size: u64,
    pub dense_layers: u64,
}

/// Resolved workload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub batch: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_len: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_len: Option<u64>,
    pub min_len: u64,
    pub max_len: u64,
}

/// Cost-model parameters with their defaults (see `crate::cost` for where each enters).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostParams {
    /// Fraction of HBM kept free for the runtime (CUDA context, NCCL buffers, CUDA graphs,
    /// fragmentation). Default 0.10, vLLM's `gpu_memory_utilization = 0.9`.
    pub reserve_fraction: f64,
    /// Tokens on the busiest expert over the mean under top-k routing (>= 1). Default 1.2.
    pub moe_imbalance: f64,
    /// Fraction of communication hidden behind compute, 0..1. Default 0 (no overlap).
    pub comm_overlap: f64,
    /// Tokens one GPU processes per prefill forward pass (chunked prefill); sizes activations.
    /// Default 16384 (DeepSeek / SGLang prefill profiles use 16K tokens per GPU).
    pub prefill_chunk_tokens: u64,
    /// Bytes per activation element. Default 2 (BF16 activations).
    pub activation_bytes: f64,
    /// Achieved fraction of the nominal NVLink / NIC bandwidth on large messages, 0 < u <= 1.
    /// Default 0.8: nccl-tests all-reduce bus bandwidth on DGX H100 is ~360–390 GB/s of 450;
    /// DeepEP reports 39–46 GB/s of a 50 GB/s (400 Gb/s) RDMA NIC and ~155 GB/s of H800's
    /// ~160 GB/s achievable NVLink (DeepEP README).
    #[serde(default = "default_network_utilization")]
    pub network_utilization: f64,
}

fn default_network_utilization() -> f64 {
    CostParams::default().network_utilization
}

impl Default for CostParams {
    fn default() -> Self {
        CostParams {
            reserve_fraction: 0.10,
            moe_imbalance: 1.2,
            comm_overlap: 0.0,
            prefill_chunk_tokens: 16384,
            activation_bytes: 2.0,
            network_utilization: 0.8,
        }
    }
}

impl Model {
    pub fn is_moe(&self) -> bool {
        self.moe.is_some()
    }
    /// Layers that hold routed experts.
    pub fn moe_layers(&self) -> u64 {
        match &self.moe {
            Some(m) => self.layers.saturating_sub(m.dense_layers),
            None => 0,
        }
    }
    /// Layers with a dense FFN.
    pub fn dense_ffn_layers(&self) -> u64 {
        self.layers - self.moe_layers()
    }
}

impl Workload {
    /// Input length TTFT is checked at: the declared `Sequence In`, else the maximum length.
    pub fn ttft_input_len(&self) -> u64 {
        self.input_len.unwrap_or(self.max_len)
    }
    /// Output length used to turn decode tokens/s into requests/s.
    /// Declared `Sequence Out`, else half the maximum length (stated in assumptions).
    pub fn rate_output_len(&self) -> u64 {
        self.output_len.unwrap_or((self.max_len / 2).max(1))
    }
    /// Context of the last output token (TPOT is checked here).
    pub fn decode_last_context(&self) -> u64 {
        match (self.input_len, self.output_len) {
            (Some(i), Some(o)) => i + o,
            (Some(i), None) => i.max(self.max_len),
            _ => self.max_len,
        }
    }
    /// Mean context over the output (decode throughput is computed here).
    pub fn decode_mean_context(&self) -> u64 {
        match (self.input_len, self.output_len) {
            (Some(i), Some(o)) => i + o / 2,
            _ => self.decode_last_context(),
        }
    }
    /// Tokens of KV cache reserved per sequence: every sequence may reach the maximum length.
    pub fn kv_tokens_per_sequence(&self) -> u64 {
        self.max_len
            .max(self.input_len.unwrap_or(0) + self.output_len.unwrap_or(0))
    }
}
