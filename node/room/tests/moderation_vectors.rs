//! `specs/test-vectors/moderation.json` (specs/moderation.md §1): a room history that uses every
//! moderation format (a mute level in power levels, a temporary mute, an unmute, a temporary
//! ban-and-purge with a reason), each event's canonical bytes, id and redacted form, and the
//! verdict every node must reach. The test rebuilds the history from fixed seeds and times and
//! compares it with the file (`CAUSERIE_WRITE_VECTORS=1` rewrites the file), then replays the
//! file's bytes alone into a fresh engine, as a second implementation would, and checks every
//! verdict.

#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use std::path::PathBuf;

use causerie_crypto::event::kinds;
use causerie_crypto::{Attestation, Content, Event, Value};
use causerie_room::{EventStatus, Membership, Outcome, PowerLevels, Room};
use serde_json::{Value as Json, json};
use support::*;

fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs/test-vectors/moderation.json")
}

/// `status` as the vectors spell it.
fn verdict(room: &Room, event: &Event) -> String {
    match room.status(&event.id()) {
        EventStatus::Accepted(shown) => match (shown.visible, shown.redacted) {
            (true, false) => "visible".into(),
            (true, true) => "visible_redacted".into(),
            (false, false) => "soft_failed".into(),
            (false, true) => "soft_failed_redacted".into(),
        },
        EventStatus::Rejected(reason) => {
            format!("rejected {} {}", reason.reason(), reason.detail())
        }
        other => format!("{other:?}"),
    }
}

fn with(mut content: Content, pairs: &[(&str, Value)]) -> Content {
    for (k, v) in pairs {
        content.insert((*k).to_owned(), v.clone());
    }
    content
}

