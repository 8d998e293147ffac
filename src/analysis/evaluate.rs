//! Evaluate one given strategy (no search): is it consistent under DESIGN.md §2, does it fit,
//! what are its TTFT / TPOT / throughput, and how far is it from pdplan's optimum.
//!
//! The degrees come from the task's `Parallelism Strategy` section ([`GivenStrategy`]) with
//! command-line flags overriding them. A strategy written the way engineers often write it
//! (`TP16, PP4, DP4, EP32 on 128 GPUs`) may not be a layout at all: the degrees are then
//! *read* — every valid layout (with its replica count) that uses the stated GPU count is a
//! candidate reading, its distance is the number of stated degrees it changes, and the nearest
//! readings are evaluated. `dp` ("Data parallelism") is ambiguous: it matches a reading whose
//! attention-DP, replicas, or their product equals it.
//!
//! Exit policy: [`crate::error::exit::OK`] only when the strategy as written is a consistent
//! layout and meets every requirement (memory, TTFT, TPOT, throughput per GPU, batch) in every
//! phase evaluated; otherwise [`crate::error::exit::INFEASIBLE`] — an invalid strategy is
//! reported as not deployable as written even when a nearby reading would pass.

use crate::candidates::Candidate;
use crate::cost::{self, Figures};
use crate::error::exit;
use crate::ilp::{self, PhaseChoice, SolverReport, formulation::Mode};
use crate::layout::{self, Layout, Limits, Phase, kv_heads_per_gpu};
use crate::plan::{self, Counting, PhaseInput};
use crate::spec::resolve::Resolved;
use crate::spec::task::{AttentionKind, GivenStrategy, Task};
use serde::Serialize;
use serde_json::{Value, json};

const GIB: f64 = (1u64 << 30) as f64;
/// Nearest readings evaluated per phase.
pub const MAX_READINGS: usize = 3;

/// The strategy as stated: the task section with the flags laid over it.
pub fn merge(task: Option<&GivenStrategy>, flags: &GivenStrategy) -> GivenStrategy {
    let t = task.cloned().unwrap_or_default();
    GivenStrategy {
        gpus: flags.gpus.or(t.gpus),
        tp: flags.tp.or(t.tp),
        pp: flags.pp.or(t.pp),
        sp: flags.sp.or(t.sp),
        dp: flags.dp.or(t.dp),
        attention_dp: flags.attention_dp.or(t.attention_dp),
        ep: flags.ep.or(t.ep),
        expert_tp: flags.expert_tp.or(t.expert_tp),
        replicas: flags.replicas.or(t.replicas),
        batch: flags.batch.or(t.batch),
    }
}

/// A layout with a replica count that reads the given strategy, and what it changes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Reading {
    pub layout: Layout,
    pub replicas: u64,
    /// Stated degrees this reading changes, in words (`DP 4 → attention-DP 2`); empty = as written.
    pub changes: Vec<String>,
}

impl Reading {
    pub fn gpus(&self) -> u64 {
        self.replicas * self.layout.gpus_per_instance()
    }
    pub fn describe(&self) -> String {
        let l = &self.layout;
        let mut s = format!("TP{} PP{}", l.tp, l.pp);
        if l.sp > 1 {
            s.push_str(&format!(" SP{}", l.sp));
        }
        s.push_str(&format!(" attention-DP{}", l.attention_dp));
        if l.ep > 1 || l.expert_tp > 1 {
            s.push_str(&format!(" EP{} expert-TP{}", l.ep, l.expert_tp));
        }
        format!(
            "{s}, {} replica{} = {} GPUs",
            self.replicas,
            if self.replicas == 1 { "" } else { "s" },
            self.gpus()
        )
    }
}

