//! The exported LP, solved by a real external solver (CBC), gives the same optimum as microlp,
//! on every fixture that solves, for every objective of its mode, both solves of each pair; and
//! CBC's solution satisfies pdplan's shadow model. Without `cbc` on PATH the test fails when
//! `CI` is set and prints a skip note otherwise (`.ci/run` installs Debian's `coinor-cbc`).
mod common;

use pdplan::ilp::formulation::{Mode, Objective};
use pdplan::ilp::model::Model;
use pdplan::ilp::{self};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cbc() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("cbc"))
        .find(|p| p.is_file())
}

fn need_cbc() -> Option<PathBuf> {
    match cbc() {
        Some(p) => Some(p),
        None if std::env::var_os("CI").is_some() => {
            panic!("CI is set but `cbc` is not on PATH: install Debian's coinor-cbc (.ci/run does)")
        }
        None => {
            eprintln!(
                "SKIPPED: `cbc` not on PATH, the exported LP is not cross-checked (apt-get install coinor-cbc)"
            );
            None
        }
    }
}

/// Solve an LP file with CBC: the objective value and the variable values by name.
fn solve_with_cbc(cbc: &Path, lp: &Path) -> (f64, std::collections::BTreeMap<String, f64>) {
    let sol = lp.with_extension("sol");
    let out = Command::new(cbc)
        .arg(lp)
        .args(["ratioGap", "0", "allowableGap", "0", "solve", "solu"])
        .arg(&sol)
        .output()
        .expect("cbc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Result - Optimal solution found"),
        "cbc did not prove optimality on {}:\n{stdout}",
        lp.display()
    );
    let objective = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Objective value:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no objective in cbc output:\n{stdout}"));
    let text = std::fs::read_to_string(&sol).expect("cbc wrote a solution file");
    let mut values = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 3 {
            values.insert(f[1].to_string(), f[2].parse().expect("a value"));
        }
    }
    (objective, values)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// Export, solve with CBC, compare with microlp's optimum, verify CBC's point in the model.
fn cross_check(cbc: &Path, dir: &Path, tag: &str, model: &Model, microlp: f64) -> f64 {
    let lp = dir.join(format!("{tag}.lp"));
    std::fs::write(&lp, model.to_lp_string()).expect("write lp");
    let (objective, by_name) = solve_with_cbc(cbc, &lp);
    assert!(
        close(objective, microlp),
        "{tag}: CBC objective {objective} vs microlp {microlp}"
    );
    let values: Vec<f64> = model
        .vars
        .iter()
        .map(|v| by_name.get(&v.name).copied().unwrap_or(0.0))
        .collect();
    // CBC prints 8 significant digits: round integer variables, then check every row.
    let values: Vec<f64> = model
        .vars
        .iter()
        .zip(values)
        .map(|(v, x)| {
            if v.kind == pdplan::ilp::model::VarKind::Continuous {
                x
            } else {
                x.round()
            }
        })
        .collect();
    model
        .verify(&values)
        .unwrap_or_else(|e| panic!("{tag}: CBC's solution violates the shadow model: {e}"));
    objective
}

#[test]
fn cbc_confirms_every_fixture_and_objective() {
    let Some(cbc) = need_cbc() else { return };
    let dir = common::scratch("lp");
    let mut checked = Vec::new();
    for (name, r) in common::readable_fixtures() {
        let task = &r.task;
        let base = Mode::of(task);
        // The task's own mode, plus budget and rate variants so every mode is exported.
        let mut modes = vec![base];
        if base == Mode::NoLimit {
            modes.push(Mode::Budget { gpus: 64 });
            modes.push(Mode::Rate { rate: 4.0 });
        }
        for mode in modes {
            let mut t = task.clone();
            match mode {
                Mode::Budget { gpus } => t.hardware.gpu_budget = Some(gpus),
                Mode::Rate { rate } => t.requirements.request_rate_per_s = Some(rate),
                Mode::NoLimit => {}
            }
            for objective in [Objective::PerGpu, Objective::MinGpus, Objective::Total] {
                if objective.check(mode).is_err() {
                    continue;
                }
                let d = match ilp::optimize_with(&t, mode, objective) {
                    Ok(d) => d,
                    Err(e) if e.exit_code() == pdplan::error::exit::INFEASIBLE => continue,
                    Err(e) => panic!("{name}: {e}"),
                };
                let tag = format!(
                    "{}-{}-{}",
                    name.trim_end_matches(".md"),
                    d.primary_model.name,
                    objective.name()
                );
                let first = cross_check(
                    &cbc,
                    &dir,
                    &format!("{tag}-1"),
                    &d.primary_model,
                    d.solver.primary_value,
                );
                let second = cross_check(
                    &cbc,
                    &dir,
                    &format!("{tag}-2"),
                    &d.model,
                    d.solver.secondary_value,
                );
                checked.push(format!(
                    "{name} {mode:?} {}: {first} then {second}",
                    objective.name()
                ));
            }
        }
    }
    eprintln!(
        "CBC agrees with microlp on {} solve pairs:\n{}",
        checked.len(),
        checked.join("\n")
    );
    assert!(checked.len() >= 6, "too few fixtures solved: {checked:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lp_text_is_well_formed() {
    let r = common::resolved(common::small_dense(8, Some(16)));
    // min-gpus keeps instance-count variables (Generals, link rows); total enumerates counts.
    let d = ilp::optimize_with(&r.task, Mode::Budget { gpus: 16 }, Objective::MinGpus).expect("feasible");
    let lp = d.primary_model.to_lp_string();
    let total = ilp::optimize(&r.task, Mode::Budget { gpus: 16 }).expect("feasible");
    let total_lp = total.primary_model.to_lp_string();
    // Enumerated counts are binary columns named `…_n<k>` (the bounded form keeps only counts that
    // can reach the enumerated rate, so `k` need not be 1).
    assert!(total_lp.contains("_n") && total_lp.contains("rate_decode:") && !total_lp.contains("Generals"));
    for section in [
        "Minimize\n",
        "Subject To\n",
        "Bounds\n",
        "Generals\n",
        "Binaries\n",
        "End\n",
    ] {
        assert!(lp.contains(section), "missing {section:?}");
    }
    for family in [
        "one_layout_prefill:",
        "link_decode_",
        "instances_prefill:",
        "cover_decode:",
        "memory_decode:",
        "ttft_prefill:",
        "tpot_decode:",
        "rate_prefill:",
        "gpu_budget:",
    ] {
        assert!(lp.contains(family), "missing row {family}");
    }
    for line in lp.lines() {
        assert!(line.len() < 560, "line longer than CPLEX's limit: {line}");
        assert!(
            !line.contains("e-") && !line.contains("NaN") && !line.contains("inf"),
            "{line}"
        );
    }
    for v in &d.primary_model.vars {
        assert!(v.name.len() <= 255);
        assert!(
            v.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{}",
            v.name
        );
        assert!(
            !v.name
                .starts_with(|c: char| c.is_ascii_digit() || c == 'e' || c == 'E' || c == '.')
        );
    }
    // Same model, same bytes.
    let again = ilp::optimize(&r.task, Mode::Budget { gpus: 16 }).expect("feasible");
    assert_eq!(total_lp, again.primary_model.to_lp_string());
}
