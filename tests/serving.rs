//! Serving semantics (DESIGN.md §3, issue 10): plans hold under a request stream, evaluate agrees
//! with solve, B is a floor and not a cap, the no-limit objective does not over-spend, `total`
//! needs a GPU limit, and every plan reports the balanced prefill:decode unit.
mod common;

use pdplan::ilp::formulation::{DEFAULT_TOLERANCE, Mode, Objective};
use pdplan::layout::Phase;
use pdplan::spec::resolve::Resolved;
use serde_json::Value;

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

/// The fixture tasks under every mode: as written, with a GPU budget, with a target rate (the
/// latter two derived from the no-limit plan's scale so that they are feasible).
fn scenarios() -> Vec<(String, Resolved)> {
    let mut out = Vec::new();
    for (name, r) in common::readable_fixtures() {
        // The large no-limit fixtures are slow in a debug build; their budget and rate forms
        // are covered by the Qwen3 seed and the Llama budget fixture.
        if name.starts_with("deepseek") || name.contains("given-strategy") {
            continue;
        }
        out.push((name.clone(), r.clone()));
        if Mode::of(&r.task) == Mode::NoLimit {
            let mut b = r.clone();
            b.task.hardware.gpu_budget = Some(32);
            out.push((format!("{name} @32 GPUs"), b));
        }
        let mut t = r.clone();
        t.task.requirements.request_rate_per_s = Some(2.0);
        out.push((format!("{name} @2 req/s"), t));
    }
    out
}

