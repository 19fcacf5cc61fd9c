//! A node behind NAT joins a room and chats (specs/federation.md, "Addresses, reachability and
//! relays"), on three hosts made of Linux network namespaces:
//!
//! ```text
//!   [a] 10.232.0.1 ──┐                       public network 10.232.0.0/24 (a bridge in [pub])
//!   [b] 10.232.0.2 ──┼── br0 ── 10.232.0.3 [r] 10.232.1.1 ── 10.232.1.2 [c]
//!                    │           router: masquerade NAT, forwards only what [c] opened
//! ```
//!
//! A announces its address and serves as a relay; B announces its address and knows no peer
//! (its first contact is the link it is given); C, behind the NAT router, can dial out but
//! nobody can dial it, and names A as its relay. Each runs the node
//! daemon (`causerie-cluster-node`: the daemon of `causerie run`, with the same config file)
//! inside its namespace, driven through its client API as a client would. A user on A creates
//! a room; C joins by A's https invite link; C's own invite link then carries its relay
//! circuit address (nothing else of C is reachable), and B joins by that link (https form),
//! through the relay. All
//! three talk, every message reaches every node and the three converge on the same events;
//! the path between B and C is a relay circuit or a hole-punched direct connection; AutoNAT
//! finds A and B public and C private.
//!
//! Needs root, `ip` and `nft`; otherwise it prints SKIP and passes, unless
//! `CAUSERIE_REQUIRE_NETNS=1` (CI), where it fails. The namespaces are deleted and the nodes
//! killed when the test ends, also on failure (the nodes' logs are printed then).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use causerie_tests::api::ApiUser;
use causerie_tests::netns::{self, Lab, NsNode};
use serde_json::Value;

/// The nodes' p2p port on their namespace addresses.
const P2P_PORT: u16 = 7447;
/// How long each condition may take (debug builds on two shared cores; the relay reservation,
/// AutoNAT's first probe and hole punching each take a few seconds).
const WAIT: Duration = Duration::from_secs(90);
/// Messages each user posts.
const MESSAGES_PER_USER: usize = 3;

fn http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// Waits until `condition` holds, polling; panics with `what` after [`WAIT`].
async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    while !condition().await {
        assert!(
            started.elapsed() < WAIT,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(500));
    }
    eprintln!("{what}: {:.1} s", started.elapsed().as_secs_f64());
}

/// `GET /api/v1/node` of a node.
async fn info(node: &NsNode) -> Value {
    causerie_tests::api::node_info(node.api).await
}

/// A series of `/metrics` (`name{labels}` as printed), 0 when absent.
async fn metric(node: &NsNode, series: &str) -> u64 {
    causerie_tests::api::metric(node.api, None, series).await
}

