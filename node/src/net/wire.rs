//! Federation wire types, protocol version 1 (specs/federation.md, "Requests").
//!
//! Data only: what travels in one request-response exchange, encoded as canonical CBOR through
//! `causerie_crypto::codec`. Events and attestations travel as their canonical bytes and are
//! decoded by the receiver with `Event::decode` / `Attestation::decode` (the full verify path);
//! nothing here trusts the sender. Ids are fixed-size and cannot be malformed once decoded.
//!
//! The protocol id ([`PROTOCOL`]) carries the version: a change of these types is a new protocol
//! id, negotiated by libp2p, never a silent reinterpretation.
//!
//! Limits (all checked before anything is allocated or decoded): [`MAX_REQUEST_BYTES`],
//! [`MAX_RESPONSE_BYTES`], [`MAX_IDS_PER_REQUEST`], [`BACKFILL_PAGE`],
//! [`MAX_EVENTS_PER_RESPONSE`].

use causerie_crypto::{AttestationId, CodecError, EventId, RoomId, codec};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The request-response protocol id (version 1).
pub const PROTOCOL: &str = "/causerie/federation/1";

/// Largest encoded request, in bytes: a full id list or one node message fits with room.
pub const MAX_REQUEST_BYTES: usize = 128 * 1024;
/// Largest encoded response, in bytes. Servers fill pages up to [`RESPONSE_EVENT_BYTES`] so the
/// envelope always fits.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Budget of event bytes a server puts in one response (the rest of [`MAX_RESPONSE_BYTES`] is
/// left for CBOR heads and ids).
pub const RESPONSE_EVENT_BYTES: usize = MAX_RESPONSE_BYTES - 1024 * 1024;
/// Most ids in one `GetEvents` request or one `Backfill` `from` list.
pub const MAX_IDS_PER_REQUEST: usize = 1_000;
/// Most events one `Backfill` or `Since` page returns (the largest `limit` honoured).
pub const BACKFILL_PAGE: usize = 1_000;
/// Most events in any one response (a room state answer counts state and auth chain together).
pub const MAX_EVENTS_PER_RESPONSE: usize = 20_000;
/// Most tips in a `Tips` answer (the engine keeps at most 64 forward extremities).
pub const MAX_TIPS: usize = 256;
/// Most revocation statements in one `Revocations` page (the largest `limit` honoured).
pub const REVOCATION_PAGE: usize = causerie_storage::MAX_REVOCATION_PAGE;
/// Most directory announcements in one `Directory` page (the largest `limit` honoured; 64
/// announcements of at most 32 KiB each fit an answer many times over).
pub const DIRECTORY_PAGE: usize = 64;

/// A request from one node to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The events with these ids (those the server holds and has not rejected).
    GetEvents {
        /// At most [`MAX_IDS_PER_REQUEST`].
        ids: Vec<EventId>,
    },
    /// Ancestors of `from` (not including them), nearest first (depth descending).
    Backfill {
        /// Where to start; at most [`MAX_IDS_PER_REQUEST`].
        from: Vec<EventId>,
        /// Page size; at most [`BACKFILL_PAGE`].
        limit: u64,
        /// The room.
        room: RoomId,
    },
    /// The room's accepted events in topological order (depth, id) strictly after `after`:
    /// the forward walk a joining or far-behind node pages through.
    Since {
        /// Start after this (depth, id); `None` starts at the create event.
        after: Option<(u64, EventId)>,
        /// Page size; at most [`BACKFILL_PAGE`].
        limit: u64,
        /// The room.
        room: RoomId,
    },
    /// The room's current state and its auth chain (for joining).
    RoomState {
        /// The room.
        room: RoomId,
    },
    /// The room's forward extremities.
    Tips {
        /// The room.
        room: RoomId,
    },
    /// One attestation.
    GetAttestation {
        /// Its id.
        id: AttestationId,
    },
    /// A signed node message for the server (its canonical bytes).
    Deliver {
        /// `NodeLetter` bytes.
        message: ByteBuf,
    },
    /// The attestation revocations the server holds, in its arrival order, after its seq
    /// `after` (0: from the first) (specs/accountability.md §3.3).
    Revocations {
        /// The server's seq to start after.
        after: u64,
        /// Page size; at most [`REVOCATION_PAGE`].
        limit: u64,
    },
    /// The directory announcements the server holds (its own included), in node key order,
    /// after node key `after` (`None`: from the first) (specs/directory.md §4).
    Directory {
        /// The node key to start after (boxed: a decoded key is large and requests are moved
        /// around by value).
        after: Option<Box<causerie_crypto::NodeKey>>,
        /// Page size; at most [`DIRECTORY_PAGE`].
        limit: u64,
    },
}

