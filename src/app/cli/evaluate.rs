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
    check_limits(&flags)?;
    Ok(flags)
}

/// Each flag within the limit of the task line it overrides (`crate::spec::resolve::limits`).
fn check_limits(f: &GivenStrategy) -> Result<()> {
    use super::limits::opt_count;
    use crate::spec::resolve::limits::{BATCH, GPU_BUDGET, STRATEGY_DEGREE};
    opt_count("--gpus", f.gpus, GPU_BUDGET)?;
    opt_count("--batch", f.batch, BATCH)?;
    let degrees = [
        ("--tp", f.tp),
        ("--pp", f.pp),
        ("--sp", f.sp),
        ("--dp", f.dp),
        ("--attention-dp", f.attention_dp),
        ("--ep", f.ep),
        ("--expert-tp", f.expert_tp),
        ("--replicas", f.replicas),
    ];
    for (flag, v) in degrees {
        opt_count(flag, v, STRATEGY_DEGREE)?;
    }
    Ok(())
}

/// Write the first reading's plan of each phase: to `out` itself with `--phase`, else as
/// `out/prefill.json` and `out/decode.json`.
/// Written only for exit 0 (README: no other code leaves a new plan file); the task is an
/// input of the set, never overwritten.
fn write_plans(e: &evaluate::Evaluation, task: &Path, out: &Path, one_phase: bool) -> Result<()> {
    if e.exit_code != 0 {
        println!(
            "no plan written to {}: the strategy is not valid as written or misses a requirement \
             (exit {}); a plan file is only written for a strategy that passes",
            out.display(),
            e.exit_code
        );
        return Ok(());
    }
    let mut set = crate::app::output::OutputSet::new();
    set.input(task);
    for p in &e.phases {
        if let Some(x) = p.results.first() {
            let text = crate::report::json::to_json(&x.plan)?;
            let path = if one_phase {
                out.to_path_buf()
            } else {
                out.join(p.phase.file_name())
            };
            set.file(path, text);
            if one_phase {
                break;
            }
        }
    }
    for p in set.write()? {
        println!("wrote {}", p.display());
    }
    Ok(())
}

pub fn run(args: EvaluateArgs) -> Result<i32> {
    let rate = args.rate.map(|v| super::limits::rate("--rate", v)).transpose()?;
    let mut r = crate::app::pipeline::read_task(&args.task)?;
    if let Some(rate) = rate {
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
        write_plans(&e, &args.task, out, args.phase.is_some())?;
    }
    Ok(e.exit_code)
}
