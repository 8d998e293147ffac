//! Presets (models/) and Hugging Face config.json reading.

use pdplan::error::Error;
use pdplan::input::hf_config::{parse_hf_config, read_hf_config};
use pdplan::input::markdown::ParsedTask;
use pdplan::spec::presets::{self, gpu_names, gpu_preset, model_names, model_preset};
use pdplan::spec::resolve::resolve;
use pdplan::spec::task::{AttentionKind, Dtype, Model, RawModel, RawTask, RawWorkload};
use std::path::Path;

fn fixture(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Resolve a model given only as a RawModel (plus a GPU preset and a workload).
fn resolve_model(model: RawModel) -> (Model, Vec<String>, Vec<String>) {
    let raw = RawTask {
        model,
        hardware: pdplan::spec::task::RawHardware {
            preset: Some("H100-SXM".into()),
            ..Default::default()
        },
        workload: RawWorkload {
            batch: Some(8),
            max_len: Some(4096),
            ..Default::default()
        },
        ..Default::default()
    };
    let r = resolve(
        "task.json",
        ParsedTask {
            raw,
            ..Default::default()
        },
    )
    .expect("resolves");
    (r.task.model, r.assumptions, r.warnings)
}

/// The shape and precision, without names, sizes as declared, and the FP8 scale blocks (the
/// DeepSeek-V3 preset keeps per-tensor FP8 though its config.json is block-scaled: its note
/// says why; `block_scaled_presets_resolve_their_weight_blocks_at_fp8_only` covers the blocks).
fn shape_only(mut m: Model) -> Model {
    m.weight_block_size = None;
    m.name = None;
    m.preset = None;
    m.hf_config = None;
    m.path = None;
    m.declared_params = None;
    m
}

/// Parameter count of a resolved model from its shape (weights only; MTP modules excluded).
fn param_count(m: &Model) -> f64 {
    let h = m.hidden_size as f64;
    let attn = match &m.mla {
        Some(mla) => {
            let heads = m.heads as f64;
            let qk = (mla.qk_nope_head_dim + mla.qk_rope_head_dim) as f64;
            let q = if mla.q_lora_rank > 0 {
                h * mla.q_lora_rank as f64 + mla.q_lora_rank as f64 * heads * qk
            } else {
                h * heads * qk
            };
            let kv_down = h * (mla.kv_lora_rank + mla.qk_rope_head_dim) as f64;
            let kv_up = mla.kv_lora_rank as f64 * heads * (mla.qk_nope_head_dim + mla.v_head_dim) as f64;
            let o = heads * mla.v_head_dim as f64 * h;
            q + kv_down + kv_up + o
        }
        None => {
            let q = (m.heads * m.head_dim) as f64;
            let kv = (m.kv_heads * m.head_dim) as f64;
            h * q * 2.0 + 2.0 * h * kv
        }
    };
    let mats = if m.gated_ffn { 3.0 } else { 2.0 };
    let dense_ffn = mats * h * m.ffn_intermediate_size as f64;
    let moe_layer = m.moe.as_ref().map_or(0.0, |e| {
        e.experts as f64 * mats * h * e.expert_intermediate_size as f64
            + e.shared_experts as f64 * mats * h * e.shared_expert_intermediate_size as f64
            + h * e.experts as f64
    });
    let emb = m.vocab_size as f64 * h * if m.tied_embeddings { 1.0 } else { 2.0 };
    m.layers as f64 * attn + m.dense_ffn_layers() as f64 * dense_ffn + m.moe_layers() as f64 * moe_layer + emb
}

#[test]
fn all_embedded_presets_parse_and_are_listed() {
    assert_eq!(
        model_names(),
        vec![
            "Qwen3-235B-A22B",
            "Qwen3-32B",
            "DeepSeek-V3",
            "Llama-3.1-70B",
            "Llama-3.1-405B",
            "Mixtral-8x7B",
            "Llama-4-Scout-17B-16E",
            "Llama-4-Maverick-17B-128E",
            "gpt-oss-120b",
            "gpt-oss-20b",
            "Kimi-K2",
            "Kimi-K2.5",
            "GLM-4.5",
            "GLM-5",
            "Qwen3-30B-A3B",
            "Qwen3-Coder-480B-A35B",
            "DeepSeek-V3.2",
            "MiniMax-M2.5"
        ]
    );
    assert_eq!(
        gpu_names(),
        vec![
            "H100-SXM",
            "H200",
            "H800",
            "A100-80G",
            "H20",
            "B200",
            "Ascend-910B",
            "B300",
            "GB200",
            "MI300X",
            "MI355X"
        ]
    );
    for p in presets::models() {
        assert!(
            p.source.contains("config.json"),
            "{}: source must cite config.json",
            p.name
        );
        assert!(p.model.name.is_none() && p.model.preset.is_none() && p.model.hf_config.is_none());
    }
    for g in presets::gpus() {
        assert!(!g.source.is_empty(), "{}", g.name);
        assert!(g.mfu > 0.0 && g.mfu <= 1.0, "{}", g.name);
        assert!(g.bandwidth_utilization > 0.0 && g.bandwidth_utilization <= 1.0);
        assert!(g.intra_node_bytes_per_s > g.inter_node_bytes_per_s, "{}", g.name);
        assert!(g.peak_flops_per_s.bf16 >= 1e14 && g.peak_flops_per_s.bf16 <= 1e16);
        assert!(g.memory_bytes >= 1e10 && g.hbm_bytes_per_s >= 1e12);
        // GB200 NVL72: the NVLink domain is the 72-GPU rack.
        assert!(matches!(g.gpus_per_node, 8 | 72), "{}", g.name);
        let p = &g.peak_flops_per_s;
        if let (Some(fp4), Some(fp8)) = (p.fp4, p.fp8) {
            assert!(fp4 >= fp8 && fp8 >= p.bf16, "{}: fp4 >= fp8 >= bf16", g.name);
        }
    }
}

#[test]
fn names_are_unique_across_presets_and_aliases() {
    let mut seen = std::collections::HashSet::new();
    for p in presets::models() {
        for n in std::iter::once(&p.name).chain(&p.aliases) {
            assert!(seen.insert(presets::normalize(n)), "model name {n} used twice");
        }
    }
    let mut seen = std::collections::HashSet::new();
    for g in presets::gpus() {
        for n in std::iter::once(&g.name).chain(&g.aliases) {
            assert!(seen.insert(presets::normalize(n)), "GPU name {n} used twice");
        }
    }
}

#[test]
fn lookup_ignores_case_dashes_underscores_spaces() {
    for n in ["h100", "H100-SXM", "h100_sxm", "H100 SXM", "  H100sxm "] {
        assert_eq!(gpu_preset(n).map(|g| g.name.as_str()), Some("H100-SXM"), "{n}");
    }
    for n in [
        "qwen3-235b",
        "Qwen3-235B-A22B",
        "QWEN3_235B_A22B",
        "Qwen/Qwen3-235B-A22B",
    ] {
        assert_eq!(
            model_preset(n).map(|m| m.name.as_str()),
            Some("Qwen3-235B-A22B"),
            "{n}"
        );
    }
    assert_eq!(
        model_preset("deepseek-ai/DeepSeek-V3").unwrap().name,
        "DeepSeek-V3"
    );
    assert_eq!(model_preset("llama-3.1-405b").unwrap().name, "Llama-3.1-405B");
    assert_eq!(gpu_preset("ascend 910b").unwrap().name, "Ascend-910B");
    assert_eq!(gpu_preset("a100").unwrap().name, "A100-80G");
    assert!(gpu_preset("h300").is_none());
    assert!(gpu_preset("").is_none());
    assert!(gpu_preset("- _").is_none());
    assert!(model_preset("qwen3").is_none(), "a prefix is not a name");
}

#[test]
fn gpu_datasheet_figures() {
    let h100 = gpu_preset("h100").unwrap();
    assert_eq!(h100.peak_flops_per_s.bf16, 989e12);
    assert_eq!(h100.peak_flops_per_s.fp8, Some(1979e12));
    assert_eq!(h100.hbm_bytes_per_s, 3.35e12);
    assert_eq!(h100.memory_bytes, 80e9);
    assert_eq!(
        h100.intra_node_bytes_per_s, 450e9,
        "NVLink4 900 GB/s bidirectional"
    );
    assert_eq!(h100.inter_node_bytes_per_s, 50e9, "400 Gb/s NIC");
    let h800 = gpu_preset("h800").unwrap();
    assert_eq!(h800.peak_flops_per_s, h100.peak_flops_per_s);
    assert_eq!(
        h800.intra_node_bytes_per_s, 200e9,
        "NVLink 400 GB/s bidirectional"
    );
    let h200 = gpu_preset("h200").unwrap();
    assert_eq!((h200.memory_bytes, h200.hbm_bytes_per_s), (141e9, 4.8e12));
    let h20 = gpu_preset("h20").unwrap();
    assert_eq!(
        (h20.peak_flops_per_s.bf16, h20.peak_flops_per_s.fp8),
        (148e12, Some(296e12))
    );
    assert_eq!((h20.memory_bytes, h20.hbm_bytes_per_s), (96e9, 4.0e12));
    let b200 = gpu_preset("b200").unwrap();
    assert_eq!(
        (b200.peak_flops_per_s.bf16, b200.peak_flops_per_s.fp8),
        (2.25e15, Some(4.5e15))
    );
    assert_eq!(b200.hbm_bytes_per_s, 8e12);
    let a100 = gpu_preset("a100-80g").unwrap();
    assert_eq!(a100.peak_flops_per_s.fp8, None, "Ampere has no FP8");
    assert_eq!(a100.hbm_bytes_per_s, 2.039e12);
    let ascend = gpu_preset("910b").unwrap();
    assert_eq!(ascend.peak_flops_per_s.fp8, None, "910B has no FP8");
    assert_eq!((ascend.memory_bytes, ascend.hbm_bytes_per_s), (64e9, 1.6e12));
}

#[test]
fn peak_for_dtype_uses_the_right_column() {
    let h100 = gpu_preset("h100").unwrap();
    assert_eq!(h100.peak_for(Dtype::Fp8).flops_per_s, 1979e12);
    assert_eq!(h100.peak_for(Dtype::Bf16).flops_per_s, 989e12);
    assert_eq!(h100.peak_for(Dtype::Fp16).flops_per_s, 989e12);
    assert_eq!(h100.peak_for(Dtype::Int8).flops_per_s, 1979e12);
    let int4 = h100.peak_for(Dtype::Int4);
    assert_eq!(int4.flops_per_s, 1979e12);
    assert!(int4.note.unwrap().contains("int4"));
    let fp32 = h100.peak_for(Dtype::Fp32);
    assert_eq!(fp32.flops_per_s, 989e12 / 2.0);
    assert!(fp32.note.unwrap().contains("TF32"));
    let a100 = gpu_preset("a100").unwrap().peak_for(Dtype::Fp8);
    assert_eq!(a100.flops_per_s, 312e12);
    assert_eq!(a100.column, "bf16");
    assert!(a100.note.unwrap().contains("no native fp8"));
    assert_eq!(gpu_preset("h100").unwrap().peak_for(Dtype::Fp8).note, None);
}

#[test]
fn model_presets_add_up_to_their_published_parameter_counts() {
    for p in presets::models() {
        let (m, _, _) = resolve_model(RawModel {
            preset: Some(p.name.clone()),
            ..Default::default()
        });
        let declared = p.model.declared_params.expect("every preset declares its size");
        let derived = param_count(&m);
        let err = (derived - declared).abs() / declared;
        assert!(
            err < 0.02,
            "{}: derived {derived:e} vs declared {declared:e}",
            p.name
        );
    }
}

#[test]
fn kv_cache_bytes_per_token_match_the_published_table() {
    // calibration.md, DeepSeek ISCA'25 Table 1 (BF16).
    let kv_bytes = |name: &str| {
        let (m, _, _) = resolve_model(RawModel {
            preset: Some(name.into()),
            ..Default::default()
        });
        let b = m.kv_cache_dtype.bytes();
        match &m.mla {
            Some(mla) => m.layers as f64 * (mla.kv_lora_rank + mla.qk_rope_head_dim) as f64 * b,
            None => m.layers as f64 * (m.kv_heads * m.head_dim) as f64 * 2.0 * b,
        }
    };
    assert_eq!(kv_bytes("DeepSeek-V3"), 70_272.0);
    assert_eq!(kv_bytes("Llama-3.1-70B"), 327_680.0);
    assert_eq!(kv_bytes("Llama-3.1-405B"), 516_096.0);
}

#[test]
fn deepseek_v3_preset_shape() {
    let (m, _, warnings) = resolve_model(RawModel {
        preset: Some("deepseek-v3".into()),
        ..Default::default()
    });
    assert_eq!(m.name.as_deref(), Some("DeepSeek-V3"));
    assert_eq!(m.preset.as_deref(), Some("DeepSeek-V3"));
    assert_eq!(m.attention, AttentionKind::Mla);
    let mla = m.mla.clone().unwrap();
    assert_eq!(
        (
            mla.q_lora_rank,
            mla.kv_lora_rank,
            mla.qk_nope_head_dim,
            mla.qk_rope_head_dim,
            mla.v_head_dim
        ),
        (1536, 512, 128, 64, 128)
    );
    assert_eq!(
        (m.layers, m.hidden_size, m.heads, m.vocab_size),
        (61, 7168, 128, 129280)
    );
    assert_eq!(m.ffn_intermediate_size, 18432);
    let moe = m.moe.clone().unwrap();
    assert_eq!(
        (moe.experts, moe.top_k, moe.expert_intermediate_size),
        (256, 8, 2048)
    );
    assert_eq!((moe.shared_experts, moe.dense_layers), (1, 3));
    assert_eq!(m.moe_layers(), 58);
    assert_eq!(m.dtype, Dtype::Fp8);
    // The task has no requirement: that warning only.
    assert!(
        warnings
            .iter()
            .all(|w| w == pdplan::spec::resolve::NO_REQUIREMENT),
        "{warnings:?}"
    );
}

#[test]
fn hf_configs_resolve_to_the_same_shape_as_the_presets() {
    for (file, preset) in [
        ("fixtures/hf/qwen3-235b-a22b.json", "Qwen3-235B-A22B"),
        ("fixtures/hf/deepseek-v3.json", "DeepSeek-V3"),
        ("fixtures/hf/llama-3.1-70b.json", "Llama-3.1-70B"),
    ] {
        let hf = read_hf_config(&fixture(file)).unwrap();
        let (from_hf, _, _) = resolve_model(hf.model);
        let (from_preset, _, _) = resolve_model(RawModel {
            preset: Some(preset.into()),
            ..Default::default()
        });
        assert_eq!(shape_only(from_hf), shape_only(from_preset), "{file} vs {preset}");
    }
}

#[test]
fn hf_qwen3_moe_fields() {
    let hf = read_hf_config(&fixture("fixtures/hf/qwen3-235b-a22b.json")).unwrap();
    let m = hf.model;
    assert_eq!(
        (m.layers, m.hidden_size, m.heads, m.kv_heads),
        (Some(94), Some(4096), Some(64), Some(4))
    );
    assert_eq!(m.head_dim, Some(128));
    assert_eq!(m.attention, Some(AttentionKind::Gqa));
    assert_eq!(
        m.ffn_intermediate_size,
        Some(0),
        "intermediate_size unused: all layers MoE"
    );
    assert!(
        hf.notes
            .iter()
            .any(|n| n.contains("intermediate_size 12288 ignored"))
    );
    let moe = m.moe.unwrap();
    assert_eq!(
        (moe.experts, moe.top_k, moe.expert_intermediate_size),
        (Some(128), Some(8), Some(1536))
    );
    assert_eq!((moe.shared_experts, moe.dense_layers), (Some(0), Some(0)));
    assert_eq!(m.dtype, Some(Dtype::Bf16));
    assert_eq!(m.tied_embeddings, Some(false));
}

#[test]
fn hf_deepseek_mla_and_fp8() {
    let hf = read_hf_config(&fixture("fixtures/hf/deepseek-v3.json")).unwrap();
    let m = hf.model;
    assert_eq!(
        m.dtype,
        Some(Dtype::Fp8),
        "quantization_config.quant_method fp8 wins over torch_dtype"
    );
    assert_eq!(m.attention, Some(AttentionKind::Mla));
    assert_eq!(m.head_dim, Some(192));
    assert_eq!(m.mla.unwrap().kv_lora_rank, 512);
    let moe = m.moe.unwrap();
    assert_eq!(
        (moe.experts, moe.shared_experts, moe.dense_layers),
        (Some(256), Some(1), Some(3))
    );
    assert_eq!(moe.shared_expert_intermediate_size, Some(2048));
    assert_eq!(m.ffn_intermediate_size, Some(18432));
    assert!(hf.notes.iter().any(|n| n.contains("multi-token-prediction")));
}

#[test]
fn hf_mixtral_intermediate_size_is_the_expert_size() {
    let text = r#"{"model_type":"mixtral","num_hidden_layers":32,"hidden_size":4096,
        "num_attention_heads":32,"num_key_value_heads":8,"intermediate_size":14336,
        "num_local_experts":8,"num_experts_per_tok":2,"vocab_size":32000,
        "tie_word_embeddings":false,"torch_dtype":"bfloat16","sliding_window":null,
        "router_aux_loss_coef":0.02}"#;
    let hf = parse_hf_config("mixtral/config.json", text).unwrap();
    let (from_hf, _, _) = resolve_model(hf.model);
    let (preset, _, _) = resolve_model(RawModel {
        preset: Some("mixtral".into()),
        ..Default::default()
    });
    assert_eq!(from_hf.moe.as_ref().unwrap().expert_intermediate_size, 14336);
    assert_eq!(from_hf.ffn_intermediate_size, 0);
    assert_eq!(shape_only(from_hf), shape_only(preset));
}

