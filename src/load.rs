//! Reading a task file from disk: Markdown or JSON, detected by content. Being written.
use crate::error::Result;
use crate::markdown::ParsedTask;
use std::path::Path;

/// Read and parse a task file (Markdown or JSON).
pub fn load_task(path: &Path) -> Result<ParsedTask> {
    let _ = path;
    Err(crate::error::Error::Internal("loader not written yet".into()))
}
