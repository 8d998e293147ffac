//! From a [`RawTask`] to a complete [`Task`]: presets, HF config, defaults, validation
//! (DESIGN.md §1.3, §1.4).
//!
//! Order of precedence, field by field:
//! 1. what the task file says;
//! 2. the GPU preset (`hardware.preset`), the model preset (`model.preset`), then the Hugging
//!    Face `config.json` (`model.hf_config`, relative to the task file's folder);
//! 3. documented defaults, each listed in [`Resolved::assumptions`].
//!
//! A task value that differs from its preset gives a warning. A model *name* that matches a
//! preset without naming it fills nothing but warns on each shape value that differs from the
//! published model. Every number is checked (finite, positive, within sane bounds) and errors
//! name the field and, for Markdown tasks, the line it came from or the line to add.
//!
//! Defaults (each one used is stated in [`Resolved::assumptions`]):
//!
//! | field | default |
//! |---|---|
//! | `hardware.gpus_per_node` | 8 (HGX/DGX-class) |
//! | `hardware.intra_node_bytes_per_s` | 450e9 (NVLink4: 900 GB/s bidirectional) |
//! | `hardware.inter_node_bytes_per_s` | 50e9 (one 400 Gb/s NIC per GPU) |
//! | `hardware.mfu` / `bandwidth_utilization` | GPU preset, else 0.5 / 0.8 |
//! | `hardware.peak_flops_per_s` | GPU preset column for the model dtype (see [`GpuPreset::peak_for`]) |
//! | `model.dtype` | bf16 |
//! | `model.kv_cache_dtype` | bf16 for bf16/fp8/int8/int4 weights, = dtype for fp16/fp32 |
//! | `model.kv_heads` | = heads (MHA; MLA) — an error when the task names GQA |
//! | `model.attention` | MLA if `mla` given, GQA if kv_heads < heads, else MHA |
//! | `model.head_dim` | MLA: qk_nope + qk_rope; else hidden / heads |
//! | `model.gated_ffn` / `tied_embeddings` | true (SwiGLU) / false |
//! | `model.vocab_size` | 0 (embeddings and LM head not counted) |
//! | `model.ffn_intermediate_size` | 0 when every layer is MoE |
//! | `model.moe.top_k` | 2 (also a warning) |
//! | `model.moe.shared_experts` / `dense_layers` | 0 / 0 |
//! | `model.moe.shared_expert_intermediate_size` | = expert intermediate size |
//! | `workload.max_len` | input + output, else input |
//! | `workload.min_len` | input length, else max_len |
//! | `cost.*` | [`CostParams::default`] |

use crate::error::{Error, Result};
use crate::input::fields;
use crate::input::hf_config::{apply_hf_quant_config, parse_hf_config};
use crate::input::markdown::{FieldRead, ParsedTask};
use crate::spec::presets::{self, GpuPreset, ModelPreset};
use crate::spec::task::{
    AttentionKind, CostParams, Dtype, GivenStrategy, Hardware, Mla, Model, Moe, RawHardware, RawModel,
    RawMoe, RawTask, RawWorkload, Requirements, RoutingSkew, Task, Workload,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// A resolved task with the assumptions it rests on and the warnings found.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub task: Task,
    /// The file the task came from (echoed as `task.source`).
    pub source: String,
    pub fields: Vec<crate::input::markdown::FieldRead>,
    /// Defaults that were assumed, in words.
    pub assumptions: Vec<String>,
    /// Unknown lines, conflicts, overridden preset values.
    pub warnings: Vec<String>,
}

/// Defaults of DESIGN.md §1.4 (see `models/README.md` for the reasoning).
pub mod defaults {
    /// GPUs per node (HGX/DGX-class 8-GPU servers).
    pub const GPUS_PER_NODE: u64 = 8;
    /// Per GPU, one direction: NVLink4-class (900 GB/s bidirectional).
    pub const INTRA_NODE_BYTES_PER_S: f64 = 450e9;
    /// Per GPU, one direction: one 400 Gb/s NIC per GPU.
    pub const INTER_NODE_BYTES_PER_S: f64 = 50e9;
    /// Compute efficiency of large-GEMM prefill (40–60 % of dense peak is typical).
    pub const MFU: f64 = 0.5;
    /// Achieved fraction of HBM bandwidth by decode kernels.
    pub const BANDWIDTH_UTILIZATION: f64 = 0.8;
    /// MoE top-k when the task gives none.
    pub const TOP_K: u64 = 2;
}

/// Upper bounds that keep every downstream loop and product finite.
pub mod limits {
    pub const LAYERS: u64 = 10_000;
    pub const EXPERTS: u64 = 100_000;
    pub const BATCH: u64 = 10_000_000;
    pub const GPU_BUDGET: u64 = 10_000_000;
    pub const HIDDEN: u64 = 1_000_000;
    pub const HEADS: u64 = 100_000;
    pub const HEAD_DIM: u64 = 100_000;
    pub const INTERMEDIATE: u64 = 10_000_000;
    pub const VOCAB: u64 = 100_000_000;
    pub const TOKENS: u64 = 100_000_000;
    pub const GPUS_PER_NODE: u64 = 1_024;
    pub const STRATEGY_DEGREE: u64 = 10_000_000;
    /// Draft tokens per speculative decode step (engines run 1-7; EAGLE trees stay below 8).
    pub const DRAFT_TOKENS: u64 = 16;
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq)]
enum Origin {
    Task,
    Preset(String),
    Hf(String),
}

struct Ctx<'a> {
    source: &'a str,
    fields: &'a [FieldRead],
    /// Lines with a label and no value ([`ParsedTask::empty`]).
    empty: &'a [FieldRead],
    markdown: bool,
    assumptions: Vec<String>,
    warnings: Vec<String>,
    /// Model keys (`head_dim`, `moe.top_k`) to where their value came from.
    model_origin: BTreeMap<String, Origin>,
}

fn fmt_f64(v: f64) -> String {
    if v.is_finite() && v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        // At most 10 significant digits: `1e39`, not `1.0000000000000001e39`.
        let s = format!("{v:.9e}");
        match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        }
    } else {
        format!("{v}")
    }
}

/// `m` (in [1, 1000)) with at most 4 significant digits: `64`, `1.8`, `3.352`.
fn fmt_sig(m: f64) -> String {
    let decimals = (3 - m.abs().log10().floor() as i32).clamp(0, 3) as usize;
    let s = format!("{m:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A quantity with SI prefixes, for plausibility messages (`64 MB`, `400 GFLOPS`).
#[derive(Clone, Copy, Debug)]
enum Qty {
    Flops,
    Bytes,
    BytesPerS,
    Params,
}

impl Qty {
    /// The SI unit the task stores.
    fn unit(self) -> &'static str {
        match self {
            Qty::Flops => "FLOP/s",
            Qty::Bytes => "bytes",
            Qty::BytesPerS => "bytes/s",
            Qty::Params => "parameters",
        }
    }

    /// Names of 1000^0 .. 1000^6 of the unit.
    fn names(self) -> [&'static str; 7] {
        match self {
            Qty::Flops => [
                "FLOP/s", "KFLOPS", "MFLOPS", "GFLOPS", "TFLOPS", "PFLOPS", "EFLOPS",
            ],
            Qty::Bytes => ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"],
            Qty::BytesPerS => ["bytes/s", "KB/s", "MB/s", "GB/s", "TB/s", "PB/s", "EB/s"],
            Qty::Params => [
                "parameters",
                "K parameters",
                "M parameters",
                "B parameters",
                "T parameters",
                "P parameters",
                "E parameters",
            ],
        }
    }

    /// Multipliers a slip of the unit or of the prefix may explain, most likely first.
    fn slips(self) -> &'static [f64] {
        match self {
            Qty::Params => &[1e9, 1e6, 1e12, 1e3],
            _ => &[1e3, 1e-3, 1e6, 1e-6, 1e9, 1e-9, 1e12, 1e-12],
        }
    }

    /// `6.4e7` bytes → `64 MB`.
    fn human(self, v: f64) -> String {
        if !v.is_finite() || v <= 0.0 {
            return format!("{} {}", fmt_f64(v), self.unit());
        }
        let p = ((v.log10() / 3.0).floor() as i32).clamp(0, 6);
        let m = v / 1000f64.powi(p);
        if m >= 1000.0 || m < 1.0 && p == 0 && v < 1.0 {
            return format!("{} {}", fmt_f64(v), self.unit());
        }
        format!("{} {}", fmt_sig(m), self.names()[p as usize])
    }
}

fn fmt_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => fmt_f64(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

fn same_f64(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Values equal as task values (numbers compared numerically, `235e9` = `235000000000`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => same_f64(x, y),
            _ => x == y,
        },
        _ => a == b,
    }
}

