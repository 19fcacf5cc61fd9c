//! Stores for the unit tests of the per-domain modules (each module's tests run the same checks
//! on both backends, then check what a sled store keeps across a reopen).

use crate::SledStore;

/// A fresh directory in which `first` ran on a sled store, closed again: open it to check what
/// survived.
pub(crate) fn sled_dir_after(first: impl FnOnce(&SledStore)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    first(&store);
    drop(store);
    dir
}
