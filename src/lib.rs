//! pdplan plans LLM inference deployments with prefill and decode on separate GPU pools.
//!
//! Task in, plan out:
//!
//! ```
//! use pdplan::{read_task, solve};
//! let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tasks/qwen3-235b-moe.md"));
//! let task = read_task(path).expect("a readable task");
//! let solution = solve(&task, None).expect("a feasible task");
//! let prefill = &solution.plans[0];
//! assert_eq!(prefill["phase"], "prefill");
//! assert!(prefill["performance"]["ttft_s"].as_f64().unwrap() <= 30.0);
//! ```
//!
//! The data flow, one module per step: [`load`]/[`markdown`] (task file) → [`resolve`] (presets,
//! defaults) → [`layout`] (parallel degrees, GPU count) → [`cost`] (memory, latency) →
//! [`candidates`] → [`ilp`] (formulation, solve, verify) → [`plan`] (JSON) → [`output`].

pub mod baselines;
pub mod batch;
pub mod candidates;
pub mod cli;
pub mod compare;
pub mod cost;
pub mod error;
pub mod evaluate;
pub mod hf_config;
pub mod ilp;
pub mod layout;
pub mod load;
pub mod mapping;
pub mod markdown;
pub mod output;
pub mod plan;
pub mod presets;
pub mod resolve;
pub mod summary;
pub mod task;
pub mod units;

use error::{Error, Result};
use ilp::Deployment;
use ilp::formulation::Mode;
use resolve::Resolved;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Read, parse and resolve a task file (Markdown or JSON).
pub fn read_task(path: &Path) -> Result<Resolved> {
    let parsed = load::load_task(path)?;
    resolve::resolve(&path.display().to_string(), parsed)
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

/// Write `prefill.json`, `decode.json` and `submission.json` into `dir`.
pub fn write_solution(dir: &Path, solution: &Solution) -> Result<Vec<PathBuf>> {
    let prefill = dir.join("prefill.json");
    let decode = dir.join("decode.json");
    let submission =
        json!({"prefill": prefill.display().to_string(), "decode": decode.display().to_string()});
    output::write_files(
        dir,
        &[
            ("prefill.json", output::json_string(&solution.plans[0])),
            ("decode.json", output::json_string(&solution.plans[1])),
            ("submission.json", output::json_string(&submission)),
        ],
    )
}
