//! The enumeration driver: every layout × batch of both phases, scored on a pool of threads.
//!
//! * **One pool for both phases.** The unit of work is one layout (all its batches); the layouts
//!   of prefill and decode form one queue that the workers drain in chunks, so a phase with more
//!   or costlier layouts no longer leaves the other core idle.
//! * **Deterministic.** Each worker folds the layouts it scans into its own per-phase result
//!   ([`PhaseScan`]) by rules that do not depend on the order: counts add, a rejection's example
//!   is the earliest layout's (in enumeration order), and the Pareto front keeps what no entry
//!   beats, equal keys going to the earlier position ([`Front::offer_at`]). The workers' results
//!   merge by the same rules, so the output does not depend on the number of threads or their
//!   timing, and equals one pass in enumeration order (tests/driver.rs).
//! * **Reuse across batches.** Memory and step times depend on the batch only through the
//!   sequences per attention rank ([`cost::RankScalars`]); consecutive batches with the same
//!   sequences per rank (batches are ascending, so equal values are adjacent) reuse them.
//! * **Pruned per layout, then per worker.** With a mode and objective, each layout keeps its own
//!   Pareto front before offering the survivors to its worker's front: a candidate dominated
//!   inside its layout is dominated in the whole phase. A worker's memory follows the front, not
//!   the number of layouts (Qwen3-235B seed task: 1,052 → 569 page faults per solve), and the
//!   fronts of large budgets merge on the workers instead of on one thread after them.

use super::prune::Front;
use super::{
    Candidate, Failed, Limit, PhaseCandidates, add_rejections, check_rank, ends_layout, materialize,
    score_batch,
};
use crate::cost::kernels::Kernels;
use crate::cost::time::LayerCache;
use crate::cost::{self, RankFigures, RankScalars};
use crate::layout::{self, Layout, Limits, Phase};
use crate::spec::goal::{Mode, Objective};
use crate::spec::task::Task;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prune to the front of this mode and objective, or keep every feasible candidate.
pub(super) type Prune = Option<(Mode, Objective)>;

/// The rejections of one kind in one phase: how many, the first in enumeration order (its
/// layout, batch and failure, put into words only at the end) and the best value reached.
#[derive(Clone, Copy)]
struct Tally {
    count: u64,
    /// Position of the first's layout among the jobs (the least seen; within a layout the scan
    /// meets batches in order, so its first is the layout's first).
    first_job: usize,
    first_batch: u64,
    first: Failed,
    best: f64,
}

/// What the scans of one phase contribute, on one worker or (after [`PhaseScan::absorb`]) on
/// all: counts,
/// one tally per limit met, and either every feasible candidate built (unpruned, with its job)
/// or the phase's Pareto front of the numbers seen so far (pruned: the few that survive it are
/// built at the end, [`build`]). Its size follows the front, not the number of layouts.
#[derive(Clone)]
struct PhaseScan {
    evaluated: u64,
    feasible_seen: u64,
    /// One per limit met (a phase meets at most [`Limit::COUNT`]).
    rejected: Vec<Tally>,
    built: Vec<(usize, Candidate)>,
    /// Entries at position `job << BATCH_BITS | batch index`, with no payload: the position
    /// names the candidate, and the few survivors are scored again when they are built.
    front: Option<Front<()>>,
}

/// Bits of an entry's position that hold its batch's index in the task's batch list.
const BATCH_BITS: u32 = 24;

impl PhaseScan {
    fn new(task: &Task, phase: Phase, prune: Prune) -> PhaseScan {
        let min = task.requirements.throughput_per_gpu(phase == Phase::Prefill);
        PhaseScan {
            evaluated: 0,
            feasible_seen: 0,
            rejected: Vec::new(),
            built: Vec::new(),
            front: prune.map(|(mode, objective)| Front::new(mode, objective, min)),
        }
    }

    /// Count `t` into the tallies: counts add, the best value is the better of the two, the first
    /// is the one of the earlier job (order-independent, so workers can merge in any order).
    fn tally(&mut self, t: Tally) {
        match self.rejected.iter_mut().find(|r| r.first.limit == t.first.limit) {
            None => self.rejected.push(t),
            Some(r) => {
                r.count += t.count;
                r.best = if t.first.limit.higher_is_better() {
                    r.best.max(t.best)
                } else {
                    r.best.min(t.best)
                };
                if t.first_job < r.first_job {
                    (r.first_job, r.first_batch, r.first) = (t.first_job, t.first_batch, t.first);
                }
            }
        }
    }

