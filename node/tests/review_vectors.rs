//! The stored review item (specs/moderation.md §7.2) against `specs/test-vectors/review.json`:
//! decoding each vector's `bytes` gives its `fields` (and verifies the event inside), encoding
//! the fields gives the bytes back, byte for byte; the `invalid` vectors are refused with their
//! reason. The events are those of `events.json`. `print_review_vectors` (ignored) writes the
//! file's content.

#![allow(clippy::unwrap_used)]

use causerie_crypto::Event;
use causerie_crypto::testing::{vector_event, vector_file};
use causerie_node::moderation::review::{ReviewEntry, ReviewState};
use serde_json::{Value as Json, json};

fn event(name: &str) -> Event {
    vector_event(&vector_file("events.json"), name)
}

fn entries() -> Vec<(&'static str, ReviewEntry)> {
    let held = ReviewEntry {
        state: ReviewState::Held,
        event: event("message"),
        source: "client".into(),
        ruled_by: "classifier".into(),
        reason: Some("link from a new account".into()),
        labels: vec![],
        queued_ms: 1_700_000_000_500,
    };
    let flagged = ReviewEntry {
        state: ReviewState::Flagged,
        event: event("message_rich_content"),
        source: "client".into(),
        ruled_by: "classifier".into(),
        reason: None,
        labels: vec!["shouting".into(), "spam?".into()],
        queued_ms: 1_700_000_000_600,
    };
    let hidden = ReviewEntry {
        state: ReviewState::Hidden,
        event: event("message"),
        source: "peer:12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
        ruled_by: "fail_closed".into(),
        reason: Some("classifier_timeout".into()),
        labels: vec![],
        queued_ms: 1_700_000_000_700,
    };
    vec![("held", held), ("flagged", flagged), ("hidden", hidden)]
}

fn fields(entry: &ReviewEntry) -> Json {
    json!({
        "event": hex::encode(entry.event.as_bytes()),
        "labels": entry.labels,
        "queued_ms": entry.queued_ms,
        "reason": entry.reason,
        "ruled_by": entry.ruled_by,
        "source": entry.source,
        "state": entry.state.name(),
        "v": 1,
    })
}

#[test]
fn review_records_match_their_vectors() {
    let vectors = vector_file("review.json");
    let records = vectors["records"].as_array().unwrap();
    let expected = entries();
    assert_eq!(records.len(), expected.len());
    for (vector, (name, entry)) in records.iter().zip(&expected) {
        assert_eq!(vector["name"], *name);
        let bytes = hex::decode(vector["bytes"].as_str().unwrap()).unwrap();
        assert_eq!(entry.encode().unwrap(), bytes, "{name}: encoding");
        let decoded = ReviewEntry::decode(&bytes).unwrap();
        assert_eq!(fields(&decoded), vector["fields"], "{name}: decoding");
        assert_eq!(decoded.event.id(), entry.event.id());
    }
    for invalid in vectors["invalid"].as_array().unwrap() {
        let bytes = hex::decode(invalid["bytes"].as_str().unwrap()).unwrap();
        let error = ReviewEntry::decode(&bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            invalid["error"].as_str().unwrap(),
            "{}",
            invalid["name"]
        );
    }
}

/// Prints the content of `specs/test-vectors/review.json`.
#[test]
#[ignore = "writes the vectors; run with --ignored --nocapture"]
fn print_review_vectors() {
    let records: Vec<Json> = entries()
        .iter()
        .map(|(name, entry)| {
            json!({
                "name": name,
                "bytes": hex::encode(entry.encode().unwrap()),
                "fields": fields(entry),
            })
        })
        .collect();
    let held = &entries()[0].1;
    let bytes = held.encode().unwrap();
    // The same record with `state` "held" spelt "kept" (same length, so the CBOR stays valid).
    let kept = hex::encode(bytes).replace(&hex::encode(b"held"), &hex::encode(b"kept"));
    let vectors = json!({
        "description": "Stored review items (specs/moderation.md §7.2): bytes = the canonical CBOR of the record, fields = the record as JSON (byte strings as lowercase hex). Decoding bytes gives fields (and the event inside verifies), encoding fields gives bytes. invalid: records a node refuses to read back, with the error it reports. Events are those of events.json.",
        "records": records,
        "invalid": [
            { "name": "unknown_state", "bytes": kept, "error": "store: corrupt review item: unknown state" },
        ],
    });
    println!("{}", serde_json::to_string_pretty(&vectors).unwrap());
}
