//! Time of one pipeline stage for one micro-batch: per-operator roofline with measured kernel
//! efficiencies, fixed launch costs, and communication (the per-batch kernel of the cost model).
//!
//! FLOPs per operator (forward pass, 2 FLOPs per multiply-add; Kaplan et al. 2020 §2.1):
//! * projections / FFN / experts / router / LM head: `2 × tokens × parameters` (GQA: the K and V
//!   projections have `kv_heads` heads; MLA: the down- and up-projections of DeepSeek-V2 §2.1 —
//!   in decode the up-projections are absorbed into the query and output, FlashMLA, which costs
//!   the same multiply-adds per token);
//! * causal attention in prefill: `h × (d_qk + d_v) × s²` per sequence and layer (QKᵀ and AV over
//!   the lower triangle, `Σ_i i ≈ s²/2`, 2 FLOPs each), at the actual input length `s`;
//! * attention in decode: `2 × h × (d_qk + d_v) × c` per sequence and layer at context `c` (MLA
//!   absorbed: `d_qk = kv_lora + rope`, `d_v = kv_lora`, all heads share the latent).
//!
//! Each operator is a kernel of a measured class ([`super::profile`]): `launches × launch_s +
//! max(F / (P·c(x)), B / (H·b(x)))` — dense GEMMs at `x` = tokens, the grouped MoE GEMM at `x` =
//! token copies per local expert, prefill attention at the sequence length, decode attention at
//! the KV bytes it reads, element-wise kernels (norms with residual adds, SwiGLU, MoE permutation,
//! RoPE / KV-cache write) at their measured bandwidth. The attention core runs at the KV cache's
//! precision ([`attention_flops_ratio`]).
//!
//! MoE (Fedus et al. 2021; DeepSeek-V3 report §3.4): `k` expert assignments per token spread over
//! `ep` groups with the task's imbalance on the busiest GPU — only when `ep > 1`: with `ep = 1`
//! every GPU holds a slice of every expert (expert-TP), no token is routed to another GPU and
//! routing cannot unbalance them. In decode only the experts the micro-batch activates are read
//! (`E/ep · (1 − (1 − 1/E)^n)` of the local ones for `n` uniform assignments).
//!
//! Communication per layer ([`super::comm`]): TP all-reduce after attention and after a TP-split
//! FFN (Megatron-LM §3); with `ep > 1` the MoE dispatch + combine all-to-all; with `ep = 1` and
//! attention-DP the expert-TP group gathers and reduce-scatters its tokens (an all-reduce's
//! bytes); the SP (ring-attention) KV exchange; the PP activation hand-off.
//!
//! Overlap: an engine with two-batch overlap ([`super::overlap::TwoBatchOverlap`]) splits the
//! micro-batch in two and runs one half's communication while the other computes (SGLang TBO,
//! DeepSeek's dual micro-batch). Each MoE layer takes the period of that two-resource schedule
//! ([`super::overlap`]: `max(2(a + m), 2(d + c), a + d + m + c + max − min)` of the half's
//! attention, dispatch, experts and combine), so the overlap is partial wherever the steps are
//! unequal; the halves run at their own (smaller) kernel sizes, compute keeps only the share `s`
//! of SMs that DeepEP's normal kernels leave it in prefill (the low-latency kernels of decode
//! occupy none: DeepEP README), dense layers and the LM head run both halves in turn, and one
//! half-layer at the start cannot overlap ([`tbo_time`]). SGLang's single-batch overlap keeps
//! one batch and hides the dispatch behind the shared experts and, in decode, the combine behind
//! the routed experts' down GEMM ([`sbo_time`]). Which schedule a layout runs is the task's
//! `Batch overlap`, by default the fastest the engine has ([`slowest_by`]). Without any, the
//! task's `comm_overlap = o` hides `o · min(operators, communication)`.

use super::coeffs::{LayoutCoeffs, OpSizes, StageCoeffs};
use super::comm::{self, Routing};
use super::kernels::{GemmInput, GemmShape, Kernels};
use super::overlap::{self, Schedule};
use crate::layout::{Layout, Phase};
use crate::spec::presets;
use crate::spec::task::{Dtype, Task};
use serde::Serialize;

/// Time of the slowest stage for one micro-batch, split by kind (seconds).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct StepBreakdown {
    /// Sum over operators of their kernel times (launches included).
    pub operators_s: f64,
    /// Of which compute-bound kernels.
    pub compute_bound_s: f64,
    /// Of which memory-bound kernels.
    pub memory_bound_s: f64,
    /// Of `operators_s`: fixed launch costs of all kernels.
    pub launch_s: f64,
    /// Of `operators_s`: the attention core (QKᵀ, softmax, AV) of all layers of the stage.
    pub attention_core_s: f64,
    /// Of `operators_s`: element-wise kernels (norms, residual adds, SwiGLU, MoE permutation).
    pub elementwise_s: f64,
    pub tp_all_reduce_s: f64,
    pub ep_all_to_all_s: f64,
    pub sp_exchange_s: f64,
    pub pp_send_s: f64,
    /// Communication left on the critical path after overlap.
    pub communication_s: f64,
    /// Whether the instance runs two-batch overlap (the schedule `slowest_by` kept and the
    /// launch sets; a step too small to split runs as one batch and says false).
    pub two_batch_overlap: bool,
    /// Whether the instance runs SGLang's single-batch overlap.
    pub single_batch_overlap: bool,
    /// Time of the stage (operators + exposed communication).
    pub stage_time_s: f64,
    /// Stage that sets the pace.
    pub stage: u64,
}

/// Elements read + written per token and layer by the norm kernels, in units of the hidden size
/// `d` — each RMSNorm with its fused residual add reads the residual and the branch output and
/// writes both (4d), twice per layer. Sources: vLLM's `fused_add_rms_norm`, SGLang's
/// `RMSNorm.forward_cuda`.
pub const ELEMENTWISE_ELEMS: f64 = 8.0;

