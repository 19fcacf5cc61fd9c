//! [`Inbox`]: the node letters delivered to this node, kept in the store's durable, bounded
//! inbox (`causerie_storage::InboxStore`). Delivery needs no room engine, so it goes straight to
//! the store (on the blocking thread pool), never through the actor.

use causerie_crypto::NodeKey;
use causerie_storage::{InboxId, MAX_INBOX_ITEM_BYTES, StoreError};

use super::NodeError;
use super::handle::SharedStore;
use crate::letter::{LetterError, MAX_LETTER_BYTES, NodeLetter};

// Every letter the decoder lets through fits in the inbox.
const _: () = assert!(MAX_LETTER_BYTES <= MAX_INBOX_ITEM_BYTES);

/// Handle to this node's inbox of node letters. Cheap to clone; every method is cancel-safe
/// (a delivery that started completes and stays durable).
#[derive(Clone)]
pub struct Inbox {
    store: SharedStore,
    key: NodeKey,
    arrived: std::sync::Arc<tokio::sync::Notify>,
}

impl Inbox {
    pub(super) fn new(
        store: SharedStore,
        key: NodeKey,
        arrived: std::sync::Arc<tokio::sync::Notify>,
    ) -> Self {
        Inbox {
            store,
            key,
            arrived,
        }
    }

    /// Keeps a verified letter addressed to this node; durable when this returns. Refuses a
    /// letter for another node ([`LetterError::WrongRecipient`]) and, when the inbox holds
    /// `causerie_storage::MAX_INBOX_ITEMS` letters, with [`NodeError::InboxFull`].
    pub async fn deliver(&self, letter: NodeLetter) -> Result<InboxId, NodeError> {
        if letter.to() != &self.key {
            return Err(NodeError::Letter(LetterError::WrongRecipient));
        }
        let (from, kind) = (*letter.from(), letter.kind().to_owned());
        let id = self
            .store
            .run(move |store| {
                store.inbox_push(letter.as_bytes()).map_err(|e| match e {
                    StoreError::InboxFull => NodeError::InboxFull,
                    other => NodeError::Store(other),
                })
            })
            .await?;
        tracing::info!(%from, kind, id = id.0, "node letter kept");
        self.arrived.notify_one();
        Ok(id)
    }

    /// Letters kept, oldest first, strictly after `after`, at most `limit` (clamped to
    /// `causerie_storage::MAX_INBOX_PAGE`). Each is decoded and verified again as it is read.
    pub async fn letters(
        &self,
        after: Option<InboxId>,
        limit: usize,
    ) -> Result<Vec<(InboxId, NodeLetter)>, NodeError> {
        self.store
            .run(move |store| {
                let items = store.inbox_items(after, limit).map_err(NodeError::Store)?;
                items
                    .into_iter()
                    .map(|item| {
                        NodeLetter::decode(&item.bytes)
                            .map(|letter| (item.id, letter))
                            .map_err(|e| {
                                NodeError::Store(StoreError::Corrupt {
                                    what: "inbox letter",
                                    detail: e.reason().to_owned(),
                                })
                            })
                    })
                    .collect()
            })
            .await
    }

    /// Forgets a letter (once handled), durably; `false` if it was not kept.
    pub async fn remove(&self, id: InboxId) -> Result<bool, NodeError> {
        self.store.read(move |store| store.inbox_remove(id)).await
    }

    /// How many letters are kept.
    pub async fn count(&self) -> Result<usize, NodeError> {
        self.store.read(|store| store.inbox_len()).await
    }
}
