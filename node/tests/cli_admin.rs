//! The operator API and `causerie admin` (specs/accountability.md §4): the operator token file
//! a node writes at first start, the admin routes' 401s (counted), entries appended through the
//! node's `Audit` handle and through `admin request`, and the audit log listed, exported,
//! verified (offline, also by `causerie verify`), and refused after any changed byte; a
//! disclosure bundle about a user with their events and attestation, verified offline and
//! recorded in the log; transparency counts per period.

#[path = "support/cli.rs"]
mod cli_support;

use causerie_crypto::audit::{AuditKind, verify_export};
use causerie_crypto::disclosure::Disclosure;
use causerie_node::node::details;
use cli_support::{Operator, User, causerie, own_node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_token_audit_log_and_its_verification() {
    let (home, data, running, node) = own_node().await;

    // The token file: 64 hex digits, owner-only.
    let token_path = data.join("operator.token");
    let token = std::fs::read_to_string(&token_path).expect("token file");
    assert_eq!(token.trim().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // No token, a wrong token: 401 with stable reasons, counted.
    let http = reqwest::Client::new();
    let head_url = format!("{node}/api/v1/admin/audit/head");
    let answer = http.get(&head_url).send().await.unwrap();
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "operator_auth_required");
    let answer = http
        .get(&head_url)
        .bearer_auth("00".repeat(32))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "operator_auth_failed");
    let metrics = http
        .get(format!("{node}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in ["operator_auth_required", "operator_auth_failed"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("causerie_api_refused_total") && l.contains(reason)),
            "{reason} not counted"
        );
    }
    let bad_token = home.path().join("bad.token");
    std::fs::write(&bad_token, format!("{}\n", "ab".repeat(32))).unwrap();
    let bad_token_arg = bad_token.to_str().unwrap();
    causerie(
        home.path(),
        &[
            "--node",
            &node,
            "admin",
            "--token-file",
            bad_token_arg,
            "audit",
            "head",
        ],
    )
    .await
    .refused("operator_auth_failed");

    // Entries from the node's handle and from the CLI.
    let audit = running.node.audit();
    let seq = audit
        .append(
            AuditKind::OperatorAction,
            "",
            details([("action", "test start")]),
        )
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let operator = Operator::new(home.path(), &node, &data);
    let recorded = operator
        .run(&["request", "--request-ref", "REF-1", "--authority", "Court"])
        .await
        .ok();
    assert_eq!(recorded["seq"], 2);
    for n in 3..=5u64 {
        let seq = audit
            .append(
                AuditKind::ReportReceived,
                format!("report-{n}"),
                details([("category", "spam")]),
            )
            .await
            .unwrap();
        assert_eq!(seq, n);
    }
    let listed = operator
        .run(&["audit", "list", "--after", "1", "--limit", "2"])
        .await;
    assert_eq!(listed.code, 0, "{listed:?}");
    let lines: Vec<serde_json::Value> = listed
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["kind"], "request_received");
    assert_eq!(lines[0]["details"]["request_ref"], "REF-1");
    assert_eq!(lines[0]["details"]["authority"], "Court");
    assert_eq!(lines[1]["seq"], 3);

    // A signed head now, kept; the log grows; the newer export extends it.
    let old_head = home.path().join("old.head");
    let head = operator
        .run(&["audit", "head", "--out", old_head.to_str().unwrap()])
        .await
        .ok();
    assert_eq!(head["seq"], 5);
    // Anyone may fetch a head without the token.
    let public: serde_json::Value = http
        .get(format!("{node}/api/v1/audit/head"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["seq"], 5);
    assert_eq!(public["hash"], head["hash"]);
    audit
        .append(AuditKind::ReportDismissed, "report-3", details([]))
        .await
        .unwrap();
    let export_path = home.path().join("audit.cbor");
    let export_arg = export_path.to_str().unwrap();
    let exported = operator
        .run(&["audit", "export", "--out", export_arg])
        .await
        .ok();
    assert_eq!(exported["entries"], 6);
    assert_eq!(exported["complete"], true);
    let verified = operator
        .run(&[
            "audit",
            "verify",
            export_arg,
            "--head",
            old_head.to_str().unwrap(),
        ])
        .await
        .ok();
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["extends_head_seq"], 5);
    // The node's own log, fetched and verified.
    let live = operator.run(&["audit", "verify"]).await.ok();
    assert_eq!(live["head_seq"], 6);
    running.shutdown().await;

    // Offline: `causerie verify` knows an export; every flipped byte is refused.
    let offline = causerie(home.path(), &["verify", export_arg]).await.ok();
    assert_eq!(offline["type"], "audit_export");
    assert_eq!(offline["entries"], 6);
    let bytes = std::fs::read(&export_path).unwrap();
    verify_export(&bytes).unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        assert!(
            verify_export(&bad).is_err(),
            "flipped byte {i} still verifies"
        );
    }
    let mut bad = bytes.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x40;
    let flipped = home.path().join("flipped.cbor");
    std::fs::write(&flipped, &bad).unwrap();
    let refused = causerie(home.path(), &["verify", flipped.to_str().unwrap()]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.json()["valid"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disclosure_bundle_and_transparency_counts() {
    let (home, data, running, node) = own_node().await;
    let alice = User::registered(home.path(), "alice", node.clone()).await;
    let alice_key = alice.public().await;
    let room = alice.create_public_room("Lobby").await;
    let sent = alice.run(&["send", &room, "evidence"]).await.ok();
    let message = sent["event_id"].as_str().unwrap().to_owned();

    let operator = Operator::new(home.path(), &node, &data);
    operator
        .run(&["request", "--request-ref", "REF-1", "--user", &alice_key])
        .await
        .ok();
    operator
        .run(&["request", "--request-ref", "REF-2"])
        .await
        .ok();
    operator
        .run(&[
            "refuse",
            "--request-ref",
            "REF-2",
            "--reason",
            "no legal basis",
        ])
        .await
        .ok();
    let bundle_path = home.path().join("bundle.cbor");
    let bundle_arg = bundle_path.to_str().unwrap();
    let disclosed = operator
        .run(&[
            "disclose",
            "--user",
            &alice_key,
            "--request-ref",
            "REF-1",
            "--out",
            bundle_arg,
        ])
        .await
        .ok();
    // Entry 1 is the registration's `attestation_issued`.
    assert_eq!(disclosed["audit_seq"], 5);
    assert_eq!(disclosed["user"], alice_key.as_str());
    let events = disclosed["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e == message.as_str()), "{disclosed}");
    assert_eq!(disclosed["attestations"].as_array().unwrap().len(), 1);
    // The registration record (registration time, the registration's address) is in it.
    assert_eq!(disclosed["record"], true);

    // The log names the bundle by its hash.
    let entries = running.node.audit().entries(0, 100).await.unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last.kind_name(), "disclosure");
    assert_eq!(last.subject(), alice_key);
    assert_eq!(
        last.details()["bundle_sha256"],
        disclosed["hash"].as_str().unwrap()
    );

    let counts = operator
        .run(&["transparency", "--period", "year"])
        .await
        .ok();
    let periods = counts["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1, "{counts}");
    assert_eq!(periods[0]["requests_received"], 2);
    assert_eq!(periods[0]["requests_answered"], 1);
    assert_eq!(periods[0]["requests_refused"], 1);
    assert_eq!(periods[0]["reports_received"], 0);
    // A malformed user key, or a handle nobody here has, is refused before anything is
    // disclosed.
    operator
        .run(&["disclose", "--user", &"zz".repeat(32), "--request-ref", "R"])
        .await
        .refused("bad_user");
    operator
        .run(&["disclose", "--user", "@zz", "--request-ref", "R"])
        .await
        .refused("unknown_handle");
    running.shutdown().await;

    // Offline: the bundle verifies with no node running, and any flipped byte is refused.
    let offline = causerie(home.path(), &["verify", bundle_arg]).await.ok();
    assert_eq!(offline["type"], "disclosure");
    assert_eq!(offline["request_ref"], "REF-1");
    let bytes = std::fs::read(&bundle_path).unwrap();
    let bundle = Disclosure::decode(&bytes).unwrap();
    assert!(
        bundle
            .events()
            .iter()
            .any(|e| e.id().to_string() == message)
    );
    let record: causerie_storage::records::RegistrationRecord =
        causerie_crypto::codec::decode(bundle.record().unwrap(), 1 << 20).unwrap();
    assert_eq!(record.user.to_string(), alice_key);
    assert!(record.registered_ms.is_some());
    assert!(!record.connections.is_empty());
    for i in (0..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        assert!(
            Disclosure::decode(&bad).is_err(),
            "flipped byte {i} still verifies"
        );
    }
}
