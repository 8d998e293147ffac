//! Stage 8 — analysis of plans against the optimum: a given strategy evaluated (evaluate),
//! heuristic baselines, and their comparison with the solver's plan.

pub mod baselines;
pub mod compare;
pub mod evaluate;
pub mod given;
