//! The data directory's lock: one running node per data directory.
//!
//! A node takes an exclusive OS file lock (`flock` on Unix, `LockFileEx` on Windows, through
//! [`std::fs::File::try_lock`]) on `<data dir>/LOCK` before it opens anything else, and writes
//! its process id into the file. A second node on the same directory is refused at once with
//! [`LockError::Locked`], naming that process when the file says which it is. The OS releases
//! the lock when the holder closes the file or dies, so a crash never leaves a stale lock; the
//! file itself stays.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file inside the data directory.
pub const LOCK_FILE_NAME: &str = "LOCK";
/// Most bytes read from a lock file held by another process (a process id and a newline).
const MAX_LOCK_FILE_BYTES: u64 = 32;

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "the data directory {} is in use by another causerie node{}; stop that node, or give this one another --data-dir",
        dir.display(),
        pid.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file says.
        pid: Option<u32>,
    },
    /// The lock file could not be opened, locked or written.
    #[error("lock file {}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl LockError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            LockError::Locked { .. } => "data_dir_locked",
            LockError::Io { .. } => "data_dir_lock",
        }
    }
}

/// A held lock on a data directory; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks `dir` (which must exist) for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE_NAME);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's process id must survive a refused attempt.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Locked {
                    dir: dir.to_owned(),
                    pid: holder(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(DataDirLock { _file: file })
    }
}

/// The process id a held lock file names, if it names one.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(MAX_LOCK_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap();
        // A second open file description conflicts, even in the same process.
        match DataDirLock::acquire(dir.path()) {
            Err(error @ LockError::Locked { pid, .. }) => {
                assert_eq!(pid, Some(std::process::id()));
                assert_eq!(error.reason(), "data_dir_locked");
                assert!(
                    error
                        .to_string()
                        .contains(&format!("process {}", std::process::id()))
                );
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        let again = DataDirLock::acquire(dir.path()).unwrap();
        drop(again);
    }

    #[test]
    fn a_lock_file_without_a_process_id_still_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE_NAME);
        std::fs::write(&path, "garbage").unwrap();
        let file = File::options().read(true).write(true).open(&path).unwrap();
        file.lock().unwrap();
        match DataDirLock::acquire(dir.path()) {
            Err(LockError::Locked { pid: None, .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}
