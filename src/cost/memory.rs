//! Memory per GPU: weights as sharded, KV cache, activations at peak, runtime reserve.
//!
//! Sharding follows Megatron-LM (Shoeybi et al. 2019; Narayanan et al. SC'21): attention and
//! dense FFN weights split over `tp` and replicated over `sp` and `attention_dp`; routed experts
//! split over `ep` (whole experts) and `expert_tp` (inside an expert); the embedding on the first
//! stage and the LM head on the last, vocab-parallel over `tp`; layers over `pp`.
//! KV cache: vLLM's PagedAttention accounting (Kwon et al., SOSP'23) — every sequence may reach the
//! maximum length, so `max_len` tokens are reserved per sequence; GQA KV heads split over `tp` and
//! replicated when `tp > kv_heads`; MLA's latent is replicated on every TP rank (vLLM/SGLang MLA);
//! context parallelism (`sp`) splits the KV of a sequence over its `sp` GPUs (ring attention,
//! Liu et al. 2023).

use super::params;
use crate::layout::{Layout, Phase, kv_heads_per_gpu, stage_layers};
use crate::spec::task::{Model, Task};
use serde::Serialize;

/// Memory of the most loaded GPU of an instance, bytes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MemoryBreakdown {
    pub weights_bytes: f64,
    pub kv_cache_bytes: f64,
    pub activations_bytes: f64,
    pub reserve_bytes: f64,
    pub total_bytes: f64,
    pub capacity_bytes: f64,
    /// Pipeline stage of the most loaded GPU.
    pub stage: u64,
}

impl MemoryBreakdown {
    pub fn fits(&self) -> bool {
        self.total_bytes <= self.capacity_bytes
    }
}

/// What one pipeline stage holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StageShape {
    pub stage: u64,
    pub dense_layers: u64,
    pub moe_layers: u64,
    pub embedding: bool,
    pub lm_head: bool,
}

impl StageShape {
    pub fn layers(&self) -> u64 {
        self.dense_layers + self.moe_layers
    }
}

/// Shapes of all stages (dense leading layers land on the first stages).
pub fn stage_shapes(model: &Model, pp: u64) -> Vec<StageShape> {
    let dense_lead = model.dense_ffn_layers();
    let moe = model.is_moe();
    stage_layers(model.layers, pp)
        .into_iter()
        .enumerate()
        .map(|(s, (first, last))| {
            let n = last - first + 1;
            let dense = if moe {
                (last + 1).min(dense_lead).saturating_sub(first)
            } else {
                n
            };
            StageShape {
                stage: s as u64,
                dense_layers: dense,
                moe_layers: n - dense,
                embedding: s == 0,
                lm_head: s as u64 == pp - 1,
            }
        })
        .collect()
}

/// Weight parameters on one GPU of a stage (before the declared-size scale).
/// The first stage of each run of equal stages (same dense and MoE layer counts, embedding and
/// LM head), in order: what the per-layout coefficients need, since equal stages have equal
/// weights, KV cache and times (`pp` entries shrink to at most a few).
pub fn stage_runs(model: &Model, pp: u64) -> Vec<StageShape> {
    let mut shapes = stage_shapes(model, pp);
    shapes.dedup_by_key(|s| (s.dense_layers, s.moe_layers, s.embedding, s.lm_head));
    shapes
}

pub fn stage_weight_params(model: &Model, l: &Layout, s: &StageShape) -> f64 {
    stage_weight_params_with(&params::ModelSizes::of(model), model, l, s)
}

/// [`stage_weight_params`] from the model's part sizes computed once per task.
fn stage_weight_params_with(z: &params::ModelSizes, model: &Model, l: &Layout, s: &StageShape) -> f64 {
    let tp = l.tp as f64;
    let mut p = s.layers() as f64 * z.attention / tp + s.dense_layers as f64 * z.ffn / tp;
    if let Some(moe) = &model.moe {
        let experts_here = moe.experts.div_ceil(l.ep) as f64;
        let router = model.hidden_size as f64 * moe.experts as f64;
        let shared = moe.shared_experts as f64 * z.shared_expert;
        p += s.moe_layers as f64 * (experts_here * z.expert / l.expert_tp as f64 + router + shared / tp);
    }
    p + stage_embedding_params(z, model, l, s)
}

/// Of [`stage_weight_params`]: the token embedding and LM head parameters on one GPU of a stage
/// (held at 16 bits, [`params::embedding_bytes_per_param`]).
fn stage_embedding_params(z: &params::ModelSizes, model: &Model, l: &Layout, s: &StageShape) -> f64 {
    let tp = l.tp as f64;
    let mut p = 0.0;
    if s.embedding {
        p += z.embedding / tp;
    }
    if s.lm_head && !(model.tied_embeddings && s.embedding) {
        p += z.lm_head / tp;
    }
    p
}

