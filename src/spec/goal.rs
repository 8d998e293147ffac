//! The goal the planner works to (DESIGN.md §3.2): the mode a task implies and the objective.

use crate::spec::task::Task;
use serde::Serialize;

/// Which limit the deployment works under (DESIGN.md §3), from the task or the command line.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each phase holds the batch B; default objective: max tokens/s per GPU, then fewest GPUs.
    NoLimit,
    /// At most `gpus` GPUs; default objective: max sustained request rate, then fewest GPUs.
    Budget { gpus: u64 },
    /// Sustain `rate` requests/s; default objective: fewest GPUs, then max tokens/s per GPU.
    Rate { rate: f64 },
}

impl Mode {
    pub fn of(task: &Task) -> Mode {
        match (task.requirements.request_rate_per_s, task.hardware.gpu_budget) {
            (Some(rate), _) => Mode::Rate { rate },
            (None, Some(gpus)) => Mode::Budget { gpus },
            (None, None) => Mode::NoLimit,
        }
    }
}

/// What the deployment optimizes: a lexicographic pair of criteria, solved as two ILPs (the
/// primary optimum is then held as a floor while the secondary criterion is optimized).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Max Σ over the two phases of tokens/s per GPU (prefill input tokens/s per prefill GPU +
    /// decode output tokens/s per decode GPU), then fewest GPUs.
    PerGpu,
    /// Fewest GPUs meeting every requirement (hold B; sustain the rate in the rate mode), then
    /// max Σ tokens/s per GPU.
    MinGpus,
    /// Max sustained request rate of the whole deployment (requests/s, the smaller of the two
    /// phases' capacities), then fewest GPUs. Not in the rate mode (the rate is given).
    Total,
}

impl Objective {
    /// The objective a mode uses when none is given (DESIGN.md §3).
    pub fn default_for(mode: Mode) -> Objective {
        match mode {
            Mode::NoLimit => Objective::PerGpu,
            Mode::Budget { .. } => Objective::Total,
            Mode::Rate { .. } => Objective::MinGpus,
        }
    }
    /// `(primary, secondary)` criteria.
    pub fn criteria(self) -> (Criterion, Criterion) {
        match self {
            Objective::PerGpu => (Criterion::TokensPerGpu, Criterion::Gpus),
            Objective::MinGpus => (Criterion::Gpus, Criterion::TokensPerGpu),
            Objective::Total => (Criterion::Rate, Criterion::Gpus),
        }
    }
    /// Whether the objective is defined in a mode; `Err` says why not.
    pub fn check(self, mode: Mode) -> Result<(), String> {
        match (self, mode) {
            (Objective::Total, Mode::Rate { rate }) => Err(format!(
                "--objective total maximizes the request rate, but the rate mode fixes it at {rate} requests/s; \
                 use min-gpus or per-gpu, or give a GPU budget (--gpus) without a target rate"
            )),
            (Objective::Total, Mode::NoLimit) => Err(
                "--objective total maximizes the request rate, which grows without bound when GPUs are unlimited; \
                 give a GPU budget (--gpus N or `GPUs: N` in the task) or a target rate (--rate R or \
                 `Target request rate: R requests/s`), or use per-gpu / min-gpus"
                    .to_string(),
            ),
            _ => Ok(()),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Objective::PerGpu => "per-gpu",
            Objective::MinGpus => "min-gpus",
            Objective::Total => "total",
        }
    }
}

/// One criterion of an objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Σ over phases of tokens/s per GPU, thousands (maximized).
    TokensPerGpu,
    /// Total GPUs (minimized).
    Gpus,
    /// Sustained request rate, requests/s (maximized).
    Rate,
}

impl Criterion {
    /// Whether the criterion is minimized (else maximized).
    pub fn minimized(self) -> bool {
        self == Criterion::Gpus
    }
    pub fn words(self) -> &'static str {
        match self {
            Criterion::TokensPerGpu => "max Σ phase tokens/s per GPU (thousands)",
            Criterion::Gpus => "min total GPUs",
            Criterion::Rate => "max sustained request rate (requests/s)",
        }
    }
}

/// How a phase's tokens/s per GPU is counted in a mode (DESIGN.md §3): without a GPU limit the
/// instances share the task's batch B (the last instance may run partly empty); with a budget or
/// a target rate every instance runs at its capacity under the request stream. The one place
/// this choice is made (candidates, formulation, plan, baselines and oracle read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// Instances share the task's batch B (no-limit mode and `evaluate`).
    SharedBatch,
    /// Every instance runs at its capacity (budget and rate modes).
    FullInstances,
}

impl Counting {
    pub fn of(mode: Mode) -> Counting {
        match mode {
            Mode::NoLimit => Counting::SharedBatch,
            _ => Counting::FullInstances,
        }
    }

    /// The figure this counting reads: `shared` (tokens/s per GPU with the instances sharing B)
    /// or `full` (each instance at its capacity).
    pub fn tokens_per_gpu(self, shared: f64, full: f64) -> f64 {
        match self {
            Counting::SharedBatch => shared,
            Counting::FullInstances => full,
        }
    }
}
