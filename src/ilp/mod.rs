//! The optimizer: candidates → pruning → ILP (two solves for lexicographic objectives) →
//! verification against the shadow model → the chosen deployment.

pub mod formulation;
pub mod model;
pub mod oracle;
pub mod prune;
pub mod solver;

use crate::candidates::{self, Candidate, Limit, PhaseCandidates};
use crate::error::{Error, Result};
use crate::layout::Phase;
use crate::task::Task;
use formulation::{Formulation, Mode, Stage};
use serde::Serialize;
use std::time::Instant;

/// Time limit of each ILP solve, seconds.
pub const TIME_LIMIT_S: f64 = 10.0;

/// One phase of the chosen deployment.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseChoice {
    pub candidate: Candidate,
    pub instances: u64,
}

impl PhaseChoice {
    pub fn gpus(&self) -> u64 {
        self.instances * self.candidate.gpus_per_instance()
    }
}

/// Solver facts reported in the plan.
#[derive(Clone, Debug, Serialize)]
pub struct SolverReport {
    pub status: String,
    pub objective: String,
    pub objective_value: f64,
    pub gap: f64,
    pub solve_time_s: f64,
    /// Candidates evaluated (layouts × batches) over both phases.
    pub candidates: u64,
    /// Feasible candidates over both phases.
    pub feasible: u64,
    /// Candidates left in the ILP after dominance pruning.
    pub in_model: u64,
    pub solves: u64,
}

/// The optimizer's answer.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub mode: Mode,
    pub prefill: PhaseChoice,
    pub decode: PhaseChoice,
    /// Requests/s the deployment sustains (min of the two phases' capacities).
    pub request_rate_per_s: f64,
    pub solver: SolverReport,
    /// No-limit mode: the plan with the fewest GPUs, when it differs.
    pub fewest_gpus: Option<(PhaseChoice, PhaseChoice)>,
    /// The final model solved (for LP export and reports).
    pub model: model::Model,
    /// The primary model (first solve).
    pub primary_model: model::Model,
    pub candidates: [PhaseCandidates; 2],
}

impl Deployment {
    pub fn phase(&self, p: Phase) -> &PhaseChoice {
        match p {
            Phase::Prefill => &self.prefill,
            Phase::Decode => &self.decode,
        }
    }
    pub fn total_gpus(&self) -> u64 {
        self.prefill.gpus() + self.decode.gpus()
    }
}

/// Explain why a phase has no feasible candidate: the binding limit and the best value reached.
pub fn infeasible_phase(task: &Task, pc: &PhaseCandidates) -> Error {
    let gib = |b: f64| b / (1u64 << 30) as f64;
    // The binding limit is the last check any candidate reached.
    let binding = pc.rejected.keys().max().copied();
    let mut report = format!(
        "{} phase: {} layouts × batches evaluated, none feasible:\n",
        pc.phase, pc.evaluated
    );
    for (limit, r) in &pc.rejected {
        report.push_str(&format!(
            "  {:>5} rejected by {} (e.g. {})\n",
            r.count,
            limit.name(),
            r.example
        ));
    }
    let binding_text = match binding {
        None => "no valid layout for this model (check heads, KV heads, experts)".to_string(),
        Some(limit) => {
            let r = &pc.rejected[&limit];
            match limit {
                Limit::Memory => format!(
                    "memory: the smallest footprint reachable is {:.1} GiB per GPU > {:.1} GiB capacity",
                    gib(r.best),
                    gib(task.hardware.memory_bytes)
                ),
                Limit::Ttft => format!(
                    "TTFT: the best reachable is {:.3} s > required {} s",
                    r.best,
                    task.requirements.ttft_s.unwrap_or(f64::NAN)
                ),
                Limit::Tpot => format!(
                    "TPOT: the best reachable is {:.2} ms > required {:.2} ms",
                    r.best * 1e3,
                    task.requirements.tpot_s.unwrap_or(f64::NAN) * 1e3
                ),
                Limit::ThroughputPerGpu => format!(
                    "throughput per GPU: the best reachable is {:.0} tokens/s/GPU < required {:.0}",
                    r.best,
                    task.requirements
                        .throughput_per_gpu_tokens_per_s
                        .unwrap_or(f64::NAN)
                ),
                Limit::Balance => "balance: every layout leaves attention-DP ranks idle".to_string(),
            }
        }
    };
    Error::Infeasible {
        phase: pc.phase.to_string(),
        binding: binding_text,
        report,
    }
}

fn run(f: &Formulation, solves: &mut u64, time: &mut f64) -> Result<Option<solver::Solved>> {
    *solves += 1;
    match solver::solve(&f.model, TIME_LIMIT_S) {
        Ok(s) => {
            *time += s.solve_time_s;
            f.model.verify(&s.values).map_err(|e| {
                Error::Internal(format!("solver answer fails the model {}: {e}", f.model.name))
            })?;
            Ok(Some(s))
        }
        Err(solver::Failure::Infeasible) => Ok(None),
        Err(solver::Failure::Other(e)) => Err(Error::Internal(format!("microlp: {e}"))),
    }
}

