//! Stage 1 — reading task files: the file-form task types, the Markdown and JSON readers, units,
//! Hugging Face `config.json`. Imports nothing of the later stages.

pub mod fields;
pub mod hf_config;
pub mod load;
pub mod markdown;
pub mod read;
pub mod task;
pub mod units;
