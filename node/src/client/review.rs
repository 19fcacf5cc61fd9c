//! Review-queue calls on [`Client`] (specs/moderation.md §7.4): list a room's queue, approve or
//! reject an item. Room changes that go with them (a redaction, a ban) are ordinary signed
//! actions through [`Client::act`].

use causerie_crypto::RoomId;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ClientError;
use super::transport::Client;
use super::wire::ApiEvent;

/// One item of a room's review queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewItemInfo {
    /// Its number in the room's queue.
    pub item: u64,
    /// `held`, `flagged` or `hidden`.
    pub state: String,
    /// The event.
    pub event: ApiEvent,
    /// `client`, `peer` or `peer:<id>`.
    pub source: String,
    /// `classifier` or the fail mode that decided.
    pub ruled_by: String,
    /// Why.
    pub reason: Option<String>,
    /// The classifier's labels.
    pub labels: Vec<String>,
    /// When it was queued (ms).
    pub queued_ms: u64,
}

/// A page of a room's review queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewPage {
    /// The room.
    pub room: String,
    /// Items in the queue.
    pub count: u64,
    /// This page's items, oldest first.
    pub items: Vec<ReviewItemInfo>,
    /// The last item's number, to ask for the next page.
    pub next: Option<u64>,
}

/// What approving an item did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewApproved {
    /// The item.
    pub item: u64,
    /// Its event.
    pub event_id: String,
    /// Its state before.
    pub state: String,
    /// Whether the room shows a held event now taken.
    #[serde(default)]
    pub visible: Option<bool>,
}

/// What rejecting an item did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRejected {
    /// The item.
    pub item: u64,
    /// Its event.
    pub event_id: String,
    /// The event's author, hex.
    pub author: String,
    /// Its state before.
    pub state: String,
    /// The event is in the room: a redaction removes it.
    pub needs_redaction: bool,
}

impl Client {
    /// A page of `room`'s review queue after item `after`.
    pub async fn review_list(
        &self,
        room: &RoomId,
        after: Option<u64>,
    ) -> Result<ReviewPage, ClientError> {
        let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
        self.call(
            Method::GET,
            &format!("/rooms/{room}/review{query}"),
            None,
            true,
        )
        .await
    }

    /// Approves item `item` of `room`'s queue.
    pub async fn review_approve(
        &self,
        room: &RoomId,
        item: u64,
    ) -> Result<ReviewApproved, ClientError> {
        self.call(
            Method::POST,
            &format!("/rooms/{room}/review/{item}/approve"),
            Some(json!({})),
            true,
        )
        .await
    }

    /// Rejects item `item` of `room`'s queue.
    pub async fn review_reject(
        &self,
        room: &RoomId,
        item: u64,
        reason: Option<&str>,
    ) -> Result<ReviewRejected, ClientError> {
        let body = match reason {
            Some(reason) => json!({ "reason": reason }),
            None => json!({}),
        };
        self.call(
            Method::POST,
            &format!("/rooms/{room}/review/{item}/reject"),
            Some(body),
            true,
        )
        .await
    }
}
