//! The one output policy (issue 15): every command that writes files goes through an
//! [`OutputSet`].
//!
//! 1. **Check** ([`OutputSet::stage`]): every destination is absent or a regular file (never a
//!    symbolic link, FIFO, device, socket or folder: a rename would replace that entry), is not
//!    an input of the run (same device and inode) and is not another output of the same run.
//! 2. **Stage**: in each target folder a fresh private temporary folder is created exclusively
//!    (`.pdplan-tmp-PID-XXXXXX`, random suffix, mode 0700: [`tempfile::Builder`]); every file is
//!    created there with `O_EXCL` (a planted symbolic link cannot redirect it) and written.
//!    Temporary folders of processes that no longer run are removed first.
//! 3. **Commit** ([`Staged::commit`]): the target folders are locked (an exclusive `flock` on
//!    each folder, taken in sorted order), the destinations are checked again, the files are renamed
//!    into place (same folder, so each rename is atomic) and the folder is synced. Two runs into
//!    one folder therefore never mix: each set of files is renamed in as a whole while the other
//!    run waits.
//!
//! **fsync policy — one durable write per solve**: before the renames, each staged file's data is
//! made durable (`fdatasync`; on a journaling filesystem the first call commits the one
//! transaction holding all the new files, the others find theirs committed), and after the
//! renames each target folder is synced (its new names). So after exit 0 a crash or power loss
//! keeps either the complete previous set or the complete new one. A filesystem-wide flush
//! (`syncfs(2)`, used before) is not used: it waits for every dirty page of the filesystem,
//! other programs' writes included — measured 100–400 ms per solve while a build wrote to the
//! same disk, against ~1 ms for the solve's own files. `--no-fsync` ([`set_fsync`]) skips both
//! syncs (faster for large batches on slow disks; a power loss shortly after may then leave
//! empty or missing files).
//!
//! A failure at any step removes the temporary folder; the destinations keep their previous
//! contents.

use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether files and folders are synced (see the module's fsync policy).
static FSYNC: AtomicBool = AtomicBool::new(true);

/// Set the fsync policy for this process (`--no-fsync` sets `false`).
pub fn set_fsync(on: bool) {
    FSYNC.store(on, Ordering::SeqCst);
}

fn fsync_on() -> bool {
    FSYNC.load(Ordering::SeqCst)
}

/// Prefix of the private temporary folders (hidden: batch never walks into them).
const TEMP_PREFIX: &str = ".pdplan-tmp-";

/// Pretty JSON with a trailing newline (stable bytes: keys sorted by serde_json's map).
pub fn json_string(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// `submission.json`: the plan files relative to itself, and the manifest of the set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Submission {
    pub prefill: &'static str,
    pub decode: &'static str,
    pub run: crate::plan::run::RunManifest,
}

/// A file or folder name derived from a task name, safe to join to an output folder: no path
/// separator, no control character, no leading `.` or `-`, never empty, `.` or `..` (then
/// `task`), at most 100 characters.
pub fn sanitize_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches(['.', '-', ' ']).trim_end();
    let short: String = trimmed.chars().take(100).collect();
    if short.is_empty() {
        "task".to_string()
    } else {
        short
    }
}

fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn other_err(path: &Path, msg: String) -> Error {
    write_err(path, std::io::Error::other(msg))
}

/// The folder of `path` (`.` for a bare name) and its file name.
fn split(path: &Path) -> Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| n != "." && n != "..")
        .ok_or_else(|| Error::Usage(format!("{}: expected a file name", path.display())))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Ok((dir.to_path_buf(), name))
}

/// Refuse a destination that exists and is not a regular file (`lstat`: a symbolic link is
/// refused, not followed).
fn check_destination(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(write_err(path, e)),
        Ok(m) if m.file_type().is_file() => Ok(Some(m)),
        Ok(m) if m.is_dir() => Err(write_err(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "a folder has this name"),
        )),
        Ok(m) => Err(other_err(
            path,
            format!(
                "this is {}; pdplan replaces only regular files: choose another output path",
                crate::input::read::kind_name(&m)
            ),
        )),
    }
}

