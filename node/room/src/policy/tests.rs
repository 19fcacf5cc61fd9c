//! The matcher: rule content on both edges, globs, hash targets, precedence, expiry, overrides,
//! diffs.

use super::*;

fn rule(target: Target, recommendation: Recommendation) -> Rule {
    Rule {
        target,
        recommendation,
        reason: None,
        reason_withheld: false,
        expires: None,
        purge: false,
    }
}

fn list(rules: &[(&str, Rule)]) -> ListIndex {
    let mut index = ListIndex::new();
    for (id, rule) in rules {
        index.set(id, Some(rule.clone()));
    }
    index
}

fn room(n: u8) -> RoomId {
    RoomId(Hash32([n; 32]))
}

const ALICE: [u8; 32] = [1; 32];
const HOME: [u8; 32] = [9; 32];

fn alice() -> Subject {
    Subject::new(ALICE, Some(HOME), Some("alice".into()))
}

#[test]
fn rule_content_round_trips_and_empty_content_removes() {
    let full = Rule {
        target: Target::Handle(Glob::parse("spam*").unwrap()),
        recommendation: Recommendation::Mute,
        reason: Some("flooding".into()),
        reason_withheld: true,
        expires: Some(MAX_EXPIRES),
        purge: false,
    };
    assert_eq!(Rule::parse(&full.to_content()), Ok(Some(full.clone())));
    assert_eq!(full.public_reason(), None);
    assert_eq!(Rule::parse(&Content::new()), Ok(None));
    for target in [
        Target::User(ALICE),
        Target::Attester(HOME),
        Target::Hash([7; 32]),
    ] {
        let r = rule(target, Recommendation::Ban);
        assert_eq!(Rule::parse(&r.to_content()), Ok(Some(r)));
    }
}

#[test]
fn bad_rules_are_bad_content_with_a_name() {
    let good = rule(Target::User(ALICE), Recommendation::Ban).to_content();
    let with = |key: &str, value: Value| {
        let mut content = good.clone();
        content.insert(key.into(), value);
        content
    };
    let with_target = |entries: &[(&str, Value)]| {
        let map = entries
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect();
        with("target", Value::Map(map))
    };
    let cases = [
        (with("target", Value::Bytes(ALICE.to_vec())), "bad_target"),
        (
            with_target(&[("user", Value::Bytes(vec![1; 31]))]),
            "bad_target",
        ),
        (
            with_target(&[
                ("user", Value::Bytes(ALICE.to_vec())),
                ("hash", Value::Bytes(ALICE.to_vec())),
            ]),
            "bad_target",
        ),
        (
            with_target(&[("handle", Value::Text("Alice".into()))]),
            "bad_glob",
        ),
        (with("recommendation", "kick".into()), "bad_recommendation"),
        (
            with("reason", Value::Text("x".repeat(MAX_RULE_REASON_BYTES + 1))),
            "bad_reason",
        ),
        (
            with("reason_withheld", Value::Integer(1)),
            "bad_reason_withheld",
        ),
        (with("expires", Value::Integer(-1)), "bad_expires"),
        (
            with("expires", Value::Integer(MAX_EXPIRES as i64 + 1)),
            "bad_expires",
        ),
    ];
    for (content, name) in cases {
        assert_eq!(
            Rule::parse(&content),
            Err(AuthError::BadContent(name)),
            "{name}"
        );
    }
    let mut only_unknown = Content::new();
    only_unknown.insert("colour".into(), "blue".into());
    assert_eq!(
        Rule::parse(&only_unknown),
        Err(AuthError::BadContent("bad_target"))
    );
    let max_reason = with("reason", Value::Text("x".repeat(MAX_RULE_REASON_BYTES)));
    assert!(Rule::parse(&max_reason).is_ok());
}

