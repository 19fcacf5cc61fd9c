//! Accountability across nodes (specs/accountability.md §1): three nodes A, B, C. A user homed
//! on A (attested by A) harasses in a room hosted on B and C; a user homed on C reports the
//! message. The room's moderators on B and C see it in their review queues; A's operator gets
//! it in its durable report queue with evidence that verifies offline (the reporter's signature,
//! the author's signature over the full text, the author's attestation by A), even after the
//! message was redacted. Receipts and status changes come back to the reporter; a report made
//! while A is down reaches A once A is back; a reporter whose reports are dismissed can be muted.

use std::collections::BTreeSet;

use causerie_crypto::report::{Category, Queue, Status, Target};
use causerie_crypto::{Event, Report, ReportId, RoomId};
use causerie_node::moderation::review::ReviewState;
use causerie_node::node::Node;
use causerie_node::reports::{ReportRequest, Reports, ReportsError, SentReport};
use causerie_room::content::PowerLevels;
use causerie_tests::cluster::{
    Cluster, DEFAULT_TIMEOUT, TestUser, event_ids, init_logs, text_content, wait_until,
};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// A node's key, read from its data directory (the node may be stopped).
fn node_key(cluster: &Cluster, index: usize) -> causerie_crypto::NodeKey {
    causerie_node::daemon::node_key(&cluster.nodes[index].config)
        .expect("node key")
        .public()
}

fn reports(cluster: &Cluster, index: usize) -> Reports {
    cluster.nodes[index].running().reports.clone()
}

/// Waits until nodes B and C hold `event`.
async fn wait_on_b_and_c(cluster: &Cluster, room: RoomId, event: &Event) {
    let id = event.id();
    wait_until(DEFAULT_TIMEOUT, "the event on B and C", || async {
        for index in [B, C] {
            match event_ids(cluster.node(index), room).await {
                Ok(ids) if ids.contains(&id) => {}
                _ => return false,
            }
        }
        true
    })
    .await
    .expect("B and C hold the event");
}

/// Prepares, signs (with the reporter's own key) and submits a report on the reporter's node.
async fn report(
    cluster: &Cluster,
    reporter: &TestUser,
    request: ReportRequest,
) -> Result<SentReport, ReportsError> {
    let reports = reports(cluster, reporter.home);
    let draft = reports.prepare(reporter.key, request).await?;
    let report = draft.sign(&reporter.secret).expect("signed");
    reports.submit(reporter.key, report).await
}

fn harassment(event: &Event, text: &str) -> ReportRequest {
    ReportRequest {
        target: Target::Event,
        category: Category::Harassment,
        text: text.into(),
        room: None,
        user: None,
        events: vec![event.id()],
    }
}

async fn review_has(node: &Node, room: RoomId, event: &Event) -> bool {
    node.review()
        .items(room, None, 100)
        .await
        .map(|items| {
            items.iter().any(|(_, entry)| {
                entry.state == ReviewState::Reported
                    && entry.event.id() == event.id()
                    && entry.event.content_str("body").is_some()
            })
        })
        .unwrap_or(false)
}

async fn in_operator_queue(reports: &Reports, id: ReportId) -> bool {
    reports
        .received(Some(Queue::Operator), None, 256)
        .await
        .map(|list| list.iter().any(|r| r.report.id() == id))
        .unwrap_or(false)
}

/// The receipt statuses `reporter` holds for report `id`, as (node index, queue, status).
async fn statuses(
    cluster: &Cluster,
    reporter: &TestUser,
    id: ReportId,
) -> BTreeSet<(usize, &'static str, &'static str)> {
    let Ok(Some(sent)) = reports(cluster, reporter.home)
        .sent_report(reporter.key, id)
        .await
    else {
        return BTreeSet::new();
    };
    sent.receipts
        .iter()
        .filter_map(|r| {
            let index = (0..3).find(|i| node_key(cluster, *i) == *r.node())?;
            Some((index, r.queue().name(), r.status().name()))
        })
        .collect()
}

async fn wait_statuses(
    cluster: &Cluster,
    reporter: &TestUser,
    id: ReportId,
    expected: &[(usize, &'static str, &'static str)],
) {
    let expected: BTreeSet<_> = expected.iter().copied().collect();
    let what = format!("receipts {expected:?}");
    let result = wait_until(DEFAULT_TIMEOUT, &what, || async {
        expected.is_subset(&statuses(cluster, reporter, id).await)
    })
    .await;
    if result.is_err() {
        panic!(
            "{what}; the reporter holds {:?}",
            statuses(cluster, reporter, id).await
        );
    }
}

struct Scene {
    cluster: Cluster,
    room: RoomId,
    harasser: TestUser,
    mod_b: TestUser,
    carol: TestUser,
}

