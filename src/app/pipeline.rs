//! The pipeline behind the commands: read a task, solve it, write its plans
//! (re-exported at the crate root as the library's entry points).

use super::output;
use crate::error::{Error, Result};
use crate::ilp;
use crate::ilp::Deployment;
use crate::ilp::formulation::Mode;
use crate::spec::resolve::Resolved;
use crate::{input, plan, spec};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Read, parse and resolve a task file (Markdown or JSON).
pub fn read_task(path: &Path) -> Result<Resolved> {
    let parsed = input::load::load_task(path)?;
    spec::resolve::resolve(&path.display().to_string(), parsed)
}

/// A solved task: the deployment and its two phase plans (prefill, decode).
pub struct Solution {
    pub deployment: Deployment,
    pub plans: [Value; 2],
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
    let deployment = ilp::optimize_with(&task.task, mode, objective)?;
    let plans = plan::deployment_plans(task, &deployment);
    for p in &plans {
        if !plan::all_checks_pass(p) {
            let failed: Vec<String> = p["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["passed"] != true)
                .map(|c| format!("{}: {}", c["name"], c["detail"]))
                .collect();
            return Err(Error::Internal(format!(
                "{} plan fails its checks: {}",
                p["phase"],
                failed.join("; ")
            )));
        }
    }
    Ok(Solution { deployment, plans })
}

/// The plan files of a solution with their manifest: `[(name, contents)]` for `prefill.json`,
/// `decode.json` and `submission.json`. `submission.json` names the plans relative to itself.
pub fn solution_files(solution: &Solution, task_bytes: &[u8]) -> Vec<(&'static str, String)> {
    let mut plans = solution.plans.clone();
    let run = output::RunManifest::new(task_bytes, &plans);
    for p in &mut plans {
        p["run"] = serde_json::to_value(&run).unwrap_or_default();
    }
    let submission = output::Submission {
        prefill: "prefill.json",
        decode: "decode.json",
        run,
    };
    let submission = serde_json::to_value(&submission).unwrap_or_default();
    vec![
        ("prefill.json", output::json_string(&plans[0])),
        ("decode.json", output::json_string(&plans[1])),
        ("submission.json", output::json_string(&submission)),
    ]
}

/// Write `prefill.json`, `decode.json` and `submission.json` into `dir` as one set (see
/// [`output`]): `task` is the task file solved (hashed into the manifest, never overwritten).
pub fn write_solution(dir: &Path, task: &Path, solution: &Solution) -> Result<Vec<PathBuf>> {
    let bytes = input::load::read_limited(task, input::load::MAX_TASK_BYTES)?;
    let mut set = output::OutputSet::new();
    set.input(task);
    for (name, contents) in solution_files(solution, &bytes) {
        set.file(dir.join(name), contents);
    }
    set.write()
}
