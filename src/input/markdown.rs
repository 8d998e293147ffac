//! Markdown deployment-condition parser (DESIGN.md §1.1).
//!
//! Reads a task file the way a person would: sections (`## **Environment Condition**`, ...),
//! code fences, `---` rules and `#inference` / `#Prefill` header lines are structure; every other
//! non-blank line is `* **Label**: free text with a number` (also `- Label: ...`, `**Label:** ...`,
//! or a table row `| Label | value |`). Labels are matched on meaning, case-insensitively, ignoring
//! `*`, `-`, `_`, backticks, brackets and extra spaces; a field may sit in any section (only
//! `GPUs` and `Batch` mean something else inside a `Parallelism Strategy` section, and `Baseline`
//! lines are read but not applied). Values are converted to SI units by [`crate::input::units`].
//!
//! The parser only reads what is there: no defaults, no completeness or plausibility checks
//! (that is [`crate::spec::resolve`]). What it guarantees:
//! * every field it sets is echoed in [`ParsedTask::fields`] with its line, label and text
//!   (a line that sets several fields is echoed once per field); a value `None` / `N/A` / empty leaves
//!   the field unset and is echoed too;
//! * every line it does not understand is a warning naming the line number and its text;
//! * a field given twice is a warning naming both lines; the later value is used;
//! * a recognized label whose value cannot be read (no number, `NaN`, `inf`, a negative number,
//!   a unit of another quantity, a reversed range) is [`Error::Parse`] naming file, line, field
//!   and what was expected;
//! * a file with no recognizable field is [`Error::Missing`].
//!
//! # Labels
//!
//! | label (any of) | field |
//! |---|---|
//! | `GPUs`, `NPUs`, `Total GPUs`, `Number of GPUs`, `GPU budget` | `hardware.gpu_budget` (`Ample ..., no limits` → none); `strategy.gpus` inside a strategy section |
//! | `GPU model`, `NPU model`, `GPU type`, `Accelerator` | `hardware.preset` |
//! | `Single-card computing power`, `Peak compute`, `FLOPS` | `hardware.peak_flops_per_s` |
//! | `MFU utilization`, `MFU`, `Compute utilization` | `hardware.mfu` |
//! | `VRAM Bandwidth`, `HBM bandwidth`, `Memory bandwidth` | `hardware.hbm_bytes_per_s` |
//! | `bandwidth utilization` | `hardware.bandwidth_utilization` |
//! | `Single-card video memory capacity`, `GPU memory`, `HBM capacity` | `hardware.memory_bytes` |
//! | `GPUs per node` | `hardware.gpus_per_node` |
//! | `Intra-node bandwidth`, `NVLink bandwidth` | `hardware.intra_node_bytes_per_s` |
//! | `Inter-node bandwidth`, `Network bandwidth`, `NIC bandwidth` | `hardware.inter_node_bytes_per_s` |
//! | `name`, `Model name`, `Model` | `model.name` |
//! | `Model preset` | `model.preset` |
//! | `HF config`, `config.json` | `model.hf_config` |
//! | `Model path`, `HF repo`, `Hugging Face repo`, `Model id` | `model.path` (what engines load) |
//! | `Engine`, `Serving engine` | `engine` (`vllm`, `sglang`, `trtllm`, `any`) |
//! | `weights`, `Parameters`, `Model size` | `model.declared_params` |
//! | `Layers` | `model.layers`, `model.attention`, `model.moe` (present or not), `model.moe.experts` (`has N experts`), and `model.moe.top_k` / `shared_experts` / `dense_layers` when the line says so |
//! | `Attention`, `Attention type` | `model.attention` (MHA, GQA, MQA, MLA) |
//! | `Precision`, `dtype` | `model.dtype` (and `model.kv_cache_dtype` when the text names a second format after `KV`) |
//! | `KV cache precision` | `model.kv_cache_dtype` |
//! | `Token Dimension`, `Hidden size` | `model.hidden_size` |
//! | `Dimension of MHA`, `Dimension of Attention` | `model.heads`, `model.head_dim` |
//! | `Attention heads`, `Number of heads` / `Head dim` | `model.heads` / `model.head_dim` |
//! | `GQA kv heads`, `KV heads` | `model.kv_heads` |
//! | `Hidden size of MOE` / `of MLP` / `of FFN`, `FFN hidden size` | `model.moe.expert_intermediate_size` if the model is MoE (by the `Layers` line, wherever it is), else `model.ffn_intermediate_size` |
//! | `Expert intermediate size`, `MoE intermediate size` | `model.moe.expert_intermediate_size` |
//! | `Dense FFN hidden size`, `Intermediate size` | `model.ffn_intermediate_size` |
//! | `Top-K Gate`, `Experts per token`, `Activated experts` | `model.moe.top_k` |
//! | `Experts`, `Number of experts`, `Routed experts` | `model.moe.experts` |
//! | `Shared experts` / `Shared expert hidden size` | `model.moe.shared_experts` / `model.moe.shared_expert_intermediate_size` |
//! | `Dense layers` | `model.moe.dense_layers` |
//! | `Vocabulary size` | `model.vocab_size` |
//! | `Tied embeddings` / `Gated FFN` | `model.tied_embeddings` / `model.gated_ffn` (yes/no) |
//! | `KV LoRA rank`, `Q LoRA rank`, `QK nope head dim`, `QK RoPE head dim`, `V head dim` | `model.mla.*` (all five needed) |
//! | `Batch size`, `Concurrency` | `workload.batch`; `strategy.batch` inside a strategy section |
//! | `Sequence Length` (`[128, 10240]`, `128 ~ 10240 tokens`, `128-10240`, one number = both) | `workload.min_len`, `workload.max_len` |
//! | `Max sequence length` / `Min sequence length` | `workload.max_len` / `workload.min_len` |
//! | `Sequence In`, `Input length`, `ISL` | `workload.input_len` |
//! | `Sequence Out`, `Output length`, `OSL` | `workload.output_len` |
//! | `The time to the first token(TTFT)` | `requirements.ttft_s` |
//! | `Time per output token(TPOT)` | `requirements.tpot_s` |
//! | `Throughput per GPU` | `requirements.throughput_per_gpu_tokens_per_s` |
//! | `Target request rate`, `QPS` | `requirements.request_rate_per_s` |
//! | `Tensor` / `Pipeline` / `Sequence` (or `Context`) / `Data` / `Attention data` / `Expert` / `Expert tensor` `parallelism` (or `TP`, `PP`, `SP`, `DP`, `attention DP`, `EP`, `expert TP`) | `strategy.tp` / `pp` / `sp` / `dp` / `attention_dp` / `ep` / `expert_tp` |
//! | `Replicas`, `Instances` | `strategy.replicas` |
//!
//! Header lines (`#inference`, `#Prefill`) are echoed with the field `(header)`: they set no task
//! field.

