//! `pdplan evaluate`: one given strategy, no search (see [`crate::analysis::evaluate`]).

use super::EvaluateArgs;
use crate::analysis::evaluate;
use crate::error::{Error, Result};
use crate::layout::Phase;
use crate::spec::task::GivenStrategy;
use std::path::Path;

/// The strategy flags; every one given must be at least 1.
fn flags(args: &EvaluateArgs) -> Result<GivenStrategy> {
    let flags = GivenStrategy {
        gpus: args.gpus,
        tp: args.tp,
        pp: args.pp,
        sp: args.sp,
        dp: args.dp,
        attention_dp: args.attention_dp,
        ep: args.ep,
        expert_tp: args.expert_tp,
        replicas: args.replicas,
        batch: args.batch,
    };
    let degrees = [
        flags.gpus,
        flags.tp,
        flags.pp,
        flags.sp,
        flags.dp,
        flags.attention_dp,
        flags.ep,
        flags.expert_tp,
        flags.replicas,
        flags.batch,
    ];
    if degrees.iter().flatten().any(|&d| d == 0) {
        return Err(Error::Usage(
            "every degree, GPU count and batch must be at least 1".into(),
        ));
    }
    Ok(flags)
}

/// Write the first reading's plan of each phase: to `out` itself with `--phase`, else as
/// `out/prefill.json` and `out/decode.json`.
fn write_plans(e: &evaluate::Evaluation, out: &Path, one_phase: bool) -> Result<()> {
    let mut files: Vec<(&str, String)> = Vec::new();
    for p in &e.phases {
        if let Some(x) = p.results.first() {
            files.push((p.phase.file_name(), crate::report::json::to_json(&x.plan)?));
        }
    }
    if one_phase {
        if let Some((_, text)) = files.first() {
            crate::app::output::write_atomic(out, text)?;
            println!("wrote {}", out.display());
        }
        return Ok(());
    }
    for p in crate::app::output::write_files(out, &files)? {
        println!("wrote {}", p.display());
    }
    Ok(())
}

pub fn run(args: EvaluateArgs) -> Result<i32> {
    let mut r = crate::app::pipeline::read_task(&args.task)?;
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
    let flags = flags(&args)?;
    let phases: Vec<Phase> = match args.phase {
        None => Phase::BOTH.to_vec(),
        Some(p) => vec![p],
    };
    let e = evaluate::evaluate(&r, &phases, &flags);
    print!("{}", crate::report::evaluate::summary(&e));
    if let Some(out) = &args.out {
        write_plans(&e, out, args.phase.is_some())?;
    }
    Ok(e.exit_code)
}
