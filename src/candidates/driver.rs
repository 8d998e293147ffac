//! The enumeration driver: every layout × batch of both phases, scored on a pool of threads.
//!
//! * **One pool for both phases.** The unit of work is one layout (all its batches); the layouts
//!   of prefill and decode form one queue that the workers drain in chunks, so a phase with more
//!   or costlier layouts no longer leaves the other core idle.
//! * **Deterministic.** Every layout's result is stored at its position and the results are
//!   merged in enumeration order (layouts sorted, batches ascending), so the output does not
//!   depend on the number of threads or their timing: counts add up, the example of a rejection
//!   is the first in order, and the Pareto front keeps the first of equal keys.
//! * **Reuse across batches.** Memory and step times depend on the batch only through the
//!   sequences per attention rank ([`cost::RankScalars`]); consecutive batches with the same
//!   sequences per rank (batches are ascending, so equal values are adjacent) reuse them.
//! * **Pruned per layout.** With a mode and objective, each layout keeps its own Pareto front
//!   ([`Front`]) before the merge: a candidate dominated inside its layout is dominated in the
//!   whole phase, and the merged front of the local fronts (offered in enumeration order) equals
//!   the front of all candidates, ties included (the earliest of equal keys survives both times).

use super::prune::{Front, Scalars};
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
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prune to the front of this mode and objective, or keep every feasible candidate.
pub(super) type Prune = Option<(Mode, Objective)>;

/// The rejections of one kind in one layout: how many, the first (its batch and failure, put
/// into words only if it becomes the phase's example at the merge) and the best value reached.
#[derive(Clone, Copy)]
struct LayoutTally {
    count: u64,
    first_batch: u64,
    first: Failed,
    best: f64,
}

/// One layout's scan in progress (a worker reuses one, cleared per layout): counts, the tallies
/// of the limits met, and either every feasible candidate built (unpruned) or only the numbers of
/// the layout's front entries (pruned: the few that survive the phase's front are built after the
/// merge, [`build`]).
#[derive(Default)]
struct LayoutScan {
    evaluated: u32,
    feasible_seen: u32,
    built: Vec<Candidate>,
    front: Vec<Scalars>,
    /// One tally per limit met, in the order first met (a layout meets at most a few).
    rejected: Vec<LayoutTally>,
}

/// A run of entries in one of a worker's [`Arena`] vectors.
#[derive(Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// Move `from` to the end of `to`; where it now sits.
    fn append<T>(to: &mut Vec<T>, from: &mut Vec<T>) -> Span {
        let start = to.len() as u32;
        let len = from.len() as u32;
        to.append(from);
        Span { start, len }
    }

    fn of<'a, T>(&self, v: &'a [T]) -> &'a [T] {
        &v[self.start as usize..(self.start + self.len) as usize]
    }
}

/// What one layout contributes, kept until the merge: its counts and where its entries sit in
/// its worker's [`Arena`] (a few words per layout, no allocation of its own).
#[derive(Clone, Copy, Default)]
struct Record {
    evaluated: u32,
    feasible_seen: u32,
    worker: u32,
    built: Span,
    front: Span,
    rejected: Span,
}

/// A worker's results, appended layout after layout.
#[derive(Default)]
struct Arena {
    built: Vec<Candidate>,
    front: Vec<Scalars>,
    rejected: Vec<LayoutTally>,
}

impl Arena {
    /// An arena with room for `jobs` layouts' results (a few front entries and tallies each).
    fn with_room(jobs: usize) -> Arena {
        Arena {
            built: Vec::new(),
            front: Vec::with_capacity(4 * jobs),
            rejected: Vec::with_capacity(2 * jobs),
        }
    }

    /// Move a finished scan in (leaving it empty for the next layout); its record.
    fn record(&mut self, worker: usize, scan: &mut LayoutScan) -> Record {
        Record {
            evaluated: std::mem::take(&mut scan.evaluated),
            feasible_seen: std::mem::take(&mut scan.feasible_seen),
            worker: worker as u32,
            built: Span::append(&mut self.built, &mut scan.built),
            front: Span::append(&mut self.front, &mut scan.front),
            rejected: Span::append(&mut self.rejected, &mut scan.rejected),
        }
    }
}

impl LayoutScan {
    fn tally(&mut self, batch: u64, why: Failed) {
        match self.rejected.iter_mut().find(|t| t.first.limit == why.limit) {
            None => self.rejected.push(LayoutTally {
                count: 1,
                first_batch: batch,
                first: why,
                best: why.value,
            }),
            Some(t) => {
                t.count += 1;
                t.best = if why.limit.higher_is_better() {
                    t.best.max(why.value)
                } else {
                    t.best.min(why.value)
                };
            }
        }
    }
}

/// What a worker reuses from one layout to the next: the layer times of the current shape group
/// (cleared, never freed, so a scan allocates nothing for them).
#[derive(Default)]
struct Scratch {
    cache: LayerCache,
    /// The layout's front, one per phase (their throughput floors differ).
    fronts: [Option<Front<Scalars>>; 2],
    /// The model's stage runs per pipeline depth ([`cost::memory::stage_runs`]).
    runs: rustc_hash::FxHashMap<u64, Vec<cost::memory::StageShape>>,
    /// The current layout's scan.
    scan: LayoutScan,
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

