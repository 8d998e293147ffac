//! The catalogue of bad inputs (issue 6): every case runs the real `pdplan` binary and checks
//! the exit code, that the message names the file / line / field and says what to change, that
//! no plan file (and no temporary file) was written, and that nothing panicked even with
//! `RUST_BACKTRACE=1`.
//!
//! Inputs are built from the shipped Qwen3-235B task (`fixtures/tasks/qwen3-235b-moe.md`) by
//! replacing one piece of text, so each case differs from a good task in exactly one way.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const BAD_INPUT: i32 = 2;
const INFEASIBLE: i32 = 3;
const OUTPUT: i32 = 4;

fn good_task() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks/qwen3-235b-moe.md");
    fs::read_to_string(p).expect("the shipped Qwen3 task")
}

/// The good task with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> Vec<u8> {
    let t = good_task();
    assert!(t.contains(from), "`{from}` is not in the good task");
    t.replacen(from, to, 1).into_bytes()
}

/// The good task without the lines containing `needle`.
fn without(needle: &str) -> Vec<u8> {
    let t = good_task();
    assert!(t.contains(needle), "`{needle}` is not in the good task");
    t.lines()
        .filter(|l| !l.contains(needle))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// The good task without the section whose header contains `title` (up to the next `---`).
fn without_section(title: &str) -> Vec<u8> {
    let t = good_task();
    let mut out = Vec::new();
    let mut skipping = false;
    for l in t.lines() {
        if l.starts_with("## ") && l.contains(title) {
            skipping = true;
        } else if skipping && (l.starts_with("---") || l.starts_with("## ") || l.starts_with("```")) {
            skipping = false;
        }
        if !skipping {
            out.push(l);
        }
    }
    assert!(out.len() < t.lines().count(), "no section `{title}`");
    out.join("\n").into_bytes()
}

/// 4 KiB of pseudo-random bytes (a fixed LCG, so the case is reproducible).
fn garbage() -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8 | 0x80
        })
        .collect()
}

/// A fresh scratch folder for one case.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "pdplan-bad-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn pdplan(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("pdplan runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Files (including hidden temporary ones) under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn assert_no_panic(o: &Output, case: &str) {
    let err = stderr(o);
    for bad in ["panicked", "stack backtrace", "RUST_BACKTRACE", "internal error"] {
        assert!(!err.contains(bad), "{case}: `{bad}` in stderr:\n{err}");
    }
    assert_ne!(o.status.code(), Some(101), "{case}: panic exit code");
}

/// Run `solve` on `contents` written as `file_name`; check the exit code, that stderr contains
/// every needle, and that the output folder holds no file.
fn check(case: &str, file_name: &str, contents: &[u8], code: i32, needles: &[&str]) -> String {
    let dir = scratch(case);
    fs::write(dir.join(file_name), contents).unwrap();
    let o = pdplan(&["solve", file_name, "--out", "out"], &dir);
    let err = stderr(&o);
    assert_no_panic(&o, case);
    assert_eq!(o.status.code(), Some(code), "{case}: exit code; stderr:\n{err}");
    for n in needles {
        assert!(err.contains(n), "{case}: `{n}` not in stderr:\n{err}");
    }
    let written = files_under(&dir.join("out"));
    assert!(written.is_empty(), "{case}: files written: {written:?}");
    let _ = fs::remove_dir_all(&dir);
    err
}

macro_rules! bad {
    ($name:ident, $file:expr, $contents:expr, $code:expr, [$($needle:expr),* $(,)?]) => {
        #[test]
        fn $name() {
            let contents: Vec<u8> = $contents.to_vec();
            check(stringify!($name), $file, &contents, $code, &[$($needle),*]);
        }
    };
}

// --- unreadable files -------------------------------------------------------------------------

bad!(
    empty_file,
    "t.md",
    Vec::<u8>::new(),
    BAD_INPUT,
    ["t.md", "empty", "Environment Condition"]
);
bad!(
    binary_garbage,
    "t.md",
    garbage(),
    BAD_INPUT,
    ["t.md:1", "invalid UTF-8", "UTF-8"]
);
bad!(
    nul_bytes,
    "t.md",
    edit("64GB", "64\0GB"),
    BAD_INPUT,
    ["t.md:11", "NUL byte"]
);
bad!(
    utf16_file,
    "t.md",
    [0xFF, 0xFE, b'#', 0, b'x', 0],
    BAD_INPUT,
    ["t.md", "UTF-16", "save the file as UTF-8"]
);
bad!(
    latin1_file,
    "t.md",
    edit("name**: Qwen3-235B", "name**: Qwen3 \u{e9}")
        .into_iter()
        .flat_map(|b| if b == 0xC3 {
            vec![]
        } else if b == 0xA9 {
            vec![0xE9]
        } else {
            vec![b]
        })
        .collect::<Vec<u8>>(),
    BAD_INPUT,
    ["t.md:17", "invalid UTF-8", "save the file as UTF-8"]
);