/// The changes a reading makes to the stated degrees.
fn changes(g: &GivenStrategy, l: &Layout, replicas: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cmp = |name: &str, stated: Option<u64>, got: u64| {
        if let Some(s) = stated
            && s != got
        {
            out.push(format!("{name} {s} → {got}"));
        }
    };
    cmp("TP", g.tp, l.tp);
    cmp("PP", g.pp, l.pp);
    cmp("SP", g.sp, l.sp);
    cmp("EP", g.ep, l.ep);
    cmp("expert-TP", g.expert_tp, l.expert_tp);
    cmp("attention-DP", g.attention_dp, l.attention_dp);
    cmp("replicas", g.replicas, replicas);
    if let Some(dp) = g.dp
        && ![l.attention_dp, replicas, l.attention_dp * replicas].contains(&dp)
    {
        out.push(format!(
            "DP {dp} → attention-DP {} × {replicas} replica{}",
            l.attention_dp,
            if replicas == 1 { "" } else { "s" }
        ));
    }
    out
}

/// Valid readings of the strategy for a phase, nearest first (fewest changes, then fewer GPUs,
/// then layout order). With a stated GPU count only readings that use exactly that many GPUs.
pub fn readings(task: &Task, phase: Phase, g: &GivenStrategy) -> Vec<Reading> {
    let m = &task.model;
    let gpus = g.gpus;
    let stated_w = g.tp.unwrap_or(1) * g.sp.unwrap_or(1) * g.attention_dp.or(g.dp).unwrap_or(1);
    let max_w = gpus.unwrap_or(u64::MAX).min(256.max(stated_w)).min(1024);
    let limits = Limits {
        max_width: max_w,
        max_pp: 16.max(g.pp.unwrap_or(1)).min(m.layers),
        max_instance_gpus: gpus.unwrap_or(4096),
    };
    let mut out = Vec::new();
    for l in layout::enumerate(m, phase, &limits) {
        if phase == Phase::Decode && l.sp != 1 {
            continue;
        }
        let per = l.gpus_per_instance();
        let replica_options: Vec<u64> = match gpus {
            Some(n) if n % per == 0 => vec![n / per],
            Some(_) => vec![],
            None => {
                let mut v = vec![g.replicas.unwrap_or(1)];
                if let Some(dp) = g.dp {
                    v.push(dp);
                }
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        for replicas in replica_options {
            // In decode the stated SP does not apply (one token per step): not counted as a change.
            let mut stated = g.clone();
            if phase == Phase::Decode {
                stated.sp = None;
            }
            let ch = changes(&stated, &l, replicas);
            out.push(Reading {
                layout: l,
                replicas,
                changes: ch,
            });
        }
    }
    // Nearest first: fewest changed degrees, then the smallest moves (Σ |log2(new / stated)|, so
    // TP16 → 8 is nearer than PP4 → 1), then fewer GPUs, then layout order.
    let key = |r: &Reading| {
        (
            r.changes.len(),
            (1000.0 * moves(&g_for(phase, g), r)).round() as u64,
            r.gpus(),
            r.layout,
        )
    };
    out.sort_by_key(key);
    out
}

fn g_for(phase: Phase, g: &GivenStrategy) -> GivenStrategy {
    let mut s = g.clone();
    if phase == Phase::Decode {
        s.sp = None;
    }
    s
}

/// How far a reading moves the stated degrees: `Σ |log2(new / stated)|`, a pipeline-depth move
/// counted twice (it re-partitions the layers over different GPUs, a larger change to a
/// deployment than regrouping GPUs inside a stage).
fn moves(g: &GivenStrategy, r: &Reading) -> f64 {
    let l = &r.layout;
    let d = |stated: Option<u64>, got: u64| stated.map_or(0.0, |s| ((got as f64) / (s as f64)).log2().abs());
    let dp = g.dp.map_or(0.0, |dp| {
        [l.attention_dp, r.replicas, l.attention_dp * r.replicas]
            .iter()
            .map(|&x| d(Some(dp), x))
            .fold(f64::INFINITY, f64::min)
    });
    d(g.tp, l.tp)
        + 2.0 * d(g.pp, l.pp)
        + d(g.sp, l.sp)
        + d(g.ep, l.ep)
        + d(g.expert_tp, l.expert_tp)
        + d(g.attention_dp, l.attention_dp)
        + d(g.replicas, r.replicas)
        + dp
}

/// The strategy as written, checked against DESIGN.md §2, in words.
pub fn consistency(task: &Task, g: &GivenStrategy) -> Vec<String> {
    let m = &task.model;
    let mut out = Vec::new();
    let tp = g.tp.unwrap_or(1);
    let pp = g.pp.unwrap_or(1);
    let sp = g.sp.unwrap_or(1);
    let dp = g.attention_dp.or(g.dp).unwrap_or(1);
    if let (Some(gpus), Some(_)) = (g.gpus, g.dp) {
        let product = tp * dp * pp * sp;
        if product != gpus {
            out.push(format!(
                "TP × DP × PP{} = {tp} × {dp} × {pp}{} = {product} GPUs, but the strategy states {gpus} GPUs",
                if sp > 1 { " × SP" } else { "" },
                if sp > 1 {
                    format!(" × {sp}")
                } else {
                    String::new()
                },
            ));
        }
    }
    if let Some(gpus) = g.gpus {
        if !gpus.is_multiple_of(pp) {
            out.push(format!(
                "{gpus} GPUs do not split into PP{pp} equal pipeline stages"
            ));
        } else {
            let stage = gpus / pp;
            let replicas = g.replicas.unwrap_or(1);
            let w = stage / replicas.max(1);
            out.push(format!(
                "with PP{pp} on {gpus} GPUs{} each pipeline stage has W = {w} GPUs",
                if replicas > 1 {
                    format!(" and {replicas} replicas")
                } else {
                    String::new()
                }
            ));
            if m.is_moe() {
                let ep = g.ep.unwrap_or(1);
                let etp = g.expert_tp.unwrap_or(1);
                if ep * etp != w {
                    out.push(format!(
                        "the experts use EP{ep} × expert-TP{etp} = {} GPUs per stage, not W = {w}",
                        ep * etp
                    ));
                }
            }
            let attn = tp * sp * dp;
            if attn != w {
                let mut options = Vec::new();
                for t in [tp, w / (sp * dp).max(1)] {
                    if t >= 1 && w.is_multiple_of(t * sp) && m.heads.is_multiple_of(t) {
                        let a = w / (t * sp);
                        options.push(format!("TP{t} × attention-DP{a}"));
                    }
                }
                options.dedup();
                out.push(format!(
                    "attention uses TP{tp} × SP{sp} × DP{dp} = {attn} GPUs per stage, but a stage has W = {w}{}",
                    if options.is_empty() {
                        String::new()
                    } else {
                        format!(" — it would need tp×sp×attention_dp = {w}: {}", options.join(", or "))
                    }
                ));
            }
        }
    }
    if m.attention != AttentionKind::Mla && tp > m.kv_heads && tp.is_multiple_of(m.kv_heads) {
        out.push(format!(
            "TP{tp} > {} KV heads: every KV head is stored on {} GPUs (KV cache ×{} per GPU compared with TP{})",
            m.kv_heads,
            tp / m.kv_heads,
            tp / m.kv_heads,
            m.kv_heads
        ));
    }
    out
}

/// One reading evaluated for one phase.
#[derive(Clone, Debug, Serialize)]
pub struct ReadingResult {
    pub reading: Reading,
    pub batch_per_instance: u64,
    pub figures: Figures,
    /// Phase tokens/s per GPU (instances share the task's batch).
    pub tokens_per_s_per_gpu: f64,
    /// Every requirement and check met.
    pub meets: bool,
    /// What is wrong, in words; empty when it meets everything.
    pub problems: Vec<String>,
    /// What costs more than it should without failing a requirement (KV-head replication).
    pub notes: Vec<String>,
    /// The plan JSON (schema of `plan.schema.json`).
    #[serde(skip)]
    pub plan: Value,
}

/// The optimizer's answer for comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Optimum {
    pub layout: String,
    pub gpus: u64,
    pub tokens_per_s_per_gpu: f64,
}

/// A phase evaluated.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseEvaluation {
    pub phase: Phase,
    /// Nearest readings (the first is the one written to `--out`).
    pub results: Vec<ReadingResult>,
    pub optimum: Option<Optimum>,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub given: GivenStrategy,
    /// Findings about the strategy as written (inconsistencies, KV replication).
    pub findings: Vec<String>,
    /// The strategy as written is a valid layout with the stated GPU count.
    pub consistent: bool,
    pub phases: Vec<PhaseEvaluation>,
    /// Why no optimum could be computed, when it could not.
    pub optimum_error: Option<String>,
    pub exit_code: i32,
}