    fn reject(&mut self, job: usize, batch: u64, why: Failed) {
        self.tally(Tally {
            count: 1,
            first_job: job,
            first_batch: batch,
            first: why,
            best: why.value,
        });
    }

    /// Add another worker's scan of the same phase.
    fn absorb(&mut self, other: PhaseScan) {
        self.evaluated += other.evaluated;
        self.feasible_seen += other.feasible_seen;
        for t in other.rejected {
            self.tally(t);
        }
        self.built.extend(other.built);
        if let (Some(f), Some(mut o)) = (&mut self.front, other.front) {
            o.move_into(f);
        }
    }
}

/// What a worker reuses from one layout to the next: the layer times of the current shape group
/// (cleared, never freed, so a scan allocates nothing for them).
#[derive(Default)]
struct Scratch {
    cache: LayerCache,
    /// The current layout's front, one per phase (their throughput floors differ): only what
    /// survives it is offered to the phase's front.
    fronts: [Option<Front<()>>; 2],
    /// The model's stage runs per pipeline depth ([`cost::memory::stage_runs`]).
    runs: rustc_hash::FxHashMap<u64, Vec<cost::memory::StageShape>>,
}

/// The per-rank figures of the current batches of a scan (batches ascend, so equal sequences per
/// rank are adjacent): their scalars, whether they fail a per-rank check, and (unpruned scans
/// only) the full figures, computed for the first feasible batch.
#[derive(Default)]
struct Rank {
    scalars: Option<RankScalars>,
    failed: Option<Failed>,
    full: Option<RankFigures>,
}

impl Rank {
    /// The scalars at `seqs` sequences per rank and their per-rank check (once per value: the
    /// checks hold for every batch of these figures).
    fn at(
        &mut self,
        c: &cost::LayoutCoeffs,
        seqs: u64,
        cache: &mut LayerCache,
    ) -> (RankScalars, Option<Failed>) {
        match self.scalars {
            Some(r) if r.seqs == seqs => (r, self.failed),
            _ => {
                let r = cost::rank_after(c, seqs, self.scalars.as_ref(), cache);
                self.failed = check_rank(c.task, c.phase, &c.layout, &r).err();
                (self.scalars, self.full) = (Some(r), None);
                (r, self.failed)
            }
        }
    }

    /// The full figures of the current scalars (equal to them: tests/driver.rs), their layer
    /// times from the worker's cache.
    fn full(&mut self, c: &cost::LayoutCoeffs, cache: &mut LayerCache) -> &RankFigures {
        let seqs = self.scalars.map_or(0, |r| r.seqs);
        self.full
            .get_or_insert_with(|| cost::rank_with_cache(c, seqs, cache))
    }
}

/// Score every batch of job `job` (layout `l`, ascending batches) into its phase's scan `out`,
/// reusing the per-rank figures across batches with the same sequences per rank and stopping at
/// the first batch that does not fit memory ([`super::ends_layout`]: every larger batch fails
/// too; a batch missing TTFT or TPOT does not stop the scan, since latency need not grow with
/// the batch).
fn scan_layout(
    task: &Task,
    k: &Kernels,
    scratch: &mut Scratch,
    out: &mut PhaseScan,
    (job, phase, l): (usize, Phase, &Layout),
    batches: &[(u64, u64)],
    prune: Prune,
) {
    let min = task.requirements.throughput_per_gpu(phase == Phase::Prefill);
    let Scratch { cache, fronts, runs } = scratch;
    // The layout's own front: only a candidate that survives it can survive the phase's front.
    let mut front = prune.map(|(mode, objective)| {
        fronts[phase as usize].get_or_insert_with(|| Front::new(mode, objective, min))
    });
    let mut rank = Rank::default();
    // The layout's cost coefficients, once per layout (issue 12: per-layout work done once).
    let runs = runs
        .entry(l.pp)
        .or_insert_with(|| cost::memory::stage_runs(&task.model, l.pp));
    let coeffs = cost::LayoutCoeffs::with_runs(task, l, phase, *k, runs);
    for (j, &(b, cover)) in batches.iter().enumerate() {
        out.evaluated += 1;
        if b < l.attention_dp {
            let why = Failed {
                limit: Limit::Balance,
                value: b as f64,
            };
            out.reject(job, b, why);
            continue;
        }
        let (r, rank_failed) = rank.at(&coeffs, cost::sequences_per_rank(l, b), cache);
        if let Some(why) = rank_failed {
            out.reject(job, b, why);
            if ends_layout(why.limit) || ttft_grows_with_batch(phase, l, why.limit) {
                break;
            }
            continue;
        }
        match score_batch(task, phase, l, (b, cover), &r) {
            Ok(s) => {
                out.feasible_seen += 1;
                match &mut front {
                    Some(f) => f.offer_at((job as u64) << BATCH_BITS | j as u64, &s, ()),
                    None => out
                        .built
                        .push((job, materialize(task, phase, l, rank.full(&coeffs, cache), &s))),
                }
            }
            Err(why) => {
                out.reject(job, b, why);
                if ends_layout(why.limit) {
                    break;
                }
            }
        }
    }
    if let (Some(f), Some(phase_front)) = (front, &mut out.front) {
        f.move_into(phase_front);
    }
}

