//! The grouped MoE GEMM of a model's own expert shape on a layout the tables measure.
//!
//! The engines' MoE tables (aiconfigurator-core 0.12, `moe/<engine>/<version>/moe_perf.parquet`)
//! time the grouped GEMM for the expert shapes of the published MoE models — hidden size, expert
//! intermediate size, experts, top-k — on each `moe_tp` × `moe_ep` layout they can run (Qwen3-30B-A3B
//! and -235B, DeepSeek-V3, Kimi-K2, Mixtral, gpt-oss, GLM, MiniMax, ...; ~480 shapes × layouts
//! per dtype on H200 / TensorRT-LLM 1.3). `scripts/derive_kernel_params.py` (`moe_by_shape`) keeps
//! each one's efficiencies at every token count measured, in `models/kernels/<gpu>.<engine>.moe.json`,
//! with the same quantities as the class curves (token copies per local expert; fractions of
//! peak and of HBM bandwidth of the bytes pdplan counts), so a layout of a measured shape is
//! costed on its own measurements and every other on the size-class curves
//! ([`super::kernels::Kernels::for_expert_slice`]). The class curve is a median over shapes:
//! for Qwen3-30B-A3B's 128 experts of 2048 × 768 it made the grouped GEMM 20-50 % slower than
//! the shape's own rows.
//!
//! The file is read only by MoE tasks, each dtype's table on first use and each shape's curve
//! when a layout asks for it.

use super::lazy_json::{Lazy, Prepare};
use super::profile::Curve;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One engine's per-shape tables, by dtype (`bf16`; `fp8`: the FP8 MoE the class curves use,
/// block-scaled where the engine measures it).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct MoeShapes {
    #[serde(default)]
    pub bf16: Lazy<ShapeTable>,
    #[serde(default)]
    pub fp8: Lazy<ShapeTable>,
}

impl Prepare for MoeShapes {}

/// The measured shapes of one dtype.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(bound(deserialize = "'de: 'static"))]
pub struct ShapeTable {
    /// The table (file, dtype, routing) the curves come from.
    pub source: String,
    /// Curves by [`key`].
    pub shapes: BTreeMap<String, Lazy<Curve>>,
}

impl Prepare for ShapeTable {}

impl ShapeTable {
    /// The curve of `shape` on `expert_tp` × `ep`, when measured.
    pub fn curve(&self, shape: &ExpertShape, expert_tp: u64, ep: u64) -> Option<&Curve> {
        let c = self.shapes.get(&key(shape, expert_tp, ep))?.get()?;
        (c.x.len() >= 2).then_some(c)
    }
}

/// A model's routed-expert shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpertShape {
    pub hidden: u64,
    pub inter: u64,
    pub experts: u64,
    pub top_k: u64,
}

/// `"<hidden>x<inter>/e<experts>/k<top_k>/tp<expert_tp>/ep<ep>"`, as the derivation writes it.
pub fn key(s: &ExpertShape, expert_tp: u64, ep: u64) -> String {
    format!(
        "{}x{}/e{}/k{}/tp{expert_tp}/ep{ep}",
        s.hidden, s.inter, s.experts, s.top_k
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measured_shape_is_found_by_its_layout_and_nothing_else() {
        let text: &'static str = r#"{"fp8": {"source": "t", "shapes": {
            "2048x768/e128/k8/tp1/ep2": {"x": [1, 2, 4], "c": [0.1, 0.2, 0.3], "m": [0.8, 0.7, 0.6], "launch_s": 1e-5}
        }}}"#;
        let m: MoeShapes = serde_json::from_str(text).unwrap();
        let t = m.fp8.get().expect("fp8 table");
        let s = ExpertShape {
            hidden: 2048,
            inter: 768,
            experts: 128,
            top_k: 8,
        };
        let c = t.curve(&s, 1, 2).expect("measured");
        assert_eq!(c.compute, vec![0.1, 0.2, 0.3]);
        assert_eq!(c.memory, vec![0.8, 0.7, 0.6]);
        assert_eq!(c.launch_s, 1e-5);
        assert!(t.curve(&s, 2, 1).is_none());
        assert!(t.curve(&ExpertShape { top_k: 4, ..s }, 1, 2).is_none());
        assert!(m.bf16.get().is_none());
    }
}
