//! Deterministic generator of `specs/test-vectors/` (specs/events.md, specs/identity.md).
//!
//! Run with `cargo run -p causerie-crypto --example gen_vectors`; it rewrites
//! `specs/test-vectors/*.json` and the output is committed. Everything is derived from fixed
//! seeds (Ed25519 signing is deterministic), so a second run produces identical files; the tests in
//! `crypto/tests/vectors.rs` load the files and check every vector against the library.
//!
//! The envelope is encoded here by a second, independent implementation ([`RawEvent`]: plain
//! serde structs, byte buffers, no library checks), which lets the generator write invalid events
//! that are otherwise perfectly signed, and cross-checks the library: for every valid event the
//! generator asserts that the library's bytes, id and signing input equal its own.
//!
//! Files:
//! - `keys.json`: user and node keys (seed, public key, node peer id), invalid public keys.
//! - `ed25519.json`: RFC 8032 §7.1 vectors and small-order / non-canonical edge cases, with the
//!   expected `verify_strict` outcome.
//! - `events.json`: signed events (create, member, message, rich content, redaction) and the
//!   redacted forms of each.
//! - `attestations.json`: signed attestations.
//! - `invalid.json`: events, attestations and content values that must be rejected, each with the
//!   `reason()` the library must give.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::path::{Path, PathBuf};

use causerie_crypto::attestation::AttestationDraft;
use causerie_crypto::codec::{self, Content, Value};
use causerie_crypto::event::{self, kinds};
use causerie_crypto::{
    Assurance, Attestation, Domain, Event, EventDraft, Hash32, NodeSecret, UserSecret,
};
use curve25519_dalek::Scalar;
use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use serde_bytes::ByteBuf;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};

/// Base of every timestamp in the vectors (2025-11-24T16:00:00Z, in ms).
const T0_MS: u64 = 1_764_000_000_000;
/// One day in ms.
const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// The order of the Ed25519 base point, little-endian.
const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The eight small-order points in canonical encoding (RFC 8032 points of order 1, 2, 4 and 8).
const SMALL_ORDER: [(&str, &str); 8] = [
    (
        "identity (order 1)",
        "0100000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "order 2 (y = -1)",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ),
    (
        "order 4 (y = 0, x > 0)",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "order 4 (y = 0, x < 0)",
        "0000000000000000000000000000000000000000000000000000000000000080",
    ),
    (
        "order 8 (a)",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    ),
    (
        "order 8 (b)",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    ),
    (
        "order 8 (c)",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    ),
    (
        "order 8 (d)",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    ),
];

/// RFC 8032 §7.1: (name, secret key, public key, message, signature).
const RFC8032: [(&str, &str, &str, &str, &str); 5] = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        concat!(
            "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98",
            "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8",
            "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d",
            "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc",
            "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe",
            "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e",
            "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef",
            "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7",
            "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1",
            "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2",
            "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24",
            "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270",
            "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc",
            "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07",
            "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba",
            "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a",
            "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e",
            "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7",
            "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c",
            "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8",
            "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df",
            "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08",
            "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649",
            "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4",
            "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3",
            "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e",
            "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f",
            "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5",
            "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1",
            "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d",
            "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c",
            "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        ),
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
    ),
];

/// The envelope as plain data, encoded independently of the library (same keys, same order).
#[derive(Serialize, Clone)]
struct RawEvent {
    attestation: ByteBuf,
    auth_events: Vec<ByteBuf>,
    author: ByteBuf,
    content: Value,
    content_hash: ByteBuf,
    depth: u64,
    kind: String,
    origin_ts: u64,
    prev_events: Vec<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_key: Option<String>,
    v: u64,
}

/// The attestation as plain data.
#[derive(Serialize, Clone)]
struct RawAttestation {
    assurance: u64,
    handle: String,
    home_node: ByteBuf,
    not_after: u64,
    not_before: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    user: ByteBuf,
    v: u64,
}

fn buf(bytes: &[u8]) -> ByteBuf {
    ByteBuf::from(bytes.to_vec())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Hash32::digest(&[bytes]).0
}

fn seed(label: &str) -> [u8; 32] {
    sha256(format!("causerie/test-vectors/{label}").as_bytes())
}

fn map(entries: &[(&str, Value)]) -> Content {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl RawEvent {
    fn from_draft(draft: &EventDraft) -> RawEvent {
        RawEvent {
            attestation: buf(draft.attestation.as_bytes()),
            auth_events: draft
                .auth_events
                .iter()
                .map(|id| buf(id.as_bytes()))
                .collect(),
            author: buf(draft.author.as_bytes()),
            content: Value::Map(draft.content.clone()),
            content_hash: buf(&[0; 32]),
            depth: draft.depth,
            kind: draft.kind.clone(),
            origin_ts: draft.origin_ts,
            prev_events: draft
                .prev_events
                .iter()
                .map(|id| buf(id.as_bytes()))
                .collect(),
            room: draft.room.map(|r| buf(r.as_bytes())),
            signature: None,
            state_key: draft.state_key.clone(),
            v: 1,
        }
    }

    /// The signing input: domain prefix ‖ the envelope without signature, content redacted.
    fn signing_input(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        if let Value::Map(content) = &self.content {
            unsigned.content = Value::Map(event::redact_content(&self.kind, content));
        }
        Domain::Event.signing_input(&codec::encode(&unsigned).unwrap())
    }

    /// Sets content_hash from the content (when it is a map) and signs.
    fn seal(mut self, secret: &UserSecret) -> RawEvent {
        if let Value::Map(content) = &self.content {
            self.content_hash = buf(&sha256(&codec::encode(content).unwrap()));
        }
        self.resign(secret)
    }

    /// Signs again without touching content_hash.
    fn resign(mut self, secret: &UserSecret) -> RawEvent {
        let input = self.signing_input();
        let message = &input[Domain::Event.prefix().len()..];
        self.signature = Some(buf(secret.sign(Domain::Event, message).as_bytes()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        codec::encode(self).unwrap()
    }

    fn id(&self) -> [u8; 32] {
        let mut input = self.signing_input();
        input.extend_from_slice(self.signature.as_ref().unwrap());
        sha256(&input)
    }
}

impl RawAttestation {
    fn seal(mut self, node: &NodeSecret) -> RawAttestation {
        self.signature = None;
        let message = codec::encode(&self).unwrap();
        self.signature = Some(buf(node.sign(Domain::Attestation, &message).as_bytes()));
        self
    }
}

/// Replaces the one occurrence of `needle` in `bytes` (panics unless exactly one).
fn splice(bytes: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> = (0..=bytes.len().saturating_sub(needle.len()))
        .filter(|&i| bytes[i..].starts_with(needle))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "needle {} found {} times",
        hex::encode(needle),
        hits.len()
    );
    let at = hits[0];
    [&bytes[..at], replacement, &bytes[at + needle.len()..]].concat()
}

/// CBOR text-string encoding of a short key (shorter than 24 bytes).
fn text_key(key: &str) -> Vec<u8> {
    assert!(key.len() < 24);
    [&[0x60 + key.len() as u8][..], key.as_bytes()].concat()
}

/// libp2p peer id of an Ed25519 key: identity multihash of the protobuf-encoded public key.
fn peer_id_bytes(key: &[u8; 32]) -> Vec<u8> {
    // multihash(identity = 0x00, length 36) ‖ protobuf { 1: KeyType Ed25519 = 1, 2: bytes(32) }
    [&[0x00, 0x24, 0x08, 0x01, 0x12, 0x20][..], key].concat()
}

/// Base58btc (Bitcoin alphabet), as libp2p prints peer ids.
fn base58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n(b'1', zeros)
        .chain(digits.iter().rev().map(|d| ALPHABET[*d as usize]))
        .map(char::from)
        .collect()
}

/// Adds two 256-bit little-endian numbers (no overflow for the values used here).
fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(message)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

fn hex32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// What the library and raw dalek say about one (key, message, signature) triple.
fn edge_case(
    name: &str,
    note: &str,
    public: &[u8; 32],
    message: &[u8],
    signature: &[u8; 64],
) -> Json {
    let dalek_signature = ed25519_dalek::Signature::from_bytes(signature);
    let (strict, lenient) = match VerifyingKey::from_bytes(public) {
        Ok(key) => (
            key.verify_strict(message, &dalek_signature).is_ok(),
            key.verify(message, &dalek_signature).is_ok(),
        ),
        Err(_) => (false, false),
    };
    let key_reason = causerie_crypto::PublicKey::from_bytes(public)
        .err()
        .map(|e| e.reason());
    json!({
        "name": name,
        "note": note,
        "public": hex::encode(public),
        "message": hex::encode(message),
        "signature": hex::encode(signature),
        "verify_strict": strict,
        "verify_cofactorless_lenient": lenient,
        "key_reason": key_reason,
    })
}

/// The reason the library refuses `bytes` with, read as `target`, if it does.
fn refusal(target: &str, bytes: &[u8]) -> Option<&'static str> {
    match target {
        "event" => Event::decode(bytes).err().map(|e| e.reason()),
        "attestation" => Attestation::decode(bytes).err().map(|e| e.reason()),
        "value" => codec::decode_canonical::<Value>(bytes, event::MAX_EVENT_BYTES)
            .err()
            .map(|e| e.reason()),
        _ => unreachable!(),
    }
}

