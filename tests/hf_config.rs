//! Real Hugging Face configs (fixtures/hf/, sources in fixtures/hf/SOURCES.md): parameter counts
//! against the published figures, the weight dtype, and a warning for every architecture feature
//! the cost model does not have (issue 14 items 5 and 7).

use pdplan::input::hf_config::parse_hf_config;
use pdplan::input::markdown::ParsedTask;
use pdplan::input::task::{Dtype, RawModel, RawTask};
use pdplan::spec::model_size::{active_params, embedding_params, total_params};
use pdplan::spec::resolve::{Resolved, resolve};

/// Resolve a task on the GPU preset `gpu` (8 sequences of 1,024 input and output tokens) whose
/// model `set_model` fills in (HF config paths are relative to `fixtures/hf/`).
fn resolve_on(gpu: &str, set_model: impl FnOnce(&mut RawModel)) -> pdplan::error::Result<Resolved> {
    let mut raw = RawTask::default();
    set_model(&mut raw.model);
    raw.hardware.preset = Some(gpu.into());
    raw.workload.batch = Some(8);
    raw.workload.input_len = Some(1024);
    raw.workload.output_len = Some(1024);
    let parsed = ParsedTask {
        raw,
        fields: Vec::new(),
        warnings: Vec::new(),
        empty: Vec::new(),
    };
    resolve("fixtures/hf/task.json", parsed)
}