/// Device and inode of an existing file (following links), to compare outputs with inputs.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// All files one command writes, committed together (see the module documentation).
#[derive(Debug, Default)]
pub struct OutputSet {
    files: Vec<(PathBuf, String)>,
    removals: Vec<PathBuf>,
    inputs: Vec<PathBuf>,
}

impl OutputSet {
    pub fn new() -> OutputSet {
        OutputSet::default()
    }

    /// An input of the run: no output may resolve to it.
    pub fn input(&mut self, path: &Path) -> &mut Self {
        self.inputs.push(path.to_path_buf());
        self
    }

    /// A file to write.
    pub fn file(&mut self, path: PathBuf, contents: String) -> &mut Self {
        self.files.push((path, contents));
        self
    }

    /// A regular file to remove at commit (a plan of an earlier run that this run's failure
    /// must not leave behind); anything else with that name is left alone.
    pub fn remove(&mut self, path: PathBuf) -> &mut Self {
        self.removals.push(path);
        self
    }

    /// The destinations, in the order given.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Check every destination (kind, inputs, duplicates) without writing anything.
    pub fn check(&self) -> Result<()> {
        let inputs: Vec<(u64, u64)> = self.inputs.iter().filter_map(|p| identity(p)).collect();
        let mut seen: BTreeMap<(PathBuf, String), &Path> = BTreeMap::new();
        for (path, _) in &self.files {
            let (dir, name) = split(path)?;
            let key = (dir.canonicalize().unwrap_or(dir), name);
            if let Some(first) = seen.insert(key, path) {
                return Err(Error::Usage(format!(
                    "{} and {} are the same file; give each output its own path",
                    first.display(),
                    path.display()
                )));
            }
            if check_destination(path)?.is_some() && identity(path).is_some_and(|id| inputs.contains(&id)) {
                return Err(Error::Usage(format!(
                    "{} is an input of this run; pdplan never writes over its input: choose \
                     another output path",
                    path.display()
                )));
            }
        }
        Ok(())
    }

    /// Check, create the target folders, and write every file into a private temporary folder
    /// inside its target folder (made durable at [`Staged::commit`]). Nothing is visible yet.
    pub fn stage(self) -> Result<Staged> {
        self.check()?;
        let mut folders: BTreeMap<PathBuf, Folder> = BTreeMap::new();
        for (path, contents) in &self.files {
            let (dir, name) = split(path)?;
            let folder = match folders.entry(dir.clone()) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(Folder::open(&dir)?),
            };
            folder.write(&name, path, contents)?;
        }
        for path in &self.removals {
            let (dir, name) = split(path)?;
            if !folders.contains_key(&dir) && dir.is_dir() {
                folders.insert(dir.clone(), Folder::open(&dir)?);
            }
            if let Some(f) = folders.get_mut(&dir) {
                f.removals.push((name, path.clone()));
            }
        }
        Ok(Staged { folders })
    }

    /// Stage and commit at once; the paths written, in order.
    pub fn write(self) -> Result<Vec<PathBuf>> {
        self.stage()?.commit()
    }
}

/// One target folder of a staged set.
#[derive(Debug)]
struct Folder {
    dir: PathBuf,
    /// `Some` until the folder is dropped (see `Drop`).
    temp: Option<tempfile::TempDir>,
    /// The outermost folder this run created for `dir` (none when `dir` existed): removed again,
    /// if still empty, when the set is dropped without being committed.
    created: Option<PathBuf>,
    committed: std::cell::Cell<bool>,
    /// (name, destination) in the order given.
    files: Vec<(String, PathBuf)>,
    removals: Vec<(String, PathBuf)>,
}

impl Folder {
    fn open(dir: &Path) -> Result<Folder> {
        if let Ok(m) = fs::metadata(dir)
            && !m.is_dir()
        {
            return Err(write_err(
                dir,
                std::io::Error::new(std::io::ErrorKind::AlreadyExists, "this is a file, not a folder"),
            ));
        }
        let created = dir
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .last()
            .map(Path::to_path_buf);
        fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
        remove_stale_temps(dir);
        let temp = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .tempdir_in(dir)
            .map_err(|e| write_err(dir, e))?;
        Ok(Folder {
            dir: dir.to_path_buf(),
            temp: Some(temp),
            created,
            committed: std::cell::Cell::new(false),
            files: Vec::new(),
            removals: Vec::new(),
        })
    }

