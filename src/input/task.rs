//! The task as written: hardware, model, workload and requirements in file form.
//!
//! * [`RawTask`] mirrors a task file one-to-one (JSON, `deny_unknown_fields`); every field is
//!   optional so a file may name a preset and override only what it changes. The Markdown parser
//!   ([`crate::input::markdown`]) produces the same struct.
//! * The resolved, complete form the planner works on is `crate::spec::task::Task`, built by
//!   `crate::spec::resolve`.
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
    /// What engines load: a Hugging Face repo id (`Qwen/Qwen3-235B-A22B`) or a local folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
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
    /// FP8 weights scaled per block of this many output × input elements (Hugging Face
    /// `quantization_config.weight_block_size`, `[128, 128]` in DeepSeek-V3 / Qwen3 FP8
    /// checkpoints); absent: one scale per tensor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_block_size: Option<[u64; 2]>,
    /// Per-tensor FP8 activations quantized with the checkpoint's static input scales (`true`:
    /// ModelOpt `quant_algo: FP8`, `activation_scheme: static`, compressed-tensors
    /// `input_activations.dynamic: false`) or with scales computed at run time (`false`:
    /// `activation_scheme: dynamic`, FBGEMM / per-token FP8); absent: not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_activation_scales: Option<bool>,
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
    /// How unevenly the router loads the expert-parallel GPUs ([`RoutingSkew`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_skew: Option<RoutingSkew>,
}

/// How unevenly a MoE router spreads its tokens over the experts, as the measured MoE tables time
/// it: aiconfigurator's collector draws expert loads from a power law and times the busiest EP
/// group, at alpha 1.01 and 1.2, which NVIDIA estimated by matching observed latencies on CNN /
/// DailyMail and OpenOrca for DeepSeek-V3 / R1 (1.01) and Qwen3-235B (1.2, "typical production";
/// aiconfigurator docs/POWER_LAW_DISTRIBUTION.md). Enters the grouped MoE GEMM on EP layouts only
/// (`cost::profile::Curve::skew`); the task's `MoE imbalance` scales the busiest GPU's tokens on
/// top of it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingSkew {
    /// Power-law alpha 1.01: DeepSeek-V3's auxiliary-loss-free balancing (a per-expert bias on the
    /// routing scores, `topk_method: noaux_tc`): DeepSeek-V3 / R1 / V3.2, Kimi-K2, GLM-5.
    Low,
    /// Power-law alpha 1.2: the other MoE routers (Qwen3, Mixtral, gpt-oss, MiniMax, Llama 4;
    /// aiconfigurator's generic MoE model), and a model not known to balance as DeepSeek-V3.
    #[default]
    High,
}

impl RoutingSkew {
    /// The name used in task files.
    pub fn name(self) -> &'static str {
        match self {
            RoutingSkew::Low => "low",
            RoutingSkew::High => "high",
        }
    }

    /// Parse a name as written by a user (`low`, `aux-loss-free`, `1.01`; `high`, `1.2`).
    pub fn parse(text: &str) -> Option<RoutingSkew> {
        match name_key(text).as_str() {
            "low" | "mild" | "balanced" | "auxlossfree" | "noauxtc" | "deepseek" | "101" | "alpha101" => {
                Some(RoutingSkew::Low)
            }
            "high" | "skewed" | "typical" | "12" | "alpha12" => Some(RoutingSkew::High),
            _ => None,
        }
    }
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
    /// Tokens of each prompt served from the prefix cache (AIConfigurator's `--prefix`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prefix_tokens: Option<u64>,
    /// Share of each prompt's tokens served from the prefix cache (a hit rate, 0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prefix_share: Option<f64>,
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
    /// Minimum input tokens/s per prefill GPU (a `Throughput per GPU` line after `#Prefill`);
    /// replaces `throughput_per_gpu_tokens_per_s` for prefill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_throughput_per_gpu_tokens_per_s: Option<f64>,
    /// Minimum output tokens/s per decode GPU (a `Throughput per GPU` line after `#Decode`);
    /// replaces `throughput_per_gpu_tokens_per_s` for decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_throughput_per_gpu_tokens_per_s: Option<f64>,
}

impl Requirements {
    /// The minimum tokens/s per GPU of one phase: its own line, else the one of both phases.
    pub fn throughput_per_gpu(&self, prefill: bool) -> Option<f64> {
        let own = if prefill {
            self.prefill_throughput_per_gpu_tokens_per_s
        } else {
            self.decode_throughput_per_gpu_tokens_per_s
        };
        own.or(self.throughput_per_gpu_tokens_per_s)
    }
    /// No requirement at all.
    pub fn is_empty(&self) -> bool {
        *self == Requirements::default()
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Draft tokens per decode step (speculative decoding / MTP); 0 or absent: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_tokens: Option<u64>,
    /// Acceptance probability of each draft token given the one before (default 0.85).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_acceptance: Option<f64>,
    /// Micro-batch overlap of the MoE all-to-all the engine runs (default `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_overlap: Option<BatchOverlap>,
}

/// How the engine overlaps the MoE all-to-all with compute on its expert-parallel (DeepEP)
/// layouts (`Batch overlap:` task line): the cost model charges it and the launch sets the
/// engine's flag for exactly those layouts (`cost::overlap`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum BatchOverlap {
    /// The fastest schedule the engine runs on the layout at the plan's batch (SGLang two-batch
    /// or single-batch on wide EP, vLLM dual-batch or none on DP + EP, `any` two-batch or none), none on
    /// TensorRT-LLM; the plan records the one kept and the launch sets its flag.
    #[default]
    Auto,
    /// Two micro-batches take turns on compute and links (SGLang `--enable-two-batch-overlap`,
    /// vLLM `--enable-dbo`).
    TwoBatch,
    /// One batch: the dispatch overlaps the shared experts and, in decode, the combine overlaps
    /// the routed experts' down GEMM (SGLang `--enable-single-batch-overlap`).
    SingleBatch,
    /// No overlap: the all-to-all adds to the layer.
    Off,
}

