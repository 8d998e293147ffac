//! TensorRT-LLM 1.2: `trtllm-serve MODEL --extra_llm_api_options <role>.yaml` per phase (context /
//! generation servers) and `trtllm-serve disaggregated -c disagg.yaml` in front.
//!
//! Layout → LLM-API keys (tensorrt_llm/llmapi/llm_args.py, mapping.py): GPUs =
//! `tensor_parallel_size` × `pipeline_parallel_size`; MoE `moe_expert_parallel_size` ×
//! `moe_tensor_parallel_size` = `tensor_parallel_size`. With `enable_attention_dp` attention runs
//! data-parallel over all `tensor_parallel_size` ranks (attention TP 1), so pdplan's attention-DP
//! W maps to `tensor_parallel_size` W with `enable_attention_dp: true`, and attention TP × DP with
//! both > 1 has no setting (`trtllm.attention_dp_is_full_width`). KV hand-off:
//! `cache_transceiver_config` (backend `DEFAULT`). Keys as in NVIDIA AIConfigurator 0.12.0's
//! `extra_engine_args` template. An instance over several nodes runs under MPI through
//! `trtllm-llmapi-launch` (one rank per GPU).

use super::{Arg, Common, PhaseShape, Worker, flag, lits, phase_worker};
use crate::layout::Phase;
use schemars::JsonSchema;
use serde::Serialize;

/// Tokens per forward pass at least this many (TensorRT-LLM's default `max_num_tokens`).
const MIN_NUM_TOKENS: u64 = 8192;

#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvCacheConfig {
    pub free_gpu_memory_fraction: f64,
    pub dtype: &'static str,
}

#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheTransceiverConfig {
    pub backend: &'static str,
    pub max_tokens_in_buffer: u64,
}

/// The LLM-API options of one role (`--extra_llm_api_options` YAML).
#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmApi {
    pub backend: &'static str,
    pub tensor_parallel_size: u64,
    pub pipeline_parallel_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moe_expert_parallel_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moe_tensor_parallel_size: Option<u64>,
    pub enable_attention_dp: bool,
    pub max_batch_size: u64,
    pub max_num_tokens: u64,
    pub max_seq_len: u64,
    pub trust_remote_code: bool,
    /// Context servers run without the overlap scheduler (TensorRT-LLM disaggregated examples).
    pub disable_overlap_scheduler: bool,
    pub kv_cache_config: KvCacheConfig,
    pub cache_transceiver_config: CacheTransceiverConfig,
    /// Speculative decoding with the model's MTP layers (`MTPDecodingConfig`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculative_config: Option<SpeculativeConfig>,
}

/// `speculative_config` of the LLM API (tensorrt_llm/llmapi/llm_args.py `MTPDecodingConfig`).
#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpeculativeConfig {
    pub decoding_type: &'static str,
    pub num_nextn_predict_layers: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerGroup {
    pub num_instances: u64,
    /// `host:port` of each instance (`${PREFILL_ADDR_i}` placeholders, filled by launch.sh).
    pub urls: Vec<String>,
}

/// `trtllm-serve disaggregated -c` config (tensorrt_llm/llmapi/disagg_utils.py).
#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisaggConfig {
    pub hostname: &'static str,
    pub port: u16,
    pub backend: &'static str,
    pub context_servers: ServerGroup,
    pub generation_servers: ServerGroup,
}

