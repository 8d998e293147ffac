//! Stage 9 — writers of human-readable reports over typed results (pure functions).

pub mod json;
pub mod summary;
