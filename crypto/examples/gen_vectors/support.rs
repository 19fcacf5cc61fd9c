//! Helpers shared by the generators.

pub(crate) use std::path::Path;

pub(crate) use causerie_crypto::attestation::AttestationDraft;
pub(crate) use causerie_crypto::codec::{self, Content, Value};
pub(crate) use causerie_crypto::event::{self, kinds};
pub(crate) use causerie_crypto::testing::{base58, splice};
pub(crate) use causerie_crypto::{
    Assurance, Attestation, Domain, Event, EventDraft, Hash32, NodeSecret, UserSecret,
};
pub(crate) use curve25519_dalek::Scalar;
pub(crate) use curve25519_dalek::edwards::CompressedEdwardsY;
pub(crate) use ed25519_dalek::{SigningKey, Verifier, VerifyingKey};
pub(crate) use serde::Serialize;
pub(crate) use serde_bytes::ByteBuf;
pub(crate) use serde_json::{Value as Json, json};
pub(crate) use sha2::{Digest, Sha512};

pub(crate) use crate::signed::{
    RawSigned, Refusals, cross_check, raw_signed, resigned, small_order_key, statement_vector,
    stranger,
};

/// Base of every timestamp in the vectors (2025-11-24T16:00:00Z, in ms).
pub(crate) const T0_MS: u64 = 1_764_000_000_000;
/// One day in ms.
pub(crate) const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// The order of the Ed25519 base point, little-endian.
pub(crate) const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// The eight small-order points in canonical encoding (RFC 8032 points of order 1, 2, 4 and 8).
pub(crate) const SMALL_ORDER: [(&str, &str); 8] = [
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
pub(crate) const RFC8032: [(&str, &str, &str, &str, &str); 5] = [
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
pub(crate) struct RawEvent {
    pub(crate) attestation: ByteBuf,
    pub(crate) auth_events: Vec<ByteBuf>,
    pub(crate) author: ByteBuf,
    pub(crate) content: Value,
    pub(crate) content_hash: ByteBuf,
    pub(crate) depth: u64,
    pub(crate) kind: String,
    pub(crate) origin_ts: u64,
    pub(crate) prev_events: Vec<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) room: Option<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<ByteBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state_key: Option<String>,
    pub(crate) v: u64,
}

/// The attestation as plain data.
#[derive(Serialize, Clone)]
pub(crate) struct RawAttestation {
    pub(crate) assurance: u64,
    pub(crate) handle: String,
    pub(crate) home_node: ByteBuf,
    pub(crate) not_after: u64,
    pub(crate) not_before: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) signature: Option<ByteBuf>,
    pub(crate) user: ByteBuf,
    pub(crate) v: u64,
}

pub(crate) fn buf(bytes: &[u8]) -> ByteBuf {
    ByteBuf::from(bytes.to_vec())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Hash32::digest(&[bytes]).0
}

pub(crate) fn seed(label: &str) -> [u8; 32] {
    sha256(format!("causerie/test-vectors/{label}").as_bytes())
}

