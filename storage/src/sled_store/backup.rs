//! [`SledStore`]'s backup: every tree of the database, pair by pair, streamed into a
//! [`BackupWriter`] under the commit lock (format and consistency: `crate::backup`).

use std::io::Write;
use std::time::Instant;

use super::SledStore;
use crate::backup::{BackupError, BackupReport, BackupWriter};
use crate::error::StoreError;

impl SledStore {
    /// Writes a backup file to `out`: every tree, then `files`. Commits wait while it runs, so the event tree is the
    /// state after one commit; the other trees' appenders are not held (module docs of
    /// `crate::backup`).
    pub(crate) fn backup_into(
        &self,
        out: &mut dyn Write,
        files: &[(&str, &[u8])],
    ) -> Result<BackupReport, BackupError> {
        let started = Instant::now();
        let mut writer = BackupWriter::new(out, super::SCHEMA_VERSION)?;
        let _sequence = self.sequence.lock().map_err(|_| StoreError::Poisoned)?;
        let backing = self.backing()?;
        let mut names = backing.db.tree_names();
        // The same order every time: trees by name.
        names.sort();
        for name in names {
            let tree = backing.db.open_tree(&name)?;
            writer.tree(&name)?;
            for item in tree.iter() {
                let (key, value) = item.map_err(StoreError::from)?;
                writer.pair(&key, &value)?;
            }
        }
        drop(backing);
        drop(_sequence);
        let held = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        for (name, bytes) in files {
            writer.file(name, bytes)?;
        }
        let (_, mut report) = writer.finish()?;
        report.store_millis = held;
        Ok(report)
    }
}
