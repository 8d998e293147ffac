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
    /// The model is outside what microlp can take: an integer bound beyond the i32 range, a
    /// non-finite coefficient, or a basis the solver found singular (numbers too far apart).
    OutOfRange(String),
    /// Time limit before any feasible solution, or a solver error.
    Other(String),
}

/// Largest integer bound microlp accepts (its integer variables are bounded within `i32`).
const MAX_INTEGER_BOUND: f64 = i32::MAX as f64;

/// Refuse, before calling microlp, a model it cannot take: an integer variable bounded beyond
/// the i32 range (microlp returns an error for it), a non-finite bound, coefficient or right-hand
/// side.
fn supported(model: &Model) -> Result<(), Failure> {
    for v in &model.vars {
        let bounded = v.lower.abs() <= MAX_INTEGER_BOUND && v.upper.abs() <= MAX_INTEGER_BOUND;
        if v.kind == VarKind::Integer && !bounded {
            return Err(Failure::OutOfRange(format!(
                "variable {} may reach {:.3e}, beyond the solver's integer range (2^31 − 1)",
                v.name, v.upper
            )));
        }
        if v.lower.is_nan() || v.upper.is_nan() {
            return Err(Failure::OutOfRange(format!("variable {} has no bound", v.name)));
        }
    }
    let finite = |terms: &[(usize, f64)]| terms.iter().all(|t| t.1.is_finite());
    if !finite(&model.objective) || model.rows.iter().any(|r| !finite(&r.terms) || !r.rhs.is_finite()) {
        return Err(Failure::OutOfRange(format!(
            "model {} has a coefficient that is not a finite number",
            model.name
        )));
    }
    Ok(())
}

/// Solve `model` with microlp, at most `time_limit_s` seconds. `warm` is a feasible assignment
/// microlp may start from (advisory: an infeasible hint is ignored by microlp).
pub fn solve(model: &Model, time_limit_s: f64, warm: Option<&[f64]>) -> Result<Solved, Failure> {
    let start = Instant::now();
    supported(model)?;
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
        Err(e) if e.to_string().contains("Singular matrix") => {
            return Err(Failure::OutOfRange(format!(
                "the solver's basis became singular on model {} (its numbers are too far apart)",
                model.name
            )));
        }
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
