//! The phase plan: a pure function from a chosen deployment to the typed plan of
//! `fixtures/plan.schema.json` ([`types`]), with the checks that prove it sound (STYLE.md 9).

pub mod given;
pub mod run;
pub mod types;

pub use types::*;

use crate::candidates::balanced::{self, idle_share};
use crate::candidates::queueing::{self, TtftBreakdown};
use crate::ilp::{Deployment, PhaseChoice, SolverReport};
use crate::layout::mapping::Mapping;
use crate::layout::{Layout, Phase, kv_heads_per_gpu, validate};
use crate::spec::goal::Mode;
use crate::spec::model_size;
use crate::spec::resolve::Resolved;
use crate::spec::task::Task;

use crate::params::GIB;

pub use crate::spec::goal::Counting;

/// Phase tokens/s per GPU as counted for the mode.
pub fn phase_tokens_per_gpu(choice: &PhaseChoice, counting: Counting) -> f64 {
    let c = &choice.candidate;
    counting.tokens_per_gpu(c.cover_tokens_per_s_per_gpu, c.serving.tokens_per_s_per_gpu)
}

/// The echo of the task (every field read, normalized, with warnings).
pub fn task_echo(r: &Resolved) -> TaskEcho {
    let t = &r.task;
    let m = &t.model;
    let total = model_size::total_params(m);
    let wl = &t.workload;
    TaskEcho {
        source: r.source.clone(),
        name: t.name.clone(),
        model: ModelEcho {
            spec: m.clone(),
            derived: DerivedSizes {
                total_params: total,
                active_params_per_token: model_size::active_params(m),
                declared_params: m.declared_params,
                weight_scale_for_memory: model_size::weight_scale(m),
                kv_cache_bytes_per_token: model_size::kv_bytes_per_token(m),
                weights_bytes: model_size::weight_bytes(m),
            },
        },
        hardware: t.hardware.clone(),
        workload: WorkloadEcho {
            spec: wl.clone(),
            ttft_input_len: wl.ttft_input_len(),
            decode_last_context: wl.decode_last_context(),
            decode_mean_context: wl.decode_mean_context(),
            kv_tokens_per_sequence: wl.kv_tokens_per_sequence(),
            rate_output_len: wl.rate_output_len(),
        },
        requirements: t.requirements.clone(),
        cost_params: t.cost.clone(),
        fields_read: r.fields.clone(),
        warnings: r.warnings.clone(),
    }
}

/// Assumptions every plan states: the length policy, interconnect, declared-vs-derived size.
pub fn assumptions(r: &Resolved) -> Vec<String> {
    let t = &r.task;
    let wl = &t.workload;
    let mut out = r.assumptions.clone();
    out.push(format!(
        "length policy: KV cache reserved for {} tokens per sequence (every sequence may reach the maximum length); TTFT checked at input length {} ({}), also reported at the maximum {}",
        wl.kv_tokens_per_sequence(),
        wl.ttft_input_len(),
        if wl.input_len.is_some() { "declared Sequence In" } else { "no Sequence In declared: maximum length" },
        wl.max_len
    ));
    out.push(match wl.output_len {
        Some(o) => format!(
            "decode: TPOT checked at the last output token (context {}), throughput at the mean context {} (ISL + OSL/2); OSL {o}",
            wl.decode_last_context(),
            wl.decode_mean_context()
        ),
        None => format!(
            "no Sequence Out declared: decode TPOT and throughput evaluated at context {} (worst case), request rates use an output length of {} tokens (half the maximum)",
            wl.decode_last_context(),
            wl.rate_output_len()
        ),
    });
    out.extend(crate::cost::assumptions(t));
    out.push(format!(
        "interconnect: {} GPUs per node, {:.0} GB/s per GPU inside a node, {:.0} GB/s per GPU between nodes; TP groups placed on neighbouring GPUs",
        t.hardware.gpus_per_node,
        t.hardware.intra_node_bytes_per_s / 1e9,
        t.hardware.inter_node_bytes_per_s / 1e9
    ));
    if let Some(line) = size_conflict(&t.model) {
        out.push(line);
    }
    out.push(
        "TTFT excludes queueing and the KV-cache hand-off to decode (reported under \
         deployment.kv_transfer); the cost parameters in effect are echoed in task.cost_params"
            .to_string(),
    );
    out
}

