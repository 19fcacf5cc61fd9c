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
//! Decoding, in the order of specs/events.md §1.4 (the first failure is the reason):
//! 1. the input length is checked against a caller-given cap before anything is decoded;
//! 2. [`scan`] walks the input once, iteratively and without allocating, and only lets through
//!    exactly one well-formed CBOR item of our data model: every length prefix fits in the
//!    remaining input, nesting is at most [`MAX_NESTING_DEPTH`], text is UTF-8, map keys are text,
//!    no tags, floats or simple values other than `false`, `true`, `null`, nothing after the item.
//!    So a hostile length prefix can never make serde_cbor allocate, nor deep nesting recurse
//!    (its own recursion limit of 128 is a second fence);
//! 3. serde_cbor decodes it through `codec/strict.rs`, which refuses a value of another CBOR
//!    major type than its field's (`malformed_cbor`) where serde would convert it;
//! 4. the canonical comparison.
//!
//! [`MAX_CONTENT_DEPTH`] bounds event content further.
//!
//! Layout: this file (entry points, [`scan`], [`Value`]); `codec/strict.rs` (type-strict
//! decoding).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::CodecError;

mod strict;

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
    let mut deserializer = serde_cbor::Deserializer::from_slice(bytes);
    let value = T::deserialize(strict::Strict(&mut deserializer)).map_err(classify)?;
    deserializer.end().map_err(classify)?;
    Ok(value)
}

/// What a container [`scan`] is inside of holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    /// Array elements.
    Items,
    /// Map keys and values, alternating.
    Pairs,
    /// Chunks of an indefinite-length string of this major type (2 or 3).
    Chunks(u8),
}

/// A container [`scan`] is inside of.
#[derive(Clone, Copy)]
struct Open {
    holds: Holds,
    /// Items (keys and values counted separately) still expected; `None` until a break byte.
    left: Option<u64>,
    /// Items read so far (for an indefinite-length map: whether a key or a value comes next).
    read: u64,
}

impl Open {
    /// Whether the next item in this container is a map key.
    fn expects_key(&self) -> bool {
        self.holds == Holds::Pairs && self.read.is_multiple_of(2)
    }
}

