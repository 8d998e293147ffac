//! vLLM 0.33.0: `vllm serve` per phase with the NIXL KV connector, `vllm-router` in front.
//!
//! Layout → flags (vllm/config/parallel.py): GPUs = TP × PCP × PP × DP; attention TP =
//! `--tensor-parallel-size`, prefill SP = `--prefill-context-parallel-size`, attention-DP =
//! `--data-parallel-size`; MoE experts over all TP × PCP × DP ranks, by expert with
//! `--enable-expert-parallel` (EP = W) or inside every expert (expert-TP = W); with DP and EP
//! `--all2all-backend deepep_*`, plus `--enable-dbo` when the plan runs dual-batch overlap (the
//! schedule the cost model charged and the plan records, `cost::overlap::Schedule`). KV hand-off:
//! `--kv-transfer-config {"kv_connector":"NixlConnector","kv_role":"kv_producer"|"kv_consumer"}`.
//! An instance over several nodes: `--nnodes N --node-rank R --master-addr HEAD` (vLLM 0.33
//! arg_utils.py: N must divide the world size; the data-parallel backend must be `mp`), and
//! `--headless` on every node but the head ([`super::Worker::worker_node_args`]).

use super::{Arg, Common, PhaseShape, Var, Worker, flag, lits, phase_worker, router, worker_urls};
use crate::cost::overlap::{Schedule, TwoBatchOverlap};
use crate::layout::Phase;
use crate::spec::task::Engine;

/// vLLM's default NIXL side-channel port (`VLLM_NIXL_SIDE_CHANNEL_PORT`, vllm/envs.py).
const NIXL_SIDE_CHANNEL_PORT: u32 = 5600;

/// `--max-num-seqs` is per engine core, and each DP rank is one: the instance's batch split over
/// its DP ranks.
fn max_num_seqs(s: &PhaseShape) -> u64 {
    s.batch.div_ceil(s.layout.attention_dp).max(1)
}

fn parallel_flags(c: &Common, s: &PhaseShape, a: &mut Vec<Arg>) {
    let l = &s.layout;
    flag(a, "--tensor-parallel-size", l.tp);
    flag(a, "--pipeline-parallel-size", l.pp);
    if l.sp > 1 {
        flag(a, "--prefill-context-parallel-size", l.sp);
    }
    if l.attention_dp > 1 {
        flag(a, "--data-parallel-size", l.attention_dp);
    }
    if c.moe && l.ep > 1 {
        a.push(Arg::lit("--enable-expert-parallel"));
    }
    // Dual-batch overlap where the cost model charges it (DP + EP, cost::overlap); vLLM runs it
    // on DeepEP only (docs/design/dbo.md): low-latency kernels for decode, high-throughput for
    // prefill.
    if TwoBatchOverlap::of(Engine::Vllm).launched(l, c.moe) {
        if s.overlap == Schedule::TwoBatch {
            a.push(Arg::lit("--enable-dbo"));
        }
        let backend = match s.phase {
            Phase::Prefill => "deepep_high_throughput",
            Phase::Decode => "deepep_low_latency",
        };
        flag(a, "--all2all-backend", backend);
    }
    let nodes = s.nodes(c.gpus_per_node);
    if nodes > 1 {
        flag(a, "--nnodes", nodes);
        a.push(Arg::lit("--node-rank"));
        a.push(Arg::var(Var::NodeRank));
        a.push(Arg::lit("--master-addr"));
        a.push(Arg::var(Var::HeadAddr));
        if l.attention_dp > 1 {
            flag(a, "--data-parallel-backend", "mp");
        }
    }
}

fn model_flags(c: &Common, s: &PhaseShape, a: &mut Vec<Arg>) {
    flag(a, "--max-num-seqs", max_num_seqs(s));
    flag(a, "--max-model-len", c.max_model_len);
    flag(a, "--gpu-memory-utilization", c.memory_fraction);
    if c.fp8_kv {
        flag(a, "--kv-cache-dtype", "fp8");
    }
    if c.fp8_weights {
        flag(a, "--quantization", "fp8");
    }
    if c.trust_remote_code {
        a.push(Arg::lit("--trust-remote-code"));
    }
    // Speculative decoding with the model's MTP layers, on both roles: the NIXL handshake
    // refuses a prefill / decode pair whose model-based speculative settings differ (the MTP
    // layers add a KV-cache group to transfer; vllm-project/vllm#49230).
    if let Some(d) = c.draft_tokens {
        flag(
            a,
            "--speculative-config",
            format!("{{\"method\":\"mtp\",\"num_speculative_tokens\":{d}}}"),
        );
    }
}

/// The NIXL connector config of a phase (`kv_producer` prefill, `kv_consumer` decode).
pub fn kv_transfer_config(phase: Phase) -> String {
    let role = match phase {
        Phase::Prefill => "kv_producer",
        Phase::Decode => "kv_consumer",
    };
    format!(r#"{{"kv_connector":"NixlConnector","kv_role":"{role}"}}"#)
}

/// Engine arguments of a phase worker after `vllm serve MODEL` (also `dynamo.vllm`'s).
pub fn engine_args(c: &Common, s: &PhaseShape) -> Vec<Arg> {
    let mut a = Vec::new();
    parallel_flags(c, s, &mut a);
    model_flags(c, s, &mut a);
    flag(&mut a, "--kv-transfer-config", kv_transfer_config(s.phase));
    a
}

fn phase(c: &Common, s: &PhaseShape) -> Worker {
    let mut a = lits(&["vllm", "serve"]);
    a.push(c.model.clone());
    a.extend(lits(&["--host", "0.0.0.0"]));
    flag(&mut a, "--port", s.port());
    a.extend(engine_args(c, s));
    let mut w = phase_worker(c, s, a);
    // The nodes after the head run the engine's workers only: without `--headless` each starts
    // its own API server(s) and engine client (vllm 0.33.0 entrypoints/cli/serve.py: only
    // `run_headless` takes the `node_rank_within_dp > 0` worker path; Dynamo's operator adds
    // `--node-rank N --headless` the same way).
    if w.nodes_per_replica > 1 {
        w.worker_node_args = vec!["--headless".into()];
    }
    // Replicas sharing a node: each DP rank's NIXL side channel listens on
    // VLLM_NIXL_SIDE_CHANNEL_PORT + its DP index (vllm 0.33.0 nixl/base_scheduler.py), so each
    // slot starts its range past the previous slot's GPUs.
    if let Some(sl) = &mut w.slots {
        sl.port_env
            .push(("VLLM_NIXL_SIDE_CHANNEL_PORT".into(), NIXL_SIDE_CHANNEL_PORT));
    }
    w
}

/// Prefill and decode workers and the PD router.
pub fn workers(c: &Common, p: &PhaseShape, d: &PhaseShape) -> Vec<Worker> {
    let mut r = lits(&["vllm-router", "--vllm-pd-disaggregation", "--host", "0.0.0.0"]);
    flag(&mut r, "--port", super::ROUTER_PORT);
    for u in worker_urls(p, c.gpus_per_node) {
        r.push(Arg::lit("--prefill"));
        r.push(u);
    }
    for u in worker_urls(d, c.gpus_per_node) {
        r.push(Arg::lit("--decode"));
        r.push(u);
    }
    vec![phase(c, p), phase(c, d), router(r)]
}
