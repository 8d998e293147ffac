//! Communication times: TP all-reduce, EP all-to-all, SP (context-parallel) exchange, PP hand-off.
//!
//! Every collective is `latency + bytes / (link bandwidth × efficiency)` (the α–β model of
//! Hockney, "The communication challenge for MPP", Parallel Computing 1994, as NCCL's own tuning
//! model uses it). Bandwidths are per GPU, one direction, the task's nominal link rates. Inside
//! a node latency and efficiency are measured ([`super::profile`]): NCCL and the engine's custom
//! all-reduce per group size, DeepEP's dispatch / combine kernels (aiconfigurator-core tables).
//! Across nodes the NIC runs at the task's `network_utilization` (default 0.8: DeepEP README,
//! 39–46 GB/s of a 50 GB/s RDMA NIC) with 25 µs per collective (nccl-tests all-reduce latency
//! across InfiniBand, ~20–30 µs). A group of `g` neighbouring GPUs stays inside a node when
//! `g ≤ GPUs per node` (the mapping places TP ranks next to each other).

use super::kernels::Kernels;
use crate::spec::task::Hardware;

/// Fixed latency of one collective inside a node without a measured profile, seconds
/// (nccl-tests small-message all-reduce on an NVLink node, ~8–15 µs).
pub const INTRA_NODE_LATENCY_S: f64 = 8e-6;
/// Fixed latency of one collective or send across nodes without a measured fit, seconds (NCCL
/// collectives, PP sends and DeepEP's normal kernels across nodes, which no table pdplan reads
/// measures at small sizes). It lies between the latencies fitted to DeepEP's own RDMA table for
/// its low-latency dispatch (37 us) and combine (15 us) on H800 + CX7
/// ([`crate::cost::profile::GpuProfile::deepep_ll_internode`]), the one GPU-initiated RDMA
/// measurement at hand; it is an assumption, not a measurement of those operations.
pub const INTER_NODE_LATENCY_S: f64 = 25e-6;

/// Ring all-reduce of `bytes` over `n` GPUs spanning `span` neighbouring GPUs: each GPU sends
/// `2(n−1)/n × bytes` (Patarasuk & Yuan, JPDC 2009; NCCL's busBW definition). Inside a node the
/// measured latency and bus efficiency of the smallest measured group ≥ `n` apply, the efficiency
/// at the message's size (the better of NCCL and the engine's custom all-reduce, as the engines
/// pick per size; [`super::profile::AllReduceGroup::efficiency`]).
pub fn all_reduce_s(k: &Kernels, hw: &Hardware, net: f64, n: u64, span: u64, bytes: f64) -> f64 {
    collective_s(k.all_reduce, hw, net, n, span, bytes)
}

/// All-gather of a buffer of `bytes` (every GPU's share gathered on every GPU) followed by a
/// reduce-scatter of the same size: `2(n−1)/n × bytes` per GPU like an all-reduce, at NCCL's
/// measured all-gather + reduce-scatter latency and efficiency ([`super::profile`]
/// `gather_scatter`; 12 + 12 µs on 8 H200s for small buffers, against 16 µs for NCCL's
/// all-reduce and less for the engines' custom all-reduce).
pub fn gather_scatter_s(k: &Kernels, hw: &Hardware, net: f64, n: u64, span: u64, bytes: f64) -> f64 {
    collective_s(k.gather_scatter, hw, net, n, span, bytes)
}

/// A collective moving `2(n−1)/n × bytes` per GPU on the measured `table`.
fn collective_s(
    table: &super::profile::AllReduce,
    hw: &Hardware,
    net: f64,
    n: u64,
    span: u64,
    bytes: f64,
) -> f64 {
    if n <= 1 {
        return 0.0;
    }
    let volume = 2.0 * (n - 1) as f64 / n as f64 * bytes;
    if span <= hw.gpus_per_node {
        let group = table.groups.iter().filter(|g| g.gpus >= n).min_by_key(|g| g.gpus);
        return match group {
            Some(g) => g.latency_s + volume / (hw.intra_node_bytes_per_s * g.efficiency(bytes)),
            None => volume / (hw.intra_node_bytes_per_s * net) + INTRA_NODE_LATENCY_S,
        };
    }
    volume / (hw.inter_node_bytes_per_s * net) + INTER_NODE_LATENCY_S
}