/// The declared parameter count far from what the shapes add up to, in words.
fn size_conflict(m: &crate::spec::task::Model) -> Option<String> {
    let derived = model_size::total_params(m);
    let declared = m.declared_params?;
    let ratio = declared / derived;
    (!crate::params::DECLARED_PARAMS_BAND.contains(&ratio)).then(|| format!(
        "conflict: declared {:.3} B parameters but the layer shapes add up to {:.3} B; memory, weight reads and matmul FLOPs use the larger figure (every weight matrix scaled ×{:.3}); attention scores and KV cache follow the shapes",
        declared / 1e9,
        derived / 1e9,
        model_size::weight_scale(m)
    ))
}

fn check(name: &str, passed: bool, detail: String) -> Check {
    Check {
        name: name.to_string(),
        passed,
        detail,
    }
}

/// Inputs of a phase plan besides the resolved task.
pub struct PhaseInput<'a> {
    pub phase: Phase,
    pub choice: &'a PhaseChoice,
    pub counting: Counting,
    /// The phase must hold the task's batch at once (see `ilp::formulation::holds_batch`).
    pub holds_batch: bool,
    pub solver: &'a SolverReport,
    /// Rate reading (budget and rate modes): the requests/s each instance of the phase serves
    /// (TTFT is reported at this load); `None` in the batch reading (no GPU limit).
    pub load_per_s: Option<f64>,
    /// Deployment-level facts (both phases), echoed in each file.
    pub deployment: DeploymentFacts,
}

/// What one phase plan is built from: the task, the choice and its figures at the maximum length.
struct Parts<'a> {
    task: &'a Task,
    input: &'a PhaseInput<'a>,
    layout: Layout,
    batch: u64,
    replicas: u64,
    figures: crate::cost::Figures,
    per_gpu: f64,
}

impl Parts<'_> {
    fn total(&self) -> u64 {
        self.layout.gpus_per_instance() * self.replicas
    }
    fn held(&self) -> u64 {
        self.replicas * self.batch
    }
}

/// Checks of the layout: GPU count, MoE width, divisibility, memory, batch held.
fn layout_checks(p: &Parts, mapping: &Mapping) -> Vec<Check> {
    let (task, l, replicas) = (p.task, &p.layout, p.replicas);
    let w = l.width();
    let total = p.total();
    let mut checks: Vec<Check> = mapping
        .checks(&task.model, l, p.batch)
        .into_iter()
        .map(|(name, passed, detail)| check(&name, passed, detail))
        .collect();
    checks.push(check(
        "gpu_count_formula",
        total == replicas * l.pp * w && w == l.tp * l.sp * l.attention_dp,
        format!("replicas × pp × W = {replicas} × {} × {w} = {total}", l.pp),
    ));
    if task.model.is_moe() {
        checks.push(check(
            "moe_width",
            l.ep * l.expert_tp == w,
            format!(
                "ep × expert_tp = {} × {} = {} = W",
                l.ep,
                l.expert_tp,
                l.ep * l.expert_tp
            ),
        ));
    }
    let valid = validate(&task.model, p.input.phase, l);
    checks.push(check(
        "divisibility",
        valid.is_ok(),
        valid.err().map_or_else(
            || "heads, KV heads, experts, layers divide as required".into(),
            |e| e.to_string(),
        ),
    ));
    let m = &p.figures.memory;
    checks.push(check(
        "memory_fits",
        m.fits(),
        format!(
            "{:.2} GiB of {:.2} GiB on the most loaded GPU (stage {})",
            m.total_bytes / GIB,
            m.capacity_bytes / GIB,
            m.stage
        ),
    ));
    if p.input.holds_batch {
        checks.push(check(
            "batch_held",
            p.held() >= task.workload.batch,
            format!(
                "{replicas} instances × {} sequences = {} ≥ batch {}",
                p.batch,
                p.held(),
                task.workload.batch
            ),
        ));
    }
    checks
}

fn requirement(required: f64, achieved: f64, met: bool) -> Requirement<f64> {
    Requirement {
        required,
        achieved,
        met,
    }
}

