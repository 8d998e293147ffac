//! A batch run's results (`pdplan batch`) and their writers: `summary.csv` (the csv crate) and
//! `summary.md` — pure functions over the typed results, in input order.

use crate::error::{Error, exit};
use crate::ilp::formulation::Mode;
use crate::layout::Layout;
use crate::report::compare::mode_text;
use crate::report::markdown::{cell, header, row};
use std::fmt::Write;
use std::path::PathBuf;

/// Exit code when the batch was interrupted (128 + SIGINT, as shells report it).
pub const INTERRUPTED: i32 = 130;

/// The outcome of one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Solved,
    Infeasible,
    BadInput,
    OutputError,
    InternalError,
    Cancelled,
    Skipped,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 7] = [
        Status::Solved,
        Status::Infeasible,
        Status::BadInput,
        Status::OutputError,
        Status::InternalError,
        Status::Cancelled,
        Status::Skipped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Solved => "solved",
            Status::Infeasible => "infeasible",
            Status::BadInput => "bad input",
            Status::OutputError => "output error",
            Status::InternalError => "internal error",
            Status::Cancelled => "cancelled",
            Status::Skipped => "skipped",
        }
    }

    pub fn of(e: &Error) -> Status {
        match e.exit_code() {
            exit::BAD_INPUT => Status::BadInput,
            exit::INFEASIBLE => Status::Infeasible,
            exit::OUTPUT => Status::OutputError,
            _ => Status::InternalError,
        }
    }

    /// Exit code of the kind and its severity (higher is worse): internal error > output error >
    /// bad input > infeasible > success; skipped files do not count.
    pub fn code_and_severity(self) -> (i32, u8) {
        match self {
            Status::Solved | Status::Skipped => (exit::OK, 0),
            Status::Infeasible => (exit::INFEASIBLE, 1),
            Status::BadInput => (exit::BAD_INPUT, 2),
            Status::OutputError => (exit::OUTPUT, 3),
            Status::InternalError => (exit::INTERNAL, 4),
            Status::Cancelled => (INTERRUPTED, 5),
        }
    }
}

/// One phase of a solved task, for the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseRow {
    pub layout: Layout,
    pub batch_per_instance: u64,
    pub replicas: u64,
    pub gpus: u64,
    /// Tokens/s per GPU as the mode counts it (as in the plan file).
    pub tokens_per_s_per_gpu: f64,
}

/// A solved task's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Solved {
    pub prefill: PhaseRow,
    pub decode: PhaseRow,
    pub ttft_s: Option<f64>,
    pub tpot_s: Option<f64>,
    pub request_rate_per_s: f64,
    pub objective: f64,
}

/// `--compare`: pdplan against the best heuristic baseline.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    /// `None` when no heuristic baseline meets every requirement.
    pub best_baseline: Option<String>,
    pub best_baseline_objective: Option<f64>,
    pub gain: Option<f64>,
    /// GPUs pdplan uses fewer than the best heuristic baseline.
    pub gpus_saved: Option<i64>,
    /// The gain in words (`×1.041, 16 fewer GPUs`).
    pub gain_text: String,
    /// Baselines (meeting every requirement) that beat pdplan: should be empty.
    pub beaten_by: Vec<String>,
}

/// The outcome of one input.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResult {
    pub input: PathBuf,
    pub name: String,
    pub status: Status,
    /// Why it failed or was skipped (empty when solved).
    pub reason: String,
    pub mode: Option<Mode>,
    pub solved: Option<Solved>,
    /// Reading and solving, seconds (not writing or comparing).
    pub solve_time_s: f64,
    pub compare: Option<CompareRow>,
}

/// The whole run, for the summary.
#[derive(Clone, Debug)]
pub struct Report {
    pub results: Vec<TaskResult>,
    pub wall_s: f64,
    pub jobs: usize,
    pub compare: bool,
    pub cancelled: bool,
}

impl Report {
    /// 0 if every task was solved (skipped files aside), else the code of the worst failure kind;
    /// 130 when interrupted.
    pub fn exit_code(&self) -> i32 {
        self.results
            .iter()
            .map(|r| r.status.code_and_severity())
            .max_by_key(|&(_, sev)| sev)
            .map_or(exit::OK, |(code, _)| code)
    }

    pub fn count(&self, s: Status) -> usize {
        self.results.iter().filter(|r| r.status == s).count()
    }
}

