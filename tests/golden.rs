//! Golden outputs: the plan files of two fixtures are pinned byte for byte (solve time masked).
//! After an intended change of the cost model or plan format, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.

use pdplan::plan::PhasePlan;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The plan with the fields that measure the machine rather than the plan masked.
fn stable(mut plan: PhasePlan) -> String {
    plan.solver.solve_time_s = 0.0;
    pdplan::report::json::to_json(&plan).unwrap()
}

fn check(task: &str) {
    let path = root().join("fixtures/tasks").join(format!("{task}.md"));
    // A relative source path keeps the golden independent of where the repository lives.
    let rel = PathBuf::from("fixtures/tasks").join(format!("{task}.md"));
    let mut r = pdplan::read_task(&path).unwrap();
    r.source = rel.display().to_string();
    let s = pdplan::solve(&r, None).unwrap();
    for (phase, plan) in ["prefill", "decode"].iter().zip(s.plans) {
        let golden = root()
            .join("fixtures/golden")
            .join(task)
            .join(format!("{phase}.json"));
        let got = stable(plan);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run UPDATE_GOLDEN=1 cargo test --test golden",
                golden.display()
            )
        });
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{} differs from the golden file at line {}:\n  got:  {}\n  want: {}\n(UPDATE_GOLDEN=1 cargo test --test golden after an intended change)",
                golden.display(),
                line + 1,
                got.lines().nth(line).unwrap_or(""),
                want.lines().nth(line).unwrap_or("")
            );
        }
    }
}

#[test]
fn golden_qwen3_235b_moe() {
    check("qwen3-235b-moe");
}

#[test]
fn golden_llama3_70b_budget_tpot() {
    check("llama3-70b-budget-tpot");
}
