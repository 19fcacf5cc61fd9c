//! Home-node registration records through a whole node (specs/accountability.md §2):
//!
//! - retention: with connection data kept 3 seconds, the addresses of a registration and a
//!   login are in the store's raw files at first, then the sweeper removes them and compacts,
//!   and no file under the data directory holds them; the contact data and the registration
//!   time (kept while the account is open) are still there, in the record and in the files.
//! - a node that requires contact data refuses a registration without it (`contact_required`)
//!   and refuses malformed contact data (`bad_contact`).

use causerie_crypto::UserSecret;
use causerie_node::config::{ConfigFile, FieldRetentionFile, RecordsFile};
use causerie_storage::ConnectionKind;
use causerie_storage::testing::files_contain;
use causerie_tests::api::{ApiNode, ApiUser, eventually};
use causerie_tests::cluster::now_ms;

fn records_file(connections_ms: u64, require_contact: bool) -> ConfigFile {
    ConfigFile {
        records: Some(RecordsFile {
            require_contact: Some(require_contact),
            sweep_interval_ms: Some(200),
            connections: Some(FieldRetentionFile {
                retention_ms: Some(connections_ms),
                keep_after_erasure: None,
            }),
            ..RecordsFile::default()
        }),
        ..ConfigFile::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_connection_data_leaves_the_raw_files_and_retained_data_stays() {
    let mut node = ApiNode::start_configured(Vec::new(), records_file(3_000, false)).await;
    let secret = UserSecret::generate().expect("key");
    let key = secret.public();
    let mut user = ApiUser::new(node.http, secret);
    let contact = format!("retention-canary-{}@example.org", now_ms());
    let answer = user
        .try_register_with("rita", &[("contact", &contact)])
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(user.login().await.status, 200);

    let records = node.running().node.records();
    let record = records.get(key).await.expect("read").expect("a record");
    let kinds: Vec<ConnectionKind> = record.connections.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec![ConnectionKind::Register, ConnectionKind::Login]);
    assert!(record.registered_ms.is_some());
    assert_eq!(
        record.contact.as_ref().map(|c| c.value.as_str()),
        Some(contact.as_str())
    );
    let addresses: Vec<String> = record
        .connections
        .iter()
        .map(|c| c.address.clone())
        .collect();
    assert!(addresses.iter().all(|a| a.starts_with("127.0.0.1:")));
    let dir = node.dir.path().to_owned();
    // The search works: the addresses are in the raw files now.
    for address in &addresses {
        assert!(files_contain(&dir, address.as_bytes()), "{address}");
    }

    let (dir_ref, addresses_ref) = (&dir, &addresses);
    eventually(
        "the expired addresses are in no file of the store",
        || async move {
            addresses_ref
                .iter()
                .all(|a| !files_contain(dir_ref, a.as_bytes()))
        },
    )
    .await;
    let record = records
        .get(key)
        .await
        .expect("read")
        .expect("still a record");
    assert!(record.connections.is_empty(), "{record:?}");
    assert!(record.registered_ms.is_some());
    assert_eq!(
        record.contact.as_ref().map(|c| c.value.as_str()),
        Some(contact.as_str())
    );
    assert!(files_contain(&dir, contact.as_bytes()));
    assert!(
        node.running()
            .node
            .metrics()
            .record_items_expired
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
    // The same count on /metrics.
    assert!(node.metric("causerie_record_items_expired_total").await >= 2);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_requiring_contact_data_refuses_registrations_without_it() {
    let mut node = ApiNode::start_configured(Vec::new(), records_file(60_000, true)).await;
    let mut user = ApiUser::new(node.http, UserSecret::generate().expect("key"));
    let answer = user.try_register_with("nocontact", &[]).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.reason(), "contact_required");
    let answer = user
        .try_register_with("badcontact", &[("contact", "a\u{7}b")])
        .await;
    assert_eq!(answer.reason(), "bad_contact");
    let answer = user
        .try_register_with("withcontact", &[("contact", "w@example.org")])
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(node.refused("contact_required").await, 1);
    node.stop().await;
}
