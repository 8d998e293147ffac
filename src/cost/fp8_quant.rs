//! The FP8 activation quantization inside a measured per-tensor FP8 GEMM.
//!
//! Every engine's GEMM table (aiconfigurator-core 0.12) times the FP8 linear layer with
//! *dynamic* activation scales: its FP8 weights carry no input scale, so each row is "compute the
//! activation's scale, quantize it to FP8, run the GEMM" (aiconfigurator `collector/trtllm/
//! collect_gemm.py`: "the collected fp8 GEMM includes the compute-scale overhead"; vLLM
//! `Fp8Config(activation_scheme="dynamic")`). The same package times the two quantization parts
//! apart on the same GPU and engine (`quantize/<engine>/<version>/computescale_perf.parquet`,
//! `scale_matrix_perf.parquet`): `compute_scale` is dynamic minus static quantization, the scale
//! computation (TensorRT-LLM 1.3 on H200: 7.2 us at M = 1, 56 us at M = 4,096 for K = 8,192),
//! and `scale_matrix` the static quantize kernel itself (1.3 / 26 us).
//!
//! A checkpoint with static input scales skips the scale computation in every GEMM, and a GEMM
//! whose input already comes out of the previous kernel in FP8 (the attention output before the
//! output projection, the fused gate activation before the FFN down projection) skips the
//! quantize kernel as well. pdplan subtracts those parts from the measured GEMM time, never below
//! the GEMM's own roofline at peak ([`super::kernels::Kernels::gemm_time`]). This is the rule
//! aiconfigurator applies to its `fp8_static` GEMMs (`operators/gemm.rs`, `GemmOp::query`); the
//! parameters are the tables' own kernels (`scripts/derive_kernel_params.py`, `fp8_quant`).
//!
//! It applies where the checkpoint states static scales
//! ([`crate::spec::task::Model::static_activation_scales`]: ModelOpt `quant_algo: FP8`,
//! `activation_scheme: static`); a model given by preset or by a config that states nothing keeps
//! the rows as measured. aiconfigurator reads "nothing stated" as static; pdplan does not,
//! because the published end-to-end rows say otherwise: applied to every per-tensor FP8 row of
//! `pdplan calibrate` (TensorRT-LLM v0.5-v0.17 and NIM, ModelOpt checkpoints) it moves them 7-13 %
//! faster, taking the rows within 25 % from 90 to 86 of 111 and the median |error| from 11.0 to
//! 13.7 % — those releases pay per-step costs no kernel table measures, which the measured
//! quantization had stood in for. Against aiconfigurator on the same checkpoint (NVIDIA's FP8
//! Llama-3.1-70B) the rule takes pdplan's small-batch decode from +22..+35 % to within 7 %.

use serde::Deserialize;

/// Where a GEMM's input comes from: whether the measured row's quantize kernel runs before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmInput {
    /// 16-bit activations (after a norm, or a router / LM head that runs in 16 bits).
    Wide,
    /// Activations the previous kernel wrote in FP8 (attention output, fused gate activation).
    Fp8,
}

/// The two quantization parts' times at every measured (M, K) (seconds, K-major then M).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Fp8Quant {
    pub m: Vec<f64>,
    pub k: Vec<f64>,
    /// The scale computation a static checkpoint skips.
    pub compute_scale_s: Vec<f64>,
    /// The static quantize kernel; empty where the table's kernel is not the engine's (SGLang).
    #[serde(default)]
    pub scale_matrix_s: Vec<f64>,
    pub source: String,
}

impl Fp8Quant {
    /// Whether both axes have two points and the compute-scale times fill the grid.
    pub fn usable(&self) -> bool {
        let size = self.m.len() * self.k.len();
        self.m.len() >= 2
            && self.k.len() >= 2
            && self.compute_scale_s.len() == size
            && (self.scale_matrix_s.is_empty() || self.scale_matrix_s.len() == size)
    }

    /// The time the measured GEMM row spends on quantization that this GEMM does not run, at `m`
    /// rows of `k` features: the scale computation, plus the quantize kernel when the input is
    /// already FP8. Bilinear in `log M`, `log K` inside the measured ranges; beyond the largest M
    /// or K linear in the elements (the kernels are bandwidth-bound there), below the smallest
    /// the first point (launch-bound).
    pub fn skipped_s(&self, m: f64, k: f64, input: GemmInput) -> f64 {
        if !self.usable() {
            return 0.0;
        }
        let mut t = self.at(&self.compute_scale_s, m, k);
        if input == GemmInput::Fp8 && !self.scale_matrix_s.is_empty() {
            t += self.at(&self.scale_matrix_s, m, k);
        }
        t
    }

    fn at(&self, times: &[f64], m: f64, k: f64) -> f64 {
        let (i, wi, sk) = segment(&self.k, k);
        let (j, wj, sm) = segment(&self.m, m);
        let nm = self.m.len();
        let v = |a: usize, b: usize| times[a * nm + b];
        let low = (1.0 - wj) * v(i, j) + wj * v(i, j + 1);
        let high = (1.0 - wj) * v(i + 1, j) + wj * v(i + 1, j + 1);
        ((1.0 - wi) * low + wi * high).max(0.0) * sk * sm
    }
}

/// Lower index, weight of the upper point in `log x`, and the linear scale beyond the last point.
fn segment(xs: &[f64], x: f64) -> (usize, f64, f64) {
    let n = xs.len();
    if x <= xs[0] {
        return (0, 0.0, 1.0);
    }
    if x >= xs[n - 1] {
        return (n - 2, 1.0, x / xs[n - 1]);
    }
    let i = xs.partition_point(|&v| v <= x).clamp(1, n - 1);
    let w = (x / xs[i - 1]).ln() / (xs[i] / xs[i - 1]).ln();
    (i - 1, w, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Fp8Quant {
        Fp8Quant {
            m: vec![1.0, 4.0],
            k: vec![1024.0, 4096.0],
            // K = 1024: 2, 4 us; K = 4096: 3, 9 us.
            compute_scale_s: vec![2e-6, 4e-6, 3e-6, 9e-6],
            scale_matrix_s: vec![1e-6, 1e-6, 1e-6, 2e-6],
            source: String::new(),
        }
    }

    #[test]
    fn reads_points_interpolates_in_log_and_scales_beyond() {
        let g = grid();
        assert!((g.skipped_s(4.0, 4096.0, GemmInput::Wide) - 9e-6).abs() < 1e-12);
        assert!((g.skipped_s(4.0, 4096.0, GemmInput::Fp8) - 11e-6).abs() < 1e-12);
        // Halfway in log M at K = 1024.
        assert!((g.skipped_s(2.0, 1024.0, GemmInput::Wide) - 3e-6).abs() < 1e-12);
        // Twice the largest M: twice the elements.
        assert!((g.skipped_s(8.0, 4096.0, GemmInput::Wide) - 18e-6).abs() < 1e-12);
        // Below the smallest M and K: the first point.
        assert!((g.skipped_s(0.5, 100.0, GemmInput::Wide) - 2e-6).abs() < 1e-12);
    }

    #[test]
    fn a_table_without_the_engines_quantize_kernel_skips_only_the_scale() {
        let mut g = grid();
        g.scale_matrix_s.clear();
        assert_eq!(
            g.skipped_s(4.0, 4096.0, GemmInput::Fp8),
            g.skipped_s(4.0, 4096.0, GemmInput::Wide)
        );
        g.compute_scale_s.pop();
        assert_eq!(
            g.skipped_s(4.0, 4096.0, GemmInput::Wide),
            0.0,
            "malformed: nothing"
        );
    }
}
