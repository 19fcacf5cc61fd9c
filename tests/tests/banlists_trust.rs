//! Ban lists against nodes and what the enforcer turns into room events (specs/accountability.md
//! §8, specs/moderation.md §3.6), on real nodes (sled, libp2p, loopback):
//!
//! - one `attester` rule denies a node that attests abusers: every user it attests, named or
//!   not, member or newcomer, has their new events refused by every honest node hosting the room
//!   (hidden at once, then rejected once the enforcer's bans are in room state), even when that
//!   node keeps sending them;
//! - a rule asking for ban-and-purge makes the enforcer ban with `purge: true` (and add the purge
//!   to a ban it made before); a `mute` rule makes it issue `room.mute`; removing the rule lifts
//!   the ban and the mute (a purge's redactions stay).

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventDraft, RoomId, UserSecret};
use causerie_node::node::{IngestOutcome, Node};
use causerie_room::policy::{POLICY_RULE, Recommendation, Rule, Target};
use causerie_room::{Membership, Source};
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, Result, TestUser, in_history, init_logs, text_content, wait_until,
};

/// The state event `(kind, user)` of `room` on `node`.
async fn state_event(node: &Node, room: RoomId, kind: &str, user: &TestUser) -> Option<Event> {
    let summary = node.summary(room).await.ok()??;
    let id = summary.state.get(&(kind.to_owned(), user.state_key()))?;
    node.events(vec![*id]).await.ok()?.pop()
}

/// `user`'s membership in `room` on `node`, whether the enforcer made it, and its `purge`.
async fn member(
    node: &Node,
    room: RoomId,
    user: &TestUser,
    enforcer: &TestUser,
) -> Option<(Membership, bool, bool)> {
    let event = state_event(node, room, kinds::MEMBER, user).await?;
    Some((
        Membership::parse(event.content()).ok()?,
        event.author() == &enforcer.key && event.content().contains_key("policy"),
        event.content().get("purge") == Some(&causerie_crypto::Value::Bool(true)),
    ))
}

/// Waits until both nodes hold `user`'s membership in `room` as `expected` (see [`member`]).
async fn wait_member_on_both(
    cluster: &Cluster,
    room: RoomId,
    user: &TestUser,
    enforcer: &TestUser,
    expected: (Membership, bool, bool),
    what: &str,
) -> Result<()> {
    for node in [0, 1] {
        wait_until(DEFAULT_TIMEOUT, what, || async {
            member(cluster.node(node), room, user, enforcer)
                .await
                .as_ref()
                == Some(&expected)
        })
        .await?;
    }
    Ok(())
}

/// `user`'s mute in `room` on `node`: (muted, made by the enforcer for a list).
async fn mute(
    node: &Node,
    room: RoomId,
    user: &TestUser,
    enforcer: &TestUser,
) -> Option<(bool, bool)> {
    let event = state_event(node, room, kinds::MUTE, user).await?;
    Some((
        event.content().get("muted") == Some(&causerie_crypto::Value::Bool(true)),
        event.author() == &enforcer.key && event.content().contains_key("policy"),
    ))
}

fn rule(target: Target, recommendation: Recommendation, reason: &str, purge: bool) -> Content {
    Rule {
        target,
        recommendation,
        reason: Some(reason.to_owned()),
        reason_withheld: false,
        expires: None,
        purge,
    }
    .to_content()
}

