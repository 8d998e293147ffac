//! Writers of a comparison with the baselines ([`crate::analysis::compare`]): the Markdown table
//! with the reasons under it, and the typed `compare.json`.

use crate::analysis::baselines::{Outcome, Score};
use crate::analysis::compare::{Comparison, Row};
use crate::ilp::PhaseChoice;
use crate::ilp::formulation::Mode;
use crate::report::markdown::{cell, header, row};
use serde::Serialize;
use std::fmt::Write;

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

/// A phase choice in a table cell: the layout, the batch per instance, the replicas.
fn choice_text(c: &PhaseChoice) -> String {
    format!("{} b{} ×{}", c.candidate.layout, c.candidate.batch, c.instances)
}

const COLUMNS: [&str; 13] = [
    "plan",
    "requirements",
    "prefill",
    "decode",
    "GPUs (P+D)",
    "prefill tok/s/GPU",
    "decode tok/s/GPU",
    "TTFT s",
    "TPOT ms",
    "req/s",
    "objective",
    "pdplan gain",
    "time s",
];

/// The cells of one row of the table.
fn cells(mode: Mode, r: &Row) -> Vec<String> {
    let mut out = vec![cell(&r.name), r.status().to_string()];
    match &r.outcome {
        Outcome::Plan { plan, score, .. } => {
            let opt = |v: Option<f64>, k: f64, d: usize| v.map_or("-".into(), |x| format!("{:.*}", d, x * k));
            out.extend([
                choice_text(&plan.prefill),
                choice_text(&plan.decode),
                format!("{} ({}+{})", score.gpus, score.prefill_gpus, score.decode_gpus),
                format!("{:.0}", score.prefill_tokens_per_s_per_gpu),
                format!("{:.0}", score.decode_tokens_per_s_per_gpu),
                opt(score.ttft_s, 1.0, 3),
                opt(score.tpot_s, 1e3, 2),
                format!("{:.3}", score.request_rate_per_s),
                objective_text(mode, score.objective),
                r.gain_text(),
            ]);
        }
        _ => out.extend(std::iter::repeat_n("-".to_string(), 10)),
    }
    out.push(format!("{:.3}", r.time_s));
    out
}

/// The rule, the choice and what each row misses, under the table.
fn reasons(c: &Comparison) -> String {
    let mut s = String::new();
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

/// The comparison as a Markdown table with the reasons and misses under it.
pub fn table(c: &Comparison) -> String {
    let mut s = format!(
        "# pdplan vs baselines: {}\n\nMode: {}. Objective: {}.\n\n{}\n",
        c.task,
        mode_text(c.mode),
        c.objective,
        header(&COLUMNS)
    );
    for r in &c.rows {
        let _ = writeln!(s, "{}", row(&cells(c.mode, r)));
    }
    s.push('\n');
    match c.best_heuristic() {
        Some(b) => {
            // A gain below 1 on fewer GPUs is the per-GPU objective's tolerance at work.
            let traded = b.gain.is_some_and(|g| g < 1.0) && b.gpus_saved.is_some_and(|d| d > 0);
            let why = if traded {
                format!(
                    " (pdplan takes the fewest GPUs within {:.0} % of each phase's best tokens/s per GPU; `solve --tolerance` sets the share)",
                    c.tolerance * 100.0
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "Best heuristic baseline: {} ({}); pdplan gain {}{why}.\n",
                b.name,
                objective_text(c.mode, b.objective),
                b.gain_text
            );
        }
        None => s.push_str("No heuristic baseline meets every requirement.\n\n"),
    }
    s.push_str(&reasons(c));
    s
}

/// One phase of a row's plan in `compare.json`.
#[derive(Clone, Debug, Serialize)]
pub struct ChoiceJson {
    pub tp: u64,
    pub pp: u64,
    pub sp: u64,
    pub attention_dp: u64,
    pub ep: u64,
    pub expert_tp: u64,
    pub batch_per_instance: u64,
    pub replicas: u64,
    pub gpus: u64,
}

impl ChoiceJson {
    fn of(c: &PhaseChoice) -> ChoiceJson {
        let l = &c.candidate.layout;
        ChoiceJson {
            tp: l.tp,
            pp: l.pp,
            sp: l.sp,
            attention_dp: l.attention_dp,
            ep: l.ep,
            expert_tp: l.expert_tp,
            batch_per_instance: c.candidate.batch,
            replicas: c.instances,
            gpus: c.gpus(),
        }
    }
}

/// One row of `compare.json`: a plan (prefill, decode, score, misses) or the reason for none.
#[derive(Clone, Debug, Serialize)]
pub struct RowJson {
    pub name: String,
    pub rule: String,
    pub status: &'static str,
    pub note: String,
    pub time_s: f64,
    pub pdplan_gain: Option<f64>,
    pub pdplan_gpus_saved: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill: Option<ChoiceJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decode: Option<ChoiceJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub misses: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The best heuristic baseline in `compare.json`.
#[derive(Clone, Debug, Serialize)]
pub struct BestJson {
    pub name: String,
    pub objective: f64,
    pub pdplan_gain: Option<f64>,
    pub pdplan_gain_text: String,
}

/// `compare.json`.
#[derive(Clone, Debug, Serialize)]
pub struct CompareJson {
    pub task: String,
    pub mode: Mode,
    pub objective: &'static str,
    pub rows: Vec<RowJson>,
    pub best_heuristic_baseline: Option<BestJson>,
    pub baselines_better_than_pdplan: Vec<String>,
}

fn row_json(r: &Row) -> RowJson {
    let mut out = RowJson {
        name: r.name.clone(),
        rule: r.rule.clone(),
        status: r.status(),
        note: r.note.clone(),
        time_s: r.time_s,
        pdplan_gain: r.gain,
        pdplan_gpus_saved: r.gpus_saved,
        prefill: None,
        decode: None,
        score: None,
        misses: None,
        reason: None,
    };
    match &r.outcome {
        Outcome::Plan { plan, score, misses } => {
            out.prefill = Some(ChoiceJson::of(&plan.prefill));
            out.decode = Some(ChoiceJson::of(&plan.decode));
            out.score = Some(score.clone());
            out.misses = Some(misses.clone());
        }
        Outcome::NoPlan { reason } | Outcome::NotApplicable { reason } => out.reason = Some(reason.clone()),
    }
    out
}

/// The comparison as the typed document of `compare.json`.
pub fn to_json(c: &Comparison) -> CompareJson {
    CompareJson {
        task: c.task.clone(),
        mode: c.mode,
        objective: c.objective,
        rows: c.rows.iter().map(row_json).collect(),
        best_heuristic_baseline: c.best_heuristic().map(|b| BestJson {
            name: b.name,
            objective: b.objective,
            pdplan_gain: b.gain,
            pdplan_gain_text: b.gain_text,
        }),
        baselines_better_than_pdplan: c.beaten_by().iter().map(|r| r.name.clone()).collect(),
    }
}
