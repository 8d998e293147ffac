//! The GPU frontier: for every budget from the smallest feasible up to a limit, the best request
//! rate the deployment sustains (budget mode, objective `total`), so a user sees what each extra
//! GPU buys.
//!
//! Candidates are enumerated and pruned once, at the largest budget: the layouts allowed under a
//! budget `N` are exactly those of at most `N` GPUs per instance of that set (the enumeration
//! limits are `W ≤ N`, `pp ≤ N`, `pp·W ≤ N`), and a candidate that dominates another never has
//! more GPUs per instance, so filtering the pruned set by `N` keeps every optimum.

use super::formulation::{Mode, Objective};
use super::{Lexicographic, PhaseChoice, Tally, choice, infeasible_phase, lexicographic};
use crate::candidates::{self, Candidate};
use crate::error::{Error, Result};
use crate::layout::capability::{self, runs_pair};
use crate::spec::task::Task;
use serde::Serialize;

/// The best deployment within one budget.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    pub budget_gpus: u64,
    /// Sustained request rate, requests/s.
    pub request_rate_per_s: f64,
    /// GPUs the plan uses (fewest reaching the rate).
    pub gpus_used: u64,
    pub prefill: Side,
    pub decode: Side,
    /// Prefill input tokens/s and decode output tokens/s at that rate.
    pub prefill_tokens_per_s: f64,
    pub decode_tokens_per_s: f64,
    /// The rate gained over the previous budget of the list, requests/s.
    pub gain_per_s: f64,
}

/// One phase of a frontier point.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    pub layout: String,
    pub batch_per_instance: u64,
    pub instances: u64,
    pub gpus: u64,
}

impl Side {
    fn of(c: &PhaseChoice) -> Side {
        Side {
            layout: c.candidate.layout.to_string(),
            batch_per_instance: c.candidate.batch,
            instances: c.instances,
            gpus: c.gpus(),
        }
    }
}

/// The frontier of a task.
#[derive(Clone, Debug, Serialize)]
pub struct Frontier {
    pub smallest_feasible_gpus: u64,
    pub max_gpus: u64,
    /// GPUs between two budgets solved: 1 (every budget) unless the range holds more than
    /// [`MAX_BUDGETS`] budgets (see [`budgets`]).
    pub step_gpus: u64,
    /// One point per budget solved, from the smallest feasible to `max_gpus`.
    pub points: Vec<Point>,
    pub solves: u64,
    pub time_s: f64,
}

/// Compute the frontier up to `max_gpus` (the task's own budget, if any, is replaced).
pub fn frontier(task: &Task, max_gpus: u64) -> Result<Frontier> {
    let start = std::time::Instant::now();
    let mut t = task.clone();
    t.hardware.gpu_budget = Some(max_gpus);
    t.requirements.request_rate_per_s = None;
    let mode = Mode::Budget { gpus: max_gpus };
    let all = super::candidates_for(&t, mode, Objective::Total);
    for pc in &all {
        if pc.feasible.is_empty() {
            return Err(infeasible_phase(&t, pc));
        }
    }
    let mut tally = Tally::default();
    let mut branches = Branches { max_gpus, sets: None };
    // The smallest feasible budget: fewest GPUs holding B in both phases.
    let cands = [all[0].feasible.as_slice(), all[1].feasible.as_slice()];
    let fewest = lexicographic(&t, (mode, Objective::MinGpus, 0.0), cands, &mut tally)?.ok_or_else(|| {
        Error::Infeasible {
            phase: "deployment".into(),
            binding: format!(
                "GPU budget: holding the batch of {} sequences in both phases needs more than {max_gpus} GPUs",
                t.workload.batch
            ),
            report: String::new(),
        }
    })?;
    let smallest = fewest.first.objective.round() as u64;
    let mut points: Vec<Point> = Vec::new();
    let list = budgets(smallest, max_gpus);
    let step_gpus = list.get(1).map_or(1, |b| b - list[0]);
    for n in list {
        let (p, d) = (within(cands[0], n), within(cands[1], n));
        let mut tn = t.clone();
        tn.hardware.gpu_budget = Some(n);
        let mode_n = Mode::Budget { gpus: n };
        // No plan the engine runs within this budget (its pair rules): no point.
        let Some((pc, dc)) = best_runnable(&tn, mode_n, [&p, &d], (&mut branches, &mut tally))? else {
            continue;
        };
        let rate = super::sustained_rate(mode_n, &pc, &dc);
        let gain = points.last().map_or(rate, |prev| rate - prev.request_rate_per_s);
        points.push(Point {
            budget_gpus: n,
            request_rate_per_s: rate,
            gpus_used: pc.gpus() + dc.gpus(),
            prefill_tokens_per_s: rate * t.workload.ttft_input_len() as f64,
            decode_tokens_per_s: rate * t.workload.rate_output_len() as f64,
            prefill: Side::of(&pc),
            decode: Side::of(&dc),
            gain_per_s: gain,
        });
    }
    let Some(first) = points.first() else {
        return Err(Error::Infeasible {
            phase: "deployment".into(),
            binding: format!(
                "engine rules: no prefill / decode pair the engine runs holds the batch within {max_gpus} GPUs"
            ),
            report: String::new(),
        });
    };
    Ok(Frontier {
        smallest_feasible_gpus: first.budget_gpus,
        max_gpus,
        step_gpus,
        points,
        solves: tally.solves,
        time_s: start.elapsed().as_secs_f64(),
    })
}

