//! The federation codec over a byte stream: frames round-trip, and caps are enforced before
//! anything is allocated (specs/federation.md §3). Invalid inbound request frames are read as
//! [`FederationRequest::Invalid`] values (so the node can answer and strike the sender), never as
//! I/O errors, and can never be written. The vectors of `specs/test-vectors/federation.json`
//! (written by `cargo run -p causerie-node --example gen_federation_vectors`) are checked against
//! the same codec and the same gossip functions the node runs.

#![allow(clippy::unwrap_used)]

use causerie_crypto::{EventId, Hash32, NodeSecret, RoomId, Signature};
use causerie_node::letter::NodeLetter;
use causerie_node::net::codec::{
    FederationCodec, FederationRequest, REQUEST_TOO_LARGE, read_frame,
};
use causerie_node::net::gossip;
use causerie_node::net::wire::{
    self, BACKFILL_PAGE, ErrorReason, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PROTOCOL, Request,
    Response,
};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;
use serde_bytes::ByteBuf;
use serde_json::{Value as Json, json};

fn protocol() -> StreamProtocol {
    StreamProtocol::new(PROTOCOL)
}

#[test]
fn requests_and_responses_round_trip_through_frames() {
    block_on(async {
        let mut codec = FederationCodec;
        let request = Request::Backfill {
            from: vec![EventId(Hash32([1; 32]))],
            limit: 100,
            room: RoomId(Hash32([2; 32])),
        };
        let mut buffer = Cursor::new(Vec::new());
        codec
            .write_request(&protocol(), &mut buffer, request.clone().into())
            .await
            .unwrap();
        let bytes = buffer.into_inner();
        let length = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(length, bytes.len() - 4);
        let decoded = codec
            .read_request(&protocol(), &mut Cursor::new(bytes))
            .await
            .unwrap();
        assert_eq!(decoded, FederationRequest::Wire(request));

        let response = Response::Events {
            events: vec![ByteBuf::from(vec![0xa0; 100]); 3],
        };
        let mut buffer = Cursor::new(Vec::new());
        codec
            .write_response(&protocol(), &mut buffer, response.clone())
            .await
            .unwrap();
        let decoded = codec
            .read_response(&protocol(), &mut Cursor::new(buffer.into_inner()))
            .await
            .unwrap();
        assert_eq!(decoded, response);
    });
}

#[test]
fn oversized_length_prefix_is_refused_before_reading() {
    block_on(async {
        // Claims 4 GiB but carries nothing: refused as invalid data, not read to EOF.
        let mut input = Cursor::new(vec![0xff, 0xff, 0xff, 0xff]);
        let error = read_frame(&mut input, MAX_REQUEST_BYTES).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);

        // An over-cap request is read as invalid at once: the body is neither awaited nor read.
        let mut over = (MAX_REQUEST_BYTES as u32 + 1).to_be_bytes().to_vec();
        over.extend_from_slice(&[0xa0; 16]);
        let mut input = Cursor::new(over);
        let mut codec = FederationCodec;
        let request = codec.read_request(&protocol(), &mut input).await.unwrap();
        assert_eq!(
            request,
            FederationRequest::Invalid {
                reason: ErrorReason::TooLarge,
                detail: REQUEST_TOO_LARGE,
            }
        );
        assert_eq!(input.position(), 4, "only the length prefix was read");

        let over = (MAX_RESPONSE_BYTES as u32 + 1).to_be_bytes();
        let error = codec
            .read_response(&protocol(), &mut Cursor::new(over.to_vec()))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    });
}

#[test]
fn garbage_and_truncated_frames_are_refused() {
    block_on(async {
        let mut codec = FederationCodec;
        let mut garbage = 5u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(&[0xff, 0x00, 0x13, 0x37, 0x42]);
        let request = codec
            .read_request(&protocol(), &mut Cursor::new(garbage))
            .await
            .unwrap();
        let FederationRequest::Invalid { reason, detail } = request else {
            panic!("garbage decoded: {request:?}");
        };
        assert_eq!(reason, ErrorReason::Malformed);
        assert!(!detail.is_empty());

        // Well-formed CBOR over a request limit: invalid with the limit's own reason.
        let bad_limit = wire::encode_request(&Request::Backfill {
            from: vec![],
            limit: BACKFILL_PAGE as u64 + 1,
            room: RoomId(Hash32([2; 32])),
        })
        .unwrap();
        let mut frame = (bad_limit.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&bad_limit);
        let request = codec
            .read_request(&protocol(), &mut Cursor::new(frame))
            .await
            .unwrap();
        assert_eq!(
            request,
            FederationRequest::Invalid {
                reason: ErrorReason::BadLimit,
                detail: "bad_limit",
            }
        );

        // An invalid request is never written.
        let mut sink = Cursor::new(Vec::new());
        let error = codec
            .write_request(&protocol(), &mut sink, request)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(sink.into_inner().is_empty());

        let mut truncated = 100u32.to_be_bytes().to_vec();
        truncated.extend_from_slice(&[0xa1; 10]);
        let error = codec
            .read_request(&protocol(), &mut Cursor::new(truncated))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);

        // Writing a response over the cap fails locally instead of sending what the peer drops.
        let huge = Response::Events {
            events: vec![ByteBuf::from(vec![0u8; 1 << 20]); 17],
        };
        let mut sink = Cursor::new(Vec::new());
        assert!(
            codec
                .write_response(&protocol(), &mut sink, huge)
                .await
                .is_err()
        );
        let error = Response::Error {
            reason: ErrorReason::Busy,
        };
        let mut sink = Cursor::new(Vec::new());
        codec
            .write_response(&protocol(), &mut sink, error)
            .await
            .unwrap();
    });
}

