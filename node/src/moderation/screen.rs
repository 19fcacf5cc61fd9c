//! The classifier on the path of events from peers (specs/moderation.md §6.4): a task between
//! the node actor's announcements and everything that follows them (live streams, relaying).
//!
//! Events from peers are stored by the room's rules before the classifier is asked (room state
//! stays a function of the event set). Each accepted, shown event of a classified kind whose
//! author is not homed on this node is asked about; until its ruling, it and every later
//! announcement of the same room wait, so a room's order is kept while other rooms flow on.
//! `reject`, `hold` or a fail-closed failure hide the event on this node: it is announced as not
//! visible (streams skip it, the network does not relay it), queued for review as `hidden`,
//! and left out of history pages. `labels` shows it and queues it as `flagged`.
//!
//! Local submissions were asked before the node took them (`api/review.rs`) and pass at once.

use std::collections::{BTreeMap, VecDeque};

use causerie_crypto::{Event, EventId, NodeKey, RoomId};
use tokio::sync::broadcast;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::classifier::{Candidate, CandidateSource, Classifier, Decision, RuledBy, Ruling};
use super::review::{Review, ReviewEntry, ReviewState, classified_kind};
use crate::api::json::{attestation_json, content_to_json};
use crate::clock::now_ms;
use crate::node::{Node, NodeEvent, SenderProfile};

/// Most events waiting in the screen, over all rooms. Beyond it, a new event's room fail mode
/// decides at once (`classifier_overloaded`) instead of the classifier; it still waits behind
/// its room's earlier events.
pub const MAX_SCREEN_PENDING: usize = 4_096;

/// One announcement waiting for its turn.
struct Waiting {
    event: NodeEvent,
    /// `None` while the classifier decides; `Some(false)` hides it.
    shown: Option<bool>,
}

/// Starts the screen: it reads the actor's announcements and republishes them on `out`.
pub fn spawn(
    node: &Node,
    classifier: Classifier,
    out: broadcast::Sender<NodeEvent>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let raw = node.subscribe_unscreened();
    let review = node.review();
    let key = node.key();
    tokio::spawn(run(raw, out, classifier, review, key, shutdown))
}

/// Whether the event's author is homed on this node (their submissions were asked already).
fn is_local(sender: &SenderProfile, key: &NodeKey) -> bool {
    sender
        .attestation
        .as_ref()
        .is_some_and(|a| a.home_node() == key)
}

