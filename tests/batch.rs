//! `pdplan batch`: the walk, the summary, exit codes, identical output to single solves,
//! deterministic order, name collisions, cancellation.

use pdplan::app::batch::{self, InputKind, Options, Status};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn opts(out: &Path, jobs: usize) -> Options {
    Options {
        out: out.to_path_buf(),
        jobs,
        compare: false,
    }
}

fn run_dir(inputs: &[PathBuf], out: &Path, jobs: usize) -> batch::Report {
    let found = batch::collect(inputs, out);
    let report = batch::run(&found, &opts(out, jobs), &AtomicBool::new(false), |_, _| {});
    batch::write_summary(out, &report).unwrap();
    report
}

fn status_of(report: &batch::Report, name: &str) -> Status {
    report
        .results
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("{name} not in the report"))
        .status
}

/// A small folder: one fast solvable task, one infeasible, one malformed, one non-task JSON.
fn small_inputs(dir: &Path) -> PathBuf {
    let src = root().join("fixtures");
    let tasks = dir.join("in");
    std::fs::create_dir_all(tasks.join("sub")).unwrap();
    for f in ["llama3-70b-budget-tpot.md", "dense-10b.md", "malformed-batch.md"] {
        std::fs::copy(src.join("tasks").join(f), tasks.join(f)).unwrap();
    }
    std::fs::copy(src.join("hf/llama-3.1-70b.json"), tasks.join("sub/config.json")).unwrap();
    std::fs::write(tasks.join("notes.txt"), "not a task").unwrap();
    std::fs::write(tasks.join("README.md"), "# Notes\n\nNothing to plan here.\n").unwrap();
    tasks
}

#[test]
fn all_fixtures_summary_and_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let report = run_dir(&[root().join("fixtures")], &out, 2);
    for name in [
        "deepseek-v3-mla",
        "llama3-70b-budget-tpot",
        "qwen3-235b-moe",
        "qwen3-235b-given-strategy",
    ] {
        assert_eq!(status_of(&report, name), Status::Solved, "{name}");
        for f in ["prefill.json", "decode.json", "submission.json"] {
            assert!(out.join(name).join(f).exists(), "{name}/{f}");
        }
    }
    for name in ["dense-10b", "infeasible-qwen3-tpot", "moe-10b-throughput-req"] {
        assert_eq!(status_of(&report, name), Status::Infeasible, "{name}");
        assert!(!out.join(name).join("prefill.json").exists());
    }
    assert_eq!(status_of(&report, "malformed-batch"), Status::BadInput);
    for name in ["plan.schema", "deepseek-v3", "llama-3.1-70b", "qwen3-235b-a22b"] {
        assert_eq!(status_of(&report, name), Status::Skipped, "{name}");
    }
    // Non-zero only because of the infeasible and malformed fixtures: bad input (2) is worse
    // than infeasible (3).
    assert_eq!(report.exit_code(), 2);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("TPOT: the best reachable is"), "{md}");
    assert!(md.contains("malformed-batch.md:25"), "{md}");
    assert!(md.contains("## Skipped"), "{md}");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + report.results.len());
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .starts_with("task,input,status,reason,mode,total_gpus,prefill_gpus,prefill_tp")
    );
}

fn without_times(mut v: Value) -> Value {
    v["solver"]["solve_time_s"] = Value::Null;
    // The run id hashes the plans as written, times included; the task hash must agree.
    v["run"]["id"] = Value::Null;
    v
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn batch_output_is_identical_to_solving_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let inputs = small_inputs(tmp.path());
    run_dir(std::slice::from_ref(&inputs), &out, 2);
    let path = inputs.join("llama3-70b-budget-tpot.md");
    let r = pdplan::read_task(&path).unwrap();
    let alone = tmp.path().join("alone");
    pdplan::write_solution(&alone, &path, &pdplan::solve(&r, None).unwrap()).unwrap();
    for f in ["prefill.json", "decode.json"] {
        let a = without_times(read_json(&alone.join(f)));
        let b = without_times(read_json(&out.join("llama3-70b-budget-tpot").join(f)));
        assert_eq!(a, b, "{f}");
    }
}

fn strip_time_column(csv: &str) -> String {
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let t = header.iter().position(|h| *h == "solve_time_s").unwrap();
    csv.lines()
        .map(|l| {
            // Reasons may hold quoted commas; the time column is counted from the end.
            let cells: Vec<&str> = l.split(',').collect();
            let from_end = header.len() - t;
            let i = cells.len() - from_end;
            [&cells[..i], &cells[i + 1..]].concat().join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn order_and_content_do_not_depend_on_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = small_inputs(tmp.path());
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let ra = run_dir(std::slice::from_ref(&inputs), &a, 1);
    let rb = run_dir(std::slice::from_ref(&inputs), &b, 3);
    let names = |r: &batch::Report| r.results.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ra), names(&rb));
    // Sorted walk: README.md, dense-10b.md, llama3..., malformed..., notes.txt, sub/config.json.
    assert_eq!(
        names(&ra),
        [
            "README",
            "dense-10b",
            "llama3-70b-budget-tpot",
            "malformed-batch",
            "notes",
            "config"
        ]
    );
    assert_eq!(status_of(&ra, "README"), Status::Skipped);
    assert_eq!(status_of(&ra, "notes"), Status::Skipped);
    assert_eq!(status_of(&ra, "config"), Status::Skipped);
    let ca = std::fs::read_to_string(a.join("summary.csv")).unwrap();
    let cb = std::fs::read_to_string(b.join("summary.csv")).unwrap();
    assert_eq!(strip_time_column(&ca), strip_time_column(&cb));
}

