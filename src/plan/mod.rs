//! The phase plan: a pure function from a chosen deployment to the JSON of
//! `../shared/schema/plan.schema.json`, with the checks that prove it sound (STYLE.md 9).

use crate::ilp::{Deployment, PhaseChoice, SolverReport};
use crate::layout::mapping::Mapping;
use crate::layout::{Phase, kv_heads_per_gpu, validate};
use crate::spec::model_size as params;
use crate::spec::resolve::Resolved;
use crate::spec::task::Task;
use serde_json::{Value, json};

const GIB: f64 = (1u64 << 30) as f64;

/// How the phase's throughput is counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Counting {
    /// Instances share the task's batch B (no-limit mode and `evaluate`).
    SharedBatch,
    /// Every instance runs a full batch (budget and rate modes).
    FullInstances,
}

/// Phase tokens/s per GPU as counted for the mode.
pub fn phase_tokens_per_gpu(choice: &PhaseChoice, counting: Counting) -> f64 {
    match counting {
        Counting::SharedBatch => choice.candidate.cover_tokens_per_s_per_gpu,
        Counting::FullInstances => choice.candidate.figures.throughput_tokens_per_s_per_gpu,
    }
}

/// The echo of the task (every field read, normalized, with warnings).
pub fn task_echo(r: &Resolved) -> Value {
    let t = &r.task;
    let m = &t.model;
    let derived = params::total_params(m);
    json!({
        "source": r.source,
        "name": t.name,
        "model": {
            "spec": t.model,
            "derived": {
                "total_params": derived,
                "active_params_per_token": params::active_params(m),
                "declared_params": m.declared_params,
                "weight_scale_for_memory": params::weight_scale(m),
                "kv_cache_bytes_per_token": params::kv_bytes_per_token(m),
                "weights_bytes": derived * params::weight_scale(m) * m.dtype.bytes(),
            }
        },
        "hardware": t.hardware,
        "workload": {
            "spec": t.workload,
            "ttft_input_len": t.workload.ttft_input_len(),
            "decode_last_context": t.workload.decode_last_context(),
            "decode_mean_context": t.workload.decode_mean_context(),
            "kv_tokens_per_sequence": t.workload.kv_tokens_per_sequence(),
            "rate_output_len": t.workload.rate_output_len(),
        },
        "requirements": t.requirements,
        "cost_params": t.cost,
        "fields_read": r.fields,
        "warnings": r.warnings,
    })
}

/// Assumptions every plan states: the length policy, interconnect, declared-vs-derived size.
pub fn assumptions(r: &Resolved) -> Vec<String> {
    let t = &r.task;
    let wl = &t.workload;
    let mut out = r.assumptions.clone();
    out.push(format!(
        "length policy: KV cache reserved for {} tokens per sequence (every sequence may reach the maximum length); TTFT checked at input length {} ({}), also reported at the maximum {}",
        wl.kv_tokens_per_sequence(),
        wl.ttft_input_len(),
        if wl.input_len.is_some() { "declared Sequence In" } else { "no Sequence In declared: maximum length" },
        wl.max_len
    ));
    out.push(match wl.output_len {
        Some(o) => format!(
            "decode: TPOT checked at the last output token (context {}), throughput at the mean context {} (ISL + OSL/2); OSL {o}",
            wl.decode_last_context(),
            wl.decode_mean_context()
        ),
        None => format!(
            "no Sequence Out declared: decode TPOT and throughput evaluated at context {} (worst case), request rates use an output length of {} tokens (half the maximum)",
            wl.decode_last_context(),
            wl.rate_output_len()
        ),
    });
    out.extend(crate::cost::assumptions(t));
    out.push(format!(
        "interconnect: {} GPUs per node, {:.0} GB/s per GPU inside a node, {:.0} GB/s per GPU between nodes; TP groups placed on neighbouring GPUs",
        t.hardware.gpus_per_node,
        t.hardware.intra_node_bytes_per_s / 1e9,
        t.hardware.inter_node_bytes_per_s / 1e9
    ));
    let derived = params::total_params(&t.model);
    if let Some(declared) = t.model.declared_params {
        let ratio = declared / derived;
        if !(0.9..=1.1).contains(&ratio) {
            out.push(format!(
                "conflict: declared {:.3} B parameters but the layer shapes add up to {:.3} B; memory, weight reads and matmul FLOPs use the larger figure (every weight matrix scaled ×{:.3}); attention scores and KV cache follow the shapes",
                declared / 1e9,
                derived / 1e9,
                params::weight_scale(&t.model)
            ));
        }
    }
    out.push(
        "TTFT excludes queueing and the KV-cache hand-off to decode (reported under \
         deployment.kv_transfer); the cost parameters in effect are echoed in task.cost_params"
            .to_string(),
    );
    out
}

