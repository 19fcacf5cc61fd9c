//! Content rules as room rules (specs/moderation.md §2): rejection against a message's own auth
//! events, soft-fail against the effective state, exemption by power, slow mode in any arrival
//! order, redacted messages judged alike on every node, the join-wave breaker, and the vectors
//! of specs/test-vectors/content-rules.json.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

#[path = "support/room.rs"]
mod support;

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, Value};
use causerie_room::{ContentRules, Membership, RuleBreak};
use serde_json::Value as Json;
use support::*;

fn json_value(json: &Json) -> Value {
    match json {
        Json::String(t) => Value::Text(t.clone()),
        Json::Number(n) => Value::Integer(n.as_i64().unwrap()),
        Json::Array(items) => Value::Array(items.iter().map(json_value).collect()),
        Json::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        ),
        other => panic!("no such content in the vectors: {other}"),
    }
}

fn json_content(json: &Json) -> Content {
    match json_value(json) {
        Value::Map(map) => map,
        _ => panic!("rules are an object"),
    }
}

fn vectors() -> Json {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../specs/test-vectors/content-rules.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rules_content(pairs: &[(&str, Value)]) -> Content {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn set_rules(view: &mut View, by: &User, rules: Content) -> Event {
    view.send(by, kinds::CONTENT_RULES, Some(""), rules)
}

fn blocked(words: &[&str]) -> Content {
    rules_content(&[(
        "blocked_words",
        Value::Array(words.iter().map(|w| (*w).into()).collect()),
    )])
}

fn outcome_detail(view: &mut View, user: &User, body: &str) -> (Event, Option<&'static str>) {
    let (event, receipt) = view.try_send(user, kinds::MESSAGE, None, text("body", body));
    let detail = rejection(&receipt, &event).map(|(_, rule)| rule);
    (event, detail)
}

#[test]
fn vectors_content_checks() {
    let vectors = vectors();
    for case in vectors["content_checks"].as_array().unwrap() {
        let rules = ContentRules::parse(&json_content(&case["rules"])).unwrap();
        let verdict = rules.check_body(
            case["body"].as_str().unwrap(),
            case["sent_at_ms"].as_u64().unwrap(),
            case["joined_at_ms"].as_u64().unwrap(),
        );
        let got = verdict.err().map_or("ok", |b| b.reason());
        assert_eq!(got, case["expect"].as_str().unwrap(), "{}", case["name"]);
    }
    for case in vectors["invalid_rules"].as_array().unwrap() {
        let err = ContentRules::parse(&json_content(&case["rules"])).unwrap_err();
        assert_eq!(
            err,
            causerie_room::AuthError::BadContent(match case["problem"].as_str().unwrap() {
                "bad_max_message_bytes" => "bad_max_message_bytes",
                "bad_blocked_words" => "bad_blocked_words",
                "bad_pattern" => "bad_pattern",
                "bad_links" => "bad_links",
                "bad_max_mentions" => "bad_max_mentions",
                "bad_slow_mode_ms" => "bad_slow_mode_ms",
                "bad_classifier" => "bad_classifier",
                "bad_join_wave" => "bad_join_wave",
                "bad_lockdown" => "bad_lockdown",
                other => panic!("unknown problem {other}"),
            }),
            "{}",
            case["rules"]
        );
    }
}

/// A room whose rules are set at `T0 + 1 day`, with bob joined.
fn room_with(rules: Content) -> (View, User, User) {
    let (alice, bob) = (User::new(1), User::new(2));
    let mut view = View::with_members(&alice, &[&bob]);
    view.now = T0 + DAY_MS;
    set_rules(&mut view, &alice, rules);
    (view, alice, bob)
}

#[test]
fn vectors_slow_mode_in_both_arrival_orders() {
    for case in vectors()["slow_mode"].as_array().unwrap() {
        let slow = case["slow_mode_ms"].as_i64().unwrap();
        let (base, _, bob) = room_with(rules_content(&[("slow_mode_ms", Value::Integer(slow))]));
        let base_ts = base.now + 10_000;
        // Each message on its own fork of the base, so that any arrival order is possible.
        let messages: Vec<Event> = case["messages_ts"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, ts)| {
                let mut fork = base.clone();
                fork.now = base_ts + ts.as_u64().unwrap() - 1;
                fork.message(&bob, &format!("message {i}"))
            })
            .collect();
        let expected: Vec<bool> = case["soft_failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        for order in [false, true] {
            let mut view = base.clone();
            view.now = base_ts + 100_000;
            let mut list = messages.clone();
            if order {
                list.reverse();
            }
            view.deliver(&list);
            let got: Vec<bool> = messages.iter().map(|m| !view.visible(m)).collect();
            assert!(messages.iter().all(|m| view.accepted(m)));
            assert_eq!(got, expected, "{} (reversed: {order})", case["name"]);
        }
    }
}

#[test]
fn vectors_join_wave() {
    for case in vectors()["join_wave"].as_array().unwrap() {
        let mut wave = std::collections::BTreeMap::new();
        wave.insert("max_joins".to_owned(), json_value(&case["max_joins"]));
        wave.insert("window_ms".to_owned(), json_value(&case["window_ms"]));
        let alice = User::new(1);
        let joiners: Vec<User> = (10..40).map(User::new).collect();
        let refs: Vec<&User> = joiners.iter().collect();
        let (mut view, _) = View::create(&alice, &refs);
        view.now = T0 + DAY_MS;
        set_rules(
            &mut view,
            &alice,
            rules_content(&[("join_wave", Value::Map(wave))]),
        );
        let base = T0 + 2 * DAY_MS;
        let times = case["joins_ts"].as_array().unwrap();
        for (user, ts) in joiners.iter().zip(times) {
            view.now = base + ts.as_u64().unwrap() - 1;
            view.join(user);
        }
        let late = &joiners[times.len()];
        view.now = base + case["join_at_ms"].as_u64().unwrap() - 1;
        let got = view
            .rejected_by(
                late,
                kinds::MEMBER,
                Some(&late.hex()),
                member(Membership::Join),
            )
            .unwrap_or("ok");
        assert_eq!(got, case["expect"].as_str().unwrap(), "{}", case["name"]);
        let knocker = &joiners[times.len() + 1];
        let knock = member(Membership::Knock);
        let knocked = view
            .rejected_by(knocker, kinds::MEMBER, Some(&knocker.hex()), knock)
            .unwrap_or("ok");
        assert_eq!(
            knocked,
            case["knock_expect"].as_str().unwrap(),
            "knock: {}",
            case["name"]
        );
        if got == "join_wave" {
            // An invited user still gets in.
            view.set_member(&alice, late, Membership::Invite);
            view.join(late);
        }
    }
}

#[test]
fn a_rule_breaking_message_is_rejected_against_its_own_auth_events() {
    let (mut view, alice, bob) = room_with(blocked(&["scam"]));
    let (_, detail) = outcome_detail(&mut view, &bob, "a ѕсаm, obviously");
    assert_eq!(detail, Some("blocked_word"));
    let (fine, detail) = outcome_detail(&mut view, &bob, "scampi");
    assert_eq!(detail, None);
    assert!(view.visible(&fine));
    // Moderators (at or above the kick level by default) are exempt.
    let (own, detail) = outcome_detail(&mut view, &alice, "quoting: scam");
    assert_eq!(detail, None);
    assert!(view.visible(&own));
    // The draft lists the rules among its auth events.
    let draft = view.draft(&bob, kinds::MESSAGE, None, text("body", "x"));
    let rules = view.state_id(kinds::CONTENT_RULES, "").unwrap();
    assert!(draft.auth_events.contains(&rules));
}

#[test]
fn a_message_made_without_the_rules_is_soft_failed_then_shown_once_redacted() {
    let (alice, bob) = (User::new(1), User::new(2));
    let mut view = View::with_members(&alice, &[&bob]);
    // Bob's modified client builds on history that has no rules yet.
    let mut stale = view.clone();
    let spam = stale.message(&bob, "buy now: total scam");
    set_rules(&mut view, &alice, blocked(&["scam"]));
    view.deliver(std::slice::from_ref(&spam));
    assert!(view.accepted(&spam) && !view.visible(&spam));
    assert_eq!(
        view.room.check_submission(&spam).map_err(|(rule, _)| rule),
        Err(RuleBreak::BlockedWord)
    );
    // A moderator redacts it: its body is gone, so the rules no longer judge it; a node that
    // only ever held the redacted form agrees.
    let mut stripped = view.clone();
    let redact = view.send(&alice, kinds::REDACTION, None, redaction(&spam));
    assert!(view.visible(&spam));
    assert!(view.room.shown_event(&spam.id()).unwrap().is_redacted());
    let mut other = View::empty(spam.room_id(), view.now, &[&alice, &bob]);
    let mut by_depth = view.accepted_events();
    by_depth.sort_by_key(|e| e.depth());
    for event in by_depth {
        let event = if event.id() == spam.id() {
            event.redacted()
        } else {
            event
        };
        other.deliver(&[event]);
    }
    assert_eq!(other.room.timeline(), view.room.timeline());
    stripped.deliver(&[redact]);
    assert_eq!(stripped.room.timeline(), view.room.timeline());
}

#[test]
fn slow_mode_submission_check_says_how_long_to_wait() {
    let (mut view, alice, bob) =
        room_with(rules_content(&[("slow_mode_ms", Value::Integer(30_000))]));
    let first = view.message(&bob, "one");
    assert!(view.visible(&first));
    let draft = view.draft(&bob, kinds::MESSAGE, None, text("body", "two"));
    let second = draft.sign(&bob.secret).unwrap();
    let (rule, wait) = view.room.check_submission(&second).unwrap_err();
    assert_eq!(rule, RuleBreak::SlowMode);
    assert_eq!(wait, 30_000 - (second.origin_ts() - first.origin_ts()));
    // Offered anyway (a modified client), it is stored but never shown.
    view.deliver(std::slice::from_ref(&second));
    assert!(view.accepted(&second) && !view.visible(&second));
    // Moderators are exempt; after the wait the sender may speak again.
    let a = view.message(&alice, "mod one");
    let b = view.message(&alice, "mod two");
    assert!(view.visible(&a) && view.visible(&b));
    view.now += 30_000;
    let later = view.message(&bob, "three");
    assert!(view.visible(&later));
    // Turning slow mode off does not reach back: the hidden message was judged by the rules in
    // force before the change. Messages after it are free.
    set_rules(&mut view, &alice, Content::new());
    assert!(!view.visible(&second));
    let quick = [view.message(&bob, "four"), view.message(&bob, "five")];
    assert!(quick.iter().all(|m| view.visible(m)));
}