// --- missing sections and fields ---------------------------------------------------------------

bad!(
    no_environment_section,
    "t.md",
    without_section("Environment Condition"),
    BAD_INPUT,
    [
        "t.md",
        "hardware.peak_flops_per_s",
        "Single-card computing power",
        "GPU model"
    ]
);
bad!(
    no_model_section,
    "t.md",
    without_section("Model Configuration"),
    BAD_INPUT,
    ["t.md", "model.layers", "Layers", "model preset"]
);
bad!(
    no_input_section,
    "t.md",
    without_section("Input Data"),
    BAD_INPUT,
    ["t.md", "workload.batch", "Batch size"]
);
/// A task without requirements is not bad input (issue 14 item 2): it is planned, with a warning.
#[test]
fn no_requirements_section() {
    let case = "no_requirements_section";
    let dir = scratch(case);
    fs::write(
        dir.join("t.md"),
        without_section("Basic Performance Requirements"),
    )
    .unwrap();
    let o = pdplan(&["solve", "t.md", "--out", "out"], &dir);
    let err = stderr(&o);
    assert_no_panic(&o, case);
    assert_eq!(o.status.code(), Some(0), "{case}: exit code; stderr:\n{err}");
    assert!(err.contains("no latency requirement"), "{case}: stderr:\n{err}");
    assert!(dir.join("out/prefill.json").is_file() && dir.join("out/decode.json").is_file());
    let _ = fs::remove_dir_all(&dir);
}
bad!(
    missing_peak_flops,
    "t.md",
    without("Single-card computing power"),
    BAD_INPUT,
    [
        "hardware.peak_flops_per_s",
        "add a line",
        "Single-card computing power"
    ]
);
bad!(
    missing_hbm_bandwidth,
    "t.md",
    without("VRAM Bandwidth"),
    BAD_INPUT,
    ["hardware.hbm_bytes_per_s", "VRAM Bandwidth"]
);
bad!(
    missing_memory,
    "t.md",
    without("video memory capacity"),
    BAD_INPUT,
    ["hardware.memory_bytes", "Single-card video memory capacity"]
);
bad!(
    missing_layers,
    "t.md",
    without("**Layers**"),
    BAD_INPUT,
    ["model.layers", "add a line", "Layers"]
);
bad!(
    missing_hidden_size,
    "t.md",
    without("Token Dimension"),
    BAD_INPUT,
    ["model.hidden_size", "Token Dimension"]
);
bad!(
    missing_heads,
    "t.md",
    without("Dimension of Attention"),
    BAD_INPUT,
    ["model.heads", "Dimension of Attention"]
);
bad!(
    missing_expert_size,
    "t.md",
    without("Hidden size of MOE"),
    BAD_INPUT,
    ["model.moe.expert_intermediate_size", "Hidden size of MOE"]
);
bad!(
    missing_kv_heads,
    "t.md",
    without("GQA kv heads"),
    BAD_INPUT,
    ["model.kv_heads", "GQA", "GQA kv heads"]
);
bad!(
    missing_batch,
    "t.md",
    without("Batch size"),
    BAD_INPUT,
    ["workload.batch", "Batch size"]
);
#[test]
fn missing_sequence_length() {
    let t = String::from_utf8(without("Sequence Length")).unwrap();
    let t: String = t
        .lines()
        .filter(|l| !l.contains("Sequence In"))
        .collect::<Vec<_>>()
        .join("\n");
    check(
        "missing_sequence_length",
        "t.md",
        t.as_bytes(),
        BAD_INPUT,
        &["workload.max_len", "Sequence Length", "Sequence In"],
    );
}

// --- values: 0, negative, NaN, inf, huge, wrong units, out of range ----------------------------

