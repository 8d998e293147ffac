//! TensorRT-LLM v0.17's in-flight-batching throughput table (`trtllm-bench`, requests at an
//! unlimited rate): Llama-3.1 8B / 70B and Mixtral-8x7B on H200, H100 and A100, three ISL/OSL
//! pairs each (decode-heavy 128/2048, prefill-heavy 2048/128, balanced 1000/1000; the subset was
//! fixed before any error was seen). The page gives no batch: the benchmark runs as many
//! requests as `trtllm-bench`'s engine settings and its KV cache admit, so the row's concurrency
//! is derived from `trtllm-bench`'s own sizing rule ([`concurrency`]), never chosen per row.
//! In-flight batching at that concurrency is costed as the static-batch cycle (every request's
//! prefill plus OSL decode steps at the concurrency), as for the DeepSeek-R1 max-throughput row.

use super::{Group, Metric, Row, published};
use crate::layout::Layout;
use crate::spec::task::{Dtype, Engine, RawTask};

const TRTLLM_V017: &str = "NVIDIA TensorRT-LLM docs/source/performance/perf-overview.md, \"All data in the table below was generated using version 0.17\" (trtllm-bench build --quantization FP8 --dataset, which forces an FP8 KV cache; FP16 engines on A100; trtllm-bench throughput at an unlimited request rate, Guaranteed No Evict, --kv_cache_free_gpu_mem_fraction 0.95; synthetic fixed-length requests), github.com/NVIDIA/TensorRT-LLM; the table's figure is the engine's output tokens/s over all its TP GPUs (the same methodology's v0.19 page: \"The reported metric is Total Output Throughput (tokens/sec)\"), divided here by TP";

/// Total device memory in GiB as the framework reads it (nvidia-smi totals: H100 SXM 81,559 MiB,
/// H200 143,771 MiB, A100-SXM4-80GB 81,920 MiB).
fn device_gib(gpu: &str) -> f64 {
    match gpu {
        "H200" => 143_771.0 / 1024.0,
        "A100-80G" => 81_920.0 / 1024.0,
        _ => 81_559.0 / 1024.0,
    }
}

/// A model's shape for the sizing rule: parameters, layers, KV heads, head size.
struct Shape {
    params: f64,
    layers: f64,
    kv_heads: u64,
    head_dim: f64,
}

fn shape(model: &str) -> Shape {
    match model {
        // meta-llama/Llama-3.1-8B config.json; 8.03B parameters.
        "llama8b" => Shape {
            params: 8.03e9,
            layers: 32.0,
            kv_heads: 8,
            head_dim: 128.0,
        },
        // meta-llama/Llama-3.1-70B config.json; 70.6B parameters.
        "llama70b" => Shape {
            params: 70.6e9,
            layers: 80.0,
            kv_heads: 8,
            head_dim: 128.0,
        },
        // mistralai/Mixtral-8x7B-v0.1 config.json; 46.7B parameters.
        _ => Shape {
            params: 46.7e9,
            layers: 32.0,
            kv_heads: 8,
            head_dim: 128.0,
        },
    }
}

/// Requests in flight: `trtllm-bench`'s sizing rule (tensorrt_llm/bench/build/tuning.py,
/// `calc_engine_setting` and `finetune_setting`): the KV cache is 0.95 of the memory the weights
/// leave on the TP group, a request holds ISL + OSL tokens of KV (each GPU at least one KV head:
/// `max(tp, kv_heads)` heads over the group), at most 4,096 requests. The engine's batch limit is
/// this count rounded up, so the KV cache (Guaranteed No Evict admits a request only with room
/// for all its tokens) is what binds.
pub fn concurrency(model: &str, gpu: &str, tp: u64, bytes: f64, isl: u64, osl: u64) -> u64 {
    let s = shape(model);
    let gib = (1u64 << 30) as f64;
    let per_token = 2.0 * s.layers * tp.max(s.kv_heads) as f64 * s.head_dim * bytes / gib;
    let free = device_gib(gpu) * tp as f64 - s.params * bytes / gib;
    let requests = free * 0.95 / (per_token * (isl + osl) as f64);
    requests.clamp(1.0, 4096.0).floor() as u64
}

