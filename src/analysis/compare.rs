//! pdplan against the heuristic baselines ([`crate::analysis::baselines`]): one row per plan, scored the
//! same way, with the factor by which pdplan is better in the objective of the task's mode.
//! The writers are pure ([`table`], [`to_json`]); the CLI chooses where they go.

use crate::analysis::baselines::{self, Baseline, BaselineResult, Outcome, Plan, Score};
use crate::error::Error;
use crate::ilp::Deployment;
use crate::ilp::formulation::Mode;
use crate::spec::task::Task;
use serde_json::{Value, json};
use std::fmt::Write;

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
    /// none; each is a bug in the optimizer or the baseline).
    pub fn beaten_by(&self) -> Vec<&Row> {
        let Some(ours) = self.pdplan().outcome.met() else {
            return Vec::new();
        };
        self.baselines()
            .iter()
            .filter(|r| {
                r.outcome
                    .met()
                    .is_some_and(|s| baselines::better(self.mode, s, ours))
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

fn layout_short(c: &crate::ilp::PhaseChoice) -> String {
    let l = &c.candidate.layout;
    format!(
        "TP{} PP{} SP{} DP{} EP{} ETP{} b{} ×{}",
        l.tp, l.pp, l.sp, l.attention_dp, l.ep, l.expert_tp, c.candidate.batch, c.instances
    )
}

/// The mode in words: `no GPU limit`, `GPU budget 64`, `target rate 10 req/s`.
pub fn mode_text(mode: Mode) -> String {
    match mode {
        Mode::NoLimit => "no GPU limit".into(),
        Mode::Budget { gpus } => format!("GPU budget {gpus}"),
        Mode::Rate { rate } => format!("target rate {rate} req/s"),
    }
}

/// The objective value in the mode's unit.
pub fn objective_text(mode: Mode, v: f64) -> String {
    match mode {
        Mode::NoLimit => format!("{v:.0} tok/s/GPU"),
        Mode::Budget { .. } => format!("{v:.3} req/s"),
        Mode::Rate { .. } => format!("{v:.0} GPUs"),
    }
}

/// The comparison as a Markdown table with the reasons and misses under it.
pub fn table(c: &Comparison) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# pdplan vs baselines: {}\n", c.task);
    let _ = writeln!(s, "Mode: {}. Objective: {}.\n", mode_text(c.mode), c.objective);
    let _ = writeln!(
        s,
        "| plan | requirements | prefill | decode | GPUs (P+D) | prefill tok/s/GPU | decode tok/s/GPU | TTFT s | TPOT ms | req/s | objective | pdplan gain | time s |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &c.rows {
        match &r.outcome {
            Outcome::Plan { plan, score, .. } => {
                let opt =
                    |v: Option<f64>, k: f64, d: usize| v.map_or("-".into(), |x| format!("{:.*}", d, x * k));
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} ({}+{}) | {:.0} | {:.0} | {} | {} | {:.3} | {} | {} | {:.3} |",
                    r.name,
                    r.status(),
                    layout_short(&plan.prefill),
                    layout_short(&plan.decode),
                    score.gpus,
                    score.prefill_gpus,
                    score.decode_gpus,
                    score.prefill_tokens_per_s_per_gpu,
                    score.decode_tokens_per_s_per_gpu,
                    opt(score.ttft_s, 1.0, 3),
                    opt(score.tpot_s, 1e3, 2),
                    score.request_rate_per_s,
                    objective_text(c.mode, score.objective),
                    r.gain_text(),
                    r.time_s
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "| {} | {} | - | - | - | - | - | - | - | - | - | - | {:.3} |",
                    r.name,
                    r.status(),
                    r.time_s
                );
            }
        }
    }
    let _ = writeln!(s);
    if let Some(b) = c.best_heuristic() {
        let _ = writeln!(
            s,
            "Best heuristic baseline: {} ({}); pdplan gain {}.\n",
            b.name,
            objective_text(c.mode, b.objective),
            b.gain_text
        );
    } else {
        let _ = writeln!(s, "No heuristic baseline meets every requirement.\n");
    }
    for r in &c.rows {
        let _ = writeln!(s, "- **{}**: {}.", r.name, r.rule);
        if !r.note.is_empty() {
            let _ = writeln!(s, "  Chose: {}.", r.note);
        }
        match &r.outcome {
            Outcome::Plan { misses, .. } => {
                for m in misses {
                    let _ = writeln!(s, "  Misses: {m}");
                }
            }
            Outcome::NoPlan { reason } | Outcome::NotApplicable { reason } => {
                let _ = writeln!(s, "  {}: {reason}", r.status());
            }
        }
    }
    s
}

fn choice_json(c: &crate::ilp::PhaseChoice) -> Value {
    let l = &c.candidate.layout;
    json!({
        "tp": l.tp, "pp": l.pp, "sp": l.sp, "attention_dp": l.attention_dp, "ep": l.ep,
        "expert_tp": l.expert_tp, "batch_per_instance": c.candidate.batch, "replicas": c.instances,
        "gpus": c.gpus(),
    })
}

/// The comparison as JSON (`compare.json`).
pub fn to_json(c: &Comparison) -> Value {
    let rows: Vec<Value> = c
        .rows
        .iter()
        .map(|r| {
            let mut v = json!({
                "name": r.name,
                "rule": r.rule,
                "status": r.status(),
                "note": r.note,
                "time_s": r.time_s,
                "pdplan_gain": r.gain,
                "pdplan_gpus_saved": r.gpus_saved,
            });
            match &r.outcome {
                Outcome::Plan { plan, score, misses } => {
                    v["prefill"] = choice_json(&plan.prefill);
                    v["decode"] = choice_json(&plan.decode);
                    v["score"] = serde_json::to_value(score).unwrap_or(Value::Null);
                    v["misses"] = json!(misses);
                }
                Outcome::NoPlan { reason } | Outcome::NotApplicable { reason } => {
                    v["reason"] = json!(reason);
                }
            }
            v
        })
        .collect();
    let best = c
        .best_heuristic()
        .map(|b| json!({"name": b.name, "objective": b.objective, "pdplan_gain": b.gain, "pdplan_gain_text": b.gain_text}));
    json!({
        "task": c.task,
        "mode": c.mode,
        "objective": c.objective,
        "rows": rows,
        "best_heuristic_baseline": best,
        "baselines_better_than_pdplan": c.beaten_by().iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
    })
}
