//! ed25519.json: RFC 8032 vectors and the small-order and non-canonical edge cases.

use crate::support::*;

/// ed25519.json.
pub(crate) fn generate(dir: &Path, keys: &Keys) {
    let Keys { p_le, .. } = keys;
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
    // R ‖ S with S = k·a, k over these R bytes: [S]B = R + [k]A holds exactly when R encodes
    // the identity (R = O), in whichever encoding.
    let a = test1.to_scalar();
    let with_identity_r = |r: &[u8; 32]| {
        let k = challenge(r, &test1_public, message);
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(r);
        signature[32..].copy_from_slice((k * a).as_bytes());
        signature
    };
    // Small-order R with a real key.
    edge.push(edge_case(
        "small-order R",
        "R = identity, S = k·a: the equation holds, so only the small-order check rejects it",
        &test1_public,
        message,
        &with_identity_r(&identity),
    ));
    // Non-canonical R: y = p + 1 encodes the identity.
    edge.push(edge_case(
        "non-canonical R",
        "R = identity encoded with y = p + 1, S = k·a over those bytes",
        &test1_public,
        message,
        &with_identity_r(&add_le(p_le, &identity)),
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
        dir,
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
}
