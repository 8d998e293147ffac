//! Model and GPU presets shipped in `models/` (DESIGN.md §1.3).
//!
//! Each preset is one JSON file embedded in the binary with `include_str!`, so `pdplan` works from
//! any folder. Model presets reuse [`RawModel`] (the task-file form); GPU presets give the dense
//! datasheet peak per dtype, HBM bandwidth and capacity, node size, interconnect and the default
//! efficiency factors. `models/README.md` gives the sources and the reasoning behind the defaults.
//!
//! Lookup is case-insensitive and ignores `-`, `_` and spaces: `h100`, `H100-SXM`, `qwen3-235b`
//! and `Qwen3-235B-A22B` all find their preset.

use crate::spec::task::{Dtype, RawModel};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A model preset file: `{ "name", "aliases", "source", "notes"?, "model": <RawModel> }`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelPreset {
    /// Canonical name (`Qwen3-235B-A22B`).
    pub name: String,
    /// Other names that find this preset (HF repo ids, short names).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where the figures come from.
    pub source: String,
    #[serde(default)]
    pub notes: Vec<String>,
    /// Where it is published that the model's FP8 checkpoint scales its weights per 128 × 128
    /// block (`quantization_config.weight_block_size`), not per tensor: its FP8 GEMMs are then
    /// costed on the measured block-scaled kernel (`gemm_fp8_block` in `models/kernels/`).
    /// Absent: per-tensor FP8 (what engines do when they quantize 16-bit weights themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_block_scales: Option<String>,
    /// The shape, in task-file form; `name`, `preset` and `hf_config` are left empty.
    pub model: RawModel,
}

/// Dense (non-sparse) datasheet peak FLOP/s of one GPU per dtype. `None` = no native support
/// (the resolver then falls back to the 16-bit peak and says so).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeakFlops {
    /// NVFP4 / MXFP4 dense peak (Blackwell, CDNA 4); absent on older GPUs.
    #[serde(default)]
    pub fp4: Option<f64>,
    pub fp8: Option<f64>,
    pub bf16: f64,
    pub fp16: f64,
    pub int8: Option<f64>,
}

/// A GPU preset file. Bandwidths are per GPU, one direction, bytes/s.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GpuPreset {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub source: String,
    #[serde(default)]
    pub notes: Vec<String>,
    pub peak_flops_per_s: PeakFlops,
    pub hbm_bytes_per_s: f64,
    pub memory_bytes: f64,
    pub gpus_per_node: u64,
    pub intra_node_bytes_per_s: f64,
    pub inter_node_bytes_per_s: f64,
    pub mfu: f64,
    pub bandwidth_utilization: f64,
}

/// The peak a GPU reaches for weights of a dtype, and how it was chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct PeakChoice {
    pub flops_per_s: f64,
    /// The datasheet column used (`fp8`, `bf16`, ...).
    pub column: &'static str,
    /// Set when the column is not the dtype's own (no native support, fp32 via TF32, int4).
    pub note: Option<String>,
}

impl GpuPreset {
    /// Peak dense FLOP/s for a model whose weights are in `dtype`:
    /// fp8 → fp8 peak (bf16 when the GPU has no fp8), bf16 → bf16, fp16 → fp16,
    /// int8 → int8 (bf16 when absent), int4 → int8 (W4A8 kernels; int4 tensor cores are not
    /// used by the common engines), fp32 → half the bf16 peak (TF32 tensor-core rate on
    /// A100/H100/B200).
    pub fn peak_for(&self, dtype: Dtype) -> PeakChoice {
        let p = &self.peak_flops_per_s;
        let fallback = |what: &str| PeakChoice {
            flops_per_s: p.bf16,
            column: "bf16",
            note: Some(format!(
                "{} has no native {what} peak; computed at its bf16 peak",
                self.name
            )),
        };
        match dtype {
            Dtype::Fp8 => match p.fp8 {
                Some(f) => PeakChoice {
                    flops_per_s: f,
                    column: "fp8",
                    note: None,
                },
                None => fallback("fp8"),
            },
            Dtype::Bf16 => PeakChoice {
                flops_per_s: p.bf16,
                column: "bf16",
                note: None,
            },
            Dtype::Fp16 => PeakChoice {
                flops_per_s: p.fp16,
                column: "fp16",
                note: None,
            },
            Dtype::Int8 => match p.int8 {
                Some(f) => PeakChoice {
                    flops_per_s: f,
                    column: "int8",
                    note: None,
                },
                None => fallback("int8"),
            },
            Dtype::Int4 => match p.int8 {
                Some(f) => PeakChoice {
                    flops_per_s: f,
                    column: "int8",
                    note: Some(format!(
                        "int4 weights computed at the {} int8 peak (W4A8 kernels)",
                        self.name
                    )),
                },
                None => fallback("int8 (for int4 weights)"),
            },
            Dtype::Fp4 => self.fp4_peak(),
            Dtype::Fp32 => PeakChoice {
                flops_per_s: p.bf16 / 2.0,
                column: "bf16/2",
                note: Some(format!(
                    "fp32 computed at the TF32 tensor-core rate, taken as half the {} bf16 peak",
                    self.name
                )),
            },
        }
    }
}

