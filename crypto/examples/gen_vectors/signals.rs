//! signals.json: typing and read signals signed by node `paris` for its user alice
//! (specs/signals.md §2), cross-checked against an independent encoding; refused signals with
//! their reasons.

use causerie_crypto::signal::{Signal, SignalDraft, SignalError, SignalKind};
use causerie_crypto::{EventId, Hash32, RoomId};

use crate::support::*;

/// The signal as plain data, to re-encode independently of the library.
#[derive(Clone, Serialize)]
struct RawSignal {
    attestation: ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<ByteBuf>,
    expires_ms: u64,
    issued_ms: u64,
    kind: String,
    node: ByteBuf,
    room: ByteBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    user: ByteBuf,
    v: u64,
}

impl RawSignal {
    fn of(signal: &Signal) -> RawSignal {
        RawSignal {
            attestation: buf(signal.attestation().as_bytes()),
            event: signal.event().map(|e| buf(e.as_bytes())),
            expires_ms: signal.expires_ms(),
            issued_ms: signal.issued_ms(),
            kind: signal.kind().name().to_owned(),
            node: buf(signal.node().as_bytes()),
            room: buf(signal.room().as_bytes()),
            signature: None,
            user: buf(signal.user().as_bytes()),
            v: 1,
        }
    }
}

raw_signed!(RawSignal, Domain::Signal);

/// signals.json.
pub(crate) fn generate(dir: &Path, keys: &Keys, attestations: &Attestations) {
    let Keys { node, .. } = keys;
    let room = RoomId(Hash32(sha256(b"signals.json room")));
    let event = EventId(Hash32(sha256(b"signals.json event")));
    let issued_ms = T0_MS + DAY_MS;
    let draft = |kind, event, ttl_ms| SignalDraft {
        room,
        user: *attestations.alice.user(),
        attestation: attestations.alice.id(),
        kind,
        event,
        issued_ms,
        expires_ms: issued_ms + ttl_ms,
    };
    let signals = [
        ("typing", draft(SignalKind::Typing, None, 6_000)),
        ("typing_end", draft(SignalKind::TypingEnd, None, 6_000)),
        ("read", draft(SignalKind::Read, Some(event), 30_000)),
    ];
    let mut valid = Vec::new();
    let mut signed = Vec::new();
    for (name, draft) in &signals {
        let signal = draft.sign(node).unwrap();
        valid.push(statement_vector(
            name,
            &signal,
            RawSignal::of(&signal),
            node,
            json!({
                "node": signal.node().to_string(),
                "user": signal.user().to_string(),
                "room": hex::encode(signal.room().as_bytes()),
                "attestation": hex::encode(signal.attestation().as_bytes()),
                "kind": signal.kind().name(),
                "event": signal.event().map(|e| hex::encode(e.as_bytes())),
                "issued_ms": signal.issued_ms(),
                "expires_ms": signal.expires_ms(),
            }),
        ));
        signed.push(signal);
    }

    // Refused signals, each with the library's reason (checks in the order of §2).
    let base = RawSignal::of(&signed[0]);
    let read = RawSignal::of(&signed[2]);
    let mut invalid = Refusals::new(&base, node, 512);
    invalid.changed("kind not in the list", "unknown_signal_kind", |raw| {
        raw.kind = "shouting".into();
    });
    invalid.changed_from(&read, "read without event", "bad_signal_event", |raw| {
        raw.event = None;
    });
    invalid.changed("typing with an event", "bad_signal_event", |raw| {
        raw.event = read.event.clone();
    });
    invalid.changed("expires when issued", "bad_signal_expiry", |raw| {
        raw.expires_ms = raw.issued_ms;
    });
    invalid.changed("lives over 60 s", "bad_signal_expiry", |raw| {
        raw.expires_ms = raw.issued_ms + 60_001;
    });
    invalid.bad_signatures("node", "expires_ms changed after signing", |raw| {
        raw.expires_ms += 1;
    });
    invalid.changed("user of small order", "weak_key", |raw| {
        raw.user = small_order_key();
    });
    let invalid_json = invalid.checked_json(Signal::decode, SignalError::reason);
    write(
        dir,
        "signals.json",
        &json!({
            "description": "Typing and read signals signed by node `paris` (keys.json) for alice, under her attestation of attestations.json (signals.md §2). id = SHA-256(\"causerie/v1/signal\\0\" ‖ CBOR without signature ‖ signature). `invalid`: signals every implementation must refuse, with the reason (checks in the order of signals.md §2).",
            "signals": valid,
            "invalid": invalid_json,
        }),
    );
}