/// Element-wise kernel launches per layer besides SwiGLU / permutation: two fused norms and the
/// RoPE + KV-cache write (the kernel lists of vLLM / SGLang / TensorRT-LLM decoder layers).
const NORM_LAUNCHES: f64 = 3.0;

/// Ratio of the attention-core FLOP rate to the GPU's peak for the weights' dtype.
///
/// The attention core multiplies queries with the KV cache, so it runs at the cache's precision:
/// with 8-bit weights and a 16-bit KV cache it runs at the 16-bit peak, half the 8-bit one on
/// Hopper/Blackwell (datasheets). Known only when the task names a GPU preset; a task that gives
/// one peak figure is taken at its word (ratio 1).
pub fn attention_flops_ratio(task: &Task) -> f64 {
    if task.model.kv_cache_dtype.bytes() < 2.0 {
        return 1.0;
    }
    sixteen_bit_flops_ratio(task)
}

/// Ratio of the GPU's 16-bit peak to its peak for the weights' dtype (1 for 16-bit or wider
/// weights): what a 16-bit kernel of a quantized model runs at (the attention core over a 16-bit
/// KV cache, the LM head, [`super::params::embedding_bytes_per_param`]). Known only when the task
/// names a GPU preset; a task that gives one peak figure is taken at its word (ratio 1).
pub fn sixteen_bit_flops_ratio(task: &Task) -> f64 {
    let m = &task.model;
    if m.dtype.bytes() >= 2.0 {
        return 1.0;
    }
    match task.hardware.preset.as_deref().and_then(presets::gpu_preset) {
        Some(gpu) => {
            let weights = gpu.peak_for(m.dtype).flops_per_s;
            let sixteen = gpu.peak_for(Dtype::Bf16).flops_per_s;
            (sixteen / weights).min(1.0)
        }
        None => 1.0,
    }
}

/// Kernel times of one layer of each kind (seconds), and their split.
#[derive(Clone, Copy, Debug, Default)]
struct Layer {
    attention: f64,
    attention_core: f64,
    dense_ffn: f64,
    moe_ffn: f64,
    elementwise_dense: f64,
    elementwise_moe: f64,
    /// Compute-bound share of each kind (for the breakdown).
    compute_attention: f64,
    compute_dense: f64,
    compute_moe: f64,
    launch_attention: f64,
    launch_dense: f64,
    launch_moe: f64,
    all_to_all: f64,
    /// Of `all_to_all`: the dispatch (the rest is the combine).
    dispatch: f64,
    /// Of `moe_ffn`: the shared experts when they run after the routed ones (not on a stream of
    /// their own), and the routed experts' down GEMM (single-batch overlap hides the dispatch
    /// and the combine behind them, [`sbo_time`]).
    shared_ffn: f64,
    routed_down: f64,
    tp_dense: f64,
    tp_moe: f64,
    sp: f64,
    /// The LM head on the stage that holds it: `(time, compute-bound?)` (0 when the model has
    /// none).
    lm_head: (f64, bool),
}

/// Running sum of kernel times with their compute-bound part and launches.
#[derive(Default)]
struct Acc {
    total: f64,
    compute: f64,
    launch: f64,
    /// Time of the kernel added last.
    last: f64,
}

impl Acc {
    /// Every kernel time `factor` times as long (launches unchanged).
    fn scaled(self, factor: f64) -> Acc {
        Acc {
            total: self.total * factor,
            compute: self.compute * factor,
            last: self.last * factor,
            ..self
        }
    }

    fn add(&mut self, (t, compute_bound): (f64, bool), launch: f64) -> f64 {
        self.total += t;
        self.launch += launch;
        self.last = t;
        if compute_bound {
            self.compute += t;
        }
        t
    }

    /// Kernels run one after the other: their times, compute-bound parts and launches add.
    fn then(self, other: Acc) -> Acc {
        Acc {
            total: self.total + other.total,
            compute: self.compute + other.compute,
            launch: self.launch + other.launch,
            last: other.last,
        }
    }
}

/// Inputs of one layer's evaluation: distinct query tokens on a GPU and in the stage.
#[derive(Clone, Copy)]
struct Load {
    seqs: f64,
    tokens: f64,
    stage_tokens: f64,
    len: f64,
    /// Prefill: tokens of each prompt found in the prefix cache (not computed; the computed
    /// tokens attend to them), 0 without prefix caching and in decode.
    cached: f64,
    decode: bool,
}

/// The load of one micro-batch of `seqs` sequences at length / context `len`. A decode step
/// feeds `c.queries` tokens per sequence (1, or 1 + draft tokens under speculative decoding); a
/// prefill computes each prompt's tokens past its cached prefix
/// ([`crate::spec::task::Workload::cached_prefix`]).
fn load(c: &LayoutCoeffs, seqs: f64, len: u64) -> Load {
    let l = &c.layout;
    let decode = c.phase == Phase::Decode;
    let cached = if decode {
        0
    } else {
        c.task.workload.cached_prefix(len)
    };
    let tokens = if decode {
        seqs * c.queries
    } else {
        seqs * (len - cached).div_ceil(l.sp) as f64
    };
    Load {
        seqs,
        tokens,
        stage_tokens: tokens * (l.sp * l.attention_dp) as f64,
        len: len as f64,
        cached: cached as f64,
        decode,
    }
}

