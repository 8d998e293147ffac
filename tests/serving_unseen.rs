//! Issue 10's must-shows on task files written for it and tuned for nothing
//! (`fixtures/tasks/serving/*.md`: budget and target-rate scenarios for dense, GQA and MoE models
//! on H100 and H200; the bench and golden tests do not walk that folder). On every file: TTFT at
//! the sustained rate meets the requirement (with its breakdown), `ttft_s ≥ prefill_s`, the
//! prefill utilization is below 1; the sustained rate is non-increasing in B and drops by more
//! than 20 % from B to B + 64 only where the plans show that holding B + 64 sequences takes more
//! decode GPUs; `evaluate` of solve's strategy agrees with solve; the no-limit form of the task
//! does not over-spend GPUs against `min-gpus`; `total` without a limit is refused (exit 2); every
//! plan names its balanced unit, whose pools match within 10 %.
mod common;

use pdplan::Solution;
use pdplan::ilp::formulation::{Mode, Objective};
use pdplan::layout::Phase;
use pdplan::spec::resolve::Resolved;
use serde_json::Value;
use std::sync::OnceLock;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn json(p: &pdplan::plan::PhasePlan) -> Value {
    serde_json::to_value(p).expect("a plan serializes")
}

/// Every task of `fixtures/tasks/serving/`, read and resolved, with its solution (solved once
/// for all tests of this file).
fn unseen() -> &'static [(String, Resolved, Solution)] {
    static ALL: OnceLock<Vec<(String, Resolved, Solution)>> = OnceLock::new();
    ALL.get_or_init(|| {
        // qwen3-32b-h200-budget.md has 18 GPUs (was 16): Qwen3-32B's FP8 checkpoint is
        // block-scaled, and TensorRT-LLM's block-FP8 GEMM on H200 takes 1.6x longer at M = 65
        // than at 64 (aiconfigurator-core 0.12 gemm_perf.parquet, fp8_block), so 1000 sequences
        // on 15 decode GPUs (67 each) miss the 25 ms TPOT (30 ms; AIConfigurator: 22.9 ms at b67
        // and mean context 1536 vs 15.8 ms at b64); 16 decode GPUs (62.5 each) need 17 in all.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks/serving");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures/tasks/serving exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        paths.sort();
        let all: Vec<_> = paths
            .iter()
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                let r = pdplan::read_task(p).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_ne!(
                    Mode::of(&r.task),
                    Mode::NoLimit,
                    "{name}: a budget or a target rate"
                );
                let s = pdplan::solve(&r, None).unwrap_or_else(|e| panic!("{name}: {e}"));
                (name, r, s)
            })
            .collect();
        assert!(all.len() >= 6, "only {} unseen tasks", all.len());
        all
    })
}

#[test]
fn ttft_holds_at_the_sustained_rate_with_its_breakdown() {
    for (name, r, s) in unseen() {
        let plan = json(&s.plans[0]);
        let perf = &plan["performance"];
        let b = &perf["ttft_breakdown"];
        let terms = ["prefill_s", "batch_formation_s", "queueing_s", "kv_transfer_s"].map(|k| num(&b[k]));
        let ttft = num(&perf["ttft_s"]);
        eprintln!(
            "{name}: TTFT {ttft:.4} s = {terms:?}, {:.3} req/s",
            s.deployment.request_rate_per_s
        );
        assert!(terms.iter().all(|t| *t >= 0.0), "{name}: {terms:?}");
        assert!(
            close(ttft, terms.iter().sum(), 1e-12),
            "{name}: {ttft} ≠ Σ {terms:?}"
        );
        assert!(ttft >= terms[0], "{name}: ttft_s {ttft} < prefill_s {}", terms[0]);
        let limit = r.task.requirements.ttft_s.expect("every unseen task has a TTFT");
        assert!(ttft <= limit * (1.0 + 1e-9), "{name}: TTFT {ttft} > {limit}");
        let u = num(&perf["prefill_utilization"]);
        assert!(u > 0.0 && u < 1.0, "{name}: utilization {u}");
        // The breakdown is the one at the sustained rate: load × instances = rate.
        let load = num(&perf["load_per_instance_requests_per_s"]);
        let rate = num(&plan["deployment"]["sustained_request_rate_per_s"]);
        assert!(
            close(load * s.deployment.prefill.instances as f64, rate, 1e-12),
            "{name}"
        );
        if let Mode::Rate { rate: target } = s.deployment.mode {
            assert!(
                rate >= target * (1.0 - 1e-9),
                "{name}: sustains {rate} < {target}"
            );
        }
    }
}

