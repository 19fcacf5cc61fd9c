//! Relations between events (specs/rooms.md §13): the content of messages that reply to,
//! mention or edit (`replaces`) others, of `room.reaction` events, and their aggregation on the
//! event they point at: the honoured edit, the reaction counts and deletion by the author.
//!
//! Parsing is strict and shared by the authorization rules (§2 rule 9: an event whose relation
//! fields do not parse is rejected `bad_content`, with the problem named here) and by the client
//! API (which refuses the same content before signing). Aggregation is a pure function of the
//! set of related events and of whether each counts: the engine passes them in timeline order
//! (§6), so every node holding the same events shows the same edit and the same counts.

use std::collections::{BTreeMap, BTreeSet};

use causerie_crypto::event::kinds;
use causerie_crypto::{Content, Event, EventId, Hash32, UserKey, Value};

use crate::content::{UserBytes, read_text};
use crate::error::AuthError;

/// Most users one message may mention (`mentions`).
pub const MAX_MENTIONS: usize = 32;
/// Longest reaction key, in bytes (one emoji, or a short word).
pub const MAX_REACTION_KEY_BYTES: usize = 64;

fn event_id(value: Option<&Value>, problem: &'static str) -> Result<Option<EventId>, AuthError> {
    match value {
        None => Ok(None),
        Some(value) => value
            .as_bytes()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(|b| Some(EventId(Hash32(b))))
            .ok_or(AuthError::BadContent(problem)),
    }
}

/// A `room.message`'s content: its text and its relations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text (CommonMark source).
    pub body: String,
    /// The message this one answers.
    pub reply_to: Option<EventId>,
    /// Users the message mentions, sorted, each once.
    pub mentions: Vec<UserBytes>,
    /// The message this one edits: its `body` is the new text of that one.
    pub replaces: Option<EventId>,
}

impl Message {
    /// A plain message.
    pub fn new(body: impl Into<String>) -> Message {
        Message {
            body: body.into(),
            reply_to: None,
            mentions: Vec::new(),
            replaces: None,
        }
    }

    /// Parses message content: `body` text [`bad_body`], optional `reply_to` and `replaces`
    /// (32-byte event ids) [`bad_reply_to`, `bad_replaces`], optional `mentions` (an array of at
    /// most [`MAX_MENTIONS`] 32-byte user keys) [`bad_mentions`, `mentions_over_limit`].
    /// Repeated mentions count once. Unknown keys are ignored.
    pub fn parse(content: &Content) -> Result<Message, AuthError> {
        let body = read_text(content, "body", "bad_body", Some)?;
        let reply_to = event_id(content.get("reply_to"), "bad_reply_to")?;
        let replaces = event_id(content.get("replaces"), "bad_replaces")?;
        let mentions = match content.get("mentions") {
            None => Vec::new(),
            Some(value) => {
                let list = value
                    .as_array()
                    .ok_or(AuthError::BadContent("bad_mentions"))?;
                if list.len() > MAX_MENTIONS {
                    return Err(AuthError::BadContent("mentions_over_limit"));
                }
                let users = list
                    .iter()
                    .map(|v| v.as_bytes().and_then(|b| <UserBytes>::try_from(b).ok()))
                    .collect::<Option<BTreeSet<UserBytes>>>()
                    .ok_or(AuthError::BadContent("bad_mentions"))?;
                users.into_iter().collect()
            }
        };
        Ok(Message {
            body: body.to_owned(),
            reply_to,
            mentions,
            replaces,
        })
    }

    /// The content [`Self::parse`] reads back as `self` (optional fields only when set).
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        content.insert("body".into(), Value::Text(self.body.clone()));
        if let Some(id) = self.reply_to {
            content.insert("reply_to".into(), Value::Bytes(id.as_bytes().to_vec()));
        }
        if !self.mentions.is_empty() {
            let users = self
                .mentions
                .iter()
                .map(|u| Value::Bytes(u.to_vec()))
                .collect();
            content.insert("mentions".into(), Value::Array(users));
        }
        if let Some(id) = self.replaces {
            content.insert("replaces".into(), Value::Bytes(id.as_bytes().to_vec()));
        }
        content
    }
}