    fn temp(&self) -> &Path {
        self.temp.as_ref().map_or(self.dir.as_path(), |t| t.path())
    }

    fn write(&mut self, name: &str, dest: &Path, contents: &str) -> Result<()> {
        let tmp = self.temp().join(name);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| write_err(dest, e))?;
        f.write_all(contents.as_bytes()).map_err(|e| write_err(dest, e))?;
        self.files.push((name.to_string(), dest.to_path_buf()));
        Ok(())
    }

    /// Rename the staged files in (the folder is locked by the caller).
    fn commit(&self) -> Result<Vec<PathBuf>> {
        for (_, dest) in &self.files {
            check_destination(dest)?;
        }
        for (_, path) in &self.removals {
            if let Ok(Some(_)) = check_destination(path) {
                fs::remove_file(path).map_err(|e| write_err(path, e))?;
            }
        }
        let mut written = Vec::new();
        self.committed.set(true);
        for (name, dest) in &self.files {
            fs::rename(self.temp().join(name), dest).map_err(|e| write_err(dest, e))?;
            written.push(dest.clone());
        }
        if fsync_on() {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| write_err(&self.dir, e))?;
        }
        Ok(written)
    }
}

impl Drop for Folder {
    /// The temporary folder goes; a target folder this run created goes too if nothing was
    /// committed into it and it is still empty (`remove_dir` refuses anything else), so a failed
    /// run leaves no new empty folder behind.
    fn drop(&mut self) {
        drop(self.temp.take());
        if self.committed.get() {
            return;
        }
        if let Some(top) = &self.created {
            for d in self.dir.ancestors() {
                if fs::remove_dir(d).is_err() || d == top.as_path() {
                    break;
                }
            }
        }
    }
}

/// A set written into private temporary folders, not yet visible.
#[derive(Debug)]
pub struct Staged {
    folders: BTreeMap<PathBuf, Folder>,
}

impl Staged {
    /// Lock every target folder (sorted order), rename the files in, sync, unlock. The temporary
    /// folders are removed in every case.
    pub fn commit(self) -> Result<Vec<PathBuf>> {
        if fsync_on() {
            self.flush()?;
        }
        let mut locks = Vec::new();
        for dir in self.folders.keys() {
            locks.push(lock_folder(dir)?);
        }
        let mut written = Vec::new();
        for f in self.folders.values() {
            written.extend(f.commit()?);
        }
        drop(locks);
        Ok(written)
    }
}

impl Staged {
    /// Make every staged file durable before any rename: each file's data and size
    /// (`fdatasync`); on a journaling filesystem the first call commits the transaction that
    /// holds all of them, so the others find their inodes committed.
    fn flush(&self) -> Result<()> {
        for f in self.folders.values() {
            for (name, dest) in &f.files {
                File::open(f.temp().join(name))
                    .and_then(|x| x.sync_data())
                    .map_err(|e| write_err(dest, e))?;
            }
        }
        Ok(())
    }
}

/// Take the exclusive lock of a target folder (blocks while another run commits there): an
/// `flock` on the folder itself, so no lock file is left behind and none can be planted.
fn lock_folder(dir: &Path) -> Result<File> {
    let f = File::open(dir).map_err(|e| write_err(dir, e))?;
    f.lock().map_err(|e| write_err(dir, e))?;
    Ok(f)
}

/// Whether process `pid` still runs (Linux: `/proc/PID`); `true` when that cannot be told.
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

/// The PID in a temporary entry's name: `.pdplan-tmp-PID-XXXX` or the older `.NAME.tmp-PID`.
fn temp_owner(name: &str) -> Option<u32> {
    if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
        return rest.split('-').next()?.parse().ok();
    }
    let (_, pid) = name.strip_prefix('.')?.rsplit_once(".tmp-")?;
    pid.parse().ok()
}

/// Remove temporary entries left in `dir` by pdplan processes that no longer run.
fn remove_stale_temps(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_owner(&name) else {
            continue;
        };
        // This process never makes the older `.NAME.tmp-PID` names: one with its PID was planted.
        let legacy = !name.starts_with(TEMP_PREFIX);
        if alive(pid) && !(legacy && pid == std::process::id()) {
            continue;
        }
        let p = e.path();
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                let _ = fs::remove_dir_all(&p);
            }
            Ok(_) => {
                let _ = fs::remove_file(&p);
            }
            Err(_) => {}
        }
    }
}

