//! Dropping dominated candidates before the ILP (DESIGN.md §5: microlp slows down sharply on
//! big-M models, so the model is kept small). The rule keeps the optimum of every objective
//! (primary value and tie-break), so pruning never changes the answer, only the model size.
//!
//! A candidate enters the model only through a few numbers (its *key*); when another candidate is
//! at least as good on every one of them, any plan using the first can use the second instead
//! and lose nothing under any objective of the mode:
//!
//! * no-limit mode — a phase's plan is one candidate with `cover_instances` instances, so the key
//!   is (tokens/s per GPU when sharing B ↑, GPUs of the phase ↓); a candidate within the
//!   tolerance of the best is dominated only by one that is too, with no more GPUs;
//! * budget / rate modes — one instance of `d` can replace one of `c` when `rate(d) ≥ rate(c)`,
//!   `gpus(d) ≤ gpus(c)`, decode `batch(d) ≥ batch(c)` (the floor B), tokens/s per GPU
//!   `(d) ≥ (c)` and prefill least load `(d) ≤ (c)` (the `prefill_load` row).
//!
//! The requirement rows (memory, TTFT, TPOT) are per chosen layout and hold for every feasible
//! candidate; the throughput-per-GPU row is checked here with the mode's measure, so that a
//! dominating candidate is never one the model would reject.
//! Among candidates with equal keys the first in enumeration order is kept.

use crate::candidates::{Candidate, Serving};
use crate::layout::Phase;
use crate::spec::goal::{Mode, Objective};

/// What a candidate contributes to the model, every entry oriented "higher is better".
pub type Key = [f64; 5];

/// The dominance key of a candidate in a mode, for an objective.
pub fn key(mode: Mode, objective: Objective, c: &Candidate) -> Key {
    Scalars::of(c).key(mode, objective)
}

/// The numbers of a candidate its key and the throughput-per-GPU filter read: the enumeration
/// builds them before the candidate itself, which is materialized only if it enters the front.
#[derive(Clone, Copy, Debug)]
pub struct Scalars {
    pub phase: Phase,
    pub batch: u64,
    pub gpus_per_instance: u64,
    pub cover_instances: u64,
    pub cover_tokens_per_s_per_gpu: f64,
    pub serving: Serving,
}

impl Scalars {
    pub fn of(c: &Candidate) -> Scalars {
        Scalars {
            phase: c.phase,
            batch: c.batch,
            gpus_per_instance: c.gpus_per_instance(),
            cover_instances: c.cover_instances,
            cover_tokens_per_s_per_gpu: c.cover_tokens_per_s_per_gpu,
            serving: c.serving,
        }
    }

    /// The dominance key in a mode, for an objective.
    pub fn key(&self, mode: Mode, _objective: Objective) -> Key {
        match mode {
            Mode::NoLimit => [
                self.cover_tokens_per_s_per_gpu,
                -((self.cover_instances * self.gpus_per_instance) as f64),
                0.0,
                0.0,
                0.0,
            ],
            _ => [
                self.serving.rate_per_s,
                -(self.gpus_per_instance as f64),
                // Sequences held count toward the decode floor B only.
                if self.phase == Phase::Decode {
                    self.batch as f64
                } else {
                    0.0
                },
                self.serving.tokens_per_s_per_gpu,
                // Prefill: the least load its batches need (lower is better).
                -self.serving.min_rate_per_s,
            ],
        }
    }

    /// Tokens/s per GPU as the mode counts it, thousands ([`super::per_gpu_k`]).
    pub fn per_gpu_k(&self, mode: Mode) -> f64 {
        crate::spec::goal::Counting::of(mode)
            .tokens_per_gpu(self.cover_tokens_per_s_per_gpu, self.serving.tokens_per_s_per_gpu)
            / super::KTOK
    }
}

fn dominates(d: &Key, c: &Key) -> bool {
    d.iter().zip(c).all(|(a, b)| a >= b)
}

