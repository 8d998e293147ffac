//! Solving a shadow [`Model`] with good_lp's microlp backend, under a time limit.

use super::model::{Cmp, Model, Sense, VarKind};
use good_lp::solvers::{WithInitialSolution, WithTimeLimit};
use good_lp::{Expression, ProblemVariables, ResolutionError, Solution, SolverModel, variable};
use serde::Serialize;
use std::time::Instant;

/// Outcome of one solve.
#[derive(Clone, Debug, Serialize)]
pub struct Solved {
    pub values: Vec<f64>,
    /// The objective value the solver claims (checked against the values by the verifier).
    pub objective: f64,
    /// `optimal`, or `time limit (gap g)` when microlp stopped early with a feasible solution.
    pub status: super::SolverStatus,
    /// Relative gap reported by microlp (0 when proven optimal).
    pub gap: f64,
    pub solve_time_s: f64,
}

/// Why a solve gave no solution.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    Infeasible,
    /// Time limit before any feasible solution, or a solver error.
    Other(String),
}

/// Solve `model` with microlp, at most `time_limit_s` seconds. `warm` is a feasible assignment
/// microlp may start from (advisory: an infeasible hint is ignored by microlp).
pub fn solve(model: &Model, time_limit_s: f64, warm: Option<&[f64]>) -> Result<Solved, Failure> {
    let start = Instant::now();
    let mut vars = ProblemVariables::new();
    let handles: Vec<good_lp::Variable> = model
        .vars
        .iter()
        .map(|v| {
            let def = match v.kind {
                VarKind::Binary => variable().binary(),
                VarKind::Integer => variable().integer().min(v.lower).max(v.upper),
                VarKind::Continuous => variable().min(v.lower).max(v.upper),
            };
            vars.add(def.name(v.name.clone()))
        })
        .collect();
    let expr = |terms: &[(usize, f64)]| -> Expression { terms.iter().map(|&(v, c)| c * handles[v]).sum() };
    let objective = expr(&model.objective);
    let unsolved = match model.sense {
        Sense::Maximize => vars.maximise(objective),
        Sense::Minimize => vars.minimise(objective),
    };
    let mut problem = unsolved.using(good_lp::microlp).with_time_limit(time_limit_s);
    if let Some(values) = warm {
        problem = problem.with_initial_solution(handles.iter().copied().zip(values.iter().copied()));
    }
    for r in &model.rows {
        let lhs = expr(&r.terms);
        let c = match r.cmp {
            Cmp::Le => lhs.leq(r.rhs),
            Cmp::Ge => lhs.geq(r.rhs),
            Cmp::Eq => lhs.eq(r.rhs),
        };
        problem.add_constraint(c);
    }
    let solution = match problem.solve() {
        Ok(s) => s,
        Err(ResolutionError::Infeasible) => return Err(Failure::Infeasible),
        Err(e) => return Err(Failure::Other(e.to_string())),
    };
    let values: Vec<f64> = handles.iter().map(|&h| solution.value(h)).collect();
    let inner = solution.into_inner();
    // The objective as microlp reports it; the verifier recomputes it from the values.
    let objective = inner.objective();
    let optimal = inner.status() == microlp::SolutionStatus::Optimal;
    let gap = if optimal {
        0.0
    } else {
        inner.gap().unwrap_or(f64::INFINITY)
    };
    let status = if optimal {
        super::SolverStatus::Optimal
    } else {
        super::SolverStatus::TimeLimit { gap }
    };
    Ok(Solved {
        objective,
        values,
        status,
        gap,
        solve_time_s: start.elapsed().as_secs_f64(),
    })
}
