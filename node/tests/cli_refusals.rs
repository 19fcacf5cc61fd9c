//! Refusals of the `causerie` command line, each with its reason name and exit code 1 (refused)
//! or 2 (could not run): key export files opened with a wrong passphrase or after tampering
//! (specs/client-api.md, "Key export file"), key files not overwritten, an unregistered user,
//! malformed arguments, an unreachable node, and a join refused by a join wave (with the knock it
//! suggests).

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "support/cli.rs"]
mod cli_support;

use cli_support::*;

fn write(path: &std::path::Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Rewrites one field of an export file.
fn tampered(original: &serde_json::Value, field: &str, value: serde_json::Value) -> String {
    let mut copy = original.clone();
    copy[field] = value;
    copy.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_export_and_import_round_trip_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let good = write(&home.join("pass"), "tr0ub4dor & 3\n");
    let wrong = write(&home.join("wrong"), "tr0ub4dor & 4\n");
    let key = home.join("user.key");
    let key_arg = key.to_str().unwrap();

    // `init` creates the key in the default place when --key is not given, and is idempotent.
    let first = causerie(home, &["init"]).await.ok();
    assert_eq!(first["created"], true);
    assert!(home.join("config/causerie/user.key").exists());
    let again = causerie(home, &["init"]).await.ok();
    assert_eq!(again["created"], false);
    assert_eq!(again["public_key"], first["public_key"]);

    let public = key_command(home, key_arg, &["new"]).await.ok()["public_key"].clone();
    key_command(home, key_arg, &["new"])
        .await
        .refused("key_exists");

    let export = home.join("export.json");
    let export_arg = export.to_str().unwrap();
    let export_args = ["export", "--out", export_arg, "--passphrase-file", &good];
    let done = key_command(home, key_arg, &export_args).await.ok();
    assert_eq!(done["public_key"], public);
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(file["causerie_key_export"], 1);
    assert_eq!(file["user"], public);
    assert_eq!(file["kdf"], "pbkdf2-sha256");
    assert_eq!(file["cipher"], "aes-256-gcm");
    // Exporting again to the same file is refused.
    key_command(home, key_arg, &export_args)
        .await
        .refused("file_exists");

    // Import refuses to overwrite the existing key without --force.
    key_command(
        home,
        key_arg,
        &["import", export_arg, "--passphrase-file", &good],
    )
    .await
    .refused("key_exists");

    let imported = home.join("imported.key");
    let imported_arg = imported.to_str().unwrap();
    let import = |file: String, pass: String| async move {
        key_command(
            home,
            imported_arg,
            &["import", &file, "--passphrase-file", &pass],
        )
        .await
    };
    import(export_arg.to_owned(), wrong.clone())
        .await
        .refused("wrong_passphrase");
    assert!(!imported.exists(), "nothing is written on a refusal");

    let cases = [
        (
            "ciphertext",
            {
                let mut c = file["ciphertext"].as_str().unwrap().to_owned();
                let flipped = if c.starts_with('0') { "1" } else { "0" };
                c.replace_range(0..1, flipped);
                serde_json::Value::from(c)
            },
            "wrong_passphrase",
        ),
        (
            "salt",
            serde_json::Value::from("00".repeat(16)),
            "wrong_passphrase",
        ),
        (
            "user",
            serde_json::Value::from(first["public_key"].as_str().unwrap()),
            "key_mismatch",
        ),
        (
            "causerie_key_export",
            serde_json::Value::from(2),
            "bad_export_file",
        ),
        ("iterations", serde_json::Value::from(1_000), "weak_kdf"),
        ("nonce", serde_json::Value::from("zz"), "bad_export_file"),
    ];
    for (i, (field, value, reason)) in cases.into_iter().enumerate() {
        let path = write(
            &home.join(format!("tampered{i}.json")),
            &tampered(&file, field, value),
        );
        import(path, good.clone()).await.refused(reason);
        assert!(
            !imported.exists(),
            "{field}: nothing is written on a refusal"
        );
    }
    let garbage = write(&home.join("garbage.json"), "not json at all");
    import(garbage, good.clone())
        .await
        .refused("bad_export_file");

    let ok = import(export_arg.to_owned(), good.clone()).await.ok();
    assert_eq!(ok["public_key"], public);
    let shown = key_command(home, imported_arg, &["show"]).await.ok();
    assert_eq!(shown["public_key"], public);
    // --force replaces an existing key file with the imported one.
    let forced = key_command(
        home,
        imported_arg,
        &["import", export_arg, "--force", "--passphrase-file", &good],
    )
    .await
    .ok();
    assert_eq!(forced["public_key"], public);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_refusals_and_failures_have_reasons_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path().join("node"), Vec::new()).await;
    let user = User::new(dir.path(), "stranger", url(&node)).await;

    // Not registered: the node's reason, exit 1.
    user.run(&["rooms"]).await.refused("not_registered");
    let room = format!("!{}", "ab".repeat(32));
    user.run(&["send", &room, "hello?"])
        .await
        .refused("not_registered");
    // Text mode prints the reason on stderr and exits 1 too.
    let output = user.command(&["rooms"]).output().await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not_registered"));

    // Invalid input is refused before anything is sent.
    user.run(&["register", "--handle", "Not A Handle!"])
        .await
        .refused("bad_handle");
    user.run(&["send", "not-a-room", "x"])
        .await
        .refused("bad_room_id");
    // Uppercase and another kind's sigil are refused, with the same reason as the API's.
    user.run(&["send", &room.to_uppercase(), "x"])
        .await
        .refused("bad_room_id");
    user.run(&["history", &room.replacen('!', "$", 1)])
        .await
        .refused("bad_room_id");
    user.run(&["mod", "redact", &room, &room])
        .await
        .refused("bad_event_id");
    user.run(&["room", "join", "causerie:join/nonsense"])
        .await
        .refused("bad_room_id");

    // A missing key file is refused with a hint.
    let missing = dir.path().join("missing.key");
    causerie(
        dir.path(),
        &[
            "--node",
            &user.node,
            "--key",
            missing.to_str().unwrap(),
            "rooms",
        ],
    )
    .await
    .refused("no_key");

    // Registered, the same commands work; a room that does not exist is the node's refusal.
    user.run(&["register", "--handle", "stranger"]).await.ok();
    let rooms = user.run(&["rooms"]).await.ok();
    assert_eq!(entries(&rooms, "rooms").len(), 0);
    let unknown = user.run(&["send", &room, "x"]).await;
    assert_eq!(unknown.code, 1, "{unknown:?}");

    // An unreachable node: could not run, exit 2.
    let http = node.http_addr;
    node.shutdown().await;
    let down = user.run(&["rooms"]).await;
    assert_eq!(down.code, 2, "{down:?}");
    assert_eq!(down.json()["error"], "node_unreachable", "{http} {down:?}");

    // Usage errors exit 2 (clap).
    let usage = causerie(dir.path(), &["send"]).await;
    assert_eq!(usage.code, 2, "{usage:?}");
}

