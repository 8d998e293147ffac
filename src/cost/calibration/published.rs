//! Published measurements `../shared/calibration.md` does not list (issue 11, item 7): vLLM's CI
//! latency runs, TensorRT-LLM's v0.9.0 performance tables, NVIDIA NIM's benchmarking page and
//! SGLang deployment blogs. Each row carries its full setting and source; a figure the source
//! does not publish is derived in `setting` (never fitted). Sources are cited without a scheme
//! prefix (a shared hook misreads a double slash inside string literals).

use super::{Group, Metric, Row, deepseek, layout, task_on};
use crate::layout::Layout;
use crate::spec::task::{BatchOverlap, Dtype, Engine, RawCostParams, RawTask};

const VLLM_CI: &str = "vLLM CI, Buildkite pipeline vllm/performance-benchmark, latency tests (buildkite.com/vllm/performance-benchmark/builds/9513 on H200, /builds/9555 on 8xH100, /builds/9523 on A100-SXM4-80GB): vllm benchmark_latency, batch 8, input 32, output 128, dummy BF16 weights, mean of 15 iterations; test definitions github.com/vllm-project/vllm .buildkite/nightly-benchmarks/tests/latency-tests.json";
const TRTLLM_V09: &str = "NVIDIA TensorRT-LLM docs/source/performance.md, \"All data was generated using version 0.9.0\" (peak-throughput and low-latency tables; gptSessionBenchmark static batching; FP8 weights + FP8 KV cache on H100/H200, FP16 on A100; TRTLLM_ENABLE_XQA=1 for Llama-2-70B), github.com/NVIDIA/TensorRT-LLM";
const NIM: &str = "NVIDIA NIM for LLMs benchmarking, Performance page, Llama-3.3-70b-instruct results, NIM 1.8.0, 2 x H100 80G, fp8 TP2, concurrency 1 (docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance)";
const K2_BLOG: &str = "The Mooncake Team, \"Deploying Kimi K2 with PD Disaggregation and Large-Scale Expert Parallelism on 128 H200 GPUs\", lmsys.org/blog/2025-07-20-k2-large-scale-ep (2025-07-20), cluster-level and per-node tables";
const TRTLLM_R1_BLOG: &str = "NVIDIA TensorRT-LLM docs/source/blogs/Best_perf_practice_on_DeepSeek-R1_in_TensorRT-LLM.md, \"H200 max-throughput\" (trtllm-bench throughput, PyTorch workflow), github.com/NVIDIA/TensorRT-LLM";
const VLLM_WIDE_EP_BLOG: &str = "vLLM Team, \"vLLM Large Scale Serving: DeepSeek @ 2.2k tok/s/H200 with Wide-EP\", blog.vllm.ai (2025-12-17; source vllm-project/vllm-project.github.io _posts), decode chart \"Output Tok/Sec/GPU\"; deployment from the linked llm-d wide-EP recipe";
const H20_BLOG: &str = "Ant Group, \"Together with SGLang: Best Practices for Serving DeepSeek-R1 on H20-96G\", lmsys.org/blog/2025-09-26-sglang-ant-group (2025-09-26), SGLang v0.5.2";

/// Attention TP and experts split by expert-TP only (TensorRT-LLM's default MoE mapping and
/// vLLM / SGLang fused MoE without expert parallelism): `tp = expert_tp`, `ep = 1`.
pub(super) const fn moe_tp(tp: u64) -> Layout {
    Layout {
        tp,
        pp: 1,
        sp: 1,
        attention_dp: 1,
        ep: 1,
        expert_tp: tp,
    }
}

/// Llama-3-8B / Llama-3.1-8B (the same shapes): meta-llama/Meta-Llama-3-8B config.json
/// (32 layers, hidden 4096, 32 heads / 8 KV heads, head 128, FFN 14,336, vocabulary 128,256,
/// untied embeddings), 8.03B parameters.
fn llama3_8b(t: &mut RawTask) {
    let m = &mut t.model;
    m.name = Some("Llama-3-8B".into());
    m.declared_params = Some(8.03e9);
    (m.layers, m.hidden_size, m.heads, m.head_dim) = (Some(32), Some(4096), Some(32), Some(128));
    (m.kv_heads, m.ffn_intermediate_size, m.vocab_size) = (Some(8), Some(14336), Some(128256));
    (m.gated_ffn, m.tied_embeddings) = (Some(true), Some(false));
}

/// A task for one of the CI / NIM models ("llama8b", "llama70b" = the Llama-3.1-70B preset, the
/// same shapes as Llama-3-70B and Llama-3.3-70B, or "mixtral") on an engine.
pub(super) fn model_task(model: &str, gpu: &str, engine: Engine, wl: (u64, u64, u64)) -> RawTask {
    let (batch, input, output) = wl;
    let mut t = task_on(gpu, batch, input, output);
    match model {
        "llama8b" => llama3_8b(&mut t),
        "llama70b" => t.model.preset = Some("Llama-3.1-70B".into()),
        _ => t.model.preset = Some("Mixtral-8x7B".into()),
    }
    t.cost = Some(RawCostParams {
        engine: Some(engine),
        ..RawCostParams::default()
    });
    t
}