/// (id, model, GPU, TP, ISL, OSL, output tokens/s of the engine, i.e. over its TP GPUs).
type IfbRow = (&'static str, &'static str, &'static str, u64, u64, u64, f64);

#[rustfmt::skip]
const V017: [IfbRow; 27] = [
    ("trtllm017-h200-llama8b-tp1-128-2048", "llama8b", "H200", 1, 128, 2048, 25_398.86),
    ("trtllm017-h200-llama8b-tp1-2048-128", "llama8b", "H200", 1, 2048, 128, 3_794.14),
    ("trtllm017-h200-llama8b-tp1-1000-1000", "llama8b", "H200", 1, 1000, 1000, 17_537.96),
    ("trtllm017-h100-llama8b-tp1-128-2048", "llama8b", "H100-SXM", 1, 128, 2048, 21_109.38),
    ("trtllm017-h100-llama8b-tp1-2048-128", "llama8b", "H100-SXM", 1, 2048, 128, 3_556.73),
    ("trtllm017-h100-llama8b-tp1-1000-1000", "llama8b", "H100-SXM", 1, 1000, 1000, 15_244.78),
    ("trtllm017-a100-llama8b-tp1-128-2048", "llama8b", "A100-80G", 1, 128, 2048, 5_255.99),
    ("trtllm017-a100-llama8b-tp1-2048-128", "llama8b", "A100-80G", 1, 2048, 128, 799.61),
    ("trtllm017-a100-llama8b-tp1-1000-1000", "llama8b", "A100-80G", 1, 1000, 1000, 3_786.83),
    ("trtllm017-h200-llama70b-tp4-128-2048", "llama70b", "H200", 4, 128, 2048, 14_156.0),
    ("trtllm017-h200-llama70b-tp4-2048-128", "llama70b", "H200", 4, 2048, 128, 1_358.06),
    ("trtllm017-h200-llama70b-tp4-1000-1000", "llama70b", "H200", 4, 1000, 1000, 8_911.29),
    ("trtllm017-h100-llama70b-tp4-128-2048", "llama70b", "H100-SXM", 4, 128, 2048, 11_511.93),
    ("trtllm017-h100-llama70b-tp4-2048-128", "llama70b", "H100-SXM", 4, 2048, 128, 1_302.6),
    ("trtllm017-h100-llama70b-tp4-1000-1000", "llama70b", "H100-SXM", 4, 1000, 1000, 7_430.99),
    ("trtllm017-a100-llama70b-tp4-128-2048", "llama70b", "A100-80G", 4, 128, 2048, 2_811.27),
    ("trtllm017-a100-llama70b-tp4-2048-128", "llama70b", "A100-80G", 4, 2048, 128, 325.15),
    ("trtllm017-a100-llama70b-tp4-1000-1000", "llama70b", "A100-80G", 4, 1000, 1000, 1_921.77),
    ("trtllm017-h200-mixtral-tp2-128-2048", "mixtral", "H200", 2, 128, 2048, 29_584.05),
    ("trtllm017-h200-mixtral-tp2-2048-128", "mixtral", "H200", 2, 2048, 128, 3_383.16),
    ("trtllm017-h200-mixtral-tp2-1000-1000", "mixtral", "H200", 2, 1000, 1000, 19_151.19),
    ("trtllm017-h100-mixtral-tp2-128-2048", "mixtral", "H100-SXM", 2, 128, 2048, 22_830.08),
    ("trtllm017-h100-mixtral-tp2-2048-128", "mixtral", "H100-SXM", 2, 2048, 128, 3_333.68),
    ("trtllm017-h100-mixtral-tp2-1000-1000", "mixtral", "H100-SXM", 2, 1000, 1000, 15_770.89),
    ("trtllm017-a100-mixtral-tp2-128-2048", "mixtral", "A100-80G", 2, 128, 2048, 4_169.78),
    ("trtllm017-a100-mixtral-tp2-2048-128", "mixtral", "A100-80G", 2, 2048, 128, 649.0),
    ("trtllm017-a100-mixtral-tp2-1000-1000", "mixtral", "A100-80G", 2, 1000, 1000, 3_154.52),
];

/// The row's task: the model at FP8 weights and KV cache (FP16 on A100), TensorRT-LLM.
fn task(model: &str, gpu: &str, batch: u64, isl: u64, osl: u64) -> RawTask {
    let mut t = published::model_task(model, gpu, Engine::Trtllm, (batch, isl, osl));
    let dtype = if gpu == "A100-80G" {
        Dtype::Fp16
    } else {
        Dtype::Fp8
    };
    (t.model.dtype, t.model.kv_cache_dtype) = (Some(dtype), Some(dtype));
    t
}

/// TP for attention; Mixtral's experts split by TP (TensorRT-LLM's default MoE mapping).
fn layout(model: &str, tp: u64) -> Layout {
    if model == "mixtral" {
        published::moe_tp(tp)
    } else {
        super::layout(tp, 1, 1)
    }
}

pub(super) fn rows() -> Vec<Row> {
    V017.iter()
        .map(|&(id, model, gpu, tp, isl, osl, measured)| {
            let bytes = if gpu == "A100-80G" { 2.0 } else { 1.0 };
            let batch = concurrency(model, gpu, tp, bytes, isl, osl);
            Row {
                id,
                source: TRTLLM_V017,
                setting: "Llama-3.1-8B TP1, Llama-3.1-70B TP4 or Mixtral-8x7B TP2 (experts split by TP) as in the id, FP8 weights + FP8 KV cache on H100/H200, FP16 on A100, ISL/OSL as in the id; the table's engine throughput divided by TP; in-flight batching at the concurrency trtllm-bench's sizing rule admits (pdplan::cost::calibration::ifb::concurrency: KV cache = 0.95 of the memory left by the weights, ISL+OSL tokens per request, at most 4,096), costed as the static-batch cycle",
                group: Group::TrtllmV017,
                task: task(model, gpu, batch, isl, osl),
                layout: layout(model, tp),
                batch,
                metric: Metric::StaticBatchOutputTokensPerGpu,
                measured: measured / tp as f64,
                unit: "output tokens/s/GPU",
                note: "",
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizing rule on cases worked by hand from tuning.py: Llama-3.1-8B FP8 on one H100 at
    /// 128/2048 leaves (79.65 − 7.48) × 0.95 = 68.6 GiB for 2,176 tokens × 64 KiB: 513 requests;
    /// 70B FP8 on one H100 leaves 14.0 GiB × 0.95 for 2,176 × 160 KiB: 40; the 4,096 cap binds
    /// for 8B at 128 + 128 tokens on an H200.
    #[test]
    fn concurrency_follows_trtllm_bench() {
        assert_eq!(concurrency("llama8b", "H100-SXM", 1, 1.0, 128, 2048), 516);
        assert_eq!(concurrency("llama70b", "H100-SXM", 1, 1.0, 128, 2048), 39);
        assert_eq!(concurrency("llama8b", "H200", 1, 1.0, 128, 128), 4096);
    }
}