/// A room created on B by `mod_b`, joined by C; `mod_c` (homed on C) has moderator power;
/// `carol` (homed on C) is a member; the harasser, attested by A, writes through B.
async fn scene() -> Scene {
    init_logs();
    let cluster = Cluster::start(3).await.expect("cluster starts");
    let harasser = cluster.user(A, "harasser").await.expect("user");
    let mod_b = cluster.user(B, "mod-b").await.expect("user");
    let mod_c = cluster.user(C, "mod-c").await.expect("user");
    let carol = cluster.user(C, "carol").await.expect("user");
    let room = cluster.create_room(&mod_b).await.expect("room on B");
    cluster.join_room(C, room, B).await.expect("C joins");
    cluster.join(&mod_c, room).await.expect("mod_c joins");
    cluster.join(&carol, room).await.expect("carol joins");
    let mut levels = PowerLevels::default();
    levels.users.insert(*mod_c.key.as_bytes(), 50);
    cluster
        .send(
            &mod_b,
            room,
            causerie_crypto::event::kinds::POWER_LEVELS,
            Some(""),
            levels.to_content(),
        )
        .await
        .expect("mod_c made moderator");
    // The harasser is homed on A (A attests the key) and writes through B, which knows the
    // attestation; A does not host the room.
    cluster
        .node(B)
        .add_attestation(harasser.attestation.clone())
        .await
        .expect("B knows the attestation");
    let mut via_b = harasser.clone();
    via_b.home = B;
    cluster.join(&via_b, room).await.expect("harasser joins");
    Scene {
        cluster,
        room,
        harasser: via_b,
        mod_b,
        carol,
    }
}

