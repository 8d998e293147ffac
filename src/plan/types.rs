//! The phase plan as types: one struct per object of `fixtures/plan.schema.json`, serialized by
//! serde (keys sorted by [`crate::app::output::json_string`], so the bytes do not depend on field
//! order). Readers (summary, compare, batch, evaluate, tests) use these fields, never string keys;
//! `tests/plan_schema.rs` proves the types and the schema agree.

use crate::candidates::balanced::Balanced;
use crate::candidates::queueing::TtftBreakdown;
use crate::cost::StepBreakdown;
use crate::ilp::SolverReport;
use crate::input::markdown::FieldRead;
use crate::layout::Phase;
use crate::layout::mapping::{GpuPart, Stage};
use crate::spec::goal::Mode;
use crate::spec::task::{CostParams, GivenStrategy, Hardware, Model, Requirements, Workload};
use schemars::JsonSchema;
use serde::Serialize;

/// The plan of one phase (`prefill.json` or `decode.json`).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhasePlan {
    pub schema_version: SchemaVersion,
    pub phase: Phase,
    pub task: TaskEcho,
    pub strategy: Strategy,
    pub gpus: Gpus,
    pub mapping: PlanMapping,
    pub memory: Memory,
    pub performance: Performance,
    pub requirements: PhaseRequirements,
    pub checks: Vec<Check>,
    pub assumptions: Vec<String>,
    /// Per engine: whether it runs the deployment disaggregated and the argv of each role
    /// (absent for a single evaluated phase: launching needs both pools).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch: Option<crate::launch::Launches>,
    pub deployment: DeploymentFacts,
    pub solver: SolverReport,
    /// `pdplan evaluate` only: the given strategy and what was found about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation: Option<EvaluationFacts>,
    /// `solve` / `batch` when the task gives a strategy: it against the optimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_strategy: Option<crate::plan::given::GivenStrategyReport>,
    /// The manifest of the plan set, added when the plans are written (`solve`, `batch`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<crate::plan::run::RunManifest>,
}

impl PhasePlan {
    /// Every check passed.
    pub fn all_checks_pass(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The checks that failed, as `name: detail`.
    pub fn failed_checks(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect()
    }
}

/// The plan format version: always 1 (the schema's `const`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(1)
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SchemaVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "const": 1})
    }
}

/// The echo of the task: every field read, normalized, with derived sizes and warnings.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskEcho {
    pub source: String,
    pub name: Option<String>,
    pub model: ModelEcho,
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub hardware: Hardware,
    pub workload: WorkloadEcho,
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub requirements: Requirements,
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub cost_params: CostParams,
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub fields_read: Vec<FieldRead>,
    pub warnings: Vec<String>,
}

/// The model as resolved and what the plan derives from it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelEcho {
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub spec: Model,
    pub derived: DerivedSizes,
}

/// Sizes derived from the model shape (`spec::model_size`).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DerivedSizes {
    pub total_params: f64,
    pub active_params_per_token: f64,
    pub declared_params: Option<f64>,
    pub weight_scale_for_memory: f64,
    pub kv_cache_bytes_per_token: f64,
    pub weights_bytes: f64,
}

/// The workload as resolved and the lengths the plan evaluates at.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEcho {
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub spec: Workload,
    pub ttft_input_len: u64,
    pub decode_last_context: u64,
    pub decode_mean_context: u64,
    pub kv_tokens_per_sequence: u64,
    pub rate_output_len: u64,
}

/// Parallel degrees of the phase.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    pub tp: u64,
    pub pp: u64,
    pub sp: u64,
    pub attention_dp: u64,
    pub ep: u64,
    pub expert_tp: u64,
    pub replicas: u64,
    pub batch_per_instance: u64,
    pub micro_batches: u64,
    /// `replicas × attention_dp`: request-level data parallelism of the phase.
    pub request_data_parallelism: u64,
}

/// GPU counts: `W = tp·sp·attention_dp`, `pp·W` per instance, `replicas·pp·W` in total.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gpus {
    pub per_stage: u64,
    pub per_instance: u64,
    pub total: u64,
    /// The arithmetic written out with this plan's numbers.
    pub formula: String,
}

/// Where every part of the model lives, for one instance.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanMapping {
    pub stages: Vec<Stage>,
    pub attention: AttentionPlacement,
    pub experts: Experts,
    pub gpus: Vec<GpuPart>,
    /// Model parts the instance is divided into.
    pub parts: u64,
    /// Distinct GPU ids used by the instance (equals `gpus.per_instance`).
    pub distinct_gpus: u64,
    /// GPU id offset between replicas (replica r uses ids `r·offset ..`).
    pub replicas_gpu_offset: u64,
}

