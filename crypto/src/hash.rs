//! SHA-256 identifiers. All are 32 bytes, encoded as CBOR byte strings, shown as lowercase hex.
//! Ordering is bytewise, so sorted collections of ids are the same on every platform.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::codec::{self, fixed_bytes};
use crate::error::CodecError;

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash32(pub [u8; 32]);

impl Ord for Hash32 {
    #[inline]
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_bytes32(&self.0, &other.0)
    }
}

impl PartialOrd for Hash32 {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Bytewise (lexicographic) order of two 32-byte strings, the order `[u8; 32]` has.
///
/// Compared as four big-endian words, which is the same order: ids and keys are compared in
/// every ordered-index lookup of the receive path, and the derived order calls `memcmp` for each
/// comparison, whereas the first word nearly always decides.
#[inline]
pub(crate) fn cmp_bytes32(a: &[u8; 32], b: &[u8; 32]) -> std::cmp::Ordering {
    let (a_words, _) = a.as_chunks::<8>();
    let (b_words, _) = b.as_chunks::<8>();
    for (x, y) in a_words.iter().zip(b_words) {
        let order = u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y));
        if order.is_ne() {
            return order;
        }
    }
    std::cmp::Ordering::Equal
}

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
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:expr) => {
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
            type Err = crate::address::AddressError;
            /// Strict: see [`crate::address`] (the sigil is optional, the digits lowercase).
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                crate::address::parse_bytes(text, $kind).map(|bytes| $name(Hash32(bytes)))
            }
        }
    };
}

id_type!(
    /// Id of an event: SHA-256 of its signing input and signature (specs/events.md, "Ids").
    EventId,
    "$",
    crate::address::AddressKind::Event
);
id_type!(
    /// Id of a room: the id of its create event.
    RoomId,
    "!",
    crate::address::AddressKind::Room
);
id_type!(
    /// Id of an attestation: SHA-256 of its signing input and signature.
    AttestationId,
    "@",
    crate::address::AddressKind::Attestation
);

impl From<EventId> for RoomId {
    fn from(id: EventId) -> Self {
        RoomId(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-wise order is exactly the bytewise order, including ties that a later word
    /// breaks and differences in the last byte.
    #[test]
    fn order_is_bytewise() {
        // A fixed pseudo-random sequence (seed 11), so a failure replays.
        let mut x: u64 = 11;
        let mut next = || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as u8
        };
        let mut values: Vec<[u8; 32]> = vec![[0; 32], [0xff; 32]];
        for _ in 0..200 {
            let mut bytes = [0u8; 32];
            for b in &mut bytes {
                // Few distinct values, so that long shared prefixes are common.
                *b = next() % 3;
            }
            values.push(bytes);
            let mut tweaked = bytes;
            let at = usize::from(next() % 32);
            tweaked[at] = tweaked[at].wrapping_add(1);
            values.push(tweaked);
        }
        for a in &values {
            for b in &values {
                assert_eq!(Hash32(*a).cmp(&Hash32(*b)), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(Hash32(*a).partial_cmp(&Hash32(*b)), a.partial_cmp(b));
            }
        }
    }
}
