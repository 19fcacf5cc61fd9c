//! `specs/test-vectors/reports.json` (specs/accountability.md §1): the generator's derivation
//! (`crypto/examples/gen_report_vectors.rs`) is run again and must give the committed file
//! exactly; then every report and receipt in the file decodes to its recorded fields and id,
//! and every invalid report is refused with its recorded reason.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[path = "../examples/gen_report_vectors.rs"]
mod generator;

use causerie_crypto::report::ReportError;
use causerie_crypto::testing::{assert_refusals, hex_bytes as bytes, vector_file};
use causerie_crypto::{Receipt, Report};
use serde_json::Value as Json;

/// The vectors of the list `list` of reports.json, each with its name and what `decode` made of
/// its bytes (a vector that does not decode fails the test, named).
fn decoded<T, E: std::fmt::Display>(
    list: &str,
    decode: impl Fn(&[u8]) -> Result<T, E>,
) -> Vec<(String, Json, T)> {
    let file = vector_file("reports.json");
    file[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|vector| {
            let name = vector["name"].as_str().unwrap().to_owned();
            let decoded =
                decode(&bytes(&vector["bytes"])).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, vector.clone(), decoded)
        })
        .collect()
}

#[test]
fn the_committed_file_is_what_the_generator_derives() {
    assert_eq!(
        vector_file("reports.json"),
        generator::vectors(),
        "specs/test-vectors/reports.json is stale: cargo run -p causerie-crypto --example gen_report_vectors"
    );
}

#[test]
fn reports_decode_to_their_fields() {
    for (name, vector, report) in decoded("reports", Report::decode) {
        assert_eq!(report.id().to_string(), vector["id"], "{name}");
        assert_eq!(report.target().name(), vector["target"], "{name}");
        assert_eq!(report.category().name(), vector["category"], "{name}");
        assert_eq!(report.text(), vector["text"], "{name}");
        assert_eq!(
            hex::encode(report.reporter().as_bytes()),
            vector["reporter"],
            "{name}"
        );
        assert_eq!(
            report.events().len(),
            vector["events"].as_array().unwrap().len(),
            "{name}"
        );
        for (event, expected) in report
            .events()
            .iter()
            .zip(vector["events"].as_array().unwrap())
        {
            assert_eq!(event.id().0.to_hex(), expected["id"], "{name}");
            assert_eq!(event.is_redacted(), expected["redacted"], "{name}");
        }
        let input = bytes(&vector["signing_input"]);
        assert_eq!(report.fields().signing_input().unwrap(), input, "{name}");
        assert_eq!(&input[..19], b"causerie/v1/report\0", "{name}");
        assert_eq!(bytes(&vector["unsigned"]), input[19..].to_vec(), "{name}");
        assert_eq!(report.as_bytes(), &bytes(&vector["bytes"])[..], "{name}");
    }
}

#[test]
fn receipts_decode_to_their_fields() {
    for (name, vector, receipt) in decoded("receipts", Receipt::decode) {
        assert_eq!(receipt.report().to_string(), vector["report"], "{name}");
        assert_eq!(receipt.status().name(), vector["status"], "{name}");
        assert_eq!(receipt.queue().name(), vector["queue"], "{name}");
        assert_eq!(
            hex::encode(receipt.node().as_bytes()),
            vector["node"],
            "{name}"
        );
        let mut tampered = bytes(&vector["bytes"]);
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(Receipt::decode(&tampered).is_err(), "{name}");
    }
}

#[test]
fn invalid_reports_are_refused_with_their_reason() {
    let file = vector_file("reports.json");
    assert_refusals(&file["invalid"], Report::decode, ReportError::reason);
}
