//! Checks the library against `specs/test-vectors/signals.json` (written by `cargo run -p
//! causerie-crypto --example gen_vectors`): every signal decodes to its recorded fields and id
//! and re-encodes to identical bytes; every refused signal is refused with its recorded reason
//! (specs/signals.md §2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use causerie_crypto::signal::{Signal, SignalError};
use causerie_crypto::testing::{assert_refusals, decode_statement_vector, vector_file as load};

#[test]
fn signal_vectors() {
    let file = load("signals.json");
    let signals = file["signals"].as_array().unwrap();
    assert_eq!(signals.len(), 3);
    for vector in signals {
        let signal = decode_statement_vector(vector, Signal::decode, b"causerie/v1/signal\0");
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
    }

    let refused = assert_refusals(&file["invalid"], Signal::decode, SignalError::reason);
    assert!(refused >= 14);
}
