//! pdplan against the heuristic baselines ([`crate::analysis::baselines`]): one row per plan, scored the
//! same way, with the factor by which pdplan is better in the objective of the task's mode.
//! The writers are pure (`report::compare`); the CLI chooses where they go.

use crate::analysis::baselines::{self, Baseline, BaselineResult, Outcome, Plan, Score};
use crate::error::Error;
use crate::ilp::Deployment;
use crate::ilp::formulation::Mode;
use crate::spec::task::Task;

/// One row of the comparison: pdplan or a baseline.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub rule: String,
    pub outcome: Outcome,
    pub note: String,
    pub time_s: f64,
    /// pdplan's gain over this row (≥ 1 means pdplan is at least as good); only for rows that
    /// meet every requirement while pdplan has a plan.
    pub gain: Option<f64>,
    /// GPUs pdplan uses fewer than this row (negative: more), when both have plans.
    pub gpus_saved: Option<i64>,
}

impl Row {
    /// The gain in words: `×1.234`, with the GPUs saved when any.
    pub fn gain_text(&self) -> String {
        match (self.gain, self.gpus_saved) {
            (Some(g), Some(d)) if d > 0 => format!("×{g:.3}, {d} fewer GPUs"),
            (Some(g), Some(d)) if d < 0 => format!("×{g:.3}, {} more GPUs", -d),
            (Some(g), _) => format!("×{g:.3}"),
            _ => "-".into(),
        }
    }

    /// `met`, `requirements not met`, `no plan`, `not applicable`.
    pub fn status(&self) -> &'static str {
        match &self.outcome {
            Outcome::Plan { misses, .. } if misses.is_empty() => "met",
            Outcome::Plan { .. } => "requirements not met",
            Outcome::NoPlan { .. } => "no plan",
            Outcome::NotApplicable { .. } => "not applicable",
        }
    }
    fn baseline(&self) -> Option<Baseline> {
        Baseline::ALL.into_iter().find(|b| b.name() == self.name)
    }
}

/// pdplan and every baseline on one task.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub task: String,
    pub mode: Mode,
    pub objective: &'static str,
    /// pdplan's tolerance: with no GPU limit and the per-GPU objective it takes the fewest GPUs
    /// within this share of each phase's best tokens/s per GPU (0 otherwise).
    pub tolerance: f64,
    /// Row 0 is pdplan, then the baselines in [`Baseline::ALL`] order.
    pub rows: Vec<Row>,
}

/// The heuristic baseline (not the exhaustive oracle) that meets the requirements with the best
/// score, and pdplan's gain over it.
#[derive(Clone, Debug)]
pub struct BestBaseline {
    pub name: String,
    pub objective: f64,
    pub gain: Option<f64>,
    /// GPUs pdplan uses fewer than this baseline.
    pub gpus_saved: Option<i64>,
    /// pdplan's gain in words (with the GPUs saved).
    pub gain_text: String,
}

impl Comparison {
    pub fn pdplan(&self) -> &Row {
        &self.rows[0]
    }

    pub fn baselines(&self) -> &[Row] {
        &self.rows[1..]
    }

    /// The best heuristic baseline meeting every requirement, if any.
    pub fn best_heuristic(&self) -> Option<BestBaseline> {
        let mut best: Option<(&Row, &Score)> = None;
        for r in self.baselines() {
            if !r.baseline().is_some_and(Baseline::is_heuristic) {
                continue;
            }
            if let Some(s) = r.outcome.met()
                && best.is_none_or(|(_, b)| baselines::better(self.mode, s, b))
            {
                best = Some((r, s));
            }
        }
        best.map(|(r, s)| BestBaseline {
            name: r.name.clone(),
            objective: s.objective,
            gain: r.gain,
            gpus_saved: r.gpus_saved,
            gain_text: r.gain_text(),
        })
    }

    /// Baselines meeting every requirement that score strictly better than pdplan (should be
    /// none; each is a bug in the optimizer or the baseline). A baseline with a higher objective
    /// within pdplan's tolerance on more GPUs does not count: that is the trade the tolerance
    /// makes ([`baselines::beats`]).
    pub fn beaten_by(&self) -> Vec<&Row> {
        let Some(ours) = self.pdplan().outcome.met() else {
            return Vec::new();
        };
        self.baselines()
            .iter()
            .filter(|r| {
                r.outcome
                    .met()
                    .is_some_and(|s| baselines::beats(self.mode, self.tolerance, s, ours))
            })
            .collect()
    }
}

/// pdplan's row from its solve (a deployment or the error), then every baseline.
pub fn compare(
    name: &str,
    task: &Task,
    mode: Mode,
    pdplan: Result<&Deployment, &Error>,
    pdplan_time_s: f64,
) -> Comparison {
    let ours = match pdplan {
        Ok(d) => {
            let plan = Plan {
                prefill: d.prefill.clone(),
                decode: d.decode.clone(),
            };
            let score = baselines::score(task, mode, &plan.prefill, &plan.decode);
            Outcome::Plan {
                plan: Box::new(plan),
                score,
                misses: Vec::new(),
            }
        }
        Err(e) => Outcome::NoPlan {
            reason: format!("{}: {e}", e.kind()),
        },
    };
    let our_score = ours.met().cloned();
    let tolerance = match pdplan {
        Ok(d) if d.mode == Mode::NoLimit && d.objective == crate::spec::goal::Objective::PerGpu => {
            d.tolerance
        }
        _ => 0.0,
    };
    let mut rows = vec![Row {
        name: "pdplan".into(),
        rule: format!("ILP optimum ({})", baselines::objective_name(mode)),
        outcome: ours,
        note: String::new(),
        time_s: pdplan_time_s,
        gain: None,
        gpus_saved: None,
    }];
    for b in baselines::run_all(task, mode) {
        rows.push(row_of(mode, b, our_score.as_ref()));
    }
    Comparison {
        task: name.to_string(),
        mode,
        objective: baselines::objective_name(mode),
        tolerance,
        rows,
    }
}

fn row_of(mode: Mode, b: BaselineResult, ours: Option<&Score>) -> Row {
    let gain = match (ours, b.outcome.met()) {
        (Some(o), Some(t)) => Some(baselines::gain(mode, o, t)),
        _ => None,
    };
    let gpus_saved = match (ours, &b.outcome) {
        (Some(o), Outcome::Plan { score, .. }) => Some(score.gpus as i64 - o.gpus as i64),
        _ => None,
    };
    Row {
        name: b.baseline.name().into(),
        rule: b.rule.into(),
        outcome: b.outcome,
        note: b.note,
        time_s: b.time_s,
        gain,
        gpus_saved,
    }
}
