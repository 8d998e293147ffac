//! Per-task kernel constants: the measured curves of the task's GPU and engine, the rates they
//! scale, and the engine features the step model needs (computed once per task).
//!
//! **A GPU without its own profile** runs on a measured GPU's curves — one of its architecture where
//! there is one (GB200, B300: the B200's), else the H100-SXM's ([`Transfer`]): a kernel
//! takes the longer of two times — its FLOPs at this GPU's saturated rate (the large-GEMM
//! efficiency `mfu`, the same for every compute class: a tensor-core-bound kernel of any class
//! reaches it) and its measured time on the reference scaled by the HBM bandwidth ratio (what the
//! kernel spends below the plateau there — operand traffic, latency, tile quantization, softmax —
//! does not shrink with more FLOP/s; on a card with slower tensor cores Hopper's asynchronous
//! pipelines, TMA loads and warp-specialized softmax, hide it under the longer MMAs instead of
//! adding it to them). Checked on kernels measured on an H20, which has no table
//! (`tests/cost.rs::unprofiled_gpu_matches_kernels_measured_on_it`): FlashAttention-3 forward,
//! head dim 128, causal, 2 × 16 heads × 2,048 tokens, 0.319 ms = 107.8 TFLOP/s
//! (Dao-AILab/flash-attention#1310) is predicted at 0.285 ms (−11 %; before, with the H100
//! attention curve's own plateau, 0.53 of peak, the loss carried as added time and the H20
//! preset's unmeasured MFU 0.5: 0.75 ms, +136 %); FlashMLA decode (64 heads, 128 × 3 queries,
//! 8,192-token latent context, 3.407 ms = 129 TFLOP/s, deepseek-ai/FlashMLA#30) at 3.48 ms
//! (+2 %). Scaling the whole curve by the peak instead would make a
//! small-slice grouped MoE GEMM — 5 % of the H100's FP8 peak at 256 tokens per expert in the
//! measured tables, i.e. ~100 TFLOP/s — run at 5 % of an H20's peak (~15 TFLOP/s), though the
//! kernel is not compute-bound on either card.
//!
//! **No per-step host term** (one exception: SGLang's EAGLE worker under speculative decoding
//! runs with its overlap scheduler off, `super::coeffs::SGLANG_EAGLE_HOST_S`). The fixed costs
//! charged are per kernel launch (each class's measured `launch_s`) and per collective; the
//! host's per-step work (scheduling, input preparation, sampling bookkeeping) is not added:
//! TensorRT-LLM's overlap scheduler, on by
//! default in its PyTorch flow ("Overlap Scheduler", nvidia.github.io/TensorRT-LLM,
//! features/overlap-scheduler), and SGLang's zero-overhead batch scheduler since v0.4 ("no single
//! idle time on the GPU" in five consecutive decode batches under Nsight,
//! lmsys.org/blog/2024-12-04-sglang-v0-4) run it beside the previous step's GPU work;
//! AIConfigurator 0.12's TensorRT-LLM and SGLang backends add none either. vLLM overlaps it by
//! default since v0.14 (async scheduling, vllm-project/vllm#27614; the profile's vLLM tables are
//! v0.24.0), and its default `FULL_AND_PIECEWISE` graph mode replays uniform decode batches as
//! one full CUDA graph (docs.vllm.ai design/cuda_graphs). Older vLLM paid both: piecewise
//! graphs cost ~15 us per layer per forward pass in vLLM's own A/B measurements (vllm#20059:
//! Qwen2.5-1.5B, 28 layers, ITL at QPS 1 5.39 ms piecewise vs 4.97 ms full graph; vllm#51167,
//! H200: 15 us per graph boundary at batch 1, 25 us at batch 4), which vLLM 0.24 still pays in
//! prefill (not charged: ~1 ms per 80-layer pass). The vLLM CI latency rows (`pdplan calibrate`)
//! are fast on every GPU for the dense models since the GEMMs are read on their measured grid
//! (A100 -8 / -8 %, H100 -17 / -18 %, H200 -23 / -22 % for Llama-3 8B / 70B TP4): 1.0-1.7
//! ms per step for 8B and 3-4 ms for 70B, about 30-50 us per layer, consistent with
//! piecewise-graph boundaries of the release they ran, which the rows do not pin; it is not
//! charged, since vLLM's current default replays decode as one full graph and a constant fitted
//! to those rows would be a fit to end-to-end figures.
use super::fp8_quant::Fp8Quant;
pub use super::fp8_quant::GemmInput;
use super::moe_shapes::{ExpertShape, ModelShapes, cached};
use super::profile::{self, AllReduce, Curve, DeepEp, EngineKernels, GemmGrid, GpuProfile};
use crate::spec::task::{Engine, Task};
use std::sync::LazyLock;