/// The attention projections (the part of the attention block the context does not change).
fn attention_projections(k: &Kernels, o: &OpSizes, x: &Load) -> Acc {
    let mut acc = Acc::default();
    let d = o.d.max(1.0);
    let gemm = |acc: &mut Acc, p: f64, n: f64, kk: f64, copies: f64, input: GemmInput| {
        let bytes = (p * o.weight_bytes, x.tokens * 2.0 * d * o.act_bytes);
        let shape = GemmShape {
            n,
            k: kk,
            m: x.tokens,
            input,
        };
        let (t, cb) = k.gemm_time(shape, 2.0 * x.tokens * p, bytes);
        acc.add((copies * t, cb), copies * k.gemm_launch_s());
    };
    let o_k = o.heads * o.dv_prefill;
    if o.attention_gemms == 2.0 && o_k > 0.0 && d * o_k < o.attention_p {
        // GQA: the fused QKV projection (`K = d`, after the norm) and the output projection
        // (`N = d`, reading the attention kernel's output), each on its own shape.
        let o_p = d * o_k;
        let qkv_n = (o.attention_p - o_p) / d;
        gemm(&mut acc, o.attention_p - o_p, qkv_n, d, 1.0, GemmInput::Wide);
        gemm(&mut acc, o_p, d, o_k, 1.0, GemmInput::Fp8);
    } else {
        // MLA's five projections at their mean shape (`K = d`).
        let g = o.attention_gemms.max(1.0);
        gemm(
            &mut acc,
            o.attention_p / g,
            o.attention_p / g / d,
            d,
            g,
            GemmInput::Wide,
        );
    }
    acc
}

/// The attention block at the load's length / context: the projections `proj` (computed once
/// per micro-batch) plus the attention core, which alone depends on the context.
fn attention_block(k: &Kernels, o: &OpSizes, l: &Layout, x: &Load, proj: &Acc, layer: &mut Layer) {
    let mut acc = Acc {
        total: proj.total,
        compute: proj.compute,
        launch: proj.launch,
        last: proj.last,
    };
    let core = if x.decode {
        let c = k.attention_decode;
        // KV read once per sequence; each of a sequence's tokens (1, or 1 + draft tokens when
        // verifying a speculative step) attends to it: FLOPs per token.
        let bytes = x.seqs * x.len * o.kv_layer;
        let flops = x.tokens * 2.0 * o.heads * (o.dqk_decode + o.dv_decode) * x.len;
        acc.add(
            k.time(c, flops, k.attention_flops_per_s, bytes, bytes, 1.0),
            c.launch_s,
        )
    } else {
        let c = k.attention_prefill;
        // Causal attention of the computed tokens: token i of a prompt attends to its i
        // predecessors, the cached prefix `P` included, so a prompt of `len` tokens costs
        // `len² − P²` of the `len²` of a full prefill (QKᵀ and PV, 2 FLOPs per multiply-add,
        // halved by the causal mask). The cached prefix's KV is read from HBM once per sequence.
        // The measured curve is by sequence length; a prefix-cached prompt is located at the
        // length of a full prefill with the same FLOPs, `sqrt(len² − P²)` (its tiles are as
        // full: the kernel tiles queries × keys).
        let square = x.len * x.len - x.cached * x.cached;
        let flops = x.seqs * o.heads * (o.dqk_prefill + o.dv_prefill) * square / l.sp as f64;
        let cached_kv = x.seqs * x.cached / l.sp as f64 * o.kv_layer;
        let bytes = x.tokens * o.kv_layer + cached_kv + x.tokens * 2.0 * o.d * o.act_bytes;
        let at = if x.cached > 0.0 { square.sqrt() } else { x.len };
        acc.add(
            k.time(c, flops, k.attention_flops_per_s, bytes, at, 1.0),
            c.launch_s,
        )
    };
    // The measured MLA decode block replaces the sum of its kernels where it applies; the parts
    // keep their shares of the sum (breakdown only).
    let module = k.mla_module.filter(|_| x.decode && acc.total > 0.0);
    let f = module
        .and_then(|m| m.latency_s(o.heads, x.tokens, x.len))
        .map_or(1.0, |t| t / k.memory_scale / acc.total);
    layer.attention = acc.total * f;
    layer.attention_core = core * f;
    layer.compute_attention = acc.compute * f;
    layer.launch_attention = acc.launch * f;
}

fn elementwise(k: &Kernels, bytes: f64, launches: f64) -> f64 {
    k.time(k.elementwise, 0.0, 1.0, bytes, 1.0, launches).0
}

/// An FFN of `params` weights on one GPU with `inter` intermediate features, run for `rows`
/// token rows (`m` rows per weight matrix; `copies` of the weights read): its up (gate + up) GEMM,
/// `K = d` and `N = params / d − inter`, and its down GEMM, `K = inter` and `N = d`, each on the
/// kernel of its own shape ([`Kernels::gemm_time`]); the down GEMM reads the fused gate
/// activation's output ([`GemmInput::Fp8`]).
fn ffn_gemms(k: &Kernels, o: &OpSizes, rows: f64, m: f64, copies: f64, params: f64, inter: f64) -> Acc {
    let mut acc = Acc::default();
    let d = o.d.max(1.0);
    let up_n = (params / d - inter).max(0.0);
    let up_p = (up_n * d).min(params);
    let gemms = [
        (up_p, up_n, d, GemmInput::Wide),
        (params - up_p, d, inter, GemmInput::Fp8),
    ];
    for (p, n, kk, input) in gemms {
        let bytes = (copies * p * o.weight_bytes, rows * d * o.act_bytes);
        let shape = GemmShape { n, k: kk, m, input };
        let t = if copies > 1.0 {
            // A grouped GEMM over `copies` experts, `rows / copies` rows each.
            k.grouped_gemm_time(shape, 2.0 * p, rows, copies, bytes)
        } else {
            k.gemm_time(shape, 2.0 * rows * p, bytes)
        };
        acc.add(t, k.gemm_launch_s());
    }
    acc
}

fn dense_ffn(k: &Kernels, o: &OpSizes, x: &Load, layer: &mut Layer) {
    let acc = ffn_gemms(k, o, x.tokens, x.tokens, 1.0, o.ffn_p, o.ffn_inter);
    layer.dense_ffn = acc.total;
    layer.compute_dense = acc.compute;
    let norms = elementwise(k, x.tokens * ELEMENTWISE_ELEMS * o.d * o.act_bytes, NORM_LAUNCHES);
    layer.elementwise_dense = norms + elementwise(k, x.tokens * 3.0 * o.ffn_inter * o.act_bytes, 1.0);
    layer.launch_dense = acc.launch + (NORM_LAUNCHES + 1.0) * k.elementwise.launch_s;
}