/// Whether a prefill TTFT miss holds for every larger batch of the layout: with `pp > 1` a
/// micro-batch is one sequence whatever the batch, so the stage time is fixed and the TTFT,
/// `(sequences per rank + pp − 1) × stage time` (plus the fixed hand-off under a request stream),
/// only grows ([`cost::rank_after`]). With `pp = 1` the step is one pass over all the sequences and
/// its measured kernel curves need not make it monotone, so the scan goes on.
fn ttft_grows_with_batch(phase: Phase, l: &Layout, limit: Limit) -> bool {
    phase == Phase::Prefill && l.pp > 1 && limit == Limit::Ttft
}

/// Build the candidate of the phase's front at `position` (`job << BATCH_BITS | batch index`):
/// the layout's figures at its batch evaluated afresh and scored again (equal bit for bit to the
/// scan's, which reused figures across batches and layouts: tests/driver.rs), then the same
/// [`materialize`] as an unpruned scan. `None` only if the fresh score failed where the scan's
/// passed, which the equality rules out (and tests/driver.rs would catch as a missing candidate).
fn build(
    task: &Task,
    k: &Kernels,
    (jobs, batches): (&Jobs, &[(u64, u64)]),
    phase: Phase,
    position: u64,
) -> Option<Candidate> {
    let job = (position >> BATCH_BITS) as usize;
    let batch = *batches.get((position & ((1 << BATCH_BITS) - 1)) as usize)?;
    let l = jobs.get(job).1;
    let coeffs = cost::LayoutCoeffs::with_kernels(task, l, phase, *k);
    let r = cost::rank_with(&coeffs, cost::sequences_per_rank(l, batch.0));
    let s = score_batch(task, phase, l, batch, &r.scalars).ok()?;
    Some(materialize(task, phase, l, &r, &s))
}

/// Threads to use: `threads`, by default this thread's share of the cores ([`with_threads`]),
/// else the machine's cores.
fn cores(threads: Option<usize>) -> usize {
    threads
        .or_else(|| SHARE.with(Cell::get))
        .unwrap_or_else(machine_cores)
}

