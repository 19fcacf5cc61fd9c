//! `causerie-node`: the Causerie node.
//!
//! Layout:
//! - `room`: the deterministic, sans-IO room engine (specs/rooms.md): event building, checks on
//!   receipt, authorization rules, soft-fail, state resolution v2.1, timeline order.
//! - `cli` and `src/main.rs`: the `causerie` binary.

pub mod room;
