//! Candidates per phase: every valid layout × per-instance batch, scored by the cost model, with
//! the reason each rejected one was dropped (DESIGN.md §5; reasons grouped like pubgrub's
//! "no solution" report, STYLE.md 6).

pub mod balanced;
pub mod prune;
pub mod queueing;

use crate::cost::{self, Figures};
use crate::layout::{Layout, Phase};
use crate::spec::goal::Mode;
use crate::spec::task::Task;
use serde::Serialize;
use std::collections::BTreeMap;

mod driver;
pub use driver::{Scanned, machine_cores, with_threads};
mod placement;

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
    /// How the candidate serves a request stream (the rate reading of DESIGN.md §3.1).
    pub serving: Serving,
}

/// A candidate under a stream of requests (budget and rate modes, DESIGN.md §3.1).
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Serving {
    /// Requests/s one instance serves within every requirement. Prefill: at the highest load
    /// whose TTFT (with batch formation, queueing and hand-off, [`queueing`]) meets the
    /// requirement and whose utilization is at most [`queueing::MAX_UTILIZATION`]; decode:
    /// `batch / (OSL · mean TPOT(batch))` (Little's law, `batch` = concurrency).
    pub rate_per_s: f64,
    /// Prefill: the fewest requests/s per instance at which batches of `batch` still form in
    /// time (0 for one request per batch, and for decode).
    pub min_rate_per_s: f64,
    /// Tokens/s per GPU at `rate_per_s` (prefill input tokens, decode output tokens).
    pub tokens_per_s_per_gpu: f64,
    /// Prefill: the KV-cache hand-off of one request to decode, seconds (0 for decode).
    pub kv_transfer_s: f64,
}

/// Seconds one request's KV cache takes from its prefill instance to decode: the KV of the TTFT
/// input length over the instance's NICs, every GPU sending its shard in parallel at the
/// inter-node bandwidth (DistServe, Zhong et al. OSDI'24 §4; Mooncake, Qin et al. FAST'25; one
/// NIC per GPU, no compression).
pub fn kv_transfer_s(task: &Task, layout: &Layout) -> f64 {
    let bytes = cost::params::kv_bytes_per_token(&task.model) * task.workload.ttft_input_len() as f64;
    bytes / (task.hardware.inter_node_bytes_per_s * layout.gpus_per_instance() as f64)
}

/// Whether a task is planned under the rate reading (a GPU budget or a target rate).
pub fn rate_reading(task: &Task) -> bool {
    Mode::of(task) != Mode::NoLimit
}

impl Serving {
    /// The serving figures of a layout with its batch; `None` when no load meets the TTFT
    /// requirement (prefill, rate reading).
    pub fn of(task: &Task, phase: Phase, layout: &Layout, batch: u64, f: &Figures) -> Option<Serving> {
        let t = cost::Throughput {
            tokens_per_s: f.throughput_tokens_per_s,
            tokens_per_s_per_gpu: f.throughput_tokens_per_s_per_gpu,
            rate_requests_per_s: f.rate_requests_per_s,
        };
        Serving::from_parts(task, phase, layout, batch, f.ttft_s, &t)
    }

    /// [`Serving::of`] from the instance's throughput and its TTFT (prefill).
    pub fn from_parts(
        task: &Task,
        phase: Phase,
        layout: &Layout,
        batch: u64,
        ttft_s: Option<f64>,
        t: &cost::Throughput,
    ) -> Option<Serving> {
        let gpus = layout.gpus_per_instance() as f64;
        match phase {
            Phase::Decode => Some(Serving {
                rate_per_s: t.rate_requests_per_s,
                min_rate_per_s: 0.0,
                tokens_per_s_per_gpu: t.tokens_per_s_per_gpu,
                kv_transfer_s: 0.0,
            }),
            Phase::Prefill => {
                let kv = kv_transfer_s(task, layout);
                let d = ttft_s.unwrap_or(f64::INFINITY);
                let range = queueing::load_range(d, batch, kv, task.requirements.ttft_s)?;
                Some(Serving {
                    rate_per_s: range.max_per_s,
                    min_rate_per_s: range.min_per_s,
                    tokens_per_s_per_gpu: range.max_per_s * task.workload.ttft_input_len() as f64 / gpus,
                    kv_transfer_s: kv,
                })
            }
        }
    }

    /// Serving figures that meet no load (a prefill candidate no traffic keeps within TTFT).
    pub fn none() -> Serving {
        Serving {
            rate_per_s: 0.0,
            min_rate_per_s: 0.0,
            tokens_per_s_per_gpu: 0.0,
            kv_transfer_s: 0.0,
        }
    }
}

