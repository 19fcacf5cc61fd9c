//! Type-strict decoding (specs/events.md §1.3, step 3): every value must have the CBOR major type
//! its field is written with, or decoding fails with `malformed_cbor` at that value.
//!
//! serde's own visitors are lenient in ways a canonical format cannot afford: a `String` accepts
//! a byte string holding UTF-8, a byte buffer accepts an array of small integers or a text
//! string, a struct accepts an array of its fields in declaration order, and serde_cbor reads
//! an enum from a one-entry map, a bare string or a legacy `[variant, …]` array alike. Each of
//! those decodes, then re-encodes differently, and would be reported as `non_canonical_encoding`
//! when the value is simply of the wrong type.
//!
//! [`Strict`] wraps the deserializer and checks, before a value reaches its type's visitor, that
//! the visitor call serde_cbor makes (which names the major type it read) is the one the type
//! asked for (`deserialize_str` takes only text, `deserialize_bytes` only byte strings, …). The
//! wrapper is carried into every nested value (sequence elements, map keys and values, optional
//! and newtype contents). Enums never reach serde_cbor's enum handling: a unit variant must be a
//! text string, any other variant a map of exactly one entry `{variant: value}`.
//!
//! Only the shape is checked here; the data model (no floats, tags or non-text map keys) is
//! enforced before decoding by [`super::scan`], and canonical form after it.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::reason_error;

/// The CBOR shape a type asked the decoder for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Anything (content values, ignored values).
    Any,
    /// `false` or `true`.
    Bool,
    /// An unsigned integer (major type 0).
    Unsigned,
    /// An integer of either sign (major type 0 or 1).
    Integer,
    /// A byte string (major type 2).
    Bytes,
    /// A text string (major type 3).
    Text,
    /// An array (major type 4).
    Array,
    /// A map (major type 5).
    Map,
    /// `null`.
    Null,
    /// A float: no Causerie type has one, so nothing is accepted.
    Float,
}

/// What serde_cbor found, as told by the visitor method it called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    Bool,
    Unsigned,
    Negative,
    Bytes,
    Text,
    Array,
    Map,
    Null,
}

impl Shape {
    fn accepts(self, found: Found) -> bool {
        match self {
            Shape::Any => true,
            Shape::Bool => found == Found::Bool,
            Shape::Unsigned => found == Found::Unsigned,
            Shape::Integer => matches!(found, Found::Unsigned | Found::Negative),
            Shape::Bytes => found == Found::Bytes,
            Shape::Text => found == Found::Text,
            Shape::Array => found == Found::Array,
            Shape::Map => found == Found::Map,
            Shape::Null => found == Found::Null,
            Shape::Float => false,
        }
    }
}

impl de::Expected for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::Any => "any value",
            Shape::Bool => "a boolean",
            Shape::Unsigned => "an unsigned integer (major type 0)",
            Shape::Integer => "an integer (major type 0 or 1)",
            Shape::Bytes => "a byte string (major type 2)",
            Shape::Text => "a text string (major type 3)",
            Shape::Array => "an array (major type 4)",
            Shape::Map => "a map (major type 5)",
            Shape::Null => "null",
            Shape::Float => "a float (never valid)",
        })
    }
}

/// A deserializer that only lets values of the requested shape through (see the module header).
pub(super) struct Strict<D>(pub(super) D);

