//! A room's timeline as text for people: one line per event, moderation written as people would
//! write it ("alice banned bob: spam", "alice unbanned bob", "alice removed bob from the room",
//! "alice changed bob's power from 0 to 50", "alice deleted a message by bob").
//!
//! An event alone does not say everything a reader wants: a kick and an unban are both a `leave`
//! by someone else, a power-levels event holds the new levels but not what changed, and a
//! redaction names an event id. [`Timeline`] walks the events in timeline order and remembers
//! what it needs (memberships, the last power levels, recent events' authors, names), so
//! `history` and `tail` feed it some events before the ones they print. Users are named by
//! display name, else handle (from the member list and the events), never by key when a name is
//! known. Everything a node or another user supplied is made inert with [`printable`].
//!
//! Relations (specs/rooms.md §13) show on the message they point at: a reply quotes the start of
//! the message it answers, an edited message shows its new text and "(edited)", reactions follow
//! as `[👍 2 · 🎉 1]`. The edit and reaction events themselves (and the redactions that take a
//! reaction back) are not printed from history ([`Timeline::hides`]); arriving live, where the
//! message's line is already printed, they get a line of their own.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use causerie_node::client::{ApiEvent, Member};
use serde_json::Value as Json;

use super::printable;

/// Most users whose name and membership a timeline remembers (a long `tail --follow`).
const MAX_TRACKED_USERS: usize = 100_000;
/// Most recent events whose author a timeline remembers, for redactions.
const MAX_REMEMBERED_AUTHORS: usize = 4_096;
/// Most changes one power-levels line spells out; the rest are counted.
const MAX_SHOWN_POWER_CHANGES: usize = 4;
/// Characters of a key shown when no name is known.
const SHORT_KEY_CHARS: usize = 12;
/// Characters of the answered message a reply quotes.
const REPLY_QUOTE_CHARS: usize = 60;
/// The named levels of a power-levels event, with the words a line uses for them.
const NAMED_LEVELS: [(&str, &str); 8] = [
    ("ban", "the level to ban"),
    ("kick", "the level to remove members"),
    ("mute", "the level to mute"),
    ("redact", "the level to delete others' messages"),
    ("invite", "the level to invite"),
    ("state_default", "the default level for room settings"),
    ("events_default", "the default level to post"),
    ("users_default", "the level of new members"),
];

/// What the lines so far have shown about the room.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    /// Display name or handle by key (hex).
    names: BTreeMap<String, String>,
    /// Membership by key (hex), as of the last event seen.
    memberships: BTreeMap<String, String>,
    /// The content of the last power-levels event seen.
    power: Option<Json>,
    /// Author by event id, for the most recent events, and whether the event is a reaction.
    authors: BTreeMap<String, (String, bool)>,
    /// Event ids of `authors`, oldest first.
    author_order: VecDeque<String>,
}

fn content_str<'a>(event: &'a ApiEvent, key: &str) -> Option<&'a str> {
    event.content.get(key).and_then(Json::as_str)
}

/// ": <reason>" when the event gives a reason.
fn reason_suffix(event: &ApiEvent) -> String {
    content_str(event, "reason")
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!(": {}", printable(r)))
        .unwrap_or_default()
}

/// `HH:MM:SS` (UTC) of a millisecond timestamp.
fn clock(ms: u64) -> String {
    let seconds = (ms / 1_000) % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3_600,
        (seconds / 60) % 60,
        seconds % 60
    )
}

