//! A strategy the task gives (`Parallelism Strategy`, `Current Parallelism Strategy`, `Strategy
//! Composition`), reported by `solve` and `batch` next to the optimum (issue 14 item 3): a user
//! who wrote one wants to know how it compares. Each plan gets a `given_strategy` block: the
//! degrees as read, the GPU count stated, whether it is a valid layout as written and why not,
//! the nearest valid reading with its figures, and its share of the optimum's tokens/s per GPU.
//! The evaluation is [`crate::analysis::evaluate::evaluate`], the same as `pdplan evaluate`'s.

use crate::analysis::evaluate::{self, Evaluation};
use crate::layout::Phase;
use crate::plan::given::GivenStrategyReport;
use crate::spec::resolve::Resolved;
use crate::spec::task::GivenStrategy;

/// The report of both phases (prefill, decode) next to the solved deployment `d`, or `None` when
/// the task gives no strategy.
pub fn report(r: &Resolved, d: &crate::ilp::Deployment) -> Option<[GivenStrategyReport; 2]> {
    r.task.strategy.as_ref()?;
    let phases = [Phase::Prefill, Phase::Decode];
    let e = evaluate::evaluate_against(r, &phases, &GivenStrategy::default(), Ok(evaluate::optima_of(d)));
    Some([phase_report(&e, Phase::Prefill), phase_report(&e, Phase::Decode)])
}

fn phase_report(e: &Evaluation, phase: Phase) -> GivenStrategyReport {
    let p = e.phases.iter().find(|p| p.phase == phase);
    let best = p.and_then(|p| p.results.first());
    let share = match (best, p.and_then(|p| p.optimum.as_ref())) {
        (Some(b), Some(o)) if o.tokens_per_s_per_gpu > 0.0 => {
            Some(b.tokens_per_s_per_gpu / o.tokens_per_s_per_gpu)
        }
        _ => None,
    };
    GivenStrategyReport {
        as_read: e.given.clone(),
        gpus_stated: e.given.gpus,
        valid_as_written: e.consistent,
        why_not: e.findings.clone(),
        reading: best.map(|b| b.reading.describe()),
        changes_from_given: best.map(|b| b.reading.changes.clone()).unwrap_or_default(),
        gpus: best.map(|b| b.reading.gpus()),
        tokens_per_s_per_gpu: best.map(|b| b.tokens_per_s_per_gpu),
        meets_every_requirement: best.map(|b| b.meets),
        problems: best.map(|b| b.problems.clone()).unwrap_or_default(),
        share_of_optimum: share,
    }
}

/// One summary line per phase: `given strategy (prefill): TP16 PP4 ... 128 GPUs, 1234 tokens/s
/// per GPU = 41 % of the optimum; not valid as written: ...`.
pub fn summary(reports: &[GivenStrategyReport; 2]) -> String {
    let mut s = String::new();
    for (phase, r) in [Phase::Prefill, Phase::Decode].iter().zip(reports) {
        let reading = r.reading.as_deref().unwrap_or("no valid reading");
        let figures = r
            .tokens_per_s_per_gpu
            .map_or(String::new(), |t| format!(", {t:.0} tokens/s per GPU"));
        let share = r
            .share_of_optimum
            .map_or(String::new(), |x| format!(" = {:.0} % of the optimum", 100.0 * x));
        let valid = if r.valid_as_written {
            "valid as written".to_string()
        } else {
            format!("not valid as written: {}", r.why_not.join("; "))
        };
        let meets = match r.meets_every_requirement {
            Some(false) => format!("; misses: {}", r.problems.join("; ")),
            _ => String::new(),
        };
        s.push_str(&format!(
            "given strategy ({}): {reading}{figures}{share}; {valid}{meets}\n",
            phase.name()
        ));
    }
    s
}
