//! `pdplan evaluate`: one given strategy, no search (see [`crate::analysis::evaluate`]).

use super::EvaluateArgs;
use crate::analysis::evaluate;
use crate::error::{Error, Result};
use crate::layout::Phase;
use crate::spec::task::GivenStrategy;

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
    if let Some(out) = &args.out {
        let mut plans: Vec<(Phase, String)> = Vec::new();
        for p in &e.phases {
            if let Some(x) = p.results.first() {
                plans.push((p.phase, crate::report::json::to_json(&x.plan)?));
            }
        }
        if args.phase.is_some() {
            if let Some((_, text)) = plans.first() {
                crate::app::output::write_atomic(out, text)?;
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
            for p in crate::app::output::write_files(out, &files)? {
                println!("wrote {}", p.display());
            }
        }
    }
    Ok(e.exit_code)
}