// ---- specs/test-vectors/federation.json ----

fn vectors() -> Json {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../specs/test-vectors/federation.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex_of(value: &Json) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).unwrap()
}

fn list<'a>(value: &'a Json, key: &str) -> &'a [Json] {
    value[key]
        .as_array()
        .unwrap_or_else(|| panic!("no list {key}"))
}

fn ids_json(ids: &[EventId]) -> Json {
    Json::Array(ids.iter().map(|id| json!(id.0.to_hex())).collect())
}

fn bufs_json(items: &[ByteBuf]) -> Json {
    Json::Array(items.iter().map(|b| json!(hex::encode(b))).collect())
}

/// The JSON view of a request, written from the spec's table (not from serde).
fn request_json(request: &Request) -> Json {
    match request {
        Request::GetEvents { ids } => json!({ "get_events": { "ids": ids_json(ids) } }),
        Request::Backfill { from, limit, room } => json!({
            "backfill": { "from": ids_json(from), "limit": limit, "room": room.0.to_hex() }
        }),
        Request::Since { after, limit, room } => json!({
            "since": {
                "after": after.map(|(depth, id)| json!([depth, id.0.to_hex()])),
                "limit": limit,
                "room": room.0.to_hex(),
            }
        }),
        Request::RoomState { room } => json!({ "room_state": { "room": room.0.to_hex() } }),
        Request::Tips { room } => json!({ "tips": { "room": room.0.to_hex() } }),
        Request::GetAttestation { id } => {
            json!({ "get_attestation": { "id": id.0.to_hex() } })
        }
        Request::Deliver { message } => {
            json!({ "deliver": { "message": hex::encode(message) } })
        }
        Request::Revocations { after, limit } => {
            json!({ "revocations": { "after": after, "limit": limit } })
        }
        Request::Directory { after, limit } => json!({
            "directory": {
                "after": after.as_ref().map(|key| hex::encode(key.as_bytes())),
                "limit": limit,
            }
        }),
    }
}

/// The JSON view of an answer, written from the spec's table.
fn response_json(response: &Response) -> Json {
    match response {
        Response::Events { events } => json!({ "events": { "events": bufs_json(events) } }),
        Response::RoomState {
            auth_chain,
            state,
            tips,
        } => json!({
            "room_state": {
                "auth_chain": bufs_json(auth_chain),
                "state": bufs_json(state),
                "tips": ids_json(tips),
            }
        }),
        Response::Tips { tips } => json!({ "tips": { "tips": ids_json(tips) } }),
        Response::Attestation { attestation } => json!({
            "attestation": { "attestation": attestation.as_ref().map(hex::encode) }
        }),
        Response::Delivered => json!("delivered"),
        Response::Revocations { last, revocations } => json!({
            "revocations": { "last": last, "revocations": bufs_json(revocations) }
        }),
        Response::Directory { announcements } => json!({
            "directory": { "announcements": bufs_json(announcements) }
        }),
        Response::Error { reason } => json!({ "error": { "reason": reason.reason() } }),
    }
}

#[test]
fn federation_vectors_decode_and_re_encode_byte_for_byte() {
    let file = vectors();
    assert_eq!(file["protocol"], PROTOCOL);
    assert_eq!(file["max_request_bytes"], MAX_REQUEST_BYTES);
    assert_eq!(file["max_response_bytes"], MAX_RESPONSE_BYTES);
    block_on(async {
        let mut codec = FederationCodec;
        let mut kinds = std::collections::BTreeSet::new();
        for vector in list(&file, "requests") {
            let name = vector["name"].as_str().unwrap();
            let frame = hex_of(&vector["frame"]);
            assert_eq!(&frame[4..], hex_of(&vector["bytes"]), "{name}");
            let decoded = codec
                .read_request(&protocol(), &mut Cursor::new(frame.clone()))
                .await
                .unwrap();
            let FederationRequest::Wire(request) = decoded else {
                panic!("{name}: refused: {decoded:?}");
            };
            assert_eq!(request.kind(), vector["kind"], "{name}");
            assert_eq!(request_json(&request), vector["fields"], "{name}");
            let mut out = Cursor::new(Vec::new());
            codec
                .write_request(&protocol(), &mut out, request.into())
                .await
                .unwrap();
            assert_eq!(hex::encode(out.into_inner()), hex::encode(&frame), "{name}");
            kinds.insert(vector["kind"].as_str().unwrap().to_owned());
        }
        assert_eq!(kinds.len(), 9, "every request kind has a vector");

        let mut kinds = std::collections::BTreeSet::new();
        for vector in list(&file, "responses") {
            let name = vector["name"].as_str().unwrap();
            let frame = hex_of(&vector["frame"]);
            let response = codec
                .read_response(&protocol(), &mut Cursor::new(frame.clone()))
                .await
                .unwrap();
            assert_eq!(response_json(&response), vector["fields"], "{name}");
            let mut out = Cursor::new(Vec::new());
            codec
                .write_response(&protocol(), &mut out, response)
                .await
                .unwrap();
            assert_eq!(hex::encode(out.into_inner()), hex::encode(&frame), "{name}");
            kinds.insert(vector["kind"].as_str().unwrap().to_owned());
        }
        assert_eq!(kinds.len(), 8, "every answer kind has a vector");
    });
}

