//! Typed errors. Every variant has a stable, machine-readable reason name (`reason()`), used in
//! metrics, logs, API responses and the labelled invalid test vectors. Reason names never change
//! meaning once published; new failure kinds get new names.

use thiserror::Error;

/// Why bytes could not be decoded into a Causerie structure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The input is longer than the cap for this structure (checked before decoding).
    #[error("input of {len} bytes exceeds the cap of {max} bytes")]
    TooLarge {
        /// Input length in bytes.
        len: usize,
        /// The cap that applied.
        max: usize,
    },
    /// The input ended in the middle of an item.
    #[error("truncated CBOR")]
    Truncated,
    /// Bytes remain after the top-level item.
    #[error("trailing bytes after the CBOR item")]
    TrailingBytes,
    /// Nesting deeper than the decoder's recursion limit or the content depth limit.
    #[error("nesting too deep")]
    NestingTooDeep,
    /// A length prefix larger than the remaining input.
    #[error("length prefix out of range")]
    LengthOutOfRange,
    /// A map repeats a key.
    #[error("duplicate map key")]
    DuplicateMapKey,
    /// A floating-point number (not allowed anywhere in signed data).
    #[error("floating-point values are not allowed")]
    FloatNotAllowed,
    /// An integer outside the signed 64-bit range.
    #[error("integer out of range")]
    IntegerOutOfRange,
    /// A map key that is not a text string.
    #[error("map keys must be text strings")]
    NonTextMapKey,
    /// A public key that does not decode to a curve point.
    #[error("invalid public key")]
    InvalidKey,
    /// A small-order ("weak") public key.
    #[error("weak public key")]
    WeakKey,
    /// The bytes decode, but are not the one canonical encoding of what they decode to.
    #[error("non-canonical encoding")]
    NonCanonical,
    /// Anything else that is not the expected structure.
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// Encoding failed (a programmer error, reported rather than panicking).
    #[error("encoding failed: {0}")]
    Encode(String),
}

impl CodecError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            CodecError::TooLarge { .. } => "too_large",
            CodecError::Truncated => "truncated",
            CodecError::TrailingBytes => "trailing_bytes",
            CodecError::NestingTooDeep => "nesting_too_deep",
            CodecError::LengthOutOfRange => "length_out_of_range",
            CodecError::DuplicateMapKey => "duplicate_map_key",
            CodecError::FloatNotAllowed => "float_not_allowed",
            CodecError::IntegerOutOfRange => "integer_out_of_range",
            CodecError::NonTextMapKey => "non_text_map_key",
            CodecError::InvalidKey => "invalid_key",
            CodecError::WeakKey => "weak_key",
            CodecError::NonCanonical => "non_canonical_encoding",
            CodecError::Malformed(_) => "malformed_cbor",
            CodecError::Encode(_) => "encode_failed",
        }
    }
}

/// Why an event (or attestation) was refused by the format and signature checks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventError {
    /// Decoding failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The encoded event is larger than [`crate::event::MAX_EVENT_BYTES`].
    #[error("event of {len} bytes exceeds {max}")]
    EventTooLarge {
        /// Encoded size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More than [`crate::event::MAX_PREV_EVENTS`] prev_events.
    #[error("{0} prev_events")]
    TooManyPrevEvents(usize),
    /// More than [`crate::event::MAX_AUTH_EVENTS`] auth_events.
    #[error("{0} auth_events")]
    TooManyAuthEvents(usize),
    /// The same event id listed twice in prev_events or auth_events.
    #[error("duplicate event reference")]
    DuplicateReference,
    /// An envelope version this implementation does not know.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u64),
    /// A kind that is empty, too long or not made of the allowed characters.
    #[error("bad kind")]
    BadKind,
    /// A state key longer than [`crate::event::MAX_STATE_KEY_BYTES`].
    #[error("state key too long")]
    StateKeyTooLong,
    /// Content is not a map. (Content nested deeper than [`crate::codec::MAX_CONTENT_DEPTH`]
    /// is reported as [`CodecError::NestingTooDeep`].)
    #[error("bad content")]
    BadContent,
    /// A non-create event without a room id, or a create event with one.
    #[error("room id missing or not allowed")]
    BadRoomId,
    /// A create event with parents, or with a depth other than 0; or depth above the limit.
    #[error("bad depth or parents")]
    BadDepth,
    /// Content that neither matches its hash nor is the redacted form.
    #[error("content does not match content_hash")]
    ContentHashMismatch,
    /// The signature does not verify (under `verify_strict`, in this signing domain).
    #[error("bad signature")]
    BadSignature,
    /// An attestation field is out of its allowed range.
    #[error("bad attestation: {0}")]
    BadAttestation(&'static str),
}

impl EventError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            EventError::Codec(e) => e.reason(),
            EventError::EventTooLarge { .. } => "event_too_large",
            EventError::TooManyPrevEvents(_) => "too_many_prev_events",
            EventError::TooManyAuthEvents(_) => "too_many_auth_events",
            EventError::DuplicateReference => "duplicate_reference",
            EventError::UnsupportedVersion(_) => "unsupported_version",
            EventError::BadKind => "bad_kind",
            EventError::StateKeyTooLong => "state_key_too_long",
            EventError::BadContent => "bad_content",
            EventError::BadRoomId => "bad_room_id",
            EventError::BadDepth => "bad_depth",
            EventError::ContentHashMismatch => "content_hash_mismatch",
            EventError::BadSignature => "bad_signature",
            EventError::BadAttestation(reason) => reason,
        }
    }
}

/// Why a key or key file could not be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("key file IO: {0}")]
    Io(#[from] std::io::Error),
    /// The key file is not a Causerie key file of the expected kind.
    #[error("not a causerie {expected} key file")]
    WrongFile {
        /// "user" or "node".
        expected: &'static str,
    },
    /// The key file is readable by others than its owner.
    #[error("key file permissions {mode:o} are too open (want 0600)")]
    Permissions {
        /// The file's mode bits.
        mode: u32,
    },
    /// The operating system's random source failed.
    #[error("random source unavailable")]
    Random,
    /// Decoding failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

impl KeyError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            KeyError::Io(_) => "key_io",
            KeyError::WrongFile { .. } => "wrong_key_file",
            KeyError::Permissions { .. } => "key_file_permissions",
            KeyError::Random => "random_unavailable",
            KeyError::Codec(e) => e.reason(),
        }
    }
}