fn evaluate_reading(r: &Resolved, phase: Phase, g: &GivenStrategy, reading: &Reading) -> ReadingResult {
    let task = &r.task;
    let l = &reading.layout;
    let b_total = task.workload.batch;
    let batch = g
        .batch
        .unwrap_or_else(|| b_total.div_ceil(reading.replicas))
        .max(1);
    let figures = cost::with_max_length(task, phase, l, batch, cost::evaluate(task, phase, l, batch));
    let cover_instances = b_total.div_ceil(batch);
    let cover = figures.throughput_tokens_per_s_per_gpu * b_total as f64 / (cover_instances * batch) as f64;
    let choice = PhaseChoice {
        candidate: Candidate {
            phase,
            layout: *l,
            batch,
            cover_instances,
            figures: figures.clone(),
            cover_tokens_per_s_per_gpu: cover,
        },
        instances: reading.replicas,
    };
    let solver = SolverReport {
        status: "evaluated".into(),
        objective: "none: a given strategy is evaluated, not optimized".into(),
        objective_kind: crate::ilp::formulation::Objective::PerGpu,
        objective_value: cover,
        primary_value: cover,
        secondary_value: (choice.gpus()) as f64,
        gap: 0.0,
        solve_time_s: 0.0,
        enumeration_time_s: 0.0,
        ilp_time_s: 0.0,
        time_limit_s: 0.0,
        candidates: 1,
        feasible: 0,
        in_model: 0,
        variables: 0,
        rows: 0,
        solves: 0,
        verified: false,
        oracle_check: "not applicable: a given strategy is evaluated, not optimized".into(),
        engine_search: None,
    };
    let plan = plan::phase_plan(
        r,
        &PhaseInput {
            phase,
            choice: &choice,
            counting: Counting::SharedBatch,
            holds_batch: true,
            solver: &solver,
            deployment: json!({
                "mode": "evaluate",
                "given_strategy": g,
                "reading": reading.describe(),
                "changes_from_given": reading.changes,
            }),
        },
    );
    let mut problems = Vec::new();
    let mem = &figures.memory;
    if !mem.fits() {
        problems.push(format!(
            "does not fit: the most loaded GPU needs {:.1} GiB (weights {:.1}, KV cache {:.1}, activations {:.1}, reserve {:.1}) but has {:.1} GiB",
            mem.total_bytes / GIB,
            mem.weights_bytes / GIB,
            mem.kv_cache_bytes / GIB,
            mem.activations_bytes / GIB,
            mem.reserve_bytes / GIB,
            mem.capacity_bytes / GIB
        ));
    }
    let req = &task.requirements;
    if let (Some(limit), Some(t)) = (req.ttft_s, figures.ttft_s)
        && t > limit
    {
        problems.push(format!("TTFT {t:.2} s exceeds the required {limit} s"));
    }
    if let (Some(limit), Some(t)) = (req.tpot_s, figures.tpot_s)
        && t > limit
    {
        problems.push(format!(
            "TPOT {:.1} ms exceeds the required {:.1} ms",
            t * 1e3,
            limit * 1e3
        ));
    }
    if let Some(min) = req.throughput_per_gpu_tokens_per_s
        && cover < min
    {
        problems.push(format!(
            "{cover:.0} tokens/s per GPU is below the required {min:.0}"
        ));
    }
    if batch < l.attention_dp {
        problems.push(format!(
            "{batch} sequences per instance leave {} of the {} attention-DP ranks idle",
            l.attention_dp - batch,
            l.attention_dp
        ));
    }
    if reading.replicas * batch < b_total {
        problems.push(format!(
            "{} replicas × {batch} sequences hold fewer than the batch of {b_total}",
            reading.replicas
        ));
    }
    let mut notes = Vec::new();
    let (_, repl) = kv_heads_per_gpu(&task.model, l.tp);
    if task.model.attention != AttentionKind::Mla && repl > 1 {
        notes.push(format!(
            "TP{} replicates each KV head {repl}× (the KV cache per GPU is {repl}× what TP{} would hold)",
            l.tp, task.model.kv_heads
        ));
    }
    let meets = plan::all_checks_pass(&plan) && problems.is_empty();
    ReadingResult {
        reading: reading.clone(),
        batch_per_instance: batch,
        tokens_per_s_per_gpu: cover,
        meets,
        figures,
        problems,
        notes,
        plan,
    }
}

