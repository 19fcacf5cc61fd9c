//! `causerie-node`: the Causerie node.
//!
//! Layout:
//! - `room`: the deterministic, sans-IO room engine (specs/rooms.md): event building, checks on
//!   receipt, authorization rules, soft-fail, state resolution v2.1, timeline order.
//! - [`rooms`]: the receive path: room engines backed by a `causerie-storage` store, one
//!   flushed group commit per call.
//! - [`node`]: [`node::Node`], the cloneable handle to the actor that owns the store and the
//!   room engines (bounded commands, oneshot replies, announcements of accepted events).
//! - [`message`]: signed node-to-node messages (report delivery).
//! - [`config`]: the typed configuration (defaults, TOML file, overrides, validation).
//! - `cli` and `src/main.rs`: the `causerie` binary.

pub mod config;
pub mod message;
pub mod node;
pub mod room;
pub mod rooms;