/// Weight bytes on one GPU of a stage: its parameters at the weights' dtype, the embedding and LM
/// head at 16 bits (`scale`: the declared-size scale).
fn stage_weight_bytes(z: &params::ModelSizes, model: &Model, l: &Layout, s: &StageShape) -> f64 {
    let extra = params::embedding_bytes_per_param(model) - model.dtype.bytes();
    let p = stage_weight_params_with(z, model, l, s);
    (p * model.dtype.bytes() + stage_embedding_params(z, model, l, s) * extra) * z.scale
}

/// KV-cache bytes per token per layer held by one GPU (after TP sharding / replication).
pub fn kv_bytes_per_token_layer_gpu(model: &Model, tp: u64) -> f64 {
    let full = params::kv_bytes_per_token_layer(model);
    match model.attention {
        crate::spec::task::AttentionKind::Mla => full,
        _ => {
            let (per_gpu, _) = kv_heads_per_gpu(model, tp);
            full * per_gpu as f64 / model.kv_heads as f64
        }
    }
}

/// Activation bytes per token in flight on one GPU (without the logits).
///
/// Assumption: inference keeps only the live tensors of one layer (no saved activations), the
/// peak being the residual stream in/out (`2d`), the attention projections (`(q + 2kv)/tp`) and
/// the largest FFN intermediate on the GPU (gate and up: `2·inter/tp`, or for experts the routed
/// token copies `k·(d + 2·inter/expert_tp)` times the imbalance when experts are split by EP),
/// plus FP32 logits on the last stage. FlashAttention keeps no `s²` score matrix (Dao et al. 2022).
fn activation_bytes_per_token(task: &Task, l: &Layout) -> f64 {
    let m = &task.model;
    let d = m.hidden_size as f64;
    let qkv = (m.heads + 2 * m.kv_heads) as f64 * m.head_dim as f64 / l.tp as f64;
    let dense = if m.dense_ffn_layers() > 0 {
        2.0 * m.ffn_intermediate_size as f64 / l.tp as f64
    } else {
        0.0
    };
    let imbalance = if l.ep > 1 { task.cost.moe_imbalance } else { 1.0 };
    let experts = m.moe.as_ref().map_or(0.0, |moe| {
        moe.top_k as f64 * (d + 2.0 * moe.expert_intermediate_size as f64 / l.expert_tp as f64) * imbalance
    });
    (2.0 * d + qkv + dense.max(experts)) * task.cost.activation_bytes
}

/// Memory of one distinct stage as `weights + seqs·kv + activations(seqs)`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct StageMemory {
    stage: u64,
    weights: f64,
    kv_per_seq: f64,
    lm_head: bool,
}

/// Per-layout memory coefficients (the batch enters only through sequences per rank).
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryCoeffs {
    stages: smallvec::SmallVec<[StageMemory; 4]>,
    act_per_token: f64,
    logits_per_seq: f64,
    /// Prefill: tokens per sequence in flight, and the chunk that caps them.
    tokens_per_seq: f64,
    chunk_tokens: f64,
    reserve: f64,
    capacity: f64,
}

impl MemoryCoeffs {
    /// Coefficients of `l` in `phase`; `shapes` are the layout's stages.
    pub fn new(task: &Task, phase: Phase, l: &Layout, shapes: &[StageShape]) -> MemoryCoeffs {
        Self::with_sizes(task, phase, l, shapes, &params::ModelSizes::of(&task.model))
    }