impl Candidate {
    /// A scored layout with its derived figures (serving figures of no load when the rate
    /// reading cannot keep its TTFT within the requirement; [`check`] rejects those).
    pub fn new(task: &Task, phase: Phase, layout: &Layout, batch: u64, figures: Figures) -> Candidate {
        let b_total = task.workload.batch;
        let cover_instances = b_total.div_ceil(batch);
        let cover =
            figures.throughput_tokens_per_s_per_gpu * b_total as f64 / (cover_instances * batch) as f64;
        let serving = Serving::of(task, phase, layout, batch, &figures).unwrap_or_else(Serving::none);
        Candidate {
            phase,
            layout: *layout,
            batch,
            cover_instances,
            figures,
            cover_tokens_per_s_per_gpu: cover,
            serving,
        }
    }
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
    /// TTFT with batch formation and queueing at every load (rate reading).
    TtftAtLoad,
    Tpot,
    ThroughputPerGpu,
    /// The GPUs a phase needs to hold B (batch reading) above the largest deployment pdplan
    /// plans ([`crate::spec::resolve::limits::GPU_BUDGET`]).
    GpuCount,
}

impl Limit {
    /// Number of kinds (for tables indexed by [`Limit::index`]).
    pub const COUNT: usize = 7;
    /// Position in the order the checks run.
    pub fn index(self) -> usize {
        self as usize
    }
    /// Whether a higher value reached is closer to passing (throughput, sequences per rank).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Limit::ThroughputPerGpu | Limit::Balance)
    }
    pub fn name(self) -> &'static str {
        match self {
            Limit::Balance => "balance",
            Limit::Memory => "memory per GPU",
            Limit::Ttft => "TTFT",
            Limit::TtftAtLoad => "TTFT under load",
            Limit::Tpot => "TPOT",
            Limit::ThroughputPerGpu => "throughput per GPU",
            Limit::GpuCount => "GPUs to hold B",
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
/// A value in a message with 4 significant digits (`0.001`, `17.25`, `1e-300`): `{:.2}` printed
/// a 1 µs TPOT as `0.00 ms` and `{}` a `1e-300 s` TTFT with 300 digits (issue 15).
pub fn fmt_sig(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if (1e-3..1e6).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        trim(format!("{v:.decimals$}"))
    } else {
        let s = format!("{v:.3e}");
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim(m.to_string())),
            None => s,
        }
    }
}

pub fn batch_options(b_total: u64) -> Vec<u64> {
    let linear = crate::params::BATCH_LINEAR_INSTANCES;
    let mut ns: Vec<u64> = (1..=linear.min(b_total)).collect();
    let mut n = linear as f64;
    while (n as u64) < b_total {
        n *= crate::params::BATCH_INSTANCE_GROWTH;
        ns.push((n as u64).min(b_total));
    }
    let mut bs: Vec<u64> = ns.into_iter().map(|n| b_total.div_ceil(n)).collect();
    bs.sort_unstable();
    bs.dedup();
    bs
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
        let gib = |b: f64| b / crate::params::GIB;
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
            Limit::Ttft => format!(
                "TTFT {} s > {} s",
                fmt_sig(v),
                fmt_sig(req.ttft_s.unwrap_or(f64::NAN))
            ),
            Limit::TtftAtLoad => format!(
                "TTFT {} s + batch formation + queueing > {} s at every load",
                fmt_sig(v),
                fmt_sig(req.ttft_s.unwrap_or(f64::NAN))
            ),
            Limit::Tpot => format!(
                "TPOT {} ms > {} ms",
                fmt_sig(v * 1e3),
                fmt_sig(req.tpot_s.unwrap_or(f64::NAN) * 1e3)
            ),
            Limit::ThroughputPerGpu => format!(
                "{v:.0} tokens/s/GPU < {:.0}",
                req.throughput_per_gpu_tokens_per_s.unwrap_or(f64::NAN)
            ),
            Limit::GpuCount => format!(
                "{v:.0} GPUs to hold B = {} > {}",
                task.workload.batch,
                crate::spec::resolve::limits::GPU_BUDGET
            ),
        };
        format!("{layout} b={batch}: {what}")
    }
}