#[test]
fn evaluate_of_solves_strategy_gives_solves_figures() {
    for (name, r, s) in unseen() {
        let mut re = r.clone();
        // The load evaluate scores prefill at: the rate the plan sustains.
        re.task.requirements.request_rate_per_s = Some(s.deployment.request_rate_per_s);
        for (i, (pa, pb)) in common::assert_evaluate_agrees_with_solve(name, &re, s)
            .iter()
            .enumerate()
        {
            let phase = Phase::BOTH[i];
            for key in ["prefill_s", "batch_formation_s", "queueing_s", "kv_transfer_s"] {
                let (x, y) = (
                    &pa["performance"]["ttft_breakdown"][key],
                    &pb["performance"]["ttft_breakdown"][key],
                );
                assert!(x.is_null() == y.is_null(), "{name} {phase} {key}");
                if !x.is_null() {
                    assert!(close(num(x), num(y), 1e-9), "{name} {phase} {key}: {x} vs {y}");
                }
            }
        }
    }
}

/// One point of the B sweep: sustained rate, decode GPUs, the sequences the decode pool holds and
/// whether the floor B set the decode instance count.
struct Point {
    b: u64,
    rate: f64,
    decode_gpus: u64,
    held: u64,
    binds: bool,
    /// Fewest decode GPUs serving the plan's rate, the floor aside.
    for_rate: u64,
}

/// The plan at B, or the infeasibility message.
fn point(r: &Resolved, b: u64) -> Result<Point, String> {
    let mut r = r.clone();
    r.task.workload.batch = b;
    let s = match pdplan::solve(&r, None) {
        Ok(s) => s,
        Err(e) if e.exit_code() == pdplan::error::exit::INFEASIBLE => return Err(e.to_string()),
        Err(e) => panic!("B = {b}: {e}"),
    };
    let floor = &json(&s.plans[1])["deployment"]["concurrency_floor"];
    Ok(Point {
        b,
        rate: s.deployment.request_rate_per_s,
        decode_gpus: s.deployment.decode.gpus(),
        held: num(&floor["held_sequences"]) as u64,
        binds: floor["binds"].as_bool().expect("binds"),
        for_rate: num(&floor["decode_gpus_for_rate"]) as u64,
    })
}

/// Under a GPU budget (the task's, or the GPUs of its target-rate plan, and twice that) the best
/// rate never rises with B; a drop of more than 20 % from B to B + 64 is allowed only where the
/// plans show why: the plan at B holds fewer than B + 64 sequences, the plan at B + 64 has more
/// decode GPUs and its floor binds. Where B + 64 is infeasible, the reason given is the GPUs that
/// holding B + 64 sequences needs.
#[test]
fn rate_is_non_increasing_in_b_and_cliffs_are_decode_gpus() {
    let (mut cliffs, mut steps) = (0, 0);
    for (name, r, s) in unseen() {
        let own = r.task.hardware.gpu_budget.unwrap_or(s.deployment.total_gpus());
        for gpus in [own, 2 * own] {
            let mut budget = r.clone();
            budget.task.requirements.request_rate_per_s = None;
            budget.task.hardware.gpu_budget = Some(gpus);
            let b0 = r.task.workload.batch;
            let mut last: Option<Point> = None;
            for b in (0..4).map(|k| b0 + 64 * k) {
                let p = match point(&budget, b) {
                    Ok(p) => p,
                    Err(e) => {
                        // Beyond some B the budget cannot hold the floor: infeasible, saying so.
                        assert!(last.is_some(), "{name} @{gpus}: B = {b} infeasible: {e}");
                        assert!(
                            e.contains(&format!("hold {b} concurrent sequences")),
                            "{name} @{gpus} B = {b}: {e}"
                        );
                        break;
                    }
                };
                eprintln!(
                    "{name} @{gpus} GPUs, B = {b}: {:.3} req/s, {} decode GPUs, holds {}",
                    p.rate, p.decode_gpus, p.held
                );
                if let Some(q) = &last {
                    steps += 1;
                    assert!(
                        p.rate <= q.rate * (1.0 + 1e-9),
                        "{name}: B {} → {b}: {} → {}",
                        q.b,
                        q.rate,
                        p.rate
                    );
                    if p.rate < 0.8 * q.rate {
                        cliffs += 1;
                        assert!(
                            q.held < b
                                && p.decode_gpus > q.decode_gpus
                                && p.binds
                                && p.for_rate < p.decode_gpus,
                            "{name} @{gpus}: B {} → {b}: rate {} → {} without the floor forcing decode GPUs ({} held, {} → {} GPUs, binds {})",
                            q.b,
                            q.rate,
                            p.rate,
                            q.held,
                            q.decode_gpus,
                            p.decode_gpus,
                            p.binds
                        );
                    }
                }
                last = Some(p);
            }
        }
    }
    eprintln!(
        "{steps} steps of B + 64, {cliffs} drops over 20 %, each with more decode GPUs forced by the floor"
    );
    assert!(steps >= 10, "only {steps} steps compared");
}