fn check(name: &str, passed: bool, detail: String) -> Value {
    json!({"name": name, "passed": passed, "detail": detail})
}

/// How to launch the layout with the engines people use (calibration.md, "How GPUs are counted").
fn launch(task: &Task, c: &PhaseChoice) -> Value {
    let l = &c.candidate.layout;
    let w = l.width();
    let model = task
        .model
        .name
        .clone()
        .or(task.model.preset.clone())
        .unwrap_or_else(|| "MODEL".into());
    let moe = task.model.is_moe();
    let vllm = if l.sp > 1 {
        "not expressible: vLLM serve has no context parallelism for prefill; use TensorRT-LLM cp_size"
            .to_string()
    } else if !moe || l.expert_tp == w || l.ep == w {
        let ep = if moe && l.ep == w && w > 1 {
            " --enable-expert-parallel"
        } else {
            ""
        };
        let dp = if l.attention_dp > 1 {
            format!(" --data-parallel-size {}", l.attention_dp)
        } else {
            String::new()
        };
        format!(
            "vllm serve {model} --tensor-parallel-size {} --pipeline-parallel-size {}{dp}{ep}  # × {} replicas",
            l.tp, l.pp, c.instances
        )
    } else {
        format!(
            "not expressible: vLLM sets EP = TP × DP; EP{} with expert-TP{} needs Megatron-Core / TensorRT-LLM (moe_ep_size, moe_tp_size)",
            l.ep, l.expert_tp
        )
    };
    let sglang = if l.sp > 1 {
        "not expressible: SGLang has no context-parallel prefill for this model class".to_string()
    } else {
        let dp = if l.attention_dp > 1 {
            format!(" --dp {} --enable-dp-attention", l.attention_dp)
        } else {
            String::new()
        };
        let ep = if moe && l.ep > 1 {
            format!(" --ep-size {}", l.ep)
        } else {
            String::new()
        };
        let pp = if l.pp > 1 {
            format!(" --pp-size {}", l.pp)
        } else {
            String::new()
        };
        format!(
            "python -m sglang.launch_server --model-path {model} --tp {w}{dp}{ep}{pp}  # × {} replicas",
            c.instances
        )
    };
    let trtllm = format!(
        "tp_size={w} pp_size={} cp_size={} moe_ep_size={} moe_tp_size={} enable_attention_dp={}",
        l.pp,
        l.sp,
        l.ep,
        l.expert_tp,
        l.attention_dp > 1
    );
    json!({"vllm": vllm, "sglang": sglang, "tensorrt_llm": trtllm})
}

/// Inputs of a phase plan besides the resolved task.
pub struct PhaseInput<'a> {
    pub phase: Phase,
    pub choice: &'a PhaseChoice,
    pub counting: Counting,
    /// The phase must hold the task's batch at once (see `ilp::formulation::holds_batch`).
    pub holds_batch: bool,
    pub solver: &'a SolverReport,
    /// Deployment-level facts (both phases), echoed in each file.
    pub deployment: Value,
}

