//! Command-line interface: argument definitions here, one file per command.

mod batch;
mod bench;
mod calibrate;
mod compare;
mod evaluate;
mod export_lp;
mod limits;
mod solve;

use crate::error::{Error, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// pdplan plans LLM inference deployments with prefill and decode on separate GPU pools.
///
/// It reads a task file (Markdown deployment condition or JSON), chooses for each phase the
/// parallel strategy (TP, PP, SP, attention-DP, EP, expert-TP, replicas) and the GPU count with an
/// integer linear program, and writes one deployment plan per phase.
///
/// Exit codes: 0 success, 1 internal error, 2 bad input or usage, 3 infeasible, 4 output error.
#[derive(Parser, Debug)]
#[command(name = "pdplan", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Do not sync written files and folders to disk (faster on slow disks; after a power loss
    /// shortly after the run, files may be empty or missing). By default each file of a run is
    /// synced to disk (fdatasync) before the files are renamed into place, and their folder is
    /// synced after (see `app::output`).
    #[arg(long, global = true)]
    pub no_fsync: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Plan both phases of a task and write DIR/prefill.json, DIR/decode.json, DIR/submission.json.
    Solve(SolveArgs),
    /// Print the normalized JSON of a task file (Markdown or JSON), to convert or inspect it.
    Task {
        /// Task file (Markdown deployment condition or JSON).
        file: PathBuf,
    },
    /// List the model and GPU presets shipped in models/.
    Presets {
        /// List instead every kernel parameter of the cost model with its source (GPU, engine,
        /// version, measured table).
        #[arg(long)]
        sources: bool,
    },
    /// Evaluate one given strategy (the task's Parallelism Strategy section and/or flags).
    Evaluate(EvaluateArgs),
    /// Print the cost model's predictions against published measurements (relative error).
    Calibrate {
        /// Print the rows, settings, sources and errors as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Solve many task files (files and folders) into DIR/<task>/, with DIR/summary.csv and
    /// DIR/summary.md. Exit code: 0 if every task was solved, else the worst failure kind
    /// (1 internal > 4 output > 2 bad input > 3 infeasible); 130 if interrupted.
    Batch(BatchArgs),
    /// Compare pdplan's plan with the heuristic baselines (table; DIR/compare.json with --out).
    Compare(CompareArgs),
    /// Write the ILP of a task as a CPLEX LP file (readable by CBC, GLPK, HiGHS, CPLEX, Gurobi).
    ///
    /// Both models of the lexicographic pair are written: FILE holds the primary model, and
    /// FILE with `.secondary` before the extension the second solve (primary optimum held by the
    /// `objective_floor` row). Rows are named by family: one_layout, link, cover, balance,
    /// memory, ttft, tpot, throughput_per_gpu, rate_match, gpu_budget, objective_floor.
    ExportLp(ExportLpArgs),
    /// Time `solve` against exhaustive enumeration on every fixture and on GPU budgets 8..4096.
    Bench(BenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct BatchArgs {
    /// Task files and folders (folders are walked; .md and .json task files are solved).
    #[arg(required = true, value_name = "INPUTS")]
    pub inputs: Vec<PathBuf>,
    /// Output folder: one sub-folder per task, summary.csv, summary.md.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Also run the baselines and add pdplan's gain over the best one to the summary.
    #[arg(long)]
    pub compare: bool,
    /// No progress bar and no log lines (the exit code and the summary files tell the outcome).
    #[arg(long, short)]
    pub quiet: bool,
    /// Tasks solved at once (default: the available cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(clap::Args, Debug)]
pub struct CompareArgs {
    /// Task file (Markdown deployment condition or JSON).
    pub task: PathBuf,
    /// Folder for compare.json and compare.md (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// GPU budget for the whole deployment (GPUs); overrides the task's `GPUs` line.
    #[arg(long, value_name = "N")]
    pub gpus: Option<u64>,
    /// Target request rate for the whole deployment (requests/s); overrides the task.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate: Option<f64>,
}

/// Mode and objective overrides shared by `solve` and `export-lp`.
#[derive(clap::Args, Debug, Clone)]
pub struct GoalArgs {
    /// GPU budget for the whole deployment (GPUs); overrides the task's `GPUs` line and switches
    /// to the budget mode.
    #[arg(long, value_name = "N")]
    pub gpus: Option<u64>,
    /// Target request rate for the whole deployment (requests/s); overrides the task and switches
    /// to the rate mode.
    #[arg(long, value_name = "REQ_PER_S")]
    pub rate: Option<f64>,
    /// What to optimize (default: per-gpu without a GPU limit, total with a budget, min-gpus with
    /// a target rate).
    ///
    /// per-gpu: max Σ over the two phases of tokens/s per GPU (prefill input tokens/s per prefill
    /// GPU + decode output tokens/s per decode GPU), then the fewest GPUs.
    /// min-gpus: the fewest GPUs (total of both phases) meeting every requirement, then max
    /// tokens/s per GPU.
    /// total: max sustained request rate of the deployment (requests/s; prefill and decode
    /// capacities matched: the smaller one counts), then the fewest GPUs; needs a GPU budget
    /// (--gpus), not with --rate.
    /// Each is two ILP solves, the first optimum held while the second is optimized.
    #[arg(long, value_enum, value_name = "OBJECTIVE", verbatim_doc_comment)]
    pub objective: Option<crate::ilp::formulation::Objective>,
    /// Hugging Face `config.json` of the model, or the folder holding it (with a ModelOpt
    /// `hf_quant_config.json` beside it, if any); overrides the task's `HF config` line. Values
    /// the task file gives explicitly still win over the config's.
    #[arg(long, value_name = "PATH")]
    pub hf_config: Option<PathBuf>,
    /// Without a GPU limit (per-gpu objective): the fewest GPUs among plans whose tokens/s per
    /// GPU is within this share of the best in each phase (0.05 = 5 %).
    #[arg(long, value_name = "SHARE", default_value_t = crate::ilp::formulation::DEFAULT_TOLERANCE)]
    pub tolerance: f64,
    /// Serving engine (trtllm, vllm, sglang; any, the default = a plan one of the three runs,
    /// prefill and decode on the same engine; unrestricted = every layout, runnable or not, the
    /// cost model's own optimum); overrides the task's `Engine:` line. Selects the measured kernel
    /// profile and engine features of the cost model (any and unrestricted: TensorRT-LLM's
    /// kernels with two-batch overlap), and the search keeps only layouts the engine runs
    /// disaggregated (the rules are in each plan's `launch` section with their source and engine
    /// version).
    #[arg(long, value_name = "ENGINE", value_parser = parse_engine)]
    pub engine: Option<crate::spec::task::Engine>,
    /// How the engine hides the MoE all-to-all on its expert-parallel (DeepEP) layouts; overrides
    /// the task's `Batch overlap:` line. auto (the default): the fastest the engine runs at the
    /// plan's batch (SGLang two-batch or single-batch, vLLM two-batch or none, any two-batch or
    /// none); two-batch: SGLang --enable-two-batch-overlap, vLLM --enable-dbo; single-batch:
    /// SGLang --enable-single-batch-overlap; off: none. The plan records the schedule and its
    /// launch sets the flag; a schedule the engine does not run is refused (exit 2).
    #[arg(long, value_name = "SCHEDULE", value_parser = parse_batch_overlap)]
    pub batch_overlap: Option<crate::spec::task::BatchOverlap>,
}

fn parse_batch_overlap(text: &str) -> std::result::Result<crate::spec::task::BatchOverlap, String> {
    crate::spec::task::BatchOverlap::parse(text).ok_or_else(|| {
        format!("unknown batch overlap `{text}`: expected auto, two-batch, single-batch or off")
    })
}

fn parse_engine(text: &str) -> std::result::Result<crate::spec::task::Engine, String> {
    crate::spec::task::Engine::parse(text)
        .ok_or_else(|| format!("unknown engine `{text}`: expected trtllm, vllm, sglang, any or unrestricted"))
}

#[derive(clap::Args, Debug)]
pub struct ExportLpArgs {
    /// Task file (Markdown deployment condition or JSON).
    pub task: PathBuf,
    /// LP file to write (`-` for stdout: the primary model only).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    #[command(flatten)]
    pub goal: GoalArgs,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of task files to time (default: fixtures/tasks of the source tree).
    #[arg(long, value_name = "DIR")]
    pub tasks: Option<PathBuf>,
    /// Runs per measurement; the median is reported.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub runs: usize,
    /// Skip exhaustive enumeration when it would walk more than this many combinations.
    #[arg(long, default_value_t = 200_000_000, value_name = "N")]
    pub max_oracle_work: u64,
    /// A previous release's `pdplan` binary: each scenario is also run with it (as a process, like
    /// this binary) and the ratio of the medians is printed.
    #[arg(long, value_name = "BIN")]
    pub baseline: Option<PathBuf>,
    /// Also print time against GPU budget (8 … 4096), experts, layers and batch.
    #[arg(long)]
    pub growth: bool,
    /// Also compare `solve` with exhaustive enumeration and time the ILP against model size.
    #[arg(long)]
    pub exhaustive: bool,
}

#[derive(clap::Args, Debug)]
pub struct SolveArgs {
    /// Task file (Markdown deployment condition or JSON).
    pub task: PathBuf,
    /// Output folder for prefill.json, decode.json and submission.json (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub goal: GoalArgs,
    /// Instead of one plan: for every GPU budget from the smallest feasible up to --max-gpus,
    /// the best sustained request rate (table on stdout, DIR/frontier.json). Not with --rate,
    /// --objective (the frontier maximizes the rate per budget), --export-lp or --deploy (no
    /// single plan to export or launch).
    #[arg(long, conflicts_with_all = ["rate", "objective", "export_lp", "deploy"])]
    pub frontier: bool,
    /// Largest budget of --frontier (default: the task's budget, else 4 × the smallest feasible).
    #[arg(long, value_name = "N", requires = "frontier")]
    pub max_gpus: Option<u64>,
    /// Also write the solved ILP as a CPLEX LP file (primary model; the second solve next to it
    /// with `.secondary` before the extension).
    #[arg(long, value_name = "FILE")]
    pub export_lp: Option<PathBuf>,
    /// Also write runnable deployment files for ENGINE (vllm, sglang, trtllm, dynamo, or all) to
    /// DIR/deploy/ENGINE/: launch.sh (one function per role), the Dynamo
    /// DynamoGraphDeployment YAML, the TensorRT-LLM disaggregated and LLM-API YAMLs.
    #[arg(long, value_name = "ENGINE")]
    pub deploy: Option<String>,
    /// Write `solver.solve_time_s` (with --frontier: `time_s`) as 0, so that repeated runs give
    /// byte-identical files (everything else is already deterministic; the time is printed on
    /// stdout).
    #[arg(long)]
    pub reproducible: bool,
}

#[derive(clap::Args, Debug)]
pub struct EvaluateArgs {
    /// Task file (Markdown deployment condition or JSON).
    pub task: PathBuf,
    /// Evaluate one phase only; both when absent (case-insensitive).
    #[arg(long, value_enum, ignore_case = true)]
    pub phase: Option<crate::layout::Phase>,
    /// Plan JSON: with --phase the file to write; without, a folder for prefill.json and decode.json.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Total GPUs of the phase (overrides the strategy's GPU line).
    #[arg(long)]
    pub gpus: Option<u64>,
    /// Request rate the deployment serves (requests/s): evaluates under a request stream, TTFT
    /// at this load (batch formation, queueing, KV hand-off); overrides the task's target rate.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Tensor parallelism of attention (splits heads; a degree, GPUs).
    #[arg(long)]
    pub tp: Option<u64>,
    /// Pipeline stages (layers split over stages).
    #[arg(long)]
    pub pp: Option<u64>,
    /// Sequence (context) parallelism of prefill attention; must be 1 in decode.
    #[arg(long)]
    pub sp: Option<u64>,
    /// "Data parallelism" as engineers write it: attention-DP, replicas, or their product.
    #[arg(long)]
    pub dp: Option<u64>,
    /// Attention data parallelism inside an instance (request ranks sharing one stage's GPUs).
    #[arg(long)]
    pub attention_dp: Option<u64>,
    /// Expert parallelism (experts split over GPUs; ep × expert_tp must equal the stage width).
    #[arg(long)]
    pub ep: Option<u64>,
    /// Tensor parallelism inside each expert.
    #[arg(long)]
    pub expert_tp: Option<u64>,
    /// Instances (engine replicas) of the phase.
    #[arg(long)]
    pub replicas: Option<u64>,
    /// Sequences per instance (default: the task's batch split over the replicas).
    #[arg(long)]
    pub batch: Option<u64>,
}

/// A path written in `task` (relative to the task's folder, as `resolve` reads it) made
/// absolute, so that the printed JSON still finds it once saved in another folder.
fn absolute_from(task: &std::path::Path, p: &str) -> String {
    let base = task.parent().unwrap_or(std::path::Path::new(""));
    let joined = base.join(p);
    std::path::absolute(joined.canonicalize().unwrap_or(joined))
        .map_or_else(|_| p.to_string(), |a| a.display().to_string())
}

/// Run a parsed command line; returns the process exit code for outcomes that are not errors.
pub fn run(cli: Cli) -> Result<i32> {
    crate::app::output::set_fsync(!cli.no_fsync);
    match cli.command {
        Command::Solve(args) => solve::run(args),
        Command::Task { file } => {
            let mut r = crate::app::pipeline::read_task(&file)?;
            r.task.model.hf_config = r.task.model.hf_config.map(|p| absolute_from(&file, &p));
            let v = serde_json::to_value(&r.task).map_err(|e| Error::Internal(e.to_string()))?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            crate::app::output::print_stdout(&crate::app::output::json_string(&v))?;
            Ok(0)
        }
        Command::Evaluate(args) => evaluate::run(args),
        Command::Calibrate { json } => calibrate::run(json),
        Command::Batch(args) => batch::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Presets { sources } => {
            if sources {
                print!("{}", crate::cost::profile::sources_listing());
            } else {
                print!("{}", crate::spec::presets::listing());
            }
            Ok(0)
        }
        Command::ExportLp(args) => export_lp::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
