//! SGLang 0.5.23: `python3 -m sglang.launch_server --disaggregation-mode prefill|decode`, the
//! `sglang_router.launch_router --pd-disaggregation` router in front.
//!
//! Layout → flags (sglang/srt/arg_groups/fields/parallel.py, parallel_hook.py): `--tp-size` is the
//! stage width W (attention TP × attention-DP), `--attn-dp-size` the attention-DP inside it
//! (`--dp-size --enable-dp-attention` is the deprecated spelling), `--ep-size` the experts' EP
//! (expert-TP = W / EP), `--pp-size`; GPUs = tp-size × pp-size. Wide EP (EP = W, expert-TP 1)
//! adds `--moe-a2a-backend deepep` and `--enable-two-batch-overlap` (which needs it; the cost
//! model charges the overlap for exactly these layouts, `cost::overlap`). Multi-node: `--nnodes N --node-rank R --dist-init-addr
//! HEAD:PORT`. KV hand-off: `--disaggregation-transfer-backend nixl`; the prefill server's
//! bootstrap port is given to the router with its URL. Speculative decoding (MTP):
//! `--speculative-algorithm EAGLE --speculative-num-steps D --speculative-eagle-topk 1
//! --speculative-num-draft-tokens D+1` on both roles.

use super::{Arg, Common, PhaseShape, Var, Worker, flag, lits, phase_worker, router, worker_urls};
use crate::cost::overlap::Schedule;
use crate::layout::Phase;
use crate::layout::capability::is_wide_ep;

/// Prefill bootstrap port (SGLang's default `--disaggregation-bootstrap-port`).
pub const BOOTSTRAP_PORT: u16 = 8998;
/// Port of `--dist-init-addr` on the head node of a multi-node instance.
const DIST_INIT_PORT: u16 = 5757;

fn parallel_flags(c: &Common, s: &PhaseShape, a: &mut Vec<Arg>) {
    let l = &s.layout;
    flag(a, "--tp-size", l.width());
    if l.attention_dp > 1 {
        flag(a, "--attn-dp-size", l.attention_dp);
    }
    if c.moe && l.ep > 1 {
        flag(a, "--ep-size", l.ep);
    }
    if is_wide_ep(l, c.moe) {
        flag(a, "--moe-a2a-backend", "deepep");
    }
    // The overlap the plan was costed with (cost::overlap::Schedule).
    match s.overlap {
        Schedule::TwoBatch => a.push(Arg::lit("--enable-two-batch-overlap")),
        Schedule::SingleBatch => a.push(Arg::lit("--enable-single-batch-overlap")),
        Schedule::Plain => {}
    }
    if l.pp > 1 {
        flag(a, "--pp-size", l.pp);
    }
    let nodes = s.nodes(c.gpus_per_node);
    if nodes > 1 {
        flag(a, "--nnodes", nodes);
        a.push(Arg::lit("--node-rank"));
        a.push(Arg::var(Var::NodeRank));
        a.push(Arg::lit("--dist-init-addr"));
        a.push(Arg::around("", Var::HeadAddr, &format!(":{DIST_INIT_PORT}")));
    }
}

/// Engine arguments of a phase worker after `--model-path MODEL` (also `dynamo.sglang`'s).
pub fn engine_args(c: &Common, s: &PhaseShape) -> Vec<Arg> {
    let mut a = Vec::new();
    parallel_flags(c, s, &mut a);
    flag(&mut a, "--max-running-requests", s.batch.max(1));
    flag(&mut a, "--context-length", c.max_model_len);
    flag(&mut a, "--mem-fraction-static", s.static_memory_fraction(c));
    if c.fp8_kv {
        flag(&mut a, "--kv-cache-dtype", "fp8_e4m3");
    }
    if c.fp8_weights {
        flag(&mut a, "--quantization", "fp8");
    }
    if c.trust_remote_code {
        a.push(Arg::lit("--trust-remote-code"));
    }
    // Speculative decoding with the model's MTP layers (SGLang's DeepSeek MTP recipe: EAGLE,
    // one candidate per step); both PD roles take it, prefill to hand the draft state over.
    if let Some(d) = c.draft_tokens {
        flag(&mut a, "--speculative-algorithm", "EAGLE");
        flag(&mut a, "--speculative-num-steps", d);
        flag(&mut a, "--speculative-eagle-topk", 1);
        flag(&mut a, "--speculative-num-draft-tokens", d + 1);
    }
    flag(&mut a, "--disaggregation-mode", s.phase.name());
    flag(&mut a, "--disaggregation-transfer-backend", "nixl");
    if s.phase == Phase::Prefill {
        flag(&mut a, "--disaggregation-bootstrap-port", BOOTSTRAP_PORT);
    }
    a
}

fn phase(c: &Common, s: &PhaseShape) -> Worker {
    let mut a = lits(&["python3", "-m", "sglang.launch_server", "--model-path"]);
    a.push(c.model.clone());
    a.extend(lits(&["--host", "0.0.0.0"]));
    flag(&mut a, "--port", s.port());
    a.extend(engine_args(c, s));
    let mut w = phase_worker(c, s, a);
    // Replicas sharing a node: the prefill bootstrap server per slot too.
    if let (Some(sl), Phase::Prefill) = (&mut w.slots, s.phase) {
        sl.port_flags
            .push(("--disaggregation-bootstrap-port".into(), BOOTSTRAP_PORT));
    }
    w
}

/// Prefill and decode workers and the PD router.
pub fn workers(c: &Common, p: &PhaseShape, d: &PhaseShape) -> Vec<Worker> {
    let mut r = lits(&[
        "python3",
        "-m",
        "sglang_router.launch_router",
        "--pd-disaggregation",
        "--host",
        "0.0.0.0",
    ]);
    flag(&mut r, "--port", super::ROUTER_PORT);
    for (i, u) in worker_urls(p, c.gpus_per_node).into_iter().enumerate() {
        r.push(Arg::lit("--prefill"));
        r.push(u);
        let bootstrap = p.replica_port(BOOTSTRAP_PORT, i as u64, c.gpus_per_node);
        r.push(Arg::lit(bootstrap.to_string()));
    }
    for u in worker_urls(d, c.gpus_per_node) {
        r.push(Arg::lit("--decode"));
        r.push(u);
    }
    vec![phase(c, p), phase(c, d), router(r)]
}
