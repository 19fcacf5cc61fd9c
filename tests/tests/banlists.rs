//! Ban lists end to end (specs/moderation.md §3) on three real nodes (sled, libp2p, loopback):
//! a moderator on node A publishes a rule against a user homed on node C; rooms hosted on B and C
//! that subscribe to the list hide the user's messages on both nodes, refuse their submissions
//! and joins, and the enforcer (its key given to node B) bans them in room state on both nodes.
//! Removing the rule lifts the filter and the enforcer's bans.

use std::collections::BTreeSet;

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventId, RoomId, UserSecret};
use causerie_node::node::{IngestOutcome, Node, NodeError};
use causerie_room::Membership;
use causerie_room::content::user_state_key;
use causerie_room::policy::{POLICY_RULE, Recommendation, Rule, Subscription, Target};
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, Result, TestUser, in_history, init_logs, text_content, wait_until,
};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// The member event of `user` in `room`'s current state on `node`: (membership, author key,
/// whether it carries the enforcer's `policy` tag).
async fn member(
    node: &Node,
    room: RoomId,
    user: &TestUser,
) -> Option<(Membership, [u8; 32], bool)> {
    let summary = node.summary(room).await.ok()??;
    let id = summary
        .state
        .get(&(kinds::MEMBER.to_owned(), user.state_key()))?;
    let event = node.events(vec![*id]).await.ok()?.pop()?;
    let membership = Membership::parse(event.content()).ok()?;
    Some((
        membership,
        *event.author().as_bytes(),
        event.content().contains_key("policy"),
    ))
}

/// Whether `node` shows event `id` in `room`'s history.
async fn shown(node: &Node, room: RoomId, id: EventId) -> bool {
    in_history(node, room, id).await.is_some()
}

/// Waits until every node of `nodes` shows event `id` in `room`'s history.
async fn wait_shown(
    cluster: &Cluster,
    nodes: &[usize],
    room: RoomId,
    id: EventId,
    what: &str,
) -> Result<()> {
    for &node in nodes {
        wait_until(DEFAULT_TIMEOUT, what, || async {
            shown(cluster.node(node), room, id).await
        })
        .await?;
    }
    Ok(())
}

/// Waits until `user`'s member event in each of `rooms`, on B and C, is `expected`.
async fn wait_member(
    cluster: &Cluster,
    rooms: &[RoomId],
    user: &TestUser,
    expected: (Membership, [u8; 32], bool),
    what: &str,
) -> Result<()> {
    for &room in rooms {
        for node in [B, C] {
            wait_until(DEFAULT_TIMEOUT, what, || async {
                member(cluster.node(node), room, user).await == Some(expected)
            })
            .await?;
        }
    }
    Ok(())
}

/// A room created on B by `owner`, held by C too, where `enforcer` is joined with ban power
/// and which subscribes to `list` with `enforcer` as its enforcer.
async fn subscribed_room(
    cluster: &Cluster,
    owner: &TestUser,
    enforcer: &TestUser,
    list: RoomId,
) -> Result<RoomId> {
    cluster
        .create_subscribed_room(owner, enforcer, list, C)
        .await
}

/// `moderator` publishes `content` as the rule `id` of `list` (empty content removes the rule).
async fn publish_rule(
    cluster: &Cluster,
    moderator: &TestUser,
    list: RoomId,
    id: &str,
    content: Content,
) -> Result<Event> {
    cluster
        .send(moderator, list, POLICY_RULE, Some(id), content)
        .await
}

