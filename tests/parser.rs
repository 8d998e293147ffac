//! The task-file parser on the shipped tasks, on tricky variants and on bad input.

use pdplan::error::Error;
use pdplan::input::load::{load_task, parse_task_text};
use pdplan::input::markdown::{ParsedTask, parse_markdown};
use pdplan::spec::task::{AttentionKind, Dtype, RawTask};
use std::path::{Path, PathBuf};

fn shared_tasks() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tasks"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} not found; shipped-task tests skipped", dir.display());
        None
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures-parse")).join(name)
}

fn load(p: &Path) -> ParsedTask {
    load_task(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn md(text: &str) -> ParsedTask {
    parse_markdown("t.md", text).unwrap_or_else(|e| panic!("{e}"))
}

fn md_err(text: &str) -> Error {
    match parse_markdown("t.md", text) {
        Ok(p) => panic!("expected an error, parsed {:?}", p.raw),
        Err(e) => e,
    }
}

/// (line, field) of a parse error.
fn parse_err(e: &Error) -> (usize, &str, &str) {
    match e {
        Error::Parse {
            line, field, message, ..
        } => (*line, field.as_str(), message.as_str()),
        other => panic!("expected Error::Parse, got {other:?}"),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

fn field_lines(p: &ParsedTask, field: &str) -> Vec<usize> {
    p.fields
        .iter()
        .filter(|f| f.field == field)
        .map(|f| f.line)
        .collect()
}

/// The benchmark's common Environment Condition block.
fn assert_benchmark_hardware(t: &RawTask) {
    let h = &t.hardware;
    assert_eq!(h.gpu_budget, None);
    assert!(close(h.peak_flops_per_s, 400e12));
    assert!(close(h.mfu, 0.6));
    assert!(close(h.hbm_bytes_per_s, 1.8e12));
    assert!(close(h.bandwidth_utilization, 0.8));
    assert!(close(h.memory_bytes, 64e9));
}

fn assert_qwen3_model(t: &RawTask) {
    let m = &t.model;
    assert!(close(m.declared_params, 235e9));
    assert_eq!(m.layers, Some(94));
    assert_eq!(m.attention, Some(AttentionKind::Gqa));
    assert_eq!(m.hidden_size, Some(4096));
    assert_eq!(m.heads, Some(64));
    assert_eq!(m.head_dim, Some(64));
    assert_eq!(m.kv_heads, Some(4));
    assert_eq!(m.vocab_size, Some(151936));
    assert_eq!(m.dtype, Some(Dtype::Fp8));
    assert_eq!(m.ffn_intermediate_size, None);
    let moe = m.moe.as_ref().expect("MoE");
    assert_eq!(moe.experts, Some(128));
    assert_eq!(moe.top_k, Some(8));
    assert_eq!(moe.expert_intermediate_size, Some(1536));
    let w = &t.workload;
    assert_eq!(
        (w.batch, w.min_len, w.max_len),
        (Some(128), Some(128), Some(10240))
    );
    assert_eq!((w.input_len, w.output_len), (Some(2048), Some(2048)));
}

#[test]
fn every_shipped_task_parses_without_warnings() {
    let Some(dir) = shared_tasks() else { return };
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".md") || name == "README.md" {
            continue;
        }
        let p = load(&path);
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
        assert!(p.fields.len() >= 20, "{name}: only {} fields", p.fields.len());
        // Every non-blank, non-structure line was read into at least one field.
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('*') || t.starts_with('-') && t.len() > 3 {
                assert!(
                    p.fields.iter().any(|f| f.line == i + 1),
                    "{name}:{}: `{t}` not echoed",
                    i + 1
                );
            }
        }
        n += 1;
    }
    assert!(n >= 4, "expected the four seed tasks, found {n}");
}

#[test]
fn qwen3_235b_moe() {
    let Some(dir) = shared_tasks() else { return };
    let p = load(&dir.join("seed-qwen3-235b-moe.md"));
    let t = &p.raw;
    assert_benchmark_hardware(t);
    assert_qwen3_model(t);
    assert_eq!(t.model.name.as_deref(), Some("Qwen3-235B"));
    assert!(close(t.requirements.ttft_s, 30.0));
    assert_eq!(t.requirements.tpot_s, None);
    assert_eq!(t.requirements.throughput_per_gpu_tokens_per_s, None);
    assert_eq!(t.strategy, None);
    // The no-limit line is echoed even though it sets no value.
    assert_eq!(field_lines(&p, "hardware.gpu_budget"), vec![6]);
    assert_eq!(field_lines(&p, "requirements.ttft_s"), vec![41]);
    let f = p
        .fields
        .iter()
        .find(|f| f.field == "hardware.peak_flops_per_s")
        .unwrap();
    assert_eq!(
        (f.line, f.label.as_str(), f.text.as_str()),
        (7, "Single-card computing power", "400TFlops.")
    );
}

#[test]
fn qwen3_given_strategy() {
    let Some(dir) = shared_tasks() else { return };
    let p = load(&dir.join("seed-qwen3-235b-given-strategy.md"));
    let t = &p.raw;
    assert_benchmark_hardware(t);
    assert_qwen3_model(t);
    assert_eq!(t.requirements, Default::default());
    let s = t.strategy.as_ref().expect("strategy");
    assert_eq!(s.gpus, Some(128)); // `**GPUs **` inside the strategy section
    assert_eq!(
        (s.tp, s.pp, s.dp, s.ep, s.sp),
        (Some(16), Some(4), Some(4), Some(32), Some(1))
    );
    assert_eq!(
        (s.attention_dp, s.expert_tp, s.replicas, s.batch),
        (None, None, None, None)
    );
    assert_eq!(t.hardware.gpu_budget, None);
}

#[test]
fn dense_10b() {
    let Some(dir) = shared_tasks() else { return };
    let t = load(&dir.join("seed-dense-10b.md")).raw;
    assert_benchmark_hardware(&t);
    let m = &t.model;
    assert!(close(m.declared_params, 10e9));
    assert_eq!(m.layers, Some(16));
    assert_eq!(m.attention, Some(AttentionKind::Mha));
    assert_eq!(m.moe, None);
    assert_eq!(m.ffn_intermediate_size, Some(1024));
    assert_eq!(
        (m.hidden_size, m.heads, m.head_dim),
        (Some(512), Some(16), Some(32))
    );
    assert_eq!(m.dtype, Some(Dtype::Fp16));
    assert_eq!(
        (t.workload.batch, t.workload.min_len, t.workload.max_len),
        (Some(128), Some(128), Some(10240))
    );
    assert_eq!((t.workload.input_len, t.workload.output_len), (None, None));
    assert!(close(t.requirements.ttft_s, 10.0));
    assert_eq!(t.requirements.tpot_s, None);
    assert!(close(t.requirements.throughput_per_gpu_tokens_per_s, 1e5));
}

#[test]
fn moe_10b() {
    let Some(dir) = shared_tasks() else { return };
    let p = load(&dir.join("seed-moe-10b-throughput-req.md"));
    let t = &p.raw;
    assert_benchmark_hardware(t);
    let moe = t.model.moe.as_ref().expect("MoE");
    assert_eq!(moe.experts, Some(16));
    assert_eq!(moe.expert_intermediate_size, Some(1024));
    assert_eq!(moe.top_k, None);
    assert_eq!(t.model.ffn_intermediate_size, None);
    assert_eq!(t.model.attention, Some(AttentionKind::Mha));
    assert!(close(t.requirements.throughput_per_gpu_tokens_per_s, 1e5));
    assert_eq!(t.requirements.tpot_s, None);
    // `TPOT: None` is echoed.
    assert_eq!(field_lines(&p, "requirements.tpot_s"), vec![32]);
}

#[test]
fn markdown_to_json_round_trips() {
    let Some(dir) = shared_tasks() else { return };
    for name in [
        "seed-qwen3-235b-moe.md",
        "seed-dense-10b.md",
        "seed-qwen3-235b-given-strategy.md",
    ] {
        let raw = load(&dir.join(name)).raw;
        let json = serde_json::to_string_pretty(&raw).unwrap();
        let back = parse_task_text("x.json", &json).unwrap();
        assert_eq!(back.raw, raw, "{name}");
        assert!(
            back.fields.iter().all(|f| f.line > 0),
            "{name}: every JSON field has its line"
        );
        assert!(
            back.fields
                .iter()
                .any(|f| f.field == "model.moe.experts" || name.contains("dense"))
        );
    }
}

#[test]
fn variant_crlf_tabs_labels_in_other_sections() {
    let path = fixture("variant-crlf-tabs-moved-labels.md");
    assert!(
        std::fs::read_to_string(&path).unwrap().contains("\r\n"),
        "fixture must keep CRLF"
    );
    let p = load(&path);
    let t = &p.raw;
    let h = &t.hardware;
    assert_eq!(h.gpu_budget, Some(64)); // `NPUs: 64 NPUs in total.`
    assert_eq!(h.preset.as_deref(), Some("H800"));
    assert_eq!(h.gpus_per_node, Some(8));
    assert!(close(h.peak_flops_per_s, 989e12)); // tab after the colon
    assert!(close(h.mfu, 0.5));
    assert!(close(h.hbm_bytes_per_s, 3.35e12));
    assert!(close(h.bandwidth_utilization, 0.7));
    assert!(close(h.memory_bytes, 80.0 * 1024f64.powi(3)));
    assert!(close(h.intra_node_bytes_per_s, 400e9));
    assert!(close(h.inter_node_bytes_per_s, 50e9)); // 400 Gbit/s
    let m = &t.model;
    assert_eq!(m.preset.as_deref(), Some("Qwen3-235B-A22B"));
    assert_eq!(m.layers, Some(94));
    assert_eq!(m.kv_heads, Some(4)); // under Input Data
    assert_eq!(m.dtype, Some(Dtype::Bf16));
    assert_eq!(m.kv_cache_dtype, Some(Dtype::Fp8));
    let moe = m.moe.as_ref().unwrap();
    assert_eq!(
        (moe.experts, moe.top_k, moe.shared_experts, moe.dense_layers),
        (Some(128), Some(8), Some(0), Some(0))
    );
    // `Hidden size of FFN ... MLP` on a MoE model is the expert size.
    assert_eq!(moe.expert_intermediate_size, Some(1536));
    assert_eq!(m.ffn_intermediate_size, None);
    let w = &t.workload;
    assert_eq!(w.batch, Some(64)); // under Model Configuration
    assert_eq!((w.min_len, w.max_len), (Some(128), Some(10240))); // `128 ~ 10240 tokens`
    assert_eq!((w.input_len, w.output_len), (Some(2048), Some(1024)));
    let r = &t.requirements;
    assert!(close(r.ttft_s, 2.0)); // from a table row
    assert!(close(r.tpot_s, 0.5)); // 500ms
    // Under the file's `#Prefill` header: a prefill requirement.
    assert!(close(r.prefill_throughput_per_gpu_tokens_per_s, 4000.0));
    assert_eq!(r.throughput_per_gpu_tokens_per_s, None);
    assert!(close(r.request_rate_per_s, 10.0)); // 600 requests/min
    // The unknown line is a warning naming its line.
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("line 14:") && w.contains("Colour of the racks")),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("line 30:") && w.contains("2048"))
    );
    assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
    assert_eq!(p.fields[0].field, pdplan::input::markdown::HEADER_FIELD);
}