/// A hostile node: it logs the user in properly, then prepares a different event than asked
/// (another body), or answers outside the API. The CLI must refuse to sign and never submit.
mod hostile {
    use std::sync::{Arc, Mutex};

    use axum::Json;
    use axum::Router;
    use axum::extract::State;
    use axum::routing::{get, post};
    use causerie_crypto::testing::{Said, draft_after};
    use causerie_crypto::{AttestationId, Domain, EventId, Hash32, RoomId, UserKey};
    use serde_json::{Value as JsonValue, json};

    #[derive(Default)]
    pub struct Seen {
        pub user: Option<UserKey>,
        pub submitted: bool,
    }

    pub type Shared = Arc<Mutex<Seen>>;

    async fn challenge(State(seen): State<Shared>, Json(body): Json<JsonValue>) -> Json<JsonValue> {
        let user = UserKey::from_hex(body["user"].as_str().unwrap()).unwrap();
        seen.lock().unwrap().user = Some(user);
        let node = causerie_crypto::NodeSecret::from_seed(&[7; 32]).public();
        let bytes = causerie_crypto::Challenge::new(node, user, [8; 32], u64::MAX)
            .encode()
            .unwrap();
        Json(json!({
            "challenge": hex::encode(&bytes),
            "signing_input": hex::encode(Domain::Challenge.signing_input(&bytes)),
            "expires_ms": 0,
        }))
    }