use crate::error::{Error, Result};
use crate::input::task::{AttentionKind, GivenStrategy, Mla, RawMoe, RawTask};
use crate::input::units::{self, Found, UnitResult};
use std::collections::HashMap;

/// One field read from a task file, echoed in every plan.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FieldRead {
    /// 1-based line number in the file (0 for JSON tasks).
    pub line: usize,
    /// The label as written (`Single-card computing power`).
    pub label: String,
    /// The value text as written (`400TFlops.`).
    pub text: String,
    /// The task field it set (`hardware.peak_flops_per_s`).
    pub field: String,
}

/// A parsed task file: the raw task, what was read, and warnings (unknown lines, ...).
#[derive(Clone, Debug, Default)]
pub struct ParsedTask {
    pub raw: RawTask,
    pub fields: Vec<FieldRead>,
    pub warnings: Vec<String>,
}

/// Field name used in [`FieldRead`] for header lines that set no field.
pub const HEADER_FIELD: &str = "(header)";

/// Parse a Markdown task. `path` is only used in messages.
pub fn parse_markdown(path: &str, text: &str) -> Result<ParsedTask> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = if !text.contains('\n') && text.contains('\r') {
        text.split('\r').collect()
    } else {
        text.split('\n').collect()
    };
    let mut p = Parser::new(path);
    for (i, line) in lines.iter().enumerate() {
        p.line(i + 1, line.trim_end_matches('\r'))?;
    }
    p.finish(lines.len())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Top,
    Env,
    Model,
    Input,
    Perf,
    Strategy,
    Baseline,
    Other,
}

/// What a label means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
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
    EngineKey,
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
    Mla(usize),
    Batch,
    LenRange,
    MinLen,
    MaxLen,
    InputLen,
    OutputLen,
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

const MLA_FIELDS: [&str; 5] = [
    "model.mla.q_lora_rank",
    "model.mla.kv_lora_rank",
    "model.mla.qk_nope_head_dim",
    "model.mla.qk_rope_head_dim",
    "model.mla.v_head_dim",
];

/// Lowercase, every run of non-alphanumeric characters turned into one space, padded with spaces
/// so that `has(" word ")`-style tests see word boundaries.
fn norm(label: &str) -> String {
    let mut out = String::from(" ");
    for w in units::words(label) {
        out.push_str(&w);
        out.push(' ');
    }
    out
}

/// A label in normalized form with word and phrase tests.
struct Label<'a>(&'a str);

impl Label<'_> {
    /// Whole word or phrase.
    fn has(&self, p: &str) -> bool {
        self.0.contains(&format!(" {p} "))
    }
    /// Word or phrase at a word start (`pre("parallel")` matches `parallelism`).
    fn pre(&self, p: &str) -> bool {
        self.0.contains(&format!(" {p}"))
    }
    fn any(&self, ps: &[&str]) -> bool {
        ps.iter().any(|p| self.has(p))
    }
}

fn section_of(l: &Label) -> Option<Section> {
    Some(if l.has("baseline") {
        Section::Baseline
    } else if l.pre("parallel") || l.has("strategy") {
        Section::Strategy
    } else if l.any(&["environment", "hardware", "cluster", "environment condition"]) {
        Section::Env
    } else if l.has("model") {
        Section::Model
    } else if l.any(&["input", "workload", "data", "input data"]) {
        Section::Input
    } else if l.any(&["performance", "requirements", "requirement", "slo", "slos"]) {
        Section::Perf
    } else {
        return None;
    })
}

fn is_phase_header(l: &Label) -> bool {
    let n = l.0.trim();
    matches!(
        n,
        "prefill" | "decode" | "inference" | "task" | "deployment condition" | "deployment"
    )
}