pub(crate) fn map(entries: &[(&str, Value)]) -> Content {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl RawEvent {
    pub(crate) fn from_draft(draft: &EventDraft) -> RawEvent {
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
    pub(crate) fn signing_input(&self) -> Vec<u8> {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        if let Value::Map(content) = &self.content {
            unsigned.content = Value::Map(event::redact_content(&self.kind, content));
        }
        Domain::Event.signing_input(&codec::encode(&unsigned).unwrap())
    }

    /// Sets content_hash from the content (when it is a map) and signs.
    pub(crate) fn seal(mut self, secret: &UserSecret) -> RawEvent {
        if let Value::Map(content) = &self.content {
            self.content_hash = buf(&sha256(&codec::encode(content).unwrap()));
        }
        self.resign(secret)
    }

    /// Signs again without touching content_hash.
    pub(crate) fn resign(mut self, secret: &UserSecret) -> RawEvent {
        let input = self.signing_input();
        let message = &input[Domain::Event.prefix().len()..];
        self.signature = Some(buf(secret.sign(Domain::Event, message).as_bytes()));
        self
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        codec::encode(self).unwrap()
    }

    pub(crate) fn id(&self) -> [u8; 32] {
        let mut input = self.signing_input();
        input.extend_from_slice(self.signature.as_ref().unwrap());
        sha256(&input)
    }
}

/// `draft` as plain data, changed by `change`, then sealed by `author` (content hash and
/// signature made right): an event whose one fault is the change.
pub(crate) fn resealed(
    draft: &EventDraft,
    author: &UserSecret,
    change: impl FnOnce(&mut RawEvent),
) -> Vec<u8> {
    let mut raw = RawEvent::from_draft(draft);
    change(&mut raw);
    raw.seal(author).bytes()
}

/// The event id made of 32 bytes `n`, for prev_events and auth_events that name no real event.
pub(crate) fn event_id(n: u8) -> ByteBuf {
    buf(&[n; 32])
}

/// An integer inside `depth` arrays, one in another.
pub(crate) fn nested_arrays(depth: usize) -> Value {
    (0..depth).fold(Value::Integer(0), |inner, _| Value::Array(vec![inner]))
}

/// `bytes` with one bit flipped in its 64-byte `signature`: signed, but not by that signature.
pub(crate) fn signature_bit_flipped(bytes: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = out.windows(64).position(|w| w == signature).unwrap();
    out[at + 10] ^= 0x01;
    out
}

/// The vectors of invalid.json, each checked against the library as it is added: the library
/// must refuse it with its labelled reason.
pub(crate) struct InvalidVectors(Vec<Json>);

impl InvalidVectors {
    pub(crate) fn new() -> Self {
        InvalidVectors(Vec::new())
    }

    /// An input with one fault, refused as `target` for `reason`.
    pub(crate) fn reject(&mut self, target: &str, name: &str, bytes: &[u8], reason: &str) {
        self.push(target, name, bytes, reason);
    }

    /// An input with two or more faults, listed in the order the spec checks them: refused
    /// for the first one's reason.
    pub(crate) fn faults(&mut self, target: &str, name: &str, bytes: &[u8], faults: &[&str]) {
        assert!(faults.len() >= 2, "{name}: one fault needs no list");
        self.push(target, name, bytes, faults[0])["faults"] = json!(faults);
    }

    fn push(&mut self, target: &str, name: &str, bytes: &[u8], reason: &str) -> &mut Json {
        assert_eq!(
            refusal(target, bytes),
            Some(reason),
            "invalid vector {target}/{name}"
        );
        self.0.push(json!({ "target": target, "name": name, "bytes": hex::encode(bytes), "reason": reason }));
        self.0.last_mut().unwrap()
    }

    /// The vectors, in the order they were added.
    pub(crate) fn into_json(self) -> Vec<Json> {
        self.0
    }
}

/// CBOR text-string encoding of a short key (shorter than 24 bytes).
pub(crate) fn text_key(key: &str) -> Vec<u8> {
    assert!(key.len() < 24);
    [&[0x60 + key.len() as u8][..], key.as_bytes()].concat()
}

/// libp2p peer id of an Ed25519 key: identity multihash of the protobuf-encoded public key.
pub(crate) fn peer_id_bytes(key: &[u8; 32]) -> Vec<u8> {
    // multihash(identity = 0x00, length 36) ‖ protobuf { 1: KeyType Ed25519 = 1, 2: bytes(32) }
    [&[0x00, 0x24, 0x08, 0x01, 0x12, 0x20][..], key].concat()
}

/// Adds two 256-bit little-endian numbers (no overflow for the values used here).
pub(crate) fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
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

pub(crate) fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let digest: [u8; 64] = Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(message)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&digest)
}

pub(crate) fn hex32(text: &str) -> [u8; 32] {
    hex::decode(text).unwrap().try_into().unwrap()
}

/// What the library and raw dalek say about one (key, message, signature) triple.
pub(crate) fn edge_case(
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
pub(crate) fn refusal(target: &str, bytes: &[u8]) -> Option<&'static str> {
    match target {
        "event" => Event::decode(bytes).err().map(|e| e.reason()),
        "attestation" => Attestation::decode(bytes).err().map(|e| e.reason()),
        "value" => codec::decode_canonical::<Value>(bytes, event::MAX_EVENT_BYTES)
            .err()
            .map(|e| e.reason()),
        _ => unreachable!(),
    }
}

pub(crate) fn write(dir: &Path, name: &str, value: &Json) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {}", dir.join(name).display());
}

/// The keys every generator signs with (keys.json).
pub(crate) struct Keys {
    pub(crate) alice: UserSecret,
    pub(crate) bob: UserSecret,
    pub(crate) node: NodeSecret,
    /// The field prime p, little-endian (a non-canonical encoding of 0).
    pub(crate) p_le: [u8; 32],
}

/// The two attestations of attestations.json.
pub(crate) struct Attestations {
    pub(crate) alice: Attestation,
    pub(crate) bob: Attestation,
}

/// The signed events of events.json, by name, with their drafts.
pub(crate) type Events = Vec<(String, EventDraft, Event)>;

/// The draft and the signed event of the valid event named `name`.
pub(crate) fn named<'a>(events: &'a Events, name: &str) -> (&'a EventDraft, &'a Event) {
    let (_, draft, event) = events
        .iter()
        .find(|(n, _, _)| n == name)
        .unwrap_or_else(|| panic!("no event {name}"));
    (draft, event)
}

/// The attestation as plain data (unsigned), to re-encode independently of the library.
pub(crate) fn raw_attestation(a: &Attestation) -> RawAttestation {
    RawAttestation {
        assurance: a.assurance().level(),
        handle: a.handle().to_owned(),
        home_node: buf(a.home_node().as_bytes()),
        not_after: a.not_after(),
        not_before: a.not_before(),
        signature: None,
        user: buf(a.user().as_bytes()),
        v: 1,
    }
}
