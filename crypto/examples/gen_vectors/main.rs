//! Deterministic generator of `specs/test-vectors/` (specs/events.md, specs/identity.md).
//!
//! Run with `cargo run -p causerie-crypto --example gen_vectors`; it rewrites
//! `specs/test-vectors/*.json` and the output is committed. Everything is derived from fixed
//! seeds (Ed25519 signing is deterministic), so a second run produces identical files; the tests in
//! `crypto/tests/vectors.rs` load the files and check every vector against the library.
//!
//! The envelope is encoded here by a second, independent implementation ([`RawEvent`]: plain
//! serde structs, byte buffers, no library checks), which lets the generator write invalid events
//! that are otherwise perfectly signed, and cross-checks the library: for every valid event the
//! generator asserts that the library's bytes, id and signing input equal its own. The
//! node-signed statements (attestations, revocations, directory announcements, signals) share
//! that cross-check and their common refusals in `signed.rs`.
//!
//! Files:
//! - `keys.json`: user and node keys (seed, public key, node peer id), invalid public keys.
//! - `ed25519.json`: RFC 8032 §7.1 vectors and small-order / non-canonical edge cases, with the
//!   expected `verify_strict` outcome.
//! - `events.json`: signed events (create, member, message, rich content, redaction) and the
//!   redacted forms of each.
//! - `attestations.json`: signed attestations.
//! - `revocations.json`: signed revocations of attestations, which events they revoke, and
//!   refused statements with their reasons (specs/accountability.md §3).
//! - `directory.json`: signed directory announcements, server names and aliases as text, and
//!   refused announcements with their reasons (specs/directory.md).
//! - `signals.json`: typing and read signals a home node signs for its user, and refused
//!   signals with their reasons (specs/signals.md).
//! - `invalid.json`: events, attestations and content values that must be rejected, each with the
//!   `reason()` the library must give.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

mod attestations;
mod directory;
mod ed25519;
mod events;
mod invalid;
mod keys;
mod revocations;
mod signals;
mod signed;
mod strict;
mod support;

fn main() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/test-vectors");
    std::fs::create_dir_all(&dir).unwrap();

    let keys = keys::generate(&dir);
    ed25519::generate(&dir, &keys);
    let attestations = attestations::generate(&dir, &keys);
    let events = events::generate(&dir, &keys, &attestations);
    revocations::generate(&dir, &keys, &attestations);
    directory::generate(&dir, &keys);
    signals::generate(&dir, &keys, &attestations);
    let invalid = invalid::generate(&keys, &attestations, &events);
    strict::generate(&dir, &keys, &attestations, &events, invalid);
}
