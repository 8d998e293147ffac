//! The ILP optimum equals exhaustive enumeration over the same (unpruned) candidates — on every
//! fixture, for every objective of its mode, and on random small tasks (proptest) — and the
//! optimizer's answers behave: more GPUs never lower the optimum, a looser TTFT never makes a
//! feasible task infeasible, the same task gives the same bytes.
mod common;

use pdplan::candidates;
use pdplan::ilp::formulation::{Mode, Objective};
use pdplan::ilp::{self, oracle};
use pdplan::layout::Phase;
use pdplan::spec::task::*;
use proptest::prelude::*;

const OBJECTIVES: [Objective; 3] = [Objective::PerGpu, Objective::MinGpus, Objective::Total];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// The ILP (pruned candidates) against the oracle (every feasible candidate). Returns whether
/// the task was feasible.
fn assert_ilp_equals_oracle(task: &Task, mode: Mode, objective: Objective) -> Result<bool, String> {
    let p = candidates::generate(task, Phase::Prefill).feasible;
    let q = candidates::generate(task, Phase::Decode).feasible;
    let best = oracle::exhaustive_runnable(task, mode, objective, &p, &q);
    let d = ilp::optimize_with(task, mode, objective);
    match (d, best) {
        (Err(e), None) if e.exit_code() == pdplan::error::exit::INFEASIBLE => Ok(false),
        (Ok(d), Some(best)) => {
            let r = &d.solver;
            if !close(r.primary_value, best.objective) || !close(r.secondary_value, best.secondary) {
                return Err(format!(
                    "{mode:?} {objective:?}: ILP ({}, {}) vs oracle ({}, {})",
                    r.primary_value, r.secondary_value, best.objective, best.secondary
                ));
            }
            // The values the plan claims are those of the chosen candidates.
            let gpus = d.total_gpus();
            if gpus != best.gpus {
                return Err(format!(
                    "{mode:?} {objective:?}: ILP uses {gpus} GPUs, oracle {}",
                    best.gpus
                ));
            }
            Ok(true)
        }
        (d, best) => Err(format!(
            "{mode:?} {objective:?}: ILP {:?} but oracle {:?}",
            d.map(|d| d.solver.primary_value).map_err(|e| e.to_string()),
            best
        )),
    }
}