fn mode_id(m: Option<Mode>) -> String {
    match m {
        None => String::new(),
        Some(Mode::NoLimit) => "no_limit".into(),
        Some(Mode::Budget { gpus }) => format!("budget:{gpus}"),
        Some(Mode::Rate { rate }) => format!("rate:{rate}"),
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x}"))
}

const PHASE_COLUMNS: [&str; 10] = [
    "gpus",
    "tp",
    "pp",
    "sp",
    "attention_dp",
    "ep",
    "expert_tp",
    "replicas",
    "batch_per_instance",
    "tokens_per_s_per_gpu",
];

const COMPARE_COLUMNS: [&str; 5] = [
    "best_baseline",
    "best_baseline_objective",
    "gain_over_best_baseline",
    "gpus_saved_over_best_baseline",
    "baselines_better_than_pdplan",
];

fn phase_cells(p: Option<&PhaseRow>) -> Vec<String> {
    let Some(p) = p else {
        return vec![String::new(); PHASE_COLUMNS.len()];
    };
    let l = &p.layout;
    [
        p.gpus,
        l.tp,
        l.pp,
        l.sp,
        l.attention_dp,
        l.ep,
        l.expert_tp,
        p.replicas,
        p.batch_per_instance,
    ]
    .iter()
    .map(u64::to_string)
    .chain([format!("{}", p.tokens_per_s_per_gpu)])
    .collect()
}

fn csv_header(compare: bool) -> Vec<String> {
    let mut header: Vec<String> = ["task", "input", "status", "reason", "mode", "total_gpus"]
        .map(String::from)
        .to_vec();
    for ph in ["prefill", "decode"] {
        header.extend(PHASE_COLUMNS.iter().map(|c| format!("{ph}_{c}")));
    }
    header.extend(
        [
            "ttft_s",
            "tpot_s",
            "request_rate_per_s",
            "objective",
            "solve_time_s",
        ]
        .map(String::from),
    );
    if compare {
        header.extend(COMPARE_COLUMNS.map(String::from));
    }
    header
}

fn compare_cells(c: Option<&CompareRow>) -> [String; 5] {
    [
        c.and_then(|c| c.best_baseline.clone()).unwrap_or_default(),
        num(c.and_then(|c| c.best_baseline_objective)),
        num(c.and_then(|c| c.gain)),
        c.and_then(|c| c.gpus_saved)
            .map_or(String::new(), |g| g.to_string()),
        c.map(|c| c.beaten_by.join(" ")).unwrap_or_default(),
    ]
}

fn csv_row(r: &TaskResult, compare: bool) -> Vec<String> {
    let sv = r.solved.as_ref();
    let mut cells = vec![
        r.name.clone(),
        r.input.display().to_string(),
        r.status.name().to_string(),
        r.reason.clone(),
        mode_id(r.mode),
        sv.map_or(String::new(), |x| (x.prefill.gpus + x.decode.gpus).to_string()),
    ];
    cells.extend(phase_cells(sv.map(|x| &x.prefill)));
    cells.extend(phase_cells(sv.map(|x| &x.decode)));
    let timed = !matches!(r.status, Status::Skipped | Status::Cancelled);
    cells.extend([
        num(sv.and_then(|x| x.ttft_s)),
        num(sv.and_then(|x| x.tpot_s)),
        num(sv.map(|x| x.request_rate_per_s)),
        num(sv.map(|x| x.objective)),
        if timed {
            format!("{:.6}", r.solve_time_s)
        } else {
            String::new()
        },
    ]);
    if compare {
        cells.extend(compare_cells(r.compare.as_ref()));
    }
    cells
}

