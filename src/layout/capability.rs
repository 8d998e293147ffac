//! What each engine runs in disaggregated mode: one row per rule, each with the engine version it
//! was read from and its source (issue 13; DESIGN.md §7). The search (`--engine`, task line
//! `Engine:`) drops layouts a rule excludes ([`excluded_by`], called by
//! [`crate::candidates`]); pair rules ([`pair_excluded_by`]) are kept by the same-TP search in
//! [`crate::ilp::engine_search`]; every plan lists per engine whether it runs and, if not, the
//! rule that excludes it.
//!
//! Rules change with releases; each row names the version it holds for. The flag names the launch
//! commands use are checked against the engines' own argument definitions in
//! `fixtures/engines/*-flags.txt` (tests/launch.rs).

use crate::layout::{Layout, Phase};
use crate::spec::task::Engine;
use serde::Serialize;

/// What a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Check {
    /// An instance larger than a node fills whole nodes (`pp·W` ≤ or a multiple of a node).
    NodeAligned,
    /// Pipeline depth at most `max`.
    MaxPp { max: u64 },
    /// Sequence (context) parallelism at most `max`.
    MaxSp { max: u64 },
    /// MoE experts split over the whole stage width, by expert or inside experts, never both:
    /// `ep ∈ {1, W}`.
    ExpertsWholeWidth,
    /// Attention-DP > 1 only with attention TP 1 (`enable_attention_dp` = DP over the TP ranks).
    AttentionDpWithoutTp,
    /// Prefill and decode use the same attention TP unless either side is wide-EP
    /// ([`is_wide_ep`]). A rule on the pair, not on one layout.
    SameTpUnlessWideEp,
    /// Under speculative decoding (the task's draft tokens), pipeline depth at most `max`.
    MaxPpWithSpeculative { max: u64 },
    /// Sequence (context) parallelism > 1 only for a model with MLA attention.
    SpOnlyWithMla,
}

/// One capability rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: &'static str,
    /// The engine it applies to; `None` = every engine.
    pub engine: Option<Engine>,
    /// Engine version the rule was read from.
    pub version: &'static str,
    /// The phase it applies to; `None` = both.
    pub phase: Option<Phase>,
    pub check: Check,
    /// What the rule says, for plans and messages.
    pub says: &'static str,
    pub source: &'static str,
}

/// Engine versions the launch commands and rules were read from (flag lists: `fixtures/engines/`).
pub const VERSIONS: [(Engine, &str); 3] = [
    (Engine::Vllm, "vLLM 0.33.0"),
    (Engine::Sglang, "SGLang 0.5.23 (router: sglang-router 0.3.2)"),
    (
        Engine::Trtllm,
        "TensorRT-LLM 1.2 (trtllm-serve at 4c05a748, llm_args.py at 00043967)",
    ),
];