/// The router's GEMM (hidden × experts) over the layer's tokens.
fn router_gemm(k: &Kernels, o: &OpSizes, x: &Load) -> (f64, bool) {
    let shape = GemmShape {
        n: o.experts,
        k: o.d,
        m: x.tokens,
        input: GemmInput::Wide,
    };
    k.gemm_time(
        shape,
        2.0 * x.tokens * o.router_p,
        (o.router_p * o.weight_bytes, 0.0),
    )
}

/// One MoE layer on its busiest GPU: router, routed experts (under the model's routing skew), shared
/// experts and their element-wise kernels.
fn moe_ffn(k: &Kernels, o: &OpSizes, l: &Layout, x: &Load, layer: &mut Layer) {
    let mut acc = Acc::default();
    let assignments = x.stage_tokens * o.top_k;
    let busiest = assignments / l.ep as f64 * o.imbalance;
    let active = if x.decode {
        o.local_experts * (1.0 - (1.0 - 1.0 / o.experts).powf(assignments))
    } else {
        o.local_experts
    };
    acc.add(router_gemm(k, o, x), k.gemm_launch_s());
    let per_expert = busiest / o.local_experts.max(1.0);
    let bytes = active * o.expert_p * o.weight_bytes + busiest * 2.0 * o.d * o.act_bytes;
    // Under the heavier routing skew, the ratio of the busiest group's times the engine's MoE
    // table measures (for DeepGEMM's groups too: the same tokens reach the busiest GPU).
    let skew = k
        .moe
        .filter(|_| o.routing_skewed)
        .map_or(1.0, |c| c.skew_at(per_expert));
    let launches = match k.moe {
        Some(c) if !(k.grouped_gemm_as_dense && l.ep > 1) => {
            let (t, cb) = k.time(
                c,
                2.0 * busiest * o.expert_p,
                k.peak_flops_per_s,
                bytes,
                per_expert,
                1.0,
            );
            let t = acc.add((t * skew, cb), c.launch_s);
            // The fused kernel's down GEMM: its share of the expert's weights.
            layer.routed_down = t * (o.d * o.expert_inter / o.expert_p.max(1.0)).min(1.0);
            1.0
        }
        _ => {
            // As dense GEMMs (DeepGEMM's grouped kernels run as dense ones of the group's size):
            // each expert's up and down GEMMs at their own shapes, at its tokens.
            let routed =
                ffn_gemms(k, o, busiest, per_expert, active, o.expert_p, o.expert_inter).scaled(skew);
            layer.routed_down = routed.last;
            acc = acc.then(routed);
            2.0
        }
    };
    if o.shared_p > 0.0 {
        let shared = ffn_gemms(k, o, x.tokens, x.tokens, 1.0, o.shared_p, o.shared_inter);
        acc = if k.shared_experts_stream.overlaps(x.decode, x.tokens) {
            // The shared experts on their own stream beside the router and routed experts: the
            // longer branch sets the time (and the breakdown's shares).
            if shared.total > acc.total { shared } else { acc }
        } else {
            layer.shared_ffn = shared.total;
            acc.then(shared)
        };
    }
    layer.moe_ffn = acc.total;
    layer.compute_moe = acc.compute;
    let norms = elementwise(k, x.tokens * ELEMENTWISE_ELEMS * o.d * o.act_bytes, NORM_LAUNCHES);
    // A measured fused-MoE kernel (`class` = k.moe) already holds the routed experts' permutation
    // and SwiGLU (aiconfigurator's `moe` op times the whole fused block); they are charged apart
    // only when the experts run as dense GEMMs.
    let routed = if launches == 1.0 {
        0.0
    } else {
        busiest * (3.0 * o.expert_inter + 4.0 * o.d)
    };
    let swiglu = (routed + x.tokens * 3.0 * o.shared_inter) * o.act_bytes;
    layer.elementwise_moe = norms + elementwise(k, swiglu, 2.0);
    layer.launch_moe = acc.launch + (NORM_LAUNCHES + 2.0) * k.elementwise.launch_s;
}

/// Communication of one layer of each kind.
fn layer_comm(c: &LayoutCoeffs, x: &Load, layer: &mut Layer) {
    let (task, l, o) = (c.task, &c.layout, &c.ops);
    let hw = &task.hardware;
    let net = task.cost.network_utilization;
    let ar = comm::all_reduce_s(&c.kernels, hw, net, l.tp, l.tp, x.tokens * o.d * o.act_bytes);
    let shared_tp = o.shared_p > 0.0;
    let w = l.width();
    let all_to_all = c.kernels.moe_comm.all_to_all(l, o.experts > 0.0);
    // With attention TP the tokens are on every GPU of the group; unless an all-to-all combine
    // returns the expert outputs, each GPU holds a partial sum of the MoE output (its expert
    // slices or its local experts), reduced by one all-reduce (shared experts included), as the
    // dense FFN's.
    let replicated = o.experts > 0.0 && l.attention_dp == 1 && w > 1 && !(l.ep > 1 && all_to_all);
    layer.tp_dense = 2.0 * ar;
    layer.tp_moe = if shared_tp || replicated { 2.0 * ar } else { ar };
    if o.experts > 0.0 && w > 1 && l.ep > 1 && all_to_all {
        let routing = if x.decode {
            Routing::PerCopy
        } else {
            Routing::NodeDedup
        };
        let sent = x.tokens / l.tp as f64 * l.expert_tp as f64 * o.imbalance;
        let fp8 = task.model.dtype.bytes().min(o.act_bytes);
        let a2a = |bytes: f64, combine: bool| {
            comm::moe_all_to_all_s(&c.kernels, hw, net, w, sent, o.top_k, bytes, routing, combine)
        };
        layer.dispatch = a2a(o.d * fp8, false);
        layer.all_to_all = layer.dispatch + a2a(o.d * o.act_bytes, true);
    } else if o.experts > 0.0 && l.attention_dp > 1 {
        // ep = 1, or an engine that gathers (MoeComm::GatherScatter): the group all-gathers the
        // tokens of its attention ranks and reduce-scatters the outputs: the bytes of an
        // all-reduce of the stage's tokens.
        layer.all_to_all = comm::gather_scatter_s(
            &c.kernels,
            hw,
            net,
            w,
            w,
            x.stage_tokens / l.tp as f64 * o.d * o.act_bytes,
        );
    }
    layer.sp = sp_exchange(c, x);
}