/// Score one layout/batch and check it against the task (memory first: it is cheap).
///
/// Without a GPU limit (batch reading) TTFT is the time to prefill the instance's share of B and
/// throughput per GPU counts instances sharing B; with a budget or a target rate (rate reading)
/// TTFT must hold at some load ([`Serving`]) and throughput per GPU is counted at the
/// instance's capacity.
pub fn check(task: &Task, phase: Phase, layout: &Layout, batch: u64) -> Result<Candidate, Failed> {
    if batch < layout.attention_dp {
        return Err(Failed {
            limit: Limit::Balance,
            value: batch as f64,
        });
    }
    let rank = cost::evaluate_rank(task, phase, layout, cost::sequences_per_rank(layout, batch));
    check_rank(task, phase, layout, &rank.scalars)?;
    check_batch(task, phase, layout, batch, &rank)
}

/// The checks that depend on the sequences per rank alone: memory, TTFT (in the rate reading
/// with the hand-off, which depends on the layout only), TPOT. A failure holds for every larger
/// batch too (memory and latency never fall as the sequences per rank grow).
fn check_rank(task: &Task, phase: Phase, layout: &Layout, rank: &cost::RankScalars) -> Result<(), Failed> {
    let fail = |limit, value| Err(Failed { limit, value });
    if !rank.fits {
        return fail(Limit::Memory, rank.memory_bytes);
    }
    let req = &task.requirements;
    match (phase, req.ttft_s, req.tpot_s) {
        (Phase::Prefill, Some(limit), _) => {
            // The least TTFT of the rate reading: the batch's prefill plus the hand-off.
            let t = rank.latency_s;
            let least = if rate_reading(task) {
                t + kv_transfer_s(task, layout)
            } else {
                t
            };
            if least > limit {
                return fail(Limit::Ttft, least);
            }
            Ok(())
        }
        (Phase::Decode, _, Some(limit)) if rank.latency_s > limit => fail(Limit::Tpot, rank.latency_s),
        _ => Ok(()),
    }
}

/// The per-batch checks (TTFT under load, throughput per GPU) and the candidate, from the
/// per-rank figures.
fn check_batch(
    task: &Task,
    phase: Phase,
    layout: &Layout,
    batch: u64,
    rank: &cost::RankFigures,
) -> Result<Candidate, Failed> {
    let cover = task.workload.batch.div_ceil(batch);
    let s = score_batch(task, phase, layout, (batch, cover), &rank.scalars)?;
    Ok(materialize(task, phase, layout, rank, &s))
}

/// The per-batch checks on the candidate's numbers alone ([`prune::Scalars`]): what the
/// enumeration needs before deciding whether to build the candidate. `cover_instances` is
/// `ceil(B / batch)` (the enumeration computes it once per batch for all layouts).
// Forced inline: the enumeration calls it once per layout and batch (~190k times per solve), and
// out of line it returns its ~100-byte result through memory; whether the compiler inlined it on
// its own changed with unrelated edits (callgrind, Qwen3 seed: 136M vs 145M instructions).
#[inline(always)]
fn score_batch(
    task: &Task,
    phase: Phase,
    layout: &Layout,
    (batch, cover_instances): (u64, u64),
    rank: &cost::RankScalars,
) -> Result<prune::Scalars, Failed> {
    let fail = |limit, value| Err(Failed { limit, value });
    let rate = rate_reading(task);
    let t = rank.throughput(task, phase, layout, batch);
    let b_total = task.workload.batch;
    let ttft = (phase == Phase::Prefill).then_some(rank.latency_s);
    // The batch reading neither checks nor ranks by the serving figures: the candidate gets them
    // when it is built ([`materialize`]).
    let serving = if rate {
        Serving::from_parts(task, phase, layout, batch, ttft, &t).unwrap_or_else(Serving::none)
    } else {
        Serving::none()
    };
    let s = prune::Scalars {
        phase,
        batch,
        gpus_per_instance: layout.gpus_per_instance(),
        cover_instances,
        cover_tokens_per_s_per_gpu: t.tokens_per_s_per_gpu * b_total as f64
            / (cover_instances * batch) as f64,
        serving,
    };
    if rate && serving.rate_per_s <= 0.0 {
        // Batch formation and queueing push TTFT over the limit at every load.
        return fail(Limit::TtftAtLoad, ttft.unwrap_or(0.0) + serving.kv_transfer_s);
    }
    if let Some(min) = task.requirements.throughput_per_gpu(phase == Phase::Prefill) {
        let reached = if rate {
            serving.tokens_per_s_per_gpu
        } else {
            s.cover_tokens_per_s_per_gpu
        };
        if reached < min {
            return fail(Limit::ThroughputPerGpu, reached);
        }
    }
    // Batch reading: the instances that hold B must stay a deployment pdplan plans.
    let cover_gpus = cover_instances.saturating_mul(s.gpus_per_instance);
    if !rate && cover_gpus > crate::spec::resolve::limits::GPU_BUDGET {
        return fail(Limit::GpuCount, cover_gpus as f64);
    }
    Ok(s)
}

