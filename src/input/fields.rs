//! One definition per input field (issue 9 item 2): every Markdown label pdplan reads, with its
//! aliases, the section it belongs to, the task field it sets, what its value is read as, a help
//! line and the example line the missing-field hints show.
//!
//! The Markdown parser ([`crate::input::markdown`]) classifies a label with [`lookup`] and applies
//! the row's [`Key`]; `resolve`'s missing-field hints come from [`hint`]; the README field list is
//! [`markdown_table`] (kept in sync by `tests/parser.rs`, `UPDATE_README=1` rewrites it). Adding a
//! field = one row here + the struct field it sets + one arm in the parser's `apply`.
//!
//! Matching is on the whole label, never on a word inside it: a label matches a row when its
//! canonical form ([`canon`]: lowercase words, punctuation and the filler words `the`, `a`, `an`,
//! `of`, `is` dropped) equals the canonical form of one of the row's labels. A label with a
//! parenthesis (`The time to the first token(TTFT)`) also matches through the text outside the
//! parenthesis or the text inside it. A label that matches no row is a warning and sets nothing.

use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

/// The sections of a task file (DESIGN.md §1.1), in file order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Section {
    Env,
    Model,
    Input,
    Perf,
    Strategy,
    Baseline,
}

impl Section {
    /// The heading the benchmark files use.
    pub fn title(self) -> &'static str {
        match self {
            Section::Env => "Environment Condition",
            Section::Model => "Model Configuration",
            Section::Input => "Input Data",
            Section::Perf => "Basic Performance Requirements",
            Section::Strategy => "Parallelism Strategy",
            Section::Baseline => "Baseline",
        }
    }
}

/// Known section headings (canonical forms). A heading not listed leaves the section unchanged
/// and is a warning; `## Environment Condition and Parallelism` is not a strategy section.
const SECTIONS: &[(Section, &[&str])] = &[
    (
        Section::Env,
        &[
            "Environment Condition",
            "Environment Conditions",
            "Environment",
            "Hardware",
            "Hardware Environment",
            "Hardware Configuration",
            "Cluster",
            "Cluster Configuration",
            "Hardware Condition",
        ],
    ),
    (
        Section::Model,
        &[
            "Model Configuration",
            "Model Config",
            "Model",
            "Model Architecture",
            "Model Parameters",
        ],
    ),
    (
        Section::Input,
        &[
            "Input Data",
            "Input",
            "Workload",
            "Data",
            "Input Configuration",
            "Workload Configuration",
        ],
    ),
    (
        Section::Perf,
        &[
            "Basic Performance Requirements",
            "Performance Requirements",
            "Performance Requirement",
            "Requirements",
            "Requirement",
            "SLO",
            "SLOs",
            "Performance",
            "Service Level Objectives",
            "Latency Requirements",
        ],
    ),
    (
        Section::Strategy,
        &[
            "Parallelism Strategy",
            "Parallel Strategy",
            "Current Parallelism Strategy",
            "Current Parallel Strategy",
            "Strategy Composition",
            "Strategy",
            "Parallelism",
            "Parallelism Configuration",
            "Deployment Strategy",
            "Given Strategy",
        ],
    ),
    (Section::Baseline, &["Baseline", "Baseline Strategy", "Baselines"]),
];

/// What a label means (the parser's `apply` has one arm per key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    GpuCount,
    HwPreset,
    PeakFlops,
    Mfu,
    HbmBw,
    BwUtil,
    Memory,
    GpusPerNode,
    IntraBw,
    InterBw,
    TaskName,
    ModelName,
    ModelPreset,
    ModelPath,
    Engine,
    DraftTokens,
    DraftAcceptance,
    BatchOverlap,
    RoutingSkew,
    HfConfig,
    Params,
    Layers,
    AttnKind,
    Dtype,
    KvDtype,
    Hidden,
    AttnDims,
    Heads,
    HeadDim,
    KvHeads,
    FfnAmbiguous,
    FfnDense,
    ExpertInter,
    SharedExpertInter,
    TopK,
    Experts,
    SharedExperts,
    DenseLayers,
    Vocab,
    TiedEmb,
    GatedFfn,
    StaticScales,
    Mla(usize),
    Batch,
    LenRange,
    MinLen,
    MaxLen,
    InputLen,
    OutputLen,
    CachedPrefix,
    CachedPrefixShare,
    Ttft,
    Tpot,
    Throughput,
    ReqRate,
    StratGpus,
    StratBatch,
    Tp,
    Pp,
    Sp,
    Dp,
    AttnDp,
    Ep,
    Etp,
    Replicas,
}

/// What a value is read as (the `value` column of the README list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A whole number; digit groups (`2,048`) and `k`/`M` multipliers (`1k` = 1000) accepted.
    Count,
    Compute,
    Bytes,
    Bandwidth,
    Fraction,
    Duration,
    TokenRate,
    RequestRate,
    Params,
    Tokens,
    TokenRange,
    Name,
    YesNo,
    Precision,
    LayerText,
    AttentionKind,
    HeadsText,
    Degree,
    GpuCount,
}

