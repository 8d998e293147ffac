//! Stage 10 — the commands: command line, batch runs, file output.

pub mod batch;
pub mod cli;
pub mod output;
pub mod pipeline;
