//! Ban lists through the client API (specs/moderation.md §3.7) on one real node: rules set and
//! removed with the `banlist_rule` / `banlist_remove` actions, a room subscribed with its
//! enforcer, the list's rules and diff read back (withheld reasons never shown), a listed
//! user's submissions refused with `403 ban_list` in plain words, and the enforcer's ban and
//! unban seen in the member list.

#![allow(clippy::unwrap_used)]

use causerie_crypto::UserSecret;
use causerie_tests::api::{ApiNode, ApiUser, eventually};
use serde_json::{Value, json};

/// `user`'s membership in `room` as `viewer` reads the member list.
async fn membership(viewer: &ApiUser, room: &str, user: &ApiUser) -> Option<String> {
    let members = viewer.get(&format!("/api/v1/rooms/{room}/members")).await;
    members.body["members"]
        .as_array()?
        .iter()
        .find(|m| m["user"].as_str() == Some(user.key().as_str()))
        .and_then(|m| m["membership"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_subscriptions_diffs_and_refusals_through_the_api() {
    let node = ApiNode::start(Vec::new()).await;
    let owner = ApiUser::registered(node.http, 1, "owner").await;
    let mallory = ApiUser::registered(node.http, 2, "mallory").await;
    let enforcer = ApiUser::registered(node.http, 3, "enforcer").await;
    let list = owner.create_room("Spam", "invite").await;
    let lobby = owner.create_room("Lobby", "public").await;
    mallory.join(&lobby).await;
    enforcer.join(&lobby).await;
    owner
        .must(
            &lobby,
            json!({ "action": "power", "user": enforcer.key(), "level": 50 }),
        )
        .await;
    node.running()
        .node
        .set_enforcer(UserSecret::from_seed(&[3; 32]))
        .await
        .unwrap();

    // Bad rules are refused before anything is signed.
    for (target, reason) in [
        (json!({ "handle": "Not A Glob" }), "bad_rule"),
        (json!({ "user": "zz" }), "bad_user"),
        (json!({ "user": mallory.key(), "hash": "00" }), "bad_rule"),
    ] {
        let answer = owner
            .post(
                &format!("/api/v1/rooms/{list}/prepare"),
                json!({ "action": "banlist_rule", "rule": "x", "target": target,
                        "recommendation": "ban" }),
            )
            .await;
        assert_eq!((answer.status, answer.reason()), (400, reason), "{target}");
    }
    let first = owner
        .must(
            &list,
            json!({ "action": "banlist_rule", "rule": "spam-1",
                    "target": { "user": mallory.key() }, "recommendation": "ban",
                    "reason": "scam links" }),
        )
        .await;
    owner
        .must(
            &list,
            json!({ "action": "banlist_rule", "rule": "quiet",
                    "target": { "handle": "nobody*" }, "recommendation": "mute",
                    "reason": "moderators only", "reason_withheld": true }),
        )
        .await;
    owner
        .must(
            &lobby,
            json!({ "action": "subscribe", "list": list, "enforcer": enforcer.key() }),
        )
        .await;
    let subscription = owner.get(&format!("/api/v1/rooms/{lobby}/banlists")).await;
    assert_eq!(subscription.status, 200, "{:?}", subscription.body);
    assert_eq!(subscription.body["lists"], json!([list]));
    assert_eq!(subscription.body["enforcer"], json!(enforcer.key()));

    // The enforcer bans her; her own submissions are refused in plain words.
    eventually("the enforcer's ban", || async {
        membership(&owner, &lobby, &mallory).await.as_deref() == Some("ban")
    })
    .await;
    let refused = mallory
        .post(
            &format!("/api/v1/rooms/{lobby}/prepare"),
            json!({ "action": "message", "body": "hi" }),
        )
        .await;
    assert_eq!((refused.status, refused.reason()), (403, "ban_list"));
    let words = refused.body["message"].as_str().unwrap();
    assert!(
        words.contains("scam links") && words.contains("spam-1"),
        "{words}"
    );

    // The list and its diff, reasons withheld where the list says so.
    let view = mallory.get(&format!("/api/v1/banlists/{list}")).await;
    assert_eq!(
        view.status, 200,
        "a followed list is readable: {:?}",
        view.body
    );
    let rules = view.body["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let quiet = rules.iter().find(|r| r["rule"] == "quiet").unwrap();
    assert_eq!(quiet["reason"], Value::Null);
    assert_eq!(quiet["reason_withheld"], json!(true));
    let diff = owner
        .get(&format!("/api/v1/banlists/{list}?since={first}"))
        .await;
    let changes = diff.body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{:?}", diff.body);
    assert_eq!(changes[0]["rule"], "quiet");
    assert_eq!(changes[0]["change"], "added");
    let head = diff.body["head"].as_str().unwrap().to_owned();

    // Removing the rule lifts the enforcer's ban; the diff since the head shows the removal.
    owner
        .must(
            &list,
            json!({ "action": "banlist_remove", "rule": "spam-1" }),
        )
        .await;
    eventually("the enforcer's unban", || async {
        membership(&owner, &lobby, &mallory).await.as_deref() == Some("leave")
    })
    .await;
    let diff = owner
        .get(&format!("/api/v1/banlists/{list}?since={head}"))
        .await;
    assert_eq!(
        diff.body["changes"][0]["change"], "removed",
        "{:?}",
        diff.body
    );
    mallory.join(&lobby).await;
    mallory.say(&lobby, "back").await;

    // One entry overridden, then the list dropped.
    owner
        .must(
            &lobby,
            json!({ "action": "ignore_rule", "list": list, "rule": "quiet", "ignore": true }),
        )
        .await;
    let subscription = owner.get(&format!("/api/v1/rooms/{lobby}/banlists")).await;
    assert_eq!(subscription.body["ignore"], json!([[list, "quiet"]]));
    owner
        .must(&lobby, json!({ "action": "unsubscribe", "list": list }))
        .await;
    let subscription = owner.get(&format!("/api/v1/rooms/{lobby}/banlists")).await;
    assert_eq!(subscription.body["lists"], json!([]));
    assert_eq!(subscription.body["ignore"], json!([]));
    // A list no room here follows is for those who may see its room only.
    let stranger = mallory.get(&format!("/api/v1/banlists/{list}")).await;
    assert_eq!((stranger.status, stranger.reason()), (403, "not_member"));
}