/// The best plan within one budget that the task's engine runs (`capability::runs_pair`): the
/// optimum over every candidate when its pair runs, else the best of the branches that cover
/// every runnable pair ([`Branches`]), each cut to the budget: more requests/s, then fewer GPUs,
/// the first branch among equals. `None` when no runnable pair fits.
fn best_runnable(
    t: &Task,
    mode: Mode,
    [p, d]: [&[Candidate]; 2],
    (branches, tally): (&mut Branches, &mut Tally),
) -> Result<Option<(PhaseChoice, PhaseChoice)>> {
    let mut solve = |p: &[Candidate], d: &[Candidate]| -> Result<Option<(PhaseChoice, PhaseChoice)>> {
        let Some(lex) = lexicographic(t, (mode, Objective::Total, 0.0), [p, d], tally)? else {
            return Ok(None);
        };
        let Lexicographic {
            secondary, second, ..
        } = &lex;
        Ok(Some((
            choice(secondary, second, 0, p)?,
            choice(secondary, second, 1, d)?,
        )))
    };
    let plain = solve(p, d)?;
    match &plain {
        Some((pc, dc)) if !runs_pair(t, &pc.candidate.layout, &dc.candidate.layout) => {}
        _ => return Ok(plain),
    }
    let value =
        |(pc, dc): &(PhaseChoice, PhaseChoice)| (super::sustained_rate(mode, pc, dc), pc.gpus() + dc.gpus());
    let budget = t.hardware.gpu_budget.unwrap_or(u64::MAX);
    let mut best: Option<(PhaseChoice, PhaseChoice)> = None;
    for [bp, bd] in branches.get(t) {
        let [bp, bd] = [bp, bd].map(|cs| within(cs, budget));
        let Some(x) = solve(&bp, &bd)? else { continue };
        let better = best.as_ref().is_none_or(|b| {
            let ((r1, g1), (r0, g0)) = (value(&x), value(b));
            let tie = 1e-9 * r0.abs().max(1.0);
            r1 > r0 + tie || ((r1 - r0).abs() <= tie && g1 < g0)
        });
        if better {
            best = Some(x);
        }
    }
    Ok(best)
}

/// The candidates of instances of at most `n` GPUs.
fn within(cs: &[Candidate], n: u64) -> Vec<Candidate> {
    cs.iter()
        .filter(|c| c.gpus_per_instance() <= n)
        .cloned()
        .collect()
}

/// The candidate sets whose pairs the engine runs and whose union holds every pair it runs —
/// per engine for `any` (its layouts: `Task::runnable_on`), per attention TP under a same-TP
/// pair rule (that TP or a wide-EP side), the searches `engine_search` makes — each enumerated
/// and pruned on its own at the frontier's largest budget (pruned together, a candidate another
/// branch's candidate dominates would be lost), only when a budget first needs them.
struct Branches {
    max_gpus: u64,
    sets: Option<Vec<[Vec<Candidate>; 2]>>,
}

