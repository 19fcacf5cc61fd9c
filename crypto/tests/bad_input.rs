//! Hostile input against the one CBOR entry point and the event verify path (specs/events.md,
//! "Limits" and "Canonical CBOR"): truncation, 2^63 (and 2^32, 2^31) length prefixes, nesting
//! 10,000 deep on a small stack, trailing bytes, duplicate keys in content and envelope, events at
//! exactly the size limit and one byte over, too many parents. Each must give its typed reason and
//! never panic; a length prefix that were trusted would abort the test process on allocation.

// Helpers outside #[test] functions may unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use causerie_crypto::codec::{self, MAX_NESTING_DEPTH, Value};
use causerie_crypto::event::{MAX_AUTH_EVENTS, MAX_EVENT_BYTES, MAX_PREV_EVENTS, kinds};
use causerie_crypto::{
    AttestationId, Content, Event, EventDraft, EventError, EventId, Hash32, RoomId, UserSecret,
};

/// Stack given to the threads that decode deeply nested input: far less than the 2 MiB default,
/// so a decoder that recursed once per nesting level would overflow it.
const SMALL_STACK_BYTES: usize = 256 * 1024;

fn secret() -> UserSecret {
    UserSecret::from_seed(&[0x5a; 32])
}

fn draft(content: Content) -> EventDraft {
    EventDraft {
        room: Some(RoomId(Hash32([1; 32]))),
        author: secret().public(),
        kind: kinds::MESSAGE.into(),
        state_key: None,
        content,
        prev_events: vec![EventId(Hash32([2; 32]))],
        auth_events: vec![EventId(Hash32([3; 32]))],
        depth: 7,
        origin_ts: 1_764_000_000_000,
        attestation: AttestationId(Hash32([4; 32])),
    }
}

fn body(text: &str) -> Content {
    let mut content = Content::new();
    content.insert("body".into(), Value::Text(text.into()));
    content
}

fn message() -> Event {
    draft(body("hello")).sign(&secret()).unwrap()
}

fn event_reason(bytes: &[u8]) -> Option<&'static str> {
    Event::decode(bytes).err().map(|e| e.reason())
}

fn value_reason(bytes: &[u8]) -> Option<&'static str> {
    codec::decode_canonical::<Value>(bytes, MAX_EVENT_BYTES)
        .err()
        .map(|e| e.reason())
}

/// Replaces the one occurrence of `needle` in `bytes`.
fn splice(bytes: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present");
    assert!(
        bytes[at + 1..].windows(needle.len()).all(|w| w != needle),
        "needle not unique"
    );
    [&bytes[..at], replacement, &bytes[at + needle.len()..]].concat()
}

/// The content of [`message`] as it appears in the envelope: `{"body": "hello"}`.
fn hello_content() -> Vec<u8> {
    codec::encode(&body("hello")).unwrap()
}

/// A head of `major` type with an 8-byte argument.
fn head64(major: u8, argument: u64) -> Vec<u8> {
    [&[(major << 5) | 27][..], &argument.to_be_bytes()].concat()
}

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK_BYTES)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn every_truncation_of_an_event_is_truncated() {
    let event = message();
    let bytes = event.as_bytes();
    for len in 0..bytes.len() {
        assert_eq!(
            event_reason(&bytes[..len]),
            Some("truncated"),
            "prefix of {len} bytes"
        );
    }
    assert!(Event::decode(bytes).is_ok());
}