impl Request {
    /// Stable name of the request kind (metrics, logs).
    pub fn kind(&self) -> &'static str {
        match self {
            Request::GetEvents { .. } => "get_events",
            Request::Backfill { .. } => "backfill",
            Request::Since { .. } => "since",
            Request::RoomState { .. } => "room_state",
            Request::Tips { .. } => "tips",
            Request::GetAttestation { .. } => "get_attestation",
            Request::Deliver { .. } => "deliver",
            Request::Revocations { .. } => "revocations",
            Request::Directory { .. } => "directory",
        }
    }

    /// Checks the limits a well-formed request must respect.
    pub fn check(&self) -> Result<(), ErrorReason> {
        match self {
            Request::GetEvents { ids } if ids.len() > MAX_IDS_PER_REQUEST => {
                Err(ErrorReason::TooManyIds)
            }
            Request::Backfill { from, .. } if from.len() > MAX_IDS_PER_REQUEST => {
                Err(ErrorReason::TooManyIds)
            }
            Request::Backfill { limit, .. } | Request::Since { limit, .. }
                if *limit == 0 || *limit > BACKFILL_PAGE as u64 =>
            {
                Err(ErrorReason::BadLimit)
            }
            Request::Revocations { limit, .. }
                if *limit == 0 || *limit > REVOCATION_PAGE as u64 =>
            {
                Err(ErrorReason::BadLimit)
            }
            Request::Directory { limit, .. } if *limit == 0 || *limit > DIRECTORY_PAGE as u64 => {
                Err(ErrorReason::BadLimit)
            }
            _ => Ok(()),
        }
    }
}

/// A response to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// Events (for `GetEvents`, `Backfill`, `Since`), each its canonical bytes.
    Events {
        /// At most [`MAX_EVENTS_PER_RESPONSE`].
        events: Vec<ByteBuf>,
    },
    /// For `RoomState`.
    RoomState {
        /// The auth chain of the state events, in depth order.
        auth_chain: Vec<ByteBuf>,
        /// The current state events.
        state: Vec<ByteBuf>,
        /// The forward extremities.
        tips: Vec<EventId>,
    },
    /// For `Tips`.
    Tips {
        /// At most [`MAX_TIPS`].
        tips: Vec<EventId>,
    },
    /// For `GetAttestation`: its canonical bytes, if the server has it.
    Attestation {
        /// `None` when unknown.
        attestation: Option<ByteBuf>,
    },
    /// For `Deliver`: the message was accepted into the server's inbox.
    Delivered,
    /// For `Revocations`: statements (each its canonical bytes) and the server's seq of the
    /// last one (the request's `after` when there is none): the next page starts after it.
    Revocations {
        /// The seq to ask after next.
        last: u64,
        /// At most [`REVOCATION_PAGE`].
        revocations: Vec<ByteBuf>,
    },
    /// For `Directory`: announcements, each its canonical bytes, in node key order.
    Directory {
        /// At most [`DIRECTORY_PAGE`].
        announcements: Vec<ByteBuf>,
    },
    /// The request failed.
    Error {
        /// Why.
        reason: ErrorReason,
    },
}