/// Forwards `deserialize_*` methods, checking the shape of what is found.
macro_rules! checked {
    ($($method:ident => $shape:expr),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(Checked { visitor, shape: $shape })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<D> {
    type Error = D::Error;

    checked! {
        deserialize_any => Shape::Any,
        deserialize_bool => Shape::Bool,
        deserialize_i8 => Shape::Integer,
        deserialize_i16 => Shape::Integer,
        deserialize_i32 => Shape::Integer,
        deserialize_i64 => Shape::Integer,
        deserialize_i128 => Shape::Integer,
        deserialize_u8 => Shape::Unsigned,
        deserialize_u16 => Shape::Unsigned,
        deserialize_u32 => Shape::Unsigned,
        deserialize_u64 => Shape::Unsigned,
        deserialize_u128 => Shape::Unsigned,
        deserialize_f32 => Shape::Float,
        deserialize_f64 => Shape::Float,
        deserialize_char => Shape::Text,
        deserialize_str => Shape::Text,
        deserialize_string => Shape::Text,
        deserialize_bytes => Shape::Bytes,
        deserialize_byte_buf => Shape::Bytes,
        deserialize_option => Shape::Any,
        deserialize_unit => Shape::Null,
        deserialize_seq => Shape::Array,
        deserialize_map => Shape::Map,
        deserialize_identifier => Shape::Text,
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(
            name,
            Checked {
                visitor,
                shape: Shape::Null,
            },
        )
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_newtype_struct(
            name,
            Checked {
                visitor,
                shape: Shape::Any,
            },
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(
            len,
            Checked {
                visitor,
                shape: Shape::Array,
            },
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(
            name,
            len,
            Checked {
                visitor,
                shape: Shape::Array,
            },
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_struct(
            name,
            fields,
            Checked {
                visitor,
                shape: Shape::Map,
            },
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Read the value as whatever it is and decide the enum form from its type, instead of
        // serde_cbor's enum handling (which also takes legacy arrays and unit variants as maps).
        self.0.deserialize_any(EnumForm(visitor))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_ignored_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A visitor that checks the shape serde_cbor found before handing the value on.
struct Checked<V> {
    visitor: V,
    shape: Shape,
}

impl<V> Checked<V> {
    fn check<E: de::Error>(&self, found: Found, unexpected: Unexpected<'_>) -> Result<(), E> {
        if self.shape.accepts(found) {
            Ok(())
        } else {
            Err(E::invalid_type(unexpected, &self.shape))
        }
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Checked<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<V::Value, E> {
        self.check(Found::Bool, Unexpected::Bool(v))?;
        self.visitor.visit_bool(v)
    }

    fn visit_i8<E: de::Error>(self, v: i8) -> Result<V::Value, E> {
        self.visit_i64(i64::from(v))
    }

    fn visit_i16<E: de::Error>(self, v: i16) -> Result<V::Value, E> {
        self.visit_i64(i64::from(v))
    }

    fn visit_i32<E: de::Error>(self, v: i32) -> Result<V::Value, E> {
        self.visit_i64(i64::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<V::Value, E> {
        // serde_cbor calls the signed methods for major type 1 only.
        self.check(Found::Negative, Unexpected::Signed(v))?;
        self.visitor.visit_i64(v)
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<V::Value, E> {
        self.check(Found::Negative, Unexpected::Other("a negative integer"))?;
        self.visitor.visit_i128(v)
    }

    fn visit_u8<E: de::Error>(self, v: u8) -> Result<V::Value, E> {
        self.visit_u64(u64::from(v))
    }

    fn visit_u16<E: de::Error>(self, v: u16) -> Result<V::Value, E> {
        self.visit_u64(u64::from(v))
    }

    fn visit_u32<E: de::Error>(self, v: u32) -> Result<V::Value, E> {
        self.visit_u64(u64::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<V::Value, E> {
        self.check(Found::Unsigned, Unexpected::Unsigned(v))?;
        self.visitor.visit_u64(v)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<V::Value, E> {
        self.check(Found::Unsigned, Unexpected::Other("an unsigned integer"))?;
        self.visitor.visit_u128(v)
    }

    fn visit_f32<E: de::Error>(self, _: f32) -> Result<V::Value, E> {
        Err(reason_error("float_not_allowed"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<V::Value, E> {
        Err(reason_error("float_not_allowed"))
    }

    fn visit_char<E: de::Error>(self, v: char) -> Result<V::Value, E> {
        self.check(Found::Text, Unexpected::Char(v))?;
        self.visitor.visit_char(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.check(Found::Text, Unexpected::Str(v))?;
        self.visitor.visit_str(v)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.check(Found::Text, Unexpected::Str(v))?;
        self.visitor.visit_borrowed_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.check(Found::Text, Unexpected::Str(&v))?;
        self.visitor.visit_string(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        self.check(Found::Bytes, Unexpected::Bytes(v))?;
        self.visitor.visit_bytes(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        self.check(Found::Bytes, Unexpected::Bytes(v))?;
        self.visitor.visit_borrowed_bytes(v)
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<V::Value, E> {
        self.check(Found::Bytes, Unexpected::Bytes(&v))?;
        self.visitor.visit_byte_buf(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        // Only `deserialize_option` leads here (the value was `null`).
        self.visitor.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.visitor.visit_some(Strict(deserializer))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.check(Found::Null, Unexpected::Unit)?;
        self.visitor.visit_unit()
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.visitor.visit_newtype_struct(Strict(deserializer))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.check(Found::Array, Unexpected::Seq)?;
        self.visitor.visit_seq(StrictSeq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.check(Found::Map, Unexpected::Map)?;
        self.visitor.visit_map(StrictMap(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, _: A) -> Result<V::Value, A::Error> {
        // serde_cbor produces enums only from `deserialize_enum`, which `Strict` never calls.
        Err(de::Error::invalid_type(Unexpected::Enum, &self.shape))
    }
}

/// A seed whose value is decoded strictly.
struct StrictSeed<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for StrictSeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(Strict(deserializer))
    }
}

/// Array elements, each decoded strictly.
struct StrictSeq<A>(A);

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for StrictSeq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Map keys and values, each decoded strictly.
struct StrictMap<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for StrictMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(StrictSeed(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(StrictSeed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// Reads an enum from the two forms canonical CBOR allows: a text string for a unit variant,
/// a map of exactly one entry `{variant: value}` for any other.
struct EnumForm<V>(V);

/// What [`EnumForm`] accepts, for error messages.
const ENUM_FORMS: &str = "a text string (unit variant) or a map of one entry (other variants)";

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumForm<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ENUM_FORMS)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.0.visit_enum(v.into_deserializer())
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.0
            .visit_enum(de::value::BorrowedStrDeserializer::new(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.0.visit_enum(v.into_deserializer())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(MapEnum(map))
    }
}

/// An enum written as a one-entry map.
struct MapEnum<A>(A);

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for MapEnum<A> {
    type Error = A::Error;
    type Variant = MapEnum<A>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        mut self,
        seed: S,
    ) -> Result<(S::Value, MapEnum<A>), A::Error> {
        match self.0.next_key_seed(StrictSeed(seed))? {
            Some(variant) => Ok((variant, self)),
            None => Err(de::Error::invalid_length(0, &ENUM_FORMS)),
        }
    }
}

impl<'de, A: MapAccess<'de>> MapEnum<A> {
    /// The map must end after its one entry.
    fn end(mut self) -> Result<(), A::Error> {
        match self.0.next_key::<de::IgnoredAny>()? {
            None => Ok(()),
            Some(_) => Err(de::Error::invalid_length(2, &ENUM_FORMS)),
        }
    }
}

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for MapEnum<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        Err(de::Error::invalid_type(
            Unexpected::Map,
            &"a unit variant, written as a text string",
        ))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        mut self,
        seed: T,
    ) -> Result<T::Value, A::Error> {
        let value = self.0.next_value_seed(StrictSeed(seed))?;
        self.end()?;
        Ok(value)
    }

    fn tuple_variant<V: Visitor<'de>>(
        mut self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let value = self.0.next_value_seed(TupleSeed { len, visitor })?;
        self.end()?;
        Ok(value)
    }

    fn struct_variant<V: Visitor<'de>>(
        mut self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let value = self.0.next_value_seed(StructSeed { fields, visitor })?;
        self.end()?;
        Ok(value)
    }
}

/// The value of a tuple variant: an array, decoded strictly.
struct TupleSeed<V> {
    len: usize,
    visitor: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for TupleSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        Strict(deserializer).deserialize_tuple(self.len, self.visitor)
    }
}

/// The value of a struct variant: a map, decoded strictly.
struct StructSeed<V> {
    fields: &'static [&'static str],
    visitor: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        Strict(deserializer).deserialize_struct("", self.fields, self.visitor)
    }
}