/// A `room.reaction`'s content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// The event reacted to.
    pub relates_to: EventId,
    /// The reaction (an emoji, or a short word).
    pub key: String,
}

impl Reaction {
    /// Parses reaction content: `relates_to` (a 32-byte event id) [`bad_relates_to`], `key`
    /// (text of 1 to [`MAX_REACTION_KEY_BYTES`] bytes without control characters)
    /// [`bad_reaction_key`].
    pub fn parse(content: &Content) -> Result<Reaction, AuthError> {
        let relates_to = event_id(content.get("relates_to"), "bad_relates_to")?
            .ok_or(AuthError::BadContent("bad_relates_to"))?;
        let key = read_text(content, "key", "bad_reaction_key", |key| {
            valid_reaction_key(key).then_some(key)
        })?;
        Ok(Reaction {
            relates_to,
            key: key.to_owned(),
        })
    }

    /// The content [`Self::parse`] reads back as `self`.
    pub fn to_content(&self) -> Content {
        let mut content = Content::new();
        content.insert(
            "relates_to".into(),
            Value::Bytes(self.relates_to.as_bytes().to_vec()),
        );
        content.insert("key".into(), Value::Text(self.key.clone()));
        content
    }
}

/// Whether `key` may be a reaction key: 1 to [`MAX_REACTION_KEY_BYTES`] bytes, no control
/// characters.
pub fn valid_reaction_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_REACTION_KEY_BYTES && !key.chars().any(char::is_control)
}

/// Checks the relation fields of a message's or reaction's content (other kinds pass).
pub fn check_content(kind: &str, content: &Content) -> Result<(), AuthError> {
    match kind {
        kinds::MESSAGE => Message::parse(content).map(|_| ()),
        kinds::REACTION => Reaction::parse(content).map(|_| ()),
        _ => Ok(()),
    }
}

/// How an event relates to another, for the index by target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// A message that edits the target.
    Edit,
    /// A reaction to the target.
    Reaction,
}

/// The event `event` relates to (edits or reacts to), read from its content as held: a
/// redacted relation event keeps no content, so it relates to nothing.
pub fn relation_of(event: &Event) -> Option<(Relation, EventId)> {
    match event.kind() {
        kinds::MESSAGE => Message::parse(event.content())
            .ok()?
            .replaces
            .map(|target| (Relation::Edit, target)),
        kinds::REACTION => Reaction::parse(event.content())
            .ok()
            .map(|r| (Relation::Reaction, r.relates_to)),
        _ => None,
    }
}

/// The edit honoured on a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The edit event.
    pub event: EventId,
    /// The message's new text.
    pub body: String,
    /// The edit's (advisory) timestamp.
    pub origin_ts: u64,
}

/// The users who reacted to an event with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    /// The key.
    pub key: String,
    /// Each user once, in the timeline order of their first reaction with this key, with that
    /// reaction's id (what a user redacts to take it back).
    pub users: Vec<(UserKey, EventId)>,
}

/// What the events relating to one event add to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// The honoured edit, if any: the latest in timeline order.
    pub edit: Option<Edit>,
    /// Reactions by key, keys in the timeline order of their first reaction.
    pub reactions: Vec<ReactionCount>,
    /// Redacted by its own author (a deletion, as opposed to a moderator's redaction).
    pub deleted: bool,
}

/// Whether `event` is an original message: a `room.message` that is not itself an edit (only
/// those can be edited).
pub fn is_original_message(event: &Event) -> bool {
    event.kind() == kinds::MESSAGE
        && Message::parse(event.content()).is_ok_and(|m| m.replaces.is_none())
}

