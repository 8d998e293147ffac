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

/// The temporary name of `path` while it is written: `.NAME.tmp-PID` in the same folder (so the
/// rename stays on one file system and is atomic).
pub fn temp_path(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write `contents` to the temporary name of `path` and sync it; on failure nothing is left.
fn write_temp(path: &Path, contents: &str) -> Result<PathBuf> {
    let tmp = temp_path(path);
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
    Ok(tmp)
}

/// Write `contents` to `path` via a temporary file and a rename.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let tmp = write_temp(path, contents)?;
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Write a set of files into `dir` (created if needed), as one step as far as a file system
/// allows: every file is first written and synced under its temporary name; only when all of
/// them are on disk are they renamed into place, in order (so `submission.json`, last, only
/// ever points at complete plans). Any failure removes the temporary files; the previous files,
/// if any, stay as they were.
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Err(Error::Write {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "this is a file, not a folder"),
        });
    }
    fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for (name, contents) in files {
        let p = dir.join(name);
        match write_temp(&p, contents) {
            Ok(tmp) => staged.push((tmp, p)),
            Err(e) => {
                cleanup(&staged);
                return Err(e);
            }
        }
    }
    // A folder where a file goes would fail its rename: find it before the first rename.
    if let Some((_, p)) = staged.iter().find(|(_, p)| p.is_dir()) {
        cleanup(&staged);
        return Err(Error::Write {
            path: p.clone(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "a folder has this name"),
        });
    }
    let mut written = Vec::new();
    for (i, (tmp, p)) in staged.iter().enumerate() {
        if let Err(source) = fs::rename(tmp, p) {
            cleanup(&staged[i..]);
            return Err(Error::Write {
                path: p.clone(),
                source,
            });
        }
        written.push(p.clone());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(".tmp-"))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pdplan-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn writes_all_files_and_leaves_no_temp() {
        let d = scratch("ok");
        let w = write_files(&d, &[("a.json", "1\n".into()), ("b.json", "2\n".into())]).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(fs::read_to_string(d.join("b.json")).unwrap(), "2\n");
        assert!(temp_files(&d).is_empty());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn a_failed_write_keeps_the_previous_files_and_no_temp() {
        let d = scratch("fail");
        fs::write(d.join("a.json"), "old a").unwrap();
        fs::write(d.join("b.json"), "old b").unwrap();
        // `c.json` is a folder: its rename would fail (a file cannot replace a folder); found
        // before the first rename, so a.json and b.json keep their previous contents.
        fs::create_dir(d.join("c.json")).unwrap();
        fs::write(d.join("c.json").join("x"), "keep").unwrap();
        let files = [
            ("a.json", "new a".to_string()),
            ("b.json", "new b".to_string()),
            ("c.json", "new c".to_string()),
        ];
        let e = write_files(&d, &files).unwrap_err();
        assert!(matches!(e, Error::Write { .. }), "{e}");
        assert!(e.to_string().contains("c.json"), "{e}");
        assert!(temp_files(&d).is_empty(), "{:?}", temp_files(&d));
        assert_eq!(fs::read_to_string(d.join("a.json")).unwrap(), "old a");
        assert_eq!(fs::read_to_string(d.join("b.json")).unwrap(), "old b");
        // A file that cannot even be created (its folder is missing) stops before any rename:
        let files = [
            ("a.json", "newer a".to_string()),
            ("missing/b.json", "newer b".to_string()),
        ];
        assert!(write_files(&d, &files).is_err());
        assert_ne!(fs::read_to_string(d.join("a.json")).unwrap(), "newer a");
        assert!(temp_files(&d).is_empty());
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn out_inside_a_file_is_a_write_error() {
        let d = scratch("file");
        fs::write(d.join("f"), "x").unwrap();
        let e = write_files(&d.join("f"), &[("a.json", "1".into())]).unwrap_err();
        assert!(e.to_string().contains("choose another output folder"), "{e}");
        let e = write_files(&d.join("f").join("sub"), &[("a.json", "1".into())]).unwrap_err();
        assert!(e.to_string().contains("choose another output folder"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::OUTPUT);
        let _ = fs::remove_dir_all(&d);
    }
}
