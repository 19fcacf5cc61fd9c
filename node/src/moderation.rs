//! Node-local moderation (specs/moderation.md, the node rules): what one node decides for
//! itself, never room state. Room rules live in the room engine (`causerie-room`).
//!
//! Layout:
//! - [`banlist`]: ban lists (§3.5–§3.7): subscriptions, list indexes, the local filter and the
//!   enforcer, owned by the node actor.
//! - [`follow`]: the task that follows the lists the node's rooms subscribe to and ticks the
//!   rules' expiry.
//! - [`classifier`]: the classifier hook (§6): an external program asked about candidate
//!   events over JSON lines, concurrent requests matched by id, timeouts, restarts with
//!   backoff, fail modes.
//! - [`review`]: the per-room review queues (§7) in the store: held, flagged and hidden
//!   events, and the set of events this node hides.
//! - [`screen`]: the classifier on the path of events from peers (§6.4), between the node
//!   actor's announcements and the streams and network that follow them.

pub mod banlist;
pub mod classifier;
pub mod follow;
pub mod review;
pub mod screen;