#[test]
fn variant_dense_gqa_with_budget() {
    let p = load(&fixture("variant-dense-gqa-budget.md"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let t = &p.raw;
    assert_eq!(t.hardware.gpu_budget, Some(16));
    assert!(close(t.hardware.peak_flops_per_s, 1.2e15));
    assert!(close(t.hardware.hbm_bytes_per_s, 2e12));
    assert!(close(t.hardware.memory_bytes, 96e9));
    assert_eq!(t.model.attention, Some(AttentionKind::Gqa));
    assert_eq!(t.model.moe, None);
    assert_eq!(t.model.ffn_intermediate_size, Some(28672));
    assert_eq!(
        (t.model.heads, t.model.head_dim, t.model.kv_heads),
        (Some(64), Some(128), Some(8))
    );
    assert_eq!((t.workload.min_len, t.workload.max_len), (Some(128), Some(8192))); // `128-8192`
    assert!(close(t.requirements.tpot_s, 0.05));
    assert_eq!(t.requirements.throughput_per_gpu_tokens_per_s, None);
    assert_eq!(
        field_lines(&p, "requirements.throughput_per_gpu_tokens_per_s"),
        vec![30]
    );
}

#[test]
fn variant_mla_moe_and_baseline() {
    let p = load(&fixture("variant-mla-moe.md"));
    let m = &p.raw.model;
    assert_eq!(m.attention, Some(AttentionKind::Mla));
    let mla = m.mla.as_ref().expect("MLA");
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
    let moe = m.moe.as_ref().unwrap();
    assert_eq!(
        (moe.experts, moe.shared_experts, moe.top_k, moe.dense_layers),
        (Some(256), Some(1), Some(8), Some(3))
    );
    assert_eq!(moe.expert_intermediate_size, Some(2048));
    assert_eq!(m.ffn_intermediate_size, Some(18432));
    assert!(close(p.raw.requirements.ttft_s, 2.0));
    // Baseline lines are read, reported, and not applied.
    assert_eq!(p.raw.strategy, None);
    assert_eq!(p.warnings.iter().filter(|w| w.contains("Baseline")).count(), 2);
}

#[test]
fn bad_fixtures_name_line_and_field() {
    let cases: [(&str, usize, &str, &str); 6] = [
        ("bad-reversed-range.md", 3, "workload.min_len", "reversed"),
        ("bad-nan.md", 3, "hardware.mfu", "not a finite number"),
        (
            "bad-unparsable.md",
            3,
            "model.vocab_size",
            "expected a vocabulary size",
        ),
        (
            "bad-wrong-unit.md",
            2,
            "hardware.memory_bytes",
            "expected a memory size such as `64GB`",
        ),
        ("bad-negative.md", 2, "hardware.hbm_bytes_per_s", "negative"),
        ("bad-reversed-range.md", 3, "workload.min_len", "min"),
    ];
    for (name, line, field, msg) in cases {
        let e = load_task(&fixture(name)).unwrap_err();
        let (l, f, m) = parse_err(&e);
        assert_eq!((l, f), (line, field), "{name}: {e}");
        assert!(m.contains(msg), "{name}: {e}");
        assert!(
            e.to_string().contains(name),
            "{name}: the message names the file: {e}"
        );
        assert_eq!(e.exit_code(), pdplan::error::exit::BAD_INPUT);
    }
}

#[test]
fn empty_and_fieldless_files_are_missing_errors() {
    for name in ["bad-empty.md", "bad-no-fields.md"] {
        match load_task(&fixture(name)) {
            Err(Error::Missing { field, message, .. }) => {
                assert_eq!(field, "Environment Condition");
                assert!(message.contains("expected"), "{message}");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(matches!(
        parse_markdown("t.md", "   \n\n```\n```\n"),
        Err(Error::Missing { .. })
    ));
}

#[test]
fn json_tasks() {
    let p = load(&fixture("task.json"));
    // JSON fields are echoed with the line of their key (resolve's messages then name it).
    let text = std::fs::read_to_string(fixture("task.json")).unwrap();
    let max_len_line = text.lines().position(|l| l.contains("\"max_len\"")).unwrap() + 1;
    assert_eq!(p.raw.name.as_deref(), Some("json-qwen3"));
    assert_eq!(p.raw.model.preset.as_deref(), Some("Qwen3-235B-A22B"));
    assert!(close(p.raw.hardware.memory_bytes, 64e9));
    assert!(
        p.fields
            .iter()
            .any(|f| f.field == "workload.max_len" && f.text == "10240" && f.line == max_len_line)
    );
    let cases = [
        (
            "bad-unknown-key.json",
            &["line 4", "hardware.memroy_gb", "unknown field"][..],
        ),
        (
            "bad-wrong-type.json",
            &["line 3", "workload.batch", "invalid type"][..],
        ),
        ("bad-syntax.json", &["line 4", "trailing comma"][..]),
        ("bad-negative.json", &["hardware.memory_bytes", "negative"][..]),
    ];
    for (name, needles) in cases {
        let e = load_task(&fixture(name)).unwrap_err();
        assert!(matches!(e, Error::Json { .. }), "{name}: {e:?}");
        let s = e.to_string();
        for n in needles {
            assert!(s.contains(n), "{name}: `{n}` not in {s}");
        }
    }
}

#[test]
fn missing_file_and_binary_garbage() {
    let e = load_task(Path::new("/nonexistent/task.md")).unwrap_err();
    assert!(matches!(e, Error::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/task.md"));

    let dir = std::env::temp_dir().join(format!("pdplan-parse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("garbage.md");
    std::fs::write(
        &bin,
        [0x7f, b'E', b'L', b'F', 0xff, 0xfe, 0x00, 0x01, b'\n', 0x80],
    )
    .unwrap();
    let e = load_task(&bin).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("UTF-8 text"));
    let nul = dir.join("nul.md");
    std::fs::write(&nul, b"* **GPUs**: 8\n\0\0\0").unwrap();
    assert!(matches!(
        load_task(&nul).unwrap_err(),
        Error::Parse { line: 2, .. }
    ));
    std::fs::remove_dir_all(&dir).ok();
}

// ---- inline variants ------------------------------------------------------------------------

#[test]
fn no_fence_npus_budget_and_unit_spellings() {
    let p = md("## Environment Condition\n\
                - **NPUs**: 32\n\
                - **Single-card computing power**: 400 GFlops\n\
                - **VRAM Bandwidth**: 450 GBps\n\
                - **Single-card video memory capacity**: 64MB\n\
                ## Basic Performance Requirements\n\
                - **TTFT**: 500ms\n\
                - **Throughput per GPU**: 4000 tokens/s\n\
                - **Target request rate**: 10 QPS\n");
    let t = &p.raw;
    assert_eq!(t.hardware.gpu_budget, Some(32));
    assert!(close(t.hardware.peak_flops_per_s, 4e11));
    assert!(close(t.hardware.hbm_bytes_per_s, 450e9));
    assert!(close(t.hardware.memory_bytes, 64e6)); // plausibility is resolve's job
    assert!(close(t.requirements.ttft_s, 0.5));
    assert!(close(t.requirements.throughput_per_gpu_tokens_per_s, 4000.0));
    assert!(close(t.requirements.request_rate_per_s, 10.0));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn ffn_hidden_size_is_decided_by_a_later_layers_line() {
    let moe = md("* **Hidden size of MLP**: The hidden is of MLP is 768\n\
                  * **Layers**: 48-layer, Each layer includes GQA + MoE, each layer has 64 experts.\n");
    assert_eq!(
        moe.raw.model.moe.as_ref().unwrap().expert_intermediate_size,
        Some(768)
    );
    assert_eq!(moe.raw.model.ffn_intermediate_size, None);
    assert_eq!(field_lines(&moe, "model.moe.expert_intermediate_size"), vec![1]);
    let dense =
        md("* **Hidden size of MOE**: The hidden is of MOE is 768\n* **Layers**: 48-layer, MHA + MLP\n");
    assert_eq!(dense.raw.model.ffn_intermediate_size, Some(768));
    assert_eq!(dense.raw.model.moe, None);
    // No Layers line: decided by the text, with a warning.
    let alone = md("* **Hidden size of MOE**: The hidden is of FFN is 768\n");
    assert_eq!(alone.raw.model.ffn_intermediate_size, Some(768));
    assert!(alone.warnings.iter().any(|w| w.starts_with("line 1:")));
}

#[test]
fn ranges_and_lengths() {
    let r = |v: &str| {
        let w = md(&format!("* **Sequence Length**: {v}\n")).raw.workload;
        (w.min_len, w.max_len)
    };
    assert_eq!(r("[128, 10240]"), (Some(128), Some(10240)));
    assert_eq!(r("128 ~ 10240 tokens"), (Some(128), Some(10240)));
    assert_eq!(r("128-10240"), (Some(128), Some(10240)));
    assert_eq!(r("from 128 to 10240"), (Some(128), Some(10240)));
    assert_eq!(r("4096"), (Some(4096), Some(4096)));
    assert_eq!(r("up to 8192 tokens"), (None, Some(8192)));
    assert_eq!(r("[1k, 8k]"), (Some(1024), Some(8192)));
    let e = md_err("\n* **Sequence Length**: [10240, 128]\n");
    let (line, _, msg) = parse_err(&e);
    assert_eq!(line, 2);
    assert!(msg.contains("minimum length must be ≤ the maximum"), "{msg}");
    for bad in ["[-128, 10240]", "NaN", "[128, inf]", "long"] {
        let e = md_err(&format!("* **Sequence Length**: {bad}\n"));
        assert_eq!(parse_err(&e).0, 1, "{bad}");
    }
}

#[test]
fn bad_values_are_errors_with_line_and_field() {
    let cases = [
        ("* **MFU utilization**: NaN", "hardware.mfu"),
        ("* **MFU utilization**: 60 GB", "hardware.mfu"),
        (
            "* **Single-card computing power**: inf TFLOPS",
            "hardware.peak_flops_per_s",
        ),
        (
            "* **Single-card computing power**: lots",
            "hardware.peak_flops_per_s",
        ),
        (
            "* **Single-card computing power**: 400 GB",
            "hardware.peak_flops_per_s",
        ),
        (
            "* **Single-card video memory capacity**: 64 tokens/s",
            "hardware.memory_bytes",
        ),
        (
            "* **Single-card video memory capacity**: -64GB",
            "hardware.memory_bytes",
        ),
        ("* **TTFT**: 30", "requirements.ttft_s"),
        ("* **TPOT**: fast", "requirements.tpot_s"),
        (
            "* **Throughput per GPU**: 100 GB/s",
            "requirements.throughput_per_gpu_tokens_per_s",
        ),
        ("* **Batch size**: many sequences", "workload.batch"),
        ("* **Batch size**: 12.5", "workload.batch"),
        ("* **GPUs**: plenty of them", "hardware.gpu_budget"),
        ("* **Precision**: FP64", "model.dtype"),
        ("* **Layers**: several", "model.layers"),
        ("* **Tensor parallelism**: wide", "strategy.tp"),
        ("* **Vocabulary size**: NaN", "model.vocab_size"),
        ("* **KV LoRA rank**: 512", "model.mla"),
        ("* **Batch overlap**: sometimes", "cost.batch_overlap"),
    ];
    for (line, field) in cases {
        let e = md_err(&format!("## Model Configuration\n{line}\n"));
        let (l, f, m) = parse_err(&e);
        assert_eq!((l, f), (2, field), "{line}: {e}");
        assert!(m.contains("expected") || m.contains("needs"), "{line}: {m}");
    }
}

#[test]
fn unknown_lines_duplicates_and_none() {
    let p = md("```\n# Prefill\n## **Environment Condition**\n\
                * **GPUs**: 8\n\
                Some free text the parser does not know.\n\
                * **Favourite colour**: blue\n\
                * **GPUs**: 8.\n\
                * **Time per output token(TPOT)**:  None\n\
                ## Cooling\n```\n");
    // The same value twice is accepted (two different values are an error: see
    // `a_field_set_twice_to_different_values_names_both_lines`).
    assert_eq!(p.raw.hardware.gpu_budget, Some(8));
    let w = &p.warnings;
    assert!(
        w.iter()
            .any(|w| w.starts_with("line 5:") && w.contains("Some free text")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("line 6:") && w.contains("Favourite colour")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.starts_with("line 9:") && w.contains("Cooling")),
        "{w:?}"
    );
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(p.raw.requirements.tpot_s, None);
    assert_eq!(field_lines(&p, "requirements.tpot_s"), vec![8]);
    assert_eq!(field_lines(&p, "hardware.gpu_budget"), vec![4, 7]);
}

#[test]
fn label_spellings() {
    let p = md("**GPUs:** Ample GPU resources, no limits\n\
                *   **gpu  MEMORY** : 80 GiB\n\
                - HBM bandwidth: 3.35 TB/s\n\
                1. **Experts per token**: 8\n\
                | Vocabulary size | 151,936 |\n\
                * **Dimension of MHA**: 64 heads x 128 dim\n\
                * **Attention**: GQA\n\
                * **Model preset**: `Qwen3-32B`\n\
                * **KV heads**: 8\n\
                * **Sequence In**: 2048 tokens\n\
                * **Sequence Out**: 512\n\
                * **Weights**: 1.5T\n\
                * **Precision**: BF16 weights, FP8 KV cache\n");
    let t = &p.raw;
    assert_eq!(t.hardware.gpu_budget, None);
    assert!(close(t.hardware.memory_bytes, 80.0 * 1024f64.powi(3)));
    assert!(close(t.hardware.hbm_bytes_per_s, 3.35e12));
    assert_eq!(t.model.moe.as_ref().unwrap().top_k, Some(8));
    assert_eq!(t.model.vocab_size, Some(151936));
    assert_eq!((t.model.heads, t.model.head_dim), (Some(64), Some(128)));
    assert_eq!(t.model.attention, Some(AttentionKind::Gqa));
    assert_eq!(t.model.preset.as_deref(), Some("Qwen3-32B"));
    assert_eq!(t.model.kv_heads, Some(8));
    assert_eq!(
        (t.workload.input_len, t.workload.output_len),
        (Some(2048), Some(512))
    );
    assert!(close(t.model.declared_params, 1.5e12));
    assert_eq!(
        (t.model.dtype, t.model.kv_cache_dtype),
        (Some(Dtype::Bf16), Some(Dtype::Fp8))
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn strategy_section() {
    let p = md("## Current Parallelism Strategy\n\
                * **GPUs**: 32\n\
                * **Tensor parallelism**: TP4\n\
                * **Attention data parallelism**: 8\n\
                * **Expert parallelism**: 32\n\
                * **Expert tensor parallelism**: 1\n\
                * **Pipeline parallelism**: 1\n\
                * **Replicas**: 2\n\
                * **Batch**: 64\n\
                * **Sequence parallelism**: None\n");
    let s = p.raw.strategy.expect("strategy");
    assert_eq!(
        (s.gpus, s.tp, s.attention_dp, s.ep, s.expert_tp),
        (Some(32), Some(4), Some(8), Some(32), Some(1))
    );
    assert_eq!(
        (s.pp, s.replicas, s.batch, s.sp, s.dp),
        (Some(1), Some(2), Some(64), None, None)
    );
    assert_eq!(p.raw.hardware.gpu_budget, None);
    assert_eq!(p.raw.workload.batch, None);
}

#[test]
fn line_endings_and_bom() {
    let base = "## Input Data\n* **Batch size**:\t128\n* **Sequence Length**: [128, 10240]\n";
    let lf = md(base).raw;
    let crlf = md(&base.replace('\n', "\r\n")).raw;
    let cr = md(&base.replace('\n', "\r")).raw;
    let bom = md(&format!("\u{feff}{base}")).raw;
    assert_eq!(lf.workload.batch, Some(128));
    assert_eq!(lf, crlf);
    assert_eq!(lf, cr);
    assert_eq!(lf, bom);
}

/// A cheap deterministic fuzz: random mixes of label fragments, units and junk never panic.
#[test]
fn random_input_never_panics() {
    let pieces = [
        "* **",
        "**",
        ": ",
        "GPUs",
        "Layers",
        "Sequence Length",
        "TTFT",
        "Batch size",
        "Precision",
        "Dimension of MHA",
        "Hidden size of MOE",
        "KV LoRA rank",
        "Tensor parallelism",
        "[",
        "]",
        "~",
        "-",
        "−",
        "1e999",
        "NaN",
        "inf",
        "0",
        "12",
        "3.5",
        "4,096",
        "k",
        "TFlops",
        "GB",
        "Gbps",
        "tokens/ms",
        "ms",
        "%",
        "None",
        "\n",
        "\r",
        "\t",
        "#",
        "|",
        "```",
        "é",
        "：",
        "—",
        "experts",
        "heads",
        "dim",
        "top-",
        "shared",
        ".",
        "{",
        "\"",
        "İB/s",
        "ẞ",
        "µs",
        "Model Configuration",
        "(",
        ")",
        " x ",
        " ",
    ];
    let mut s: u64 = 0x9e3779b97f4a7c15;
    for _ in 0..20_000 {
        let mut text = String::new();
        for _ in 0..(s % 40) {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            text.push_str(pieces[(s % pieces.len() as u64) as usize]);
        }
        s = s.wrapping_add(0x2545f4914f6cdd1d);
        let _ = parse_task_text("fuzz.md", &text);
    }
}

/// Markdown → resolved task → JSON text → task: the same task, for every shipped Markdown task.
fn assert_markdown_task_round_trips(name: &str, text: &str) -> bool {
    let Ok(parsed) = parse_task_text(name, text) else {
        return false;
    };
    let Ok(r) = pdplan::spec::resolve::resolve(name, parsed) else {
        return false;
    };
    let json = serde_json::to_string_pretty(&r.task).unwrap();
    let back =
        pdplan::input::load::parse_json("t.json", &json).unwrap_or_else(|e| panic!("{name}: {e}\n{json}"));
    let again =
        pdplan::spec::resolve::resolve("t.json", back).unwrap_or_else(|e| panic!("{name}: {e}\n{json}"));
    assert_eq!(again.task, r.task, "{name}: round trip changed the task:\n{json}");
    true
}

#[test]
fn markdown_task_json_task_round_trips() {
    let mut dirs = vec![
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tasks")),
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures-parse")),
    ];
    dirs.extend(shared_tasks());
    let mut resolved = 0;
    for dir in dirs {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "md") {
                let text = std::fs::read_to_string(&p).unwrap();
                if assert_markdown_task_round_trips(&p.display().to_string(), &text) {
                    resolved += 1;
                }
            }
        }
    }
    assert!(resolved >= 8, "only {resolved} Markdown tasks resolved");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Random numbers (and units) on the value lines of the Qwen3 task: whatever resolves
    /// round-trips through JSON unchanged.
    #[test]
    fn edited_markdown_tasks_round_trip(
        values in proptest::collection::vec((0usize..40, 0u64..100_000, 0usize..6), 1..6)
    ) {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tasks/qwen3-235b-moe.md")).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let units = ["", "GB", "TFlops", "%", "s", "ms"];
        for (line, v, unit) in values {
            let n = lines.len();
            let l = &mut lines[line % n];
            if let Some((label, _)) = l.split_once("**: ") {
                *l = format!("{label}**: {v}{}", units[unit]);
            }
        }
        assert_markdown_task_round_trips("edited.md", &lines.join("\n"));
    }
}

#[test]
fn markdown_starting_with_a_bracket_is_not_json() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/tasks/dense-10b.md"
    ))
    .unwrap();
    for head in ["[TOC]\n", "[1] see the notes\n", "[link](http://x)\n"] {
        let p = parse_task_text("t.md", &format!("{head}{text}")).unwrap_or_else(|e| panic!("{head}: {e}"));
        assert!(p.fields.iter().any(|f| f.field == "workload.batch"), "{head}");
    }
    let e = parse_task_text("t.json", "[{\"workload\": {}}]").unwrap_err();
    assert!(e.to_string().contains("JSON array"), "{e}");
}

/// The README's field list is [`pdplan::input::fields::markdown_table`]: one definition per
/// field. `UPDATE_README=1` rewrites it.
#[test]
fn readme_field_list_is_generated_from_the_field_table() {
    const BEGIN: &str = "<!-- fields:begin -->\n";
    const END: &str = "<!-- fields:end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let text = std::fs::read_to_string(path).expect("README.md");
    let b = text.find(BEGIN).expect("README has the fields:begin marker") + BEGIN.len();
    let e = text.find(END).expect("README has the fields:end marker");
    let table = pdplan::input::fields::markdown_table();
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(path, format!("{}{table}{}", &text[..b], &text[e..])).expect("write README");
        return;
    }
    assert_eq!(
        &text[b..e],
        table,
        "README field list is stale: run UPDATE_README=1 cargo test --test parser readme_field_list"
    );
}

// ---------------------------------------------------------------------------------------------
// Issue 14: field grammar
// ---------------------------------------------------------------------------------------------

#[test]
fn labels_that_merely_contain_a_keyword_set_nothing() {
    let p = md("## Environment Condition\n\
                * **GPUs**: 16\n\
                * **Price per GPU hour**: 2 USD\n\
                * **Power per GPU**: 700W\n\
                * **Host memory per node**: 1TB\n\
                * **CPU memory**: 512GB\n\
                * **PCIe bandwidth**: 64GB/s\n\
                * **Context window**: 128k\n\
                * **Active parameters**: 22B\n");
    let t = &p.raw;
    assert_eq!(t.hardware.gpu_budget, Some(16));
    assert_eq!(t.hardware.gpus_per_node, None);
    assert_eq!(t.hardware.memory_bytes, None);
    assert_eq!(t.hardware.hbm_bytes_per_s, None);
    assert_eq!(t.model.declared_params, None);
    assert_eq!(t.workload.max_len, None);
    assert_eq!(p.warnings.len(), 7, "{:?}", p.warnings);
    assert!(
        p.warnings.iter().all(|w| w.contains("unrecognized label")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_readme_table_is_not_a_task() {
    let text = "# Real task files\n\n| file | what it is |\n|---|---|\n\
                | `seed-qwen3-235b-moe.md` | the benchmark's final task: Qwen3-235B (MoE, GQA, FP8), TTFT 30 s |\n\
                | `seed-dense-10b.md` | the dense variant, batch 128 |\n";
    assert!(matches!(
        parse_markdown("README.md", text),
        Err(Error::Missing { .. })
    ));
}

#[test]
fn only_known_headings_set_the_section() {
    let p = md("## Parallelism Strategy\n* **TP**: 8\n\
                ## Environment Condition and Parallelism\n* **GPUs**: 12\n");
    assert_eq!(p.raw.hardware.gpu_budget, Some(12));
    assert_eq!(p.raw.strategy.as_ref().and_then(|s| s.gpus), None);
    assert!(
        p.warnings.iter().any(|w| w.contains("unknown section")),
        "{:?}",
        p.warnings
    );
    let s = md("## Current Parallelism Strategy\n* **GPUs**: 64\n* **Batch size**: 32\n");
    let g = s.raw.strategy.expect("strategy");
    assert_eq!((g.gpus, g.batch), (Some(64), Some(32)));
    assert_eq!(s.raw.hardware.gpu_budget, None);
}

#[test]
fn numbers_take_digit_groups_multipliers_and_compound_durations() {
    let p = md("* **Sequence In**: 2,048\n\
                * **Batch size**: 1k\n\
                * **Vocabulary size**: 152K\n\
                * **Sequence Length**: [128, 10,240]\n\
                * **TTFT**: 1 min 30 s\n\
                * **GPUs**: 8 x 16 = 128\n");
    let t = &p.raw;
    assert_eq!(t.workload.input_len, Some(2048));
    assert_eq!(t.workload.batch, Some(1000));
    assert_eq!(t.model.vocab_size, Some(152_000));
    assert_eq!((t.workload.min_len, t.workload.max_len), (Some(128), Some(10240)));
    assert!(close(t.requirements.ttft_s, 90.0));
    assert_eq!(t.hardware.gpu_budget, Some(128));
    let bracket = md("* **Sequence Length**: [128,256]\n");
    assert_eq!(
        (bracket.raw.workload.min_len, bracket.raw.workload.max_len),
        (Some(128), Some(256))
    );
}

#[test]
fn a_total_gpus_formula_is_its_result_with_a_warning() {
    let p = md("## Parallelism Strategy\n\
                - **Total GPUs** = EP × TP × PP × DP = 64 × 8 × 2 × 2 = 2048\n\
                - **Expert parallelism**: 64\n");
    let g = p.raw.strategy.expect("strategy");
    assert_eq!((g.gpus, g.ep), (Some(2048), Some(64)));
    assert!(
        p.warnings
            .iter()
            .any(|w| w.starts_with("line 2:") && w.contains("2048") && w.contains("not the product")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_field_set_twice_to_different_values_names_both_lines() {
    let e = md_err("* **GPUs**: 16\n* **Batch size**: 8\n* **Total GPUs**: 32\n");
    let (line, field, msg) = parse_err(&e);
    assert_eq!((line, field), (3, "hardware.gpu_budget"));
    assert!(msg.contains("line 1") && msg.contains("line 3"), "{msg}");
    // The same value twice is fine.
    let p = md("* **GPUs**: 16\n* **Total GPUs**: 16\n");
    assert_eq!(p.raw.hardware.gpu_budget, Some(16));
}

#[test]
fn prefill_and_decode_headers_scope_throughput() {
    let p = md("#Prefill\n- **Throughput per GPU**: 4000 tokens/s\n\
                #Decode\n- **Throughput per GPU**: 50 tokens/s\n\
                #inference\n- **TTFT**: 2s\n");
    let r = &p.raw.requirements;
    assert!(close(r.prefill_throughput_per_gpu_tokens_per_s, 4000.0));
    assert!(close(r.decode_throughput_per_gpu_tokens_per_s, 50.0));
    assert_eq!(r.throughput_per_gpu_tokens_per_s, None);
    assert_eq!(r.throughput_per_gpu(true), Some(4000.0));
    assert_eq!(r.throughput_per_gpu(false), Some(50.0));
}

#[test]
fn model_lines_with_counts_are_read_like_layers() {
    let p = md("* **Model**: 16-layer Mixture-of-Experts (MoE), Each layer has 64 experts\n");
    let m = &p.raw.model;
    assert_eq!(m.name, None);
    assert_eq!(m.layers, Some(16));
    assert_eq!(m.moe.as_ref().and_then(|x| x.experts), Some(64));
    let ds = md("* **Layers**: 61-layer, the first 3 layers are dense, the others include MLA + MOE\n");
    let m = &ds.raw.model;
    assert_eq!(m.layers, Some(61));
    assert_eq!(m.moe.as_ref().and_then(|x| x.dense_layers), Some(3));
    assert_eq!(m.attention, Some(AttentionKind::Mla));
    let named = md("* **Model**: Qwen3-235B-A22B\n");
    assert_eq!(named.raw.model.name.as_deref(), Some("Qwen3-235B-A22B"));
}

#[test]
fn every_field_label_and_alias_maps_to_one_row() {
    use pdplan::input::fields::{FIELDS, Key, lookup};
    for row in FIELDS {
        for l in row.labels {
            let strategy_row = matches!(row.key, Key::StratGpus | Key::StratBatch);
            let found = lookup(l, strategy_row).expect(l);
            assert_eq!(
                found.key, row.key,
                "label `{l}` of {} maps to {}",
                row.field, found.field
            );
        }
    }
}

/// `Batch overlap` takes the schedule's names and abbreviations (`none` is off here, not unset),
/// and a schedule the task's engine does not run is an error naming the line.
#[test]
fn batch_overlap_names_and_engines() {
    use pdplan::spec::task::BatchOverlap;
    for (text, want) in [
        ("SBO", BatchOverlap::SingleBatch),
        ("single batch", BatchOverlap::SingleBatch),
        ("Two-batch overlap", BatchOverlap::TwoBatch),
        ("TBO", BatchOverlap::TwoBatch),
        ("none", BatchOverlap::Off),
        ("auto", BatchOverlap::Auto),
    ] {
        let p = md(&format!("## Model Configuration\n* **Batch overlap**: {text}\n"));
        let got = p.raw.cost.as_ref().and_then(|c| c.batch_overlap);
        assert_eq!(got, Some(want), "{text}");
    }
    let task = |engine: &str, overlap: &str| {
        format!(
            "## Environment Condition\n* **GPU model**: H100-SXM\n## Model Configuration\n\
             * **Model preset**: DeepSeek-V3\n* **Engine**: {engine}\n* **Batch overlap**: {overlap}\n\
             ## Input Data\n* **Batch size**: 8\n* **Sequence In**: 1024\n* **Sequence Out**: 128\n"
        )
    };
    let resolve = |text: &str| pdplan::spec::resolve::resolve("t.md", md(text));
    assert!(resolve(&task("sglang", "single-batch")).is_ok());
    assert!(resolve(&task("vllm", "two-batch")).is_ok());
    for (engine, overlap) in [("trtllm", "two-batch"), ("vllm", "single-batch")] {
        let e = resolve(&task(engine, overlap)).expect_err(overlap);
        let text = e.to_string();
        assert!(
            text.contains("cost.batch_overlap") && text.contains("line 6"),
            "{text}"
        );
    }
}

/// `Static activation scales: yes` on weights that are not FP8 is dropped, and the plan says so.
#[test]
fn static_scales_on_other_weights_are_dropped_with_a_note() {
    let task = |dtype: &str| {
        format!(
            "## Environment Condition\n* **GPU model**: H100-SXM\n## Model Configuration\n\
             * **Model preset**: Llama-3.1-70B\n* **Precision**: {dtype}\n\
             * **Static activation scales**: yes\n## Input Data\n* **Batch size**: 8\n\
             * **Sequence In**: 1024\n* **Sequence Out**: 128\n"
        )
    };
    let bf16 = pdplan::spec::resolve::resolve("t.md", md(&task("BF16"))).unwrap();
    assert!(!bf16.task.model.static_activation_scales);
    assert!(
        bf16.assumptions
            .iter()
            .any(|a| a.contains("static activation scales ignored"))
    );
    let fp8 = pdplan::spec::resolve::resolve("t.md", md(&task("FP8"))).unwrap();
    assert!(fp8.task.model.static_activation_scales);
    assert!(
        !fp8.assumptions
            .iter()
            .any(|a| a.contains("static activation scales"))
    );
}

/// `Routing skew: low` / `high` (and their spellings) set `model.moe.routing_skew`, over a
/// preset's; any other value is an error naming the line.
#[test]
fn routing_skew_line() {
    use pdplan::spec::task::RoutingSkew;
    for (text, want) in [
        ("low", RoutingSkew::Low),
        ("aux-loss-free", RoutingSkew::Low),
        ("1.01", RoutingSkew::Low),
        ("High", RoutingSkew::High),
        ("alpha 1.2", RoutingSkew::High),
    ] {
        let p = md(&format!("## Model Configuration\n* **Routing skew**: {text}\n"));
        let got = p.raw.model.moe.as_ref().and_then(|m| m.routing_skew);
        assert_eq!(got, Some(want), "{text}");
    }
    let task = |preset: &str, line: &str| {
        format!(
            "## Environment Condition\n* **GPU model**: H100-SXM\n## Model Configuration\n\
             * **Model preset**: {preset}\n{line}\
             ## Input Data\n* **Batch size**: 8\n* **Sequence In**: 1024\n* **Sequence Out**: 128\n"
        )
    };
    let skew = |text: &str| {
        let r = pdplan::spec::resolve::resolve("t.md", md(text)).expect("resolves");
        r.task.model.moe.as_ref().unwrap().routing_skew
    };
    assert_eq!(skew(&task("DeepSeek-V3", "")), RoutingSkew::Low);
    assert_eq!(skew(&task("Kimi-K2", "")), RoutingSkew::Low);
    assert_eq!(skew(&task("Qwen3-235B-A22B", "")), RoutingSkew::High);
    assert_eq!(skew(&task("Mixtral-8x7B", "")), RoutingSkew::High);
    assert_eq!(
        skew(&task("DeepSeek-V3", "* **Routing skew**: high\n")),
        RoutingSkew::High
    );
    // On a dense model the line is dropped with a note, not read as an expert count missing.
    let dense =
        pdplan::spec::resolve::resolve("t.md", md(&task("Llama-3.1-70B", "* **Routing skew**: low\n")))
            .expect("a dense model resolves");
    assert!(dense.task.model.moe.is_none());
    assert!(
        dense
            .assumptions
            .iter()
            .any(|a| a.contains("routing skew ignored"))
    );
    let text = md_err(&task("Qwen3-235B-A22B", "* **Routing skew**: wild\n")).to_string();
    assert!(
        text.contains("t.md:5") && text.contains("model.moe.routing_skew"),
        "{text}"
    );
}