/// The capability table.
pub const RULES: &[Rule] = &[
    Rule {
        id: "all.node_aligned",
        engine: None,
        version: "vLLM 0.33.0, SGLang 0.5.23, TensorRT-LLM 1.2, Dynamo 1.6.1",
        phase: None,
        check: Check::NodeAligned,
        says: "an instance larger than a node must fill whole nodes: ranks are placed node by node \
               (vLLM --nnodes must divide the world size; SGLang --nnodes; Dynamo multinode \
               nodeCount = ceil(GPUs / GPUs per node)), so 12 GPUs on 8-GPU nodes strand 4 GPUs",
        source: "vllm 0.33.0 vllm/engine/arg_utils.py ('--nnodes must evenly divide the total world \
                 size'); AIConfigurator 0.12.0 generator/builders/k8s_builder.py (multinode \
                 nodeCount); issue 13",
    },
    Rule {
        id: "vllm.nixl_decode_pp",
        engine: Some(Engine::Vllm),
        version: "0.33.0",
        phase: Some(Phase::Decode),
        check: Check::MaxPp { max: 1 },
        says: "the NIXL connector's decode side (kv_role kv_consumer) rejects \
               pipeline_parallel_size > 1; prefill may use PP (it writes its layer slice into \
               the PP-1 decode instance)",
        source: "vllm 0.33.0 vllm/distributed/kv_transfer/kv_connector/v1/nixl/base_worker.py \
                 (NotImplementedError: consumer (decode) does not support pipeline_parallel_size \
                 > 1); vLLM issues 40674, 52913",
    },
    Rule {
        id: "vllm.experts_over_all_ranks",
        engine: Some(Engine::Vllm),
        version: "0.33.0",
        phase: None,
        check: Check::ExpertsWholeWidth,
        says: "vLLM shards MoE layers over all TP x PCP x DP ranks of a stage, by expert \
               (--enable-expert-parallel) or inside every expert (default); EP together with \
               expert-TP > 1 has no flag",
        source: "vllm 0.33.0 vllm/config/parallel.py (data_parallel_size: MoE layers are sharded \
                 over the product of the tensor, prefill-context and data parallel sizes; \
                 enable_expert_parallel)",
    },
    Rule {
        id: "vllm.pcp_needs_mla",
        engine: Some(Engine::Vllm),
        version: "0.33.0",
        phase: Some(Phase::Prefill),
        check: Check::SpOnlyWithMla,
        says: "vLLM's prefill context parallelism (--prefill-context-parallel-size) needs an \
               attention backend that supports it, and only the MLA backends do: a GQA / MHA \
               model with PCP > 1 is refused at startup",
        source: "vllm 0.33.0 vllm/v1/attention/backend.py (AttentionImpl.supports_pcp = False, \
                 MLAAttentionImpl.supports_pcp = True); vllm/v1/worker/cp_utils.py ('PCP requires \
                 attention backend support')",
    },
    Rule {
        id: "sglang.same_tp",
        engine: Some(Engine::Sglang),
        version: "0.5.23",
        phase: None,
        check: Check::SameTpUnlessWideEp,
        says: "without wide EP (DeepEP all-to-all, expert-TP 1) SGLang's KV transfer needs the \
               same attention TP on prefill and decode",
        source: "ai-dynamo/dynamo issue 5870; AIConfigurator PR 344 (0.12.0 \
                 sdk/task_v2.py _require_same_tp_gate)",
    },
    Rule {
        id: "sglang.no_context_parallel",
        engine: Some(Engine::Sglang),
        version: "0.5.23",
        phase: Some(Phase::Prefill),
        check: Check::MaxSp { max: 1 },
        says: "SGLang's attention context parallelism (--attn-cp-size) is wired per model family \
               (DeepSeek V3.2 / V4 sparse attention); pdplan does not emit it",
        source: "sglang 0.5.23 sglang/srt/arg_groups/deepseek_v4_hook.py, attention_hook.py, \
                 kv_shard_hook.py",
    },
    Rule {
        id: "sglang.speculative_decode_pp",
        engine: Some(Engine::Sglang),
        version: "0.5.23",
        phase: Some(Phase::Decode),
        check: Check::MaxPpWithSpeculative { max: 1 },
        says: "SGLang runs pipeline parallelism with speculative decoding (MTP / EAGLE) only on \
               prefill servers (--disaggregation-mode prefill); a decode server with --pp-size > \
               1 and --speculative-algorithm is refused at startup",
        source: "sglang 0.5.23 sglang/srt/arg_groups/validation_hook.py ('PP + speculative \
                 decoding (MTP) is only supported on prefill nodes (disaggregation-mode=prefill)'; \
                 SGLANG_ENABLE_PP_SPEC refuses --disaggregation-mode)",
    },
    Rule {
        id: "trtllm.attention_dp_is_full_width",
        engine: Some(Engine::Trtllm),
        version: "1.2",
        phase: None,
        check: Check::AttentionDpWithoutTp,
        says: "with enable_attention_dp TensorRT-LLM runs attention-DP equal to \
               tensor_parallel_size (attention TP 1); attention TP > 1 with attention-DP > 1 has \
               no setting",
        source: "TensorRT-LLM tensorrt_llm/mapping.py (enable_attention_dp: attention TP 1, DP = \
                 tp_size); issue 13",
    },
    Rule {
        id: "trtllm.no_prefill_context_parallel",
        engine: Some(Engine::Trtllm),
        version: "1.2",
        phase: Some(Phase::Prefill),
        check: Check::MaxSp { max: 1 },
        says: "TensorRT-LLM's context parallelism in disaggregated serving is Helix, on \
               generation servers only; context servers run without CP",
        source: "TensorRT-LLM docs/source/features/helix.md (Helix is applied to the generation \
                 servers only)",
    },
];