impl Unit {
    pub fn describe(self) -> &'static str {
        match self {
            Unit::Count => "whole number (`2,048`, `1k`)",
            Unit::Compute => "FLOP/s (`400TFlops`, `1.2 PFLOPS`)",
            Unit::Bytes => "bytes (`64GB`, `80 GiB`)",
            Unit::Bandwidth => "bytes/s (`1.8TBps`, `400Gbps`)",
            Unit::Fraction => "fraction (`60%`, `0.6`)",
            Unit::Duration => "seconds (`30s`, `50ms`, `1 min 30 s`)",
            Unit::TokenRate => "tokens/s (`4000 tokens/s`, `100tokens/ms`)",
            Unit::RequestRate => "requests/s (`10 QPS`, `600 requests/min`)",
            Unit::Params => "parameters (`235B`, `1.5T`)",
            Unit::Tokens => "tokens (`2048`, `2k` = 2048)",
            Unit::TokenRange => "token range (`[128, 10240]`, `128 ~ 10240`)",
            Unit::Name => "name",
            Unit::YesNo => "yes / no",
            Unit::Precision => "precision (`FP8`, `BF16`, `FP4`, `INT4`)",
            Unit::LayerText => "layer description (`94-layer, GQA + MoE, 128 experts`)",
            Unit::AttentionKind => "MHA, GQA, MQA or MLA",
            Unit::HeadsText => "heads and head dim (`64 heads of dimension 128`)",
            Unit::Degree => "parallel degree (`16`, `TP16`)",
            Unit::GpuCount => "GPU count or `Ample ..., no limits`",
        }
    }
}

/// One input field.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    pub key: Key,
    /// The task field it sets (`hardware.peak_flops_per_s`).
    pub field: &'static str,
    pub section: Section,
    pub unit: Unit,
    /// The label as the benchmark writes it, then its aliases.
    pub labels: &'static [&'static str],
    pub help: &'static str,
    /// The value of an example line (`400TFlops`), shown in hints and the README.
    pub example: &'static str,
}

macro_rules! row {
    ($key:expr, $field:literal, $sec:ident, $unit:ident, [$($l:literal),+ $(,)?], $help:literal, $ex:literal) => {
        FieldDef {
            key: $key,
            field: $field,
            section: Section::$sec,
            unit: Unit::$unit,
            labels: &[$($l),+],
            help: $help,
            example: $ex,
        }
    };
}

