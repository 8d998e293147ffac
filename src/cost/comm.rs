//! Communication times: TP all-reduce, EP all-to-all, SP (context-parallel) exchange, PP hand-off.
//!
//! Bandwidths are per GPU, unidirectional, the nominal link rate of the preset (no separate
//! efficiency factor: NCCL / DeepEP reach 75–90 % of it on large messages, which is inside the
//! model's error band and stated as an assumption). A group of `g` neighbouring GPUs stays
//! inside a node when `g ≤ GPUs per node` (the mapping places TP ranks next to each other);
//! otherwise the inter-node bandwidth applies. Each collective also pays a fixed latency: NCCL's
//! small-message all-reduce latency is ~10 µs inside an NVLink node and ~20–30 µs across
//! InfiniBand (nccl-tests results published by NVIDIA; DeepEP README: ~100–200 µs for a
//! low-latency dispatch + combine across nodes). We use 8 µs intra-node and 25 µs inter-node per
//! collective step.

use crate::spec::task::Hardware;

/// Fixed latency of one collective inside a node, seconds.
pub const INTRA_NODE_LATENCY_S: f64 = 8e-6;
/// Fixed latency of one collective across nodes, seconds.
pub const INTER_NODE_LATENCY_S: f64 = 25e-6;

/// Bandwidth and latency for a group spanning `span` neighbouring GPUs.
pub fn link(hw: &Hardware, span: u64) -> (f64, f64) {
    if span <= hw.gpus_per_node {
        (hw.intra_node_bytes_per_s, INTRA_NODE_LATENCY_S)
    } else {
        (hw.inter_node_bytes_per_s, INTER_NODE_LATENCY_S)
    }
}

/// Ring all-reduce of `bytes` over `n` GPUs spanning `span` neighbouring GPUs:
/// each GPU sends `2(n−1)/n × bytes` (Patarasuk & Yuan, "Bandwidth optimal all-reduce algorithms
/// for clusters of workstations", JPDC 2009; NCCL's busBW definition).
pub fn all_reduce_s(hw: &Hardware, n: u64, span: u64, bytes: f64) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let (bw, lat) = link(hw, span);
    2.0 * (n - 1) as f64 / n as f64 * bytes / bw + lat
}

/// How MoE token copies cross node boundaries in an all-to-all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Every (token, expert) copy travels on its own: DeepEP low-latency kernels (pure RDMA,
    /// used in decode), NCCL all-to-all.
    PerCopy,
    /// A token crosses the network once per destination *node* and is then forwarded over NVLink
    /// to the GPUs of that node that hold its experts: DeepEP "normal" (high-throughput) kernels
    /// used in prefill (DeepEP README; DeepSeek-V3 report §3.2.2, "dispatched to at most 4
    /// nodes ... forwarded via NVLink").
    NodeDedup,
}

/// MoE all-to-all (dispatch or combine) on a group of `w` GPUs: each GPU sends `tokens` tokens of
/// `token_bytes` bytes, each to `k` experts drawn uniformly from the group (`k` copies).
///
/// * the share of copies that stay on the GPU is `1/w`, on the node `gpn/w` (uniform routing);
/// * [`Routing::PerCopy`]: inter-node bytes = `tokens·k·(1 − gpn/w)·token_bytes`;
/// * [`Routing::NodeDedup`]: with `N = w/gpn` nodes each other node receives the token with
///   probability `1 − (1 − 1/N)^k`, so inter-node bytes = `tokens·(N−1)·(1 − (1−1/N)^k)·token_bytes`;
/// * NVLink and the NIC work concurrently, so the time is the larger of the two parts plus one
///   collective latency.
pub fn moe_all_to_all_s(
    hw: &Hardware,
    w: u64,
    tokens: f64,
    k: f64,
    token_bytes: f64,
    routing: Routing,
) -> f64 {
    if w <= 1 || tokens <= 0.0 {
        return 0.0;
    }
    let wf = w as f64;
    let copies = tokens * k;
    let leaving = copies * (wf - 1.0) / wf * token_bytes;
    if w <= hw.gpus_per_node {
        return leaving / hw.intra_node_bytes_per_s + INTRA_NODE_LATENCY_S;
    }
    let gpn = hw.gpus_per_node as f64;
    let per_copy_off_node = copies * (1.0 - gpn / wf) * token_bytes;
    let intra = (leaving - per_copy_off_node).max(0.0);
    let (inter, intra) = match routing {
        Routing::PerCopy => (per_copy_off_node, intra),
        Routing::NodeDedup => {
            let nodes = wf / gpn;
            let hit = 1.0 - (1.0 - 1.0 / nodes).powf(k);
            // Copies arriving from other nodes are forwarded once more over NVLink.
            (
                tokens * (nodes - 1.0) * hit * token_bytes,
                intra + per_copy_off_node,
            )
        }
    };
    (inter / hw.inter_node_bytes_per_s).max(intra / hw.intra_node_bytes_per_s) + INTER_NODE_LATENCY_S
}

/// Point-to-point send of `bytes` between GPUs of a group spanning `span` neighbouring GPUs.
pub fn send_s(hw: &Hardware, span: u64, bytes: f64) -> f64 {
    let (bw, lat) = link(hw, span);
    bytes / bw + lat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hw() -> Hardware {
        Hardware {
            preset: None,
            gpu_budget: None,
            peak_flops_per_s: 1e15,
            mfu: 0.5,
            hbm_bytes_per_s: 3e12,
            bandwidth_utilization: 0.8,
            memory_bytes: 80e9,
            gpus_per_node: 8,
            intra_node_bytes_per_s: 450e9,
            inter_node_bytes_per_s: 50e9,
        }
    }

    #[test]
    fn ring_all_reduce_moves_two_n_minus_one_over_n() {
        let h = hw();
        let t = all_reduce_s(&h, 4, 4, 450e9) - INTRA_NODE_LATENCY_S;
        assert!((t - 1.5).abs() < 1e-12);
        assert_eq!(all_reduce_s(&h, 1, 1, 1e9), 0.0);
    }

    #[test]
    fn node_dedup_never_sends_more_than_per_copy() {
        let h = hw();
        for w in [16, 32, 64, 144] {
            for k in [1.0, 2.0, 8.0] {
                let a = moe_all_to_all_s(&h, w, 1000.0, k, 7168.0, Routing::PerCopy);
                let b = moe_all_to_all_s(&h, w, 1000.0, k, 7168.0, Routing::NodeDedup);
                assert!(b <= a * (1.0 + 1e-12), "w={w} k={k}: {b} > {a}");
            }
        }
        // One copy per token: nothing to deduplicate across nodes.
        let a = moe_all_to_all_s(&h, 32, 1000.0, 1.0, 7168.0, Routing::PerCopy);
        let b = moe_all_to_all_s(&h, 32, 1000.0, 1.0, 7168.0, Routing::NodeDedup);
        assert!((a - b).abs() / a < 1e-9);
    }
}
