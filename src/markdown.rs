//! Markdown deployment-condition parser (DESIGN.md §1.1). Being written.
use crate::error::Result;
use crate::task::RawTask;

/// One field read from a task file, echoed in every plan.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FieldRead {
    /// 1-based line number in the file (0 for JSON tasks).
    pub line: usize,
    /// The label as written (`Single-card computing power`).
    pub label: String,
    /// The value text as written (`400TFlops.`).
    pub text: String,
    /// The task field it set (`hardware.peak_flops_per_s`).
    pub field: String,
}

/// A parsed task file: the raw task, what was read, and warnings (unknown lines, ...).
#[derive(Clone, Debug, Default)]
pub struct ParsedTask {
    pub raw: RawTask,
    pub fields: Vec<FieldRead>,
    pub warnings: Vec<String>,
}

/// Parse a Markdown task. `path` is only used in messages.
pub fn parse_markdown(path: &str, text: &str) -> Result<ParsedTask> {
    let _ = (path, text);
    Err(crate::error::Error::Internal(
        "markdown parser not written yet".into(),
    ))
}