/// Each requirement of the task that applies to the phase, with the value reached.
fn phase_requirements(p: &Parts) -> PhaseRequirements {
    let req = &p.task.requirements;
    let f = &p.figures;
    let (ttft_s, tpot_s) = match p.input.phase {
        // A saturated instance has no finite TTFT: the requirement is then missed.
        Phase::Prefill => (
            req.ttft_s
                .zip(f.ttft_s.map(|_| ttft_total(p)))
                .map(|(l, t)| requirement(l, t, t <= l)),
            None,
        ),
        Phase::Decode => (
            None,
            req.tpot_s.zip(f.tpot_s).map(|(l, t)| requirement(l, t, t <= l)),
        ),
    };
    let batch = p.task.workload.batch;
    PhaseRequirements {
        ttft_s,
        tpot_s,
        throughput_per_gpu_tokens_per_s: req
            .throughput_per_gpu(matches!(p.input.phase, Phase::Prefill))
            .map(|min| requirement(min, p.per_gpu, p.per_gpu >= min)),
        memory_bytes: requirement(f.memory.capacity_bytes, f.memory.total_bytes, f.memory.fits()),
        batch_sequences: p.input.holds_batch.then(|| Requirement {
            required: batch,
            achieved: p.held(),
            met: p.held() >= batch,
        }),
    }
}

/// One check per requirement (`requirement_<name>`), in key order.
fn requirement_checks(r: &PhaseRequirements) -> Vec<Check> {
    r.lines()
        .into_iter()
        .map(|l| {
            check(
                &format!("requirement_{}", l.name),
                l.met,
                format!("required {} , achieved {}", l.required, l.achieved),
            )
        })
        .collect()
}

/// Routed experts per GPU, per EP rank (`{}` for a dense model).
fn experts(task: &Task, l: &Layout) -> Experts {
    let Some(moe) = &task.model.moe else {
        return Experts::Dense {};
    };
    let per = moe.experts / l.ep;
    Experts::Moe(ExpertPlacement {
        experts_per_layer: moe.experts,
        experts_per_gpu: per,
        expert_tp_shards: l.expert_tp,
        moe_layers: task.model.moe_layers(),
        dense_layers: task.model.dense_ffn_layers(),
        shared_experts: moe.shared_experts,
        by_ep_rank: (0..l.ep)
            .map(|r| EpRank {
                ep_rank: r,
                first_expert: r * per,
                last_expert: r * per + per - 1,
            })
            .collect(),
    })
}

/// The mapping object: stages, attention and expert placement, GPUs.
fn plan_mapping(task: &Task, l: &Layout, mapping: Mapping) -> PlanMapping {
    let (kv_per_gpu, kv_repl) = kv_heads_per_gpu(&task.model, l.tp);
    PlanMapping {
        attention: AttentionPlacement {
            heads_per_gpu: task.model.heads / l.tp,
            kv_heads_per_gpu: kv_per_gpu,
            kv_replication: kv_repl,
            sequence_imbalance_max_over_mean: mapping.sequence_imbalance(),
            sequences_per_attention_dp_rank: mapping.sequences_per_rank.clone(),
        },
        experts: experts(task, l),
        parts: mapping.gpus.len() as u64,
        distinct_gpus: mapping.distinct_gpus(),
        replicas_gpu_offset: l.gpus_per_instance(),
        stages: mapping.stages,
        gpus: mapping.gpus,
    }
}

fn strategy(p: &Parts) -> Strategy {
    let l = &p.layout;
    Strategy {
        tp: l.tp,
        pp: l.pp,
        sp: l.sp,
        attention_dp: l.attention_dp,
        ep: l.ep,
        expert_tp: l.expert_tp,
        replicas: p.replicas,
        batch_per_instance: p.batch,
        micro_batches: p.figures.micro_batches,
        request_data_parallelism: p.replicas * l.attention_dp,
    }
}

fn gpus(p: &Parts) -> Gpus {
    let l = &p.layout;
    let w = l.width();
    let (per_instance, total, replicas) = (l.gpus_per_instance(), p.total(), p.replicas);
    let moe = if p.task.model.is_moe() {
        format!(" = ep×expert_tp = {}×{}", l.ep, l.expert_tp)
    } else {
        String::new()
    };
    Gpus {
        per_stage: w,
        per_instance,
        total,
        formula: format!(
            "W = tp×sp×attention_dp = {}×{}×{} = {w}{moe}; per instance = pp×W = {}×{w} = {per_instance}; total = replicas×pp×W = {replicas}×{}×{w} = {total}",
            l.tp, l.sp, l.attention_dp, l.pp, l.pp
        ),
    }
}

