//! The `given_strategy` block of a plan (issue 14 item 3): the strategy the task gives, evaluated
//! for the plan's phase and set against the optimum. Filled by [`crate::analysis::given`]
//! (`solve` and `batch`), absent when the task gives no strategy.

use crate::spec::task::GivenStrategy;
use schemars::JsonSchema;
use serde::Serialize;

/// The given strategy, for one phase.
#[derive(Clone, Debug, Serialize, PartialEq, JsonSchema)]
pub struct GivenStrategyReport {
    /// The degrees as read from the task.
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub as_read: GivenStrategy,
    /// The GPU count the strategy section states (`GPUs`), if it states one.
    pub gpus_stated: Option<u64>,
    /// The strategy as written is a valid layout (DESIGN.md §2) with the stated GPU count.
    pub valid_as_written: bool,
    /// Why it is not, in words (empty when valid).
    pub why_not: Vec<String>,
    /// The nearest valid reading (fewest changed degrees) evaluated for this phase.
    pub reading: Option<String>,
    /// The stated degrees that reading changes.
    pub changes_from_given: Vec<String>,
    /// GPUs of the reading (instances × GPUs per instance).
    pub gpus: Option<u64>,
    /// Tokens/s per GPU of the reading (prefill input, decode output).
    pub tokens_per_s_per_gpu: Option<f64>,
    pub meets_every_requirement: Option<bool>,
    /// Requirements it misses, memory it lacks.
    pub problems: Vec<String>,
    /// Its tokens/s per GPU over the optimum's, for this phase.
    pub share_of_optimum: Option<f64>,
}