/// The machine's cores (as the process may use them).
pub fn machine_cores() -> usize {
    // Read once per process: `available_parallelism` opens and parses the cgroup CPU quota files
    // on every call (three files under /proc and /sys on Linux), twice per solve.
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

thread_local! {
    /// Threads per enumeration on this thread when none is asked for ([`with_threads`]).
    static SHARE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Run `f` with this thread's enumerations on at most `n` threads each unless a count is asked
/// for: `pdplan batch` runs several tasks at once, each on its share of the cores, rather than
/// each starting a pool as large as the machine (two tasks on two cores, each with a helper
/// waiting for its enumeration, oversubscribe the cores: 96 tasks took 0.56-0.74 s that way and
/// 0.44-0.54 s with the share).
pub fn with_threads<R>(n: usize, f: impl FnOnce() -> R) -> R {
    let before = SHARE.with(|s| s.replace(Some(n.max(1))));
    let r = f();
    SHARE.with(|s| s.set(before));
    r
}

/// The jobs (indices into `jobs`) grouped by shape, and where each shape's run starts: runs of
/// layouts that differ only in pipeline depth (same phase, TP, SP, attention-DP, EP,
/// expert-TP), in enumeration order within a run, i.e. pipeline depths ascending. A run is
/// scanned on one thread with one [`LayerCache`], so its layouts share their layer times and the
/// cache holds one shape at a time. Runs come in the order their shapes first appear (the scan's
/// result does not depend on it).
///
/// A counting sort by shape: one hash lookup per job, then each job placed at its run's next
/// slot. No sort and no temporary the size of the keys: sorting packed keys took ~0.3–0.5 ms of
/// a 12 ms solve (8,727 layouts), much of it faulting in the key and scratch buffers.
fn shape_groups(jobs: &Jobs) -> (Vec<u32>, Vec<u32>) {
    let n = jobs.len();
    let mut ids: rustc_hash::FxHashMap<(u8, Layout), u32> = Default::default();
    let mut sizes: Vec<u32> = Vec::new();
    let mut group_of: Vec<u32> = Vec::with_capacity(n);
    for i in 0..n as u32 {
        let g = *ids.entry(shape(jobs, i)).or_insert_with(|| {
            sizes.push(0);
            sizes.len() as u32 - 1
        });
        sizes[g as usize] += 1;
        group_of.push(g);
    }
    let mut starts: Vec<u32> = Vec::with_capacity(sizes.len() + 1);
    starts.push(0);
    for size in &sizes {
        starts.push(starts[starts.len() - 1] + size);
    }
    // Reuse `sizes` as each run's next free slot.
    let runs = sizes.len();
    sizes.copy_from_slice(&starts[..runs]);
    let mut order = vec![0u32; n];
    for (i, &g) in group_of.iter().enumerate() {
        order[sizes[g as usize] as usize] = i as u32;
        sizes[g as usize] += 1;
    }
    (order, starts)
}

/// What a job's layer times depend on besides the batch: its phase and layout without the
/// pipeline depth.
fn shape(jobs: &Jobs, i: u32) -> (u8, Layout) {
    let (p, l) = jobs.get(i as usize);
    (p as u8, Layout { pp: 1, ..*l })
}

/// The layouts of both phases as one list of jobs: prefill's, then decode's.
struct Jobs {
    layouts: [Vec<Layout>; 2],
}

impl Jobs {
    fn len(&self) -> usize {
        self.layouts[0].len() + self.layouts[1].len()
    }

    /// Job `i`: its phase and layout.
    fn get(&self, i: usize) -> (Phase, &Layout) {
        let n = self.layouts[0].len();
        if i < n {
            (Phase::Prefill, &self.layouts[0][i])
        } else {
            (Phase::Decode, &self.layouts[1][i - n])
        }
    }
}

/// What the pool's threads scan: every job, grouped into shape runs ([`shape_groups`]: order and
/// run starts), with what scoring reads. Each thread takes runs in chunks from a shared counter
/// and folds them into its own two [`PhaseScan`]s, which are merged at the end. Every fold is
/// independent of the order (counts add, the first rejection is the earliest job's, the front
/// keeps what no other entry beats, ties to the earlier position), so the result does not depend
/// on the number of threads or their timing.
struct Work<'a> {
    task: &'a Task,
    kernels: Kernels,
    jobs: Jobs,
    /// The class each job's results are kept in ([`ClassOf`]).
    class_of: ClassOf,
    order: Vec<u32>,
    starts: Vec<u32>,
    batches: &'a [(u64, u64)],
    prune: Prune,
    /// Runs per take: small enough to balance the tail, large enough to keep the counter cold.
    chunk: usize,
    next: AtomicUsize,
}

impl<'a> Work<'a> {
    fn new(
        task: &'a Task,
        (kernels, class_of): (Kernels, ClassOf),
        jobs: Jobs,
        batches: &'a [(u64, u64)],
        prune: Prune,
        threads: usize,
    ) -> Work<'a> {
        debug_assert!(batches.len() < 1 << BATCH_BITS);
        let (order, starts) = shape_groups(&jobs);
        let chunk = ((starts.len() - 1) / (threads * 16)).clamp(1, 16);
        Work {
            task,
            kernels,
            jobs,
            class_of,
            order,
            starts,
            batches,
            prune,
            chunk,
            next: AtomicUsize::new(0),
        }
    }

    /// Scan chunks of runs until none is left; this thread's two phase scans per class.
    fn scan(&self) -> Classes {
        let (task, prune) = (self.task, self.prune);
        let groups = self.starts.len() - 1;
        let mut scratch = Scratch::default();
        let mut out = Classes::default();
        loop {
            let start = self.next.fetch_add(self.chunk, Ordering::Relaxed);
            if start >= groups {
                return out;
            }
            for g in start..(start + self.chunk).min(groups) {
                // Layer times shared by the group's layouts (every pipeline depth of one shape).
                scratch.cache.clear();
                let run = &self.order[self.starts[g] as usize..self.starts[g + 1] as usize];
                for &i in run {
                    let (phase, l) = self.jobs.get(i as usize);
                    let job = (i as usize, phase, l);
                    let (k, b) = (&self.kernels, self.batches);
                    let scans = out.of((self.class_of)(task, phase, l), task, prune);
                    scan_layout(task, k, &mut scratch, &mut scans[phase as usize], job, b, prune);
                }
            }
        }
    }
}