#[test]
fn rule_ids_and_the_room_rule() {
    let content = rule(Target::User(ALICE), Recommendation::Ban).to_content();
    assert_eq!(check_rule(Some("spam-1"), &content, false), Ok(()));
    let longest = "a".repeat(MAX_RULE_ID_BYTES);
    assert_eq!(check_rule(Some(&longest), &content, false), Ok(()));
    for bad in [None, Some(""), Some("a b"), Some("é")] {
        assert_eq!(
            check_rule(bad, &content, false),
            Err(AuthError::BadStateKey)
        );
    }
    let too_long = "a".repeat(MAX_RULE_ID_BYTES + 1);
    assert_eq!(
        check_rule(Some(&too_long), &content, false),
        Err(AuthError::BadStateKey)
    );
    // A redacted rule is a removed rule, whatever its full form was.
    let mut broken = content.clone();
    broken.insert("recommendation".into(), "kick".into());
    assert!(check_rule(Some("r"), &broken, false).is_err());
    assert_eq!(check_rule(Some("r"), &Content::new(), true), Ok(()));
}

#[test]
fn globs() {
    let cases = [
        ("alice", "alice", true),
        ("alice", "alicex", false),
        ("ali?e", "alice", true),
        ("ali?e", "alie", false),
        ("*", "", true),
        ("*", "anything", true),
        ("spam*", "spam", true),
        ("spam*", "spammer42", true),
        ("*bot", "helperbot", true),
        ("*bot", "bots", false),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXbYY", false),
        ("*a*a*a*a", "aaaa", true),
        ("*a*a*a*a", "aaa", false),
        ("?*", "", false),
    ];
    for (pattern, text, expected) in cases {
        let glob = Glob::parse(pattern).unwrap();
        assert_eq!(glob.matches(text), expected, "{pattern} ~ {text}");
    }
    for bad in [
        "",
        "Alice",
        "a b",
        "a/b",
        "*****",
        &"a".repeat(MAX_GLOB_BYTES + 1),
    ] {
        assert_eq!(Glob::parse(bad), None, "{bad:?}");
    }
    assert!(Glob::parse("****").is_some());
    assert!(Glob::parse(&"a".repeat(MAX_GLOB_BYTES)).is_some());
}

#[test]
fn hash_targets_name_a_spelling_without_showing_it() {
    let subject = alice();
    for spelling in [
        user_spelling(&ALICE),
        attester_spelling(&HOME),
        handle_spelling("alice"),
    ] {
        let index = list(&[(
            "h",
            rule(Target::Hash(target_hash(&spelling)), Recommendation::Ban),
        )]);
        assert_eq!(index.matching(&subject, 0).len(), 1, "{spelling}");
    }
    let other = list(&[(
        "h",
        rule(
            Target::Hash(target_hash(&user_spelling(&[2; 32]))),
            Recommendation::Ban,
        ),
    )]);
    assert!(other.matching(&subject, 0).is_empty());
    // Without an attestation only the user spelling is known.
    let bare = Subject::new(ALICE, None, None);
    let by_handle = list(&[(
        "h",
        rule(
            Target::Hash(target_hash(&handle_spelling("alice"))),
            Recommendation::Ban,
        ),
    )]);
    assert!(by_handle.matching(&bare, 0).is_empty());
    assert_eq!(
        user_spelling(&ALICE),
        format!("user:{}", "01".repeat(32)),
        "64 lowercase hex digits"
    );
}

#[test]
fn every_target_type_matches() {
    let subject = alice();
    for target in [
        Target::User(ALICE),
        Target::Attester(HOME),
        Target::Handle(Glob::parse("al*").unwrap()),
    ] {
        let index = list(&[("r", rule(target.clone(), Recommendation::Ban))]);
        assert_eq!(index.matching(&subject, 0).len(), 1, "{target:?}");
    }
    let index = list(&[(
        "r",
        rule(
            Target::Handle(Glob::parse("bob").unwrap()),
            Recommendation::Ban,
        ),
    )]);
    assert!(index.matching(&subject, 0).is_empty());
}

