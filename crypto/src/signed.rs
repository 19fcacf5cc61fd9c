//! The envelope every signed document shares (specs/identity.md §2, specs/accountability.md
//! §1-§5, specs/federation.md `deliver`): a canonical CBOR map with an optional `signature` key,
//! signed by one key over `domain prefix ‖ the map without signature`.
//!
//! Each format keeps its own fields, field rules, limits and error type; this module is the
//! path they share, written once so that every format signs, decodes and verifies the same way:
//! - [`seal`]: encode without the signature, sign, encode again with it.
//! - [`open`]: size cap, decode, version, signature present and canonical check (in the
//!   format's [`Order`]), the format's own field rules, then `verify_strict` of the signature:
//!   the first failure is the reason.
//! - [`verify`]: only the last step, for a format that orders the earlier checks otherwise
//!   (node letters check their bounds before the signature's presence).
//! - [`Statement`]: what a node-signed statement is once verified (revocations, signals,
//!   directory announcements): its draft, signer, id and bytes.
//! - `signed_format_error!` (crate-private): declares a format's error enum with the variants
//!   every format shares (`Codec`, `UnsupportedVersion`, `BadSignature`) and its own, each with
//!   its reason.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec;
use crate::error::CodecError;
use crate::hash::Hash32;
use crate::keys::{NodeKey, NodeSecret, PublicKey, UserSecret};
use crate::signing::{Domain, Signature};

/// A wire map that carries its own signature. Implement it with [`signed_wire!`](crate::signed_wire).
pub trait SignedWire: Serialize + DeserializeOwned {
    /// The signing domain of the format.
    const DOMAIN: Domain;
    /// The `v` field.
    fn version(&self) -> u64;
    /// The `signature` field.
    fn signature_mut(&mut self) -> &mut Option<Signature>;
    /// The key whose signature the map carries.
    fn signer(&self) -> &PublicKey;
}

/// Implements [`SignedWire`] for a wire struct with fields `v: u64` and
/// `signature: Option<Signature>`, given its domain and the field naming its signer.
#[macro_export]
macro_rules! signed_wire {
    ($wire:ty, $domain:expr, $signer:ident) => {
        impl $crate::signed::SignedWire for $wire {
            const DOMAIN: $crate::signing::Domain = $domain;
            fn version(&self) -> u64 {
                self.v
            }
            fn signature_mut(&mut self) -> &mut Option<$crate::signing::Signature> {
                &mut self.signature
            }
            fn signer(&self) -> &$crate::keys::PublicKey {
                &self.$signer.0
            }
        }
    };
}

/// The error type of a signed format: its codec failures, its bad-signature and
/// unsupported-version variants.
pub trait SignedError: From<CodecError> {
    /// The signature is absent or does not verify.
    fn bad_signature() -> Self;
    /// A version other than the one this crate reads.
    fn unsupported_version(version: u64) -> Self;
}

/// Implements [`SignedError`] for an error enum with variants `BadSignature` and
/// `UnsupportedVersion(u64)`.
#[macro_export]
macro_rules! signed_error {
    ($error:ident) => {
        impl $crate::signed::SignedError for $error {
            fn bad_signature() -> Self {
                $error::BadSignature
            }
            fn unsupported_version(version: u64) -> Self {
                $error::UnsupportedVersion(version)
            }
        }
    };
}

