//! `pdplan solve`: plan both phases and write the plan files.

use super::SolveArgs;
use crate::error::{Error, Result};
use crate::ilp::formulation::Mode;

pub fn run(args: SolveArgs) -> Result<i32> {
    let mut r = crate::read_task(&args.task)?;
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
    let solution = crate::solve(&r, Some(mode))?;
    let written = crate::write_solution(&args.out, &solution)?;
    print!("{}", crate::summary::text(&solution.deployment, &solution.plans));
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(0)
}
