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
    let second = secondary_path(&args.output);
    let mut set = crate::app::output::OutputSet::new();
    set.input(&args.task)
        .file(args.output.clone(), d.primary_model.to_lp_string())
        .file(second.clone(), d.model.to_lp_string());
    set.write()?;
    println!(
        "wrote {} ({} variables, {} rows) and {}",
        args.output.display(),
        d.primary_model.vars.len(),
        d.primary_model.rows.len(),
        second.display()
    );
    Ok(0)
}
