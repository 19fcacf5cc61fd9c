//! Backups taken by the node actor (`causerie admin backup`): the actor writes the file between
//! two group commits, so every event it acknowledged before is in it (it acknowledges an event
//! only once the commit holding it is flushed). Writes the blocking-pool appenders make (audit
//! log, registration records, reports, inbox, review queues) are not ordered with the actor;
//! each of those trees is as of some moment during the backup (`causerie_storage::backup`).

use std::io::Write;
use std::path::Path;

use causerie_storage::Store;
use causerie_storage::backup::{BackupError, BackupReport};

/// Writes a backup of `store` and `files` to the new file `out` (mode 0600: it holds the node
/// key; an existing file is never replaced), synced before returning. A partial file is
/// removed on failure.
pub(super) fn write_backup<S: Store + ?Sized>(
    store: &S,
    out: &Path,
    files: &[(String, Vec<u8>)],
) -> Result<BackupReport, BackupError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(out)?;
    let written = (|| {
        let mut buffered = std::io::BufWriter::new(&file);
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
            .collect();
        let report = store.backup(&mut buffered, &named)?;
        buffered.flush()?;
        drop(buffered);
        file.sync_all()?;
        Ok(report)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(out);
    }
    written
}
