//! Checks the library against `specs/test-vectors/signals.json` (written by `cargo run -p
//! causerie-crypto --example gen_vectors`): every signal decodes to its recorded fields and id
//! and re-encodes to identical bytes; every refused signal is refused with its recorded reason
//! (specs/signals.md §2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use causerie_crypto::signal::{Signal, SignalError};
use causerie_crypto::testing::{
    assert_refusals, assert_signed_vector_id, hex_bytes as bytes, vector_file as load,
};

#[test]
fn signal_vectors() {
    let file = load("signals.json");
    let signals = file["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 3);
    for vector in signals {
        let encoded = bytes(&vector["bytes"]);
        let signal = Signal::decode(&encoded).unwrap();
        assert_eq!(signal.as_bytes(), encoded.as_slice());
        assert_eq!(signal.id().to_hex(), vector["id"].as_str().unwrap());
        assert_eq!(signal.node().to_string(), vector["node"]);
        assert_eq!(signal.user().to_string(), vector["user"]);
        assert_eq!(hex::encode(signal.room().as_bytes()), vector["room"]);
        assert_eq!(
            hex::encode(signal.attestation().as_bytes()),
            vector["attestation"]
        );
        assert_eq!(signal.kind().name(), vector["kind"]);
        assert_eq!(
            signal.event().map(|e| hex::encode(e.as_bytes())),
            vector["event"].as_str().map(str::to_owned)
        );
        assert_eq!(signal.issued_ms(), vector["issued_ms"]);
        assert_eq!(signal.expires_ms(), vector["expires_ms"]);
        assert_signed_vector_id(vector, b"causerie/v1/signal\0");
    }

    let refused = assert_refusals(&file["invalid"], Signal::decode, SignalError::reason);
    assert!(refused >= 14);
}