fn classify(l: &Label) -> Option<Key> {
    use Key::*;
    let gpu_word = l.any(&[
        "gpus",
        "gpu",
        "npus",
        "npu",
        "cards",
        "card",
        "devices",
        "accelerators",
    ]);
    Some(if l.has("ttft") || l.has("first token") {
        Ttft
    } else if l.any(&[
        "tpot",
        "itl",
        "per output token",
        "inter token latency",
        "time per token",
    ]) {
        Tpot
    } else if l.any(&[
        "request rate",
        "qps",
        "rps",
        "arrival rate",
        "requests per second",
    ]) || l.has("target rate")
    {
        ReqRate
    } else if l.pre("throughput") {
        Throughput
    } else if l.has("kv") && l.any(&["precision", "dtype", "data type", "format", "quantization"]) {
        KvDtype
    } else if l.any(&["precision", "dtype", "data type", "quantization", "torch dtype"]) {
        Dtype
    } else if l.pre("expert tensor parallel") || l.any(&["expert tp", "etp", "moe tp"]) {
        Etp
    } else if l.pre("attention data parallel") || l.any(&["attention dp", "attn dp", "dp attention", "adp"]) {
        AttnDp
    } else if l.pre("tensor parallel") || l.has("tp") {
        Tp
    } else if l.pre("pipeline parallel") || l.has("pp") {
        Pp
    } else if l.pre("expert parallel") || l.has("ep") {
        Ep
    } else if l.pre("sequence parallel") || l.pre("context parallel") || l.any(&["sp", "cp"]) {
        Sp
    } else if l.pre("data parallel") || l.has("dp") {
        Dp
    } else if l.any(&[
        "replicas",
        "replica",
        "instances",
        "instance count",
        "number of instances",
    ]) {
        Replicas
    } else if (gpu_word || l.has("hardware")) && l.any(&["model", "type", "preset", "name", "kind", "sku"])
        || l.any(&["accelerator", "accelerator type"])
    {
        HwPreset
    } else if l.has("per node") {
        GpusPerNode
    } else if l.pre("intra node") || l.pre("intranode") || l.has("nvlink") || l.has("scale up") {
        IntraBw
    } else if l.pre("inter node")
        || l.pre("internode")
        || l.any(&[
            "network",
            "nic",
            "rdma",
            "infiniband",
            "scale out",
            "interconnect",
        ])
    {
        InterBw
    } else if l.has("bandwidth") && l.any(&["utilization", "utilisation", "efficiency"]) || l.has("mbu") {
        BwUtil
    } else if l.has("mfu")
        || l.any(&["compute", "computing", "flops"]) && l.any(&["utilization", "utilisation", "efficiency"])
    {
        Mfu
    } else if l.has("bandwidth") {
        HbmBw
    } else if l.any(&["memory", "vram", "hbm", "video memory"]) {
        Memory
    } else if l.any(&[
        "computing power",
        "compute",
        "computing",
        "flops",
        "tflops",
        "peak",
    ]) {
        PeakFlops
    } else if l.any(&[
        "model path",
        "hf repo",
        "hf repo id",
        "hugging face repo",
        "huggingface repo",
        "model repo",
        "model id",
    ]) {
        ModelPath
    } else if l.any(&["engine", "serving engine", "inference engine"]) {
        EngineKey
    } else if l.has("model preset") || (l.has("preset") && !gpu_word) {
        ModelPreset
    } else if l.any(&[
        "hf config",
        "config json",
        "hugging face",
        "huggingface",
        "config",
    ]) {
        HfConfig
    } else if l.has("kv lora rank") {
        Mla(1)
    } else if l.has("q lora rank") {
        Mla(0)
    } else if l.any(&["qk nope head dim", "nope head dim", "nope dim"]) {
        Mla(2)
    } else if l.any(&["qk rope head dim", "rope head dim", "rope dim"]) {
        Mla(3)
    } else if l.any(&["v head dim", "value head dim"]) {
        Mla(4)
    } else if l.any(&["kv", "key value", "kv head", "kv heads"]) && l.pre("head") {
        KvHeads
    } else if l.any(&[
        "weights",
        "parameters",
        "params",
        "model size",
        "parameter count",
        "size of model",
    ]) {
        Params
    } else if l.has("dense") && l.pre("layer") || l.has("first k dense") {
        DenseLayers
    } else if l.pre("shared expert") && l.any(&["hidden", "intermediate", "size", "dim", "dimension"]) {
        SharedExpertInter
    } else if l.pre("shared expert") {
        SharedExperts
    } else if l.any(&[
        "top k",
        "topk",
        "top k gate",
        "experts per token",
        "experts per tok",
    ]) || l.pre("activated expert")
        || l.pre("active expert")
    {
        TopK
    } else if l.pre("expert") && l.any(&["hidden", "intermediate", "size", "dim", "dimension"])
        || l.has("moe") && l.has("intermediate")
    {
        ExpertInter
    } else if l.has("dense") && l.any(&["ffn", "mlp", "intermediate", "hidden"]) {
        FfnDense
    } else if l.any(&["moe", "mlp", "ffn", "feed forward", "feedforward"])
        && l.any(&["hidden", "size", "dim", "dimension", "intermediate"])
    {
        FfnAmbiguous
    } else if l.has("intermediate") || l.has("intermediate size") {
        FfnDense
    } else if l.pre("expert") {
        Experts
    } else if l.pre("layer") || l.any(&["architecture", "depth", "num hidden layers"]) {
        Layers
    } else if l.any(&[
        "head dim",
        "head dimension",
        "head size",
        "dimension of each head",
    ]) {
        HeadDim
    } else if l.any(&["dimension", "dim", "dims", "shape"])
        && l.any(&["mha", "attention", "gqa", "mla", "mqa", "heads"])
    {
        AttnDims
    } else if l.pre("head") {
        Heads
    } else if l.pre("attention") {
        AttnKind
    } else if l.any(&[
        "token dimension",
        "hidden size",
        "hidden dim",
        "hidden dimension",
        "model dimension",
        "d model",
        "embedding dimension",
        "embedding size",
        "dimension",
    ]) {
        Hidden
    } else if l.pre("vocab") {
        Vocab
    } else if l.pre("tied") || l.pre("tie") {
        TiedEmb
    } else if l.any(&["gated", "gated ffn", "swiglu"]) {
        GatedFfn
    } else if l.has("task name") || l.0.trim() == "task" {
        TaskName
    } else if l.any(&["name", "model name", "model"]) {
        ModelName
    } else if l.any(&[
        "sequence in",
        "input length",
        "isl",
        "input tokens",
        "prompt length",
    ]) || l.has("input sequence length")
    {
        InputLen
    } else if l.any(&[
        "sequence out",
        "output length",
        "osl",
        "output tokens",
        "generation length",
    ]) || l.has("output sequence length")
    {
        OutputLen
    } else if l.any(&["min", "minimum"]) && l.pre("length") {
        MinLen
    } else if l.any(&["max", "maximum"]) && (l.pre("length") || l.pre("context")) {
        MaxLen
    } else if l.pre("length") || l.any(&["seq len", "context", "sequence"]) {
        LenRange
    } else if l.pre("batch") || l.pre("concurren") {
        Batch
    } else if gpu_word {
        GpuCount
    } else {
        return None;
    })
}

struct Pending {
    line: usize,
    label: String,
    text: String,
    value: u64,
}

struct Parser<'a> {
    path: &'a str,
    section: Section,
    raw: RawTask,
    fields: Vec<FieldRead>,
    warnings: Vec<String>,
    seen: HashMap<&'static str, usize>,
    /// `Hidden size of MOE/MLP/FFN` lines, mapped once the architecture is known.
    ffn: Vec<Pending>,
    /// What the `Layers` line said: Some(true) = MoE, Some(false) = dense; with its line.
    arch_moe: Option<(bool, usize)>,
    mla: [Option<(usize, u64)>; 5],
}

/// Clean a name value: trim, drop surrounding backticks/quotes and a trailing period.
fn clean_name(v: &str) -> String {
    let v = v.trim().trim_end_matches('.').trim();
    v.trim_matches(|c| c == '`' || c == '"' || c == '\'')
        .trim()
        .to_string()
}

fn first_word_after(text: &str, from: usize) -> String {
    units::words(&text[from..]).into_iter().next().unwrap_or_default()
}

fn last_word_before(text: &str, to: usize) -> String {
    units::words(&text[..to]).pop().unwrap_or_default()
}

impl<'a> Parser<'a> {
    fn new(path: &'a str) -> Self {
        Parser {
            path,
            section: Section::Top,
            raw: RawTask::default(),
            fields: Vec::new(),
            warnings: Vec::new(),
            seen: HashMap::new(),
            ffn: Vec::new(),
            arch_moe: None,
            mla: [None; 5],
        }
    }

