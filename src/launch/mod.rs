//! Stage 7 — launch: the chosen deployment as the argv each engine runs (issue 13; DESIGN.md §7).
//!
//! For every engine pdplan knows ([`ENGINES`]) a plan carries `launch.<engine>`: whether the
//! engine runs this prefill / decode pair disaggregated (the first rule of
//! [`crate::layout::capability::RULES`] that excludes it otherwise), and per role (`prefill`,
//! `decode`, `router`) the argv — an array, never a shell string — with replicas, GPUs and nodes
//! per replica and the environment it needs. The model is what engines load (`model.path`: a
//! Hugging Face repo id or folder), never a display name; when the task gives none it is the
//! placeholder `${MODEL_PATH}`.
//!
//! Arguments are typed ([`Arg`]): literal text, or a placeholder pdplan itself inserts
//! ([`Var`]: node rank, head-node address, worker addresses). [`shell`] quotes literals so that no
//! text from the task (a model name with `;`, `$(...)`, quotes) is ever run; only placeholders
//! expand. [`deploy`] renders the deployment files (`launch.sh`, Dynamo and TensorRT-LLM YAML).

pub mod deploy;
mod sglang;
pub mod shell;
mod trtllm;
mod vllm;

use crate::ilp::{Deployment, PhaseChoice};
use crate::layout::capability::{self, Context, Rule};
use crate::layout::{Layout, Phase};
use crate::spec::task::Engine;
use crate::spec::task::{Dtype, Task};
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// The engines pdplan writes launch commands for, in the order plans list them.
pub const ENGINES: [Engine; 3] = [Engine::Vllm, Engine::Sglang, Engine::Trtllm];

/// HTTP port of prefill workers, decode workers and the router (frontend).
pub const PREFILL_PORT: u16 = 8100;
pub const DECODE_PORT: u16 = 8200;
pub const ROUTER_PORT: u16 = 8000;

/// A placeholder the operator fills in when starting a worker (documented in `launch.sh`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Var {
    /// Rank of this node inside a multi-node instance (0 = head node).
    NodeRank,
    /// Address of the head node (node rank 0) of this instance.
    HeadAddr,
    /// What to load, when the task names no model path or repo.
    ModelPath,
    /// Address of prefill replica `i` (for the router).
    PrefillAddr(u64),
    /// Address of decode replica `i` (for the router).
    DecodeAddr(u64),
}

impl Var {
    pub fn name(self) -> String {
        match self {
            Var::NodeRank => "NODE_RANK".into(),
            Var::HeadAddr => "HEAD_ADDR".into(),
            Var::ModelPath => "MODEL_PATH".into(),
            Var::PrefillAddr(i) => format!("PREFILL_ADDR_{i}"),
            Var::DecodeAddr(i) => format!("DECODE_ADDR_{i}"),
        }
    }
}

/// One part of an argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    Var(Var),
}

/// One argv element: literal text and placeholders. Serialized as one string, placeholders
/// written `${NAME}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg(Vec<Part>);

impl Arg {
    pub fn lit(s: impl Into<String>) -> Arg {
        Arg(vec![Part::Lit(s.into())])
    }
    pub fn var(v: Var) -> Arg {
        Arg(vec![Part::Var(v)])
    }
    /// `prefix` + placeholder + `suffix` (e.g. `http://${PREFILL_ADDR_0}:8100`).
    pub fn around(prefix: &str, v: Var, suffix: &str) -> Arg {
        Arg(vec![
            Part::Lit(prefix.into()),
            Part::Var(v),
            Part::Lit(suffix.into()),
        ])
    }
    pub fn parts(&self) -> &[Part] {
        &self.0
    }
    /// The argument as the plan shows it (`${NAME}` for placeholders).
    pub fn text(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Lit(s) => s.clone(),
                Part::Var(v) => format!("${{{}}}", v.name()),
            })
            .collect()
    }
}