/// The class a job's results are kept in: one class for a plain enumeration ([`one_class`]); by
/// attention TP with wide-EP layouts apart ([`tp_class`]) when an engine's pair rule is searched
/// per TP, so that each branch merges the classes it allows instead of scanning again.
pub(super) type ClassOf = fn(&Task, Phase, &Layout) -> u64;

/// Every layout in one class.
pub(super) fn one_class(_: &Task, _: Phase, _: &Layout) -> u64 {
    0
}

/// [`WIDE_EP`] for a wide-EP layout, else its attention TP.
pub(super) fn tp_class(task: &Task, _: Phase, l: &Layout) -> u64 {
    if crate::layout::capability::is_wide_ep(l, task.model.moe.is_some()) {
        WIDE_EP
    } else {
        l.tp
    }
}

/// The class of wide-EP layouts (attention TP is at least 1).
pub(super) const WIDE_EP: u64 = 0;

/// The layout's class in the searches of the task's engine rules
/// ([`crate::layout::capability::branch_class`]: the engines that run it in its phase, and its
/// attention TP where a pair rule applies).
pub(super) fn branch_class(task: &Task, phase: Phase, l: &Layout) -> u64 {
    crate::layout::capability::branch_class(task, phase, l)
}

/// Both phases' scans of each class seen, by class.
#[derive(Default, Clone)]
struct Classes(Vec<(u64, [PhaseScan; 2])>);