/// The ids of a room's events on a user's node (its newest page: the test posts far fewer).
async fn event_ids(user: &ApiUser, room: &str) -> BTreeSet<String> {
    let page = user.get(&format!("/api/v1/rooms/{room}/messages")).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    page.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_nat_joins_by_link_and_chats_through_the_relay() {
    if !netns::available("netns_nat").expect("network namespaces required") {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new();
    let public = lab.namespace("pub").expect("namespace");
    lab.bridge(&public, "br0").expect("bridge");
    let a = lab.namespace("a").expect("namespace");
    let b = lab.namespace("b").expect("namespace");
    let r = lab.namespace("r").expect("namespace");
    let c = lab.namespace("c").expect("namespace");
    for (ns, port, address) in [
        (&a, "pa", "10.232.0.1/24"),
        (&b, "pb", "10.232.0.2/24"),
        (&r, "pr", "10.232.0.3/24"),
    ] {
        lab.link((ns, "eth0", Some(address)), (&public, port, None))
            .expect("veth");
        lab.enslave(&public, port, "br0").expect("bridge port");
    }
    lab.link(
        (&r, "lan0", Some("10.232.1.1/24")),
        (&c, "eth0", Some("10.232.1.2/24")),
    )
    .expect("veth");
    lab.exec(&c, "ip", &["route", "add", "default", "via", "10.232.1.1"])
        .expect("default route");
    lab.nat_router(&r, "lan0", "eth0").expect("NAT router");
    // Nobody on the public network can even route to C.
    assert!(
        lab.exec(&a, "ip", &["route", "get", "10.232.1.2"]).is_err(),
        "A must have no route to C"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let binary = Path::new(env!("CARGO_BIN_EXE_causerie-cluster-node"));
    let node_a = NsNode::start(
        &lab,
        "a",
        &a,
        binary,
        dir.path(),
        http(),
        &format!(
            "listen = [\"/ip4/10.232.0.1/tcp/{P2P_PORT}\"]\n\
             external_addresses = [\"/ip4/10.232.0.1/tcp/{P2P_PORT}\"]\n\
             public_origin = \"https://a.chat.test\"\n\
             relay_server = true\n"
        ),
    )
    .await
    .expect("node A starts");
    let a_addr = format!(
        "/ip4/10.232.0.1/tcp/{P2P_PORT}/p2p/{}",
        node_a.ready.peer_id
    );
    let node_b = NsNode::start(
        &lab,
        "b",
        &b,
        binary,
        dir.path(),
        http(),
        &format!(
            "listen = [\"/ip4/10.232.0.2/tcp/{P2P_PORT}\"]\n\
             external_addresses = [\"/ip4/10.232.0.2/tcp/{P2P_PORT}\"]\n"
        ),
    )
    .await
    .expect("node B starts");
    let node_c = NsNode::start(
        &lab,
        "c",
        &c,
        binary,
        dir.path(),
        http(),
        &format!(
            "listen = [\"/ip4/10.232.1.2/tcp/{P2P_PORT}\"]\n\
             bootstrap = [\"{a_addr}\"]\n\
             relays = [\"{a_addr}\"]\n"
        ),
    )
    .await
    .expect("node C starts");
    let (a_id, b_id, c_id) = (
        node_a.ready.peer_id.to_string(),
        node_b.ready.peer_id.to_string(),
        node_c.ready.peer_id.to_string(),
    );
    eprintln!(
        "nodes up in {:.1} s: A {a_id}, B {b_id}, C {c_id}",
        started.elapsed().as_secs_f64()
    );

    // C holds a reservation on A: its circuit address is what it announces.
    wait_for("C's reservation on A", || async {
        strings(&info(&node_c).await["relay_circuits"])
            .iter()
            .any(|circuit| circuit.contains(&format!("/p2p/{a_id}/p2p-circuit")))
    })
    .await;
    assert_eq!(metric(&node_c, "causerie_relay_reservations").await, 1);
    assert_eq!(
        metric(&node_a, "causerie_relay_served_reservations_total").await,
        1
    );

    let alice = ApiUser::register(node_a.api, "alice", "Alice").await;
    let bob = ApiUser::register(node_b.api, "bob", "Bob").await;
    let carol = ApiUser::register(node_c.api, "carol", "Carol").await;
    let room = alice.create_room("behind the router", "public").await;

    // A's link carries its announced address, then its public name; C joins by its https form
    // (dialling out through the NAT).
    let invite_a = alice
        .call("GET", &format!("/rooms/{room}/invite"), Value::Null)
        .await;
    let link_a = invite_a["link"].as_str().expect("link");
    assert!(
        link_a.contains(&format!(
            "?via=/ip4/10.232.0.1/tcp/{P2P_PORT}/p2p/{a_id}&via=/dns/a.chat.test/tcp/{P2P_PORT}/p2p/{a_id}"
        )),
        "{link_a}"
    );
    let web_link_a = invite_a["web_link"].as_str().expect("web link");
    assert!(
        web_link_a.starts_with("https://a.chat.test/join/"),
        "{web_link_a}"
    );
    assert_eq!(carol.join_by_link(web_link_a).await, room);

    // C's link carries its circuit through A, and not its private address.
    let link_c = carol.invite_link(&room).await;
    assert!(
        link_c.contains(&format!("/p2p/{a_id}/p2p-circuit/p2p/{c_id}")),
        "{link_c}"
    );
    assert!(!link_c.contains("10.232.1."), "{link_c}");
    // B joins by C's link: through the relay (B cannot route to C at all). C, a home machine,
    // has no public origin; its link travels in the https form a web page would show.
    let web_link_c = causerie_crypto::address::InviteLink::parse(&link_c)
        .expect("C's link parses")
        .web_link("https://c.chat.test");
    assert_eq!(bob.join_by_link(&web_link_c).await, room);
    assert!(metric(&node_b, "causerie_relay_circuits_outbound_total").await >= 1);
    assert!(metric(&node_a, "causerie_relay_served_circuits_total").await >= 1);
    assert!(metric(&node_c, "causerie_relay_circuits_inbound_total").await >= 1);

    // Everyone talks; every message reaches every node.
    let mut expected = BTreeSet::new();
    for i in 0..MESSAGES_PER_USER {
        for (user, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
            let body = format!("{name} {i}");
            user.say(&room, &body).await;
            expected.insert(body);
        }
    }
    for (user, name) in [(&alice, "A"), (&bob, "B"), (&carol, "C")] {
        wait_for(&format!("every message on {name}"), || async {
            let bodies: BTreeSet<String> = user.bodies(&room).await.into_iter().collect();
            expected.is_subset(&bodies)
        })
        .await;
    }
    wait_for("the three nodes on the same events", || async {
        let ids = event_ids(&alice, &room).await;
        ids == event_ids(&bob, &room).await && ids == event_ids(&carol, &room).await
    })
    .await;

    // B and C reached each other through the relay, or hole punching made it direct.
    let punched = metric(&node_c, "causerie_hole_punch_succeeded_total").await
        + metric(&node_b, "causerie_hole_punch_succeeded_total").await;
    let relayed = strings(&info(&node_c).await["relayed_peers"]).contains(&b_id);
    eprintln!("B-C: hole punches succeeded {punched}, still relayed now: {relayed}");
    for node in [&node_b, &node_c] {
        let failed = metric(
            node,
            "causerie_hole_punch_failed_total{reason=\"attempts_exceeded\"}",
        )
        .await
            + metric(
                node,
                "causerie_hole_punch_failed_total{reason=\"inbound_stream\"}",
            )
            .await
            + metric(
                node,
                "causerie_hole_punch_failed_total{reason=\"outbound_stream\"}",
            )
            .await;
        eprintln!("{}: hole punches failed {failed}", node.name);
    }
    assert!(
        punched >= 1 || relayed,
        "B and C must be linked by a relay circuit or a hole-punched connection"
    );
    assert!(
        strings(&info(&node_b).await["connected_peers"]).contains(&c_id),
        "B is connected to C"
    );

    // AutoNAT: A and B learn they are public; C that it is private (its router drops the
    // dial-backs, which time out), and it keeps its reservation.
    wait_for("AutoNAT finds C private", || async {
        info(&node_c).await["reachability"] == "private"
    })
    .await;
    for (node, name) in [(&node_a, "A"), (&node_b, "B")] {
        wait_for(&format!("AutoNAT finds {name} public"), || async {
            info(node).await["reachability"] == "public"
        })
        .await;
    }
    assert_eq!(metric(&node_c, "causerie_relay_reservations").await, 1);
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
}
