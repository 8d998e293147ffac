//! Candidates per phase: every valid layout × per-instance batch, scored by the cost model, with
//! the reason each rejected one was dropped (DESIGN.md §5; reasons grouped like pubgrub's
//! "no solution" report, STYLE.md 6).

pub mod prune;

use crate::cost::{self, Figures};
use crate::layout::{self, Layout, Limits, Phase};
use crate::spec::goal::Mode;
use crate::spec::task::Task;
use serde::Serialize;
use std::collections::BTreeMap;

/// A feasible layout with its per-instance batch and figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Candidate {
    pub phase: Phase,
    pub layout: Layout,
    /// Sequences one instance holds.
    pub batch: u64,
    /// Instances needed to hold the task's batch B: `ceil(B / batch)`.
    pub cover_instances: u64,
    pub figures: Figures,
    /// Tokens/s per GPU of the phase when `cover_instances` instances share B sequences
    /// (`= instance tokens/s per GPU × B / (cover_instances × batch)`).
    pub cover_tokens_per_s_per_gpu: f64,
}

impl Candidate {
    pub fn gpus_per_instance(&self) -> u64 {
        self.layout.gpus_per_instance()
    }
    /// Readable id used for LP variable names: `tp4_pp1_sp1_dp8_ep32_etp1_b16`.
    pub fn id(&self) -> String {
        format!("{}_b{}", self.layout.id(), self.batch)
    }
}

/// Why candidates were rejected, in the order the checks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Attention-DP ranks without a sequence.
    Balance,
    Memory,
    Ttft,
    Tpot,
    ThroughputPerGpu,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Balance => "balance",
            Limit::Memory => "memory per GPU",
            Limit::Ttft => "TTFT",
            Limit::Tpot => "TPOT",
            Limit::ThroughputPerGpu => "throughput per GPU",
        }
    }
}

/// Rejected candidates of one kind: how many, one example, and the best value any of them reached.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Rejections {
    pub count: u64,
    pub example: String,
    /// Best value reached among candidates that passed every earlier check (bytes, s, tokens/s).
    pub best: f64,
}

/// All candidates of a phase.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseCandidates {
    pub phase: Phase,
    pub layouts: u64,
    pub evaluated: u64,
    /// Feasible candidates kept: all of them ([`generate`]) or those that may be optimal
    /// ([`generate_for`]).
    pub feasible: Vec<Candidate>,
    /// Feasible candidates seen, kept or not.
    pub feasible_seen: u64,
    pub rejected: BTreeMap<Limit, Rejections>,
}

/// Per-instance batch sizes considered for a task batch `b_total`: the balanced loads
/// `ceil(B/n)` for n = 1..=32 instances and geometrically spaced n beyond (bounded count).
pub fn batch_options(b_total: u64) -> Vec<u64> {
    let mut ns: Vec<u64> = (1..=32.min(b_total)).collect();
    let mut n = 32.0f64;
    while (n as u64) < b_total {
        n *= 1.3;
        ns.push((n as u64).min(b_total));
    }
    let mut bs: Vec<u64> = ns.into_iter().map(|n| b_total.div_ceil(n)).collect();
    bs.sort_unstable();
    bs.dedup();
    bs
}

fn reject(
    map: &mut BTreeMap<Limit, Rejections>,
    limit: Limit,
    example: impl FnOnce() -> String,
    value: f64,
    higher_is_better: bool,
) {
    let e = map.entry(limit).or_insert_with(|| Rejections {
        count: 0,
        example: example(),
        best: if higher_is_better {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        },
    });
    e.count += 1;
    e.best = if higher_is_better {
        e.best.max(value)
    } else {
        e.best.min(value)
    };
}

/// A failed check: the limit and the value the candidate reached (bytes, s, tokens/s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Failed {
    pub limit: Limit,
    pub value: f64,
}

