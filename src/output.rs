//! Writing plan files atomically: each file goes to a temporary name in the same folder and is
//! renamed into place, so a failed or interrupted run leaves the previous files or none.

use crate::error::{Error, Result};
use serde_json::Value;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Pretty JSON with a trailing newline (stable bytes: keys sorted by serde_json's map).
pub fn json_string(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("a serde_json::Value always serializes");
    s.push('\n');
    s
}

/// Write `contents` to `path` via a temporary file and a rename.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = fs::File::create(&tmp).map_err(err)?;
    f.write_all(contents.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            err(e)
        })?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(e)
    })
}

/// Write a set of files into `dir` (created if needed). All contents are prepared before the
/// first write; each file is replaced atomically.
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let p = dir.join(name);
        write_atomic(&p, contents)?;
        written.push(p);
    }
    Ok(written)
}
