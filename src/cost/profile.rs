//! Kernel profiles: measured efficiency of each kernel class, per GPU and engine.
//!
//! The numbers are derived by `scripts/derive_kernel_params.py` from the kernel tables NVIDIA
//! publishes in the `aiconfigurator-core` PyPI package (Apache-2.0; TensorRT-LLM, vLLM and SGLang
//! kernels timed on each GPU) into `models/kernels/*.json`, which are embedded here with
//! `include_str!`: costing never reads a file. Every curve carries its source (GPU, engine,
//! version, table); `pdplan presets --sources` lists them.
//!
//! A kernel of a class takes `launch_s + max(F / (P·c(x)), B / (H·b(x)))`
//! (roofline of Williams et al., CACM 2009, with efficiencies measured per size instead of one
//! MFU): `P` and `H` are the task's peak FLOP/s and HBM bandwidth, `c(x)` and `b(x)` the achieved
//! fractions measured at size `x` (tokens for a GEMM, tokens per expert for a grouped MoE GEMM,
//! sequence length for prefill attention, KV bytes for decode attention), interpolated linearly
//! in `log x` and held constant beyond the measured range.
//!
//! **How the task's MFU and bandwidth-utilization lines combine with the curves.** The MFU line is
//! the efficiency of a large BF16 GEMM, the bandwidth-utilization line that of a large
//! memory-bound GEMV (M = 1). Every compute curve is multiplied by `mfu / c_ref` and every memory
//! curve by `bandwidth_utilization / b_ref`, where `c_ref` / `b_ref` are those two figures as
//! measured in the reference profile of the GPU (TensorRT-LLM's tables). The GPU presets set
//! `mfu` and `bandwidth_utilization` to exactly those measured figures, so a task that names a
//! GPU preset runs on the measured curves unchanged; a task that states its own MFU scales every
//! class by the same ratio, and a GPU given only by its numbers (no profile) uses the H100-SXM
//! curves carried over to its peak and bandwidth ([`super::kernels::Transfer`]: the saturated
//! compute at its peak, the loss below the plateau as time scaled by bandwidth; stated in the plan).

use super::lazy_json::{Lazy, Prepare};
use crate::spec::task::{Engine, Task};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Efficiency of one kernel class as a function of its size `x`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Curve {
    /// Sizes measured (ascending).
    #[serde(default)]
    pub x: Vec<f64>,
    /// Achieved fraction of the dense peak at each size (empty: not compute-limited).
    #[serde(default, alias = "c")]
    pub compute: Vec<f64>,
    /// Achieved fraction of HBM bandwidth at each size (empty: see `memory_plateau`).
    #[serde(default, alias = "m")]
    pub memory: Vec<f64>,
    /// Achieved fraction of HBM bandwidth of a class measured as one plateau.
    #[serde(default)]
    pub memory_plateau: Option<f64>,
    /// Fixed time of one launch of the class's kernel, seconds.
    pub launch_s: f64,
    /// Of a grouped-MoE curve of one expert-size class: the class holds expert slices of fewer
    /// elements than this (`hidden × intermediate / expert_tp` on one GPU; `None`: no bound).
    #[serde(default)]
    pub slice_elements_below: Option<f64>,
    /// Of a grouped-MoE curve of one expert-size class: the class holds GPUs with fewer local
    /// experts than this (`experts / ep`; `None`: no bound). Classes of one slice bound come in
    /// ascending order of this bound, the last unbounded.
    #[serde(default)]
    pub local_experts_below: Option<f64>,
    /// Where the numbers were measured (a per-shape MoE curve: its table's, [`super::moe_shapes`]).
    #[serde(default)]
    pub source: String,
    /// Of a grouped-MoE curve: its kernels' time under the heavier routing skew the table
    /// measures (power-law alpha 1.2) over their time under the curve's own (1.01), at each size,
    /// from EP > 1 rows (non-decreasing, at least 1; empty: 1 everywhere). Read for a model of
    /// [`crate::spec::task::RoutingSkew::High`] on an EP layout ([`Curve::skew_at`]).
    #[serde(default, alias = "s")]
    pub skew: Vec<f64>,
    /// `ln x` of the measured sizes (filled once when the profiles are parsed).
    #[serde(skip)]
    ln_x: Vec<f64>,
}

/// Where a size falls on a curve: the segment `i − 1 .. i` and the weight of point `i`.
#[derive(Clone, Copy, Debug)]
pub struct At {
    i: usize,
    w: f64,
}

impl Prepare for Curve {
    fn prepare(mut self) -> Curve {
        Curve::prepare(&mut self);
        self
    }
}