/// What a rule needs besides the layout.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    pub gpus_per_node: u64,
    pub moe: bool,
    /// The task runs speculative decoding (draft tokens > 0).
    pub speculative: bool,
    /// The model's attention is MLA.
    pub mla: bool,
}

impl Context {
    /// What `task` tells the rules: its node size, MoE, speculative decoding and MLA.
    pub fn of(task: &crate::spec::task::Task) -> Context {
        Context {
            gpus_per_node: task.hardware.gpus_per_node,
            moe: task.model.moe.is_some(),
            speculative: task.cost.speculative().is_some(),
            mla: task.model.mla.is_some(),
        }
    }
}

/// A MoE layout whose experts are split only by expert over the whole stage (`ep = W ≥ 2`,
/// expert-TP 1): SGLang's wide-EP (`--moe-a2a-backend deepep`, `--ep-size` = `--tp-size`).
pub fn is_wide_ep(l: &Layout, moe: bool) -> bool {
    moe && l.expert_tp == 1 && l.ep >= 2 && l.ep == l.width()
}

fn applies(r: &Rule, engine: Engine, phase: Phase) -> bool {
    r.engine.is_none_or(|e| e == engine) && r.phase.is_none_or(|p| p == phase)
}

/// Whether one layout passes a single-layout check (pair checks pass here).
fn passes(check: Check, l: &Layout, ctx: Context) -> bool {
    let gpus = l.gpus_per_instance();
    let node = ctx.gpus_per_node.max(1);
    match check {
        Check::NodeAligned => gpus <= node || gpus.is_multiple_of(node),
        Check::MaxPp { max } => l.pp <= max,
        Check::MaxSp { max } => l.sp <= max,
        Check::ExpertsWholeWidth => !ctx.moe || l.ep == 1 || l.ep == l.width(),
        Check::AttentionDpWithoutTp => l.attention_dp == 1 || l.tp == 1,
        Check::SameTpUnlessWideEp => true,
        Check::MaxPpWithSpeculative { max } => !ctx.speculative || l.pp <= max,
        Check::SpOnlyWithMla => ctx.mla || l.sp == 1,
    }
}

/// The first rule of `engine` that excludes this layout in `phase`, if any.
pub fn excluded_by(engine: Engine, phase: Phase, l: &Layout, ctx: Context) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| applies(r, engine, phase) && !passes(r.check, l, ctx))
}

/// The first pair rule of `engine` that excludes this prefill / decode pair, if any.
pub fn pair_excluded_by(
    engine: Engine,
    prefill: &Layout,
    decode: &Layout,
    moe: bool,
) -> Option<&'static Rule> {
    RULES.iter().find(|r| {
        r.engine.is_none_or(|e| e == engine)
            && r.check == Check::SameTpUnlessWideEp
            && prefill.tp != decode.tp
            && !is_wide_ep(prefill, moe)
            && !is_wide_ep(decode, moe)
    })
}

/// Whether `engine` has a pair rule (the search then runs once per attention TP).
pub fn has_pair_rule(engine: Engine) -> bool {
    RULES
        .iter()
        .any(|r| r.engine == Some(engine) && r.check == Check::SameTpUnlessWideEp)
}

/// The layout passes `engine`'s rules in `phase` and, when `tp_pin` is set, lies in that TP's
/// branch of the same-TP search ([`in_tp_branch`]).
pub fn allows(engine: Engine, phase: Phase, l: &Layout, ctx: Context, tp_pin: Option<u64>) -> bool {
    excluded_by(engine, phase, l, ctx).is_none() && tp_pin.is_none_or(|t| in_tp_branch(l, t, ctx.moe))
}

/// The first rule of `engine` that excludes this prefill / decode pair, in words (`prefill:
/// vllm.…`, `decode: …`, or the pair rule's id); `None` when the engine runs it.
fn pair_exclusion(engine: Engine, prefill: &Layout, decode: &Layout, ctx: Context) -> Option<String> {
    excluded_by(engine, Phase::Prefill, prefill, ctx)
        .map(|r| format!("prefill: {}", r.id))
        .or_else(|| excluded_by(engine, Phase::Decode, decode, ctx).map(|r| format!("decode: {}", r.id)))
        .or_else(|| pair_excluded_by(engine, prefill, decode, ctx.moe).map(|r| r.id.to_string()))
}