#[test]
fn precedence_allow_then_ban_mute_review_then_list_order_then_rule_id() {
    let subject = alice();
    let ban = rule(Target::User(ALICE), Recommendation::Ban);
    let mute = rule(Target::Attester(HOME), Recommendation::Mute);
    let review = rule(
        Target::Handle(Glob::parse("*").unwrap()),
        Recommendation::Review,
    );
    let allow = rule(
        Target::Handle(Glob::parse("alice").unwrap()),
        Recommendation::Allow,
    );
    let none = BTreeSet::new();
    let first = list(&[
        ("b", review.clone()),
        ("c", mute.clone()),
        ("d", ban.clone()),
    ]);
    let v = decide([(room(1), &first)], &none, &subject, 0).unwrap();
    assert_eq!(
        (v.recommendation, v.rule.as_str()),
        (Recommendation::Ban, "d")
    );
    // An allow anywhere wins.
    let exceptions = list(&[("z", allow)]);
    let v = decide(
        [(room(1), &first), (room(2), &exceptions)],
        &none,
        &subject,
        0,
    )
    .unwrap();
    assert_eq!(v.recommendation, Recommendation::Allow);
    assert_eq!(v.list, room(2));
    // Ties: the earlier list, then the smaller rule id.
    let second = list(&[("a", ban.clone())]);
    let v = decide([(room(1), &first), (room(2), &second)], &none, &subject, 0).unwrap();
    assert_eq!((v.list, v.rule.as_str()), (room(1), "d"));
    let v = decide([(room(2), &second), (room(1), &first)], &none, &subject, 0).unwrap();
    assert_eq!((v.list, v.rule.as_str()), (room(2), "a"));
    let two = list(&[("y", ban.clone()), ("x", ban)]);
    let v = decide([(room(1), &two)], &none, &subject, 0).unwrap();
    assert_eq!(v.rule, "x");
    // Mute beats review.
    let soft = list(&[("a", review), ("b", mute)]);
    let v = decide([(room(1), &soft)], &none, &subject, 0).unwrap();
    assert_eq!(v.recommendation, Recommendation::Mute);
    assert!(decide([], &none, &subject, 0).is_none());
}

#[test]
fn an_override_ignores_one_entry() {
    let subject = alice();
    let index = list(&[
        ("a", rule(Target::User(ALICE), Recommendation::Ban)),
        ("b", rule(Target::Attester(HOME), Recommendation::Mute)),
    ]);
    let mut ignore = BTreeSet::new();
    ignore.insert((room(1), "a".to_owned()));
    let v = decide([(room(1), &index)], &ignore, &subject, 0).unwrap();
    assert_eq!(
        (v.recommendation, v.rule.as_str()),
        (Recommendation::Mute, "b")
    );
    // The override names one list: the same rule id in another list still applies.
    let v = decide([(room(2), &index)], &ignore, &subject, 0).unwrap();
    assert_eq!(v.rule, "a");
}

#[test]
fn expiry_is_room_time_exclusive() {
    let subject = alice();
    let mut temporary = rule(Target::User(ALICE), Recommendation::Ban);
    temporary.expires = Some(1_000);
    let index = list(&[("t", temporary)]);
    let none = BTreeSet::new();
    assert!(decide([(room(1), &index)], &none, &subject, 999).is_some());
    assert!(decide([(room(1), &index)], &none, &subject, 1_000).is_none());
}

#[test]
fn replacing_and_removing_rules_updates_the_index() {
    let subject = alice();
    let mut index = list(&[("r", rule(Target::User(ALICE), Recommendation::Ban))]);
    assert_eq!(index.named_users().count(), 1);
    let old = index.set(
        "r",
        Some(rule(
            Target::Handle(Glob::parse("bob").unwrap()),
            Recommendation::Ban,
        )),
    );
    assert!(old.is_some());
    assert!(index.matching(&subject, 0).is_empty());
    assert_eq!(index.named_users().count(), 0);
    index.set("r", None);
    assert!(index.is_empty());
    assert_eq!(index, ListIndex::new());
}