/// How an engine moves an expert-parallel MoE layer's tokens between its GPUs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MoeComm {
    /// Token copies sent to their experts' GPUs and back (DeepEP dispatch / combine,
    /// [`moe_all_to_all_s`]): DeepSeek's own system (`any`), TensorRT-LLM inside a multi-node
    /// NVLink domain (its MNNVL all-to-all).
    AllToAll,
    /// Every GPU gathers the tokens of all attention-DP ranks and the outputs are reduce-scattered
    /// (with attention TP, tokens are already replicated and the outputs all-reduced):
    /// TensorRT-LLM on NVLink nodes of 8 GPUs. Its `CommunicationFactory`
    /// (tensorrt_llm/_torch/modules/fused_moe/communication/communication_factory.py) picks
    /// MNNVL where the platform has it, DeepEP only under `TRTLLM_CAN_USE_DEEP_EP=1` (BF16 weights),
    /// else `AllGatherReduceScatter`; with attention TP no MoE communication beyond the
    /// all-reduce. aiconfigurator 0.12 charges the same (`operators/moe_dispatch.rs`: NCCL
    /// all_gather / reduce_scatter of `tokens × dp` on SM90).
    GatherScatter,
    /// DeepEP's all-to-all on the layouts whose launch selects it — the ones where pdplan turns
    /// the engine's two-batch overlap on, which needs DeepEP (SGLang wide EP: `--moe-a2a-backend
    /// deepep`; vLLM DP + EP: `--all2all-backend deepep_*`) — and gathering on every other:
    /// SGLang's default `--moe-a2a-backend none` gathers the DP-attention ranks' tokens (or keeps
    /// them replicated under attention TP), vLLM's default `allgather_reducescatter` backend
    /// (`AgRsAll2AllManager`: "all-gather (dispatch) and reduce-scatter (combine)").
    WhereLaunched(super::overlap::TwoBatchOverlap),
}

impl MoeComm {
    /// The engine's mechanism on `hw` (an NVLink domain beyond 8 GPUs: GB200 / GB300 NVL72).
    pub fn of(engine: crate::spec::task::Engine, hw: &Hardware) -> MoeComm {
        use crate::spec::task::Engine;
        match engine {
            Engine::Trtllm if hw.gpus_per_node <= 8 => MoeComm::GatherScatter,
            Engine::Sglang | Engine::Vllm => {
                MoeComm::WhereLaunched(super::overlap::TwoBatchOverlap::of(engine))
            }
            _ => MoeComm::AllToAll,
        }
    }

    /// Whether layout `l` of a MoE model (`moe`) runs the all-to-all (else it gathers).
    pub fn all_to_all(self, l: &crate::layout::Layout, moe: bool) -> bool {
        match self {
            MoeComm::AllToAll => true,
            MoeComm::GatherScatter => false,
            MoeComm::WhereLaunched(t) => t.launched(l, moe),
        }
    }
}

/// How MoE token copies cross GPU and node boundaries in an all-to-all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// Every (token, expert) copy travels on its own: DeepEP low-latency kernels (decode).
    PerCopy,
    /// A token crosses the network once per destination *node* and NVLink once per destination
    /// GPU: DeepEP "normal" kernels used in prefill (DeepEP README; DeepSeek-V3 report §3.2.2).
    NodeDedup,
}

