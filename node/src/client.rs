//! A typed async client for the client API (specs/client-api.md), used by the `causerie`
//! command line, `causerie demo` and the tests.
//!
//! The user's secret stays with the caller: the client asks the node to prepare an event,
//! checks the draft it gets back (it decodes, the author is the user, room, kind, state key and
//! the asked-for content fields are what was asked, and the signing input derives from the draft)
//! and only then signs it and submits the signature. A node that answers with something else, a
//! body over [`MAX_RESPONSE_BYTES`], or JSON of the wrong shape gets a typed [`ClientError`].
//! Tokens travel in the `Authorization` header only and are never logged or printed.
//!
//! Layout:
//! - this file: the limits every part shares;
//! - `client/error.rs`: [`ClientError`] and its reason names;
//! - `client/wire.rs`: the API's JSON shapes (data only);
//! - `client/checks.rs`: what is checked before signing ([`Expect`], [`check_draft`], login
//!   challenges) and the room ids and join targets the user types;
//! - `client/transport.rs`: [`Client`], the HTTP connection, sessions and signed submissions;
//! - `client/rooms.rs`: room reads and actions on [`Client`] (history, create, join, send);
//! - `client/relations.rs`: replies, edits, reactions, deletions and direct messages on
//!   [`Client`] (specs/rooms.md §13);
//! - `client/resolve.rs`: rooms and users as typed (ids, aliases, keys, handles) and their
//!   lookups on [`Client`];
//! - `client/review.rs`: the review queue (list, approve, reject);
//! - `client/stream.rs`: the live stream, a bounded server-sent-events parser;
//! - `client/banlists.rs`: ban-list reads on [`Client`].
//! - `client/admin.rs`: the operator API on [`Client`], with the operator token.
//! - `client/gdpr.rs`: export, the erasure (the user's redactions, then the record).

use std::time::Duration;

mod admin;
mod banlists;
mod checks;
mod error;
mod gdpr;
mod relations;
mod reports;
mod resolve;
mod review;
mod rooms;
mod stream;
mod transport;
mod wire;

pub use checks::{Expect, JoinTarget, check_draft};
pub use error::ClientError;
pub use gdpr::{
    ErasureReport, MAX_EXPORT_PAGES, MAX_RATE_LIMITED_RETRIES, NotRedacted, RATE_LIMIT_PAUSE,
};
pub use reports::{ReceiptInfo, ReportAsk, ReportFieldsInfo, ReportInfo};
pub use resolve::{ResolvedAlias, RoomRef, UserRef};
pub use review::{ReviewApproved, ReviewItemInfo, ReviewPage, ReviewRejected};
pub use stream::{EventStream, StreamItem};
pub use transport::Client;
pub use wire::{
    Account, ApiEvent, AttestationInfo, DmInfo, Draft, Edited, Member, NewRoom, Page,
    PowerLevelsInfo, ReactionInfo, ReplyTo, RoomInfo, Sender, Submitted,
};

/// Largest response body read (a history page of 200 events of up to 64 KiB each, as JSON,
/// fits; a hostile node cannot make the client allocate more).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Longest line read from the live stream (one event as JSON, with room to spare).
pub const MAX_STREAM_LINE_BYTES: usize = 512 * 1024;
/// Largest `data` of one stream message.
pub const MAX_STREAM_DATA_BYTES: usize = 1024 * 1024;
/// How long a plain request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle connection is kept for the next request. Below the node's keep-alive idle
/// timeout, so the client never sends a request on a connection the node is closing.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
const _: () = assert!(
    POOL_IDLE_TIMEOUT.as_millis() < crate::api::limits::HEADER_READ_TIMEOUT.as_millis(),
    "the client must drop idle connections before the node does"
);
/// Largest history page the API serves (specs/client-api.md, "Limits").
pub const MAX_PAGE_LIMIT: u32 = 200;
