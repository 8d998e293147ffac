//! Communication times: TP all-reduce, EP all-to-all, SP (context-parallel) exchange, PP hand-off.
//!
//! Bandwidths are per GPU, unidirectional. A group of `g` neighbouring GPUs stays inside a node
//! when `g ≤ GPUs per node` (the mapping places TP ranks next to each other); otherwise the
//! inter-node bandwidth applies. Each collective also pays a fixed latency: NCCL's small-message
//! all-reduce latency is ~10 µs inside an NVLink node and ~20–30 µs across InfiniBand
//! (nccl-tests results published by NVIDIA; DeepEP README: ~100–200 µs for low-latency dispatch +
//! combine across nodes). We use 8 µs intra-node and 25 µs inter-node per collective step.

use crate::task::Hardware;

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

/// All-to-all where each of `w` GPUs sends `bytes` in total, spread evenly over the group.
/// The share going to GPUs on other nodes is `1 − gpn/w` when the group spans several nodes;
/// NVLink and the NIC work concurrently (DeepEP's normal kernels forward over both), so the time
/// is the larger of the two parts.
pub fn all_to_all_s(hw: &Hardware, w: u64, bytes: f64) -> f64 {
    if w <= 1 {
        return 0.0;
    }
    let leaving = bytes * (w - 1) as f64 / w as f64;
    if w <= hw.gpus_per_node {
        return leaving / hw.intra_node_bytes_per_s + INTRA_NODE_LATENCY_S;
    }
    let off_node = 1.0 - hw.gpus_per_node as f64 / w as f64;
    let inter = bytes * off_node / hw.inter_node_bytes_per_s;
    let intra = (leaving - bytes * off_node).max(0.0) / hw.intra_node_bytes_per_s;
    inter.max(intra) + INTER_NODE_LATENCY_S
}

/// Point-to-point send of `bytes` between GPUs of a group spanning `span` neighbouring GPUs.
pub fn send_s(hw: &Hardware, span: u64, bytes: f64) -> f64 {
    let (bw, lat) = link(hw, span);
    bytes / bw + lat
}
