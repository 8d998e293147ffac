//! Parallel layouts (DESIGN.md §2): degrees, the GPU-count invariant, divisibility, enumeration.
//!
//! One instance of a phase is `pp` pipeline stages of `W` GPUs each. Inside a stage attention
//! uses the W GPUs as `tp × sp × attention_dp` and the MoE experts as `ep × expert_tp`, so
//! `W = tp·sp·attention_dp = ep·expert_tp` and an instance has `pp·W` GPUs — not the product of
//! all degrees. This is Megatron-Core's "MoE parallel folding" (world = TP·CP·DP·PP =
//! ETP·EP·EDP·PP), SGLang's `--tp N --dp D --enable-dp-attention --ep-size N`, and
//! TensorRT-LLM's `Mapping` (moe_tp·moe_ep = tp).

pub mod capability;
pub mod mapping;

use crate::spec::task::{AttentionKind, Model};
use serde::Serialize;
use std::fmt;

/// The two phases of a disaggregated deployment.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Prefill,
    Decode,
}

impl Phase {
    pub const BOTH: [Phase; 2] = [Phase::Prefill, Phase::Decode];
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill",
            Phase::Decode => "decode",
        }
    }
    /// The plan file of the phase: `prefill.json`, `decode.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill.json",
            Phase::Decode => "decode.json",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Degrees of one instance (replicas are chosen by the optimizer, not part of the layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Layout {
    pub tp: u64,
    pub pp: u64,
    pub sp: u64,
    pub attention_dp: u64,
    pub ep: u64,
    pub expert_tp: u64,
}

impl Layout {
    /// GPUs of one pipeline stage: `W = tp·sp·attention_dp`.
    pub fn width(&self) -> u64 {
        self.tp * self.sp * self.attention_dp
    }
    /// GPUs of one instance: `pp·W`.
    pub fn gpus_per_instance(&self) -> u64 {
        self.pp * self.width()
    }
    /// Short readable id, also used in LP variable names: `tp4_pp1_sp1_dp8_ep32_etp1`.
    pub fn id(&self) -> String {
        format!(
            "tp{}_pp{}_sp{}_dp{}_ep{}_etp{}",
            self.tp, self.pp, self.sp, self.attention_dp, self.ep, self.expert_tp
        )
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TP{} PP{} SP{} attention-DP{} EP{} expert-TP{}",
            self.tp, self.pp, self.sp, self.attention_dp, self.ep, self.expert_tp
        )
    }
}

/// Bounds on the enumeration, so that no task can make the search explode.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest stage width W considered.
    pub max_width: u64,
    /// Largest pipeline depth considered.
    pub max_pp: u64,
    /// Largest GPU count of one instance.
    pub max_instance_gpus: u64,
}

impl Limits {
    /// Default bounds, tightened by a GPU budget when there is one.
    pub fn for_budget(budget: Option<u64>) -> Limits {
        let cap = budget.unwrap_or(u64::MAX);
        Limits {
            max_width: params::MAX_STAGE_WIDTH.min(cap),
            max_pp: params::MAX_PP.min(cap),
            max_instance_gpus: params::MAX_GPUS_PER_INSTANCE.min(cap),
        }
    }
}

/// KV heads one GPU holds under `tp`, and how many times each KV head is replicated.
/// When `tp > kv_heads` each GPU keeps one KV head, replicated `tp / kv_heads` times
/// (vLLM / Megatron GQA sharding). MLA keeps the whole latent on every TP rank.
pub fn kv_heads_per_gpu(model: &Model, tp: u64) -> (u64, u64) {
    match model.attention {
        AttentionKind::Mla => (1, tp),
        _ if tp <= model.kv_heads => (model.kv_heads / tp, 1),
        _ => (1, tp / model.kv_heads),
    }
}

/// Why a layout is not valid for a model and phase (DESIGN.md §2 divisibility).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("{name} must be at least 1")]
    ZeroDegree { name: &'static str },
    #[error(
        "sp={sp} in decode: sequence parallelism only splits prefill (one new token per step has no sequence to split)"
    )]
    SpInDecode { sp: u64 },
    #[error("tp={tp} does not divide the {heads} query heads")]
    Heads { tp: u64, heads: u64 },
    #[error("tp={tp} neither divides nor is a multiple of the {kv_heads} KV heads")]
    KvHeads { tp: u64, kv_heads: u64 },
    #[error("tp={tp} does not divide the dense FFN size {ffn}")]
    DenseFfn { tp: u64, ffn: u64 },
    #[error("pp={pp} exceeds the {layers} layers")]
    Stages { pp: u64, layers: u64 },
    #[error("ep={ep} expert_tp={expert_tp} on a dense model: both must be 1")]
    ExpertsOnDense { ep: u64, expert_tp: u64 },
    #[error(
        "ep×expert_tp = {ep}×{expert_tp} = {} GPUs but attention uses tp×sp×attention_dp = {tp}×{sp}×{attention_dp} = {} GPUs; both must equal the stage width",
        ep * expert_tp,
        tp * sp * attention_dp
    )]
    MoeWidth {
        ep: u64,
        expert_tp: u64,
        tp: u64,
        sp: u64,
        attention_dp: u64,
    },
    #[error("ep={ep} does not divide the {experts} experts per layer")]
    Experts { ep: u64, experts: u64 },
    #[error("expert_tp={expert_tp} does not divide the expert size {size}")]
    ExpertSize { expert_tp: u64, size: u64 },
}