    fn err(&self, line: usize, field: &str, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.path.to_string(),
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn conv<T>(&self, line: usize, field: &str, r: UnitResult<T>) -> Result<T> {
        r.map_err(|m| self.err(line, field, m))
    }

    fn warn(&mut self, line: usize, msg: impl std::fmt::Display) {
        self.warnings.push(format!("line {line}: {msg}"));
    }

    /// Record that `field` was read from `line`; a second read of the same field is a warning.
    fn echo(&mut self, line: usize, label: &str, text: &str, field: &'static str) {
        if let Some(prev) = self.seen.insert(field, line)
            && prev != line
        {
            self.warn(
                line,
                format!("`{field}` was already given at line {prev}; the value at line {line} is used"),
            );
        }
        self.fields.push(FieldRead {
            line,
            label: label.to_string(),
            text: text.to_string(),
            field: field.to_string(),
        });
    }

    fn moe(&mut self) -> &mut RawMoe {
        self.raw.model.moe.get_or_insert_with(RawMoe::default)
    }

    fn strat(&mut self) -> &mut GivenStrategy {
        self.raw.strategy.get_or_insert_with(GivenStrategy::default)
    }

    fn line(&mut self, n: usize, line: &str) -> Result<()> {
        let t = line.trim();
        if t.is_empty() || t.starts_with("```") || t.starts_with("~~~") {
            return Ok(());
        }
        if t.len() >= 3 && t.chars().all(|c| "-*_= \t".contains(c)) {
            return Ok(()); // horizontal rule
        }
        if let Some(h) = t.strip_prefix('#') {
            return self.heading(n, t, h.trim_start_matches('#'));
        }
        if let Some(row) = t.strip_prefix('|') {
            let cells: Vec<&str> = row.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
            if cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
                return Ok(()); // table separator
            }
            let header = cells.len() == 2
                && matches!(norm(cells[1]).trim(), "value" | "values" | "setting")
                && classify(&Label(&norm(cells[0]))).is_none();
            if header {
                return Ok(()); // table header `| Field | Value |`
            }
            if cells.len() >= 2 {
                return self.field(n, t, cells[0], &cells[1..].join(" "));
            }
            self.warn(n, format!("unrecognized line `{t}` (ignored)"));
            return Ok(());
        }
        let mut s = t.trim_start_matches('>').trim_start();
        for bullet in ["* ", "- ", "+ ", "• ", "*\t", "-\t", "+\t"] {
            if let Some(r) = s.strip_prefix(bullet) {
                s = r.trim_start();
                break;
            }
        }
        if let Some(dot) = s.find(['.', ')'])
            && dot > 0
            && s[..dot].chars().all(|c| c.is_ascii_digit())
            && s[dot + 1..].starts_with([' ', '\t'])
        {
            s = s[dot + 1..].trim_start(); // numbered list
        }
        match split_label(s) {
            Some((label, value)) => self.field(n, t, &label, &value),
            None => {
                let l = norm(s);
                if let Some(sec) = section_of(&Label(&l)).filter(|_| s.len() < 60) {
                    self.section = sec;
                } else {
                    self.warn(n, format!("unrecognized line `{t}` (ignored)"));
                }
                Ok(())
            }
        }
    }

    fn heading(&mut self, n: usize, t: &str, h: &str) -> Result<()> {
        let name = h.replace(['*', '_', '`'], " ");
        let l = norm(&name);
        let lab = Label(&l);
        if l.trim().is_empty() {
            return Ok(());
        }
        if is_phase_header(&lab) {
            self.fields.push(FieldRead {
                line: n,
                label: "header".into(),
                text: t.to_string(),
                field: HEADER_FIELD.into(),
            });
            return Ok(());
        }
        match section_of(&lab) {
            Some(s) => self.section = s,
            None => {
                self.section = Section::Other;
                self.warn(
                    n,
                    format!("unknown section `{}`; its lines are read as usual", name.trim()),
                );
            }
        }
        Ok(())
    }

    fn field(&mut self, n: usize, line: &str, label: &str, value: &str) -> Result<()> {
        let l = norm(label);
        let lab = Label(&l);
        if self.section == Section::Baseline {
            self.warn(
                n,
                format!(
                    "`Baseline` section line `{}` is read but not used by pdplan",
                    line.trim()
                ),
            );
            return Ok(());
        }
        if value.trim().is_empty()
            && let Some(sec) = section_of(&lab)
        {
            self.section = sec; // `Model Configuration:` used as a heading
            return Ok(());
        }
        let Some(key) = classify(&lab) else {
            self.warn(n, format!("unrecognized line `{}` (ignored)", line.trim()));
            return Ok(());
        };
        let key = match (self.section, key) {
            (Section::Strategy, Key::GpuCount) => Key::StratGpus,
            (Section::Strategy, Key::Batch) => Key::StratBatch,
            _ => key,
        };
        self.apply(n, key, label.trim(), value.trim())
    }

    /// Echo a `None` value; true when the value was `None`.
    fn none(&mut self, n: usize, label: &str, v: &str, field: &'static str) -> bool {
        if units::is_none_text(v) {
            self.echo(n, label, v, field);
            true
        } else {
            false
        }
    }

    fn count(&self, n: usize, field: &str, v: &str, expected: &str) -> Result<u64> {
        self.conv(n, field, units::count(v, expected))
    }

