//! `pdplan compare`: pdplan's plan against the heuristic baselines, as a table and `compare.json`.

use super::CompareArgs;
use crate::compare;
use crate::error::{Error, Result};
use crate::ilp::formulation::Mode;
use std::time::Instant;

pub fn run(args: CompareArgs) -> Result<i32> {
    let mut r = crate::read_task(&args.task)?;
    // The same overrides as `pdplan solve`.
    if let Some(g) = args.gpus {
        if g == 0 {
            return Err(Error::Usage("--gpus must be at least 1".into()));
        }
        r.task.hardware.gpu_budget = Some(g);
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::Usage(
                "--rate must be a positive number of requests/s".into(),
            ));
        }
        r.task.requirements.request_rate_per_s = Some(rate);
    }
    for w in &r.warnings {
        log::warn!("{w}");
    }
    let mode = Mode::of(&r.task);
    let start = Instant::now();
    let solved = crate::ilp::optimize(&r.task, mode);
    let time = start.elapsed().as_secs_f64();
    let name = args
        .task
        .file_stem()
        .map_or("task".into(), |s| s.to_string_lossy().into_owned());
    let c = compare::compare(&name, &r.task, mode, solved.as_ref(), time);
    let table = compare::table(&c);
    print!("{table}");
    if let Some(dir) = &args.out {
        let written = crate::output::write_files(
            dir,
            &[
                ("compare.json", crate::output::json_string(&compare::to_json(&c))),
                ("compare.md", table),
            ],
        )?;
        for p in written {
            println!("wrote {}", p.display());
        }
    }
    // pdplan's own outcome sets the exit code: an infeasible task stays infeasible.
    solved.map(|_| 0)
}
