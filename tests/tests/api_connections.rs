//! The client API's HTTP layer against hostile clients, over raw TCP sockets on loopback
//! (specs/client-api.md, "Connections"): oversized declared bodies, slow and oversized headers,
//! bodies that never arrive, idle keep-alive connections, connections beyond the caps, and
//! missing or repeated `Host` headers. Each is refused at once or cut off within its named
//! limit, while other clients are still served.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use causerie_node::api::limits::{MAX_CONNECTIONS_PER_CLIENT, MAX_HEADER_BYTES};
use causerie_node::api::server::connection_cap;
use causerie_tests::api::raw::{connect, read_answer, read_to_close, send, status};
use causerie_tests::api::{ApiNode, WAIT, eventually};
use tokio::io::AsyncReadExt;

fn local(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// A request head for `node` (its `Host`) with `extra` header lines.
fn head(node: SocketAddr, request_line: &str, extra: &str) -> String {
    format!("{request_line}\r\nHost: {node}\r\n{extra}\r\n")
}

/// One `GET /api/v1/node` on a fresh connection from `source`; the answer.
async fn get_node(node: SocketAddr, source: IpAddr) -> String {
    let mut stream = connect(node, source).await;
    let request = head(node, "GET /api/v1/node HTTP/1.1", "Connection: close\r\n");
    assert!(send(&mut stream, request.as_bytes()).await);
    read_answer(&mut stream).await.unwrap_or_default()
}

/// Sends the head of a `POST /api/v1/auth/challenge` announcing a JSON body of `length` bytes.
async fn announce_body(stream: &mut tokio::net::TcpStream, node: SocketAddr, length: usize) {
    let extra = format!("Content-Type: application/json\r\nContent-Length: {length}\r\n");
    let request = head(node, "POST /api/v1/auth/challenge HTTP/1.1", &extra);
    assert!(send(stream, request.as_bytes()).await);
}

fn reason(answer: &str) -> String {
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    json["error"].as_str().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut stream = connect(node.http, local(1)).await;
    // Ten megabytes announced, nothing sent: the answer must come without the body.
    announce_body(&mut stream, node.http, 10_000_000).await;
    let answer = read_answer(&mut stream)
        .await
        .expect("an answer before the body");
    assert_eq!(status(&answer), 413, "{answer}");
    assert_eq!(reason(&answer), "body_too_large");
    assert!(answer.to_ascii_lowercase().contains("connection: close"));
    let (_, closed) = read_to_close(&mut stream).await;
    assert!(closed, "the connection closes after the refusal");
    assert!(node.refused("body_too_large").await >= 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut stream = connect(node.http, local(1)).await;
    let start = head(node.http, "GET /api/v1/node HTTP/1.1", "");
    // Everything but the blank line that ends the head, then one more header byte at a time.
    assert!(send(&mut stream, start.trim_end().as_bytes()).await);
    assert!(send(&mut stream, b"\r\nX-Slow: ").await);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut closed = false;
    let mut answer = Vec::new();
    while tokio::time::Instant::now() < deadline {
        if !send(&mut stream, b"a").await {
            closed = true;
            break;
        }
        let mut buffer = [0u8; 1_024];
        // The pace of the attack: a byte per half second, or the node closing.
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => {}
        }
    }
    assert!(closed, "a head dripping in is cut off");
    assert_ne!(status(&String::from_utf8_lossy(&answer)), 200);
    // The node still serves others.
    assert_eq!(status(&get_node(node.http, local(2)).await), 200);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_keep_alive_connections_are_closed() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut stream = connect(node.http, local(1)).await;
    let request = head(node.http, "GET /api/v1/node HTTP/1.1", "");
    assert!(send(&mut stream, request.as_bytes()).await);
    let answer = read_answer(&mut stream).await.expect("an answer");
    assert_eq!(status(&answer), 200, "{answer}");
    // Kept alive for another request that never comes.
    let (rest, closed) = read_to_close(&mut stream).await;
    assert!(closed, "an idle connection is closed");
    assert!(rest.is_empty(), "{rest}");
    // And one that never sends anything at all.
    let mut silent = connect(node.http, local(1)).await;
    let (_, closed) = read_to_close(&mut silent).await;
    assert!(closed, "a silent connection is closed");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_is_refused_with_408() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut stream = connect(node.http, local(1)).await;
    announce_body(&mut stream, node.http, 100).await;
    assert!(send(&mut stream, b"{\"user\": \"").await);
    let answer = read_answer(&mut stream).await.expect("an answer");
    assert_eq!(status(&answer), 408, "{answer}");
    assert_eq!(reason(&answer), "body_timeout");
    let (_, closed) = read_to_close(&mut stream).await;
    assert!(closed);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_are_refused() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut stream = connect(node.http, local(1)).await;
    let big = format!("X-Big: {}\r\n", "b".repeat(MAX_HEADER_BYTES));
    let request = head(node.http, "GET /api/v1/node HTTP/1.1", &big);
    // The node may close before taking it all; what matters is the answer.
    send(&mut stream, request.as_bytes()).await;
    let (answer, closed) = read_to_close(&mut stream).await;
    assert!(closed);
    assert_eq!(status(&answer), 431, "{answer}");
    let many: String = (0..200).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let mut stream = connect(node.http, local(1)).await;
    send(
        &mut stream,
        head(node.http, "GET /api/v1/node HTTP/1.1", &many).as_bytes(),
    )
    .await;
    let (answer, _) = read_to_close(&mut stream).await;
    assert_eq!(status(&answer), 431, "{answer}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_per_client_cap_are_refused_while_others_are_served() {
    let mut node = ApiNode::start(Vec::new()).await;
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS_PER_CLIENT {
        held.push(connect(node.http, local(1)).await);
    }
    // The node accepts in order, so this one comes after all the held ones.
    let answer = get_node(node.http, local(1)).await;
    assert_eq!(status(&answer), 503, "{answer}");
    assert_eq!(reason(&answer), "too_many_connections");
    // Another client address is served meanwhile.
    assert_eq!(status(&get_node(node.http, local(2)).await), 200);
    // A closed connection frees its place.
    held.pop();
    let http = node.http;
    eventually("a place frees up", || async move {
        status(&get_node(http, local(1)).await) == 200
    })
    .await;
    assert!(node.refused("too_many_connections").await >= 1);
    drop(held);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_total_cap_are_refused() {
    let mut node = ApiNode::start(Vec::new()).await;
    let cap = connection_cap();
    let mut held = Vec::new();
    let mut source = 10u8;
    while held.len() < cap {
        for _ in 0..MAX_CONNECTIONS_PER_CLIENT.min(cap - held.len()) {
            held.push(connect(node.http, local(source)).await);
        }
        source += 1;
    }
    let answer = get_node(node.http, local(source)).await;
    assert_eq!(status(&answer), 503, "{answer}");
    assert_eq!(reason(&answer), "too_many_connections");
    drop(held);
    let http = node.http;
    eventually("the node serves again", || async move {
        status(&get_node(http, local(source)).await) == 200
    })
    .await;
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_repeated_host_is_refused() {
    let mut node = ApiNode::start(Vec::new()).await;
    let http = node.http;
    let cases = [
        format!("GET /api/v1/node HTTP/1.1\r\nHost: {http}\r\nHost: {http}\r\n\r\n"),
        format!("GET /api/v1/node HTTP/1.1\r\nHost: {http}\r\nHost: evil.example\r\n\r\n"),
        "GET /api/v1/node HTTP/1.1\r\nConnection: close\r\n\r\n".to_owned(),
        "GET /api/v1/node HTTP/1.0\r\n\r\n".to_owned(),
        format!("GET http://evil.example/api/v1/node HTTP/1.1\r\nHost: {http}\r\n\r\n"),
    ];
    for case in cases {
        let mut stream = connect(http, local(1)).await;
        assert!(send(&mut stream, case.as_bytes()).await);
        let answer = read_answer(&mut stream).await.expect("an answer");
        assert_eq!(
            (status(&answer), reason(&answer).as_str()),
            (400, "bad_host"),
            "{case:?}: {answer}"
        );
    }
    assert_eq!(status(&get_node(http, local(1)).await), 200);
    assert!(node.refused("bad_host").await >= 5);
    node.stop().await;
}
