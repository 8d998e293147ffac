//! The serving engines pdplan writes launch commands for, and the task's engine restriction
//! (`--engine vllm|sglang|trtllm|any`, task line `Engine:`). What each engine can run in
//! disaggregated mode is data: `models/engines.json`, read by [`crate::layout::capability`].

use serde::{Deserialize, Serialize};
use std::fmt;

/// A serving engine with a disaggregated prefill/decode mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// vLLM (`vllm serve`, NIXL KV connector).
    Vllm,
    /// SGLang (`python -m sglang.launch_server --disaggregation-mode`).
    Sglang,
    /// TensorRT-LLM (`trtllm-serve`, `trtllm-serve disaggregated`).
    Trtllm,
}

impl Engine {
    /// Every engine, in the order plans list them.
    pub const ALL: [Engine; 3] = [Engine::Vllm, Engine::Sglang, Engine::Trtllm];

    /// The name used on the command line, in task files and as the plan key.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Vllm => "vllm",
            Engine::Sglang => "sglang",
            Engine::Trtllm => "trtllm",
        }
    }

    /// Parse an engine restriction: an engine name (case-insensitive; `tensorrt-llm`,
    /// `tensorrt_llm`, `trt-llm` mean `trtllm`) or `any` (no restriction, `Ok(None)`).
    /// The error lists the valid values.
    pub fn parse_restriction(text: &str) -> Result<Option<Engine>, String> {
        let t: String = text
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' ' | '`'))
            .collect();
        match t.as_str() {
            "any" | "all" => Ok(None),
            "vllm" => Ok(Some(Engine::Vllm)),
            "sglang" => Ok(Some(Engine::Sglang)),
            "trtllm" | "tensorrtllm" => Ok(Some(Engine::Trtllm)),
            _ => Err(format!(
                "unknown engine `{}`: expected vllm, sglang, trtllm or any",
                text.trim()
            )),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_names() {
        assert_eq!(
            Engine::parse_restriction("TensorRT-LLM"),
            Ok(Some(Engine::Trtllm))
        );
        assert_eq!(Engine::parse_restriction(" any "), Ok(None));
        assert_eq!(Engine::parse_restriction("SGLang"), Ok(Some(Engine::Sglang)));
        assert!(
            Engine::parse_restriction("ollama")
                .unwrap_err()
                .contains("vllm, sglang")
        );
    }
}