impl Curve {
    fn prepare(&mut self) {
        self.ln_x = self.x.iter().map(|v| v.max(1e-300).ln()).collect();
    }
    /// [`Curve::skew`] at size `x` (interpolated in `log x`; 1 without it).
    pub fn skew_at(&self, x: f64) -> f64 {
        if self.skew.len() != self.x.len() || self.skew.is_empty() {
            return 1.0;
        }
        let At { i, w } = self.locate(x);
        if i == 0 {
            return self.skew[0];
        }
        (1.0 - w) * self.skew[i - 1] + w * self.skew[i]
    }

    /// Locate size `x` (linear interpolation in `log x`, clamped to the measured range).
    pub fn locate(&self, x: f64) -> At {
        let lx = &self.ln_x;
        let n = lx.len();
        if n == 0 || x <= self.x[0] {
            return At { i: 0, w: 1.0 };
        }
        if x >= self.x[n - 1] {
            return At { i: n - 1, w: 1.0 };
        }
        let i = self.x.partition_point(|&v| v <= x).clamp(1, n - 1);
        let w = (x.ln() - lx[i - 1]) / (lx[i] - lx[i - 1]);
        At { i, w }
    }
    fn value(ys: &[f64], at: At) -> f64 {
        match ys.len() {
            0 => 1.0,
            n if at.i >= n => ys[n - 1],
            _ if at.i == 0 || at.w >= 1.0 => ys[at.i],
            _ => ys[at.i - 1] + at.w * (ys[at.i] - ys[at.i - 1]),
        }
    }
    /// Achieved fraction of peak at a located size.
    pub fn compute_of(&self, at: At) -> f64 {
        Self::value(&self.compute, at).max(1e-4)
    }
    /// Achieved fraction of HBM bandwidth at a located size.
    pub fn memory_of(&self, at: At) -> f64 {
        match self.memory_plateau {
            Some(p) if self.memory.is_empty() => p,
            _ => Self::value(&self.memory, at).max(1e-4),
        }
    }
    /// Achieved fraction of peak at size `x`.
    pub fn compute_at(&self, x: f64) -> f64 {
        self.compute_of(self.locate(x))
    }
    /// Achieved fraction of HBM bandwidth at size `x`.
    pub fn memory_at(&self, x: f64) -> f64 {
        self.memory_of(self.locate(x))
    }
}

/// The dense GEMM's achieved fractions of peak and of HBM bandwidth at every (N, K, M) a table
/// measures (`scripts/derive_kernel_params.py`, `gemm_grid`: one kernel per point, no medians),
/// read by trilinear interpolation in `log N`, `log K`, `log M`, clamped to the measured ranges:
/// a GEMM of a model's own shape (N, K among the tables' 256..65,536, which hold the usual hidden
/// and intermediate sizes) is costed at its own measured efficiency.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GemmGrid {
    pub n: Vec<f64>,
    pub k: Vec<f64>,
    pub m: Vec<f64>,
    /// Fraction of peak at `((i_n · |k|) + i_k) · |m| + i_m`.
    pub compute: Vec<f64>,
    /// Fraction of HBM bandwidth, same order.
    pub memory: Vec<f64>,
    pub launch_s: f64,
    pub source: String,
    #[serde(skip)]
    ln: [Vec<f64>; 3],
}

impl Prepare for GemmGrid {
    fn prepare(mut self) -> Self {
        let ln = |v: &[f64]| v.iter().map(|x| x.max(1e-300).ln()).collect::<Vec<_>>();
        self.ln = [ln(&self.n), ln(&self.k), ln(&self.m)];
        let size = self.n.len() * self.k.len() * self.m.len();
        if size == 0 || self.compute.len() != size || self.memory.len() != size {
            // Malformed: every lookup falls back to the curves (`Kernels::gemm_time`).
            self.n.clear();
        }
        self
    }
}

impl GemmGrid {
    /// Lower index and weight of the upper point of `x` on an axis (clamped).
    fn segment(xs: &[f64], ln: &[f64], x: f64) -> (usize, f64) {
        let n = xs.len();
        if n < 2 || x <= xs[0] {
            return (0, 0.0);
        }
        if x >= xs[n - 1] {
            return (n - 2, 1.0);
        }
        let i = xs.partition_point(|&v| v <= x).clamp(1, n - 1);
        (i - 1, (x.ln() - ln[i - 1]) / (ln[i] - ln[i - 1]))
    }

    /// Whether the grid can be read (parsed with every point).
    pub fn usable(&self) -> bool {
        self.n.len() >= 2 && self.k.len() >= 2 && self.m.len() >= 2
    }

    /// Where `m` falls on the M axis: `(lower level, weight of the upper)`, and whether `m` lies
    /// strictly inside the measured range (outside, the nearest level's efficiencies apply).
    pub fn m_segment(&self, m: f64) -> (usize, f64, bool) {
        let (l, w) = Self::segment(&self.m, &self.ln[2], m);
        let inside = m > self.m[0] && m < self.m[self.m.len() - 1];
        (l, w, inside)
    }