impl GpuPreset {
    /// FP4 weights: the FP4 peak; a GPU without FP4 tensor cores runs W4A8 / W4A16 kernels, so
    /// the FP8 peak (else the 16-bit one) is used and said.
    fn fp4_peak(&self) -> PeakChoice {
        let p = &self.peak_flops_per_s;
        match (p.fp4, p.fp8) {
            (Some(f), _) => PeakChoice {
                flops_per_s: f,
                column: "fp4",
                note: None,
            },
            (None, Some(f)) => PeakChoice {
                flops_per_s: f,
                column: "fp8",
                note: Some(format!(
                    "{} has no FP4 tensor cores; fp4 weights computed at its fp8 peak",
                    self.name
                )),
            },
            (None, None) => PeakChoice {
                flops_per_s: p.bf16,
                column: "bf16",
                note: Some(format!(
                    "{} has no FP4 or FP8 tensor cores; fp4 weights computed at its bf16 peak",
                    self.name
                )),
            },
        }
    }
}

const MODEL_FILES: &[(&str, &str)] = &[
    (
        "qwen3-235b-a22b.json",
        include_str!("../../models/qwen3-235b-a22b.json"),
    ),
    ("qwen3-32b.json", include_str!("../../models/qwen3-32b.json")),
    ("deepseek-v3.json", include_str!("../../models/deepseek-v3.json")),
    (
        "llama-3.1-70b.json",
        include_str!("../../models/llama-3.1-70b.json"),
    ),
    (
        "llama-3.1-405b.json",
        include_str!("../../models/llama-3.1-405b.json"),
    ),
    (
        "mixtral-8x7b.json",
        include_str!("../../models/mixtral-8x7b.json"),
    ),
    (
        "llama-4-scout.json",
        include_str!("../../models/llama-4-scout.json"),
    ),
    (
        "llama-4-maverick.json",
        include_str!("../../models/llama-4-maverick.json"),
    ),
    (
        "gpt-oss-120b.json",
        include_str!("../../models/gpt-oss-120b.json"),
    ),
    ("gpt-oss-20b.json", include_str!("../../models/gpt-oss-20b.json")),
    ("kimi-k2.json", include_str!("../../models/kimi-k2.json")),
    ("kimi-k2.5.json", include_str!("../../models/kimi-k2.5.json")),
    ("glm-4.5.json", include_str!("../../models/glm-4.5.json")),
    ("glm-5.json", include_str!("../../models/glm-5.json")),
    (
        "qwen3-30b-a3b.json",
        include_str!("../../models/qwen3-30b-a3b.json"),
    ),
    (
        "qwen3-coder-480b.json",
        include_str!("../../models/qwen3-coder-480b.json"),
    ),
    (
        "deepseek-v3.2.json",
        include_str!("../../models/deepseek-v3.2.json"),
    ),
    (
        "minimax-m2.5.json",
        include_str!("../../models/minimax-m2.5.json"),
    ),
];

const GPU_FILES: &[(&str, &str)] = &[
    ("h100-sxm.json", include_str!("../../models/h100-sxm.json")),
    ("h200.json", include_str!("../../models/h200.json")),
    ("h800.json", include_str!("../../models/h800.json")),
    ("a100-80g.json", include_str!("../../models/a100-80g.json")),
    ("h20.json", include_str!("../../models/h20.json")),
    ("b200.json", include_str!("../../models/b200.json")),
    ("ascend-910b.json", include_str!("../../models/ascend-910b.json")),
    ("b300.json", include_str!("../../models/b300.json")),
    ("gb200.json", include_str!("../../models/gb200.json")),
    ("mi300x.json", include_str!("../../models/mi300x.json")),
    ("mi355x.json", include_str!("../../models/mi355x.json")),
];

