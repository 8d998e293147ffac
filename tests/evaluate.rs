//! `pdplan evaluate`: the given-strategy fixture is explained, its plans validate, the exit code
//! separates "valid and meets every requirement" from "invalid or misses one".
mod common;

use common::assert_valid;

use pdplan::analysis::evaluate::{self, Evaluation};
use pdplan::error::exit;
use pdplan::layout::Phase;
use pdplan::spec::task::GivenStrategy;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn given_strategy() -> pdplan::spec::resolve::Resolved {
    pdplan::read_task(&root().join("fixtures/tasks/qwen3-235b-given-strategy.md")).unwrap()
}

fn run(flags: GivenStrategy) -> Evaluation {
    evaluate::evaluate(&given_strategy(), &Phase::BOTH, &flags)
}

#[test]
fn given_strategy_is_explained_as_inconsistent() {
    let e = run(GivenStrategy::default());
    assert!(!e.consistent);
    assert_eq!(e.exit_code, exit::INFEASIBLE);
    let text = e.findings.join("\n");
    assert!(text.contains("16 × 4 × 4 = 256 GPUs"), "{text}");
    assert!(text.contains("W = 32"), "{text}");
    assert!(text.contains("TP16 × attention-DP2"), "{text}");
    assert!(text.contains("TP8 × attention-DP4"), "{text}");
    assert!(text.contains("4 KV heads") && text.contains("×4"), "{text}");
    for p in &e.phases {
        assert!(!p.results.is_empty());
        // Every reading uses the stated 128 GPUs and changes exactly one stated degree.
        for r in &p.results {
            assert_eq!(r.reading.gpus(), 128);
            assert_eq!(r.reading.changes.len(), 1, "{:?}", r.reading);
            assert!(r.figures.memory.fits());
            assert_valid(&r.plan);
            assert_eq!(r.plan.solver.status, pdplan::ilp::SolverStatus::Evaluated);
            assert_eq!(r.plan.solver.status.to_string(), "evaluated");
            assert!(!r.plan.evaluation.as_ref().unwrap().consistent_as_written);
        }
        let layouts: Vec<_> = p.results.iter().map(|r| r.reading.layout).collect();
        let has = |tp, adp| {
            layouts
                .iter()
                .any(|l| l.tp == tp && l.attention_dp == adp && l.pp == 4 && l.ep == 32)
        };
        assert!(has(16, 2) && has(8, 4), "{layouts:?}");
        assert!(p.optimum.is_some());
    }
    let s = pdplan::report::evaluate::summary(&e);
    assert!(
        s.contains("TTFT") && s.contains("of pdplan's optimum") && s.contains("exit 3"),
        "{s}"
    );
}

#[test]
fn a_consistent_strategy_that_meets_every_requirement_exits_zero() {
    let e = run(GivenStrategy {
        tp: Some(8),
        dp: Some(4),
        ..Default::default()
    });
    assert!(e.consistent, "{:#?}", e.findings);
    assert_eq!(e.exit_code, exit::OK, "{}", pdplan::report::evaluate::summary(&e));
    for p in &e.phases {
        assert!(p.results[0].reading.changes.is_empty());
        assert!(p.results[0].meets);
        assert!(pdplan::plan::all_checks_pass(&p.results[0].plan));
    }
}

/// Sequence parallelism is a prefill degree: stated for a decode-only evaluation it is reported
/// and the strategy is not "as written" (exit 3); with prefill evaluated too it applies there.
#[test]
fn sequence_parallelism_stated_for_decode_alone_is_not_taken_as_written() {
    let g = GivenStrategy {
        tp: Some(8),
        sp: Some(2),
        dp: Some(4),
        ..Default::default()
    };
    let e = evaluate::evaluate(&given_strategy(), &[Phase::Decode], &g);
    assert!(!e.consistent);
    assert_eq!(e.exit_code, exit::INFEASIBLE);
    assert!(
        e.findings.iter().any(|f| f.contains("prefill only")),
        "{:?}",
        e.findings
    );
    let both = run(g);
    assert!(
        !both.findings.iter().any(|f| f.contains("prefill only")),
        "{:?}",
        both.findings
    );
}

#[test]
fn a_consistent_strategy_that_misses_a_requirement_exits_three() {
    let mut r = given_strategy();
    r.task.requirements.ttft_s = Some(0.01);
    let e = evaluate::evaluate(
        &r,
        &[Phase::Prefill],
        &GivenStrategy {
            tp: Some(8),
            dp: Some(4),
            ..Default::default()
        },
    );
    assert!(e.consistent);
    assert_eq!(e.exit_code, exit::INFEASIBLE);
    let res = &e.phases[0].results[0];
    assert!(!res.meets);
    assert!(
        res.problems.iter().any(|p| p.contains("TTFT")),
        "{:?}",
        res.problems
    );
    assert_valid(&res.plan);
}

#[test]
fn flags_override_the_section() {
    let task = given_strategy();
    let merged = evaluate::merge(
        task.task.strategy.as_ref(),
        &GivenStrategy {
            tp: Some(4),
            ..Default::default()
        },
    );
    assert_eq!(merged.tp, Some(4));
    assert_eq!(merged.pp, Some(4));
    assert_eq!(merged.ep, Some(32));
    assert_eq!(merged.gpus, Some(128));
}
