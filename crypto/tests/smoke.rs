//! Smoke tests of the envelope: sign, decode, redact.

// Helpers outside #[test] functions may unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used)]

use causerie_crypto::testing;
use causerie_crypto::*;

fn create(secret: &UserSecret) -> Event {
    testing::create_draft(secret.public(), None, testing::FIXTURE_ATTESTATION)
        .sign(secret)
        .unwrap()
}

/// A message saying "hello" on top of `create`, by its author.
fn hello(secret: &UserSecret, create: &Event) -> EventDraft {
    let said = testing::Said::Message("hello");
    let prev = vec![create.id()];
    testing::draft_after(
        secret.public(),
        create.room_id(),
        prev,
        1,
        said,
        testing::FIXTURE_ATTESTATION,
    )
}

#[test]
fn sign_decode_redact() {
    let secret = UserSecret::from_seed(&[3; 32]);
    let create = create(&secret);
    let again = Event::decode(create.as_bytes()).unwrap();
    assert_eq!(again.id(), create.id());
    assert_eq!(create.room_id().0, create.id().0);

    let msg = hello(&secret, &create).sign(&secret).unwrap();
    let redacted = msg.redacted();
    assert!(redacted.is_redacted());
    assert!(redacted.content().is_empty());
    let decoded = Event::decode(redacted.as_bytes()).unwrap();
    assert_eq!(decoded.id(), msg.id());
    assert!(decoded.is_redacted());
    assert_ne!(redacted.as_bytes(), msg.as_bytes());
}

#[test]
fn draft_round_trip_and_refusals() {
    let secret = UserSecret::from_seed(&[4; 32]);
    let create = create(&secret);
    let draft = hello(&secret, &create);
    let bytes = draft.encode().unwrap();
    let back = EventDraft::decode(&bytes).unwrap();
    assert_eq!(back, draft);
    // A client signs the signing input it derives; the result is the same event.
    let signature = secret.sign_input(&back.signing_input().unwrap()).unwrap();
    assert!(secret.sign_input(b"not a protocol message").is_none());
    let event = back.into_event(signature).unwrap();
    assert_eq!(event.id(), draft.clone().sign(&secret).unwrap().id());

    // A signed event is not a draft; a truncated draft and trailing bytes are refused.
    assert!(EventDraft::decode(event.as_bytes()).is_err());
    assert!(EventDraft::decode(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(EventDraft::decode(&longer).is_err());
    assert!(EventDraft::decode(&vec![0u8; causerie_crypto::event::MAX_EVENT_BYTES + 1]).is_err());
}