fn memory(f: &crate::cost::Figures) -> Memory {
    let m = &f.memory;
    Memory {
        capacity_bytes: m.capacity_bytes,
        per_gpu: MemoryPerGpu {
            weights_bytes: m.weights_bytes,
            kv_cache_bytes: m.kv_cache_bytes,
            activations_bytes: m.activations_bytes,
            reserve_bytes: m.reserve_bytes,
            total_bytes: m.total_bytes,
            stage: m.stage,
        },
        headroom_bytes: m.capacity_bytes - m.total_bytes,
    }
}

/// Prefill: the terms of TTFT and the utilization. Rate reading: at the instance's load, with
/// batch formation, M/D/1 queueing and the KV hand-off ([`crate::candidates::queueing`]); an
/// instance loaded to saturation has no finite TTFT (`None`). Batch reading: the time to
/// prefill the instance's share of B, nothing else (the B sequences arrive together).
fn ttft_terms(p: &Parts) -> Option<(TtftBreakdown, Option<f64>)> {
    let d = p.figures.ttft_s?;
    let c = &p.input.choice.candidate;
    match p.input.load_per_s {
        Some(load) => {
            let b = queueing::ttft_at(d, c.batch, c.serving.kv_transfer_s, load)?;
            Some((b, Some(load * d / c.batch as f64)))
        }
        None => Some((
            TtftBreakdown {
                prefill_s: d,
                batch_formation_s: 0.0,
                queueing_s: 0.0,
                kv_transfer_s: 0.0,
            },
            None,
        )),
    }
}

/// Prefill TTFT (infinite when the instance is saturated).
fn ttft_total(p: &Parts) -> f64 {
    ttft_terms(p).map_or(f64::INFINITY, |(b, _)| b.total_s())
}

/// Requests/s one instance serves: its capacity under a request stream in the rate reading,
/// a batch per TTFT / per OSL × TPOT in the batch reading.
fn instance_rate(p: &Parts) -> f64 {
    let c = &p.input.choice.candidate;
    match p.input.load_per_s {
        Some(_) => c.serving.rate_per_s,
        None => c.figures.rate_requests_per_s,
    }
}

fn performance(p: &Parts) -> Performance {
    let f = &p.figures;
    let ttft = ttft_terms(p);
    Performance {
        ttft_s: ttft.map(|(b, _)| b.total_s()),
        ttft_breakdown: ttft.map(|(b, _)| b),
        prefill_utilization: ttft.and_then(|(_, u)| u),
        load_per_instance_requests_per_s: p.input.load_per_s,
        ttft_at_max_length_s: f.ttft_at_max_length_s,
        tpot_s: f.tpot_s,
        tpot_at_mean_context_s: f.tpot_mean_s,
        throughput_tokens_per_s: p.per_gpu * p.total() as f64,
        throughput_tokens_per_s_per_gpu: p.per_gpu,
        instance_throughput_tokens_per_s: f.throughput_tokens_per_s,
        instance_request_rate_per_s: instance_rate(p),
        phase_request_rate_per_s: instance_rate(p) * p.replicas as f64,
        breakdown: f.breakdown.clone(),
    }
}

/// Build the plan of one phase.
pub fn phase_plan(r: &Resolved, input: &PhaseInput) -> PhasePlan {
    let task = &r.task;
    let c = &input.choice.candidate;
    let figures = crate::cost::with_max_length(task, input.phase, &c.layout, c.batch, c.figures.clone());
    let p = Parts {
        task,
        input,
        layout: c.layout,
        batch: c.batch,
        replicas: input.choice.instances,
        figures,
        per_gpu: phase_tokens_per_gpu(input.choice, input.counting),
    };
    let mapping = Mapping::build(&task.model, &p.layout, p.batch);
    let requirements = phase_requirements(&p);
    let mut checks = layout_checks(&p, &mapping);
    checks.extend(requirement_checks(&requirements));
    PhasePlan {
        schema_version: SchemaVersion,
        phase: input.phase,
        task: task_echo(r),
        strategy: strategy(&p),
        gpus: gpus(&p),
        mapping: plan_mapping(task, &p.layout, mapping),
        memory: memory(&p.figures),
        performance: performance(&p),
        requirements,
        checks,
        assumptions: assumptions(r),
        launch: None,
        deployment: input.deployment.clone(),
        solver: input.solver.clone(),
        evaluation: None,
        given_strategy: None,
        run: None,
    }
}