#[test]
fn federation_vectors_refused_frames_get_their_answers() {
    let file = vectors();
    block_on(async {
        let mut codec = FederationCodec;
        let mut reasons = std::collections::BTreeSet::new();
        for vector in list(&file, "invalid_requests") {
            let name = vector["name"].as_str().unwrap();
            let decoded = codec
                .read_request(&protocol(), &mut Cursor::new(hex_of(&vector["frame"])))
                .await
                .unwrap();
            let FederationRequest::Invalid { reason, detail } = decoded else {
                panic!("{name}: accepted: {decoded:?}");
            };
            assert_eq!(reason.reason(), vector["reason"], "{name}");
            assert_eq!(detail, vector["detail"], "{name}");
            let mut out = Cursor::new(Vec::new());
            codec
                .write_response(&protocol(), &mut out, Response::Error { reason })
                .await
                .unwrap();
            assert_eq!(hex::encode(out.into_inner()), vector["answer"], "{name}");
            reasons.insert(reason);
        }
        for reason in [
            ErrorReason::TooLarge,
            ErrorReason::Malformed,
            ErrorReason::TooManyIds,
            ErrorReason::BadLimit,
        ] {
            assert!(reasons.contains(&reason), "no vector for {reason:?}");
        }
        for vector in list(&file, "invalid_responses") {
            let name = vector["name"].as_str().unwrap();
            let frame = hex_of(&vector["frame"]);
            assert_eq!(
                wire::decode_response(&frame[4..]).map_err(|e| e.reason()),
                Err(vector["reason"].as_str().unwrap()),
                "{name}"
            );
            assert!(
                codec
                    .read_response(&protocol(), &mut Cursor::new(frame))
                    .await
                    .is_err(),
                "{name}"
            );
        }
    });
}

#[test]
fn federation_vectors_node_letter() {
    let file = vectors();
    let vector = &file["node_letter"];
    let message = NodeLetter::decode(&hex_of(&vector["bytes"])).unwrap();
    let fields = &vector["fields"];
    assert_eq!(hex::encode(message.body()), fields["body"]);
    assert_eq!(hex::encode(message.from().as_bytes()), fields["from"]);
    assert_eq!(hex::encode(message.to().as_bytes()), fields["to"]);
    assert_eq!(message.kind(), fields["kind"]);
    assert_eq!(message.sent_ms(), fields["sent_ms"]);
    assert_eq!(fields["v"], 1);
    let to = NodeSecret::from_seed(&hex_of(&vector["to_seed"]).try_into().unwrap());
    assert_eq!(to.public(), *message.to());
    // The signing input is the domain prefix and the map without `signature`.
    let input = hex_of(&vector["signing_input"]);
    let signature = Signature(hex_of(&fields["signature"]).try_into().unwrap());
    assert!(message.from().0.verify_without_domain(&input, &signature));
    let request = list(&file, "requests")
        .iter()
        .find(|v| v["kind"] == "deliver")
        .unwrap();
    assert_eq!(request["fields"]["deliver"]["message"], vector["bytes"]);
}

#[test]
fn federation_vectors_gossip_topics_and_message_ids() {
    let file = vectors();
    let gossip_vectors = &file["gossip"];
    for vector in list(gossip_vectors, "topics") {
        let room = RoomId(Hash32(hex_of(&vector["room"]).try_into().unwrap()));
        assert_eq!(gossip::topic_name(&room), vector["topic"]);
        let topic_hash = gossip::topic(&room).hash();
        assert_eq!(topic_hash.as_str(), vector["topic_hash"]);
        assert_eq!(gossip::room_of_topic(&topic_hash), Some(room));
    }
    assert_eq!(
        hex_of(&gossip_vectors["undecodable_prefix"]),
        gossip::UNDECODABLE_PREFIX
    );
    let mut hows = std::collections::BTreeSet::new();
    for vector in list(gossip_vectors, "message_ids") {
        let name = vector["name"].as_str().unwrap();
        let data = hex_of(&vector["data"]);
        assert_eq!(
            hex::encode(gossip::message_id_bytes(&data)),
            vector["message_id"],
            "{name}"
        );
        assert_eq!(
            gossip::message_id(&data).0,
            hex_of(&vector["message_id"]),
            "{name}"
        );
        hows.insert(vector["how"].as_str().unwrap().to_owned());
    }
    assert_eq!(hows.len(), 2, "both rules have vectors");
}
