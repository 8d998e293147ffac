//! The per-GPU mapping of one instance: which layers, heads, KV heads, experts and sequences sit
//! on which GPU (DESIGN.md §2), and the invariants a deployable plan must satisfy.
//!
//! GPU ids inside an instance are `stage·W + local`, and inside a stage the local index is
//! decomposed twice over the same W GPUs: attention as `(attention_dp, sp, tp)` with tp fastest
//! (TP groups on neighbouring GPUs, hence inside a node when tp ≤ GPUs per node), experts as
//! `(ep, expert_tp)` with expert_tp fastest.

use crate::layout::{Layout, kv_heads_per_gpu, stage_layers};
use crate::spec::task::Model;
use serde::Serialize;
use std::collections::BTreeSet;

/// A check of the mapping: `(name, passed, detail)`.
pub type CheckLine = (String, bool, String);

/// One GPU of the instance and what it holds.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuPart {
    pub gpu: u64,
    pub stage: u64,
    pub tp_rank: u64,
    pub sp_rank: u64,
    pub attention_dp_rank: u64,
    pub ep_rank: u64,
    pub expert_tp_rank: u64,
    /// Query heads `[first, last]` of every attention layer on this GPU.
    pub heads: [u64; 2],
    /// KV heads `[first, last]` (for MLA the whole latent: `[0, 0]`).
    pub kv_heads: [u64; 2],
    /// Routed experts `[first, last]` of every MoE layer of the stage (absent for dense models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experts: Option<[u64; 2]>,
    /// Sequences of the instance batch served by this GPU's attention rank.
    pub sequences: u64,
}

/// One pipeline stage.
#[derive(Clone, Debug, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub stage: u64,
    pub first_layer: u64,
    pub last_layer: u64,
    pub gpu_ids: Vec<u64>,
}

/// The mapping of one instance with `batch` sequences.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Mapping {
    pub stages: Vec<Stage>,
    pub gpus: Vec<GpuPart>,
    /// Sequences per attention-DP rank, rank order.
    pub sequences_per_rank: Vec<u64>,
}

/// Split `n` items over `k` ranks, no rank more than one above another (larger ranks first).
pub fn balanced_split(n: u64, k: u64) -> Vec<u64> {
    (0..k).map(|r| n / k + u64::from(r < n % k)).collect()
}

impl Mapping {
    pub fn build(model: &Model, l: &Layout, batch: u64) -> Mapping {
        let w = l.width();
        let stages: Vec<Stage> = stage_layers(model.layers, l.pp)
            .into_iter()
            .enumerate()
            .map(|(s, (first, last))| Stage {
                stage: s as u64,
                first_layer: first,
                last_layer: last,
                gpu_ids: (s as u64 * w..(s as u64 + 1) * w).collect(),
            })
            .collect();
        let sequences_per_rank = balanced_split(batch, l.attention_dp);
        let heads_per_gpu = model.heads / l.tp;
        let (kv_per_gpu, kv_repl) = kv_heads_per_gpu(model, l.tp);
        let mut gpus = Vec::with_capacity((l.pp * w) as usize);
        for stage in 0..l.pp {
            for local in 0..w {
                let tp_rank = local % l.tp;
                let sp_rank = (local / l.tp) % l.sp;
                let dp_rank = local / (l.tp * l.sp);
                let expert_tp_rank = local % l.expert_tp;
                let ep_rank = local / l.expert_tp;
                let kv_first = match model.attention {
                    crate::spec::task::AttentionKind::Mla => 0,
                    _ => (tp_rank / kv_repl) * kv_per_gpu,
                };
                let experts = model.moe.as_ref().map(|m| {
                    let per = m.experts / l.ep;
                    [ep_rank * per, ep_rank * per + per - 1]
                });
                gpus.push(GpuPart {
                    gpu: stage * w + local,
                    stage,
                    tp_rank,
                    sp_rank,
                    attention_dp_rank: dp_rank,
                    ep_rank,
                    expert_tp_rank,
                    heads: [tp_rank * heads_per_gpu, (tp_rank + 1) * heads_per_gpu - 1],
                    kv_heads: [kv_first, kv_first + kv_per_gpu - 1],
                    experts,
                    sequences: sequences_per_rank[dp_rank as usize],
                });
            }
        }
        Mapping {
            stages,
            gpus,
            sequences_per_rank,
        }
    }

    pub fn distinct_gpus(&self) -> u64 {
        self.gpus.iter().map(|g| g.gpu).collect::<BTreeSet<_>>().len() as u64
    }

    /// Residual sequence imbalance over attention ranks: max / mean (1.0 = perfect).
    pub fn sequence_imbalance(&self) -> f64 {
        let n: u64 = self.sequences_per_rank.iter().sum();
        let max = self.sequences_per_rank.iter().copied().max().unwrap_or(0);
        if n == 0 {
            return 1.0;
        }
        max as f64 / (n as f64 / self.sequences_per_rank.len() as f64)
    }

