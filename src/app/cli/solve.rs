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
    if let Some(o) = goal.batch_overlap {
        r.task.cost.batch_overlap = o;
    }
    if let Some(e) = goal.engine {
        r.task.cost.engine = e;
    }
    if goal.batch_overlap.is_some() || goal.engine.is_some() {
        let (o, e) = (r.task.cost.batch_overlap, r.task.cost.engine);
        o.check(e).map_err(|why| {
            Error::Usage(format!(
                "--engine / --batch-overlap ({} on {}): {why}",
                o.name(),
                e.name()
            ))
        })?;
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
    // Deployment files join the same set: a target that cannot run the plan fails the command
    // before anything is written.
    let targets = match &args.deploy {
        Some(t) => crate::launch::deploy::Target::parse_list(t).map_err(Error::Usage)?,
        None => Vec::new(),
    };
    let all = args
        .deploy
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("all"));
    let mut scripts = Vec::new();
    for (target, files) in deploy_files(&r, &solution.deployment, &targets, all)? {
        for (name, contents) in files {
            let path = args.out.join("deploy").join(target).join(&name);
            if name == "launch.sh" {
                scripts.push(path.clone());
            }
            set.file(path, contents);
        }
    }
    crate::app::pipeline::remove_other_outputs(&mut set, &args.out);
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
    for p in &scripts {
        make_executable(p)?;
    }
    Ok(0)
}

type DeploySet = (&'static str, Vec<(String, String)>);

/// `--deploy`: the files of each target; with `all`, targets that cannot run the plan are
/// skipped with a warning naming the rule, otherwise they are an error.
fn deploy_files(
    r: &Resolved,
    d: &crate::ilp::Deployment,
    targets: &[crate::launch::deploy::Target],
    all: bool,
) -> Result<Vec<DeploySet>> {
    use crate::launch::deploy::{self, Target};
    let launches = crate::launch::launches(&r.task, d);
    let name = r
        .task
        .name
        .clone()
        .or_else(|| r.task.model.name.clone())
        .unwrap_or_default();
    let mut sets = Vec::new();
    for &t in targets {
        let files = match t {
            Target::Engine(e) => match launches.get(e) {
                Some(l) => deploy::engine_files(e, l),
                None => continue,
            },
            Target::Dynamo => deploy::dynamo_files(&name, &launches),
        };
        match files {
            Ok(f) => sets.push((t.name(), f)),
            Err(Error::Usage(why)) if all => log::warn!("{why}; skipped"),
            Err(e) => return Err(e),
        }
    }
    Ok(sets)
}

#[cfg(unix)]
fn make_executable(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).map_err(|source| Error::Write {
        path: p.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
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
    let mut f = crate::ilp::frontier::frontier(&r.task, max)?;
    let table_time = f.time_s;
    if args.reproducible {
        f.time_s = 0.0;
    }
    let v = serde_json::to_value(&f).map_err(|e| Error::Internal(e.to_string()))?;
    f.time_s = table_time;
    let mut set = output::OutputSet::new();
    set.input(&args.task)
        .file(args.out.join("frontier.json"), output::json_string(&v));
    crate::app::pipeline::remove_other_outputs(&mut set, &args.out);
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