impl Classes {
    /// The scans of class `c`, created empty on first use (a task has a handful of classes).
    fn of(&mut self, c: u64, task: &Task, prune: Prune) -> &mut [PhaseScan; 2] {
        let i = match self.0.iter().position(|(k, _)| *k == c) {
            Some(i) => i,
            None => {
                self.0
                    .push((c, Phase::BOTH.map(|p| PhaseScan::new(task, p, prune))));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    /// Add another worker's scans, class by class.
    fn absorb(&mut self, other: Classes, task: &Task, prune: Prune) {
        for (c, [p, d]) in other.0 {
            let mine = self.of(c, task, prune);
            mine[0].absorb(p);
            mine[1].absorb(d);
        }
    }

    /// The two phase scans of the classes `keep` selects, merged (by the same order-independent
    /// rules as the workers' merge, so equal to one scan of just those layouts).
    fn merged(&self, keep: impl Fn(u64) -> bool, task: &Task, prune: Prune) -> [PhaseScan; 2] {
        let mut out = Phase::BOTH.map(|p| PhaseScan::new(task, p, prune));
        for (_, [p, d]) in self.0.iter().filter(|(c, _)| keep(*c)) {
            out[0].absorb(p.clone());
            out[1].absorb(d.clone());
        }
        out
    }
}

/// Merge the threads' scans (the first thread's absorbs the others').
fn merge(mut results: Vec<Classes>, task: &Task, prune: Prune) -> Classes {
    let mut merged = results.remove(0);
    for r in results {
        merged.absorb(r, task, prune);
    }
    merged
}

/// One phase's candidates from its merged scan: the rejection tallies with their examples put
/// into words, and the feasible candidates in enumeration order (the front's survivors built
/// afresh, or every candidate of an unpruned scan).
fn finish(
    task: &Task,
    kernels: &Kernels,
    (jobs, batches): (&Jobs, &[(u64, u64)]),
    (phase, layouts): (Phase, u64),
    scan: PhaseScan,
) -> PhaseCandidates {
    let mut pc = PhaseCandidates {
        phase,
        layouts,
        evaluated: scan.evaluated,
        feasible: Vec::new(),
        feasible_seen: scan.feasible_seen,
        rejected: BTreeMap::new(),
    };
    for t in &scan.rejected {
        let (_, l) = jobs.get(t.first_job);
        let example = || t.first.text(task, l, t.first_batch);
        add_rejections(&mut pc.rejected, t.first.limit, t.count, t.best, example);
    }
    pc.feasible = match scan.front {
        Some(f) => f
            .into_positions()
            .into_iter()
            .filter_map(|at| build(task, kernels, (jobs, batches), phase, at))
            .collect(),
        None => in_job_order(scan.built),
    };
    pc
}

/// The candidates of an unpruned scan in enumeration order: by job, a job's candidates in the
/// order built (ascending batch; a job is scanned on one worker). Each one's place comes from a
/// counting sort by job, and the list is permuted in place (cycle by cycle, each candidate moved
/// once or twice): a stable sort moved every ~600-byte candidate at each merge step through a
/// scratch buffer half the list's size (a third of `pdplan compare`'s instructions, 130,000
/// feasible Qwen3 candidates), and a second list would fault in as many fresh pages again.
fn in_job_order<T>(mut built: Vec<(usize, T)>) -> Vec<T> {
    let jobs = built.iter().map(|(job, _)| job + 1).max().unwrap_or(0);
    let mut next = vec![0usize; jobs + 1];
    for (job, _) in &built {
        next[job + 1] += 1;
    }
    for j in 1..next.len() {
        next[j] += next[j - 1];
    }
    let mut dest: Vec<usize> = built
        .iter()
        .map(|(job, _)| {
            next[*job] += 1;
            next[*job] - 1
        })
        .collect();
    for i in 0..built.len() {
        while dest[i] != i {
            let d = dest[i];
            built.swap(i, d);
            dest.swap(i, d);
        }
    }
    built.into_iter().map(|(_, c)| c).collect()
}

/// Enumerate the phases marked in `want` (prefill, decode) on one pool of `threads` threads
/// (default: one per core); a phase not wanted comes back empty.
pub(super) fn run(
    task: &Task,
    want: [bool; 2],
    prune: Prune,
    threads: Option<usize>,
) -> [PhaseCandidates; 2] {
    scan(task, want, prune, threads, one_class).into_candidates()
}

/// The enumeration's merged scans, kept by class ([`ClassOf`]), with what building their
/// candidates needs: [`Scanned::candidates`] gives the candidates of any set of classes as one
/// enumeration of just those layouts would (counts, rejection examples, the front and its
/// tie-breaks all follow enumeration order, which a subset keeps).
pub struct Scanned<'t> {
    task: &'t Task,
    kernels: Kernels,
    jobs: Jobs,
    class_of: ClassOf,
    batches: Vec<(u64, u64)>,
    prune: Prune,
    classes: Classes,
}

impl Scanned<'_> {
    /// Both phases' candidates over the classes `keep` selects.
    pub fn candidates(&self, keep: impl Fn(u64) -> bool) -> [PhaseCandidates; 2] {
        let scans = self.classes.merged(&keep, self.task, self.prune);
        self.finish_both(scans, keep)
    }

    /// Both phases' candidates over every class (taking the scans, no copy).
    fn into_candidates(mut self) -> [PhaseCandidates; 2] {
        let mut scans = Phase::BOTH.map(|p| PhaseScan::new(self.task, p, self.prune));
        for (_, [p, d]) in std::mem::take(&mut self.classes.0) {
            scans[0].absorb(p);
            scans[1].absorb(d);
        }
        self.finish_both(scans, |_| true)
    }

    fn finish_both(&self, [p, d]: [PhaseScan; 2], keep: impl Fn(u64) -> bool) -> [PhaseCandidates; 2] {
        let (task, class_of) = (self.task, self.class_of);
        let layouts = |phase: Phase| {
            let ls = &self.jobs.layouts[phase as usize];
            ls.iter().filter(|l| keep(class_of(task, phase, l))).count() as u64
        };
        let (k, jb) = (&self.kernels, (&self.jobs, self.batches.as_slice()));
        [
            finish(task, k, jb, (Phase::Prefill, layouts(Phase::Prefill)), p),
            finish(task, k, jb, (Phase::Decode, layouts(Phase::Decode)), d),
        ]
    }
}

/// Scan both phases' layouts (those marked in `want`) on one pool, keeping the results of each
/// class of `class_of` apart.
pub(super) fn scan<'t>(
    task: &'t Task,
    want: [bool; 2],
    prune: Prune,
    threads: Option<usize>,
    class_of: ClassOf,
) -> Scanned<'t> {
    let limits = Limits::for_budget(task.hardware.gpu_budget);
    // Each batch with the instances that cover B, `ceil(B / batch)` (the same for every layout).
    let batches: Vec<(u64, u64)> = super::batches_for(task)
        .into_iter()
        .map(|b| (b, task.workload.batch.div_ceil(b)))
        .collect();
    let allows = super::engine_allows(task);
    let enumerate = || Jobs {
        layouts: Phase::BOTH.map(|p| {
            if want[p as usize] {
                let mut ls = layout::enumerate(&task.model, p, &limits);
                // The engine restriction (`--engine`, `Engine:`): layouts it cannot run
                // disaggregated.
                ls.retain(|l| allows(p, l));
                ls
            } else {
                Vec::new()
            }
        }),
    };
    // The pool's other threads start before the enumeration (issue 12): each first asks for the
    // task's kernel constants, which parse the GPU's embedded profile the first time in a
    // process (~0.5 ms; `profile`'s parse-once cells) while this thread enumerates and groups
    // the layouts, then waits for the jobs. Starting them here rather than after the enumeration
    // also gives a thread time to be scheduled: on a 2-vCPU VM a spawned thread can start
    // milliseconds late ([`super::placement`]). This thread asks for the constants itself after
    // grouping: it waits on the cells if a helper is parsing, finds them filled if one has
    // finished, and parses them itself if none has started.
    let helpers = cores(threads).saturating_sub(1);
    // `None` if this thread unwinds before the work is ready, so that no helper waits forever.
    let shared: OnceLock<Option<Work>> = OnceLock::new();
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = (0..helpers)
            .map(|_| {
                s.spawn(|| {
                    let _ = Kernels::for_task(task);
                    wait_for(&shared).map(Work::scan)
                })
            })
            .collect();
        if !handles.is_empty() {
            super::placement::make_room();
        }
        let ready = Unready(&shared);
        let jobs = enumerate();
        let kernels = Kernels::for_task(task);
        let work = Work::new(task, (kernels, class_of), jobs, &batches, prune, helpers + 1);
        let work = shared.get_or_init(|| Some(work)).as_ref();
        drop(ready);
        let mut results: Vec<Classes> = work.map(Work::scan).into_iter().collect();
        // A helper only panics on a bug; re-raise it on this thread.
        results.extend(
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        results
    });
    let Some(Some(Work { kernels, jobs, .. })) = shared.into_inner() else {
        unreachable!("the work is set before the scope ends")
    };
    Scanned {
        task,
        kernels,
        jobs,
        class_of,
        batches,
        prune,
        classes: merge(results, task, prune),
    }
}

