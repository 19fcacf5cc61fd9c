//! `[federation] deny` (specs/accountability.md §8) on real nodes over loopback libp2p: a node
//! configured to deny another node never connects to it either way, refuses to dial it or send
//! it requests, and counts every refusal by what was refused; its other peers are unaffected.

use std::collections::BTreeMap;

use causerie_node::config::{Config, ConfigFile, FederationFile, Overrides};
use causerie_node::daemon;
use causerie_node::net::NetError;
use causerie_node::net::wire::Request;
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, Result, http_get, init_logs, metric, wait_listening, wait_until,
};

const HONEST: usize = 0;
const DENIED: usize = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_denied_node_gets_no_connection_no_dial_and_no_request() -> Result<()> {
    init_logs();
    let cluster = Cluster::start(2).await?;
    let denied_key = daemon::node_key(&cluster.nodes[DENIED].config)?.public();
    let denied_peer = cluster.nodes[DENIED].peer_id;
    let honest_peer = cluster.nodes[HONEST].peer_id;
    let mut bootstrap = cluster.nodes[HONEST].addresses().await?;
    let denied_addresses = cluster.nodes[DENIED].addresses().await?;
    bootstrap.extend(denied_addresses.iter().cloned());

    // A third node that denies node 1 but bootstraps to both.
    let file = ConfigFile {
        federation: Some(FederationFile {
            deny: vec![hex::encode(denied_key.as_bytes())],
        }),
        ..ConfigFile::default()
    };
    let data_dir = cluster.root().join("denying");
    std::fs::create_dir_all(&data_dir)?;
    let config = Config::from_parts(
        file,
        Overrides {
            data_dir: Some(data_dir),
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            bootstrap: bootstrap.iter().map(ToString::to_string).collect(),
            http: Some("127.0.0.1:0".to_owned()),
            ..Overrides::default()
        },
    )?;
    let denying = daemon::start(&config).await?;
    let own_addresses = wait_listening(&denying).await?;
    let denied_net = &cluster.nodes[DENIED].running().net;

    // It connects to the honest node only; the bootstrap dial to the denied one is refused.
    wait_until(DEFAULT_TIMEOUT, "connected to the honest node", || async {
        denying
            .net
            .connected_peers()
            .await
            .unwrap_or_default()
            .contains(&honest_peer)
    })
    .await?;
    // The denied node dials in: the connection is refused on arrival and counted.
    for address in &own_addresses {
        let _ = denied_net.dial(address.clone()).await;
    }
    let counts = |what: &'static str| {
        let metrics = denying.net.metrics();
        move || {
            let metrics = metrics.clone();
            async move {
                metrics
                    .snapshot()
                    .federation_denied
                    .get(what)
                    .copied()
                    .unwrap_or(0)
                    > 0
            }
        }
    };
    wait_until(
        DEFAULT_TIMEOUT,
        "the inbound connection is refused",
        counts("connection_in"),
    )
    .await?;
    wait_until(
        DEFAULT_TIMEOUT,
        "the denied node sees no connection",
        || async {
            !denied_net
                .connected_peers()
                .await
                .unwrap_or_default()
                .contains(&denying.net.peer_id())
        },
    )
    .await?;
    assert!(
        !denying.net.connected_peers().await?.contains(&denied_peer),
        "a denied node is never a connected peer"
    );

    // Dials and requests towards it are refused before anything is sent.
    for address in denied_addresses {
        match denying.net.dial(address).await {
            Err(NetError::FederationDenied(peer)) => assert_eq!(peer, denied_peer),
            other => panic!("dial not refused: {other:?}"),
        }
    }
    let request = Request::GetEvents { ids: Vec::new() };
    let refused = denying.net.request(denied_peer, request).await;
    match &refused {
        Err(e @ NetError::FederationDenied(_)) => assert_eq!(e.reason(), "federation_denied"),
        other => panic!("request not refused: {other:?}"),
    }
    let snapshot: BTreeMap<&str, u64> = denying.net.metrics().snapshot().federation_denied;
    for what in ["dial", "connection_in", "request_out"] {
        assert!(
            snapshot.get(what).copied().unwrap_or(0) > 0,
            "{what}: {snapshot:?}"
        );
    }
    assert_eq!(
        snapshot.get("gossip"),
        None,
        "no gossip can come without a connection"
    );

    // The counts are in /metrics, one sample per refused kind.
    let (status, text) = http_get(denying.http_addr, "/metrics").await?;
    assert_eq!(status, 200);
    let sample = "causerie_federation_denied_total{reason=\"request_out\"}";
    assert!(metric(&text, sample).is_some_and(|n| n >= 1), "{text}");
    // The honest node still talks to it.
    assert!(
        denying
            .net
            .request(honest_peer, Request::GetEvents { ids: Vec::new() })
            .await
            .is_ok()
    );

    denying.shutdown().await;
    cluster.shutdown().await;
    Ok(())
}