/// Every field, in the order of a task file. A data table.
pub static FIELDS: &[FieldDef] = &[
    row!(
        Key::GpuCount,
        "hardware.gpu_budget",
        Env,
        GpuCount,
        [
            "GPUs",
            "NPUs",
            "Total GPUs",
            "Total NPUs",
            "Number of GPUs",
            "Number of NPUs",
            "GPU budget",
            "GPU count",
            "NPU count",
            "Cards",
            "Number of cards",
            "Total cards",
            "GPU quantity"
        ],
        "GPU budget of the whole deployment; `Ample ... no limits` = none",
        "64"
    ),
    row!(
        Key::HwPreset,
        "hardware.preset",
        Env,
        Name,
        [
            "GPU model",
            "NPU model",
            "GPU type",
            "NPU type",
            "GPU",
            "NPU",
            "Accelerator",
            "Accelerator type",
            "GPU preset",
            "Card model",
            "Card type",
            "GPU name",
            "Hardware preset",
            "Device type",
            "Device model",
            "Hardware type"
        ],
        "a GPU preset (`pdplan presets`); explicit lines override its values",
        "H100-SXM"
    ),
    row!(
        Key::PeakFlops,
        "hardware.peak_flops_per_s",
        Env,
        Compute,
        [
            "Single-card computing power",
            "Computing power",
            "Compute power",
            "Peak compute",
            "Peak FLOPS",
            "FLOPS",
            "TFLOPS",
            "Peak TFLOPS",
            "Compute",
            "Single-card compute",
            "Single-card compute power",
            "Peak performance",
            "Computing power per card",
            "Dense FLOPS",
            "Peak dense FLOPS",
            "Compute capability",
            "Single card FLOPS"
        ],
        "dense peak FLOP/s of one GPU at the model's precision",
        "400TFlops"
    ),
    row!(
        Key::Mfu,
        "hardware.mfu",
        Env,
        Fraction,
        [
            "MFU utilization",
            "MFU",
            "MFU utilisation",
            "Compute utilization",
            "Computing utilization",
            "Compute efficiency",
            "Model FLOPs utilization",
            "FLOPS utilization",
            "Computing efficiency"
        ],
        "achieved fraction of the peak FLOP/s",
        "60%"
    ),
    row!(
        Key::HbmBw,
        "hardware.hbm_bytes_per_s",
        Env,
        Bandwidth,
        [
            "VRAM Bandwidth",
            "HBM bandwidth",
            "Memory bandwidth",
            "GPU memory bandwidth",
            "Video memory bandwidth",
            "Bandwidth",
            "Single-card memory bandwidth",
            "Single-card bandwidth",
            "Single-card video memory bandwidth",
            "HBM BW",
            "Memory BW",
            "VRAM BW",
            "Single-card VRAM bandwidth"
        ],
        "HBM bandwidth of one GPU",
        "1.8TBps"
    ),
    row!(
        Key::BwUtil,
        "hardware.bandwidth_utilization",
        Env,
        Fraction,
        [
            "bandwidth utilization",
            "bandwidth utilisation",
            "Memory bandwidth utilization",
            "HBM bandwidth utilization",
            "VRAM bandwidth utilization",
            "MBU",
            "Bandwidth efficiency",
            "Memory bandwidth efficiency"
        ],
        "achieved fraction of the HBM bandwidth",
        "80%"
    ),
    row!(
        Key::Memory,
        "hardware.memory_bytes",
        Env,
        Bytes,
        [
            "Single-card video memory capacity",
            "Single-card video memory",
            "Single-card memory",
            "Single-card memory capacity",
            "GPU memory",
            "GPU memory capacity",
            "HBM capacity",
            "HBM",
            "Memory",
            "Memory capacity",
            "VRAM",
            "VRAM capacity",
            "Video memory",
            "Video memory capacity",
            "Memory per GPU",
            "Device memory",
            "GPU memory size",
            "HBM size"
        ],
        "memory of one GPU",
        "64GB"
    ),
    row!(
        Key::GpusPerNode,
        "hardware.gpus_per_node",
        Env,
        Count,
        [
            "GPUs per node",
            "NPUs per node",
            "Cards per node",
            "GPUs per server",
            "GPUs per machine",
            "Node size",
            "GPUs per host"
        ],
        "GPUs in one NVLink / scale-up domain (default 8)",
        "8"
    ),
    row!(
        Key::IntraBw,
        "hardware.intra_node_bytes_per_s",
        Env,
        Bandwidth,
        [
            "Intra-node bandwidth",
            "Intranode bandwidth",
            "NVLink bandwidth",
            "NVLink",
            "Scale-up bandwidth",
            "HCCS bandwidth",
            "xGMI bandwidth",
            "Infinity Fabric bandwidth",
            "GPU interconnect bandwidth",
            "Intra-node interconnect"
        ],
        "per GPU, one direction, inside a node (default 450 GB/s)",
        "450GB/s"
    ),
    row!(
        Key::InterBw,
        "hardware.inter_node_bytes_per_s",
        Env,
        Bandwidth,
        [
            "Inter-node bandwidth",
            "Internode bandwidth",
            "Network bandwidth",
            "NIC bandwidth",
            "RDMA bandwidth",
            "InfiniBand bandwidth",
            "Scale-out bandwidth",
            "Interconnect bandwidth",
            "Network",
            "Inter-node interconnect"
        ],
        "per GPU, one direction, between nodes (default 50 GB/s)",
        "400Gbps"
    ),
    row!(
        Key::TaskName,
        "name",
        Model,
        Name,
        ["Task", "Task name"],
        "name of the task",
        "qwen3-moe"
    ),
    row!(
        Key::ModelName,
        "model.name",
        Model,
        Name,
        ["name", "Model name", "Model"],
        "model name; counts in it (`16-layer MoE, 64 experts`) are read like the `Layers` line",
        "Qwen3-235B-A22B"
    ),
    row!(
        Key::ModelPreset,
        "model.preset",
        Model,
        Name,
        ["Model preset", "Preset"],
        "a model preset; explicit lines override it",
        "DeepSeek-V3"
    ),
    row!(
        Key::ModelPath,
        "model.path",
        Model,
        Name,
        [
            "Model path",
            "HF repo",
            "HF repo id",
            "Hugging Face repo",
            "HuggingFace repo",
            "Model repo",
            "Model id"
        ],
        "what engines load (a Hugging Face repo id or a folder); launch commands use it, never the display name",
        "Qwen/Qwen3-235B-A22B"
    ),
    row!(
        Key::Engine,
        "cost.engine",
        Model,
        Name,
        ["Engine", "Serving engine", "Inference engine"],
        "vllm, sglang, trtllm, any (default: a plan one of them runs) or unrestricted (every layout): the engine's kernel profile, and the search keeps only layouts it runs disaggregated; `--engine` overrides",
        "sglang"
    ),
    row!(
        Key::DraftTokens,
        "cost.draft_tokens",
        Model,
        Count,
        [
            "Draft tokens",
            "Speculative decoding",
            "Speculative tokens",
            "MTP",
            "MTP draft tokens",
            "Multi-token prediction",
            "Next-n",
            "NextN"
        ],
        "draft tokens per decode step (speculative decoding, e.g. DeepSeek's MTP); 0 = off",
        "1"
    ),
    row!(
        Key::DraftAcceptance,
        "cost.draft_acceptance",
        Model,
        Fraction,
        [
            "Draft acceptance",
            "Acceptance rate",
            "Draft acceptance rate",
            "MTP acceptance",
            "MTP acceptance rate"
        ],
        "probability a draft token is accepted given the one before; tokens per step = 1 + a + … + a^draft (default 85%)",
        "85%"
    ),
    row!(
        Key::BatchOverlap,
        "cost.batch_overlap",
        Model,
        Name,
        [
            "Batch overlap",
            "Micro-batch overlap",
            "MoE overlap",
            "All-to-all overlap",
            "Overlap schedule"
        ],
        "how the engine hides the MoE all-to-all on its DeepEP layouts (SGLang wide EP, vLLM DP + EP; TensorRT-LLM none): auto (default: the fastest the engine runs at the plan's batch, SGLang two-batch or single-batch, vLLM two-batch or none; the plan says which and launches it), two-batch (SGLang --enable-two-batch-overlap, vLLM --enable-dbo), single-batch (SGLang --enable-single-batch-overlap: dispatch beside the shared experts, decode combine beside the down GEMM) or off",
        "single-batch"
    ),
    row!(
        Key::HfConfig,
        "model.hf_config",
        Model,
        Name,
        [
            "HF config",
            "config.json",
            "Hugging Face config",
            "HuggingFace config",
            "HF config.json",
            "Hugging Face config.json",
            "Model config",
            "Config"
        ],
        "a Hugging Face `config.json` or its folder, relative to the task file; `--hf-config` overrides",
        "models/qwen3/config.json"
    ),
    row!(
        Key::Params,
        "model.declared_params",
        Model,
        Params,
        [
            "weights",
            "Parameters",
            "Params",
            "Model size",
            "Parameter count",
            "Total parameters",
            "Total params",
            "Number of parameters",
            "Size of model",
            "Model parameters",
            "Weight",
            "Parameter size"
        ],
        "declared parameter count (checked against the shape)",
        "235B"
    ),
    row!(
        Key::Layers,
        "model.layers",
        Model,
        LayerText,
        [
            "Layers",
            "Number of layers",
            "Layer count",
            "Num hidden layers",
            "Hidden layers",
            "Depth",
            "Architecture",
            "Model architecture",
            "Transformer layers",
            "Layer",
            "Number of hidden layers"
        ],
        "layers; also attention kind, MoE or dense, experts, top-k, shared experts, `the first N layers are dense`",
        "94-layer, Each layer includes GQA + MOE, each layer has 128 experts"
    ),
    row!(
        Key::AttnKind,
        "model.attention",
        Model,
        AttentionKind,
        [
            "Attention",
            "Attention type",
            "Attention kind",
            "Attention mechanism"
        ],
        "attention variant",
        "GQA"
    ),
    row!(
        Key::Dtype,
        "model.dtype",
        Model,
        Precision,
        [
            "Precision",
            "dtype",
            "Data type",
            "Quantization",
            "Torch dtype",
            "Weight precision",
            "Weights precision",
            "Model precision",
            "Inference precision",
            "Numeric format",
            "Weight dtype",
            "Quantization format"
        ],
        "weight precision (a second format after `KV` sets the KV cache)",
        "FP8"
    ),
    row!(
        Key::KvDtype,
        "model.kv_cache_dtype",
        Model,
        Precision,
        [
            "KV cache precision",
            "KV cache dtype",
            "KV precision",
            "KV dtype",
            "KV cache data type",
            "KV cache quantization",
            "KV cache format"
        ],
        "KV-cache precision (default 16-bit)",
        "FP8"
    ),
    row!(
        Key::Hidden,
        "model.hidden_size",
        Model,
        Count,
        [
            "Token Dimension",
            "Hidden size",
            "Hidden dim",
            "Hidden dimension",
            "Model dimension",
            "d_model",
            "Embedding dimension",
            "Embedding size",
            "Dimension",
            "Token dim",
            "Dimension of token",
            "Dimension of each token",
            "Hidden"
        ],
        "hidden size (model width)",
        "The dimension of each token is 4096"
    ),
    row!(
        Key::AttnDims,
        "model.heads",
        Model,
        HeadsText,
        [
            "Dimension of Attention",
            "Dimension of MHA",
            "Dimension of GQA",
            "Dimension of MLA",
            "Dimension of MQA",
            "Attention dimension",
            "Attention dimensions",
            "Attention shape",
            "MHA dimension",
            "Dimension of heads",
            "Attention heads and dimension"
        ],
        "attention heads and head dimension (and KV heads)",
        "The number of heads is 64 and the dimension of each heads is 128"
    ),
    row!(
        Key::Heads,
        "model.heads",
        Model,
        Count,
        [
            "Attention heads",
            "Number of heads",
            "Heads",
            "Number of attention heads",
            "Query heads",
            "Num attention heads",
            "Q heads"
        ],
        "query heads",
        "64"
    ),
    row!(
        Key::HeadDim,
        "model.head_dim",
        Model,
        Count,
        [
            "Head dim",
            "Head dimension",
            "Head size",
            "Dimension of each head",
            "Per-head dimension"
        ],
        "head dimension",
        "128"
    ),
    row!(
        Key::KvHeads,
        "model.kv_heads",
        Model,
        Count,
        [
            "GQA kv heads",
            "KV heads",
            "Number of KV heads",
            "Key-value heads",
            "Num key value heads",
            "KV head count",
            "Number of key-value heads",
            "GQA KV head"
        ],
        "KV heads (GQA)",
        "4"
    ),
    row!(
        Key::FfnAmbiguous,
        "model.ffn_intermediate_size",
        Model,
        Count,
        [
            "Hidden size of MOE",
            "Hidden size of MLP",
            "Hidden size of FFN",
            "FFN hidden size",
            "MLP hidden size",
            "MoE hidden size",
            "FFN size",
            "MLP size",
            "FFN dimension",
            "MLP dimension",
            "Hidden dimension of FFN",
            "Hidden dimension of MLP",
            "Hidden dimension of MoE",
            "FFN intermediate size",
            "MLP intermediate size"
        ],
        "expert hidden size when the model is MoE, else the dense FFN size",
        "The hidden is of FFN is 1536"
    ),
    row!(
        Key::FfnDense,
        "model.ffn_intermediate_size",
        Model,
        Count,
        [
            "Dense FFN hidden size",
            "Intermediate size",
            "Dense intermediate size",
            "Dense FFN size",
            "Dense MLP hidden size",
            "Dense FFN intermediate size",
            "Dense MLP size"
        ],
        "dense FFN intermediate size (dense models, dense layers of MoE)",
        "18432"
    ),
    row!(
        Key::ExpertInter,
        "model.moe.expert_intermediate_size",
        Model,
        Count,
        [
            "Expert intermediate size",
            "MoE intermediate size",
            "Expert hidden size",
            "Expert FFN size",
            "Expert size",
            "Expert dimension",
            "Routed expert intermediate size",
            "Expert FFN hidden size"
        ],
        "intermediate size of one routed expert",
        "2048"
    ),
    row!(
        Key::SharedExpertInter,
        "model.moe.shared_expert_intermediate_size",
        Model,
        Count,
        [
            "Shared expert hidden size",
            "Shared expert intermediate size",
            "Shared expert size"
        ],
        "intermediate size of one shared expert (default: the routed size)",
        "2048"
    ),
    row!(
        Key::TopK,
        "model.moe.top_k",
        Model,
        Count,
        [
            "Top-K Gate",
            "Top-K",
            "TopK",
            "Experts per token",
            "Activated experts",
            "Active experts",
            "Experts per tok",
            "Num experts per tok",
            "Routed experts per token",
            "Activated experts per token",
            "Top-K experts",
            "Selected experts",
            "Number of activated experts"
        ],
        "experts each token is routed to",
        "8"
    ),
    row!(
        Key::Experts,
        "model.moe.experts",
        Model,
        Count,
        [
            "Experts",
            "Number of experts",
            "Routed experts",
            "Expert count",
            "Num experts",
            "Total experts",
            "Experts per layer",
            "Number of routed experts",
            "MoE experts"
        ],
        "routed experts per MoE layer",
        "128"
    ),
    row!(
        Key::SharedExperts,
        "model.moe.shared_experts",
        Model,
        Count,
        [
            "Shared experts",
            "Number of shared experts",
            "Shared expert",
            "Shared expert count"
        ],
        "shared experts per MoE layer",
        "1"
    ),
    row!(
        Key::DenseLayers,
        "model.moe.dense_layers",
        Model,
        Count,
        [
            "Dense layers",
            "Number of dense layers",
            "First k dense",
            "First k dense replace",
            "Leading dense layers",
            "Dense layer count"
        ],
        "layers with a dense FFN instead of experts",
        "3"
    ),
    row!(
        Key::RoutingSkew,
        "model.moe.routing_skew",
        Model,
        Name,
        [
            "Routing skew",
            "Expert routing skew",
            "MoE routing skew",
            "Expert load skew"
        ],
        "how unevenly the router loads the EP GPUs, as the measured MoE tables time it: low (power-law alpha 1.01: DeepSeek-V3's auxiliary-loss-free balancing, the DeepSeek-V3 / Kimi-K2 / GLM-5 presets and `topk_method: noaux_tc` configs) or high (alpha 1.2, NVIDIA's estimate for Qwen3-235B and typical production; the default for other MoE models)",
        "high"
    ),
    row!(
        Key::Vocab,
        "model.vocab_size",
        Model,
        Count,
        ["Vocabulary size", "Vocab size", "Vocabulary", "Vocab"],
        "vocabulary size",
        "151936"
    ),
    row!(
        Key::TiedEmb,
        "model.tied_embeddings",
        Model,
        YesNo,
        [
            "Tied embeddings",
            "Tie word embeddings",
            "Tied embedding",
            "Tie embeddings"
        ],
        "LM head shares the embedding (default no)",
        "no"
    ),
    row!(
        Key::GatedFfn,
        "model.gated_ffn",
        Model,
        YesNo,
        ["Gated FFN", "Gated MLP", "SwiGLU"],
        "gated FFN (SwiGLU, default yes)",
        "yes"
    ),
    row!(
        Key::StaticScales,
        "model.static_activation_scales",
        Model,
        YesNo,
        [
            "Static activation scales",
            "Static FP8 scales",
            "FP8 static activation scales",
            "Static input scales"
        ],
        "per-tensor FP8 with the checkpoint's static input scales (ModelOpt FP8): GEMMs without the scale computation the measured dynamic-scale rows include (default: as measured, unless the HF config says static)",
        "yes"
    ),
    row!(
        Key::Mla(0),
        "model.mla.q_lora_rank",
        Model,
        Count,
        ["Q LoRA rank", "Query LoRA rank"],
        "MLA query compression rank (0 = none)",
        "1536"
    ),
    row!(
        Key::Mla(1),
        "model.mla.kv_lora_rank",
        Model,
        Count,
        ["KV LoRA rank", "KV latent rank", "KV compression rank"],
        "MLA KV latent rank",
        "512"
    ),
    row!(
        Key::Mla(2),
        "model.mla.qk_nope_head_dim",
        Model,
        Count,
        ["QK nope head dim", "Nope head dim", "QK nope dim"],
        "MLA non-RoPE query/key head dim",
        "128"
    ),
    row!(
        Key::Mla(3),
        "model.mla.qk_rope_head_dim",
        Model,
        Count,
        ["QK RoPE head dim", "RoPE head dim", "QK rope dim"],
        "MLA decoupled RoPE key dim",
        "64"
    ),
    row!(
        Key::Mla(4),
        "model.mla.v_head_dim",
        Model,
        Count,
        ["V head dim", "Value head dim"],
        "MLA value head dim",
        "128"
    ),
    row!(
        Key::Batch,
        "workload.batch",
        Input,
        Count,
        [
            "Batch size",
            "Batch",
            "Concurrency",
            "Concurrent requests",
            "Max concurrency",
            "Number of sequences",
            "Concurrent sequences",
            "Max batch size"
        ],
        "sequences held at once (B)",
        "Each batch consists of 128 sequences"
    ),
    row!(
        Key::LenRange,
        "workload.max_len",
        Input,
        TokenRange,
        [
            "Sequence Length",
            "Sequence lengths",
            "Sequence length range",
            "Length range",
            "Seq len",
            "Length"
        ],
        "minimum and maximum length (one number = both)",
        "The sequence length for each batch is variable, ranging from [128, 10240]"
    ),
    row!(
        Key::MinLen,
        "workload.min_len",
        Input,
        Tokens,
        [
            "Min sequence length",
            "Minimum sequence length",
            "Min length",
            "Minimum length",
            "Min seq len"
        ],
        "minimum sequence length",
        "128"
    ),
    row!(
        Key::MaxLen,
        "workload.max_len",
        Input,
        Tokens,
        [
            "Max sequence length",
            "Maximum sequence length",
            "Max length",
            "Maximum length",
            "Max seq len",
            "Max context length",
            "Maximum context length"
        ],
        "maximum sequence length",
        "10240"
    ),
    row!(
        Key::InputLen,
        "workload.input_len",
        Input,
        Tokens,
        [
            "Sequence In",
            "Input length",
            "ISL",
            "Input tokens",
            "Prompt length",
            "Input sequence length",
            "Sequence input",
            "Input len",
            "Prompt tokens",
            "Average input length",
            "Input"
        ],
        "input length (TTFT is checked at it)",
        "2048"
    ),
    row!(
        Key::OutputLen,
        "workload.output_len",
        Input,
        Tokens,
        [
            "Sequence Out",
            "Output length",
            "OSL",
            "Output tokens",
            "Generation length",
            "Output sequence length",
            "Sequence output",
            "Output len",
            "Generated tokens",
            "Average output length",
            "Output"
        ],
        "output length",
        "2048"
    ),
    row!(
        Key::CachedPrefix,
        "workload.cached_prefix_tokens",
        Input,
        Tokens,
        [
            "Cached prefix",
            "Prefix cache",
            "Cached prefix length",
            "Prefix cache length",
            "Cached tokens",
            "Prefix cache hit tokens"
        ],
        "tokens of every prompt found in the prefix cache (not recomputed in prefill; AIConfigurator's --prefix)",
        "1024"
    ),
    row!(
        Key::CachedPrefixShare,
        "workload.cached_prefix_share",
        Input,
        Fraction,
        [
            "Prefix cache hit rate",
            "Cache hit rate",
            "Prefix hit rate",
            "KV cache hit rate",
            "Prefix cache hits",
            "Cached share",
            "Cache hits"
        ],
        "share of every prompt's tokens found in the prefix cache (e.g. 56%)",
        "50%"
    ),
    row!(
        Key::Ttft,
        "requirements.ttft_s",
        Perf,
        Duration,
        [
            "The time to the first token(TTFT)",
            "TTFT",
            "Time to first token",
            "First token latency",
            "TTFT requirement",
            "Max TTFT",
            "TTFT SLO"
        ],
        "time to the first token (`None` = no limit)",
        "30s"
    ),
    row!(
        Key::Tpot,
        "requirements.tpot_s",
        Perf,
        Duration,
        [
            "Time per output token(TPOT)",
            "TPOT",
            "Time per output token",
            "ITL",
            "Inter-token latency",
            "Time per token",
            "TPOT requirement",
            "Max TPOT",
            "TPOT SLO"
        ],
        "time per output token (`None` = no limit)",
        "50ms"
    ),
    row!(
        Key::Throughput,
        "requirements.throughput_per_gpu_tokens_per_s",
        Perf,
        TokenRate,
        [
            "Throughput per GPU",
            "Throughput",
            "Throughput per card",
            "Throughput per NPU",
            "Per-GPU throughput",
            "Min throughput per GPU",
            "Throughput requirement",
            "Tokens per second per GPU"
        ],
        "minimum tokens/s per GPU of each phase; after `#Prefill` / `#Decode` of that phase only",
        "4000 tokens/s"
    ),
    row!(
        Key::ReqRate,
        "requirements.request_rate_per_s",
        Perf,
        RequestRate,
        [
            "Target request rate",
            "Request rate",
            "QPS",
            "RPS",
            "Arrival rate",
            "Requests per second",
            "Target rate",
            "Target QPS"
        ],
        "request rate to sustain (target-rate mode)",
        "10 requests/s"
    ),
    row!(
        Key::StratGpus,
        "strategy.gpus",
        Strategy,
        Count,
        [
            "GPUs",
            "NPUs",
            "Total GPUs",
            "Total NPUs",
            "Number of GPUs",
            "Number of NPUs",
            "GPU count",
            "Cards",
            "Total cards"
        ],
        "GPUs the given strategy uses, as stated",
        "128"
    ),
    row!(
        Key::StratBatch,
        "strategy.batch",
        Strategy,
        Count,
        ["Batch size", "Batch", "Batch per instance"],
        "batch of the given strategy",
        "128"
    ),
    row!(
        Key::Tp,
        "strategy.tp",
        Strategy,
        Degree,
        [
            "Tensor parallelism",
            "TP",
            "Tensor parallel",
            "Tensor parallel size",
            "TP size",
            "Tensor model parallel size",
            "TP degree"
        ],
        "tensor-parallel degree",
        "16"
    ),
    row!(
        Key::Pp,
        "strategy.pp",
        Strategy,
        Degree,
        [
            "Pipeline parallelism",
            "PP",
            "Pipeline parallel",
            "PP size",
            "Pipeline parallel size",
            "Pipeline model parallel size",
            "PP degree"
        ],
        "pipeline-parallel degree",
        "4"
    ),
    row!(
        Key::Sp,
        "strategy.sp",
        Strategy,
        Degree,
        [
            "Sequence parallelism",
            "SP",
            "Context parallelism",
            "CP",
            "Sequence parallel",
            "Context parallel",
            "SP size",
            "CP size"
        ],
        "sequence / context-parallel degree",
        "1"
    ),
    row!(
        Key::Dp,
        "strategy.dp",
        Strategy,
        Degree,
        [
            "Data parallelism",
            "DP",
            "Data parallel",
            "DP size",
            "Data parallel size",
            "DP degree"
        ],
        "data parallelism (replicas or attention-DP: `evaluate` tries both)",
        "4"
    ),
    row!(
        Key::AttnDp,
        "strategy.attention_dp",
        Strategy,
        Degree,
        [
            "Attention data parallelism",
            "Attention DP",
            "Attn DP",
            "DP attention",
            "ADP",
            "Attention data parallel"
        ],
        "attention data-parallel degree",
        "4"
    ),
    row!(
        Key::Ep,
        "strategy.ep",
        Strategy,
        Degree,
        [
            "Expert parallelism",
            "EP",
            "Expert parallel",
            "EP size",
            "Expert parallel size",
            "EP degree"
        ],
        "expert-parallel degree",
        "32"
    ),
    row!(
        Key::Etp,
        "strategy.expert_tp",
        Strategy,
        Degree,
        [
            "Expert tensor parallelism",
            "Expert TP",
            "ETP",
            "MoE TP",
            "Expert tensor parallel",
            "Expert tensor parallel size",
            "MoE tensor parallel size"
        ],
        "expert tensor-parallel degree",
        "1"
    ),
    row!(
        Key::Replicas,
        "strategy.replicas",
        Strategy,
        Degree,
        [
            "Replicas",
            "Instances",
            "Replica",
            "Number of instances",
            "Instance count",
            "Number of replicas"
        ],
        "instances of the given strategy",
        "1"
    ),
];