/// Aggregates the events relating to `target` (given in timeline order; each is an edit or
/// reaction naming `target`, others are ignored) of which `counts` says which count (accepted,
/// shown, not redacted):
/// - the edit is the last counting edit by `target`'s author, if `target` is an original
///   message;
/// - each reaction key counts each user once.
///
/// `deleted` is left `false` for the caller, who knows the redactions.
pub fn aggregate<'a>(
    target: &Event,
    related: impl DoubleEndedIterator<Item = &'a Event>,
    counts: impl Fn(&Event) -> bool,
) -> Relations {
    let target_id = target.id();
    let editable = is_original_message(target);
    let mut edit = None;
    let mut reactions: Vec<ReactionCount> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut counted: BTreeSet<(usize, UserKey)> = BTreeSet::new();
    for event in related {
        match event.kind() {
            kinds::MESSAGE if editable && event.author() == target.author() => {
                let Ok(message) = Message::parse(event.content()) else {
                    continue;
                };
                if message.replaces == Some(target_id) && counts(event) {
                    // Later events in timeline order replace earlier ones: the last one wins.
                    edit = Some(Edit {
                        event: event.id(),
                        body: message.body,
                        origin_ts: event.origin_ts(),
                    });
                }
            }
            kinds::REACTION => {
                let Ok(reaction) = Reaction::parse(event.content()) else {
                    continue;
                };
                if reaction.relates_to != target_id || !counts(event) {
                    continue;
                }
                let slot = *seen.entry(reaction.key.clone()).or_insert_with(|| {
                    reactions.push(ReactionCount {
                        key: reaction.key,
                        users: Vec::new(),
                    });
                    reactions.len() - 1
                });
                if counted.insert((slot, *event.author())) {
                    reactions[slot].users.push((*event.author(), event.id()));
                }
            }
            _ => {}
        }
    }
    Relations {
        edit,
        reactions,
        deleted: false,
    }
}

/// The events relating to each target, in timeline order ((depth, id)): edits and reactions,
/// indexed when accepted, so that aggregating one event reads only its own relations.
#[derive(Debug, Clone, Default)]
pub struct RelationIndex {
    by_target: BTreeMap<EventId, BTreeSet<(u64, EventId)>>,
}

impl RelationIndex {
    /// Indexes an accepted event if it relates to another.
    pub fn add(&mut self, event: &Event) {
        if let Some((_, target)) = relation_of(event) {
            self.by_target
                .entry(target)
                .or_default()
                .insert((event.depth(), event.id()));
        }
    }

    /// Forgets an event (the undo of [`Self::add`]).
    pub fn remove(&mut self, event: &Event) {
        if let Some((_, target)) = relation_of(event)
            && let Some(set) = self.by_target.get_mut(&target)
        {
            set.remove(&(event.depth(), event.id()));
            if set.is_empty() {
                self.by_target.remove(&target);
            }
        }
    }

    /// The events relating to `target`, in timeline order.
    pub fn of(&self, target: &EventId) -> impl DoubleEndedIterator<Item = EventId> + '_ {
        self.by_target
            .get(target)
            .into_iter()
            .flat_map(|set| set.iter().map(|(_, id)| *id))
    }
}

#[cfg(test)]
mod tests {
    //! Parsing on both edges of every limit, and aggregation over small fixtures.

    use causerie_crypto::UserSecret;
    use causerie_crypto::testing::FIXTURE_ATTESTATION;
    use causerie_crypto::{EventDraft, RoomId};

    use super::*;

    fn id(n: u8) -> EventId {
        EventId(Hash32([n; 32]))
    }

    fn bytes(n: u8, len: usize) -> Value {
        Value::Bytes(vec![n; len])
    }

    fn message(fields: &[(&str, Value)]) -> Content {
        let mut content = Content::new();
        content.insert("body".into(), "hi".into());
        for (k, v) in fields {
            content.insert((*k).into(), v.clone());
        }
        content
    }