/// The first engine (in [`Engine::RUNNABLE`] order) that runs this prefill / decode pair: each
/// side passes its rules and the pair passes its pair rule. `None`: no engine runs it together.
pub fn engine_running_pair(prefill: &Layout, decode: &Layout, ctx: Context) -> Option<Engine> {
    Engine::RUNNABLE
        .into_iter()
        .find(|&e| pair_exclusion(e, prefill, decode, ctx).is_none())
}

/// Whether the task's engine runs this prefill / decode pair as a whole: `any`, when one engine
/// runs both sides and the pair; one engine, when its pair rule passes (its per-layout rules
/// already hold for candidates); `unrestricted`, always.
pub fn runs_pair(task: &crate::spec::task::Task, prefill: &Layout, decode: &Layout) -> bool {
    let ctx = Context::of(task);
    match task.rules_engine() {
        Engine::Unrestricted => true,
        Engine::Any => engine_running_pair(prefill, decode, ctx).is_some(),
        e => task.engine_tp_pin.is_some() || pair_excluded_by(e, prefill, decode, ctx.moe).is_none(),
    }
}

/// The engines whose rules the task keeps: the three for `any`, none for `unrestricted`; the
/// order of [`branch_class`]'s engine bits.
pub fn engines_of(task: &crate::spec::task::Task) -> Vec<Engine> {
    match task.rules_engine() {
        Engine::Unrestricted => Vec::new(),
        Engine::Any => Engine::RUNNABLE.to_vec(),
        e => vec![e],
    }
}

/// Why the task's engine does not run this prefill / decode pair, naming each engine's first
/// excluding rule (`any`: every engine's); `None` when it runs ([`runs_pair`] and the per-layout
/// rules).
pub fn why_not_runnable(task: &crate::spec::task::Task, prefill: &Layout, decode: &Layout) -> Option<String> {
    let ctx = Context::of(task);
    let mut reasons: Vec<(Engine, String)> = Vec::new();
    for e in engines_of(task) {
        match pair_exclusion(e, prefill, decode, ctx) {
            None => return None,
            Some(r) => reasons.push((e, r)),
        }
    }
    Some(match &reasons[..] {
        [] => return None,
        [(e, r)] => format!("{} does not run this prefill / decode pair ({r})", e.name()),
        _ => {
            let each: Vec<String> = reasons
                .iter()
                .map(|(e, r)| format!("{} ({r})", e.name()))
                .collect();
            format!("no engine runs this prefill / decode pair: {}", each.join(", "))
        }
    })
}

/// The class of a layout in the searches that keep the task's engine rules: layouts of one
/// class lie in the same branches (`engine_search`: per engine for `any`, per attention TP under
/// a same-TP pair rule), so dominance inside a class never removes a branch's best. The engines
/// that run it in `phase` (a bit each, `any`), and its attention TP or 0 for wide EP when an
/// engine concerned has a pair rule.
pub fn branch_class(task: &crate::spec::task::Task, phase: Phase, l: &Layout) -> u64 {
    let ctx = Context::of(task);
    let engines = engines_of(task);
    let mut class = 0u64;
    let mut paired = false;
    for (bit, &e) in engines.iter().enumerate() {
        if allows(e, phase, l, ctx, None) {
            class |= 1 << bit;
            paired |= has_pair_rule(e);
        }
    }
    let tp = if !paired || is_wide_ep(l, ctx.moe) {
        0
    } else {
        l.tp
    };
    tp << 8 | class
}

/// Whether a [`branch_class`] is run by the `index`-th engine of [`engines_of`].
pub fn class_runs_on(class: u64, index: usize) -> bool {
    class & (1 << index) != 0
}

/// The attention TP of a [`branch_class`], 0 for a wide-EP layout or where no pair rule applies.
pub fn class_tp(class: u64) -> u64 {
    class >> 8
}