#[test]
fn every_fixture_equals_oracle_for_every_objective() {
    let mut solved = 0;
    for (name, r) in common::readable_fixtures() {
        let mode = Mode::of(&r.task);
        for objective in OBJECTIVES {
            if objective.check(mode).is_err() {
                continue;
            }
            match assert_ilp_equals_oracle(&r.task, mode, objective) {
                Ok(true) => solved += 1,
                Ok(false) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
    // deepseek and two Qwen3 tasks with two objectives each (`total` needs a GPU limit), the
    // llama budget task with three.
    assert!(solved >= 9, "only {solved} fixture/objective pairs solved");
}

#[test]
fn hand_built_tasks_equal_oracle() {
    for batch in [1, 3, 8, 16, 40] {
        for o in [Objective::PerGpu, Objective::MinGpus] {
            assert!(assert_ilp_equals_oracle(&common::small_dense(batch, None), Mode::NoLimit, o).unwrap());
        }
    }
    for (batch, budget) in [(4, 8), (8, 12), (16, 16), (2, 6)] {
        let t = common::small_dense(batch, Some(budget));
        for o in OBJECTIVES {
            assert!(assert_ilp_equals_oracle(&t, Mode::Budget { gpus: budget }, o).unwrap());
        }
    }
    for (batch, rate) in [(4, 2.0), (8, 10.0), (16, 25.0)] {
        let mut t = common::small_dense(batch, None);
        t.requirements.request_rate_per_s = Some(rate);
        for o in [Objective::PerGpu, Objective::MinGpus] {
            assert!(assert_ilp_equals_oracle(&t, Mode::Rate { rate }, o).unwrap());
        }
    }
}

/// The frontier keeps the engine's pair rules: under `any` (the Mixtral task) and under SGLang's
/// same-TP rule, every point is a pair the engine runs and equals a budget solve at its budget
/// (before, points broke both rules and, pruned across engines, fell below the solve).
#[test]
fn frontier_points_are_runnable_and_equal_budget_solves() {
    use pdplan::layout::capability::runs_pair;
    let mut sglang = common::mixtral_on_32_h100();
    sglang.cost.engine = Engine::Sglang;
    for task in [common::mixtral_on_32_h100(), sglang] {
        let f = ilp::frontier::frontier(&task, 40).expect("feasible");
        for p in f.points.iter().step_by(3) {
            let mut tb = task.clone();
            tb.hardware.gpu_budget = Some(p.budget_gpus);
            let d = ilp::optimize_with(&tb, Mode::Budget { gpus: p.budget_gpus }, Objective::Total).unwrap();
            let engine = task.cost.engine;
            assert!(
                close(d.request_rate_per_s, p.request_rate_per_s),
                "{engine:?} budget {}: solve {} vs frontier {}",
                p.budget_gpus,
                d.request_rate_per_s,
                p.request_rate_per_s
            );
            assert!(runs_pair(
                &task,
                &d.prefill.candidate.layout,
                &d.decode.candidate.layout
            ));
            // The frontier's own pair (its layouts as written) is one the engine runs too.
            let (pl, dl) = (parse_layout(&p.prefill.layout), parse_layout(&p.decode.layout));
            assert!(
                runs_pair(&task, &pl, &dl),
                "{engine:?} budget {}: {pl} / {dl}",
                p.budget_gpus
            );
        }
    }
}

/// A layout from its text (`TP1 PP1 SP1 attention-DP2 EP1 expert-TP2`).
fn parse_layout(text: &str) -> pdplan::layout::Layout {
    let n: Vec<u64> = text
        .split_whitespace()
        .map(|w| {
            w.rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let l = pdplan::layout::Layout {
        tp: n[0],
        pp: n[1],
        sp: n[2],
        attention_dp: n[3],
        ep: n[4],
        expert_tp: n[5],
    };
    assert_eq!(l.to_string(), text);
    l
}

/// `Engine: any` (the default) plans what one engine runs. On a task whose best layouts (each
/// run by some engine) form a pair no one engine runs — Mixtral on 32 H100s: a decode of
/// attention-DP 4 × TP 4, EP 8 × expert-TP 2 (not TensorRT-LLM: attention-DP needs TP 1; not
/// vLLM: experts by expert or inside, not both) beside a prefill of TP 1, which SGLang's same-TP
/// rule excludes — the plan is the best of the engines'
/// own searches, equal to the oracle over the pairs one engine runs and to the best of the three
/// searches run apart, and the engine it names runs both phases.
#[test]
fn engine_any_plans_a_pair_one_engine_runs() {
    use pdplan::layout::capability::{Context, engine_running_pair};
    // Two-batch overlap forced on the expert-parallel layouts: without it (`auto` may also run
    // them plain) the best pair of this task is one engine's already.
    let mut task = common::mixtral_on_32_h100();
    task.cost.batch_overlap = pdplan::spec::task::BatchOverlap::TwoBatch;
    let mode = Mode::of(&task);
    let objective = Objective::default_for(mode);
    let d = ilp::optimize_with(&task, mode, objective).unwrap();
    let why = d.solver.engine_search.clone().unwrap_or_default();
    assert!(
        why.starts_with("engine any:"),
        "this task must need the per-engine search: {why}"
    );
    let (p, q) = (&d.prefill.candidate.layout, &d.decode.candidate.layout);
    let engine = engine_running_pair(p, q, Context::of(&task)).expect("one engine runs the plan");
    assert!(
        why.contains(&format!("one engine runs, {}", engine.name())),
        "{why}"
    );
    assert!(assert_ilp_equals_oracle(&task, mode, objective).unwrap());
    // The best of the engines' searches, with the task's own cost model.
    let mut values: Vec<(f64, f64)> = Vec::new();
    for e in Engine::RUNNABLE {
        let mut t = task.clone();
        t.runnable_on = Some(e);
        if let Ok(x) = ilp::optimize_with(&t, mode, objective) {
            values.push((x.solver.primary_value, x.solver.secondary_value));
        }
    }
    let best = values.iter().copied().fold(f64::NEG_INFINITY, |m, v| m.max(v.0));
    assert!(
        close(d.solver.primary_value, best),
        "{} vs {values:?}",
        d.solver.primary_value
    );
    // The unrestricted search is a relaxation: never worse (on this task it ties since the
    // dense GEMMs are read on their shape class; it was strictly better before).
    let mut free = task.clone();
    free.cost.engine = Engine::Unrestricted;
    let f = ilp::optimize_with(&free, mode, objective).unwrap();
    assert!(f.solver.primary_value >= d.solver.primary_value - 1e-9);
}

/// `--objective total` without a GPU limit would grow the deployment without bound: refused
/// with exit 2 and a message saying what to give.
#[test]
fn total_objective_is_refused_without_a_gpu_limit() {
    let t = common::small_dense(4, None);
    let e = ilp::optimize_with(&t, Mode::NoLimit, Objective::Total).unwrap_err();
    assert_eq!(e.exit_code(), pdplan::error::exit::BAD_INPUT, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("budget") && msg.contains("target rate"), "{msg}");
    assert!(oracle::exhaustive_with(Mode::NoLimit, Objective::Total, &[], &[]).is_none());
}

#[test]
fn total_objective_is_refused_in_rate_mode() {
    let mut t = common::small_dense(4, None);
    t.requirements.request_rate_per_s = Some(1.0);
    let e = ilp::optimize_with(&t, Mode::Rate { rate: 1.0 }, Objective::Total).unwrap_err();
    assert_eq!(e.exit_code(), pdplan::error::exit::BAD_INPUT, "{e}");
}

/// A random small task: dense or MoE, small enough that exhaustive enumeration stays fast in a
/// debug build (few heads, layers, experts; batch ≤ 24; budget ≤ 16).
fn small_task() -> impl Strategy<Value = (Task, Mode)> {
    (
        (
            1u64..=4,
            prop::sample::select(vec![256u64, 512, 1024]),
            prop::sample::select(vec![4u64, 8]),
        ),
        (
            prop::sample::select(vec![1u64, 2, 4]),
            prop::sample::select(vec![64u64, 128]),
        ),
        prop::option::weighted(0.4, (prop::sample::select(vec![4u64, 8]), 1u64..=2)),
        (1u64..=24, prop::sample::select(vec![8e9, 16e9, 40e9, 80e9])),
        (
            prop::option::of(0.05f64..2.0),
            prop::option::of(0.005f64..0.05),
            prop::option::weighted(0.15, 100.0f64..3000.0),
        ),
        (0u8..3, 1u64..=16, 0.5f64..40.0),
    )
        .prop_map(
            |(
                (layers, hidden, heads),
                (kv, head_dim),
                moe,
                (batch, mem),
                (ttft, tpot, tput),
                (m, budget, rate),
            )| {
                let kv_heads = kv.min(heads);
                let mut t = common::small_dense(batch, None);
                t.model.layers = layers;
                t.model.hidden_size = hidden;
                t.model.heads = heads;
                t.model.kv_heads = kv_heads;
                t.model.head_dim = head_dim;
                t.model.ffn_intermediate_size = hidden * 4;
                t.model.vocab_size = 8000;
                if let Some((experts, top_k)) = moe {
                    t.model.moe = Some(Moe {
                        experts,
                        top_k,
                        expert_intermediate_size: hidden,
                        shared_experts: 0,
                        shared_expert_intermediate_size: hidden,
                        dense_layers: 0,
                        routing_skew: Default::default(),
                    });
                    t.model.ffn_intermediate_size = 0;
                }
                t.hardware.memory_bytes = mem;
                t.workload.input_len = Some(512);
                t.workload.output_len = Some(128);
                t.workload.max_len = 1024;
                t.requirements.ttft_s = ttft;
                t.requirements.tpot_s = tpot;
                t.requirements.throughput_per_gpu_tokens_per_s = tput;
                let mode = match m {
                    0 => Mode::NoLimit,
                    1 => {
                        t.hardware.gpu_budget = Some(budget);
                        Mode::Budget { gpus: budget }
                    }
                    _ => {
                        // A rate task is enumerated under a budget too, to keep the candidates few.
                        t.hardware.gpu_budget = Some(16);
                        t.requirements.request_rate_per_s = Some(rate);
                        Mode::Rate { rate }
                    }
                };
                (t, mode)
            },
        )
}

/// ILP optimum = exhaustive optimum (primary, secondary, GPUs) on 300 random small tasks
/// (a fixed proptest seed, so the run is reproducible); counts how many were feasible.
#[test]
fn random_small_tasks_equal_oracle() {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let cell = std::cell::RefCell::new((0u32, 0u32, std::collections::BTreeMap::<String, u32>::new()));
    runner
        .run(&(small_task(), 0usize..3), |((task, mode), o)| {
            let objective = if Objective::Total.check(mode).is_err() && o == 2 {
                Objective::MinGpus
            } else {
                OBJECTIVES[o]
            };
            let ok = assert_ilp_equals_oracle(&task, mode, objective).map_err(TestCaseError::fail)?;
            let mut c = cell.borrow_mut();
            if ok {
                c.0 += 1;
                let key = format!(
                    "{}/{}",
                    format!("{mode:?}").split([' ', '{']).next().unwrap_or(""),
                    objective.name()
                );
                *c.2.entry(key).or_insert(0) += 1;
            } else {
                c.1 += 1;
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (feasible, infeasible, by_mode) = cell.into_inner();
    eprintln!(
        "random tasks: {feasible} feasible (ILP = oracle), {infeasible} infeasible (both agree); {by_mode:?}"
    );
    assert!(feasible + infeasible >= 300);
    assert!(feasible >= 200, "only {feasible} random tasks were feasible");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// More GPUs never lower the best sustained rate (the budget-b candidates are a subset of the
    /// budget-(b+k) ones and a plan within b fits in b+k).
    #[test]
    fn more_gpus_never_lower_the_optimum((task, _) in small_task(), b in 1u64..=12, extra in 1u64..=8) {
        let mut t = task.clone();
        t.requirements.request_rate_per_s = None;
        t.hardware.gpu_budget = Some(b);
        let small = ilp::optimize_with(&t, Mode::Budget { gpus: b }, Objective::Total);
        t.hardware.gpu_budget = Some(b + extra);
        let big = ilp::optimize_with(&t, Mode::Budget { gpus: b + extra }, Objective::Total);
        if let Ok(s) = small {
            let big = big.map_err(|e| TestCaseError::fail(format!("budget {} feasible, {} not: {e}", b, b + extra)))?;
            prop_assert!(big.solver.primary_value >= s.solver.primary_value * (1.0 - 1e-9),
                "budget {b}: {} > budget {}: {}", s.solver.primary_value, b + extra, big.solver.primary_value);
        }
    }

    /// A looser TTFT never makes a feasible task infeasible, nor its optimum worse.
    #[test]
    fn looser_ttft_never_hurts((task, mode) in small_task(), factor in 1.0f64..10.0) {
        prop_assume!(task.requirements.ttft_s.is_some());
        let objective = Objective::default_for(mode);
        let tight = ilp::optimize_with(&task, mode, objective);
        let mut loose = task.clone();
        loose.requirements.ttft_s = task.requirements.ttft_s.map(|t| t * factor);
        let loose = ilp::optimize_with(&loose, mode, objective);
        if let Ok(t) = tight {
            let l = loose.map_err(|e| TestCaseError::fail(format!("looser TTFT infeasible: {e}")))?;
            let (a, b) = (t.solver.primary_value, l.solver.primary_value);
            let ok = match pdplan::ilp::formulation::sense(objective.criteria().0) {
                pdplan::ilp::model::Sense::Maximize => b >= a * (1.0 - 1e-9),
                pdplan::ilp::model::Sense::Minimize => b <= a * (1.0 + 1e-9),
            };
            prop_assert!(ok, "{mode:?} {objective:?}: tight {a}, loose {b}");
        }
    }
}

/// Same task, same bytes: plans, LP export and frontier are deterministic.
#[test]
fn output_is_deterministic() {
    let tasks: Vec<_> = common::readable_fixtures()
        .into_iter()
        .filter(|(n, _)| n.contains("llama") || n.contains("qwen3-235b-moe"))
        .collect();
    assert!(!tasks.is_empty());
    for (name, r) in tasks {
        let once = pdplan::solve(&r, None).expect(&name);
        let twice = pdplan::solve(&r, None).expect(&name);
        for i in 0..2 {
            // Timings differ run to run; everything else must not.
            let strip = |p: &pdplan::plan::PhasePlan| {
                let mut p = p.clone();
                p.solver.solve_time_s = 0.0;
                pdplan::report::json::to_json(&p).unwrap()
            };
            assert_eq!(strip(&once.plans[i]), strip(&twice.plans[i]), "{name}");
        }
        assert_eq!(
            once.deployment.primary_model.to_lp_string(),
            twice.deployment.primary_model.to_lp_string()
        );
        assert_eq!(
            once.deployment.model.to_lp_string(),
            twice.deployment.model.to_lp_string()
        );
    }
}

#[test]
fn frontier_is_monotone_and_starts_at_the_fewest_gpus() {
    let t = common::small_dense(8, None);
    let f = ilp::frontier::frontier(&t, 24).expect("feasible");
    let fewest = ilp::optimize_with(&t, Mode::NoLimit, Objective::MinGpus).expect("feasible");
    assert_eq!(f.smallest_feasible_gpus, fewest.total_gpus());
    assert_eq!(f.points.len() as u64, 24 - f.smallest_feasible_gpus + 1);
    for w in f.points.windows(2) {
        assert!(w[1].request_rate_per_s >= w[0].request_rate_per_s * (1.0 - 1e-9));
        assert!(w[1].gpus_used <= w[1].budget_gpus);
    }
    // Each point equals a budget-mode solve at that budget.
    for p in f.points.iter().step_by(5) {
        let mut tb = t.clone();
        tb.hardware.gpu_budget = Some(p.budget_gpus);
        let d = ilp::optimize_with(&tb, Mode::Budget { gpus: p.budget_gpus }, Objective::Total).unwrap();
        assert!(
            close(d.request_rate_per_s, p.request_rate_per_s),
            "budget {}",
            p.budget_gpus
        );
    }
}

/// A target rate with a GPU budget: the budget is a limit, never silently ignored.
#[test]
fn rate_with_budget_respects_the_budget() {
    let mut t = common::small_dense(8, None);
    t.requirements.request_rate_per_s = Some(10.0);
    let mode = Mode::Rate { rate: 10.0 };
    let free = ilp::optimize(&t, mode).expect("feasible without a budget");
    let need = free.total_gpus();
    t.hardware.gpu_budget = Some(need);
    assert_eq!(
        ilp::optimize(&t, mode)
            .expect("feasible at the minimum")
            .total_gpus(),
        need
    );
    t.hardware.gpu_budget = Some(need - 1);
    let Err(err) = ilp::optimize(&t, mode) else {
        panic!("one GPU below the minimum must be infeasible")
    };
    assert_eq!(err.exit_code(), pdplan::error::exit::INFEASIBLE);
    assert!(
        err.to_string().contains(&format!("at least {need} GPUs")),
        "{err}"
    );
}