#[test]
fn huge_length_prefixes_fail_without_allocating() {
    // 2^63 is beyond every cap: length_out_of_range. 2^32 and 2^31 are too; lengths under the cap
    // but past the end of the input are truncation. None of them may be trusted for allocation.
    for (argument, reason) in [
        (1u64 << 63, "length_out_of_range"),
        (u64::MAX, "length_out_of_range"),
        (1 << 32, "length_out_of_range"),
        (1 << 31, "length_out_of_range"),
        (MAX_EVENT_BYTES as u64, "truncated"),
        (1_000, "truncated"),
    ] {
        for (major, what) in [(2u8, "byte string"), (3, "text"), (4, "array"), (5, "map")] {
            let item = [head64(major, argument), vec![0; 16]].concat();
            // Maps count pairs: an item count over the cap is out of range even for half of it.
            let expected = if major == 5 && argument == MAX_EVENT_BYTES as u64 {
                "length_out_of_range"
            } else {
                reason
            };
            assert_eq!(value_reason(&item), Some(expected), "{what} of {argument}");
            // The same item as a content value inside a signed envelope.
            let mut content = vec![0xa1];
            content.extend(codec::encode(&Value::Text("body".into())).unwrap());
            content.extend(&item[..9]);
            let event = splice(message().as_bytes(), &hello_content(), &content);
            assert_eq!(
                event_reason(&event),
                Some(expected),
                "{what} of {argument} in content"
            );
            // And as the envelope itself.
            assert_eq!(
                event_reason(&item[..9]),
                Some(expected),
                "envelope {what} of {argument}"
            );
        }
    }
}

#[test]
fn nesting_ten_thousand_deep_is_refused_on_a_small_stack() {
    const DEEP: usize = 10_000;
    let results = on_small_stack(|| {
        let arrays = [vec![0x81; DEEP], vec![0x00]].concat();
        let maps = [[0xa1, 0x60].repeat(DEEP), vec![0x00]].concat();
        let indefinite = [vec![0x9f; DEEP], vec![0xff; DEEP]].concat();
        let mut results = Vec::new();
        for (name, item) in [
            ("arrays", &arrays),
            ("maps", &maps),
            ("indefinite", &indefinite),
        ] {
            results.push((name, "value", value_reason(item)));
            results.push((name, "envelope", event_reason(item)));
            let mut content = vec![0xa1];
            content.extend(codec::encode(&Value::Text("body".into())).unwrap());
            content.extend(item.iter());
            let event = splice(message().as_bytes(), &hello_content(), &content);
            results.push((name, "content", event_reason(&event)));
        }
        results
    });
    for (name, place, reason) in results {
        assert_eq!(reason, Some("nesting_too_deep"), "{name} in {place}");
    }
}

#[test]
fn nesting_limits_are_exact() {
    // MAX_NESTING_DEPTH arrays decode (the codec's bound); one more does not.
    let at_limit = [vec![0x81; MAX_NESTING_DEPTH], vec![0x00]].concat();
    assert!(codec::decode_canonical::<Value>(&at_limit, MAX_EVENT_BYTES).is_ok());
    let over = [vec![0x81; MAX_NESTING_DEPTH + 1], vec![0x00]].concat();
    assert_eq!(value_reason(&over), Some("nesting_too_deep"));

    // Content: the content map is depth 1, so 15 nested arrays inside it are the limit (16).
    let nest = |levels: usize| {
        let mut value = Value::Integer(0);
        for _ in 0..levels {
            value = Value::Array(vec![value]);
        }
        let mut content = Content::new();
        content.insert("v".into(), value);
        content
    };
    assert!(draft(nest(15)).sign(&secret()).is_ok());
    let refused = draft(nest(16)).sign(&secret()).unwrap_err();
    assert_eq!(refused.reason(), "nesting_too_deep");
}

#[test]
fn trailing_bytes_are_refused() {
    let bytes = message().as_bytes().to_vec();
    for extra in [&[0x00][..], &[0xf6], &[0xa0], &bytes[..10]] {
        let input = [&bytes[..], extra].concat();
        assert_eq!(event_reason(&input), Some("trailing_bytes"));
    }
    assert_eq!(value_reason(&[0x01, 0x02]), Some("trailing_bytes"));
}