/// Build the plan JSON of one phase.
pub fn phase_plan(r: &Resolved, input: &PhaseInput) -> Value {
    let task = &r.task;
    let c = &input.choice.candidate;
    let l = &c.layout;
    let full = crate::cost::with_max_length(task, input.phase, l, c.batch, c.figures.clone());
    let f = &full;
    let replicas = input.choice.instances;
    let mapping = Mapping::build(&task.model, l, c.batch);
    let w = l.width();
    let per_instance = l.gpus_per_instance();
    let total = per_instance * replicas;
    let per_gpu = phase_tokens_per_gpu(input.choice, input.counting);
    let phase_tokens = per_gpu * total as f64;
    let (kv_per_gpu, kv_repl) = kv_heads_per_gpu(&task.model, l.tp);

    let mut checks = Vec::new();
    for (name, passed, detail) in mapping.checks(&task.model, l, c.batch) {
        checks.push(check(&name, passed, detail));
    }
    checks.push(check(
        "gpu_count_formula",
        total == replicas * l.pp * w && w == l.tp * l.sp * l.attention_dp,
        format!("replicas × pp × W = {replicas} × {} × {w} = {total}", l.pp),
    ));
    if task.model.is_moe() {
        checks.push(check(
            "moe_width",
            l.ep * l.expert_tp == w,
            format!(
                "ep × expert_tp = {} × {} = {} = W",
                l.ep,
                l.expert_tp,
                l.ep * l.expert_tp
            ),
        ));
    }
    checks.push(check(
        "divisibility",
        validate(&task.model, input.phase, l).is_ok(),
        validate(&task.model, input.phase, l)
            .err()
            .unwrap_or_else(|| "heads, KV heads, experts, layers divide as required".into()),
    ));
    checks.push(check(
        "memory_fits",
        f.memory.fits(),
        format!(
            "{:.2} GiB of {:.2} GiB on the most loaded GPU (stage {})",
            f.memory.total_bytes / GIB,
            f.memory.capacity_bytes / GIB,
            f.memory.stage
        ),
    ));
    let held = replicas * c.batch;
    if input.holds_batch {
        checks.push(check(
            "batch_held",
            held >= task.workload.batch,
            format!(
                "{replicas} instances × {} sequences = {held} ≥ batch {}",
                c.batch, task.workload.batch
            ),
        ));
    }

    let req = &task.requirements;
    let mut requirements = serde_json::Map::new();
    match input.phase {
        Phase::Prefill => {
            if let (Some(limit), Some(t)) = (req.ttft_s, f.ttft_s) {
                requirements.insert(
                    "ttft_s".into(),
                    json!({"required": limit, "achieved": t, "met": t <= limit}),
                );
            }
        }
        Phase::Decode => {
            if let (Some(limit), Some(t)) = (req.tpot_s, f.tpot_s) {
                requirements.insert(
                    "tpot_s".into(),
                    json!({"required": limit, "achieved": t, "met": t <= limit}),
                );
            }
        }
    }
    if let Some(min) = req.throughput_per_gpu_tokens_per_s {
        requirements.insert(
            "throughput_per_gpu_tokens_per_s".into(),
            json!({"required": min, "achieved": per_gpu, "met": per_gpu >= min}),
        );
    }
    requirements.insert(
        "memory_bytes".into(),
        json!({"required": f.memory.capacity_bytes, "achieved": f.memory.total_bytes, "met": f.memory.fits()}),
    );
    if input.holds_batch {
        requirements.insert(
            "batch_sequences".into(),
            json!({"required": task.workload.batch, "achieved": held, "met": held >= task.workload.batch}),
        );
    }
    for (name, v) in &requirements {
        checks.push(check(
            &format!("requirement_{name}"),
            v["met"].as_bool().unwrap_or(false),
            format!("required {} , achieved {}", v["required"], v["achieved"]),
        ));
    }

    let experts = match &task.model.moe {
        Some(moe) => json!({
            "experts_per_layer": moe.experts,
            "experts_per_gpu": moe.experts / l.ep,
            "expert_tp_shards": l.expert_tp,
            "moe_layers": task.model.moe_layers(),
            "dense_layers": task.model.dense_ffn_layers(),
            "shared_experts": moe.shared_experts,
            "by_ep_rank": (0..l.ep).map(|r| {
                let per = moe.experts / l.ep;
                json!({"ep_rank": r, "first_expert": r * per, "last_expert": r * per + per - 1})
            }).collect::<Vec<_>>(),
        }),
        None => json!({}),
    };
    let mut plan = json!({
        "schema_version": 1,
        "phase": input.phase.name(),
        "task": task_echo(r),
        "strategy": {
            "tp": l.tp, "pp": l.pp, "sp": l.sp, "attention_dp": l.attention_dp,
            "ep": l.ep, "expert_tp": l.expert_tp, "replicas": replicas,
            "batch_per_instance": c.batch, "micro_batches": f.micro_batches,
            "request_data_parallelism": replicas * l.attention_dp,
        },
        "gpus": {
            "per_stage": w,
            "per_instance": per_instance,
            "total": total,
            "formula": format!(
                "W = tp×sp×attention_dp = {}×{}×{} = {w}{}; per instance = pp×W = {}×{w} = {per_instance}; total = replicas×pp×W = {replicas}×{}×{w} = {total}",
                l.tp, l.sp, l.attention_dp,
                if task.model.is_moe() { format!(" = ep×expert_tp = {}×{}", l.ep, l.expert_tp) } else { String::new() },
                l.pp, l.pp
            ),
        },
        "mapping": {
            "stages": mapping.stages,
            "attention": {
                "heads_per_gpu": task.model.heads / l.tp,
                "kv_heads_per_gpu": kv_per_gpu,
                "kv_replication": kv_repl,
                "sequences_per_attention_dp_rank": mapping.sequences_per_rank,
                "sequence_imbalance_max_over_mean": mapping.sequence_imbalance(),
            },
            "experts": experts,
            "gpus": mapping.gpus,
            "parts": mapping.gpus.len(),
            "distinct_gpus": mapping.distinct_gpus(),
            "replicas_gpu_offset": per_instance,
        },
        "memory": {
            "capacity_bytes": f.memory.capacity_bytes,
            "per_gpu": {
                "weights_bytes": f.memory.weights_bytes,
                "kv_cache_bytes": f.memory.kv_cache_bytes,
                "activations_bytes": f.memory.activations_bytes,
                "reserve_bytes": f.memory.reserve_bytes,
                "total_bytes": f.memory.total_bytes,
                "stage": f.memory.stage,
            },
            "headroom_bytes": f.memory.capacity_bytes - f.memory.total_bytes,
        },
        "performance": {
            "ttft_s": f.ttft_s,
            "ttft_at_max_length_s": f.ttft_at_max_length_s,
            "tpot_s": f.tpot_s,
            "tpot_at_mean_context_s": f.tpot_mean_s,
            "throughput_tokens_per_s": phase_tokens,
            "throughput_tokens_per_s_per_gpu": per_gpu,
            "instance_throughput_tokens_per_s": f.throughput_tokens_per_s,
            "instance_request_rate_per_s": f.rate_requests_per_s,
            "phase_request_rate_per_s": f.rate_requests_per_s * replicas as f64,
            "breakdown": f.breakdown,
        },
        "requirements": requirements,
        "checks": checks,
        "assumptions": assumptions(r),
        "launch": launch(task, input.choice),
        "deployment": input.deployment,
        "solver": input.solver,
    });
    // Figures that do not apply to the phase are left out rather than written as null.
    if let Some(perf) = plan["performance"].as_object_mut() {
        perf.retain(|_, v| !v.is_null());
    }
    plan
}

