//! The short human summary printed after a solve (pure: typed plans in, text out).

use crate::ilp::Deployment;
use crate::layout::Phase;
use crate::plan::{DeploymentFacts, PhasePlan};
use std::fmt::Write;

use crate::params::GIB;

/// One block per phase: degrees, GPU formula, memory against capacity, latency and throughput
/// against the requirements.
pub fn phase_text(plan: &PhasePlan) -> String {
    let mut s = layout_text(plan);
    s.push_str(&latency_text(plan));
    s.push_str(&overlap_text(plan));
    s.push_str(&throughput_text(plan));
    s
}

/// The MoE all-to-all overlap the plan runs (and its launch sets), when it runs one.
fn overlap_text(plan: &PhasePlan) -> String {
    let b = &plan.performance.breakdown;
    let name = if b.two_batch_overlap {
        "two-batch overlap (two micro-batches take turns on compute and links)"
    } else if b.single_batch_overlap {
        "single-batch overlap (dispatch beside the shared experts, decode combine beside the down GEMM)"
    } else {
        return String::new();
    };
    format!(
        "  MoE all-to-all: {name}, under `Batch overlap: {}`\n",
        plan.task.cost_params.batch_overlap.name()
    )
}

/// Degrees, GPU formula, memory against capacity.
fn layout_text(plan: &PhasePlan) -> String {
    let mut s = String::new();
    let st = &plan.strategy;
    let _ = writeln!(
        s,
        "{}: TP{} PP{} SP{} attention-DP{} EP{} expert-TP{} × {} replicas, {} sequences per instance",
        plan.phase,
        st.tp,
        st.pp,
        st.sp,
        st.attention_dp,
        st.ep,
        st.expert_tp,
        st.replicas,
        st.batch_per_instance
    );
    let _ = writeln!(s, "  GPUs: {}  ({})", plan.gpus.total, plan.gpus.formula);
    let m = &plan.memory.per_gpu;
    let _ = writeln!(
        s,
        "  memory/GPU: {:.1} GiB of {:.1} GiB (weights {:.1}, KV {:.1}, activations {:.1}, reserve {:.1})",
        m.total_bytes / GIB,
        plan.memory.capacity_bytes / GIB,
        m.weights_bytes / GIB,
        m.kv_cache_bytes / GIB,
        m.activations_bytes / GIB,
        m.reserve_bytes / GIB
    );
    s
}

/// TTFT (with its breakdown under a request stream) or TPOT.
fn latency_text(plan: &PhasePlan) -> String {
    let mut s = String::new();
    let p = &plan.performance;
    if let Some(t) = p.ttft_s {
        // Under a request stream TTFT includes batch formation and queueing; the figure at the
        // maximum length is the batch's prefill alone, so it is named as such.
        let (now, max) = if p.load_per_instance_requests_per_s.is_some() {
            ("under load", "prefill alone")
        } else {
            ("", "")
        };
        let _ = writeln!(
            s,
            "  TTFT: {t:.3} s at the TTFT input length{}, {}{:.3} s at the maximum length",
            if now.is_empty() {
                String::new()
            } else {
                format!(" {now}")
            },
            if max.is_empty() {
                String::new()
            } else {
                format!("{max} ")
            },
            p.ttft_at_max_length_s.unwrap_or(f64::NAN)
        );
    }
    if let (Some(b), Some(u), Some(load)) = (
        &p.ttft_breakdown,
        p.prefill_utilization,
        p.load_per_instance_requests_per_s,
    ) {
        let _ = writeln!(
            s,
            "  TTFT at {load:.3} requests/s per instance = prefill {:.3} + batch formation {:.3} + queueing {:.3} + KV hand-off {:.3} s (M/D/1, utilization {:.0}%)",
            b.prefill_s,
            b.batch_formation_s,
            b.queueing_s,
            b.kv_transfer_s,
            u * 100.0
        );
    }
    if let Some(t) = p.tpot_s {
        let _ = writeln!(
            s,
            "  TPOT: {:.2} ms at the last token, {:.2} ms at the mean context{}",
            t * 1e3,
            p.tpot_at_mean_context_s.unwrap_or(f64::NAN) * 1e3,
            speculative_text(plan)
        );
    }
    s
}