#[test]
fn hf_other_conventions() {
    // Qwen2-MoE: one shared expert given by its size; int4 GPTQ; text_config nesting.
    let text = r#"{"text_config": {"model_type":"qwen2_moe","num_hidden_layers":24,
        "hidden_size":2048,"num_attention_heads":16,"num_key_value_heads":16,
        "intermediate_size":5632,"moe_intermediate_size":1408,"num_experts":60,
        "num_experts_per_tok":4,"shared_expert_intermediate_size":5632,"vocab_size":151936},
        "quantization_config":{"quant_method":"gptq","bits":4}}"#;
    let hf = parse_hf_config("q/config.json", text).unwrap();
    let moe = hf.model.moe.clone().unwrap();
    assert_eq!(
        (moe.shared_experts, moe.shared_expert_intermediate_size),
        (Some(1), Some(5632))
    );
    assert_eq!(hf.model.attention, Some(AttentionKind::Mha));
    assert!(hf.notes.iter().any(|n| n.contains("text_config")));
    // The quantization block sits outside text_config (as in nvidia/Kimi-K2.5-NVFP4): it is read.
    assert_eq!(hf.model.dtype, Some(Dtype::Int4));
    let gptq = parse_hf_config(
        "g/config.json",
        r#"{"num_hidden_layers":2,"hidden_size":64,"num_attention_heads":4,
            "intermediate_size":128,"quantization_config":{"quant_method":"gptq","bits":4},
            "torch_dtype":"float16"}"#,
    )
    .unwrap();
    assert_eq!(gptq.model.dtype, Some(Dtype::Int4));
    assert_eq!(gptq.model.ffn_intermediate_size, Some(128));
    assert!(gptq.model.moe.is_none());
}