/// The candidate of scored numbers (the same as [`Candidate::new`] of the batch's figures).
fn materialize(
    task: &Task,
    phase: Phase,
    layout: &Layout,
    rank: &cost::RankFigures,
    s: &prune::Scalars,
) -> Candidate {
    let t = rank.scalars.throughput(task, phase, layout, s.batch);
    let serving = if rate_reading(task) {
        s.serving
    } else {
        let ttft = (phase == Phase::Prefill).then_some(rank.scalars.latency_s);
        Serving::from_parts(task, phase, layout, s.batch, ttft, &t).unwrap_or_else(Serving::none)
    };
    Candidate {
        phase,
        layout: *layout,
        batch: s.batch,
        cover_instances: s.cover_instances,
        figures: rank.with_throughput(phase, t),
        cover_tokens_per_s_per_gpu: s.cover_tokens_per_s_per_gpu,
        serving,
    }
}

/// Batches (prefill: requests per forward pass; decode: concurrent sequences per instance) of
/// the rate reading: every count to 16, then steps of 2^(1/4) (≈ 19 %) to 2^16. The grid does
/// not depend on B — B is only a floor on what the decode pool holds — so a larger B never
/// offers a candidate a smaller one lacks (the best rate is non-increasing in B). The scan
/// stops at the first batch that runs out of memory, TTFT or TPOT.
pub fn rate_batch_options() -> Vec<u64> {
    let mut bs: Vec<u64> = (1..=16).collect();
    let mut k = 16.0f64;
    while k < (1u64 << 16) as f64 {
        k *= 2f64.powf(0.25);
        let b = k.round() as u64;
        if bs.last().is_some_and(|&l| b > l) {
            bs.push(b);
        }
    }
    bs
}

/// The batches considered for a task: the balanced loads of B without a GPU limit, the grid of
/// [`rate_batch_options`] with one.
pub fn batches_for(task: &Task) -> Vec<u64> {
    if rate_reading(task) {
        rate_batch_options()
    } else {
        batch_options(task.workload.batch)
    }
}

/// Enumerate and score every candidate of a phase; every feasible one is kept.
pub fn generate(task: &Task, phase: Phase) -> PhaseCandidates {
    let [p, d] = driver::run(
        task,
        [phase == Phase::Prefill, phase == Phase::Decode],
        None,
        None,
    );
    if phase == Phase::Prefill { p } else { d }
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
    let want = [phase == Phase::Prefill, phase == Phase::Decode];
    let [p, d] = driver::run(task, want, Some((mode, objective)), None);
    if phase == Phase::Prefill { p } else { d }
}

/// Both phases at once, their layouts in one pool of threads (see [`driver`]), pruned to the
/// Pareto front of `mode` / `objective`.
pub fn generate_both_for(
    task: &Task,
    mode: crate::spec::goal::Mode,
    objective: crate::spec::goal::Objective,
) -> [PhaseCandidates; 2] {
    driver::run(task, [true, true], Some((mode, objective)), None)
}

/// How [`scan_by`] keeps layouts apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassBy {
    /// Each attention TP's layouts, the wide-EP ones apart (`tp` or [`WIDE_EP_CLASS`]): the
    /// branches of an engine's same-TP pair rule.
    AttentionTp,
    /// The engines that run a layout in its phase and, where a pair rule applies, its attention
    /// TP ([`crate::layout::capability::branch_class`]): every search `Engine: any` may need.
    EngineBranch,
}

/// [`generate_both_for`] with the layouts kept apart by class ([`Scanned::candidates`] with a
/// class filter), for a search that needs the candidates of several subsets
/// (`ilp::engine_search`): one scan instead of one per subset.
pub fn scan_by(
    task: &Task,
    (mode, objective): (crate::spec::goal::Mode, crate::spec::goal::Objective),
    by: ClassBy,
) -> Scanned<'_> {
    let class_of = match by {
        ClassBy::AttentionTp => driver::tp_class,
        ClassBy::EngineBranch => driver::branch_class,
    };
    driver::scan(task, [true, true], Some((mode, objective)), None, class_of)
}

