//! pdplan plans LLM inference deployments with prefill and decode on separate GPU pools.
//!
//! Task in, plan out:
//!
//! ```
//! use pdplan::{read_task, solve};
//! let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tasks/qwen3-235b-moe.md"));
//! let task = read_task(path).expect("a readable task");
//! let solution = solve(&task, None).expect("a feasible task");
//! let prefill = &solution.plans[0];
//! assert_eq!(prefill.phase, pdplan::layout::Phase::Prefill);
//! assert!(prefill.performance.ttft_s.is_some_and(|t| t <= 30.0));
//! ```
//!
//! The folder tree is the data flow (ARCHITECTURE.md; `tests/architecture.rs` forbids imports
//! from a later stage): [`input`] (task files) → [`spec`] (resolved task, presets, goal) →
//! [`layout`] (parallel degrees, mapping) → [`cost`] (memory, latency) → [`candidates`] → [`ilp`]
//! (formulation, solve, verify) → [`plan`] → [`analysis`] (evaluate, baselines, compare) →
//! [`report`] → [`app`] (commands, batch, output). [`error`] is common to all.

pub mod analysis;
pub mod app;
pub mod candidates;
pub mod cost;
pub mod error;
pub mod ilp;
pub mod input;
pub mod layout;
pub mod params;
pub mod plan;
pub mod report;
pub mod spec;

pub use app::pipeline::{Solution, read_task, solve, solve_with, write_solution};
