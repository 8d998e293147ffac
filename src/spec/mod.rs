//! Stage 2 — the resolved specification: complete task types, presets, defaults and consistency
//! checks (resolve), model size arithmetic, and the goal (mode, objective) the planner works to.

pub mod goal;
pub mod model_size;
pub mod presets;
pub mod resolve;
pub mod task;
