//! The resolved task: the complete form the planner works on ([`crate::spec::resolve`] builds it
//! from a [`RawTask`], presets and documented defaults). It serializes to JSON that loads back as a
//! `RawTask` and resolves to the same `Task` (`pdplan task FILE` prints it).
//!
//! The file form's types live in [`crate::input::task`] and are re-exported here, so later stages
//! name every task type through `crate::spec::task`.

pub use crate::input::task::*;
use serde::{Deserialize, Serialize};

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
    /// Set only by the same-TP search (`ilp::engine_search`): both phases use this attention TP
    /// or a wide-EP layout. Never read from or written to a file.
    #[serde(skip)]
    pub engine_tp_pin: Option<u64>,
    /// Set only by the search under `Engine: any` (`ilp::engine_search`): keep the layouts this
    /// engine runs, while the cost model keeps `cost.engine`'s profile. Never read from or
    /// written to a file.
    #[serde(skip)]
    pub runnable_on: Option<Engine>,
}

impl Task {
    /// The engine whose layout rules the search keeps: the engine `any` is trying
    /// ([`Task::runnable_on`]), else the task's engine.
    pub fn rules_engine(&self) -> Engine {
        self.runnable_on.unwrap_or(self.cost.engine)
    }
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
    /// What engines load (Hugging Face repo id or folder): the task's `Model path` line, the
    /// preset's published repo, or the folder of the HF `config.json`; never a display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
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
    /// FP8 weights scaled per block (`[rows, columns]`, from the HF config's
    /// `quantization_config.weight_block_size` or a preset whose FP8 checkpoint is block-scaled,
    /// [`crate::spec::presets::ModelPreset::fp8_block_scales`]); `None`: per-tensor scales. The
    /// cost model then runs the FP8 GEMMs on the measured block-scaled kernel (`cost::kernels`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_block_size: Option<[u64; 2]>,
    /// Per-tensor FP8 activations stated to use the checkpoint's static input scales (from the
    /// HF config or `hf_quant_config.json`): the cost model then takes the scale computation
    /// (and, for GEMMs fed FP8, the quantize kernel) out of the measured FP8 GEMMs, which time
    /// dynamic scales (`cost::fp8_quant`). False: not stated, or dynamic; the GEMMs as measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub static_activation_scales: bool,
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
    /// [`RoutingSkew`]: how unevenly the router loads the EP GPUs.
    #[serde(default)]
    pub routing_skew: RoutingSkew,
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
    /// Prefix caching: tokens of every prompt whose KV cache is found in the cache and not
    /// recomputed (`cached_prefix_tokens`) or the share of every prompt that is
    /// (`cached_prefix_share`); at most one is set, see [`Workload::cached_prefix`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prefix_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prefix_share: Option<f64>,
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
    /// Engine whose kernel profile and features the cost model uses. Default `any`.
    #[serde(default)]
    pub engine: Engine,
    /// Speculative decoding in the decode phase (multi-token prediction): draft tokens per step
    /// and their acceptance, both set or both `None` (the default: one token per step); see
    /// [`CostParams::speculative`]. Kept as the task spells them, so a resolved task written as
    /// JSON reads back the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_acceptance: Option<f64>,
    /// Micro-batch overlap of the MoE all-to-all ([`BatchOverlap`]). Default `auto`.
    #[serde(default)]
    pub batch_overlap: BatchOverlap,
}

impl CostParams {
    /// Speculative decoding, when the task turns it on.
    pub fn speculative(&self) -> Option<Speculative> {
        match (self.draft_tokens, self.draft_acceptance) {
            (Some(d), Some(a)) if d > 0 => Some(Speculative::new(d, a)),
            _ => None,
        }
    }

    /// Turn speculative decoding on (`Some`) or off.
    pub fn set_speculative(&mut self, s: Option<Speculative>) {
        (self.draft_tokens, self.draft_acceptance) = (s.map(|s| s.draft_tokens), s.map(|s| s.acceptance));
    }
}

/// Speculative decoding with `draft_tokens` draft tokens per sequence and step (DeepSeek-V3's
/// multi-token prediction: SGLang `--speculative-num-steps`, vLLM `num_speculative_tokens`,
/// TensorRT-LLM `num_nextn_predict_layers`). A decode step verifies `1 + draft_tokens` tokens per
/// sequence through the model, runs the draft module `draft_tokens` times, and emits
/// `accepted_tokens` tokens per sequence on average (`crate::cost`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speculative {
    pub draft_tokens: u64,
    /// Probability that a draft token is accepted given the one before it was.
    pub acceptance: f64,
    /// Tokens a step emits per sequence on average: `1 + a + a² + … + a^draft_tokens` (what
    /// engines log as the "accept length").
    pub accepted_tokens: f64,
}

impl Speculative {
    /// Draft depth `d` at per-token acceptance `a`: `1 + a + … + a^d` tokens per step.
    pub fn new(draft_tokens: u64, acceptance: f64) -> Speculative {
        let accepted_tokens = (0..=draft_tokens).map(|i| acceptance.powi(i as i32)).sum();
        Speculative {
            draft_tokens,
            acceptance,
            accepted_tokens,
        }
    }
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
            engine: Engine::Any,
            draft_tokens: None,
            draft_acceptance: None,
            batch_overlap: BatchOverlap::Auto,
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

/// [`Workload::cached_prefix`] of the two fields.
pub fn cached_prefix_of(tokens: Option<u64>, share: Option<f64>, len: u64) -> u64 {
    let cached = match (tokens, share) {
        (Some(t), _) => t,
        (None, Some(s)) => (s * len as f64).floor() as u64,
        (None, None) => 0,
    };
    cached.min(len.saturating_sub(1))
}

impl Workload {
    /// Tokens of a prompt of `len` tokens served from the prefix cache: the task's cached
    /// tokens, or its share of `len` rounded down; at most `len - 1`, since an engine always
    /// computes a prompt's last token (its logits give the first output token; vLLM and SGLang
    /// recompute it on a full hit).
    pub fn cached_prefix(&self, len: u64) -> u64 {
        cached_prefix_of(self.cached_prefix_tokens, self.cached_prefix_share, len)
    }
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