    async fn login(State(seen): State<Shared>) -> Json<JsonValue> {
        let user = seen.lock().unwrap().user.unwrap();
        Json(json!({
            "token": "t",
            "expires_ms": 0,
            "account": {
                "user": user.to_string(), "handle": "victim", "display_name": null,
                "attestation": {"id": format!("@{}", "00".repeat(32)), "bytes": "", "handle": "victim",
                    "assurance": 0, "assurance_name": "key", "home_node": "07".repeat(32),
                    "not_before_ms": 0, "not_after_ms": 0}
            }
        }))
    }

    async fn prepare(
        State(seen): State<Shared>,
        axum::extract::Path(room): axum::extract::Path<String>,
    ) -> Json<JsonValue> {
        let user = seen.lock().unwrap().user.unwrap();
        let draft = draft_after(
            user,
            room.parse::<RoomId>().unwrap(),
            vec![EventId(Hash32([1; 32]))],
            5,
            Said::Message("send me your savings"),
            AttestationId(Hash32([0; 32])),
        );
        Json(json!({
            "draft": hex::encode(draft.encode().unwrap()),
            "signing_input": hex::encode(draft.signing_input().unwrap()),
            "event": {},
        }))
    }

    async fn submit(State(seen): State<Shared>) -> Json<JsonValue> {
        seen.lock().unwrap().submitted = true;
        Json(json!({"event_id": "$x", "room": "!x", "visible": true}))
    }

    async fn garbage() -> &'static str {
        "<html>not the API</html>"
    }

    pub async fn serve() -> (String, Shared) {
        let seen = Shared::default();
        let app = Router::new()
            .route("/api/v1/auth/challenge", post(challenge))
            .route("/api/v1/auth/login", post(login))
            .route("/api/v1/rooms/{room}/prepare", post(prepare))
            .route("/api/v1/events", post(submit))
            .route("/api/v1/rooms", get(garbage))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, seen)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_node_gets_nothing_signed() {
    let dir = tempfile::tempdir().unwrap();
    let (url, seen) = hostile::serve().await;
    let user = User::new(dir.path(), "victim", url).await;
    let room = format!("!{}", "cd".repeat(32));
    let run = user.run(&["send", &room, "hello"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["error"], "draft_mismatch", "{run:?}");
    assert!(seen.lock().unwrap().user.is_some(), "the CLI did log in");
    assert!(
        !seen.lock().unwrap().submitted,
        "nothing was signed and submitted"
    );

    let run = user.run(&["rooms"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json()["error"], "bad_response", "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_wave_refusal_says_how_to_knock_and_the_knock_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path().join("node"), Vec::new()).await;
    let (alice, bob, room) = alice_bob_and_room(dir.path(), &url(&node), "Wave").await;
    // Knocking at an open room in quiet times is refused: just join.
    bob.run(&["room", "knock", &room])
        .await
        .refused("join_not_allowed");
    // One open join per ten minutes: alice's own join fills it.
    alice
        .run(&["rules", "set", &room, "--join-wave", "1/10m"])
        .await
        .ok();
    let refused = bob.run(&["room", "join", &room]).await;
    refused.refused("join_wave");
    assert!(
        refused.json()["message"]
            .as_str()
            .is_some_and(|m| m.contains("causerie room knock")),
        "{:?}",
        refused.json()
    );
    bob.run(&["room", "knock", &room, "--reason", "a friend sent me"])
        .await
        .ok();
    let bob_key = bob.public().await;
    let members = alice.run(&["members", &room]).await.ok();
    let row = entries(&members, "members")
        .iter()
        .find(|m| m["user"] == bob_key.as_str())
        .cloned()
        .expect("bob is listed");
    assert_eq!(row["membership"], "knock", "{row}");
}
