//! The user's erasure and export across three nodes on loopback (specs/accountability.md §7):
//! eve, homed on A, writes in a room created on B that carol on C also follows. `erase` (the
//! CLI's client: eve's key signs every redaction) leaves none of her texts in any node's raw
//! store files, her events show redacted everywhere, every node's store still verifies (each
//! event re-decodes with its signature under its id, every reference is stored), and her export
//! afterwards holds only what is retained: the connection data the operator keeps (with its
//! expiry), her events in redacted form, no contact data and no text.

use std::time::Duration;

use causerie_crypto::UserSecret;
use causerie_node::client::Client;
use causerie_node::config::{ConfigFile, RecordsFile};
use causerie_storage::testing::files_contain;
use causerie_tests::api::{ApiNode, ApiUser, eventually};
use causerie_tests::cluster::{now_ms, wait_until};
use causerie_tests::store_check::verify_store;
use serde_json::{Value, json};

/// Longest wait for the texts to leave every node's files: a node compacts once its redactions
/// pause, then at most once a minute (specs/moderation.md §4).
const GONE_TIMEOUT: Duration = Duration::from_secs(150);

async fn connected(node: &ApiNode, peers: usize) {
    let net = node.running().net.clone();
    eventually("the node is connected to its peers", || {
        let net = net.clone();
        async move { net.connected_peers().await.unwrap_or_default().len() >= peers }
    })
    .await;
}

/// The room's events as `user`'s node shows them.
async fn events(user: &ApiUser, room: &str) -> Vec<Value> {
    let page = user
        .get(&format!("/api/v1/rooms/{room}/messages?limit=200"))
        .await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page.body["events"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_leaves_no_text_on_any_node_and_export_shows_only_what_is_kept() {
    let records = ConfigFile {
        records: Some(RecordsFile {
            sweep_interval_ms: Some(1_000),
            ..RecordsFile::default()
        }),
        ..ConfigFile::default()
    };
    let mut a = ApiNode::start_configured(Vec::new(), records).await;
    let mut b = ApiNode::start(a.p2p_addrs().await).await;
    let mut bootstrap = a.p2p_addrs().await;
    bootstrap.extend(b.p2p_addrs().await);
    let mut c = ApiNode::start(bootstrap).await;
    connected(&a, 2).await;
    connected(&b, 2).await;
    connected(&c, 2).await;

    let stamp = now_ms();
    let eve_secret = UserSecret::from_seed(&[31; 32]);
    let mut eve = ApiUser::new(a.http, UserSecret::from_seed(&[31; 32]));
    let contact = format!("erase-contact-{stamp}@example.org");
    let (challenge, signature) = eve.answered_challenge().await;
    let registered = eve
        .post(
            "/api/v1/auth/register",
            json!({ "challenge": challenge, "signature": signature, "handle": "eve",
                    "display_name": format!("Eve {stamp}"), "contact": contact }),
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    eve.token = registered.body["token"].as_str().map(str::to_owned);
    let alice = ApiUser::registered(b.http, 32, "alice").await;
    let carol = ApiUser::registered(c.http, 33, "carol").await;
    let room = alice.create_room("Erasure", "public").await;
    let link = alice.get(&format!("/api/v1/rooms/{room}/invite")).await;
    let link = link.body["link"].as_str().expect("link").to_owned();
    eve.join_by_link(&link).await;
    carol.join_by_link(&link).await;
    let texts: Vec<String> = (0..3)
        .map(|i| format!("erase-canary-{stamp}-{i}"))
        .collect();
    for text in &texts {
        eve.say(&room, text).await;
    }
    let kept = format!("kept-by-carol-{stamp}");
    carol.say(&room, &kept).await;
    for user in [&alice, &carol, &eve] {
        let texts = &texts;
        let room = &room;
        eventually("every node shows eve's texts", || async move {
            let bodies = user.bodies(room).await;
            texts.iter().all(|t| bodies.contains(t))
        })
        .await;
    }
    let dirs: Vec<std::path::PathBuf> = [&a, &b, &c]
        .iter()
        .map(|n| n.dir.path().to_owned())
        .collect();
    // The search works: every node's files hold the texts now.
    for dir in &dirs {
        assert!(files_contain(dir, texts[0].as_bytes()));
    }

    let mut client = Client::new(&format!("http://{}", a.http)).expect("client");
    client.login(&eve_secret).await.expect("login");
    let report = client.erase(&eve_secret).await.expect("erase");
    // Three messages and her join.
    assert_eq!(report.redacted.len(), 4, "{report:?}");
    assert!(report.not_redacted.is_empty(), "{report:?}");
    assert_eq!(report.record["removed"], 1, "the contact data: {report:?}");
    let kept_record = &report.record["kept"];
    assert!(kept_record["contact"].is_null());
    assert!(kept_record["closed_ms"].as_u64().is_some());
    let connections = kept_record["connections"].as_array().expect("connections");
    assert!(connections.len() >= 2, "registration and logins are kept");
    assert!(
        connections
            .iter()
            .all(|c| c["expires_ms"].as_u64().is_some())
    );

    let (dirs_ref, texts_ref) = (&dirs, &texts);
    wait_until(
        GONE_TIMEOUT,
        "no node's files hold eve's texts",
        || async move {
            dirs_ref
                .iter()
                .all(|dir| texts_ref.iter().all(|t| !files_contain(dir, t.as_bytes())))
        },
    )
    .await
    .expect("texts gone from every node's files");
    assert!(!files_contain(&dirs[0], contact.as_bytes()));
    for dir in &dirs {
        assert!(files_contain(dir, kept.as_bytes()));
    }

    // Her events show redacted on every node; carol's message stays.
    let eve_key = eve.key();
    for user in [&alice, &carol, &eve] {
        let shown = events(user, &room).await;
        let hers: Vec<&Value> = shown.iter().filter(|e| e["author"] == eve_key).collect();
        let redacted = hers.iter().filter(|e| e["redacted"] == true).count();
        // Her join and three messages; her redactions are not redacted.
        assert!(redacted >= 4, "{hers:?}");
        let bodies = user.bodies(&room).await;
        assert!(texts.iter().all(|t| !bodies.contains(t)));
        assert!(bodies.contains(&kept));
    }

    // The export afterwards: only what is retained.
    let export = client.export().await.expect("export");
    let text = export.to_string();
    assert!(texts.iter().all(|t| !text.contains(t.as_str())));
    assert!(!text.contains(&contact));
    assert!(!text.contains(&format!("Eve {stamp}")));
    assert!(export["record"]["contact"].is_null());
    assert!(export["record"]["closed_ms"].as_u64().is_some());
    assert!(
        !export["record"]["connections"]
            .as_array()
            .expect("kept")
            .is_empty()
    );
    let exported = export["events"].as_array().expect("events");
    assert!(
        exported
            .iter()
            .filter(|e| e["kind"] != "room.redaction")
            .all(|e| e["redacted"] == true),
        "{exported:?}"
    );

    // Every node's room state and DAG still verify from its files.
    let room_id = causerie_crypto::address::parse_room(&room).expect("room id");
    for node in [&mut a, &mut b, &mut c] {
        node.stop().await;
        let checked = verify_store(&node.dir.path().join("store"), room_id);
        assert!(checked >= 12, "{checked} events");
    }
}