/// A curve that leaves the roofline unchanged (efficiency 1, no launch cost): used only when no
/// profile is embedded, which the tests rule out.
static FLAT: LazyLock<Curve> = LazyLock::new(Curve::default);
static NO_ALL_REDUCE: LazyLock<AllReduce> = LazyLock::new(|| AllReduce {
    groups: Vec::new(),
    source: String::new(),
});

/// Shares of the profile GPU's SMs left to compute beside communication kernels:
/// [`Kernels::compute_share_during_comm`] (DeepEP's normal kernels' SMs) and
/// [`Kernels::combine_send_share`] (Blackwell profiles, `b200`, `gb200`, `b300`: 32 SMs sending;
/// else 3). Both 1 without a profile.
fn sm_shares(found: Option<&GpuProfile>) -> (f64, f64) {
    let Some(p) = found else {
        return (1.0, 1.0);
    };
    let sms = p.system.sms.max(1);
    let busy = p.deepep_normal.as_ref().and_then(|n| n.sms).unwrap_or(0);
    let blackwell = p.gpu.starts_with('b') || p.gpu.starts_with("gb");
    let send: u64 = if blackwell { 32 } else { 3 };
    let share = |n: u64| (sms - n.min(sms - 1)) as f64 / sms as f64;
    (share(busy), share(send))
}

/// Whether an engine runs the routed experts of an expert-parallel MoE layer (`ep > 1`, DeepEP
/// dispatch) with DeepGEMM's grouped GEMMs, whose groups run like dense GEMMs of the group's size
/// (DeepGEMM README, "Grouped GEMMs (contiguous / masked layout)": the grouped kernels reach the
/// dense kernels' TFLOPS at the same M per group): SGLang's DeepEP MoE (`--moe-a2a-backend
/// deepep`, LMSYS blog 2025-05-05) and DeepSeek's own system (`any`). TensorRT-LLM and vLLM
/// use their fused-MoE kernels, measured as such in the tables.
pub fn grouped_gemm_as_dense(engine: Engine) -> bool {
    matches!(engine, Engine::Sglang | Engine::Any | Engine::Unrestricted)
}

/// When an engine runs a MoE layer's shared experts on a second CUDA stream beside the router and
/// routed experts, so that the layer takes the longer of the two branches instead of their sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharedExpertsStream {
    /// Never: the branches add (SGLang: its dual-stream path depends on shared-expert fusion and
    /// the MoE backend; `any`).
    Never,
    /// In decode: TensorRT-LLM (`Deepseekv3MoE.forward`, tensorrt_llm/_torch/models/
    /// modeling_deepseekv3.py: `maybe_execute_in_parallel(shared, routed, ..., aux_stream)`; its
    /// multi-stream utility runs the two in parallel only under CUDA graphs, i.e. in generation),
    /// as AIConfigurator 0.12 models it (`OverlapOp` of the routed and shared groups).
    Decode,
    /// In any step of at most this many tokens on the GPU: vLLM (`SharedFusedMoE`'s shared-experts
    /// stream, on unless `VLLM_DISABLE_SHARED_EXPERTS_STREAM`; `VLLM_SHARED_EXPERTS_STREAM_TOKEN_
    /// THRESHOLD` defaults to 256 in vllm/envs.py, larger steps run them in line).
    UpToTokens(u32),
}

impl SharedExpertsStream {
    /// The engine's behaviour (see the variants).
    pub fn of(engine: Engine) -> SharedExpertsStream {
        match engine {
            Engine::Trtllm => SharedExpertsStream::Decode,
            Engine::Vllm => SharedExpertsStream::UpToTokens(256),
            _ => SharedExpertsStream::Never,
        }
    }

    /// Whether a step (decode or not) of `tokens` tokens on the GPU runs the branches side by side.
    pub fn overlaps(self, decode: bool, tokens: f64) -> bool {
        match self {
            SharedExpertsStream::Never => false,
            SharedExpertsStream::Decode => decode,
            SharedExpertsStream::UpToTokens(n) => tokens <= n as f64,
        }
    }
}

/// Whether the task's FP8 weights carry one scale per block (`model.weight_block_size`: from the
/// HF config's `quantization_config.weight_block_size`, or a preset whose FP8 checkpoint says so,
/// [`crate::spec::presets::ModelPreset::fp8_block_scales`]): TensorRT-LLM and SGLang then run
/// DeepGEMM-style block-scaled GEMMs, whose time in M differs from the per-tensor kernel's
/// (aiconfigurator-core 0.12 `gemm_perf.parquet`, `fp8_block` rows: on H100 a 51200 × 5120 GEMM
/// takes 105 us at M = 128 and 232 us at M = 129; per-tensor 119 and 121 us). The tables measure
/// 128 × 128 blocks, the size every published block-scaled checkpoint uses. A model given only by
/// its shape is taken as per-tensor.
pub fn fp8_block_scaled(task: &Task) -> bool {
    task.model.dtype == crate::spec::task::Dtype::Fp8 && task.model.weight_block_size.is_some()
}

