//! The enumeration driver (`candidates::driver`): its result does not depend on the number of
//! threads, reusing per-rank figures across batches gives exactly the per-candidate evaluation,
//! the per-layout Pareto fronts merge into the front of all candidates, and large GPU budgets are
//! solved to a proven optimum equal to exhaustive enumeration.
mod common;

use pdplan::candidates::prune::Front;
use pdplan::candidates::{self, PhaseCandidates};
use pdplan::ilp::formulation::{Mode, Objective};
use pdplan::ilp::report::{OracleCheck, SolverStatus};
use pdplan::ilp::{self, oracle};
use pdplan::layout::Phase;
use pdplan::spec::task::Task;

/// Small and medium tasks: a dense model (no limit and a budget), the budget fixture, the MoE
/// fixture with a throughput requirement.
fn tasks() -> Vec<(String, Task)> {
    let mut v = vec![
        ("small dense".to_string(), common::small_dense(64, None)),
        (
            "small dense, 64 GPUs".to_string(),
            common::small_dense(64, Some(64)),
        ),
    ];
    for (name, r) in common::readable_fixtures() {
        if name.contains("budget") || name.contains("moe-10b") {
            v.push((name, r.task));
        }
    }
    assert!(
        v.len() >= 4,
        "fixtures missing: {v:?}",
        v = v.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    v
}

fn assert_same(name: &str, a: &[PhaseCandidates; 2], b: &[PhaseCandidates; 2]) {
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.phase, y.phase);
        assert_eq!(x.layouts, y.layouts, "{name} {}", x.phase);
        assert_eq!(x.evaluated, y.evaluated, "{name} {}", x.phase);
        assert_eq!(x.feasible_seen, y.feasible_seen, "{name} {}", x.phase);
        assert_eq!(x.rejected, y.rejected, "{name} {}", x.phase);
        assert!(
            x.feasible == y.feasible,
            "{name} {}: feasible lists differ",
            x.phase
        );
    }
}

#[test]
fn result_does_not_depend_on_threads() {
    let mut with_feasible = 0;
    for (name, t) in tasks() {
        let one = candidates::generate_both_on(&t, None, 1);
        with_feasible += one.iter().any(|pc| !pc.feasible.is_empty()) as usize;
        assert_same(&name, &one, &candidates::generate_both_on(&t, None, 3));
        let mode = Mode::of(&t);
        let prune = Some((mode, Objective::default_for(mode)));
        let one = candidates::generate_both_on(&t, prune, 1);
        assert_same(&name, &one, &candidates::generate_both_on(&t, prune, 2));
    }
    // Infeasible tasks check the rejection tallies; most must have candidates to compare.
    assert!(
        with_feasible >= 3,
        "{with_feasible} tasks with feasible candidates"
    );
}

#[test]
fn reuse_across_batches_equals_per_candidate_evaluation() {
    for (name, t) in tasks() {
        for pc in candidates::generate_both(&t) {
            // Every layout × batch is either feasible or rejected (the rest of a layout after a
            // memory failure is not evaluated).
            let rejected: u64 = pc.rejected.values().map(|r| r.count).sum();
            assert_eq!(pc.feasible_seen + rejected, pc.evaluated, "{name}");
            assert_eq!(pc.feasible_seen, pc.feasible.len() as u64, "{name}");
            for c in &pc.feasible {
                let alone = candidates::check(&t, c.phase, &c.layout, c.batch)
                    .unwrap_or_else(|f| panic!("{name} {}: feasible in the driver, {f:?} alone", c.id()));
                assert!(
                    alone == *c,
                    "{name} {}: figures differ from a fresh evaluation",
                    c.id()
                );
                let figures = pdplan::cost::evaluate(&t, c.phase, &c.layout, c.batch);
                assert!(
                    figures == c.figures,
                    "{name} {}: differs from cost::evaluate",
                    c.id()
                );
            }
        }
    }
}

#[test]
fn local_fronts_merge_into_the_front_of_all_candidates() {
    for (name, t) in tasks() {
        let mode = Mode::of(&t);
        for objective in [Objective::PerGpu, Objective::MinGpus, Objective::Total] {
            if objective.check(mode).is_err() {
                continue;
            }
            let all = candidates::generate_both(&t);
            let pruned = candidates::generate_both_for(&t, mode, objective);
            for (a, p) in all.into_iter().zip(&pruned) {
                let min = t.requirements.throughput_per_gpu(p.phase == Phase::Prefill);
                let mut front = Front::new(mode, objective, min);
                a.feasible.into_iter().for_each(|c| front.offer(c));
                let expected = front.into_candidates();
                assert!(!expected.is_empty() || p.feasible.is_empty(), "{name}");
                assert!(
                    expected == p.feasible,
                    "{name} {objective:?} {}: fronts differ",
                    p.phase
                );
            }
        }
    }
}