impl Ctx<'_> {
    fn field_read(&self, field: &str) -> Option<&FieldRead> {
        self.fields.iter().find(|f| f.field == field).or_else(|| {
            self.fields.iter().find(|f| {
                f.field
                    .split([',', ' ', '+', ';'])
                    .any(|part| part.trim() == field)
            })
        })
    }

    /// ` (line 12, `Token Dimension`)` when the field came from a Markdown line.
    fn at_line(&self, field: &str) -> String {
        match self.field_read(field) {
            Some(f) if f.line > 0 => format!(" (line {}, `{}`)", f.line, f.label),
            _ => String::new(),
        }
    }

    /// `file:line` when the field came from a Markdown line, else the file.
    fn path_at(&self, field: &str) -> String {
        match self.field_read(field) {
            Some(f) if f.line > 0 => format!("{}:{}", self.source, f.line),
            _ => self.source.to_string(),
        }
    }

    /// Where a model value came from, for messages.
    fn model_at(&self, key: &str) -> String {
        match self.model_origin.get(key) {
            Some(Origin::Preset(p)) => format!(" (from model preset {p})"),
            Some(Origin::Hf(p)) => format!(" (from {p})"),
            _ => self.at_line(&format!("model.{key}")),
        }
    }

    fn missing(&self, field: &str, what: &str) -> Error {
        let empty = self.empty.iter().find(|e| e.field == field);
        let how = if self.markdown {
            match fields::hint(field) {
                Some(hint) if empty.is_some() => format!("write it as {hint}"),
                Some(hint) => format!("add a line {hint}"),
                None => format!("give `{field}` in a JSON task"),
            }
        } else {
            format!("set `{field}` in the task")
        };
        let empty = empty.map_or(String::new(), |e| {
            format!("line {} (`{}`) has no value; ", e.line, e.label)
        });
        let preset_hint = if field.starts_with("hardware.") {
            " or name a GPU preset"
        } else if field.starts_with("model.") {
            " or name a model preset / HF config.json"
        } else {
            ""
        };
        Error::Missing {
            path: self.source.to_string(),
            field: field.to_string(),
            message: format!("{what}; {empty}{how}{preset_hint}"),
        }
    }

    fn invalid(&self, field: &str, message: impl Into<String>) -> Error {
        let message = message.into();
        let at = if let Some(key) = field.strip_prefix("model.") {
            self.model_at(key)
        } else {
            self.at_line(field)
        };
        // " (line 12, `Label`)" -> "line 12 (`Label`)"; " (from preset X)" -> "from preset X".
        let at = at.trim().trim_start_matches('(').trim_end_matches(')');
        let at = match at.split_once(", ") {
            Some((line, label)) if line.starts_with("line ") => format!("{line} ({label})"),
            _ => at.to_string(),
        };
        Error::Invalid {
            path: self.source.to_string(),
            field: field.to_string(),
            message: if at.is_empty() {
                message
            } else {
                format!("{at}: {message}")
            },
        }
    }

    fn assume(&mut self, s: impl Into<String>) {
        self.assumptions.push(s.into());
    }

    fn warn(&mut self, s: impl Into<String>) {
        self.warnings.push(s.into());
    }

    fn check_u64(&self, field: &str, v: u64, max: u64) -> Result<u64> {
        if v == 0 {
            return Err(self.invalid(field, "is 0; must be greater than 0: give a value of at least 1"));
        }
        if v > max {
            return Err(self.invalid(
                field,
                format!(
                    "{v} is above the supported maximum {max}; check the number (pdplan refuses \
                     sizes that would make its search unbounded)"
                ),
            ));
        }
        Ok(v)
    }

    fn check_f64(&self, field: &str, v: f64) -> Result<f64> {
        if !v.is_finite() || v <= 0.0 {
            return Err(self.invalid(
                field,
                format!("{} must be a finite number greater than 0", fmt_f64(v)),
            ));
        }
        Ok(v)
    }

    /// A positive number within a plausible range for `what`; outside it, the unit is probably
    /// wrong. The message quotes the line as written, shows the value with its prefix (`64 MB`)
    /// and, when a slip of the prefix explains it, the value that was probably meant.
    fn check_range(&self, field: &str, v: f64, lo: f64, hi: f64, qty: Qty, what: &str) -> Result<f64> {
        self.check_f64(field, v)?;
        if v < lo || v > hi {
            let unit = qty.unit();
            let written = match self.field_read(field) {
                Some(f) if f.line > 0 => format!("`{}` = {}", f.text.trim(), qty.human(v)),
                _ if qty.human(v) == format!("{} {unit}", fmt_f64(v)) => qty.human(v),
                _ => format!("{} (= {} {unit})", qty.human(v), fmt_f64(v)),
            };
            let hint = qty
                .slips()
                .iter()
                .map(|k| v * k)
                .find(|x| (lo..=hi).contains(x))
                .map(|x| {
                    let how = if self.markdown {
                        "correct the number or its unit on that line".to_string()
                    } else {
                        format!("JSON values are in {unit}: write {}", fmt_f64(x))
                    };
                    format!("did you mean {} (= {} {unit})? {how}", qty.human(x), fmt_f64(x))
                })
                .unwrap_or_else(|| "check the number and its unit".to_string());
            return Err(self.invalid(
                field,
                format!(
                    "{written} is implausible for {what} (expected {} .. {}); {hint}",
                    qty.human(lo),
                    qty.human(hi)
                ),
            ));
        }
        Ok(v)
    }

    fn check_fraction(&self, field: &str, v: f64) -> Result<f64> {
        if !v.is_finite() || v <= 0.0 || v > 1.0 {
            return Err(self.invalid(
                field,
                format!(
                    "{} must be a fraction in (0, 1] (e.g. 60% = 0.6); {}% is not a possible \
                     efficiency",
                    fmt_f64(v),
                    fmt_f64(v * 100.0)
                ),
            ));
        }
        Ok(v)
    }
}

/// Resolve a parsed task: presets, HF config, defaults, validation.
///
/// `source` is the task file path; it names the file in messages and anchors a relative
/// `model.hf_config`.
pub fn resolve(source: &str, parsed: ParsedTask) -> Result<Resolved> {
    let ParsedTask {
        raw,
        fields,
        warnings,
        empty,
    } = parsed;
    let lower = source.to_ascii_lowercase();
    let markdown = !lower.ends_with(".json") && (fields.iter().any(|f| f.line > 0) || lower.ends_with(".md"));
    let mut ctx = Ctx {
        source,
        fields: &fields,
        empty: &empty,
        markdown,
        assumptions: Vec::new(),
        warnings,
        model_origin: BTreeMap::new(),
    };
    let RawTask {
        name,
        hardware,
        model,
        workload,
        requirements,
        strategy,
        cost,
    } = raw;

    let model = resolve_model(&mut ctx, model);
    if let Ok(m) = &model {
        check_declared_params(&mut ctx, m);
    }
    let dtype = model.as_ref().map_or(Dtype::Bf16, |m| m.dtype);
    let hardware = resolve_hardware(&mut ctx, hardware, dtype);
    let workload = resolve_workload(&mut ctx, workload);
    let (model, hardware, workload) = all_or_missing(source, model, hardware, workload)?;
    let requirements = check_requirements(&ctx, requirements)?;
    let strategy = match strategy {
        Some(s) => Some(check_strategy(&ctx, s)?),
        None => None,
    };
    let cost = resolve_cost(&mut ctx, cost)?;
    if requirements.is_empty() {
        ctx.warn(NO_REQUIREMENT);
    }

    let task = Task {
        name,
        hardware,
        model,
        workload,
        requirements,
        strategy,
        cost,
        engine_tp_pin: None,
        runnable_on: None,
    };
    let Ctx {
        assumptions,
        warnings,
        ..
    } = ctx;
    Ok(Resolved {
        task,
        source: source.to_string(),
        fields,
        assumptions,
        warnings,
    })
}

/// The warning of a task with no latency or throughput requirement (issue 14 item 2).
pub const NO_REQUIREMENT: &str =
    "no latency requirement: plans maximize throughput per GPU with the fewest GPUs";

/// The three parts, or one [`Error::Missing`] naming every required field missing in any of
/// them (other errors are returned as they are, the model's first).
fn all_or_missing(
    source: &str,
    model: Result<Model>,
    hardware: Result<Hardware>,
    workload: Result<Workload>,
) -> Result<(Model, Hardware, Workload)> {
    match (model, hardware, workload) {
        (Ok(m), Ok(h), Ok(w)) => Ok((m, h, w)),
        (m, h, w) => {
            let errors = [m.err(), h.err(), w.err()];
            let missing = |e: &Error| matches!(e, Error::Missing { .. });
            let other = errors.iter().flatten().position(|e| !missing(e));
            let mut all: Vec<Error> = errors.into_iter().flatten().collect();
            match other {
                Some(i) => Err(all.swap_remove(i)),
                None => Err(combine_missing(source, all).unwrap_or_else(|| Error::Invalid {
                    path: source.to_string(),
                    field: "task".into(),
                    message: "internal: no error to report".into(),
                })),
            }
        }
    }
}