/// A draft of `kind` by `user`, prepared on `node` now (signed later, as a node that keeps
/// sending its users' events would).
async fn draft(
    node: &Node,
    room: RoomId,
    user: &TestUser,
    kind: &str,
    state_key: Option<String>,
    content: Content,
) -> Result<EventDraft> {
    Ok(node
        .prepare(user.request(room, kind, state_key.as_deref(), content))
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_attester_rule_refuses_every_user_of_that_node_on_every_honest_node() -> Result<()> {
    const LIST: usize = 0;
    const B: usize = 1;
    const C: usize = 2;
    const ABUSIVE: usize = 3;
    init_logs();
    let cluster = Cluster::start(4).await?;
    let moderator = cluster.user(LIST, "moderator").await?;
    let owner = cluster.user(B, "owner").await?;
    let enforcer = cluster.user(B, "enforcer").await?;
    let carol = cluster.user(C, "carol").await?;
    let spammers = [
        cluster.user(ABUSIVE, "spam1").await?,
        cluster.user(ABUSIVE, "spam2").await?,
    ];
    // Attested by the same node, never in the room before the rule.
    let newcomer = cluster.user(ABUSIVE, "spam3").await?;

    let list = cluster.create_room(&moderator).await?;
    let room = cluster
        .create_subscribed_room(&owner, &enforcer, list, C)
        .await?;
    cluster.join_room(ABUSIVE, room, B).await?;
    cluster
        .node(B)
        .set_enforcer(UserSecret::from_seed(&enforcer.secret.expose_seed()))
        .await?;
    for node in [B, C, ABUSIVE] {
        cluster.wait_holds(node, list, DEFAULT_TIMEOUT).await?;
    }
    cluster.join(&carol, room).await?;
    let mut before = Vec::new();
    for spammer in &spammers {
        cluster.join(spammer, room).await?;
        before.push(cluster.message(spammer, room, "cheap pills").await?);
    }
    for node in [B, C] {
        for event in &before {
            wait_until(DEFAULT_TIMEOUT, "the messages show", || async {
                in_history(cluster.node(node), room, event.id())
                    .await
                    .is_some()
            })
            .await?;
        }
    }
    // What the abusive node will keep sending after the rule: drafted now, signed later.
    let mut late = Vec::new();
    for spammer in &spammers {
        let d = draft(
            cluster.node(ABUSIVE),
            room,
            spammer,
            kinds::MESSAGE,
            None,
            text_content("still here"),
        )
        .await?;
        late.push(d.sign(&spammer.secret)?);
    }
    let join = draft(
        cluster.node(ABUSIVE),
        room,
        &newcomer,
        kinds::MEMBER,
        Some(newcomer.state_key()),
        Membership::Join.to_content(),
    )
    .await?
    .sign(&newcomer.secret)?;

    // One rule, naming the node, not its users.
    let abusive_node = *spammers[0].attestation.home_node().as_bytes();
    cluster
        .send(
            &moderator,
            list,
            POLICY_RULE,
            Some("abusive-node"),
            rule(
                Target::Attester(abusive_node),
                Recommendation::Ban,
                "attests spammers without checks",
                false,
            ),
        )
        .await?;
    // Every member it attests is banned by the enforcer on every honest node.
    for spammer in &spammers {
        for node in [B, C] {
            wait_until(
                DEFAULT_TIMEOUT,
                "the enforcer bans the node's users",
                || async {
                    member(cluster.node(node), room, spammer, &enforcer).await
                        == Some((Membership::Ban, true, false))
                },
            )
            .await?;
        }
    }
    // Their old messages are hidden; the honest user's messages still show.
    for node in [B, C] {
        for event in &before {
            assert!(
                in_history(cluster.node(node), room, event.id())
                    .await
                    .is_none()
            );
        }
    }
    let fine = cluster.message(&carol, room, "hello").await?;
    // The abusive node keeps sending: nothing it sends shows on an honest node.
    let source = Source::peer(b"abusive-node").expect("short source");
    for node in [B, C] {
        cluster
            .node(node)
            .add_attestation(newcomer.attestation.clone())
            .await?;
        let mut offered: Vec<(Event, Source)> =
            late.iter().map(|event| (event.clone(), source)).collect();
        offered.push((join.clone(), source));
        let outcomes = cluster.node(node).ingest_from(offered).await?;
        for outcome in outcomes {
            assert!(
                !matches!(outcome.outcome, IngestOutcome::Accepted { visible: true }),
                "{:?}",
                outcome.outcome
            );
        }
    }
    // The newcomer's join, never named by any rule, is met with the enforcer's ban too.
    for node in [B, C] {
        wait_until(DEFAULT_TIMEOUT, "the newcomer is banned", || async {
            member(cluster.node(node), room, &newcomer, &enforcer).await
                == Some((Membership::Ban, true, false))
        })
        .await?;
        wait_until(DEFAULT_TIMEOUT, "the honest message shows", || async {
            in_history(cluster.node(node), room, fine.id())
                .await
                .is_some()
        })
        .await?;
        for event in late.iter().chain([&join]) {
            assert!(
                in_history(cluster.node(node), room, event.id())
                    .await
                    .is_none()
            );
        }
    }
    // The node's own software, if honest, refuses its users' submissions too.
    let refused = cluster
        .try_send(
            &spammers[0],
            room,
            kinds::MESSAGE,
            None,
            text_content("again"),
        )
        .await;
    assert!(refused.is_err(), "{refused:?}");
    cluster.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_purges_and_mutes_become_room_events_and_lift_with_their_rule() -> Result<()> {
    init_logs();
    let cluster = Cluster::start(2).await?;
    let moderator = cluster.user(0, "moderator").await?;
    let owner = cluster.user(0, "owner").await?;
    let enforcer = cluster.user(0, "enforcer").await?;
    let mallory = cluster.user(1, "mallory").await?;
    let trudy = cluster.user(1, "trudy").await?;
    let list = cluster.create_room(&moderator).await?;
    let room = cluster
        .create_subscribed_room(&owner, &enforcer, list, 1)
        .await?;
    cluster
        .node(0)
        .set_enforcer(UserSecret::from_seed(&enforcer.secret.expose_seed()))
        .await?;
    cluster.wait_holds(1, list, DEFAULT_TIMEOUT).await?;
    cluster.join(&mallory, room).await?;
    cluster.join(&trudy, room).await?;
    let spam = cluster.message(&mallory, room, "buy my coins").await?;
    let rude = cluster.message(&trudy, room, "you all stink").await?;
    for node in [0, 1] {
        for event in [&spam, &rude] {
            wait_until(DEFAULT_TIMEOUT, "the messages show", || async {
                in_history(cluster.node(node), room, event.id())
                    .await
                    .is_some()
            })
            .await?;
        }
    }

    // A plain ban first, then the same rule asks for the purge: the enforcer adds it.
    let mallory_target = Target::User(*mallory.key.as_bytes());
    let ban = |purge| rule(mallory_target.clone(), Recommendation::Ban, "scam", purge);
    cluster
        .send(&moderator, list, POLICY_RULE, Some("scam"), ban(false))
        .await?;
    let banned = (Membership::Ban, true, false);
    wait_member_on_both(
        &cluster,
        room,
        &mallory,
        &enforcer,
        banned,
        "the enforcer's ban",
    )
    .await?;
    cluster
        .send(&moderator, list, POLICY_RULE, Some("scam"), ban(true))
        .await?;
    let purged = (Membership::Ban, true, true);
    let what = "the enforcer's ban-and-purge";
    wait_member_on_both(&cluster, room, &mallory, &enforcer, purged, what).await?;
    // A mute rule: the enforcer mutes, in room state on both nodes.
    let mute_rule = rule(
        Target::User(*trudy.key.as_bytes()),
        Recommendation::Mute,
        "rude",
        false,
    );
    cluster
        .send(&moderator, list, POLICY_RULE, Some("rude"), mute_rule)
        .await?;
    for node in [0, 1] {
        wait_until(DEFAULT_TIMEOUT, "the enforcer's mute", || async {
            mute(cluster.node(node), room, &trudy, &enforcer).await == Some((true, true))
        })
        .await?;
    }
    // The mute is a room rule now: a message the muted user's node sends anyway is rejected.
    let muted_draft = draft(
        cluster.node(0),
        room,
        &trudy,
        kinds::MESSAGE,
        None,
        text_content("still rude"),
    )
    .await;
    assert!(
        muted_draft.is_err(),
        "a listed, muted user cannot even prepare: {muted_draft:?}"
    );

    // Removing both rules lifts the ban and the mute; the purge's redactions stay.
    for id in ["scam", "rude"] {
        cluster
            .send(&moderator, list, POLICY_RULE, Some(id), Content::new())
            .await?;
    }
    for node in [0, 1] {
        wait_until(DEFAULT_TIMEOUT, "the enforcer's unban", || async {
            member(cluster.node(node), room, &mallory, &enforcer).await
                == Some((Membership::Leave, true, false))
        })
        .await?;
        wait_until(DEFAULT_TIMEOUT, "the enforcer's unmute", || async {
            mute(cluster.node(node), room, &trudy, &enforcer).await == Some((false, true))
        })
        .await?;
        wait_until(
            DEFAULT_TIMEOUT,
            "the purged message shows redacted",
            || async {
                in_history(cluster.node(node), room, spam.id())
                    .await
                    .is_some_and(|e| !e.content().contains_key("body"))
            },
        )
        .await?;
        wait_until(
            DEFAULT_TIMEOUT,
            "the muted user's message shows again",
            || async {
                in_history(cluster.node(node), room, rude.id())
                    .await
                    .is_some_and(|e| e.content().contains_key("body"))
            },
        )
        .await?;
    }
    let after = cluster.message(&trudy, room, "sorry").await?;
    wait_until(DEFAULT_TIMEOUT, "the unmuted user speaks", || async {
        in_history(cluster.node(0), room, after.id())
            .await
            .is_some()
    })
    .await?;
    cluster.shutdown().await;
    Ok(())
}
