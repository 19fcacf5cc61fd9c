//! Room aliases this node gives in its own namespace (specs/directory.md §3): the local part of
//! `#<local>:<this node's server name>` and the room it names. The node checks the spelling and
//! who may set one; the store keeps the pairs, durably and bounded.
//!
//! Bounded: at most [`MAX_ALIASES`] aliases; a full table refuses a new one (`aliases_full`).
//! Each change is durable before it returns.
//!
//! sled layout: tree [`ALIASES_TREE`]; key = the local part's UTF-8 bytes (1 to
//! [`MAX_STORED_ALIAS_BYTES`]) → the room id (32 bytes).

use std::collections::BTreeMap;

use causerie_crypto::{Hash32, RoomId};

use crate::error::StoreError;
use crate::memory::lock;
use crate::side_tree::array_from;

/// Name of the sled tree holding aliases.
pub const ALIASES_TREE: &[u8] = b"causerie.aliases";
/// Most aliases held (above what one node's announcement can carry, so every room it announces
/// can have one).
pub const MAX_ALIASES: usize = 4_096;
/// Longest alias local part held, in bytes (the format's own limit).
pub const MAX_STORED_ALIAS_BYTES: usize = 32;

/// Durable, bounded storage of the node's room aliases. Both backends implement it.
pub trait AliasStore {
    /// Gives `local` to `room`, durably (replacing the room it named before, if any). Refuses
    /// an empty alias or one over [`MAX_STORED_ALIAS_BYTES`] (`alias_too_large`) and a new one
    /// when [`MAX_ALIASES`] are held (`aliases_full`).
    fn set_alias(&self, local: &str, room: &RoomId) -> Result<(), StoreError>;
    /// Removes `local`, durably; whether it was held.
    fn remove_alias(&self, local: &str) -> Result<bool, StoreError>;
    /// Every alias with its room, in bytewise order of the local part.
    fn aliases(&self) -> Result<Vec<(String, RoomId)>, StoreError>;
}

fn check_size(local: &str) -> Result<(), StoreError> {
    if local.is_empty() || local.len() > MAX_STORED_ALIAS_BYTES {
        return Err(StoreError::AliasTooLarge {
            size: local.len(),
            max: MAX_STORED_ALIAS_BYTES,
        });
    }
    Ok(())
}

/// The in-memory side, held by [`crate::MemoryStore`].
pub(crate) type AliasTable = BTreeMap<String, RoomId>;

impl AliasStore for crate::MemoryStore {
    fn set_alias(&self, local: &str, room: &RoomId) -> Result<(), StoreError> {
        check_size(local)?;
        let mut table = lock(&self.aliases)?;
        if !table.contains_key(local) && table.len() >= MAX_ALIASES {
            return Err(StoreError::AliasesFull);
        }
        table.insert(local.to_owned(), *room);
        Ok(())
    }

    fn remove_alias(&self, local: &str) -> Result<bool, StoreError> {
        let mut table = lock(&self.aliases)?;
        Ok(table.remove(local).is_some())
    }

    fn aliases(&self) -> Result<Vec<(String, RoomId)>, StoreError> {
        let table = lock(&self.aliases)?;
        Ok(table
            .iter()
            .map(|(local, room)| (local.clone(), *room))
            .collect())
    }
}

impl AliasStore for crate::SledStore {
    fn set_alias(&self, local: &str, room: &RoomId) -> Result<(), StoreError> {
        check_size(local)?;
        self.write_tree(
            ALIASES_TREE,
            |tree| {
                if !tree.contains_key(local.as_bytes())? && tree.len() >= MAX_ALIASES {
                    return Err(StoreError::AliasesFull);
                }
                tree.insert(local.as_bytes(), &room.as_bytes()[..])?;
                Ok(())
            },
            |_| true,
        )
    }

    fn remove_alias(&self, local: &str) -> Result<bool, StoreError> {
        self.write_tree(
            ALIASES_TREE,
            |tree| Ok(tree.remove(local.as_bytes())?.is_some()),
            |removed| *removed,
        )
    }

    fn aliases(&self) -> Result<Vec<(String, RoomId)>, StoreError> {
        self.with_tree(ALIASES_TREE, |tree| {
            let mut out = Vec::new();
            for item in tree.iter().take(MAX_ALIASES) {
                let (key, value) = item?;
                let local = std::str::from_utf8(&key)
                    .ok()
                    .filter(|l| !l.is_empty() && l.len() <= MAX_STORED_ALIAS_BYTES)
                    .ok_or_else(|| StoreError::corrupt("alias", "bad key"))?;
                let room = array_from(&value, 0)
                    .ok_or_else(|| StoreError::corrupt("alias", "room id of another length"))?;
                out.push((local.to_owned(), RoomId(Hash32(room))));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(byte: u8) -> RoomId {
        RoomId(Hash32([byte; 32]))
    }

    fn exercise(store: &dyn AliasStore) {
        assert!(store.aliases().unwrap().is_empty());
        store.set_alias("lobby", &room(1)).unwrap();
        store.set_alias("cafe", &room(2)).unwrap();
        store.set_alias("lobby", &room(3)).unwrap();
        assert_eq!(
            store.aliases().unwrap(),
            vec![("cafe".to_owned(), room(2)), ("lobby".to_owned(), room(3))]
        );
        assert!(store.remove_alias("cafe").unwrap());
        assert!(!store.remove_alias("cafe").unwrap());
        assert_eq!(store.aliases().unwrap().len(), 1);
        let long = "a".repeat(MAX_STORED_ALIAS_BYTES + 1);
        assert_eq!(
            store.set_alias(&long, &room(1)).unwrap_err().reason(),
            "alias_too_large"
        );
        assert_eq!(
            store.set_alias("", &room(1)).unwrap_err().reason(),
            "alias_too_large"
        );
    }

    #[test]
    fn memory_backend() {
        exercise(&crate::MemoryStore::new());
    }

    #[test]
    fn sled_backend_and_reopen() {
        let dir = crate::test_stores::sled_dir_after(|store| exercise(store));
        let store = crate::SledStore::open(dir.path()).unwrap();
        assert_eq!(
            store.aliases().unwrap(),
            vec![("lobby".to_owned(), room(3))]
        );
    }
}
