//! The room engine: deterministic and sans-IO (no tokio, no network, no clock reads, no storage).
//! Implements specs/rooms.md.
//!
//! A [`Room`] holds one room's DAG in memory. The node feeds it verified events
//! ([`Room::receive`]) and attestations ([`Room::add_attestation`]), passing the current time as
//! an argument, and persists what each call reports in its [`Receipt`]: every event's outcome
//! (accepted with its state-before snapshot, rejected with a reason, held waiting for parents or
//! an attestation, or refused for now), the new forward extremities, and visibility changes.
//! [`Room::prepare`] builds the next event for an author; signing happens outside.
//!
//! Layout:
//! - [`engine`]: [`Room`]: checks on receipt, outliers, soft-fail and visibility, timeline order,
//!   event preparation.
//! - [`auth`]: the authorization rules, one pure function.
//! - [`state_res`]: state resolution v2.1, generic over [`StateEvent`].
//! - [`event`]: the [`StateEvent`] trait, the engine's [`RoomEvent`], state maps.
//! - [`content`]: typed views of power levels, join rules and memberships.
//! - [`error`]: reject reasons, refusals, auth and state-resolution errors, each with a stable name.

pub mod auth;
pub mod content;
pub mod engine;
pub mod error;
pub mod event;
pub mod state_res;

pub use auth::{Authorized, authorize};
pub use content::{JoinRule, JoinRules, Membership, PowerLevels};
pub use engine::{
    Decision, EventStatus, Outcome, Receipt, Room, Shown, TimelineEntry, VisibilityChange,
    prepare_create,
};
pub use error::{AuthError, PrepareError, RefuseReason, RejectReason, StateResError};
pub use event::{Credential, RoomEvent, StateEvent, StateKey, StateMap};
pub use state_res::{Work, resolve};

pub use causerie_crypto::event::{MAX_AUTH_EVENTS, MAX_EVENT_BYTES, MAX_PREV_EVENTS};

/// How far ahead of the receiver's clock an event's origin_ts may be (5 minutes). Beyond it the
/// event is refused for now, not rejected: clocks differ between nodes.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1_000;
/// Most events held per room while they wait for parents or an attestation.
pub const MAX_OUTLIERS: usize = 1_024;
/// Most forward extremities (DAG tips) a room accepts. An event that would add one more is
/// refused for now (see specs/rooms.md §8).
pub const MAX_FORWARD_EXTREMITIES: usize = 64;
/// Work budget of one state resolution (events visited, keys compared, auth checks run).
pub const MAX_STATE_RES_WORK: u64 = 1_000_000;
/// Most rejected event ids remembered per room (oldest forgotten first).
pub const MAX_REJECTED_REMEMBERED: usize = 10_000;
/// Most attestations held per room.
pub const MAX_ATTESTATIONS: usize = 65_536;
/// Most ancestor sets cached for the soft-fail rule's descendant test.
pub const MAX_ANCESTOR_CACHE: usize = 256;
/// Most state resolutions cached (by their inputs) per room.
pub const MAX_RESOLUTION_CACHE: usize = 64;