    /// Where an `n × k` matrix falls on the N and K axes (clamped): the four corners' offsets and
    /// bilinear weights in `log N`, `log K`, for [`GemmGrid::at_level`].
    pub fn locate(&self, n: f64, k: f64) -> [(usize, f64); 4] {
        let (i, wi) = Self::segment(&self.n, &self.ln[0], n);
        let (j, wj) = Self::segment(&self.k, &self.ln[1], k);
        let (nk, nm) = (self.k.len(), self.m.len());
        let at = |a: usize, b: usize| (a * nk + b) * nm;
        [
            (at(i, j), (1.0 - wi) * (1.0 - wj)),
            (at(i, j + 1), (1.0 - wi) * wj),
            (at(i + 1, j), wi * (1.0 - wj)),
            (at(i + 1, j + 1), wi * wj),
        ]
    }

    /// `(fraction of peak, fraction of HBM bandwidth)` at the grid's M level `level` of the
    /// matrix [`GemmGrid::locate`] placed.
    pub fn at_level(&self, corners: &[(usize, f64); 4], level: usize) -> (f64, f64) {
        let (mut c, mut b) = (0.0, 0.0);
        for &(at, w) in corners {
            c += w * self.compute[at + level];
            b += w * self.memory[at + level];
        }
        (c.max(1e-4), b.max(1e-4))
    }
}

/// A [`GemmGrid`] parsed on first use.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct LazyGrid(Lazy<GemmGrid>);

impl LazyGrid {
    /// The grid, when present, parsed and complete.
    pub fn get(&self) -> Option<&GemmGrid> {
        self.0.get().filter(|g| g.usable())
    }
}

/// Latency and achieved fraction of the nominal link bandwidth of one collective.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct LinkFit {
    pub latency_s: f64,
    pub link_efficiency: f64,
}

/// All-reduce inside a node, per group size.
#[derive(Clone, Debug, Deserialize)]
pub struct AllReduceGroup {
    pub gpus: u64,
    pub latency_s: f64,
    /// Bus bandwidth (NCCL's `2(n−1)/n · bytes / t`) over the nominal per-GPU NVLink bandwidth.
    pub bus_efficiency: f64,
    /// Message sizes measured (bytes, ascending) and the bus efficiency after `latency_s` at each:
    /// mid-size messages (decode's tens of KB to a few MB) run far below the large-message
    /// figure. Empty: `bus_efficiency` at every size.
    #[serde(default)]
    pub bytes: Vec<f64>,
    #[serde(default)]
    pub bus_efficiency_at: Vec<f64>,
    /// `ln` of `bytes` (filled once when the profiles are parsed).
    #[serde(skip)]
    ln_bytes: Vec<f64>,
}