/// A name as matched against a table of spellings: its ASCII letters and digits, lower-case
/// (`TensorRT-LLM` and `trt llm` alike read `tensorrtllm` / `trtllm`).
fn name_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

impl BatchOverlap {
    /// The name used in task files.
    pub fn name(self) -> &'static str {
        match self {
            BatchOverlap::Auto => "auto",
            BatchOverlap::TwoBatch => "two-batch",
            BatchOverlap::SingleBatch => "single-batch",
            BatchOverlap::Off => "off",
        }
    }

    /// Parse a name as written by a user (`two-batch`, `TBO`, `single batch`, `SBO`, `none`).
    pub fn parse(text: &str) -> Option<BatchOverlap> {
        match name_key(text).as_str() {
            "auto" | "default" => Some(BatchOverlap::Auto),
            "twobatch" | "twobatchoverlap" | "tbo" | "dualbatch" | "dbo" => Some(BatchOverlap::TwoBatch),
            "singlebatch" | "singlebatchoverlap" | "sbo" => Some(BatchOverlap::SingleBatch),
            "off" | "no" | "none" | "disabled" => Some(BatchOverlap::Off),
            _ => None,
        }
    }

    /// Whether `engine` runs this overlap (what its launch can set); the reason when not.
    pub fn check(self, engine: Engine) -> std::result::Result<(), String> {
        let runs = matches!(
            (self, engine),
            (BatchOverlap::Auto | BatchOverlap::Off, _)
                | (_, Engine::Sglang | Engine::Any | Engine::Unrestricted)
                | (BatchOverlap::TwoBatch, Engine::Vllm)
        );
        if runs {
            return Ok(());
        }
        Err(format!(
            "{} overlap is not something {} runs (SGLang: two-batch, single-batch; vLLM: \
             two-batch, `--enable-dbo`; TensorRT-LLM: none); give `auto` or `off`",
            self.name(),
            engine.name()
        ))
    }
}

/// The serving engine a plan is for (`Engine:` task line, `--engine`): selects the measured
/// kernel profile and engine features of the cost model (DESIGN.md §4) and the engine's
/// capability rules (DESIGN.md §7). `any` (the default) costs with the reference kernels
/// (TensorRT-LLM's tables) and the features the published large deployments use (two-batch
/// overlap of the MoE all-to-all), and keeps the plans one of the engines runs (prefill and
/// decode on the same engine); `unrestricted` costs the same way and keeps every layout, runnable
/// or not (the cost model's own optimum, for studying the model).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// NVIDIA TensorRT-LLM.
    Trtllm,
    /// vLLM.
    Vllm,
    /// SGLang.
    Sglang,
    /// No particular engine: a plan some engine runs.
    #[default]
    Any,
    /// No engine's rules: every layout, whether or not an engine runs it.
    Unrestricted,
}

impl Engine {
    /// Every engine, in a fixed order.
    pub const ALL: [Engine; 5] = [
        Engine::Trtllm,
        Engine::Vllm,
        Engine::Sglang,
        Engine::Any,
        Engine::Unrestricted,
    ];
    /// The engines pdplan launches, in the order `any` prefers among equal plans.
    pub const RUNNABLE: [Engine; 3] = [Engine::Trtllm, Engine::Vllm, Engine::Sglang];
    /// The name used in task files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Trtllm => "trtllm",
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
            Engine::Any => "any",
            Engine::Unrestricted => "unrestricted",
        }
    }
    /// Parse a name as written by a user (`TensorRT-LLM`, `trt-llm`, `vLLM`, `SGLang`, `any`).
    pub fn parse(text: &str) -> Option<Engine> {
        match name_key(text).as_str() {
            "trtllm" | "tensorrtllm" | "tensorrt" => Some(Engine::Trtllm),
            "vllm" => Some(Engine::Vllm),
            "sglang" => Some(Engine::Sglang),
            "any" | "none" | "default" => Some(Engine::Any),
            "unrestricted" => Some(Engine::Unrestricted),
            _ => None,
        }
    }
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
    /// 4-bit floating point with block scales: NVFP4 (E2M1, one FP8 scale per 16 values) or
    /// MXFP4 (one E8M0 scale per 32), counted at 0.5 byte per weight (the scales, 3-6 % more,
    /// are not counted). Computed at the GPU's FP4 peak, or its FP8 peak where it has none
    /// ([`crate::spec::presets::GpuPreset::peak_for`]).
    Fp4,
}

impl Dtype {
    pub fn bytes(self) -> f64 {
        match self {
            Dtype::Fp32 => 4.0,
            Dtype::Bf16 | Dtype::Fp16 => 2.0,
            Dtype::Fp8 | Dtype::Int8 => 1.0,
            Dtype::Int4 | Dtype::Fp4 => 0.5,
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
            Dtype::Fp4 => "fp4",
        }
    }
}
