//! keys.json: the user and node keys, and public keys that must be refused.

use crate::support::*;

/// keys.json.
pub(crate) fn generate(dir: &Path) -> Keys {
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
        dir,
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
    Keys {
        alice,
        bob,
        node,
        p_le,
    }
}