    /// Every invariant of a deployable mapping; each entry is `(check name, passed, detail)`.
    pub fn checks(&self, model: &Model, l: &Layout, batch: u64) -> Vec<CheckLine> {
        let mut out = vec![self.gpu_count_check(l)];
        out.extend(self.layer_checks(model));
        out.push(self.head_check(model, l));
        out.extend(self.expert_check(model, l));
        out.push(self.sequence_check(l, batch));
        out
    }

    /// The instance uses exactly `pp·W` distinct GPUs, one part each.
    fn gpu_count_check(&self, l: &Layout) -> CheckLine {
        let claimed = l.gpus_per_instance();
        let distinct = self.distinct_gpus();
        let parts = self.gpus.len() as u64;
        (
            "gpu_count_matches_mapping".to_string(),
            distinct == claimed && parts == claimed,
            format!(
                "pp×W = {}×{} = {claimed} GPUs claimed; {distinct} distinct GPU ids in the mapping; {parts} parts placed",
                l.pp,
                l.width()
            ),
        )
    }

    /// Every layer on exactly one stage, contiguously; stage sizes differ by at most one.
    fn layer_checks(&self, model: &Model) -> [CheckLine; 2] {
        let mut covered = 0;
        let mut contiguous = true;
        for s in &self.stages {
            contiguous &= s.first_layer == covered;
            covered = s.last_layer + 1;
        }
        let sizes: Vec<u64> = self
            .stages
            .iter()
            .map(|s| s.last_layer - s.first_layer + 1)
            .collect();
        let spread = sizes.iter().max().unwrap_or(&0) - sizes.iter().min().unwrap_or(&0);
        [
            (
                "every_layer_placed_once".to_string(),
                contiguous && covered == model.layers,
                format!(
                    "{} stages cover layers 0..{} contiguously",
                    self.stages.len(),
                    covered
                ),
            ),
            (
                "stage_balance".to_string(),
                spread <= 1,
                format!("layers per stage {:?} (differ by {spread} ≤ 1)", sizes),
            ),
        ]
    }

    /// In each attention group of tp GPUs every head appears exactly once.
    fn head_check(&self, model: &Model, l: &Layout) -> CheckLine {
        let heads_ok = self.gpus.iter().all(|g| g.heads[1] < model.heads)
            && (0..l.tp).all(|r| {
                self.gpus
                    .iter()
                    .find(|g| g.tp_rank == r)
                    .is_some_and(|g| g.heads[0] == r * model.heads / l.tp)
            });
        (
            "every_head_placed".to_string(),
            heads_ok && model.heads.is_multiple_of(l.tp),
            format!(
                "{} query heads / tp {} = {} per GPU",
                model.heads,
                l.tp,
                model.heads / l.tp
            ),
        )
    }

    /// MoE: in each stage the expert ranges of the EP ranks cover every expert once, each split
    /// into `expert_tp` shards.
    fn expert_check(&self, model: &Model, l: &Layout) -> Option<CheckLine> {
        let moe = model.moe.as_ref()?;
        let mut ok = true;
        for s in &self.stages {
            let mut count = vec![0u64; moe.experts as usize];
            for g in self.gpus.iter().filter(|g| g.stage == s.stage) {
                if let Some([a, b]) = g.experts {
                    for e in a..=b.min(moe.experts - 1) {
                        count[e as usize] += 1;
                    }
                }
            }
            ok &= count.iter().all(|&c| c == l.expert_tp);
        }
        Some((
            "every_expert_placed".to_string(),
            ok,
            format!(
                "{} experts per layer over ep {} = {} per GPU, each in {} expert-TP shard(s), in every stage",
                moe.experts,
                l.ep,
                moe.experts / l.ep,
                l.expert_tp
            ),
        ))
    }

    /// The batch is held, balanced over the attention-DP ranks, no rank idle.
    fn sequence_check(&self, l: &Layout, batch: u64) -> CheckLine {
        let held: u64 = self.sequences_per_rank.iter().sum();
        let max = self.sequences_per_rank.iter().copied().max().unwrap_or(0);
        let min = self.sequences_per_rank.iter().copied().min().unwrap_or(0);
        (
            "sequence_balance".to_string(),
            held == batch && max - min <= 1 && min >= 1,
            format!(
                "{batch} sequences over {} attention-DP ranks: {min}..{max} per rank (imbalance max/mean {:.3})",
                l.attention_dp,
                self.sequence_imbalance()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_split_sums_and_is_balanced() {
        for n in 0..50 {
            for k in 1..20 {
                let s = balanced_split(n, k);
                assert_eq!(s.iter().sum::<u64>(), n);
                assert!(s.iter().max().unwrap() - s.iter().min().unwrap() <= 1);
            }
        }
    }
}