/// MoE all-to-all (dispatch or combine) on a group of `w` GPUs: each GPU sends `tokens` tokens of
/// `token_bytes` bytes, each to `k` experts drawn uniformly from the group.
///
/// * inside a node: [`Routing::PerCopy`] sends `k` copies, [`Routing::NodeDedup`] one per
///   distinct destination GPU, `w·(1 − (1 − 1/w)^k)`; the share `(w−1)/w` leaves the GPU, at
///   DeepEP's measured latency and link efficiency (low-latency kernels for per-copy routing,
///   normal kernels otherwise);
/// * across nodes (`w > GPUs per node`): inter-node bytes `tokens·k·(1 − gpn/w)·token_bytes`
///   per copy, or with node dedup `tokens·(N−1)·(1 − (1−1/N)^k)·token_bytes` for `N = w/gpn`
///   nodes; NVLink and the NIC work concurrently, the larger part sets the time.
#[allow(clippy::too_many_arguments)]
pub fn moe_all_to_all_s(
    kern: &Kernels,
    hw: &Hardware,
    net: f64,
    w: u64,
    tokens: f64,
    k: f64,
    token_bytes: f64,
    routing: Routing,
    combine: bool,
) -> f64 {
    if w <= 1 || tokens <= 0.0 {
        return 0.0;
    }
    let wf = w as f64;
    let deepep = match routing {
        Routing::PerCopy => kern.deepep_ll,
        Routing::NodeDedup => kern.deepep_normal,
    };
    let fit = deepep.map(|d| if combine { d.combine } else { d.dispatch });
    let (intra_lat, intra_eff) =
        fit.map_or((INTRA_NODE_LATENCY_S, net), |f| (f.latency_s, f.link_efficiency));
    let intra_bw = hw.intra_node_bytes_per_s * intra_eff;
    if w <= hw.gpus_per_node {
        let copies = match routing {
            Routing::PerCopy => k,
            Routing::NodeDedup => wf * (1.0 - (1.0 - 1.0 / wf).powf(k)),
        };
        return intra_lat + tokens * copies * (wf - 1.0) / wf * token_bytes / intra_bw;
    }
    let gpn = hw.gpus_per_node as f64;
    let copies = tokens * k;
    let leaving = copies * (wf - 1.0) / wf * token_bytes;
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
    // Across nodes: DeepEP's low-latency kernels at their latency and NIC efficiency fitted to
    // DeepEP's own RDMA table (profile::GpuProfile::deepep_ll_internode); otherwise the nominal
    // NIC at `network_utilization` and INTER_NODE_LATENCY_S.
    let rdma = match routing {
        Routing::PerCopy => kern.deepep_ll_internode,
        Routing::NodeDedup => None,
    };
    let (inter_lat, inter_eff) = rdma
        .map(|d| if combine { d.combine } else { d.dispatch })
        .map_or((INTER_NODE_LATENCY_S, net), |f| (f.latency_s, f.link_efficiency));
    (inter / (hw.inter_node_bytes_per_s * inter_eff)).max(intra / intra_bw) + inter_lat.max(intra_lat)
}

/// Point-to-point send of `bytes` between GPUs of a group spanning `span` neighbouring GPUs.
pub fn send_s(hw: &Hardware, net: f64, span: u64, bytes: f64) -> f64 {
    if span <= hw.gpus_per_node {
        bytes / (hw.intra_node_bytes_per_s * net) + INTRA_NODE_LATENCY_S
    } else {
        bytes / (hw.inter_node_bytes_per_s * net) + INTER_NODE_LATENCY_S
    }
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
        let k = Kernels::roofline(&h);
        let t = all_reduce_s(&k, &h, 1.0, 4, 4, 450e9) - INTRA_NODE_LATENCY_S;
        assert!((t - 1.5).abs() < 1e-12);
        assert_eq!(all_reduce_s(&k, &h, 1.0, 1, 1, 1e9), 0.0);
    }

    #[test]
    fn node_dedup_never_sends_more_than_per_copy() {
        let h = hw();
        let kern = Kernels::roofline(&h);
        let a2a = |w, k, r| moe_all_to_all_s(&kern, &h, 0.8, w, 1000.0, k, 7168.0, r, false);
        for w in [16, 32, 64, 144] {
            for k in [1.0, 2.0, 8.0] {
                let a = a2a(w, k, Routing::PerCopy);
                let b = a2a(w, k, Routing::NodeDedup);
                assert!(b <= a * (1.0 + 1e-12), "w={w} k={k}: {b} > {a}");
            }
        }
        // One copy per token: nothing to deduplicate across nodes.
        let a = a2a(32, 1.0, Routing::PerCopy);
        let b = a2a(32, 1.0, Routing::NodeDedup);
        assert!((a - b).abs() / a < 1e-9);
    }
}