#[test]
fn tasks_sharing_a_folder_name_are_bad_input_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let src = root().join("fixtures/tasks/llama3-70b-budget-tpot.md");
    for d in ["a", "b"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        std::fs::copy(&src, tmp.path().join(d).join("same.md")).unwrap();
    }
    // The same file named twice is one task, not a collision.
    let out = tmp.path().join("out");
    let inputs = [
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("a/same.md"),
    ];
    let found = batch::collect(&inputs, &out);
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|i| matches!(&i.kind, InputKind::Rejected(why) if why.contains("same")))
    );
    let report = run_dir(&inputs, &out, 2);
    assert!(report.results.iter().all(|r| r.status == Status::BadInput));
    assert!(!out.join("same").exists());
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn failed_task_leaves_no_stale_plan_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let stale = out.join("malformed-batch");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("prefill.json"), "{}").unwrap();
    let report = run_dir(&[root().join("fixtures/tasks/malformed-batch.md")], &out, 1);
    assert_eq!(report.results[0].status, Status::BadInput);
    assert!(!stale.join("prefill.json").exists());
}

#[test]
fn cancellation_stops_taking_tasks_and_keeps_files_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = small_inputs(tmp.path());
    let out = tmp.path().join("out");
    let found = batch::collect(&[inputs], &out);
    let cancel = AtomicBool::new(false);
    // One job: the first input finishes, then "Ctrl-C".
    let report = batch::run(&found, &opts(&out, 1), &cancel, |_, _| {
        cancel.store(true, Ordering::SeqCst)
    });
    batch::write_summary(&out, &report).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.exit_code(), batch::INTERRUPTED);
    // The worker takes the next input as soon as it sends a result, and the flag is set only when
    // this thread handles that result (a channel wake-up the OS may delay while fast tasks such as
    // an infeasible one finish), so how many more ran is timing; that the rest never started is not.
    let cancelled: Vec<&batch::TaskResult> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Cancelled)
        .collect();
    assert!(!cancelled.is_empty(), "{:?}", report.results);
    let first_cancelled = report
        .results
        .iter()
        .position(|r| r.status == Status::Cancelled)
        .unwrap();
    assert!(
        report.results[first_cancelled..]
            .iter()
            .all(|r| r.status == Status::Cancelled),
        "a task after a cancelled one ran: {:?}",
        report.results
    );
    // No plan file of a task that did not run; no temporary file anywhere.
    for r in cancelled {
        assert!(!out.join(&r.name).exists(), "{}", r.name);
    }
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "temporary file left: {name}");
    }
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("cancelled"), "{md}");
}

#[test]
fn cli_batch_quiet_and_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = small_inputs(tmp.path());
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["batch", "--quiet", "--compare", "--jobs", "2", "--out"])
        .arg(&out)
        .arg(&inputs)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty(), "--quiet prints nothing");
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("gain_over_best_baseline"));
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("pdplan gain"), "{md}");

    // Plain log lines when not on a terminal, in input order.
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["batch", "--out"])
        .arg(tmp.path().join("out2"))
        .arg(inputs.join("llama3-70b-budget-tpot.md"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.starts_with("[1/1] llama3-70b-budget-tpot: solved"),
        "{stdout}"
    );
}

#[test]
fn cli_compare_writes_json() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["compare", "--out"])
        .arg(tmp.path())
        .arg(root().join("fixtures/tasks/llama3-70b-budget-tpot.md"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v = read_json(&tmp.path().join("compare.json"));
    assert_eq!(v["rows"][0]["name"], "pdplan");
    assert!(String::from_utf8_lossy(&o.stdout).contains("| enumerate-and-ratio |"));
    // An infeasible task: the table still prints, the exit code says infeasible.
    let o = Command::new(env!("CARGO_BIN_EXE_pdplan"))
        .args(["compare"])
        .arg(root().join("fixtures/tasks/dense-10b.md"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
}

/// A batch over the output folder of an earlier batch takes its plans' folders' JSON files as
/// non-tasks and its `summary.md` (and a `compare.md`) as pdplan's own reports, not as bad
/// input: only task files count.
#[test]
fn a_batch_over_an_earlier_batch_output_skips_pdplan_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    let r = run_dir(&[small_inputs(tmp.path())], &first, 2);
    assert!(r.count(Status::Solved) >= 1);
    std::fs::write(first.join("compare.md"), "# pdplan vs baselines: x\n\nMode: y.\n").unwrap();
    let found = batch::collect(std::slice::from_ref(&first), &tmp.path().join("second"));
    let md: Vec<_> = found
        .iter()
        .filter(|i| i.path.extension().is_some_and(|e| e == "md"))
        .collect();
    assert!(md.len() >= 2, "{md:?}");
    for i in md {
        assert!(
            matches!(i.kind, InputKind::Skipped(_)),
            "{:?}: {:?}",
            i.path,
            i.kind
        );
    }
}