/// Heads, KV heads and sequences per GPU.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttentionPlacement {
    pub heads_per_gpu: u64,
    pub kv_heads_per_gpu: u64,
    pub kv_replication: u64,
    pub sequences_per_attention_dp_rank: Vec<u64>,
    pub sequence_imbalance_max_over_mean: f64,
}

/// Expert placement: MoE models list it, dense models write `{}`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Experts {
    Moe(ExpertPlacement),
    Dense {},
}

/// Routed experts per GPU and which ones, per EP rank.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertPlacement {
    pub experts_per_layer: u64,
    pub experts_per_gpu: u64,
    pub expert_tp_shards: u64,
    pub moe_layers: u64,
    pub dense_layers: u64,
    pub shared_experts: u64,
    pub by_ep_rank: Vec<EpRank>,
}

/// The experts `[first_expert, last_expert]` of one EP rank.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EpRank {
    pub ep_rank: u64,
    pub first_expert: u64,
    pub last_expert: u64,
}

/// Memory of the most loaded GPU against its capacity.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    pub capacity_bytes: f64,
    pub per_gpu: MemoryPerGpu,
    pub headroom_bytes: f64,
}

/// The most loaded GPU of the instance.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPerGpu {
    pub weights_bytes: f64,
    pub kv_cache_bytes: f64,
    pub activations_bytes: f64,
    pub reserve_bytes: f64,
    pub total_bytes: f64,
    /// Pipeline stage of the most loaded GPU.
    pub stage: u64,
}

/// Latency and throughput of the phase; figures that do not apply to it are left out.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Performance {
    /// Prefill: the sum of `ttft_breakdown` (batch reading: the instance's share of B; rate
    /// reading: at the sustained rate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Prefill: the terms of `ttft_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_breakdown: Option<TtftBreakdown>,
    /// Prefill under a request stream: the instance's busy share at the sustained rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefill_utilization: Option<f64>,
    /// Budget and rate modes: requests/s each instance of the phase serves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_per_instance_requests_per_s: Option<f64>,
    /// Prefill: the time to prefill the instance's batch at the maximum length — with a budget
    /// or a target rate the batch's prefill alone, without batch formation and queueing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_at_max_length_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpot_at_mean_context_s: Option<f64>,
    pub throughput_tokens_per_s: f64,
    pub throughput_tokens_per_s_per_gpu: f64,
    pub instance_throughput_tokens_per_s: f64,
    pub instance_request_rate_per_s: f64,
    pub phase_request_rate_per_s: f64,
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub breakdown: StepBreakdown,
}

/// One requirement: the limit, the value reached, whether it holds.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement<T> {
    pub required: T,
    pub achieved: T,
    pub met: bool,
}

/// The requirements of the task that apply to the phase.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseRequirements {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<Requirement<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<Requirement<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throughput_per_gpu_tokens_per_s: Option<Requirement<f64>>,
    pub memory_bytes: Requirement<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_sequences: Option<Requirement<u64>>,
}

/// A requirement as a reader sees it: name, the limit and the value in JSON notation, met.
#[derive(Clone, Debug, PartialEq)]
pub struct RequirementLine {
    pub name: &'static str,
    pub required: String,
    pub achieved: String,
    /// The achieved value as a number (for rounding in summaries).
    pub achieved_value: f64,
    pub met: bool,
}

/// A number as JSON writes it (`64000000000.0`, `128`).
fn json_number<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn line<T: Serialize + Copy + Into<f64>>(name: &'static str, r: &Requirement<T>) -> RequirementLine {
    RequirementLine {
        name,
        required: json_number(&r.required),
        achieved: json_number(&r.achieved),
        achieved_value: r.achieved.into(),
        met: r.met,
    }
}

impl PhaseRequirements {
    /// The requirements present, in key order (as the JSON object lists them).
    pub fn lines(&self) -> Vec<RequirementLine> {
        let mut out = Vec::new();
        if let Some(r) = &self.batch_sequences {
            out.push(RequirementLine {
                name: "batch_sequences",
                required: json_number(&r.required),
                achieved: json_number(&r.achieved),
                achieved_value: r.achieved as f64,
                met: r.met,
            });
        }
        out.push(line("memory_bytes", &self.memory_bytes));
        for (name, r) in [
            (
                "throughput_per_gpu_tokens_per_s",
                &self.throughput_per_gpu_tokens_per_s,
            ),
            ("tpot_s", &self.tpot_s),
            ("ttft_s", &self.ttft_s),
        ] {
            if let Some(r) = r {
                out.push(line(name, r));
            }
        }
        out
    }
}

