//! The node actor and its handles on a real sled store, without the network: what subscribers
//! are told (each accepted event once, with its sender's profile, whether an ingest accepted it
//! or an attestation released it), the accounts handle that reads the store directly while its
//! writes keep handles unique, and the durable inbox of node letters.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "support/net.rs"]
mod net_support;

use causerie_node::letter::{LetterError, NodeLetter};
use causerie_node::node::{NodeError, NodeEvent};
use causerie_storage::Account;
use net_support::*;
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(30);

/// A node actor over a sled store in `dir`, with no network.
fn spawn_node(dir: &std::path::Path) -> (Node, NodeTask) {
    let store = SledStore::open(dir.join("store")).unwrap();
    let ledger = Ledger::open(store, now_ms()).unwrap();
    Node::spawn(ledger, std::sync::Arc::new(NodeSecret::from_seed(&[7; 32])))
}

async fn stop(node: Node, task: NodeTask) {
    node.shutdown().await;
    tokio::task::spawn_blocking(move || task.join())
        .await
        .unwrap();
}

/// The next announced accepted event, within [`WAIT`].
async fn next_accepted(
    announcements: &mut broadcast::Receiver<NodeEvent>,
) -> (Event, causerie_node::node::SenderProfile) {
    loop {
        let announced = tokio::time::timeout(WAIT, announcements.recv())
            .await
            .expect("an announcement")
            .unwrap();
        if let NodeEvent::Accepted { event, sender, .. } = announced {
            return (event, sender);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_and_released_events_are_announced_once_with_their_sender() {
    let dir = tempfile::tempdir().unwrap();
    let (node, task) = spawn_node(dir.path());
    let mut announcements = node.subscribe();
    let (mut author, mut events) = Author::create(11);
    let mut profile = Content::new();
    profile.insert("membership".into(), Value::Text("join".into()));
    profile.insert("display_name".into(), Value::Text("Ada".into()));
    events.push(author.send(kinds::MEMBER, Some(&hex_key(&author)), profile));
    events.push(author.message("before the attestation"));

    // Without the author's attestation every event waits; only the room is announced.
    for outcome in node.ingest(events.clone()).await.unwrap() {
        assert!(
            matches!(outcome.outcome, IngestOutcome::Held { .. }),
            "{outcome:?}"
        );
    }
    let room = events[0].room_id();
    assert!(matches!(announcements.try_recv(), Ok(NodeEvent::RoomAdded(r)) if r == room));
    assert!(announcements.try_recv().is_err());

    // The attestation releases them: each announced once, in order, with the profile.
    node.add_attestation(author.attestation.clone())
        .await
        .unwrap();
    for expected in &events {
        let (event, sender) = next_accepted(&mut announcements).await;
        assert_eq!(event.id(), expected.id());
        let attestation = sender.attestation.expect("the author's attestation");
        assert_eq!(attestation.id(), author.attestation.id());
        assert_eq!(attestation.handle(), "user11");
    }

    // An ingested event is announced with the display name now in the room's state.
    let message = author.message("after the attestation");
    ingest_accepted(&node, vec![message.clone()]).await;
    let (event, sender) = next_accepted(&mut announcements).await;
    assert_eq!(event.id(), message.id());
    assert_eq!(sender.display_name.as_deref(), Some("Ada"));
    assert_eq!(
        sender.attestation.map(|a| a.id()),
        Some(author.attestation.id())
    );
    assert!(announcements.try_recv().is_err(), "announced once");
    stop(node, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_read_from_the_store_and_handles_stay_unique() {
    let dir = tempfile::tempdir().unwrap();
    let (node, task) = spawn_node(dir.path());
    let accounts = node.accounts();
    let (alice, _) = Author::create(12);
    let (bob, _) = Author::create(13);
    let account = |author: &Author, handle: &str| Account {
        attestation: author.attestation.id(),
        display_name: handle.to_uppercase(),
        handle: handle.into(),
        registered_ms: 1,
        user: author.secret.public(),
    };
    let user = alice.secret.public();
    assert_eq!(accounts.by_user(user).await.unwrap(), None);
    accounts
        .put(account(&alice, "alice"), Some(alice.attestation.clone()))
        .await
        .unwrap();
    assert_eq!(
        accounts.by_handle("alice".into()).await.unwrap(),
        Some(account(&alice, "alice"))
    );
    assert_eq!(
        accounts.by_user(user).await.unwrap().unwrap().display_name,
        "ALICE"
    );
    let stored = accounts.attestation(alice.attestation.id()).await.unwrap();
    assert_eq!(stored.map(|a| a.id()), Some(alice.attestation.id()));
    let latest = accounts
        .attestations_of(vec![user, bob.secret.public()])
        .await
        .unwrap();
    assert_eq!(latest.keys().copied().collect::<Vec<_>>(), [user]);

    // Another user cannot take the handle; nothing of theirs is stored.
    let refused = accounts
        .put(account(&bob, "alice"), None)
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), "handle_taken");
    assert_eq!(accounts.by_user(bob.secret.public()).await.unwrap(), None);

    // Once the actor has stopped, the store is closed and the handle says so.
    let accounts_after = node.accounts();
    stop(node, task).await;
    assert!(matches!(
        accounts_after.by_user(user).await,
        Err(NodeError::Stopped)
    ));

    // The account is durable: a new actor on the same store reads it back.
    let (node, task) = spawn_node(dir.path());
    assert_eq!(
        node.accounts().by_handle("alice".into()).await.unwrap(),
        Some(account(&alice, "alice"))
    );
    stop(node, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_letters_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (node, task) = spawn_node(dir.path());
    let sender = NodeSecret::from_seed(&[8; 32]);
    let letter =
        |to, body: &[u8]| NodeLetter::sign(&sender, to, "report", body.to_vec(), now_ms()).unwrap();
    let inbox = node.inbox();
    let kept = inbox
        .deliver(letter(node.key(), b"evidence"))
        .await
        .unwrap();
    let handled = inbox.deliver(letter(node.key(), b"handled")).await.unwrap();
    assert!(inbox.remove(handled).await.unwrap());
    // A letter for another node is refused and not kept.
    let elsewhere = NodeSecret::from_seed(&[9; 32]).public();
    assert!(matches!(
        inbox.deliver(letter(elsewhere, b"not yours")).await,
        Err(NodeError::Letter(LetterError::WrongRecipient))
    ));
    stop(node, task).await;

    // Reopened from disk: the letter is still there, verified again on the way out.
    let (node, task) = spawn_node(dir.path());
    let letters = node.inbox().letters(None, 10).await.unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].0, kept);
    assert_eq!(letters[0].1.body(), b"evidence");
    assert_eq!(letters[0].1.from(), &sender.public());
    assert_eq!(node.inbox().count().await.unwrap(), 1);
    stop(node, task).await;
}
