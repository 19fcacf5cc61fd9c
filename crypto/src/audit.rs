//! The operator audit log (specs/accountability.md §4): a hash chain of node-signed entries,
//! one per disclosure, lawful request, report decision or operator action, and a signed head
//! a node publishes so peers can later notice a rewritten log.
//!
//! Wire forms (canonical CBOR maps, keys in bytewise order):
//! - entry: `{at_ms, details, kind, node, prev, seq, signature, subject, v}`; signing input =
//!   `"causerie/v1/audit-entry\0"` ‖ the map without `signature`; its hash = SHA-256 of the whole
//!   encoded entry (signature included). Entry `seq` 1 has `prev` = 32 zero bytes; entry `n + 1`
//!   has `prev` = the hash of entry `n`.
//! - head: `{at_ms, hash, node, seq, signature, v}`; signing input = `"causerie/v1/audit-head\0"`
//!   ‖ the map without `signature`; `hash` is the hash of entry `seq` (zero bytes for `seq` 0,
//!   the empty log).
//! - export: `{entries, head, type: "audit_export", v}`: entries as byte strings, consecutive,
//!   and the signed head of the last one. [`verify_export`] checks it offline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::codec;
use crate::error::CodecError;
use crate::hash::Hash32;
use crate::keys::{NodeKey, NodeSecret};
use crate::signed::{self, Order};
use crate::signing::{Domain, Signature};

/// Largest encoded entry, in bytes.
pub const MAX_AUDIT_ENTRY_BYTES: usize = 4_096;
/// Largest encoded head, in bytes.
pub const MAX_AUDIT_HEAD_BYTES: usize = 256;
/// Longest subject, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 256;
/// Most detail fields of one entry.
pub const MAX_DETAILS: usize = 16;
/// Longest detail name, in bytes (`[a-z0-9_]`).
pub const MAX_DETAIL_NAME_BYTES: usize = 32;
/// Longest detail value, in bytes.
pub const MAX_DETAIL_VALUE_BYTES: usize = 512;
/// Longest kind name, in bytes (`[a-z0-9_]`).
pub const MAX_KIND_BYTES: usize = 32;
/// Most entries one export holds.
pub const MAX_EXPORT_ENTRIES: usize = 65_536;
/// Largest encoded export, in bytes.
pub const MAX_EXPORT_BYTES: usize = 32 * 1024 * 1024;
/// The `type` of an export.
pub const EXPORT_TYPE: &str = "audit_export";

/// What an entry records. The names are stable; a verifier accepts any well-formed kind name,
/// so kinds added later still verify with older software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuditKind {
    /// A disclosure bundle was produced for a lawful request.
    Disclosure,
    /// A lawful request was refused.
    DisclosureRefused,
    /// A lawful request was received.
    RequestReceived,
    /// An abuse report reached this node's operator queue.
    ReportReceived,
    /// The operator acted on a report.
    ReportActioned,
    /// The operator dismissed a report.
    ReportDismissed,
    /// The node attested a user key.
    AttestationIssued,
    /// The node revoked an attestation.
    AttestationRevoked,
    /// A registration record was erased (at the user's request or by retention).
    RecordErased,
    /// Any other operator action.
    OperatorAction,
}

impl AuditKind {
    /// Every kind.
    pub const ALL: [AuditKind; 10] = [
        AuditKind::Disclosure,
        AuditKind::DisclosureRefused,
        AuditKind::RequestReceived,
        AuditKind::ReportReceived,
        AuditKind::ReportActioned,
        AuditKind::ReportDismissed,
        AuditKind::AttestationIssued,
        AuditKind::AttestationRevoked,
        AuditKind::RecordErased,
        AuditKind::OperatorAction,
    ];

