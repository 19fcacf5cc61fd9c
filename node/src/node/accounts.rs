//! [`Accounts`]: the users this node is the home node of, and the attestations it holds of any
//! user. Reads go straight to the store (it is safe to share between threads) on the blocking
//! thread pool, so they never queue behind the actor's group commits. Writes go through the
//! actor: an account's new attestation must be stored (and the held events it releases
//! announced) before the account names it, and handles stay unique only if account writes take
//! turns.

use std::collections::BTreeMap;

use causerie_crypto::{Attestation, AttestationId, UserKey};
use causerie_storage::Account;
use tokio::sync::mpsc;

use super::actor::Command;
use super::handle::{SharedStore, ask};
use super::queries::latest_attestation;
use super::{MAX_USERS_LOOKUP, NodeError};

/// Handle to local accounts and the attestations this node holds. Cheap to clone; every method
/// is cancel-safe.
#[derive(Clone)]
pub struct Accounts {
    store: SharedStore,
    commands: mpsc::Sender<Command>,
}

impl Accounts {
    pub(super) fn new(store: SharedStore, commands: mpsc::Sender<Command>) -> Self {
        Accounts { store, commands }
    }

    /// The account of `user`, if registered here.
    pub async fn by_user(&self, user: UserKey) -> Result<Option<Account>, NodeError> {
        self.store.read(move |store| store.account(&user)).await
    }

    /// The account holding `handle`, if any.
    pub async fn by_handle(&self, handle: String) -> Result<Option<Account>, NodeError> {
        self.store
            .read(move |store| store.account_by_handle(&handle))
            .await
    }

    /// Stores `attestation` (if given; held events waiting for it are released) and then
    /// `account`, durably. Refuses with the store's `handle_taken` when another user holds the
    /// handle.
    pub async fn put(
        &self,
        account: Account,
        attestation: Option<Attestation>,
    ) -> Result<(), NodeError> {
        ask(&self.commands, |r| {
            Command::PutAccount(Box::new(account), attestation, r)
        })
        .await
    }

    /// A stored attestation.
    pub async fn attestation(&self, id: AttestationId) -> Result<Option<Attestation>, NodeError> {
        self.store.read(move |store| store.attestation(&id)).await
    }

    /// The latest attestation this node holds for each of `users` (at most
    /// [`MAX_USERS_LOOKUP`]), whether still valid or not.
    pub async fn attestations_of(
        &self,
        users: Vec<UserKey>,
    ) -> Result<BTreeMap<UserKey, Attestation>, NodeError> {
        if users.len() > MAX_USERS_LOOKUP {
            return Err(NodeError::OverLimit("users lookup"));
        }
        self.store
            .run(move |store| {
                let mut out = BTreeMap::new();
                for user in users {
                    if let Some(latest) =
                        latest_attestation(store, &user).map_err(NodeError::Store)?
                    {
                        out.insert(user, latest);
                    }
                }
                Ok(out)
            })
            .await
    }
}
