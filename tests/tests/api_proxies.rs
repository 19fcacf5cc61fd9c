//! A node behind a reverse proxy (`trusted_proxies = ["127.0.0.1"]`; specs/client-api.md,
//! "Client address"), over loopback, the test's clients playing the proxy:
//!
//! - each user's address as the proxy forwarded it goes into their registration record, and
//!   the per-client limits count it, not the proxy's: one user using up their pending
//!   challenges leaves another user behind the same proxy theirs;
//! - a client that is not a trusted proxy (127.0.0.2) cannot choose its address with the header;
//! - a header that does not parse is counted and the request counts as the proxy's;
//! - the proxy's connections are held to the total cap only, where any other client meets the
//!   per-client cap.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use causerie_crypto::{UserKey, UserSecret};
use causerie_node::api::limits::{MAX_CHALLENGES_PER_CLIENT, MAX_CONNECTIONS_PER_CLIENT};
use causerie_node::config::ConfigFile;
use causerie_node::records::Records;
use causerie_tests::api::raw::{connect, read_answer, send, status};
use causerie_tests::api::{Answer, ApiNode, ApiUser};
use serde_json::json;

const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const NOT_A_PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

async fn behind_a_proxy() -> ApiNode {
    let file = ConfigFile {
        trusted_proxies: Some(vec![PROXY.to_string()]),
        ..ConfigFile::default()
    };
    ApiNode::start_configured(Vec::new(), file).await
}

/// The addresses of the connections in `user`'s registration record.
async fn addresses(records: &Records, user: UserKey) -> Vec<String> {
    let record = records.get(user).await.expect("read").expect("a record");
    record
        .connections
        .iter()
        .map(|c| c.address.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_counts_as_the_address_the_proxy_forwarded() {
    let mut node = behind_a_proxy().await;
    let records = node.running().node.records();

    let secret = UserSecret::generate().expect("key");
    let rita = secret.public();
    let mut user = ApiUser::forwarding(node.http, secret, PROXY, "198.51.100.7");
    assert_eq!(user.try_register_with("rita", &[]).await.status, 201);
    assert_eq!(user.login().await.status, 200);
    assert_eq!(
        addresses(&records, rita).await,
        ["198.51.100.7", "198.51.100.7"]
    );

    // Straight to the node, the header is ignored: the record keeps the connection's address.
    let secret = UserSecret::generate().expect("key");
    let sam = secret.public();
    let mut user = ApiUser::forwarding(node.http, secret, NOT_A_PROXY, "198.51.100.8");
    assert_eq!(user.try_register_with("sam", &[]).await.status, 201);
    let sams = addresses(&records, sam).await;
    assert!(
        sams.len() == 1 && sams[0].starts_with("127.0.0.2:"),
        "{sams:?}"
    );

    // One user behind the proxy uses up their pending challenges; another still gets one.
    let crowd = ApiUser::forwarding(
        node.http,
        UserSecret::from_seed(&[9; 32]),
        PROXY,
        "198.51.100.20",
    );
    for _ in 0..MAX_CHALLENGES_PER_CLIENT {
        assert_eq!(ask(&crowd).await.status, 200);
    }
    let over = ask(&crowd).await;
    assert_eq!(
        (over.status, over.reason()),
        (429, "too_many_challenges"),
        "{:?}",
        over.body
    );
    let other = ApiUser::forwarding(
        node.http,
        UserSecret::from_seed(&[10; 32]),
        PROXY,
        "198.51.100.21",
    );
    assert_eq!(ask(&other).await.status, 200);

    // A header that is not an address: counted, and the request is the proxy's own.
    assert_eq!(node.metric("causerie_api_bad_forwarded_for_total").await, 0);
    let garbled = ApiUser::forwarding(
        node.http,
        UserSecret::from_seed(&[11; 32]),
        PROXY,
        "not-an-address",
    );
    assert_eq!(garbled.get("/api/v1/node").await.status, 200);
    assert_eq!(node.metric("causerie_api_bad_forwarded_for_total").await, 1);
    node.stop().await;
}

/// One challenge asked for `user`'s key, without waiting out a refusal.
async fn ask(user: &ApiUser) -> Answer {
    let body = json!({ "user": user.key() });
    user.request_once(reqwest::Method::POST, "/api/v1/auth/challenge", Some(body))
        .await
}

/// The status of one `GET /api/v1/node` on a fresh connection from `source`.
async fn get_node(node: SocketAddr, source: IpAddr) -> u16 {
    let mut stream = connect(node, source).await;
    let request = format!("GET /api/v1/node HTTP/1.1\r\nHost: {node}\r\nConnection: close\r\n\r\n");
    assert!(send(&mut stream, request.as_bytes()).await);
    status(&read_answer(&mut stream).await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_is_held_to_the_total_connection_cap_only() {
    let mut node = behind_a_proxy().await;
    let mut held = Vec::new();
    for source in [PROXY, NOT_A_PROXY] {
        for _ in 0..MAX_CONNECTIONS_PER_CLIENT {
            held.push(connect(node.http, source).await);
        }
    }
    // The node accepts in order, so these come after all the held ones.
    assert_eq!(get_node(node.http, PROXY).await, 200);
    assert_eq!(get_node(node.http, NOT_A_PROXY).await, 503);
    drop(held);
    node.stop().await;
}
