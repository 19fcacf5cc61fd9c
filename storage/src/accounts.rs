//! Local accounts: the users this node is the home node of (client API registration,
//! specs/client-api.md "Identity and sessions"). An account ties a user key to a handle that is
//! unique on this node, a display name and the attestation the node issued.
//!
//! Accounts are written one at a time and flushed before the write returns (registration is
//! rare and must survive a crash once acknowledged). They are not part of room commits: an
//! account says nothing about any room.
//!
//! sled layout: tree [`ACCOUNTS_TREE`]; key `0x01 ‖ user key (32 bytes)` → the account in
//! canonical CBOR; key `0x02 ‖ handle bytes` → the user key. Both written in one batch.

use std::collections::BTreeMap;

use causerie_crypto::{AttestationId, UserKey, codec};
use serde::{Deserialize, Serialize};

use crate::batch::Durable;
use crate::error::StoreError;

/// Name of the sled tree holding accounts.
pub const ACCOUNTS_TREE: &[u8] = b"causerie.accounts";
/// Longest display name, in bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 64;
/// Largest encoded account record, in bytes (checked before decoding).
pub const MAX_ACCOUNT_BYTES: usize = 1_024;

mod prefix {
    pub(super) const BY_USER: u8 = 0x01;
    pub(super) const BY_HANDLE: u8 = 0x02;
}

/// A user registered on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The attestation this node issued for the key (the latest one).
    pub attestation: AttestationId,
    /// Display name (at most [`MAX_DISPLAY_NAME_BYTES`], may be empty).
    pub display_name: String,
    /// Handle, unique on this node (see `causerie_crypto::attestation::valid_handle`).
    pub handle: String,
    /// When the account was created (ms since the Unix epoch).
    pub registered_ms: u64,
    /// The user's key.
    pub user: UserKey,
}

/// Read and write access to local accounts. Both backends implement it.
pub trait AccountStore {
    /// The account of `user`, if registered here.
    fn account(&self, user: &UserKey) -> Result<Option<Account>, StoreError>;
    /// The account holding `handle`, if any.
    fn account_by_handle(&self, handle: &str) -> Result<Option<Account>, StoreError>;
    /// Inserts or replaces `account` (same user) and makes it durable. Refuses with
    /// [`StoreError::HandleTaken`] when another user holds the handle; a changed handle frees
    /// the old one.
    fn put_account(&self, account: &Account) -> Result<Durable, StoreError>;
}

fn user_key(user: &UserKey) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(prefix::BY_USER);
    key.extend_from_slice(user.as_bytes());
    key
}

fn handle_key(handle: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + handle.len());
    key.push(prefix::BY_HANDLE);
    key.extend_from_slice(handle.as_bytes());
    key
}

fn decode_account(bytes: &[u8]) -> Result<Account, StoreError> {
    codec::decode(bytes, MAX_ACCOUNT_BYTES).map_err(|e| StoreError::corrupt("account", e.reason()))
}

/// The sled side, called by [`crate::SledStore`]'s trait impl.
pub(crate) fn sled_account(
    tree: &sled::Tree,
    user: &UserKey,
) -> Result<Option<Account>, StoreError> {
    match tree.get(user_key(user))? {
        Some(bytes) => {
            let account = decode_account(&bytes)?;
            if account.user != *user {
                return Err(StoreError::corrupt("account", "key does not match record"));
            }
            Ok(Some(account))
        }
        None => Ok(None),
    }
}

pub(crate) fn sled_account_by_handle(
    tree: &sled::Tree,
    handle: &str,
) -> Result<Option<Account>, StoreError> {
    let Some(user) = tree.get(handle_key(handle))? else {
        return Ok(None);
    };
    let bytes: [u8; 32] = user
        .as_ref()
        .try_into()
        .map_err(|_| StoreError::corrupt("account", "handle index is not a key"))?;
    let user =
        UserKey::from_bytes(&bytes).map_err(|e| StoreError::corrupt("account", e.reason()))?;
    sled_account(tree, &user)
}

pub(crate) fn sled_put_account(tree: &sled::Tree, account: &Account) -> Result<(), StoreError> {
    if let Some(owner) = tree.get(handle_key(&account.handle))?
        && owner.as_ref() != account.user.as_bytes()
    {
        return Err(StoreError::HandleTaken);
    }
    let mut batch = sled::Batch::default();
    if let Some(previous) = sled_account(tree, &account.user)?
        && previous.handle != account.handle
    {
        batch.remove(handle_key(&previous.handle));
    }
    batch.insert(user_key(&account.user), codec::encode(account)?);
    batch.insert(
        handle_key(&account.handle),
        account.user.as_bytes().to_vec(),
    );
    tree.apply_batch(batch)?;
    Ok(())
}

/// The in-memory side, held by [`crate::MemoryStore`].
#[derive(Debug, Default)]
pub(crate) struct AccountTables {
    by_user: BTreeMap<UserKey, Account>,
    by_handle: BTreeMap<String, UserKey>,
}

impl AccountTables {
    pub(crate) fn account(&self, user: &UserKey) -> Option<Account> {
        self.by_user.get(user).cloned()
    }

    pub(crate) fn account_by_handle(&self, handle: &str) -> Option<Account> {
        self.by_handle
            .get(handle)
            .and_then(|user| self.by_user.get(user))
            .cloned()
    }

    pub(crate) fn put(&mut self, account: &Account) -> Result<(), StoreError> {
        if self
            .by_handle
            .get(&account.handle)
            .is_some_and(|owner| *owner != account.user)
        {
            return Err(StoreError::HandleTaken);
        }
        if let Some(previous) = self.by_user.get(&account.user)
            && previous.handle != account.handle
        {
            self.by_handle.remove(&previous.handle);
        }
        self.by_handle.insert(account.handle.clone(), account.user);
        self.by_user.insert(account.user, account.clone());
        Ok(())
    }
}

impl AccountStore for crate::MemoryStore {
    fn account(&self, user: &UserKey) -> Result<Option<Account>, StoreError> {
        let tables = self.accounts.read().map_err(|_| StoreError::Poisoned)?;
        Ok(tables.account(user))
    }

    fn account_by_handle(&self, handle: &str) -> Result<Option<Account>, StoreError> {
        let tables = self.accounts.read().map_err(|_| StoreError::Poisoned)?;
        Ok(tables.account_by_handle(handle))
    }

    fn put_account(&self, account: &Account) -> Result<Durable, StoreError> {
        self.accounts
            .write()
            .map_err(|_| StoreError::Poisoned)?
            .put(account)?;
        crate::Store::flush(self)
    }
}

impl AccountStore for crate::SledStore {
    fn account(&self, user: &UserKey) -> Result<Option<Account>, StoreError> {
        self.with_tree(ACCOUNTS_TREE, |tree| sled_account(tree, user))
    }

    fn account_by_handle(&self, handle: &str) -> Result<Option<Account>, StoreError> {
        self.with_tree(ACCOUNTS_TREE, |tree| sled_account_by_handle(tree, handle))
    }

    fn put_account(&self, account: &Account) -> Result<Durable, StoreError> {
        self.with_tree(ACCOUNTS_TREE, |tree| sled_put_account(tree, account))?;
        // One flush makes every tree durable; its receipt is the answer.
        crate::Store::flush(self)
    }
}
