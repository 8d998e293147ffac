//! Tasks built by hand, independent of the parser, for optimizer and cost tests.
#![allow(dead_code)]

use pdplan::spec::task::*;
use serde_json::Value;
use std::path::PathBuf;

/// The plan schema: `fixtures/plan.schema.json`, the repository's authoritative copy
/// (`tests/plan_schema.rs` checks it against the plan types and against `../shared/schema`).
pub fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/plan.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Fail with every violation when `plan` does not validate against the schema.
pub fn assert_valid<T: serde::Serialize>(plan: &T) {
    let plan = serde_json::to_value(plan).expect("a plan serializes");
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "plan violates the schema: {errors:#?}");
}

pub fn hardware(budget: Option<u64>) -> Hardware {
    Hardware {
        preset: None,
        gpu_budget: budget,
        peak_flops_per_s: 400e12,
        mfu: 0.6,
        hbm_bytes_per_s: 1.8e12,
        bandwidth_utilization: 0.8,
        memory_bytes: 64e9,
        gpus_per_node: 8,
        intra_node_bytes_per_s: 450e9,
        inter_node_bytes_per_s: 50e9,
    }
}

/// The shipped Qwen3-235B task (shapes as the task file states them).
pub fn qwen3_task() -> Task {
    Task {
        name: None,
        hardware: hardware(None),
        model: Model {
            name: Some("Qwen3-235B".into()),
            preset: None,
            hf_config: None,
            path: None,
            declared_params: Some(235e9),
            layers: 94,
            hidden_size: 4096,
            heads: 64,
            head_dim: 64,
            kv_heads: 4,
            attention: AttentionKind::Gqa,
            mla: None,
            ffn_intermediate_size: 0,
            gated_ffn: true,
            moe: Some(Moe {
                experts: 128,
                top_k: 8,
                expert_intermediate_size: 1536,
                shared_experts: 0,
                shared_expert_intermediate_size: 1536,
                dense_layers: 0,
                routing_skew: Default::default(),
            }),
            vocab_size: 151936,
            tied_embeddings: false,
            dtype: Dtype::Fp8,
            kv_cache_dtype: Dtype::Bf16,
            weight_block_size: None,
            static_activation_scales: false,
        },
        workload: Workload {
            batch: 128,
            input_len: Some(2048),
            output_len: Some(2048),
            min_len: 128,
            max_len: 10240,
            cached_prefix_tokens: None,
            cached_prefix_share: None,
        },
        requirements: Requirements {
            ttft_s: Some(30.0),
            ..Default::default()
        },
        strategy: None,
        cost: CostParams::default(),
        engine_tp_pin: None,
        runnable_on: None,
    }
}

/// A small dense GQA model, for fast exhaustive checks.
pub fn small_dense(batch: u64, budget: Option<u64>) -> Task {
    Task {
        name: None,
        hardware: hardware(budget),
        model: Model {
            name: None,
            preset: None,
            hf_config: None,
            path: None,
            declared_params: None,
            layers: 8,
            hidden_size: 1024,
            heads: 8,
            head_dim: 128,
            kv_heads: 2,
            attention: AttentionKind::Gqa,
            mla: None,
            ffn_intermediate_size: 4096,
            gated_ffn: true,
            moe: None,
            vocab_size: 32000,
            tied_embeddings: false,
            dtype: Dtype::Bf16,
            kv_cache_dtype: Dtype::Bf16,
            weight_block_size: None,
            static_activation_scales: false,
        },
        workload: Workload {
            batch,
            input_len: Some(1024),
            output_len: Some(256),
            min_len: 128,
            max_len: 2048,
            cached_prefix_tokens: None,
            cached_prefix_share: None,
        },
        requirements: Requirements {
            ttft_s: Some(5.0),
            tpot_s: Some(0.05),
            ..Default::default()
        },
        strategy: None,
        cost: CostParams::default(),
        engine_tp_pin: None,
        runnable_on: None,
    }
}

pub fn resolved(task: Task) -> pdplan::spec::resolve::Resolved {
    pdplan::spec::resolve::Resolved {
        task,
        source: "<built in test>".into(),
        fields: vec![],
        assumptions: vec![],
        warnings: vec![],
    }
}

/// Every task file shipped in `fixtures/tasks/`, sorted (README excluded).
pub fn fixture_tasks() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/tasks exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md" || e == "json"))
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    v.sort();
    v
}

/// Fixture tasks that read and resolve, with their file names.
pub fn readable_fixtures() -> Vec<(String, pdplan::spec::resolve::Resolved)> {
    fixture_tasks()
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_string_lossy().into_owned();
            pdplan::read_task(&p).ok().map(|r| (name, r))
        })
        .collect()
}