/// One [`Error::Missing`] for several: every field and its message (`None` when empty).
fn combine_missing(source: &str, mut missing: Vec<Error>) -> Option<Error> {
    if missing.len() <= 1 {
        return missing.pop();
    }
    let parts: Vec<(String, String)> = missing
        .into_iter()
        .filter_map(|e| match e {
            Error::Missing { field, message, .. } => Some((field, message)),
            _ => None,
        })
        .collect();
    let fields: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
    let each: Vec<String> = parts.iter().map(|(f, m)| format!("`{f}`: {m}")).collect();
    Some(Error::Missing {
        path: source.to_string(),
        field: fields.join("`, `"),
        message: format!("{} required fields are missing: {}", parts.len(), each.join("; ")),
    })
}

/// A declared parameter count far from what the layer shapes add up to is a conflict: reported as
/// a warning here (the plan states it as an assumption, and memory uses the larger figure).
fn check_declared_params(ctx: &mut Ctx, model: &Model) {
    let Some(declared) = model.declared_params else {
        return;
    };
    let derived = crate::spec::model_size::total_params(model);
    if derived > 0.0 && !crate::params::DECLARED_PARAMS_BAND.contains(&(declared / derived)) {
        ctx.warn(format!(
            "declared_params: the task or its config.json's layer-by-layer count declares {}{}, \
             but the layer shapes read add up to {}; the plan \
             uses the larger figure for weight memory, weight reads and matmul FLOPs (safe). Check \
             the parameter count and the shape lines (layers, hidden size, heads, FFN / expert sizes)",
            Qty::Params.human(declared),
            ctx.at_line("model.declared_params"),
            Qty::Params.human(derived)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Model

/// Keys of a model that are identity, not shape: never merged from presets.
const IDENTITY_KEYS: [&str; 4] = ["name", "preset", "hf_config", "path"];
/// Precision is a deployment choice, not a published shape: not compared by name match.
const DEPLOYMENT_KEYS: [&str; 4] = [
    "dtype",
    "kv_cache_dtype",
    "weight_block_size",
    "static_activation_scales",
];

/// `moe.top_k`-style flat map of a model's given values.
fn flatten(m: &RawModel) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Ok(Value::Object(obj)) = serde_json::to_value(m) else {
        return out;
    };
    for (k, v) in obj {
        if IDENTITY_KEYS.contains(&k.as_str()) {
            continue;
        }
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    if !iv.is_null() {
                        out.insert(format!("{k}.{ik}"), iv);
                    }
                }
            }
            Value::Null => {}
            v => {
                out.insert(k, v);
            }
        }
    }
    out
}