/// The task's dense GEMM in an engine's profile: the one curve and the measured grid of its
/// dtype (block-scaled FP8: its exact-M curve and grid; FP8 without an FP8 table: BF16's).
fn dense_gemm(
    task: &Task,
    k: &'static EngineKernels,
    fp8: bool,
) -> (&'static Curve, Option<&'static GemmGrid>) {
    let block = k.gemm_fp8_block.as_ref().filter(|_| fp8_block_scaled(task));
    match (fp8, block, &k.gemm_fp8) {
        (true, Some(b), _) => (b, k.gemm_fp8_block_grid.get()),
        (true, None, Some(f)) => (f, k.gemm_fp8_grid.get()),
        _ => (&k.gemm_bf16, k.gemm_bf16_grid.get()),
    }
}

/// The activation quantization a static per-tensor FP8 task's GEMMs skip, when the engine's
/// profile measures it: FP8 weights with one scale per tensor (not block-scaled, which quantizes
/// its activations per group at run time: the `fp8_block` rows are as run), read on the FP8 table,
/// and activations stated to use static input scales
/// ([`crate::spec::task::Model::static_activation_scales`]; not stated: the rows as measured, see
/// [`super::fp8_quant`] for why).
fn static_fp8_quant(task: &Task, k: &'static EngineKernels, fp8: bool) -> Option<&'static Fp8Quant> {
    let per_tensor = fp8 && k.gemm_fp8.is_some() && !fp8_block_scaled(task);
    let q = k.fp8_quant.as_ref().filter(|q| q.usable())?;
    (per_tensor && task.model.static_activation_scales).then_some(q)
}

/// Where a layout of the task's expert shape finds its measured grouped GEMM.
#[derive(Clone, Copy, Debug)]
pub struct ShapeLookup {
    pub table: &'static ModelShapes,
    /// Whether the table's kernel is the one the engine runs on layouts that dispatch with
    /// DeepEP too. Not vLLM's: its tables time the fused-MoE Triton kernel, while with DeepEP it
    /// runs DeepGEMM's grouped GEMMs on block-FP8 weights ("DeepGEMM enabled by default", vLLM's
    /// large-scale serving post); per shape that kernel read 2-3x slow there (`pdplan
    /// calibrate`, the vLLM DeepSeek-R1 DP16/EP16 prefill -44 -> -65 %, DP32/EP32 decode +4 ->
    /// -39 %), so those layouts keep the class curves (its gathering EP layouts run the Triton
    /// kernel the table times).
    pub on_deepep: bool,
}

/// The measured layouts of the task's expert shape in the per-shape MoE file of its engine (or
/// the reference engine's, as [`pick`]), FP8 (`fp8`: FP8 experts where the engine measures FP8
/// MoE, as the class curves) or BF16; `None` for a dense model or a shape the table does not hold.
fn shape_table(task: &Task, p: &'static GpuProfile, fp8: bool) -> Option<ShapeLookup> {
    let moe = task.model.moe.as_ref()?;
    let engine = profile::engine_key(task.cost.engine);
    let text = *p
        .moe_shapes
        .get(engine)
        .or_else(|| p.moe_shapes.get(profile::REFERENCE_ENGINE))?;
    let shape = ExpertShape {
        hidden: task.model.hidden_size,
        inter: moe.expert_intermediate_size,
        experts: moe.experts,
        top_k: moe.top_k,
    };
    let table = cached(text, if fp8 { "fp8" } else { "bf16" }, shape)?;
    Some(ShapeLookup {
        table,
        on_deepep: task.cost.engine != Engine::Vllm,
    })
}

/// The prefill attention curve: MLA's for MLA models; with 8-bit weights and an 8-bit KV cache
/// (attention at the FP8 peak, [`super::time::attention_flops_ratio`]) the one measured with FP8
/// attention, relative to that peak (TensorRT-LLM 1.3 on H200: FP8 is 1.2-1.3x faster than BF16
/// at the same shape, not the 2x of the peaks); else BF16's.
fn prefill_curve(task: &Task, k: &'static EngineKernels, mla: bool) -> &'static Curve {
    let m = &task.model;
    let fp8 = m.dtype.bytes() <= 1.0 && m.kv_cache_dtype.bytes() <= 1.0;
    let own = if mla {
        k.mla_prefill.as_ref()
    } else if fp8 {
        k.attention_prefill_fp8.as_ref()
    } else {
        None
    };
    own.unwrap_or(&k.attention_prefill)
}

/// Rows per tile of a grouped GEMM on Hopper: a warpgroup MMA computes 64 rows
/// (`wgmma.mma_async` shapes m64nNk*, PTX ISA 8.0 §9.7.14), the smallest `block_m` DeepGEMM's
/// grouped kernels take per expert ("on the Hopper architecture, the WGMMA block_m is 64",
/// sgl-project/sglang#9660).
pub const GROUPED_TILE_M: f64 = 64.0;

/// A dense GEMM's shape: an `n × k` weight matrix at `m` rows, and where its input comes from.
#[derive(Clone, Copy, Debug)]
pub struct GemmShape {
    pub n: f64,
    pub k: f64,
    pub m: f64,
    pub input: GemmInput,
}

/// Everything per task the per-batch kernel reads.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// The dense GEMM over every weight shape (the curve the task's `MFU` line is read against,
    /// and the GEMM of a weight size no class covers).
    pub gemm: &'static Curve,
    /// The dense GEMM at every measured (N, K, M), preferred to the one curve where the profile
    /// has it ([`Kernels::gemm_time`]).
    pub gemm_grid: Option<&'static GemmGrid>,
    /// The activation quantization the FP8 GEMM rows include and this task's GEMMs skip
    /// ([`super::fp8_quant`]): per-tensor FP8 weights with static input scales on a profile that
    /// measures it; `None` otherwise.
    pub fp8_quant: Option<&'static Fp8Quant>,
    pub moe: Option<&'static Curve>,
    /// The grouped MoE GEMM per expert-size class (ascending bounds); [`Kernels::for_expert_slice`]
    /// picks the class of a layout's expert slice into `moe`.
    pub moe_by_slice: &'static [Curve],
    /// The grouped MoE GEMM of each measured expert shape and layout, of the task's dtype
    /// ([`super::moe_shapes`]), and the task's expert shape: a layout the table measures for
    /// this shape takes that curve instead of its class's ([`shape_table`]).
    pub moe_shapes: Option<ShapeLookup>,
    pub attention_prefill: &'static Curve,
    pub attention_decode: &'static Curve,
    pub elementwise: &'static Curve,
    pub all_reduce: &'static AllReduce,
    /// NCCL all-gather + reduce-scatter ([`super::comm::gather_scatter_s`]); the all-reduce's
    /// table where the profile has none.
    pub gather_scatter: &'static AllReduce,
    pub deepep_ll: Option<&'static DeepEp>,
    /// The low-latency kernels across nodes ([`profile::GpuProfile::deepep_ll_internode`]).
    pub deepep_ll_internode: Option<&'static DeepEp>,
    pub deepep_normal: Option<&'static DeepEp>,
    /// `mfu / c_ref`: the task's large-kernel MFU over the profile's measured one.
    pub compute_scale: f64,
    /// `bandwidth_utilization / b_ref`.
    pub memory_scale: f64,
    /// Peak FLOP/s for the weights' dtype (the task's figure).
    pub peak_flops_per_s: f64,
    /// Peak for the attention core (16-bit unless the KV cache is 8-bit).
    pub attention_flops_per_s: f64,
    pub hbm_bytes_per_s: f64,
    /// Nominal NVLink bandwidth the profile's link efficiencies are relative to is the task's.
    pub intra_node_bytes_per_s: f64,
    /// Fraction of SMs left to compute while DeepEP normal kernels run beside it.
    pub compute_share_during_comm: f64,
    /// When the engine overlaps two micro-batches ([`super::overlap`]; how much: the schedule's
    /// period, `time::tbo_time`).
    pub two_batch_overlap: super::overlap::TwoBatchOverlap,
    /// The task's choice among the engine's overlaps (`cost.batch_overlap`):
    /// [`super::overlap::TwoBatchOverlap::candidates`].
    pub batch_overlap: crate::spec::task::BatchOverlap,
    /// Fraction of SMs the routed experts' down GEMM keeps while single-batch overlap sends the
    /// combine beside it: SGLang reserves 3 SMs for the sending on Hopper
    /// (`communicate_num_sms = 32 if is_blackwell() else 3`,
    /// python/sglang/srt/batch_overlap/single_batch_overlap.py), of the profile GPU's SMs.
    pub combine_send_share: f64,
    /// How an expert-parallel MoE layer moves its tokens ([`super::comm::MoeComm`]).
    pub moe_comm: super::comm::MoeComm,
    /// See [`grouped_gemm_as_dense`].
    pub grouped_gemm_as_dense: bool,
    /// When the shared experts run beside the routed ones ([`SharedExpertsStream`]).
    pub shared_experts_stream: SharedExpertsStream,
    /// Whether the GPU has its own measured profile (false: reference curves, scaled).
    pub measured: bool,
    /// How the reference GPU's curves carry over to this one (`None`: the GPU's own profile, or
    /// the plain roofline).
    pub transfer: Option<Transfer>,
    /// The measured MLA decode block of this GPU and engine, where it applies
    /// ([`super::mla_module`]).
    pub mla_module: Option<super::mla_module::MlaModule>,
    /// The model's part sizes (per task, read by every layout's coefficients).
    pub sizes: crate::spec::model_size::ModelSizes,
    /// The 16-bit dense GEMM of a model whose weights are narrower (`None`: the weights are 16-bit
    /// or wider, `gemm` is it): the LM head's ([`Kernels::lm_head_gemm_time`]).
    pub gemm16: Option<Gemm16>,
}

/// A profile's 16-bit dense GEMM and the GPU's 16-bit peak ([`Kernels::gemm16`]).
#[derive(Clone, Copy, Debug)]
pub struct Gemm16 {
    pub curve: &'static Curve,
    pub grid: Option<&'static GemmGrid>,
    pub peak_flops_per_s: f64,
}

impl Gemm16 {
    /// `task`'s, on the engine's profile `k` (none: the plain roofline); `None` for 16-bit or
    /// wider weights.
    fn of(task: &Task, k: Option<&'static EngineKernels>) -> Option<Gemm16> {
        (task.model.dtype.bytes() < 2.0).then(|| Gemm16 {
            curve: k.map_or(&*FLAT, |k| &k.gemm_bf16),
            grid: k.and_then(|k| k.gemm_bf16_grid.get()),
            peak_flops_per_s: task.hardware.peak_flops_per_s * super::time::sixteen_bit_flops_ratio(task),
        })
    }
}

fn pick<'a>(p: &'a GpuProfile, engine: &str) -> Option<&'a profile::EngineKernels> {
    p.engines
        .get(engine)
        .or_else(|| p.engines.get(profile::REFERENCE_ENGINE))
}