#[test]
fn hf_errors_are_reported() {
    let err = parse_hf_config("x/config.json", "{ not json").unwrap_err();
    assert!(matches!(err, Error::Json { .. }), "{err}");
    assert!(err.to_string().contains("x/config.json"));
    let err = parse_hf_config(
        "y/config.json",
        r#"{"num_hidden_layers":2,"hidden_size":64,"num_attention_heads":4,"kv_lora_rank":16}"#,
    )
    .unwrap_err();
    match &err {
        Error::Missing { field, .. } => assert_eq!(field, "qk_nope_head_dim"),
        other => panic!("expected Missing, got {other}"),
    }
    let err = read_hf_config(Path::new("/nonexistent/config.json")).unwrap_err();
    assert!(matches!(err, Error::Read { .. }));
}

/// A preset whose FP8 checkpoint is block-scaled (`fp8_block_scales` cites its
/// `weight_block_size`) resolves to 128 × 128 blocks when run at FP8, and to none at BF16 (the
/// engine then quantizes nothing); DeepSeek-V3's preset keeps per-tensor FP8 (its note says why).
#[test]
fn block_scaled_presets_resolve_their_weight_blocks_at_fp8_only() {
    let at = |preset: &str, dtype: Dtype| {
        let (m, _, _) = resolve_model(RawModel {
            preset: Some(preset.into()),
            dtype: Some(dtype),
            ..Default::default()
        });
        m.weight_block_size
    };
    assert_eq!(at("Qwen3-32B", Dtype::Fp8), Some([128, 128]));
    assert_eq!(at("Qwen3-235B-A22B", Dtype::Fp8), Some([128, 128]));
    assert_eq!(at("Qwen3-32B", Dtype::Bf16), None);
    assert_eq!(at("DeepSeek-V3", Dtype::Fp8), None);
    assert_eq!(at("Llama-3.1-70B", Dtype::Fp8), None);
}
