//! Issue 15 with the real binary: the output policy (no write outside `--out`, no replaced
//! device, FIFO or symbolic link, no overwritten input, no mixed or stale plan sets), the input
//! policy (FIFOs and devices refused, bounded work on huge lines), limits on flags, exit codes.

use serde_json::Value;
use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TASK: &str = "llama3-70b-budget-tpot.md";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tasks")
        .join(name)
}

fn pdplan(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_path_buf();
    fs::copy(fixture(TASK), d.join("t.md")).unwrap();
    (tmp, d)
}

fn mkfifo(p: &Path) -> bool {
    Command::new("mkfifo").arg(p).status().is_ok_and(|s| s.success())
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap()).unwrap()
}

/// Every entry under `dir` (hidden ones included), relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if fs::symlink_metadata(&p).unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_task_named_dots_writes_inside_out_only() {
    let (_t, d) = setup();
    fs::create_dir_all(d.join("in")).unwrap();
    fs::copy(d.join("t.md"), d.join("in/...md")).unwrap();
    fs::create_dir_all(d.join("parent/out")).unwrap();
    for f in ["prefill.json", "decode.json", "submission.json"] {
        fs::write(d.join("parent").join(f), "not pdplan's").unwrap();
    }
    let o = pdplan(&["batch", "in/...md", "--out", "parent/out"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    for f in ["prefill.json", "decode.json", "submission.json"] {
        assert_eq!(
            fs::read_to_string(d.join("parent").join(f)).unwrap(),
            "not pdplan's"
        );
        assert!(d.join("parent/out/task").join(f).is_file(), "{:?}", tree(&d));
    }
}

#[test]
fn outputs_that_are_links_fifos_or_devices_are_never_replaced() {
    let (_t, d) = setup();
    fs::write(d.join("target"), "keep").unwrap();
    std::os::unix::fs::symlink(d.join("target"), d.join("link.lp")).unwrap();
    let mut cases = vec!["link.lp"];
    if mkfifo(&d.join("fifo.lp")) {
        cases.push("fifo.lp");
    }
    // A character device (as /dev/null: 1,3), only possible as root.
    let dev = Command::new("mknod")
        .arg(d.join("null.lp"))
        .args(["c", "1", "3"])
        .status();
    if dev.is_ok_and(|s| s.success()) {
        cases.push("null.lp");
    }
    for out in &cases {
        let before = fs::symlink_metadata(d.join(out)).unwrap().file_type();
        let o = pdplan(&["export-lp", "t.md", "-o", out], &d);
        assert_eq!(o.status.code(), Some(4), "{out}: {}", err(&o));
        assert!(
            err(&o).contains("pdplan replaces only regular files"),
            "{}",
            err(&o)
        );
        let after = fs::symlink_metadata(d.join(out)).unwrap().file_type();
        assert_eq!(before, after, "{out} was replaced");
        let second = out.replace(".lp", ".secondary.lp");
        assert!(!d.join(second).exists(), "{out}: half of the set written");
    }
    assert_eq!(fs::read_to_string(d.join("target")).unwrap(), "keep");
    if cases.contains(&"null.lp") {
        assert!(
            fs::symlink_metadata(d.join("null.lp"))
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }
}

/// The old temporary names were `.NAME.tmp-PID`: links planted under every PID the next runs
/// can get must neither be followed nor survive (they belong to no running process).
#[test]
fn planted_temp_links_redirect_nothing() {
    let (_t, d) = setup();
    fs::create_dir(d.join("out")).unwrap();
    fs::write(d.join("victim"), "keep").unwrap();
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1000);
    for pid in last..last + 200 {
        for f in ["prefill.json", "decode.json", "submission.json"] {
            let link = d.join("out").join(format!(".{f}.tmp-{pid}"));
            std::os::unix::fs::symlink(d.join("victim"), link).unwrap();
        }
    }
    // Other tests run pdplan processes at the same time, and one of them may hold a planted PID
    // while a run looks (its entries are then rightly kept) and exit before the check below: a
    // later run removes them. A run that never removed dead entries fails every attempt.
    let mut left = Vec::new();
    for _attempt in 0..3 {
        let o = pdplan(&["solve", "t.md", "--out", "out"], &d);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert_eq!(fs::read_to_string(d.join("victim")).unwrap(), "keep");
        assert!(json(&d.join("out/prefill.json"))["phase"] == "prefill");
        left = tree(&d.join("out"))
            .into_iter()
            .filter(|n| n.starts_with('.'))
            // PIDs of processes running now (whatever they are) keep their temporary entries.
            .filter(|n| {
                let pid = n.rsplit_once(".tmp-").map_or("", |x| x.1);
                !Path::new("/proc").join(pid).exists()
            })
            .collect();
        if left.is_empty() {
            break;
        }
    }
    assert!(
        left.is_empty(),
        "stale temporary entries left: {} e.g. {:?}",
        left.len(),
        left.first()
    );
}

#[test]
fn an_output_that_is_an_input_or_another_output_is_refused() {
    let (_t, d) = setup();
    let task = fs::read(d.join("t.md")).unwrap();
    let runs: [&[&str]; 4] = [
        &["solve", "t.md", "--out", "out", "--export-lp", "out/prefill.json"],
        &["export-lp", "t.md", "-o", "t.md"],
        &[
            "evaluate", "t.md", "--phase", "decode", "--tp", "4", "--out", "t.md",
        ],
        &["solve", "t.md", "--out", ".", "--export-lp", "./decode.json"],
    ];
    for args in runs {
        let o = pdplan(args, &d);
        let code = o.status.code();
        assert!(
            code == Some(2) || code == Some(3),
            "{args:?}: {code:?} {}",
            err(&o)
        );
        assert_eq!(
            fs::read(d.join("t.md")).unwrap(),
            task,
            "{args:?} changed the task"
        );
        assert!(!d.join("out/prefill.json").exists(), "{args:?}");
        assert!(!d.join("decode.json").exists(), "{args:?}");
    }
}

/// The plans of one run carry one manifest: the same `run` in both plans and in
/// `submission.json`, whose paths are relative to itself.
fn assert_one_set(out: &Path) -> Value {
    let sub = json(&out.join("submission.json"));
    assert_eq!(sub["prefill"], "prefill.json");
    assert_eq!(sub["decode"], "decode.json");
    for f in ["prefill.json", "decode.json"] {
        assert_eq!(json(&out.join(f))["run"], sub["run"], "{f} is of another run");
    }
    sub["run"].clone()
}

/// Forced interleaving: the test holds the output folder's lock while two runs of different
/// tasks stage their files, then lets them commit. Whatever the order, the folder ends with one
/// whole set.
#[test]
fn two_runs_into_one_folder_never_mix() {
    let (_t, d) = setup();
    fs::copy(fixture("qwen3-235b-moe.md"), d.join("q.md")).unwrap();
    let out = d.join("out");
    fs::create_dir(&out).unwrap();
    let lock = fs::File::open(&out).unwrap();
    lock.lock().unwrap();
    let spawn = |task: &str| {
        Command::new(env!("CARGO_BIN_EXE_pdplan"))
            .args(["solve", task, "--out", "out"])
            .current_dir(&d)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut a = spawn("t.md");
    let mut b = spawn("q.md");
    // Both runs have staged their three files and wait for the lock.
    let start = Instant::now();
    loop {
        let staged: usize = tree(&out)
            .iter()
            .filter(|n| n.contains(".pdplan-tmp-") && n.ends_with("submission.json"))
            .count();
        if staged == 2 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "runs did not stage: {:?}",
            tree(&out)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !out.join("prefill.json").exists(),
        "a run wrote while the folder was locked"
    );
    lock.unlock().unwrap();
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let run = assert_one_set(&out);
    let sha = run["task_sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(tree(&out), ["decode.json", "prefill.json", "submission.json"]);
}

#[test]
fn flags_have_the_task_lines_limits() {
    let (_t, d) = setup();
    let runs: [&[&str]; 6] = [
        &["solve", "t.md", "--out", "o", "--gpus", "100000000"],
        &["solve", "t.md", "--out", "o", "--gpus", "18446744073709551615"],
        &["solve", "t.md", "--out", "o", "--rate", "inf"],
        &["evaluate", "t.md", "--tp", "100000000"],
        &[
            "solve",
            "t.md",
            "--out",
            "o",
            "--frontier",
            "--max-gpus",
            "18446744073709551615",
        ],
        &["batch", "t.md", "--out", "o", "--jobs", "100000000"],
    ];
    for args in runs {
        let start = Instant::now();
        let o = pdplan(args, &d);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", err(&o));
        assert!(
            err(&o).contains("supported maximum") || err(&o).contains("finite"),
            "{}",
            err(&o)
        );
        assert!(start.elapsed() < Duration::from_secs(5), "{args:?}");
        assert!(!d.join("o").exists(), "{args:?}");
    }
}

/// A target rate whose instance counts exceed the solver's i32 bounds is answered (exit 2 or 3,
/// naming the range), never an internal error.
#[test]
fn huge_rates_are_beyond_the_range_not_a_crash() {
    let (_t, d) = setup();
    for rate in ["1e9", "1e15"] {
        let o = pdplan(&["solve", "t.md", "--out", "o", "--rate", rate], &d);
        let code = o.status.code();
        assert!(code == Some(2) || code == Some(3), "{rate}: {code:?} {}", err(&o));
        assert!(!err(&o).contains("internal error"), "{}", err(&o));
    }
}

#[test]
fn fifos_and_devices_are_refused_without_blocking() {
    let (_t, d) = setup();
    fs::create_dir(d.join("in")).unwrap();
    fs::copy(d.join("t.md"), d.join("in/a.md")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("in/z.json")).unwrap();
    let fifo = mkfifo(&d.join("in/b.md"));
    let start = Instant::now();
    let o = pdplan(&["batch", "in", "--out", "out", "--jobs", "1"], &d);
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let summary = fs::read_to_string(d.join("out/summary.md")).unwrap();
    assert!(summary.contains("a device"), "{summary}");
    if fifo {
        assert!(summary.contains("FIFO"), "{summary}");
        let o = pdplan(&["solve", "in/b.md", "--out", "o"], &d);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        // As a Hugging Face config.json.
        let task = fs::read_to_string(d.join("t.md")).unwrap();
        let task = task.replacen("* **Layers**", "* **HF config**: in/b.md\n* **Layers**", 1);
        fs::write(d.join("hf.md"), task).unwrap();
        let o = pdplan(&["task", "hf.md"], &d);
        assert_eq!(o.status.code(), Some(2), "{}", err(&o));
        assert!(err(&o).contains("FIFO"), "{}", err(&o));
    }
    assert!(d.join("out/a/prefill.json").is_file());
}

/// A line with 20,000 numbers and a 16 MiB file of one repeated line: linear time, bounded
/// warnings (at most 5 per line and 100 per file, each quoting at most 120 characters).
#[test]
fn huge_lines_are_read_in_linear_time_with_bounded_warnings() {
    let (_t, d) = setup();
    let task = fs::read_to_string(d.join("t.md")).unwrap();
    let numbers: Vec<String> = (1..=20_000).map(|i| i.to_string()).collect();
    let wide = task.replacen(
        "* **Layers**: ",
        &format!("* **Layers**: {} ", numbers.join(" ")),
        1,
    );
    fs::write(d.join("wide.md"), &wide).unwrap();
    let line = format!("* **Note**: {}\n", "x".repeat(200));
    let long = task.clone() + &line.repeat((15 << 20) / line.len());
    fs::write(d.join("long.md"), long).unwrap();
    for f in ["wide.md", "long.md"] {
        let start = Instant::now();
        let o = pdplan(&["task", f], &d);
        let t = start.elapsed();
        // Debug build: generous; the quadratic reading took 120 s (release) on `wide.md`.
        assert!(t < Duration::from_secs(60), "{f}: {t:?}");
        assert!(
            o.stderr.len() < 64 << 10,
            "{f}: {} bytes of warnings",
            o.stderr.len()
        );
        assert!(
            o.stdout.len() < 64 << 10,
            "{f}: {} bytes of task JSON",
            o.stdout.len()
        );
    }
}

#[test]
fn the_frontier_is_bounded_in_work() {
    let (_t, d) = setup();
    let o = pdplan(
        &["solve", "t.md", "--out", "f", "--frontier", "--max-gpus", "1024"],
        &d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let f = json(&d.join("f/frontier.json"));
    let points = f["points"].as_array().unwrap();
    assert!(points.len() <= 64, "{}", points.len());
    assert_eq!(points.last().unwrap()["budget_gpus"], 1024);
    let o = pdplan(
        &[
            "solve",
            "t.md",
            "--out",
            "f",
            "--frontier",
            "--max-gpus",
            "100000",
        ],
        &d,
    );
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("supported maximum 1024"), "{}", err(&o));
    assert!(f["step_gpus"].as_u64().unwrap() > 1);
}

#[test]
fn task_json_names_the_hf_config_absolutely() {
    let (_t, d) = setup();
    fs::create_dir(d.join("tasks")).unwrap();
    let hf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/hf/llama-3.1-70b.json");
    fs::copy(hf, d.join("tasks/config.json")).unwrap();
    let task = fs::read_to_string(d.join("t.md")).unwrap();
    let task = task.replacen("* **Layers**", "* **HF config**: config.json\n* **Layers**", 1);
    fs::write(d.join("tasks/t.md"), task).unwrap();
    let o = pdplan(&["task", "tasks/t.md"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = v["model"]["hf_config"].as_str().unwrap();
    assert!(Path::new(p).is_absolute() && Path::new(p).is_file(), "{p}");
    // The JSON saved elsewhere is still a valid task.
    fs::write(d.join("saved.json"), &o.stdout).unwrap();
    let o = pdplan(&["task", "saved.json"], &d);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
}

#[test]
fn a_closed_stdout_pipe_is_success() {
    let (_t, d) = setup();
    for args in [
        vec!["task", "t.md"],
        vec!["solve", "t.md", "--out", "s"],
        vec!["batch", "t.md", "t.md", "--out", "b"],
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_pdplan"))
            .args(&args)
            .current_dir(&d)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        drop(c.stdout.take());
        assert_eq!(c.wait().unwrap().code(), Some(0), "{args:?}");
    }
    assert!(d.join("s/prefill.json").is_file(), "solve still writes its plans");
    assert!(d.join("b/summary.md").is_file(), "batch still writes its summary");
}

#[test]
fn failed_duplicate_and_cancelled_tasks_leave_no_plan() {
    let (_t, d) = setup();
    fs::create_dir_all(d.join("in/x")).unwrap();
    fs::copy(d.join("t.md"), d.join("in/dup.md")).unwrap();
    fs::copy(d.join("t.md"), d.join("in/x/DUP.md")).unwrap();
    fs::copy(fixture("malformed-batch.md"), d.join("in/bad.md")).unwrap();
    for name in ["dup", "bad"] {
        fs::create_dir_all(d.join("out").join(name)).unwrap();
        for f in ["prefill.json", "decode.json", "submission.json"] {
            fs::write(d.join("out").join(name).join(f), "earlier run").unwrap();
        }
    }
    let o = pdplan(&["batch", "in", "--out", "out"], &d);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    for name in ["dup", "bad"] {
        assert!(!d.join("out").join(name).join("prefill.json").exists(), "{name}");
    }
    // Cancelled before starting (the cancellation path of Ctrl-C): no earlier plan is left.
    let out = d.join("out2");
    fs::create_dir_all(out.join("t")).unwrap();
    fs::write(out.join("t/prefill.json"), "earlier run").unwrap();
    let inputs = pdplan::app::batch::collect(&[d.join("t.md")], &out);
    let opts = pdplan::app::batch::Options {
        out: out.clone(),
        jobs: 1,
        compare: false,
    };
    let cancel = std::sync::atomic::AtomicBool::new(true);
    let r = pdplan::app::batch::run(&inputs, &opts, &cancel, |_, _| {});
    assert_eq!(r.results[0].status, pdplan::app::batch::Status::Cancelled);
    assert!(!out.join("t/prefill.json").exists());
}

/// Exit 4 leaves no new plan: the LP file cannot be written, so neither are the plans.
#[test]
fn an_output_error_leaves_no_new_plan() {
    let (_t, d) = setup();
    fs::write(d.join("afile"), "x").unwrap();
    let o = pdplan(
        &["solve", "t.md", "--out", "out", "--export-lp", "afile/m.lp"],
        &d,
    );
    assert_eq!(o.status.code(), Some(4), "{}", err(&o));
    assert!(!d.join("out/prefill.json").exists());
    assert!(err(&o).contains("not a folder"), "{}", err(&o));
}

#[test]
fn messages_name_what_things_are() {
    let (_t, d) = setup();
    let o = pdplan(&["solve", "t.md", "--out", "/dev/null/x"], &d);
    assert_eq!(o.status.code(), Some(4), "{}", err(&o));
    assert!(
        !err(&o).contains("regular file"),
        "a device is not a regular file: {}",
        err(&o)
    );
    let task = fs::read_to_string(fixture("qwen3-235b-moe.md")).unwrap();
    for (req, want) in [(": 1us", "required 1e-6 s"), (": 1e-300 s", "required 1e-300 s")] {
        fs::write(d.join("q.md"), task.replacen(": 30s", req, 1)).unwrap();
        let o = pdplan(&["solve", "q.md", "--out", "o"], &d);
        assert_eq!(o.status.code(), Some(3), "{}", err(&o));
        assert!(err(&o).contains(want), "{req}: {}", err(&o));
        assert!(err(&o).len() < 4000, "{}", err(&o));
    }
    fs::write(d.join("a.json"), r#"{"model": {"name": [1]}}"#).unwrap();
    let o = pdplan(&["task", "a.json"], &d);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(
        err(&o).contains("JSON array") && !err(&o).contains("double quotes"),
        "{}",
        err(&o)
    );
}