impl Failed {
    /// The failure in words, e.g. `TP1 PP1 ... b=128: 92.3 GiB/GPU > 59.6 GiB`.
    pub fn text(&self, task: &Task, layout: &Layout, batch: u64) -> String {
        let gib = |b: f64| b / (1u64 << 30) as f64;
        let req = &task.requirements;
        let v = self.value;
        let what = match self.limit {
            Limit::Balance => format!(
                "attention-DP {} > {batch} sequences, idle ranks",
                layout.attention_dp
            ),
            Limit::Memory => format!(
                "{:.1} GiB/GPU > {:.1} GiB",
                gib(v),
                gib(task.hardware.memory_bytes)
            ),
            Limit::Ttft => format!("TTFT {v:.3} s > {} s", req.ttft_s.unwrap_or(f64::NAN)),
            Limit::Tpot => format!(
                "TPOT {:.2} ms > {:.2} ms",
                v * 1e3,
                req.tpot_s.unwrap_or(f64::NAN) * 1e3
            ),
            Limit::ThroughputPerGpu => format!(
                "{v:.0} tokens/s/GPU < {:.0}",
                req.throughput_per_gpu_tokens_per_s.unwrap_or(f64::NAN)
            ),
        };
        format!("{layout} b={batch}: {what}")
    }
}

