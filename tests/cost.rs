//! The cost model moves the right way (DESIGN.md §4): more TP lowers prefill latency until
//! communication dominates; decode TPOT grows with batch and context; a larger EP lowers the
//! weight memory per GPU. Property tests over random workloads, plus the crossover example.
mod common;

use pdplan::cost::{self, memory, time};
use pdplan::layout::{Layout, Phase};
use pdplan::spec::task::Task;
use proptest::prelude::*;

fn dense(tp: u64, pp: u64, adp: u64) -> Layout {
    Layout {
        tp,
        pp,
        sp: 1,
        attention_dp: adp,
        ep: 1,
        expert_tp: 1,
    }
}

fn moe(tp: u64, adp: u64, ep: u64) -> Layout {
    Layout {
        tp,
        pp: 1,
        sp: 1,
        attention_dp: adp,
        ep,
        expert_tp: tp * adp / ep,
    }
}

/// Llama-3.1-70B's shape on the test hardware (8 GPUs per node, NVLink 450 GB/s, IB 50 GB/s).
fn llama70b() -> Task {
    let mut t = common::small_dense(1, None);
    let m = &mut t.model;
    m.layers = 80;
    m.hidden_size = 8192;
    m.heads = 64;
    m.kv_heads = 8;
    m.head_dim = 128;
    m.ffn_intermediate_size = 28672;
    m.vocab_size = 128256;
    t.workload.max_len = 32768;
    t
}

fn with_lengths(mut t: Task, input: u64, output: u64) -> Task {
    t.workload.input_len = Some(input);
    t.workload.output_len = Some(output);
    t.workload.max_len = t.workload.max_len.max(input + output);
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Doubling TP inside a node splits every operator (less operator time) and adds
    /// all-reduce traffic (no less communication); while the operator saving is larger than the
    /// added communication, the prefill latency drops — which it does for a 70B model on NVLink.
    #[test]
    fn more_tp_lowers_prefill_latency_until_communication_dominates(
        batch in 1u64..16, input in 256u64..8192, tp_exp in 0u32..3,
    ) {
        let t = with_lengths(llama70b(), input, 16);
        let tp = 1u64 << tp_exp;
        let step = |tp| time::stage_step(&t, Phase::Prefill, &dense(tp, 1, 1), batch, input);
        let (a, b) = (step(tp), step(2 * tp));
        prop_assert!(b.operators_s < a.operators_s);
        prop_assert!(b.tp_all_reduce_s >= a.tp_all_reduce_s);
        let ttft = |tp| cost::evaluate(&t, Phase::Prefill, &dense(tp, 1, 1), batch).ttft_s.unwrap();
        prop_assert!(ttft(2 * tp) < ttft(tp), "tp {} → {}: {} → {}", tp, 2 * tp, ttft(tp), ttft(2 * tp));
    }

    /// TPOT never falls when the batch or the context grows (dense and MoE, with and without PP).
    #[test]
    fn decode_tpot_grows_with_batch_and_context(
        batch in 1u64..256, more in 1u64..256, ctx in 128u64..8192, longer in 1u64..8192, pp_exp in 0u32..3,
    ) {
        let pp = 1u64 << pp_exp;
        let cases: [(Task, Layout); 2] = [
            (common::small_dense(batch, None), dense(2, pp, 1)),
            (common::qwen3_task(), moe(4, 2, 8)),
        ];
        for (t, l) in cases {
            let tpot = |b: u64, c: u64| {
                cost::evaluate(&with_lengths(t.clone(), c, 2), Phase::Decode, &l, b).tpot_s.unwrap()
            };
            let base = tpot(batch, ctx);
            prop_assert!(tpot(batch + more, ctx) >= base, "batch {} → {}", batch, batch + more);
            prop_assert!(tpot(batch, ctx + longer) > base, "context {} → {}", ctx, ctx + longer);
        }
    }

    /// With the stage width following EP (attention-DP fills it), every doubling of EP halves the
    /// experts each GPU holds, so weight memory per GPU falls.
    #[test]
    fn larger_ep_lowers_weight_memory_per_gpu(ep_exp in 0u32..7, batch in 1u64..64, phase_decode in any::<bool>()) {
        let t = common::qwen3_task();
        let phase = if phase_decode { Phase::Decode } else { Phase::Prefill };
        let ep = 1u64 << ep_exp;
        let w = |ep: u64| memory::per_gpu(&t, phase, &moe(1, ep, ep), batch.max(ep)).weights_bytes;
        prop_assert!(w(2 * ep) < w(ep), "ep {} → {}: {} → {}", ep, 2 * ep, w(ep), w(2 * ep));
    }
}

#[test]
fn tp_across_nodes_is_dominated_by_communication() {
    // TP16 spans two nodes: the all-reduces go over the 50 GB/s NIC and cost more than the
    // operator time they save, so prefill gets slower — "until communication dominates".
    let t = with_lengths(llama70b(), 2048, 16);
    let at = |tp| cost::evaluate(&t, Phase::Prefill, &dense(tp, 1, 1), 4);
    let (eight, sixteen) = (at(8), at(16));
    assert!(sixteen.ttft_s.unwrap() > eight.ttft_s.unwrap());
    assert!(sixteen.breakdown.communication_s > sixteen.breakdown.operators_s);
    // Inside the node the curve falls all the way to TP8.
    let ttfts: Vec<f64> = [1, 2, 4, 8].iter().map(|&tp| at(tp).ttft_s.unwrap()).collect();
    assert!(ttfts.windows(2).all(|w| w[1] < w[0]), "{ttfts:?}");
}

#[test]
fn overlap_hides_communication_up_to_the_operator_time() {
    let mut t = common::qwen3_task();
    let l = moe(1, 32, 32);
    let none = time::stage_step(&t, Phase::Prefill, &l, 4, 2048);
    t.cost.comm_overlap = 1.0;
    let full = time::stage_step(&t, Phase::Prefill, &l, 4, 2048);
    let raw = none.communication_s;
    assert!(raw > 0.0);
    assert!((full.stage_time_s - none.operators_s.max(raw)).abs() < 1e-12);
}

#[test]
fn mla_decode_reads_the_latent_once_for_all_heads() {
    // KV read per decode step = sequences × context × (kv_lora + rope) × 2 B × layers.
    let r = pdplan::read_task(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/tasks/deepseek-v3-mla.md"
    )))
    .unwrap();
    let m = &r.task.model;
    let per_token = pdplan::spec::model_size::kv_bytes_per_token(m);
    let l = Layout {
        tp: 8,
        pp: 1,
        sp: 1,
        attention_dp: 1,
        ep: 8,
        expert_tp: 1,
    };
    // MLA keeps the whole latent on each TP rank: per-GPU KV = full KV per token.
    let mem = memory::per_gpu(&r.task, Phase::Decode, &l, 8);
    let tokens = r.task.workload.kv_tokens_per_sequence() as f64;
    assert!((mem.kv_cache_bytes - 8.0 * tokens * per_token).abs() / mem.kv_cache_bytes < 1e-9);
}