/// A typed plan as JSON (what the files hold).
fn json(p: &pdplan::plan::PhasePlan) -> Value {
    serde_json::to_value(p).expect("a plan serializes")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn every_stream_plan_meets_ttft_at_its_sustained_rate() {
    let mut checked = 0;
    for (name, r) in scenarios() {
        if Mode::of(&r.task) == Mode::NoLimit {
            continue;
        }
        let Ok(s) = pdplan::solve(&r, None) else { continue };
        let plan = json(&s.plans[0]);
        let perf = &plan["performance"];
        let b = &perf["ttft_breakdown"];
        let terms = ["prefill_s", "batch_formation_s", "queueing_s", "kv_transfer_s"].map(|k| num(&b[k]));
        let ttft = num(&perf["ttft_s"]);
        assert!(
            close(ttft, terms.iter().sum(), 1e-12),
            "{name}: ttft {ttft} ≠ Σ {terms:?}"
        );
        assert!(ttft >= terms[0], "{name}");
        assert!(terms.iter().all(|t| *t >= 0.0), "{name}: {terms:?}");
        let u = num(&perf["prefill_utilization"]);
        assert!(u > 0.0 && u < 1.0, "{name}: utilization {u}");
        if let Some(limit) = r.task.requirements.ttft_s {
            assert!(
                ttft <= limit * (1.0 + 1e-9),
                "{name}: TTFT {ttft} > {limit} at its rate"
            );
        }
        // The load reported is the sustained rate shared by the prefill instances.
        let rate = num(&plan["deployment"]["sustained_request_rate_per_s"]);
        let load = num(&perf["load_per_instance_requests_per_s"]);
        assert!(
            close(load * s.deployment.prefill.instances as f64, rate, 1e-12),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} stream plans checked");
}

/// Solve's own strategy, evaluated, gives exit 0 and solve's figures (to 1e-9 relative) in
/// every phase, on every fixture × mode.
#[test]
fn evaluate_of_solves_strategy_agrees_with_solve() {
    let mut checked = 0;
    for (name, r) in scenarios() {
        let Ok(s) = pdplan::solve(&r, None) else { continue };
        let mode = s.deployment.mode;
        let mut re = r.clone();
        if mode != Mode::NoLimit {
            // The load evaluate scores prefill at: the rate the plan sustains.
            re.task.requirements.request_rate_per_s = Some(s.deployment.request_rate_per_s);
        }
        checked += common::assert_evaluate_agrees_with_solve(&name, &re, &s).len();
    }
    assert!(checked >= 8, "only {checked} phases checked");
}

/// The best sustained rate never increases with B and never drops by more than 20 % from B to
/// B + 64 unless the plan at B + 64 needs more decode GPUs (B is a floor, not a cap).
#[test]
fn rate_is_non_increasing_in_b_without_cliffs() {
    let (_, base) = common::readable_fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("llama3-70b-budget"))
        .expect("the Llama budget fixture");
    let mut last: Option<(u64, f64, u64)> = None;
    let mut solved = 0;
    for b in (64..=1024).step_by(64) {
        let mut r = base.clone();
        r.task.workload.batch = b;
        let s = match pdplan::solve(&r, None) {
            Ok(s) => s,
            // Beyond some B the budget cannot hold the floor: infeasible, never a lower rate.
            Err(e) if e.exit_code() == pdplan::error::exit::INFEASIBLE && last.is_some() => break,
            Err(e) => panic!("B = {b}: {e}"),
        };
        let (rate, decode_gpus) = (s.deployment.request_rate_per_s, s.deployment.decode.gpus());
        eprintln!("B = {b}: {rate:.3} requests/s, {decode_gpus} decode GPUs");
        if let Some((pb, prate, pgpus)) = last {
            assert!(
                rate <= prate * (1.0 + 1e-9),
                "B {pb} → {b}: rate rose {prate} → {rate}"
            );
            if rate < 0.8 * prate {
                assert!(
                    decode_gpus > pgpus,
                    "B {pb} → {b}: rate {prate} → {rate} with no more decode GPUs"
                );
            }
        }
        last = Some((b, rate, decode_gpus));
        solved += 1;
    }
    assert!(solved >= 6, "only {solved} batch sizes feasible");
}

/// Without a GPU limit the default plan never uses more than twice the GPUs of the fewest-GPU
/// plan in a phase while gaining less than the tolerance in that phase's tokens/s per GPU.
#[test]
fn no_limit_plans_do_not_overspend() {
    let mut tasks: Vec<(String, Resolved)> = common::readable_fixtures()
        .into_iter()
        .filter(|(n, r)| Mode::of(&r.task) == Mode::NoLimit && !n.starts_with("deepseek"))
        .collect();
    for batch in [4, 16, 40, 128] {
        tasks.push((
            format!("small dense B={batch}"),
            common::resolved(common::small_dense(batch, None)),
        ));
    }
    let mut checked = 0;
    for (name, r) in tasks {
        let Ok(d) = pdplan::solve(&r, None) else { continue };
        let f = pdplan::solve_with(&r, Some(Mode::NoLimit), Some(Objective::MinGpus)).expect("feasible");
        common::assert_no_overspend(&name, &d, &f);
        assert_eq!(
            num(&json(&d.plans[0])["deployment"]["tolerance"]),
            DEFAULT_TOLERANCE,
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} tasks checked");
}

#[test]
fn total_without_a_gpu_limit_is_exit_2_saying_what_to_give() {
    let task = common::fixture_tasks()
        .into_iter()
        .find(|p| p.ends_with("qwen3-235b-moe.md"))
        .expect("seed fixture");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["solve", task.to_str().unwrap(), "--objective", "total", "--out"])
        .arg(common::scratch("total-no-limit"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("budget") && err.contains("target rate"), "{err}");
}

/// The seed Qwen3 task reports its balanced unit. Its no-limit prefill (128 requests per pass)
/// serves no request stream within TTFT, so the unit runs each chosen layout at its best
/// stream-capable batch: the unit names those batches, the pools' rates at them match within
/// 10 %, no smaller unit matches, no other batch of the layout serves a stream at a higher rate,
/// and the plan's own pools report idle shares at the rate they sustain together.
#[test]
fn seed_qwen3_reports_the_balanced_unit() {
    let (_, r) = common::readable_fixtures()
        .into_iter()
        .find(|(n, _)| n == "qwen3-235b-moe.md")
        .expect("seed fixture");
    let s = pdplan::solve(&r, None).expect("feasible");
    let plan = json(&s.plans[0]);
    let bal = &plan["deployment"]["balanced"];
    let unit = &bal["unit"];
    eprintln!("seed Qwen3 balanced: {bal:#}");
    assert!(unit.is_object(), "no balanced unit: {bal:#}");
    // The rate reading of the same task (a budget no plan reaches): what a request stream sees.
    let mut stream = r.task.clone();
    stream.hardware.gpu_budget = Some(u64::MAX);
    let rate_at = |phase: Phase, batch: u64| -> Option<f64> {
        let layout = &s.deployment.phase(phase).candidate.layout;
        pdplan::candidates::check(&stream, phase, layout, batch)
            .ok()
            .map(|c| c.serving.rate_per_s)
            .filter(|r| *r > 0.0)
    };
    let (bp, bd) = (
        num(&unit["prefill_batch"]) as u64,
        num(&unit["decode_batch"]) as u64,
    );
    let per_p = rate_at(Phase::Prefill, bp).expect("the unit's prefill batch serves a stream");
    let per_d = rate_at(Phase::Decode, bd).expect("the unit's decode batch serves a stream");
    // Each layout's batch is its best under a stream.
    for b in pdplan::candidates::rate_batch_options() {
        assert!(
            rate_at(Phase::Prefill, b).is_none_or(|x| x <= per_p),
            "prefill b={b}"
        );
        assert!(
            rate_at(Phase::Decode, b).is_none_or(|x| x <= per_d),
            "decode b={b}"
        );
    }
    let (np, nd) = (num(&unit["prefill_instances"]), num(&unit["decode_instances"]));
    let (rp, rd) = (per_p * np, per_d * nd);
    assert!(rp.min(rd) >= 0.9 * rp.max(rd) * (1.0 - 1e-12), "{rp} vs {rd}");
    assert!(close(num(&unit["request_rate_per_s"]), rp.min(rd), 1e-12));
    let gp = s.deployment.prefill.candidate.gpus_per_instance() as f64;
    let gd = s.deployment.decode.candidate.gpus_per_instance() as f64;
    assert_eq!(num(&unit["total_gpus"]), np * gp + nd * gd);
    // No smaller unit matches.
    for p in 1..=np as u64 {
        for d in 1..=nd as u64 {
            if p + d < (np + nd) as u64 {
                let (a, b) = (p as f64 * per_p, d as f64 * per_d);
                assert!(a.min(b) < 0.9 * a.max(b), "{p}:{d} matches too");
            }
        }
    }
    // The plan's own instances at the unit's batches (no limit): their rate and idle shares.
    assert_eq!(num(&bal["plan_prefill_batch"]) as u64, bp);
    assert_eq!(num(&bal["plan_decode_batch"]) as u64, bd);
    let cap_p = per_p * s.deployment.prefill.instances as f64;
    let cap_d = per_d * s.deployment.decode.instances as f64;
    let rate = num(&bal["plan_request_rate_per_s"]);
    assert!(close(rate, cap_p.min(cap_d), 1e-12), "{rate} vs {cap_p}, {cap_d}");
    for (key, cap) in [
        ("plan_prefill_idle_share", cap_p),
        ("plan_decode_idle_share", cap_d),
    ] {
        assert!(
            close(num(&bal[key]), 1.0 - rate / cap, 1e-9) || num(&bal[key]) < 1e-12,
            "{key}"
        );
    }
    let idle = [
        num(&bal["plan_prefill_idle_share"]),
        num(&bal["plan_decode_idle_share"]),
    ];
    assert!(idle.iter().all(|x| (0.0..1.0).contains(x)), "{idle:?}");
    assert!(
        idle.iter().any(|x| *x < 1e-12),
        "the bottleneck pool idles: {idle:?}"
    );
}