impl Branches {
    fn get(&mut self, t: &Task) -> &[[Vec<Candidate>; 2]] {
        let max = self.max_gpus;
        self.sets.get_or_insert_with(|| {
            let mut top = t.clone();
            top.hardware.gpu_budget = Some(max);
            let mode = Mode::Budget { gpus: max };
            // One scan kept by branch class (`capability::branch_class`), each branch merging
            // the classes it allows: the candidates of a scan of its layouts alone.
            let scanned =
                candidates::scan_by(&top, (mode, Objective::Total), candidates::ClassBy::EngineBranch);
            let mut out = Vec::new();
            for (bit, e) in capability::engines_of(&top).into_iter().enumerate() {
                let member = |c: u64| capability::class_runs_on(c, bit);
                if !capability::has_pair_rule(e) {
                    out.push(scanned.candidates(member).map(|pc| pc.feasible));
                    continue;
                }
                for tp in super::engine_search::attention_tps(&top) {
                    let tp_of = capability::class_tp;
                    let keep =
                        |c: u64| member(c) && (tp_of(c) == tp || tp_of(c) == candidates::WIDE_EP_CLASS);
                    out.push(scanned.candidates(keep).map(|pc| pc.feasible));
                }
            }
            out
        })
    }
}

/// Most budgets one frontier solves (one lexicographic ILP pair each, ~40 ms on the shipped
/// fixtures): the work of `--frontier` is bounded whatever `--max-gpus` is (issue 15).
pub const MAX_BUDGETS: u64 = 64;

/// Largest budget of a frontier: the budget-mode solves grow with the budget (64 budgets take
/// 1.3–2.9 s up to 1,024 GPUs on the shipped fixtures, 55 s up to 4,096), so the work of
/// `--frontier` stays within a few seconds.
pub const MAX_GPUS: u64 = 1024;

/// The budgets solved from `smallest` to `max`: every one when there are at most
/// [`MAX_BUDGETS`], else `smallest`, then every `step` GPUs (`step` the smallest that keeps the
/// count within the bound), and `max` itself.
pub fn budgets(smallest: u64, max: u64) -> Vec<u64> {
    if smallest > max {
        return Vec::new();
    }
    let span = max - smallest;
    let step = span.div_ceil(MAX_BUDGETS - 1).max(1);
    let mut list: Vec<u64> = (0..MAX_BUDGETS)
        .map(|i| smallest.saturating_add(i.saturating_mul(step)))
        .take_while(|&n| n < max)
        .collect();
    list.push(max);
    list
}

/// The frontier as a table: one row per budget where the best rate changes.
pub fn table(f: &Frontier) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "GPU frontier: budgets {}..={}{} ({} solves, {:.1} ms); rows where the best rate improves",
        f.smallest_feasible_gpus,
        f.max_gpus,
        if f.step_gpus > 1 {
            format!(
                " every {} GPUs (at most {MAX_BUDGETS} budgets are solved)",
                f.step_gpus
            )
        } else {
            String::new()
        },
        f.solves,
        f.time_s * 1e3
    );
    let _ = writeln!(
        s,
        "{:>7} {:>6} {:>12} {:>12}  {:<44} {:<44}",
        "budget",
        "used",
        "requests/s",
        "gain",
        "prefill (layout b × instances)",
        "decode (layout b × instances)"
    );
    let mut last = f64::NEG_INFINITY;
    for p in &f.points {
        if p.request_rate_per_s <= last * (1.0 + 1e-9) {
            continue;
        }
        last = p.request_rate_per_s;
        let side = |x: &Side| format!("{} b{} × {}", x.layout, x.batch_per_instance, x.instances);
        let _ = writeln!(
            s,
            "{:>7} {:>6} {:>12.4} {:>12.4}  {:<44} {:<44}",
            p.budget_gpus,
            p.gpus_used,
            p.request_rate_per_s,
            p.gain_per_s,
            side(&p.prefill),
            side(&p.decode)
        );
    }
    s
}
