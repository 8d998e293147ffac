//! `pdplan solve`: plan both phases and write the plan files (or the GPU frontier), optionally
//! the LP model too.

use super::{GoalArgs, SolveArgs};
use crate::app::output;
use crate::error::{Error, Result};
use crate::ilp::formulation::{Mode, Objective};
use crate::spec::resolve::{Resolved, limits};
use std::path::{Path, PathBuf};

/// Read the task and apply `--gpus` / `--rate` / `--objective`.
pub fn resolve_goal(task: &Path, goal: &GoalArgs) -> Result<(Resolved, Mode, Objective)> {
    // Flags first: a bad flag is reported before the task is read.
    let gpus = super::limits::opt_count("--gpus", goal.gpus, limits::GPU_BUDGET)?;
    let rate = goal.rate.map(|v| super::limits::rate("--rate", v)).transpose()?;
    let mut r = crate::app::pipeline::read_task_with(task, goal.hf_config.as_deref())?;
    if let Some(g) = gpus {
        r.task.hardware.gpu_budget = Some(g);
    }
    if let Some(rate) = rate {
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
    let mut solution = crate::app::pipeline::solve_tol(&r, mode, objective, args.goal.tolerance)?;
    if args.reproducible {
        for plan in &mut solution.plans {
            plan.solver.solve_time_s = 0.0;
        }
    }
    // One set: the plans and the LP files are staged together, the summary is printed, then
    // everything is renamed in; a failure before that leaves no new file.
    let bytes = crate::input::load::read_limited(&args.task, crate::input::load::MAX_TASK_BYTES)?;
    let mut set = output::OutputSet::new();
    set.input(&args.task);
    if let Some(hf) = &args.goal.hf_config {
        set.input(hf);
    }
    for (name, contents) in crate::app::pipeline::solution_files(&solution, &bytes)? {
        set.file(args.out.join(name), contents);
    }
    if let Some(lp) = &args.export_lp {
        let d = &solution.deployment;
        set.file(lp.clone(), d.primary_model.to_lp_string());
        set.file(secondary_path(lp), d.model.to_lp_string());
    }
    let paths = set.paths();
    let staged = set.stage()?;
    let mut text = crate::report::summary::text(&solution.deployment, &solution.plans);
    if let Some(g) = &solution.given {
        text.push_str(&crate::analysis::given::summary(g));
    }
    for p in &paths {
        text.push_str(&format!("wrote {}\n", p.display()));
    }
    output::print_stdout(&text)?;
    staged.commit()?;
    Ok(0)
}

fn frontier(r: &Resolved, mode: Mode, args: &SolveArgs) -> Result<i32> {
    use crate::ilp::frontier::MAX_GPUS;
    let max = match (args.max_gpus, mode) {
        // Bounded work: a larger budget makes each solve slow (55 s for 64 budgets to 4,096).
        (Some(n), _) => super::limits::count("--max-gpus", n, MAX_GPUS)?,
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
    if max > MAX_GPUS {
        log::warn!("the frontier is computed up to {MAX_GPUS} GPUs (its limit), not {max}");
    }
    let max = max.min(MAX_GPUS);
    let f = crate::ilp::frontier::frontier(&r.task, max)?;
    let v = serde_json::to_value(&f).map_err(|e| Error::Internal(e.to_string()))?;
    let mut set = output::OutputSet::new();
    set.input(&args.task)
        .file(args.out.join("frontier.json"), output::json_string(&v));
    let paths = set.paths();
    let staged = set.stage()?;
    let mut text = crate::ilp::frontier::table(&f);
    for p in &paths {
        text.push_str(&format!("wrote {}\n", p.display()));
    }
    output::print_stdout(&text)?;
    staged.commit()?;
    Ok(0)
}
