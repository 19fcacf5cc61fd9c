//! SHA-256 identifiers. All are 32 bytes, encoded as CBOR byte strings, shown as lowercase hex.
//! Ordering is bytewise, so sorted collections of ids are the same on every platform.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::codec::{self, fixed_bytes};
use crate::error::CodecError;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// SHA-256 of the concatenation of `parts`.
    pub fn digest(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        Hash32(hasher.finalize().into())
    }

    /// SHA-256 of the canonical CBOR encoding of `value`, streamed into the hasher without
    /// building the encoding in memory (e.g. an event's `content_hash`).
    pub fn digest_serialized<T: Serialize>(value: &T) -> Result<Self, CodecError> {
        let mut writer = HashWriter(Sha256::new());
        codec::encode_to_writer(&mut writer, value)?;
        Ok(Hash32(writer.0.finalize().into()))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Hash32(out))
    }
}

/// Feeds everything written into a SHA-256 state.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..12])
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fixed_bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fixed_bytes::deserialize(deserializer).map(Hash32)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Hash32);

        impl $name {
            /// Textual prefix used when the id is shown to people (`$` events, `!` rooms, `@` attestations).
            pub const PREFIX: &'static str = $prefix;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{:?}", $prefix, self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = crate::error::CodecError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let hex = text.strip_prefix($prefix).unwrap_or(text);
                Hash32::from_hex(hex)
                    .map($name)
                    .ok_or_else(|| crate::error::CodecError::Malformed(format!("bad {} id", stringify!($name))))
            }
        }
    };
}

id_type!(
    /// Id of an event: SHA-256 of its signing input and signature (specs/events.md, "Ids").
    EventId,
    "$"
);
id_type!(
    /// Id of a room: the id of its create event.
    RoomId,
    "!"
);
id_type!(
    /// Id of an attestation: SHA-256 of its signing input and signature.
    AttestationId,
    "@"
);

impl From<EventId> for RoomId {
    fn from(id: EventId) -> Self {
        RoomId(id.0)
    }
}