fn unflatten(map: &BTreeMap<String, Value>) -> std::result::Result<RawModel, serde_json::Error> {
    let mut obj = Map::new();
    for (k, v) in map {
        match k.split_once('.') {
            Some((outer, inner)) => {
                let entry = obj
                    .entry(outer.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = entry {
                    o.insert(inner.to_string(), v.clone());
                }
            }
            None => {
                obj.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::from_value(Value::Object(obj))
}

fn lookup_model_preset(ctx: &Ctx, name: &str) -> Result<&'static ModelPreset> {
    presets::model_preset(name).ok_or_else(|| Error::UnknownPreset {
        path: ctx.path_at("model.preset"),
        kind: "model",
        name: name.to_string(),
        known: presets::model_names().join(", "),
    })
}

fn lookup_gpu_preset(ctx: &Ctx, name: &str) -> Result<&'static GpuPreset> {
    presets::gpu_preset(name).ok_or_else(|| Error::UnknownPreset {
        path: ctx.path_at("hardware.preset"),
        kind: "GPU",
        name: name.to_string(),
        known: presets::gpu_names().join(", "),
    })
}

/// Read a size-capped text file (a wrong path — a folder, `/dev/zero`, a weights file — is an
/// error, never a hang or an out-of-memory).
fn read_text(path: &Path) -> Result<String> {
    let bytes = crate::input::load::read_limited(path, crate::input::load::MAX_TASK_BYTES)?;
    String::from_utf8(bytes).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

/// The model of `model.hf_config`: a `config.json` or a folder holding one (relative to the task
/// file), with a ModelOpt `hf_quant_config.json` beside it when there is one. Its notes are
/// assumptions, its warnings (features not modelled) warnings. Errors name the task file, the
/// line of the `HF config` line and the config path.
fn read_hf(ctx: &mut Ctx, p: &str) -> Result<(String, RawModel)> {
    let base = Path::new(ctx.source).parent().unwrap_or(Path::new(""));
    let given = base.join(p);
    let path = if given.is_dir() {
        given.join("config.json")
    } else {
        given.clone()
    };
    let at = format!("{}{}", ctx.source, ctx.at_line("model.hf_config"));
    let named = |e: Error| match e {
        Error::Read { path, source } => Error::Invalid {
            path: at.clone(),
            field: "model.hf_config".into(),
            message: format!(
                "cannot read {}: {source}; check the path: give a config.json or the folder that holds it",
                path.display()
            ),
        },
        e => e,
    };
    let text = read_text(&path).map_err(named)?;
    let mut hf = parse_hf_config(&path.display().to_string(), &text)?;
    let quant = path.with_file_name("hf_quant_config.json");
    if given.is_dir() && quant.is_file() {
        let qtext = read_text(&quant).map_err(named)?;
        apply_hf_quant_config(&quant.display().to_string(), &qtext, &mut hf)?;
    }
    for n in &hf.notes {
        ctx.assume(n.clone());
    }
    for w in &hf.warnings {
        ctx.warn(format!("{} ({}): {w}", path.display(), hf_model_name(&hf.model)));
    }
    Ok((format!("config.json {}", path.display()), hf.model))
}

/// A short shape description for warnings: `36 layers, 128 experts`.
fn hf_model_name(m: &RawModel) -> String {
    let experts = m
        .moe
        .as_ref()
        .and_then(|x| x.experts)
        .map_or(String::new(), |e| format!(", {e} experts"));
    format!("{} layers{experts}", m.layers.unwrap_or(0))
}

/// Explicit values, then the preset's, then the HF config's: each fills what is not given; a
/// value that differs from one given earlier is a warning.
fn merge_layers(
    ctx: &mut Ctx,
    explicit: &BTreeMap<String, Value>,
    preset: Option<&ModelPreset>,
    hf: Option<&(String, RawModel)>,
) -> BTreeMap<String, Value> {
    for k in explicit.keys() {
        ctx.model_origin.insert(k.clone(), Origin::Task);
    }
    let mut merged = explicit.clone();
    let mut layers: Vec<(Origin, BTreeMap<String, Value>)> = Vec::new();
    if let Some(p) = preset {
        layers.push((Origin::Preset(p.name.clone()), flatten(&p.model)));
    }
    if let Some((shown, m)) = hf {
        layers.push((Origin::Hf(shown.clone()), flatten(m)));
    }
    for (origin, values) in &layers {
        let what = match origin {
            Origin::Preset(p) => format!("preset {p}"),
            Origin::Hf(p) => p.clone(),
            Origin::Task => unreachable!("only presets and HF configs are layered"),
        };
        let mut filled = Vec::new();
        for (k, v) in values {
            match merged.get(k) {
                None => {
                    merged.insert(k.clone(), v.clone());
                    ctx.model_origin.insert(k.clone(), origin.clone());
                    filled.push(k.clone());
                }
                Some(have) if !same_value(have, v) => {
                    let by = ctx.model_origin.get(k).cloned().unwrap_or(Origin::Task);
                    let msg = match by {
                        Origin::Task => format!(
                            "{k}: task says {}{}, {what} has {}; using {}",
                            fmt_value(have),
                            ctx.at_line(&format!("model.{k}")),
                            fmt_value(v),
                            fmt_value(have)
                        ),
                        Origin::Preset(p) => format!(
                            "{k}: preset {p} has {}, {what} has {}; using the preset's {}",
                            fmt_value(have),
                            fmt_value(v),
                            fmt_value(have)
                        ),
                        Origin::Hf(_) => continue,
                    };
                    ctx.warn(msg);
                }
                Some(_) => {}
            }
        }
        if !filled.is_empty() {
            ctx.assume(format!("model values taken from {what}: {}", filled.join(", ")));
        }
    }

    merged
}

/// A name that matches a published model fills nothing, but is a yardstick: each explicit shape
/// value that differs from the published one is a warning.
fn warn_against_published(ctx: &mut Ctx, name: Option<&str>, explicit: &BTreeMap<String, Value>) {
    if let Some(name) = name
        && let Some(p) = presets::model_preset(name)
    {
        let published = flatten(&p.model);
        for (k, have) in explicit {
            if DEPLOYMENT_KEYS.contains(&k.as_str()) {
                continue;
            }
            if let Some(v) = published.get(k)
                && !same_value(have, v)
            {
                let msg = format!(
                    "{k}: task says {}{}, but the published {} (model name `{name}`) has {}; \
                     using the task's {} (name `{}` as model preset to use the published shape)",
                    fmt_value(have),
                    ctx.at_line(&format!("model.{k}")),
                    p.name,
                    fmt_value(v),
                    fmt_value(have),
                    p.name
                );
                ctx.warn(msg);
            }
        }
    }
}

fn resolve_model(ctx: &mut Ctx, raw: RawModel) -> Result<Model> {
    let preset = match raw.preset.as_deref() {
        Some(p) => Some(lookup_model_preset(ctx, p)?),
        None => None,
    };
    let hf = match raw.hf_config.as_deref() {
        Some(p) => Some(read_hf(ctx, p)?),
        None => None,
    };

    let explicit = flatten(&raw);
    let merged = merge_layers(ctx, &explicit, preset, hf.as_ref());
    if preset.is_none() {
        warn_against_published(ctx, raw.name.as_deref(), &explicit);
    }

    let m = unflatten(&merged).map_err(|e| Error::Invalid {
        path: ctx.source.to_string(),
        field: "model".to_string(),
        message: format!("model values do not combine into a valid model: {e}"),
    })?;
    // What engines load: the task's own line, else the preset's published repo, else the
    // folder of the HF config, else the published repo of a model the task names.
    let path = raw
        .path
        .or_else(|| preset.and_then(|p| p.model.path.clone()))
        .or_else(|| hf_folder(ctx.source, raw.hf_config.as_deref()))
        .or_else(|| published_repo(ctx, raw.name.as_deref()));
    let mut model = build_model(ctx, raw.name, preset, raw.hf_config, m)?;
    model.path = path;
    Ok(model)
}

/// The published repo of the model a task names (`Model: Qwen3-235B` → `Qwen/Qwen3-235B-A22B`),
/// stated as an assumption; `None` when the name matches no preset.
fn published_repo(ctx: &mut Ctx, name: Option<&str>) -> Option<String> {
    let p = presets::model_preset(name?)?;
    let repo = p.model.path.clone()?;
    ctx.assume(format!(
        "model path {repo}: the published repo of {} (model name `{}`); add a `Model path` line \
         to launch another copy",
        p.name,
        name.unwrap_or_default()
    ));
    Some(repo)
}

/// The folder of a Hugging Face `config.json` (relative to the task file): what engines load when
/// the task names no repo (`vllm serve DIR`, `--model-path DIR`).
fn hf_folder(source: &str, hf_config: Option<&str>) -> Option<String> {
    let base = Path::new(source).parent().unwrap_or(Path::new(""));
    let dir = base.join(hf_config?);
    let dir = dir.parent().unwrap_or(Path::new(""));
    let shown = dir.display().to_string();
    Some(if shown.is_empty() { ".".into() } else { shown })
}

fn build_model(
    ctx: &mut Ctx,
    name: Option<String>,
    preset: Option<&ModelPreset>,
    hf_config: Option<String>,
    m: RawModel,
) -> Result<Model> {
    let (layers, hidden, heads) = core_shape(ctx, &m)?;
    let declared_params = match m.declared_params {
        Some(p) => Some(ctx.check_range(
            "model.declared_params",
            p,
            1e6,
            1e15,
            Qty::Params,
            "a model's parameter count",
        )?),
        None => None,
    };
    let mla = check_mla(ctx, &m)?;
    let kv_heads = kv_heads_of(ctx, &m, heads, mla.is_some())?;
    let attention = attention_of(ctx, &m, heads, kv_heads, mla.is_some())?;
    let head_dim = head_dim_of(ctx, &m, heads, hidden, mla.as_ref())?;
    // A routing skew alone (a `Routing skew` line on a dense model) makes no MoE.
    let only_skew = |x: &RawMoe| {
        let bare = RawMoe {
            routing_skew: None,
            ..x.clone()
        };
        bare == RawMoe::default()
    };
    if m.moe
        .as_ref()
        .is_some_and(|x| x.routing_skew.is_some() && only_skew(x))
    {
        ctx.assume("routing skew ignored: the model has no experts");
    }
    let moe = match m.moe.clone().filter(|x| !only_skew(x)) {
        Some(raw) => Some(build_moe(ctx, raw, layers)?),
        None => None,
    };
    let ffn = dense_ffn_of(ctx, &m, moe.as_ref())?;
    let (gated_ffn, tied_embeddings, vocab_size) = embeddings_of(ctx, &m)?;
    let (dtype, kv_cache_dtype) = dtypes_of(ctx, &m);
    let weight_block_size = weight_block_size_of(ctx, &m, preset, dtype);
    let static_activation_scales = static_scales_of(ctx, &m, dtype);
    Ok(Model {
        name: name.or_else(|| preset.map(|p| p.name.clone())),
        preset: preset.map(|p| p.name.clone()),
        path: None,
        hf_config,
        declared_params,
        layers,
        hidden_size: hidden,
        heads,
        head_dim,
        kv_heads,
        attention,
        mla,
        ffn_intermediate_size: ffn,
        gated_ffn,
        moe,
        vocab_size,
        tied_embeddings,
        dtype,
        kv_cache_dtype,
        weight_block_size,
        static_activation_scales,
    })
}

/// Static activation scales hold for FP8 weights only (the per-tensor FP8 GEMMs they spare the
/// scale computation); stated for other weights, the line is dropped and the drop said.
fn static_scales_of(ctx: &mut Ctx, m: &RawModel, dtype: Dtype) -> bool {
    let stated = m.static_activation_scales == Some(true);
    if stated && dtype != Dtype::Fp8 {
        ctx.assume(format!(
            "static activation scales ignored: the weights are {}, and only FP8 GEMMs take \
             activation scales",
            dtype.name()
        ));
    }
    stated && dtype == Dtype::Fp8
}

/// The FP8 weights' scale blocks: the task's or HF config's `weight_block_size`, else the block
/// of a preset whose FP8 checkpoint is block-scaled (128 × 128, the block its `fp8_block_scales`
/// source publishes). Only FP8 weights have it: a block given for other weights is dropped with
/// a note; a preset's is dropped silently (the task runs the preset at another precision).
fn weight_block_size_of(
    ctx: &mut Ctx,
    m: &RawModel,
    preset: Option<&ModelPreset>,
    dtype: Dtype,
) -> Option<[u64; 2]> {
    let fp8 = dtype == Dtype::Fp8;
    let Some(block) = m.weight_block_size else {
        let published = preset.and_then(|p| p.fp8_block_scales.as_ref());
        return published.filter(|_| fp8).map(|_| [128, 128]);
    };
    if !fp8 {
        ctx.assume(format!(
            "weight block size {block:?} ignored: the weights are {}, and only FP8 weights run \
             the block-scaled GEMM",
            dtype.name()
        ));
        return None;
    }
    Some(block)
}

/// Layers, hidden size and heads; when several are missing, one message names them all.
fn core_shape(ctx: &Ctx, m: &RawModel) -> Result<(u64, u64, u64)> {
    let need = [
        (m.layers, "model.layers", "number of layers", limits::LAYERS),
        (
            m.hidden_size,
            "model.hidden_size",
            "hidden size (token dimension)",
            limits::HIDDEN,
        ),
        (m.heads, "model.heads", "number of attention heads", limits::HEADS),
    ];
    let missing: Vec<Error> = need
        .iter()
        .filter(|n| n.0.is_none())
        .map(|n| ctx.missing(n.1, n.2))
        .collect();
    if let Some(e) = combine_missing(ctx.source, missing) {
        return Err(e);
    }
    let mut v = [0u64; 3];
    for (slot, (x, field, _, max)) in v.iter_mut().zip(need) {
        *slot = ctx.check_u64(field, x.unwrap_or(0), max)?;
    }
    Ok((v[0], v[1], v[2]))
}

fn check_mla(ctx: &Ctx, m: &RawModel) -> Result<Option<Mla>> {
    let mla = match &m.mla {
        Some(mla) => {
            ctx.check_u64("model.mla.kv_lora_rank", mla.kv_lora_rank, limits::HIDDEN)?;
            ctx.check_u64(
                "model.mla.qk_nope_head_dim",
                mla.qk_nope_head_dim,
                limits::HEAD_DIM,
            )?;
            ctx.check_u64(
                "model.mla.qk_rope_head_dim",
                mla.qk_rope_head_dim,
                limits::HEAD_DIM,
            )?;
            ctx.check_u64("model.mla.v_head_dim", mla.v_head_dim, limits::HEAD_DIM)?;
            if mla.q_lora_rank > limits::HIDDEN {
                return Err(ctx.invalid("model.mla.q_lora_rank", "above the supported maximum"));
            }
            Some(mla.clone())
        }
        None => None,
    };
    if m.attention == Some(AttentionKind::Mla) && mla.is_none() {
        return Err(ctx.missing(
            "model.mla",
            "MLA attention needs its latent sizes (q_lora_rank, kv_lora_rank, qk_nope_head_dim, \
             qk_rope_head_dim, v_head_dim)",
        ));
    }
    if let (Some(kind), Some(_)) = (m.attention, &mla)
        && kind != AttentionKind::Mla
    {
        return Err(ctx.invalid(
            "model.attention",
            format!("attention is {kind:?} but MLA latent sizes are given"),
        ));
    }
    Ok(mla)
}

fn kv_heads_of(ctx: &mut Ctx, m: &RawModel, heads: u64, is_mla: bool) -> Result<u64> {
    let kv_heads = match m.kv_heads {
        Some(kv) => ctx.check_u64("model.kv_heads", kv, limits::HEADS)?,
        None => {
            if m.attention == Some(AttentionKind::Gqa) {
                return Err(ctx.missing(
                    "model.kv_heads",
                    "the model uses GQA but the number of KV heads is not given",
                ));
            }
            if is_mla {
                ctx.assume(format!(
                    "MLA: KV heads = query heads = {heads} (the latent is shared by all heads)"
                ));
            } else {
                ctx.assume(format!("multi-head attention: KV heads = query heads = {heads}"));
            }
            heads
        }
    };
    if !heads.is_multiple_of(kv_heads) {
        return Err(ctx.invalid(
            "model.kv_heads",
            format!("{heads} query heads are not a multiple of {kv_heads} KV heads"),
        ));
    }
    Ok(kv_heads)
}

fn attention_of(
    ctx: &mut Ctx,
    m: &RawModel,
    heads: u64,
    kv_heads: u64,
    is_mla: bool,
) -> Result<AttentionKind> {
    Ok(match (m.attention, is_mla) {
        (_, true) => AttentionKind::Mla,
        (Some(AttentionKind::Mha), false) if kv_heads < heads => {
            return Err(ctx.invalid(
                "model.attention",
                format!("multi-head attention needs KV heads = heads, but {kv_heads} < {heads}"),
            ));
        }
        (Some(kind), false) => {
            if kind == AttentionKind::Gqa && kv_heads == heads {
                ctx.warn(format!(
                    "attention: GQA with KV heads = heads = {heads} is multi-head attention"
                ));
            }
            kind
        }
        (None, false) => {
            let kind = if kv_heads < heads {
                AttentionKind::Gqa
            } else {
                AttentionKind::Mha
            };
            ctx.assume(format!(
                "attention kind {} (from {kv_heads} KV heads for {heads} query heads)",
                if kind == AttentionKind::Gqa { "GQA" } else { "MHA" }
            ));
            kind
        }
    })
}

fn head_dim_of(ctx: &mut Ctx, m: &RawModel, heads: u64, hidden: u64, mla: Option<&Mla>) -> Result<u64> {
    if let Some(d) = m.head_dim {
        let d = ctx.check_u64("model.head_dim", d, limits::HEAD_DIM)?;
        if mla.is_none() && heads * d != hidden && ctx.model_origin.get("head_dim") == Some(&Origin::Task) {
            ctx.warn(format!(
                "head_dim: {heads} heads x {d} = {} differs from hidden size {hidden}{}; \
                 using the declared head_dim (legal: some models project attention to \
                 another width)",
                heads * d,
                ctx.at_line("model.head_dim")
            ));
        }
        return Ok(d);
    }
    if let Some(mla) = mla {
        let d = mla.qk_nope_head_dim + mla.qk_rope_head_dim;
        ctx.assume(format!(
            "MLA head_dim = qk_nope_head_dim + qk_rope_head_dim = {d}"
        ));
        return Ok(d);
    }
    if !hidden.is_multiple_of(heads) {
        return Err(ctx.missing(
            "model.head_dim",
            &format!("head dimension not given and hidden size {hidden} is not a multiple of {heads} heads"),
        ));
    }
    ctx.assume(format!(
        "head_dim = hidden size / heads = {hidden} / {heads} = {}",
        hidden / heads
    ));
    Ok(hidden / heads)
}

fn build_moe(ctx: &mut Ctx, raw: RawMoe, layers: u64) -> Result<Moe> {
    let experts = raw.experts.ok_or_else(|| {
        ctx.missing(
            "model.moe.experts",
            "the model has MoE fields but no expert count (for a dense model give the FFN \
             size as `ffn_intermediate_size` instead)",
        )
    })?;
    let experts = ctx.check_u64("model.moe.experts", experts, limits::EXPERTS)?;
    let size = raw.expert_intermediate_size.ok_or_else(|| {
        ctx.missing(
            "model.moe.expert_intermediate_size",
            "intermediate size of one expert",
        )
    })?;
    let size = ctx.check_u64("model.moe.expert_intermediate_size", size, limits::INTERMEDIATE)?;
    let top_k = moe_top_k(ctx, raw.top_k, experts)?;
    let (shared, shared_size) = moe_shared(ctx, &raw, size)?;
    let dense_layers = raw.dense_layers.unwrap_or_else(|| {
        ctx.assume("every layer is MoE (no dense leading layers given)");
        0
    });
    if dense_layers >= layers {
        return Err(ctx.invalid(
            "model.moe.dense_layers",
            format!("{dense_layers} dense layers leave no MoE layer out of {layers}"),
        ));
    }
    let routing_skew = raw.routing_skew.unwrap_or_else(|| {
        ctx.assume(
            "MoE routing skew high (expert loads as a power law of alpha 1.2, NVIDIA's estimate \
             for Qwen3-235B and typical production): the model is not known to balance its experts \
             as DeepSeek-V3 does (`Routing skew: low`, alpha 1.01)",
        );
        RoutingSkew::High
    });
    Ok(Moe {
        experts,
        top_k,
        expert_intermediate_size: size,
        shared_experts: shared,
        shared_expert_intermediate_size: shared_size,
        dense_layers,
        routing_skew,
    })
}

fn moe_top_k(ctx: &mut Ctx, top_k: Option<u64>, experts: u64) -> Result<u64> {
    let top_k = match top_k {
        Some(k) => ctx.check_u64("model.moe.top_k", k, limits::EXPERTS)?,
        None => {
            let k = defaults::TOP_K.min(experts);
            ctx.assume(format!("MoE top-k = {k} experts per token (not given)"));
            let hint = if ctx.markdown {
                " add `* **Top-K Gate**: N` to"
            } else {
                " set `model.moe.top_k` in"
            };
            ctx.warn(format!(
                "moe.top_k: not given; assuming {k} experts per token (Mixtral-style);{hint} \
                 the task to be exact"
            ));
            k
        }
    };
    if top_k > experts {
        return Err(ctx.invalid(
            "model.moe.top_k",
            format!("top-k {top_k} is more than the {experts} experts"),
        ));
    }
    Ok(top_k)
}

fn moe_shared(ctx: &mut Ctx, raw: &RawMoe, size: u64) -> Result<(u64, u64)> {
    let shared = match raw.shared_experts {
        Some(s) if s > limits::EXPERTS => {
            return Err(ctx.invalid("model.moe.shared_experts", "above the supported maximum"));
        }
        Some(s) => s,
        None => {
            ctx.assume("no shared experts (not given)");
            0
        }
    };
    let shared_size = match raw.shared_expert_intermediate_size {
        Some(s) => ctx.check_u64(
            "model.moe.shared_expert_intermediate_size",
            s,
            limits::INTERMEDIATE,
        )?,
        None => {
            if shared > 0 {
                ctx.assume(format!(
                    "shared expert intermediate size = routed expert size = {size}"
                ));
            }
            size
        }
    };
    Ok((shared, shared_size))
}

fn dense_ffn_of(ctx: &mut Ctx, m: &RawModel, moe: Option<&Moe>) -> Result<u64> {
    if moe.is_none_or(|x| x.dense_layers > 0) {
        let what = if moe.is_some() {
            "intermediate size of the dense FFN of the leading dense layers"
        } else {
            "intermediate size of the FFN (MLP)"
        };
        let f = m
            .ffn_intermediate_size
            .ok_or_else(|| ctx.missing("model.ffn_intermediate_size", what))?;
        return ctx.check_u64("model.ffn_intermediate_size", f, limits::INTERMEDIATE);
    }
    match m.ffn_intermediate_size {
        None => ctx.assume("no dense FFN: every layer is MoE (ffn_intermediate_size = 0)"),
        Some(0) => {}
        Some(f) => {
            let msg = format!(
                "ffn_intermediate_size: {f}{} is not used: every layer is MoE; set to 0",
                ctx.model_at("ffn_intermediate_size")
            );
            ctx.warn(msg);
        }
    }
    Ok(0)
}

/// Gated FFN, tied embeddings and vocabulary size.
fn embeddings_of(ctx: &mut Ctx, m: &RawModel) -> Result<(bool, bool, u64)> {
    let gated_ffn = m.gated_ffn.unwrap_or_else(|| {
        ctx.assume("gated FFN (SwiGLU: gate, up and down projections = 3 matrices)");
        true
    });
    let tied_embeddings = m.tied_embeddings.unwrap_or_else(|| {
        ctx.assume("input embedding and LM head are separate matrices (not tied)");
        false
    });
    let vocab_size = match m.vocab_size {
        // 0 is the resolved form of "not given" and must load back.
        Some(0) => {
            ctx.assume("vocabulary size 0: embeddings and LM head are not counted");
            0
        }
        Some(v) => ctx.check_u64("model.vocab_size", v, limits::VOCAB)?,
        None => {
            ctx.assume(
                "vocabulary size not given: embeddings and LM head are not counted in memory or \
                 compute",
            );
            0
        }
    };
    Ok((gated_ffn, tied_embeddings, vocab_size))
}

/// Weight and KV-cache formats: bf16 weights by default; a 16-bit KV cache with 8- and 4-bit
/// weights, as engines do by default.
fn dtypes_of(ctx: &mut Ctx, m: &RawModel) -> (Dtype, Dtype) {
    let dtype = m.dtype.unwrap_or_else(|| {
        ctx.assume("weights in bf16 (precision not given)");
        Dtype::Bf16
    });
    let kv_cache_dtype = m.kv_cache_dtype.unwrap_or_else(|| {
        let kv = match dtype {
            Dtype::Fp16 | Dtype::Fp32 => dtype,
            Dtype::Bf16 | Dtype::Fp8 | Dtype::Int8 | Dtype::Int4 | Dtype::Fp4 => Dtype::Bf16,
        };
        ctx.assume(format!(
            "KV cache in {} with {} weights: KV cache kept in 16-bit, as engines do by default",
            kv.name(),
            dtype.name()
        ));
        kv
    });
    (dtype, kv_cache_dtype)
}

// ---------------------------------------------------------------------------------------------
// Hardware

/// Picks each hardware value: explicit, else the preset's (listed), else a stated default.
struct Picker {
    pname: String,
    filled: Vec<String>,
}

impl Picker {
    fn pick(
        &mut self,
        ctx: &mut Ctx,
        key: &str,
        explicit: Option<f64>,
        from_preset: Option<f64>,
        default: Option<(f64, &str)>,
    ) -> Option<f64> {
        match (explicit, from_preset) {
            (Some(v), Some(p)) => {
                if !same_f64(v, p) {
                    let at = ctx.at_line(&format!("hardware.{key}"));
                    ctx.warn(format!(
                        "{key}: task says {}{at}, preset {} has {}; using {}",
                        fmt_f64(v),
                        self.pname,
                        fmt_f64(p),
                        fmt_f64(v)
                    ));
                }
                Some(v)
            }
            (Some(v), None) => Some(v),
            (None, Some(p)) => {
                self.filled.push(format!("{key} {}", fmt_f64(p)));
                Some(p)
            }
            (None, None) => default.map(|(v, why)| {
                ctx.assume(why);
                v
            }),
        }
    }
}

fn resolve_hardware(ctx: &mut Ctx, raw: RawHardware, dtype: Dtype) -> Result<Hardware> {
    let preset = match raw.preset.as_deref() {
        Some(p) => Some(lookup_gpu_preset(ctx, p)?),
        None => None,
    };
    let mut picker = Picker {
        pname: preset.map(|p| p.name.clone()).unwrap_or_default(),
        filled: Vec::new(),
    };
    let (peak, hbm, memory) = hw_required(ctx, &raw, preset, &mut picker, dtype)?;
    let [mfu, bw_util, intra, inter] = hw_defaulted(ctx, &raw, preset, &mut picker);
    let gpus_per_node = gpus_per_node_of(ctx, &raw, preset, &mut picker);
    if let Some(p) = preset {
        if !picker.filled.is_empty() {
            let msg = format!(
                "hardware values from GPU preset {}: {}",
                p.name,
                picker.filled.join(", ")
            );
            ctx.assume(msg);
        }
        for n in &p.notes {
            ctx.assume(format!("{}: {n}", p.name));
        }
    }
    let gpu_budget = match raw.gpu_budget {
        Some(b) => Some(ctx.check_u64("hardware.gpu_budget", b, limits::GPU_BUDGET)?),
        None => None,
    };
    let check_link = |field: &str, v: f64| {
        ctx.check_range(field, v, 1e8, 1e14, Qty::BytesPerS, "a per-GPU link bandwidth")
    };
    let intra = check_link("hardware.intra_node_bytes_per_s", intra)?;
    let inter = check_link("hardware.inter_node_bytes_per_s", inter)?;
    Ok(Hardware {
        preset: preset.map(|p| p.name.clone()),
        gpu_budget,
        peak_flops_per_s: peak,
        mfu: ctx.check_fraction("hardware.mfu", mfu)?,
        hbm_bytes_per_s: hbm,
        bandwidth_utilization: ctx.check_fraction("hardware.bandwidth_utilization", bw_util)?,
        memory_bytes: memory,
        gpus_per_node: ctx.check_u64("hardware.gpus_per_node", gpus_per_node, limits::GPUS_PER_NODE)?,
        intra_node_bytes_per_s: intra,
        inter_node_bytes_per_s: inter,
    })
}

/// Peak FLOP/s: explicit, else the preset's column for the weight dtype (stated).
fn peak_of(
    ctx: &mut Ctx,
    raw: &RawHardware,
    preset: Option<&GpuPreset>,
    picker: &mut Picker,
    dtype: Dtype,
) -> Option<f64> {
    let peak_choice = preset.map(|p| p.peak_for(dtype));
    let peak_preset = peak_choice.as_ref().map(|c| c.flops_per_s);
    let peak = picker.pick(ctx, "peak_flops_per_s", raw.peak_flops_per_s, peak_preset, None);
    if raw.peak_flops_per_s.is_none()
        && let (Some(p), Some(c)) = (preset, &peak_choice)
    {
        ctx.assume(format!(
            "peak {} FLOP/s = {} dense {} peak for {} weights",
            fmt_f64(c.flops_per_s),
            p.name,
            c.column,
            dtype.name()
        ));
        if let Some(note) = &c.note {
            ctx.assume(note.clone());
        }
    }
    peak
}

/// Peak FLOP/s, HBM bandwidth and memory, checked; when several are missing one message names
/// them all.
fn hw_required(
    ctx: &mut Ctx,
    raw: &RawHardware,
    preset: Option<&GpuPreset>,
    picker: &mut Picker,
    dtype: Dtype,
) -> Result<(f64, f64, f64)> {
    let peak = peak_of(ctx, raw, preset, picker, dtype);
    let hbm = picker.pick(
        ctx,
        "hbm_bytes_per_s",
        raw.hbm_bytes_per_s,
        preset.map(|p| p.hbm_bytes_per_s),
        None,
    );
    let memory = picker.pick(
        ctx,
        "memory_bytes",
        raw.memory_bytes,
        preset.map(|p| p.memory_bytes),
        None,
    );
    let missing: Vec<Error> = [
        (peak, "hardware.peak_flops_per_s", "peak FLOP/s of one GPU"),
        (hbm, "hardware.hbm_bytes_per_s", "HBM bandwidth of one GPU"),
        (memory, "hardware.memory_bytes", "memory capacity of one GPU"),
    ]
    .iter()
    .filter(|x| x.0.is_none())
    .map(|x| ctx.missing(x.1, x.2))
    .collect();
    if let Some(e) = combine_missing(ctx.source, missing) {
        return Err(e);
    }
    let (peak, hbm, memory) = (peak.unwrap_or(0.0), hbm.unwrap_or(0.0), memory.unwrap_or(0.0));
    Ok((
        ctx.check_range(
            "hardware.peak_flops_per_s",
            peak,
            1e12,
            1e18,
            Qty::Flops,
            "the peak compute of one GPU",
        )?,
        ctx.check_range(
            "hardware.hbm_bytes_per_s",
            hbm,
            1e10,
            1e15,
            Qty::BytesPerS,
            "the HBM bandwidth of one GPU",
        )?,
        ctx.check_range(
            "hardware.memory_bytes",
            memory,
            1e9,
            100e12,
            Qty::Bytes,
            "the memory of one GPU",
        )?,
    ))
}

/// (key, explicit value, preset value, default, why the default).
type HwRow<'a> = (&'a str, Option<f64>, Option<f64>, f64, &'a str);

/// MFU, bandwidth utilization and the two link bandwidths: explicit, preset or default.
fn hw_defaulted(
    ctx: &mut Ctx,
    raw: &RawHardware,
    preset: Option<&GpuPreset>,
    picker: &mut Picker,
) -> [f64; 4] {
    let rows: [HwRow; 4] = [
        (
            "mfu",
            raw.mfu,
            preset.map(|p| p.mfu),
            defaults::MFU,
            "MFU 0.5: large-GEMM prefill typically reaches 40-60% of dense peak (see models/README.md)",
        ),
        (
            "bandwidth_utilization",
            raw.bandwidth_utilization,
            preset.map(|p| p.bandwidth_utilization),
            defaults::BANDWIDTH_UTILIZATION,
            "HBM bandwidth utilization 0.8: decode kernels typically reach 70-90% of peak HBM bandwidth (see models/README.md)",
        ),
        (
            "intra_node_bytes_per_s",
            raw.intra_node_bytes_per_s,
            preset.map(|p| p.intra_node_bytes_per_s),
            defaults::INTRA_NODE_BYTES_PER_S,
            "intra-node bandwidth 450 GB/s per GPU per direction (NVLink4-class, 900 GB/s bidirectional; the task gives none)",
        ),
        (
            "inter_node_bytes_per_s",
            raw.inter_node_bytes_per_s,
            preset.map(|p| p.inter_node_bytes_per_s),
            defaults::INTER_NODE_BYTES_PER_S,
            "inter-node bandwidth 50 GB/s per GPU per direction (one 400 Gb/s NIC per GPU; the task gives none)",
        ),
    ];
    rows.map(|(key, explicit, from_preset, default, why)| {
        picker
            .pick(ctx, key, explicit, from_preset, Some((default, why)))
            .unwrap_or(default)
    })
}

fn gpus_per_node_of(
    ctx: &mut Ctx,
    raw: &RawHardware,
    preset: Option<&GpuPreset>,
    picker: &mut Picker,
) -> u64 {
    match (raw.gpus_per_node, preset.map(|p| p.gpus_per_node)) {
        (Some(v), Some(p)) => {
            if v != p {
                let at = ctx.at_line("hardware.gpus_per_node");
                let msg = format!(
                    "gpus_per_node: task says {v}{at}, preset {} has {p}; using {v}",
                    picker.pname
                );
                ctx.warn(msg);
            }
            v
        }
        (Some(v), None) => v,
        (None, Some(p)) => {
            picker.filled.push(format!("gpus_per_node {p}"));
            p
        }
        (None, None) => {
            ctx.assume(format!(
                "{} GPUs per node (HGX/DGX-class server; the task gives no node size)",
                defaults::GPUS_PER_NODE
            ));
            defaults::GPUS_PER_NODE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workload, requirements, strategy, cost

/// The maximum length: given, else input + output, else the input length.
fn max_len_of(
    ctx: &mut Ctx,
    w: &RawWorkload,
    input_len: Option<u64>,
    output_len: Option<u64>,
) -> Result<u64> {
    Ok(match (w.max_len, input_len, output_len) {
        (Some(m), _, _) => ctx.check_u64("workload.max_len", m, limits::TOKENS)?,
        (None, Some(i), Some(o)) => {
            let m = i + o;
            if m > limits::TOKENS {
                return Err(ctx.invalid("workload.output_len", "input + output length too large"));
            }
            ctx.assume(format!(
                "maximum length = input + output = {i} + {o} = {m} tokens (no length range given)"
            ));
            m
        }
        (None, Some(i), None) => {
            ctx.assume(format!(
                "maximum length = input length {i} tokens (no length range and no output length \
                 given)"
            ));
            i
        }
        (None, None, _) => {
            return Err(ctx.missing("workload.max_len", "sequence length (a range or an input length)"));
        }
    })
}

/// Warnings and assumptions on the lengths: input + output above the maximum, no output length.
fn length_notes(ctx: &mut Ctx, input_len: Option<u64>, output_len: Option<u64>, max_len: u64) {
    if let (Some(i), Some(o)) = (input_len, output_len)
        && i + o > max_len
    {
        ctx.warn(format!(
            "workload: input {i} + output {o} = {} tokens exceeds the maximum length {max_len}; \
             KV cache is sized for {} tokens per sequence",
            i + o,
            i + o
        ));
    }
    if output_len.is_none() {
        ctx.assume(format!(
            "no output length given: decode requests/s use half the maximum length ({} tokens) \
             as output length; TPOT is checked at context {}",
            (max_len / 2).max(1),
            input_len.unwrap_or(0).max(max_len)
        ));
    }
}

fn resolve_workload(ctx: &mut Ctx, w: RawWorkload) -> Result<Workload> {
    let batch = w
        .batch
        .ok_or_else(|| ctx.missing("workload.batch", "batch size (sequences)"))?;
    let batch = ctx.check_u64("workload.batch", batch, limits::BATCH)?;
    let input_len = match w.input_len {
        Some(v) => Some(ctx.check_u64("workload.input_len", v, limits::TOKENS)?),
        None => None,
    };
    let output_len = match w.output_len {
        Some(v) => Some(ctx.check_u64("workload.output_len", v, limits::TOKENS)?),
        None => None,
    };
    let max_len = max_len_of(ctx, &w, input_len, output_len)?;
    let min_len = match w.min_len {
        Some(m) => ctx.check_u64("workload.min_len", m, limits::TOKENS)?,
        None => {
            let m = input_len.unwrap_or(max_len).min(max_len);
            ctx.assume(format!("minimum length = {m} tokens (no length range given)"));
            m
        }
    };
    if min_len > max_len {
        return Err(ctx.invalid(
            "workload.min_len",
            format!("minimum length {min_len} is above the maximum length {max_len}"),
        ));
    }
    if let Some(i) = input_len
        && i > max_len
    {
        return Err(ctx.invalid(
            "workload.input_len",
            format!("input length {i} is above the maximum length {max_len}"),
        ));
    }
    if let Some(i) = input_len
        && i < min_len
    {
        ctx.warn(format!(
            "workload.input_len: input length {i} is below the minimum length {min_len} of the \
             length range; TTFT is checked at {i} tokens"
        ));
    }
    length_notes(ctx, input_len, output_len, max_len);
    let (cached_prefix_tokens, cached_prefix_share) =
        resolve_prefix_cache(ctx, &w, input_len.unwrap_or(max_len), min_len)?;
    Ok(Workload {
        batch,
        input_len,
        output_len,
        min_len,
        max_len,
        cached_prefix_tokens,
        cached_prefix_share,
    })
}

/// Prefix caching (`Cached prefix` tokens or a `Prefix cache hit rate`): at most one, below the
/// TTFT input length `isl` (a prompt's last token is always computed); stated as an assumption.
fn resolve_prefix_cache(
    ctx: &mut Ctx,
    w: &RawWorkload,
    isl: u64,
    min_len: u64,
) -> Result<(Option<u64>, Option<f64>)> {
    let (tokens, share) = (w.cached_prefix_tokens, w.cached_prefix_share);
    if tokens.is_some() && share.is_some() {
        return Err(ctx.invalid(
            "workload.cached_prefix_share",
            "give the cached prefix either in tokens (`Cached prefix`) or as a share of the prompt \
             (`Prefix cache hit rate`), not both",
        ));
    }
    if let Some(s) = share
        && (!s.is_finite() || !(0.0..1.0).contains(&s))
    {
        return Err(ctx.invalid(
            "workload.cached_prefix_share",
            "must be a share of the prompt in [0, 1) (e.g. 56% or 0.56); a prompt's last token is always computed",
        ));
    }
    let tokens = match tokens {
        Some(0) | None => None,
        Some(t) => {
            let t = ctx.check_u64("workload.cached_prefix_tokens", t, limits::TOKENS)?;
            if t >= isl {
                return Err(ctx.invalid(
                    "workload.cached_prefix_tokens",
                    format!("{t} cached tokens leave nothing to prefill of the {isl}-token input; give fewer than {isl} (a prompt's last token is always computed)"),
                ));
            }
            if t >= min_len {
                ctx.warn(format!(
                    "workload.cached_prefix_tokens: {t} cached tokens reach the minimum length {min_len}; shorter prompts compute only their last token"
                ));
            }
            Some(t)
        }
    };
    let share = share.filter(|&s| s > 0.0);
    let cached = match (tokens, share) {
        (Some(t), _) => format!("{t} tokens of every prompt"),
        (None, Some(s)) => {
            let pct = format!("{:.2}", s * 100.0);
            let pct = pct.trim_end_matches('0').trim_end_matches('.');
            format!("{pct}% of every prompt's tokens")
        }
        (None, None) => return Ok((None, None)),
    };
    ctx.assume(format!(
        "prefix caching: {cached} are found in the prefix cache ({} of the {isl}-token TTFT input): \
         prefill computes the other tokens, which attend to the whole prompt (attention over the \
         cached KV, read from HBM); the KV cache still holds and hands off every token; prefill \
         throughput counts every input token, cached or not (as DeepSeek's production figures do)",
        crate::spec::task::cached_prefix_of(tokens, share, isl)
    ));
    Ok((tokens, share))
}

fn check_requirements(ctx: &Ctx, r: Requirements) -> Result<Requirements> {
    let check = |field: &str, v: Option<f64>| -> Result<()> {
        if let Some(v) = v {
            ctx.check_f64(field, v)?;
        }
        Ok(())
    };
    check("requirements.ttft_s", r.ttft_s)?;
    check("requirements.tpot_s", r.tpot_s)?;
    check(
        "requirements.throughput_per_gpu_tokens_per_s",
        r.throughput_per_gpu_tokens_per_s,
    )?;
    check("requirements.request_rate_per_s", r.request_rate_per_s)?;
    check(
        "requirements.prefill_throughput_per_gpu_tokens_per_s",
        r.prefill_throughput_per_gpu_tokens_per_s,
    )?;
    check(
        "requirements.decode_throughput_per_gpu_tokens_per_s",
        r.decode_throughput_per_gpu_tokens_per_s,
    )?;
    Ok(r)
}

fn check_strategy(ctx: &Ctx, s: GivenStrategy) -> Result<GivenStrategy> {
    let degrees = [
        ("gpus", s.gpus),
        ("tp", s.tp),
        ("pp", s.pp),
        ("sp", s.sp),
        ("dp", s.dp),
        ("attention_dp", s.attention_dp),
        ("ep", s.ep),
        ("expert_tp", s.expert_tp),
        ("replicas", s.replicas),
        ("batch", s.batch),
    ];
    for (name, v) in degrees {
        if let Some(v) = v {
            ctx.check_u64(&format!("strategy.{name}"), v, limits::STRATEGY_DEGREE)?;
        }
    }
    Ok(s)
}

fn resolve_cost(ctx: &mut Ctx, raw: Option<crate::spec::task::RawCostParams>) -> Result<CostParams> {
    let d = CostParams::default();
    let r = raw.unwrap_or_default();
    let mut defaulted = Vec::new();
    let reserve = r.reserve_fraction.unwrap_or_else(|| {
        defaulted.push(format!(
            "{:.0}% of GPU memory reserved for the runtime (vLLM gpu_memory_utilization 0.9)",
            d.reserve_fraction * 100.0
        ));
        d.reserve_fraction
    });
    let imbalance = r.moe_imbalance.unwrap_or_else(|| {
        defaulted.push(format!("MoE load imbalance factor {}", d.moe_imbalance));
        d.moe_imbalance
    });
    let overlap = r.comm_overlap.unwrap_or_else(|| {
        defaulted.push(format!(
            "communication overlap {} (no overlap with compute)",
            d.comm_overlap
        ));
        d.comm_overlap
    });
    let chunk = r.prefill_chunk_tokens.unwrap_or_else(|| {
        defaulted.push(format!("prefill chunk {} tokens per GPU", d.prefill_chunk_tokens));
        d.prefill_chunk_tokens
    });
    let act = r.activation_bytes.unwrap_or_else(|| {
        defaulted.push(format!("{} bytes per activation element", d.activation_bytes));
        d.activation_bytes
    });
    let net = r.network_utilization.unwrap_or_else(|| {
        defaulted.push(format!("network utilization {}", d.network_utilization));
        d.network_utilization
    });
    let engine = r.engine.unwrap_or_else(|| {
        defaulted.push(
            "engine any (reference kernels: TensorRT-LLM tables; two-batch overlap of the MoE \
             all-to-all as in the published large deployments)"
                .to_string(),
        );
        d.engine
    });
    if !net.is_finite() || net <= 0.0 || net > 1.0 {
        return Err(ctx.invalid("cost.network_utilization", "must be in (0, 1]"));
    }
    if !defaulted.is_empty() {
        ctx.assume(format!("cost-model defaults: {}", defaulted.join("; ")));
    }
    if !reserve.is_finite() || !(0.0..1.0).contains(&reserve) {
        return Err(ctx.invalid("cost.reserve_fraction", "must be in [0, 1)"));
    }
    if !imbalance.is_finite() || !(1.0..=1000.0).contains(&imbalance) {
        return Err(ctx.invalid("cost.moe_imbalance", "must be at least 1 (1 = perfect balance)"));
    }
    if !overlap.is_finite() || !(0.0..=1.0).contains(&overlap) {
        return Err(ctx.invalid("cost.comm_overlap", "must be in [0, 1]"));
    }
    let chunk = ctx.check_u64("cost.prefill_chunk_tokens", chunk, limits::TOKENS)?;
    if !act.is_finite() || act <= 0.0 || act > 8.0 {
        return Err(ctx.invalid("cost.activation_bytes", "must be in (0, 8] bytes"));
    }
    let speculative = resolve_speculative(ctx, r.draft_tokens, r.draft_acceptance)?;
    let batch_overlap = r.batch_overlap.unwrap_or_default();
    if let Err(why) = batch_overlap.check(engine) {
        return Err(ctx.invalid("cost.batch_overlap", why));
    }
    Ok(CostParams {
        reserve_fraction: reserve,
        moe_imbalance: imbalance,
        comm_overlap: overlap,
        prefill_chunk_tokens: chunk,
        activation_bytes: act,
        network_utilization: net,
        engine,
        draft_tokens: speculative.map(|s| s.draft_tokens),
        draft_acceptance: speculative.map(|s| s.acceptance),
        batch_overlap,
    })
}

/// Default acceptance of a draft token: DeepSeek-V3 technical report §5.4.3, "the acceptance
/// rate of the second token prediction ranges between 85% and 90%" (its MTP module, across
/// generation topics); the lower end.
pub const DRAFT_ACCEPTANCE: f64 = 0.85;

/// Speculative decoding from the task's draft tokens and acceptance (off without draft tokens).
fn resolve_speculative(
    ctx: &mut Ctx,
    draft: Option<u64>,
    acceptance: Option<f64>,
) -> Result<Option<crate::spec::task::Speculative>> {
    let d = match draft {
        Some(d) if d > 0 => ctx.check_u64("cost.draft_tokens", d, limits::DRAFT_TOKENS)?,
        _ => 0,
    };
    if let Some(a) = acceptance
        && (!a.is_finite() || !(0.0..=1.0).contains(&a))
    {
        return Err(ctx.invalid(
            "cost.draft_acceptance",
            "must be a probability in [0, 1] (e.g. 0.85 for 85%)",
        ));
    }
    if d == 0 {
        if acceptance.is_some() {
            ctx.warn(
                "cost.draft_acceptance: given without draft tokens, so speculative decoding is \
                 off (give `Draft tokens` to turn it on)",
            );
        }
        return Ok(None);
    }
    let a = acceptance.unwrap_or_else(|| {
        ctx.assume(format!(
            "draft acceptance {DRAFT_ACCEPTANCE} per draft token (DeepSeek-V3 report §5.4.3: 85-90% \
             for its MTP module; give `Draft acceptance` for your model and data)"
        ));
        DRAFT_ACCEPTANCE
    });
    let s = crate::spec::task::Speculative::new(d, a);
    ctx.assume(format!(
        "decode: speculative decoding with {d} draft token(s) per step at acceptance {a}: {:.3} \
         tokens per step; a step verifies {} tokens per sequence and runs the draft module {d} \
         time(s) (costed as {d} more layer(s), AIConfigurator's MTP scale (L+{d})/L); TPOT is \
         the step time over the tokens per step",
        s.accepted_tokens,
        d + 1
    ));
    Ok(Some(s))
}

/// A shipped fixture task (`fixtures/tasks/<name>`), read and resolved, for unit tests of later
/// stages (which may not read tasks through `app`).
#[cfg(test)]
pub(crate) fn fixture_task(name: &str) -> Task {
    let path = format!("{}/fixtures/tasks/{name}", env!("CARGO_MANIFEST_DIR"));
    let parsed = crate::input::load::load_task(std::path::Path::new(&path)).unwrap();
    resolve(&path, parsed).unwrap().task
}