fn write(dir: &Path, name: &str, value: &Json) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {}", dir.join(name).display());
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/test-vectors");
    std::fs::create_dir_all(&dir).unwrap();

    // ---- keys ----
    let alice = UserSecret::from_seed(&seed("user/alice"));
    let bob = UserSecret::from_seed(&seed("user/bob"));
    let node = NodeSecret::from_seed(&seed("node/paris"));
    let user_keys: Vec<Json> = [("alice", &alice, "user/alice"), ("bob", &bob, "user/bob")]
        .iter()
        .map(|(name, secret, label)| {
            json!({
                "name": name,
                "seed_label": format!("causerie/test-vectors/{label}"),
                "seed": hex::encode(seed(label)),
                "public": secret.public().to_string(),
            })
        })
        .collect();
    let node_public = *node.public().as_bytes();
    let peer_id = peer_id_bytes(&node_public);
    let mut invalid_keys: Vec<Json> = SMALL_ORDER
        .iter()
        .map(|(name, key)| {
            let bytes = hex32(key);
            let point = CompressedEdwardsY(bytes)
                .decompress()
                .expect("small-order point decodes");
            assert!(point.is_small_order(), "{name} is not of small order");
            json!({ "name": format!("small order: {name}"), "public": key, "reason": "weak_key" })
        })
        .collect();
    let p_le = hex32("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    let non_canonical: [(&str, [u8; 32]); 4] = [
        ("y = p (non-canonical 0, small order)", p_le),
        (
            "y = p + 1 (non-canonical identity)",
            add_le(&p_le, &hex32(SMALL_ORDER[0].1)),
        ),
        ("y = 2^255 - 1 (non-canonical 18)", {
            let mut y = [0xff; 32];
            y[31] = 0x7f;
            y
        }),
        ("not on the curve (y = 2)", {
            let mut y = [0u8; 32];
            y[0] = 2;
            y
        }),
    ];
    for (name, bytes) in non_canonical {
        let reason = "invalid_key";
        assert_eq!(
            causerie_crypto::PublicKey::from_bytes(&bytes)
                .err()
                .map(|e| e.reason()),
            Some(reason),
            "{name}"
        );
        invalid_keys.push(json!({ "name": name, "public": hex::encode(bytes), "reason": reason }));
    }
    // x = 0 with the sign bit set: a second encoding of a point whose x has no negative. RFC 8032
    // §5.1.3 decoding fails there, so the reason is invalid_key (specs/identity.md §1.1), although
    // both points are also of small order.
    for (name, key) in [
        (
            "identity with the sign bit set (negative zero)",
            "0100000000000000000000000000000000000000000000000000000000000080",
        ),
        (
            "order 2 (y = -1) with the sign bit set (negative zero)",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ),
    ] {
        let bytes = hex32(key);
        let point = CompressedEdwardsY(bytes)
            .decompress()
            .expect("the point decoder accepts x = 0 with the sign bit set");
        assert!(point.is_small_order(), "{name}");
        assert_eq!(
            causerie_crypto::PublicKey::from_bytes(&bytes)
                .err()
                .map(|e| e.reason()),
            Some("invalid_key"),
            "{name}"
        );
        invalid_keys.push(json!({ "name": name, "public": key, "reason": "invalid_key" }));
    }
    write(
        &dir,
        "keys.json",
        &json!({
            "description": "Key vectors. seed = SHA-256(seed_label); public = RFC 8032 public key of the seed. \
                Node peer_id = identity multihash of the libp2p protobuf Ed25519 public key (hex and base58btc). \
                invalid: public keys UserKey/NodeKey::from_bytes must refuse, with the reason.",
            "users": user_keys,
            "nodes": [{
                "name": "paris",
                "seed_label": "causerie/test-vectors/node/paris",
                "seed": hex::encode(seed("node/paris")),
                "public": hex::encode(node_public),
                "peer_id_hex": hex::encode(&peer_id),
                "peer_id": base58(&peer_id),
            }],
            "invalid": invalid_keys,
        }),
    );

    // ---- ed25519 ----
    let mut rfc = Vec::new();
    for (name, secret, public, message, signature) in RFC8032 {
        let key = SigningKey::from_bytes(&hex32(secret));
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            public,
            "{name} public key"
        );
        let message_bytes = hex::decode(message).unwrap();
        let made = ed25519_dalek::Signer::sign(&key, &message_bytes);
        assert_eq!(hex::encode(made.to_bytes()), signature, "{name} signature");
        rfc.push(json!({
            "name": name,
            "secret": secret,
            "public": public,
            "message": message,
            "signature": signature,
            "verify_strict": true,
        }));
    }
    let test1 = SigningKey::from_bytes(&hex32(RFC8032[0].1));
    let test1_public = *test1.verifying_key().as_bytes();
    let test1_signature: [u8; 64] = hex::decode(RFC8032[0].4).unwrap().try_into().unwrap();
    let message = b"causerie";
    let good = ed25519_dalek::Signer::sign(&test1, message).to_bytes();
    let identity = hex32(SMALL_ORDER[0].1);
    let mut edge = vec![edge_case(
        "valid",
        "control: TEST 1 key signing \"causerie\"",
        &test1_public,
        message,
        &good,
    )];
    // S + L: the same equation holds modulo L, but S is not reduced.
    let mut s_plus_l = test1_signature;
    let s: [u8; 32] = test1_signature[32..].try_into().unwrap();
    s_plus_l[32..].copy_from_slice(&add_le(&s, &L_BYTES));
    edge.push(edge_case(
        "S + L",
        "RFC 8032 TEST 1 with L added to S (S >= L)",
        &test1_public,
        b"",
        &s_plus_l,
    ));
    let mut s_equals_l = test1_signature;
    s_equals_l[32..].copy_from_slice(&L_BYTES);
    edge.push(edge_case(
        "S = L",
        "TEST 1 with S replaced by L",
        &test1_public,
        b"",
        &s_equals_l,
    ));
    let mut s_high_bit = test1_signature;
    s_high_bit[63] |= 0x80;
    edge.push(edge_case(
        "S high bit",
        "TEST 1 with the top bit of S set",
        &test1_public,
        b"",
        &s_high_bit,
    ));
    // Small-order key and R with S = 0: [0]B = O = O + [k]O holds for every k.
    let mut zero_sig = [0u8; 64];
    zero_sig[..32].copy_from_slice(&identity);
    edge.push(edge_case(
        "small-order A and R, S = 0",
        "A = R = identity, S = 0: satisfies the cofactorless equation for any message",
        &identity,
        message,
        &zero_sig,
    ));
    for (name, key) in &SMALL_ORDER[1..] {
        edge.push(edge_case(
            &format!("small-order A: {name}"),
            "small-order public key, R = identity, S = 0",
            &hex32(key),
            message,
            &zero_sig,
        ));
    }
    // Small-order R with a real key: S = k·a makes [S]B = R + [k]A hold exactly (R = O).
    let a = test1.to_scalar();
    let k = challenge(&identity, &test1_public, message);
    let mut small_r = [0u8; 64];
    small_r[..32].copy_from_slice(&identity);
    small_r[32..].copy_from_slice((k * a).as_bytes());
    edge.push(edge_case(
        "small-order R",
        "R = identity, S = k·a: the equation holds, so only the small-order check rejects it",
        &test1_public,
        message,
        &small_r,
    ));
    // Non-canonical R: y = p + 1 encodes the identity; S = k·a with k over the non-canonical bytes.
    let r_nc = add_le(&p_le, &identity);
    let k = challenge(&r_nc, &test1_public, message);
    let mut non_canonical_r = [0u8; 64];
    non_canonical_r[..32].copy_from_slice(&r_nc);
    non_canonical_r[32..].copy_from_slice((k * a).as_bytes());
    edge.push(edge_case(
        "non-canonical R",
        "R = identity encoded with y = p + 1, S = k·a over those bytes",
        &test1_public,
        message,
        &non_canonical_r,
    ));
    let mut flipped = good;
    flipped[5] ^= 0x01;
    edge.push(edge_case(
        "R bit flipped",
        "control: one bit of R flipped",
        &test1_public,
        message,
        &flipped,
    ));
    edge.push(edge_case(
        "other message",
        "control: valid signature, other message",
        &test1_public,
        b"causerie!",
        &good,
    ));
    for case in &edge[1..] {
        assert_eq!(case["verify_strict"], json!(false), "{case}");
    }
    assert_eq!(edge[0]["verify_strict"], json!(true));
    write(
        &dir,
        "ed25519.json",
        &json!({
            "description": "rfc8032: RFC 8032 section 7.1 vectors (secret = 32-byte seed); every one verifies under verify_strict. \
                edge_cases: raw Ed25519 (no Causerie domain prefix) over `message`; verify_strict is the protocol's outcome; \
                verify_cofactorless_lenient is ed25519-dalek's plain verify, for comparison only; \
                key_reason is what UserKey::from_bytes says about `public` (null = accepted).",
            "rfc8032": rfc,
            "edge_cases": edge,
        }),
    );

    // ---- attestations ----
    let attest = |user: &UserSecret, handle: &str, assurance: Assurance, days: u64| {
        AttestationDraft {
            user: user.public(),
            handle: handle.to_owned(),
            assurance,
            not_before: T0_MS,
            not_after: T0_MS + days * DAY_MS,
        }
        .sign(&node)
        .unwrap()
    };
    let alice_attestation = attest(&alice, "alice", Assurance::Contact, 365);
    let bob_attestation = attest(&bob, "bob.martin", Assurance::Key, 30);
    let raw_attestation = |a: &Attestation| RawAttestation {
        assurance: a.assurance().level(),
        handle: a.handle().to_owned(),
        home_node: buf(a.home_node().as_bytes()),
        not_after: a.not_after(),
        not_before: a.not_before(),
        signature: None,
        user: buf(a.user().as_bytes()),
        v: 1,
    };
    let mut attestation_vectors = Vec::new();
    for (name, attestation) in [("alice", &alice_attestation), ("bob", &bob_attestation)] {
        let raw = raw_attestation(attestation).seal(&node);
        let bytes = codec::encode(&raw).unwrap();
        assert_eq!(
            bytes,
            attestation.as_bytes(),
            "independent attestation encoding"
        );
        let mut unsigned = raw.clone();
        unsigned.signature = None;
        let mut input = Domain::Attestation.signing_input(&codec::encode(&unsigned).unwrap());
        input.extend_from_slice(raw.signature.as_ref().unwrap());
        assert_eq!(sha256(&input), attestation.id().0.0);
        attestation_vectors.push(json!({
            "name": name,
            "bytes": hex::encode(&bytes),
            "id": attestation.id().0.to_hex(),
            "user": attestation.user().to_string(),
            "handle": attestation.handle(),
            "assurance": attestation.assurance().name(),
            "home_node": attestation.home_node().to_string(),
            "not_before": attestation.not_before(),
            "not_after": attestation.not_after(),
        }));
    }
    write(
        &dir,
        "attestations.json",
        &json!({
            "description": "Signed attestations by node `paris` (keys.json). id = SHA-256(\"causerie/v1/attestation\\0\" ‖ CBOR without signature ‖ signature).",
            "attestations": attestation_vectors,
        }),
    );

    // ---- events ----
    let draft = |secret: &UserSecret,
                 attestation: &Attestation,
                 room: Option<&Event>,
                 kind: &str,
                 state_key: Option<&str>,
                 content: Content,
                 prev: &[&Event],
                 auth: &[&Event]| EventDraft {
        room: room.map(Event::room_id),
        author: secret.public(),
        kind: kind.to_owned(),
        state_key: state_key.map(str::to_owned),
        content,
        prev_events: prev.iter().map(|e| e.id()).collect(),
        auth_events: auth.iter().map(|e| e.id()).collect(),
        depth: prev.iter().map(|e| e.depth() + 1).max().unwrap_or(0),
        origin_ts: T0_MS
            + 60_000 * prev.len() as u64
            + prev.iter().map(|e| e.depth()).sum::<u64>() * 1_000,
        attestation: attestation.id(),
    };
    let mut events: Vec<(String, EventDraft, Event)> = Vec::new();
    let mut sign = |name: &str, secret: &UserSecret, draft: EventDraft| -> Event {
        let event = draft.clone().sign(secret).unwrap();
        let raw = RawEvent::from_draft(&draft).seal(secret);
        assert_eq!(
            raw.bytes(),
            event.as_bytes(),
            "{name}: independent encoding differs"
        );
        assert_eq!(raw.id(), event.id().0.0, "{name}: independent id differs");
        assert_eq!(
            raw.signing_input(),
            draft.signing_input().unwrap(),
            "{name}: signing input"
        );
        events.push((name.to_owned(), draft, event.clone()));
        event
    };
    let alice_hex = alice.public().to_string();
    let bob_hex = bob.public().to_string();
    let create = sign(
        "create",
        &alice,
        draft(
            &alice,
            &alice_attestation,
            None,
            kinds::CREATE,
            Some(""),
            map(&[
                ("creator", alice_hex.clone().into()),
                ("room_version", 1.into()),
            ]),
            &[],
            &[],
        ),
    );
    let member = sign(
        "member",
        &alice,
        draft(
            &alice,
            &alice_attestation,
            Some(&create),
            kinds::MEMBER,
            Some(&alice_hex),
            map(&[
                ("displayname", "Alice".into()),
                ("membership", "join".into()),
            ]),
            &[&create],
            &[&create],
        ),
    );
    let power = sign(
        "power_levels",
        &alice,
        draft(
            &alice,
            &alice_attestation,
            Some(&create),
            kinds::POWER_LEVELS,
            Some(""),
            map(&[
                ("ban", 50.into()),
                ("events_default", 0.into()),
                ("note", "kept only until redaction".into()),
                ("redact", 50.into()),
                (
                    "users",
                    Value::Map(map(&[(alice_hex.as_str(), 100.into())])),
                ),
            ]),
            &[&member],
            &[&create, &member],
        ),
    );
    let bob_member = sign(
        "member_bob",
        &bob,
        draft(
            &bob,
            &bob_attestation,
            Some(&create),
            kinds::MEMBER,
            Some(&bob_hex),
            map(&[("membership", "join".into())]),
            &[&power],
            &[&create, &power],
        ),
    );
    let message = sign(
        "message",
        &bob,
        draft(
            &bob,
            &bob_attestation,
            Some(&create),
            kinds::MESSAGE,
            None,
            map(&[
                ("body", "Bonjour à tous ! 👋".into()),
                ("format", "text".into()),
            ]),
            &[&bob_member],
            &[&create, &power, &bob_member],
        ),
    );
    let rich = sign(
        "message_rich_content",
        &alice,
        draft(
            &alice,
            &alice_attestation,
            Some(&create),
            kinds::MESSAGE,
            None,
            map(&[
                ("", Value::Null),
                ("body", "nested values".into()),
                ("bytes", Value::Bytes(vec![0, 1, 2, 0xff])),
                (
                    "flags",
                    Value::Array(vec![true.into(), false.into(), Value::Null]),
                ),
                (
                    "numbers",
                    Value::Array(vec![
                        0.into(),
                        (-1).into(),
                        23.into(),
                        24.into(),
                        (-25).into(),
                        i64::MAX.into(),
                        i64::MIN.into(),
                    ]),
                ),
                (
                    "z",
                    Value::Map(map(&[
                        ("a", Value::Map(map(&[("b", Value::Array(vec![]))]))),
                        ("é", "unicode key".into()),
                    ])),
                ),
            ]),
            &[&message, &bob_member],
            &[&create, &power, &member],
        ),
    );
    let redaction = sign(
        "redaction",
        &alice,
        draft(
            &alice,
            &alice_attestation,
            Some(&create),
            kinds::REDACTION,
            None,
            map(&[
                ("reason", "spam".into()),
                ("redacts", Value::Bytes(message.id().as_bytes().to_vec())),
            ]),
            &[&rich],
            &[&create, &power, &member],
        ),
    );
    let _ = redaction;
    let mut event_vectors = Vec::new();
    for (name, draft, event) in &events {
        event_vectors.push(json!({
            "name": name,
            "author": draft.author.to_string(),
            "bytes": hex::encode(event.as_bytes()),
            "id": event.id().0.to_hex(),
            "room_id": event.room_id().0.to_hex(),
            "kind": event.kind(),
            "redacted": false,
            "content_hash": event.content_hash().to_hex(),
            "signing_input": hex::encode(draft.signing_input().unwrap()),
        }));
        let redacted = event.redacted();
        if redacted.as_bytes() != event.as_bytes() {
            let again = Event::decode(redacted.as_bytes()).unwrap();
            assert_eq!(again.id(), event.id());
            event_vectors.push(json!({
                "name": format!("{name}.redacted"),
                "redacted_from": name,
                "author": draft.author.to_string(),
                "bytes": hex::encode(redacted.as_bytes()),
                "id": event.id().0.to_hex(),
                "room_id": event.room_id().0.to_hex(),
                "kind": event.kind(),
                "redacted": true,
                "content_hash": event.content_hash().to_hex(),
                "signing_input": hex::encode(draft.signing_input().unwrap()),
            }));
        }
    }
    write(
        &dir,
        "events.json",
        &json!({
            "description": "Signed events of one room (authors in keys.json, attestations in attestations.json). \
                bytes: the canonical envelope; id = SHA-256(signing_input ‖ signature); room_id = id of the create event. \
                Entries with redacted = true are the redacted form of `redacted_from`: same id, same signing input, same signature.",
            "events": event_vectors,
        }),
    );

    // ---- invalid ----
    let mut invalid: Vec<Json> = Vec::new();
    let mut reject = |target: &str, name: &str, bytes: &[u8], reason: &str| {
        let got = refusal(target, bytes);
        assert_eq!(got, Some(reason), "invalid vector {target}/{name}");
        invalid.push(json!({ "target": target, "name": name, "bytes": hex::encode(bytes), "reason": reason }));
    };

    let message_draft = events
        .iter()
        .find(|(n, _, _)| n == "message")
        .unwrap()
        .1
        .clone();
    let base = || RawEvent::from_draft(&message_draft);
    let good = base().seal(&bob);
    let good_bytes = good.bytes();
    assert_eq!(good_bytes, message.as_bytes());

    let mut tampered = good_bytes.clone();
    let signature_bytes = good.signature.clone().unwrap();
    let sig_at = good_bytes
        .windows(64)
        .position(|w| w == &signature_bytes[..])
        .unwrap();
    tampered[sig_at + 10] ^= 0x01;
    reject("event", "signature bit flipped", &tampered, "bad_signature");

    let mut other_domain = base().seal(&bob);
    let unsigned_input = other_domain.signing_input();
    let message_part = &unsigned_input[Domain::Event.prefix().len()..];
    other_domain.signature = Some(buf(bob.sign(Domain::Attestation, message_part).as_bytes()));
    reject(
        "event",
        "signed in the attestation domain",
        &other_domain.bytes(),
        "bad_signature",
    );

    let mut forged_author = base();
    forged_author.author = buf(alice.public().as_bytes());
    let forged_author = forged_author.seal(&bob);
    reject(
        "event",
        "author is not the signer",
        &forged_author.bytes(),
        "bad_signature",
    );

    let mut unsigned = base().seal(&bob);
    unsigned.signature = None;
    reject("event", "no signature", &unsigned.bytes(), "bad_signature");

    let mut changed = good.clone();
    changed.content = Value::Map(map(&[
        ("body", "Bonjour à tous ! 👋 (edited)".into()),
        ("format", "text".into()),
    ]));
    reject(
        "event",
        "content changed after signing",
        &changed.bytes(),
        "content_hash_mismatch",
    );

    let mut half = good.clone();
    half.content = Value::Map(map(&[("format", "text".into())]));
    reject(
        "event",
        "content partly removed (not the redacted form)",
        &half.bytes(),
        "content_hash_mismatch",
    );

    let id = |n: u8| buf(&[n; 32]);
    let mut many_prev = base();
    many_prev.prev_events = (1..=21).map(id).collect();
    reject(
        "event",
        "21 prev_events",
        &many_prev.seal(&bob).bytes(),
        "too_many_prev_events",
    );
    let mut many_auth = base();
    many_auth.auth_events = (1..=11).map(id).collect();
    reject(
        "event",
        "11 auth_events",
        &many_auth.seal(&bob).bytes(),
        "too_many_auth_events",
    );
    let mut dup_prev = base();
    dup_prev.prev_events = vec![id(1), id(2), id(1)];
    reject(
        "event",
        "prev_events lists an id twice",
        &dup_prev.seal(&bob).bytes(),
        "duplicate_reference",
    );
    let mut short_id = base();
    short_id.prev_events = vec![buf(&[1; 31])];
    reject(
        "event",
        "prev_events entry of 31 bytes",
        &short_id.seal(&bob).bytes(),
        "malformed_cbor",
    );

    let mut v2 = base();
    v2.v = 2;
    reject(
        "event",
        "envelope version 2",
        &v2.seal(&bob).bytes(),
        "unsupported_version",
    );
    for (name, kind) in [
        ("kind with upper case", "Room.Message"),
        ("empty kind", ""),
        ("kind of 65 bytes", &"k".repeat(65)),
    ] {
        let mut raw = base();
        raw.kind = kind.to_owned();
        reject("event", name, &raw.seal(&bob).bytes(), "bad_kind");
    }
    let mut long_state_key = base();
    long_state_key.state_key = Some("s".repeat(256));
    reject(
        "event",
        "state key of 256 bytes",
        &long_state_key.seal(&bob).bytes(),
        "state_key_too_long",
    );
    let mut no_room = base();
    no_room.room = None;
    reject(
        "event",
        "message without room",
        &no_room.seal(&bob).bytes(),
        "bad_room_id",
    );
    let create_draft = events
        .iter()
        .find(|(n, _, _)| n == "create")
        .unwrap()
        .1
        .clone();
    let mut create_in_room = RawEvent::from_draft(&create_draft);
    create_in_room.room = Some(id(7));
    reject(
        "event",
        "create event with a room id",
        &create_in_room.seal(&alice).bytes(),
        "bad_room_id",
    );
    let mut create_depth = RawEvent::from_draft(&create_draft);
    create_depth.depth = 1;
    reject(
        "event",
        "create event at depth 1",
        &create_depth.seal(&alice).bytes(),
        "bad_depth",
    );
    let mut create_parent = RawEvent::from_draft(&create_draft);
    create_parent.prev_events = vec![id(3)];
    reject(
        "event",
        "create event with a parent",
        &create_parent.seal(&alice).bytes(),
        "bad_depth",
    );
    let mut depth0 = base();
    depth0.depth = 0;
    reject(
        "event",
        "message at depth 0",
        &depth0.seal(&bob).bytes(),
        "bad_depth",
    );
    let mut orphan = base();
    orphan.prev_events = vec![];
    reject(
        "event",
        "message without parents",
        &orphan.seal(&bob).bytes(),
        "bad_depth",
    );
    let mut too_deep_dag = base();
    too_deep_dag.depth = 1 << 53;
    reject(
        "event",
        "depth 2^53",
        &too_deep_dag.seal(&bob).bytes(),
        "bad_depth",
    );

    let mut array_content = base();
    array_content.content = Value::Array(vec!["body".into()]);
    reject(
        "event",
        "content is an array",
        &array_content.resign(&bob).bytes(),
        "bad_content",
    );
    let mut deep = Value::Integer(0);
    for _ in 0..16 {
        deep = Value::Array(vec![deep]);
    }
    let mut deep_content = base();
    deep_content.content = Value::Map(map(&[("body", deep)]));
    reject(
        "event",
        "content nested 17 deep",
        &deep_content.seal(&bob).bytes(),
        "nesting_too_deep",
    );

    let weak = hex32(SMALL_ORDER[4].1);
    let mut weak_author = base().seal(&bob);
    weak_author.author = buf(&weak);
    reject(
        "event",
        "author is a small-order point",
        &weak_author.bytes(),
        "weak_key",
    );
    let mut off_curve = base().seal(&bob);
    off_curve.author = buf(&{
        let mut y = [0u8; 32];
        y[0] = 2;
        y
    });
    reject(
        "event",
        "author is not a curve point",
        &off_curve.bytes(),
        "invalid_key",
    );
    let mut nc_author = base().seal(&bob);
    nc_author.author = buf(&add_le(&p_le, &hex32(SMALL_ORDER[0].1)));
    reject(
        "event",
        "author is a non-canonical encoding",
        &nc_author.bytes(),
        "invalid_key",
    );

    // Byte-level mutations of the good event.
    let depth_field = [text_key("depth"), vec![0x04]].concat();
    assert_eq!(good.depth, 4);
    reject(
        "event",
        "depth 4 in a two-byte head",
        &splice(
            &good_bytes,
            &depth_field,
            &[text_key("depth"), vec![0x18, 0x04]].concat(),
        ),
        "non_canonical_encoding",
    );
    let kind_field = [text_key("kind"), text_key("room.message")].concat();
    let origin = text_key("origin_ts");
    let swapped = {
        // Move `kind` after `origin_ts`: same fields, wrong order.
        let without_kind = splice(&good_bytes, &kind_field, &[]);
        let at = without_kind
            .windows(origin.len())
            .position(|w| w == origin.as_slice())
            .unwrap();
        let origin_end = at + origin.len() + 9; // origin_ts is a uint64 head: 0x1b + 8 bytes
        assert_eq!(without_kind[at + origin.len()], 0x1b);
        [
            &without_kind[..origin_end],
            &kind_field[..],
            &without_kind[origin_end..],
        ]
        .concat()
    };
    reject(
        "event",
        "envelope keys out of order",
        &swapped,
        "non_canonical_encoding",
    );
    let first_head = good_bytes[0];
    assert_eq!(first_head, 0xac, "12-entry envelope map");
    let dup_kind = [&[0xad][..], &good_bytes[1..]].concat();
    let dup_kind = splice(
        &dup_kind,
        &kind_field,
        &[kind_field.clone(), kind_field.clone()].concat(),
    );
    reject(
        "event",
        "envelope repeats `kind`",
        &dup_kind,
        "duplicate_map_key",
    );
    let unknown = [&[0xad][..], &good_bytes[1..], &text_key("zz"), &[0x00][..]].concat();
    reject(
        "event",
        "unknown envelope field",
        &unknown,
        "malformed_cbor",
    );
    let body_field = text_key("body");
    let content_dup = splice(
        &good_bytes,
        &[0xa2][..]
            .iter()
            .chain(body_field.iter())
            .copied()
            .collect::<Vec<u8>>(),
        &[&[0xa3][..], &body_field, &text_key("x"), &body_field].concat(),
    );
    reject(
        "event",
        "content repeats `body`",
        &content_dup,
        "duplicate_map_key",
    );
    let float_body = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0xf9, 0x3c, 0x00]].concat(),
    );
    reject(
        "event",
        "float in content",
        &float_body,
        "float_not_allowed",
    );
    let big_int = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]].concat(),
    );
    reject(
        "event",
        "content integer 2^63",
        &big_int,
        "integer_out_of_range",
    );
    let int_key = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[vec![0x07], text_key("text")].concat(),
    );
    reject(
        "event",
        "content map key is an integer",
        &int_key,
        "non_text_map_key",
    );
    let tagged = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0xc0], text_key("text")].concat(),
    );
    reject("event", "tag in content", &tagged, "non_canonical_encoding");
    let null_room = {
        let mut raw = RawEvent::from_draft(&create_draft).seal(&alice);
        let bytes = raw.bytes();
        raw.room = None;
        // Insert `room: null` before `signature`: decodes as no room, so it is not canonical.
        let signature_key = text_key("signature");
        let at = bytes
            .windows(signature_key.len())
            .position(|w| w == signature_key.as_slice())
            .unwrap();
        let mut out = [
            &bytes[..at],
            &text_key("room")[..],
            &[0xf6][..],
            &bytes[at..],
        ]
        .concat();
        out[0] += 1;
        out
    };
    reject(
        "event",
        "create event with room = null",
        &null_room,
        "non_canonical_encoding",
    );
    reject(
        "event",
        "truncated by one byte",
        &good_bytes[..good_bytes.len() - 1],
        "truncated",
    );
    reject("event", "empty input", &[], "truncated");
    reject(
        "event",
        "trailing byte",
        &[&good_bytes[..], &[0x00]].concat(),
        "trailing_bytes",
    );
    reject(
        "event",
        "not a map",
        &codec::encode(&Value::Array(vec![])).unwrap(),
        "malformed_cbor",
    );
    let huge_text = splice(
        &good_bytes,
        &text_key("kind"),
        &[vec![0x7b, 0x80, 0, 0, 0, 0, 0, 0, 0], b"kind".to_vec()].concat(),
    );
    reject(
        "event",
        "text length prefix 2^63",
        &huge_text,
        "length_out_of_range",
    );

    // Attestations.
    let att = || raw_attestation(&alice_attestation);
    let good_att = att().seal(&node);
    let mut bad_sig = codec::encode(&good_att).unwrap();
    let att_signature = good_att.signature.clone().unwrap();
    let at = bad_sig
        .windows(64)
        .position(|w| w == &att_signature[..])
        .unwrap();
    bad_sig[at + 10] ^= 0x01;
    reject(
        "attestation",
        "signature bit flipped",
        &bad_sig,
        "bad_signature",
    );
    let mut wrong_node = att();
    wrong_node.home_node = buf(bob.public().as_bytes());
    reject(
        "attestation",
        "home_node is not the signer",
        &codec::encode(&wrong_node.seal(&node)).unwrap(),
        "bad_signature",
    );
    let mut event_domain = att();
    event_domain.signature = None;
    let msg = codec::encode(&event_domain).unwrap();
    event_domain.signature = Some(buf(node.sign(Domain::Event, &msg).as_bytes()));
    reject(
        "attestation",
        "signed in the event domain",
        &codec::encode(&event_domain).unwrap(),
        "bad_signature",
    );
    let mut level = att();
    level.assurance = 4;
    reject(
        "attestation",
        "assurance level 4",
        &codec::encode(&level.seal(&node)).unwrap(),
        "unknown_assurance_level",
    );
    for (name, handle) in [
        ("handle with upper case", "Alice"),
        ("empty handle", ""),
        ("handle of 33 bytes", &"a".repeat(33)),
        ("handle starting with a dot", ".alice"),
    ] {
        let mut raw = att();
        raw.handle = handle.to_owned();
        reject(
            "attestation",
            name,
            &codec::encode(&raw.seal(&node)).unwrap(),
            "bad_handle",
        );
    }
    let mut window = att();
    window.not_after = window.not_before;
    reject(
        "attestation",
        "empty validity window",
        &codec::encode(&window.seal(&node)).unwrap(),
        "bad_validity_window",
    );
    let mut long = att();
    long.not_after = long.not_before + 401 * DAY_MS;
    reject(
        "attestation",
        "valid for 401 days",
        &codec::encode(&long.seal(&node)).unwrap(),
        "validity_too_long",
    );
    let mut av2 = att();
    av2.v = 2;
    reject(
        "attestation",
        "version 2",
        &codec::encode(&av2.seal(&node)).unwrap(),
        "unsupported_version",
    );
    let mut weak_user = att();
    weak_user.user = buf(&weak);
    reject(
        "attestation",
        "user is a small-order point",
        &codec::encode(&weak_user.seal(&node)).unwrap(),
        "weak_key",
    );
    let mut big = att();
    big.handle = "a".repeat(1_100);
    reject(
        "attestation",
        "larger than 1024 bytes",
        &codec::encode(&big.seal(&node)).unwrap(),
        "too_large",
    );

    // Content values (codec level).
    let value_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "unsorted map keys",
            vec![0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02],
            "non_canonical_encoding",
        ),
        // RFC 8949 deterministic order sorts by encoded key ("b" before "aa"); ours is bytewise.
        (
            "keys in RFC 8949 length-first order",
            vec![0xa2, 0x61, b'b', 0x02, 0x62, b'a', b'a', 0x01],
            "non_canonical_encoding",
        ),
        (
            "duplicate map key",
            vec![0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02],
            "duplicate_map_key",
        ),
        (
            "integer in a longer head",
            vec![0x18, 0x01],
            "non_canonical_encoding",
        ),
        (
            "length in a longer head",
            vec![0x58, 0x01, 0xaa],
            "non_canonical_encoding",
        ),
        (
            "indefinite-length array",
            vec![0x9f, 0x01, 0xff],
            "non_canonical_encoding",
        ),
        (
            "indefinite-length text",
            vec![0x7f, 0x61, b'a', 0xff],
            "non_canonical_encoding",
        ),
        ("tag 1", vec![0xc1, 0x00], "non_canonical_encoding"),
        ("undefined", vec![0xf7], "non_canonical_encoding"),
        ("half float", vec![0xf9, 0x3c, 0x00], "float_not_allowed"),
        (
            "double float",
            vec![0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
            "float_not_allowed",
        ),
        (
            "2^64 - 1",
            vec![0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "integer_out_of_range",
        ),
        (
            "-2^64",
            vec![0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "integer_out_of_range",
        ),
        (
            "integer map key",
            vec![0xa1, 0x01, 0x02],
            "non_text_map_key",
        ),
        (
            "byte-string map key",
            vec![0xa1, 0x41, 0x00, 0x02],
            "non_text_map_key",
        ),
        ("invalid UTF-8", vec![0x62, 0xc3, 0x28], "malformed_cbor"),
        ("reserved head 0x1c", vec![0x1c], "malformed_cbor"),
        ("stray break", vec![0xff], "malformed_cbor"),
        (
            "byte string 2^63 long",
            [&[0x5b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "text 2^63 long",
            [&[0x7b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "array of 2^63 items",
            [&[0x9b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "map of 2^63 pairs",
            [&[0xbb, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "byte string longer than the input",
            vec![0x45, 0x00],
            "truncated",
        ),
        ("array missing an item", vec![0x82, 0x00], "truncated"),
        ("head cut short", vec![0x19, 0x01], "truncated"),
        ("two items", vec![0x00, 0x00], "trailing_bytes"),
        (
            "arrays nested 65 deep",
            [vec![0x81; 65], vec![0x00]].concat(),
            "nesting_too_deep",
        ),
        (
            "arrays nested 10000 deep, truncated",
            vec![0x81; 10_000],
            "nesting_too_deep",
        ),
        (
            "maps nested 10000 deep",
            [0xa1, 0x60].repeat(10_000),
            "nesting_too_deep",
        ),
    ];
    for (name, bytes, reason) in &value_cases {
        reject("value", name, bytes, reason);
    }

    // ---- strict types (specs/events.md §1.2) and inputs with two faults (§6) ----
    // The labelled reason is computed by the library and checked against the label here, like
    // every vector above; `faults` lists the faults in the order the spec checks them, and the
    // reason is that of the first.
    let mut labelled = |target: &str, name: &str, bytes: &[u8], reason: &str, faults: &[&str]| {
        assert_eq!(
            refusal(target, bytes),
            Some(reason),
            "invalid vector {target}/{name}"
        );
        let mut vector = json!({ "target": target, "name": name, "bytes": hex::encode(bytes), "reason": reason });
        if !faults.is_empty() {
            assert!(faults.len() >= 2, "{name}: one fault needs no list");
            vector["faults"] = json!(faults);
        }
        invalid.push(vector);
    };
    // The canonical envelope as a generic map, to re-encode with one field of another type.
    let fields = |bytes: &[u8]| -> Content {
        codec::decode_canonical::<Value>(bytes, event::MAX_EVENT_BYTES)
            .unwrap()
            .as_map()
            .unwrap()
            .clone()
    };
    let with = |bytes: &[u8], key: &str, value: Value| -> Vec<u8> {
        let mut map = fields(bytes);
        map.insert(key.to_owned(), value);
        codec::encode(&Value::Map(map)).unwrap()
    };
    let without = |bytes: &[u8], key: &str| -> Vec<u8> {
        let mut map = fields(bytes);
        map.remove(key);
        codec::encode(&Value::Map(map)).unwrap()
    };
    let long_depth = |bytes: &[u8]| -> Vec<u8> {
        // depth 4 in a two-byte head (non-canonical).
        splice(
            bytes,
            &[text_key("depth"), vec![0x04]].concat(),
            &[text_key("depth"), vec![0x18, 0x04]].concat(),
        )
    };
    let float_format = |bytes: &[u8]| -> Vec<u8> {
        splice(
            bytes,
            &[text_key("format"), text_key("text")].concat(),
            &[text_key("format"), vec![0xf9, 0x3c, 0x00]].concat(),
        )
    };
    let twice_kind = |bytes: &[u8]| -> Vec<u8> {
        let kind_field = [text_key("kind"), text_key("room.message")].concat();
        let mut out = splice(
            bytes,
            &kind_field,
            &[kind_field.clone(), kind_field.clone()].concat(),
        );
        out[0] += 1;
        out
    };
    let text32 = Value::Text("a".repeat(32));

    // Item types: a value of another major type is malformed_cbor, never non_canonical_encoding.
    labelled(
        "event",
        "kind as a byte string",
        &with(&good_bytes, "kind", Value::Bytes(b"room.message".to_vec())),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "state_key as a byte string",
        &{
            let member = events.iter().find(|(n, _, _)| n == "member").unwrap();
            let bytes = member.2.as_bytes().to_vec();
            let state_key = member.2.state_key().unwrap().as_bytes().to_vec();
            with(&bytes, "state_key", Value::Bytes(state_key))
        },
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "depth as a negative integer",
        &with(&good_bytes, "depth", Value::Integer(-4)),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "v as true",
        &with(&good_bytes, "v", Value::Bool(true)),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "prev_events as one byte string",
        &with(&good_bytes, "prev_events", Value::Bytes(vec![1; 32])),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "envelope as an array of its values",
        &codec::encode(&Value::Array(fields(&good_bytes).into_values().collect())).unwrap(),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "depth as a float",
        &splice(
            &good_bytes,
            &[text_key("depth"), vec![0x04]].concat(),
            &[text_key("depth"), vec![0xf9, 0x44, 0x00]].concat(),
        ),
        "float_not_allowed",
        &[],
    );
    labelled(
        "event",
        "envelope key `kind` as a byte string",
        &splice(
            &good_bytes,
            &text_key("kind"),
            &[&[0x44][..], b"kind"].concat(),
        ),
        "non_text_map_key",
        &[],
    );
    labelled(
        "event",
        "envelope key `kind` as an integer",
        &splice(&good_bytes, &text_key("kind"), &[0x06]),
        "non_text_map_key",
        &[],
    );
    let good_att_bytes = codec::encode(&good_att).unwrap();
    labelled(
        "attestation",
        "handle as a byte string",
        &with(&good_att_bytes, "handle", Value::Bytes(b"alice".to_vec())),
        "malformed_cbor",
        &[],
    );
    labelled(
        "attestation",
        "assurance as text",
        &with(&good_att_bytes, "assurance", Value::Text("contact".into())),
        "malformed_cbor",
        &[],
    );
    for (name, bytes, reason) in [
        (
            "byte-string chunk in an indefinite-length text",
            vec![0x7f, 0x41, b'a', 0xff],
            "malformed_cbor",
        ),
        (
            "indefinite-length map ends after a key",
            vec![0xbf, 0x61, b'a', 0xff],
            "malformed_cbor",
        ),
        ("simple value 32", vec![0xf8, 0x20], "malformed_cbor"),
        ("simple value 0", vec![0xe0], "malformed_cbor"),
        (
            "float map key",
            vec![0xa1, 0xf9, 0x3c, 0x00, 0x00],
            "non_text_map_key",
        ),
        (
            "tagged map key",
            vec![0xa1, 0xc1, 0x00, 0x00],
            "non_text_map_key",
        ),
    ] {
        labelled("value", name, &bytes, reason, &[]);
    }

    // Two faults each: the reason is the first fault's in the order of events.md §6,
    // identity.md §2.2 and events.md §1.4.
    let huge = {
        let mut raw = base();
        raw.content = Value::Map(map(&[("body", "x".repeat(70_000).into())]));
        raw.seal(&bob).bytes()
    };
    labelled(
        "event",
        "two faults: over 65,536 bytes, and truncated",
        &huge[..huge.len() - 1],
        "event_too_large",
        &["event_too_large", "truncated"],
    );
    labelled(
        "event",
        "two faults: truncated, and depth in a two-byte head",
        &{
            let bytes = long_depth(&good_bytes);
            bytes[..bytes.len() - 1].to_vec()
        },
        "truncated",
        &["truncated", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: author as text (decoding), then a float in content (pre-scan)",
        &float_format(&with(&good_bytes, "author", text32.clone())),
        "float_not_allowed",
        &["float_not_allowed", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: author as text (decoding), then an integer content key (pre-scan)",
        &splice(
            &with(&good_bytes, "author", text32.clone()),
            &[text_key("format"), text_key("text")].concat(),
            &[vec![0x07], text_key("text")].concat(),
        ),
        "non_text_map_key",
        &["non_text_map_key", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: depth in a two-byte head, then kind as a byte string",
        &long_depth(&with(
            &good_bytes,
            "kind",
            Value::Bytes(b"room.message".to_vec()),
        )),
        "malformed_cbor",
        &["malformed_cbor", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: `kind` twice, then origin_ts as text",
        &twice_kind(&with(&good_bytes, "origin_ts", Value::Text("now".into()))),
        "duplicate_map_key",
        &["duplicate_map_key", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: content_hash as text, then `kind` twice",
        &twice_kind(&with(&good_bytes, "content_hash", text32.clone())),
        "malformed_cbor",
        &["malformed_cbor", "duplicate_map_key"],
    );
    labelled(
        "event",
        "two faults: author is a small-order point, and version 2",
        &with(
            &with(&good_bytes, "author", Value::Bytes(weak.to_vec())),
            "v",
            Value::Integer(2),
        ),
        "weak_key",
        &["weak_key", "unsupported_version"],
    );
    labelled(
        "event",
        "two faults: version 2, and depth in a two-byte head",
        &long_depth(&{
            let mut raw = base();
            raw.v = 2;
            raw.seal(&bob).bytes()
        }),
        "unsupported_version",
        &["unsupported_version", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: no signature, and depth in a two-byte head",
        &long_depth(&without(&good_bytes, "signature")),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: signature null, and depth in a two-byte head",
        &long_depth(&with(&good_bytes, "signature", Value::Null)),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: depth in a two-byte head, and 21 prev_events",
        &long_depth(&{
            let mut raw = base();
            raw.prev_events = (1..=21).map(id).collect();
            raw.seal(&bob).bytes()
        }),
        "non_canonical_encoding",
        &["non_canonical_encoding", "too_many_prev_events"],
    );
    labelled(
        "event",
        "two faults: 21 prev_events, and a kind with upper case",
        &{
            let mut raw = base();
            raw.prev_events = (1..=21).map(id).collect();
            raw.kind = "Room.Message".into();
            raw.seal(&bob).bytes()
        },
        "too_many_prev_events",
        &["too_many_prev_events", "bad_kind"],
    );
    labelled(
        "event",
        "two faults: a kind with upper case, and no parents",
        &{
            let mut raw = base();
            raw.kind = "Room.Message".into();
            raw.prev_events = vec![];
            raw.seal(&bob).bytes()
        },
        "bad_kind",
        &["bad_kind", "bad_depth"],
    );
    labelled(
        "event",
        "two faults: prev_events lists an id twice, and a state key of 256 bytes",
        &{
            let mut raw = base();
            raw.prev_events = vec![id(1), id(1)];
            raw.state_key = Some("s".repeat(256));
            raw.seal(&bob).bytes()
        },
        "duplicate_reference",
        &["duplicate_reference", "state_key_too_long"],
    );
    labelled(
        "event",
        "two faults: content nested 17 deep, and content changed after signing",
        &{
            let mut deep = Value::Integer(0);
            for _ in 0..16 {
                deep = Value::Array(vec![deep]);
            }
            let mut raw = base().seal(&bob);
            raw.content = Value::Map(map(&[("body", deep)]));
            raw.bytes()
        },
        "nesting_too_deep",
        &["nesting_too_deep", "content_hash_mismatch"],
    );
    labelled(
        "event",
        "two faults: message without room, and at depth 0",
        &{
            let mut raw = base();
            raw.room = None;
            raw.depth = 0;
            raw.seal(&bob).bytes()
        },
        "bad_room_id",
        &["bad_room_id", "bad_depth"],
    );
    labelled(
        "event",
        "two faults: content changed after signing, and a signature bit flipped",
        &{
            let mut bytes = changed.bytes();
            let at = bytes
                .windows(64)
                .position(|w| w == &signature_bytes[..])
                .unwrap();
            bytes[at + 10] ^= 0x01;
            bytes
        },
        "content_hash_mismatch",
        &["content_hash_mismatch", "bad_signature"],
    );
    let long_handle = |bytes: &[u8]| -> Vec<u8> {
        splice(
            bytes,
            &text_key("alice"),
            &[&[0x78, 0x05][..], b"alice"].concat(),
        )
    };
    labelled(
        "attestation",
        "two faults: version 2, and a handle with upper case",
        &{
            let mut raw = att();
            raw.v = 2;
            raw.handle = "Alice".into();
            codec::encode(&raw.seal(&node)).unwrap()
        },
        "unsupported_version",
        &["unsupported_version", "bad_handle"],
    );
    labelled(
        "attestation",
        "two faults: user is a small-order point, and a handle with upper case",
        &{
            let mut raw = att();
            raw.user = buf(&weak);
            raw.handle = "Alice".into();
            codec::encode(&raw.seal(&node)).unwrap()
        },
        "weak_key",
        &["weak_key", "bad_handle"],
    );
    labelled(
        "attestation",
        "two faults: no signature, and the handle length in a two-byte head",
        &long_handle(&without(&good_att_bytes, "signature")),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "attestation",
        "two faults: the handle length in a two-byte head, and assurance level 4",
        &long_handle(&{
            let mut raw = att();
            raw.assurance = 4;
            codec::encode(&raw.seal(&node)).unwrap()
        }),
        "non_canonical_encoding",
        &["non_canonical_encoding", "unknown_assurance_level"],
    );
    labelled(
        "attestation",
        "two faults: a handle with upper case, and a signature bit flipped",
        &{
            let mut raw = att();
            raw.handle = "Alice".into();
            let sealed = raw.seal(&node);
            let signature = sealed.signature.clone().unwrap();
            let mut bytes = codec::encode(&sealed).unwrap();
            let at = bytes.windows(64).position(|w| w == &signature[..]).unwrap();
            bytes[at + 10] ^= 0x01;
            bytes
        },
        "bad_handle",
        &["bad_handle", "bad_signature"],
    );
    for (name, bytes, reason, faults) in [
        (
            "two faults: keys out of order, and a key twice",
            vec![0xa3, 0x61, b'b', 0x01, 0x61, b'a', 0x02, 0x61, b'a', 0x03],
            "duplicate_map_key",
            ["duplicate_map_key", "non_canonical_encoding"],
        ),
        (
            "two faults: 2^64 - 1 (decoding), then a float (pre-scan)",
            [&[0x82, 0x1b][..], &[0xff; 8], &[0xf9, 0x3c, 0x00]].concat(),
            "float_not_allowed",
            ["float_not_allowed", "integer_out_of_range"],
        ),
        (
            "two faults: a tag, then a float",
            vec![0x82, 0xc1, 0x00, 0xf9, 0x3c, 0x00],
            "non_canonical_encoding",
            ["non_canonical_encoding", "float_not_allowed"],
        ),
        (
            "two faults: a float, then a byte string 2^63 long",
            [&[0x82, 0xf9, 0x3c, 0x00, 0x5b, 0x80][..], &[0; 7]].concat(),
            "float_not_allowed",
            ["float_not_allowed", "length_out_of_range"],
        ),
    ] {
        labelled("value", name, &bytes, reason, &faults);
    }
    write(
        &dir,
        "invalid.json",
        &json!({
            "description": "Inputs that must be rejected. target: `event` (Event::decode), `attestation` (Attestation::decode) \
                or `value` (a content value: codec::decode_canonical::<Value> with the 65,536-byte event cap). \
                reason: the stable reason() of the error. Events are derived from events.json `message` (author bob) \
                and `create` (author alice) and, unless the mutation is in the bytes, re-signed correctly, \
                so the labelled fault is the only one, except in vectors with `faults`: those have two faults, \
                listed in the order specs/events.md §6 (events), identity.md §2.2 (attestations) and events.md §1.4 \
                (values) check them, and `reason` is the first one's.",
            "invalid": invalid,
        }),
    );
}