/// `YYYY-MM-DD HH:MM UTC` of a millisecond timestamp (the proleptic Gregorian calendar).
pub(crate) fn date_time(ms: u64) -> String {
    let days = ms / 86_400_000;
    let minutes = (ms / 60_000) % 1_440;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// " until <date>" when moderation content has an `expires`.
fn until_suffix(event: &ApiEvent) -> String {
    event
        .content
        .get("expires")
        .and_then(Json::as_u64)
        .map(|end| format!(" until {}", date_time(end)))
        .unwrap_or_default()
}

/// A level of power-levels content (`None` when absent or not a number).
fn level(content: &Json, key: &str) -> Option<i64> {
    content.get(key).and_then(Json::as_i64)
}

impl Timeline {
    /// A timeline that knows the names of these members.
    pub(crate) fn new(members: &[Member]) -> Timeline {
        let mut timeline = Timeline::default();
        for member in members {
            let name = member
                .display_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| member.handle.clone());
            if let Some(name) = name {
                timeline.learn_name(&member.user, &name);
            }
        }
        timeline
    }

    fn learn_name(&mut self, user: &str, name: &str) {
        if self.names.len() < MAX_TRACKED_USERS || self.names.contains_key(user) {
            self.names.insert(user.to_owned(), name.to_owned());
        }
    }

    /// A user's name for people: display name or handle, else the start of the key.
    fn name(&self, user: &str) -> String {
        match self.names.get(user) {
            Some(name) => printable(name),
            None => printable(&user.chars().take(SHORT_KEY_CHARS).collect::<String>()),
        }
    }

    /// The author's name: what the node says about them, else what the timeline knows.
    fn author_name(&self, event: &ApiEvent) -> String {
        let sender = event.sender.as_ref();
        sender
            .and_then(|s| s.display_name.clone().filter(|n| !n.trim().is_empty()))
            .or_else(|| sender.and_then(|s| s.handle.clone()))
            .map(|name| printable(&name))
            .unwrap_or_else(|| self.name(&event.author))
    }

    /// Takes in `event` without printing it (history before the lines shown).
    pub(crate) fn observe(&mut self, event: &ApiEvent) {
        if let Some(sender) = &event.sender {
            let name = sender
                .display_name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| sender.handle.clone());
            if let Some(name) = name
                && !self.names.contains_key(&event.author)
            {
                self.learn_name(&event.author, &name);
            }
        }
        match event.kind.as_str() {
            "room.member" => {
                if let (Some(target), Some(membership)) =
                    (&event.state_key, content_str(event, "membership"))
                {
                    if membership == "join"
                        && let Some(name) =
                            content_str(event, "display_name").filter(|n| !n.trim().is_empty())
                    {
                        self.learn_name(target, name);
                    }
                    if self.memberships.len() < MAX_TRACKED_USERS
                        || self.memberships.contains_key(target)
                    {
                        self.memberships
                            .insert(target.clone(), membership.to_owned());
                    }
                }
            }
            "room.power_levels" if !event.redacted => self.power = Some(event.content.clone()),
            _ => {}
        }
        let reaction = event.kind == "room.reaction";
        self.authors
            .insert(event.id.clone(), (event.author.clone(), reaction));
        self.author_order.push_back(event.id.clone());
        if self.author_order.len() > MAX_REMEMBERED_AUTHORS
            && let Some(old) = self.author_order.pop_front()
        {
            self.authors.remove(&old);
        }
    }

    /// The line of `event` for people, then takes it in.
    pub(crate) fn line(&mut self, event: &ApiEvent) -> String {
        let who = self.author_name(event);
        let time = clock(event.origin_ts);
        let line = match event.kind.as_str() {
            "room.message" if event.redacted => format!("[{time}] {who}: (message deleted)"),
            "room.message" if event.replaces.is_some() => format!(
                "[{time}] * {who} edited a message: {}",
                printable(content_str(event, "body").unwrap_or(""))
            ),
            "room.message" => format!("[{time}] {who}: {}", self.message_text(event)),
            _ => format!("[{time}] * {who} {}", self.action(event)),
        };
        self.observe(event);
        line
    }

    /// What the author did, for events other than messages.
    fn action(&self, event: &ApiEvent) -> String {
        match event.kind.as_str() {
            "room.member" => self.membership_action(event),
            "room.create" => "created the room".to_owned(),
            "room.name" => format!(
                "named the room {}",
                printable(content_str(event, "name").unwrap_or(""))
            ),
            "room.topic" => format!(
                "set the topic: {}",
                printable(content_str(event, "topic").unwrap_or(""))
            ),
            "room.join_rules" => format!(
                "set the join rule to {}",
                printable(content_str(event, "join_rule").unwrap_or("?"))
            ),
            "room.power_levels" => self.power_action(event),
            "room.redaction" => self.redaction_action(event),
            "room.reaction" => {
                let key = printable(content_str(event, "key").unwrap_or("?"));
                let target = content_str(event, "relates_to").map(|hex| format!("${hex}"));
                match target.and_then(|id| self.authors.get(&id)) {
                    Some((author, _)) => {
                        format!("reacted {key} to {}'s message", self.name(author))
                    }
                    None => format!("reacted {key} to a message"),
                }
            }
            "room.mute" => {
                let whom = self.name(event.state_key.as_deref().unwrap_or("?"));
                let reason = reason_suffix(event);
                match event.content.get("muted").and_then(Json::as_bool) {
                    Some(true) => format!("muted {whom}{}{reason}", until_suffix(event)),
                    Some(false) => format!("unmuted {whom}{reason}"),
                    None => format!("changed the mute of {whom}"),
                }
            }
            other => format!("sent {}", printable(other)),
        }
    }

    fn membership_action(&self, event: &ApiEvent) -> String {
        let Some(target) = event.state_key.as_deref() else {
            return "sent a member event without a member".to_owned();
        };
        let own = target == event.author;
        let before = self.memberships.get(target).map(String::as_str);
        let whom = self.name(target);
        let reason = reason_suffix(event);
        let membership = content_str(event, "membership").unwrap_or("?");
        match (membership, own, before) {
            ("join", true, Some("join")) => {
                match content_str(event, "display_name").filter(|n| !n.trim().is_empty()) {
                    Some(name) if self.names.get(target).map(String::as_str) != Some(name) => {
                        format!("is now called {}", printable(name))
                    }
                    _ => "updated their profile".to_owned(),
                }
            }
            ("join", true, _) => "joined".to_owned(),
            ("join", false, _) => format!("added {whom}"),
            ("leave", true, Some("invite")) => format!("declined the invitation{reason}"),
            ("leave", true, Some("knock")) => format!("withdrew their request to join{reason}"),
            ("leave", true, _) => format!("left{reason}"),
            ("leave", false, Some("ban")) => format!("unbanned {whom}{reason}"),
            ("leave", false, Some("invite")) => format!("withdrew {whom}'s invitation{reason}"),
            ("leave", false, Some("knock")) => {
                format!("turned down {whom}'s request to join{reason}")
            }
            ("leave", false, _) => format!("removed {whom} from the room{reason}"),
            ("ban", _, _) => {
                let until = until_suffix(event);
                match event.content.get("purge").and_then(Json::as_bool) {
                    Some(true) => format!(
                        "banned {whom}{until} and deleted everything they wrote here{reason}"
                    ),
                    _ => format!("banned {whom}{until}{reason}"),
                }
            }
            ("invite", _, _) => format!("invited {whom}{reason}"),
            ("knock", _, _) => format!("asked to join{reason}"),
            (other, _, _) => format!("set the membership of {whom} to {}", printable(other)),
        }
    }

    fn power_action(&self, event: &ApiEvent) -> String {
        let Some(before) = &self.power else {
            return "set the power levels".to_owned();
        };
        let after = &event.content;
        let mut changes = Vec::new();
        let users = |content: &Json| -> BTreeMap<String, i64> {
            content
                .get("users")
                .and_then(Json::as_object)
                .map(|users| {
                    users
                        .iter()
                        .filter_map(|(k, v)| v.as_i64().map(|v| (k.clone(), v)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (users_before, users_after) = (users(before), users(after));
        let default_before = level(before, "users_default").unwrap_or(0);
        let default_after = level(after, "users_default").unwrap_or(0);
        let listed: BTreeSet<&String> = users_before.keys().chain(users_after.keys()).collect();
        for user in listed {
            let old = users_before.get(user).copied().unwrap_or(default_before);
            let new = users_after.get(user).copied().unwrap_or(default_after);
            if old != new {
                changes.push(format!("{}'s power from {old} to {new}", self.name(user)));
            }
        }
        for (key, words) in NAMED_LEVELS {
            let (old, new) = (level(before, key), level(after, key));
            if old != new {
                let show = |l: Option<i64>| l.map_or_else(|| "unset".to_owned(), |l| l.to_string());
                changes.push(format!("{words} from {} to {}", show(old), show(new)));
            }
        }
        let events = |content: &Json| content.get("events").cloned().unwrap_or(Json::Null);
        if events(before) != events(after) {
            changes.push("the levels of some event kinds".to_owned());
        }
        if changes.is_empty() {
            return "set the power levels again, unchanged".to_owned();
        }
        let more = changes.len().saturating_sub(MAX_SHOWN_POWER_CHANGES);
        changes.truncate(MAX_SHOWN_POWER_CHANGES);
        let mut text = format!("changed {}", changes.join(", "));
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text
    }

    fn redaction_action(&self, event: &ApiEvent) -> String {
        let reason = reason_suffix(event);
        let target = content_str(event, "redacts").map(|hex| format!("${hex}"));
        match target.and_then(|id| self.authors.get(&id)) {
            Some((_, true)) => "took back a reaction".to_owned(),
            Some((author, _)) if *author == event.author => {
                format!("deleted one of their messages{reason}")
            }
            Some((author, _)) => format!("deleted a message by {}{reason}", self.name(author)),
            None => format!("deleted a message{reason}"),
        }
    }

    /// Whether `event` shows on another event's line instead of its own when printed from
    /// history: an edit, a reaction, or the redaction of a reaction this timeline has seen.
    pub(crate) fn hides(&self, event: &ApiEvent) -> bool {
        match event.kind.as_str() {
            "room.reaction" => true,
            "room.message" => event.replaces.is_some(),
            "room.redaction" => content_str(event, "redacts")
                .and_then(|hex| self.authors.get(&format!("${hex}")))
                .is_some_and(|(_, reaction)| *reaction),
            _ => false,
        }
    }

    /// A message's text as shown: the quote of the message it answers, its (edited) text, its
    /// reactions.
    fn message_text(&self, event: &ApiEvent) -> String {
        let mut text = String::new();
        if let Some(reply) = &event.reply_to {
            let whom = match (&reply.handle, &reply.author) {
                (Some(handle), _) => printable(handle),
                (None, Some(author)) => self.name(author),
                (None, None) => "a message".to_owned(),
            };
            let quote = match &reply.body {
                Some(body) => {
                    let mut quote: String = body.chars().take(REPLY_QUOTE_CHARS).collect();
                    if body.chars().count() > REPLY_QUOTE_CHARS {
                        quote.push('…');
                    }
                    format!(": \"{}\"", printable(&quote))
                }
                None => String::new(),
            };
            text.push_str(&format!("(replying to {whom}{quote}) "));
        }
        match &event.edited {
            Some(edit) => text.push_str(&format!("{} (edited)", printable(&edit.body))),
            None => text.push_str(&printable(content_str(event, "body").unwrap_or(""))),
        }
        if !event.reactions.is_empty() {
            let reactions: Vec<String> = event
                .reactions
                .iter()
                .map(|r| format!("{} {}", printable(&r.key), r.count))
                .collect();
            text.push_str(&format!("  [{}]", reactions.join(" · ")));
        }
        text
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use causerie_node::client::Sender;
    use serde_json::json;

    pub(in crate::cli) const ALICE: &str = "aa";
    const BOB: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// A test event by `author` (Alice or Bob, by handle) at depth 3.
    pub(in crate::cli) fn event(id: &str, author: &str, kind: &str, content: Json) -> ApiEvent {
        ApiEvent {
            id: id.into(),
            room: "!r".into(),
            author: author.into(),
            kind: kind.into(),
            state_key: None,
            content,
            depth: 3,
            origin_ts: 3_723_000,
            redacted: false,
            sender: Some(Sender {
                handle: Some(if author == ALICE { "alice" } else { "bob" }.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn member(id: &str, author: &str, target: &str, content: Json) -> ApiEvent {
        let mut event = event(id, author, "room.member", content);
        event.state_key = Some(target.into());
        event
    }

    fn mute(id: &str, content: Json) -> ApiEvent {
        let mut event = event(id, ALICE, "room.mute", content);
        event.state_key = Some(BOB.into());
        event
    }

    fn bob_member() -> Member {
        Member {
            user: BOB.into(),
            membership: "join".into(),
            display_name: None,
            power: 0,
            handle: Some("bob".into()),
            home_node: None,
            assurance: None,
            assurance_name: None,
        }
    }

    #[test]
    fn messages_are_readable_and_inert() {
        let mut timeline = Timeline::default();
        let mut message = event(
            "$1",
            ALICE,
            "room.message",
            json!({"body": "hi\u{7}\nthere"}),
        );
        message.sender = Some(Sender {
            display_name: Some("Alice\u{1b}[31m".into()),
            ..Default::default()
        });
        assert_eq!(
            timeline.line(&message),
            "[01:02:03] Alice\\u{1b}[31m: hi\\u{7} ⏎ there"
        );
        let mut deleted = event("$2", BOB, "room.message", json!({}));
        deleted.redacted = true;
        assert_eq!(timeline.line(&deleted), "[01:02:03] bob: (message deleted)");
    }

    #[test]
    fn relations_show_on_their_message() {
        let mut timeline = Timeline::new(&[bob_member()]);
        let mut hello = event("$1", ALICE, "room.message", json!({"body": "hello"}));
        hello.edited = Some(causerie_node::client::Edited {
            body: "hello, everyone".into(),
            event: "$3".into(),
            origin_ts: 0,
        });
        hello.reactions = vec![
            causerie_node::client::ReactionInfo {
                key: "👍".into(),
                count: 2,
                ..Default::default()
            },
            causerie_node::client::ReactionInfo {
                key: "\u{1b}x".into(),
                count: 1,
                ..Default::default()
            },
        ];
        let mut reply = event("$2", BOB, "room.message", json!({"body": "hi"}));
        reply.reply_to = Some(causerie_node::client::ReplyTo {
            id: "$1".into(),
            author: Some(ALICE.into()),
            handle: Some("alice".into()),
            body: Some(format!("hello, everyone{}", "!".repeat(60))),
        });
        let mut edit = event(
            "$3",
            ALICE,
            "room.message",
            json!({"body": "hello, everyone"}),
        );
        edit.replaces = Some("$1".into());
        let reaction = event(
            "$4",
            BOB,
            "room.reaction",
            json!({"relates_to": "1", "key": "👍"}),
        );
        let unreact = event("$5", BOB, "room.redaction", json!({"redacts": "4"}));
        let mut shown = Vec::new();
        for e in [&hello, &reply, &edit, &reaction, &unreact] {
            if timeline.hides(e) {
                timeline.observe(e);
            } else {
                shown.push(timeline.line(e)[11..].to_owned());
            }
        }
        assert_eq!(
            shown,
            [
                "alice: hello, everyone (edited)  [👍 2 · \\u{1b}x 1]",
                &format!(
                    "bob: (replying to alice: \"hello, everyone{}…\") hi",
                    "!".repeat(45)
                ),
            ]
        );
        // Live, where the message's line is already printed, they get lines of their own.
        let live: Vec<String> = [&edit, &reaction, &unreact]
            .iter()
            .map(|e| timeline.line(e)[11..].to_owned())
            .collect();
        assert_eq!(
            live,
            [
                "* alice edited a message: hello, everyone",
                "* bob reacted 👍 to alice's message",
                "* bob took back a reaction",
            ]
        );
    }

    #[test]
    fn moderation_reads_as_people_write_it() {
        let mut timeline = Timeline::new(&[bob_member()]);
        let lines: Vec<String> = [
            member("$1", BOB, BOB, json!({"membership": "join"})),
            event("$2", BOB, "room.message", json!({"body": "buy now"})),
            event(
                "$3",
                ALICE,
                "room.redaction",
                json!({"redacts": "2", "reason": "spam"}),
            ),
            member(
                "$4",
                ALICE,
                BOB,
                json!({"membership": "leave", "reason": "cool off"}),
            ),
            member(
                "$5",
                ALICE,
                BOB,
                json!({"membership": "ban", "reason": "spam"}),
            ),
            member("$6", ALICE, BOB, json!({"membership": "leave"})),
            member("$7", ALICE, BOB, json!({"membership": "invite"})),
            member("$8", BOB, BOB, json!({"membership": "leave"})),
            member(
                "$9",
                ALICE,
                BOB,
                json!({"membership": "ban", "expires": 1_764_758_400_000u64, "reason": "flood"}),
            ),
            member(
                "$10",
                ALICE,
                BOB,
                json!({"membership": "ban", "purge": true, "reason": "scam"}),
            ),
            mute(
                "$11",
                json!({"muted": true, "expires": 1_764_759_000_000u64, "reason": "calm down"}),
            ),
            mute("$12", json!({"muted": false})),
        ]
        .iter()
        .map(|e| timeline.line(e))
        .collect();
        let actions: Vec<&str> = lines.iter().map(|l| &l[11..]).collect();
        assert_eq!(
            actions,
            [
                "* bob joined",
                "bob: buy now",
                "* alice deleted a message by bob: spam",
                "* alice removed bob from the room: cool off",
                "* alice banned bob: spam",
                "* alice unbanned bob",
                "* alice invited bob",
                "* bob declined the invitation",
                "* alice banned bob until 2025-12-03 10:40 UTC: flood",
                "* alice banned bob and deleted everything they wrote here: scam",
                "* alice muted bob until 2025-12-03 10:50 UTC: calm down",
                "* alice unmuted bob",
            ]
        );
    }

    #[test]
    fn power_changes_say_what_changed() {
        let mut timeline = Timeline::new(&[bob_member()]);
        let first = json!({"ban": 50, "kick": 50, "users_default": 0, "users": {ALICE: 100}});
        let line = timeline.line(&event("$1", ALICE, "room.power_levels", first));
        assert!(line.ends_with("* alice set the power levels"), "{line}");
        let second = json!({"ban": 60, "kick": 50, "users_default": 0,
                            "users": {ALICE: 100, BOB: 50}});
        let line = timeline.line(&event("$2", ALICE, "room.power_levels", second.clone()));
        assert!(
            line.ends_with(
                "* alice changed bob's power from 0 to 50, the level to ban from 50 to 60"
            ),
            "{line}"
        );
        let line = timeline.line(&event("$3", ALICE, "room.power_levels", second));
        assert!(line.ends_with("unchanged"), "{line}");
    }

    #[test]
    fn unknown_context_falls_back_to_plain_words() {
        let mut timeline = Timeline::default();
        // No earlier membership known: a leave by someone else reads as a removal; no name
        // known: the start of the key.
        let line = timeline.line(&member("$1", ALICE, BOB, json!({"membership": "leave"})));
        assert!(
            line.ends_with("* alice removed bbbbbbbbbbbb from the room"),
            "{line}"
        );
        let line = timeline.line(&event(
            "$2",
            ALICE,
            "room.redaction",
            json!({"redacts": "ff"}),
        ));
        assert!(line.ends_with("* alice deleted a message"), "{line}");
    }
}