/// Resolve a task whose model is the HF config (folder or file) at `fixtures/hf/<rel>`.
fn resolve_hf(rel: &str) -> Resolved {
    resolve_on("B300", |m| m.hf_config = Some(rel.to_string())).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (fixture folder, published total, published active, weight dtype of the checkpoint).
/// MiniMax publishes its active count as `10B` (one significant figure, ±5 %).
const PUBLISHED: &[(&str, f64, f64, Dtype)] = &[
    ("llama-4-scout", 109e9, 17e9, Dtype::Bf16),
    ("llama-4-maverick", 400e9, 17e9, Dtype::Bf16),
    ("gpt-oss-120b", 116.8e9, 5.1e9, Dtype::Fp4),
    ("gpt-oss-20b", 20.9e9, 3.6e9, Dtype::Fp4),
    ("kimi-k2", 1.04e12, 32e9, Dtype::Fp8),
    ("kimi-k2.5", 1.04e12, 32e9, Dtype::Int4),
    ("kimi-k2.5-nvfp4", 1.04e12, 32e9, Dtype::Fp4),
    ("glm-5", 744e9, 40e9, Dtype::Bf16),
    ("glm-5-nvfp4", 744e9, 40e9, Dtype::Fp4),
    ("qwen3-30b-a3b", 30.5e9, 3.3e9, Dtype::Bf16),
    ("qwen3-coder-480b", 480e9, 35e9, Dtype::Bf16),
    ("deepseek-r1", 671e9, 37e9, Dtype::Fp8),
    ("deepseek-v3.2", 671e9, 37e9, Dtype::Fp8),
    ("deepseek-v3.2-nvfp4", 671e9, 37e9, Dtype::Fp4),
    ("mixtral-8x22b", 141e9, 39e9, Dtype::Bf16),
    ("minimax-m2.5", 230e9, 10e9, Dtype::Fp8),
    ("qwen3-32b-fp8", 32.8e9, 32.8e9, Dtype::Fp8),
];

#[test]
fn published_parameter_counts_within_three_percent() {
    for &(dir, total, active, dtype) in PUBLISHED {
        let r = resolve_hf(dir);
        let m = &r.task.model;
        let t = total_params(m);
        assert!(
            (t / total - 1.0).abs() <= 0.03,
            "{dir}: total {:.1} B vs published {:.1} B",
            t / 1e9,
            total / 1e9
        );
        // Model cards differ on whether the input embedding counts as active: the published
        // figure must lie within 3 % of the range [without it, with it].
        let (lo, hi) = (active_params(m), active_params(m) + embedding_params(m));
        let tol = if dir.starts_with("minimax") { 0.05 } else { 0.03 };
        assert!(
            active >= lo * (1.0 - tol) && active <= hi * (1.0 + tol),
            "{dir}: active {:.2}..{:.2} B vs published {:.2} B",
            lo / 1e9,
            hi / 1e9,
            active / 1e9
        );
        assert_eq!(m.dtype, dtype, "{dir}: weight dtype");
    }
}

fn warned(r: &Resolved, needle: &str) -> bool {
    r.warnings.iter().any(|w| w.contains(needle))
}

#[test]
fn unmodelled_features_are_warned_about() {
    let cases: &[(&str, &[&str])] = &[
        (
            "gpt-oss-120b",
            &[
                "sliding-window attention (window 128 tokens) on 18 of 36 layers",
                "in 16-bit",
            ],
        ),
        ("deepseek-v3.2", &["sparse attention (DSA"]),
        ("glm-5", &["sparse attention (DSA"]),
        ("llama-4-scout", &["chunked local attention"]),
        ("kimi-k2.5", &["vision encoder", "in 16-bit"]),
        ("deepseek-v3.2-nvfp4", &["sparse attention (DSA", "in 16-bit"]),
    ];
    for (dir, needles) in cases {
        let r = resolve_hf(dir);
        for n in *needles {
            assert!(warned(&r, n), "{dir}: no warning with `{n}` in {:?}", r.warnings);
        }
    }
    // A plain dense / MoE config with nothing unmodelled gives no architecture warning.
    let r = resolve_hf("qwen3-30b-a3b");
    assert!(
        !r.warnings.iter().any(|w| w.contains("config.json")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn interleaved_moe_and_shared_experts_are_read() {
    let m = resolve_hf("llama-4-maverick").task.model;
    let moe = m.moe.as_ref().expect("MoE");
    assert_eq!((m.layers, moe.dense_layers, m.moe_layers()), (48, 24, 24));
    assert_eq!(m.ffn_intermediate_size, 16384); // intermediate_size_mlp of the dense layers
    assert_eq!((moe.expert_intermediate_size, moe.shared_experts), (8192, 1));
    let scout = resolve_hf("llama-4-scout").task.model;
    assert_eq!(
        scout.moe.as_ref().map(|x| (x.dense_layers, x.shared_experts)),
        Some((0, 1))
    );
    let glm = resolve_hf("glm-5").task.model;
    assert_eq!(glm.head_dim, 256); // qk_head_dim = 192 + 64, not the config's head_dim 64
    let k2 = resolve_hf("kimi-k2").task.model;
    assert_eq!(
        k2.moe
            .as_ref()
            .map(|x| (x.experts, x.shared_experts, x.dense_layers)),
        Some((384, 1, 1))
    );
}

#[test]
fn modelopt_quant_config_beside_config_json_sets_weights_and_kv_cache() {
    let r = resolve_hf("deepseek-v3.2-nvfp4");
    assert_eq!(r.task.model.dtype, Dtype::Fp4);
    assert_eq!(r.task.model.kv_cache_dtype, Dtype::Fp8);
    // The same config.json named as a file, without its folder's quant file, reads bf16.
    let plain = resolve_hf("deepseek-v3.2-nvfp4/config.json");
    assert_eq!(plain.task.model.dtype, Dtype::Bf16);
}

#[test]
fn every_unread_key_is_named() {
    let text = r#"{"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4,
        "intermediate_size": 128, "vocab_size": 100, "model_type": "llama",
        "rope_theta": 10000, "fancy_new_sparsity": 0.5}"#;
    let hf = parse_hf_config("c.json", text).unwrap();
    assert!(
        hf.warnings
            .iter()
            .any(|w| w.contains("fancy_new_sparsity") && !w.contains("rope_theta")),
        "{:?}",
        hf.warnings
    );
}

#[test]
fn presets_match_their_fixture_configs() {
    let pairs = [
        ("Llama-4-Scout", "llama-4-scout"),
        ("Llama-4-Maverick", "llama-4-maverick"),
        ("gpt-oss-120b", "gpt-oss-120b"),
        ("gpt-oss-20b", "gpt-oss-20b"),
        ("Kimi-K2", "kimi-k2"),
        ("Kimi-K2.5", "kimi-k2.5"),
        ("GLM-5", "glm-5"),
        ("Qwen3-30B-A3B", "qwen3-30b-a3b"),
        ("Qwen3-Coder-480B", "qwen3-coder-480b"),
        ("DeepSeek-V3.2", "deepseek-v3.2"),
        ("MiniMax-M2.5", "minimax-m2.5"),
    ];
    for (preset, dir) in pairs {
        let p = pdplan::spec::presets::model_preset(preset).unwrap_or_else(|| panic!("no preset {preset}"));
        let from_preset = resolve_on("B300", |m| m.preset = Some(p.name.clone()))
            .unwrap()
            .task
            .model;
        let from_hf = resolve_hf(dir).task.model;
        let shape = |m: &pdplan::spec::task::Model| {
            (
                m.layers,
                m.hidden_size,
                m.heads,
                m.head_dim,
                m.kv_heads,
                m.ffn_intermediate_size,
                m.moe.clone(),
                m.mla.clone(),
                m.vocab_size,
                m.dtype,
            )
        };
        assert_eq!(
            shape(&from_preset),
            shape(&from_hf),
            "preset {preset} vs fixtures/hf/{dir}"
        );
    }
}

/// `quantization_config.weight_block_size` of an FP8 checkpoint selects the block-scaled FP8 GEMM
/// (AIConfigurator's `fp8_block` mode reads the same key): Qwen3-32B-FP8's published config
/// (`[128, 128]`) resolves to block scales and its GEMM is the measured block kernel, whose time
/// steps at the 128-row tile; the same config without the key stays per-tensor.
#[test]
fn weight_block_size_selects_the_block_scaled_fp8_gemm() {
    use pdplan::cost::kernels::{Kernels, fp8_block_scaled};
    let mut r = resolve_hf("qwen3-32b-fp8");
    assert_eq!(r.task.model.weight_block_size, Some([128, 128]));
    r.task.hardware = resolve_on_h100().task.hardware;
    assert!(fp8_block_scaled(&r.task));
    let k = Kernels::for_task(&r.task);
    assert!(k.gemm.source.contains("fp8_block"), "{}", k.gemm.source);
    let (n, kk) = (25600.0 * 2.0, 5120.0);
    let gemm_s = |m: f64| {
        let bytes = n * kk + 2.0 * m * (n + kk);
        k.time(k.gemm, 2.0 * m * n * kk, k.peak_flops_per_s, bytes, m, 1.0)
            .0
    };
    assert!(gemm_s(129.0) > 1.6 * gemm_s(128.0), "no tile step at M = 129");

    let text = std::fs::read_to_string("fixtures/hf/qwen3-32b-fp8/config.json").unwrap();
    let per_tensor = parse_hf_config("per-tensor", &text.replace("weight_block_size", "block_note")).unwrap();
    assert_eq!(per_tensor.model.dtype, Some(Dtype::Fp8));
    assert_eq!(per_tensor.model.weight_block_size, None);
}

/// A float32 checkpoint (Gemma-2, Phi and many fine-tunes publish `torch_dtype: float32`) is
/// planned at the 16 bits the engines serve it in, with a note; a quantized one keeps its
/// quantization, and a task's own `Precision` line still wins.
#[test]
fn a_float32_checkpoint_is_planned_at_sixteen_bits() {
    let text = std::fs::read_to_string("fixtures/hf/llama-3.1-70b.json").unwrap();
    let fp32 = text.replace("\"bfloat16\"", "\"float32\"");
    assert_ne!(fp32, text, "the fixture names its torch_dtype");
    let m = parse_hf_config("fp32", &fp32).unwrap();
    assert_eq!(m.model.dtype, Some(Dtype::Bf16));
    assert!(m.notes.iter().any(|n| n.contains("float32")), "{:?}", m.notes);
    let bf16 = parse_hf_config("bf16", &text).unwrap();
    assert_eq!(bf16.model.dtype, Some(Dtype::Bf16));
    assert!(!bf16.notes.iter().any(|n| n.contains("float32")));
    let fp8 = std::fs::read_to_string("fixtures/hf/qwen3-32b-fp8/config.json").unwrap();
    let q = parse_hf_config("fp8", &fp8.replace("\"bfloat16\"", "\"float32\"")).unwrap();
    assert_eq!(q.model.dtype, Some(Dtype::Fp8));
}

/// The Qwen3-32B-FP8 config resolved on an H100-SXM (a GPU with a measured block-FP8 table).
fn resolve_on_h100() -> Resolved {
    resolve_on("H100-SXM", |m| m.hf_config = Some("qwen3-32b-fp8".into())).expect("resolves")
}

/// Hybrid Mamba-2 / attention stacks (NVIDIA Nemotron-H): the block-by-block parameter count
/// (the declared size that scales weights) is within 3 % of the published total, the stack is
/// read as one layer per FFN block, and the hybrid (and latent MoE) is a warning. The Super
/// config holds Python's `Infinity`, which is read as null.
#[test]
fn hybrid_mamba_stacks_count_their_parameters() {
    for (dir, published, ffn_blocks, dtype) in [
        ("nemotron-3-nano-30b-a3b", 31.6e9, 23, Dtype::Bf16),
        ("nemotron-3-super-120b-a12b-fp8", 120e9, 40, Dtype::Fp8),
        ("nemotron-h-56b", 56e9, 54, Dtype::Bf16),
    ] {
        let r = resolve_hf(dir);
        let m = &r.task.model;
        let declared = m
            .declared_params
            .unwrap_or_else(|| panic!("{dir}: no block count"));
        assert!(
            (declared / published - 1.0).abs() < 0.03,
            "{dir}: {declared:e} vs {published:e}"
        );
        assert!(
            total_params(m) <= declared * 1.01,
            "{dir}: the layers read exceed the stack"
        );
        assert_eq!(m.layers, ffn_blocks, "{dir}");
        assert_eq!(m.dtype, dtype, "{dir}");
        assert!(!m.gated_ffn, "{dir}: squared ReLU is not gated");
        assert!(warned(&r, "hybrid Mamba-2"), "{dir}");
    }
    assert!(warned(
        &resolve_hf("nemotron-3-super-120b-a12b-fp8"),
        "latent MoE"
    ));
}

/// Families that name the shape another way (`transformers`' `attribute_map`s): GPT-2
/// (`n_layer`, `n_embd`, `n_head`, `n_inner: null` = 4 × hidden, tied embeddings by default),
/// DBRX (`d_model`, `n_layers`, `n_heads`, nested `attn_config` / `ffn_config`), Falcon-7B
/// (`multi_query`: one KV head), ChatGLM (`num_layers`, `multi_query_group_num`,
/// `ffn_hidden_size`, `kv_channels`, `padded_vocab_size`).
#[test]
fn other_families_spellings_of_the_shape_are_read() {
    let read = |text: &str| parse_hf_config("family", text).unwrap().model;
    let gpt2 = read(
        r#"{"model_type":"gpt2","n_layer":48,"n_embd":1600,"n_head":25,"n_inner":null,"vocab_size":50257,"n_positions":1024}"#,
    );
    assert_eq!(
        (gpt2.layers, gpt2.hidden_size, gpt2.heads),
        (Some(48), Some(1600), Some(25))
    );
    assert_eq!(
        (gpt2.ffn_intermediate_size, gpt2.gated_ffn, gpt2.tied_embeddings),
        (Some(6400), Some(false), Some(true))
    );
    let dbrx = read(
        r#"{"model_type":"dbrx","d_model":6144,"n_layers":40,"n_heads":48,"vocab_size":100352,
            "attn_config":{"kv_n_heads":8},"ffn_config":{"ffn_hidden_size":10752,"moe_num_experts":16,"moe_top_k":4},
            "tie_word_embeddings":false}"#,
    );
    assert_eq!(
        (dbrx.layers, dbrx.hidden_size, dbrx.heads, dbrx.kv_heads),
        (Some(40), Some(6144), Some(48), Some(8))
    );
    let moe = dbrx.moe.expect("DBRX experts");
    assert_eq!(
        (moe.experts, moe.top_k, moe.expert_intermediate_size),
        (Some(16), Some(4), Some(10752))
    );
    let falcon = read(
        r#"{"model_type":"falcon","hidden_size":4544,"num_attention_heads":71,"num_hidden_layers":32,"multi_query":true,"vocab_size":65024}"#,
    );
    assert_eq!(
        (falcon.kv_heads, falcon.ffn_intermediate_size),
        (Some(1), Some(4 * 4544))
    );
    let glm = read(
        r#"{"model_type":"chatglm","num_layers":28,"hidden_size":4096,"num_attention_heads":32,"multi_query_group_num":2,
            "ffn_hidden_size":13696,"kv_channels":128,"padded_vocab_size":65024}"#,
    );
    assert_eq!(
        (
            glm.layers,
            glm.kv_heads,
            glm.ffn_intermediate_size,
            glm.head_dim,
            glm.vocab_size
        ),
        (Some(28), Some(2), Some(13696), Some(128), Some(65024))
    );
}

/// Linear-attention hybrids (Qwen3.5: Gated DeltaNet on three of four layers, gated full
/// attention on the fourth): the layer-by-layer count is within 3 % of the published total and
/// the hybrid is a warning. A ModelOpt MIXED_PRECISION checkpoint takes its FFN weights' format
/// (NVFP4) and warns about the attention's (FP8).
#[test]
fn linear_attention_hybrids_count_their_parameters() {
    for (dir, published) in [
        ("qwen3.5-27b", 27e9),
        ("qwen3.5-397b-a17b", 397e9),
        ("qwen3.6-27b-nvfp4", 27e9),
    ] {
        let r = resolve_hf(dir);
        let declared = r
            .task
            .model
            .declared_params
            .unwrap_or_else(|| panic!("{dir}: no count"));
        assert!((declared / published - 1.0).abs() < 0.03, "{dir}: {declared:e}");
        assert!(warned(&r, "linear attention (Gated DeltaNet) on"), "{dir}");
    }
    let r = resolve_hf("qwen3.6-27b-nvfp4");
    assert_eq!(
        (r.task.model.dtype, r.task.model.kv_cache_dtype),
        (Dtype::Fp4, Dtype::Fp8)
    );
    assert!(warned(&r, "mixed precision"));
}

/// A NAS-pruned Llama (`block_configs`: 31 of 80 blocks without attention, FFNs of six sizes) is
/// read as its 49 attention layers holding every block's FFN weights: the published total within
/// 3 %, the GQA groups read, and a warning.
#[test]
fn per_block_configs_keep_the_parameters() {
    let r = resolve_hf("llama-3.3-nemotron-super-49b");
    let m = &r.task.model;
    assert!(
        (total_params(m) / 49.9e9 - 1.0).abs() < 0.03,
        "{:e}",
        total_params(m)
    );
    assert_eq!((m.layers, m.kv_heads), (49, 8));
    assert!(warned(&r, "block_configs"));
}

/// A mixer kind this reader has no count for (a Granite-4-style `mamba` entry of `layer_types`)
/// is a warning naming it.
#[test]
fn unknown_layer_types_are_warned_about() {
    let granite = parse_hf_config(
        "granite",
        r#"{"model_type":"granitemoehybrid","num_hidden_layers":4,"hidden_size":64,"num_attention_heads":4,
            "num_key_value_heads":4,"intermediate_size":128,"vocab_size":100,
            "layer_types":["mamba","mamba","mamba","attention"]}"#,
    )
    .unwrap();
    assert!(
        granite
            .warnings
            .iter()
            .any(|w| w.contains("(mamba on 3 of 4 layers)")),
        "{:?}",
        granite.warnings
    );
    let gemma = parse_hf_config(
        "gemma",
        r#"{"model_type":"gemma3_text","num_hidden_layers":2,"hidden_size":64,"num_attention_heads":4,
            "num_key_value_heads":4,"intermediate_size":128,"vocab_size":100,
            "layer_types":["sliding_attention","full_attention"],"sliding_window":512}"#,
    )
    .unwrap();
    assert!(
        !gemma
            .warnings
            .iter()
            .any(|w| w.contains("layer types not modelled"))
    );
}

