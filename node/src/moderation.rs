//! Node-local moderation (specs/moderation.md, the node rules): what one node decides for
//! itself, never room state. Room rules live in the room engine (`causerie-room`).
//!
//! Layout:
//! - [`classifier`]: the classifier hook (§6): an external program asked about candidate
//!   events over JSON lines, concurrent requests matched by id, timeouts, restarts with
//!   backoff, fail modes.
//! - [`review`]: the per-room review queues (§7) in the store: held and flagged events.

pub mod classifier;
pub mod review;