bad!(
    zero_layers,
    "t.md",
    edit("94-layer", "0-layer"),
    BAD_INPUT,
    ["model.layers", "line 19", "is 0", "at least 1"]
);
bad!(
    zero_batch,
    "t.md",
    edit("consists of 128 sequences", "consists of 0 sequences"),
    BAD_INPUT,
    ["workload.batch", "line 32", "at least 1"]
);
bad!(
    two_durations_on_one_line,
    "t.md",
    edit(": 30s", ": 30s or 20s"),
    BAD_INPUT,
    ["requirements.ttft_s", "t.md:41", "more than one duration"]
);
bad!(
    a_second_requirement_on_the_ttft_line,
    "t.md",
    edit(": 30s", ": 2 s, TPOT 50 ms"),
    BAD_INPUT,
    ["requirements.ttft_s", "t.md:41", "more than one duration"]
);
bad!(
    batch_with_space_separated_digit_groups,
    "t.md",
    edit("consists of 128 sequences", "consists of 1 024 sequences"),
    BAD_INPUT,
    ["workload.batch", "t.md:32", "digit groups", "1024"]
);
bad!(
    vocabulary_with_underscore_digit_groups,
    "t.md",
    edit("151936", "151_936"),
    BAD_INPUT,
    ["model.vocab_size", "digit groups", "151936"]
);
bad!(
    batch_with_a_decimal_comma,
    "t.md",
    edit("consists of 128 sequences", "consists of 1,28 sequences"),
    BAD_INPUT,
    ["workload.batch", "decimal comma"]
);
bad!(
    two_numbers_joined_by_a_comma,
    "t.md",
    edit("Sequence In**: 2048", "Sequence In**: 2048,4096"),
    BAD_INPUT,
    ["workload.input_len", "two numbers"]
);
bad!(
    batch_as_a_power,
    "t.md",
    edit("consists of 128 sequences", "consists of 2^10 sequences"),
    BAD_INPUT,
    ["workload.batch", "powers are not read", "1024"]
);
bad!(
    zero_memory,
    "t.md",
    edit("64GB", "0GB"),
    BAD_INPUT,
    ["hardware.memory_bytes", "line 11", "greater than 0"]
);
bad!(
    zero_ttft,
    "t.md",
    edit(": 30s", ": 0s"),
    BAD_INPUT,
    ["requirements.ttft_s", "line 41", "greater than 0"]
);
bad!(
    zero_gpus,
    "t.md",
    edit("Ample NPU resources, no limits.", "0"),
    BAD_INPUT,
    ["hardware.gpu_budget", "line 6"]
);
bad!(
    zero_kv_heads,
    "t.md",
    edit("GQA kv heads**: 4", "GQA kv heads**: 0"),
    BAD_INPUT,
    ["model.kv_heads", "line 26", "at least 1"]
);
bad!(
    negative_flops,
    "t.md",
    edit("400TFlops", "-400TFlops"),
    BAD_INPUT,
    ["t.md:7", "hardware.peak_flops_per_s", "negative", "400TFlops"]
);
bad!(
    negative_gpus,
    "t.md",
    edit("Ample NPU resources, no limits.", "-8"),
    BAD_INPUT,
    ["t.md:6", "hardware.gpu_budget", "negative"]
);
bad!(
    nan_bandwidth,
    "t.md",
    edit("1.8TBps", "NaN TBps"),
    BAD_INPUT,
    ["t.md:9", "hbm_bytes_per_s", "not a finite number"]
);
bad!(
    nan_mfu,
    "t.md",
    edit("60%", "NaN%"),
    BAD_INPUT,
    ["t.md:8", "hardware.mfu", "not a finite number"]
);
bad!(
    inf_ttft,
    "t.md",
    edit(": 30s", ": inf s"),
    BAD_INPUT,
    ["t.md:41", "requirements.ttft_s", "not a finite number"]
);
bad!(
    inf_memory,
    "t.md",
    edit("64GB", "infinity GB"),
    BAD_INPUT,
    ["t.md:11", "memory_bytes", "not a finite number"]
);
bad!(
    absurd_memory,
    "t.md",
    edit("64GB", "1e30 GB"),
    BAD_INPUT,
    [
        "hardware.memory_bytes",
        "line 11",
        "1e30 GB",
        "implausible",
        "check the number and its unit"
    ]
);
bad!(
    overflowing_number,
    "t.md",
    edit("64GB", "1e400 GB"),
    BAD_INPUT,
    ["t.md:11", "memory_bytes", "finite"]
);
bad!(
    memory_in_megabytes,
    "t.md",
    edit("64GB", "64MB"),
    BAD_INPUT,
    ["hardware.memory_bytes", "line 11", "64 MB", "did you mean 64 GB"]
);
bad!(
    compute_in_gigaflops,
    "t.md",
    edit("400TFlops", "400 GFlops"),
    BAD_INPUT,
    [
        "hardware.peak_flops_per_s",
        "line 7",
        "400 GFLOPS",
        "did you mean 400 TFLOPS"
    ]
);
bad!(
    memory_as_a_rate,
    "t.md",
    edit("64GB", "64 tokens/s"),
    BAD_INPUT,
    ["t.md:11", "memory_bytes", "expected a memory size"]
);
bad!(
    duration_without_unit,
    "t.md",
    edit(": 30s", ": 30"),
    BAD_INPUT,
    ["t.md:41", "requirements.ttft_s", "has no unit", "30s"]
);
bad!(
    mfu_above_100_percent,
    "t.md",
    edit("60%", "160%"),
    BAD_INPUT,
    ["hardware.mfu", "line 8", "(0, 1]", "160%"]
);
bad!(
    reversed_range,
    "t.md",
    edit("[128, 10240]", "[10240, 128]"),
    BAD_INPUT,
    ["t.md:33", "workload.min_len", "reversed", "[128, 10240]"]
);
bad!(
    sequence_in_above_max,
    "t.md",
    edit("Sequence In**: 2048", "Sequence In**: 20480"),
    BAD_INPUT,
    [
        "workload.input_len",
        "line 34",
        "20480",
        "above the maximum length 10240"
    ]
);
bad!(
    fractional_batch,
    "t.md",
    edit("consists of 128 sequences", "consists of 1.5 sequences"),
    BAD_INPUT,
    ["t.md:32", "workload.batch", "not a whole number"]
);
bad!(
    top_k_above_experts,
    "t.md",
    edit("Top-K Gate**: 8", "Top-K Gate**: 200"),
    BAD_INPUT,
    ["model.moe.top_k", "line 24", "200", "128 experts"]
);
bad!(
    kv_heads_not_dividing_heads,
    "t.md",
    edit("GQA kv heads**: 4", "GQA kv heads**: 5"),
    BAD_INPUT,
    ["model.kv_heads", "line 26", "not a multiple"]
);
bad!(
    unknown_precision,
    "t.md",
    edit("Precision**: FP8", "Precision**: FP64"),
    BAD_INPUT,
    ["t.md:20", "model.dtype", "FP16", "FP64"]
);
bad!(
    too_many_layers,
    "t.md",
    edit("94-layer", "100000-layer"),
    BAD_INPUT,
    ["model.layers", "line 19", "supported maximum"]
);

