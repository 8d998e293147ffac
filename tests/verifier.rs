//! A solver answer that is infeasible, fractional or misreported under its own model never
//! becomes a plan: `ilp::accept` (which every solve inside `optimize` goes through) turns it
//! into an internal error (exit code 1).
mod common;

use pdplan::error::exit;
use pdplan::ilp::formulation::{self, Mode, Objective, Stage};
use pdplan::ilp::{self, solver};

/// A budget-mode model with instance-count variables (objective `min-gpus`) and the solved
/// no-limit model under `total` (it has the rate variable and rate-matching rows).
fn solved(mode: Mode, objective: Objective) -> (formulation::Formulation, solver::Solved) {
    let t = common::small_dense(8, Some(16));
    let cands = ilp::candidates_for(&t, mode, objective);
    let f = formulation::build(
        &t,
        mode,
        objective,
        Stage::Primary,
        [&cands[0].feasible, &cands[1].feasible],
    );
    let s = solver::solve(&f.model, ilp::TIME_LIMIT_S, None).expect("feasible");
    (f, s)
}

fn rejected(f: &formulation::Formulation, s: &solver::Solved, what: &str) -> String {
    let e = ilp::accept(&f.model, s).expect_err(what);
    assert_eq!(e.exit_code(), exit::INTERNAL, "{what}: {e}");
    e.to_string()
}

#[test]
fn a_true_answer_is_accepted_and_its_objective_recomputed() {
    let (f, s) = solved(Mode::Budget { gpus: 16 }, Objective::Total);
    ilp::accept(&f.model, &s).expect("microlp's answer satisfies the model");
    assert!((f.model.objective_value(&s.values) - s.objective).abs() < 1e-9 * s.objective.abs().max(1.0));
    assert!(s.objective > 0.0);
}

#[test]
fn corrupted_answers_are_internal_errors() {
    let (f, s) = solved(Mode::Budget { gpus: 16 }, Objective::MinGpus);
    let chosen = f.phases[0]
        .x
        .iter()
        .position(|&x| s.values[x] > 0.5)
        .expect("a layout");
    let xi = f.phases[0].x[chosen];
    let ni = f.phases[0].n[chosen];

    // Flip the chosen binary off: no layout for prefill (and instances without a layout).
    let mut c = s.clone();
    c.values[xi] = 0.0;
    let e = rejected(&f, &c, "binary flipped off");
    assert!(
        e.contains("one_layout_prefill") || e.contains("link_prefill"),
        "{e}"
    );

    // Turn a second layout on: two layouts in one phase.
    if f.phases[0].x.len() > 1 {
        let mut c = s.clone();
        let other = f.phases[0].x[(chosen + 1) % f.phases[0].x.len()];
        c.values[other] = 1.0;
        assert!(rejected(&f, &c, "two layouts").contains("one_layout_prefill"));
    }

    // A fractional instance count.
    let mut c = s.clone();
    c.values[ni] += 0.5;
    assert!(rejected(&f, &c, "fractional integer").contains("integral"));

    // Break a row: more instances than the budget allows.
    let mut c = s.clone();
    c.values[ni] += 16.0;
    let e = rejected(&f, &c, "over budget");
    assert!(e.contains("gpu_budget") || e.contains("outside"), "{e}");

    // A rate the phases cannot sustain (rate-matching rows).
    let mut c = s.clone();
    let r = f.rate.expect("budget mode has a rate");
    c.values[r] = 1e9;
    assert!(rejected(&f, &c, "rate too high").contains("rate_"));

    // A wrong objective claim with feasible values.
    let mut c = s.clone();
    c.objective *= 1.01;
    assert!(rejected(&f, &c, "objective claim").contains("claims objective"));

    // Out of bounds and not finite.
    let mut c = s.clone();
    c.values[ni] = -1.0;
    assert!(rejected(&f, &c, "negative").contains("outside"));
    let mut c = s.clone();
    c.values[ni] = f64::NAN;
    rejected(&f, &c, "NaN");

    // The fixed-count form (budget mode, objective total): two columns of one phase at once.
    let (g, t) = solved(Mode::Budget { gpus: 16 }, Objective::Total);
    ilp::accept(&g.model, &t).expect("true answer");
    let on: Vec<usize> = g.phases[1]
        .x
        .iter()
        .copied()
        .filter(|&x| t.values[x] < 0.5)
        .collect();
    let mut c = t.clone();
    c.values[on[0]] = 1.0;
    assert!(rejected(&g, &c, "second column").contains("one_layout_decode"));
    let mut c = t;
    c.objective += 0.5;
    assert!(rejected(&g, &c, "objective claim").contains("claims objective"));

    // Wrong number of values.
    let mut c = s;
    c.values.pop();
    rejected(&f, &c, "short vector");
}