/// Lookup key: lowercase, without `-`, `_` and whitespace.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_') && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn parse_all<T: serde::de::DeserializeOwned>(files: &[(&str, &str)]) -> Vec<T> {
    files
        .iter()
        .map(|(file, text)| {
            serde_json::from_str(text)
                // The files are compiled in and checked by tests/presets.rs; a bad one is a bug.
                .unwrap_or_else(|e| panic!("embedded preset models/{file} is invalid: {e}"))
        })
        .collect()
}

/// Every model preset, in shipping order.
pub fn models() -> &'static [ModelPreset] {
    static CELL: OnceLock<Vec<ModelPreset>> = OnceLock::new();
    CELL.get_or_init(|| parse_all(MODEL_FILES))
}

/// Every GPU preset, in shipping order.
pub fn gpus() -> &'static [GpuPreset] {
    static CELL: OnceLock<Vec<GpuPreset>> = OnceLock::new();
    CELL.get_or_init(|| parse_all(GPU_FILES))
}

/// Index from every normalized name and alias to its preset (built once).
fn index<T>(items: &[T], names: impl Fn(&T) -> Vec<&str>) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        for n in names(item) {
            map.entry(normalize(n)).or_insert(i);
        }
    }
    map
}

fn names_of<'a>(name: &'a str, aliases: &'a [String]) -> Vec<&'a str> {
    std::iter::once(name)
        .chain(aliases.iter().map(String::as_str))
        .collect()
}

/// The model preset with this name or alias.
pub fn model_preset(name: &str) -> Option<&'static ModelPreset> {
    static INDEX: OnceLock<HashMap<String, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| index(models(), |p| names_of(&p.name, &p.aliases)));
    index.get(&normalize(name)).map(|&i| &models()[i])
}

/// The GPU preset with this name or alias. The cost model asks for the same name for every
/// candidate it scores, so the last answer per thread is kept (no allocation on a repeat).
pub fn gpu_preset(name: &str) -> Option<&'static GpuPreset> {
    static INDEX: OnceLock<HashMap<String, usize>> = OnceLock::new();
    thread_local! {
        static LAST: std::cell::RefCell<(String, Option<usize>)> = const { std::cell::RefCell::new((String::new(), None)) };
    }
    let found = LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != name || last.0.is_empty() {
            let index = INDEX.get_or_init(|| index(gpus(), |p| names_of(&p.name, &p.aliases)));
            *last = (name.to_string(), index.get(&normalize(name)).copied());
        }
        last.1
    });
    found.map(|i| &gpus()[i])
}

/// Canonical names of the model presets.
pub fn model_names() -> Vec<&'static str> {
    models().iter().map(|p| p.name.as_str()).collect()
}

/// Canonical names of the GPU presets.
pub fn gpu_names() -> Vec<&'static str> {
    gpus().iter().map(|p| p.name.as_str()).collect()
}

/// Human listing of every preset (`pdplan presets`).
pub fn listing() -> String {
    use std::fmt::Write;
    let mut s =
        String::from("GPU presets (peak dense FLOP/s, HBM, memory, node, links per GPU one direction):\n");
    for g in gpus() {
        let p = &g.peak_flops_per_s;
        let fp8 = p.fp8.map_or("-".to_string(), |f| format!("{:.0}", f / 1e12));
        let _ = writeln!(
            s,
            "  {:<12} bf16 {:>5.0} TFLOP/s  fp8 {:>5} TFLOP/s  HBM {:.2} TB/s  {:.0} GB  {} GPUs/node  {:.0}/{:.0} GB/s  mfu {} bw {}",
            g.name,
            p.bf16 / 1e12,
            fp8,
            g.hbm_bytes_per_s / 1e12,
            g.memory_bytes / 1e9,
            g.gpus_per_node,
            g.intra_node_bytes_per_s / 1e9,
            g.inter_node_bytes_per_s / 1e9,
            g.mfu,
            g.bandwidth_utilization
        );
    }
    s.push_str("Model presets:\n");
    for m in models() {
        let r = &m.model;
        let moe = r.moe.as_ref().map_or("dense".to_string(), |x| {
            format!(
                "MoE {} experts top-{}",
                x.experts.unwrap_or(0),
                x.top_k.unwrap_or(0)
            )
        });
        let _ = writeln!(
            s,
            "  {:<18} {} layers, hidden {}, {} heads / {} KV heads, {moe}; aliases: {}",
            m.name,
            r.layers.unwrap_or(0),
            r.hidden_size.unwrap_or(0),
            r.heads.unwrap_or(0),
            r.kv_heads.unwrap_or(0),
            m.aliases.join(", ")
        );
    }
    s
}