/// Declares the error enum of a signed format: the variants every format shares (`Codec`,
/// `UnsupportedVersion`, `BadSignature`, with their reasons `codec`'s own, `unsupported_version`
/// and `bad_signature`), then the format's own, each written `Variant => "reason_name"`; with
/// `reason()` and [`SignedError`]. For a format whose every reason is a fixed name.
macro_rules! signed_format_error {
    (
        $(#[$meta:meta])*
        $vis:vis enum $error:ident {
            $(
                $(#[$variant_meta:meta])*
                $variant:ident
                $(($($tuple:ty),* $(,)?))?
                $({ $($(#[$field_meta:meta])* $field:ident: $field_type:ty),* $(,)? })?
                => $reason:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        $vis enum $error {
            /// The bytes do not decode (their codec reason: `too_large`, `malformed_cbor`,
            /// `non_canonical_encoding`, `invalid_key`, ...).
            #[error(transparent)]
            Codec(#[from] $crate::error::CodecError),
            /// A version other than the one this crate reads.
            #[error("unsupported version {0}")]
            UnsupportedVersion(u64),
            /// The signature is absent or does not verify.
            #[error("bad signature")]
            BadSignature,
            $(
                $(#[$variant_meta])*
                $variant
                $(($($tuple),*))?
                $({ $($(#[$field_meta])* $field: $field_type),* })?,
            )*
        }

        impl $error {
            /// Stable reason name.
            pub fn reason(&self) -> &'static str {
                match self {
                    $error::Codec(e) => e.reason(),
                    $error::UnsupportedVersion(_) => "unsupported_version",
                    $error::BadSignature => "bad_signature",
                    $($error::$variant { .. } => $reason,)*
                }
            }
        }

        $crate::signed_error!($error);
    };
}
pub(crate) use signed_format_error;

/// A secret key that signs documents.
pub trait Signer {
    /// Signs `domain prefix ‖ message`.
    fn sign_message(&self, domain: Domain, message: &[u8]) -> Signature;
}

impl Signer for NodeSecret {
    fn sign_message(&self, domain: Domain, message: &[u8]) -> Signature {
        self.sign(domain, message)
    }
}

impl Signer for UserSecret {
    fn sign_message(&self, domain: Domain, message: &[u8]) -> Signature {
        self.sign(domain, message)
    }
}

/// Signs `wire` (whose `signature` is unset) with `secret` and returns the signed map's
/// canonical encoding, for the format's own decode to read back.
pub fn seal<W: SignedWire>(mut wire: W, secret: &impl Signer) -> Result<Vec<u8>, CodecError> {
    let signature = secret.sign_message(W::DOMAIN, &codec::encode(&wire)?);
    *wire.signature_mut() = Some(signature);
    codec::encode(&wire)
}

/// A map whose signature verified: the map (its `signature` taken out), the signature, the
/// canonical encoding of the unsigned map, and what the format's field rules returned.
#[derive(Debug)]
pub struct Opened<W, C> {
    /// The map, `signature` unset.
    pub wire: W,
    /// The verified signature.
    pub signature: Signature,
    /// The canonical encoding of the map without `signature` (what was signed after the prefix).
    pub unsigned: Vec<u8>,
    /// The result of the format's field rules.
    pub checked: C,
}

impl<W: SignedWire, C> Opened<W, C> {
    /// SHA-256(signing input ‖ signature): the id of attestations, revocations and reports.
    pub fn id(&self) -> Hash32 {
        Hash32::digest(&[
            W::DOMAIN.prefix(),
            &self.unsigned,
            self.signature.as_bytes(),
        ])
    }

    /// The map as it was received, with its signature back in place.
    pub fn into_signed_wire(mut self) -> W {
        *self.wire.signature_mut() = Some(self.signature);
        self.wire
    }
}

/// Which checks come between decoding and the format's field rules, in which order. The first
/// failure is the reason, so the order is part of each format's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Version (this one), signature present, canonical check: attestations (specs/identity.md
    /// §2.2), revocations, audit entries and heads, disclosures (specs/accountability.md).
    VersionFirst(u64),
    /// Canonical check, signature present; the version is among the field rules: reports and
    /// receipts (specs/accountability.md §1).
    CanonicalFirst,
}

/// Size cap (`max_len`), decode, the checks of `order`, `check` (the format's field rules),
/// `verify_strict` of the signer's signature: the first failure is the reason.
pub fn open<W, C, E>(
    bytes: &[u8],
    max_len: usize,
    order: Order,
    check: impl FnOnce(&W) -> Result<C, E>,
) -> Result<Opened<W, C>, E>
where
    W: SignedWire,
    E: SignedError,
{
    let mut wire: W = codec::decode(bytes, max_len)?;
    let canonical = |wire: &W| -> Result<(), CodecError> {
        if codec::encodes_to(wire, bytes)? {
            Ok(())
        } else {
            Err(CodecError::NonCanonical)
        }
    };
    match order {
        Order::VersionFirst(version) => {
            if wire.version() != version {
                return Err(E::unsupported_version(wire.version()));
            }
            if wire.signature_mut().is_none() {
                return Err(E::bad_signature());
            }
            canonical(&wire)?;
        }
        Order::CanonicalFirst => {
            canonical(&wire)?;
            if wire.signature_mut().is_none() {
                return Err(E::bad_signature());
            }
        }
    }
    let checked = check(&wire)?;
    let (signature, unsigned) = verify::<W, E>(&mut wire)?;
    Ok(Opened {
        wire,
        signature,
        unsigned,
        checked,
    })
}

/// Takes the signature out of `wire` and verifies it (`verify_strict`, the format's domain)
/// over the canonical encoding of the rest; returns the signature and that encoding.
pub fn verify<W, E>(wire: &mut W) -> Result<(Signature, Vec<u8>), E>
where
    W: SignedWire,
    E: SignedError,
{
    let signature = wire.signature_mut().take().ok_or_else(E::bad_signature)?;
    let unsigned = codec::encode(wire)?;
    if !wire.signer().verify(W::DOMAIN, &unsigned, &signature) {
        return Err(E::bad_signature());
    }
    Ok((signature, unsigned))
}

/// The exact bytes the signer signed: the domain prefix and the map without `signature`.
pub fn signing_input<W: SignedWire + Clone>(wire: &W) -> Result<Vec<u8>, CodecError> {
    let mut wire = wire.clone();
    *wire.signature_mut() = None;
    Ok(W::DOMAIN.signing_input(&codec::encode(&wire)?))
}

/// A node-signed statement whose signature verified: the draft it was signed from, the node
/// that signed it, its id and its canonical bytes. Revocations, signals and directory
/// announcements are statements; each format adds the accessors of its own fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<D> {
    node: NodeKey,
    draft: D,
    id: Hash32,
    bytes: Vec<u8>,
}

impl<D> Statement<D> {
    /// [`open`] (`check` is the format's field rules), then the statement: `into_parts` makes
    /// the signing node and the draft of the map and what `check` returned.
    pub(crate) fn open<W, C, E>(
        bytes: &[u8],
        max_len: usize,
        order: Order,
        check: impl FnOnce(&W) -> Result<C, E>,
        into_parts: impl FnOnce(W, C) -> (NodeKey, D),
    ) -> Result<Statement<D>, E>
    where
        W: SignedWire,
        E: SignedError,
    {
        let opened = open(bytes, max_len, order, check)?;
        let id = opened.id();
        let (node, draft) = into_parts(opened.wire, opened.checked);
        Ok(Statement {
            node,
            draft,
            id,
            bytes: bytes.to_vec(),
        })
    }

    /// SHA-256(signing input ‖ signature).
    pub fn id(&self) -> Hash32 {
        self.id
    }

    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The node that signed it.
    pub fn node(&self) -> &NodeKey {
        &self.node
    }

    /// The fields it was signed with.
    pub(crate) fn draft(&self) -> &D {
        &self.draft
    }
}