impl Serialize for Arg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl JsonSchema for Arg {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Arg".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string"})
    }
}

/// A worker role of a disaggregated deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Prefill,
    Decode,
    Router,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Prefill => "prefill",
            Role::Decode => "decode",
            Role::Router => "router",
        }
    }
}

/// One role: what to run, how many copies, on how many GPUs and nodes each.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Worker {
    pub role: Role,
    pub argv: Vec<Arg>,
    pub replicas: u64,
    pub gpus_per_replica: u64,
    pub nodes_per_replica: u64,
    pub env: BTreeMap<String, String>,
    /// TensorRT-LLM: the LLM-API options file (`--extra_llm_api_options`) this worker reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_api: Option<trtllm::LlmApi>,
    /// How to start it when that is more than the argv (multi-node launchers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Arguments added on the nodes of a multi-node replica other than its head (`NODE_RANK` >
    /// 0): vLLM's `--headless` (its worker nodes start no API server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_node_args: Vec<String>,
    /// Replicas smaller than a node share it ([`Slots`]); `None` when each replica has its own
    /// node(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<Slots>,
}

/// How replicas smaller than a node share it: `replicas_per_node` replicas per node, replica `i`
/// in slot `i mod replicas_per_node` of its node (`SLOT` in `launch.sh`). Slot `s` runs on GPUs
/// `s × gpus … s × gpus + gpus − 1` (`CUDA_VISIBLE_DEVICES`), each port flag at its base + `s`
/// (the router addresses replica `i` there) and each port variable at its base + `s × gpus`
/// (per-rank port ranges, e.g. vLLM's NIXL side channel at base + DP rank).
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slots {
    pub replicas_per_node: u64,
    pub gpus: u64,
    /// `(flag, port of slot 0)`: the flag is given again with the slot's port.
    pub port_flags: Vec<(String, u16)>,
    /// `(environment variable, value of slot 0)`.
    pub port_env: Vec<(String, u32)>,
}

/// `launch.<engine>` of a plan.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineLaunch {
    pub supported: bool,
    /// Engine version the flags and rules were read from.
    pub version: &'static str,
    /// Why not, when unsupported: the rule, what it says, its source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    pub workers: Vec<Worker>,
    /// TensorRT-LLM: the `trtllm-serve disaggregated -c` config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disaggregated_config: Option<trtllm::DisaggConfig>,
}

/// `launch` of a plan: one entry per engine.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Launches {
    pub vllm: EngineLaunch,
    pub sglang: EngineLaunch,
    pub trtllm: EngineLaunch,
}

impl Launches {
    pub fn get(&self, engine: Engine) -> Option<&EngineLaunch> {
        match engine {
            Engine::Vllm => Some(&self.vllm),
            Engine::Sglang => Some(&self.sglang),
            Engine::Trtllm => Some(&self.trtllm),
            Engine::Any | Engine::Unrestricted => None,
        }
    }
}

/// What every engine's workers share, read from the task.
pub struct Common {
    /// What engines load.
    pub model: Arg,
    /// Longest sequence (prompt + output) a worker must accept: the workload's maximum length.
    pub max_model_len: u64,
    pub fp8_kv: bool,
    pub fp8_weights: bool,
    /// GPU memory the engine may use: 1 − the plan's runtime reserve.
    pub memory_fraction: f64,
    /// DeepSeek-style MLA checkpoints ship their modeling code (`auto_map` in config.json).
    pub trust_remote_code: bool,
    pub gpus_per_node: u64,
    pub moe: bool,
    /// What the engines' capability rules read of the task.
    pub context: Context,
    /// Draft tokens per decode step when the plan costs speculative decoding (the model's
    /// MTP / next-n layers: `cost.draft_tokens`).
    pub draft_tokens: Option<u64>,
}