/// Why a layout is not valid for this model and phase, or `Ok` (DESIGN.md §2 divisibility).
pub fn validate(model: &Model, phase: Phase, l: &Layout) -> Result<(), LayoutError> {
    let degrees = [
        ("tp", l.tp),
        ("pp", l.pp),
        ("sp", l.sp),
        ("attention_dp", l.attention_dp),
        ("ep", l.ep),
        ("expert_tp", l.expert_tp),
    ];
    if let Some(&(name, _)) = degrees.iter().find(|(_, v)| *v == 0) {
        return Err(LayoutError::ZeroDegree { name });
    }
    if phase == Phase::Decode && l.sp != 1 {
        return Err(LayoutError::SpInDecode { sp: l.sp });
    }
    let tp = l.tp;
    if !model.heads.is_multiple_of(tp) {
        return Err(LayoutError::Heads {
            tp,
            heads: model.heads,
        });
    }
    let kv = model.kv_heads;
    if model.attention != AttentionKind::Mla && !kv.is_multiple_of(tp) && !tp.is_multiple_of(kv) {
        return Err(LayoutError::KvHeads { tp, kv_heads: kv });
    }
    if model.dense_ffn_layers() > 0 && !model.ffn_intermediate_size.is_multiple_of(tp) {
        return Err(LayoutError::DenseFfn {
            tp,
            ffn: model.ffn_intermediate_size,
        });
    }
    if l.pp > model.layers {
        return Err(LayoutError::Stages {
            pp: l.pp,
            layers: model.layers,
        });
    }
    validate_experts(model, l)
}

/// The expert split: `ep·expert_tp = W`, `ep | experts`, `expert_tp | expert size`; dense
/// models have `ep = expert_tp = 1`.
fn validate_experts(model: &Model, l: &Layout) -> Result<(), LayoutError> {
    let (ep, expert_tp) = (l.ep, l.expert_tp);
    let Some(moe) = &model.moe else {
        return if ep != 1 || expert_tp != 1 {
            Err(LayoutError::ExpertsOnDense { ep, expert_tp })
        } else {
            Ok(())
        };
    };
    if ep * expert_tp != l.width() {
        return Err(LayoutError::MoeWidth {
            ep,
            expert_tp,
            tp: l.tp,
            sp: l.sp,
            attention_dp: l.attention_dp,
        });
    }
    if !moe.experts.is_multiple_of(ep) {
        return Err(LayoutError::Experts {
            ep,
            experts: moe.experts,
        });
    }
    if !moe.expert_intermediate_size.is_multiple_of(expert_tp) {
        return Err(LayoutError::ExpertSize {
            expert_tp,
            size: moe.expert_intermediate_size,
        });
    }
    Ok(())
}

/// Layers of each pipeline stage as `(first, last)` inclusive; stage sizes differ by at most one,
/// the larger stages first.
pub fn stage_layers(layers: u64, pp: u64) -> Vec<(u64, u64)> {
    let base = layers / pp;
    let extra = layers % pp;
    let mut first = 0;
    (0..pp)
        .map(|s| {
            let n = base + u64::from(s < extra);
            let range = (first, first + n - 1);
            first += n;
            range
        })
        .collect()
}

fn divisors(n: u64, max: u64) -> Vec<u64> {
    (1..=n.min(max)).filter(|d| n.is_multiple_of(*d)).collect()
}

use crate::params::{self, powers_of_two};

/// Pipeline depths considered: 1..=8, then powers of two.
fn pp_options(model: &Model, limits: &Limits) -> Vec<u64> {
    let max = limits.max_pp.min(model.layers);
    let mut v: Vec<u64> = (1..=max.min(8)).collect();
    v.extend(powers_of_two(max).into_iter().filter(|&p| p > 8));
    v
}