/// Whether the layout lies in attention TP `tp`'s branch of the same-TP search: it uses that TP
/// or is wide-EP (which pairs with any TP).
pub fn in_tp_branch(l: &Layout, tp: u64, moe: bool) -> bool {
    l.tp == tp || is_wide_ep(l, moe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(tp: u64, pp: u64, sp: u64, dp: u64, ep: u64, etp: u64) -> Layout {
        Layout {
            tp,
            pp,
            sp,
            attention_dp: dp,
            ep,
            expert_tp: etp,
        }
    }
    const CTX: Context = Context {
        gpus_per_node: 8,
        moe: true,
        speculative: false,
        mla: true,
    };

    #[test]
    fn rules_have_sources_and_unique_ids() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        assert!(
            RULES
                .iter()
                .all(|r| !r.source.is_empty() && !r.version.is_empty())
        );
    }

    #[test]
    fn each_rule_excludes_what_it_says() {
        let twelve = l(4, 1, 1, 3, 12, 1);
        assert_eq!(
            excluded_by(Engine::Vllm, Phase::Prefill, &twelve, CTX).map(|r| r.id),
            Some("all.node_aligned")
        );
        assert!(excluded_by(Engine::Vllm, Phase::Prefill, &l(8, 2, 1, 1, 8, 1), CTX).is_none());
        assert_eq!(
            excluded_by(Engine::Vllm, Phase::Decode, &l(8, 2, 1, 1, 8, 1), CTX).map(|r| r.id),
            Some("vllm.nixl_decode_pp")
        );
        assert_eq!(
            excluded_by(Engine::Vllm, Phase::Decode, &l(8, 1, 1, 1, 4, 2), CTX).map(|r| r.id),
            Some("vllm.experts_over_all_ranks")
        );
        assert_eq!(
            excluded_by(Engine::Trtllm, Phase::Decode, &l(4, 1, 1, 2, 8, 1), CTX).map(|r| r.id),
            Some("trtllm.attention_dp_is_full_width")
        );
        assert!(excluded_by(Engine::Trtllm, Phase::Decode, &l(1, 1, 1, 8, 8, 1), CTX).is_none());
        assert_eq!(
            excluded_by(Engine::Sglang, Phase::Prefill, &l(4, 1, 2, 1, 8, 1), CTX).map(|r| r.id),
            Some("sglang.no_context_parallel")
        );
        assert!(excluded_by(Engine::Sglang, Phase::Decode, &l(4, 1, 1, 2, 4, 2), CTX).is_none());
        // vLLM's prefill context parallelism: MLA models only.
        let pcp = l(2, 1, 2, 1, 1, 4);
        assert!(excluded_by(Engine::Vllm, Phase::Prefill, &pcp, CTX).is_none());
        let gqa = Context { mla: false, ..CTX };
        assert_eq!(
            excluded_by(Engine::Vllm, Phase::Prefill, &pcp, gqa).map(|r| r.id),
            Some("vllm.pcp_needs_mla")
        );
        // SGLang: pipeline parallelism with speculative decoding on prefill servers only.
        let (pp2, spec) = (
            l(2, 2, 1, 4, 1, 8),
            Context {
                speculative: true,
                ..CTX
            },
        );
        assert!(excluded_by(Engine::Sglang, Phase::Decode, &pp2, CTX).is_none());
        assert!(excluded_by(Engine::Sglang, Phase::Prefill, &pp2, spec).is_none());
        assert_eq!(
            excluded_by(Engine::Sglang, Phase::Decode, &pp2, spec).map(|r| r.id),
            Some("sglang.speculative_decode_pp")
        );
    }

    #[test]
    fn same_tp_unless_wide_ep() {
        let (p, d) = (l(8, 1, 1, 1, 4, 2), l(4, 1, 1, 2, 4, 2));
        assert_eq!(
            pair_excluded_by(Engine::Sglang, &p, &d, true).map(|r| r.id),
            Some("sglang.same_tp")
        );
        assert!(pair_excluded_by(Engine::Vllm, &p, &d, true).is_none());
        let wide = l(1, 1, 1, 8, 8, 1);
        assert!(pair_excluded_by(Engine::Sglang, &p, &wide, true).is_none());
        assert!(pair_excluded_by(Engine::Sglang, &p, &wide, false).is_some());
        assert!(allows(Engine::Sglang, Phase::Decode, &wide, CTX, Some(8)));
        assert!(!allows(Engine::Sglang, Phase::Decode, &d, CTX, Some(8)));
    }
}
