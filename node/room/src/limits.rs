//! The room engine's limits, named once. A leaf module: the engine's files import from here,
//! never the other way round.

pub use causerie_crypto::event::{MAX_AUTH_EVENTS, MAX_EVENT_BYTES, MAX_PREV_EVENTS};

/// How far ahead of the receiver's clock an event's origin_ts may be (5 minutes). Beyond it the
/// event is refused for now, not rejected: clocks differ between nodes.
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1_000;
/// Most events held per room while they wait for parents or an attestation, all sources
/// together (specs/rooms.md §8a).
pub const MAX_OUTLIERS: usize = 1_024;
/// Most held events one source (a peer, or the node itself) may have in a room: a quarter of
/// [`MAX_OUTLIERS`], so no source can keep the others out.
pub const MAX_HELD_PER_SOURCE: usize = 256;
/// Most held events by one author in a room.
pub const MAX_HELD_PER_AUTHOR: usize = 64;
/// How long an event stays held without resolving (5 minutes of the receiver's clock); then it
/// is forgotten.
pub const HELD_TTL_MS: u64 = 5 * 60 * 1_000;
/// Longest name of a source (a libp2p peer id takes at most 44 bytes).
pub const MAX_SOURCE_BYTES: usize = 64;
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
/// Most purge bans whose descendants are cached for the ban-and-purge rule (specs/moderation.md
/// §1.4); a cache only, it never changes a result.
pub const MAX_PURGE_CACHE: usize = 64;
