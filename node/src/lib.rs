//! `causerie-node`: the Causerie node.
//!
//! Layout:
//! - [`ledger`]: the receive path: [`ledger::Ledger`] keeps one room engine (crate `causerie-room`) per room in step
//!   with a `causerie-storage` store, one flushed group commit per call.
//! - [`node`]: the node actor, which owns the ledger on its own thread, and its handles:
//!   [`node::Node`] (bounded commands, oneshot replies, announcements of accepted events with
//!   their senders' profiles), [`node::Accounts`] (accounts and attestations read straight
//!   from the store) and [`node::Inbox`] (the durable inbox of node letters).
//! - [`net`]: federation over libp2p (gossip, pulls, catch-up, joining).
//! - [`moderation`]: node-local moderation: the classifier hook and the review queues.
//! - [`records`]: home-node registration records (registration time, connections, contact
//!   data), their retention, the sweeper and the erasure of a record.
//! - [`rate_limits`]: the node's rate limits (token buckets per user, room and peer).
//! - [`views`]: what clients are shown of a room (name, topic, join rule, power, members).
//! - [`letter`]: signed node-to-node letters (report delivery).
//! - [`reports`]: abuse reports: taking, routing and delivering them (durable outbox, retries),
//!   the recipients' queues, receipts and status changes (specs/accountability.md §1).
//! - [`revocations`]: attestation revocations the node holds (its own and its peers'), durable,
//!   and the index the actor asks whether an event's attestation was revoked before it.
//! - [`directory`]: the federated room directory: other nodes' announcements of their public
//!   rooms, this node's aliases, listing and alias resolution (specs/directory.md).
//! - [`signals`]: ephemeral room signals: typing indicators and read markers, signed by the
//!   user's home node, never in a room's DAG (specs/signals.md).
//! - [`moderation`]: node-side moderation: ban lists (following, filter, enforcer).
//! - [`clock`]: the wall clock (`now_ms`), read in one place.
//! - [`counters`]: [`counters::ReasonCounts`], counts by reason name for `/metrics`.
//! - [`config`]: the typed configuration (defaults, TOML file, overrides, validation).
//! - [`daemon`]: starts and stops a whole node (store, actors, HTTP); used by `causerie run` and
//!   by the in-process test cluster.
//! - [`api`]: HTTP: node information and Prometheus metrics.
//! - [`web`]: the embedded web client's static files (index.html, ES modules, stylesheet).
//! - [`client`]: a typed async client for the client API (specs/client-api.md) that checks
//!   every draft before signing it with the user's key; used by the CLI and `causerie demo`.
//! - `cli` and `src/main.rs`: the `causerie` binary.
//!
//! The crate sets the global allocator (feature `jemalloc`, on by default) so that the binary,
//! its tests and its benchmarks all run on the allocator the node runs on.

/// jemalloc. The receive path frees many small objects per event (drafts, receipts, signing
/// inputs) between ones it keeps for the room's life (events, engine nodes, index entries);
/// glibc's allocator spent a visible share of that path searching its bins (`unlink_chunk`), and
/// its fragmentation grows with uptime. The measured difference is in `PERFORMANCE.md`.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod api;
pub mod client;
pub mod clock;
pub mod config;
pub mod counters;
pub mod daemon;
pub mod directory;
pub mod ledger;
pub mod letter;
pub mod moderation;
pub mod net;
pub mod node;
pub mod rate_limits;
pub mod records;
pub mod reports;
pub mod revocations;
pub mod signals;
pub mod views;
pub mod web;
