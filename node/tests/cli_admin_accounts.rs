//! `causerie admin attest` and `causerie admin contact` through the binary
//! (specs/accountability.md §2.1, §3, §4.2): registration issues an attestation with its
//! `attestation_issued` entry; the operator attests the user again at a higher level (words and
//! numbers both accepted), the account names the new attestation and the user's next message
//! carries it; unknown users and levels are refused with stable reasons; the operator records
//! and verifies contact data, audited as `operator_action`.

#[path = "support/cli.rs"]
mod cli_support;

use std::path::Path;

use causerie_crypto::address::{parse_event_id, parse_room, parse_user};
use causerie_crypto::{Assurance, Attestation, UserKey, UserSecret};
use causerie_node::daemon::Running;
use causerie_storage::Account;
use cli_support::{Operator, User, causerie, own_node};

/// `name` registered on `node` (their files in `home`), their key as hex and parsed, and the
/// public room "Lobby" they created.
async fn user_in_lobby(home: &Path, name: &str, node: &str) -> (User, String, UserKey, String) {
    let user = User::registered(home, name, node.to_owned()).await;
    let hex = user.public().await;
    let key = parse_user(&hex).expect("key hex");
    let room = user.create_public_room("Lobby").await;
    (user, hex, key, room)
}

/// The account of `user` on the node and the attestation it names, as stored.
async fn account_and_attestation(running: &Running, user: UserKey) -> (Account, Attestation) {
    let accounts = running.node.accounts();
    let account = accounts
        .by_user(user)
        .await
        .expect("read")
        .expect("account");
    let attestation = accounts
        .attestation(account.attestation)
        .await
        .expect("read")
        .expect("attestation");
    (account, attestation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_attests_at_a_level_and_verifies_contact_data() {
    let (home, data, running, node) = own_node().await;
    let (alice, alice_hex, alice_key, room) = user_in_lobby(home.path(), "alice", &node).await;
    let first = alice.run(&["send", &room, "before"]).await.ok();

    // Registration issued one attestation, with one audit entry.
    let audit = running.node.audit();
    let entries = audit.entries(0, 100).await.unwrap();
    let issued: Vec<_> = entries
        .iter()
        .filter(|e| e.kind_name() == "attestation_issued")
        .collect();
    assert_eq!(issued.len(), 1, "{entries:?}");
    assert_eq!(issued[0].subject(), alice_hex);
    assert_eq!(issued[0].details()["by"], "registration");
    assert_eq!(issued[0].details()["assurance"], "key");
    let registered = running
        .node
        .accounts()
        .by_user(alice_key)
        .await
        .unwrap()
        .unwrap()
        .attestation;
    assert_eq!(issued[0].details()["attestation"], registered.to_string());

    let operator = Operator::new(home.path(), &node, &data);

    // A new attestation at `identity`, by word; then `2`-style numbers work too.
    let attested = operator
        .run(&["attest", "--user", &alice_hex, "--level", "identity"])
        .await
        .ok();
    assert_eq!(attested["attestation"]["assurance_name"], "identity");
    let new_id = attested["attestation"]["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, registered.to_string());
    let (account, stored) = account_and_attestation(&running, alice_key).await;
    assert_eq!(account.attestation.to_string(), new_id);
    assert_eq!(stored.assurance(), Assurance::Identity);
    let entries = audit.entries(0, 100).await.unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last.kind_name(), "attestation_issued");
    assert_eq!(last.details()["by"], "operator");
    assert_eq!(last.details()["attestation"], new_id);
    assert_eq!(attested["seq"], last.seq());

    // The user's next message names the new attestation; the earlier one keeps its own.
    let second = alice.run(&["send", &room, "after"]).await.ok();
    let ids =
        [&first, &second].map(|sent| parse_event_id(sent["event_id"].as_str().unwrap()).unwrap());
    let events = running.node.events(ids.to_vec()).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(*events[0].attestation(), registered);
    assert_eq!(events[1].attestation().to_string(), new_id);

    let by_number = operator
        .run(&["attest", "--user", &alice_hex, "--level", "3"])
        .await
        .ok();
    assert_eq!(by_number["attestation"]["assurance_name"], "in_person");

    // Refusals: an unknown level (before anything is asked), an unknown user, a bad key.
    operator
        .run(&["attest", "--user", &alice_hex, "--level", "gold"])
        .await
        .refused("unknown_assurance_level");
    let stranger = UserSecret::generate().unwrap().public().to_string();
    operator
        .run(&["attest", "--user", &stranger, "--level", "key"])
        .await
        .refused("not_registered");
    // Neither a key nor a handle; a handle nobody here has; a malformed key.
    operator
        .run(&["attest", "--user", "Z Z", "--level", "key"])
        .await
        .refused("bad_handle");
    operator
        .run(&["attest", "--user", "@zz", "--level", "key"])
        .await
        .refused("unknown_handle");
    operator
        .run(&["attest", "--user", &"zz".repeat(32), "--level", "key"])
        .await
        .refused("bad_user");
    // The API refuses an unknown level itself too.
    let token = std::fs::read_to_string(data.join("operator.token")).unwrap();
    let answer = reqwest::Client::new()
        .post(format!("{node}/api/v1/admin/users/{alice_hex}/attest"))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({ "level": 7 }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "unknown_assurance_level");

    // Contact data: none yet; the operator records it, then verifies it.
    let seq_before = audit.tip().await.unwrap().seq;
    operator
        .run(&["contact", "--user", &alice_hex, "--verified"])
        .await
        .refused("no_contact");
    let set = operator
        .run(&[
            "contact",
            "--user",
            &alice_hex,
            "--set",
            "alice@example.org",
        ])
        .await
        .ok();
    assert_eq!(set["contact"]["value"], "alice@example.org");
    assert_eq!(set["contact"]["verified"], false);
    let verified = operator
        .run(&["contact", "--user", &alice_hex, "--verified"])
        .await
        .ok();
    assert_eq!(verified["contact"]["verified"], true);
    let record = running
        .node
        .records()
        .get(alice_key)
        .await
        .unwrap()
        .unwrap();
    let contact = record.contact.unwrap();
    assert_eq!(contact.value, "alice@example.org");
    assert!(contact.verified);
    let entries = audit.entries(seq_before, 100).await.unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        assert_eq!(entry.kind_name(), "operator_action");
        assert_eq!(entry.subject(), alice_hex);
        assert_eq!(entry.details()["action"], "contact");
        // The value stays in the record, never in the log.
        assert!(!entry.details().values().any(|v| v.contains("example.org")));
    }
    assert_eq!(entries[1].details()["verified"], "true");
    operator
        .run(&["contact", "--user", &alice_hex, "--set", "a\u{7}b"])
        .await
        .refused("bad_contact");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_revokes_and_the_users_new_messages_are_refused() {
    let (home, data, running, node) = own_node().await;
    let (mallory, mallory_hex, mallory_key, room) =
        user_in_lobby(home.path(), "mallory", &node).await;
    let before = mallory.run(&["send", &room, "said before"]).await.ok();
    let before = parse_event_id(before["event_id"].as_str().unwrap()).unwrap();

    let operator = Operator::new(home.path(), &node, &data);
    operator
        .run(&["revoke", "--user", &mallory_hex, "--reason", "spite"])
        .await
        .refused("unknown_revocation_reason");
    let stranger = UserSecret::generate().unwrap().public().to_string();
    operator
        .run(&["revoke", "--user", &stranger])
        .await
        .refused("unknown_user");

    let statement = home.path().join("revocation.cbor");
    let statement_arg = statement.to_str().unwrap();
    let revoked = operator
        .run(&[
            "revoke",
            "--user",
            &mallory_hex,
            "--reason",
            "abuse",
            "--note",
            "threats in Lobby, ticket 42",
            "--out",
            statement_arg,
        ])
        .await
        .ok();
    assert_eq!(revoked["revocation"]["reason"], "abuse");
    assert_eq!(revoked["revocation"]["subject"], mallory_hex.as_str());
    let entries = running.node.audit().entries(0, 100).await.unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last.kind_name(), "attestation_revoked");
    assert_eq!(last.subject(), mallory_hex);
    assert_eq!(last.details()["reason"], "abuse");
    assert_eq!(last.details()["note"], "threats in Lobby, ticket 42");
    assert_eq!(
        last.details()["revocation"],
        revoked["revocation"]["id"].as_str().unwrap()
    );
    // The note stays in the log: the public statement carries only the code.
    let bytes = std::fs::read(&statement).unwrap();
    assert!(!bytes.windows(7).any(|w| w == b"threats"));

    // The user's next message is refused, in plain words, with the stable reason.
    let refused = mallory.run(&["send", &room, "said after"]).await;
    refused.refused("attestation_revoked");
    assert!(
        refused.stdout.contains("revoked") || refused.stderr.contains("revoked"),
        "{refused:?}"
    );
    // The earlier message stays.
    let history = running
        .node
        .history(parse_room(&room).unwrap(), None, 100)
        .await
        .unwrap()
        .unwrap();
    assert!(history.events.iter().any(|e| e.id() == before));
    assert_eq!(
        running
            .node
            .metrics()
            .refused
            .snapshot()
            .get("attestation_revoked")
            .copied()
            .unwrap_or(0),
        0,
        "refused at prepare, before any event was built"
    );

    // The user's export shows the revocation (the statement, not the operator's note).
    let exported = home.path().join("export.json");
    mallory
        .run(&["export", "--out", exported.to_str().unwrap()])
        .await
        .ok();
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    let revocations = document["revocations"].as_array().unwrap();
    assert_eq!(revocations.len(), 1, "{document}");
    assert_eq!(revocations[0]["id"], revoked["revocation"]["id"]);

    // Offline: the statement verifies; a changed byte does not.
    let offline = causerie(home.path(), &["verify", statement_arg]).await.ok();
    assert_eq!(offline["type"], "revocation");
    assert_eq!(offline["subject"], mallory_hex.as_str());
    assert_eq!(offline["reason"], "abuse");
    let mut bad = bytes.clone();
    let last_byte = bad.len() - 1;
    bad[last_byte] ^= 0x01;
    let flipped = home.path().join("flipped.cbor");
    std::fs::write(&flipped, &bad).unwrap();
    let refused = causerie(home.path(), &["verify", flipped.to_str().unwrap()]).await;
    assert_eq!(refused.code, 1, "{refused:?}");

    // A new attestation after the revocation is not covered: the user may write again.
    operator
        .run(&["attest", "--user", &mallory_hex, "--level", "key"])
        .await
        .ok();
    let (_, attestation) = account_and_attestation(&running, mallory_key).await;
    assert!(attestation.not_before() > revoked["revocation"]["revoked_ms"].as_u64().unwrap());
    mallory.run(&["send", &room, "said later"]).await.ok();
    running.shutdown().await;
}