#[test]
fn subscriptions_parse_leniently_and_round_trip() {
    let mut sub = Subscription {
        lists: vec![room(1), room(2)],
        enforcer: Some(ALICE),
        ignore: BTreeSet::new(),
    };
    sub.ignore.insert((room(1), "spam-1".into()));
    assert_eq!(Subscription::parse(&sub.to_content()), sub);
    let mut content = sub.to_content();
    content.insert("enforcer".into(), Value::Bytes(vec![1; 3]));
    content.insert(
        "ignore".into(),
        Value::Array(vec![Value::Text("nonsense".into())]),
    );
    content.insert(
        "rooms".into(),
        Value::Array(vec![
            Value::Bytes(vec![1; 32]),
            Value::Bytes(vec![1; 32]),
            Value::Bytes(vec![3; 32]),
        ]),
    );
    let lenient = Subscription::parse(&content);
    assert_eq!(lenient.lists, vec![room(1), room(3)]);
    assert_eq!(lenient.enforcer, None);
    assert!(lenient.ignore.is_empty());
    let entry = Value::Array(vec![Value::Bytes(vec![1; 32]), Value::Text("r".into())]);
    content.insert(
        "ignore".into(),
        Value::Array(vec![entry.clone(); MAX_SUBSCRIPTION_IGNORES]),
    );
    assert_eq!(Subscription::parse(&content).ignore.len(), 1);
    content.insert(
        "ignore".into(),
        Value::Array(vec![entry; MAX_SUBSCRIPTION_IGNORES + 1]),
    );
    assert!(Subscription::parse(&content).ignore.is_empty());
}

#[test]
fn diffs_name_added_removed_and_changed_rules() {
    let ban = rule(Target::User(ALICE), Recommendation::Ban);
    let mute = rule(Target::User(ALICE), Recommendation::Mute);
    let before: BTreeMap<String, Rule> = [("a".into(), ban.clone()), ("b".into(), ban.clone())]
        .into_iter()
        .collect();
    let after: BTreeMap<String, Rule> = [("b".into(), mute), ("c".into(), ban)]
        .into_iter()
        .collect();
    let changes: Vec<(String, &str)> = diff(&before, &after)
        .iter()
        .map(|c| (c.rule.clone(), c.change()))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("a".into(), "removed"),
            ("b".into(), "changed"),
            ("c".into(), "added")
        ]
    );
    assert!(diff(&after, &after).is_empty());
}

#[test]
fn purge_goes_with_ban_only_and_outranks_a_plain_ban() {
    let mut purge = rule(Target::Attester(HOME), Recommendation::Ban);
    purge.purge = true;
    assert_eq!(Rule::parse(&purge.to_content()), Ok(Some(purge.clone())));
    let mut muted = rule(Target::User(ALICE), Recommendation::Mute).to_content();
    muted.insert("purge".into(), Value::Bool(true));
    assert_eq!(Rule::parse(&muted), Err(AuthError::BadContent("bad_purge")));
    muted.insert("purge".into(), Value::Bool(false));
    assert!(Rule::parse(&muted).is_ok());
    let mut odd = rule(Target::User(ALICE), Recommendation::Ban).to_content();
    odd.insert("purge".into(), Value::Text("yes".into()));
    assert_eq!(Rule::parse(&odd), Err(AuthError::BadContent("bad_purge")));
    // A plain ban on the first list loses to a ban-and-purge on the second.
    let first = list(&[("a", rule(Target::User(ALICE), Recommendation::Ban))]);
    let second = list(&[("z", purge)]);
    let verdict = decide(
        [(room(1), &first), (room(2), &second)],
        &BTreeSet::new(),
        &alice(),
        0,
    )
    .unwrap();
    assert_eq!(
        (verdict.list, verdict.rule.as_str(), verdict.purge),
        (room(2), "z", true)
    );
}
