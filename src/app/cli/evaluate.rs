//! `pdplan evaluate`: one given strategy, no search (see [`crate::analysis::evaluate`]).

use super::EvaluateArgs;
use crate::analysis::evaluate;
use crate::error::{Error, Result};
use crate::layout::Phase;
use crate::spec::task::GivenStrategy;

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

pub fn run(args: EvaluateArgs) -> Result<i32> {
    let r = crate::app::pipeline::read_task(&args.task)?;
    for w in &r.warnings {
        log::warn!("{w}");
    }
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
    let phases: Vec<Phase> = match args.phase.as_deref() {
        None => Phase::BOTH.to_vec(),
        Some("prefill") => vec![Phase::Prefill],
        Some("decode") => vec![Phase::Decode],
        Some(other) => {
            return Err(Error::Usage(format!(
                "--phase {other}: expected `prefill` or `decode`"
            )));
        }
    };
    let e = evaluate::evaluate(&r, &phases, &flags);
    print!("{}", evaluate::summary(&e));
    if let Some(out) = &args.out
        && e.exit_code != 0
    {
        println!(
            "no plan written to {}: the strategy is not valid as written or misses a requirement \
             (exit {}); a plan file is only written for a strategy that passes",
            out.display(),
            e.exit_code
        );
    } else if let Some(out) = &args.out {
        let plans: Vec<(Phase, String)> = e
            .phases
            .iter()
            .filter_map(|p| {
                p.results
                    .first()
                    .map(|x| (p.phase, crate::app::output::json_string(&x.plan)))
            })
            .collect();
        if args.phase.is_some() {
            if let Some((_, text)) = plans.first() {
                let mut set = crate::app::output::OutputSet::new();
                set.input(&args.task).file(out.clone(), text.clone());
                set.write()?;
                println!("wrote {}", out.display());
            }
        } else {
            let files: Vec<(&str, String)> = plans
                .iter()
                .map(|(p, text)| {
                    (
                        if *p == Phase::Prefill {
                            "prefill.json"
                        } else {
                            "decode.json"
                        },
                        text.clone(),
                    )
                })
                .collect();
            let mut set = crate::app::output::OutputSet::new();
            set.input(&args.task);
            for (name, text) in files {
                set.file(out.join(name), text);
            }
            for p in set.write()? {
                println!("wrote {}", p.display());
            }
        }
    }
    Ok(e.exit_code)
}