impl Common {
    pub fn of(task: &Task) -> Common {
        let m = &task.model;
        Common {
            model: m.path.clone().map_or(Arg::var(Var::ModelPath), Arg::lit),
            max_model_len: task.workload.max_len,
            fp8_kv: m.kv_cache_dtype == Dtype::Fp8,
            fp8_weights: m.dtype == Dtype::Fp8,
            memory_fraction: ((1.0 - task.cost.reserve_fraction) * 100.0).floor() / 100.0,
            trust_remote_code: m.mla.is_some(),
            gpus_per_node: task.hardware.gpus_per_node,
            moe: m.moe.is_some(),
            context: Context::of(task),
            draft_tokens: task.cost.speculative().map(|s| s.draft_tokens),
        }
    }
    fn context(&self) -> Context {
        self.context
    }
}

/// One phase of the deployment as the builders read it.
pub struct PhaseShape {
    pub phase: Phase,
    pub layout: Layout,
    pub replicas: u64,
    /// Sequences one instance holds.
    pub batch: u64,
    /// The plan's activations on the most loaded GPU over its capacity (0 when unknown).
    pub activation_share: f64,
    /// The MoE all-to-all overlap the plan was costed with (`performance.breakdown`): the
    /// launch sets the engine's flag for it.
    pub overlap: crate::cost::overlap::Schedule,
}

impl PhaseShape {
    pub fn of(phase: Phase, c: &PhaseChoice) -> PhaseShape {
        let m = &c.candidate.figures.memory;
        PhaseShape {
            overlap: crate::cost::overlap::Schedule::of(&c.candidate.figures.breakdown),
            phase,
            layout: c.candidate.layout,
            replicas: c.instances,
            batch: c.candidate.batch,
            activation_share: if m.capacity_bytes > 0.0 {
                m.activations_bytes / m.capacity_bytes
            } else {
                0.0
            },
        }
    }
    /// SGLang's `--mem-fraction-static`: the share of GPU memory for weights and the KV-cache
    /// pool; the rest holds activations, CUDA graphs and communication buffers (sglang 0.5.23
    /// arg_groups/memory_hook.py). The plan's weights + KV fit in 1 − reserve − its activations,
    /// rounded down to 0.001 (within 0.1 % of memory of the plan's weights + KV when it fills the
    /// GPU).
    pub fn static_memory_fraction(&self, c: &Common) -> f64 {
        ((c.memory_fraction - self.activation_share) * 1000.0).floor() / 1000.0
    }
    pub fn gpus(&self) -> u64 {
        self.layout.gpus_per_instance()
    }
    /// Nodes one instance spans (1 when it fits in a node).
    pub fn nodes(&self, gpus_per_node: u64) -> u64 {
        self.gpus().div_ceil(gpus_per_node.max(1))
    }
    fn port(&self) -> u16 {
        match self.phase {
            Phase::Prefill => PREFILL_PORT,
            Phase::Decode => DECODE_PORT,
        }
    }
    /// Replicas that share one node: as many as fit when a replica is smaller than a node (at
    /// most the replicas there are), else 1.
    pub fn replicas_per_node(&self, gpus_per_node: u64) -> u64 {
        let g = self.gpus().max(1);
        if g >= gpus_per_node {
            1
        } else {
            (gpus_per_node / g).min(self.replicas).max(1)
        }
    }
    /// Port of replica `i` for a flag whose slot-0 port is `base` ([`Slots`]).
    fn replica_port(&self, base: u16, i: u64, gpus_per_node: u64) -> u64 {
        u64::from(base) + i % self.replicas_per_node(gpus_per_node)
    }
}

/// The first rule of `engine` that excludes this prefill / decode pair.
pub fn excluded_by(engine: Engine, c: &Common, p: &PhaseShape, d: &PhaseShape) -> Option<&'static Rule> {
    capability::excluded_by(engine, Phase::Prefill, &p.layout, c.context())
        .or_else(|| capability::excluded_by(engine, Phase::Decode, &d.layout, c.context()))
        .or_else(|| capability::pair_excluded_by(engine, &p.layout, &d.layout, c.moe))
}