/// `summary.csv`: one row per input, in input order (the csv crate quotes what needs quoting).
pub fn summary_csv(report: &Report) -> crate::error::Result<String> {
    let err = |e: &dyn std::fmt::Display| Error::Internal(format!("summary.csv: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(csv_header(report.compare)).map_err(|e| err(&e))?;
    for r in &report.results {
        w.write_record(csv_row(r, report.compare)).map_err(|e| err(&e))?;
    }
    let bytes = w.into_inner().map_err(|e| err(&e))?;
    String::from_utf8(bytes).map_err(|e| err(&e))
}

/// A phase's layout in the table: `TP8 PP1 ... ×2 = 16`.
fn layout_text(p: &PhaseRow) -> String {
    format!("{} ×{} = {}", p.layout, p.replicas, p.gpus)
}

/// The counts line and the wall-time line at the top of `summary.md`.
fn md_counts(report: &Report) -> String {
    let tasks = report
        .results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .count();
    let counts: Vec<String> = Status::ALL
        .iter()
        .filter(|&&st| st != Status::Skipped && (st == Status::Solved || report.count(st) > 0))
        .map(|&st| format!("{} {}", report.count(st), st.name()))
        .collect();
    format!(
        "{tasks} tasks: {}; {} other files skipped. Exit code {}.{}\n\nWall time {:.2} s on {} parallel jobs. Times are reading + solving each task.\n",
        counts.join(", "),
        report.count(Status::Skipped),
        report.exit_code(),
        if report.cancelled {
            " Interrupted: tasks not started are listed as cancelled."
        } else {
            ""
        },
        report.wall_s,
        report.jobs
    )
}

const MD_COLUMNS: [&str; 11] = [
    "task",
    "status",
    "mode",
    "prefill",
    "decode",
    "GPUs",
    "TTFT s",
    "TPOT ms",
    "prefill tok/s/GPU",
    "decode tok/s/GPU",
    "solve s",
];

/// The cells of one task's row in `summary.md`.
fn md_cells(r: &TaskResult, compare: bool) -> Vec<String> {
    let mode = r.mode.map(mode_text).unwrap_or_default();
    let mut cells = vec![cell(&r.name), r.status.name().to_string(), mode];
    match &r.solved {
        Some(x) if r.status == Status::Solved => cells.extend([
            layout_text(&x.prefill),
            layout_text(&x.decode),
            (x.prefill.gpus + x.decode.gpus).to_string(),
            x.ttft_s.map_or("-".into(), |v| format!("{v:.3}")),
            x.tpot_s.map_or("-".into(), |v| format!("{:.2}", v * 1e3)),
            format!("{:.0}", x.prefill.tokens_per_s_per_gpu),
            format!("{:.0}", x.decode.tokens_per_s_per_gpu),
            format!("{:.3}", r.solve_time_s),
        ]),
        _ => {
            cells.extend(std::iter::repeat_n("-".to_string(), 7));
            cells.push(if r.status == Status::Cancelled {
                "-".into()
            } else {
                format!("{:.3}", r.solve_time_s)
            });
        }
    }
    if compare {
        let c = r.compare.as_ref();
        cells.push(match (c.and_then(|c| c.best_baseline.clone()), r.status) {
            (Some(b), _) => cell(&b),
            (None, Status::Solved) => "none meets the requirements".into(),
            _ => "-".into(),
        });
        cells.push(c.map_or("-".into(), |c| cell(&c.gain_text)));
    }
    cells
}

/// The sections under the table: tasks not solved, baselines better than pdplan, skipped files.
fn md_sections(report: &Report) -> String {
    let mut s = String::new();
    let failed = report
        .results
        .iter()
        .filter(|r| !matches!(r.status, Status::Solved | Status::Skipped));
    let lines: Vec<String> = failed
        .map(|r| {
            format!(
                "- `{}` ({}): **{}**: {}",
                r.name,
                r.input.display(),
                r.status.name(),
                r.reason.replace('\n', " ")
            )
        })
        .collect();
    if !lines.is_empty() {
        let _ = write!(s, "\n## Not solved\n\n{}\n", lines.join("\n"));
    }
    let beaten: Vec<String> = report
        .results
        .iter()
        .filter_map(|r| {
            r.compare
                .as_ref()
                .filter(|c| !c.beaten_by.is_empty())
                .map(|c| (r, c))
        })
        .map(|(r, c)| format!("- `{}`: {}", r.name, c.beaten_by.join(", ")))
        .collect();
    if !beaten.is_empty() {
        let _ = write!(
            s,
            "\n## Baselines better than pdplan (a bug)\n\n{}\n",
            beaten.join("\n")
        );
    }
    let skipped: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .map(|r| format!("- {}: {}", r.input.display(), r.reason))
        .collect();
    if !skipped.is_empty() {
        let _ = write!(s, "\n## Skipped (not task files)\n\n{}\n", skipped.join("\n"));
    }
    s
}

/// `summary.md`: counts, one table row per task, then failures and skipped files with reasons.
pub fn summary_md(report: &Report) -> String {
    let mut titles = MD_COLUMNS.to_vec();
    if report.compare {
        titles.extend(["best heuristic baseline", "pdplan gain"]);
    }
    let mut s = format!(
        "# pdplan batch summary\n\n{}\n{}\n",
        md_counts(report),
        header(&titles)
    );
    for r in report.results.iter().filter(|r| r.status != Status::Skipped) {
        let _ = writeln!(s, "{}", row(&md_cells(r, report.compare)));
    }
    s.push_str(&md_sections(report));
    s
}
