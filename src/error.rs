//! One error type for everything pdplan reports, with a distinct exit code per kind.
//!
//! Expected outcomes (bad input, an infeasible task) are apart from bugs (internal errors).
//! Every message says what was expected and what to change.

use std::path::PathBuf;
use thiserror::Error;

/// Exit codes, documented in README.md.
pub mod exit {
    /// Success: plans written (or the evaluated strategy is valid and meets every requirement).
    pub const OK: i32 = 0;
    /// Internal error: a bug in pdplan (e.g. the verifier rejected the solver's answer).
    pub const INTERNAL: i32 = 1;
    /// Bad input: unreadable, malformed or incomplete task file, or bad command-line usage.
    pub const BAD_INPUT: i32 = 2;
    /// Infeasible: no plan meets the requirements (or the evaluated strategy misses one).
    pub const INFEASIBLE: i32 = 3;
    /// Output could not be written.
    pub const OUTPUT: i32 = 4;
}

#[derive(Debug, Error)]
pub enum Error {
    /// A task file line that could not be understood.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Parse {
        path: String,
        line: usize,
        field: String,
        message: String,
    },

    /// A required field absent from the task.
    #[error("{path}: missing field `{field}`: {message}")]
    Missing {
        path: String,
        field: String,
        message: String,
    },

    /// A value present but not acceptable (out of range, contradictory).
    #[error("{path}: field `{field}`: {message}")]
    Invalid {
        path: String,
        field: String,
        message: String,
    },

    /// JSON task that does not match the task format.
    #[error("{path}: {message}")]
    Json { path: String, message: String },

    /// A preset name that does not exist.
    #[error("{path}: unknown {kind} preset `{name}`; known presets: {known}")]
    UnknownPreset {
        path: String,
        kind: &'static str,
        name: String,
        known: String,
    },

    /// A file that could not be read.
    #[error("cannot read {path}: {source}{}", read_hint(.source))]
    Read { path: PathBuf, source: std::io::Error },

    /// A file or folder that could not be written.
    #[error("cannot write {path}: {source}{}", write_hint(.source))]
    Write { path: PathBuf, source: std::io::Error },

    /// No plan meets the requirements: the binding limit and the best value reachable.
    #[error("infeasible ({phase}): {binding}")]
    Infeasible {
        phase: String,
        binding: String,
        report: String,
    },

    /// Command-line usage the options cannot express (e.g. conflicting flags).
    #[error("{0}")]
    Usage(String),

    /// A bug: something pdplan guarantees did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What to change when a file cannot be read.
fn read_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "; check the path (a relative path starts at the current folder)",
        K::PermissionDenied => "; the file is not readable by this user",
        K::NotADirectory => "; a part of the path is a file, not a folder",
        K::InvalidData => "; expected a UTF-8 text file",
        _ => "",
    }
}

/// What to change when a file or folder cannot be written.
fn write_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotADirectory | K::AlreadyExists => {
            "; a part of the path is not a folder (a file or a device): choose another output \
             folder (--out)"
        }
        K::IsADirectory => "; a folder is in the way of the file: remove it or choose another --out",
        K::PermissionDenied | K::ReadOnlyFilesystem => {
            "; the folder is not writable: choose another output folder (--out)"
        }
        K::StorageFull | K::QuotaExceeded => "; the disk is full: free space or choose another --out",
        _ => "",
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Parse { .. }
            | Error::Missing { .. }
            | Error::Invalid { .. }
            | Error::Json { .. }
            | Error::UnknownPreset { .. }
            | Error::Read { .. }
            | Error::Usage(_) => exit::BAD_INPUT,
            Error::Write { .. } => exit::OUTPUT,
            Error::Infeasible { .. } => exit::INFEASIBLE,
            Error::Internal(_) => exit::INTERNAL,
        }
    }

    /// Short kind name for summaries (`bad input`, `infeasible`, ...).
    pub fn kind(&self) -> &'static str {
        match self.exit_code() {
            exit::BAD_INPUT => "bad input",
            exit::INFEASIBLE => "infeasible",
            exit::OUTPUT => "output error",
            _ => "internal error",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
