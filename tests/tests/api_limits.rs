//! The client API's per-client limits cannot be defeated by opening more sessions
//! (specs/client-api.md, "Conventions"): the rate limit holds per client address over all its
//! sessions and per user over all theirs, pending challenges are bounded per address so that a
//! flood from one address leaves registration and login open to everyone else, and live
//! streams are bounded per user. Clients on other addresses bind 127.0.0.2, 127.0.0.3, ... as
//! their source address.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use causerie_crypto::UserSecret;
use causerie_node::api::limits::{
    MAX_CHALLENGES_PER_CLIENT, MAX_STREAMS_PER_USER, RATE_BURST, RATE_BURST_PER_CLIENT,
};
use causerie_tests::api::{ApiNode, ApiUser, StreamReader, eventually};
use futures::future::join_all;
use serde_json::json;

fn local(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

/// One user registered from 127.0.0.2 as `handle`, then logged in again from 127.0.0.3 and
/// 127.0.0.4: three sessions, three addresses.
async fn one_user_three_sessions(node: &ApiNode, seed: u8, handle: &str) -> Vec<ApiUser> {
    let secret = || UserSecret::from_seed(&[seed; 32]);
    let mut first = ApiUser::from_address(node.http, secret(), local(2));
    assert_eq!(first.try_register(handle, None).await.status, 201);
    let mut sessions = vec![first];
    for source in [3, 4] {
        let mut again = ApiUser::from_address(node.http, secret(), local(source));
        assert_eq!(again.login().await.status, 200);
        sessions.push(again);
    }
    sessions
}

/// Opens `GET /api/v1/stream` as `user` and returns the answer with only its head read (an
/// accepted stream never ends).
async fn open_stream(user: &ApiUser) -> reqwest::Response {
    user.http
        .get(format!("{}/api/v1/stream", user.base))
        .bearer_auth(user.token.as_ref().unwrap())
        .send()
        .await
        .unwrap()
}

/// Sends up to `each` `GET /api/v1/me` per session, one round over all sessions at a time,
/// without retrying; returns the first refusal's reason and how many were served before it.
async fn flood_me(sessions: &[ApiUser], each: usize) -> (Option<String>, usize) {
    let mut served = 0;
    for _ in 0..each {
        let round = join_all(
            sessions
                .iter()
                .map(|s| s.request_once(reqwest::Method::GET, "/api/v1/me", None)),
        )
        .await;
        for answer in round {
            match answer.status {
                200 => served += 1,
                _ => return (Some(answer.reason().to_owned()), served),
            }
        }
    }
    (None, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_one_address_share_its_rate_limit() {
    let mut node = ApiNode::start(Vec::new()).await;
    // Six users on one address, each staying under the per-user burst: together they are far
    // over the address's.
    let users = 6;
    let each = RATE_BURST as usize - 10;
    assert!(users * each > 2 * RATE_BURST_PER_CLIENT as usize);
    let mut sessions = Vec::new();
    for i in 0..users {
        sessions.push(
            ApiUser::registered_from(node.http, local(1), 10 + i as u8, &format!("user{i}")).await,
        );
    }
    let (refused, served) = flood_me(&sessions, each).await;
    assert_eq!(
        refused.as_deref(),
        Some("rate_limited"),
        "{served} requests served from one address over {users} sessions"
    );
    // Another address is not held back by this one.
    let other = ApiUser::registered_from(node.http, local(2), 30, "other").await;
    assert_eq!(other.get("/api/v1/me").await.status, 200);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_one_user_share_one_rate_limit() {
    let mut node = ApiNode::start(Vec::new()).await;
    // The same user logged in from three addresses, each address staying under its own limit.
    let sessions = one_user_three_sessions(&node, 40, "alice").await;
    let each = RATE_BURST as usize - 10;
    let (refused, served) = flood_me(&sessions, each).await;
    assert_eq!(
        refused.as_deref(),
        Some("rate_limited"),
        "{served} requests served to one user over three sessions"
    );
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenge_flood_from_one_address_leaves_login_open_to_others() {
    let mut node = ApiNode::start(Vec::new()).await;
    // The flooder first opens sessions, as the review's attacker did, so that a limit per
    // session would let it fill the whole challenge table.
    let mut tokens = Vec::new();
    for i in 0..25u8 {
        tokens.push(
            ApiUser::registered_from(node.http, local(1), 100 + i, &format!("flood{i}")).await,
        );
    }
    let target = ApiUser::from_seed(node.http, 99).key();
    let mut refusals = Vec::new();
    let mut issued = 0;
    'flood: for _ in 0..200 {
        let round = join_all(tokens.iter().map(|t| {
            t.request_once(
                reqwest::Method::POST,
                "/api/v1/auth/challenge",
                Some(json!({ "user": target })),
            )
        }))
        .await;
        for answer in round {
            match answer.status {
                200 => issued += 1,
                _ => {
                    refusals.push(answer.reason().to_owned());
                    if refusals.len() >= 64 {
                        break 'flood;
                    }
                }
            }
        }
    }
    // Honest users on other addresses register and log in meanwhile.
    for (i, source) in [2u8, 3, 4].into_iter().enumerate() {
        let mut honest = ApiUser::registered_from(
            node.http,
            local(source),
            200 + i as u8,
            &format!("honest{i}"),
        )
        .await;
        let login = honest.login().await;
        assert_eq!(login.status, 200, "{:?}", login.body);
    }
    assert!(
        issued <= MAX_CHALLENGES_PER_CLIENT,
        "{issued} challenges pending for one address"
    );
    assert!(
        refusals.iter().any(|r| r == "too_many_challenges"),
        "{refusals:?}"
    );
    assert!(node.refused("too_many_challenges").await >= 1);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_streams_are_bounded_per_user_over_sessions() {
    let mut node = ApiNode::start(Vec::new()).await;
    let sessions = one_user_three_sessions(&node, 50, "streamer").await;
    let mut open = Vec::new();
    for i in 0..MAX_STREAMS_PER_USER {
        open.push(StreamReader::open(&sessions[i % sessions.len()], "").await);
    }
    let over = open_stream(&sessions[MAX_STREAMS_PER_USER % sessions.len()]).await;
    assert_eq!(over.status().as_u16(), 429);
    let body: serde_json::Value = over.json().await.unwrap();
    assert_eq!(body["error"], "too_many_streams");
    // A stream that ends frees its place.
    open.pop();
    eventually("a closed stream frees its place", || async {
        open_stream(&sessions[0]).await.status() == 200
    })
    .await;
    node.stop().await;
}