/// Write `contents` to `path` through the output policy (one file).
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let mut set = OutputSet::new();
    set.file(path.to_path_buf(), contents.to_string());
    set.write().map(|_| ())
}

/// Write a set of files into `dir` through the output policy.
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<Vec<PathBuf>> {
    let mut set = OutputSet::new();
    for (name, contents) in files {
        set.file(dir.join(name), contents.clone());
    }
    set.write()
}

/// Print `text` on standard output. A closed pipe (`pdplan ... | head`) is not an error: the
/// reader has what it wanted, the run goes on (its files are still written) and exits 0. Any
/// other failure (a full disk) is [`Error::Write`] on `standard output` (exit 4).
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(write_err(Path::new("standard output"), e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn names_from_tasks_never_leave_the_folder() {
        for (raw, want) in [
            ("..", "task"),
            (".", "task"),
            ("", "task"),
            ("../x", "_x"),
            ("-rf", "rf"),
            ("a/b\\c", "a_b_c"),
            ("qwen3", "qwen3"),
        ] {
            assert_eq!(sanitize_name(raw), want, "{raw}");
        }
        assert_eq!(sanitize_name(&"x".repeat(500)).len(), 100);
    }

    #[test]
    fn a_set_is_written_whole_and_leaves_no_temp() {
        let d = tempfile::tempdir().unwrap();
        let w = write_files(d.path(), &[("a.json", "1\n".into()), ("b.json", "2\n".into())]).unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(fs::read_to_string(d.path().join("b.json")).unwrap(), "2\n");
        assert_eq!(names(d.path()), ["a.json", "b.json"]);
    }

    #[test]
    fn non_regular_destinations_inputs_and_duplicates_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("link.json")).unwrap();
        let e = write_files(d.path(), &[("a.json", "1".into()), ("link.json", "x".into())]).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
        assert!(
            !d.path().join("a.json").exists(),
            "nothing of a refused set is written"
        );
        let mut set = OutputSet::new();
        set.input(&target).file(target.clone(), "x".into());
        let e = set.write().unwrap_err();
        assert!(e.to_string().contains("input of this run"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::BAD_INPUT);
        let mut set = OutputSet::new();
        set.file(d.path().join("x"), "1".into())
            .file(d.path().join(".").join("x"), "2".into());
        assert!(set.write().unwrap_err().to_string().contains("same file"));
        fs::create_dir(d.path().join("c.json")).unwrap();
        let e = write_files(d.path(), &[("c.json", "1".into())]).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::OUTPUT, "{e}");
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        // PIDs above the kernel's maximum (4194304) never run.
        let dead = d.path().join(".pdplan-tmp-99999999-abc");
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("prefill.json"), "old").unwrap();
        fs::write(d.path().join(".prefill.json.tmp-99999999"), "old").unwrap();
        let live = d.path().join(format!(".pdplan-tmp-{}-keep", std::process::id()));
        fs::create_dir(&live).unwrap();
        write_files(d.path(), &[("a.json", "1".into())]).unwrap();
        let left = names(d.path());
        assert!(
            left.contains(&live.file_name().unwrap().to_string_lossy().into_owned()),
            "{left:?}"
        );
        assert!(
            !dead.exists() && !d.path().join(".prefill.json.tmp-99999999").exists(),
            "{left:?}"
        );
        assert_eq!(temp_owner(".pdplan-tmp-42-x1y2"), Some(42));
        assert_eq!(temp_owner(".decode.json.tmp-7"), Some(7));
        assert_eq!(temp_owner("prefill.json"), None);
    }

    #[test]
    fn removals_take_only_regular_files() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("prefill.json"), "old").unwrap();
        fs::create_dir(d.path().join("decode.json")).unwrap();
        let mut set = OutputSet::new();
        set.remove(d.path().join("prefill.json"))
            .remove(d.path().join("decode.json"));
        set.write().unwrap();
        assert!(!d.path().join("prefill.json").exists());
        assert!(d.path().join("decode.json").is_dir());
    }
}