/// Filler words dropped from labels before matching.
const FILLERS: &[&str] = &["the", "a", "an", "of", "is"];

/// Canonical form of a label: lowercase alphanumeric words joined by one space, fillers dropped.
pub fn canon(label: &str) -> String {
    // One pass into one string (the field index canonicalizes ~500 labels per process): ASCII
    // words are lowercased in place, others by `str::to_lowercase` (its Unicode rules, e.g. a
    // word-final sigma), exactly as lowercasing each word on its own.
    let mut out = String::with_capacity(label.len());
    let mut word = String::new();
    for w in label
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        word.clear();
        if w.is_ascii() {
            word.push_str(w);
            word.make_ascii_lowercase();
        } else {
            word.push_str(&w.to_lowercase());
        }
        if FILLERS.contains(&word.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// The forms a label is matched under: the whole label, the text outside parentheses and each
/// parenthesized part (`The time to the first token(TTFT)` → `time to first token ttft`,
/// `time to first token`, `ttft`).
pub fn forms(label: &str) -> Vec<String> {
    let mut out = vec![canon(label)];
    let mut outside = String::new();
    let mut inside = Vec::new();
    let mut depth = 0usize;
    let mut cur = String::new();
    for c in label.chars() {
        match c {
            '(' | '（' => {
                depth += 1;
                outside.push(' ');
            }
            ')' | '）' if depth > 0 => {
                depth -= 1;
                inside.push(std::mem::take(&mut cur));
            }
            _ if depth > 0 => cur.push(c),
            _ => outside.push(c),
        }
    }
    for f in std::iter::once(outside).chain(inside) {
        let f = canon(&f);
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

struct Index {
    general: HashMap<String, usize>,
    strategy: HashMap<String, usize>,
    sections: HashMap<String, Section>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut general = HashMap::default();
        let mut strategy = HashMap::default();
        for (i, row) in FIELDS.iter().enumerate() {
            let map = if matches!(row.key, Key::StratGpus | Key::StratBatch) {
                &mut strategy
            } else {
                &mut general
            };
            for l in row.labels {
                map.entry(canon(l)).or_insert(i);
            }
        }
        let mut sections = HashMap::default();
        for (s, names) in SECTIONS {
            for n in *names {
                sections.entry(canon(n)).or_insert(*s);
            }
        }
        Index {
            general,
            strategy,
            sections,
        }
    })
}

/// The field a label names; inside a strategy section `GPUs` and `Batch size` are the
/// strategy's. `None` for a label no row knows.
pub fn lookup(label: &str, in_strategy: bool) -> Option<&'static FieldDef> {
    let ix = index();
    for f in forms(label) {
        if in_strategy && let Some(&i) = ix.strategy.get(&f) {
            return Some(&FIELDS[i]);
        }
        if let Some(&i) = ix.general.get(&f) {
            return Some(&FIELDS[i]);
        }
    }
    None
}

/// The section a heading names, when it is one of the known sections.
pub fn section(heading: &str) -> Option<Section> {
    let ix = index();
    forms(heading).iter().find_map(|f| ix.sections.get(f).copied())
}

/// The row of a task field (first row that sets it).
pub fn by_field(field: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|r| r.field == field)
}

