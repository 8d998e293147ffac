//! pdplan: plans prefill/decode-disaggregated LLM inference deployments.
pub mod error;
pub mod hf_config;
pub mod load;
pub mod markdown;
pub mod presets;
pub mod resolve;
pub mod task;
