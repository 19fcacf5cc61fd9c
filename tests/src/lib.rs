//! `causerie-tests`: cross-crate Causerie scenarios.
//!
//! Layout:
//! - [`api`]: a node on loopback and a user driving its client API over HTTP as clients do
//!   (register, log in, prepare, sign, submit), used by `tests/api*.rs` and `tests/browser_*.rs`
//!   (specs/client-api.md).
//! - [`cluster`]: the multi-node harness (in-process nodes on loopback, child-process nodes,
//!   users, rooms, waits on conditions) used by `tests/federation_*.rs` and
//!   `benches/federation.rs` (specs/federation.md).
//! - [`browser`]: a small WebDriver client driving headless Chromium through ChromeDriver,
//!   and the web client's test helpers, used by `tests/browser_*.rs` against the web client
//!   (specs/client-api.md).
//! - [`bench`]: the benchmarks' arguments, output line and percentiles (`benches/*.rs`).
//! - [`tls`]: a test certificate authority, leaves, an NSS database that makes Chromium trust it,
//!   and one-shot HTTPS requests (`tests/https.rs`, `tests/browser_https.rs`).
//! - [`store_check`]: checks that a stopped node's store still verifies event by event, for the
//!   scenarios that redact, purge or erase (`tests/gdpr.rs`, `tests/moderation_actions.rs`).
//! - [`netns`]: network namespaces as test hosts (veth, bridges, a NAT router), node processes
//!   inside them and forwards to their APIs, used by `tests/netns_nat.rs` (specs/federation.md).
//! - `src/bin/causerie-cluster-node.rs`: a node as a child process, for crash scenarios and the
//!   namespace tests.
//! - `tests/convergence.rs`: the seeded convergence simulation of the room engine
//!   (specs/rooms.md).

pub mod api;
pub mod bench;
pub mod browser;
pub mod cluster;
pub mod netns;
pub mod store_check;
pub mod tls;
