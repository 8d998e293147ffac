//! The pipeline behind the commands: read a task, solve it, write its plans
//! (re-exported at the crate root as the library's entry points).

use super::output;
use crate::error::{Error, Result};
use crate::ilp;
use crate::ilp::Deployment;
use crate::ilp::formulation::Mode;
use crate::spec::resolve::Resolved;
use crate::{input, plan, spec};
use std::path::{Path, PathBuf};

/// Read, parse and resolve a task file (Markdown or JSON).
pub fn read_task(path: &Path) -> Result<Resolved> {
    let parsed = input::load::load_task(path)?;
    spec::resolve::resolve(&path.display().to_string(), parsed)
}

/// [`read_task`] with the model's Hugging Face config given on the command line (`--hf-config`),
/// which replaces the task's `HF config` line.
pub fn read_task_with(path: &Path, hf_config: Option<&Path>) -> Result<Resolved> {
    let mut parsed = input::load::load_task(path)?;
    if let Some(hf) = hf_config {
        // Absolute, so it is not taken relative to the task file's folder.
        let abs = std::path::absolute(hf).map_err(|source| Error::Read {
            path: hf.to_path_buf(),
            source,
        })?;
        parsed.raw.model.hf_config = Some(abs.display().to_string());
    }
    spec::resolve::resolve(&path.display().to_string(), parsed)
}

/// A solved task: the deployment and its two phase plans (prefill, decode).
pub struct Solution {
    pub deployment: Deployment,
    pub plans: [plan::PhasePlan; 2],
    /// The task's own strategy against the optimum (also in each plan as `given_strategy`).
    pub given: Option<[plan::given::GivenStrategyReport; 2]>,
}

/// Plan both phases; `mode` overrides the mode the task implies.
pub fn solve(task: &Resolved, mode: Option<Mode>) -> Result<Solution> {
    solve_with(task, mode, None)
}

/// Plan both phases; `mode` and `objective` override what the task implies.
pub fn solve_with(
    task: &Resolved,
    mode: Option<Mode>,
    objective: Option<ilp::formulation::Objective>,
) -> Result<Solution> {
    let mode = mode.unwrap_or_else(|| Mode::of(&task.task));
    let objective = objective.unwrap_or_else(|| ilp::formulation::Objective::default_for(mode));
    solve_tol(task, mode, objective, ilp::formulation::DEFAULT_TOLERANCE)
}

/// Plan both phases with a mode, an objective and the no-limit tolerance (`--tolerance`).
pub fn solve_tol(
    task: &Resolved,
    mode: Mode,
    objective: ilp::formulation::Objective,
    tolerance: f64,
) -> Result<Solution> {
    let deployment = ilp::optimize_tol(&task.task, mode, objective, tolerance)?;
    let plans = plan::deployment_plans(task, &deployment);
    for p in &plans {
        if !p.all_checks_pass() {
            return Err(Error::Internal(format!(
                "{} plan fails its checks: {}",
                p.phase,
                p.failed_checks().join("; ")
            )));
        }
    }
    let mut plans = plans;
    let given = crate::analysis::given::report(task, &deployment);
    if let Some(g) = &given {
        for (p, r) in plans.iter_mut().zip(g) {
            p.given_strategy = Some(r.clone());
        }
    }
    Ok(Solution {
        deployment,
        plans,
        given,
    })
}

/// The plan files of a solution with their manifest: `[(name, contents)]` for `prefill.json`,
/// `decode.json` and `submission.json`. `submission.json` names the plans relative to itself.
pub fn solution_files(solution: &Solution, task_bytes: &[u8]) -> Result<Vec<(&'static str, String)>> {
    use crate::report::json::{pretty_with_entry, to_json, to_value};
    // Each plan is serialized once: its text without `run` is hashed into the manifest, then the
    // `run` entry is spliced into that text where its sorted key belongs (the bytes equal those
    // of the plan serialized with `run` set: `report::json`'s tests). Not on two threads: a
    // thread's start on a busy 2-core VM costs about what one plan's text does (~0.2 ms).
    let texts = [to_json(&solution.plans[0])?, to_json(&solution.plans[1])?];
    let run = plan::run::RunManifest::new(task_bytes, &texts);
    let run_value = to_value(&run)?;
    let submission = output::Submission {
        prefill: "prefill.json",
        decode: "decode.json",
        run,
    };
    Ok(vec![
        ("prefill.json", pretty_with_entry(&texts[0], "run", &run_value)?),
        ("decode.json", pretty_with_entry(&texts[1], "run", &run_value)?),
        ("submission.json", to_json(&submission)?),
    ])
}

/// Everything `solve` writes into an output folder, whatever its flags: the plans, the
/// frontier and the deployment files of every target. A run removes those it does not write
/// again ([`output::OutputSet::remove`]: regular files only), so that nothing of an earlier run
/// sits beside its output as if this run had written it.
pub fn solve_outputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = ["prefill.json", "decode.json", "submission.json", "frontier.json"]
        .iter()
        .map(|n| dir.join(n))
        .collect();
    for t in crate::launch::deploy::target_names() {
        for f in crate::launch::deploy::FILE_NAMES {
            v.push(dir.join("deploy").join(t).join(f));
        }
    }
    v
}

/// Schedule the removal of every [`solve_outputs`] path of `dir` the set does not write.
pub fn remove_other_outputs(set: &mut output::OutputSet, dir: &Path) {
    let written = set.paths();
    for p in solve_outputs(dir) {
        if !written.contains(&p) {
            set.remove(p);
        }
    }
}

/// Write `prefill.json`, `decode.json` and `submission.json` into `dir` as one set (see
/// [`output`]): `task` is the task file solved (hashed into the manifest, never overwritten).
pub fn write_solution(dir: &Path, task: &Path, solution: &Solution) -> Result<Vec<PathBuf>> {
    let bytes = input::load::read_limited(task, input::load::MAX_TASK_BYTES)?;
    let mut set = output::OutputSet::new();
    set.input(task);
    for (name, contents) in solution_files(solution, &bytes)? {
        set.file(dir.join(name), contents);
    }
    set.write()
}