/// A size or count of the wrong type is refused naming the file and the key: the typed getters
/// read it as absent, so a string `num_key_value_heads` became one KV head per query head
/// (8× the KV cache) and a string `num_hidden_layers` a "missing field" error about the task.
#[test]
fn a_count_of_the_wrong_type_is_refused_naming_the_key() {
    let text = std::fs::read_to_string("fixtures/hf/deepseek-r1/config.json").unwrap();
    let good: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(parse_hf_config("config.json", &text).is_ok());
    let bad_values = [
        serde_json::json!("8"),
        serde_json::json!(8.5),
        serde_json::json!(-1),
        serde_json::json!(true),
        serde_json::json!([8]),
    ];
    for key in [
        "num_key_value_heads",
        "num_hidden_layers",
        "n_routed_experts",
        "kv_lora_rank",
    ] {
        for v in &bad_values {
            let mut c = good.clone();
            c[key] = v.clone();
            let e = parse_hf_config("cfg/config.json", &c.to_string())
                .expect_err(key)
                .to_string();
            assert!(
                e.contains("cfg/config.json") && e.contains(&format!("`{key}`")),
                "{key} = {v}: {e}"
            );
        }
        // null is "absent", as before.
        let mut c = good.clone();
        c[key] = serde_json::Value::Null;
        let _ = parse_hf_config("cfg/config.json", &c.to_string()).map_err(|e| {
            assert!(
                !e.to_string().contains("expected a whole number"),
                "{key} = null: {e}"
            )
        });
    }
}

