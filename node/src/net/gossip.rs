//! The gossip side of the federation wire (specs/federation.md, "Gossip"): the topic of a room
//! and the message id of a gossip message. Pure functions of bytes, so that another
//! implementation can check itself against `specs/test-vectors/federation.json`, which
//! `node/tests/net_codec.rs` checks against these very functions.
//!
//! - Topic: `causerie/room/v1/` followed by the room id as 64 lowercase hex digits. The topic is
//!   an identity topic: its hash on the gossipsub wire is the topic string itself.
//! - Message id: the event id of the data when [`Event::decode_trusted`] accepts it (every check
//!   but the signature: ids must be cheap, and validation comes after), else
//!   SHA-256([`UNDECODABLE_PREFIX`] ‖ data), which no event id can equal, so garbage can never
//!   pre-empt a real event in the duplicate cache.

use causerie_crypto::{Event, Hash32, RoomId};
use libp2p::gossipsub::{IdentTopic, MessageId, TopicHash};

/// What every room topic starts with; the room id in lowercase hex follows.
pub const TOPIC_PREFIX: &str = "causerie/room/v1/";

/// Domain prefix of the message id of gossip data that does not decode as an event.
pub const UNDECODABLE_PREFIX: &[u8] = b"causerie/v1/undecodable-gossip\0";

/// A family of per-room identity topics: a prefix, then the room id as 64 lowercase hex digits.
/// Each room has one topic of each family: its events here ([`EVENT_TOPICS`]), its signals in
/// [`super::signals`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomTopics {
    prefix: &'static str,
}

impl RoomTopics {
    /// The family of topics that start with `prefix`.
    pub const fn new(prefix: &'static str) -> RoomTopics {
        RoomTopics { prefix }
    }

    /// The topic string of a room: the prefix ‖ 64 lowercase hex digits of the room id.
    pub fn name(self, room: &RoomId) -> String {
        format!("{}{}", self.prefix, room.0.to_hex())
    }

    /// The topic of a room (an identity topic: its hash is [`RoomTopics::name`]).
    pub fn topic(self, room: &RoomId) -> IdentTopic {
        IdentTopic::new(self.name(room))
    }

    /// The room a topic hash names, if it is exactly that room's topic of this family
    /// (lowercase hex only).
    pub fn room_of(self, topic: &TopicHash) -> Option<RoomId> {
        let room = topic
            .as_str()
            .strip_prefix(self.prefix)
            .and_then(Hash32::from_hex)
            .map(RoomId)?;
        (topic.as_str() == self.name(&room)).then_some(room)
    }
}

/// The rooms' event topics: [`TOPIC_PREFIX`] ‖ the room id.
pub const EVENT_TOPICS: RoomTopics = RoomTopics::new(TOPIC_PREFIX);

/// The topic string of a room: [`TOPIC_PREFIX`] ‖ 64 lowercase hex digits of the room id.
pub fn topic_name(room: &RoomId) -> String {
    EVENT_TOPICS.name(room)
}

/// The gossip topic of a room (an identity topic: its hash is [`topic_name`]).
pub fn topic(room: &RoomId) -> IdentTopic {
    EVENT_TOPICS.topic(room)
}

/// The room a topic hash names, if it is exactly the topic of that room (lowercase hex only).
pub fn room_of_topic(topic: &TopicHash) -> Option<RoomId> {
    EVENT_TOPICS.room_of(topic)
}

/// The 32 bytes of the message id of gossip `data` (see the module header).
pub fn message_id_bytes(data: &[u8]) -> [u8; 32] {
    match Event::decode_trusted(data) {
        Ok(event) => event.id().0.0,
        Err(_) => Hash32::digest(&[UNDECODABLE_PREFIX, data]).0,
    }
}

/// The gossipsub message id of `data`: [`message_id_bytes`].
pub fn message_id(data: &[u8]) -> MessageId {
    MessageId::new(&message_id_bytes(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_and_refuse_other_spellings() {
        let room = RoomId(Hash32([0xab; 32]));
        let topic = topic(&room);
        assert_eq!(topic.hash().as_str(), topic_name(&room));
        assert_eq!(room_of_topic(&topic.hash()), Some(room));
        let upper = TopicHash::from_raw(topic_name(&room).to_uppercase());
        assert_eq!(room_of_topic(&upper), None);
        let upper_hex = TopicHash::from_raw(format!("{TOPIC_PREFIX}{}", "AB".repeat(32)));
        assert_eq!(room_of_topic(&upper_hex), None);
        assert_eq!(
            room_of_topic(&TopicHash::from_raw("causerie/room/v1/00")),
            None
        );
    }

    #[test]
    fn garbage_gets_a_prefixed_hash() {
        assert_eq!(
            message_id_bytes(b"not an event"),
            Hash32::digest(&[UNDECODABLE_PREFIX, b"not an event"]).0
        );
    }
}