/// vLLM's CI latency tests: BF16, batch 8, 32 input and 128 output tokens.
fn vllm_ci() -> Vec<Row> {
    let runs = [
        ("vllm-ci-h200-llama3-8b-tp1", "H200", "llama8b", 1, 834.059),
        ("vllm-ci-h200-llama3-70b-tp4", "H200", "llama70b", 4, 2075.08),
        ("vllm-ci-h200-mixtral-8x7b-tp2", "H200", "mixtral", 2, 1921.1),
        ("vllm-ci-h100-llama3-8b-tp1", "H100-SXM", "llama8b", 1, 997.542),
        ("vllm-ci-h100-llama3-70b-tp4", "H100-SXM", "llama70b", 4, 2444.47),
        ("vllm-ci-h100-mixtral-8x7b-tp2", "H100-SXM", "mixtral", 2, 2326.97),
        ("vllm-ci-a100-llama3-8b-tp1", "A100-80G", "llama8b", 1, 1579.27),
        ("vllm-ci-a100-llama3-70b-tp4", "A100-80G", "llama70b", 4, 3990.59),
        ("vllm-ci-a100-mixtral-8x7b-tp2", "A100-80G", "mixtral", 2, 3643.84),
    ];
    runs.into_iter()
        .map(|(id, gpu, model, tp, measured)| Row {
            id,
            source: VLLM_CI,
            setting: "Meta-Llama-3-8B TP1, Meta-Llama-3-70B-Instruct TP4 or Mixtral-8x7B-Instruct-v0.1 TP2 (experts split by TP) as in the id, BF16 weights and KV cache, vLLM (release of the build date), static batch of 8 prompts of 32 tokens, 128 output tokens, end-to-end latency",
            group: Group::VllmCi,
            task: model_task(model, gpu, Engine::Vllm, (8, 32, 128)),
            layout: if model == "mixtral" { moe_tp(tp) } else { layout(tp, 1, 1) },
            batch: 8,
            metric: Metric::BatchLatencyMs,
            measured,
            unit: "ms",
            note: "",
        })
        .collect()
}

/// TensorRT-LLM v0.9.0 shapes: Llama-2-70B (Llama-3.1-70B's shape with a 32,000-token vocabulary,
/// the engine config of performance.md) or Mixtral-8x7B, FP8 weights + FP8 KV cache on H100 /
/// H200 and FP16 on A100. Mixtral's config is not listed; the FP8 table heading is read as FP8
/// weights and KV cache like every config that is listed.
fn trtllm_v09_task(model: &str, gpu: &str, batch: u64, input: u64, output: u64) -> RawTask {
    let dtype = if gpu == "A100-80G" {
        Dtype::Fp16
    } else {
        Dtype::Fp8
    };
    if model == "70b" {
        return super::llama2("70b", gpu, dtype, batch, input, output);
    }
    let mut t = model_task("mixtral", gpu, Engine::Trtllm, (batch, input, output));
    (t.model.dtype, t.model.kv_cache_dtype) = (Some(dtype), Some(dtype));
    t
}

fn trtllm_v09_layout(model: &str, tp: u64) -> Layout {
    if model == "70b" {
        layout(tp, 1, 1)
    } else {
        moe_tp(tp)
    }
}