/// Whether the entry `(d, od)` (key, position in enumeration order) makes `(c, oc)` redundant:
/// at least as good on every entry of the key, and either better on one or earlier. A strict
/// partial order, so the undominated entries of a set do not depend on the order in which they
/// are offered: the earliest of equal keys survives however the offers arrive.
fn beats(d: &Key, od: u64, c: &Key, oc: u64) -> bool {
    dominates(d, c) && (d != c || od < oc)
}

/// An online Pareto front: feed candidates (in any order, each with its position in enumeration
/// order), get the undominated ones back in enumeration order. Memory stays proportional to the
/// front, not to the candidates seen.
///
/// The payload `T` is what is kept per entry: the candidate itself, or (the enumeration's
/// per-layout fronts) a cheap handle from which the few survivors are built at the end.
#[derive(Clone)]
pub struct Front<T = Candidate> {
    mode: Mode,
    objective: Objective,
    min_per_gpu_k: Option<f64>,
    items: Vec<(Key, u64, T)>,
    seen: u64,
}

impl Front<Candidate> {
    /// Offer the next candidate (enumeration order).
    pub fn offer(&mut self, c: Candidate) {
        self.offer_with(&Scalars::of(&c), c);
    }

    /// The surviving candidates in enumeration order.
    pub fn into_candidates(self) -> Vec<Candidate> {
        self.into_items()
    }
}

impl<T> Front<T> {
    /// `min_per_gpu_tokens_per_s`: the throughput-per-GPU requirement, if any.
    pub fn new(mode: Mode, objective: Objective, min_per_gpu_tokens_per_s: Option<f64>) -> Front<T> {
        Front {
            mode,
            objective,
            min_per_gpu_k: min_per_gpu_tokens_per_s.map(|m| m / super::KTOK),
            items: Vec::new(),
            seen: 0,
        }
    }

    /// Offer the next entry by its candidate's numbers, its position being the number of
    /// entries offered before it.
    pub fn offer_with(&mut self, s: &Scalars, payload: T) {
        let at = self.seen;
        self.seen += 1;
        self.offer_at(at, s, payload);
    }

    /// Offer an entry at position `at` of the enumeration order (offers may come in any order;
    /// positions are distinct).
    pub fn offer_at(&mut self, at: u64, s: &Scalars, payload: T) {
        if let Some(min) = self.min_per_gpu_k
            && s.per_gpu_k(self.mode) < min
        {
            return;
        }
        self.offer_key(at, s.key(self.mode, self.objective), payload);
    }

    /// Offer an entry by its key (already past the throughput floor).
    fn offer_key(&mut self, at: u64, k: Key, payload: T) {
        // Newest first: the latest entries are the likeliest to dominate the next offer.
        if self.items.iter().rev().any(|(d, o, _)| beats(d, *o, &k, at)) {
            return;
        }
        self.items.retain(|(d, o, _)| !beats(&k, at, d, *o));
        self.items.push((k, at, payload));
    }

    /// Offer every surviving entry to `into` at its position; this front is left empty with its
    /// storage, ready for the next run of offers.
    pub fn move_into(&mut self, into: &mut Front<T>) {
        self.seen = 0;
        for (k, at, payload) in self.items.drain(..) {
            into.offer_key(at, k, payload);
        }
    }

    /// The positions of the surviving entries, ascending (enumeration order).
    pub fn into_positions(self) -> Vec<u64> {
        let mut at: Vec<u64> = self.items.into_iter().map(|(_, i, _)| i).collect();
        at.sort_unstable();
        at
    }

    /// The surviving entries in enumeration order.
    pub fn into_items(mut self) -> Vec<T> {
        self.items.sort_unstable_by_key(|(_, i, _)| *i);
        self.items.into_iter().map(|(_, _, c)| c).collect()
    }
}