/// The history, with a name for each event, in the order the author's node received them.
fn history() -> (Vec<&'static User>, Vec<(&'static str, Event)>, Room) {
    let alice: &'static User = Box::leak(Box::new(User::new(1)));
    let bob: &'static User = Box::leak(Box::new(User::new(2)));
    let eve: &'static User = Box::leak(Box::new(User::new(5)));
    let (mut view, created) = View::create(alice, &[bob, eve]);
    let mut events: Vec<(&'static str, Event)> =
        ["create", "alice_join", "power_levels", "join_rules"]
            .into_iter()
            .zip(created)
            .collect();
    let mut levels = PowerLevels {
        mute: 40,
        ..PowerLevels::default()
    };
    levels.users.insert(*bob.key.as_bytes(), 40);
    events.push(("bob_join", view.join(bob)));
    events.push(("eve_join", view.join(eve)));
    events.push((
        "power_levels_mute_40",
        view.send(alice, kinds::POWER_LEVELS, Some(""), levels.to_content()),
    ));
    events.push(("eve_message", view.message(eve, "purge me")));
    let mute_end = view.now + 60_000;
    events.push((
        "bob_mutes_eve",
        view.send(
            bob,
            kinds::MUTE,
            Some(&eve.hex()),
            with(
                Content::new(),
                &[
                    ("muted", Value::Bool(true)),
                    ("expires", Value::Integer(mute_end as i64)),
                    ("reason", "flooding".into()),
                ],
            ),
        ),
    ));
    let (muted_message, _) = view.try_send(eve, kinds::MESSAGE, None, text("body", "let me talk"));
    events.push(("eve_message_while_muted", muted_message));
    view.now = mute_end - 1;
    events.push((
        "eve_message_after_mute_end",
        view.message(eve, "the mute has ended"),
    ));
    events.push((
        "bob_unmutes_eve",
        view.send(
            bob,
            kinds::MUTE,
            Some(&eve.hex()),
            with(Content::new(), &[("muted", Value::Bool(false))]),
        ),
    ));
    let ban_end = view.now + 3_600_000;
    events.push((
        "alice_bans_and_purges_eve",
        view.send(
            alice,
            kinds::MEMBER,
            Some(&eve.hex()),
            with(
                member(Membership::Ban),
                &[
                    ("reason", "scam links".into()),
                    ("expires", Value::Integer(ban_end as i64)),
                    ("purge", Value::Bool(true)),
                ],
            ),
        ),
    ));
    let (early, _) = view.try_send(
        eve,
        kinds::MEMBER,
        Some(&eve.hex()),
        member(Membership::Join),
    );
    events.push(("eve_join_before_ban_end", early));
    view.now = ban_end - 1;
    events.push(("eve_join_at_ban_end", view.join(eve)));
    events.push(("eve_message_after_rejoin", view.message(eve, "I am back")));
    (vec![alice, bob, eve], events, view.room)
}

fn vectors() -> Json {
    let (users, events, room) = history();
    let users: Vec<Json> = users
        .iter()
        .map(|u| {
            json!({
                "seed": hex::encode(*u.secret.expose_seed()),
                "key": u.hex(),
                "attestation": hex::encode(u.attestation.as_bytes()),
            })
        })
        .collect();
    let events: Vec<Json> = events
        .iter()
        .map(|(name, event)| {
            json!({
                "name": name,
                "kind": event.kind(),
                "bytes": hex::encode(event.as_bytes()),
                "id": hex::encode(event.id().as_bytes()),
                "redacted_bytes": hex::encode(event.redacted().as_bytes()),
                "verdict": verdict(&room, event),
            })
        })
        .collect();
    json!({
        "description": "A room history using every moderation format of specs/moderation.md §1, in the order its author's node received them. users: seed (32 bytes, hex) of each user key, the key, and its attestation (canonical bytes, issued by the node of seed c8c8…c8). events: canonical bytes, id, the canonical bytes of the redacted form (events.md §5: same id and signature), and the verdict every node reaches once it holds all of them: visible, visible_redacted, soft_failed, soft_failed_redacted, or rejected <reason> <rule>. Offer them to an empty engine in this order (the receiver's clock past every origin_ts) to check an implementation.",
        "users": users,
        "events": events,
    })
}

#[test]
fn vectors_match_the_spec_file() {
    let built = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
    if std::env::var_os("CAUSERIE_WRITE_VECTORS").is_some() {
        std::fs::write(path(), &built).unwrap();
    }
    let stored = std::fs::read_to_string(path()).unwrap();
    assert_eq!(
        stored, built,
        "specs/test-vectors/moderation.json is stale: rerun with CAUSERIE_WRITE_VECTORS=1"
    );
}

#[test]
fn the_file_alone_gives_every_verdict() {
    let file: Json = serde_json::from_str(&std::fs::read_to_string(path()).unwrap()).unwrap();
    let bytes = |v: &Json, key: &str| hex::decode(v[key].as_str().unwrap()).unwrap();
    let events: Vec<(Json, Event)> = file["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v.clone(), Event::decode(&bytes(v, "bytes")).unwrap()))
        .collect();
    let mut room = Room::new(events[0].1.room_id());
    for user in file["users"].as_array().unwrap() {
        let attestation = Attestation::decode(&bytes(user, "attestation")).unwrap();
        room.add_attestation(attestation).unwrap();
    }
    let now = events.iter().map(|(_, e)| e.origin_ts()).max().unwrap() + 1;
    for (vector, event) in &events {
        assert_eq!(hex::encode(event.id().as_bytes()), vector["id"]);
        let redacted = Event::decode(&bytes(vector, "redacted_bytes")).unwrap();
        assert_eq!(redacted.id(), event.id(), "{}", vector["name"]);
        let receipt = room.receive(event.clone(), now);
        assert!(
            matches!(
                receipt.outcome_of(&event.id()),
                Some(Outcome::Accepted { .. } | Outcome::Rejected(_))
            ),
            "{}: {receipt:?}",
            vector["name"]
        );
    }
    for (vector, event) in &events {
        assert_eq!(
            verdict(&room, event),
            vector["verdict"],
            "{}",
            vector["name"]
        );
    }
    // The names say what the verdicts are.
    let verdict_of = |name: &str| {
        events
            .iter()
            .find(|(v, _)| v["name"] == name)
            .map(|(v, _)| v["verdict"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(verdict_of("eve_message"), "visible_redacted");
    assert_eq!(
        verdict_of("eve_message_while_muted"),
        "rejected auth_failed_own muted"
    );
    assert_eq!(
        verdict_of("eve_join_before_ban_end"),
        "rejected auth_failed_own banned"
    );
    assert_eq!(verdict_of("eve_message_after_rejoin"), "visible");
    assert_eq!(verdict_of("bob_mutes_eve"), "visible");
}