/// The hand-off of disaggregation: each request's KV cache goes from its prefill instance to a
/// decode instance over the NICs (DistServe, Zhong et al. OSDI'24 §4; Mooncake, Qin et al.
/// FAST'25). Reported, not optimized: the time one request's KV takes over the prefill
/// instance's NICs (all its GPUs send their shards in parallel) and the pool's NIC utilization at
/// the sustained rate. Assumes one NIC per GPU at the inter-node bandwidth and no compression.
pub fn kv_transfer(task: &Task, prefill: &PhaseChoice, rate_per_s: f64) -> KvTransfer {
    let bytes = model_size::kv_bytes_per_token(&task.model) * task.workload.ttft_input_len() as f64;
    let nic = task.hardware.inter_node_bytes_per_s;
    let instance_bw = nic * prefill.candidate.gpus_per_instance() as f64;
    let pool_bw = nic * prefill.gpus() as f64;
    let needed = bytes * rate_per_s;
    KvTransfer {
        bytes_per_request: bytes,
        seconds_per_request: bytes / instance_bw,
        needed_bytes_per_s: needed,
        prefill_nic_bytes_per_s: pool_bw,
        nic_utilization: needed / pool_bw,
    }
}

fn alternative_phase(c: &PhaseChoice, counting: Counting) -> AlternativePhase {
    AlternativePhase {
        layout: c.candidate.layout.to_string(),
        batch_per_instance: c.candidate.batch,
        replicas: c.instances,
        gpus: c.gpus(),
        tokens_per_s_per_gpu: phase_tokens_per_gpu(c, counting),
    }
}

/// The deployment-level facts of an optimized deployment.
pub fn deployment_facts(r: &Resolved, d: &Deployment, counting: Counting) -> OptimizedDeployment {
    OptimizedDeployment {
        mode: d.mode,
        prefill_gpus: d.prefill.gpus(),
        decode_gpus: d.decode.gpus(),
        total_gpus: d.total_gpus(),
        sustained_request_rate_per_s: d.request_rate_per_s,
        kv_transfer: kv_transfer(&r.task, &d.prefill, d.request_rate_per_s),
        tolerance: d.tolerance,
        balanced: Box::new(balanced_facts(&r.task, d)),
        concurrency_floor: concurrency_floor(&r.task, d),
        fewest_gpus_alternative: d.fewest_gpus.as_ref().map(|(p, q)| Alternative {
            prefill: alternative_phase(p, counting),
            decode: alternative_phase(q, counting),
            total_gpus: p.gpus() + q.gpus(),
        }),
    }
}

/// `deployment.balanced`: the smallest prefill:decode unit of the chosen layouts whose rates
/// match ([`balanced::balanced`]), each layout at its best stream-capable batch
/// ([`balanced::best_stream_candidate`]); and the plan's own instances under a request stream:
/// at the plan's batches in the rate reading (they were chosen for a stream), at the unit's
/// batches without a limit (the batch reading's batches need not form from a stream).
fn balanced_facts(task: &Task, d: &Deployment) -> BalancedFacts {
    let best = Phase::BOTH.map(|ph| balanced::best_stream_candidate(task, ph, &d.phase(ph).candidate.layout));
    let unit = match &best {
        [Some(p), Some(q)] => balanced::balanced(p, q),
        _ => None,
    };
    let pools = if d.mode == Mode::NoLimit {
        [best[0].as_ref(), best[1].as_ref()]
    } else {
        [Some(&d.prefill.candidate), Some(&d.decode.candidate)]
    };
    let mut facts = BalancedFacts {
        unit,
        match_within: balanced::MAX_MISMATCH,
        note: balanced_note(d, &best, unit.is_some()),
        plan_prefill_batch: None,
        plan_decode_batch: None,
        plan_request_rate_per_s: None,
        plan_prefill_idle_share: None,
        plan_decode_idle_share: None,
    };
    if let [Some(p), Some(q)] = pools {
        let cap_p = d.prefill.instances as f64 * p.serving.rate_per_s;
        let cap_q = d.decode.instances as f64 * q.serving.rate_per_s;
        if cap_p > 0.0 && cap_q > 0.0 {
            let rate = cap_p.min(cap_q);
            facts.plan_prefill_batch = Some(p.batch);
            facts.plan_decode_batch = Some(q.batch);
            facts.plan_request_rate_per_s = Some(rate);
            facts.plan_prefill_idle_share = Some(idle_share(cap_p, rate));
            facts.plan_decode_idle_share = Some(idle_share(cap_q, rate));
        }
    }
    facts
}