// --- presets -----------------------------------------------------------------------------------

bad!(
    unknown_gpu_preset,
    "t.md",
    edit("NPUs**: Ample NPU resources, no limits.", "GPU model**: H1000"),
    BAD_INPUT,
    [
        "t.md:6",
        "unknown GPU preset `H1000`",
        "H100-SXM",
        "B200",
        "Ascend-910B"
    ]
);
bad!(
    unknown_model_preset,
    "t.md",
    edit("name**: Qwen3-235B", "Model preset**: Qwen-9000"),
    BAD_INPUT,
    [
        "t.md:17",
        "unknown model preset `Qwen-9000`",
        "Qwen3-235B-A22B",
        "DeepSeek-V3",
        "Llama-3.1-70B"
    ]
);

bad!(
    hf_config_that_does_not_exist,
    "t.md",
    edit("name**: Qwen3-235B", "HF config**: no/such/config.json"),
    BAD_INPUT,
    ["no/such/config.json", "check the path"]
);
bad!(
    hf_config_that_never_ends,
    "t.md",
    edit("name**: Qwen3-235B", "HF config**: /dev/zero"),
    BAD_INPUT,
    ["/dev/zero", "a device"]
);

// --- contradictions and infeasibility ----------------------------------------------------------

bad!(
    gpu_budget_too_small,
    "t.md",
    edit("Ample NPU resources, no limits.", "8"),
    INFEASIBLE,
    ["infeasible", "GPU budget", "budget 8", "at least 12 GPUs"]
);
bad!(
    impossible_ttft,
    "t.md",
    edit(": 30s", ": 1us"),
    INFEASIBLE,
    ["infeasible (prefill)", "TTFT", "best reachable", "required"]
);

/// Declared vs derived parameters is a conflict reported by design (a warning naming the line
/// and an assumption in the plans), not an error: memory uses the larger figure.
#[test]
fn declared_params_conflict_is_reported() {
    let dir = scratch("declared");
    fs::write(dir.join("t.md"), edit("weights**: 235B", "weights**: 10B")).unwrap();
    let o = pdplan(&["solve", "t.md", "--out", "out"], &dir);
    let err = stderr(&o);
    assert_no_panic(&o, "declared");
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("declared_params") && err.contains("line 18") && err.contains("231.7 B parameters"),
        "{err}"
    );
    let plan = fs::read_to_string(dir.join("out/prefill.json")).unwrap();
    assert!(
        plan.contains("conflict: declared 10.000 B parameters"),
        "no conflict assumption"
    );
    let _ = fs::remove_dir_all(&dir);
}

// --- JSON tasks --------------------------------------------------------------------------------

