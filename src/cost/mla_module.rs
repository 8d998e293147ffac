//! The measured MLA decode module: the latency of a whole DeepSeek-V3 multi-head latent
//! attention block in decode — query / KV down-projections with their norms, up-projections,
//! RoPE, the latent attention over the paged KV cache and the output projection — as
//! TensorRT-LLM and vLLM run it (`models/kernels/<gpu>.mla-module.json`, derived by
//! `scripts/derive_mla_module.py` from aiconfigurator-core 0.12.0's
//! `mla_generation_module_perf.parquet`; every value is one measured row, not a fit).
//!
//! Where it applies, the time of the attention block is read off this table instead of adding
//! its kernels one by one (five GEMMs with a launch each and the attention kernel): inside the
//! engine's CUDA graph the block's small kernels do not each pay the standalone launch cost the
//! per-kernel tables measure. On H200 with TensorRT-LLM, 16 heads (TP8), 16 sequences, 2,048-4,096
//! tokens of context: module 69-78 us, kernel sum 98 us.
//!
//! It applies only to what was measured: a GPU with its own tables (or GB200 / B300, which borrow
//! the B200's as measured: same architecture and HBM), the engine's own table (no
//! SGLang table exists), a model with DeepSeek-V3's MLA dimensions (hidden 7,168, q_lora 1,536,
//! kv_lora 512, rope 64, nope 128, v 128: DeepSeek-V3 / R1, Kimi-K2), BF16 or FP8 weights (read
//! as 128 × 128 block-scaled, the only FP8 the table measures), a BF16 or FP8 KV cache, heads per GPU on the grid (1 ... 128), and a
//! batch and context inside it; anywhere else the kernels are added as before.

use super::lazy_json::{Lazy, Prepare};
use super::profile::engine_key;
use crate::spec::task::{AttentionKind, Dtype, Task};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One engine's table.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
struct EngineTable {
    source: String,
    heads: Vec<f64>,
    batch: Vec<f64>,
    context: Vec<f64>,
    /// `<gemm>/<kv>` → heads × batch × context latencies in µs (`null`: not measured), each
    /// grid parsed on first use ([`Lazy`]): a solve reads one of a file's eight (two engines ×
    /// four precisions), whose numbers are most of the file (parsing all eight was ~0.9 ms on
    /// the DeepSeek-V3 fixture's path to the enumeration's start).
    latency_us: BTreeMap<String, Lazy<Grid>>,
}

/// Heads × batch × context latencies in µs (`null`: not measured).
type Grid = Vec<Vec<Vec<Option<f64>>>>;

impl Prepare for Grid {}

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
struct File {
    gpu: String,
    engines: BTreeMap<String, EngineTable>,
}

const FILES: [(&str, &str); 3] = [
    (
        "H100-SXM",
        include_str!("../../models/kernels/h100-sxm.mla-module.json"),
    ),
    ("H200", include_str!("../../models/kernels/h200.mla-module.json")),
    ("B200", include_str!("../../models/kernels/b200.mla-module.json")),
];

fn file(gpu: &str) -> Option<&'static File> {
    static CELLS: [OnceLock<Option<File>>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];
    let i = FILES.iter().position(|(name, _)| *name == gpu)?;
    CELLS[i]
        .get_or_init(|| {
            serde_json::from_str::<File>(FILES[i].1)
                .ok()
                .filter(|f| f.gpu == gpu)
        })
        .as_ref()
}

/// Parse errors of the embedded tables, every grid included (for the test that keeps them
/// valid).
pub fn parse_errors() -> Vec<String> {
    let mut out = Vec::new();
    for (gpu, text) in FILES {
        match serde_json::from_str::<File>(text) {
            Err(e) => out.push(format!("{gpu}: {e}")),
            Ok(f) => {
                for (engine, t) in &f.engines {
                    for (kind, grid) in &t.latency_us {
                        if let Err(e) = grid.parse().map_err(|e| format!("grid {kind}: {e}")) {
                            out.push(format!("{gpu} {engine}: {e}"));
                        }
                    }
                }
            }
        }
    }
    out
}