#[test]
fn duplicate_keys_are_refused_in_content_and_envelope() {
    let event = message();
    // Content {"body": "x", "body": "hello"}.
    let body_key = codec::encode(&Value::Text("body".into())).unwrap();
    let x = codec::encode(&Value::Text("x".into())).unwrap();
    let duplicated = [&[0xa2][..], &body_key, &x, &hello_content()[1..]].concat();
    let input = splice(event.as_bytes(), &hello_content(), &duplicated);
    assert_eq!(event_reason(&input), Some("duplicate_map_key"));

    // Envelope with `depth` twice (the map head counts one more entry).
    let depth_field = [
        codec::encode(&Value::Text("depth".into())).unwrap(),
        vec![0x07],
    ]
    .concat();
    let bytes = event.as_bytes();
    assert_eq!(bytes[0], 0xac);
    let twice = [&[0xad][..], &bytes[1..]].concat();
    let input = splice(
        &twice,
        &depth_field,
        &[depth_field.clone(), depth_field.clone()].concat(),
    );
    assert_eq!(event_reason(&input), Some("duplicate_map_key"));

    // Same key twice with the same value is still a duplicate, not a harmless repeat.
    assert_eq!(
        value_reason(&[0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x01]),
        Some("duplicate_map_key")
    );
}

/// Signs a message whose content is padded so that the encoded event is exactly `target` bytes.
fn event_of_size(target: usize) -> Result<Event, EventError> {
    let mut pad = target - 300;
    for _ in 0..8 {
        let result = draft(body(&"x".repeat(pad))).sign(&secret());
        // Signing runs the verify path, which reports the size of an oversized event.
        let size = match &result {
            Ok(event) => event.as_bytes().len(),
            Err(EventError::EventTooLarge { len, .. }) => *len,
            Err(other) => panic!("unexpected {other}"),
        };
        if size == target {
            return result;
        }
        pad = pad + target - size;
    }
    panic!("could not reach {target} bytes");
}

#[test]
fn size_limit_is_exact() {
    let at_limit = event_of_size(MAX_EVENT_BYTES).unwrap();
    assert_eq!(at_limit.as_bytes().len(), MAX_EVENT_BYTES);
    assert_eq!(
        Event::decode(at_limit.as_bytes()).unwrap().id(),
        at_limit.id()
    );

    let over = event_of_size(MAX_EVENT_BYTES + 1).unwrap_err();
    assert_eq!(
        over,
        EventError::EventTooLarge {
            len: MAX_EVENT_BYTES + 1,
            max: MAX_EVENT_BYTES
        }
    );
    assert_eq!(over.reason(), "event_too_large");

    // Far larger inputs are refused on their length alone.
    let huge = vec![0u8; 10 * MAX_EVENT_BYTES];
    assert_eq!(event_reason(&huge), Some("event_too_large"));
}

#[test]
fn reference_counts_are_limited() {
    let ids = |n: usize, seed: u8| -> Vec<EventId> {
        (0..n)
            .map(|i| EventId(Hash32::digest(&[&[seed], &i.to_be_bytes()])))
            .collect()
    };
    let mut ok = draft(body("limits"));
    ok.prev_events = ids(MAX_PREV_EVENTS, 1);
    ok.auth_events = ids(MAX_AUTH_EVENTS, 2);
    let event = ok.clone().sign(&secret()).unwrap();
    assert_eq!(
        Event::decode(event.as_bytes()).unwrap().prev_events().len(),
        20
    );

    let mut prev = ok.clone();
    prev.prev_events = ids(MAX_PREV_EVENTS + 1, 1);
    let err = prev.sign(&secret()).unwrap_err();
    assert_eq!(
        (err.reason(), err),
        ("too_many_prev_events", EventError::TooManyPrevEvents(21))
    );

    let mut auth = ok;
    auth.auth_events = ids(MAX_AUTH_EVENTS + 1, 2);
    let err = auth.sign(&secret()).unwrap_err();
    assert_eq!(
        (err.reason(), err),
        ("too_many_auth_events", EventError::TooManyAuthEvents(11))
    );
}

#[test]
fn garbage_never_panics() {
    // Every single byte and every pair of bytes, as an event and as a value.
    for a in 0..=255u8 {
        let _ = Event::decode(&[a]);
        let _ = codec::decode_canonical::<Value>(&[a], 16);
        for b in 0..=255u8 {
            let _ = Event::decode(&[a, b]);
            let _ = codec::decode_canonical::<Value>(&[a, b], 16);
        }
    }
}
