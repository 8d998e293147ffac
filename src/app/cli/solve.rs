//! `pdplan solve`: plan both phases and write the plan files (or the GPU frontier), optionally
//! the LP model too.

use super::{GoalArgs, SolveArgs};
use crate::error::{Error, Result};
use crate::ilp::formulation::{Mode, Objective};
use crate::spec::resolve::Resolved;
use std::path::{Path, PathBuf};

/// Read the task and apply `--gpus` / `--rate` / `--objective`.
pub fn resolve_goal(task: &Path, goal: &GoalArgs) -> Result<(Resolved, Mode, Objective)> {
    let mut r = crate::app::pipeline::read_task(task)?;
    if let Some(g) = goal.gpus {
        if g == 0 {
            return Err(Error::Usage("--gpus must be at least 1".into()));
        }
        r.task.hardware.gpu_budget = Some(g);
    }
    if let Some(rate) = goal.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::Usage(
                "--rate must be a positive number of requests/s".into(),
            ));
        }
        r.task.requirements.request_rate_per_s = Some(rate);
    }
    if let Some(e) = goal.engine {
        r.task.cost.engine = e;
    }
    for w in &r.warnings {
        log::warn!("{w}");
    }
    let mode = Mode::of(&r.task);
    let objective = goal.objective.unwrap_or_else(|| Objective::default_for(mode));
    objective.check(mode).map_err(Error::Usage)?;
    Ok((r, mode, objective))
}

/// `model.lp` → `model.secondary.lp`.
pub fn secondary_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.secondary.{}", ext.to_string_lossy()),
        None => format!("{stem}.secondary"),
    };
    path.with_file_name(name)
}

pub fn run(args: SolveArgs) -> Result<i32> {
    let (r, mode, objective) = resolve_goal(&args.task, &args.goal)?;
    if args.frontier {
        return frontier(&r, mode, &args);
    }
    let mut solution = crate::app::pipeline::solve_with(&r, Some(mode), Some(objective))?;
    if args.reproducible {
        for plan in &mut solution.plans {
            plan["solver"]["solve_time_s"] = serde_json::Value::from(0.0);
        }
    }
    let written = crate::app::pipeline::write_solution(&args.out, &solution)?;
    print!(
        "{}",
        crate::report::summary::text(&solution.deployment, &solution.plans)
    );
    for p in written {
        println!("wrote {}", p.display());
    }
    if let Some(lp) = &args.export_lp {
        let d = &solution.deployment;
        crate::app::output::write_atomic(lp, &d.primary_model.to_lp_string())?;
        let second = secondary_path(lp);
        crate::app::output::write_atomic(&second, &d.model.to_lp_string())?;
        println!("wrote {} and {}", lp.display(), second.display());
    }
    Ok(0)
}

fn frontier(r: &Resolved, mode: Mode, args: &SolveArgs) -> Result<i32> {
    let max = match (args.max_gpus, mode) {
        (Some(n), _) => n,
        (None, Mode::Budget { gpus }) => gpus,
        (None, _) => {
            // 4 × the fewest GPUs that hold the batch.
            let f = crate::ilp::optimize_with(&r.task, Mode::NoLimit, Objective::MinGpus)?;
            4 * f.total_gpus()
        }
    };
    if max == 0 {
        return Err(Error::Usage("--max-gpus must be at least 1".into()));
    }
    let f = crate::ilp::frontier::frontier(&r.task, max)?;
    print!("{}", crate::ilp::frontier::table(&f));
    let v = serde_json::to_value(&f).map_err(|e| Error::Internal(e.to_string()))?;
    let written = crate::app::output::write_files(
        &args.out,
        &[("frontier.json", crate::app::output::json_string(&v))],
    )?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(0)
}
