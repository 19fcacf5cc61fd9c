//! `causerie verify FILE` offline (specs/accountability.md §5.4): an event, an attestation, an
//! abuse report and a receipt (untyped, told apart by their fields), an unknown typed file, and
//! each signed file with one byte changed refused with a reason.

#[path = "support/cli.rs"]
mod cli_support;

use causerie_crypto::report::{Category, Queue, ReceiptDraft, ReportDraft, Status, Target};
use causerie_crypto::testing::{FIXTURE_ATTESTATION, Said, attestation, create_draft, draft_after};
use causerie_crypto::{NodeSecret, RoomId, UserSecret};
use cli_support::causerie;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_untyped_format_verifies_offline_and_a_changed_byte_is_refused() {
    let home = tempfile::tempdir().expect("temp dir");
    let node = NodeSecret::from_seed(&[21; 32]);
    let alice = UserSecret::from_seed(&[22; 32]);
    let carol = UserSecret::from_seed(&[23; 32]);
    let create = create_draft(alice.public(), None, FIXTURE_ATTESTATION)
        .sign(&alice)
        .unwrap();
    let room = RoomId(create.id().0);
    let insult = draft_after(
        alice.public(),
        room,
        vec![create.id()],
        1,
        Said::Message("an insult"),
        FIXTURE_ATTESTATION,
    )
    .sign(&alice)
    .unwrap();
    let report = ReportDraft {
        target: Target::Event,
        category: Category::Harassment,
        text: "she keeps doing this".into(),
        room: Some(room),
        user: Some(alice.public()),
        events: vec![insult.clone()],
        reporter: carol.public(),
        reporter_node: node.public(),
        created_ms: 1_767_225_600_000,
    }
    .sign(&carol)
    .unwrap();
    let receipt = ReceiptDraft {
        report: report.id(),
        reporter: carol.public(),
        queue: Queue::Operator,
        status: Status::Received,
        note: None,
        at_ms: 1_767_225_601_000,
    }
    .sign(&node)
    .unwrap();
    let attested = attestation(&node, &alice, "alice");
    let files: [(&str, Vec<u8>); 4] = [
        ("event", insult.as_bytes().to_vec()),
        ("attestation", attested.as_bytes().to_vec()),
        ("report", report.as_bytes().to_vec()),
        ("receipt", receipt.as_bytes().to_vec()),
    ];
    for (kind, bytes) in &files {
        let path = home.path().join(format!("{kind}.cbor"));
        std::fs::write(&path, bytes).unwrap();
        let answer = causerie(home.path(), &["verify", path.to_str().unwrap()])
            .await
            .ok();
        assert_eq!(answer["type"], *kind, "{answer}");
        // The last bytes are in each format's signed fields: changing one is refused.
        let mut bad = bytes.clone();
        let at = bad.len() - 3;
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let refused = causerie(home.path(), &["verify", path.to_str().unwrap()]).await;
        assert_eq!(refused.code, 1, "{kind}: {refused:?}");
        let answer = refused.json();
        assert_eq!(answer["valid"], false);
        assert_ne!(answer["reason"], "malformed_cbor", "{kind}: {answer}");
    }
    let report_answer = {
        let path = home.path().join("report.cbor");
        std::fs::write(&path, report.as_bytes()).unwrap();
        causerie(home.path(), &["verify", path.to_str().unwrap()])
            .await
            .ok()
    };
    assert_eq!(report_answer["category"], "harassment");
    assert_eq!(report_answer["events"][0], insult.id().to_string());

    // A typed file of a type `verify` does not know.
    let unknown = causerie_crypto::codec::encode(&std::collections::BTreeMap::from([(
        "type".to_owned(),
        "postcard".to_owned(),
    )]))
    .unwrap();
    let path = home.path().join("unknown.cbor");
    std::fs::write(&path, unknown).unwrap();
    let refused = causerie(home.path(), &["verify", path.to_str().unwrap()]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.json()["reason"], "unknown_type");
}
