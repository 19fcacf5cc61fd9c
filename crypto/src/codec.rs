//! The one CBOR entry point of Causerie. Every byte that is signed, hashed, stored or sent goes
//! through [`encode`] and [`decode_canonical`]; nothing else in the workspace calls `serde_cbor`.
//!
//! Canonical form (specs/events.md, "Canonical CBOR"): definite lengths, shortest integer and
//! length heads, maps keyed by text strings in bytewise order of their UTF-8 bytes without
//! duplicates, no floats, no tags, no undefined/simple values. serde_cbor's encoder produces that
//! form for our types (structs declare their fields in that order, maps are `BTreeMap<String, _>`),
//! so a decoded structure is canonical exactly when it re-encodes to the identical bytes, which
//! [`decode_canonical`] checks.
//!
//! Bounds: the input length is checked against a caller-given cap before anything is decoded.
//! Then [`scan`] walks the input once, iteratively and without allocating, and only lets through
//! exactly one well-formed CBOR item: every length prefix fits in the remaining input, nesting is at
//! most [`MAX_NESTING_DEPTH`], no tags, nothing after the item. Only then does serde_cbor decode
//! it, so a hostile length prefix can never make it allocate, nor deep nesting recurse (its own
//! recursion limit of 128 is a second fence). [`MAX_CONTENT_DEPTH`] bounds event content further.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CodecError;

/// Maximum nesting of arrays and maps inside event content (the content map itself is depth 1).
pub const MAX_CONTENT_DEPTH: usize = 16;

/// Deepest nesting of arrays and maps accepted anywhere, checked by [`scan`] before decoding.
/// Above every structure Causerie defines (an event is content depth + 1) and well below
/// serde_cbor's recursion limit, so the recursive decoder never nears the stack's end.
pub const MAX_NESTING_DEPTH: usize = 64;

/// Upper bound on elements preallocated from an untrusted length prefix.
const PREALLOCATE_MAX: usize = 64;

/// Prefix of custom decode errors that carry one of our reason names through serde.
const REASON_MARKER: &str = "causerie:";

/// Encodes `value` to canonical CBOR.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    serde_cbor::to_vec(value).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes `bytes` (at most `max_len` of them) without the canonical check. Only for data this
/// node wrote itself (its own store); everything from outside uses [`decode_canonical`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max_len: usize) -> Result<T, CodecError> {
    if bytes.len() > max_len {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    scan(bytes, max_len)?;
    serde_cbor::from_slice(bytes).map_err(classify)
}

/// A container [`scan`] is inside of: how many items it still expects.
#[derive(Clone, Copy)]
enum Open {
    /// A definite-length array or map (a map counts keys and values separately).
    Items(u64),
    /// An indefinite-length array, map or string, closed by a break byte.
    UntilBreak,
}