    fn apply(&mut self, n: usize, key: Key, label: &str, v: &str) -> Result<()> {
        use Key::*;
        macro_rules! opt {
            ($field:expr, $target:expr, $parse:expr) => {{
                let field: &'static str = $field;
                if !self.none(n, label, v, field) {
                    let value = $parse(self, field)?;
                    self.echo(n, label, v, field);
                    $target(self, Some(value));
                } else {
                    $target(self, None);
                }
            }};
        }
        macro_rules! int {
            ($field:expr, $expected:expr, |$s:ident, $x:ident| $set:expr) => {
                opt!(
                    $field,
                    |$s: &mut Self, $x: Option<u64>| $set,
                    |s: &mut Self, f: &str| s.count(n, f, v, $expected)
                )
            };
        }
        macro_rules! real {
            ($field:expr, $conv:expr, |$s:ident, $x:ident| $set:expr) => {
                opt!(
                    $field,
                    |$s: &mut Self, $x: Option<f64>| $set,
                    |s: &mut Self, f: &str| s.conv(n, f, $conv(v))
                )
            };
        }
        macro_rules! frac {
            ($field:expr, |$s:ident, $x:ident| $set:expr) => {
                opt!(
                    $field,
                    |$s: &mut Self, $x: Option<f64>| $set,
                    |s: &mut Self, f: &str| {
                        let (x, note) = s.conv(n, f, units::fraction(v))?;
                        if let Some(note) = note {
                            s.warn(n, format!("`{f}`: {note}"));
                        }
                        Ok::<f64, Error>(x)
                    }
                )
            };
        }
        macro_rules! name {
            ($field:expr, |$s:ident, $x:ident| $set:expr) => {
                opt!(
                    $field,
                    |$s: &mut Self, $x: Option<String>| $set,
                    |s: &mut Self, f: &str| {
                        let x = clean_name(v);
                        if x.is_empty() {
                            return Err(s.err(n, f, "expected a name"));
                        }
                        Ok(x)
                    }
                )
            };
        }
        match key {
            GpuCount => self.gpu_count(n, label, v)?,
            HwPreset => name!("hardware.preset", |s, x| s.raw.hardware.preset = x),
            PeakFlops => real!("hardware.peak_flops_per_s", units::flops, |s, x| s
                .raw
                .hardware
                .peak_flops_per_s =
                x),
            Mfu => frac!("hardware.mfu", |s, x| s.raw.hardware.mfu = x),
            HbmBw => real!("hardware.hbm_bytes_per_s", units::bytes_per_s, |s, x| s
                .raw
                .hardware
                .hbm_bytes_per_s =
                x),
            BwUtil => frac!("hardware.bandwidth_utilization", |s, x| s
                .raw
                .hardware
                .bandwidth_utilization =
                x),
            Memory => real!("hardware.memory_bytes", units::bytes, |s, x| s
                .raw
                .hardware
                .memory_bytes =
                x),
            GpusPerNode => int!("hardware.gpus_per_node", "a GPU count such as `8`", |s, x| s
                .raw
                .hardware
                .gpus_per_node =
                x),
            IntraBw => real!("hardware.intra_node_bytes_per_s", units::bytes_per_s, |s, x| s
                .raw
                .hardware
                .intra_node_bytes_per_s =
                x),
            InterBw => real!("hardware.inter_node_bytes_per_s", units::bytes_per_s, |s, x| s
                .raw
                .hardware
                .inter_node_bytes_per_s =
                x),
            TaskName => name!("name", |s, x| s.raw.name = x),
            ModelName => name!("model.name", |s, x| s.raw.model.name = x),
            ModelPreset => name!("model.preset", |s, x| s.raw.model.preset = x),
            HfConfig => name!("model.hf_config", |s, x| s.raw.model.hf_config = x),
            ModelPath => name!("model.path", |s, x| s.raw.model.path = x),
            EngineKey => name!("engine", |s, x| s.raw.engine = x),
            Params => real!("model.declared_params", units::params, |s, x| s
                .raw
                .model
                .declared_params =
                x),
            Layers => self.layers(n, label, v)?,
            AttnKind => {
                if !self.none(n, label, v, "model.attention") {
                    let kind = self.attention_kind(n, label, v);
                    if kind.is_none() {
                        return Err(self.err(
                            n,
                            "model.attention",
                            format!("expected an attention kind (MHA, GQA, MQA or MLA), found `{v}`"),
                        ));
                    }
                }
            }
            Dtype => self.dtype(n, label, v, false)?,
            KvDtype => self.dtype(n, label, v, true)?,
            Hidden => int!("model.hidden_size", "a hidden size such as `4096`", |s, x| s
                .raw
                .model
                .hidden_size =
                x),
            AttnDims => self.attn_dims(n, label, v)?,
            Heads => int!("model.heads", "a head count such as `64`", |s, x| s
                .raw
                .model
                .heads = x),
            HeadDim => int!("model.head_dim", "a head dimension such as `128`", |s, x| s
                .raw
                .model
                .head_dim =
                x),
            KvHeads => int!("model.kv_heads", "a KV head count such as `4`", |s, x| s
                .raw
                .model
                .kv_heads =
                x),
            FfnAmbiguous => {
                if !self.none(n, label, v, "model.ffn_intermediate_size") {
                    let x = self.count(
                        n,
                        "model.ffn_intermediate_size",
                        v,
                        "an FFN hidden size such as `The hidden is of FFN is 1536`",
                    )?;
                    self.ffn.push(Pending {
                        line: n,
                        label: label.into(),
                        text: v.into(),
                        value: x,
                    });
                }
            }
            FfnDense => int!(
                "model.ffn_intermediate_size",
                "an intermediate size such as `18432`",
                |s, x| s.raw.model.ffn_intermediate_size = x
            ),
            ExpertInter => int!(
                "model.moe.expert_intermediate_size",
                "an expert hidden size such as `1536`",
                |s, x| s.moe().expert_intermediate_size = x
            ),
            SharedExpertInter => int!(
                "model.moe.shared_expert_intermediate_size",
                "a shared-expert hidden size such as `2048`",
                |s, x| s.moe().shared_expert_intermediate_size = x
            ),
            TopK => int!("model.moe.top_k", "an expert count such as `8`", |s, x| s
                .moe()
                .top_k =
                x),
            Experts => int!("model.moe.experts", "an expert count such as `128`", |s, x| s
                .moe()
                .experts =
                x),
            SharedExperts => int!(
                "model.moe.shared_experts",
                "an expert count such as `1`",
                |s, x| s.moe().shared_experts = x
            ),
            DenseLayers => int!("model.moe.dense_layers", "a layer count such as `3`", |s, x| s
                .moe()
                .dense_layers =
                x),
            Vocab => int!(
                "model.vocab_size",
                "a vocabulary size such as `151936`",
                |s, x| s.raw.model.vocab_size = x
            ),
            TiedEmb => self.boolean(n, label, v, "model.tied_embeddings")?,
            GatedFfn => self.boolean(n, label, v, "model.gated_ffn")?,
            Mla(i) => {
                let field = MLA_FIELDS[i];
                if !self.none(n, label, v, field) {
                    let x = self.count(n, field, v, "a rank or dimension such as `512`")?;
                    self.echo(n, label, v, field);
                    self.mla[i] = Some((n, x));
                }
            }
            Batch => int!(
                "workload.batch",
                "a batch size such as `Each batch consists of 128 sequences`",
                |s, x| s.raw.workload.batch = x
            ),
            LenRange => self.length_range(n, label, v)?,
            MinLen => self.length(n, label, v, "workload.min_len")?,
            MaxLen => self.length(n, label, v, "workload.max_len")?,
            InputLen => self.length(n, label, v, "workload.input_len")?,
            OutputLen => self.length(n, label, v, "workload.output_len")?,
            Ttft => real!("requirements.ttft_s", units::seconds, |s, x| s
                .raw
                .requirements
                .ttft_s = x),
            Tpot => real!("requirements.tpot_s", units::seconds, |s, x| s
                .raw
                .requirements
                .tpot_s = x),
            Throughput => real!(
                "requirements.throughput_per_gpu_tokens_per_s",
                units::tokens_per_s,
                |s, x| s.raw.requirements.throughput_per_gpu_tokens_per_s = x
            ),
            ReqRate => real!(
                "requirements.request_rate_per_s",
                units::requests_per_s,
                |s, x| s.raw.requirements.request_rate_per_s = x
            ),
            StratGpus => self.degree(n, label, v, "strategy.gpus", |g, x| g.gpus = x)?,
            StratBatch => self.degree(n, label, v, "strategy.batch", |g, x| g.batch = x)?,
            Tp => self.degree(n, label, v, "strategy.tp", |g, x| g.tp = x)?,
            Pp => self.degree(n, label, v, "strategy.pp", |g, x| g.pp = x)?,
            Sp => self.degree(n, label, v, "strategy.sp", |g, x| g.sp = x)?,
            Dp => self.degree(n, label, v, "strategy.dp", |g, x| g.dp = x)?,
            AttnDp => self.degree(n, label, v, "strategy.attention_dp", |g, x| g.attention_dp = x)?,
            Ep => self.degree(n, label, v, "strategy.ep", |g, x| g.ep = x)?,
            Etp => self.degree(n, label, v, "strategy.expert_tp", |g, x| g.expert_tp = x)?,
            Replicas => self.degree(n, label, v, "strategy.replicas", |g, x| g.replicas = x)?,
        }
        Ok(())
    }

