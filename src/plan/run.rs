//! The manifest of a plan set (issue 15): the same `run` in `prefill.json`, `decode.json` and
//! `submission.json`, so that files written together by one run are recognizably one set.

use schemars::JsonSchema;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
pub struct RunManifest {
    /// First 16 hex digits of SHA-256 over the task hash and the two plans as written (without
    /// this key): the same bytes give the same id (`--reproducible`), any difference another.
    pub id: String,
    /// SHA-256 of the task file's bytes as read (compare with `sha256sum TASK`).
    pub task_sha256: String,
}

impl RunManifest {
    /// The manifest of the plans `plans` (their JSON text) solved from `task_bytes`.
    pub fn new(task_bytes: &[u8], plans: &[String]) -> RunManifest {
        use sha2::{Digest, Sha256};
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let task_sha256 = hex(&Sha256::digest(task_bytes));
        let mut h = Sha256::new();
        h.update(task_sha256.as_bytes());
        for p in plans {
            h.update(p.as_bytes());
        }
        let id = hex(&h.finalize())[..16].to_string();
        RunManifest { id, task_sha256 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_a_function_of_task_and_plans() {
        let plans = |b: &str| ["a".to_string(), b.to_string()];
        let a = RunManifest::new(b"task", &plans("b"));
        assert_eq!(a, RunManifest::new(b"task", &plans("b")));
        assert_ne!(a.id, RunManifest::new(b"task", &plans("c")).id);
        assert_ne!(a.id, RunManifest::new(b"other", &plans("b")).id);
        // sha256("task"), as `printf task | sha256sum` gives it.
        assert!(a.task_sha256.starts_with("0ebb429f"), "{}", a.task_sha256);
        assert_eq!(a.id.len(), 16);
    }
}
