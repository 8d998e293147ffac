//! The ILP optimum equals exhaustive enumeration over the same (unpruned) candidates.
mod common;

use pdplan::candidates;
use pdplan::ilp::{self, formulation::Mode, oracle};
use pdplan::layout::Phase;
use pdplan::task::Task;

fn assert_ilp_equals_oracle(task: &Task, mode: Mode) {
    let d = ilp::optimize(task, mode).expect("feasible");
    let p = candidates::generate(task, Phase::Prefill).feasible;
    let q = candidates::generate(task, Phase::Decode).feasible;
    let best = oracle::exhaustive(mode, task.workload.batch, &p, &q).expect("oracle finds a plan");
    let ilp_primary = match mode {
        Mode::NoLimit => {
            ilp::formulation::tokens_per_gpu_k(&d.prefill.candidate)
                + ilp::formulation::tokens_per_gpu_k(&d.decode.candidate)
        }
        Mode::Budget { .. } => d.request_rate_per_s,
        Mode::Rate { .. } => d.total_gpus() as f64,
    };
    let rel = (ilp_primary - best.objective).abs() / best.objective.abs().max(1e-12);
    assert!(
        rel < 1e-6,
        "{mode:?}: ILP {ilp_primary} vs oracle {}",
        best.objective
    );
    assert_eq!(d.total_gpus(), best.gpus, "{mode:?}: tie-break on GPUs differs");
}

#[test]
fn no_limit_equals_oracle() {
    for batch in [1, 3, 8, 16, 40] {
        assert_ilp_equals_oracle(&common::small_dense(batch, None), Mode::NoLimit);
    }
    assert_ilp_equals_oracle(&common::qwen3_task(), Mode::NoLimit);
}

#[test]
fn budget_equals_oracle() {
    for (batch, budget) in [(4, 8), (8, 12), (16, 16), (2, 6)] {
        let t = common::small_dense(batch, Some(budget));
        assert_ilp_equals_oracle(&t, Mode::Budget { gpus: budget });
    }
}

#[test]
fn rate_equals_oracle() {
    for (batch, rate) in [(4, 2.0), (8, 10.0), (16, 25.0)] {
        let mut t = common::small_dense(batch, None);
        t.requirements.request_rate_per_s = Some(rate);
        assert_ilp_equals_oracle(&t, Mode::Rate { rate });
    }
}