/// How a per-tensor FP8 checkpoint scales its activations decides whether its GEMMs pay the scale
/// computation the measured FP8 rows include: NVIDIA's ModelOpt Llama-3.1-70B-Instruct-FP8
/// (`hf_quant_config.json` `quant_algo: FP8`, static calibrated input scales) resolves to static
/// scales, and its decode step on H200 / TensorRT-LLM is shorter than the same shape's as
/// measured; `activation_scheme: dynamic` reads as dynamic; a block-scaled checkpoint (Qwen3-32B-FP8,
/// which also says `dynamic`) states nothing per tensor, and a config that says nothing stays as
/// measured.
#[test]
fn static_fp8_activation_scales_are_read_from_the_checkpoint() {
    let r = resolve_on("H200", |m| {
        m.hf_config = Some("llama-3.1-70b-instruct-fp8".into())
    })
    .expect("resolves");
    assert_eq!(r.task.model.dtype, Dtype::Fp8);
    assert!(r.task.model.static_activation_scales, "ModelOpt FP8 is static");
    let text = std::fs::read_to_string("fixtures/hf/llama-3.1-70b-instruct-fp8/config.json").unwrap();
    let plain = parse_hf_config("plain", &text).unwrap();
    assert_eq!(
        plain.model.static_activation_scales, None,
        "config.json alone says nothing"
    );
    let with = |scheme: &str| {
        let q = format!(
            "\"quantization_config\": {{\"quant_method\": \"fp8\", \"activation_scheme\": \"{scheme}\"}},\n  \"vocab_size\""
        );
        parse_hf_config(scheme, &text.replacen("\"vocab_size\"", &q, 1)).unwrap()
    };
    assert_eq!(with("dynamic").model.static_activation_scales, Some(false));
    assert_eq!(with("static").model.static_activation_scales, Some(true));
    assert_eq!(with("dynamic").model.dtype, Some(Dtype::Fp8));
    let block = parse_hf_config(
        "block",
        &std::fs::read_to_string("fixtures/hf/qwen3-32b-fp8/config.json").unwrap(),
    )
    .unwrap();
    assert_eq!(block.model.static_activation_scales, None);

    // The cost: a decode step of the static checkpoint is shorter than the same task as measured.
    use pdplan::cost::kernels::Kernels;
    let mut task = r.task.clone();
    task.cost.engine = pdplan::spec::task::Engine::Trtllm;
    assert!(Kernels::for_task(&task).fp8_quant.is_some());
    let step = |t: &pdplan::spec::task::Task| {
        let l = pdplan::layout::Layout {
            tp: 8,
            pp: 1,
            sp: 1,
            attention_dp: 1,
            ep: 1,
            expert_tp: 1,
        };
        let f = pdplan::cost::evaluate(t, pdplan::layout::Phase::Decode, &l, 8);
        f.tpot_s.expect("decode")
    };
    let fast = step(&task);
    task.model.static_activation_scales = false;
    let measured = step(&task);
    assert!(fast < 0.97 * measured, "static {fast} vs as measured {measured}");
}

