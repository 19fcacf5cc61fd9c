//! Ban-list enforcement benchmark (specs/moderation.md §3.5–§3.6), on three real nodes started
//! in-process on loopback by the cluster harness: node A hosts the lists, node B hosts the
//! subscribed rooms and holds the enforcer's key, node C holds the same rooms.
//!
//! For each phase (by default 5 rooms, then 20 rooms, each phase with its own list), a
//! moderator on A publishes `RULES` ban rules, one every `INTERVAL_MS`, each naming a new user.
//! For each rule it measures, from just before the rule is submitted on A:
//! - **filter**: until both B and C hold the rule (from then they hide the user's events);
//! - **enforcement**: until the enforcer's ban of that user is stored in every subscribed room on
//!   both B and C (the last node).
//!
//! Prints p50, p99 and max of both for each phase, so the two phases show whether the time grows
//! with the number of rooms.
//!
//! `cargo bench -p causerie-tests --bench banlist` (release profile). Arguments: `--rules N`
//! (default 100), `--rooms N,M,...` (default 5,20), `--interval-ms MS` (default 50).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use causerie_crypto::event::kinds;
use causerie_crypto::{RoomId, UserKey, UserSecret};
use causerie_node::node::NodeEvent;
use causerie_room::Membership;
use causerie_room::policy::{POLICY_RULE, Recommendation, Rule, Target};
use causerie_tests::bench::{for_each_flag, ms, note_arrival, percentile, runtime, say};
use causerie_tests::cluster::{Cluster, Result, TestUser, wait_until};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
/// How long one phase may wait for the nodes.
const PHASE_TIMEOUT: Duration = Duration::from_secs(600);

/// When each node stored each (room, banned user) and each rule: keyed by what was stored.
type Arrivals = BTreeMap<(RoomId, UserKey), Vec<(usize, Instant)>>;
/// When each node stored each rule, by rule id.
type RuleArrivals = BTreeMap<String, Vec<(usize, Instant)>>;

struct Options {
    rules: usize,
    rooms: Vec<usize>,
    interval: Duration,
}

fn options() -> Options {
    let mut options = Options {
        rules: 100,
        rooms: vec![5, 20],
        interval: Duration::from_millis(50),
    };
    for_each_flag(|name, v| {
        match name {
            "--rules" => options.rules = v.parse().unwrap_or(100).clamp(1, 10_000),
            "--interval-ms" => {
                options.interval = Duration::from_millis(v.parse().unwrap_or(50).clamp(1, 10_000))
            }
            "--rooms" => {
                options.rooms = v
                    .split(',')
                    .filter_map(|n| n.parse().ok())
                    .map(|n: usize| n.clamp(1, 64))
                    .collect()
            }
            _ => return false,
        }
        true
    });
    options
}

fn main() -> Result<()> {
    runtime()?.block_on(run(options()))
}