fn choice(f: &Formulation, s: &solver::Solved, phase: usize, cands: &[Candidate]) -> Result<PhaseChoice> {
    let v = &f.phases[phase];
    let i =
        v.x.iter()
            .position(|&x| s.values[x] > 0.5)
            .ok_or_else(|| Error::Internal("no layout chosen".into()))?;
    Ok(PhaseChoice {
        candidate: cands[i].clone(),
        instances: s.values[v.n[i]].round() as u64,
    })
}

/// Plan both phases of a task.
pub fn optimize(task: &Task, mode: Mode) -> Result<Deployment> {
    let start = Instant::now();
    // The two phases are independent: enumerate them on two threads.
    let all = std::thread::scope(|s| {
        let prefill = s.spawn(|| candidates::generate(task, Phase::Prefill));
        let decode = candidates::generate(task, Phase::Decode);
        [prefill.join().expect("candidate thread panicked"), decode]
    });
    for pc in &all {
        if pc.feasible.is_empty() {
            return Err(infeasible_phase(task, pc));
        }
    }
    let pruned = [
        prune::prune(mode, &all[0].feasible),
        prune::prune(mode, &all[1].feasible),
    ];
    let cands = [pruned[0].as_slice(), pruned[1].as_slice()];
    let mut solves = 0;
    let mut solve_time = 0.0;
    let primary = formulation::build(task, mode, &Stage::Primary, cands);
    let primary_model = primary.model.clone();
    let first =
        run(&primary, &mut solves, &mut solve_time)?.ok_or_else(|| budget_infeasible(task, mode, cands))?;
    let (final_f, final_s) = match mode {
        Mode::Rate { .. } => (primary, first.clone()),
        _ => {
            let floors = match mode {
                Mode::NoLimit => (0..2)
                    .map(|p| {
                        let v = &primary.phases[p];
                        cands[p]
                            .iter()
                            .enumerate()
                            .map(|(i, c)| first.values[v.x[i]].round() * formulation::tokens_per_gpu_k(c))
                            .sum()
                    })
                    .collect(),
                _ => vec![first.objective],
            };
            let second = formulation::build(task, mode, &Stage::FewestGpus { floors }, cands);
            let s = run(&second, &mut solves, &mut solve_time)?.ok_or_else(|| {
                Error::Internal("second solve infeasible although the first had a solution".into())
            })?;
            (second, s)
        }
    };
    let prefill = choice(&final_f, &final_s, 0, cands[0])?;
    let decode = choice(&final_f, &final_s, 1, cands[1])?;
    let fewest_gpus = if mode == Mode::NoLimit {
        let f = formulation::build(task, mode, &Stage::FewestGpusOnly, cands);
        let s = run(&f, &mut solves, &mut solve_time)?
            .ok_or_else(|| Error::Internal("fewest-GPU solve infeasible".into()))?;
        let p = choice(&f, &s, 0, cands[0])?;
        let d = choice(&f, &s, 1, cands[1])?;
        let differs = p.gpus() + d.gpus() < prefill.gpus() + decode.gpus();
        differs.then_some((p, d))
    } else {
        None
    };
    let rate = (prefill.instances as f64 * prefill.candidate.figures.rate_requests_per_s)
        .min(decode.instances as f64 * decode.candidate.figures.rate_requests_per_s);
    let objective_text = match mode {
        Mode::NoLimit => "max tokens/s per GPU of each phase, then min GPUs (lexicographic, two solves)",
        Mode::Budget { .. } => {
            "max sustained request rate within the GPU budget, then min GPUs (lexicographic, two solves)"
        }
        Mode::Rate { .. } => "min GPUs sustaining the target request rate",
    };
    let gap = first.gap.max(final_s.gap);
    let status = if gap == 0.0 {
        "optimal".to_string()
    } else {
        final_s.status.clone()
    };
    let solver = SolverReport {
        status,
        objective: objective_text.to_string(),
        objective_value: final_s.objective,
        gap,
        solve_time_s: start.elapsed().as_secs_f64(),
        candidates: all[0].evaluated + all[1].evaluated,
        feasible: (all[0].feasible.len() + all[1].feasible.len()) as u64,
        in_model: (cands[0].len() + cands[1].len()) as u64,
        solves,
    };
    let _ = solve_time;
    Ok(Deployment {
        mode,
        prefill,
        decode,
        request_rate_per_s: rate,
        solver,
        fewest_gpus,
        model: final_f.model,
        primary_model,
        candidates: all,
    })
}

/// Both phases have feasible layouts but no combination fits the budget / reaches the rate.
fn budget_infeasible(task: &Task, mode: Mode, cands: [&[Candidate]; 2]) -> Error {
    let min_gpus = |cs: &[Candidate]| {
        cs.iter()
            .map(|c| c.cover_instances * c.gpus_per_instance())
            .min()
            .unwrap_or(0)
    };
    let need = min_gpus(cands[0]) + min_gpus(cands[1]);
    let binding = match mode {
        Mode::Budget { gpus } => format!(
            "GPU budget: holding the batch of {} sequences in both phases needs at least {need} GPUs > budget {gpus}",
            task.workload.batch
        ),
        _ => "no combination of layouts meets the rows of the model".to_string(),
    };
    Error::Infeasible {
        phase: "deployment".into(),
        binding,
        report: String::new(),
    }
}