/// Other lines that give a field, shown in hints after the row's own example.
const ALSO: &[(&str, &str)] = &[
    ("hardware.peak_flops_per_s", "`* **GPU model**: H100`"),
    ("hardware.hbm_bytes_per_s", "`* **GPU model**: H100`"),
    ("hardware.memory_bytes", "`* **GPU model**: H100`"),
    ("workload.max_len", "`* **Sequence In**: 2048`"),
    (
        "model.moe.expert_intermediate_size",
        "`* **Hidden size of MOE**: The hidden is of FFN is 1536`",
    ),
    (
        "model.moe.experts",
        "`* **Layers**: 94-layer, Each layer includes GQA + MOE, each layer has 128 experts`",
    ),
    ("model.heads", "`* **Attention heads**: 64`"),
];

/// The Markdown line to add for a missing field: `` `* **Label**: example` (section ...)``.
pub fn hint(field: &str) -> Option<String> {
    let r = by_field(field)?;
    let mut lines = vec![format!("`* **{}**: {}`", r.labels[0], r.example)];
    lines.extend(
        ALSO.iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, l)| l.to_string()),
    );
    Some(format!("{} (section {})", lines.join(" or "), r.section.title()))
}

/// The README's field list: one table row per field, generated from [`FIELDS`].
pub fn markdown_table() -> String {
    let mut out =
        String::from("| label (aliases) | section | task field | value | meaning |\n|---|---|---|---|---|\n");
    for r in FIELDS {
        let labels: Vec<String> = r.labels.iter().map(|l| format!("`{l}`")).collect();
        out.push_str(&format!(
            "| {} | {} | `{}` | {} | {} |\n",
            labels.join(", "),
            r.section.title(),
            r.field,
            r.unit.describe(),
            r.help.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `canon` as first written: each word lowercased on its own, fillers dropped, joined.
    fn reference(label: &str) -> String {
        let words: Vec<String> = label
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !FILLERS.contains(&w.as_str()))
            .collect();
        words.join(" ")
    }

    #[test]
    fn canon_equals_lowercasing_each_word() {
        let mut labels: Vec<&str> = FIELDS.iter().flat_map(|r| r.labels.iter().copied()).collect();
        labels.extend(SECTIONS.iter().flat_map(|(_, names)| names.iter().copied()));
        labels.extend([
            "",
            "  The  time to the FIRST token(TTFT) ",
            "ΟΔΟΣ ΣΟΦΟΣ",
            "İstanbul GPU",
            "显存 容量（GB）",
            "ＧＰＵ　ｍｏｄｅｌ",
            "A-of-THE_is an",
            "x\u{300}y",
        ]);
        for l in labels {
            assert_eq!(canon(l), reference(l), "{l:?}");
        }
    }
}