    /// `Ample GPU resources, no limits.` → no budget; `64` → a budget of 64.
    fn gpu_count(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        const FIELD: &str = "hardware.gpu_budget";
        let lower = v.to_lowercase();
        let unlimited = [
            "ample",
            "unlimited",
            "no limit",
            "infinite",
            "as many",
            "sufficient",
            "enough",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let nums = units::numbers(v, true);
        if nums.is_empty() {
            if unlimited || units::is_none_text(v) {
                self.echo(n, label, v, FIELD);
                self.raw.hardware.gpu_budget = None;
                return Ok(());
            }
            let r = units::count(v, "a GPU count such as `64` or `Ample GPU resources, no limits`");
            self.conv(n, FIELD, r)?;
        }
        if unlimited {
            self.warn(
                n,
                format!("`{v}` says there is no limit; the number in it is not used as a GPU budget"),
            );
            self.echo(n, label, v, FIELD);
            self.raw.hardware.gpu_budget = None;
            return Ok(());
        }
        let x = self.count(n, FIELD, v, "a GPU count such as `64`")?;
        self.echo(n, label, v, FIELD);
        self.raw.hardware.gpu_budget = Some(x);
        Ok(())
    }

    fn boolean(&mut self, n: usize, label: &str, v: &str, field: &'static str) -> Result<()> {
        let w = units::words(v);
        let first = w.first().map(String::as_str).unwrap_or("");
        let x = match first {
            "yes" | "true" | "tied" | "on" | "y" | "1" | "enabled" | "swiglu" | "gated" => true,
            "no" | "false" | "untied" | "off" | "n" | "0" | "disabled" => false,
            _ => return Err(self.err(n, field, format!("expected `yes` or `no`, found `{v}`"))),
        };
        self.echo(n, label, v, field);
        match field {
            "model.tied_embeddings" => self.raw.model.tied_embeddings = Some(x),
            _ => self.raw.model.gated_ffn = Some(x),
        }
        Ok(())
    }

    /// A strategy degree: the first number (`16`, also `TP16`, `tp=16`).
    fn degree(
        &mut self,
        n: usize,
        label: &str,
        v: &str,
        field: &'static str,
        set: impl Fn(&mut GivenStrategy, Option<u64>),
    ) -> Result<()> {
        let lower = v.to_lowercase();
        if self.none(n, label, v, field) || lower.trim().starts_with("disabled") {
            if !self.seen.contains_key(field) {
                self.echo(n, label, v, field);
            }
            set(self.strat(), None);
            return Ok(());
        }
        const EXP: &str = "a parallel degree such as `16`";
        let x = if units::numbers(v, true).is_empty() {
            // `TP16`: digits glued to the name.
            let digits: String = v
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if digits.is_empty() || units::words(v).iter().any(|w| w == "nan" || w == "inf") {
                return Err(self.err(n, field, format!("no number found in `{v}`; expected {EXP}")));
            }
            self.count(n, field, &digits, EXP)?
        } else {
            self.count(n, field, v, EXP)?
        };
        self.echo(n, label, v, field);
        set(self.strat(), Some(x));
        Ok(())
    }

    fn attention_kind(&mut self, n: usize, label: &str, v: &str) -> Option<AttentionKind> {
        let l = norm(v);
        let t = Label(&l);
        let kind = if t.any(&["mla", "latent"]) {
            AttentionKind::Mla
        } else if t.any(&["gqa", "grouped", "grouped query"]) {
            AttentionKind::Gqa
        } else if t.any(&["mqa", "multi query"]) {
            if self.raw.model.kv_heads.is_none() {
                self.echo(n, label, v, "model.kv_heads");
                self.raw.model.kv_heads = Some(1);
            }
            AttentionKind::Gqa
        } else if t.any(&["mha", "multi head attention", "multihead attention", "multi head"]) {
            AttentionKind::Mha
        } else {
            return None;
        };
        self.echo(n, label, v, "model.attention");
        self.raw.model.attention = Some(kind);
        Some(kind)
    }

    /// `94-layer, Each layer includes GQA + MOE, each layer has 128 experts.`
    fn layers(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, "model.layers") {
            return Ok(());
        }
        if let Some(f) = units::numbers(v, true)
            .iter()
            .find(|f| f.negative || !f.value.is_finite())
        {
            let r = units::whole(f, "a layer count such as `94-layer`");
            self.conv(n, "model.layers", r)?;
        }
        let mut read_any = false;
        let nums = units::numbers(v, true);
        for (i, f) in nums.iter().enumerate() {
            let next = first_word_after(v, f.end);
            let prev = last_word_before(v, f.start);
            let what: Option<&'static str> = if next.starts_with("layer") {
                Some("model.layers")
            } else if next == "shared" || prev == "shared" {
                Some("model.moe.shared_experts")
            } else if next.starts_with("activ") || prev == "top" || prev == "k" {
                Some("model.moe.top_k")
            } else if next.starts_with("expert") || next == "routed" {
                Some("model.moe.experts")
            } else if next == "dense" {
                Some("model.moe.dense_layers")
            } else if i == 0 {
                Some("model.layers")
            } else {
                None
            };
            let Some(field) = what else {
                self.warn(n, format!("number {} in `{v}` not understood (ignored)", f.value));
                continue;
            };
            let x = self.conv(n, field, units::whole(f, "a whole number"))?;
            self.echo(n, label, v, field);
            read_any = true;
            match field {
                "model.layers" => self.raw.model.layers = Some(x),
                "model.moe.shared_experts" => self.moe().shared_experts = Some(x),
                "model.moe.top_k" => self.moe().top_k = Some(x),
                "model.moe.experts" => self.moe().experts = Some(x),
                _ => self.moe().dense_layers = Some(x),
            }
        }
        if self.attention_kind(n, label, v).is_some() {
            read_any = true;
        }
        let l = norm(v);
        let t = Label(&l);
        let moe = t.any(&["moe", "mixture of experts", "experts", "expert"]);
        let dense = t.any(&["mlp", "ffn", "dense", "feed forward", "feedforward", "swiglu"]);
        if moe || dense {
            read_any = true;
            self.echo(n, label, v, "model.moe");
            self.arch_moe = Some((moe, n));
            if moe {
                self.moe();
            }
        }
        if !read_any {
            return Err(self.err(
                n,
                "model.layers",
                format!(
                    "expected a layer description such as `94-layer, Each layer includes GQA + MOE, \
                     each layer has 128 experts`, found `{v}`"
                ),
            ));
        }
        Ok(())
    }

    /// `The number of heads is 64 and the dimension of each heads is 64`.
    fn attn_dims(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        if self.none(n, label, v, "model.heads") {
            return Ok(());
        }
        let nums = units::numbers(v, true);
        if let Some(m) = units::words(v).iter().find(|w| *w == "nan" || *w == "inf") {
            return Err(self.err(n, "model.heads", format!("`{m}` is not a finite number")));
        }
        if nums.is_empty() {
            return Err(self.err(
                n,
                "model.heads",
                format!(
                    "expected heads and head dimension such as `The number of heads is 64 and the \
                     dimension of each heads is 64`, found `{v}`"
                ),
            ));
        }
        let mut heads: Option<&Found> = None;
        let mut dim: Option<&Found> = None;
        let mut kv: Option<&Found> = None;
        let mut unplaced = Vec::new();
        let mut prev_end = 0;
        for (i, f) in nums.iter().enumerate() {
            let seg_end = nums.get(i + 1).map_or(v.len(), |g| g.start);
            let next_words = units::words(&v[f.end..seg_end]);
            let next = next_words.first().map(String::as_str).unwrap_or("");
            let prev_seg = v[prev_end..f.start].to_lowercase();
            prev_end = f.end;
            if matches!(next, "kv" | "key") || prev_seg.contains("kv") || prev_seg.contains("key") {
                kv = Some(f);
            } else if next.starts_with("dim") || next == "size" {
                dim = Some(f);
            } else if next.starts_with("head") {
                heads = Some(f);
            } else if prev_seg.contains("dim") || prev_seg.contains("size") {
                dim = Some(f);
            } else if prev_seg.contains("head") {
                heads = Some(f);
            } else {
                unplaced.push(f);
            }
        }
        for f in unplaced {
            if heads.is_none() {
                heads = Some(f);
            } else if dim.is_none() {
                dim = Some(f);
            } else {
                self.warn(n, format!("number {} in `{v}` not understood (ignored)", f.value));
            }
        }
        const EXP: &str = "a whole number of heads or dimensions";
        for (f, field) in [
            (heads, "model.heads"),
            (dim, "model.head_dim"),
            (kv, "model.kv_heads"),
        ] {
            let Some(f) = f else { continue };
            let x = self.conv(n, field, units::whole(f, EXP))?;
            self.echo(n, label, v, field);
            match field {
                "model.heads" => self.raw.model.heads = Some(x),
                "model.head_dim" => self.raw.model.head_dim = Some(x),
                _ => self.raw.model.kv_heads = Some(x),
            }
        }
        Ok(())
    }

    fn dtype(&mut self, n: usize, label: &str, v: &str, kv_only: bool) -> Result<()> {
        let first_field = if kv_only {
            "model.kv_cache_dtype"
        } else {
            "model.dtype"
        };
        if self.none(n, label, v, first_field) {
            return Ok(());
        }
        let found = units::dtypes(v);
        let Some(&(_, first)) = found.first() else {
            return Err(self.err(
                n,
                first_field,
                format!("expected a precision such as FP8, FP16, BF16, FP32, INT8 or INT4, found `{v}`"),
            ));
        };
        self.echo(n, label, v, first_field);
        if kv_only {
            self.raw.model.kv_cache_dtype = Some(first);
            return Ok(());
        }
        // `BF16 weights, FP8 KV cache`: a clause that mentions KV names the KV-cache format.
        let mut weights = None;
        let mut kv = None;
        for clause in v.split([',', ';', '(', ')']) {
            let Some(&(_, d)) = units::dtypes(clause).first() else {
                continue;
            };
            if units::words(clause).iter().any(|w| w == "kv" || w == "cache") {
                kv = kv.or(Some(d));
            } else {
                weights = weights.or(Some(d));
            }
        }
        let weights = weights.unwrap_or(first);
        self.raw.model.dtype = Some(weights);
        if let Some(kv) = kv {
            self.echo(n, label, v, "model.kv_cache_dtype");
            self.raw.model.kv_cache_dtype = Some(kv);
        } else if found.iter().any(|(_, d)| *d != weights) {
            self.warn(
                n,
                format!(
                    "several precisions in `{v}`; {} is used for the weights",
                    weights.name()
                ),
            );
        }
        Ok(())
    }

    fn length(&mut self, n: usize, label: &str, v: &str, field: &'static str) -> Result<()> {
        if self.none(n, label, v, field) {
            return Ok(());
        }
        const EXP: &str = "a length in tokens such as `2048`";
        let f = self.first(n, field, v, EXP)?;
        let (x, note) = self.conv(n, field, units::tokens_len(&f, &v[f.end..], EXP))?;
        if let Some(note) = note {
            self.warn(n, format!("`{field}`: {note}"));
        }
        self.echo(n, label, v, field);
        self.set_len(field, x);
        Ok(())
    }

    fn set_len(&mut self, field: &str, x: u64) {
        let w = &mut self.raw.workload;
        match field {
            "workload.min_len" => w.min_len = Some(x),
            "workload.max_len" => w.max_len = Some(x),
            "workload.input_len" => w.input_len = Some(x),
            _ => w.output_len = Some(x),
        }
    }

    /// The first number of `v`, after the NaN / inf / negative checks.
    fn first(&self, n: usize, field: &str, v: &str, expected: &str) -> Result<Found> {
        if let Some(m) = units::words(v)
            .iter()
            .find(|w| matches!(w.as_str(), "nan" | "inf" | "infinity"))
        {
            return Err(self.err(
                n,
                field,
                format!("`{m}` is not a finite number; expected {expected}"),
            ));
        }
        let Some(f) = units::numbers(v, false).into_iter().next() else {
            return Err(self.err(n, field, format!("no number found in `{v}`; expected {expected}")));
        };
        self.conv(n, field, units::whole(&f, expected).map(|_| ()))?;
        Ok(f)
    }

    /// `[128, 10240]`, `128 ~ 10240 tokens`, `128-10240`, `up to 10240`, or one number (both ends).
    fn length_range(&mut self, n: usize, label: &str, v: &str) -> Result<()> {
        const EXP: &str = "a length range such as `[128, 10240]` or `128 ~ 10240 tokens`";
        const MIN: &str = "workload.min_len";
        const MAX: &str = "workload.max_len";
        if units::is_none_text(v) {
            self.echo(n, label, v, MIN);
            self.echo(n, label, v, MAX);
            return Ok(());
        }
        self.first(n, MAX, v, EXP)?;
        let nums = units::numbers(v, false);
        let mut vals = Vec::new();
        for (i, f) in nums.iter().take(2).enumerate() {
            let rest_end = nums.get(i + 1).map_or(v.len(), |g| g.start);
            let (x, note) = self.conv(n, MAX, units::tokens_len(f, &v[f.end..rest_end], EXP))?;
            if let Some(note) = note {
                self.warn(n, format!("`workload.max_len`: {note}"));
            }
            vals.push(x);
        }
        for f in nums.iter().skip(2) {
            self.warn(n, format!("number {} in `{v}` not understood (ignored)", f.value));
        }
        let lower = v.to_lowercase();
        let upper_only = ["up to", "at most", "max", "maximum", "≤", "<="]
            .iter()
            .any(|w| lower.contains(w))
            && !lower.contains("min");
        match vals[..] {
            [one] if upper_only => {
                self.echo(n, label, v, MAX);
                self.raw.workload.max_len = Some(one);
            }
            [one] => {
                self.echo(n, label, v, MIN);
                self.echo(n, label, v, MAX);
                self.raw.workload.min_len = Some(one);
                self.raw.workload.max_len = Some(one);
            }
            [lo, hi, ..] => {
                if lo > hi {
                    return Err(self.err(
                        n,
                        "workload.min_len",
                        format!(
                            "the range [{lo}, {hi}] is reversed: the minimum length must be ≤ the \
                             maximum (write `[{hi}, {lo}]`)"
                        ),
                    ));
                }
                self.echo(n, label, v, MIN);
                self.echo(n, label, v, MAX);
                self.raw.workload.min_len = Some(lo);
                self.raw.workload.max_len = Some(hi);
            }
            [] => unreachable!("first() found a number"),
        }
        Ok(())
    }

    fn finish(mut self, line_count: usize) -> Result<ParsedTask> {
        // `Hidden size of MOE/MLP/FFN`: expert hidden size if the model is MoE, else dense FFN.
        let ffn = std::mem::take(&mut self.ffn);
        for p in ffn {
            let is_moe = match self.arch_moe {
                Some((moe, _)) => moe,
                None if self.raw.model.moe.is_some() => true,
                None => {
                    let mentions = units::words(&p.text)
                        .iter()
                        .any(|w| w == "moe" || w.starts_with("expert"));
                    let which = if mentions {
                        "an expert (MoE)"
                    } else {
                        "a dense FFN"
                    };
                    self.warn(
                        p.line,
                        format!("no `Layers` line says whether the model is MoE; `{}` is read as {which} hidden size", p.label),
                    );
                    mentions
                }
            };
            if is_moe {
                self.echo(p.line, &p.label, &p.text, "model.moe.expert_intermediate_size");
                self.moe().expert_intermediate_size = Some(p.value);
            } else {
                self.echo(p.line, &p.label, &p.text, "model.ffn_intermediate_size");
                self.raw.model.ffn_intermediate_size = Some(p.value);
            }
        }
        if let Some((false, line)) = self.arch_moe
            && self.raw.model.moe.is_some()
        {
            self.warn(
                line,
                "the `Layers` line describes a dense model, but MoE fields are given",
            );
        }
        if self.mla.iter().any(Option::is_some) {
            let missing: Vec<&str> = (0..5)
                .filter(|&i| self.mla[i].is_none())
                .map(|i| MLA_FIELDS[i])
                .collect();
            let line = self.mla.iter().flatten().map(|x| x.0).min().unwrap_or(0);
            if !missing.is_empty() {
                return Err(self.err(
                    line,
                    "model.mla",
                    format!(
                        "MLA needs all of Q LoRA rank (0 = no query compression), KV LoRA rank, QK nope head dim, \
                         QK RoPE head dim and V head dim; missing: {}",
                        missing.join(", ")
                    ),
                ));
            }
            let g = |i: usize| self.mla[i].map_or(0, |x| x.1);
            self.raw.model.mla = Some(Mla {
                q_lora_rank: g(0),
                kv_lora_rank: g(1),
                qk_nope_head_dim: g(2),
                qk_rope_head_dim: g(3),
                v_head_dim: g(4),
            });
        }
        if self.fields.iter().all(|f| f.field == HEADER_FIELD) {
            let what = if line_count <= 1 && self.warnings.is_empty() {
                "the file is empty".to_string()
            } else {
                format!("no task field found in {line_count} lines")
            };
            return Err(Error::Missing {
                path: self.path.to_string(),
                field: "Environment Condition".into(),
                message: format!(
                    "{what}; expected the sections `Environment Condition`, `Model Configuration`, \
                     `Input Data` and `Basic Performance Requirements` with lines such as \
                     `* **Single-card computing power**: 400TFlops`"
                ),
            });
        }
        self.fields.sort_by_key(|f| f.line);
        Ok(ParsedTask {
            raw: self.raw,
            fields: self.fields,
            warnings: self.warnings,
        })
    }
}