impl AllReduceGroup {
    /// Bus efficiency for a message of `bytes` (linear in `log bytes` between measured sizes,
    /// held constant beyond them).
    pub fn efficiency(&self, bytes: f64) -> f64 {
        let (xs, ys) = (&self.bytes, &self.bus_efficiency_at);
        let n = xs.len().min(ys.len()).min(self.ln_bytes.len());
        if n == 0 {
            return self.bus_efficiency;
        }
        if bytes <= xs[0] {
            return ys[0].max(1e-4);
        }
        if bytes >= xs[n - 1] {
            return ys[n - 1].max(1e-4);
        }
        let i = xs[..n].partition_point(|&v| v <= bytes).clamp(1, n - 1);
        let lx = &self.ln_bytes;
        let w = (bytes.ln() - lx[i - 1]) / (lx[i] - lx[i - 1]);
        (ys[i - 1] + w * (ys[i] - ys[i - 1])).max(1e-4)
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct AllReduce {
    pub groups: Vec<AllReduceGroup>,
    pub source: String,
}

/// DeepEP dispatch and combine inside one node.
#[derive(Clone, Debug, Deserialize)]
pub struct DeepEp {
    pub dispatch: LinkFit,
    pub combine: LinkFit,
    /// SMs the kernels occupy while they run (normal kernels; low-latency kernels use none).
    #[serde(default)]
    pub sms: Option<u64>,
    pub source: String,
}

/// A list of curves parsed (and prepared) on first use ([`Lazy`]). The grouped-MoE classes by
/// expert slice are ~90 % of an engine's curves and a solve reads one precision's list: parsing
/// both with the engine was ~40 % of the profile's parse on every process's first solve.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct LazyCurves(Lazy<Vec<Curve>>);

impl Prepare for Vec<Curve> {
    fn prepare(mut self) -> Self {
        for c in &mut self {
            c.prepare();
        }
        self
    }
}

impl LazyCurves {
    /// The curves (empty when absent, or when their JSON does not parse, which
    /// [`parse_errors`] reports).
    pub fn get(&self) -> &[Curve] {
        self.0.get().map_or(&[], Vec::as_slice)
    }
}

/// The kernel classes of one engine on one GPU.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct EngineKernels {
    pub gemm_bf16: Curve,
    #[serde(default)]
    pub gemm_fp8: Option<Curve>,
    /// FP8 GEMM with 128 × 128 block scales (the DeepSeek-V3 recipe; models whose preset says
    /// their FP8 checkpoint is block-scaled, [`crate::spec::presets::ModelPreset::fp8_block_scales`]).
    /// Measured at every M the table has, not binned: its time steps at the kernel's 128-row tile
    /// (see `scripts/derive_kernel_params.py`, `GRID_M_BLOCK`).
    #[serde(default)]
    pub gemm_fp8_block: Option<Curve>,
    /// The dense GEMM at every measured (N, K, M) ([`GemmGrid`]): at the same M the fraction of
    /// peak and of HBM bandwidth a GEMM reaches depends on N and K; preferred to the one curve.
    #[serde(default)]
    pub gemm_bf16_grid: LazyGrid,
    #[serde(default)]
    pub gemm_fp8_grid: LazyGrid,
    /// The block-scaled FP8 GEMM at every measured (N, K, M), M at the exact points the table
    /// measures (its time steps at the 128-row tile).
    #[serde(default)]
    pub gemm_fp8_block_grid: LazyGrid,
    /// The activation quantization the per-tensor FP8 GEMM rows include
    /// ([`super::fp8_quant`]): subtracted where the engine does not run it.
    #[serde(default)]
    pub fp8_quant: Option<super::fp8_quant::Fp8Quant>,
    #[serde(default)]
    pub moe_bf16: Option<Curve>,
    #[serde(default)]
    pub moe_fp8: Option<Curve>,
    /// The grouped MoE GEMM per expert-size class (ascending bounds; see
    /// `scripts/derive_kernel_params.py`, `moe_by_slice`): at the same tokens per expert a GPU
    /// holding a larger expert slice reaches a larger fraction of peak.
    #[serde(default)]
    pub moe_bf16_by_slice: LazyCurves,
    #[serde(default)]
    pub moe_fp8_by_slice: LazyCurves,
    pub attention_prefill: Curve,
    /// Prefill attention with FP8 queries and KV cache, relative to the FP8 peak.
    #[serde(default)]
    pub attention_prefill_fp8: Option<Curve>,
    pub attention_decode: Curve,
    #[serde(default)]
    pub mla_prefill: Option<Curve>,
    #[serde(default)]
    pub mla_decode: Option<Curve>,
    #[serde(default)]
    pub elementwise: Option<Curve>,
    pub all_reduce: AllReduce,
    /// NCCL all-gather + reduce-scatter of one buffer, in the all-reduce's form (`scripts/
    /// derive_kernel_params.py`, `gather_scatter`).
    #[serde(default)]
    pub gather_scatter: Option<AllReduce>,
}

/// Datasheet numbers the efficiencies were normalized with.
#[derive(Clone, Debug, Deserialize)]
pub struct SystemSpec {
    pub peak_flops_per_s: BTreeMap<String, f64>,
    pub hbm_bytes_per_s: f64,
    pub intra_node_bytes_per_s: f64,
    pub inter_node_bytes_per_s: f64,
    /// Streaming multiprocessors of the GPU (datasheet).
    pub sms: u64,
    pub source: String,
}

/// One `models/kernels/<gpu>.json` with its engines' `models/kernels/<gpu>.<engine>.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct GpuProfile {
    pub gpu: String,
    pub generated_by: String,
    pub system: SystemSpec,
    /// From the engine files ([`Profile::parse`]), not from the GPU's own.
    #[serde(skip)]
    pub engines: Engines,
    /// Per engine, the grouped MoE GEMM of each measured expert shape and layout
    /// (`models/kernels/<gpu>.<engine>.moe.json`, [`super::moe_shapes`]): the file's text, whose
    /// lines of a model's shape are parsed when a MoE task asks.
    #[serde(skip)]
    pub moe_shapes: BTreeMap<String, &'static str>,
    #[serde(default)]
    pub deepep_ll: Option<DeepEp>,
    #[serde(default)]
    pub deepep_normal: Option<DeepEp>,
    /// DeepEP's low-latency kernels across nodes (RDMA), fitted to DeepEP's own published table
    /// (the same for every GPU: the NIC bounds it).
    #[serde(default)]
    pub deepep_ll_internode: Option<DeepEp>,
}

impl Prepare for EngineKernels {
    /// Fill the curves' cached logarithms (once, when the engine is parsed).
    fn prepare(mut self) -> EngineKernels {
        let k = &mut self;
        let optional = [
            &mut k.gemm_fp8,
            &mut k.gemm_fp8_block,
            &mut k.attention_prefill_fp8,
            &mut k.moe_bf16,
            &mut k.moe_fp8,
            &mut k.mla_prefill,
            &mut k.mla_decode,
            &mut k.elementwise,
        ];
        for c in optional.into_iter().flatten() {
            c.prepare();
        }
        let gather_scatter = k.gather_scatter.iter_mut().flat_map(|a| a.groups.iter_mut());
        for g in k.all_reduce.groups.iter_mut().chain(gather_scatter) {
            g.ln_bytes = g.bytes.iter().map(|v| v.max(1e-300).ln()).collect();
        }
        for c in [
            &mut k.gemm_bf16,
            &mut k.attention_prefill,
            &mut k.attention_decode,
        ] {
            c.prepare();
        }
        self
    }
}