fn version(engine: Engine) -> &'static str {
    capability::VERSIONS
        .iter()
        .find(|(e, _)| *e == engine)
        .map_or("", |(_, v)| v)
}

/// `launch.<engine>` for one engine.
pub fn for_engine(engine: Engine, c: &Common, p: &PhaseShape, d: &PhaseShape) -> EngineLaunch {
    if let Some(rule) = excluded_by(engine, c, p, d) {
        return EngineLaunch {
            supported: false,
            version: version(engine),
            reason: Some(format!("{} (source: {})", rule.says, rule.source)),
            rule: Some(rule.id),
            workers: Vec::new(),
            disaggregated_config: None,
        };
    }
    let (workers, disaggregated_config) = match engine {
        Engine::Vllm => (vllm::workers(c, p, d), None),
        Engine::Sglang => (sglang::workers(c, p, d), None),
        Engine::Trtllm | Engine::Any | Engine::Unrestricted => trtllm::workers(c, p, d),
    };
    EngineLaunch {
        supported: true,
        version: version(engine),
        reason: None,
        rule: None,
        workers,
        disaggregated_config,
    }
}

/// `launch` of a plan: every engine.
pub fn launches(task: &Task, d: &Deployment) -> Launches {
    let c = Common::of(task);
    let p = PhaseShape::of(Phase::Prefill, &d.prefill);
    let dc = PhaseShape::of(Phase::Decode, &d.decode);
    Launches {
        vllm: for_engine(Engine::Vllm, &c, &p, &dc),
        sglang: for_engine(Engine::Sglang, &c, &p, &dc),
        trtllm: for_engine(Engine::Trtllm, &c, &p, &dc),
    }
}

/// A worker of a phase with no environment and no notes.
fn phase_worker(c: &Common, s: &PhaseShape, argv: Vec<Arg>) -> Worker {
    let k = s.replicas_per_node(c.gpus_per_node);
    Worker {
        slots: (k > 1).then(|| Slots {
            replicas_per_node: k,
            gpus: s.gpus(),
            port_flags: vec![("--port".into(), s.port())],
            port_env: Vec::new(),
        }),
        role: match s.phase {
            Phase::Prefill => Role::Prefill,
            Phase::Decode => Role::Decode,
        },
        argv,
        replicas: s.replicas,
        gpus_per_replica: s.gpus(),
        nodes_per_replica: s.nodes(c.gpus_per_node),
        env: BTreeMap::new(),
        llm_api: None,
        notes: Vec::new(),
        worker_node_args: Vec::new(),
    }
}

/// The router / frontend: no GPU, one replica.
fn router(argv: Vec<Arg>) -> Worker {
    Worker {
        role: Role::Router,
        argv,
        replicas: 1,
        gpus_per_replica: 0,
        nodes_per_replica: 1,
        env: BTreeMap::new(),
        llm_api: None,
        notes: Vec::new(),
        worker_node_args: Vec::new(),
        slots: None,
    }
}

/// Literal arguments from string slices.
fn lits(args: &[&str]) -> Vec<Arg> {
    args.iter().map(|a| Arg::lit(*a)).collect()
}

/// `flag value` as two literal arguments.
fn flag(out: &mut Vec<Arg>, name: &str, value: impl ToString) {
    out.push(Arg::lit(name));
    out.push(Arg::lit(value.to_string()));
}

/// Worker URL placeholders of one phase, `http://${PREFILL_ADDR_i}:port`.
fn worker_urls(s: &PhaseShape, gpus_per_node: u64) -> Vec<Arg> {
    (0..s.replicas)
        .map(|i| {
            let v = match s.phase {
                Phase::Prefill => Var::PrefillAddr(i),
                Phase::Decode => Var::DecodeAddr(i),
            };
            Arg::around(
                "http://",
                v,
                &format!(":{}", s.replica_port(s.port(), i, gpus_per_node)),
            )
        })
        .collect()
}