/// Evaluate the strategy for the phases asked.
pub fn evaluate(r: &Resolved, phases: &[Phase], flags: &GivenStrategy) -> Evaluation {
    let task = &r.task;
    let g = merge(task.strategy.as_ref(), flags);
    let findings = consistency(task, &g);
    let (optimum, optimum_error) = match ilp::optimize(task, Mode::of(task)) {
        Ok(d) => {
            let counting = match d.mode {
                Mode::NoLimit => Counting::SharedBatch,
                _ => Counting::FullInstances,
            };
            let of = |p: Phase| {
                let c = d.phase(p);
                Optimum {
                    layout: format!("{} × {} replicas", c.candidate.layout, c.instances),
                    gpus: c.gpus(),
                    tokens_per_s_per_gpu: plan::phase_tokens_per_gpu(c, counting),
                }
            };
            (Some([of(Phase::Prefill), of(Phase::Decode)]), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let mut consistent = true;
    let mut all_meet = true;
    let mut out = Vec::new();
    for &phase in phases {
        let rs = readings(task, phase, &g);
        let as_written = rs.first().is_some_and(|x| x.changes.is_empty());
        consistent &= as_written;
        let best = rs.first().map_or(usize::MAX, |x| x.changes.len());
        let mut results: Vec<ReadingResult> = rs
            .iter()
            .take_while(|x| x.changes.len() == best)
            .take(MAX_READINGS)
            .map(|x| evaluate_reading(r, phase, &g, x))
            .collect();
        // The reading written to the plan: one that meets everything, then the highest throughput.
        results.sort_by(|a, b| {
            b.meets.cmp(&a.meets).then(
                b.tokens_per_s_per_gpu
                    .partial_cmp(&a.tokens_per_s_per_gpu)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
        });
        all_meet &= results.first().is_some_and(|x| x.meets);
        let optimum = optimum.as_ref().map(|o| match phase {
            Phase::Prefill => o[0].clone(),
            Phase::Decode => o[1].clone(),
        });
        out.push(PhaseEvaluation {
            phase,
            results,
            optimum,
        });
    }
    // Findings other than KV replication make the strategy as written inconsistent too.
    let exit_code = if consistent && all_meet {
        exit::OK
    } else {
        exit::INFEASIBLE
    };
    let phases_out = out
        .into_iter()
        .map(|mut p| {
            for res in &mut p.results {
                res.plan["evaluation"] = json!({
                    "given_strategy": g,
                    "findings": findings,
                    "consistent_as_written": consistent,
                    "reading": res.reading.describe(),
                    "changes_from_given": res.reading.changes,
                    "problems": res.problems,
                    "notes": res.notes,
                    "meets_every_requirement": res.meets,
                    "optimum": p.optimum,
                    "fraction_of_optimum_throughput_per_gpu": p.optimum.as_ref().map(|o| res.tokens_per_s_per_gpu / o.tokens_per_s_per_gpu),
                    "exit_code": exit_code,
                });
            }
            p
        })
        .collect();
    Evaluation {
        given: g,
        findings,
        consistent,
        phases: phases_out,
        optimum_error,
        exit_code,
    }
}

fn stated(g: &GivenStrategy) -> String {
    let mut parts = Vec::new();
    let mut add = |name: &str, v: Option<u64>| {
        if let Some(v) = v {
            parts.push(format!("{name} {v}"));
        }
    };
    add("GPUs", g.gpus);
    add("TP", g.tp);
    add("PP", g.pp);
    add("SP", g.sp);
    add("DP", g.dp);
    add("attention-DP", g.attention_dp);
    add("EP", g.ep);
    add("expert-TP", g.expert_tp);
    add("replicas", g.replicas);
    add("batch", g.batch);
    if parts.is_empty() {
        "nothing (all degrees 1)".into()
    } else {
        parts.join(", ")
    }
}

/// The human summary of an evaluation.
pub fn summary(e: &Evaluation) -> String {
    let mut s = format!("Given strategy: {}\n", stated(&e.given));
    s.push_str(&format!(
        "Consistency under DESIGN.md §2 (one stage = W GPUs; attention tp×sp×attention_dp = W = ep×expert_tp; GPUs = replicas×pp×W): {}\n",
        if e.consistent {
            "consistent as written"
        } else {
            "NOT a valid layout as written"
        }
    ));
    for f in &e.findings {
        s.push_str(&format!("  - {f}\n"));
    }
    for p in &e.phases {
        s.push_str(&format!("\n{}:\n", p.phase));
        if p.results.is_empty() {
            s.push_str("  no valid layout uses the stated GPU count for this model\n");
            continue;
        }
        let label = if p.results[0].reading.changes.is_empty() {
            "as written".to_string()
        } else {
            format!(
                "nearest consistent readings ({} change{} each)",
                p.results[0].reading.changes.len(),
                if p.results[0].reading.changes.len() == 1 {
                    ""
                } else {
                    "s"
                }
            )
        };
        s.push_str(&format!("  evaluated {label}:\n"));
        for (i, r) in p.results.iter().enumerate() {
            let f = &r.figures;
            s.push_str(&format!(
                "  {} {}{}\n",
                if i == 0 { "*" } else { " " },
                r.reading.describe(),
                if r.reading.changes.is_empty() {
                    String::new()
                } else {
                    format!(" [changes {}]", r.reading.changes.join(", "))
                }
            ));
            s.push_str(&format!(
                "      memory {:.1} / {:.1} GiB per GPU ({}), batch {} per instance",
                f.memory.total_bytes / GIB,
                f.memory.capacity_bytes / GIB,
                if f.memory.fits() { "fits" } else { "DOES NOT FIT" },
                r.batch_per_instance
            ));
            match p.phase {
                Phase::Prefill => s.push_str(&format!(
                    ", TTFT {:.2} s (at max length {:.2} s)",
                    f.ttft_s.unwrap_or(f64::NAN),
                    f.ttft_at_max_length_s.unwrap_or(f64::NAN)
                )),
                Phase::Decode => s.push_str(&format!(
                    ", TPOT {:.1} ms (mean context {:.1} ms)",
                    f.tpot_s.unwrap_or(f64::NAN) * 1e3,
                    f.tpot_mean_s.unwrap_or(f64::NAN) * 1e3
                )),
            }
            s.push_str(&format!(", {:.0} tokens/s per GPU", r.tokens_per_s_per_gpu));
            if let Some(o) = &p.optimum {
                s.push_str(&format!(
                    " = {:.0}% of pdplan's optimum",
                    100.0 * r.tokens_per_s_per_gpu / o.tokens_per_s_per_gpu
                ));
            }
            s.push('\n');
            if r.problems.is_empty() {
                s.push_str("      meets every requirement\n");
            }
            for pr in &r.problems {
                s.push_str(&format!("      ! {pr}\n"));
            }
            for n in &r.notes {
                s.push_str(&format!("      note: {n}\n"));
            }
        }
        if let Some(o) = &p.optimum {
            s.push_str(&format!(
                "  pdplan's optimum: {} ({} GPUs), {:.0} tokens/s per GPU\n",
                o.layout, o.gpus, o.tokens_per_s_per_gpu
            ));
        }
    }
    if let Some(err) = &e.optimum_error {
        s.push_str(&format!("\npdplan found no optimum to compare with: {err}\n"));
    }
    s.push_str(&format!(
        "\nVerdict: {} (exit {})\n",
        match (e.consistent, e.exit_code == exit::OK) {
            (true, true) => "valid and meets every requirement",
            (true, false) => "valid layout, but it misses a requirement",
            (false, _) => "not deployable as written; see the readings above for what it would need",
        },
        e.exit_code
    ));
    s
}