impl Response {
    /// How many events the response carries.
    pub fn event_count(&self) -> usize {
        match self {
            Response::Events { events } => events.len(),
            Response::RoomState {
                auth_chain, state, ..
            } => auth_chain.len() + state.len(),
            _ => 0,
        }
    }

    /// Checks the limits a well-formed response must respect.
    pub fn check(&self) -> Result<(), ErrorReason> {
        if self.event_count() > MAX_EVENTS_PER_RESPONSE {
            return Err(ErrorReason::TooLarge);
        }
        if let Response::Tips { tips } | Response::RoomState { tips, .. } = self
            && tips.len() > MAX_TIPS
        {
            return Err(ErrorReason::TooLarge);
        }
        if let Response::Revocations { revocations, .. } = self
            && revocations.len() > REVOCATION_PAGE
        {
            return Err(ErrorReason::TooLarge);
        }
        if let Response::Directory { announcements } = self
            && announcements.len() > DIRECTORY_PAGE
        {
            return Err(ErrorReason::TooLarge);
        }
        Ok(())
    }
}

/// Why a request failed, as the server says it. Stable names on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    /// The server does not hold the room.
    UnknownRoom,
    /// More ids than [`MAX_IDS_PER_REQUEST`].
    TooManyIds,
    /// A page size of 0 or above [`BACKFILL_PAGE`].
    BadLimit,
    /// The answer would exceed [`MAX_RESPONSE_BYTES`] or [`MAX_EVENTS_PER_RESPONSE`], or the
    /// request frame exceeded [`MAX_REQUEST_BYTES`].
    TooLarge,
    /// The server is at its limit of requests in flight; retry later.
    Busy,
    /// The delivered message was refused (bad signature, wrong recipient, bounds).
    MessageRefused,
    /// The request could not be decoded.
    Malformed,
    /// The server failed internally (its store); retry elsewhere.
    Internal,
}

impl ErrorReason {
    /// Stable reason name (same as on the wire).
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorReason::UnknownRoom => "unknown_room",
            ErrorReason::TooManyIds => "too_many_ids",
            ErrorReason::BadLimit => "bad_limit",
            ErrorReason::TooLarge => "too_large",
            ErrorReason::Busy => "busy",
            ErrorReason::MessageRefused => "message_refused",
            ErrorReason::Malformed => "malformed",
            ErrorReason::Internal => "internal",
        }
    }

    /// Whether a peer asking this is at fault (counts towards a ban), as opposed to a condition
    /// an honest peer can hit.
    pub fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            ErrorReason::TooManyIds | ErrorReason::BadLimit | ErrorReason::Malformed
        )
    }
}

/// Encodes a request (canonical CBOR).
pub fn encode_request(request: &Request) -> Result<Vec<u8>, CodecError> {
    codec::encode(request)
}

/// Decodes a request: size cap, bounded pre-scan, canonical check, limits.
pub fn decode_request(bytes: &[u8]) -> Result<Request, WireError> {
    let request: Request = codec::decode_canonical(bytes, MAX_REQUEST_BYTES)?;
    request.check().map_err(WireError::Limit)?;
    Ok(request)
}

/// Encodes a response (canonical CBOR).
pub fn encode_response(response: &Response) -> Result<Vec<u8>, CodecError> {
    codec::encode(response)
}

/// Decodes a response: size cap, bounded pre-scan, canonical check, limits.
pub fn decode_response(bytes: &[u8]) -> Result<Response, WireError> {
    let response: Response = codec::decode_canonical(bytes, MAX_RESPONSE_BYTES)?;
    response.check().map_err(WireError::Limit)?;
    Ok(response)
}

/// Why bytes did not decode to a well-formed message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Not canonical CBOR of the expected shape, or over the byte cap.
    #[error("codec: {0}")]
    Codec(#[from] CodecError),
    /// Decoded, but over a count limit.
    #[error("limit: {}", .0.reason())]
    Limit(ErrorReason),
}