/// A MoE model whose expert shape the engine's table measures runs its grouped GEMM on that
/// shape's own curve for the layout: Qwen3-30B-A3B (128 experts of 2048 × 768, top-8) in block
/// FP8 on H200 / TensorRT-LLM reproduces the table's busiest-group rows (aiconfigurator-core 0.12,
/// `h200_sxm/moe/trtllm/1.3.0rc20/moe_perf.parquet`, fp8_block, power_law_1.01, moe_tp 1) within
/// 3 %, where the class curve (a median over shapes) is off by more than 15 % on some of them;
/// a layout the table does not measure keeps its class curve.
#[test]
fn a_measured_moe_shape_runs_on_its_own_curve() {
    use pdplan::cost::kernels::Kernels;
    let mut r = resolve_on("H200", |m| {
        m.hf_config = Some("qwen3-30b-a3b".into());
        m.dtype = Some(Dtype::Fp8);
        m.weight_block_size = Some([128, 128]);
    })
    .expect("resolves");
    let t = &mut r.task;
    t.cost.engine = pdplan::spec::task::Engine::Trtllm;
    let base = Kernels::for_task(t);
    assert!(
        base.moe_shapes.is_some(),
        "H200 TensorRT-LLM has per-shape MoE curves"
    );
    let (h, inter, experts, topk) = (2048.0, 768.0, 128.0, 8.0);
    let per_expert_params = 3.0 * h * inter;
    // (tokens, ep, measured ms)
    let rows = [
        (16.0, 1u64, 0.118816),
        (256.0, 1, 0.251136),
        (4096.0, 1, 1.209402),
        (8192.0, 1, 2.215827),
        (16.0, 4, 0.049965),
        (256.0, 4, 0.091853),
        (4096.0, 4, 0.422086),
        (8192.0, 4, 0.688019),
    ];
    let mut class_worst: f64 = 0.0;
    for (tokens, ep, ms) in rows {
        let imbalance = if ep > 1 { 1.2 } else { 1.0 };
        let local = experts / ep as f64;
        let copies = tokens * topk / ep as f64 * imbalance;
        let active = local * (1.0 - (1.0 - 1.0 / experts).powf(tokens * topk));
        let flops = 2.0 * copies * per_expert_params;
        let bytes = active * per_expert_params + copies * 4.0 * h;
        let per_expert = tokens * topk / experts * imbalance;
        let time = |k: &Kernels| {
            let c = k.moe.expect("a MoE curve");
            k.time(c, flops, k.peak_flops_per_s, bytes, per_expert, 1.0).0
        };
        let l = pdplan::layout::Layout {
            tp: 1,
            pp: 1,
            sp: 1,
            attention_dp: ep,
            ep,
            expert_tp: 1,
        };
        let own = time(&base.for_expert_layout(&l, h * inter, local));
        let class = time(&base.for_expert_slice(h * inter, local));
        let err = |t: f64| (t / (ms * 1e-3) - 1.0).abs();
        assert!(
            err(own) < 0.03,
            "{tokens} tokens ep {ep}: {:.1} us vs {:.1} measured",
            own * 1e6,
            ms * 1e3
        );
        class_worst = class_worst.max(err(class));
    }
    assert!(
        class_worst > 0.15,
        "the class curve was already exact ({class_worst:.3})"
    );
    // Expert-TP 16 is not among the layouts measured for this shape: the class curve.
    let etp16 = pdplan::layout::Layout {
        tp: 16,
        pp: 1,
        sp: 1,
        attention_dp: 1,
        ep: 1,
        expert_tp: 16,
    };
    let k = base.for_expert_layout(&etp16, h * inter / 16.0, experts);
    let class = base.for_expert_slice(h * inter / 16.0, experts);
    assert!(std::ptr::eq(k.moe.unwrap(), class.moe.unwrap()));
}