    fn problem(result: Result<impl std::fmt::Debug, AuthError>) -> &'static str {
        match result {
            Err(AuthError::BadContent(problem)) => problem,
            other => panic!("expected bad content, got {other:?}"),
        }
    }

    #[test]
    fn message_fields_round_trip() {
        let full = Message {
            body: "**hi**".into(),
            reply_to: Some(id(1)),
            mentions: vec![[2; 32], [3; 32]],
            replaces: Some(id(4)),
        };
        assert_eq!(Message::parse(&full.to_content()), Ok(full));
        let plain = Message::new("x");
        assert_eq!(plain.to_content().len(), 1);
        assert_eq!(Message::parse(&plain.to_content()), Ok(plain));
    }

    #[test]
    fn message_fields_are_checked() {
        assert_eq!(problem(Message::parse(&Content::new())), "bad_body");
        for (key, want) in [("reply_to", "bad_reply_to"), ("replaces", "bad_replaces")] {
            for bad in [bytes(1, 31), bytes(1, 33), Value::Text("x".into())] {
                assert_eq!(problem(Message::parse(&message(&[(key, bad)]))), want);
            }
        }
        let keys = |n: usize| Value::Array((0..n).map(|i| bytes(i as u8, 32)).collect());
        let at_limit = Message::parse(&message(&[("mentions", keys(MAX_MENTIONS))])).unwrap();
        assert_eq!(at_limit.mentions.len(), MAX_MENTIONS);
        assert_eq!(
            problem(Message::parse(&message(&[(
                "mentions",
                keys(MAX_MENTIONS + 1)
            )]))),
            "mentions_over_limit"
        );
        for bad in [
            Value::Array(vec![bytes(1, 31)]),
            Value::Text("ab".into()),
            Value::Array(vec![Value::Text("ab".repeat(32))]),
        ] {
            assert_eq!(
                problem(Message::parse(&message(&[("mentions", bad)]))),
                "bad_mentions"
            );
        }
        // Repeated mentions count once, sorted.
        let twice = Value::Array(vec![bytes(5, 32), bytes(2, 32), bytes(5, 32)]);
        let parsed = Message::parse(&message(&[("mentions", twice)])).unwrap();
        assert_eq!(parsed.mentions, vec![[2; 32], [5; 32]]);
    }

    #[test]
    fn reaction_keys_have_limits() {
        let reaction = |key: &str| Reaction {
            relates_to: id(7),
            key: key.into(),
        };
        for fine in ["👍", "x", &"k".repeat(MAX_REACTION_KEY_BYTES), "🏳️‍🌈"] {
            let r = reaction(fine);
            assert_eq!(Reaction::parse(&r.to_content()), Ok(r));
        }
        for bad in ["", &"k".repeat(MAX_REACTION_KEY_BYTES + 1), "a\nb", "\u{7}"] {
            assert_eq!(
                problem(Reaction::parse(&reaction(bad).to_content())),
                "bad_reaction_key"
            );
        }
        let mut content = reaction("👍").to_content();
        content.insert("relates_to".into(), bytes(1, 31));
        assert_eq!(problem(Reaction::parse(&content)), "bad_relates_to");
        content.remove("relates_to");
        assert_eq!(problem(Reaction::parse(&content)), "bad_relates_to");
        assert!(check_content(kinds::REACTION, &Content::new()).is_err());
        assert_eq!(check_content(kinds::TOPIC, &Content::new()), Ok(()));
    }

    fn event(author: &UserSecret, kind: &str, content: Content, depth: u64) -> Event {
        EventDraft {
            room: Some(RoomId(Hash32([1; 32]))),
            author: author.public(),
            kind: kind.into(),
            state_key: None,
            content,
            prev_events: vec![id(0)],
            auth_events: vec![],
            depth,
            origin_ts: 1_000 + depth,
            attestation: FIXTURE_ATTESTATION,
        }
        .sign(author)
        .unwrap()
    }

    fn edit(author: &UserSecret, target: &Event, body: &str, depth: u64) -> Event {
        let message = Message {
            replaces: Some(target.id()),
            ..Message::new(body)
        };
        event(author, kinds::MESSAGE, message.to_content(), depth)
    }

    fn react(author: &UserSecret, target: &Event, key: &str, depth: u64) -> Event {
        let reaction = Reaction {
            relates_to: target.id(),
            key: key.into(),
        };
        event(author, kinds::REACTION, reaction.to_content(), depth)
    }

    #[test]
    fn the_last_edit_by_the_author_wins() {
        let alice = UserSecret::from_seed(&[1; 32]);
        let bob = UserSecret::from_seed(&[2; 32]);
        let original = event(&alice, kinds::MESSAGE, Message::new("v1").to_content(), 1);
        let first = edit(&alice, &original, "v2", 2);
        let by_bob = edit(&bob, &original, "bob's", 3);
        let last = edit(&alice, &original, "v3", 4);
        let related = [&first, &by_bob, &last];
        let all = aggregate(&original, related.into_iter(), |_| true);
        assert_eq!(all.edit.as_ref().map(|e| e.body.as_str()), Some("v3"));
        assert_eq!(all.edit.map(|e| e.event), Some(last.id()));
        // A redacted (not counting) last edit gives way to the one before.
        let without_last = aggregate(&original, related.into_iter(), |e| e.id() != last.id());
        assert_eq!(without_last.edit.map(|e| e.body), Some("v2".into()));
        // An edit of an edit is not honoured.
        let again = edit(&alice, &first, "v4", 5);
        assert_eq!(aggregate(&first, [&again].into_iter(), |_| true).edit, None);
        // Nor an edit of something that is not a message.
        let reaction = react(&alice, &original, "👍", 2);
        let of_reaction = edit(&alice, &reaction, "no", 3);
        assert_eq!(
            aggregate(&reaction, [&of_reaction].into_iter(), |_| true).edit,
            None
        );
    }

    #[test]
    fn reactions_count_each_user_once_per_key() {
        let users: Vec<UserSecret> = (1..=3).map(|n| UserSecret::from_seed(&[n; 32])).collect();
        let target = event(
            &users[0],
            kinds::MESSAGE,
            Message::new("hi").to_content(),
            1,
        );
        let other = event(
            &users[0],
            kinds::MESSAGE,
            Message::new("yo").to_content(),
            1,
        );
        let r = [
            react(&users[1], &target, "👍", 2),
            react(&users[1], &target, "👍", 3),
            react(&users[2], &target, "🎉", 4),
            react(&users[0], &target, "👍", 5),
            react(&users[2], &other, "👍", 6),
        ];
        let relations = aggregate(&target, r.iter(), |_| true);
        let summary: Vec<(&str, Vec<UserKey>)> = relations
            .reactions
            .iter()
            .map(|c| (c.key.as_str(), c.users.iter().map(|u| u.0).collect()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("👍", vec![users[1].public(), users[0].public()]),
                ("🎉", vec![users[2].public()]),
            ]
        );
        // The user's first counting reaction is the one named.
        assert_eq!(relations.reactions[0].users[0].1, r[0].id());
        let without_first = aggregate(&target, r.iter(), |e| e.id() != r[0].id());
        assert_eq!(
            without_first.reactions[0].users[0],
            (users[1].public(), r[1].id())
        );
        // Nothing counts: no keys at all.
        assert!(aggregate(&target, r.iter(), |_| false).reactions.is_empty());
    }

    #[test]
    fn the_index_lists_relations_in_timeline_order() {
        let alice = UserSecret::from_seed(&[1; 32]);
        let target = event(&alice, kinds::MESSAGE, Message::new("hi").to_content(), 1);
        let late = react(&alice, &target, "a", 9);
        let early = edit(&alice, &target, "b", 2);
        let plain = event(&alice, kinds::MESSAGE, Message::new("x").to_content(), 3);
        let mut index = RelationIndex::default();
        for e in [&late, &early, &plain] {
            index.add(e);
        }
        assert_eq!(
            index.of(&target.id()).collect::<Vec<_>>(),
            vec![early.id(), late.id()]
        );
        index.remove(&late);
        index.remove(&early);
        assert_eq!(index.of(&target.id()).count(), 0);
        assert!(index.by_target.is_empty());
        // A redacted relation event relates to nothing.
        assert_eq!(relation_of(&late.redacted()), None);
    }
}
