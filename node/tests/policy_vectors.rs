//! The ban-list vectors of `specs/test-vectors/policy.json` (specs/moderation.md §3), checked
//! against the room crate's matcher: target spellings and their hashes, handle globs, rule
//! content and its canonical CBOR, rejected rule content, and verdicts with their precedence.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use causerie_crypto::testing::{assert_bad_content, hex_bytes, vector_content, vector_file};
use causerie_crypto::{Content, Hash32, RoomId, Value, codec};
use causerie_room::policy::{
    Glob, ListIndex, Recommendation, Rule, Subject, Target, attester_spelling, decide,
    handle_spelling, target_hash, user_spelling,
};
use serde_json::Value as Json;

fn vectors() -> Json {
    vector_file("policy.json")
}

fn b32(value: &Json) -> [u8; 32] {
    hex_bytes(value).try_into().unwrap()
}

fn rule_of(json: &Json) -> Rule {
    let (kind, value) = json["target"]
        .as_object()
        .and_then(|m| m.iter().next())
        .expect("target");
    let target = match kind.as_str() {
        "user" => Target::User(b32(value)),
        "attester" => Target::Attester(b32(value)),
        "hash" => Target::Hash(b32(value)),
        "handle" => Target::Handle(Glob::parse(value.as_str().unwrap()).unwrap()),
        other => panic!("target {other}"),
    };
    Rule {
        target,
        recommendation: Recommendation::parse(json["recommendation"].as_str().unwrap()).unwrap(),
        reason: json["reason"].as_str().map(str::to_owned),
        reason_withheld: json["reason_withheld"].as_bool().unwrap_or(false),
        expires: json["expires"].as_u64(),
        purge: json["purge"].as_bool().unwrap_or(false),
    }
}

fn room(value: &Json) -> RoomId {
    RoomId(Hash32(b32(value)))
}

#[test]
fn spellings_hash_to_the_vectors() {
    let v = vectors();
    for case in v["spellings"].as_array().unwrap() {
        let value = case["value"].as_str().unwrap();
        let spelling = match case["type"].as_str().unwrap() {
            "user" => user_spelling(&b32(&case["value"])),
            "attester" => attester_spelling(&b32(&case["value"])),
            "handle" => handle_spelling(value),
            other => panic!("type {other}"),
        };
        assert_eq!(spelling, case["spelling"].as_str().unwrap());
        assert_eq!(
            hex::encode(target_hash(&spelling)),
            case["sha256"].as_str().unwrap()
        );
    }
}

#[test]
fn globs_match_as_the_vectors_say() {
    let v = vectors();
    for case in v["globs"].as_array().unwrap() {
        let glob = Glob::parse(case["pattern"].as_str().unwrap()).unwrap();
        assert_eq!(
            glob.matches(case["text"].as_str().unwrap()),
            case["matches"].as_bool().unwrap(),
            "{case}"
        );
    }
    for bad in v["invalid_globs"].as_array().unwrap() {
        assert_eq!(Glob::parse(bad.as_str().unwrap()), None, "{bad}");
    }
}

#[test]
fn rule_content_encodes_to_the_vectors() {
    let v = vectors();
    for case in v["rules"].as_array().unwrap() {
        let rule = rule_of(&case["rule"]);
        let bytes = codec::encode(&rule.to_content()).unwrap();
        assert_eq!(
            hex::encode(&bytes),
            case["content_cbor"].as_str().unwrap(),
            "{}",
            case["name"]
        );
        let content: Content = codec::decode(&bytes, bytes.len()).unwrap();
        assert_eq!(Rule::parse(&content), Ok(Some(rule)));
    }
    for case in v["invalid_rules"].as_array().unwrap() {
        let err = Rule::parse(&vector_content(case)).unwrap_err();
        assert_bad_content(case, err.reason(), &err);
    }
}