/// One line per GPU and engine with a table, for `pdplan presets --sources`.
pub fn sources() -> Vec<String> {
    let mut out = Vec::new();
    for (gpu, _) in FILES {
        for (engine, t) in file(gpu).map(|f| &f.engines).into_iter().flatten() {
            let kinds: Vec<&str> = t.latency_us.keys().map(String::as_str).collect();
            out.push(format!(
                "{gpu} {engine} mla_decode_module: heads {}..{}, batch {}..{}, context {}..{}, {} (GEMM/KV) — {}",
                t.heads[0],
                t.heads[t.heads.len() - 1],
                t.batch[0],
                t.batch[t.batch.len() - 1],
                t.context[0],
                t.context[t.context.len() - 1],
                kinds.join(", "),
                t.source
            ));
        }
    }
    out
}

/// The table of one GPU, engine, weight GEMM type and KV dtype.
#[derive(Clone, Copy, Debug)]
pub struct MlaModule {
    table: &'static EngineTable,
    latency_us: &'static Grid,
}

/// Whether the model's attention is DeepSeek-V3's MLA block (the dimensions the table measured).
fn deepseek_mla(task: &Task) -> bool {
    let m = &task.model;
    m.attention == AttentionKind::Mla
        && m.hidden_size == 7168
        && m.mla.as_ref().is_some_and(|a| {
            (
                a.q_lora_rank,
                a.kv_lora_rank,
                a.qk_nope_head_dim,
                a.qk_rope_head_dim,
                a.v_head_dim,
            ) == (1536, 512, 128, 64, 128)
        })
}

impl MlaModule {
    /// The table for `task` on the measured GPU `gpu` (see the module documentation for when
    /// there is one).
    pub fn for_task(task: &Task, gpu: &str) -> Option<MlaModule> {
        if !deepseek_mla(task) {
            return None;
        }
        let gemm = match task.model.dtype {
            Dtype::Bf16 => "bf16",
            // The table measures FP8 weights block-scaled only, as DeepSeek's and Kimi's
            // published FP8 checkpoints are (`quantization_config.weight_block_size` [128, 128]).
            Dtype::Fp8 => "fp8_block",
            _ => return None,
        };
        let kv = match task.model.kv_cache_dtype {
            Dtype::Bf16 => "bf16",
            Dtype::Fp8 => "fp8",
            _ => return None,
        };
        let table = file(gpu)?.engines.get(engine_key(task.cost.engine))?;
        let latency_us = table.latency_us.get(&format!("{gemm}/{kv}"))?.get()?;
        Some(MlaModule { table, latency_us })
    }

    /// The table for `task` on its own GPU, or on the measured sibling whose tables it borrows
    /// ([`super::profile::borrows_own_architecture`]); `None` on a GPU running another
    /// architecture's curves.
    pub fn of_task(task: &Task) -> Option<MlaModule> {
        let (p, measured) = super::profile::gpu_profile(task)?;
        (measured || super::profile::borrows_own_architecture(task))
            .then(|| MlaModule::for_task(task, &p.gpu))
            .flatten()
    }

    /// Where the table comes from.
    pub fn source(&self) -> &'static str {
        &self.table.source
    }

    /// Seconds per layer at `heads` heads per GPU, `batch` sequences and `context` tokens of KV:
    /// bilinear in (log batch, log context) between the four measured neighbours; `None` off the
    /// grid (heads not measured, batch below 1 or above the largest, context above the largest,
    /// a neighbour not measured). A context below the smallest measured (2) reads as 2.
    pub fn latency_s(&self, heads: f64, batch: f64, context: f64) -> Option<f64> {
        let t = self.table;
        let h = t.heads.iter().position(|&x| x == heads)?;
        let (b0, b1, wb) = bracket(&t.batch, batch)?;
        let (c0, c1, wc) = bracket(&t.context, context.max(t.context[0]))?;
        let at = |b: usize, c: usize| self.latency_us[h][b][c];
        let lo = at(b0, c0)? * (1.0 - wc) + at(b0, c1)? * wc;
        let hi = at(b1, c0)? * (1.0 - wc) + at(b1, c1)? * wc;
        Some((lo * (1.0 - wb) + hi * wb) * 1e-6)
    }
}

/// The grid points around `x` and its weight toward the upper one (in log space); `None` outside.
fn bracket(grid: &[f64], x: f64) -> Option<(usize, usize, f64)> {
    let (first, last) = (*grid.first()?, *grid.last()?);
    if !(first..=last).contains(&x) {
        return None;
    }
    let hi = grid.partition_point(|&g| g < x).min(grid.len() - 1);
    if grid[hi] == x || hi == 0 {
        return Some((hi, hi, 0.0));
    }
    let lo = hi - 1;
    Some((lo, hi, (x / grid[lo]).ln() / (grid[hi] / grid[lo]).ln()))
}