/// Split `**Label**: value`, `**Label:** value`, `Label: value`, `**Label** value`.
fn split_label(s: &str) -> Option<(String, String)> {
    let clean = |x: &str| {
        x.replace(['*', '`'], "")
            .trim()
            .trim_matches('_')
            .trim()
            .to_string()
    };
    if let Some(rest) = s.strip_prefix("**")
        && let Some(close) = rest.find("**")
    {
        let inside = &rest[..close];
        let after = rest[close + 2..].trim_start();
        if let Some(label) = inside.trim_end().strip_suffix([':', '：']) {
            return Some((clean(label), clean_value(after)));
        }
        if let Some(v) = after.strip_prefix([':', '：']) {
            return Some((clean(inside), clean_value(v)));
        }
        if !after.is_empty() {
            return Some((clean(inside), clean_value(after)));
        }
        return None;
    }
    let idx = s.find([':', '：'])?;
    let label = clean(&s[..idx]);
    if label.is_empty() || label.chars().count() > 60 {
        return None;
    }
    let colon_len = s[idx..].chars().next().map_or(1, char::len_utf8);
    Some((label, clean_value(&s[idx + colon_len..])))
}

fn clean_value(v: &str) -> String {
    v.trim()
        .trim_start_matches('*')
        .trim_end_matches('*')
        .trim()
        .to_string()
}