async fn run(options: Options) -> Result<()> {
    let cluster = Cluster::start(3).await?;
    let moderator = cluster.user(A, "moderator").await?;
    let owner = cluster.user(B, "owner").await?;
    let enforcer = cluster.user(B, "enforcer").await?;
    cluster
        .node(B)
        .set_enforcer(UserSecret::from_seed(&enforcer.secret.expose_seed()))
        .await?;
    // Every ban member event and every rule, as B and C store them.
    let bans: Arc<Mutex<Arrivals>> = Arc::default();
    let rules: Arc<Mutex<RuleArrivals>> = Arc::default();
    let mut listeners = Vec::new();
    for index in [B, C] {
        let mut announcements = cluster.node(index).subscribe();
        let (bans, rules) = (bans.clone(), rules.clone());
        listeners.push(tokio::spawn(async move {
            while let Ok(announcement) = announcements.recv().await {
                let NodeEvent::Accepted { room, event, .. } = announcement else {
                    continue;
                };
                let at = Instant::now();
                if event.kind() == POLICY_RULE {
                    if let Some(id) = event.state_key() {
                        note_arrival(&rules, id.to_owned(), index, at);
                    }
                } else if event.kind() == kinds::MEMBER
                    && Membership::parse(event.content()) == Ok(Membership::Ban)
                    && let Some(user) = event
                        .state_key()
                        .and_then(causerie_room::content::parse_user_hex)
                        .and_then(|b| UserKey::from_bytes(&b).ok())
                {
                    note_arrival(&bans, (room, user), index, at);
                }
            }
        }));
    }
    say(&format!(
        "ban-list enforcement: 3 nodes (list on A; rooms on B and C; enforcer key on B), {} rules per phase, one every {} ms",
        options.rules,
        options.interval.as_millis()
    ));
    for (phase, &count) in options.rooms.iter().enumerate() {
        phase_run(
            &cluster, &options, phase, count, &moderator, &owner, &enforcer, &bans, &rules,
        )
        .await?;
    }
    for listener in listeners {
        listener.abort();
    }
    cluster.shutdown().await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn phase_run(
    cluster: &Cluster,
    options: &Options,
    phase: usize,
    count: usize,
    moderator: &TestUser,
    owner: &TestUser,
    enforcer: &TestUser,
    bans: &Arc<Mutex<Arrivals>>,
    rules: &Arc<Mutex<RuleArrivals>>,
) -> Result<()> {
    let list = cluster.create_room(moderator).await?;
    let mut rooms = Vec::new();
    for _ in 0..count {
        let room = cluster
            .create_subscribed_room(owner, enforcer, list, C)
            .await?;
        rooms.push(room);
    }
    for node in [B, C] {
        cluster.wait_holds(node, list, PHASE_TIMEOUT).await?;
    }
    // Each rule names a new user (a key only: user targets need no attestation).
    let mut published: Vec<(String, UserKey, Instant)> = Vec::new();
    let start = tokio::time::Instant::now();
    for k in 0..options.rules {
        tokio::time::sleep_until(start + options.interval * k as u32).await;
        let target = UserSecret::generate()?.public();
        let id = format!("p{phase}-r{k}");
        let content = Rule {
            target: Target::User(*target.as_bytes()),
            recommendation: Recommendation::Ban,
            reason: Some("benchmark".into()),
            reason_withheld: false,
            expires: None,
            purge: false,
        }
        .to_content();
        let at = Instant::now();
        cluster
            .send(moderator, list, POLICY_RULE, Some(&id), content)
            .await?;
        published.push((id, target, at));
    }
    wait_until(PHASE_TIMEOUT, "B and C hold every rule", || async {
        let rules = rules.lock().unwrap_or_else(|e| e.into_inner());
        published
            .iter()
            .all(|(id, _, _)| rules.get(id).is_some_and(|v| v.len() >= 2))
    })
    .await?;
    // Wait until C holds every ban too (B's own bans arrive on C by gossip).
    wait_until(PHASE_TIMEOUT, "every ban on both nodes", || async {
        let bans = bans.lock().unwrap_or_else(|e| e.into_inner());
        published.iter().all(|(_, user, _)| {
            rooms.iter().all(|room| {
                bans.get(&(*room, *user))
                    .is_some_and(|v| v.iter().map(|(n, _)| *n).collect::<BTreeSet<_>>().len() == 2)
            })
        })
    })
    .await?;
    let bans = bans.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let rules = rules.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut enforcement: Vec<Duration> = Vec::new();
    let mut filter: Vec<Duration> = Vec::new();
    for (id, user, at) in &published {
        let last = rooms
            .iter()
            .flat_map(|room| bans.get(&(*room, *user)).into_iter().flatten())
            .map(|(_, t)| t.saturating_duration_since(*at))
            .max()
            .unwrap_or_default();
        enforcement.push(last);
        let held = rules
            .get(id)
            .into_iter()
            .flatten()
            .map(|(_, t)| t.saturating_duration_since(*at))
            .max()
            .unwrap_or_default();
        filter.push(held);
    }
    enforcement.sort();
    filter.sort();
    say(&format!(
        "  {count:>2} subscribed rooms, {} rules ({} bans on each of B and C):",
        published.len(),
        published.len() * count
    ));
    say(&format!(
        "     filter (rule held by B and C):        p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&filter, 50.0)),
        ms(percentile(&filter, 99.0)),
        ms(filter.last().copied().unwrap_or_default()),
    ));
    say(&format!(
        "     enforcement (ban in every room, last node): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&enforcement, 50.0)),
        ms(percentile(&enforcement, 99.0)),
        ms(enforcement.last().copied().unwrap_or_default()),
    ));
    Ok(())
}