/// The engines of one profile, each parsed on first use ([`Lazy`]): a solve reads one engine's
/// curves, and the three engines' JSON (most of it the grouped-MoE classes by slice and local
/// experts) would otherwise be parsed on every solve.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct Engines(BTreeMap<String, Lazy<EngineKernels>>);

impl Engines {
    /// The kernels of engine `name` (`None`: not in the profile, or its JSON does not parse,
    /// which `parse_errors` reports).
    pub fn get(&self, name: &str) -> Option<&EngineKernels> {
        self.0.get(name)?.get()
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Every engine that parses, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &EngineKernels)> {
        self.0
            .iter()
            .filter_map(|(k, e)| e.get().map(|e| (k.as_str(), e)))
    }
    pub fn values(&self) -> impl Iterator<Item = &EngineKernels> {
        self.iter().map(|(_, e)| e)
    }
    /// Every engine's parse errors, its lazily parsed curve lists included.
    fn errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, engine) in &self.0 {
            match engine.parse() {
                Err(e) => out.push(format!("engine {name}: {e}")),
                Ok(None) => {}
                Ok(Some(k)) => {
                    for (list, curves) in [
                        ("moe_bf16_by_slice", &k.moe_bf16_by_slice),
                        ("moe_fp8_by_slice", &k.moe_fp8_by_slice),
                    ] {
                        if let Err(e) = curves.0.parse() {
                            out.push(format!("engine {name} {list}: {e}"));
                        }
                    }
                    for (list, grid) in [
                        ("gemm_bf16_grid", &k.gemm_bf16_grid),
                        ("gemm_fp8_grid", &k.gemm_fp8_grid),
                    ] {
                        match grid.0.parse() {
                            Err(e) => out.push(format!("engine {name} {list}: {e}")),
                            Ok(Some(g)) if !g.usable() => {
                                out.push(format!("engine {name} {list}: not a complete N × K × M grid"))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        out
    }
}

/// One embedded profile: the GPU's file (system, DeepEP) and one file per engine, so that a solve
/// parses its engine's JSON without scanning the others' (the engines are ~99 % of a profile:
/// finding one engine inside a single file meant scanning all ~180 kB, ~2.3M instructions).
struct Profile {
    file: &'static str,
    text: &'static str,
    /// `(engine, its kernel file, its per-shape MoE file)`.
    engines: &'static [(&'static str, &'static str, &'static str)],
}

/// `models/kernels/<gpu>.json` and its engines' `models/kernels/<gpu>.<engine>.json`, embedded.
macro_rules! profile {
    ($gpu:literal: $($engine:literal),+) => {
        Profile {
            file: concat!("models/kernels/", $gpu, ".json"),
            text: include_str!(concat!("../../models/kernels/", $gpu, ".json")),
            engines: &[$((
                $engine,
                include_str!(concat!("../../models/kernels/", $gpu, ".", $engine, ".json")),
                include_str!(concat!("../../models/kernels/", $gpu, ".", $engine, ".moe.json")),
            )),+],
        }
    };
}

/// The embedded profiles.
const FILES: [Profile; 4] = [
    profile!("h100-sxm": "sglang", "trtllm", "vllm"),
    profile!("h200": "sglang", "trtllm", "vllm"),
    profile!("a100-80g": "sglang", "trtllm", "vllm"),
    profile!("b200": "sglang", "trtllm", "vllm"),
];

impl Profile {
    /// The GPU's file parsed, its engines attached unparsed ([`Lazy`]).
    fn parse(&self) -> Result<GpuProfile, serde_json::Error> {
        let mut p = serde_json::from_str::<GpuProfile>(self.text)?;
        p.engines = Engines(
            self.engines
                .iter()
                .map(|(name, text, _)| (name.to_string(), Lazy::new(text)))
                .collect(),
        );
        p.moe_shapes = self
            .engines
            .iter()
            .map(|(name, _, moe)| (name.to_string(), *moe))
            .collect();
        Ok(p)
    }
}

/// Every embedded profile, parsed once. A file that does not parse is a build defect caught by
/// the tests (`profiles_parse`); it is skipped here rather than aborting a solve.
pub fn profiles() -> &'static [GpuProfile] {
    static CELL: OnceLock<Vec<GpuProfile>> = OnceLock::new();
    CELL.get_or_init(|| FILES.iter().filter_map(|f| f.parse().ok()).collect())
}

/// The profile in `models/kernels/<gpu in lower case>.json`, parsed once; `None` when there is no
/// such file or it does not parse.
fn profile_file(gpu: &str) -> Option<&'static GpuProfile> {
    static CELLS: [OnceLock<Option<GpuProfile>>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];
    let file = format!("models/kernels/{}.json", gpu.to_lowercase());
    let i = FILES.iter().position(|f| f.file == file)?;
    CELLS[i].get_or_init(|| FILES[i].parse().ok()).as_ref()
}

