//! `causerie-node`: the Causerie node.
//!
//! Layout:
//! - `room`: the deterministic, sans-IO room engine (specs/rooms.md): event building, checks on
//!   receipt, authorization rules, soft-fail, state resolution v2.1, timeline order.
//! - [`rooms`]: the receive path: room engines backed by a `causerie-storage` store, one
//!   flushed group commit per call.
//! - [`node`]: [`node::Node`], the cloneable handle to the actor that owns the store and the
//!   room engines (bounded commands, oneshot replies, announcements of accepted events).
//! - [`net`]: federation over libp2p (gossip, pulls, catch-up, joining).
//! - [`views`]: what clients are shown of a room (name, topic, join rule, power, members).
//! - [`message`]: signed node-to-node messages (report delivery).
//! - [`config`]: the typed configuration (defaults, TOML file, overrides, validation).
//! - [`daemon`]: starts and stops a whole node (store, actors, HTTP); used by `causerie run` and
//!   by the in-process test cluster.
//! - [`api`]: HTTP: node information and Prometheus metrics.
//! - [`web`]: the embedded web client's static files (index.html, ES modules, stylesheet).
//! - `cli` and `src/main.rs`: the `causerie` binary.

pub mod api;
pub mod config;
pub mod daemon;
pub mod message;
pub mod net;
pub mod node;
pub mod room;
pub mod rooms;
pub mod views;
pub mod web;