/// What `deployment.balanced` holds, in words: the unit and its batches, or why there is none.
fn balanced_note(d: &Deployment, best: &[Option<crate::candidates::Candidate>; 2], unit: bool) -> String {
    if unit {
        return format!(
            "the smallest prefill and decode instance counts of these layouts whose request rates match within 10 %, each layout at its best stream-capable batch (prefill {} requests per pass, decode {} concurrent sequences): the unit to replicate as traffic grows",
            best[0].as_ref().map_or(0, |c| c.batch),
            best[1].as_ref().map_or(0, |c| c.batch)
        );
    }
    let none: Vec<String> = Phase::BOTH
        .into_iter()
        .zip(best)
        .filter(|(_, b)| b.is_none())
        .map(|(ph, _)| format!("the {ph} layout {}", d.phase(ph).candidate.layout))
        .collect();
    if none.is_empty() {
        format!(
            "no prefill:decode unit of these layouts matches within 10 % with at most {} instances per phase",
            balanced::MAX_INSTANCES
        )
    } else {
        format!(
            "no unit: {} serves no request stream within the requirements at any batch",
            none.join(" and ")
        )
    }
}

/// `deployment.concurrency_floor` (rate reading): B is a floor on the sequences the decode pool
/// holds, not a cap on an instance's batch. It binds when a decode pool with fewer GPUs than the
/// plan's — any decode candidate the optimizer had, with the instances the sustained rate needs
/// — serves the rate but holds fewer than B: the floor, not the rate, then sets the decode pool
/// (more instances of the chosen layout, or a larger layout holding more sequences).
fn concurrency_floor(task: &Task, d: &Deployment) -> Option<ConcurrencyFloor> {
    if d.mode == Mode::NoLimit {
        return None;
    }
    let (b, rate, decode) = (task.workload.batch, d.request_rate_per_s, &d.decode);
    let for_rate = |c: &crate::candidates::Candidate| {
        (rate / c.serving.rate_per_s * (1.0 - 1e-9)).ceil().max(1.0) as u64
    };
    // (GPUs, sequences held) of the smallest pool of each decode candidate serving the rate.
    let pools: Vec<(u64, u64)> = d.candidates[1] // (prefill, decode)
        .iter()
        .chain([&decode.candidate])
        .filter(|c| c.serving.rate_per_s > 0.0)
        .map(|c| {
            (
                for_rate(c).saturating_mul(c.gpus_per_instance()),
                for_rate(c).saturating_mul(c.batch),
            )
        })
        .collect();
    let c = decode.candidate.batch;
    Some(ConcurrencyFloor {
        floor_sequences: b,
        held_sequences: decode.instances * c,
        concurrency_per_instance: c,
        decode_instances: decode.instances,
        decode_instances_for_rate: for_rate(&decode.candidate),
        decode_gpus_for_rate: pools.iter().map(|p| p.0).min().unwrap_or(decode.gpus()),
        binds: pools.iter().any(|&(g, held)| g < decode.gpus() && held < b),
    })
}

/// Both phase plans of an optimized deployment.
pub fn deployment_plans(r: &Resolved, d: &Deployment) -> [PhasePlan; 2] {
    let counting = Counting::of(d.mode);
    let deployment = DeploymentFacts::Optimized(deployment_facts(r, d, counting));
    let launch = crate::launch::launches(&r.task, d);
    Phase::BOTH.map(|p| {
        let choice = d.phase(p);
        let load_per_s =
            (d.mode != Mode::NoLimit).then(|| d.request_rate_per_s / choice.instances.max(1) as f64);
        let mut plan = phase_plan(
            r,
            &PhaseInput {
                phase: p,
                choice,
                counting,
                holds_batch: crate::ilp::formulation::holds_batch(d.mode, p),
                solver: &d.solver,
                load_per_s,
                deployment: deployment.clone(),
            },
        );
        // Both phase files carry the whole deployment's launch: whether an engine runs it
        // depends on the pair (SGLang's same TP), and the router needs both pools.
        plan.launch = Some(launch.clone());
        plan
    })
}

/// Every check of a plan passed.
pub fn all_checks_pass(plan: &PhasePlan) -> bool {
    plan.all_checks_pass()
}