/// The SP (ring-attention) KV exchange of one layer: each rank passes the KV of the other
/// `sp − 1` shards around the ring (Liu et al., "Ring Attention", 2023).
fn sp_exchange(c: &LayoutCoeffs, x: &Load) -> f64 {
    let l = &c.layout;
    if !x.decode && l.sp > 1 {
        let bytes = x.seqs * x.len * (l.sp - 1) as f64 / l.sp as f64 * c.ops.kv_layer;
        comm::send_s(
            &c.task.hardware,
            c.task.cost.network_utilization,
            l.tp * l.sp,
            bytes,
        )
    } else {
        0.0
    }
}

/// Every layer kind of one micro-batch at the first of `lens` (the model's dense and MoE layers
/// alike: a stage multiplies each by its own layer count, so one evaluation serves every stage),
/// and the same layer at each further length — only the attention core and the SP exchange
/// depend on the length / context, so the rest is computed once. The attention block and the LM
/// head come from `attention` (shared by every layout of the same TP and SP).
fn layer_times(
    c: &LayoutCoeffs,
    seqs: f64,
    lens: &[u64],
    attention: &mut AttentionCache,
) -> [(Layer, Load); 2] {
    let x = load(c, seqs, lens[0]);
    let (k, o, l) = (&c.kernels, &c.ops, &c.layout);
    let mut layer = Layer::default();
    let a = attention.get(c, seqs, lens);
    a.parts[0].set(&mut layer);
    if c.has_dense {
        dense_ffn(k, o, &x, &mut layer);
    }
    if c.has_moe && o.experts > 0.0 {
        moe_ffn(k, o, l, &x, &mut layer);
    }
    layer_comm(c, &x, &mut layer);
    layer.lm_head = a.lm_head;
    let mut second = (layer, load(c, seqs, lens[lens.len() - 1]));
    if lens.len() > 1 {
        a.parts[1].set(&mut second.0);
        second.0.sp = sp_exchange(c, &second.1);
    }
    [(layer, x), second]
}

/// The attention block of a layer and the LM head, which depend on the layout only through its
/// TP (heads, KV heads and weights per GPU: [`OpSizes`]) and SP (tokens per GPU): computed once
/// per (phase, TP, SP, micro-batch, lengths) and shared by the layouts that differ in
/// attention-DP, EP or expert-TP (about half a layer's kernel lookups in a MoE search).
#[derive(Clone, Copy)]
struct AttentionPart {
    /// At each of the (at most two) lengths.
    parts: [AttentionTimes; 2],
    lm_head: (f64, bool),
}

/// The attention fields of a [`Layer`] at one length.
#[derive(Clone, Copy, Default)]
struct AttentionTimes {
    attention: f64,
    attention_core: f64,
    compute_attention: f64,
    launch_attention: f64,
}

impl AttentionTimes {
    fn of(layer: &Layer) -> AttentionTimes {
        AttentionTimes {
            attention: layer.attention,
            attention_core: layer.attention_core,
            compute_attention: layer.compute_attention,
            launch_attention: layer.launch_attention,
        }
    }

    fn set(&self, layer: &mut Layer) {
        layer.attention = self.attention;
        layer.attention_core = self.attention_core;
        layer.compute_attention = self.compute_attention;
        layer.launch_attention = self.launch_attention;
    }
}

/// [`AttentionPart`]s of one task by (phase, TP, SP, micro-batch bits, first and last length).
type AttentionKey = (Phase, u64, u64, u64, [u64; 2]);

#[derive(Default)]
struct AttentionCache {
    map: rustc_hash::FxHashMap<AttentionKey, AttentionPart>,
}

impl AttentionCache {
    fn get(&mut self, c: &LayoutCoeffs, seqs: f64, lens: &[u64]) -> AttentionPart {
        let (l, last) = (&c.layout, lens[lens.len() - 1]);
        let key = (c.phase, l.tp, l.sp, seqs.to_bits(), [lens[0], last]);
        *self
            .map
            .entry(key)
            .or_insert_with(|| attention_part(c, seqs, lens))
    }
}

/// The LM head's GEMM over `rows` tokens on one GPU (its vocabulary shard; 0 without a head).
pub fn lm_head(k: &Kernels, o: &OpSizes, rows: f64) -> (f64, bool) {
    if o.lm_p <= 0.0 {
        return (0.0, false);
    }
    let shape = GemmShape {
        n: o.lm_p / o.d.max(1.0),
        k: o.d,
        m: rows,
        input: GemmInput::Wide,
    };
    k.lm_head_gemm_time(shape, 2.0 * rows * o.lm_p, (o.lm_p * o.lm_bytes, 0.0))
}

