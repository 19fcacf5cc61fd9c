//! What the generators of node-signed statements share (attestations, revocations, directory
//! announcements, signals): the statement as plain data signed independently of the library
//! ([`RawSigned`]), the cross-check of the library's bytes and id against that encoding
//! ([`cross_check`]), and the refused inputs of each format with the check that the library
//! gives each its reason ([`Refusals`]).
//!
//! All of them follow crypto/src/signed.rs's envelope: a canonical CBOR map with `v` and an
//! optional `signature`, signed over `domain prefix ‖ the map without signature`, id =
//! SHA-256(signing input ‖ signature).

use causerie_crypto::signed::Statement;

use crate::support::*;

/// A node-signed statement as plain serde data (same keys, same order as the library's wire
/// map), to encode and sign independently of the library.
pub(crate) trait RawSigned: Serialize + Clone {
    /// The domain the statement is signed in.
    const DOMAIN: Domain;

    /// The `signature` field.
    fn signature(&self) -> Option<&ByteBuf>;

    /// The `signature` field, to set or change.
    fn signature_mut(&mut self) -> &mut Option<ByteBuf>;

    /// The `v` field.
    fn version_mut(&mut self) -> &mut u64;

    /// The canonical encoding of the map without `signature` (what is signed after the prefix).
    fn unsigned(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        *unsigned.signature_mut() = None;
        codec::encode(&unsigned).unwrap()
    }

    /// Signs the map (whatever signature it carried) as `node`.
    fn seal(mut self, node: &NodeSecret) -> Self {
        let message = self.unsigned();
        *self.signature_mut() = Some(buf(node.sign(Self::DOMAIN, &message).as_bytes()));
        self
    }

    /// The canonical encoding, signature included when there is one.
    fn bytes(&self) -> Vec<u8> {
        codec::encode(self).unwrap()
    }
}

/// Implements [`RawSigned`] for a raw struct with fields `v: u64` and
/// `signature: Option<ByteBuf>`, signed in `domain`.
macro_rules! raw_signed {
    ($raw:ty, $domain:expr) => {
        impl crate::signed::RawSigned for $raw {
            const DOMAIN: causerie_crypto::Domain = $domain;
            fn signature(&self) -> Option<&serde_bytes::ByteBuf> {
                self.signature.as_ref()
            }
            fn signature_mut(&mut self) -> &mut Option<serde_bytes::ByteBuf> {
                &mut self.signature
            }
            fn version_mut(&mut self) -> &mut u64 {
                &mut self.v
            }
        }
    };
}
pub(crate) use raw_signed;

raw_signed!(RawAttestation, Domain::Attestation);

/// Checks the library's encoding of a statement against the independent one, `raw` (signed):
/// the same bytes, and `id` = SHA-256(signing input ‖ signature). Returns the signing input.
pub(crate) fn cross_check<R: RawSigned>(raw: &R, bytes: &[u8], id: [u8; 32]) -> Vec<u8> {
    assert_eq!(raw.bytes(), bytes, "independent encoding");
    let input = R::DOMAIN.signing_input(&raw.unsigned());
    let signature = raw.signature().expect("a signed statement");
    assert_eq!(sha256(&[&input[..], &signature[..]].concat()), id);
    input
}

/// The vector of a valid statement: `fields` with its name, bytes, id and signing input, once
/// the library's encoding is cross-checked against `raw` (the same statement as plain data,
/// unsigned) signed here by `node`.
pub(crate) fn statement_vector<D, R: RawSigned>(
    name: &str,
    statement: &Statement<D>,
    raw: R,
    node: &NodeSecret,
    mut fields: Json,
) -> Json {
    let input = cross_check(&raw.seal(node), statement.as_bytes(), statement.id().0);
    fields["name"] = json!(name);
    fields["bytes"] = json!(hex::encode(statement.as_bytes()));
    fields["id"] = json!(statement.id().to_hex());
    fields["signing_input"] = json!(hex::encode(&input));
    fields
}

/// `raw` changed by `change`, then signed by `node`: a statement whose one fault is the change.
pub(crate) fn resigned<R: RawSigned>(
    mut raw: R,
    node: &NodeSecret,
    change: impl FnOnce(&mut R),
) -> R {
    change(&mut raw);
    raw.seal(node)
}

/// The key that signs where the statement's signer should: a node other than every generator's.
pub(crate) fn stranger() -> NodeSecret {
    NodeSecret::from_seed(&[0x77; 32])
}