/// Candidates that may still be optimal, in their original order.
pub fn prune(mode: Mode, objective: Objective, cands: &[Candidate]) -> Vec<Candidate> {
    prune_per_class(mode, objective, cands, |_| 0)
}

/// [`prune`] inside each class of `class_of` only, in the original order: a candidate is
/// dropped only for one of its own class. Under an engine's pair rules a search keeps whole
/// classes (`capability::branch_class`), and a candidate dominated only by one of another class
/// may be the best its branch has.
pub fn prune_per_class(
    mode: Mode,
    objective: Objective,
    cands: &[Candidate],
    class_of: impl Fn(&Candidate) -> u64,
) -> Vec<Candidate> {
    let mut fronts: Vec<(u64, Front<usize>)> = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        let class = class_of(c);
        let at = match fronts.iter().position(|(k, _)| *k == class) {
            Some(at) => at,
            None => {
                fronts.push((class, Front::new(mode, objective, None)));
                fronts.len() - 1
            }
        };
        fronts[at].1.offer_at(i as u64, &Scalars::of(c), i);
    }
    let mut kept: Vec<usize> = fronts.into_iter().flat_map(|(_, f)| f.into_items()).collect();
    kept.sort_unstable();
    kept.into_iter().map(|i| cands[i].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scalars with a small grid of values, so that equal keys (ties) are frequent.
    fn scalars(r: &mut u64, phase: Phase) -> Scalars {
        let mut next = |n: u64| {
            *r = r
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (*r >> 33) % n
        };
        Scalars {
            phase,
            batch: 1 + next(4),
            gpus_per_instance: 1 + next(3),
            cover_instances: 1 + next(3),
            cover_tokens_per_s_per_gpu: 1000.0 * next(5) as f64,
            serving: Serving {
                rate_per_s: next(4) as f64,
                min_rate_per_s: next(2) as f64,
                tokens_per_s_per_gpu: 1000.0 * next(4) as f64,
                kv_transfer_s: 0.0,
            },
        }
    }

    /// The front of a set offered in any order (with each entry's position) is the front of
    /// the same set offered in enumeration order: the property that lets the enumeration's
    /// workers fold layouts in whatever order they take them and merge their fronts.
    #[test]
    fn offer_order_does_not_change_the_front() {
        let mut r = 7u64;
        let modes = [Mode::NoLimit, Mode::Budget { gpus: 64 }];
        for case in 0..400 {
            let mode = modes[case % 2];
            let phase = if case % 4 < 2 {
                Phase::Decode
            } else {
                Phase::Prefill
            };
            let objective = Objective::default_for(mode);
            let min = (case % 3 == 0).then_some(1500.0);
            let n = 1 + (case % 40) as u64;
            let items: Vec<(u64, Scalars)> = (0..n).map(|i| (i, scalars(&mut r, phase))).collect();
            let mut in_order = Front::new(mode, objective, min);
            for (i, s) in &items {
                in_order.offer_with(s, *i);
            }
            let expected = in_order.into_items();
            // A shuffled order, and the order split into two halves merged as the workers do.
            let mut shuffled = items.clone();
            for k in (1..shuffled.len()).rev() {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1);
                shuffled.swap(k, (r >> 33) as usize % (k + 1));
            }
            let mut any = Front::new(mode, objective, min);
            for (i, s) in &shuffled {
                any.offer_at(*i, s, *i);
            }
            assert_eq!(any.into_items(), expected, "case {case}: shuffled");
            let (a, b) = shuffled.split_at(shuffled.len() / 2);
            let [mut fa, mut fb] = [a, b].map(|half| {
                let mut f = Front::new(mode, objective, min);
                for (i, s) in half {
                    f.offer_at(*i, s, *i);
                }
                f
            });
            fb.move_into(&mut fa);
            assert_eq!(fa.into_items(), expected, "case {case}: merged halves");
            assert!(!expected.is_empty() || min.is_some(), "case {case}: empty front");
        }
    }
}
