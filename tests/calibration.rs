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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Every row is predicted; a miss beyond ±25% carries its explanation; the median and worst
/// |error| of each group are held (a change of the cost model that makes them worse fails).
#[test]
fn every_row_is_predicted_and_errors_do_not_regress() {
    let out = calibration::outcomes().unwrap();
    let md: Vec<_> = out.iter().filter(|o| o.row.in_calibration_md()).collect();
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
        assert!(
            o.relative_error.abs() <= 0.25 || !o.row.note.is_empty(),
            "{} misses by {:+.0}% without an explanation",
            o.row.id,
            o.relative_error * 100.0
        );
    }
    let errors = |md: bool| -> Vec<f64> {
        out.iter()
            .filter(|o| o.row.in_calibration_md() == md)
            .map(|o| o.relative_error.abs())
            .collect()
    };
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    // Measured on this commit: calibration.md median 5.0 %, worst 77 % (the production prefill
    // row, a 24-hour average the model cannot see; every other row within 25 %); other rows
    // median 7.7 %, worst 84.5 % (TensorRT-LLM v0.6 GQA decode without XQA, TP4: 76 % before the
    // all-reduce tables were read as element counts, which made TP decode faster).
    let (a, b) = (errors(true), errors(false));
    assert!(
        median(a.clone()) <= 0.06,
        "calibration.md median {:.3}",
        median(a.clone())
    );
    assert!(worst(&a) <= 0.80, "calibration.md worst {:.3}", worst(&a));
    assert!(
        median(b.clone()) <= 0.09,
        "other rows median {:.3}",
        median(b.clone())
    );
    assert!(worst(&b) <= 0.86, "other rows worst {:.3}", worst(&b));
    // calibration.md's settings at defaults (Engine: sglang on the SGLang rows): every row but
    // the production-average prefill within 25 %.
    for o in md.iter().filter(|o| o.row.id != "deepseek-prod-prefill") {
        assert!(
            o.relative_error.abs() <= 0.25,
            "{}: {:+.1}%",
            o.row.id,
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