/// Every valid layout of the phase within the limits, in a fixed order.
///
/// Search space: `tp` over divisors of the query heads (with the KV-head rule), `sp` over powers
/// of two (prefill only), `attention_dp` over the integers that complete a stage width; for MoE
/// the width must also be `ep·expert_tp` with `ep | experts`, `expert_tp | expert size`.
pub fn enumerate(model: &Model, phase: Phase, limits: &Limits) -> Vec<Layout> {
    let max_w = limits.max_width;
    let tps: Vec<u64> = divisors(model.heads, max_w);
    let sps: Vec<u64> = match phase {
        Phase::Prefill => powers_of_two(params::MAX_SP.min(max_w)),
        Phase::Decode => vec![1],
    };
    // Candidate (width, ep, expert_tp) triples.
    let mut widths: Vec<(u64, u64, u64)> = Vec::new();
    match &model.moe {
        None => {
            for w in 1..=max_w {
                widths.push((w, 1, 1));
            }
        }
        Some(moe) => {
            for ep in divisors(moe.experts, max_w) {
                // expert-TP over powers of two only (what engines shard experts by).
                for etp in powers_of_two(max_w / ep) {
                    if moe.expert_intermediate_size % etp != 0 {
                        continue;
                    }
                    widths.push((ep * etp, ep, etp));
                }
            }
        }
    }
    widths.sort();
    // Loops in the order of `Layout`'s fields (tp, pp, sp, then attention_dp = w / (tp·sp), ep,
    // expert-TP, which ascend with the sorted width triples for fixed tp·sp): the layouts come out
    // sorted and distinct, with no sort pass (tests below hold it equal to a sorted enumeration).
    let pps = pp_options(model, limits);
    // Room for every combination up front: capacity never touched costs no memory, and no
    // growth step copies (and faults in) the list again.
    let mut out = Vec::with_capacity(tps.len() * pps.len() * sps.len() * widths.len());
    for &tp in &tps {
        for &pp in &pps {
            for &sp in &sps {
                for &(w, ep, etp) in &widths {
                    if pp * w > limits.max_instance_gpus {
                        break; // the widths ascend: every later one is wider still
                    }
                    if w % (tp * sp) != 0 {
                        continue;
                    }
                    let attention_dp = w / (tp * sp);
                    // Dense models: attention-DP inside an instance is the same as replicas;
                    // keep powers of two only, to bound the search.
                    if model.moe.is_none() && !attention_dp.is_power_of_two() {
                        continue;
                    }
                    let l = Layout {
                        tp,
                        pp,
                        sp,
                        attention_dp,
                        ep,
                        expert_tp: etp,
                    };
                    if validate(model, phase, &l).is_ok() {
                        out.push(l);
                    }
                }
            }
        }
    }
    debug_assert!(out.windows(2).all(|w| w[0] < w[1]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enumeration as first written: pipeline depth outermost, then a sort and a dedup.
    fn sorted_reference(model: &Model, phase: Phase, limits: &Limits) -> Vec<Layout> {
        let max_w = limits.max_width;
        let sps = match phase {
            Phase::Prefill => powers_of_two(params::MAX_SP.min(max_w)),
            Phase::Decode => vec![1],
        };
        let widths: Vec<(u64, u64, u64)> = match &model.moe {
            None => (1..=max_w).map(|w| (w, 1, 1)).collect(),
            Some(moe) => divisors(moe.experts, max_w)
                .into_iter()
                .flat_map(|ep| {
                    powers_of_two(max_w / ep)
                        .into_iter()
                        .map(move |etp| (ep * etp, ep, etp))
                })
                .filter(|&(_, _, etp)| moe.expert_intermediate_size % etp == 0)
                .collect(),
        };
        let mut out = Vec::new();
        for pp in pp_options(model, limits) {
            for &(w, ep, etp) in &widths {
                for tp in divisors(model.heads, max_w) {
                    for &sp in &sps {
                        if w % (tp * sp) != 0 || pp * w > limits.max_instance_gpus {
                            continue;
                        }
                        let l = Layout {
                            tp,
                            pp,
                            sp,
                            attention_dp: w / (tp * sp),
                            ep,
                            expert_tp: etp,
                        };
                        let dense_ok = model.moe.is_some() || l.attention_dp.is_power_of_two();
                        if dense_ok && validate(model, phase, &l).is_ok() {
                            out.push(l);
                        }
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn enumeration_comes_out_sorted_and_complete() {
        // The models of the shipped task files (dense, GQA, MLA, MoE with and without dense
        // layers), both phases, with and without a GPU budget.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.retain(|p| p.extension().is_some_and(|x| x == "md"));
        files.sort();
        let mut models = 0;
        for path in files {
            // Malformed fixtures (they test the parser) are skipped.
            let Ok(parsed) = crate::input::load::load_task(&path) else {
                continue;
            };
            let Ok(r) = crate::spec::resolve::resolve(&path.display().to_string(), parsed) else {
                continue;
            };
            models += 1;
            for phase in Phase::BOTH {
                for budget in [None, Some(8), Some(48)] {
                    let limits = Limits::for_budget(budget);
                    let got = enumerate(&r.task.model, phase, &limits);
                    let name = format!("{} {phase:?} {budget:?}", path.display());
                    assert!(got.windows(2).all(|w| w[0] < w[1]), "{name}");
                    assert_eq!(got, sorted_reference(&r.task.model, phase, &limits), "{name}");
                }
            }
        }
        assert!(models >= 5, "only {models} task files resolved");
    }

    #[test]
    fn stages_differ_by_at_most_one_layer() {
        for layers in 1..100 {
            for pp in 1..=layers.min(17) {
                let s = stage_layers(layers, pp);
                assert_eq!(s.len() as u64, pp);
                assert_eq!(s[0].0, 0);
                assert_eq!(s.last().unwrap().1, layers - 1);
                let sizes: Vec<u64> = s.iter().map(|(a, b)| b - a + 1).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
                for w in s.windows(2) {
                    assert_eq!(w[0].1 + 1, w[1].0);
                }
            }
        }
    }
}