/// Checks that `bytes` are exactly one well-formed CBOR data item of Causerie's data model
/// within its bounds, without recursion and without allocating (specs/events.md §1.3, step 2).
///
/// Items are visited in the order their first byte appears in the input; for each head, the
/// checks below apply in this order, and the first failure is the result:
/// 1. no byte left: [`CodecError::Truncated`];
/// 2. a break byte (`0xff`) that does not end an indefinite-length item (or ends a map after a
///    key): [`CodecError::Malformed`];
/// 3. a reserved additional-information value (28–30, or 31 with major type 0, 1 or 6):
///    [`CodecError::Malformed`];
/// 4. argument bytes missing: [`CodecError::Truncated`];
/// 5. inside an indefinite-length string, anything but a definite-length string of the same
///    major type: [`CodecError::Malformed`];
/// 6. at a map key position, anything but a text string: [`CodecError::NonTextMapKey`];
/// 7. a tag: [`CodecError::NonCanonical`];
/// 8. a simple value other than `false`, `true`, `null`: `undefined` is
///    [`CodecError::NonCanonical`], a float [`CodecError::FloatNotAllowed`], any other
///    [`CodecError::Malformed`];
/// 9. a string length over `max_len`: [`CodecError::LengthOutOfRange`]; past the end of the
///    input: [`CodecError::Truncated`]; a text string that is not UTF-8:
///    [`CodecError::Malformed`];
/// 10. an array or map count (a map of n pairs counts 2n) over `max_len`:
///     [`CodecError::LengthOutOfRange`]; more items than bytes left: [`CodecError::Truncated`];
/// 11. a container (a non-empty array or map, any indefinite-length item) opened inside
///     [`MAX_NESTING_DEPTH`] others: [`CodecError::NestingTooDeep`];
///
/// and once the top-level item is complete, bytes after it: [`CodecError::TrailingBytes`].
///
/// Whether the item is canonical, and whether it has the expected shape, is left to the decoder
/// and the re-encode check; this pass guarantees that decoding is cheap and bounded and that
/// every value is in the data model.
pub fn scan(bytes: &[u8], max_len: usize) -> Result<(), CodecError> {
    let max_len = max_len as u64;
    let mut open = [Open {
        holds: Holds::Items,
        left: None,
        read: 0,
    }; MAX_NESTING_DEPTH];
    let mut depth = 0usize;
    let mut pos = 0usize;
    loop {
        let parent = depth.checked_sub(1).map(|top| open[top]);
        let initial = *bytes.get(pos).ok_or(CodecError::Truncated)?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        if initial == 0xff {
            // A break ends the innermost indefinite-length item, a map only after a value.
            match parent {
                Some(p)
                    if p.left.is_none()
                        && (p.holds != Holds::Pairs || p.read.is_multiple_of(2)) =>
                {
                    depth -= 1;
                }
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
            if let Some(Open {
                holds: Holds::Chunks(string_major),
                ..
            }) = parent
                && (major != string_major || argument.is_none())
            {
                return Err(CodecError::Malformed(
                    "indefinite-length string chunk".into(),
                ));
            }
            if parent.is_some_and(|p| p.expects_key()) && major != 3 {
                return Err(CodecError::NonTextMapKey);
            }
            let remaining = (bytes.len() - pos) as u64;
            // Whether this item opens a container whose items follow.
            let mut opens = None;
            match major {
                0 | 1 => {}
                6 => return Err(CodecError::NonCanonical),
                7 => match info {
                    20..=22 => {}
                    23 => return Err(CodecError::NonCanonical),
                    25..=27 => return Err(CodecError::FloatNotAllowed),
                    _ => {
                        return Err(CodecError::Malformed(format!(
                            "simple value 0x{initial:02x}"
                        )));
                    }
                },
                2 | 3 => match argument {
                    Some(len) => {
                        if len > max_len {
                            return Err(CodecError::LengthOutOfRange);
                        }
                        if len > remaining {
                            return Err(CodecError::Truncated);
                        }
                        let content = &bytes[pos..pos + len as usize];
                        if major == 3 && std::str::from_utf8(content).is_err() {
                            return Err(CodecError::Malformed("invalid UTF-8".into()));
                        }
                        pos += len as usize;
                    }
                    None => opens = Some((major, None)),
                },
                // Arrays (4) and maps (5).
                _ => match argument {
                    Some(count) => {
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
                            opens = Some((major, Some(items)));
                        }
                    }
                    None => opens = Some((major, None)),
                },
            }
            if let Some((major, left)) = opens {
                if depth == MAX_NESTING_DEPTH {
                    return Err(CodecError::NestingTooDeep);
                }
                open[depth] = Open {
                    holds: match major {
                        4 => Holds::Items,
                        5 => Holds::Pairs,
                        string => Holds::Chunks(string),
                    },
                    left,
                    read: 0,
                };
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
            let container = &mut open[top];
            container.read += 1;
            match &mut container.left {
                None => break,
                Some(left) => {
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

/// A map key: must be a text string ([`scan`] refuses any other key first; this is a second
/// fence with the same reason).
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
    fn the_pre_scan_enforces_the_data_model() {
        let scan = |bytes: &[u8]| super::scan(bytes, 1 << 20);
        let malformed = |r: Result<(), CodecError>| matches!(r, Err(CodecError::Malformed(_)));
        // A float or a non-text key anywhere, before any field is looked at.
        assert_eq!(
            scan(&[0x81, 0xf9, 0x3c, 0x00]),
            Err(CodecError::FloatNotAllowed)
        );
        assert_eq!(
            scan(&[0xa1, 0x41, b'a', 0x00]),
            Err(CodecError::NonTextMapKey)
        );
        // Keys are every other item, in definite and indefinite maps alike.
        assert_eq!(scan(&[0xa1, 0x61, b'a', 0x41, b'b']), Ok(()));
        assert_eq!(
            scan(&[0xbf, 0x61, b'a', 0x00, 0x00, 0x00, 0xff]),
            Err(CodecError::NonTextMapKey)
        );
        // A float as a map key is a non-text key: the key check comes first.
        assert_eq!(
            scan(&[0xa1, 0xf9, 0x3c, 0x00, 0x00]),
            Err(CodecError::NonTextMapKey)
        );
        // A break right after a key.
        assert!(malformed(scan(&[0xbf, 0x61, b'a', 0xff])));
        // Chunks of an indefinite-length string: definite strings of the same major type.
        assert_eq!(scan(&[0x5f, 0x41, 0x00, 0xff]), Ok(()));
        assert!(malformed(scan(&[0x5f, 0x61, b'a', 0xff])));
        assert!(malformed(scan(&[0x7f, 0x7f, 0xff, 0xff])));
        // Simple values and text.
        assert_eq!(scan(&[0xf7]), Err(CodecError::NonCanonical));
        assert!(malformed(scan(&[0xf8, 0x20])));
        assert!(malformed(scan(&[0xe0])));
        assert!(malformed(scan(&[0x62, 0xc3, 0x28])));
        // The first fault in input order decides.
        assert_eq!(
            scan(&[0x82, 0xc1, 0x00, 0xf9, 0x3c, 0x00]),
            Err(CodecError::NonCanonical)
        );
        assert_eq!(
            scan(&[0x82, 0xf9, 0x3c, 0x00, 0xc1, 0x00]),
            Err(CodecError::FloatNotAllowed)
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[serde(with = "serde_bytes")]
        b: Vec<u8>,
        n: u64,
        t: String,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Unit,
        Pair { a: u64 },
    }

    #[test]
    fn a_value_of_another_major_type_is_malformed_not_non_canonical() {
        let sample = Sample {
            b: vec![1],
            n: 1,
            t: "x".into(),
        };
        let good = encode(&sample).unwrap();
        assert_eq!(
            good,
            [
                0xa3, 0x61, b'b', 0x41, 0x01, 0x61, b'n', 0x01, 0x61, b't', 0x61, b'x'
            ]
        );
        assert_eq!(decode_canonical::<Sample>(&good, 64), Ok(sample));
        let with = |at: usize, value: &[u8]| {
            let mut bytes = good.clone();
            let end = match at {
                3 => 5,
                7 => 8,
                10 => 12,
                _ => unreachable!(),
            };
            bytes.splice(at..end, value.iter().copied());
            bytes
        };
        for (name, bytes) in [
            ("text as a byte string", with(10, &[0x41, b'x'])),
            ("bytes as text", with(3, &[0x61, 0x01])),
            ("bytes as an array", with(3, &[0x81, 0x01])),
            ("uint as a negative integer", with(7, &[0x20])),
            ("uint as a boolean", with(7, &[0xf5])),
            ("uint as null", with(7, &[0xf6])),
            (
                "struct as an array",
                vec![0x83, 0x41, 0x01, 0x01, 0x61, b'x'],
            ),
        ] {
            assert!(
                matches!(
                    decode_canonical::<Sample>(&bytes, 64),
                    Err(CodecError::Malformed(_))
                ),
                "{name}"
            );
        }
        // Enums: a unit variant is its name as text, any other variant a one-entry map.
        assert_eq!(encode(&Kind::Unit).unwrap(), b"\x64unit");
        assert_eq!(decode_canonical::<Kind>(b"\x64unit", 64), Ok(Kind::Unit));
        let pair = encode(&Kind::Pair { a: 1 }).unwrap();
        assert_eq!(decode_canonical::<Kind>(&pair, 64), Ok(Kind::Pair { a: 1 }));
        for (name, bytes) in [
            ("unit variant as a map", b"\xa1\x64unit\xf6".to_vec()),
            ("unit variant as bytes", b"\x44unit".to_vec()),
            ("legacy array", b"\x82\x64pair\xa1\x61a\x01".to_vec()),
            (
                "two entries",
                b"\xa2\x64pair\xa1\x61a\x01\x64unit\xf6".to_vec(),
            ),
            ("struct variant as text", b"\x64pair".to_vec()),
            ("empty map", vec![0xa0]),
        ] {
            assert!(
                matches!(
                    decode_canonical::<Kind>(&bytes, 64),
                    Err(CodecError::Malformed(_))
                ),
                "{name}"
            );
        }
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