/// LLM-API options of a phase.
pub fn llm_api(c: &Common, s: &PhaseShape) -> LlmApi {
    let l = &s.layout;
    let attention_dp = l.attention_dp > 1;
    let per_rank = if attention_dp { l.attention_dp } else { 1 };
    let max_batch_size = s.batch.div_ceil(per_rank).max(1);
    let max_num_tokens = match s.phase {
        Phase::Prefill => c.max_model_len.max(MIN_NUM_TOKENS),
        // A speculative step feeds 1 + draft tokens per sequence.
        Phase::Decode => (max_batch_size * (1 + c.draft_tokens.unwrap_or(0))).max(MIN_NUM_TOKENS),
    };
    LlmApi {
        backend: "pytorch",
        tensor_parallel_size: l.width(),
        pipeline_parallel_size: l.pp,
        moe_expert_parallel_size: c.moe.then_some(l.ep),
        moe_tensor_parallel_size: c.moe.then_some(l.expert_tp),
        enable_attention_dp: attention_dp,
        max_batch_size,
        max_num_tokens,
        max_seq_len: c.max_model_len,
        trust_remote_code: c.trust_remote_code,
        disable_overlap_scheduler: s.phase == Phase::Prefill,
        kv_cache_config: KvCacheConfig {
            free_gpu_memory_fraction: c.memory_fraction,
            dtype: if c.fp8_kv { "fp8" } else { "auto" },
        },
        cache_transceiver_config: CacheTransceiverConfig {
            backend: "DEFAULT",
            max_tokens_in_buffer: c.max_model_len,
        },
        // Both roles (TensorRT-LLM's disaggregated MTP configs set it on context and generation).
        speculative_config: c.draft_tokens.map(|d| SpeculativeConfig {
            decoding_type: "MTP",
            num_nextn_predict_layers: d,
        }),
    }
}

/// File name of a role's LLM-API options next to `launch.sh`.
pub fn options_file(phase: Phase) -> String {
    format!("{}.yaml", phase.name())
}

fn phase(c: &Common, s: &PhaseShape) -> Worker {
    let nodes = s.nodes(c.gpus_per_node);
    let mut a = if nodes > 1 {
        lits(&["trtllm-llmapi-launch", "trtllm-serve"])
    } else {
        lits(&["trtllm-serve"])
    };
    a.push(c.model.clone());
    a.extend(lits(&["--host", "0.0.0.0"]));
    flag(&mut a, "--port", s.port());
    a.extend(lits(&["--backend", "pytorch"]));
    a.push(Arg::lit("--extra_llm_api_options"));
    a.push(Arg::lit(options_file(s.phase)));
    if c.trust_remote_code {
        a.push(Arg::lit("--trust_remote_code"));
    }
    let mut w = phase_worker(c, s, a);
    w.llm_api = Some(llm_api(c, s));
    // vLLM and SGLang quantize BF16 weights to FP8 at load (`--quantization fp8`); the
    // TensorRT-LLM PyTorch flow runs the checkpoint's own precision (its quantization comes from
    // the checkpoint's hf_quant_config.json / quantization_config).
    if c.fp8_weights {
        w.notes.push(
            "TensorRT-LLM runs the checkpoint's own precision: load an FP8 checkpoint (e.g. a \
             ModelOpt or `-FP8` release) for the FP8 weights this plan's memory and speed assume"
                .into(),
        );
    }
    if nodes > 1 {
        w.notes.push(format!(
            "one MPI rank per GPU: {} ranks over {nodes} nodes (e.g. `srun -N {nodes} \
             --ntasks-per-node {}` or `mpirun -np {}`), the argv run by every rank",
            s.gpus(),
            s.gpus() / nodes,
            s.gpus()
        ));
    }
    w
}

fn group(s: &PhaseShape, var: fn(u64) -> super::Var, gpus_per_node: u64) -> ServerGroup {
    ServerGroup {
        num_instances: s.replicas,
        urls: (0..s.replicas)
            .map(|i| {
                format!(
                    "${{{}}}:{}",
                    var(i).name(),
                    s.replica_port(s.port(), i, gpus_per_node)
                )
            })
            .collect(),
    }
}

/// Context and generation servers, the disaggregated server and its config.
pub fn workers(c: &Common, p: &PhaseShape, d: &PhaseShape) -> (Vec<Worker>, Option<DisaggConfig>) {
    let config = DisaggConfig {
        hostname: "0.0.0.0",
        port: super::ROUTER_PORT,
        backend: "pytorch",
        context_servers: group(p, super::Var::PrefillAddr, c.gpus_per_node),
        generation_servers: group(d, super::Var::DecodeAddr, c.gpus_per_node),
    };
    let r = super::router(lits(&["trtllm-serve", "disaggregated", "-c", "disagg.yaml"]));
    (vec![phase(c, p), phase(c, d), r], Some(config))
}