    /// Stable name (the entry's `kind`).
    pub const fn name(self) -> &'static str {
        match self {
            AuditKind::Disclosure => "disclosure",
            AuditKind::DisclosureRefused => "disclosure_refused",
            AuditKind::RequestReceived => "request_received",
            AuditKind::ReportReceived => "report_received",
            AuditKind::ReportActioned => "report_actioned",
            AuditKind::ReportDismissed => "report_dismissed",
            AuditKind::AttestationIssued => "attestation_issued",
            AuditKind::AttestationRevoked => "attestation_revoked",
            AuditKind::RecordErased => "record_erased",
            AuditKind::OperatorAction => "operator_action",
        }
    }

    /// The kind of a name, if it is one of these.
    pub fn parse(name: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

signed::signed_format_error! {
    /// Why an entry, head or export was refused. Each variant has a stable reason name.
    pub enum AuditError {
        /// A kind that is empty, too long or not `[a-z0-9_]`.
        #[error("bad kind")]
        BadKind => "bad_audit_kind",
        /// A subject over [`MAX_SUBJECT_BYTES`].
        #[error("subject too long")]
        SubjectTooLong => "audit_subject_too_long",
        /// Details over their limits or with a bad name.
        #[error("bad details")]
        BadDetails => "bad_audit_details",
        /// An entry with `seq` 0 (the first entry is 1).
        #[error("entry seq 0")]
        BadSeq => "bad_audit_seq",
        /// Entry 1 whose `prev` is not 32 zero bytes, or a head of seq 0 with a non-zero hash.
        #[error("bad genesis")]
        BadGenesis => "bad_audit_genesis",
        /// An export whose `type` is not `audit_export`.
        #[error("not an audit export")]
        WrongType => "not_audit_export",
        /// An export with more than [`MAX_EXPORT_ENTRIES`] entries.
        #[error("too many entries")]
        TooManyEntries => "too_many_audit_entries",
        /// An entry or head signed by another node than the export's head.
        #[error("entry {seq} signed by another node")]
        WrongNode {
            /// The entry (0 for a head).
            seq: u64,
        } => "audit_wrong_node",
        /// An entry whose seq is not its predecessor's plus one: an entry was removed, reordered
        /// or inserted.
        #[error("entry {found} where {expected} was expected")]
        SeqGap {
            /// The seq that should follow.
            expected: u64,
            /// The seq found.
            found: u64,
        } => "audit_seq_gap",
        /// An entry whose `prev` is not its predecessor's hash: an earlier entry was changed.
        #[error("entry {seq} does not chain to its predecessor")]
        PrevMismatch {
            /// The entry.
            seq: u64,
        } => "audit_prev_mismatch",
        /// The head does not name the last entry (its seq or hash differ): entries were removed
        /// from the end or changed.
        #[error("the head does not match the last entry")]
        HeadMismatch => "audit_head_mismatch",
        /// A newer log shorter than an older head.
        #[error("the log ends before the older head's entry {seq}")]
        LogShorter {
            /// The older head's seq.
            seq: u64,
        } => "audit_log_shorter",
        /// A newer log whose entry at an older head's seq has another hash: the log was rewritten.
        #[error("entry {seq} differs from the older head")]
        LogRewritten {
            /// The older head's seq.
            seq: u64,
        } => "audit_log_rewritten",
        /// A partial export that starts after the older head's entry, so it cannot be compared.
        #[error("the export starts after entry {seq}")]
        NotCovered {
            /// The older head's seq.
            seq: u64,
        } => "audit_not_covered",
    }
}

fn name_ok(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryWire {
    at_ms: u64,
    details: BTreeMap<String, String>,
    kind: String,
    node: NodeKey,
    prev: Hash32,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    subject: String,
    v: u64,
}

crate::signed_wire!(EntryWire, Domain::AuditEntry, node);

fn check_entry(wire: &EntryWire) -> Result<(), AuditError> {
    if wire.v != 1 {
        return Err(AuditError::UnsupportedVersion(wire.v));
    }
    if wire.seq == 0 {
        return Err(AuditError::BadSeq);
    }
    if wire.seq == 1 && wire.prev != Hash32([0; 32]) {
        return Err(AuditError::BadGenesis);
    }
    if !name_ok(&wire.kind, MAX_KIND_BYTES) {
        return Err(AuditError::BadKind);
    }
    if wire.subject.len() > MAX_SUBJECT_BYTES {
        return Err(AuditError::SubjectTooLong);
    }
    let details_ok = wire.details.len() <= MAX_DETAILS
        && wire
            .details
            .iter()
            .all(|(k, v)| name_ok(k, MAX_DETAIL_NAME_BYTES) && v.len() <= MAX_DETAIL_VALUE_BYTES);
    if !details_ok {
        return Err(AuditError::BadDetails);
    }
    Ok(())
}

/// An entry before the node signs it. `seq` and `prev` come from the log it extends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntryDraft {
    /// Its place in the log (1 for the first entry).
    pub seq: u64,
    /// The hash of entry `seq - 1` (32 zero bytes for entry 1).
    pub prev: Hash32,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// What it records.
    pub kind: AuditKind,
    /// Whom or what it is about (a user key, a report id, a request reference), or empty.
    pub subject: String,
    /// Further named facts (`[a-z0-9_]` names; at most [`MAX_DETAILS`]).
    pub details: BTreeMap<String, String>,
}

impl AuditEntryDraft {
    /// Signs as the node, checking the field limits first.
    pub fn sign(self, node: &NodeSecret) -> Result<AuditEntry, AuditError> {
        let wire = EntryWire {
            at_ms: self.at_ms,
            details: self.details,
            kind: self.kind.name().to_owned(),
            node: node.public(),
            prev: self.prev,
            seq: self.seq,
            signature: None,
            subject: self.subject,
            v: 1,
        };
        check_entry(&wire)?;
        AuditEntry::decode(&signed::seal(wire, node)?)
    }
}

/// A verified audit entry (format and signature; its place in a chain is checked by
/// [`verify_chain`]).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    wire: EntryWire,
    hash: Hash32,
    bytes: Vec<u8>,
}

