//! Stage 9 — writers over typed results (pure functions: data in, text out): the JSON writer,
//! the human summary of a solve, the batch summary (CSV, Markdown), the comparison with the
//! baselines, the evaluation of a given strategy; Markdown table rows.

pub mod batch;
pub mod compare;
pub mod evaluate;
pub mod json;
pub mod markdown;
pub mod summary;