    /// [`MemoryCoeffs::new`] with the model's part sizes computed once per task.
    pub fn with_sizes(
        task: &Task,
        phase: Phase,
        l: &Layout,
        shapes: &[StageShape],
        z: &params::ModelSizes,
    ) -> MemoryCoeffs {
        let m = &task.model;
        let capacity = task.hardware.memory_bytes;
        let wbytes = m.dtype.bytes() * z.scale;
        let kv_tokens = task.workload.kv_tokens_per_sequence().div_ceil(l.sp) as f64;
        let kv_layer = kv_bytes_per_token_layer_gpu(m, l.tp);
        let even_split = params::weight_bytes(m) / l.gpus_per_instance() as f64;
        let mut stages: smallvec::SmallVec<[StageMemory; 4]> = smallvec::SmallVec::new();
        let mut last: Option<(&StageShape, f64)> = None;
        // Speculative decoding's draft module (DeepSeek-V3's MTP: one more layer per draft token,
        // sharing the embedding and LM head; its small input projection is not counted) sits with
        // the LM head, with its KV cache, in both phases: every engine launches both PD roles
        // with it (`crate::launch`), the prefill to hand the draft state over.
        let drafts = task.cost.speculative().map_or(0.0, |s| s.draft_tokens as f64);
        for s in shapes {
            // Stages of the same shape hold the same weights: computed once per run of them.
            let weights = match last {
                Some((p, w))
                    if (p.dense_layers, p.moe_layers, p.embedding, p.lm_head)
                        == (s.dense_layers, s.moe_layers, s.embedding, s.lm_head) =>
                {
                    w
                }
                _ => stage_weight_bytes(z, m, l, s).max(even_split),
            };
            last = Some((s, weights));
            let mut mem = StageMemory {
                stage: s.stage,
                weights,
                kv_per_seq: s.layers() as f64 * kv_tokens * kv_layer,
                lm_head: s.lm_head,
            };
            if drafts > 0.0 && s.lm_head {
                let moe = m.is_moe() as u64;
                let layer = StageShape {
                    stage: s.stage,
                    dense_layers: 1 - moe,
                    moe_layers: moe,
                    embedding: false,
                    lm_head: false,
                };
                mem.weights += drafts * stage_weight_params_with(z, m, l, &layer) * wbytes;
                mem.kv_per_seq += drafts * kv_tokens * kv_layer;
            }
            if stages.last().is_none_or(|p| {
                (p.weights, p.kv_per_seq, p.lm_head) != (mem.weights, mem.kv_per_seq, mem.lm_head)
            }) {
                stages.push(mem);
            }
        }
        let (tokens_per_seq, chunk_tokens) = match phase {
            // The computed tokens of the longest prompt (past its cached prefix).
            Phase::Prefill => (
                (task.workload.max_len - task.workload.cached_prefix(task.workload.max_len)).div_ceil(l.sp)
                    as f64,
                task.cost.prefill_chunk_tokens as f64,
            ),
            // A speculative step holds 1 + draft tokens per sequence (and their logits).
            Phase::Decode => (1.0 + drafts, f64::INFINITY),
        };
        let logit_rows = if phase == Phase::Decode { 1.0 + drafts } else { 1.0 };
        MemoryCoeffs {
            stages,
            act_per_token: activation_bytes_per_token(task, l),
            logits_per_seq: m.vocab_size as f64 / l.tp as f64 * 4.0 * logit_rows,
            tokens_per_seq,
            chunk_tokens,
            reserve: task.cost.reserve_fraction * capacity,
            capacity,
        }
    }

    /// Memory of the most loaded GPU with `seqs` sequences per attention rank. Tokens in flight:
    /// prefill processes up to a chunk of its sequences' tokens, decode one token per sequence.
    pub fn at(&self, seqs: u64) -> MemoryBreakdown {
        let mut worst = MemoryBreakdown {
            weights_bytes: 0.0,
            kv_cache_bytes: 0.0,
            activations_bytes: 0.0,
            reserve_bytes: self.reserve,
            total_bytes: f64::NEG_INFINITY,
            capacity_bytes: self.capacity,
            stage: 0,
        };
        for (s, kv, act, total) in self.stage_totals(seqs) {
            if total > worst.total_bytes {
                worst.weights_bytes = s.weights;
                worst.kv_cache_bytes = kv;
                worst.activations_bytes = act;
                worst.total_bytes = total;
                worst.stage = s.stage;
            }
        }
        worst
    }

    /// The total of [`MemoryCoeffs::at`] alone (bytes).
    pub fn total_at(&self, seqs: u64) -> f64 {
        self.stage_totals(seqs).fold(
            f64::NEG_INFINITY,
            |w, (_, _, _, total)| if total > w { total } else { w },
        )
    }

    /// Whether `total` bytes fit one GPU ([`MemoryBreakdown::fits`]).
    pub fn fits(&self, total: f64) -> bool {
        total <= self.capacity
    }

    /// Each stage with its KV cache, activations and total bytes at `seqs` sequences per rank.
    fn stage_totals(&self, seqs: u64) -> impl Iterator<Item = (&StageMemory, f64, f64, f64)> {
        let seqs = seqs as f64;
        let tokens = (seqs * self.tokens_per_seq).min(self.chunk_tokens);
        self.stages.iter().map(move |s| {
            let logits = if s.lm_head {
                seqs * self.logits_per_seq
            } else {
                0.0
            };
            let act = tokens * self.act_per_token + logits;
            let kv = seqs * s.kv_per_seq;
            (s, kv, act, s.weights + kv + act + self.reserve)
        })
    }
}

/// Memory of the most loaded GPU of an instance holding `batch` sequences.
pub fn per_gpu(task: &Task, phase: Phase, l: &Layout, batch: u64) -> MemoryBreakdown {
    let shapes = stage_shapes(&task.model, l.pp);
    MemoryCoeffs::new(task, phase, l, &shapes).at(super::sequences_per_rank(l, batch))
}