/// Parse errors of the embedded profiles (for the test that keeps them valid).
pub fn parse_errors() -> Vec<String> {
    FILES
        .iter()
        .flat_map(|f| match f.parse() {
            Ok(p) => p
                .engines
                .errors()
                .into_iter()
                .chain(moe_shape_errors(&p))
                .map(|e| format!("{}: {e}", f.file))
                .collect(),
            Err(e) => vec![format!("{}: {e}", f.file)],
        })
        .collect()
}

/// Parse errors of a profile's per-shape MoE files, line by line.
fn moe_shape_errors(p: &GpuProfile) -> Vec<String> {
    let lines = p.moe_shapes.iter().flat_map(|(engine, text)| {
        super::moe_shapes::line_errors(text)
            .into_iter()
            .map(move |e| format!("{engine}.moe.json: {e}"))
    });
    lines.collect()
}

/// The GPU whose curves stand in for a GPU without a profile.
pub const REFERENCE_GPU: &str = "H100-SXM";
/// The engine whose large-kernel figures define what the task's MFU / bandwidth lines mean.
pub const REFERENCE_ENGINE: &str = "trtllm";

/// GPU presets measured on a sibling with the same chip and memory: H800 is an H100 SXM with
/// reduced NVLink / FP64 (NVIDIA H800 datasheet), so its kernels are H100's.
fn profile_name(preset: &str) -> &str {
    match preset {
        "H800" => "H100-SXM",
        other => other,
    }
}

/// The measured GPU whose curves stand in for a GPU without a profile: one of its own
/// architecture where there is one — GB200 is the B200 chip at a higher power limit and B300
/// (Blackwell Ultra) keeps its tensor-core generation and HBM3e (NVIDIA DGX B300 / GB200 NVL72
/// datasheets), so both run on the B200 tables carried over to their peak and bandwidth —
/// else the reference GPU (H100-SXM: the H20, AMD and Ascend cards).
fn family_reference(preset: &str) -> &'static str {
    match preset {
        "GB200" | "B300" => "B200",
        _ => REFERENCE_GPU,
    }
}

/// Whether the task's GPU, without a profile of its own, borrows one of its own architecture
/// ([`family_reference`] other than the generic reference): its measured whole-block tables
/// (`super::mla_module`) then apply as measured on the sibling.
pub fn borrows_own_architecture(task: &Task) -> bool {
    task.hardware
        .preset
        .as_deref()
        .is_some_and(|p| family_reference(p) != REFERENCE_GPU)
}

/// The profile of a task's GPU: `(profile, measured)`; `measured = false` when the GPU has no
/// profile and the reference GPU's curves stand in, scaled to its numbers. `None` only if no
/// profile is embedded (ruled out by the tests).
pub fn gpu_profile(task: &Task) -> Option<(&'static GpuProfile, bool)> {
    let named = task.hardware.preset.as_deref().map(profile_name);
    let reference = task
        .hardware
        .preset
        .as_deref()
        .map_or(REFERENCE_GPU, family_reference);
    // The file named after the GPU alone, when it holds that GPU: a solve parses one profile,
    // not all of them (they are ~50 kB of JSON each).
    for gpu in named.into_iter().chain([reference, REFERENCE_GPU]) {
        if let Some(p) = profile_file(gpu).filter(|p| p.gpu == gpu) {
            return Some((p, named == Some(gpu)));
        }
    }
    let all = profiles();
    if let Some(p) = named.and_then(|n| all.iter().find(|p| p.gpu == n)) {
        return Some((p, true));
    }
    let reference = all
        .iter()
        .find(|p| p.gpu == REFERENCE_GPU)
        .or_else(|| all.first());
    reference.map(|p| (p, false))
}

/// Which engine's tables serve `engine` (`any` = the reference engine's kernels).
pub fn engine_key(engine: Engine) -> &'static str {
    match engine {
        Engine::Trtllm | Engine::Any | Engine::Unrestricted => "trtllm",
        Engine::Vllm => "vllm",
        Engine::Sglang => "sglang",
    }
}