/// A key of small order (the identity point), which the library must refuse as `weak_key`.
pub(crate) fn small_order_key() -> ByteBuf {
    buf(&hex::decode(SMALL_ORDER[0].1).unwrap())
}

/// The refused inputs of one format, built from one valid statement, in the order the file
/// lists them (the order of the format's checks).
pub(crate) struct Refusals<'a, R> {
    /// The valid statement, without signature.
    base: &'a R,
    /// Its signer.
    node: &'a NodeSecret,
    /// Name, bytes and reason of each refused input so far.
    list: Vec<(String, Vec<u8>, &'static str)>,
}

impl<'a, R: RawSigned> Refusals<'a, R> {
    /// Starts with the refusals every statement has, in the order its checks run (size cap over
    /// `max_bytes`, CBOR, version, signature present, canonical encoding): `base` is a valid
    /// statement without signature, `node` its signer.
    pub(crate) fn new(base: &'a R, node: &'a NodeSecret, max_bytes: usize) -> Self {
        let mut refusals = Refusals {
            base,
            node,
            list: Vec::new(),
        };
        refusals.push(
            format!("over {max_bytes} bytes"),
            vec![0xa0; max_bytes + 1],
            "too_large",
        );
        refusals.push("not CBOR", vec![0xff, 0x00], "malformed_cbor");
        refusals.changed("version 2", "unsupported_version", |raw| {
            *raw.version_mut() = 2;
        });
        refusals.push("no signature", base.bytes(), "bad_signature");
        let sealed = base.clone().seal(node).bytes();
        refusals.push(
            "v written with a two-byte head",
            splice(&sealed, &[0x61, b'v', 0x01], &[0x61, b'v', 0x18, 0x01]),
            "non_canonical_encoding",
        );
        refusals
    }

    /// Adds an input refused for `reason`.
    pub(crate) fn push(&mut self, name: impl Into<String>, bytes: Vec<u8>, reason: &'static str) {
        self.list.push((name.into(), bytes, reason));
    }

    /// Adds the base statement changed by `change`, then signed: refused for its fields.
    pub(crate) fn changed(
        &mut self,
        name: &str,
        reason: &'static str,
        change: impl FnOnce(&mut R),
    ) {
        let base = self.base;
        self.changed_from(base, name, reason, change);
    }

    /// Adds `start` (another valid statement) changed by `change`, then signed.
    pub(crate) fn changed_from(
        &mut self,
        start: &R,
        name: &str,
        reason: &'static str,
        change: impl FnOnce(&mut R),
    ) {
        let bytes = resigned(start.clone(), self.node, change).bytes();
        self.push(name, bytes, reason);
    }

    /// Adds the refusals of a wrong signature: one signature byte flipped; signed by
    /// [`stranger`] rather than the key of the field `signer_field`; and signed, then changed
    /// by `change` (named `after_signing`).
    pub(crate) fn bad_signatures(
        &mut self,
        signer_field: &str,
        after_signing: &str,
        change: impl FnOnce(&mut R),
    ) {
        let mut flipped = self.base.clone().seal(self.node);
        if let Some(signature) = flipped.signature_mut() {
            signature[0] ^= 0x01;
        }
        self.push("signature byte flipped", flipped.bytes(), "bad_signature");
        self.push(
            format!("signed by another node than {signer_field}"),
            self.base.clone().seal(&stranger()).bytes(),
            "bad_signature",
        );
        let mut changed = self.base.clone().seal(self.node);
        change(&mut changed);
        self.push(after_signing, changed.bytes(), "bad_signature");
    }

    /// Checks that `decode` (the library's decoding) refuses each input with an error whose
    /// `reason` is the input's, and returns the inputs as the entries of the file's `invalid`
    /// list.
    pub(crate) fn checked_json<T, E>(
        self,
        decode: impl Fn(&[u8]) -> Result<T, E>,
        reason: impl Fn(&E) -> &'static str,
    ) -> Vec<Json> {
        self.list
            .into_iter()
            .map(|(name, bytes, expected)| {
                let got = decode(&bytes).map(|_| ()).map_err(|e| reason(&e));
                assert_eq!(got, Err(expected), "{name}");
                json!({
                    "name": name,
                    "bytes": hex::encode(&bytes),
                    "reason": expected,
                })
            })
            .collect()
    }
}
