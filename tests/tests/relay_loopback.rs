//! Relays on loopback (specs/federation.md, "Addresses, reachability and relays"), without root:
//! A serves as a relay (it starts serving once AutoNAT confirms its address, which D's probe
//! answers do); C names A as its
//! relay, with AutoNAT off so it never learns it is reachable, and holds a reservation there;
//! C's invite link then carries only its circuit through A, and B, which knows no peer, joins
//! the room by that link through the relay and chats. The namespace test
//! (`tests/netns_nat.rs`) does the same across a real NAT.

use std::time::Duration;

use causerie_node::config::ConfigFile;
use causerie_tests::api::{ApiNode, ApiUser};

/// How long the reservation may take: AutoNAT confirms A's address 5 s after it has a peer
/// (30 s later if it first asked C, which answers no probe), and C retries its reservation
/// every sync interval (10 s).
const RESERVATION_WAIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_joins_by_a_link_that_carries_only_a_relay_circuit() {
    let a = ApiNode::start_configured(
        Vec::new(),
        ConfigFile {
            relay_server: Some(true),
            ..ConfigFile::default()
        },
    )
    .await;
    let a_addrs = a.p2p_addrs().await;
    // D only probes A's reachability (AutoNAT): A serves as a relay once its address is
    // confirmed, and C, with AutoNAT off, answers no probe.
    let _d = ApiNode::start(a_addrs.clone()).await;
    let c = ApiNode::start_configured(
        a_addrs.clone(),
        ConfigFile {
            relays: Some(a_addrs.clone()),
            autonat: Some(false),
            ..ConfigFile::default()
        },
    )
    .await;
    let b = ApiNode::start(Vec::new()).await;
    let a_peer = a.running().net.peer_id().to_string();
    let c_peer = c.running().net.peer_id().to_string();

    let started = tokio::time::Instant::now();
    loop {
        let reach = c.running().net.reachability().await.expect("reachability");
        if !reach.relay_circuits.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < RESERVATION_WAIT,
            "C holds no reservation on A after {RESERVATION_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.metric("causerie_relay_reservations").await, 1);
    assert!(a.metric("causerie_relay_served_reservations_total").await >= 1);

    let alice = ApiUser::register(a.http, "alice", "Alice").await;
    let carol = ApiUser::register(c.http, "carol", "Carol").await;
    let bob = ApiUser::register(b.http, "bob", "Bob").await;
    let room = alice.create_room("relayed", "public").await;
    carol.join_by_link(&alice.invite_link(&room).await).await;

    // C's link: its circuit through A, and nothing else (it holds a reservation).
    let link_c = carol.invite_link(&room).await;
    let circuit = format!("/p2p/{a_peer}/p2p-circuit/p2p/{c_peer}");
    assert!(link_c.contains(&circuit), "{link_c}");
    assert_eq!(link_c.matches("via=").count(), 1, "{link_c}");

    // B knows no peer: the circuit is its only way in.
    bob.join_by_link(&link_c).await;
    assert!(b.metric("causerie_relay_circuits_outbound_total").await >= 1);
    assert!(a.metric("causerie_relay_served_circuits_total").await >= 1);

    bob.say(&room, "hello through the relay").await;
    causerie_tests::api::eventually("B's message on A and C", || async {
        alice
            .bodies(&room)
            .await
            .contains(&"hello through the relay".to_owned())
            && carol
                .bodies(&room)
                .await
                .contains(&"hello through the relay".to_owned())
    })
    .await;
}
