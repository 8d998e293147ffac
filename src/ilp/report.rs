//! What the solver reports in a plan's `solver` object: status, oracle check, search space.

use crate::layout::Limits;
use crate::params;
use schemars::JsonSchema;
use serde::{Serialize, Serializer};
use std::fmt;

/// How the solves of an optimization ended (written as text: `optimal`, `time limit (gap g)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SolverStatus {
    /// Every solve proven optimal.
    Optimal,
    /// A solve stopped at the time limit with a feasible point; `gap` is its relative gap.
    TimeLimit { gap: f64 },
    /// A given strategy evaluated, not optimized (`pdplan evaluate`).
    Evaluated,
}

impl fmt::Display for SolverStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SolverStatus::Optimal => f.write_str("optimal"),
            SolverStatus::TimeLimit { gap } => write!(f, "time limit (gap {gap:.3e})"),
            SolverStatus::Evaluated => f.write_str("evaluated"),
        }
    }
}

impl Serialize for SolverStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The comparison of the ILP optimum with exhaustive enumeration over the same candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OracleCheck {
    /// Both optima equal; `combinations` were enumerated.
    Equal { combinations: u64 },
    /// Not run: a solve stopped at the time limit.
    SkippedTimeLimit,
    /// Not run: the enumeration would walk more than `max` combinations.
    SkippedLarge { combinations: u64, max: u64 },
    /// A given strategy is evaluated, not optimized.
    NotApplicable,
}

impl fmt::Display for OracleCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OracleCheck::Equal { combinations } => {
                write!(f, "equal ({combinations} combinations enumerated)")
            }
            OracleCheck::SkippedTimeLimit => {
                f.write_str("skipped (a solve stopped at the time limit; see status and gap)")
            }
            OracleCheck::SkippedLarge { combinations, max } => {
                write!(f, "skipped ({combinations} combinations > {max})")
            }
            OracleCheck::NotApplicable => {
                f.write_str("not applicable: a given strategy is evaluated, not optimized")
            }
        }
    }
}

impl Serialize for OracleCheck {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The search caps the optimum was proven within: the ILP is exact over the candidates these
/// bounds enumerate, not over every conceivable layout.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchSpace {
    /// Largest stage width `W = tp·sp·attention_dp` enumerated.
    pub max_stage_width: u64,
    /// Largest pipeline depth enumerated.
    pub max_pp: u64,
    /// Largest GPU count of one instance (`pp·W`).
    pub max_gpus_per_instance: u64,
    /// Per-instance batches: `ceil(B/n)` for every instance count n up to this one ...
    pub batch_every_instance_count_up_to: u64,
    /// ... then n grows geometrically by this factor.
    pub batch_instance_count_growth: f64,
    /// The rest of the enumeration rules, in words.
    pub rules: String,
}

impl SearchSpace {
    /// The caps of an enumeration under `limits` (see `layout::enumerate` and
    /// `candidates::batch_options` for the rules stated in `rules`).
    pub fn of(limits: &Limits) -> SearchSpace {
        SearchSpace {
            max_stage_width: limits.max_width,
            max_pp: limits.max_pp,
            max_gpus_per_instance: limits.max_instance_gpus,
            batch_every_instance_count_up_to: params::BATCH_LINEAR_INSTANCES,
            batch_instance_count_growth: params::BATCH_INSTANCE_GROWTH,
            rules: "tp divides the query heads (and divides or is a multiple of the KV heads); sp a power of two up to 16, prefill only; pp 1..=8 then powers of two, at most the layers; MoE: ep divides the experts, expert-TP a power of two dividing the expert size, ep×expert-TP = W; dense: attention-DP a power of two".into(),
        }
    }
}