#[test]
fn verdicts_follow_the_precedence() {
    let v = vectors();
    let s = &v["subject"];
    let subject = Subject::new(
        b32(&s["user"]),
        Some(b32(&s["attester"])),
        s["handle"].as_str().map(str::to_owned),
    );
    for case in v["decisions"].as_array().unwrap() {
        let lists: Vec<(RoomId, ListIndex)> = case["lists"]
            .as_array()
            .unwrap()
            .iter()
            .map(|list| {
                let mut index = ListIndex::new();
                for entry in list["rules"].as_array().unwrap() {
                    index.set(entry[0].as_str().unwrap(), Some(rule_of(&entry[1])));
                }
                (room(&list["room"]), index)
            })
            .collect();
        let ignore: BTreeSet<(RoomId, String)> = case["ignore"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (room(&e[0]), e[1].as_str().unwrap().to_owned()))
            .collect();
        let at = case["at"].as_u64().unwrap();
        let verdict = decide(lists.iter().map(|(r, i)| (*r, i)), &ignore, &subject, at);
        let expected = &case["verdict"];
        match verdict {
            None => assert!(expected.is_null(), "{}", case["name"]),
            Some(verdict) => {
                assert_eq!(
                    verdict.recommendation.as_str(),
                    expected["recommendation"].as_str().unwrap(),
                    "{}",
                    case["name"]
                );
                assert_eq!(verdict.list, room(&expected["list"]), "{}", case["name"]);
                assert_eq!(verdict.rule, expected["rule"].as_str().unwrap());
                assert_eq!(verdict.reason.as_deref(), expected["reason"].as_str());
                assert_eq!(
                    verdict.purge,
                    expected["purge"].as_bool().unwrap_or(false),
                    "{}",
                    case["name"]
                );
            }
        }
    }
}

/// Content for the invalid-rule vectors (kept here so the file can be regenerated by hand).
#[allow(dead_code)]
fn invalid_rule_contents() -> Vec<(&'static str, &'static str, Content)> {
    let base = |target: Value| {
        let mut content = Content::new();
        content.insert("target".into(), target);
        content.insert("recommendation".into(), "ban".into());
        content
    };
    let user = |bytes: Vec<u8>| {
        Value::Map(
            [("user".to_owned(), Value::Bytes(bytes))]
                .into_iter()
                .collect(),
        )
    };
    let mut kick = base(user(vec![1; 32]));
    kick.insert("recommendation".into(), "kick".into());
    let mut late = base(user(vec![1; 32]));
    late.insert("expires".into(), Value::Integer(1 << 53));
    let mut muted = base(user(vec![1; 32]));
    muted.insert("recommendation".into(), "mute".into());
    muted.insert("purge".into(), Value::Bool(true));
    vec![
        ("target of 31 bytes", "bad_target", base(user(vec![1; 31]))),
        (
            "target is not a map",
            "bad_target",
            base(Value::Bytes(vec![1; 32])),
        ),
        (
            "uppercase handle glob",
            "bad_glob",
            base(Value::Map(
                [("handle".to_owned(), Value::Text("Spam*".into()))]
                    .into_iter()
                    .collect(),
            )),
        ),
        ("unknown recommendation", "bad_recommendation", kick),
        ("expires past 2^53 - 1", "bad_expires", late),
        ("purge with mute", "bad_purge", muted),
    ]
}

#[test]
#[ignore = "prints the encodings for specs/test-vectors/policy.json"]
fn print_encodings() {
    let v = vectors();
    for case in v["rules"].as_array().unwrap() {
        let rule = rule_of(&case["rule"]);
        println!(
            "{} {}",
            case["name"],
            hex::encode(codec::encode(&rule.to_content()).unwrap())
        );
    }
    for (name, detail, content) in invalid_rule_contents() {
        println!(
            "invalid {name} {detail} {}",
            hex::encode(codec::encode(&content).unwrap())
        );
    }
}