/// One check that proves the plan sound.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// Deployment-level facts (both phases), echoed in each phase file.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DeploymentFacts {
    Optimized(OptimizedDeployment),
    Evaluated(EvaluatedDeployment),
}

/// An optimized deployment: mode, GPUs per phase, sustained rate, KV hand-off, the fewest-GPU
/// alternative (no-limit mode, when it differs).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizedDeployment {
    #[schemars(with = "serde_json::Value")]
    pub mode: Mode,
    pub prefill_gpus: u64,
    pub decode_gpus: u64,
    pub total_gpus: u64,
    pub sustained_request_rate_per_s: f64,
    pub kv_transfer: KvTransfer,
    /// The no-limit `per-gpu` objective's tolerance (share of the best tokens/s per GPU).
    pub tolerance: f64,
    /// The balanced prefill:decode unit of the chosen layouts and the pools' idle shares (boxed:
    /// it keeps the evaluated variant of [`DeploymentFacts`] from carrying its size).
    pub balanced: Box<BalancedFacts>,
    /// Budget and rate modes: B as a floor on the sequences the decode pool holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency_floor: Option<ConcurrencyFloor>,
    pub fewest_gpus_alternative: Option<Alternative>,
}

/// `deployment.balanced`: the unit to replicate as traffic grows (rates within 10 %), and how
/// idle each pool of the plan itself is at its sustained rate under a request stream.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BalancedFacts {
    /// Each chosen layout at its best stream-capable batch (the unit says which); `None` when a
    /// chosen layout serves no request stream at any batch (the note says which). Always
    /// written (`null` when absent).
    #[schemars(required)]
    pub unit: Option<Balanced>,
    /// Relative mismatch allowed between the pools' rates (0.1 = 10 %).
    pub match_within: f64,
    pub note: String,
    /// The plan's own instances under a request stream, each at the batch it serves the stream
    /// with (budget and rate modes: the plan's batches; no limit: the unit's batches); absent
    /// when a pool serves no stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_prefill_batch: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_decode_batch: Option<u64>,
    /// Requests/s those pools sustain together (the smaller pool's capacity), and the share of
    /// each pool's capacity left idle at that rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_request_rate_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_prefill_idle_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_decode_idle_share: Option<f64>,
}

/// `deployment.concurrency_floor`: the task's B against what the decode pool holds.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcurrencyFloor {
    pub floor_sequences: u64,
    pub held_sequences: u64,
    pub concurrency_per_instance: u64,
    pub decode_instances: u64,
    /// Decode instances of the chosen layout the sustained rate alone needs.
    pub decode_instances_for_rate: u64,
    /// Fewest decode GPUs serving the sustained rate, over every decode candidate the optimizer
    /// had, the floor aside.
    pub decode_gpus_for_rate: u64,
    /// The floor, not the rate, sets the decode pool: a pool with fewer GPUs serves the rate but
    /// holds fewer than B sequences.
    pub binds: bool,
}

/// The KV-cache hand-off from prefill to decode.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvTransfer {
    pub bytes_per_request: f64,
    pub seconds_per_request: f64,
    pub needed_bytes_per_s: f64,
    pub prefill_nic_bytes_per_s: f64,
    pub nic_utilization: f64,
}

/// The fewest-GPU plan of the no-limit mode.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    pub prefill: AlternativePhase,
    pub decode: AlternativePhase,
    pub total_gpus: u64,
}

/// One phase of the fewest-GPU alternative.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlternativePhase {
    pub layout: String,
    pub batch_per_instance: u64,
    pub replicas: u64,
    pub gpus: u64,
    pub tokens_per_s_per_gpu: f64,
}

/// `mode` of an evaluated strategy: always `"evaluate"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluateMode {
    Evaluate,
}

/// A given strategy evaluated without search (`pdplan evaluate`).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluatedDeployment {
    pub mode: EvaluateMode,
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub given_strategy: GivenStrategy,
    pub reading: String,
    pub changes_from_given: Vec<String>,
}

/// pdplan's optimum for one phase, to compare a given strategy with.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Optimum {
    pub layout: String,
    pub gpus: u64,
    pub tokens_per_s_per_gpu: f64,
}

/// The `evaluation` object of a plan written by `pdplan evaluate`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationFacts {
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub given_strategy: GivenStrategy,
    pub findings: Vec<String>,
    pub consistent_as_written: bool,
    pub reading: String,
    pub changes_from_given: Vec<String>,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    pub meets_every_requirement: bool,
    pub optimum: Option<Optimum>,
    pub fraction_of_optimum_throughput_per_gpu: Option<f64>,
    pub exit_code: i32,
}
