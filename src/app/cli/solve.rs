//! `pdplan solve`: plan both phases and write the plan files (or the GPU frontier), optionally
//! the LP model too.

use super::{GoalArgs, SolveArgs};
use crate::error::{Error, Result};
use crate::ilp::formulation::{Mode, Objective};
use crate::spec::resolve::Resolved;
use std::path::{Path, PathBuf};

/// Read the task and apply `--gpus` / `--rate` / `--objective`.
pub fn resolve_goal(task: &Path, goal: &GoalArgs) -> Result<(Resolved, Mode, Objective)> {
    let mut r = crate::app::pipeline::read_task_with(task, goal.hf_config.as_deref())?;
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
    if let Some(e) = &goal.engine {
        r.task.cost.engine = crate::spec::task::Engine::parse(e).ok_or_else(|| {
            Error::Usage(format!(
                "--engine: unknown engine `{e}`: expected vllm, sglang, trtllm or any"
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
    let targets = match &args.deploy {
        Some(t) => crate::launch::deploy::Target::parse_list(t).map_err(Error::Usage)?,
        None => Vec::new(),
    };
    // Deployment files are built before anything is written: a target that cannot run the plan
    // fails the command without leaving new plan files.
    let all = args
        .deploy
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("all"));
    let deploy_sets = deploy_files(&r, &solution.deployment, &targets, all)?;
    let mut written = crate::app::pipeline::write_solution(&args.out, &solution)?;
    written.extend(write_deploy(&deploy_sets, &args.out)?);
    print!(
        "{}",
        crate::report::summary::text(&solution.deployment, &solution.plans)
    );
    if let Some(g) = &solution.given {
        print!("{}", crate::analysis::given::summary(g));
    }
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

/// `DIR/deploy/TARGET/` for each set; `launch.sh` made executable.
fn write_deploy(sets: &[DeploySet], out: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (target, files) in sets {
        let dir = out.join("deploy").join(target);
        let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
        let paths = crate::app::output::write_files(&dir, &refs)?;
        for p in paths.iter().filter(|p| p.ends_with("launch.sh")) {
            make_executable(p)?;
        }
        written.extend(paths);
    }
    Ok(written)
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
