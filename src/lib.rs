//! pdplan: plans prefill/decode-disaggregated LLM inference deployments.
pub mod error;
pub mod load;
pub mod markdown;
pub mod presets;
pub mod resolve;
pub mod task;
pub mod units;