/// The hand-off of disaggregation: each request's KV cache goes from its prefill instance to a
/// decode instance over the NICs (DistServe, Zhong et al. OSDI'24 §4; Mooncake, Qin et al.
/// FAST'25). Reported, not optimized: the time one request's KV takes over the prefill
/// instance's NICs (all its GPUs send their shards in parallel) and the pool's NIC utilization at
/// the sustained rate. Assumes one NIC per GPU at the inter-node bandwidth and no compression.
pub fn kv_transfer(task: &Task, prefill: &PhaseChoice, rate_per_s: f64) -> Value {
    let bytes = params::kv_bytes_per_token(&task.model) * task.workload.ttft_input_len() as f64;
    let nic = task.hardware.inter_node_bytes_per_s;
    let instance_bw = nic * prefill.candidate.gpus_per_instance() as f64;
    let pool_bw = nic * prefill.gpus() as f64;
    let needed = bytes * rate_per_s;
    json!({
        "bytes_per_request": bytes,
        "seconds_per_request": bytes / instance_bw,
        "needed_bytes_per_s": needed,
        "prefill_nic_bytes_per_s": pool_bw,
        "nic_utilization": needed / pool_bw,
    })
}

/// Both phase plans of an optimized deployment.
pub fn deployment_plans(r: &Resolved, d: &Deployment) -> [Value; 2] {
    let counting = match d.mode {
        crate::ilp::formulation::Mode::NoLimit => Counting::SharedBatch,
        _ => Counting::FullInstances,
    };
    let deployment = json!({
        "mode": d.mode,
        "prefill_gpus": d.prefill.gpus(),
        "decode_gpus": d.decode.gpus(),
        "total_gpus": d.total_gpus(),
        "sustained_request_rate_per_s": d.request_rate_per_s,
        "kv_transfer": kv_transfer(&r.task, &d.prefill, d.request_rate_per_s),
        "fewest_gpus_alternative": d.fewest_gpus.as_ref().map(|(p, q)| json!({
            "prefill": {"layout": p.candidate.layout.to_string(), "batch_per_instance": p.candidate.batch, "replicas": p.instances, "gpus": p.gpus(), "tokens_per_s_per_gpu": phase_tokens_per_gpu(p, counting)},
            "decode": {"layout": q.candidate.layout.to_string(), "batch_per_instance": q.candidate.batch, "replicas": q.instances, "gpus": q.gpus(), "tokens_per_s_per_gpu": phase_tokens_per_gpu(q, counting)},
            "total_gpus": p.gpus() + q.gpus(),
        })),
    });
    Phase::BOTH.map(|p| {
        phase_plan(
            r,
            &PhaseInput {
                phase: p,
                choice: d.phase(p),
                counting,
                holds_batch: crate::ilp::formulation::holds_batch(d.mode, p),
                solver: &d.solver,
                deployment: deployment.clone(),
            },
        )
    })
}

/// Every check of a plan passed.
pub fn all_checks_pass(plan: &Value) -> bool {
    plan["checks"]
        .as_array()
        .is_some_and(|cs| cs.iter().all(|c| c["passed"] == true))
}
