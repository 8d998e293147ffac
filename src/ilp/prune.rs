//! Dropping dominated candidates before the ILP (DESIGN.md §5: microlp slows down sharply on
//! big-M models, so the model is kept small). Each rule keeps the optimum (value and tie-break).

use super::formulation::Mode;
use crate::candidates::Candidate;

/// Candidates that may still be optimal, in their original order.
///
/// * No-limit mode: a phase's plan is one candidate with `cover_instances` instances; keep the
///   Pareto front of (max phase tokens/s per GPU, min phase GPUs). Ties keep the first.
/// * Budget / rate modes: `c` is dominated by `d` when one instance of `d` can replace one of
///   `c`: `gpus(d) ≤ gpus(c)`, `rate(d) ≥ rate(c)`, `batch(d) ≥ batch(c)`, and `d` is not a
///   later duplicate. Requirements rows hold for both (they are feasible candidates); memory,
///   TTFT and TPOT rows are per chosen layout and already satisfied.
pub fn prune(mode: Mode, cands: &[Candidate]) -> Vec<Candidate> {
    let key = |c: &Candidate| match mode {
        Mode::NoLimit => (
            c.cover_tokens_per_s_per_gpu,
            (c.cover_instances * c.gpus_per_instance()) as f64,
            0.0,
        ),
        _ => (
            c.figures.rate_requests_per_s,
            c.gpus_per_instance() as f64,
            c.batch as f64,
        ),
    };
    // (higher-better, lower-better, higher-better)
    let dominates = |d: (f64, f64, f64), c: (f64, f64, f64)| d.0 >= c.0 && d.1 <= c.1 && d.2 >= c.2;
    // Sort by the first key descending so that a dominator comes before what it dominates
    // (ties keep original order); then sweep against the kept set.
    let keys: Vec<(f64, f64, f64)> = cands.iter().map(key).collect();
    let mut order: Vec<usize> = (0..cands.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        let (ka, kb) = (keys[a], keys[b]);
        kb.0.total_cmp(&ka.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(kb.2.total_cmp(&ka.2))
            .then(a.cmp(&b))
    });
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if !kept.iter().any(|&j| dominates(keys[j], keys[i])) {
            kept.push(i);
        }
    }
    kept.sort_unstable();
    kept.into_iter().map(|i| cands[i].clone()).collect()
}