/// (id, model, GPU, batch, TP, ISL, OSL, measured) of a static-batch throughput row.
type StaticRow = (&'static str, &'static str, &'static str, u64, u64, u64, u64, f64);

/// TensorRT-LLM v0.9.0 peak-throughput table: (id, model, GPU, batch, TP, ISL, OSL, output
/// tokens/s per GPU). Left out: A100 Mixtral B32 2048/2048 (801 tokens/s/GPU), which cannot be
/// FP16 TP2 as published: it needs ≤ 18.4 ms per decode step, i.e. ≥ 2.5 TB/s per GPU to read
/// 46.7 GB of FP16 expert weights (every expert is hit at batch 32), above the A100's 2.04 TB/s.
#[rustfmt::skip]
const V09_STATIC: [StaticRow; 23] = [
    ("trtllm09-h200-mixtral-b1024-tp2-128-128", "mixtral", "H200", 1024, 2, 128, 128, 5444.0),
    ("trtllm09-h200-mixtral-b256-tp2-128-2048", "mixtral", "H200", 256, 2, 128, 2048, 4973.0),
    ("trtllm09-h200-mixtral-b64-tp2-2048-128", "mixtral", "H200", 64, 2, 2048, 128, 605.0),
    ("trtllm09-h200-mixtral-b64-tp2-2048-2048", "mixtral", "H200", 64, 2, 2048, 2048, 1821.0),
    ("trtllm09-h100-mixtral-b512-tp2-128-128", "mixtral", "H100-SXM", 512, 2, 128, 128, 5255.0),
    ("trtllm09-h100-mixtral-b128-tp2-128-2048", "mixtral", "H100-SXM", 128, 2, 128, 2048, 3408.0),
    ("trtllm09-h100-mixtral-b64-tp2-2048-128", "mixtral", "H100-SXM", 64, 2, 2048, 128, 588.0),
    ("trtllm09-h100-mixtral-b32-tp2-2048-2048", "mixtral", "H100-SXM", 32, 2, 2048, 2048, 1317.0),
    ("trtllm09-a100-mixtral-b512-tp2-128-128", "mixtral", "A100-80G", 512, 2, 128, 128, 2842.0),
    ("trtllm09-a100-mixtral-b128-tp2-128-2048", "mixtral", "A100-80G", 128, 2, 128, 2048, 1724.0),
    ("trtllm09-a100-mixtral-b64-tp2-2048-128", "mixtral", "A100-80G", 64, 2, 2048, 128, 319.0),
    ("trtllm09-h200-llama70b-b1024-tp1-128-128", "70b", "H200", 1024, 1, 128, 128, 3989.0),
    ("trtllm09-h200-llama70b-b512-tp2-128-2048", "70b", "H200", 512, 2, 128, 2048, 3963.0),
    ("trtllm09-h200-llama70b-b64-tp1-2048-128", "70b", "H200", 64, 1, 2048, 128, 418.0),
    ("trtllm09-h200-llama70b-b64-tp1-2048-2048", "70b", "H200", 64, 1, 2048, 2048, 1458.0),
    ("trtllm09-h100-llama70b-b1024-tp2-128-128", "70b", "H100-SXM", 1024, 2, 128, 128, 3214.0),
    ("trtllm09-h100-llama70b-b512-tp4-128-2048", "70b", "H100-SXM", 512, 4, 128, 2048, 2725.0),
    ("trtllm09-h100-llama70b-b96-tp2-2048-128", "70b", "H100-SXM", 96, 2, 2048, 128, 346.0),
    ("trtllm09-h100-llama70b-b64-tp2-2048-2048", "70b", "H100-SXM", 64, 2, 2048, 2048, 1011.0),
    ("trtllm09-a100-llama70b-b1024-tp4-128-128", "70b", "A100-80G", 1024, 4, 128, 128, 686.0),
    ("trtllm09-a100-llama70b-b512-tp8-128-2048", "70b", "A100-80G", 512, 8, 128, 2048, 684.0),
    ("trtllm09-a100-llama70b-b96-tp4-2048-128", "70b", "A100-80G", 96, 4, 2048, 128, 80.0),
    ("trtllm09-a100-llama70b-b64-tp4-2048-2048", "70b", "A100-80G", 64, 4, 2048, 2048, 289.0),
];

/// TensorRT-LLM v0.9.0 low-latency table: (id, model, GPU, TP, ISL, first-token latency ms).
#[rustfmt::skip]
const V09_TTFT: [(&str, &str, &str, u64, u64, f64); 12] = [
    ("trtllm09-h200-mixtral-ttft-tp2-128", "mixtral", "H200", 2, 128, 12.1),
    ("trtllm09-h200-mixtral-ttft-tp2-2048", "mixtral", "H200", 2, 2048, 87.7),
    ("trtllm09-h100-mixtral-ttft-tp2-128", "mixtral", "H100-SXM", 2, 128, 13.4),
    ("trtllm09-h100-mixtral-ttft-tp2-2048", "mixtral", "H100-SXM", 2, 2048, 89.5),
    ("trtllm09-a100-mixtral-ttft-tp2-128", "mixtral", "A100-80G", 2, 128, 23.8),
    ("trtllm09-a100-mixtral-ttft-tp2-2048", "mixtral", "A100-80G", 2, 2048, 160.9),
    ("trtllm09-h200-llama70b-ttft-tp4-128", "70b", "H200", 4, 128, 17.8),
    ("trtllm09-h200-llama70b-ttft-tp4-2048", "70b", "H200", 4, 2048, 103.0),
    ("trtllm09-h100-llama70b-ttft-tp4-128", "70b", "H100-SXM", 4, 128, 19.6),
    ("trtllm09-h100-llama70b-ttft-tp8-2048", "70b", "H100-SXM", 8, 2048, 85.1),
    ("trtllm09-a100-llama70b-ttft-tp4-128", "70b", "A100-80G", 4, 128, 45.6),
    ("trtllm09-a100-llama70b-ttft-tp8-2048", "70b", "A100-80G", 8, 2048, 249.2),
];

fn trtllm_v09() -> Vec<Row> {
    let mut rows: Vec<Row> = V09_STATIC
        .iter()
        .map(|&(id, model, gpu, batch, tp, input, output, measured)| Row {
            id,
            source: TRTLLM_V09,
            setting: "Llama-2-70B or Mixtral-8x7B (experts split by TP) as in the id, FP8 weights + FP8 KV cache on H100/H200, FP16 on A100, static batch of B sequences, TP and ISL-OSL as in the id; output tokens/s per GPU",
            group: Group::TrtllmV09,
            task: trtllm_v09_task(model, gpu, batch, input, output),
            layout: trtllm_v09_layout(model, tp),
            batch,
            metric: Metric::StaticBatchOutputTokensPerGpu,
            measured,
            unit: "output tokens/s/GPU",
            note: "",
        })
        .collect();
    rows.extend(V09_TTFT.iter().map(|&(id, model, gpu, tp, input, measured)| Row {
        id,
        source: TRTLLM_V09,
        setting: "Llama-2-70B or Mixtral-8x7B as in the id, batch 1, TP as in the id, first-token latency at the input length in the id (FP8 on H100/H200, FP16 on A100)",
        group: Group::TrtllmV09,
        task: trtllm_v09_task(model, gpu, 1, input, 1),
        layout: trtllm_v09_layout(model, tp),
        batch: 1,
        metric: Metric::TtftMs,
        measured,
        unit: "ms",
        note: "",
    }));
    rows
}

/// NIM 1.8.0 (TensorRT-LLM backend), Llama-3.3-70B-Instruct FP8 on 2 × H100, concurrency 1:
/// TTFT is one prefill at batch 1; ITL is one decode step at batch 1.
fn nim() -> Vec<Row> {
    let runs = [
        (
            "nim-h100-llama70b-tp2-ttft-5000-500",
            5000,
            500,
            Metric::TtftMs,
            406.77,
        ),
        (
            "nim-h100-llama70b-tp2-itl-5000-500",
            5000,
            500,
            Metric::TpotMs,
            18.58,
        ),
        (
            "nim-h100-llama70b-tp2-ttft-500-2000",
            500,
            2000,
            Metric::TtftMs,
            47.77,
        ),
        (
            "nim-h100-llama70b-tp2-itl-500-2000",
            500,
            2000,
            Metric::TpotMs,
            18.91,
        ),
    ];
    runs.into_iter()
        .map(|(id, input, output, metric, measured)| {
            let mut task = model_task("llama70b", "H100-SXM", Engine::Trtllm, (1, input, output));
            task.model.dtype = Some(Dtype::Fp8);
            Row {
                id,
                source: NIM,
                setting: "Llama-3.3-70B-Instruct (Llama-3.1-70B shapes), FP8 weights, TP2 on 2 x H100 80G, NIM 1.8.0 (TensorRT-LLM backend), concurrency 1 (one request in flight: batch 1), ISL/OSL as in the id; the KV-cache precision is not published and is left at the model default (BF16; at batch 1 the KV read is under 2% of the weight read)",
                group: Group::Nim,
                task,
                layout: layout(2, 1, 1),
                batch: 1,
                metric,
                measured,
                unit: "ms",
                note: "",
            }
        })
        .collect()
}

/// The blog's H20 nodes' RDMA: "4 × 400 Gb/s" per node of 8 GPUs (its H20 vs H800 table), i.e.
/// 25 GB/s per GPU per direction (the H20 preset assumes one 400 Gb/s NIC per GPU).
const H20_BLOG_NIC_BYTES_PER_S: f64 = 4.0 * 400e9 / 8.0 / 8.0;

/// The H20 blog's decode figures (every one its text gives; fixed before any error was seen):
/// (id, batch per GPU, EP = attention-DP, draft tokens, per-token acceptance, output tokens/s per
/// GPU). The acceptance is read off the blog's accept lengths ("Config for MTP": steps 1 → 1.8–1.9,
/// steps 2 → 2.4–2.7, steps 3 → 2.9–3.3 tokens per step) at their midpoints 1.85 / 2.55 / 3.1:
/// `1 + a + … + a^d` = 1.85 at a = 0.85, 2.55 at 0.84, 3.1 at 0.83.
type H20Decode = (&'static str, u64, u64, u64, f64, f64);

#[rustfmt::skip]
const H20_DECODE: [H20Decode; 9] = [
    // "Decode Deployment" table: InferX Base / Pro / Max.
    ("sglang-h20-deepseek-r1-decode-bs48-ep16-mtp1", 48, 16, 1, 0.85, 714.0),
    ("sglang-h20-deepseek-r1-decode-bs32-ep16-mtp1", 32, 16, 1, 0.85, 675.0),
    ("sglang-h20-deepseek-r1-decode-bs12-ep16-mtp2", 12, 16, 2, 0.84, 423.0),
    // "Investigation for EP size" (the decode base configuration, MTP steps 1).
    ("sglang-h20-deepseek-r1-decode-bs8-ep16-mtp1", 8, 16, 1, 0.85, 278.0),
    ("sglang-h20-deepseek-r1-decode-bs8-ep32-mtp1", 8, 32, 1, 0.85, 293.0),
    ("sglang-h20-deepseek-r1-decode-bs32-ep32-mtp1", 32, 32, 1, 0.85, 585.0),
    // "Config for MTP": batch 1 at steps 1 and 3, batch 32 at steps 3.
    ("sglang-h20-deepseek-r1-decode-bs1-ep16-mtp1", 1, 16, 1, 0.85, 43.0),
    ("sglang-h20-deepseek-r1-decode-bs1-ep16-mtp3", 1, 16, 3, 0.83, 52.0),
    ("sglang-h20-deepseek-r1-decode-bs32-ep16-mtp3", 32, 16, 3, 0.83, 554.0),
];

fn h20_decode_rows() -> Vec<Row> {
    H20_DECODE
        .iter()
        .map(|&(id, per_gpu, ep, draft, acceptance, measured)| {
            let mut task = deepseek("H20", 4096, 1536, ep * per_gpu, Some(Engine::Sglang), None);
            task.model.kv_cache_dtype = Some(Dtype::Fp8);
            task.hardware.inter_node_bytes_per_s = Some(H20_BLOG_NIC_BYTES_PER_S);
            if let Some(c) = task.cost.as_mut() {
                (c.draft_tokens, c.draft_acceptance) = (Some(draft), Some(acceptance));
                // The blog's decode runs single-batch overlap ("Why not TBO").
                c.batch_overlap = Some(BatchOverlap::SingleBatch);
            }
            Row {
                id,
                source: H20_BLOG,
                setting: "DeepSeek-R1 (FP8 weights, FP8 KV cache, FP8 FlashMLA), H20-96G nodes with 4 x 400 Gb/s RDMA (25 GB/s per GPU), decode on 2 nodes (EP16) or 4 (EP32): --tp-size = --dp-size = EP with --enable-dp-attention, DeepEP low-latency, single-batch overlap; MTP (EAGLE/NEXTN, topk 1) with the steps in the id and the per-token acceptance of the blog's accept length; 4,096 input and 1,536 output tokens; the median decode throughput per GPU logged at the batch per GPU in the id, times 8 GPUs per node",
                group: Group::SglangBlogs,
                task,
                layout: layout(1, ep, ep),
                batch: ep * per_gpu,
                metric: Metric::DecodeTokensPerNode,
                measured: measured * 8.0,
                unit: "output tokens/s/node",
                note: "",
            }
        })
        .collect()
}

/// SGLang deployment blogs: Kimi-K2 prefill / decode on H200 (1P1D, 4 + 12 nodes),
/// DeepSeek-R1 single-node TP8 prefill and DP-attention + EP decode with MTP on H20.
fn sglang_blogs() -> Vec<Row> {
    let mut k2_prefill = deepseek("H200", 2000, 1, 32 * 8, Some(Engine::Sglang), None);
    k2_prefill.model.preset = Some("Kimi-K2".into());
    let mut k2_decode = deepseek("H200", 2000, 100, 96 * 480, Some(Engine::Sglang), None);
    k2_decode.model.preset = Some("Kimi-K2".into());
    let mut h20 = deepseek("H20", 4096, 1, 4, Some(Engine::Sglang), None);
    h20.model.kv_cache_dtype = Some(Dtype::Fp8);
    h20.hardware.inter_node_bytes_per_s = Some(H20_BLOG_NIC_BYTES_PER_S);
    vec![
        Row {
            id: "sglang-h200-kimi-k2-prefill-2k",
            source: K2_BLOG,
            setting: "Kimi-K2-Instruct (FP8), H200, prefill on 4 nodes EP32 + attention-DP32 (DeepEP, EPLB), 2,000-token prompts; 56k input tokens/s per node. Tokens per batch not published: the blog runs \"the same benchmark setup as in the DeepSeek R1 deployment blog\", whose prefill used 16,384 tokens per GPU, i.e. 8 prompts of 2,000 per GPU",
            group: Group::SglangBlogs,
            task: k2_prefill,
            layout: layout(1, 32, 32),
            batch: 32 * 8,
            metric: Metric::PrefillTokensPerNode,
            measured: 56_000.0,
            unit: "input tokens/s/node",
            note: "",
        },
        Row {
            id: "sglang-h200-kimi-k2-decode-2k",
            source: K2_BLOG,
            setting: "Kimi-K2-Instruct (FP8), H200, decode on 12 nodes EP96 + attention-DP96 (384 + 96 redundant experts, DeepEP low-latency), 2,000 input and 100 output tokens, decode batch 480 per GPU; 24k output tokens/s per node (the per-node figure; the cluster-level 384k is it times 16 nodes)",
            group: Group::SglangBlogs,
            task: k2_decode,
            layout: layout(1, 96, 96),
            batch: 96 * 480,
            metric: Metric::DecodeTokensPerNode,
            measured: 24_000.0,
            unit: "output tokens/s/node",
            note: "",
        },
        Row {
            id: "sglang-h20-deepseek-r1-prefill-4k",
            source: H20_BLOG,
            setting: "DeepSeek-R1 (FP8 weights, FP8 KV cache), H20-96G, prefill on one node TP8 (experts split by TP, no EP), 4,096-token prompts, chunked prefill of 16,384 tokens = 4 prompts per forward, FA3 FP8 attention; 16.5k input tokens/s per node",
            group: Group::SglangBlogs,
            task: h20,
            layout: moe_tp(8),
            batch: 4,
            metric: Metric::PrefillTokensPerNode,
            measured: 16_500.0,
            unit: "input tokens/s/node",
            note: "",
        },
    ]
    .into_iter()
    .chain(h20_decode_rows())
    .collect()
}

const MIXTRAL_HOPPER: &str = "TensorRT-LLM v0.9 Mixtral on H100/H200 is slower than the model wherever MoE GEMMs dominate (2,048-token TTFT -42..-47 %, large-batch rows +28..+104 % with Mixtral's own expert shape read off TensorRT-LLM 1.3's table, cost::moe_shapes, and the MoE output all-reduce of TP2 charged, +18..+100 % before on the class curves; the model's grouped-GEMM curve for Mixtral's experts on 2 GPUs is within 16 % per kernel of TensorRT-LLM 1.3's H200 table, 1 to 8,192 tokens), while the same table's A100 FP16 Mixtral throughput rows and 2,048-token TTFT are within 20 % (on TensorRT-LLM 1.0's A100 MoE table) and its Llama-2-70B rows within 13 % on all three GPUs. The measured H100/A100 TTFT ratio at 2,048 tokens is 1.8x against a 3.2x (BF16) / 6.3x (FP8) peak ratio: v0.9's MoE plugin did not reach Hopper GEMM rates (read as Ampere-class grouped GEMMs; FP8 MoE came later), whereas the model reads TensorRT-LLM 1.3's measured MoE tables. Reading the rows as FP16 instead of FP8 did not close the gap (+104 % / -51 % before the MoE curves were classed by local experts), so it is the kernel generation, not the precision";

/// What the model lacks for the rows of this file and of `ifb` that miss by more than 25 % (written after
/// seeing the error and the breakdown, never used to change a constant or a row).
pub(super) fn known_gap(id: &str) -> &'static str {
    match id {
        "vllm-ci-h200-llama3-8b-tp1" | "vllm-ci-h200-llama3-70b-tp4" => {
            "the model is faster on every vLLM CI latency row of a dense model (8B / 70B: A100 -8 / -8 %, H100 -17 / -18 %, H200 -23 / -22 %; 8-23 % since the dense GEMMs are read on their measured (N, K, M) grid, 2-20 % before on the one curve over every shape, which is 10-30 % slow for the large matrices of these models at M = 8-256): the kernels of a decode step are charged as measured (GEMMs, paged attention, all-reduce, launches), and what is left, 1.0-1.7 ms per step for Llama-3-8B and 3.6-4.0 ms for Llama-3-70B TP4 on all three GPUs (about 30-50 us per layer), is the engine's own per-step and per-layer host work in the benchmarked release (piecewise CUDA graphs break the graph at every attention layer: 15-25 us per boundary in vLLM's own A/B runs, vllm#20059, vllm#51167), which no kernel table measures and the release of these runs is not pinned; kernels.rs, \"No per-step host term\""
        }
        "trtllm09-h200-mixtral-b1024-tp2-128-128"
        | "trtllm09-h200-mixtral-b256-tp2-128-2048"
        | "trtllm09-h200-mixtral-b64-tp2-2048-128"
        | "trtllm09-h200-mixtral-b64-tp2-2048-2048"
        | "trtllm09-h100-mixtral-b512-tp2-128-128"
        | "trtllm09-h100-mixtral-b128-tp2-128-2048"
        | "trtllm09-h100-mixtral-b64-tp2-2048-128"
        | "trtllm09-h200-mixtral-ttft-tp2-2048"
        | "trtllm09-h100-mixtral-ttft-tp2-2048" => MIXTRAL_HOPPER,
        "trtllm09-a100-mixtral-ttft-tp2-128" => {
            "the model is slower: 128 tokens x top-2 hit all 8 experts, so a pass reads all 46.7 GB of FP16 weights per GPU (TP2); TensorRT-LLM 1.0's A100 MoE table reads them at 0.75 of 2.04 TB/s (35.0 ms predicted), and the measured 23.8 ms would need 96 % of the A100's HBM peak; the page does not say what else differed"
        }
        "sglang-h200-kimi-k2-prefill-2k" => {
            "EP all-to-all bound (1.68 s of DeepEP dispatch/combine against 1.47 s of operators per pass): +26.2 % while two-batch overlap was charged as a perfect 2·max(); as the period of the two-micro-batch schedule (cost::overlap) the experts of one micro-batch wait for a dispatch longer than the other's attention, +8.7 % (the 16,384 tokens per GPU are derived, see setting)"
        }
        "vllm-h200-deepseek-r1-prefill-dp16-ep16-2k" => {
            "the model is slower: it reads vLLM's measured fused-MoE table (AIConfigurator 0.24.0, kernel vllm_fp8moe_triton_tritonexperts), while with DeepEP all-to-all and FP8 block weights vLLM runs DeepGEMM's grouped GEMMs (\"DeepGEMM enabled by default\", same post); read as DeepGEMM's grouped GEMMs run (dense at the group's size, as for SGLang's DeepEP path) the row is +4.3 %, but the decode row of the same post becomes +32 % (from +4.2 %), so the engine's rule is left unchanged until vLLM's DeepEP-path experts are measured per kernel"
        }
        "sglang-h20-deepseek-r1-prefill-4k" => {
            "within 15 % since the transfer was corrected (it was -60.6 %): the H20 has no kernel table, so the H100-SXM curves stand in (kernels::Transfer), each kernel taking the longer of its FLOPs at the H20's saturated rate and its H100 time scaled by bandwidth, with the H20 preset's MFU (0.853) from kernels measured on an H20 (FlashAttention-3, FlashMLA; models/h20.json). The pass is 1.16 s (1.01 s compute-bound, 0.12 s of it the attention core, 0.12 s TP all-reduce) against the measured 0.99 s; before, the transfer added the H100's sub-plateau time to the H20's saturated time (counting operand traffic twice), used each attention curve's own plateau as the saturated rate and the preset's unmeasured MFU 0.5: 2.5 s"
        }
        "trtllm-h200-deepseek-r1-tp8-ep8-c1024-1k-2k" => {
            "the model is faster (+29 % with DeepSeek-V3's own expert shape read off TensorRT-LLM 1.3's MoE table, cost::moe_shapes, and TensorRT-LLM's all-gather / reduce-scatter in place of DeepEP; +24 % before on the class curves): its decode step at 128 sequences per rank was 63 ms (56 ms of kernels, 49 ms of them compute-bound with the attention blocks read off the measured MLA decode module, 9 ms of launches; 7 ms EP all-to-all, not overlapped in TensorRT-LLM), while the measured 11.35 tokens/s per user is 88 ms per token with the prefills included. The static-cycle derivation is optimistic for in-flight batching: every iteration carries up to 1,151 prefill tokens beside a rank's 128 decode sequences, and the 8 attention-DP ranks step together at the slowest rank's batch and contexts; the memory-bound step itself is also the term the issue flags as too fast"
        }
        "trtllm017-a100-llama8b-tp1-128-2048" | "trtllm017-a100-llama70b-tp4-128-2048" => {
            "the model is faster on the decode-heavy (128/2,048) A100 Llama rows (+21 / +26 %; +12 to +24 % before the dense GEMMs were read on their measured (N, K, M) grid), while the same GPUs' prefill-heavy rows are within 6 % (Mixtral aside) and v0.9's static-batch A100 rows within 14 %: these rows run at the concurrency pdplan derives from trtllm-bench's sizing rule (ifb::concurrency, 261-1,418 sequences), not one the page states, and their decode steps are read as steps of a full static batch at that concurrency; a lower running batch (KV-cache pressure of FP16 weights on 80 GB, which the rule's 0.95 share may overstate) would cost the same steps for fewer tokens"
        }
        "sglang-h20-deepseek-r1-decode-bs1-ep16-mtp1" | "sglang-h20-deepseek-r1-decode-bs1-ep16-mtp3" => {
            "at batch 1 the model is faster (+23 % with one draft token, +30 % with three): a 35.0 / 46.3 ms step (the verify pass, the draft passes as (L + n)/L of it plus an LM-head GEMM each, 0.6 ms for the 16-bit head on the H20, SGLang EAGLE's 1.9 ms of exposed host work, cost::coeffs::SGLANG_EAGLE_HOST_S) against the 43 / 60 ms that 43 / 52 tokens/s per GPU imply at the blog's accept lengths. The H20's 64-row grouped-GEMM tiles are charged (an expert with 2 rows computes 64, Kernels::grouped_gemm_time; without them +66 / +104 %, and +15 / +12 % only while two-batch overlap was charged here and split one sequence in two, reading the weights twice); what is left grows with the draft depth: each draft pass is a whole pass of the MTP layer with its own DeepEP all-to-all (its LM head is now charged), plus the draft-extend pass after verification, and the 16 attention-DP ranks synchronize every step across 2 nodes, none of which is measured per kernel"
        }
        "sglang-h20-deepseek-r1-decode-bs8-ep32-mtp1" => {
            "the model gains more from EP32 than the blog measures at batch 8: a 36.6 ms verify step at EP32 against 51.4 ms at EP16 (8 local experts instead of 16, each a 64-row tile on the H20), while 293 and 278 tokens/s per GPU make the EP32 step only 5 % shorter. EP32 spans 4 nodes: the model charges the low-latency all-to-all at the latency and NIC efficiency fitted to DeepEP's own H800 RDMA table (dispatch 37 us / 0.92, combine 15 us / 0.83 of the NIC, within 6 % of the table at 128 tokens for EP16-256; profile::GpuProfile::deepep_ll_internode) on the blog's 25 GB/s per GPU (4 x 400 Gb/s per node), which is not measured at 16 tokens per rank, and the slowest of 32 ranks at 8 sequences each sets the step; neither is measured per kernel"
        }
        "trtllm017-h100-mixtral-tp2-2048-128" => {
            "the model is slower on every prefill-heavy (2,048/128) row on Hopper (+3 to -22 %, Mixtral the most; the same GPUs' balanced and decode-heavy rows are within 17 %): in-flight batching runs decode tokens inside the prefill chunks' iterations (trtllm-bench sizes max_num_tokens at least 2,048 \"to ensure Ctx/Gen overlap efficiency\", tuning.py), so a decode step's weight reads are shared with a prefill chunk's GEMMs, while the static cycle charges the 128 decode steps as separate memory-bound passes; Mixtral pays most, its decode step at this concurrency reading every expert (46.7 GB FP8 over 2 GPUs)"
        }
        _ => "",
    }
}

/// TensorRT-LLM's DeepSeek-R1 H200 max-throughput run: in-flight batching at a fixed concurrency.
fn trtllm_blogs() -> Vec<Row> {
    let task = deepseek("H200", 1024, 2048, 1024, Some(Engine::Trtllm), None);
    vec![Row {
        id: "trtllm-h200-deepseek-r1-tp8-ep8-c1024-1k-2k",
        source: TRTLLM_R1_BLOG,
        setting: "DeepSeek-R1 (FP8 weights, BF16 KV cache: the default, no kv_cache_dtype set), 8 x H200, --tp 8 --ep 8 with enable_attention_dp (attention-DP8, experts EP8), max_batch_size 128 per rank, concurrency 1024, ISL 1,024, OSL 2,048 (synthetic, fixed lengths), no MTP; 1,436 output tokens/s per GPU. In-flight batching at a fixed concurrency of 1,024 (128 per rank) is costed as the static-batch cycle: every request's prefill plus OSL decode steps at batch 1,024, the same work per request (prefill chunks of max_num_tokens 1,151 interleave with decode steps rather than run first)",
        group: Group::TrtllmBlogs,
        task,
        layout: layout(1, 8, 8),
        batch: 1024,
        metric: Metric::StaticBatchOutputTokensPerGpu,
        measured: 1436.0,
        unit: "output tokens/s/GPU",
        note: "",
    }]
}

/// vLLM's wide-EP DeepSeek prefill and decode on H200 with dual-batch overlap.
fn vllm_blogs() -> Vec<Row> {
    let mut task = deepseek("H200", 2000, 2000, 32 * 256, Some(Engine::Vllm), None);
    task.model.dtype = Some(Dtype::Fp8);
    let mut prefill = deepseek("H200", 2000, 1, 16 * 4, Some(Engine::Vllm), None);
    prefill.model.dtype = Some(Dtype::Fp8);
    vec![
        Row {
            id: "vllm-h200-deepseek-r1-prefill-dp16-ep16-2k",
            source: VLLM_WIDE_EP_BLOG,
            setting: "DeepSeek-R1-0528 (FP8 weights), prefill on 16 x H200 (2 nodes): --data-parallel-size 16 --enable-expert-parallel (TP1, EP16), --enable-dbo --dbo-prefill-token-threshold 32 with DeepEP high-throughput kernels, EPLB, async scheduling (llm-d recipe); 2,000-token prompts at an unlimited request rate; 7,000 prompt tokens/s per GPU (vLLM's GB200 post, H200 column: \"Prefill | 16 GPUs\", \"Prefill throughput 7000\"; the H200 post's chart reads ~7,020 at EP16). Tokens per forward not published: vLLM's default --max-num-batched-tokens for the API server, 8,192 per DP rank, i.e. 4 prompts per GPU",
            group: Group::VllmBlogs,
            task: prefill,
            layout: layout(1, 16, 16),
            batch: 16 * 4,
            metric: Metric::PrefillTokensPerNode,
            measured: 7_000.0 * 8.0,
            unit: "input tokens/s/node",
            note: "",
        },
        Row {
            id: "vllm-h200-deepseek-r1-decode-dp32-ep32-2k",
            source: VLLM_WIDE_EP_BLOG,
            setting: "DeepSeek-R1-0528 (FP8 weights; KV cache at the model default), decode on 32 x H200 (CoreWeave, InfiniBand CX-7): --data-parallel-size 32 --enable-expert-parallel (TP1, EP32), --enable-dbo with DeepEP low-latency kernels, EPLB, async scheduling, no MTP (llm-d recipe); 2,000 input and 2,000 average output tokens, 256 concurrent requests per EP rank; 2.2k output tokens/s per GPU (the post's headline; its chart reads ~2,180 at EP32). The decode batch per GPU is taken as the 256 concurrent requests; vLLM version not published (v0.11-era main)",
            group: Group::VllmBlogs,
            task,
            layout: layout(1, 32, 32),
            batch: 32 * 256,
            metric: Metric::DecodeTokensPerNode,
            measured: 2_200.0 * 8.0,
            unit: "output tokens/s/node",
            note: "",
        },
    ]
}

/// Every published row not in calibration.md and not in the TensorRT-LLM v0.5/v0.6 group.
pub(super) fn rows() -> Vec<Row> {
    let mut rows = vllm_ci();
    rows.extend(trtllm_v09());
    rows.extend(nim());
    rows.extend(sglang_blogs());
    rows.extend(trtllm_blogs());
    rows.extend(vllm_blogs());
    rows
}