/// Score one layout/batch and check it against the task (memory first: it is cheap).
pub fn check(task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Result<Candidate, Failed> {
    check_with(&cost::LayoutCoeffs::new(task, layout, phase), batch)
}

/// [`check`] with the layout's cost coefficients computed once (enumeration over batches).
pub fn check_with(coeffs: &cost::LayoutCoeffs, batch: u64) -> Result<Candidate, Failed> {
    let (task, phase, layout) = (coeffs.task, coeffs.phase, &coeffs.layout);
    let fail = |limit, value| Err(Failed { limit, value });
    let b_total = task.workload.batch;
    if batch < layout.attention_dp {
        return fail(Limit::Balance, batch as f64);
    }
    // `evaluate` computes the memory too; a memory failure costs one evaluation per layout
    // (larger batches are skipped), a pass saves a second memory computation.
    let figures = coeffs.figures(batch);
    if !figures.memory.fits() {
        return fail(Limit::Memory, figures.memory.total_bytes);
    }
    let req = &task.requirements;
    if let (Some(limit), Some(t)) = (req.ttft_s, figures.ttft_s)
        && t > limit
    {
        return fail(Limit::Ttft, t);
    }
    if let (Some(limit), Some(t)) = (req.tpot_s, figures.tpot_s)
        && t > limit
    {
        return fail(Limit::Tpot, t);
    }
    let cover_instances = b_total.div_ceil(batch);
    let cover = figures.throughput_tokens_per_s_per_gpu * b_total as f64 / (cover_instances * batch) as f64;
    if let Some(min) = req.throughput_per_gpu_tokens_per_s {
        // With a budget or rate, instances run full; without, they share B.
        let reached = if task.hardware.gpu_budget.is_some() || req.request_rate_per_s.is_some() {
            figures.throughput_tokens_per_s_per_gpu
        } else {
            cover
        };
        if reached < min {
            return fail(Limit::ThroughputPerGpu, reached);
        }
    }
    Ok(Candidate {
        phase,
        layout: *layout,
        batch,
        cover_instances,
        figures,
        cover_tokens_per_s_per_gpu: cover,
    })
}

/// Enumerate and score every candidate of a phase; every feasible one is kept.
pub fn generate(task: &Task, phase: Phase) -> PhaseCandidates {
    let mut feasible = Vec::new();
    let mut pc = scan(task, phase, |c| feasible.push(c));
    pc.feasible = feasible;
    pc
}

/// Enumerate and score every candidate of a phase, keeping only those that may be optimal in
/// `mode` under `objective` (the online Pareto front of [`crate::candidates::prune`]): the ILP optimum over them equals
/// the optimum over [`generate`]'s list, and memory stays proportional to the front.
pub fn generate_for(
    task: &Task,
    phase: Phase,
    mode: crate::spec::goal::Mode,
    objective: crate::spec::goal::Objective,
) -> PhaseCandidates {
    let min = task.requirements.throughput_per_gpu_tokens_per_s;
    let mut front = crate::candidates::prune::Front::new(mode, objective, min);
    let mut pc = scan(task, phase, |c| front.offer(c));
    pc.feasible = front.into_candidates();
    pc
}

/// Walk every layout × batch of a phase in a fixed order (layouts sorted, batches ascending),
/// hand each feasible candidate to `keep` and tally the rejected ones.
fn scan(task: &Task, phase: Phase, mut keep: impl FnMut(Candidate)) -> PhaseCandidates {
    let limits = Limits::for_budget(task.hardware.gpu_budget);
    let layouts = layout::enumerate(&task.model, phase, &limits);
    let batches = batch_options(task.workload.batch);
    let mut rejected = BTreeMap::new();
    let mut evaluated = 0;
    let mut feasible_seen = 0;
    for l in &layouts {
        let coeffs = cost::LayoutCoeffs::new(task, l, phase);
        for &b in &batches {
            evaluated += 1;
            match check_with(&coeffs, b) {
                Ok(c) => {
                    feasible_seen += 1;
                    keep(c);
                }
                Err(why) => {
                    let limit = why.limit;
                    let higher_better = limit == Limit::ThroughputPerGpu || limit == Limit::Balance;
                    reject(
                        &mut rejected,
                        limit,
                        || why.text(task, l, b),
                        why.value,
                        higher_better,
                    );
                    // Memory, TTFT and TPOT only grow with the batch: larger batches fail too.
                    if matches!(limit, Limit::Memory | Limit::Ttft | Limit::Tpot) {
                        break;
                    }
                }
            }
        }
    }
    PhaseCandidates {
        phase,
        layouts: layouts.len() as u64,
        evaluated,
        feasible: Vec::new(),
        feasible_seen,
        rejected,
    }
}

/// Tokens/s are written in thousands in the model.
pub const KTOK: f64 = 1e3;

/// Objective coefficient of a candidate in the no-limit mode: its phase tokens/s per GPU (k).
pub fn tokens_per_gpu_k(c: &Candidate) -> f64 {
    c.cover_tokens_per_s_per_gpu / KTOK
}

/// Requests/s a phase sustains when `cover_instances` instances of the candidate share B
/// (no-limit mode): `rate × B / batch`, consistent with [`Candidate::cover_tokens_per_s_per_gpu`].
pub fn cover_rate(c: &Candidate) -> f64 {
    let full = c.figures.throughput_tokens_per_s_per_gpu;
    if full > 0.0 {
        c.cover_instances as f64 * c.figures.rate_requests_per_s * (c.cover_tokens_per_s_per_gpu / full)
    } else {
        0.0
    }
}

/// Per-GPU throughput of a candidate as the mode counts it (k tokens/s/GPU): in the no-limit
/// mode instances share B, in the budget and rate modes they run full.
pub fn per_gpu_k(mode: Mode, c: &Candidate) -> f64 {
    match mode {
        Mode::NoLimit => tokens_per_gpu_k(c),
        _ => c.figures.throughput_tokens_per_s_per_gpu / KTOK,
    }
}

/// Whether a phase must hold the task's batch B at once. Without a GPU limit each phase serves
/// the batch (DESIGN.md §3 mode 1). With a budget or a target rate the batch is the concurrency
/// of generation: the decode pool keeps B sequences' KV cache; prefill instances are sized by the
/// rate they must match (a request is prefilled once, then handed over).
pub fn holds_batch(mode: Mode, phase: Phase) -> bool {
    mode == Mode::NoLimit || phase == Phase::Decode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_options_are_balanced_loads() {
        for total in [1u64, 7, 128, 1000, 100_000] {
            let bs = batch_options(total);
            assert!(bs.contains(&total) && bs.contains(&1));
            assert!(bs.len() <= 64, "{total}: {}", bs.len());
            for b in bs {
                let n = total.div_ceil(b);
                assert!(n * b >= total && (n - 1) * b < total);
            }
        }
    }
}