async fn harass(scene: &Scene, body: &str) -> Event {
    let event = scene
        .cluster
        .send(
            &scene.harasser,
            scene.room,
            causerie_crypto::event::kinds::MESSAGE,
            None,
            text_content(body),
        )
        .await
        .expect("message accepted");
    wait_on_b_and_c(&scene.cluster, scene.room, &event).await;
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_reaches_the_moderators_and_the_authors_home_node_with_evidence() {
    let scene = scene().await;
    let cluster = &scene.cluster;
    let message = harass(&scene, "I know where you live, and I will come").await;

    let sent = report(
        cluster,
        &scene.carol,
        harassment(&message, "he threatens me"),
    )
    .await
    .expect("report taken");
    let id = sent.report.id();
    let a_key = node_key(cluster, A);
    assert!(
        sent.recipients.contains(&a_key),
        "the author's home node is a recipient: {:?}",
        sent.recipients
    );

    // B's and C's moderators see it in the room's review queue, with the full text.
    for index in [B, C] {
        wait_until(DEFAULT_TIMEOUT, "the report in the review queue", || {
            review_has(cluster.node(index), scene.room, &message)
        })
        .await
        .unwrap_or_else(|e| panic!("node {index}: {e}"));
    }
    // A's operator has it in its durable queue.
    let a_reports = reports(cluster, A);
    wait_until(DEFAULT_TIMEOUT, "the report in A's operator queue", || {
        in_operator_queue(&a_reports, id)
    })
    .await
    .expect("A's operator queue");
    wait_statuses(
        cluster,
        &scene.carol,
        id,
        &[
            (A, "operator", "received"),
            (B, "review", "received"),
            (C, "review", "received"),
        ],
    )
    .await;

    // B's moderator removes the message (the review items go with it): the content is gone
    // from the room...
    let redaction = cluster
        .send(
            &scene.mod_b,
            scene.room,
            causerie_crypto::event::kinds::REDACTION,
            None,
            {
                let mut content = causerie_crypto::Content::new();
                content.insert(
                    "redacts".into(),
                    causerie_crypto::Value::Bytes(message.id().as_bytes().to_vec()),
                );
                content
            },
        )
        .await
        .expect("redaction accepted");
    wait_on_b_and_c(cluster, scene.room, &redaction).await;
    wait_until(DEFAULT_TIMEOUT, "the message redacted on B", || async {
        cluster
            .node(B)
            .events(vec![message.id()])
            .await
            .map(|events| events.first().is_some_and(Event::is_redacted))
            .unwrap_or(false)
    })
    .await
    .expect("redacted on B");

    // ...but A's copy of the report still proves, offline, who wrote exactly what.
    let held = a_reports
        .received_report(id)
        .await
        .expect("read")
        .expect("held");
    let offline = Report::decode(held.report.as_bytes()).expect("the report verifies");
    assert_eq!(offline.reporter(), &scene.carol.key);
    let evidence = &offline.events()[0];
    assert_eq!(evidence.id(), message.id());
    assert_eq!(evidence.author(), &scene.harasser.key);
    assert!(!evidence.is_redacted());
    assert_eq!(
        evidence.content_str("body"),
        Some("I know where you live, and I will come")
    );
    let attestation = cluster
        .node(A)
        .accounts()
        .attestation(*evidence.attestation())
        .await
        .expect("read")
        .expect("A holds the attestation it issued");
    assert_eq!(attestation.home_node(), &a_key);
    assert_eq!(attestation.user(), &scene.harasser.key);

    // A's operator actions it; the reporter sees every status change.
    a_reports
        .decide(
            id,
            Queue::Operator,
            Status::Actioned,
            Some("account suspended".into()),
        )
        .await
        .expect("A's operator actions it");
    wait_statuses(
        cluster,
        &scene.carol,
        id,
        &[
            (A, "operator", "actioned"),
            // The redaction removed the message: both review queues count it as actioned.
            (B, "review", "actioned"),
            (C, "review", "actioned"),
        ],
    )
    .await;
    let sent = reports(cluster, C)
        .sent_report(scene.carol.key, id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(sent.summary(), "actioned");
    // A's audit log holds the report's arrival and the operator's decision.
    let entries = cluster
        .node(A)
        .audit()
        .entries(0, 100)
        .await
        .expect("audit log");
    let kinds: Vec<&str> = entries
        .iter()
        .filter(|e| e.subject() == id.to_string())
        .map(|e| e.kind_name())
        .collect();
    assert_eq!(kinds, ["report_received", "report_actioned"]);
    scene.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_made_while_the_home_node_is_down_reaches_it_once_back() {
    let mut scene = scene().await;
    let message = harass(&scene, "nobody wants you here").await;
    scene.cluster.stop(A).await;
    let sent = report(&scene.cluster, &scene.carol, harassment(&message, "again"))
        .await
        .expect("report taken while A is down");
    let id = sent.report.id();
    wait_statuses(
        &scene.cluster,
        &scene.carol,
        id,
        &[(B, "review", "received"), (C, "review", "received")],
    )
    .await;
    assert!(
        reports(&scene.cluster, C)
            .outbox_len()
            .await
            .expect("outbox")
            >= 1,
        "the letter to A waits in C's outbox"
    );
    scene.cluster.restart(A, true).await.expect("A is back");
    let a_reports = reports(&scene.cluster, A);
    wait_until(
        DEFAULT_TIMEOUT,
        "the report in A's queue after A came back",
        || in_operator_queue(&a_reports, id),
    )
    .await
    .expect("delivered once A is back");
    wait_statuses(
        &scene.cluster,
        &scene.carol,
        id,
        &[(A, "operator", "received")],
    )
    .await;
    scene.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_rate_limited_and_a_dismissed_reporter_can_be_muted() {
    let scene = scene().await;
    let cluster = &scene.cluster;
    let message = harass(&scene, "some message").await;
    let a_reports = reports(cluster, A);
    // Three reports about the same message, each dismissed by A's operator.
    let mut ids = Vec::new();
    for n in 0..3 {
        let sent = report(
            cluster,
            &scene.carol,
            harassment(&message, &format!("report {n}")),
        )
        .await
        .expect("report taken");
        ids.push(sent.report.id());
    }
    for id in &ids {
        wait_until(DEFAULT_TIMEOUT, "in A's queue", || {
            in_operator_queue(&a_reports, *id)
        })
        .await
        .expect("in A's queue");
        a_reports
            .decide(
                *id,
                Queue::Operator,
                Status::Dismissed,
                Some("not abuse".into()),
            )
            .await
            .expect("dismissed");
    }
    let c_reports = reports(cluster, C);
    wait_until(
        DEFAULT_TIMEOUT,
        "three dismissals in carol's standing",
        || async {
            c_reports
                .standing(scene.carol.key)
                .await
                .map(|s| s.dismissed >= 3)
                .unwrap_or(false)
        },
    )
    .await
    .expect("dismissals counted on carol's home node");
    // C's operator mutes carol for reporting: her next report is refused.
    c_reports
        .set_muted(scene.carol.key, true)
        .await
        .expect("muted");
    let refused = report(cluster, &scene.carol, harassment(&message, "once more")).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.reason()),
        Err("reporting_muted")
    );
    // A muted reporter on A's side is answered `dismissed` without entering A's queue.
    c_reports
        .set_muted(scene.carol.key, false)
        .await
        .expect("unmuted");
    a_reports
        .set_muted(scene.carol.key, true)
        .await
        .expect("muted on A");
    let sent = report(
        cluster,
        &scene.carol,
        harassment(&message, "from a muted reporter"),
    )
    .await
    .expect("taken by C");
    let id = sent.report.id();
    wait_statuses(cluster, &scene.carol, id, &[(A, "operator", "dismissed")]).await;
    assert!(!in_operator_queue(&a_reports, id).await);
    // A burst of ten reports per reporter (four taken above): a flood is cut short.
    let mut limited = None;
    for n in 0..10 {
        match report(
            cluster,
            &scene.carol,
            harassment(&message, &format!("flood {n}")),
        )
        .await
        {
            Ok(_) => {}
            Err(e) => {
                limited = Some(e.reason());
                break;
            }
        }
    }
    assert_eq!(limited, Some("rate_limited"));
    scene.cluster.shutdown().await;
}
