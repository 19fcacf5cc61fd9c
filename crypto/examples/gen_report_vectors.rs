//! Deterministic generator of `specs/test-vectors/reports.json` (specs/accountability.md §1):
//! signed reports (an event report, a user report whose evidence is a redacted event, a room
//! report), receipts, and reports that must be refused, each with its reason.
//!
//! Run with `cargo run -p causerie-crypto --example gen_report_vectors`; it rewrites the file,
//! and `crypto/tests/report_vectors.rs` derives the same content again and compares. The wire
//! maps are built here by plain serde structs ([`RawReport`], [`RawReceipt`]), independently of
//! the library's checks, so invalid reports can be perfectly signed; for every valid one the
//! generator asserts that the library gives the same bytes and id.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    dead_code
)]

use causerie_crypto::codec;
use causerie_crypto::report::{Category, Queue, ReceiptDraft, Report, ReportDraft, Status, Target};
use causerie_crypto::testing::{vector_event, vector_file, vectors_dir};
use causerie_crypto::{Domain, Hash32, NodeSecret, Receipt, UserSecret};
use serde::Serialize;
use serde_bytes::ByteBuf;
use serde_json::{Value as Json, json};

/// When the reports were made (2025-11-24T17:00:00Z, in ms).
const CREATED_MS: u64 = 1_764_003_600_000;

#[derive(Serialize, Clone)]
struct RawReport {
    category: String,
    created_ms: u64,
    events: Vec<ByteBuf>,
    reporter: ByteBuf,
    reporter_node: ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    target: String,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<ByteBuf>,
    v: u64,
}

#[derive(Serialize, Clone)]
struct RawReceipt {
    at_ms: u64,
    node: ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    queue: String,
    report: ByteBuf,
    reporter: ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    status: String,
    v: u64,
}

fn seed(label: &str) -> [u8; 32] {
    Hash32::digest(&[format!("causerie/test-vectors/{label}").as_bytes()]).0
}

fn buf(bytes: &[u8]) -> ByteBuf {
    ByteBuf::from(bytes.to_vec())
}

/// Signs a raw report as `reporter`: (unsigned bytes, signature, signed bytes).
fn sign_raw(raw: &RawReport, reporter: &UserSecret) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut raw = raw.clone();
    raw.signature = None;
    let unsigned = codec::encode(&raw).unwrap();
    let signature = reporter.sign(Domain::Report, &unsigned);
    raw.signature = Some(buf(signature.as_bytes()));
    (
        unsigned,
        signature.as_bytes().to_vec(),
        codec::encode(&raw).unwrap(),
    )
}

