//! Bounded, kind-checked reading of input files (the one input policy, issue 15).
//!
//! Every file pdplan reads — a task, a Hugging Face `config.json`, a JSON file sniffed by
//! `batch` — goes through [`read_bounded`]:
//!
//! * the path is checked with `stat` *before* it is opened: a FIFO, a device, a socket or a
//!   folder is refused (opening a FIFO for reading blocks until a writer comes; a device such
//!   as `/dev/zero` never ends);
//! * the file is opened with `O_NONBLOCK`, so that a FIFO swapped in between the check and the
//!   open cannot block either, and checked again on the open handle (`fstat`), which is the
//!   file actually read;
//! * at most `max + 1` bytes are read, so a file over the cap is refused after reading a bounded
//!   amount, whatever its size or kind.

use crate::error::{Error, Result};
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Largest task file read (a task is a few KB; this stops `/dev/zero` or a wrong file early).
pub const MAX_TASK_BYTES: u64 = 16 << 20;

/// What kind of file system object `meta` describes, in words (for messages).
pub fn kind_name(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_file() {
        "a regular file"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn refuse(path: &Path, meta: &Metadata) -> Error {
    let what = kind_name(meta);
    let hint = if meta.is_dir() {
        "expected a file"
    } else {
        "pdplan reads only regular files (a pipe or a device could block or never end)"
    };
    Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("this is {what}; {hint}")),
    }
}

/// Open `path` for reading if it is a regular file (symbolic links followed), never blocking.
fn open_regular(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(err)?;
    if !meta.is_file() {
        return Err(refuse(path, &meta));
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(err)?;
    let meta = f.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(refuse(path, &meta));
    }
    Ok(f)
}

/// `O_NONBLOCK` (the value of Linux and most Unix systems; `libc::O_NONBLOCK`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const O_NONBLOCK: i32 = 0x0004;

/// The bytes of the regular file `path`, at most `max` of them; anything else (missing, a
/// folder, a FIFO, a device, a socket, a larger file) is [`Error::Read`] saying which.
pub fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>> {
    let f = open_regular(path)?;
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(Error::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other(format!(
                "the file is larger than {} MiB; a task file is a few KB: is this the right file?",
                max >> 20
            )),
        });
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text (an invalid byte is [`Error::Read`] with `InvalidData`).
pub fn read_text_bounded(path: &Path, max: u64) -> Result<String> {
    let bytes = read_bounded(path, max)?;
    String::from_utf8(bytes).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_folders_are_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let e = read_bounded(Path::new("/dev/zero"), 16).unwrap_err().to_string();
        assert!(e.contains("a device"), "{e}");
        let fifo = d.path().join("f.md");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            // Would block forever if it were opened for reading without a writer.
            let e = read_bounded(&fifo, 16).unwrap_err().to_string();
            assert!(e.contains("FIFO"), "{e}");
        }
        let e = read_bounded(d.path(), 16).unwrap_err().to_string();
        assert!(e.contains("a folder"), "{e}");
        let link = d.path().join("z.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let e = read_bounded(&link, 16).unwrap_err().to_string();
        assert!(e.contains("a device"), "{e}");
    }

    #[test]
    fn the_cap_is_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.md");
        std::fs::write(&p, [b'x'; 32]).unwrap();
        assert_eq!(read_bounded(&p, 32).unwrap().len(), 32);
        let e = read_bounded(&p, 31).unwrap_err().to_string();
        assert!(e.contains("larger than"), "{e}");
    }
}
