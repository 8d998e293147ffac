//! `pdplan compare`: pdplan's plan against the heuristic baselines, as a table and `compare.json`.

use super::CompareArgs;
use crate::analysis::compare;
use crate::error::Result;
use std::time::Instant;

pub fn run(args: CompareArgs) -> Result<i32> {
    // The same overrides as `pdplan solve` (the task's default objective).
    let goal = super::GoalArgs {
        gpus: args.gpus,
        rate: args.rate,
        objective: None,
        hf_config: None,
        engine: None,
        batch_overlap: None,
        tolerance: crate::ilp::formulation::DEFAULT_TOLERANCE,
    };
    let (r, mode, _) = super::solve::resolve_goal(&args.task, &goal)?;
    let start = Instant::now();
    let solved = crate::ilp::optimize(&r.task, mode);
    let time = start.elapsed().as_secs_f64();
    let name = args
        .task
        .file_stem()
        .map_or("task".into(), |s| s.to_string_lossy().into_owned());
    let c = compare::compare(&name, &r.task, mode, solved.as_ref(), time);
    let table = crate::report::compare::table(&c);
    print!("{table}");
    if let Some(dir) = &args.out {
        let mut set = crate::app::output::OutputSet::new();
        set.input(&args.task)
            .file(
                dir.join("compare.json"),
                crate::report::json::to_json(&crate::report::compare::to_json(&c))?,
            )
            .file(dir.join("compare.md"), table);
        let written = set.write()?;
        for p in written {
            println!("wrote {}", p.display());
        }
    }
    // pdplan's own outcome sets the exit code: an infeasible task stays infeasible.
    solved.map(|_| 0)
}
