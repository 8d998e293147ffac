//! From a RawTask to a complete Task: presets, HF config, defaults, consistency. Being written.
use crate::error::Result;
use crate::markdown::ParsedTask;
use crate::task::Task;

/// A resolved task with the assumptions it rests on and the warnings found.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub task: Task,
    /// The file the task came from (echoed as `task.source`).
    pub source: String,
    pub fields: Vec<crate::markdown::FieldRead>,
    /// Defaults that were assumed, in words.
    pub assumptions: Vec<String>,
    /// Unknown lines, conflicts, overridden preset values.
    pub warnings: Vec<String>,
}

pub fn resolve(source: &str, parsed: ParsedTask) -> Result<Resolved> {
    let _ = (source, parsed);
    Err(crate::error::Error::Internal("resolver not written yet".into()))
}