/// The reference GPU's curves on another GPU (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transfer {
    /// Reference peak over this GPU's peak (same dtype column).
    pub peak_ratio: f64,
    /// Reference HBM bandwidth over this GPU's.
    pub bandwidth_ratio: f64,
    /// The scaled compute efficiency a saturated kernel of any class reaches on this GPU: the
    /// plateau of the dense GEMM curve of the weights' dtype times `compute_scale` (for BF16 the
    /// task's `mfu` itself; an FP8 GEMM keeps its measured ratio to the BF16 one).
    pub saturated: f64,
}

impl Transfer {
    /// The reference GPU's profile on `task`'s GPU, when the task's GPU has no profile of its own
    /// and the reference GPU's preset gives its peak and bandwidth.
    fn of(task: &Task, reference_gpu: &str, measured: bool, k: &Kernels) -> Option<Transfer> {
        let hw = &task.hardware;
        let r = crate::spec::presets::gpu_preset(reference_gpu).filter(|_| !measured)?;
        let peak = r.peak_for(task.model.dtype).flops_per_s;
        let same = peak == hw.peak_flops_per_s && r.hbm_bytes_per_s == hw.hbm_bytes_per_s;
        // A card with the reference's numbers runs its curves as they are.
        let usable = peak > 0.0 && hw.peak_flops_per_s > 0.0 && hw.hbm_bytes_per_s > 0.0 && !same;
        usable.then(|| Transfer {
            peak_ratio: peak / hw.peak_flops_per_s,
            bandwidth_ratio: r.hbm_bytes_per_s / hw.hbm_bytes_per_s,
            saturated: k.compute_scale * plateau(&k.gemm.compute),
        })
    }