/// The class of wide-EP layouts under [`ClassBy::AttentionTp`] (every other layout's class is its
/// attention TP).
pub const WIDE_EP_CLASS: u64 = driver::WIDE_EP;

/// Both phases at once, every feasible candidate kept.
pub fn generate_both(task: &Task) -> [PhaseCandidates; 2] {
    driver::run(task, [true, true], None, None)
}

/// [`generate_both`] / [`generate_both_for`] on exactly `threads` worker threads (tests and the
/// bench: the result does not depend on it).
pub fn generate_both_on(
    task: &Task,
    prune: Option<(crate::spec::goal::Mode, crate::spec::goal::Objective)>,
    threads: usize,
) -> [PhaseCandidates; 2] {
    driver::run(task, [true, true], prune, Some(threads.max(1)))
}

/// Whether a failure holds for every larger batch of the layout too, so a scan of ascending
/// batches may stop there. Only memory: weights are fixed and the KV cache, activations and logits
/// only grow with the sequences per rank. TTFT and TPOT do not always grow with the batch — the
/// measured kernel curves step at tile boundaries (the block-scaled FP8 GEMM takes 232 µs at
/// M = 129 against 105 µs at M = 128 for 51200 × 5120 on H100, and 140 µs at M = 256), so a
/// larger batch can meet a latency requirement a smaller one misses — nor does TTFT under load.
fn ends_layout(limit: Limit) -> bool {
    limit == Limit::Memory
}

/// Add `count` rejections of `limit` whose best value is `best` to `into` (counts add, the best
/// value is the best of both; `example` is put into words only for a limit not seen before, so
/// the example stays the first one in enumeration order).
fn add_rejections(
    into: &mut BTreeMap<Limit, Rejections>,
    limit: Limit,
    count: u64,
    best: f64,
    example: impl FnOnce() -> String,
) {
    match into.get_mut(&limit) {
        None => {
            let example = example();
            into.insert(limit, Rejections { count, example, best });
        }
        Some(e) => {
            e.count += count;
            e.best = if limit.higher_is_better() {
                e.best.max(best)
            } else {
                e.best.min(best)
            };
        }
    }
}

/// The engine restriction of the task (`--engine`, `Engine:`): layouts the engine cannot run
/// disaggregated are not candidates ([`crate::layout::capability`]). Returns the test of one
/// layout in a phase, with what the rules read from the task derived once.
pub(crate) fn engine_allows(task: &Task) -> impl Fn(Phase, &Layout) -> bool {
    use crate::layout::capability::{Context, allows};
    use crate::spec::task::Engine;
    let (ctx, engine, pin) = (Context::of(task), task.rules_engine(), task.engine_tp_pin);
    move |phase, l| match engine {
        Engine::Unrestricted => true,
        // A layout some engine runs in this phase; that one engine runs the prefill / decode
        // pair is settled after the solve (`ilp::engine_search`).
        Engine::Any => Engine::RUNNABLE.iter().any(|&e| allows(e, phase, l, ctx, None)),
        e => allows(e, phase, l, ctx, pin),
    }
}

/// Tokens/s are written in thousands in the model.
pub const KTOK: f64 = 1e3;

/// Objective coefficient of a candidate in the no-limit mode: its phase tokens/s per GPU (k).
pub fn tokens_per_gpu_k(c: &Candidate) -> f64 {
    c.cover_tokens_per_s_per_gpu / KTOK
}

/// Per-GPU throughput of a candidate as the mode counts it (k tokens/s/GPU): in the no-limit
/// mode instances share B, in the budget and rate modes they run at their capacity under a
/// request stream ([`Serving`]).
pub fn per_gpu_k(mode: Mode, c: &Candidate) -> f64 {
    crate::spec::goal::Counting::of(mode)
        .tokens_per_gpu(c.cover_tokens_per_s_per_gpu, c.serving.tokens_per_s_per_gpu)
        / KTOK
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

#[cfg(test)]
mod fmt_tests {
    use super::fmt_sig;

    #[test]
    fn significant_digits_not_fixed_decimals() {
        assert_eq!(fmt_sig(1e-3), "0.001");
        assert_eq!(fmt_sig(0.0172), "0.0172");
        assert_eq!(fmt_sig(17.254), "17.25");
        assert_eq!(fmt_sig(30.0), "30");
        assert_eq!(fmt_sig(1e-300), "1e-300");
        assert_eq!(fmt_sig(2.5e9), "2.5e9");
        assert!(fmt_sig(1e-300).len() < 10);
    }
}