async fn run(
    mut raw: broadcast::Receiver<NodeEvent>,
    out: broadcast::Sender<NodeEvent>,
    classifier: Classifier,
    review: Review,
    key: NodeKey,
    shutdown: CancellationToken,
) {
    let mut rooms: BTreeMap<RoomId, VecDeque<Waiting>> = BTreeMap::new();
    let mut pending = 0usize;
    let mut deciding: JoinSet<(RoomId, EventId, bool)> = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(done) = deciding.join_next() => {
                // A panicking decision task is a bug; its event stays undecided and hidden.
                let Ok((room, id, shown)) = done else { continue };
                if let Some(queue) = rooms.get_mut(&room) {
                    for waiting in queue.iter_mut() {
                        if let NodeEvent::Accepted { event, .. } = &waiting.event
                            && event.id() == id
                            && waiting.shown.is_none()
                        {
                            waiting.shown = Some(shown);
                            break;
                        }
                    }
                }
                pending -= flush(&mut rooms, room, &out);
            }
            received = raw.recv() => match received {
                Ok(event) => {
                    let room = match &event {
                        NodeEvent::Accepted { room, .. } => *room,
                        _ => {
                            let _ = out.send(event);
                            continue;
                        }
                    };
                    let ask = match &event {
                        NodeEvent::Accepted { event, visible: true, sender, .. } => {
                            classified_kind(event.kind(), event.state_key().is_some())
                                && !is_local(sender, &key)
                        }
                        _ => false,
                    };
                    let queue = rooms.entry(room).or_default();
                    if !ask && queue.is_empty() {
                        rooms.remove(&room);
                        let _ = out.send(event);
                        continue;
                    }
                    if ask && let NodeEvent::Accepted { event: inner, sender, .. } = &event {
                        // Hidden from history pages while undecided.
                        review.hide(inner.id());
                        let attestation = sender.attestation.as_ref().map(attestation_json);
                        deciding.spawn(decide(
                            inner.clone(),
                            attestation,
                            classifier.clone(),
                            review.clone(),
                            pending >= MAX_SCREEN_PENDING,
                        ));
                    }
                    queue.push_back(Waiting { event, shown: if ask { None } else { Some(true) } });
                    pending += 1;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the classifier screen fell behind the node's announcements");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    deciding.abort_all();
}

/// Sends the decided announcements at the head of `room`'s queue; returns how many.
fn flush(
    rooms: &mut BTreeMap<RoomId, VecDeque<Waiting>>,
    room: RoomId,
    out: &broadcast::Sender<NodeEvent>,
) -> usize {
    let Some(queue) = rooms.get_mut(&room) else {
        return 0;
    };
    let mut sent = 0;
    while let Some(Waiting {
        shown: Some(shown), ..
    }) = queue.front()
    {
        let shown = *shown;
        let Some(waiting) = queue.pop_front() else {
            break;
        };
        let event = match waiting.event {
            NodeEvent::Accepted {
                room,
                event,
                visible,
                sender,
            } => NodeEvent::Accepted {
                room,
                event,
                visible: visible && shown,
                sender,
            },
            other => other,
        };
        let _ = out.send(event);
        sent += 1;
    }
    if queue.is_empty() {
        rooms.remove(&room);
    }
    sent
}

/// Asks the classifier about a peer's event (or lets the room's fail mode decide when the
/// screen is full), queues it for review when it must be, and says whether it is shown.
async fn decide(
    event: Event,
    attestation: Option<serde_json::Value>,
    classifier: Classifier,
    review: Review,
    overloaded: bool,
) -> (RoomId, EventId, bool) {
    let room = event.room_id();
    let id = event.id();
    let room_rule = review.room_fail_mode(room).await.ok().flatten();
    let mode = classifier.fail_mode(&room, room_rule);
    let candidate = Candidate {
        id,
        room,
        author: *event.author(),
        kind: event.kind().to_owned(),
        content: content_to_json(event.content()),
        attestation,
        source: CandidateSource::Peer(None),
        received_ms: now_ms(),
    };
    let ruling = if overloaded {
        classifier.fail(&candidate, mode, super::classifier::Failure::Overloaded)
    } else {
        classifier.classify(&candidate, mode).await
    };
    let state = match ruling.decision {
        Decision::Accept => {
            review.unhide(&id);
            return (room, id, true);
        }
        Decision::Labels { .. } => ReviewState::Flagged,
        Decision::Reject { .. } | Decision::Hold { .. } => ReviewState::Hidden,
    };
    let shown = state == ReviewState::Flagged;
    if shown {
        review.unhide(&id);
    }
    let entry = ReviewEntry {
        state,
        event,
        source: CandidateSource::Peer(None).wire(),
        ruled_by: ruled_by(&ruling),
        reason: ruling.reason(),
        labels: ruling.labels().to_vec(),
        queued_ms: now_ms(),
    };
    if let Err(e) = review.queue(&entry).await {
        tracing::warn!(%room, event = %id, reason = e.reason(), "not queued for review; hidden on this node until restart");
    }
    (room, id, shown)
}

/// `classifier`, or the fail mode that decided.
pub(crate) fn ruled_by(ruling: &Ruling) -> String {
    match ruling.by {
        RuledBy::FailMode(mode, _) => mode.name().to_owned(),
        _ => "classifier".to_owned(),
    }
}