/// The attention block at each of `lens` and the LM head of one micro-batch.
fn attention_part(c: &LayoutCoeffs, seqs: f64, lens: &[u64]) -> AttentionPart {
    let (k, o, l) = (&c.kernels, &c.ops, &c.layout);
    let x = load(c, seqs, lens[0]);
    let proj = attention_projections(k, o, &x);
    let mut layer = Layer::default();
    attention_block(k, o, l, &x, &proj, &mut layer);
    let first = AttentionTimes::of(&layer);
    let second = if lens.len() > 1 {
        attention_block(k, o, l, &load(c, seqs, lens[lens.len() - 1]), &proj, &mut layer);
        AttentionTimes::of(&layer)
    } else {
        first
    };
    // Logits of each sequence's last token; a speculative decode step scores every verified one.
    let logits = if x.decode { x.tokens } else { x.seqs };
    let lm_head = lm_head(k, o, logits);
    AttentionPart {
        parts: [first, second],
        lm_head,
    }
}

/// What a stage's time is made of: its operators and each kind of raw communication (the sums
/// [`stage_sum`] reports; the stage time is computed from these alone, [`plain_time`],
/// [`tbo_time`]).
struct StageParts {
    operators: f64,
    tp_all_reduce: f64,
    ep_all_to_all: f64,
    sp_exchange: f64,
    pp_send: f64,
}

impl StageParts {
    /// Communication before overlap.
    fn comm(&self) -> f64 {
        self.tp_all_reduce + self.ep_all_to_all + self.sp_exchange + self.pp_send
    }
}

/// Operators and communication of one stage from its layer times.
fn stage_parts(c: &LayoutCoeffs, s: &StageCoeffs, ly: &Layer, x: &Load) -> StageParts {
    let (l, o) = (&c.layout, &c.ops);
    let (dn, mn) = (s.dense_layers, s.moe_layers);
    let layers = dn + mn;
    let elementwise = dn * ly.elementwise_dense + mn * ly.elementwise_moe;
    let mut operators = layers * ly.attention + dn * ly.dense_ffn + mn * ly.moe_ffn + elementwise;
    if s.lm_head && o.lm_p > 0.0 {
        operators += ly.lm_head.0;
    }
    let pp_send = if l.pp > 1 && !s.lm_head {
        let hw = &c.task.hardware;
        comm::send_s(
            hw,
            c.task.cost.network_utilization,
            l.gpus_per_instance(),
            x.tokens * o.d * o.act_bytes,
        )
    } else {
        0.0
    };
    StageParts {
        operators,
        tp_all_reduce: dn * ly.tp_dense + mn * ly.tp_moe,
        ep_all_to_all: mn * ly.all_to_all,
        sp_exchange: layers * ly.sp,
        pp_send,
    }
}

/// [`stage_parts`] with the split of the operators, as the plan reports it.
fn stage_sum(c: &LayoutCoeffs, s: &StageCoeffs, ly: &Layer, p: &StageParts) -> StepBreakdown {
    let (k, o) = (&c.kernels, &c.ops);
    let (dn, mn) = (s.dense_layers, s.moe_layers);
    let layers = dn + mn;
    let mut compute = layers * ly.compute_attention + dn * ly.compute_dense + mn * ly.compute_moe;
    let mut launch = layers * ly.launch_attention + dn * ly.launch_dense + mn * ly.launch_moe;
    if s.lm_head && o.lm_p > 0.0 {
        let (t, cb) = ly.lm_head;
        compute += if cb { t } else { 0.0 };
        launch += k.gemm.launch_s;
    }
    StepBreakdown {
        operators_s: p.operators,
        compute_bound_s: compute,
        memory_bound_s: p.operators - compute,
        launch_s: launch,
        attention_core_s: layers * ly.attention_core,
        elementwise_s: dn * ly.elementwise_dense + mn * ly.elementwise_moe,
        tp_all_reduce_s: p.tp_all_reduce,
        ep_all_to_all_s: p.ep_all_to_all,
        sp_exchange_s: p.sp_exchange,
        pp_send_s: p.pp_send,
        stage: s.stage,
        ..StepBreakdown::default()
    }
}

/// The breakdown of two equal halves run one after the other (every time doubled).
fn doubled(mut b: StepBreakdown) -> StepBreakdown {
    for v in [
        &mut b.operators_s,
        &mut b.compute_bound_s,
        &mut b.memory_bound_s,
        &mut b.launch_s,
        &mut b.attention_core_s,
        &mut b.elementwise_s,
        &mut b.tp_all_reduce_s,
        &mut b.ep_all_to_all_s,
        &mut b.sp_exchange_s,
        &mut b.pp_send_s,
    ] {
        *v *= 2.0;
    }
    b
}

/// What a layer's times depend on besides the micro-batch and the layer kinds: the layout
/// without its pipeline depth (stages of every `pp` run the same layers), the phase and the
/// lengths.
type LayerGroup = (Layout, Phase, [u64; 2]);

/// Layer times already computed for one task, shared by the layouts that differ only in their
/// pipeline depth (issue 12: per-layout work once; here per layer shape once). The entries belong
/// to one [`LayerGroup`] at a time (the enumeration scans a shape's layouts one after the other);
/// a lookup in another group starts the cache afresh, so the key within the group is only the
/// micro-batch and the layer kinds. A cache belongs to one task: build a new one per enumeration.
/// Hits return the stored values, so results are bit-identical with or without it.
#[derive(Default)]
pub struct LayerCache {
    group: Option<LayerGroup>,
    /// Kept across groups: its key holds everything the attention part depends on.
    attention: AttentionCache,
    map: rustc_hash::FxHashMap<(u64, (bool, bool)), usize>,
    entries: Vec<[(Layer, Load); 2]>,
}

impl LayerCache {
    /// Forget every entry of the current group, keeping the memory (the next group of layouts
    /// starts empty; the attention parts, keyed by what they depend on, stay).
    pub fn clear(&mut self) {
        self.group = None;
        self.map.clear();
        self.entries.clear();
    }