/// Marks the work as never coming if dropped, i.e. if the enumerating thread unwinds before it
/// has set it (a bug): the helpers then stop instead of waiting forever inside the scope.
struct Unready<'s, 'a>(&'s OnceLock<Option<Work<'a>>>);

impl Drop for Unready<'_, '_> {
    fn drop(&mut self) {
        let _ = self.0.set(None);
    }
}

/// The work once it is ready: up to 2 ms of polling first (the enumeration usually ends within a
/// millisecond of a helper's parse; a parked thread is woken late on a busy VM), then a
/// blocking wait. The poll yields the CPU on each round: a helper still sharing the enumerating
/// thread's CPU must not take its time slices (busy-spinning there made small in-process solves
/// 1-2 ms slower: `pdplan bench --growth`, B = 1, 8,727 candidates, 424-526 ns each against
/// 202-306 ns with yielding).
fn wait_for<'s, 'a>(shared: &'s OnceLock<Option<Work<'a>>>) -> Option<&'s Work<'a>> {
    let polling = std::time::Instant::now();
    while polling.elapsed() < std::time::Duration::from_millis(2) {
        if let Some(w) = shared.get() {
            return w.as_ref();
        }
        std::thread::yield_now();
    }
    shared.wait().as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threads_share_applies_inside_with_threads_only() {
        let outside = cores(None);
        assert_eq!(outside, machine_cores());
        let inside = with_threads(1, || (cores(None), cores(Some(3))));
        // The share is the default; an explicit count still wins.
        assert_eq!(inside, (1, 3));
        assert_eq!(with_threads(0, || cores(None)), 1);
        assert_eq!(cores(None), outside);
    }

    /// The reference grouping: a stable sort of the jobs by shape.
    fn reference(jobs: &Jobs) -> (Vec<u32>, Vec<u32>) {
        let mut order: Vec<u32> = (0..jobs.len() as u32).collect();
        order.sort_by_key(|&i| shape(jobs, i));
        let mut starts: Vec<u32> = Vec::new();
        for k in 0..order.len() {
            if k == 0 || shape(jobs, order[k - 1]) != shape(jobs, order[k]) {
                starts.push(k as u32);
            }
        }
        starts.push(order.len() as u32);
        (order, starts)
    }

    /// Layouts of every pipeline depth over a grid of degrees, in enumeration (sorted) order.
    fn layouts(big: u64) -> Vec<Layout> {
        let mut out = Vec::new();
        for tp in [1, 2, 8] {
            for pp in [1, 2, 3, 16] {
                for sp in [1, 4] {
                    for attention_dp in [1, 2, big] {
                        for (ep, expert_tp) in [(1, 1), (8, 1), (8, 2), (128, 1)] {
                            out.push(Layout {
                                tp,
                                pp,
                                sp,
                                attention_dp,
                                ep,
                                expert_tp,
                            });
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// The runs of a grouping, each a list of job indices, ordered by their first job.
    fn runs((order, starts): (Vec<u32>, Vec<u32>)) -> Vec<Vec<u32>> {
        let mut runs: Vec<Vec<u32>> = starts
            .windows(2)
            .map(|g| order[g[0] as usize..g[1] as usize].to_vec())
            .collect();
        runs.sort();
        runs
    }

    #[test]
    fn grouping_has_the_runs_of_a_stable_sort_by_shape() {
        // Degrees beyond any packed-key width (5,000) group like small ones.
        for big in [64, 5_000] {
            let ls = layouts(big);
            let decode: Vec<Layout> = ls.iter().filter(|l| l.sp == 1).copied().collect();
            let jobs = Jobs {
                layouts: [ls, decode],
            };
            let (order, starts) = shape_groups(&jobs);
            // A permutation of the jobs, cut into runs that cover it.
            let mut seen = order.clone();
            seen.sort();
            assert_eq!(seen, (0..jobs.len() as u32).collect::<Vec<_>>());
            assert_eq!((starts[0], *starts.last().unwrap()), (0, jobs.len() as u32));
            // Every run holds exactly one shape's jobs, in the same order as the stable sort's.
            let got = runs((order.clone(), starts.clone()));
            assert_eq!(got, runs(reference(&jobs)), "big degree {big}");
            // Within a run the pipeline depth ascends.
            for run in &got {
                let pps: Vec<u64> = run.iter().map(|&i| jobs.get(i as usize).1.pp).collect();
                assert!(pps.windows(2).all(|w| w[0] < w[1]), "{pps:?}");
            }
        }
    }

    #[test]
    fn in_job_order_equals_a_stable_sort_by_job() {
        for n in [0usize, 1, 2, 7, 100, 1000] {
            // Jobs in a scrambled order with repeats; the payload records the original position.
            let built: Vec<(usize, usize)> = (0..n).map(|i| ((i * 7919 + 13) % (n / 3 + 1), i)).collect();
            let mut reference = built.clone();
            reference.sort_by_key(|(job, _)| *job);
            let want: Vec<usize> = reference.into_iter().map(|(_, i)| i).collect();
            assert_eq!(in_job_order(built), want, "n = {n}");
        }
    }
}