/// `; speculative decoding: …` when the plan costs it (TPOT is then a step over its tokens).
fn speculative_text(plan: &PhasePlan) -> String {
    match plan.task.cost_params.speculative() {
        Some(x) => format!(
            " (speculative decoding: {} draft token(s) at acceptance {}, {:.2} tokens per step)",
            x.draft_tokens, x.acceptance, x.accepted_tokens
        ),
        None => String::new(),
    }
}

/// Throughput and each requirement against its limit.
fn throughput_text(plan: &PhasePlan) -> String {
    let mut s = String::new();
    let p = &plan.performance;
    let _ = writeln!(
        s,
        "  throughput: {:.0} tokens/s, {:.0} tokens/s per GPU",
        p.throughput_tokens_per_s, p.throughput_tokens_per_s_per_gpu
    );
    for r in plan.requirements.lines() {
        let achieved = if r.achieved_value.fract() != 0.0 {
            format!("{:.4}", r.achieved_value)
        } else {
            r.achieved
        };
        let _ = writeln!(
            s,
            "  requirement {}: required {} achieved {achieved} → {}",
            r.name,
            r.required,
            if r.met { "met" } else { "NOT MET" }
        );
    }
    s
}

/// The deployment line, the KV hand-off and the fewest-GPU alternative.
fn deployment_text(d: &Deployment, prefill: &PhasePlan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "deployment: {} GPUs ({} prefill + {} decode), sustains {:.3} requests/s",
        d.total_gpus(),
        d.phase(Phase::Prefill).gpus(),
        d.phase(Phase::Decode).gpus(),
        d.request_rate_per_s
    );
    if let DeploymentFacts::Optimized(o) = &prefill.deployment {
        let kv = &o.kv_transfer;
        let _ = writeln!(
            s,
            "KV hand-off prefill → decode: {:.1} MB per request, {:.1} ms over one prefill instance's NICs, {:.1}% of the prefill pool's NIC bandwidth",
            kv.bytes_per_request / 1e6,
            kv.seconds_per_request * 1e3,
            kv.nic_utilization * 100.0
        );
        let _ = write!(s, "{}", balanced_text(&o.balanced, d));
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
    s
}

/// The balanced unit (with the batch each phase runs) and how idle the plan's own pools are
/// under a request stream; the reason when there is no unit.
fn balanced_text(b: &crate::plan::BalancedFacts, d: &Deployment) -> String {
    let mut s = String::new();
    match &b.unit {
        Some(u) => {
            let _ = writeln!(
                s,
                "balanced unit (replicate as traffic grows): {} prefill (batch {}) : {} decode (concurrency {}) instances = {} GPUs, {:.3} requests/s (idle: prefill {:.0}%, decode {:.0}%)",
                u.prefill_instances,
                u.prefill_batch,
                u.decode_instances,
                u.decode_batch,
                u.total_gpus,
                u.request_rate_per_s,
                u.prefill_idle_share * 100.0,
                u.decode_idle_share * 100.0
            );
        }
        None => {
            let _ = writeln!(s, "balanced unit: {}", b.note);
        }
    }
    if let (Some(bp), Some(bd), Some(rate), Some(ip), Some(id)) = (
        b.plan_prefill_batch,
        b.plan_decode_batch,
        b.plan_request_rate_per_s,
        b.plan_prefill_idle_share,
        b.plan_decode_idle_share,
    ) {
        let _ = writeln!(
            s,
            "under a request stream this plan's {} prefill (batch {bp}) + {} decode (concurrency {bd}) instances sustain {rate:.3} requests/s; idle: prefill {:.0}%, decode {:.0}%",
            d.prefill.instances,
            d.decode.instances,
            ip * 100.0,
            id * 100.0
        );
    }
    s
}

/// The whole summary.
pub fn text(d: &Deployment, plans: &[PhasePlan; 2]) -> String {
    let mut s: String = plans.iter().map(phase_text).collect();
    s.push_str(&deployment_text(d, &plans[0]));
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