/// Checks that `bytes` are exactly one well-formed CBOR data item within Causerie's bounds,
/// without recursion and without allocating.
///
/// Reasons, in the order they are found while walking the input front to back:
/// - a declared length or item count larger than `max_len` (no input under the cap could hold
///   it): [`CodecError::LengthOutOfRange`];
/// - the input ends inside an item, or a declared length runs past its end:
///   [`CodecError::Truncated`];
/// - arrays/maps nested deeper than [`MAX_NESTING_DEPTH`]: [`CodecError::NestingTooDeep`];
/// - a tag (major type 6, never part of canonical form): [`CodecError::NonCanonical`];
/// - reserved additional-information values or a stray break byte: [`CodecError::Malformed`];
/// - bytes after the item: [`CodecError::TrailingBytes`].
///
/// Whether the item is canonical, and whether it has the expected shape, is left to the decoder
/// and the re-encode check; this pass only guarantees that decoding is cheap and bounded.
pub fn scan(bytes: &[u8], max_len: usize) -> Result<(), CodecError> {
    let max_len = max_len as u64;
    let mut open = [Open::Items(0); MAX_NESTING_DEPTH];
    let mut depth = 0usize;
    let mut pos = 0usize;
    loop {
        // Read the head of the next item.
        let initial = *bytes.get(pos).ok_or(CodecError::Truncated)?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if initial == 0xff {
            // A break closes the innermost indefinite-length container and nothing else.
            match depth.checked_sub(1).map(|top| open[top]) {
                Some(Open::UntilBreak) => depth -= 1,
                _ => return Err(CodecError::Malformed("unexpected break".into())),
            }
        } else {
            let argument = match info {
                0..=23 => Some(u64::from(info)),
                24..=27 => {
                    let width = 1usize << (info - 24);
                    let field = bytes.get(pos..pos + width).ok_or(CodecError::Truncated)?;
                    pos += width;
                    Some(field.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
                }
                31 if (2..=5).contains(&major) => None,
                _ => {
                    return Err(CodecError::Malformed(format!(
                        "reserved head 0x{initial:02x}"
                    )));
                }
            };
            let remaining = (bytes.len() - pos) as u64;
            // Whether this item opens a container whose items follow.
            let mut opens = None;
            match (major, argument) {
                (0 | 1 | 7, _) => {}
                (2 | 3, Some(len)) => {
                    if len > max_len {
                        return Err(CodecError::LengthOutOfRange);
                    }
                    if len > remaining {
                        return Err(CodecError::Truncated);
                    }
                    pos += len as usize;
                }
                (4 | 5, Some(count)) => {
                    // A map of n pairs holds 2n items; every item takes at least one byte.
                    let items = if major == 5 {
                        count.saturating_mul(2)
                    } else {
                        count
                    };
                    if items > max_len {
                        return Err(CodecError::LengthOutOfRange);
                    }
                    if items > remaining {
                        return Err(CodecError::Truncated);
                    }
                    if items > 0 {
                        opens = Some(Open::Items(items));
                    }
                }
                (2..=5, None) => opens = Some(Open::UntilBreak),
                _ => return Err(CodecError::NonCanonical),
            }
            if let Some(container) = opens {
                if depth == MAX_NESTING_DEPTH {
                    return Err(CodecError::NestingTooDeep);
                }
                open[depth] = container;
                depth += 1;
                continue;
            }
        }
        // One item is complete: count it against the containers it closes.
        loop {
            let Some(top) = depth.checked_sub(1) else {
                return if pos == bytes.len() {
                    Ok(())
                } else {
                    Err(CodecError::TrailingBytes)
                };
            };
            match &mut open[top] {
                Open::UntilBreak => break,
                Open::Items(left) => {
                    *left -= 1;
                    if *left > 0 {
                        break;
                    }
                    depth -= 1;
                }
            }
        }
    }
}

/// Decodes `bytes` (at most `max_len` of them) and rejects them unless they are the canonical
/// encoding of the decoded value.
pub fn decode_canonical<T: DeserializeOwned + Serialize>(
    bytes: &[u8],
    max_len: usize,
) -> Result<T, CodecError> {
    let value: T = decode(bytes, max_len)?;
    if !encodes_to(&value, bytes)? {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

/// Appends the canonical encoding of `value` to `out` (no intermediate buffer).
pub fn encode_into<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), CodecError> {
    encode_to_writer(out, value)
}

/// Streams the canonical encoding of `value` into `writer` (e.g. a hasher).
pub fn encode_to_writer<W: std::io::Write, T: Serialize>(
    writer: W,
    value: &T,
) -> Result<(), CodecError> {
    serde_cbor::to_writer(writer, value).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Whether `value` encodes to exactly `bytes`. Compares while encoding, without allocating, and
/// stops at the first differing byte.
pub fn encodes_to<T: Serialize>(value: &T, bytes: &[u8]) -> Result<bool, CodecError> {
    let mut compare = Compare {
        expected: bytes,
        differs: false,
    };
    match serde_cbor::to_writer(&mut compare, value) {
        Ok(()) => Ok(!compare.differs && compare.expected.is_empty()),
        Err(_) if compare.differs => Ok(false),
        Err(e) => Err(CodecError::Encode(e.to_string())),
    }
}

/// A writer that checks what is written against the bytes still expected.
struct Compare<'a> {
    expected: &'a [u8],
    differs: bool,
}

impl std::io::Write for Compare<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.expected.strip_prefix(buf) {
            Some(rest) => {
                self.expected = rest;
                Ok(buf.len())
            }
            None => {
                // Abort the encoding: the rest cannot match any more.
                self.differs = true;
                Err(std::io::Error::other("differs"))
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Maps serde_cbor's errors to our typed reasons.
fn classify(err: serde_cbor::Error) -> CodecError {
    let message = err.to_string();
    if let Some(pos) = message.find(REASON_MARKER) {
        let reason = message[pos + REASON_MARKER.len()..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        return match reason {
            "duplicate_map_key" => CodecError::DuplicateMapKey,
            "float_not_allowed" => CodecError::FloatNotAllowed,
            "integer_out_of_range" => CodecError::IntegerOutOfRange,
            "non_text_map_key" => CodecError::NonTextMapKey,
            "invalid_key" => CodecError::InvalidKey,
            "weak_key" => CodecError::WeakKey,
            "nesting_too_deep" => CodecError::NestingTooDeep,
            _ => CodecError::Malformed(message),
        };
    }
    if err.is_eof() {
        CodecError::Truncated
    } else if message.starts_with("trailing data") {
        CodecError::TrailingBytes
    } else if message.starts_with("recursion limit exceeded") {
        CodecError::NestingTooDeep
    } else if message.starts_with("length out of range") {
        CodecError::LengthOutOfRange
    } else if message.starts_with("duplicate field") {
        CodecError::DuplicateMapKey
    } else {
        CodecError::Malformed(message)
    }
}

/// Whether `err` is the [`CodecError::Malformed`] that [`classify`] leaves for a reason name it
/// does not map itself (reasons owned by a caller, such as the event's `bad_content`).
pub(crate) fn carries_reason(err: &CodecError, reason: &str) -> bool {
    matches!(err, CodecError::Malformed(message)
    if message.find(REASON_MARKER).is_some_and(|pos| {
        message[pos + REASON_MARKER.len()..].split_whitespace().next() == Some(reason)
    }))
}

/// Builds a serde error carrying one of our reason names (see [`classify`]).
pub(crate) fn reason_error<E: de::Error>(reason: &str) -> E {
    E::custom(format_args!("{REASON_MARKER}{reason}"))
}

/// Event content: a map of text keys to [`Value`]s.
pub type Content = BTreeMap<String, Value>;

/// The data model of event content: JSON-like, without floats, with byte strings.
///
/// Floats are excluded because their encodings are not unique (NaN payloads, widths), and
/// integers are limited to `i64` so every implementation can hold them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    /// CBOR null.
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Integer(i64),
    /// A UTF-8 text string.
    Text(String),
    /// A byte string.
    Bytes(Vec<u8>),
    /// An array.
    Array(Vec<Value>),
    /// A map with text keys, in bytewise key order.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// Nesting depth: scalars are 0, a flat array or map is 1.
    pub fn depth(&self) -> usize {
        // Iterative so that a deep value cannot overflow the stack here either.
        let mut max = 0;
        let mut stack: Vec<(&Value, usize)> = vec![(self, 0)];
        while let Some((value, depth)) = stack.pop() {
            match value {
                Value::Array(items) => {
                    max = max.max(depth + 1);
                    stack.extend(items.iter().map(|v| (v, depth + 1)));
                }
                Value::Map(map) => {
                    max = max.max(depth + 1);
                    stack.extend(map.values().map(|v| (v, depth + 1)));
                }
                _ => {}
            }
        }
        max
    }

    /// The text, if this is a text value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The array, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Nesting depth of a content map (the map itself counts as 1).
pub fn content_depth(content: &Content) -> usize {
    1 + content.values().map(Value::depth).max().unwrap_or(0)
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Text(s) => serializer.serialize_str(s),
            Value::Bytes(b) => serializer.serialize_bytes(b),
            Value::Array(items) => items.serialize(serializer),
            Value::Map(map) => map.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| reason_error("integer_out_of_range"))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| reason_error("integer_out_of_range"))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Integer)
            .map_err(|_| reason_error("integer_out_of_range"))
    }

    fn visit_f32<E: de::Error>(self, _: f32) -> Result<Value, E> {
        Err(reason_error("float_not_allowed"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Err(reason_error("float_not_allowed"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(PREALLOCATE_MAX));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some(key) = access.next_key::<MapKey>()? {
            let value = access.next_value()?;
            if map.insert(key.0, value).is_some() {
                return Err(reason_error("duplicate_map_key"));
            }
        }
        Ok(Value::Map(map))
    }
}

/// A map key: must be a text string.
struct MapKey(String);

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = MapKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text map key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MapKey, E> {
                Ok(MapKey(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MapKey, E> {
                Ok(MapKey(v))
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<MapKey, E> {
                Err(reason_error("non_text_map_key"))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MapKey, E> {
                Err(reason_error("non_text_map_key"))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MapKey, E> {
                Err(reason_error("non_text_map_key"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MapKey, E> {
                Err(reason_error("non_text_map_key"))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// Serde helpers for fixed-size byte arrays encoded as CBOR byte strings.
pub(crate) mod fixed_bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        struct FixedVisitor<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for FixedVisitor<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a byte string of length {N}")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<[u8; N], E> {
                v.try_into().map_err(|_| E::invalid_length(v.len(), &self))
            }
        }
        deserializer.deserialize_bytes(FixedVisitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_value(bytes: &[u8]) -> Result<Value, CodecError> {
        decode_canonical(bytes, 1 << 20)
    }

    #[test]
    fn canonical_map_round_trips() {
        let mut map = BTreeMap::new();
        map.insert("b".to_owned(), Value::Integer(1));
        map.insert("a".to_owned(), Value::Text("x".into()));
        let bytes = encode(&Value::Map(map.clone())).unwrap();
        assert_eq!(decode_value(&bytes).unwrap(), Value::Map(map));
    }

    #[test]
    fn unsorted_map_is_non_canonical() {
        // {"b": 1, "a": 2}
        let bytes = [0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02];
        assert_eq!(decode_value(&bytes), Err(CodecError::NonCanonical));
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        // {"a": 1, "a": 2}
        let bytes = [0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02];
        assert_eq!(decode_value(&bytes), Err(CodecError::DuplicateMapKey));
    }

    #[test]
    fn non_minimal_integer_is_non_canonical() {
        // 1 encoded in a one-byte argument
        assert_eq!(decode_value(&[0x18, 0x01]), Err(CodecError::NonCanonical));
    }

    #[test]
    fn indefinite_length_is_non_canonical() {
        // [_ 1]
        assert_eq!(
            decode_value(&[0x9f, 0x01, 0xff]),
            Err(CodecError::NonCanonical)
        );
    }

    #[test]
    fn tags_are_non_canonical() {
        // tag 1 (epoch time) around 0
        assert_eq!(decode_value(&[0xc1, 0x00]), Err(CodecError::NonCanonical));
    }

    #[test]
    fn floats_and_huge_integers_are_rejected() {
        assert_eq!(
            decode_value(&[0xf9, 0x3c, 0x00]),
            Err(CodecError::FloatNotAllowed)
        );
        assert_eq!(
            decode_value(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(CodecError::IntegerOutOfRange)
        );
    }

    #[test]
    fn non_text_keys_are_rejected() {
        assert_eq!(
            decode_value(&[0xa1, 0x01, 0x02]),
            Err(CodecError::NonTextMapKey)
        );
    }

    #[test]
    fn cap_is_checked_before_decoding() {
        let bytes = encode(&Value::Text("hello".into())).unwrap();
        assert_eq!(
            decode_canonical::<Value>(&bytes, 3),
            Err(CodecError::TooLarge {
                len: bytes.len(),
                max: 3
            })
        );
    }

    #[test]
    fn depth_counts_nesting() {
        let mut v = Value::Integer(1);
        for _ in 0..5 {
            v = Value::Array(vec![v]);
        }
        assert_eq!(v.depth(), 5);
    }
}