/// The good task as JSON (via `pdplan task`), edited as a `serde_json::Value`.
fn json_task(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let dir = scratch("json");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    let o = pdplan(&["task", "t.md"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    edit(&mut v);
    let _ = fs::remove_dir_all(&dir);
    serde_json::to_vec_pretty(&v).unwrap()
}

#[test]
fn json_task_is_good_as_converted() {
    check(
        "json_good_infeasible_budget",
        "t.json",
        &json_task(|v| v["hardware"]["gpu_budget"] = 8.into()),
        INFEASIBLE,
        &["budget 8"],
    );
}

bad!(
    json_unknown_key,
    "t.json",
    json_task(|v| v["hardware"]["memroy_gb"] = 64.into()),
    BAD_INPUT,
    [
        "t.json",
        "line ",
        "hardware.memroy_gb",
        "unknown field",
        "memory_bytes",
        "remove the key or correct its spelling"
    ]
);
bad!(
    json_wrong_type,
    "t.json",
    json_task(|v| v["workload"]["batch"] = "128 sequences".into()),
    BAD_INPUT,
    ["t.json", "workload.batch", "invalid type", "whole number"]
);
bad!(
    json_negative,
    "t.json",
    json_task(|v| v["hardware"]["memory_bytes"] = (-64e9).into()),
    BAD_INPUT,
    ["t.json", "hardware.memory_bytes", "negative"]
);
bad!(
    json_bytes_not_gigabytes,
    "t.json",
    json_task(|v| v["hardware"]["memory_bytes"] = 64.into()),
    BAD_INPUT,
    [
        "t.json",
        "hardware.memory_bytes",
        "did you mean 64 GB",
        "write 6.4e10"
    ]
);
bad!(
    json_mfu_percent,
    "t.json",
    json_task(|v| v["hardware"]["mfu"] = 60.into()),
    BAD_INPUT,
    ["t.json", "hardware.mfu", "(0, 1]"]
);
bad!(
    json_nan,
    "t.json",
    b"{\"hardware\": {\"memory_bytes\": NaN}}",
    BAD_INPUT,
    ["t.json", "line 1", "hardware.memory_bytes", "no NaN"]
);
bad!(
    json_truncated,
    "t.json",
    json_task(|_| ()).into_iter().take(200).collect::<Vec<u8>>(),
    BAD_INPUT,
    ["t.json", "EOF", "cut off"]
);
bad!(
    json_trailing_comma,
    "t.json",
    b"{\"workload\": {\"batch\": 128,}}",
    BAD_INPUT,
    ["t.json", "trailing comma", "remove the comma"]
);
bad!(
    json_array,
    "t.json",
    b"[{\"workload\": {}}]",
    BAD_INPUT,
    ["t.json", "JSON array", "one object"]
);
bad!(
    json_missing_field,
    "t.json",
    json_task(|v| {
        v["workload"].as_object_mut().unwrap().remove("batch");
    }),
    BAD_INPUT,
    ["t.json", "workload.batch", "set `workload.batch`"]
);
bad!(
    json_unknown_preset,
    "t.json",
    json_task(|v| v["hardware"]["preset"] = "H1000".into()),
    BAD_INPUT,
    ["t.json", "unknown GPU preset `H1000`", "H100-SXM"]
);
bad!(
    json_integer_overflow,
    "t.json",
    json_task(|v| v["model"]["layers"] = serde_json::json!(18446744073709551616.0)),
    BAD_INPUT,
    ["t.json", "model.layers", "whole number"]
);

// --- paths and output --------------------------------------------------------------------------

#[test]
fn task_path_that_does_not_exist() {
    let dir = scratch("nopath");
    let o = pdplan(&["solve", "no/such/task.md", "--out", "out"], &dir);
    assert_no_panic(&o, "nopath");
    assert_eq!(o.status.code(), Some(BAD_INPUT));
    let err = stderr(&o);
    assert!(
        err.contains("no/such/task.md") && err.contains("check the path"),
        "{err}"
    );
    assert!(!dir.join("out").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn task_path_is_a_folder() {
    let dir = scratch("folder");
    let o = pdplan(&["task", "."], &dir);
    assert_no_panic(&o, "folder");
    assert_eq!(o.status.code(), Some(BAD_INPUT));
    assert!(stderr(&o).contains("folder"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&dir);
}

/// A task file far too large to be a task (17 MiB) is refused before it is parsed; the same cap
/// stops `/dev/zero` or a FIFO that never ends from exhausting memory.
#[test]
fn oversized_task_file() {
    let dir = scratch("big");
    fs::write(dir.join("t.md"), vec![b' '; 17 << 20]).unwrap();
    let o = pdplan(&["task", "t.md"], &dir);
    assert_no_panic(&o, "big");
    assert_eq!(o.status.code(), Some(BAD_INPUT));
    assert!(stderr(&o).contains("larger than 16 MiB"), "{}", stderr(&o));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn output_folder_inside_a_regular_file() {
    for out in ["afile", "afile/sub"] {
        let dir = scratch("outfile");
        fs::write(dir.join("t.md"), good_task()).unwrap();
        fs::write(dir.join("afile"), "not a folder").unwrap();
        let o = pdplan(&["solve", "t.md", "--out", out], &dir);
        let err = stderr(&o);
        assert_no_panic(&o, out);
        assert_eq!(o.status.code(), Some(OUTPUT), "{out}: {err}");
        assert!(
            err.contains(out) && err.contains("choose another output folder"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(dir.join("afile")).unwrap(), "not a folder");
        assert_eq!(files_under(&dir).len(), 2, "{:?}", files_under(&dir));
        let _ = fs::remove_dir_all(&dir);
    }
}

/// A failed run leaves the previous plan files as they were, and no temporary file: here the
/// third file's name is taken by a folder, which is found before any file is replaced.
#[test]
fn failed_write_keeps_previous_plans_and_leaves_no_temp_files() {
    let dir = scratch("keep");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    fs::create_dir_all(dir.join("out/submission.json")).unwrap();
    fs::write(dir.join("out/prefill.json"), "previous prefill").unwrap();
    fs::write(dir.join("out/decode.json"), "previous decode").unwrap();
    let o = pdplan(&["solve", "t.md", "--out", "out"], &dir);
    assert_no_panic(&o, "keep");
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", stderr(&o));
    assert!(stderr(&o).contains("submission.json"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.join("out/prefill.json")).unwrap(),
        "previous prefill"
    );
    assert_eq!(
        fs::read_to_string(dir.join("out/decode.json")).unwrap(),
        "previous decode"
    );
    let names: Vec<_> = files_under(&dir.join("out"));
    assert_eq!(names.len(), 2, "temporary files left: {names:?}");
    let _ = fs::remove_dir_all(&dir);
}

/// A bad task run against a folder holding a previous plan leaves that plan untouched.
#[test]
fn bad_task_keeps_previous_plans() {
    let dir = scratch("keep2");
    fs::write(dir.join("good.md"), good_task()).unwrap();
    fs::write(dir.join("bad.md"), edit("64GB", "64MB")).unwrap();
    let o = pdplan(&["solve", "good.md", "--out", "out"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before: Vec<(PathBuf, Vec<u8>)> = files_under(&dir.join("out"))
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before.len(), 3);
    let o = pdplan(&["solve", "bad.md", "--out", "out"], &dir);
    assert_eq!(o.status.code(), Some(BAD_INPUT));
    let after: Vec<(PathBuf, Vec<u8>)> = files_under(&dir.join("out"))
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap()))
        .collect();
    assert_eq!(before, after);
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(target_os = "linux")]
#[test]
fn stdout_that_cannot_be_written() {
    let full = fs::File::create("/dev/full");
    let Ok(full) = full else { return };
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .arg("presets")
        .env("RUST_BACKTRACE", "1")
        .stdout(full)
        .output()
        .unwrap();
    assert_no_panic(&o, "/dev/full");
    assert_eq!(o.status.code(), Some(OUTPUT));
    assert!(
        stderr(&o).contains("cannot write to standard output"),
        "{}",
        stderr(&o)
    );
}

// --- command line ------------------------------------------------------------------------------

#[test]
fn bad_command_line_values() {
    let dir = scratch("cli");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    for (args, needle) in [
        (vec!["solve", "t.md", "--out", "out", "--gpus", "0"], "--gpus"),
        (vec!["solve", "t.md", "--out", "out", "--gpus", "-3"], "-3"),
        (vec!["solve", "t.md", "--out", "out", "--rate", "NaN"], "--rate"),
        (vec!["solve", "t.md", "--out", "out", "--rate", "-1"], "-1"),
        (vec!["solve", "t.md", "--out", "out", "--rate=-1"], "--rate"),
        (vec!["solve", "t.md"], "--out"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let o = pdplan(&args, &dir);
        assert_no_panic(&o, needle);
        assert_eq!(o.status.code(), Some(BAD_INPUT), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        assert!(!dir.join("out").exists());
    }
    let _ = fs::remove_dir_all(&dir);
}

// --- limits: absurd sizes are answered within seconds ------------------------------------------

/// Run `solve` and return (exit code, seconds). Debug builds are ~10x slower than release, so the
/// bound here is generous; the release timings are in the README.
fn timed(case: &str, contents: Vec<u8>) -> (Option<i32>, Duration) {
    let dir = scratch(case);
    fs::write(dir.join("t.md"), contents).unwrap();
    let t = Instant::now();
    let o = pdplan(&["solve", "t.md", "--out", "out"], &dir);
    let dt = t.elapsed();
    assert_no_panic(&o, case);
    let _ = fs::remove_dir_all(&dir);
    (o.status.code(), dt)
}

#[test]
fn absurd_sizes_are_answered_quickly() {
    let cases = [
        ("experts", edit("has 128 experts", "has 10000 experts")),
        ("layers-max", edit("94-layer", "10000-layer")),
        ("layers", edit("94-layer", "100000-layer")),
        (
            "batch",
            edit("consists of 128 sequences", "consists of 10000000 sequences"),
        ),
        (
            "batch-over",
            edit("consists of 128 sequences", "consists of 100000000 sequences"),
        ),
        ("length", edit("[128, 10240]", "[128, 100000000]")),
    ];
    for (case, contents) in cases {
        let (code, dt) = timed(case, contents);
        assert!(matches!(code, Some(0 | 2 | 3)), "{case}: exit {code:?}");
        assert!(dt < Duration::from_secs(60), "{case}: {dt:?}");
    }
}

/// A huge GPU budget is answered (a plan, possibly with a time-limit status and its gap, or a
/// clear refusal), never an internal error or a hang: the primary solve is warm-started from the
/// enumerated optimum and each solve has a time limit. (The bound on the time is a hang guard,
/// not a performance measurement; `pdplan bench` measures.)
#[test]
fn huge_gpu_budget_is_answered_quickly() {
    for budget in ["10000", "1000000"] {
        let (code, dt) = timed(budget, edit("Ample NPU resources, no limits.", budget));
        assert!(matches!(code, Some(0 | 2 | 3)), "budget {budget}: exit {code:?}");
        assert!(dt < Duration::from_secs(60), "budget {budget}: {dt:?}");
    }
}

/// B = 10,000,000 sequences under a TTFT only one sequence per instance meets needs tens of
/// millions of GPUs: refused as infeasible, naming the GPU count against pdplan's largest
/// deployment, instead of writing plans (and launch lines) for millions of replicas.
#[test]
fn a_batch_needing_more_gpus_than_any_deployment_is_infeasible() {
    let t = String::from_utf8(edit(
        "consists of 128 sequences",
        "consists of 10000000 sequences",
    ))
    .unwrap();
    let t = t.replacen("30s", "200ms", 1);
    assert!(t.contains("200ms"));
    let dir = scratch("gpu-count");
    fs::write(dir.join("t.md"), t).unwrap();
    let o = pdplan(&["solve", "t.md", "--out", "out"], &dir);
    assert_no_panic(&o, "gpu-count");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("GPUs to hold B") && err.contains("10000000"),
        "{err}"
    );
    assert!(!dir.join("out").join("prefill.json").exists());
    let _ = fs::remove_dir_all(&dir);
}

/// A solve folder holds one run's files: a second solve into the folder of a `--deploy all` run
/// with a TensorRT-LLM-only plan removes the TensorRT-LLM files it does not write again, and a
/// `--frontier` run removes the plans; a file of the user's own is left alone.
#[test]
fn a_solve_into_a_used_folder_leaves_no_file_of_the_earlier_run() {
    let dir = scratch("stale");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    fs::create_dir_all(dir.join("out")).unwrap();
    fs::write(dir.join("out").join("notes.txt"), "mine").unwrap();
    // The files under `d`, relative and sorted.
    let files = |d: &Path| {
        let mut v: Vec<String> = files_under(d)
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let run = |args: &[&str]| {
        let o = pdplan(args, &dir);
        assert_no_panic(&o, "stale");
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    };
    run(&[
        "solve", "t.md", "--out", "out", "--engine", "trtllm", "--deploy", "all",
    ]);
    assert!(files(&dir.join("out")).contains(&"deploy/trtllm/launch.sh".to_string()));
    run(&["solve", "t.md", "--out", "out", "--deploy", "vllm"]);
    let after = files(&dir.join("out"));
    assert!(
        after
            .iter()
            .all(|f| !f.starts_with("deploy/trtllm") && !f.starts_with("deploy/dynamo")),
        "{after:?}"
    );
    assert!(
        after.contains(&"deploy/vllm/launch.sh".to_string()) && after.contains(&"prefill.json".to_string())
    );
    run(&["solve", "t.md", "--out", "out", "--frontier", "--max-gpus", "16"]);
    assert_eq!(files(&dir.join("out")), ["frontier.json", "notes.txt"]);
    let _ = fs::remove_dir_all(&dir);
}

/// `--frontier` answers for every budget at once: flags of a single plan (`--rate`,
/// `--objective`, `--export-lp`, `--deploy`) are refused with it (exit 2) instead of ignored, and
/// `--reproducible` makes `frontier.json` byte-identical.
#[test]
fn frontier_refuses_single_plan_flags_and_is_reproducible() {
    let dir = scratch("frontier-flags");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    for extra in [
        &["--rate", "2"][..],
        &["--objective", "min-gpus"],
        &["--export-lp", "m.lp"],
        &["--deploy", "all"],
    ] {
        let mut args = vec!["solve", "t.md", "--out", "out", "--frontier"];
        args.extend_from_slice(extra);
        let o = pdplan(&args, &dir);
        assert_no_panic(&o, "frontier-flags");
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(!dir.join("out").exists(), "{extra:?}");
    }
    let read = |out: &str| {
        let o = pdplan(
            &[
                "solve",
                "t.md",
                "--out",
                out,
                "--frontier",
                "--max-gpus",
                "16",
                "--reproducible",
            ],
            &dir,
        );
        assert_eq!(o.status.code(), Some(0));
        fs::read(dir.join(out).join("frontier.json")).unwrap()
    };
    assert_eq!(read("a"), read("b"));
    let _ = fs::remove_dir_all(&dir);
}

/// A solve that fails after staging (stdout is a full device: exit 4) leaves no folder it
/// created, not even empty ones; a folder that existed stays.
#[test]
fn a_failed_write_leaves_no_new_empty_folder() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = scratch("dev-full");
    fs::write(dir.join("t.md"), good_task()).unwrap();
    let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["solve", "t.md", "--out", "new/deep"])
        .current_dir(&dir)
        .stdout(full)
        .output()
        .unwrap();
    assert_no_panic(&o, "dev-full");
    assert_eq!(o.status.code(), Some(4), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.join("new").exists());
    assert!(dir.join("t.md").exists());
    // `--help` and `--version` on a full stdout: exit 4 too.
    for flag in ["--help", "--version"] {
        let full = fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
            .arg(flag)
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{flag}");
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A label that names the unit (`QPS: 10`, `RPS: 2.5`) reads a bare number in it; `Request
/// rate: 10` still needs one (requests/s or /min cannot be told apart).
#[test]
fn a_rate_label_that_is_its_unit_reads_a_bare_number() {
    let dir = scratch("qps");
    for (line, want) in [
        ("QPS**: 10", Some(10.0)),
        ("RPS**: 2.5", Some(2.5)),
        ("Request rate**: 10", None),
    ] {
        let t = good_task().replacen(
            "- **The time to the first token(TTFT)**: 30s",
            &format!("- **The time to the first token(TTFT)**: 30s\n* **{line}"),
            1,
        );
        fs::write(dir.join("t.md"), t).unwrap();
        let o = pdplan(&["task", "t.md"], &dir);
        assert_no_panic(&o, "qps");
        match want {
            Some(v) => {
                let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                assert_eq!(
                    j["requirements"]["request_rate_per_s"].as_f64(),
                    Some(v),
                    "{line}"
                );
            }
            None => assert_eq!(o.status.code(), Some(2), "{line}"),
        }
    }
    let _ = fs::remove_dir_all(&dir);
}

/// A task line with a label and no value is named in a warning (it was ignored silently: an
/// empty `Precision:` fell back to the default).
#[test]
fn a_line_without_a_value_is_named() {
    let dir = scratch("empty-value");
    let t = good_task().replacen("* **Precision**: FP8", "* **Precision**:", 1);
    fs::write(dir.join("t.md"), t).unwrap();
    let o = pdplan(&["task", "t.md"], &dir);
    assert_no_panic(&o, "empty-value");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 20") && err.contains("`Precision` has no value"),
        "{err}"
    );
    // A required field left empty: the error names the empty line, not only "add a line".
    let t = good_task().replacen(
        "* **Batch size**: Each batch consists of 128 sequences.",
        "* **Batch size**:",
        1,
    );
    assert!(
        t.contains("* **Batch size**:\n"),
        "the fixture's batch line changed"
    );
    fs::write(dir.join("t.md"), t).unwrap();
    let o = pdplan(&["task", "t.md"], &dir);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("missing field `workload.batch`")
            && err.contains("(`Batch size`) has no value; write it as"),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// `--batch-overlap` overrides the task's line: a schedule the engine does not run is refused
/// with exit 2 and nothing written; a bad name is a usage error; one the engine runs is taken.
#[test]
fn batch_overlap_flag_is_checked_against_the_engine() {
    let dir = scratch("batch-overlap-flag");
    let task = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tasks/deepseek-r1-h20-mtp.md");
    fs::copy(&task, dir.join("t.md")).unwrap();
    for (args, code) in [
        (&["--engine", "trtllm", "--batch-overlap", "two-batch"][..], 2),
        (&["--batch-overlap", "sometimes"], 2),
        (&["--engine", "vllm", "--batch-overlap", "single-batch"], 2),
        (&["--batch-overlap", "two-batch"], 0),
    ] {
        let out = dir.join("out");
        let _ = fs::remove_dir_all(&out);
        let mut argv = vec!["solve", "t.md", "--out", "out"];
        argv.extend_from_slice(args);
        let o = pdplan(&argv, &dir);
        assert_no_panic(&o, "batch-overlap");
        assert_eq!(
            o.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(out.join("decode.json").exists(), code == 0, "{args:?}");
        if code == 0 {
            let plan: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(out.join("decode.json")).unwrap()).unwrap();
            // Never single-batch; two-batch wherever SGLang runs an overlap (wide EP).
            let (b, st) = (&plan["performance"]["breakdown"], &plan["strategy"]);
            assert_eq!(b["single_batch_overlap"], false);
            let n = |k: &str| st[k].as_u64().unwrap();
            let wide = n("expert_tp") == 1 && n("ep") > 1 && n("ep") == n("tp") * n("sp") * n("attention_dp");
            assert_eq!(b["two_batch_overlap"] == true, wide, "{st}");
        }
    }
    let _ = fs::remove_dir_all(&dir);
}
