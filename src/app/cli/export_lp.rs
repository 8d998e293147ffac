//! `pdplan export-lp`: the task's ILP as CPLEX LP files (primary and secondary solve).

use super::ExportLpArgs;
use super::solve::{resolve_goal, secondary_path};
use crate::error::Result;

pub fn run(args: ExportLpArgs) -> Result<i32> {
    let (r, mode, objective) = resolve_goal(&args.task, &args.goal)?;
    // The models are those of an actual solve: the secondary model holds the primary optimum.
    let d = crate::ilp::optimize_with(&r.task, mode, objective)?;
    if args.output.as_os_str() == "-" {
        print!("{}", d.primary_model.to_lp_string());
        return Ok(0);
    }
    crate::app::output::write_atomic(&args.output, &d.primary_model.to_lp_string())?;
    let second = secondary_path(&args.output);
    crate::app::output::write_atomic(&second, &d.model.to_lp_string())?;
    println!(
        "wrote {} ({} variables, {} rows) and {}",
        args.output.display(),
        d.primary_model.vars.len(),
        d.primary_model.rows.len(),
        second.display()
    );
    Ok(0)
}
