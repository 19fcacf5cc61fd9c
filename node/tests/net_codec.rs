//! The federation codec over a byte stream: frames round-trip, and caps are enforced before
//! anything is allocated (specs/federation.md, "Framing"). Invalid inbound request frames are
//! read as [`FederationRequest::Invalid`] values (so the node can answer and strike the sender),
//! never as I/O errors, and can never be written.

#![allow(clippy::unwrap_used)]

use causerie_crypto::{EventId, Hash32, RoomId};
use causerie_node::net::codec::{
    FederationCodec, FederationRequest, REQUEST_TOO_LARGE, read_frame,
};
use causerie_node::net::wire::{
    self, BACKFILL_PAGE, ErrorReason, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, PROTOCOL, Request,
    Response,
};
use futures::executor::block_on;
use futures::io::Cursor;
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;
use serde_bytes::ByteBuf;

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