/// A unique scratch folder under the system temp dir.
pub fn scratch(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "pdplan-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A solved phase's strategy as `evaluate` flags (degrees, replicas, batch, GPUs).
pub fn strategy_flags(c: &pdplan::ilp::PhaseChoice) -> GivenStrategy {
    let l = &c.candidate.layout;
    GivenStrategy {
        gpus: Some(c.gpus()),
        tp: Some(l.tp),
        pp: Some(l.pp),
        sp: Some(l.sp),
        dp: None,
        attention_dp: Some(l.attention_dp),
        ep: Some(l.ep),
        expert_tp: Some(l.expert_tp),
        replicas: Some(c.instances),
        batch: Some(c.candidate.batch),
    }
}

/// Issue 10's over-spend rule: a no-limit phase with more than twice the GPUs of the `min-gpus`
/// plan gains at least the tolerance in tokens/s per GPU.
pub fn assert_no_overspend(name: &str, d: &pdplan::Solution, min_gpus: &pdplan::Solution) {
    use pdplan::ilp::formulation::DEFAULT_TOLERANCE;
    for p in pdplan::layout::Phase::BOTH {
        let (a, b) = (d.deployment.phase(p), min_gpus.deployment.phase(p));
        if a.gpus() > 2 * b.gpus() {
            let gain = a.candidate.cover_tokens_per_s_per_gpu / b.candidate.cover_tokens_per_s_per_gpu - 1.0;
            assert!(
                gain >= DEFAULT_TOLERANCE,
                "{name} {p}: {} GPUs vs {} for a gain of {gain}",
                a.gpus(),
                b.gpus()
            );
        }
    }
}

/// Solve's own strategy of every phase evaluated on `re` (the task, at the load evaluate scores
/// prefill at): exit 0, the same TTFT, TPOT, tokens/s per GPU, prefill utilization and memory per
/// GPU to 1e-9 relative. The (solve, evaluate) plan JSONs per phase, for further checks.
pub fn assert_evaluate_agrees_with_solve(
    name: &str,
    re: &pdplan::spec::resolve::Resolved,
    s: &pdplan::Solution,
) -> Vec<(Value, Value)> {
    use pdplan::layout::Phase;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300);
    let mut out = Vec::new();
    for (i, phase) in Phase::BOTH.into_iter().enumerate() {
        let flags = strategy_flags(s.deployment.phase(phase));
        let e = pdplan::analysis::evaluate::evaluate(re, &[phase], &flags);
        let res = &e.phases[0].results[0];
        assert_eq!(
            e.exit_code, 0,
            "{name} {phase}: {:?} {:?}",
            e.findings, res.problems
        );
        let pa = serde_json::to_value(&s.plans[i]).unwrap();
        let pb = serde_json::to_value(&res.plan).unwrap();
        let (a, b) = (&pa["performance"], &pb["performance"]);
        for key in [
            "ttft_s",
            "tpot_s",
            "throughput_tokens_per_s_per_gpu",
            "prefill_utilization",
        ] {
            match (a[key].as_f64(), b[key].as_f64()) {
                (None, None) => {}
                (Some(x), Some(y)) => assert!(close(x, y), "{name} {phase} {key}: solve {x}, evaluate {y}"),
                (x, y) => panic!("{name} {phase} {key}: solve {x:?}, evaluate {y:?}"),
            }
        }
        let mem = |p: &Value| p["memory"]["per_gpu"]["total_bytes"].as_f64().unwrap();
        assert!(close(mem(&pa), mem(&pb)), "{name} {phase}: memory per GPU");
        out.push((pa, pb));
    }
    out
}

/// A one-stage MoE layout: attention TP `tp` × attention-DP `adp`, experts over `ep` GPUs and
/// split by expert-TP over the rest of the stage.
pub fn moe(tp: u64, adp: u64, ep: u64) -> pdplan::layout::Layout {
    pdplan::layout::Layout {
        tp,
        pp: 1,
        sp: 1,
        attention_dp: adp,
        ep,
        expert_tp: tp * adp / ep,
    }
}

/// Mixtral-8x7B on 32 H100s: the task whose optimum over layouts some engine runs is a pair no
/// one engine runs (tests/optimizer.rs `engine_any_plans_a_pair_one_engine_runs`).
pub fn mixtral_on_32_h100() -> pdplan::spec::task::Task {
    let path = scratch("engine-any").join("mixtral.json");
    std::fs::write(
        &path,
        r#"{"hardware": {"preset": "H100-SXM", "gpu_budget": 32}, "model": {"preset": "Mixtral-8x7B"},
            "workload": {"batch": 16, "input_len": 3000, "output_len": 700, "max_len": 4096},
            "requirements": {"ttft_s": 2.0, "tpot_s": 0.05}}"#,
    )
    .unwrap();
    pdplan::read_task(&path).unwrap().task
}