    /// The full figures of the current scalars (equal to them: tests/driver.rs).
    fn full(&mut self, c: &cost::LayoutCoeffs) -> &RankFigures {
        let seqs = self.scalars.map_or(0, |r| r.seqs);
        self.full.get_or_insert_with(|| cost::rank_with(c, seqs))
    }
}

/// Score every batch of one layout (ascending), reusing the per-rank figures across batches with
/// the same sequences per rank and stopping at the first batch that does not fit memory
/// ([`super::ends_layout`]: every larger batch fails too; a batch missing TTFT or TPOT does not
/// stop the scan, since latency need not grow with the batch).
fn scan_layout(
    task: &Task,
    k: &Kernels,
    scratch: &mut Scratch,
    phase: Phase,
    l: &Layout,
    batches: &[(u64, u64)],
    prune: Prune,
) {
    let min = task.requirements.throughput_per_gpu(phase == Phase::Prefill);
    let Scratch {
        cache,
        fronts,
        runs,
        scan: out,
    } = scratch;
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
    for &(b, cover) in batches {
        out.evaluated += 1;
        if b < l.attention_dp {
            let why = Failed {
                limit: Limit::Balance,
                value: b as f64,
            };
            out.tally(b, why);
            continue;
        }
        let (r, rank_failed) = rank.at(&coeffs, cost::sequences_per_rank(l, b), cache);
        if let Some(why) = rank_failed {
            out.tally(b, why);
            if ends_layout(why.limit) || ttft_grows_with_batch(phase, l, why.limit) {
                break;
            }
            continue;
        }
        match score_batch(task, phase, l, (b, cover), &r) {
            Ok(s) => {
                out.feasible_seen += 1;
                match &mut front {
                    Some(f) => f.offer_with(&s, s),
                    None => out
                        .built
                        .push(materialize(task, phase, l, rank.full(&coeffs), &s)),
                }
            }
            Err(why) => {
                out.tally(b, why);
                if ends_layout(why.limit) {
                    break;
                }
            }
        }
    }
    if let Some(f) = front {
        f.drain_into(&mut out.front);
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

/// Build a candidate of the phase's front from its numbers: the layout's figures at its batch
/// evaluated afresh (equal bit for bit to the scan's, which reused figures across batches and
/// layouts: tests/driver.rs), then the same [`materialize`] as an unpruned scan.
fn build(task: &Task, k: &Kernels, phase: Phase, l: &Layout, s: &Scalars) -> Candidate {
    let coeffs = cost::LayoutCoeffs::with_kernels(task, l, phase, *k);
    let r = cost::rank_with(&coeffs, cost::sequences_per_rank(l, s.batch));
    materialize(task, phase, l, &r, s)
}

/// Worker threads for `jobs` layouts: `threads` (default: the machine's cores), at most one per
/// few layouts.
fn workers(jobs: usize, threads: Option<usize>) -> usize {
    cores(threads).min(jobs.div_ceil(4)).max(1)
}

/// Threads to use: `threads`, by default the machine's cores.
fn cores(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The jobs grouped by shape: runs of job indices whose layouts differ only in pipeline depth
/// (same phase, TP, SP, attention-DP, EP, expert-TP). A group is scanned on one thread with one
/// [`LayerCache`], so its layouts share their layer times and the cache holds one shape at a time.
fn shape_groups(jobs: &[(Phase, Layout)]) -> Vec<Vec<usize>> {
    let shape = |i: usize| {
        let (p, l) = jobs[i];
        (p as u8, Layout { pp: 1, ..l })
    };
    // Groups in order of first appearance, indices ascending within each (one pass).
    let mut index: rustc_hash::FxHashMap<(u8, Layout), usize> = Default::default();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..jobs.len() {
        let g = *index.entry(shape(i)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Score `jobs` on a pool of threads: each layout's record in job order (each is stored at its
/// index, whichever thread and group scanned it) and the workers' arenas its spans point into.
fn pool(
    task: &Task,
    kernels: &Kernels,
    jobs: &[(Phase, Layout)],
    batches: &[(u64, u64)],
    prune: Prune,
    threads: Option<usize>,
) -> (Vec<Record>, Vec<Arena>) {
    let groups = shape_groups(jobs);
    let n = workers(jobs.len(), threads);
    // Chunks small enough to balance the tail, large enough to keep the counter cold.
    let chunk = (groups.len() / (n * 16)).clamp(1, 16);
    let next = AtomicUsize::new(0);
    // Each worker's records tagged with their job index, scattered into job order at the end.
    let work = |worker: usize| {
        let mut scratch = Scratch::default();
        // Room for every job reserved up front: untouched capacity costs no page, and no growth
        // step copies (and faults in) the vectors again.
        let mut arena = Arena::with_room(jobs.len());
        let mut done: Vec<(usize, Record)> = Vec::with_capacity(jobs.len());
        loop {
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= groups.len() {
                return (arena, done);
            }
            for group in groups.iter().skip(start).take(chunk) {
                // Layer times shared by the group's layouts (every pipeline depth of one shape).
                scratch.cache.clear();
                for &i in group {
                    let (phase, l) = &jobs[i];
                    scan_layout(task, kernels, &mut scratch, *phase, l, batches, prune);
                    done.push((i, arena.record(worker, &mut scratch.scan)));
                }
            }
        }
    };
    let results = if n == 1 {
        vec![work(0)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..n).map(|w| s.spawn(move || work(w))).collect();
            let mut results = vec![work(0)];
            // A worker only panics on a bug; re-raise it on this thread.
            results.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            results
        })
    };
    // Each index is in exactly one group, scanned once: every slot is written once.
    let mut records = vec![Record::default(); jobs.len()];
    let mut arenas = Vec::with_capacity(results.len());
    for (arena, done) in results {
        for (i, r) in done {
            records[i] = r;
        }
        arenas.push(arena);
    }
    (records, arenas)
}

/// Merge one phase's layout results in enumeration order.
fn merge(
    task: &Task,
    kernels: &Kernels,
    phase: Phase,
    layouts: &[Layout],
    (records, arenas): (&[Record], &[Arena]),
    prune: Prune,
) -> PhaseCandidates {
    let min = task.requirements.throughput_per_gpu(phase == Phase::Prefill);
    let mut front = prune.map(|(mode, objective)| Front::<(usize, Scalars)>::new(mode, objective, min));
    let mut pc = PhaseCandidates {
        phase,
        layouts: layouts.len() as u64,
        evaluated: 0,
        feasible: Vec::new(),
        feasible_seen: 0,
        rejected: BTreeMap::new(),
    };
    for (i, (r, l)) in records.iter().zip(layouts).enumerate() {
        let arena = &arenas[r.worker as usize];
        pc.evaluated += u64::from(r.evaluated);
        pc.feasible_seen += u64::from(r.feasible_seen);
        for t in r.rejected.of(&arena.rejected) {
            let example = || t.first.text(task, l, t.first_batch);
            add_rejections(&mut pc.rejected, t.first.limit, t.count, t.best, example);
        }
        match &mut front {
            Some(f) => r
                .front
                .of(&arena.front)
                .iter()
                .for_each(|x| f.offer_with(x, (i, *x))),
            None => pc.feasible.extend(r.built.of(&arena.built).iter().cloned()),
        }
    }
    if let Some(f) = front {
        pc.feasible = f
            .into_items()
            .into_iter()
            .map(|(i, x)| build(task, kernels, phase, &layouts[i], &x))
            .collect();
    }
    pc
}

/// Enumerate the phases marked in `want` (prefill, decode) on one pool of `threads` threads
/// (default: one per core); a phase not wanted comes back empty.
pub(super) fn run(
    task: &Task,
    want: [bool; 2],
    prune: Prune,
    threads: Option<usize>,
) -> [PhaseCandidates; 2] {
    let limits = Limits::for_budget(task.hardware.gpu_budget);
    // Each batch with the instances that cover B, `ceil(B / batch)` (the same for every layout).
    let batches: Vec<(u64, u64)> = super::batches_for(task)
        .into_iter()
        .map(|b| (b, task.workload.batch.div_ceil(b)))
        .collect();
    let enumerate = || {
        let layouts: [Vec<Layout>; 2] = Phase::BOTH.map(|p| {
            if want[p as usize] {
                let mut ls = layout::enumerate(&task.model, p, &limits);
                // The engine restriction (`--engine`, `Engine:`): layouts it cannot run
                // disaggregated.
                ls.retain(|l| super::engine_allows(task, p, l));
                ls
            } else {
                Vec::new()
            }
        });
        let jobs: Vec<(Phase, Layout)> = Phase::BOTH
            .iter()
            .zip(&layouts)
            .flat_map(|(&p, ls)| ls.iter().map(move |l| (p, *l)))
            .collect();
        (layouts, jobs)
    };
    // With more than one thread the task's kernel constants (the GPU's measured curves, parsed
    // from the embedded profile the first time in a process, ~0.9 ms) are read on a second thread
    // while this one enumerates the layouts (~0.9 ms): the two overlap. Measured on the 2-core VM,
    // `solve` of the Qwen3 task as a process, 80 runs taking turns with the previous build:
    // median wall 18.5 → 17.2 ms, CPU unchanged.
    let ((layouts, jobs), kernels) = if cores(threads) > 1 {
        std::thread::scope(|s| {
            let k = s.spawn(|| Kernels::for_task(task));
            let found = enumerate();
            (found, k.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        })
    } else {
        (enumerate(), Kernels::for_task(task))
    };
    let (records, arenas) = pool(task, &kernels, &jobs, &batches, prune, threads);
    let [n_p, n_d] = [layouts[0].len(), layouts[1].len()];
    let (p, d) = records.split_at(n_p);
    let prefill = merge(task, &kernels, Phase::Prefill, &layouts[0], (p, &arenas), prune);
    let decode = merge(
        task,
        &kernels,
        Phase::Decode,
        &layouts[1],
        (&d[..n_d], &arenas),
        prune,
    );
    [prefill, decode]
}