#[test]
fn large_budgets_are_proven_optimal_and_equal_the_oracle() {
    let (_, r) = common::readable_fixtures()
        .into_iter()
        .find(|(n, _)| n.contains("llama3-70b-budget"))
        .expect("budget fixture");
    for gpus in [1024, 4096] {
        let mut t = r.task.clone();
        t.hardware.gpu_budget = Some(gpus);
        t.requirements.request_rate_per_s = None;
        let mode = Mode::Budget { gpus };
        let d = ilp::optimize_with(&t, mode, Objective::Total).expect("feasible");
        assert_eq!(d.solver.status, SolverStatus::Optimal, "{gpus} GPUs");
        assert!(
            matches!(d.solver.oracle_check, OracleCheck::Equal { .. }),
            "{gpus}: {}",
            d.solver.oracle_check
        );
        let [p, q] = &d.candidates;
        let best = oracle::exhaustive_with(mode, Objective::Total, p, q).expect("oracle finds a plan");
        let rel = (d.solver.primary_value - best.objective).abs() / best.objective;
        assert!(
            rel <= 1e-6,
            "{gpus}: ILP {} vs oracle {}",
            d.solver.primary_value,
            best.objective
        );
        assert_eq!(d.total_gpus(), best.gpus, "{gpus} GPUs");
        assert!(d.total_gpus() <= gpus);
    }
}

/// A latency miss does not end a layout's scan: with the block-scaled FP8 GEMM (a step at the
/// 128-row tile) TPOT is not monotone in the batch, and every (layout, batch) that passes on its
/// own is among the enumeration's feasible candidates. The task shows the case it guards: some
/// layout misses TPOT at a batch and meets it at a larger one.
#[test]
fn latency_misses_do_not_end_a_layout_scan() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks/aic/qwen3-32b-fp8-h100.md");
    let mut t = pdplan::read_task(&path).expect("fixture reads").task;
    // Every layout, runnable or not: the scan itself is under test.
    t.cost.engine = pdplan::spec::task::Engine::Unrestricted;
    // Short sequences: the GEMMs, not attention, set the decode step.
    (
        t.workload.input_len,
        t.workload.output_len,
        t.workload.min_len,
        t.workload.max_len,
    ) = (Some(128), Some(128), 128, 256);
    let limits = pdplan::layout::Limits::for_budget(t.hardware.gpu_budget);
    let batches = candidates::batches_for(&t);
    // The TPOT limit between the two sides of the first inversion found (a decode layout whose
    // TPOT at a batch exceeds its TPOT at a larger batch).
    let tpot =
        |l: &pdplan::layout::Layout, b: u64| pdplan::cost::evaluate(&t, Phase::Decode, l, b).tpot_s.unwrap();
    let inversion = pdplan::layout::enumerate(&t.model, Phase::Decode, &limits)
        .into_iter()
        .find_map(|l| {
            let ok: Vec<u64> = batches.iter().copied().filter(|&b| b >= l.attention_dp).collect();
            ok.windows(2)
                .find(|w| tpot(&l, w[1]) < tpot(&l, w[0]))
                .map(|w| (tpot(&l, w[1]) + tpot(&l, w[0])) / 2.0)
        })
        .expect("the block-FP8 tile step makes TPOT fall somewhere between two batches");
    t.requirements.tpot_s = Some(inversion);
    let mut recovered = 0;
    for phase in Phase::BOTH {
        let pc = candidates::generate(&t, phase);
        let kept: std::collections::HashSet<_> = pc.feasible.iter().map(|c| (c.layout, c.batch)).collect();
        for l in pdplan::layout::enumerate(&t.model, phase, &limits) {
            let mut missed_latency = false;
            for &b in &batches {
                match candidates::check(&t, phase, &l, b) {
                    Ok(_) => {
                        assert!(
                            kept.contains(&(l, b)),
                            "{phase} {l:?} b{b}: feasible alone, not enumerated"
                        );
                        recovered += missed_latency as usize;
                    }
                    Err(f) => missed_latency |= f.limit == candidates::Limit::Tpot,
                }
            }
        }
    }
    assert!(
        recovered > 0,
        "no layout meets TPOT at a batch above one that misses it"
    );
}

/// The enumeration's per-rank scalars (`cost::rank_after`: stage times alone, reused across
/// sequences per rank and from a layer cache shared by the layouts of one shape) equal the
/// scalars of the plan's full figures (`cost::rank_with`, a fresh evaluation with breakdowns),
/// bit for bit, on every layout of every test task and sequences per rank 1 … 40 and a few
/// large counts.
#[test]
fn lean_rank_scalars_equal_the_full_figures() {
    let mut ranks = 0;
    for (name, t) in tasks() {
        let limits = pdplan::layout::Limits::for_budget(t.hardware.gpu_budget);
        let mut cache = pdplan::cost::time::LayerCache::default();
        for phase in Phase::BOTH {
            for l in pdplan::layout::enumerate(&t.model, phase, &limits) {
                let c = pdplan::cost::LayoutCoeffs::new(&t, &l, phase);
                let mut prev = None;
                for seqs in (1..=40).chain([64, 127, 128, 1000]) {
                    let lean = pdplan::cost::rank_after(&c, seqs, prev.as_ref(), &mut cache);
                    let full = pdplan::cost::rank_with(&c, seqs);
                    assert_eq!(lean, full.scalars, "{name} {phase} {l:?} seqs {seqs}");
                    assert_eq!(lean.memory_bytes, full.memory.total_bytes);
                    prev = Some(lean);
                    ranks += 1;
                }
            }
        }
    }
    assert!(ranks > 10_000, "{ranks} ranks compared");
}