    /// Where the layer times of `seqs` at `lens` sit in `entries` (computed on a miss).
    fn layers(&mut self, c: &LayoutCoeffs, seqs: f64, lens: &[u64]) -> usize {
        let group = (
            Layout { pp: 1, ..c.layout },
            c.phase,
            [lens[0], lens[lens.len() - 1]],
        );
        if self.group != Some(group) {
            self.clear();
            self.group = Some(group);
        }
        let (entries, attention) = (&mut self.entries, &mut self.attention);
        *self
            .map
            .entry((seqs.to_bits(), (c.has_dense, c.has_moe)))
            .or_insert_with(|| {
                entries.push(layer_times(c, seqs, lens, attention));
                entries.len() - 1
            })
    }
}

/// How a stage runs under the engine's schedule `cand` ([`overlap::Schedule`]): a stage without
/// MoE layers as one batch; two-batch overlap only for a step large enough for the engine to
/// split, else one batch.
fn stage_schedule(c: &LayoutCoeffs, cand: Schedule, s: &StageCoeffs, x: &Load) -> Schedule {
    let k = &c.kernels;
    if s.moe_layers == 0.0 || c.ops.experts == 0.0 {
        return Schedule::Plain;
    }
    match cand {
        Schedule::TwoBatch if !k.two_batch_overlap.splits(x.decode, x.seqs, x.tokens) => Schedule::Plain,
        other => other,
    }
}

/// The time of a stage run as two overlapped halves, from the half micro-batch's parts and layer
/// times: its MoE layers at the period of the two-batch schedule ([`overlap::HalfLayer`]), with
/// compute keeping the share `s` of SMs that DeepEP's normal kernels leave it in prefill (the
/// low-latency kernels of decode occupy none: DeepEP README); everything else of the stage (dense
/// layers, the LM head, their communication) for both halves one after the other; and one
/// half-layer at the start that cannot overlap, `min(ops½/s, comm½)/L`.
fn tbo_time(c: &LayoutCoeffs, s: &StageCoeffs, half: &StageParts, ly: &Layer, decode: bool) -> f64 {
    let share = if decode {
        1.0
    } else {
        c.kernels.compute_share_during_comm
    };
    let moe_layer = overlap::HalfLayer {
        attention: ly.attention / share,
        dispatch: ly.dispatch + ly.tp_moe,
        experts: (ly.moe_ffn + ly.elementwise_moe) / share,
        combine: ly.all_to_all - ly.dispatch,
    };
    let mn = s.moe_layers;
    let rest_ops = half.operators - mn * (ly.attention + ly.moe_ffn + ly.elementwise_moe);
    let rest_comm = half.comm() - mn * (ly.all_to_all + ly.tp_moe);
    let (ops, com) = (half.operators / share, half.comm());
    let layers = (s.dense_layers + s.moe_layers).max(1.0);
    2.0 * (rest_ops + rest_comm) + mn * moe_layer.period() + ops.min(com) / layers
}

/// A stage run as two overlapped halves, from the half micro-batch's layer times: only the two
/// halves are evaluated (what the engine runs); the breakdown sums them.
fn tbo_stage(c: &LayoutCoeffs, s: &StageCoeffs, hl: &Layer, hx: &Load) -> StepBreakdown {
    let p = stage_parts(c, s, hl, hx);
    let mut b = doubled(stage_sum(c, s, hl, &p));
    b.stage_time_s = tbo_time(c, s, &p, hl, hx.decode);
    b.communication_s = (b.stage_time_s - b.operators_s).max(0.0);
    b
}

/// The time of a stage run as one batch under single-batch overlap (SGLang
/// `--enable-single-batch-overlap`, sgl-project/sglang#9660;
/// python/sglang/srt/batch_overlap/single_batch_overlap.py, `SboFlags`): in each MoE layer the
/// dispatch runs beside the shared experts, and in decode (DeepEP's low-latency combine waiting
/// on DeepGEMM's per-expert completion signals, deepseek-ai/DeepEP#483) the combine's sending
/// beside the routed experts' down GEMM, which keeps the SMs the sending leaves it
/// ([`crate::cost::kernels::Kernels::combine_send_share`]). Each overlapped pair takes the longer
/// of its two parts instead of their sum; in prefill DeepEP's normal kernels hold their SMs while
/// the shared experts run (`compute_share_during_comm`, as for [`tbo_time`]) and the combine is
/// not overlapped (the completion signals are the low-latency kernels'). Everything else as
/// [`plain_time`].
fn sbo_time(c: &LayoutCoeffs, s: &StageCoeffs, p: &StageParts, ly: &Layer, decode: bool) -> f64 {
    let k = &c.kernels;
    let saved = |comm: f64, work: f64, share: f64| (comm + work - comm.max(work / share)).max(0.0);
    let share = if decode { 1.0 } else { k.compute_share_during_comm };
    let mut per_layer = saved(ly.dispatch, ly.shared_ffn, share);
    if decode {
        per_layer += saved(ly.all_to_all - ly.dispatch, ly.routed_down, k.combine_send_share);
    }
    (plain_time(c, p).1 - s.moe_layers * per_layer).max(p.operators)
}

/// A stage run as one batch under single-batch overlap ([`sbo_time`]).
fn sbo_stage(c: &LayoutCoeffs, s: &StageCoeffs, ly: &Layer, x: &Load) -> StepBreakdown {
    let p = stage_parts(c, s, ly, x);
    let mut b = stage_sum(c, s, ly, &p);
    b.stage_time_s = sbo_time(c, s, &p, ly, x.decode);
    b.communication_s = (b.stage_time_s - b.operators_s).max(0.0);
    b
}

/// The exposed communication and the time of a stage run as one micro-batch: the task's
/// `comm_overlap = o` hides `o · min(operators, communication)`.
fn plain_time(c: &LayoutCoeffs, p: &StageParts) -> (f64, f64) {
    let comm = p.comm();
    let exposed = comm - c.task.cost.comm_overlap * comm.min(p.operators);
    (exposed, p.operators + exposed)
}

/// A stage run as one micro-batch ([`plain_time`]).
fn plain_stage(c: &LayoutCoeffs, s: &StageCoeffs, ly: &Layer, x: &Load) -> StepBreakdown {
    let p = stage_parts(c, s, ly, x);
    let mut b = stage_sum(c, s, ly, &p);
    (b.communication_s, b.stage_time_s) = plain_time(c, &p);
    b
}