/// Everything `reports.json` holds, derived from fixed seeds and `events.json`.
pub(crate) fn vectors() -> Json {
    let events = vector_file("events.json");
    let alice = UserSecret::from_seed(&seed("user/alice"));
    let bob = UserSecret::from_seed(&seed("user/bob"));
    let paris = NodeSecret::from_seed(&seed("node/paris"));
    let message = vector_event(&events, "message");
    let redacted = vector_event(&events, "message.redacted");
    let room = message.room_id();

    let drafts = [
        (
            "event_report",
            "alice reports bob's message (full signed bytes embedded) for harassment",
            ReportDraft {
                target: Target::Event,
                category: Category::Harassment,
                text: "he keeps writing to me after I asked him to stop".into(),
                room: Some(room),
                user: Some(*message.author()),
                events: vec![message.clone()],
                reporter: alice.public(),
                reporter_node: paris.public(),
                created_ms: CREATED_MS,
            },
        ),
        (
            "user_report_redacted_evidence",
            "a user report whose evidence is the redacted form of bob's message: same id, the signature still verifies, the text is gone",
            ReportDraft {
                target: Target::User,
                category: Category::Impersonation,
                text: String::new(),
                room: Some(room),
                user: Some(*message.author()),
                events: vec![redacted.clone()],
                reporter: alice.public(),
                reporter_node: paris.public(),
                created_ms: CREATED_MS + 1,
            },
        ),
        (
            "room_report",
            "a room report without evidence",
            ReportDraft {
                target: Target::Room,
                category: Category::Spam,
                text: "the whole room is an advertisement".into(),
                room: Some(room),
                user: None,
                events: vec![],
                reporter: bob.public(),
                reporter_node: paris.public(),
                created_ms: CREATED_MS + 2,
            },
        ),
    ];

    let mut reports = Vec::new();
    let mut signed = Vec::new();
    for (name, description, draft) in &drafts {
        let secret = if draft.reporter == alice.public() {
            &alice
        } else {
            &bob
        };
        let raw = RawReport {
            category: draft.category.name().into(),
            created_ms: draft.created_ms,
            events: draft.events.iter().map(|e| buf(e.as_bytes())).collect(),
            reporter: buf(draft.reporter.as_bytes()),
            reporter_node: buf(draft.reporter_node.as_bytes()),
            room: draft.room.map(|r| buf(r.as_bytes())),
            signature: None,
            target: draft.target.name().into(),
            text: draft.text.clone(),
            user: draft.user.map(|u| buf(u.as_bytes())),
            v: 1,
        };
        let (unsigned, signature, bytes) = sign_raw(&raw, secret);
        // The library agrees with this independent encoding.
        assert_eq!(draft.encode().unwrap(), unsigned, "{name}");
        let report = draft.sign(secret).unwrap();
        assert_eq!(report.as_bytes(), &bytes[..], "{name}");
        let input = Domain::Report.signing_input(&unsigned);
        assert_eq!(draft.signing_input().unwrap(), input, "{name}");
        let mut id_input = input.clone();
        id_input.extend_from_slice(&signature);
        assert_eq!(report.id().0, Hash32::digest(&[&id_input]), "{name}");
        reports.push(json!({
            "name": name,
            "description": description,
            "reporter": hex::encode(draft.reporter.as_bytes()),
            "reporter_node": hex::encode(draft.reporter_node.as_bytes()),
            "target": draft.target.name(),
            "category": draft.category.name(),
            "text": draft.text,
            "room": draft.room.map(|r| hex::encode(r.as_bytes())),
            "user": draft.user.map(|u| hex::encode(u.as_bytes())),
            "events": draft.events.iter().map(|e| json!({
                "id": e.id().0.to_hex(),
                "redacted": e.is_redacted(),
            })).collect::<Vec<_>>(),
            "created_ms": draft.created_ms,
            "unsigned": hex::encode(&unsigned),
            "signing_input": hex::encode(&input),
            "signature": hex::encode(&signature),
            "bytes": hex::encode(&bytes),
            "id": report.id().to_string(),
        }));
        signed.push((raw, report));
    }

    let first = &signed[0].1;
    let receipt_drafts = [
        (
            "received_operator",
            ReceiptDraft {
                report: first.id(),
                reporter: *first.reporter(),
                queue: Queue::Operator,
                status: Status::Received,
                note: None,
                at_ms: CREATED_MS + 500,
            },
        ),
        (
            "actioned_review",
            ReceiptDraft {
                report: first.id(),
                reporter: *first.reporter(),
                queue: Queue::Review,
                status: Status::Actioned,
                note: Some("message removed, author banned from the room".into()),
                at_ms: CREATED_MS + 60_000,
            },
        ),
        (
            "dismissed_operator",
            ReceiptDraft {
                report: signed[2].1.id(),
                reporter: *signed[2].1.reporter(),
                queue: Queue::Operator,
                status: Status::Dismissed,
                note: Some("no breach of our terms".into()),
                at_ms: CREATED_MS + 120_000,
            },
        ),
    ];
    let mut receipts = Vec::new();
    for (name, draft) in &receipt_drafts {
        let raw = RawReceipt {
            at_ms: draft.at_ms,
            node: buf(paris.public().as_bytes()),
            note: draft.note.clone(),
            queue: draft.queue.name().into(),
            report: buf(draft.report.as_bytes()),
            reporter: buf(draft.reporter.as_bytes()),
            signature: None,
            status: draft.status.name().into(),
            v: 1,
        };
        let unsigned = codec::encode(&raw).unwrap();
        let signature = paris.sign(Domain::ReportReceipt, &unsigned);
        let mut with = raw.clone();
        with.signature = Some(buf(signature.as_bytes()));
        let bytes = codec::encode(&with).unwrap();
        let receipt = draft.sign(&paris).unwrap();
        assert_eq!(receipt.as_bytes(), &bytes[..], "{name}");
        assert_eq!(Receipt::decode(&bytes).unwrap(), receipt);
        receipts.push(json!({
            "name": name,
            "node": hex::encode(paris.public().as_bytes()),
            "report": draft.report.to_string(),
            "reporter": hex::encode(draft.reporter.as_bytes()),
            "queue": draft.queue.name(),
            "status": draft.status.name(),
            "note": draft.note,
            "at_ms": draft.at_ms,
            "signing_input": hex::encode(Domain::ReportReceipt.signing_input(&unsigned)),
            "signature": hex::encode(signature.as_bytes()),
            "bytes": hex::encode(&bytes),
        }));
    }

    // Refusals: each signed properly unless the fault is the signature.
    let base = signed[0].0.clone();
    let mut invalid = Vec::new();
    let mut refuse = |name: &str, bytes: Vec<u8>, reason: &str| {
        let got = Report::decode(&bytes).map(|_| ()).map_err(|e| e.reason());
        assert_eq!(got, Err(reason), "{name}");
        invalid.push(json!({ "name": name, "bytes": hex::encode(&bytes), "reason": reason }));
    };
    {
        let (_, _, mut bytes) = sign_raw(&base, &alice);
        let at = bytes
            .windows(6)
            .position(|w| w == b"writin")
            .expect("text in the report");
        bytes[at] ^= 0x20;
        refuse("text changed after signing", bytes, "bad_signature");
    }
    {
        let (_, _, bytes) = sign_raw(&base, &bob);
        refuse(
            "signed by another key than reporter",
            bytes,
            "bad_signature",
        );
    }
    {
        let mut raw = base.clone();
        raw.category = "rude".into();
        refuse(
            "unknown category",
            sign_raw(&raw, &alice).2,
            "unknown_category",
        );
    }
    {
        let mut raw = base.clone();
        raw.target = "node".into();
        refuse("unknown target", sign_raw(&raw, &alice).2, "unknown_target");
    }
    {
        let mut raw = base.clone();
        raw.events.clear();
        refuse(
            "event report without events",
            sign_raw(&raw, &alice).2,
            "bad_report_target",
        );
    }
    {
        let mut raw = base.clone();
        raw.user = Some(buf(alice.public().as_bytes()));
        refuse(
            "evidence by another user than the reported one",
            sign_raw(&raw, &alice).2,
            "evidence_mismatch",
        );
    }
    {
        let mut raw = base.clone();
        raw.events.push(raw.events[0].clone());
        refuse(
            "the same event twice",
            sign_raw(&raw, &alice).2,
            "evidence_mismatch",
        );
    }
    {
        let mut raw = base.clone();
        let mut event = raw.events[0].to_vec();
        let last = event.len() - 1;
        event[last] ^= 1;
        raw.events[0] = ByteBuf::from(event);
        refuse(
            "embedded event with a broken signature",
            sign_raw(&raw, &alice).2,
            "bad_evidence",
        );
    }
    {
        let mut raw = base.clone();
        raw.text = "x".repeat(2_001);
        refuse(
            "text over 2,000 bytes",
            sign_raw(&raw, &alice).2,
            "report_text_too_long",
        );
    }
    {
        let mut raw = base.clone();
        raw.v = 2;
        refuse(
            "unknown version",
            sign_raw(&raw, &alice).2,
            "unsupported_version",
        );
    }

    json!({
        "description": "Abuse reports and receipts (specs/accountability.md §1). Keys: keys.json (alice, bob, node paris); events: events.json. \
            unsigned = canonical CBOR of the report without signature (what a node hands a client to sign); \
            signing_input = \"causerie/v1/report\\0\" ‖ unsigned; id = SHA-256(signing_input ‖ signature). \
            Receipts: signing_input = \"causerie/v1/report-receipt\\0\" ‖ receipt without signature, signed by the node. \
            invalid: reports Report::decode must refuse, with the reason. Written by `cargo run -p causerie-crypto --example gen_report_vectors`, \
            checked by crypto/tests/report_vectors.rs.",
        "reports": reports,
        "receipts": receipts,
        "invalid": invalid,
    })
}

fn main() {
    let path = vectors_dir().join("reports.json");
    let mut text = serde_json::to_string_pretty(&vectors()).unwrap();
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    println!("wrote {}", path.display());
}