fn ban_rule(user: &TestUser, reason: &str) -> Content {
    Rule {
        target: Target::User(*user.key.as_bytes()),
        recommendation: Recommendation::Ban,
        reason: Some(reason.to_owned()),
        reason_withheld: false,
        expires: None,
        purge: false,
    }
    .to_content()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_list_rule_hides_refuses_and_bans_on_every_node_and_its_removal_lifts_it() -> Result<()> {
    init_logs();
    let cluster = Cluster::start(3).await?;
    let moderator = cluster.user(A, "moderator").await?;
    let owner = cluster.user(B, "owner").await?;
    let enforcer = cluster.user(B, "enforcer").await?;
    let mallory = cluster.user(C, "mallory").await?;
    let carol = cluster.user(C, "carol").await?;

    // The list lives on A only; B and C follow it because their rooms subscribe to it.
    let list = cluster.create_room(&moderator).await?;
    let room = subscribed_room(&cluster, &owner, &enforcer, list).await?;
    let elsewhere = subscribed_room(&cluster, &owner, &enforcer, list).await?;
    cluster
        .node(B)
        .set_enforcer(UserSecret::from_seed(&enforcer.secret.expose_seed()))
        .await?;
    for node in [B, C] {
        cluster.wait_holds(node, list, DEFAULT_TIMEOUT).await?;
    }
    cluster.join(&mallory, room).await?;
    cluster.join(&carol, room).await?;
    let before = cluster.message(&mallory, room, "buy my coins").await?;
    wait_shown(&cluster, &[B, C], room, before.id(), "the message shows").await?;

    // The rule, published on A.
    let rule = publish_rule(
        &cluster,
        &moderator,
        list,
        "spam-1",
        ban_rule(&mallory, "scam links"),
    )
    .await?;
    // The enforcer's ban lands in both rooms' state on both nodes, the pre-emptive one too.
    let by_enforcer = |membership| (membership, *enforcer.key.as_bytes(), true);
    let rooms = [room, elsewhere];
    let banned = by_enforcer(Membership::Ban);
    wait_member(&cluster, &rooms, &mallory, banned, "the enforcer's ban").await?;
    // Her messages are hidden on every node hosting the room.
    for node in [B, C] {
        assert!(!shown(cluster.node(node), room, before.id()).await);
    }
    // Carol is not named: her messages still show.
    let fine = cluster.message(&carol, room, "hello").await?;
    wait_shown(&cluster, &[B, C], room, fine.id(), "carol's message").await?;
    // Her own node refuses her submissions with the list's reason, her join elsewhere too.
    let key = user_state_key(&mallory.key);
    let join = cluster
        .try_send(
            &mallory,
            elsewhere,
            kinds::MEMBER,
            Some(&key),
            Membership::Join.to_content(),
        )
        .await;
    match join {
        Err(causerie_tests::cluster::HarnessError::Node(NodeError::BanList(refusal))) => {
            assert_eq!(refusal.verdict.rule, "spam-1");
            assert_eq!(refusal.verdict.list, list);
            assert!(
                refusal.words().contains("scam links"),
                "{}",
                refusal.words()
            );
        }
        other => panic!("join not refused by the list: {other:?}"),
    }
    let message = cluster
        .try_send(&mallory, room, kinds::MESSAGE, None, text_content("again"))
        .await;
    assert!(
        matches!(
            message,
            Err(causerie_tests::cluster::HarnessError::Node(
                NodeError::BanList(_)
            ))
        ),
        "{message:?}"
    );
    // The diff a subscriber reads: the rule was added since the list's creation.
    let view = cluster
        .node(B)
        .ban_list(list, Some(EventId(list.0)))
        .await?
        .expect("B holds the list");
    assert_eq!(view.rules.len(), 1);
    assert_eq!(view.changes.len(), 1);
    assert_eq!(view.changes[0].change(), "added");
    assert_eq!(view.changes[0].rule, "spam-1");
    let since_rule = cluster
        .node(C)
        .ban_list(list, Some(rule.id()))
        .await?
        .expect("C holds the list");
    assert!(since_rule.changes.is_empty());

    // Removing the rule lifts the filter and the enforcer's bans (not anyone else's).
    publish_rule(&cluster, &moderator, list, "spam-1", Content::new()).await?;
    let unbanned = by_enforcer(Membership::Leave);
    wait_member(&cluster, &rooms, &mallory, unbanned, "the enforcer's unban").await?;
    let again = "her old message shows again";
    wait_shown(&cluster, &[B, C], room, before.id(), again).await?;
    cluster.join(&mallory, elsewhere).await?;
    let after = cluster.message(&mallory, elsewhere, "sorry").await?;
    let new = "her new message shows";
    wait_shown(&cluster, &[B, C], elsewhere, after.id(), new).await?;
    cluster.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_from_peers_are_hidden_and_human_bans_are_never_lifted() -> Result<()> {
    init_logs();
    let cluster = Cluster::start(2).await?;
    let moderator = cluster.user(0, "moderator").await?;
    let owner = cluster.user(0, "owner").await?;
    let mallory = cluster.user(1, "mallory").await?;
    let trent = cluster.user(1, "trent").await?;
    let list = cluster.create_room(&moderator).await?;
    // No enforcer: only the filter acts.
    let room = cluster.create_shared_room(&owner).await?;
    let subscription = Subscription {
        lists: vec![list],
        enforcer: None,
        ignore: BTreeSet::new(),
    };
    cluster
        .send(
            &owner,
            room,
            kinds::POLICY_SUBSCRIPTIONS,
            Some(""),
            subscription.to_content(),
        )
        .await?;
    cluster.join(&mallory, room).await?;
    cluster.join(&trent, room).await?;
    // Trent is banned by a human; the list names him too, then drops him.
    cluster
        .set_member(&owner, &trent, room, Membership::Ban)
        .await?;
    cluster.wait_holds(1, list, DEFAULT_TIMEOUT).await?;
    // A message signed before the rule, delivered after it by a peer, as a modified node would.
    let draft = cluster
        .node(1)
        .prepare(mallory.message_request(room, "late"))
        .await?;
    let late = draft.sign(&mallory.secret)?;
    let mut handle = Rule {
        target: Target::Handle(causerie_room::policy::Glob::parse("mal*").unwrap()),
        recommendation: Recommendation::Mute,
        reason: Some("withheld".into()),
        reason_withheld: true,
        expires: None,
        purge: false,
    };
    publish_rule(&cluster, &moderator, list, "m", handle.to_content()).await?;
    publish_rule(&cluster, &moderator, list, "t", ban_rule(&trent, "x")).await?;
    wait_until(DEFAULT_TIMEOUT, "both nodes hold the rules", || async {
        for node in [0, 1] {
            match cluster.node(node).ban_list(list, None).await {
                Ok(Some(view)) if view.rules.len() == 2 => {}
                _ => return false,
            }
        }
        true
    })
    .await?;
    let source = causerie_room::Source::peer(b"a-modified-node").expect("short source");
    let outcome = cluster
        .node(0)
        .ingest_from(vec![(late.clone(), source)])
        .await?;
    assert_eq!(
        outcome[0].outcome,
        IngestOutcome::Accepted { visible: false }
    );
    assert!(!shown(cluster.node(0), room, late.id()).await);
    // A muted user may still leave and join; withheld reasons are never shown.
    let view = cluster.node(0).ban_list(list, None).await?.expect("held");
    assert_eq!(view.rules["m"].public_reason(), None);
    // Dropping the mute shows the late message again; Trent's human ban stays.
    handle.recommendation = Recommendation::Review;
    publish_rule(&cluster, &moderator, list, "m", handle.to_content()).await?;
    publish_rule(&cluster, &moderator, list, "t", Content::new()).await?;
    wait_shown(&cluster, &[0], room, late.id(), "the late message shows").await?;
    let trent_member = member(cluster.node(0), room, &trent).await;
    assert_eq!(
        trent_member,
        Some((Membership::Ban, *owner.key.as_bytes(), false))
    );
    cluster.shutdown().await;
    Ok(())
}