impl WireError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            WireError::Codec(e) => e.reason(),
            WireError::Limit(reason) => reason.reason(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::Hash32;

    fn id(n: u8) -> EventId {
        EventId(Hash32([n; 32]))
    }

    #[test]
    fn requests_round_trip_canonically() {
        let room = RoomId(Hash32([9; 32]));
        let requests = vec![
            Request::GetEvents {
                ids: vec![id(1), id(2)],
            },
            Request::Backfill {
                from: vec![id(3)],
                limit: 10,
                room,
            },
            Request::Since {
                after: Some((4, id(4))),
                limit: BACKFILL_PAGE as u64,
                room,
            },
            Request::Since {
                after: None,
                limit: 1,
                room,
            },
            Request::RoomState { room },
            Request::Tips { room },
            Request::GetAttestation {
                id: AttestationId(Hash32([5; 32])),
            },
            Request::Deliver {
                message: ByteBuf::from(vec![1, 2, 3]),
            },
            Request::Revocations {
                after: 7,
                limit: REVOCATION_PAGE as u64,
            },
            Request::Directory {
                after: None,
                limit: DIRECTORY_PAGE as u64,
            },
        ];
        for request in requests {
            let bytes = encode_request(&request).unwrap();
            assert_eq!(decode_request(&bytes).unwrap(), request);
        }
    }

    #[test]
    fn responses_round_trip_canonically() {
        let responses = vec![
            Response::Events {
                events: vec![ByteBuf::from(vec![0xa0])],
            },
            Response::RoomState {
                auth_chain: vec![],
                state: vec![ByteBuf::from(vec![1])],
                tips: vec![id(1)],
            },
            Response::Tips { tips: vec![id(7)] },
            Response::Attestation { attestation: None },
            Response::Delivered,
            Response::Revocations {
                last: 9,
                revocations: vec![ByteBuf::from(vec![0xa0])],
            },
            Response::Directory {
                announcements: vec![ByteBuf::from(vec![0xa0])],
            },
            Response::Error {
                reason: ErrorReason::Busy,
            },
        ];
        for response in responses {
            let bytes = encode_response(&response).unwrap();
            assert_eq!(decode_response(&bytes).unwrap(), response);
        }
    }

    #[test]
    fn limits_are_enforced_on_decode() {
        let too_many = Request::GetEvents {
            ids: (0..=MAX_IDS_PER_REQUEST).map(|i| id(i as u8)).collect(),
        };
        let bytes = encode_request(&too_many).unwrap();
        assert_eq!(
            decode_request(&bytes),
            Err(WireError::Limit(ErrorReason::TooManyIds))
        );
        let zero = Request::Tips {
            room: RoomId(Hash32([0; 32])),
        };
        assert!(decode_request(&encode_request(&zero).unwrap()).is_ok());
        let bad_limit = Request::Backfill {
            from: vec![],
            limit: BACKFILL_PAGE as u64 + 1,
            room: RoomId(Hash32([0; 32])),
        };
        let bytes = encode_request(&bad_limit).unwrap();
        assert_eq!(
            decode_request(&bytes).map_err(|e| e.reason()),
            Err("bad_limit")
        );
    }

    #[test]
    fn oversized_and_non_canonical_input_is_refused() {
        let big = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            decode_request(&big).map_err(|e| e.reason()),
            Err("too_large")
        );
        // `{"tips": {"room": h'..'}}` with a non-shortest length head for the byte string.
        let mut bytes = encode_request(&Request::Tips {
            room: RoomId(Hash32([1; 32])),
        })
        .unwrap();
        let pos = bytes.iter().position(|b| *b == 0x58).unwrap();
        bytes.splice(pos..pos + 2, [0x59, 0x00, 0x20]);
        assert_eq!(
            decode_request(&bytes).map_err(|e| e.reason()),
            Err("non_canonical_encoding")
        );
        // A hostile length prefix claiming a huge array is refused before allocating.
        let hostile = [
            0xa1, 0x64, b't', b'i', b'p', b's', 0xa1, 0x64, b'r', b'o', b'o', b'm', 0x9b, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert!(decode_request(&hostile).is_err());
    }
}