/// One line per curve: class, measured size range, large-size efficiency, launch cost, source.
fn curve_line(name: &str, c: &Curve) -> String {
    let last = |v: &[f64]| v.last().copied();
    let range = match (c.x.first(), c.x.last()) {
        (Some(a), Some(b)) => format!("x {a}..{b}"),
        _ => "plateau".to_string(),
    };
    let compute = last(&c.compute).map_or(String::new(), |v| format!(" compute {v:.3}"));
    let memory = c
        .memory
        .first()
        .copied()
        .or(c.memory_plateau)
        .map_or(String::new(), |v| format!(" memory {v:.3}"));
    format!(
        "    {name:<18} {range}{compute}{memory} launch {:.1} µs — {}\n",
        c.launch_s * 1e6,
        c.source
    )
}

fn engine_lines(out: &mut String, name: &str, k: &EngineKernels) {
    out.push_str(&format!("  engine {name}\n"));
    let optional = [
        ("gemm_fp8", &k.gemm_fp8),
        ("gemm_fp8_block", &k.gemm_fp8_block),
        ("attention_prefill_fp8", &k.attention_prefill_fp8),
        ("moe_bf16", &k.moe_bf16),
        ("moe_fp8", &k.moe_fp8),
        ("mla_prefill", &k.mla_prefill),
        ("mla_decode", &k.mla_decode),
        ("elementwise", &k.elementwise),
    ];
    out.push_str(&curve_line("gemm_bf16", &k.gemm_bf16));
    out.push_str(&curve_line("attention_prefill", &k.attention_prefill));
    out.push_str(&curve_line("attention_decode", &k.attention_decode));
    for (n, c) in optional {
        if let Some(c) = c {
            out.push_str(&curve_line(n, c));
        }
    }
    for (n, cs) in [
        ("moe_bf16/slice", k.moe_bf16_by_slice.get()),
        ("moe_fp8/slice", k.moe_fp8_by_slice.get()),
    ] {
        for c in cs {
            out.push_str(&curve_line(n, c));
        }
    }
    for (n, grid) in [
        ("gemm_bf16/grid", k.gemm_bf16_grid.get()),
        ("gemm_fp8/grid", k.gemm_fp8_grid.get()),
        ("gemm_fp8_block/grid", k.gemm_fp8_block_grid.get()),
    ] {
        if let Some(g) = grid {
            out.push_str(&format!(
                "    {n:<18} {} N × {} K × {} M points launch {:.1} µs — {}\n",
                g.n.len(),
                g.k.len(),
                g.m.len(),
                g.launch_s * 1e6,
                g.source
            ));
        }
    }
    if let Some(q) = k.fp8_quant.as_ref().filter(|q| q.usable()) {
        out.push_str(&format!(
            "    {:<18} {} K × {} M points{} — {}\n",
            "fp8_quant",
            q.k.len(),
            q.m.len(),
            if q.scale_matrix_s.is_empty() {
                " (scale computation only)"
            } else {
                ""
            },
            q.source
        ));
    }
    let tables = [
        ("all_reduce", Some(&k.all_reduce)),
        ("gather_scatter", k.gather_scatter.as_ref()),
    ];
    for (name, table) in tables {
        for g in table.iter().flat_map(|t| t.groups.iter()) {
            out.push_str(&format!(
                "    {name} x{:<9} latency {:.1} µs bus efficiency {:.3} — {}\n",
                g.gpus,
                g.latency_s * 1e6,
                g.bus_efficiency,
                table.map_or("", |t| t.source.as_str())
            ));
        }
    }
}