/// Time of one stage for one micro-batch of `seqs` sequences per rank at length / context `len`
/// (one-off; builds the coefficients).
pub fn stage_step(task: &Task, phase: Phase, l: &Layout, seqs: u64, len: u64) -> StepBreakdown {
    LayoutCoeffs::new(task, l, phase).stage_step(seqs, len)
}

/// Time of the slowest stage of the layout for a micro-batch of `seqs` sequences per attention
/// rank, at input length `len` (prefill) or context `len` (decode).
pub fn slowest_stage(c: &LayoutCoeffs, seqs: u64, len: u64) -> StepBreakdown {
    let [b, _] = slowest_stages(c, seqs, [len, len], &mut LayerCache::default());
    b
}

/// [`slowest_stage`] at two lengths / contexts at once (decode: the last token's and the mean
/// context): the layer terms the context does not change are computed once, and once for all
/// stages (stages differ only in their layer counts and the LM head).
pub fn slowest_stages(
    c: &LayoutCoeffs,
    seqs: u64,
    lens: [u64; 2],
    cache: &mut LayerCache,
) -> [StepBreakdown; 2] {
    slowest_by(c, seqs, lens, cache, |s, schedule, ly, x| match schedule {
        Schedule::TwoBatch => tbo_stage(c, s, ly, x),
        Schedule::SingleBatch => sbo_stage(c, s, ly, x),
        Schedule::Plain => plain_stage(c, s, ly, x),
    })
}

/// The stage times of [`slowest_stages`] alone (the enumeration's per-rank checks need no
/// breakdown): the same [`StageParts`], [`plain_time`] and [`tbo_time`], so equal bit for bit.
pub fn slowest_times(c: &LayoutCoeffs, seqs: u64, lens: [u64; 2], cache: &mut LayerCache) -> [f64; 2] {
    slowest_by(c, seqs, lens, cache, |s, schedule, ly, x| {
        let p = stage_parts(c, s, ly, x);
        match schedule {
            Schedule::TwoBatch => tbo_time(c, s, &p, ly, x.decode),
            Schedule::SingleBatch => sbo_time(c, s, &p, ly, x.decode),
            Schedule::Plain => plain_time(c, &p).1,
        }
    })
}

/// A stage's result with its time, for [`slowest_by`].
trait Timed: Default {
    fn time_s(&self) -> f64;
    /// Record the schedule the instance runs (the flags of a breakdown).
    fn mark(&mut self, _schedule: Schedule) {}
}

impl Timed for StepBreakdown {
    fn time_s(&self) -> f64 {
        self.stage_time_s
    }

    fn mark(&mut self, schedule: Schedule) {
        self.two_batch_overlap = schedule == Schedule::TwoBatch;
        self.single_batch_overlap = schedule == Schedule::SingleBatch;
    }
}

impl Timed for f64 {
    fn time_s(&self) -> f64 {
        *self
    }
}

/// The slowest stage at each of two lengths under the schedule the instance runs: each of the
/// engine's candidate schedules ([`overlap::TwoBatchOverlap::candidates`]) is costed, stage by
/// stage (`stage(stage, schedule, layer times, load)` from the cached layer times of the full
/// or, for two-batch overlap, the half micro-batch), and the one whose slowest stage is fastest
/// at the first length (the requirement's: TTFT's input length, TPOT's last token) is kept,
/// the earlier candidate on a tie. The result is marked with the schedule when a stage runs it
/// (a two-batch step too small to split runs as one batch, and the launch sets no flag).
fn slowest_by<T: Timed>(
    c: &LayoutCoeffs,
    seqs: u64,
    lens: [u64; 2],
    cache: &mut LayerCache,
    stage: impl Fn(&StageCoeffs, Schedule, &Layer, &Load) -> T,
) -> [T; 2] {
    let lens: &[u64] = if lens[0] == lens[1] { &lens[..1] } else { &lens };
    let x = load(c, seqs as f64, lens[0]);
    let k = &c.kernels;
    let cands = k.two_batch_overlap.candidates(k.batch_overlap, &c.layout, true);
    let runs = |cand: Schedule| c.stages.iter().map(move |s| stage_schedule(c, cand, s, &x));
    let any_tbo = cands.iter().any(|&d| runs(d).any(|r| r == Schedule::TwoBatch));
    let any_full = cands.iter().any(|&d| runs(d).any(|r| r != Schedule::TwoBatch));
    let full = any_full.then(|| cache.layers(c, seqs as f64, lens));
    let half = any_tbo.then(|| cache.layers(c, seqs as f64 / 2.0, lens));
    let entry = |i: Option<usize>| i.map(|i| &cache.entries[i]);
    let (full, half) = (entry(full), entry(half));
    let mut best: Option<[T; 2]> = None;
    for &cand in cands {
        let mut worst = [T::default(), T::default()];
        for s in &c.stages {
            let schedule = stage_schedule(c, cand, s, &x);
            for (i, w) in worst.iter_mut().enumerate() {
                let b = match (schedule, half, full) {
                    (Schedule::TwoBatch, Some(h), _) => stage(s, schedule, &h[i].0, &h[i].1),
                    (Schedule::TwoBatch, None, _) => continue,
                    (_, _, Some(f)) => stage(s, schedule, &f[i].0, &f[i].1),
                    _ => continue,
                };
                if b.time_s() > w.time_s() {
                    *w = b;
                }
            }
        }
        let ran = if runs(cand).any(|r| r == cand) {
            cand
        } else {
            Schedule::Plain
        };
        worst.iter_mut().for_each(|w| w.mark(ran));
        if best.as_ref().is_none_or(|b| worst[0].time_s() < b[0].time_s()) {
            best = Some(worst);
        }
    }
    best.unwrap_or_default()
}
