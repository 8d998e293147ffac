//! Calibration: exact KV bytes per token (calibration.md "Memory facts") and the published
//! measurements, each predicted with the preset defaults (no per-row tuning). `pdplan calibrate`
//! prints the table; ARCHITECTURE.md reads it.

use pdplan::cost::calibration::{self, Metric};
use pdplan::spec::model_size::kv_bytes_per_token;
use pdplan::spec::presets::model_preset;
use pdplan::spec::task::RawTask;

fn preset_model(name: &str) -> pdplan::spec::task::Model {
    let raw = RawTask {
        model: model_preset(name).unwrap().model.clone(),
        ..Default::default()
    };
    let mut raw = raw;
    raw.workload.batch = Some(1);
    raw.workload.input_len = Some(1);
    raw.hardware.preset = Some("H100-SXM".into());
    let text = serde_json::to_string(&raw).unwrap();
    let parsed = pdplan::input::load::parse_json("preset.json", &text).unwrap();
    pdplan::spec::resolve::resolve("preset.json", parsed)
        .unwrap()
        .task
        .model
}

#[test]
fn kv_bytes_per_token_are_exact() {
    // DeepSeek ISCA'25 Table 1, BF16 KV cache.
    assert_eq!(kv_bytes_per_token(&preset_model("DeepSeek-V3")), 70_272.0);
    assert_eq!(kv_bytes_per_token(&preset_model("Llama-3.1-70B")), 327_680.0);
    assert_eq!(kv_bytes_per_token(&preset_model("Llama-3.1-405B")), 516_096.0);
}

#[test]
fn every_calibration_md_row_is_predicted() {
    let out = calibration::outcomes().unwrap();
    let md: Vec<_> = out.iter().filter(|o| o.row.in_calibration_md).collect();
    // DeepSeek production prefill + decode, profile prefill + decode, SGLang 3 prefill + decode.
    assert_eq!(md.len(), 8);
    assert!(
        out.len() > md.len(),
        "published rows outside calibration.md are checked too"
    );
    for o in &out {
        assert!(
            o.predicted.is_finite() && o.predicted > 0.0,
            "{}: {}",
            o.row.id,
            o.predicted
        );
        // A miss beyond ±25% carries its explanation; nothing is silently off.
        assert!(
            o.relative_error.abs() <= 0.25 || !o.row.note.is_empty(),
            "{} misses by {:+.0}% without an explanation",
            o.row.id,
            o.relative_error * 100.0
        );
        // Guard against regressions: no row is off by more than a factor ~2.5.
        assert!(
            o.relative_error.abs() < 1.5,
            "{}: {:+.0}%",
            o.row.id,
            o.relative_error * 100.0
        );
    }
    // Rows that do not depend on production load or engine kernel gaps stay within ±25%.
    for id in [
        "deepseek-profile-prefill-4k",
        "trtllm-h100-llama70b-b96-tp2-2048-128",
        "trtllm-h100-llama70b-b1024-tp2-128-128",
        "trtllm-h100-llama7b-b48-tp1-2048-2048",
        "trtllm-h100-llama7b-b768-tp1-128-128",
        "trtllm-h100-llama70b-ttft-tp4-2048",
    ] {
        let o = out.iter().find(|o| o.row.id == id).unwrap();
        assert!(
            o.relative_error.abs() <= 0.25,
            "{id}: {:+.1}%",
            o.relative_error * 100.0
        );
    }
}

#[test]
fn rows_use_preset_efficiency_defaults() {
    for row in calibration::rows() {
        let task = calibration::task_of(&row).unwrap();
        let preset = pdplan::spec::presets::gpu_preset(task.hardware.preset.as_deref().unwrap()).unwrap();
        assert_eq!(task.hardware.mfu, preset.mfu, "{}", row.id);
        assert_eq!(
            task.hardware.bandwidth_utilization, preset.bandwidth_utilization,
            "{}",
            row.id
        );
        assert_eq!(task.cost.network_utilization, 0.8, "{}", row.id);
        if let Metric::PrefillTokensPerNode { computed_share } = row.metric {
            assert!(computed_share > 0.0 && computed_share <= 1.0);
        }
    }
}