/// Every kernel parameter with its provenance (`pdplan presets --sources`): per GPU profile and
/// engine, each class's measured range, large-size efficiency (compute: largest size; memory:
/// smallest size), launch cost and source table; DeepEP fits; the engine features.
pub fn sources_listing() -> String {
    let mut out = String::from(
        "Kernel parameters (models/kernels/*.json, derived by scripts/derive_kernel_params.py; \
         efficiency = achieved fraction of the datasheet peak / HBM bandwidth / link bandwidth):\n",
    );
    for p in profiles() {
        out.push_str(&format!("{} — {}\n", p.gpu, p.system.source));
        for (name, k) in p.engines.iter() {
            engine_lines(&mut out, name, k);
            let text = p.moe_shapes.get(name).copied().unwrap_or("");
            for (dtype, source, shapes) in super::moe_shapes::summary(text) {
                out.push_str(&format!(
                    "    moe_{dtype}/shape{:<9} {shapes} expert shapes × layouts — {source}\n",
                    ""
                ));
            }
        }
        for (name, d) in [
            ("deepep_ll", &p.deepep_ll),
            ("deepep_normal", &p.deepep_normal),
            ("deepep_ll_internode", &p.deepep_ll_internode),
        ] {
            if let Some(d) = d {
                out.push_str(&format!(
                    "  {name:<20} dispatch {:.1} µs / {:.3}, combine {:.1} µs / {:.3} — {}\n",
                    d.dispatch.latency_s * 1e6,
                    d.dispatch.link_efficiency,
                    d.combine.latency_s * 1e6,
                    d.combine.link_efficiency,
                    d.source
                ));
            }
        }
    }
    out.push_str(
        "Engine features (src/cost/kernels.rs, src/cost/overlap.rs): overlap of the MoE all-to-all \
         where the engine runs one (task line `Batch overlap`; auto = the fastest the engine has at \
         the plan's batch) — sglang wide EP: two-batch (--enable-two-batch-overlap, LMSYS blog \
         2025-05-05; a decode step split by sequences) or single-batch \
         (--enable-single-batch-overlap, sglang#9660: dispatch beside the shared experts, decode \
         combine beside the down GEMM, 3 SMs sending on Hopper), vllm DP + EP from 32 decode / 512 \
         prefill tokens per rank (--enable-dbo, vLLM docs/design/dbo.md), any with EP (DeepSeek \
         Inference System Overview, Feb 2025) or none; not trtllm. How much it hides: from the kernels' \
         own times (no parameter). Grouped expert GEMMs as dense GEMMs per group with EP (DeepGEMM \
         README) — sglang, any; on a GPU without tables each expert computes whole 64-row tiles \
         (WGMMA M, PTX ISA). Host work per step: none charged (overlap schedulers), except SGLang's \
         EAGLE worker under speculative decoding, 1.9 ms per step (sglang#12128 A/B).\n\
         GPUs without a profile use the curves of a measured GPU carried over to their peak and \
         bandwidth (kernels::Transfer): GB200 and B300 the B200's (same architecture), the others \
         H100-SXM's; H800 uses H100-SXM's as they are (same chip and HBM).\n",
    );
    out.push_str(
        "Measured MLA decode blocks (src/cost/mla_module.rs, derived by scripts/derive_mla_module.py):\n",
    );
    for line in super::mla_module::sources() {
        out.push_str(&format!("  {line}\n"));
    }
    preset_sources(&mut out);
    out
}

/// The GPU and model presets' figures with their sources: datasheet numbers, and where each GPU's
/// `mfu` / `bandwidth_utilization` were measured (its own TensorRT-LLM tables, or the preset's
/// notes for a GPU without tables).
fn preset_sources(out: &mut String) {
    use crate::spec::presets;
    out.push_str(
        "GPU presets (models/*.json): peaks and bandwidths from the datasheet in `source`; mfu = \
         large BF16 GEMM efficiency, bandwidth_utilization = M = 1 GEMV efficiency:\n",
    );
    for g in presets::gpus() {
        let table = profile_file(profile_name(&g.name)).and_then(|p| {
            let k = p.engines.get(REFERENCE_ENGINE)?;
            let c = k.gemm_bf16.compute.iter().copied().fold(0.0, f64::max);
            let b = k.gemm_bf16.memory.first().copied()?;
            let same = (c - g.mfu).abs() < 1e-3 && (b - g.bandwidth_utilization).abs() < 1e-3;
            same.then(|| {
                format!(
                    "measured: the {} engine's gemm_bf16 curve of models/kernels/{}.json",
                    REFERENCE_ENGINE,
                    p.gpu.to_lowercase()
                )
            })
        });
        let noted = g.notes.iter().find(|n| n.starts_with("mfu")).cloned();
        let why = table
            .or(noted)
            .unwrap_or_else(|| "not measured for this GPU (the resolver's defaults)".into());
        out.push_str(&format!(
            "  {:<12} mfu {} / bw {} — {why}; datasheet: {}\n",
            g.name, g.mfu, g.bandwidth_utilization, g.source
        ));
    }
    out.push_str("Model presets (models/*.json): shapes from the published config.json:\n");
    for m in presets::models() {
        out.push_str(&format!("  {:<18} — {}\n", m.name, m.source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An engine whose curve lists are parsed on first use still reports a malformed list among
    /// the profile's parse errors (the test that keeps the embedded tables valid relies on it),
    /// and reads it as empty rather than failing the engine.
    #[test]
    fn a_malformed_lazy_curve_list_is_reported() {
        let text: &'static str = r#"{"e": {
            "gemm_bf16": {"launch_s": 0.0, "source": "s"},
            "attention_prefill": {"launch_s": 0.0, "source": "s"},
            "attention_decode": {"launch_s": 0.0, "source": "s"},
            "all_reduce": {"groups": [], "source": "s"},
            "moe_bf16_by_slice": [{"x": [1.0, 2.0], "launch_s": 0.0, "source": "s"}],
            "moe_fp8_by_slice": [{"x": "not a list", "launch_s": 0.0, "source": "s"}]
        }}"#;
        let engines: Engines = serde_json::from_str(text).unwrap();
        let errors = engines.errors();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("moe_fp8_by_slice"), "{errors:?}");
        let k = engines.get("e").unwrap();
        assert!(k.moe_fp8_by_slice.get().is_empty());
        assert_eq!(k.moe_bf16_by_slice.get().len(), 1);
        assert_eq!(
            k.moe_bf16_by_slice.get()[0].ln_x.len(),
            2,
            "prepared on first use"
        );
    }
}
