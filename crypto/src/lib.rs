//! `causerie-crypto`: the cryptographic and wire-format ground every other Causerie crate stands on.
//!
//! Pure and synchronous: no tokio, no network, and file IO only in the key-file helpers.
//!
//! Layout:
//! - [`codec`]: the one CBOR entry point (size cap, then a bounded allocation-free pre-scan of
//!   lengths, nesting and the data model, then type-strict decoding and the canonical round-trip
//!   check) and [`Value`], the restricted data model of event content.
//! - [`address`]: ids, user keys and invite links in text: the one strict parser.
//! - [`hash`]: SHA-256 identifiers ([`EventId`], [`RoomId`], [`AttestationId`]).
//! - [`idmap`]: [`IdMap`], a randomly keyed lookup table without iteration, for hot id lookups.
//! - [`lower_hex`]: the one text spelling of 32-byte values (64 lowercase hex digits).
//! - [`keys`]: user and node key newtypes (canonical, not of small order; validated keys are
//!   memoised per thread), secrets that never print, key files.
//! - [`signing`]: signing domains (a signature made for one kind never verifies as another).
//! - [`signed`]: the envelope every signed document shares: seal, open (decode, canonical check,
//!   field rules, verify) in one order; [`signed::Statement`], a verified node-signed statement.
//! - `names`: the closed lists of stable wire names (a report's category, a revocation's
//!   reason, a signal's kind), each declared once with its names.
//! - [`event`]: the signed event envelope, its id, redaction, and the verify path.
//! - [`attestation`]: a home node's signed statement about a user key.
//! - [`audit`]: the node's hash-chained, signed audit log: entries, heads, exports.
//! - [`disclosure`]: a home node's signed disclosure bundle for a lawful request.
//! - [`report`]: abuse reports (signed by the reporter, evidence embedded) and the receipts
//!   nodes sign for them (specs/accountability.md §1).
//! - [`revocation`]: a home node's signed revocation of the attestations it issued for a user
//!   key, and the pure rule of which events it revokes (specs/accountability.md §3).
//! - [`signal`]: ephemeral room signals (typing, read markers) a home node signs for its user
//!   (specs/signals.md).
//! - [`directory`]: a node's signed directory announcement (its public rooms, member counts,
//!   addresses and aliases), server names and room aliases (specs/directory.md).
//! - [`challenge`]: the login/registration challenge a user signs to prove they hold their key.
//! - [`key_export`]: the passphrase-protected key export file (specs/client-api.md).
//! - [`error`]: typed errors, each with a stable reason name.
//! - `testing` (feature `testing`): event and attestation fixtures for other crates' tests.
//!
//! Deliberately absent: batch signature verification, whose accept/reject differs from
//! `verify_strict` on small-order and non-canonical inputs (specs/events.md §4).
//!
//! Normative description: `specs/events.md` and `specs/identity.md`; vectors in
//! `specs/test-vectors/`, written by `cargo run -p causerie-crypto --example gen_vectors`.

pub mod address;
pub mod attestation;
pub mod audit;
pub mod challenge;
pub mod codec;
pub mod directory;
pub mod disclosure;
pub mod error;
pub mod event;
pub mod hash;
pub mod idmap;
pub mod key_export;
pub mod keys;
pub mod lower_hex;
mod names;
pub mod report;
pub mod revocation;
pub mod signal;
pub mod signed;
pub mod signing;
#[cfg(feature = "testing")]
pub mod testing;

pub use address::{AddressError, InviteLink};
pub use attestation::{Assurance, Attestation, AttestationDraft};
pub use audit::{AuditEntry, AuditEntryDraft, AuditError, AuditHead, AuditKind};
pub use challenge::Challenge;
pub use codec::{Content, Value};
pub use error::{CodecError, EventError, KeyError};
pub use event::{Event, EventDraft};
pub use hash::{AttestationId, EventId, Hash32, RoomId};
pub use idmap::IdMap;
pub use key_export::{KeyExport, KeyExportError};
pub use keys::{NodeKey, NodeSecret, PublicKey, UserKey, UserSecret};
pub use report::{Receipt, Report, ReportId};
pub use revocation::{Revocation, RevocationDraft, RevocationReason};
pub use signal::{Signal, SignalDraft, SignalKind};
pub use signing::{Domain, Signature};