impl PartialEq for AuditEntry {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl Eq for AuditEntry {}

impl AuditEntry {
    /// Size cap, decode, version, signature present, canonical check, field rules,
    /// `verify_strict` of the node's signature; the first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<AuditEntry, AuditError> {
        let wire = signed::open(
            bytes,
            MAX_AUDIT_ENTRY_BYTES,
            Order::VersionFirst(1),
            check_entry,
        )?
        .into_signed_wire();
        Ok(AuditEntry {
            wire,
            hash: Hash32::digest(&[bytes]),
            bytes: bytes.to_vec(),
        })
    }

    /// Its place in the log.
    pub fn seq(&self) -> u64 {
        self.wire.seq
    }
    /// The hash of the entry before it.
    pub fn prev(&self) -> Hash32 {
        self.wire.prev
    }
    /// SHA-256 of its encoding: what the next entry's `prev` and a head's `hash` hold.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }
    /// When it was written.
    pub fn at_ms(&self) -> u64 {
        self.wire.at_ms
    }
    /// Its kind name.
    pub fn kind_name(&self) -> &str {
        &self.wire.kind
    }
    /// Its kind, if this software knows it.
    pub fn kind(&self) -> Option<AuditKind> {
        AuditKind::parse(&self.wire.kind)
    }
    /// Whom or what it is about.
    pub fn subject(&self) -> &str {
        &self.wire.subject
    }
    /// Its named facts.
    pub fn details(&self) -> &BTreeMap<String, String> {
        &self.wire.details
    }
    /// The node that signed it.
    pub fn node(&self) -> &NodeKey {
        &self.wire.node
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The exact bytes the node signed: the domain prefix and the map without `signature`.
    pub fn signing_input(&self) -> Result<Vec<u8>, AuditError> {
        Ok(signed::signing_input(&self.wire)?)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadWire {
    at_ms: u64,
    hash: Hash32,
    node: NodeKey,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    v: u64,
}

crate::signed_wire!(HeadWire, Domain::AuditHead, node);

/// The head map before its signature: what `node` signs.
fn unsigned_head(node: NodeKey, seq: u64, hash: Hash32, at_ms: u64) -> HeadWire {
    HeadWire {
        at_ms,
        hash,
        node,
        seq,
        signature: None,
        v: 1,
    }
}

/// A signed statement of a log's length and last hash at a time. Publish it; a peer that kept it
/// can check with [`verify_extends`] that a later export of the log still holds that entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    seq: u64,
    hash: Hash32,
    node: NodeKey,
    at_ms: u64,
    bytes: Vec<u8>,
}

impl AuditHead {
    /// Signs the head of a log whose last entry is `seq` with hash `hash` (0 and zero bytes for
    /// the empty log).
    pub fn sign(
        node: &NodeSecret,
        seq: u64,
        hash: Hash32,
        at_ms: u64,
    ) -> Result<AuditHead, AuditError> {
        let wire = unsigned_head(node.public(), seq, hash, at_ms);
        AuditHead::decode(&signed::seal(wire, node)?)
    }

    /// Size cap, decode, version, signature present, canonical check, genesis rule,
    /// `verify_strict` of the node's signature.
    pub fn decode(bytes: &[u8]) -> Result<AuditHead, AuditError> {
        let wire = signed::open(
            bytes,
            MAX_AUDIT_HEAD_BYTES,
            Order::VersionFirst(1),
            |wire: &HeadWire| {
                if wire.seq == 0 && wire.hash != Hash32([0; 32]) {
                    return Err(AuditError::BadGenesis);
                }
                Ok(())
            },
        )?
        .wire;
        Ok(AuditHead {
            seq: wire.seq,
            hash: wire.hash,
            node: wire.node,
            at_ms: wire.at_ms,
            bytes: bytes.to_vec(),
        })
    }

    /// The last entry's seq (0: empty log).
    pub fn seq(&self) -> u64 {
        self.seq
    }
    /// The last entry's hash.
    pub fn hash(&self) -> Hash32 {
        self.hash
    }
    /// The node that signed it.
    pub fn node(&self) -> &NodeKey {
        &self.node
    }
    /// When it was signed.
    pub fn at_ms(&self) -> u64 {
        self.at_ms
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The exact bytes the node signed: the domain prefix and the map without `signature`.
    pub fn signing_input(&self) -> Result<Vec<u8>, AuditError> {
        let wire = unsigned_head(self.node, self.seq, self.hash, self.at_ms);
        Ok(signed::signing_input(&wire)?)
    }
}

/// Checks that `entries` form one unbroken stretch of a log signed by `node`: consecutive seqs,
/// each `prev` the hash of the entry before. Entry 1's `prev` is checked when decoding.
pub fn verify_chain(entries: &[AuditEntry], node: &NodeKey) -> Result<(), AuditError> {
    let mut before: Option<&AuditEntry> = None;
    for entry in entries {
        if entry.node() != node {
            return Err(AuditError::WrongNode { seq: entry.seq() });
        }
        if let Some(before) = before {
            let expected = before.seq().saturating_add(1);
            if entry.seq() != expected {
                return Err(AuditError::SeqGap {
                    expected,
                    found: entry.seq(),
                });
            }
            if entry.prev() != before.hash() {
                return Err(AuditError::PrevMismatch { seq: entry.seq() });
            }
        }
        before = Some(entry);
    }
    Ok(())
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportWire {
    entries: Vec<ByteBuf>,
    head: ByteBuf,
    #[serde(rename = "type")]
    kind: String,
    v: u64,
}

/// A verified export: a stretch of the log and the signed head of its last entry.
#[derive(Debug, Clone)]
pub struct AuditExport {
    /// The entries, in seq order.
    pub entries: Vec<AuditEntry>,
    /// The head naming the last entry.
    pub head: AuditHead,
}

impl AuditExport {
    /// Whether the export starts at entry 1 (else it is a tail of the log).
    pub fn complete(&self) -> bool {
        self.entries.first().is_none_or(|e| e.seq() == 1)
    }
}

/// Encodes an export of `entries` (consecutive, in seq order) with `head`.
pub fn encode_export(entries: &[AuditEntry], head: &AuditHead) -> Result<Vec<u8>, AuditError> {
    if entries.len() > MAX_EXPORT_ENTRIES {
        return Err(AuditError::TooManyEntries);
    }
    let wire = ExportWire {
        entries: entries
            .iter()
            .map(|e| ByteBuf::from(e.as_bytes().to_vec()))
            .collect(),
        head: ByteBuf::from(head.as_bytes().to_vec()),
        kind: EXPORT_TYPE.to_owned(),
        v: 1,
    };
    Ok(codec::encode(&wire)?)
}

/// Verifies an export offline (specs/accountability.md §4.4): the container, the head, every
/// entry, the chain, and that the head names the last entry. A changed byte anywhere, a removed,
/// inserted or reordered entry, or entries cut from the end are refused.
pub fn verify_export(bytes: &[u8]) -> Result<AuditExport, AuditError> {
    let wire: ExportWire = codec::decode(bytes, MAX_EXPORT_BYTES)?;
    if wire.v != 1 {
        return Err(AuditError::UnsupportedVersion(wire.v));
    }
    if !codec::encodes_to(&wire, bytes)? {
        return Err(CodecError::NonCanonical.into());
    }
    if wire.kind != EXPORT_TYPE {
        return Err(AuditError::WrongType);
    }
    if wire.entries.len() > MAX_EXPORT_ENTRIES {
        return Err(AuditError::TooManyEntries);
    }
    let head = AuditHead::decode(&wire.head)?;
    let entries = wire
        .entries
        .iter()
        .map(|bytes| AuditEntry::decode(bytes))
        .collect::<Result<Vec<_>, _>>()?;
    verify_chain(&entries, head.node())?;
    match entries.last() {
        None if head.seq() == 0 => {}
        Some(last) if last.seq() == head.seq() && last.hash() == head.hash() => {}
        _ => return Err(AuditError::HeadMismatch),
    }
    Ok(AuditExport { entries, head })
}

/// Checks that a verified export extends `older`, a head the checker kept from before: same
/// node, at least as long, and the entry at `older`'s seq has `older`'s hash.
pub fn verify_extends(export: &AuditExport, older: &AuditHead) -> Result<(), AuditError> {
    if older.node() != export.head.node() {
        return Err(AuditError::WrongNode { seq: 0 });
    }
    let seq = older.seq();
    if seq == 0 {
        return Ok(());
    }
    if seq > export.head.seq() {
        return Err(AuditError::LogShorter { seq });
    }
    let first = export.entries.first().map_or(u64::MAX, AuditEntry::seq);
    if seq < first {
        return Err(AuditError::NotCovered { seq });
    }
    let index = usize::try_from(seq - first).map_err(|_| AuditError::NotCovered { seq })?;
    match export.entries.get(index) {
        Some(entry) if entry.hash() == older.hash() => Ok(()),
        _ => Err(AuditError::LogRewritten { seq }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeSecret {
        NodeSecret::from_seed(&[3; 32])
    }

    fn log(node: &NodeSecret, n: u64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(Hash32([0; 32]), AuditEntry::hash);
            let mut details = BTreeMap::new();
            details.insert("request_ref".to_owned(), format!("REF-{seq}"));
            let entry = AuditEntryDraft {
                seq,
                prev,
                at_ms: 1_700_000_000_000 + seq,
                kind: AuditKind::ALL[(seq as usize) % AuditKind::ALL.len()],
                subject: "subject".into(),
                details,
            }
            .sign(node)
            .unwrap();
            out.push(entry);
        }
        out
    }

    fn export(node: &NodeSecret, entries: &[AuditEntry]) -> Vec<u8> {
        let last = entries.last().unwrap();
        let head = AuditHead::sign(node, last.seq(), last.hash(), 5).unwrap();
        encode_export(entries, &head).unwrap()
    }

    #[test]
    fn a_log_verifies_and_every_flipped_byte_is_refused() {
        let node = node();
        let entries = log(&node, 3);
        let bytes = export(&node, &entries);
        verify_export(&bytes).unwrap();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = bytes.clone();
                bad[i] ^= bit;
                assert!(verify_export(&bad).is_err(), "byte {i} bit {bit:#x}");
            }
        }
    }

    #[test]
    fn removed_reordered_and_cut_entries_are_refused() {
        let node = node();
        let entries = log(&node, 4);
        let head = AuditHead::sign(&node, 4, entries[3].hash(), 5).unwrap();
        let removed = [&entries[..1], &entries[2..]].concat();
        let err = verify_export(&encode_export(&removed, &head).unwrap()).unwrap_err();
        assert_eq!(err.reason(), "audit_seq_gap");
        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        let err = verify_export(&encode_export(&swapped, &head).unwrap()).unwrap_err();
        assert_eq!(err.reason(), "audit_seq_gap");
        let err = verify_export(&encode_export(&entries[..3], &head).unwrap()).unwrap_err();
        assert_eq!(err.reason(), "audit_head_mismatch");
    }

    #[test]
    fn a_newer_log_extends_an_older_head_and_a_rewrite_does_not() {
        let node = node();
        let entries = log(&node, 5);
        let older = AuditHead::sign(&node, 3, entries[2].hash(), 1).unwrap();
        let newer = verify_export(&export(&node, &entries)).unwrap();
        verify_extends(&newer, &older).unwrap();
        // A log rebuilt with another entry 3 (same seqs, re-signed, re-chained) does not.
        let mut rewritten: Vec<AuditEntry> = entries[..2].to_vec();
        for seq in 3..=5 {
            let entry = AuditEntryDraft {
                seq,
                prev: rewritten.last().unwrap().hash(),
                at_ms: 9,
                kind: AuditKind::OperatorAction,
                subject: String::new(),
                details: BTreeMap::new(),
            }
            .sign(&node)
            .unwrap();
            rewritten.push(entry);
        }
        let rewritten = verify_export(&export(&node, &rewritten)).unwrap();
        assert_eq!(
            verify_extends(&rewritten, &older).unwrap_err().reason(),
            "audit_log_rewritten"
        );
        let shorter = verify_export(&export(&node, &entries[..2])).unwrap();
        assert_eq!(
            verify_extends(&shorter, &older).unwrap_err().reason(),
            "audit_log_shorter"
        );
    }

    #[test]
    fn field_limits_are_checked_when_signing() {
        let draft = AuditEntryDraft {
            seq: 1,
            prev: Hash32([0; 32]),
            at_ms: 0,
            kind: AuditKind::Disclosure,
            subject: "x".repeat(MAX_SUBJECT_BYTES + 1),
            details: BTreeMap::new(),
        };
        assert_eq!(
            draft.clone().sign(&node()).unwrap_err().reason(),
            "audit_subject_too_long"
        );
        let mut bad = draft.clone();
        bad.subject.clear();
        bad.details.insert("Bad Name".into(), "v".into());
        assert_eq!(bad.sign(&node()).unwrap_err().reason(), "bad_audit_details");
        let mut genesis = draft;
        genesis.subject.clear();
        genesis.prev = Hash32([1; 32]);
        assert_eq!(
            genesis.sign(&node()).unwrap_err().reason(),
            "bad_audit_genesis"
        );
    }
}