/// One scan kept by attention-TP class (`candidates::scan_by` with `ClassBy::AttentionTp`, the
/// pair-rule search's) gives, for each TP's branch (that TP's layouts and the wide-EP ones), exactly the candidates,
/// counts and rejection examples of a scan of the branch's layouts alone (a task pinned to the
/// TP under SGLang's rules), and over every class those of the plain scan.
#[test]
fn tp_classes_merge_into_each_branchs_own_scan() {
    let mut branches = 0;
    let mut fixtures: Vec<(String, Task)> = common::readable_fixtures()
        .into_iter()
        .filter(|(n, _)| n.contains("budget") || n.contains("mtp") || n.contains("qwen3-235b-moe"))
        .map(|(n, r)| (n, r.task))
        .collect();
    fixtures.extend(tasks());
    for (name, mut t) in fixtures {
        t.cost.engine = pdplan::spec::task::Engine::Sglang;
        let mode = Mode::of(&t);
        let objective = Objective::default_for(mode);
        let scanned = candidates::scan_by(&t, (mode, objective), candidates::ClassBy::AttentionTp);
        assert_same(
            &name,
            &scanned.candidates(|_| true),
            &candidates::generate_both_for(&t, mode, objective),
        );
        for tp in [1, 2, 4, 8] {
            let mut pinned = t.clone();
            pinned.engine_tp_pin = Some(tp);
            let alone = candidates::generate_both_for(&pinned, mode, objective);
            let merged = scanned.candidates(|c| c == tp || c == candidates::WIDE_EP_CLASS);
            assert_same(&format!("{name} tp {tp}"), &merged, &alone);
            branches += alone.iter().all(|pc| !pc.feasible.is_empty()) as usize;
        }
    }
    assert!(
        branches >= 8,
        "{branches} branches with candidates in both phases"
    );
}

/// One scan kept by engine-branch class (`ClassBy::EngineBranch`, what `Engine: any` searches)
/// gives, for each engine, exactly the candidates, counts and rejection examples of a scan of the
/// layouts that engine runs (`Task::runnable_on`), and for SGLang's TP branches those of a scan
/// pinned to the TP; over every class those of the plain `any` scan.
#[test]
fn engine_branch_classes_merge_into_each_engines_own_scan() {
    use pdplan::spec::task::Engine;
    let mut fixtures: Vec<(String, Task)> = common::readable_fixtures()
        .into_iter()
        .filter(|(n, _)| n.contains("budget") || n.contains("mtp") || n.contains("rate"))
        .map(|(n, r)| (n, r.task))
        .collect();
    fixtures.push(("mixtral-32-h100".into(), common::mixtral_on_32_h100()));
    let mut compared = 0;
    for (name, mut t) in fixtures {
        t.cost.engine = Engine::Any;
        let mode = Mode::of(&t);
        let objective = Objective::default_for(mode);
        let scanned = candidates::scan_by(&t, (mode, objective), candidates::ClassBy::EngineBranch);
        assert_same(
            &name,
            &scanned.candidates(|_| true),
            &candidates::generate_both_for(&t, mode, objective),
        );
        for (bit, e) in Engine::RUNNABLE.into_iter().enumerate() {
            let mut alone_task = t.clone();
            alone_task.runnable_on = Some(e);
            let member = |c: u64| pdplan::layout::capability::class_runs_on(c, bit);
            let alone = candidates::generate_both_for(&alone_task, mode, objective);
            assert_same(&format!("{name} {e:?}"), &scanned.candidates(member), &alone);
            compared += 1;
            if e != Engine::Sglang {
                continue;
            }
            for tp in [1, 2, 4, 8] {
                let mut pinned = alone_task.clone();
                pinned.engine_tp_pin = Some(tp);
                let tp_of = pdplan::layout::capability::class_tp;
                let keep = |c: u64| member(c) && (tp_of(c) == tp || tp_of(c) == candidates::WIDE_EP_CLASS);
                let alone = candidates::generate_both_for(&pinned, mode, objective);
                assert_same(
                    &format!("{name} sglang tp {tp}"),
                    &scanned.candidates(keep),
                    &alone,
                );
            }
        }
    }
    assert!(compared >= 12, "{compared} engine scans compared");
}
