//! `causerie-room`: the room engine, deterministic and sans-IO (no tokio, no network, no clock reads, no storage).
//! Implements specs/rooms.md.
//!
//! A [`Room`] holds one room's DAG in memory. The node feeds it verified events
//! ([`Room::receive_from`], with the [`Source`] that sent each) and attestations
//! ([`Room::add_attestation`]), passing the current time as an argument, and persists what each
//! call reports in its [`Receipt`]: every event's outcome (accepted with its state-before
//! snapshot, rejected with a reason, held waiting for parents or an attestation, or refused for
//! now), the held events that stopped being held and who sent them, the new forward
//! extremities, and visibility changes.
//! [`Room::prepare`] builds the next event for an author; signing happens outside.
//!
//! Layout:
//! - [`engine`]: [`Room`]: checks on receipt, outliers, soft-fail and visibility, timeline order,
//!   event preparation.
//! - [`auth`]: the authorization rules, one pure function.
//! - [`state_res`]: state resolution v2.1, generic over [`StateEvent`].
//! - [`event`]: the [`StateEvent`] trait, the engine's [`RoomEvent`], state maps.
//! - [`receipt`]: what each call reports ([`Receipt`], [`Outcome`]) and where an event stands.
//! - [`held`]: held events (outliers): their [`Source`]s and bounds, eviction and expiry.
//! - [`content`]: typed views of power levels, join rules and memberships.
//! - [`moderation`]: ban terms (expiry, purge) and mutes (specs/moderation.md §1).
//! - [`rules`]: the content rules (specs/moderation.md §2): parsing, the obfuscation-aware
//!   matchers, the message checks and the join-wave count.
//! - [`slow`]: slow mode's per-sender index of message timestamps.
//! - [`relations`]: replies, mentions, edits and reactions: their content and their aggregation
//!   on the event they point at (specs/rooms.md §13).
//! - [`policy`]: ban-list rules, subscriptions and the pure matcher (specs/moderation.md §3).
//! - [`trust`]: which attester nodes admit users to `attested` rooms (allowlist, denylist).
//! - [`error`]: reject reasons, refusals, auth and state-resolution errors, each with a stable name.
//! - [`limits`]: the engine's named limits (a leaf: it imports nothing from the engine).
//!
//! The crate depends on `causerie-crypto`, `thiserror` and the pure text crates of the content
//! rules (`decancer`, `regex`) only, so the compiler keeps it free of IO: no tokio, no network,
//! no storage.

pub mod auth;
pub mod content;
pub mod engine;
pub mod error;
pub mod event;
pub mod held;
pub mod limits;
pub mod moderation;
pub mod policy;
pub mod receipt;
pub mod relations;
pub mod rules;
pub mod slow;
pub mod state_res;
pub mod trust;

pub use auth::{Authorized, authorize};
pub use content::{JoinRule, JoinRules, Membership, PowerLevels};
pub use engine::{Room, prepare_create};
pub use error::{AuthError, PrepareError, RefuseReason, RejectReason, RuleBreak, StateResError};
pub use event::{Credential, RoomEvent, StateEvent, StateKey, StateMap};
pub use held::{HeldEnd, HeldEnded, Source};
pub use limits::*;
pub use receipt::{
    Decision, EventStatus, Outcome, Receipt, Shown, TimelineEntry, VisibilityChange,
};
pub use relations::{Edit, Message, Reaction, ReactionCount, Relations};
pub use rules::{ClassifierMode, ContentRules, JoinWave, Links, Lockdown};
pub use state_res::{Work, resolve};
