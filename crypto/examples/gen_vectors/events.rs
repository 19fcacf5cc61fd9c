//! events.json: the signed events of one room and their redacted forms.

use crate::support::*;

/// events.json.
pub(crate) fn generate(dir: &Path, keys: &Keys, attestations: &Attestations) -> Events {
    let Keys { alice, bob, .. } = keys;
    let Attestations {
        alice: alice_attestation,
        bob: bob_attestation,
    } = attestations;
    // ---- events ----
    let draft = |secret: &UserSecret,
                 attestation: &Attestation,
                 room: Option<&Event>,
                 kind: &str,
                 state_key: Option<&str>,
                 content: Content,
                 prev: &[&Event],
                 auth: &[&Event]| EventDraft {
        room: room.map(Event::room_id),
        author: secret.public(),
        kind: kind.to_owned(),
        state_key: state_key.map(str::to_owned),
        content,
        prev_events: prev.iter().map(|e| e.id()).collect(),
        auth_events: auth.iter().map(|e| e.id()).collect(),
        depth: prev.iter().map(|e| e.depth() + 1).max().unwrap_or(0),
        origin_ts: T0_MS
            + 60_000 * prev.len() as u64
            + prev.iter().map(|e| e.depth()).sum::<u64>() * 1_000,
        attestation: attestation.id(),
    };
    let mut events: Vec<(String, EventDraft, Event)> = Vec::new();
    let mut sign = |name: &str, secret: &UserSecret, draft: EventDraft| -> Event {
        let event = draft.clone().sign(secret).unwrap();
        let raw = RawEvent::from_draft(&draft).seal(secret);
        assert_eq!(
            raw.bytes(),
            event.as_bytes(),
            "{name}: independent encoding differs"
        );
        assert_eq!(raw.id(), event.id().0.0, "{name}: independent id differs");
        assert_eq!(
            raw.signing_input(),
            draft.signing_input().unwrap(),
            "{name}: signing input"
        );
        events.push((name.to_owned(), draft, event.clone()));
        event
    };
    let alice_hex = alice.public().to_string();
    let bob_hex = bob.public().to_string();
    let create = sign(
        "create",
        alice,
        draft(
            alice,
            alice_attestation,
            None,
            kinds::CREATE,
            Some(""),
            map(&[
                ("creator", alice_hex.clone().into()),
                ("room_version", 1.into()),
            ]),
            &[],
            &[],
        ),
    );
    let member = sign(
        "member",
        alice,
        draft(
            alice,
            alice_attestation,
            Some(&create),
            kinds::MEMBER,
            Some(&alice_hex),
            map(&[
                ("displayname", "Alice".into()),
                ("membership", "join".into()),
            ]),
            &[&create],
            &[&create],
        ),
    );
    let power = sign(
        "power_levels",
        alice,
        draft(
            alice,
            alice_attestation,
            Some(&create),
            kinds::POWER_LEVELS,
            Some(""),
            map(&[
                ("ban", 50.into()),
                ("events_default", 0.into()),
                ("note", "kept only until redaction".into()),
                ("redact", 50.into()),
                (
                    "users",
                    Value::Map(map(&[(alice_hex.as_str(), 100.into())])),
                ),
            ]),
            &[&member],
            &[&create, &member],
        ),
    );
    let bob_member = sign(
        "member_bob",
        bob,
        draft(
            bob,
            bob_attestation,
            Some(&create),
            kinds::MEMBER,
            Some(&bob_hex),
            map(&[("membership", "join".into())]),
            &[&power],
            &[&create, &power],
        ),
    );
    let message = sign(
        "message",
        bob,
        draft(
            bob,
            bob_attestation,
            Some(&create),
            kinds::MESSAGE,
            None,
            map(&[
                ("body", "Bonjour à tous ! 👋".into()),
                ("format", "text".into()),
            ]),
            &[&bob_member],
            &[&create, &power, &bob_member],
        ),
    );
    let rich = sign(
        "message_rich_content",
        alice,
        draft(
            alice,
            alice_attestation,
            Some(&create),
            kinds::MESSAGE,
            None,
            map(&[
                ("", Value::Null),
                ("body", "nested values".into()),
                ("bytes", Value::Bytes(vec![0, 1, 2, 0xff])),
                (
                    "flags",
                    Value::Array(vec![true.into(), false.into(), Value::Null]),
                ),
                (
                    "numbers",
                    Value::Array(vec![
                        0.into(),
                        (-1).into(),
                        23.into(),
                        24.into(),
                        (-25).into(),
                        i64::MAX.into(),
                        i64::MIN.into(),
                    ]),
                ),
                (
                    "z",
                    Value::Map(map(&[
                        ("a", Value::Map(map(&[("b", Value::Array(vec![]))]))),
                        ("é", "unicode key".into()),
                    ])),
                ),
            ]),
            &[&message, &bob_member],
            &[&create, &power, &member],
        ),
    );
    let redaction = sign(
        "redaction",
        alice,
        draft(
            alice,
            alice_attestation,
            Some(&create),
            kinds::REDACTION,
            None,
            map(&[
                ("reason", "spam".into()),
                ("redacts", Value::Bytes(message.id().as_bytes().to_vec())),
            ]),
            &[&rich],
            &[&create, &power, &member],
        ),
    );
    let _ = redaction;
    let mut event_vectors = Vec::new();
    for (name, draft, event) in &events {
        // The full and the redacted form share id, signing input and signature.
        let vector = |name: String, bytes: &[u8], redacted: bool| {
            json!({
                "name": name,
                "author": draft.author.to_string(),
                "bytes": hex::encode(bytes),
                "id": event.id().0.to_hex(),
                "room_id": event.room_id().0.to_hex(),
                "kind": event.kind(),
                "redacted": redacted,
                "content_hash": event.content_hash().to_hex(),
                "signing_input": hex::encode(draft.signing_input().unwrap()),
            })
        };
        event_vectors.push(vector(name.clone(), event.as_bytes(), false));
        let redacted = event.redacted();
        if redacted.as_bytes() != event.as_bytes() {
            let again = Event::decode(redacted.as_bytes()).unwrap();
            assert_eq!(again.id(), event.id());
            let mut redacted_vector = vector(format!("{name}.redacted"), redacted.as_bytes(), true);
            redacted_vector["redacted_from"] = json!(name);
            event_vectors.push(redacted_vector);
        }
    }
    write(
        dir,
        "events.json",
        &json!({
            "description": "Signed events of one room (authors in keys.json, attestations in attestations.json). \
                bytes: the canonical envelope; id = SHA-256(signing_input ‖ signature); room_id = id of the create event. \
                Entries with redacted = true are the redacted form of `redacted_from`: same id, same signing input, same signature.",
            "events": event_vectors,
        }),
    );
    events
}
