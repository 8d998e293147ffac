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
//! The file holds one entry per line (`"<dtype> <key>": {curve}`), sorted: a MoE task scans
//! its lines once for its own model's shape and parses only those (a few dozen layouts), so
//! neither a dense task nor the ~600 kB of other models' shapes cost a solve anything.

use super::profile::Curve;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// A model's routed-expert shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExpertShape {
    pub hidden: u64,
    pub inter: u64,
    pub experts: u64,
    pub top_k: u64,
}

/// The measured layouts of one model's expert shape in one file and dtype.
#[derive(Debug, Default)]
pub struct ModelShapes {
    /// The table (file, dtype, routing) the curves come from.
    pub source: String,
    /// `((expert_tp, ep), curve)`.
    pub layouts: Vec<((u64, u64), Curve)>,
}

impl ModelShapes {
    /// The curve of the layout `expert_tp` × `ep`, when measured.
    pub fn curve(&self, expert_tp: u64, ep: u64) -> Option<&Curve> {
        let found = self.layouts.iter().find(|(l, _)| *l == (expert_tp, ep));
        found.map(|(_, c)| c).filter(|c| c.x.len() >= 2)
    }

    /// The entries of `shape` in `dtype` (`bf16`, `fp8`) of a per-shape file's text: every line
    /// `"<dtype> <hidden>x<inter>/e<experts>/k<top_k>/tp<t>/ep<e>": {curve}`. Lines that do not
    /// parse are skipped (the tests keep every line valid, `parse_errors`).
    pub fn read(text: &str, dtype: &str, shape: &ExpertShape) -> ModelShapes {
        let prefix = format!(
            "\"{dtype} {}x{}/e{}/k{}/",
            shape.hidden, shape.inter, shape.experts, shape.top_k
        );
        let source_key = format!("\"{dtype} source\": ");
        let mut out = ModelShapes::default();
        for line in text.lines() {
            let line = line.trim_end_matches(',');
            if let Some(rest) = line.strip_prefix(&source_key) {
                out.source = serde_json::from_str(rest).unwrap_or_default();
            }
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((layout, value)) = rest.split_once("\": ") else {
                continue;
            };
            let parsed = (layout_of(layout), serde_json::from_str::<Curve>(value));
            if let (Some(l), Ok(c)) = parsed {
                out.layouts.push((l, super::lazy_json::Prepare::prepare(c)));
            }
        }
        out
    }
}

/// `tp<t>/ep<e>` → `(t, e)`.
fn layout_of(s: &str) -> Option<(u64, u64)> {
    let (tp, ep) = s.split_once('/')?;
    Some((
        tp.strip_prefix("tp")?.parse().ok()?,
        ep.strip_prefix("ep")?.parse().ok()?,
    ))
}

/// [`ModelShapes::read`] once per file, dtype and shape for the process (a solve builds the
/// kernels of a task several times: per engine branch, per phase).
pub fn cached(text: &'static str, dtype: &'static str, shape: ExpertShape) -> Option<&'static ModelShapes> {
    type Key = (usize, &'static str, ExpertShape);
    static CACHE: OnceLock<Mutex<HashMap<Key, &'static ModelShapes>>> = OnceLock::new();
    let key = (text.as_ptr() as usize, dtype, shape);
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let found = *cache
        .entry(key)
        .or_insert_with(|| Box::leak(Box::new(ModelShapes::read(text, dtype, &shape))));
    (!found.layouts.is_empty()).then_some(found)
}

/// Lines of a per-shape file that do not parse (for the test that keeps the files valid).
pub fn line_errors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        out.push(format!("not JSON: {e}"));
    }
    for line in text.lines().map(|l| l.trim_end_matches(',')) {
        let Some((key, value)) = line.split_once("\": ") else {
            continue;
        };
        if !key.ends_with(" source") && serde_json::from_str::<Curve>(value).is_err() {
            out.push(format!("{key}: not a curve"));
        }
    }
    out
}

/// `(dtype, source, shapes)` of each dtype in a per-shape file (for `presets --sources`).
pub fn summary(text: &str) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for line in text.lines().map(|l| l.trim_end_matches(',')) {
        let Some((key, value)) = line.strip_prefix('"').and_then(|l| l.split_once("\": ")) else {
            continue;
        };
        let Some((dtype, rest)) = key.split_once(' ') else {
            continue;
        };
        if rest == "source" {
            out.push((dtype.into(), serde_json::from_str(value).unwrap_or_default(), 0));
        } else if let Some(last) = out.last_mut().filter(|l| l.0 == dtype) {
            last.2 += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n\"fp8 source\": \"t\",\n\"fp8 2048x768/e128/k8/tp1/ep2\": {\"x\": [1, 2, 4], \"c\": [0.1, 0.2, 0.3], \"m\": [0.8, 0.7, 0.6], \"launch_s\": 1e-5},\n\"fp8 2048x768/e128/k8/tp2/ep1\": {\"x\": [1, 2], \"c\": [0.1, 0.2], \"m\": [0.8, 0.7], \"launch_s\": 1e-5}\n}\n";

    #[test]
    fn a_measured_shape_is_found_by_its_layout_and_nothing_else() {
        let s = ExpertShape {
            hidden: 2048,
            inter: 768,
            experts: 128,
            top_k: 8,
        };
        let m = ModelShapes::read(TEXT, "fp8", &s);
        assert_eq!(m.source, "t");
        let c = m.curve(1, 2).expect("measured");
        assert_eq!(c.compute, vec![0.1, 0.2, 0.3]);
        assert_eq!(c.memory, vec![0.8, 0.7, 0.6]);
        assert_eq!(c.launch_s, 1e-5);
        assert!(m.curve(2, 1).is_some() && m.curve(4, 1).is_none());
        assert!(
            ModelShapes::read(TEXT, "fp8", &ExpertShape { top_k: 4, ..s })
                .layouts
                .is_empty()
        );
        assert!(ModelShapes::read(TEXT, "bf16", &s).layouts.is_empty());
        assert!(line_errors(TEXT).is_empty());
        assert_eq!(summary(TEXT), vec![("fp8".to_string(), "t".to_string(), 2)]);
        assert!(!line_errors(&TEXT.replace("[1, 2]", "[1, 2")).is_empty());
    }
}