/// The routing skew of a model (`model.moe.routing_skew`): DeepSeek-V3's auxiliary-loss-free
/// routing (`topk_method: noaux_tc`) reads low, every other router high; and on an EP layout a
/// high-skew model's grouped MoE GEMM follows the table's alpha-1.2 rows, a low-skew one its
/// alpha-1.01 rows (TensorRT-LLM 1.3.0rc20, H200, Qwen3-30B-A3B's 128 experts of 2048 x 768 in
/// block FP8, busiest EP group), while EP = 1 is the same under both.
#[test]
fn the_routing_skew_follows_the_power_law_rows_of_the_tables() {
    use pdplan::cost::kernels::Kernels;
    use pdplan::input::task::RoutingSkew;
    let skew_of = |rel: &str| {
        let r = resolve_hf(rel);
        r.task.model.moe.as_ref().map(|m| m.routing_skew)
    };
    for rel in ["deepseek-r1", "deepseek-v3.2", "kimi-k2", "kimi-k2.5", "glm-5"] {
        assert_eq!(skew_of(rel), Some(RoutingSkew::Low), "{rel}");
    }
    for rel in [
        "qwen3-30b-a3b",
        "gpt-oss-120b",
        "minimax-m2.5",
        "llama-4-scout",
        "mixtral-8x22b",
    ] {
        assert_eq!(skew_of(rel), Some(RoutingSkew::High), "{rel}");
    }
    let mut r = resolve_on("H200", |m| {
        m.hf_config = Some("qwen3-30b-a3b".into());
        m.dtype = Some(Dtype::Fp8);
        m.weight_block_size = Some([128, 128]);
    })
    .expect("resolves");
    r.task.cost.engine = pdplan::spec::task::Engine::Trtllm;
    let base = Kernels::for_task(&r.task);
    let (h, inter, experts, topk) = (2048.0, 768.0, 128.0, 8.0);
    // (tokens, ep, alpha 1.01 ms, alpha 1.2 ms)
    let rows = [
        (1024.0, 4u64, 0.139066, 0.155002),
        (4096.0, 4, 0.422086, 0.452006),
        (8192.0, 4, 0.688019, 0.953779),
        (1024.0, 8, 0.090560, 0.103123),
        (4096.0, 8, 0.278560, 0.324602),
        (8192.0, 8, 0.474726, 0.572390),
    ];
    let (mut low_err, mut high_err, mut unskewed_err) = (Vec::new(), Vec::new(), Vec::new());
    for (tokens, ep, low_ms, high_ms) in rows {
        let local = experts / ep as f64;
        let per_expert = tokens * topk / experts * 1.2;
        let l = pdplan::layout::Layout {
            tp: 1,
            pp: 1,
            sp: 1,
            attention_dp: ep,
            ep,
            expert_tp: 1,
        };
        let k = base.for_expert_layout(&l, h * inter, local);
        let c = k.moe.expect("a MoE curve");
        let copies = tokens * topk / ep as f64 * 1.2;
        let active = local * (1.0 - (1.0 - 1.0 / experts).powf(tokens * topk));
        let flops = 2.0 * copies * 3.0 * h * inter;
        let bytes = active * 3.0 * h * inter + copies * 4.0 * h;
        let t = k.time(c, flops, k.peak_flops_per_s, bytes, per_expert, 1.0).0;
        let err = |t: f64, ms: f64| (t / (ms * 1e-3) - 1.0).abs();
        low_err.push(err(t, low_ms));
        high_err.push(err(t * c.skew_at(per_expert), high_ms));
        unskewed_err.push(err(t, high_ms));
    }
    // The skew is the isotonic fit of the measured ratios (it smooths the 1.39x of the 8,192-token
    // EP4 row to 1.19x): every alpha-1.2 row is closer than the alpha-1.01 curve alone, which is
    // 7-28 % fast on them.
    let worst = |e: &[f64]| e.iter().cloned().fold(0.0_f64, f64::max);
    assert!(worst(&low_err) < 0.05, "{low_err:?}");
    assert!(worst(&high_err) < 0.17, "{high_err:?}");
    for (i, (h, u)) in high_err.iter().zip(&unskewed_err).enumerate() {
        assert!(h < u, "row {i}: {h} vs {u} without the skew");
    }
    assert!(worst(&unskewed_err) > 0.25, "{unskewed_err:?}");
}