/// The no-limit form of each task: the default plan never uses more than twice the GPUs of the
/// `min-gpus` plan in a phase while gaining less than the tolerance in that phase's tokens/s per
/// GPU; `--objective total` without a limit is refused with exit 2.
#[test]
fn no_limit_forms_do_not_overspend_and_total_is_refused() {
    for (name, r, _) in unseen() {
        let mut nl = r.clone();
        nl.task.requirements.request_rate_per_s = None;
        nl.task.hardware.gpu_budget = None;
        let d = pdplan::solve(&nl, None).unwrap_or_else(|e| panic!("{name} no limit: {e}"));
        let f = pdplan::solve_with(&nl, None, Some(Objective::MinGpus)).expect("min-gpus");
        for p in Phase::BOTH {
            let (a, b) = (d.deployment.phase(p), f.deployment.phase(p));
            eprintln!("{name} no limit {p}: {} GPUs (min-gpus {})", a.gpus(), b.gpus());
        }
        common::assert_no_overspend(name, &d, &f);
        let total = pdplan::solve_with(&nl, None, Some(Objective::Total));
        let code = total.as_ref().err().map(|e| e.exit_code());
        assert_eq!(
            code,
            Some(pdplan::error::exit::BAD_INPUT),
            "{name}: total without a limit"
        );
        let msg = total.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            msg.contains("budget") && msg.contains("target rate"),
            "{name}: {msg}"
        );
    }
}

/// Every plan names a balanced unit (the unseen tasks all serve a stream): its batches, and pool
/// rates at those batches within 10 %.
#[test]
fn every_unseen_plan_has_a_balanced_unit() {
    for (name, r, s) in unseen() {
        let plan = json(&s.plans[0]);
        let unit = &plan["deployment"]["balanced"]["unit"];
        assert!(unit.is_object(), "{name}: {:#}", plan["deployment"]["balanced"]);
        let rate = |phase: Phase, batch: &Value, n: &Value| -> f64 {
            let layout = &s.deployment.phase(phase).candidate.layout;
            let c = pdplan::candidates::check(&r.task, phase, layout, num(batch) as u64)
                .unwrap_or_else(|f| panic!("{name} {phase}: the unit's batch fails {:?}", f.limit));
            c.serving.rate_per_s * num(n)
        };
        let rp = rate(Phase::Prefill, &unit["prefill_batch"], &unit["prefill_instances"]);
        let rd = rate(Phase::Decode, &unit["decode_batch"], &unit["decode_instances"]);
        assert!(
            rp.min(rd) >= 0.9 * rp.max(rd) * (1.0 - 1e-12),
            "{name}: {rp} vs {rd}"
        );
        assert!(
            close(num(&unit["request_rate_per_s"]), rp.min(rd), 1e-12),
            "{name}"
        );
    }
}
