//! signals.json: typing and read signals signed by node `paris` for its user alice
//! (specs/signals.md §2), cross-checked against an independent encoding; refused signals with
//! their reasons.

use causerie_crypto::signal::{Signal, SignalDraft, SignalKind};
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

    fn unsigned(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        codec::encode(&unsigned).unwrap()
    }

    fn seal(mut self, node: &NodeSecret) -> RawSignal {
        let message = self.unsigned();
        self.signature = Some(buf(node.sign(Domain::Signal, &message).as_bytes()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        codec::encode(self).unwrap()
    }
}

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
        let raw = RawSignal::of(&signal).seal(node);
        assert_eq!(raw.bytes(), signal.as_bytes(), "independent encoding");
        let input = Domain::Signal.signing_input(&raw.unsigned());
        let mut id_input = input.clone();
        id_input.extend_from_slice(raw.signature.as_ref().unwrap());
        assert_eq!(sha256(&id_input), signal.id().0);
        valid.push(json!({
            "name": name,
            "bytes": hex::encode(signal.as_bytes()),
            "id": signal.id().to_hex(),
            "node": signal.node().to_string(),
            "user": signal.user().to_string(),
            "room": hex::encode(signal.room().as_bytes()),
            "attestation": hex::encode(signal.attestation().as_bytes()),
            "kind": signal.kind().name(),
            "event": signal.event().map(|e| hex::encode(e.as_bytes())),
            "issued_ms": signal.issued_ms(),
            "expires_ms": signal.expires_ms(),
            "signing_input": hex::encode(&input),
        }));
        signed.push(signal);
    }

    // Refused signals, each with the library's reason (checks in the order of §2).
    let base = RawSignal::of(&signed[0]);
    let read = RawSignal::of(&signed[2]);
    let mut invalid: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    invalid.push(("over 512 bytes", vec![0xa0; 513], "too_large"));
    invalid.push(("not CBOR", vec![0xff, 0x00], "malformed_cbor"));
    let mut other_version = base.clone();
    other_version.v = 2;
    invalid.push((
        "version 2",
        other_version.seal(node).bytes(),
        "unsupported_version",
    ));
    invalid.push(("no signature", base.bytes(), "bad_signature"));
    let sealed = base.clone().seal(node).bytes();
    invalid.push((
        "v written with a two-byte head",
        splice(&sealed, &[0x61, b'v', 0x01], &[0x61, b'v', 0x18, 0x01]),
        "non_canonical_encoding",
    ));
    let mut unknown_kind = base.clone();
    unknown_kind.kind = "shouting".into();
    invalid.push((
        "kind not in the list",
        unknown_kind.seal(node).bytes(),
        "unknown_signal_kind",
    ));
    let mut read_without_event = read.clone();
    read_without_event.event = None;
    invalid.push((
        "read without event",
        read_without_event.seal(node).bytes(),
        "bad_signal_event",
    ));
    let mut typing_with_event = base.clone();
    typing_with_event.event = read.event.clone();
    invalid.push((
        "typing with an event",
        typing_with_event.seal(node).bytes(),
        "bad_signal_event",
    ));
    let mut never = base.clone();
    never.expires_ms = never.issued_ms;
    invalid.push((
        "expires when issued",
        never.seal(node).bytes(),
        "bad_signal_expiry",
    ));
    let mut long = base.clone();
    long.expires_ms = long.issued_ms + 60_001;
    invalid.push((
        "lives over 60 s",
        long.seal(node).bytes(),
        "bad_signal_expiry",
    ));
    let mut flipped = base.clone().seal(node);
    if let Some(signature) = &mut flipped.signature {
        signature[0] ^= 0x01;
    }
    invalid.push(("signature byte flipped", flipped.bytes(), "bad_signature"));
    let stranger = NodeSecret::from_seed(&[0x77; 32]);
    invalid.push((
        "signed by another node than node",
        base.clone().seal(&stranger).bytes(),
        "bad_signature",
    ));
    let mut later = base.clone().seal(node);
    later.expires_ms += 1;
    invalid.push((
        "expires_ms changed after signing",
        later.bytes(),
        "bad_signature",
    ));
    let mut weak = base.clone();
    weak.user = buf(&hex::decode(SMALL_ORDER[0].1).unwrap());
    invalid.push(("user of small order", weak.seal(node).bytes(), "weak_key"));
    let mut invalid_json = Vec::new();
    for (name, bytes, reason) in invalid {
        let got = Signal::decode(&bytes).map(|_| ()).map_err(|e| e.reason());
        assert_eq!(got, Err(reason), "{name}");
        invalid_json.push(json!({
            "name": name,
            "bytes": hex::encode(&bytes),
            "reason": reason,
        }));
    }
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