    /// Compute time of `flops` at scaled efficiency `e` of the reference curve on this GPU (peak
    /// `peak`): the longer of the saturated time at this GPU's peak and the reference kernel's
    /// time scaled by bandwidth.
    fn compute_s(&self, flops: f64, peak: f64, e: f64) -> f64 {
        let at_plateau = flops / (peak * self.saturated);
        let on_reference = flops / (peak * self.peak_ratio * e);
        at_plateau.max(on_reference * self.bandwidth_ratio)
    }
}

impl Kernels {
    /// The constants of `task` with the attention core's peak of [`super::time::attention_flops_ratio`].
    pub fn for_task(task: &Task) -> Kernels {
        Kernels::new(task, super::time::attention_flops_ratio(task))
    }

    /// The constants of `task` (GPU profile and engine from the task; see [`profile`]).
    pub fn new(task: &Task, attention_ratio: f64) -> Kernels {
        let hw = &task.hardware;
        let engine = task.cost.engine;
        let found = profile::gpu_profile(task);
        let kernels = found.and_then(|(p, _)| pick(p, profile::engine_key(engine)).map(|k| (p, k)));
        let reference = found.and_then(|(p, _)| pick(p, profile::REFERENCE_ENGINE));
        let fp8 = task.model.dtype.bytes() <= 1.0;
        let moe_by_slice: &'static [Curve] = match kernels {
            Some((_, k)) if fp8 && !k.moe_fp8_by_slice.get().is_empty() => k.moe_fp8_by_slice.get(),
            Some((_, k)) if !fp8 || k.moe_fp8.is_none() => k.moe_bf16_by_slice.get(),
            _ => &[],
        };
        let mut gemm_grid = None;
        let mut fp8_quant = None;
        let (gemm, moe, prefill, decode, elementwise, all_reduce) = match kernels {
            Some((_, k)) => {
                let mla = task.model.attention == crate::spec::task::AttentionKind::Mla;
                let (gemm, grid) = dense_gemm(task, k, fp8);
                gemm_grid = grid;
                fp8_quant = static_fp8_quant(task, k, fp8);
                let moe = if fp8 { k.moe_fp8.as_ref() } else { None }.or(k.moe_bf16.as_ref());
                let prefill = prefill_curve(task, k, mla);
                let decode = if mla { k.mla_decode.as_ref() } else { None }.unwrap_or(&k.attention_decode);
                (
                    gemm,
                    moe,
                    prefill,
                    decode,
                    k.elementwise.as_ref().unwrap_or(&FLAT),
                    &k.all_reduce,
                )
            }
            None => (&*FLAT, None, &*FLAT, &*FLAT, &*FLAT, &*NO_ALL_REDUCE),
        };
        let c_ref = reference.map_or(1.0, |r| plateau(&r.gemm_bf16.compute));
        let b_ref = reference.map_or(1.0, |r| r.gemm_bf16.memory.first().copied().unwrap_or(1.0));
        let (during_comm, combine_send) = sm_shares(found.map(|(p, _)| p));
        let moe_shapes = kernels.and_then(|(p, k)| shape_table(task, p, fp8 && k.moe_fp8.is_some()));
        let mut k = Kernels {
            gemm,
            gemm_grid,
            fp8_quant,
            moe,
            moe_by_slice,
            moe_shapes,
            attention_prefill: prefill,
            attention_decode: decode,
            elementwise,
            all_reduce,
            gather_scatter: kernels
                .and_then(|(_, k)| k.gather_scatter.as_ref())
                .unwrap_or(all_reduce),
            deepep_ll: found.and_then(|(p, _)| p.deepep_ll.as_ref()),
            deepep_ll_internode: found.and_then(|(p, _)| p.deepep_ll_internode.as_ref()),
            deepep_normal: found.and_then(|(p, _)| p.deepep_normal.as_ref()),
            compute_scale: hw.mfu / c_ref,
            memory_scale: hw.bandwidth_utilization / b_ref,
            peak_flops_per_s: hw.peak_flops_per_s,
            attention_flops_per_s: hw.peak_flops_per_s * attention_ratio,
            hbm_bytes_per_s: hw.hbm_bytes_per_s,
            intra_node_bytes_per_s: hw.intra_node_bytes_per_s,
            compute_share_during_comm: during_comm,
            two_batch_overlap: super::overlap::TwoBatchOverlap::of(engine),
            batch_overlap: task.cost.batch_overlap,
            combine_send_share: combine_send,
            moe_comm: super::comm::MoeComm::of(engine, hw),
            grouped_gemm_as_dense: grouped_gemm_as_dense(engine),
            shared_experts_stream: SharedExpertsStream::of(engine),
            measured: found.is_some_and(|(_, m)| m),
            transfer: None,
            mla_module: None,
            sizes: crate::spec::model_size::ModelSizes::of(&task.model),
            gemm16: Gemm16::of(task, kernels.map(|(_, k)| k)),
        };
        k.transfer = found.and_then(|(p, m)| Transfer::of(task, &p.gpu, m, &k));
        // The measured MLA block on its own GPU or a sibling's of the same architecture (GB200 /
        // B300 on B200's: the same HBM; the GB200's higher compute peak not credited).
        k.mla_module = super::mla_module::MlaModule::of_task(task);
        k
    }

    /// The plain roofline on `hw`: one MFU and one bandwidth utilization for every kernel, no
    /// launch costs, nominal links at `network_utilization` (what the model was before measured
    /// curves; used by tests of the structure).
    pub fn roofline(hw: &crate::spec::task::Hardware) -> Kernels {
        Kernels {
            gemm: &FLAT,
            gemm_grid: None,
            fp8_quant: None,
            moe: None,
            moe_by_slice: &[],
            moe_shapes: None,
            attention_prefill: &FLAT,
            attention_decode: &FLAT,
            elementwise: &FLAT,
            all_reduce: &NO_ALL_REDUCE,
            gather_scatter: &NO_ALL_REDUCE,
            deepep_ll: None,
            deepep_ll_internode: None,
            deepep_normal: None,
            compute_scale: hw.mfu,
            memory_scale: hw.bandwidth_utilization,
            peak_flops_per_s: hw.peak_flops_per_s,
            attention_flops_per_s: hw.peak_flops_per_s,
            hbm_bytes_per_s: hw.hbm_bytes_per_s,
            intra_node_bytes_per_s: hw.intra_node_bytes_per_s,
            compute_share_during_comm: 1.0,
            two_batch_overlap: super::overlap::TwoBatchOverlap::Never,
            batch_overlap: crate::spec::task::BatchOverlap::Auto,
            combine_send_share: 1.0,
            moe_comm: super::comm::MoeComm::AllToAll,
            grouped_gemm_as_dense: false,
            shared_experts_stream: SharedExpertsStream::Never,
            measured: false,
            transfer: None,
            mla_module: None,
            // No model: these constants serve the communication formulas only.
            sizes: Default::default(),
            gemm16: None,
        }
    }

    /// The kernels of a layout whose GPUs each hold `elements` of every local expert matrix
    /// (`hidden × expert intermediate / expert_tp`) and `local_experts` experts (`experts / ep`):
    /// the grouped MoE GEMM runs on the curve measured on that size class and local-expert class
    /// (the first class whose bounds both exceed them), when the profile has classes (see
    /// `scripts/derive_kernel_params.py`, `moe_by_slice`: one curve over all expert shapes is
    /// 1.5–3× too slow for DeepSeek-size experts and up to 2× too fast for thin expert-TP slices,
    /// and within a size class the fraction of peak at the same tokens per expert grows with the
    /// local experts, 0.03 with one to 0.20 with 32 in TensorRT-LLM's H200 table; per kernel of
    /// the FP8-block tables the median error of the picked curve is 10 % on H100 / H200).
    pub fn for_expert_slice(mut self, elements: f64, local_experts: f64) -> Kernels {
        let class = self.moe_by_slice.iter().find(|c| {
            c.slice_elements_below.is_none_or(|below| elements < below)
                && c.local_experts_below.is_none_or(|below| local_experts < below)
        });
        if let (Some(c), Some(_)) = (class, self.moe) {
            self.moe = Some(c);
        }
        self
    }

    /// The kernels of layout `l`, whose GPUs each hold `elements` of every local expert matrix
    /// and `local_experts` experts: the grouped MoE GEMM on the curve measured for the task's own
    /// expert shape on `l`'s `expert_tp` × `ep` where the profile has one and the engine runs
    /// the table's kernel there ([`super::moe_shapes`], [`ShapeLookup::on_deepep`]), else on its
    /// size and local-expert class ([`Kernels::for_expert_slice`]).
    pub fn for_expert_layout(self, l: &crate::layout::Layout, elements: f64, local_experts: f64) -> Kernels {
        let deepep = l.ep > 1 && self.moe_comm.all_to_all(l, true);
        let own = self
            .moe_shapes
            .filter(|s| !deepep || s.on_deepep)
            .and_then(|s| s.table.curve(l.expert_tp, l.ep));
        match (own, self.moe) {
            (Some(c), Some(_)) => Kernels { moe: Some(c), ..self },
            _ => self.for_expert_slice(elements, local_experts),
        }
    }

    /// One dense GEMM of an `n × k` weight matrix on one GPU at `m` rows per matrix (`shape`), of
    /// `flops` and `bytes` = (weights read, row traffic growing with `m`): `(time,
    /// compute-bound?)`, less the activation quantization it skips (`fp8_quant`). On the measured grid where the profile has one
    /// (the kernel's own (N, K, M) efficiency, interpolated), else on the one curve. Per kernel of
    /// TensorRT-LLM 1.3's H200 FP8 table the grid is exact at its points; the one curve over every
    /// shape is off by a median 10 % (90th percentile 38 %; 25-44 % slow at M = 128 for a
    /// Llama-3.1-70B FFN at TP ≤ 4); curves per class of N and K would be off by 2.9 %.
    pub fn gemm_time(&self, shape: GemmShape, flops: f64, bytes: (f64, f64)) -> (f64, bool) {
        let (t, compute_bound) = self.measured_gemm_time(shape, flops, bytes);
        let Some(q) = self.fp8_quant else {
            return (t, compute_bound);
        };
        // The measured row's quantization this GEMM skips, as a bandwidth-bound kernel on this
        // GPU; never below the GEMM's own roofline at peak (aiconfigurator's floor for the same
        // subtraction; not the grid's launch cost, which the FP8 rows' smallest kernels set with
        // their quantization included).
        let GemmShape { k, m, input, .. } = shape;
        let ratio = self.transfer.map_or(1.0, |x| x.bandwidth_ratio);
        let skipped = q.skipped_s(m, k, input) * ratio / self.memory_scale;
        let floor = (flops / self.peak_flops_per_s).max((bytes.0 + bytes.1) / self.hbm_bytes_per_s);
        ((t - skipped).max(floor.min(t)), compute_bound)
    }

    /// A grouped GEMM (DeepGEMM's, which the DeepEP path runs as dense GEMMs of each expert's
    /// rows: [`grouped_gemm_as_dense`]) of `flops_per_row` per row over `rows` rows in `groups`
    /// experts: [`Kernels::gemm_time`], and on a GPU without its own profile ([`Transfer`]) no
    /// less than its FLOPs with every expert's rows rounded up to whole tiles of
    /// [`GROUPED_TILE_M`] at the saturated rate. The reference GPU's measured times hold the
    /// tile padding where it costs anything; a card with a fraction of the reference's tensor
    /// throughput (H20: 296 of H100's 1,979 FP8 TFLOP/s) pays it in compute: an expert with 2
    /// rows computes 64.
    pub fn grouped_gemm_time(
        &self,
        shape: GemmShape,
        flops_per_row: f64,
        rows: f64,
        groups: f64,
        bytes: (f64, f64),
    ) -> (f64, bool) {
        let (t, compute_bound) = self.gemm_time(shape, flops_per_row * rows, bytes);
        let Some(x) = self.transfer else {
            return (t, compute_bound);
        };
        let per_group = (rows / groups.max(1.0)).max(0.0);
        let padded = groups * (per_group / GROUPED_TILE_M).ceil() * GROUPED_TILE_M;
        let floor = flops_per_row * padded / (self.peak_flops_per_s * x.saturated) + self.gemm_launch_s();
        if floor > t {
            (floor, true)
        } else {
            (t, compute_bound)
        }
    }

    /// [`Kernels::gemm_time`] as the table measures it (activation quantization included).
    fn measured_gemm_time(&self, shape: GemmShape, flops: f64, bytes: (f64, f64)) -> (f64, bool) {
        let GemmShape { n, k, m, .. } = shape;
        let (weights, rows) = bytes;
        let Some(g) = self.gemm_grid else {
            return self.time(self.gemm, flops, self.peak_flops_per_s, weights + rows, m, 1.0);
        };
        let corners = g.locate(n, k);
        let at = |level: usize, scale: f64| {
            let (c, b) = g.at_level(&corners, level);
            let (f, by) = (flops * scale, weights + rows * scale);
            self.at_efficiency(c, b, f, self.peak_flops_per_s, by, g.launch_s)
        };
        let (l, w, inside) = g.m_segment(m);
        if !inside {
            // At or beyond the measured range: the nearest level's efficiencies at this size.
            return at(if w > 0.5 { l + 1 } else { l }, 1.0);
        }
        // Between two measured M: the kernel's time at each (its work and row bytes scaled to that
        // M), interpolated in log M, so that the time follows the measurements: between two points
        // it lies between their times (interpolating efficiencies would dip between points: a
        // flat, memory-bound time with FLOPs doubling reads as an efficiency doubling). The
        // power-of-two grids are non-decreasing in M; the block-scaled grid keeps its measured
        // tile steps.
        let (lo, hi) = (at(l, g.m[l] / m), at(l + 1, g.m[l + 1] / m));
        ((1.0 - w) * lo.0 + w * hi.0, if w < 0.5 { lo.1 } else { hi.1 })
    }

    /// The LM head's GEMM: [`Kernels::gemm_time`] on the 16-bit GEMM ([`Kernels::gemm16`]) where
    /// the weights are narrower, since the LM head stays 16-bit
    /// ([`super::params::embedding_bytes_per_param`]; `bytes` are the caller's, at 16 bits).
    pub fn lm_head_gemm_time(&self, shape: GemmShape, flops: f64, bytes: (f64, f64)) -> (f64, bool) {
        let Some(g) = self.gemm16 else {
            return self.gemm_time(shape, flops, bytes);
        };
        let sixteen = Kernels {
            gemm: g.curve,
            gemm_grid: g.grid,
            fp8_quant: None,
            peak_flops_per_s: g.peak_flops_per_s,
            ..*self
        };
        sixteen.measured_gemm_time(shape, flops, bytes)
    }

    /// The launch cost of one dense GEMM (the grid's or the curve's).
    pub fn gemm_launch_s(&self) -> f64 {
        self.gemm_grid.map_or(self.gemm.launch_s, |g| g.launch_s)
    }

    /// `launch_s + max(compute, memory)` at the given fractions of peak and bandwidth (before the
    /// task's scales): the roofline of every kernel ([`Kernels::time`], [`Kernels::gemm_time`]).
    fn at_efficiency(&self, c: f64, b: f64, flops: f64, peak: f64, bytes: f64, launch_s: f64) -> (f64, bool) {
        let ct = if flops <= 0.0 {
            0.0
        } else if let Some(t) = self.transfer {
            t.compute_s(flops, peak, self.compute_scale * c)
        } else {
            flops / (peak * self.compute_scale * c)
        };
        let mt = if bytes > 0.0 {
            bytes / (self.hbm_bytes_per_s * self.memory_scale * b)
        } else {
            0.0
        };
        (launch_s + ct.max(mt), ct >= mt)
    }

    /// One kernel of `class` at size `x`: `(time, compute-bound?)`, with `launches` launches.
    pub fn time(
        &self,
        class: &Curve,
        flops: f64,
        peak: f64,
        bytes: f64,
        x: f64,
        launches: f64,
    ) -> (f64, bool) {
        let at = class.locate(x);
        let (c, b) = (class.compute_of(at), class.memory_of(at));
        self.at_efficiency(c, b, flops, peak, bytes, launches * class.launch_s)
    }
}

/// The large-kernel plateau of a compute curve: its maximum.
fn plateau(ys: &[f64]) -> f64 {
    ys.iter().copied().fold(0.0, f64::max).max(1e-3)
}
