//! The short human summary printed after a solve.

use crate::ilp::Deployment;
use crate::layout::Phase;
use serde_json::Value;
use std::fmt::Write;

const GIB: f64 = (1u64 << 30) as f64;

/// One block per phase: degrees, GPU formula, memory against capacity, latency and throughput
/// against the requirements.
pub fn phase_text(plan: &Value) -> String {
    let mut s = String::new();
    let st = &plan["strategy"];
    let phase = plan["phase"].as_str().unwrap_or("?");
    let _ = writeln!(
        s,
        "{phase}: TP{} PP{} SP{} attention-DP{} EP{} expert-TP{} × {} replicas, {} sequences per instance",
        st["tp"],
        st["pp"],
        st["sp"],
        st["attention_dp"],
        st["ep"],
        st["expert_tp"],
        st["replicas"],
        st["batch_per_instance"]
    );
    let _ = writeln!(
        s,
        "  GPUs: {}  ({})",
        plan["gpus"]["total"],
        plan["gpus"]["formula"].as_str().unwrap_or("")
    );
    let m = &plan["memory"]["per_gpu"];
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let _ = writeln!(
        s,
        "  memory/GPU: {:.1} GiB of {:.1} GiB (weights {:.1}, KV {:.1}, activations {:.1}, reserve {:.1})",
        f(&m["total_bytes"]) / GIB,
        f(&plan["memory"]["capacity_bytes"]) / GIB,
        f(&m["weights_bytes"]) / GIB,
        f(&m["kv_cache_bytes"]) / GIB,
        f(&m["activations_bytes"]) / GIB,
        f(&m["reserve_bytes"]) / GIB
    );
    let p = &plan["performance"];
    if p["ttft_s"].is_number() {
        let _ = writeln!(
            s,
            "  TTFT: {:.3} s at the TTFT input length, {:.3} s at the maximum length",
            f(&p["ttft_s"]),
            f(&p["ttft_at_max_length_s"])
        );
    }
    if p["tpot_s"].is_number() {
        let _ = writeln!(
            s,
            "  TPOT: {:.2} ms at the last token, {:.2} ms at the mean context",
            f(&p["tpot_s"]) * 1e3,
            f(&p["tpot_at_mean_context_s"]) * 1e3
        );
    }
    let _ = writeln!(
        s,
        "  throughput: {:.0} tokens/s, {:.0} tokens/s per GPU",
        f(&p["throughput_tokens_per_s"]),
        f(&p["throughput_tokens_per_s_per_gpu"])
    );
    if let Some(reqs) = plan["requirements"].as_object() {
        for (name, r) in reqs {
            let _ = writeln!(
                s,
                "  requirement {name}: required {} achieved {} → {}",
                r["required"],
                short(&r["achieved"]),
                if r["met"] == true { "met" } else { "NOT MET" }
            );
        }
    }
    s
}

fn short(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() != 0.0 => format!("{x:.4}"),
        _ => v.to_string(),
    }
}

/// The whole summary.
pub fn text(d: &Deployment, plans: &[Value; 2]) -> String {
    let mut s = String::new();
    for plan in plans {
        s.push_str(&phase_text(plan));
    }
    let _ = writeln!(
        s,
        "deployment: {} GPUs ({} prefill + {} decode), sustains {:.3} requests/s",
        d.total_gpus(),
        d.phase(Phase::Prefill).gpus(),
        d.phase(Phase::Decode).gpus(),
        d.request_rate_per_s
    );
    let kv = &plans[0]["deployment"]["kv_transfer"];
    if let (Some(mb), Some(t), Some(u)) = (
        kv["bytes_per_request"].as_f64(),
        kv["seconds_per_request"].as_f64(),
        kv["nic_utilization"].as_f64(),
    ) {
        let _ = writeln!(
            s,
            "KV hand-off prefill → decode: {:.1} MB per request, {:.1} ms over one prefill instance's NICs, {:.1}% of the prefill pool's NIC bandwidth",
            mb / 1e6,
            t * 1e3,
            u * 100.0
        );
    }
    if let Some((p, q)) = &d.fewest_gpus {
        let _ = writeln!(
            s,
            "fewest-GPU alternative: {} GPUs (prefill {} × {}, decode {} × {})",
            p.gpus() + q.gpus(),
            p.candidate.layout,
            p.instances,
            q.candidate.layout,
            q.instances
        );
    }
    let r = &d.solver;
    let _ = writeln!(
        s,
        "solver: {} — {}; objective {:.6}; {} candidates, {} feasible, {} in the ILP; {} solves; {:.1} ms",
        r.status,
        r.objective,
        r.objective_value,
        r.candidates,
        r.feasible,
        r.in_model,
        r.solves,
        r.solve_time_s * 1e3
    );
    s
}
