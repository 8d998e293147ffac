//! The human summary of an evaluated strategy ([`crate::analysis::evaluate`]).

use crate::analysis::evaluate::{Evaluation, Optimum, PhaseEvaluation, ReadingResult};
use crate::error::exit;
use crate::layout::Phase;
use crate::spec::task::GivenStrategy;
use std::fmt::Write;

use crate::params::GIB;

/// The degrees as stated, in words.
fn stated(g: &GivenStrategy) -> String {
    let parts: Vec<String> = [
        ("GPUs", g.gpus),
        ("TP", g.tp),
        ("PP", g.pp),
        ("SP", g.sp),
        ("DP", g.dp),
        ("attention-DP", g.attention_dp),
        ("EP", g.ep),
        ("expert-TP", g.expert_tp),
        ("replicas", g.replicas),
        ("batch", g.batch),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
    .collect();
    if parts.is_empty() {
        "nothing (all degrees 1)".into()
    } else {
        parts.join(", ")
    }
}

/// Which readings were evaluated: the strategy as written, or the nearest consistent ones.
fn readings_label(first: &ReadingResult) -> String {
    let n = first.reading.changes.len();
    if n == 0 {
        "as written".to_string()
    } else {
        format!(
            "nearest consistent readings ({n} change{} each)",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// One reading: the layout, memory, latency, throughput against the optimum, problems, notes.
fn reading_text(phase: Phase, first: bool, r: &ReadingResult, optimum: Option<&Optimum>) -> String {
    let f = &r.figures;
    let mut s = format!("  {} {}", if first { "*" } else { " " }, r.reading.describe());
    if !r.reading.changes.is_empty() {
        let _ = write!(s, " [changes {}]", r.reading.changes.join(", "));
    }
    let _ = write!(
        s,
        "\n      memory {:.1} / {:.1} GiB per GPU ({}), batch {} per instance",
        f.memory.total_bytes / GIB,
        f.memory.capacity_bytes / GIB,
        if f.memory.fits() { "fits" } else { "DOES NOT FIT" },
        r.batch_per_instance
    );
    let _ = match phase {
        Phase::Prefill => write!(
            s,
            ", TTFT {:.2} s (at max length {:.2} s)",
            f.ttft_s.unwrap_or(f64::NAN),
            f.ttft_at_max_length_s.unwrap_or(f64::NAN)
        ),
        Phase::Decode => write!(
            s,
            ", TPOT {:.1} ms (mean context {:.1} ms)",
            f.tpot_s.unwrap_or(f64::NAN) * 1e3,
            f.tpot_mean_s.unwrap_or(f64::NAN) * 1e3
        ),
    };
    let _ = write!(s, ", {:.0} tokens/s per GPU", r.tokens_per_s_per_gpu);
    if let Some(o) = optimum {
        let _ = write!(
            s,
            " = {:.0}% of pdplan's optimum",
            100.0 * r.tokens_per_s_per_gpu / o.tokens_per_s_per_gpu
        );
    }
    s.push('\n');
    if r.problems.is_empty() {
        s.push_str("      meets every requirement\n");
    }
    for pr in &r.problems {
        let _ = writeln!(s, "      ! {pr}");
    }
    for n in &r.notes {
        let _ = writeln!(s, "      note: {n}");
    }
    s
}

/// One phase: its readings and pdplan's optimum.
fn phase_text(p: &PhaseEvaluation) -> String {
    let mut s = format!("\n{}:\n", p.phase);
    let Some(first) = p.results.first() else {
        s.push_str("  no valid layout uses the stated GPU count for this model\n");
        return s;
    };
    let _ = writeln!(s, "  evaluated {}:", readings_label(first));
    for (i, r) in p.results.iter().enumerate() {
        s.push_str(&reading_text(p.phase, i == 0, r, p.optimum.as_ref()));
    }
    if let Some(o) = &p.optimum {
        let _ = writeln!(
            s,
            "  pdplan's optimum: {} ({} GPUs), {:.0} tokens/s per GPU",
            o.layout, o.gpus, o.tokens_per_s_per_gpu
        );
    }
    s
}

/// The human summary of an evaluation.
pub fn summary(e: &Evaluation) -> String {
    let mut s = format!("Given strategy: {}\n", stated(&e.given));
    let _ = writeln!(
        s,
        "Consistency under DESIGN.md §2 (one stage = W GPUs; attention tp×sp×attention_dp = W = ep×expert_tp; GPUs = replicas×pp×W): {}",
        if e.consistent {
            "consistent as written"
        } else {
            "NOT a valid layout as written"
        }
    );
    for f in &e.findings {
        let _ = writeln!(s, "  - {f}");
    }
    for p in &e.phases {
        s.push_str(&phase_text(p));
    }
    if let Some(err) = &e.optimum_error {
        let _ = writeln!(s, "\npdplan found no optimum to compare with: {err}");
    }
    let verdict = match (e.consistent, e.exit_code == exit::OK) {
        (true, true) => "valid and meets every requirement",
        (true, false) => "valid layout, but it misses a requirement",
        (false, _) => "not deployable as written; see the readings above for what it would need",
    };
    let _ = writeln!(s, "\nVerdict: {verdict} (exit {})", e.exit_code);
    s
}
