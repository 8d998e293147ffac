//! Calibration: exact KV bytes per token (calibration.md "Memory facts") and the published
//! measurements, each predicted with the preset defaults (no per-row tuning). `pdplan calibrate`
//! prints the table; ARCHITECTURE.md reads it.

use pdplan::cost::calibration::{self, Group};
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
    let mut ids: Vec<_> = out.iter().map(|o| o.row.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), out.len(), "row ids are unique");
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
    let errors = |group: Group| -> Vec<f64> {
        out.iter()
            .filter(|o| o.row.group == group)
            .map(|o| o.relative_error.abs())
            .collect()
    };
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    // (group, rows, median bound, worst bound): each bound is the value measured on this commit
    // plus 1-2 points, so a change of the cost model that makes a group worse fails here (a
    // change that makes it better should lower the bound). Measured |error| (median / worst):
    // - calibration.md 6.8 % / 77.1 % (the production prefill row, a 24-hour average the model
    //   cannot see; every other row within 25 %);
    // - TensorRT-LLM v0.5/v0.6.1 7.7 % / 84.5 % (v0.6 GQA decode without XQA, TP4);
    // - TensorRT-LLM v0.9.0 8.9 % / 97.6 % (Mixtral on Hopper: v0.9's MoE GEMMs, see the note;
    //   its Llama-2-70B rows are all within 13 %; 10.7 % / 137 % before the busiest-group MoE
    //   curves, 63.7 % worst before they were classed by local experts);
    // - vLLM CI 15.3 % / 23.4 % (Hopper rows 13-23 % fast, A100 dense rows within 7 %: not a
    //   per-step host cost, which would show on A100 too; see kernels.rs);
    // - NIM 1.7 % / 12.2 %;
    // - SGLang blogs 14.1 % / 26.2 % (Kimi-K2 prefill: partial two-batch overlap, see the note;
    //   the H20 prefill row, which has no H20 kernel table, is -14.1 % since the transfer takes
    //   the longer of saturated and bandwidth-scaled reference time and the H20 preset's MFU comes
    //   from kernels measured on an H20 (-60.6 % before, 91.5 % before the reference curves
    //   carried their sub-plateau time over as time, 70.6 % before the MoE classes by local
    //   experts));
    // - TensorRT-LLM DeepSeek-R1 blog, one row (H200 max-throughput, in-flight batching costed as
    //   a static cycle) 24.3 % (20.3 % before TensorRT-LLM's shared experts ran beside the routed ones
    //   in decode, 23.3 % before the measured MLA decode module, 41.8 % before the busiest-group MoE curves, 15.9 % before the
    //   MoE classes by local experts).
    //
    // Loosened by the MoE classes by local experts (scripts/derive_kernel_params.py, MOE_LOCAL:
    // per kernel of TensorRT-LLM 1.3's FP8-block tables the picked curve's median error went
    // 16.1 % -> 7.5 % on H200, 14.8 % -> 7.6 % on H100): the one-curve-per-slice class had been
    // 50-74 % too slow for Mixtral's experts on 2 GPUs and 16-27 % too slow for DeepSeek's on 8
    // (now within 16 % and 12 % of the table), which hid that v0.9's Mixtral kernels were slower
    // than TensorRT-LLM 1.3's (v0.9 worst 0.66 -> 0.99) and what the DeepSeek-R1 blog row's
    // static-cycle reading misses (0.17 -> 0.25); the vLLM H200 Mixtral row moves -22.6 % ->
    // -23.4 % (worst 0.23 -> 0.24).
    let bounds = [
        // calibration.md median 0.050 -> 0.068: the measured MLA decode module
        // (cost::mla_module, engine any reads TensorRT-LLM's tables) makes the DeepSeek profile
        // decode row +5.2 % -> +8.7 %; the kernel sum it replaces was 30-40 % above the measured
        // block at small batches (tests/cost.rs).
        // calibration.md median 0.068 -> 0.050, worst 0.77 -> 0.68: two-batch overlap as the
        // period of its schedule (cost::overlap) instead of a perfect 2·max: the SGLang H100
        // decode row +23.4 % -> +5.7 %, the DeepSeek profile decode +8.7 % -> +4.2 %, the
        // production prefill average +77 % -> +68 %.
        // Moved by the dense GEMMs read on their measured (N, K, M) grid (scripts/
        // derive_kernel_params.py, gemm_grid; before: one curve in M over every shape, 10 % median
        // error per kernel of the H200 FP8 table, 25-44 % slow for 70B-class matrices at M = 128).
        // AIConfigurator agreement on scripts/aic_sweep.py's 70 generated configs: median 7.3 % ->
        // 5.9 %, within 15 %: 48 -> 54 (Llama-3.1-70B FP8 decode +4.7 % -> -0.2 % median). The
        // rows whose measured end-to-end time holds more than the kernels move fast: TensorRT-LLM
        // v0.6 median 0.077 -> 0.141 (decode-heavy 70B rows +79/+85 -> +86/+97 %), v0.9 worst
        // 0.976 -> 1.000, vLLM CI median 0.153 -> 0.169 (worst 0.234 -> 0.231), NIM median 0.017
        // -> 0.021; the SGLang blogs improve 0.154 / 0.453 -> 0.121 / 0.368 (the H20 batch-1 MTP
        // rows +36 / +45 % -> +15 / +12 %), calibration.md worst 0.66 -> 0.58, v0.17 median
        // 0.074 -> 0.078, worst 0.365 -> 0.371.
        // Moved by the grouped MoE GEMM read on the model's own expert shape where the table
        // measures it (cost::moe_shapes; AIConfigurator sweep: within 15 % 59 -> 68 of 70, worst
        // 53 -> 24 %, Qwen3-30B-A3B +20..+53 % -> -12..+21 %): TensorRT-LLM v0.9 Mixtral median
        // 0.100 -> 0.101, worst 1.000 -> 1.133 (v0.9's MoE plugin, see the rows' note: the H200
        // b1024 row +100 -> +113 %), the DeepSeek-R1 TensorRT-LLM blog +24.2 -> +30.1 %, v0.17
        // median 0.078 -> 0.086 (its Mixtral rows move +2..+7 %: H100 2048/128 -25.1 -> -21.6 %,
        // H200 128/2048 +5.5 -> +8.7 %).
        // Then by TensorRT-LLM's MoE communication on 8-GPU nodes (NCCL all-gather +
        // reduce-scatter instead of DeepEP; cost::comm::MoeComm), the second all-reduce of a MoE
        // layer under attention TP (Mixtral TP2 rows 1-9 % slower: v0.9 H200 b1024 +113 -> +104 %,
        // v0.17 H100 2048/128 -22 -> -25 %) and FP8 attention on its own measured curve (FP8
        // prefill attention 1.24x BF16's speed, not 2x): 90 -> 89 of 111 within 25 %, median 11.0
        // -> 11.7 %; AIConfigurator sweep median 2.9 %, 69 of 70 within 15 %.
        // calibration.md median 0.052 -> 0.060: DeepEP's low-latency all-to-all across nodes
        // at the latency / NIC efficiency fitted to DeepEP's own RDMA table (37 us / 0.92
        // dispatch, 15 us / 0.83 combine, instead of an assumed 25 us / 0.8): the DeepSeek
        // profile decode +4.7 -> +6.6 %, production decode -5.0 -> -3.4 % (Kimi-K2 decode
        // +10.5 -> +17.4 %, H20 batch-1 rows +28 / +37 -> +26 / +35 %).
        (Group::CalibrationMd, 8, 0.07, 0.70),
        (Group::TrtllmV06, 13, 0.15, 0.99),
        // TensorRT-LLM 1.0's A100 MoE table (power-law rows only, read since session 19) in place
        // of dense GEMMs per expert: v0.9 median 0.101 -> 0.110 (its A100 Mixtral throughput rows
        // +15 / -8 / +3 -> -20 / -8 / -20 %, 2,048-token TTFT -17 -> +20 %), v0.17 median 0.082 ->
        // 0.058 and worst 0.338 -> 0.255 (A100 Mixtral +21 / +34 / +26 -> +7 / -6 / +2 %), vLLM
        // CI A100 Mixtral +17.5 -> -11.7 %.
        (Group::TrtllmV09, 35, 0.115, 1.14),
        // vLLM CI worst 0.22 -> 0.23: the grouped MoE curves are read on the busiest EP group
        // under power-law routing (scripts/derive_kernel_params.py, ROUTING), which at the few
        // tokens of these latency runs activates fewer experts than uniform routing: the H200
        // Mixtral row goes -17.1 % -> -22.6 % (its H100 row -8.8 % -> -13.2 %, A100 +11.3 % -> +0.8 %).
        (Group::VllmCi, 9, 0.18, 0.24),
        (Group::Nim, 4, 0.03, 0.13),
        // SGLang blogs median 0.141 -> 0.087, worst 0.262 -> 0.141 by the overlap schedule: Kimi-K2
        // prefill +26.2 % -> +8.7 %, decode +11.9 % -> +7.1 % (all-to-all bound, 55-80 % overlap).
        // + the H20 blog's 9 decode figures with MTP (speculative decoding): 3 -> 12 rows, median
        // 0.087 -> 0.154, worst 0.141 -> 0.453 (batch 1 and 3 draft tokens +28..+45 %, EP32 at
        // batch 32 +41 %: see the rows' notes; batch 8-48 with 1-2 draft tokens at EP16 within 17 %).
        // Then the H20 blog's decode as it ran: single-batch overlap (its setting; two-batch
        // overlap had been charged, splitting even one sequence in two), the H20's 64-row
        // grouped-GEMM tiles (Kernels::grouped_gemm_time) and SGLang EAGLE's exposed host work
        // per step (cost::coeffs::SGLANG_EAGLE_HOST_S): median 0.121 -> 0.068, worst 0.368 ->
        // 0.371 (batch 1 with 3 draft tokens +37 %; EP32 at batch 32 +41 -> 0 %, batch 8-48 at
        // EP16 within 7 %).
        // Then each draft pass's LM head (LayoutCoeffs::draft_heads_per_token): median 0.066 -> 0.058, worst
        // 0.342 -> 0.295 (batch 1 with 3 draft tokens +34 -> +30 %, with 1 +25 -> +23 %).
        (Group::SglangBlogs, 12, 0.07, 0.31),
        (Group::TrtllmBlogs, 1, 0.29, 0.29),
        // vLLM wide-EP blog: DeepSeek-R1 decode on 32 H200 with DBO, +4.2 % (without the overlap,
        // as TensorRT-LLM is costed, the same layout is -22 %); prefill on 16 H200 -43.8 %
        // (vLLM's Triton fused-MoE table where vLLM runs DeepGEMM: see the row's note).
        (Group::VllmBlogs, 2, 0.25, 0.45),
        // TensorRT-LLM v0.17 in-flight batching (trtllm-bench max throughput), 27 rows at the
        // concurrency of trtllm-bench's own sizing rule: 7.4 % / 36.5 % (A100 FP16 Mixtral: no
        // measured TensorRT-LLM MoE kernel on A100, experts costed as dense GEMMs; prefill-heavy
        // rows on Hopper -8..-26 %: decode tokens ride in the prefill chunks' iterations).
        (Group::TrtllmV017, 27, 0.065, 0.27),
    ];
    for (group, rows, median_bound, worst_bound) in bounds {
        let e = errors(group);
        assert_eq!(e.len(), rows, "{group:?} rows");
        assert!(
            median(e.clone()) <= median_bound,
            "{group:?} median {:.3}",
            median(e.clone())
        );
        assert!(worst(&e) <= worst_bound, "{group:?} worst {:.3}", worst(&e));
    }
    assert_eq!(
        out.len(),
        bounds.iter().map(|b| b.1).sum::<usize>(),
        "every row is in a group"
    );
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
    }
}

/// `pdplan calibrate` prints each distinct note once, naming every row it explains.
#[test]
fn calibrate_prints_each_note_once_for_all_its_rows() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .arg("calibrate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let notes: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("note "))
        .filter_map(|l| l.split_once(": "))
        .collect();
    let mut texts: Vec<&str> = notes.iter().map(|(_, t)| *t).collect();
    texts.sort_unstable();
    let n = texts.len();
    texts.dedup();
    assert_eq!(texts.len(), n, "a note is printed twice");
    for o in calibration::outcomes().unwrap() {
        if o.row.note.is_empty() {
            continue;
        }
        let line = notes.iter().find(|(_, t)| *t == o.row.note);
        assert!(
            line.is_some_and(|(ids, _)| ids.split(", ").any(|id| id == o.row.id)),
            "{} is not named with its note",
            o.row.id
        );
    }
}
