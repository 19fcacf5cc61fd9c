//! Ephemeral room signals over the network (specs/signals.md §3): each room has a signal topic
//! beside its event topic, `causerie/signals/v1/` ‖ the room id in lowercase hex (an identity
//! topic), subscribed by every node that holds the room. A node publishes the signals it signs
//! for its users there; a receiver checks each one (`Signals::receive`) before relaying it.
//!
//! Verdicts: taken → Accept (relayed); forged or mangled (`SignalRefusal::is_misbehaviour`) →
//! Reject (the sender is penalised); anything else (late, a member who just left, over the
//! user's rate, this node's own) → Ignore. At most `MAX_SIGNAL_VALIDATIONS` are checked at
//! once; beyond, Ignore. Signals are never pulled: one that is missed is simply late.

use causerie_crypto::RoomId;
use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};

use super::gossip::RoomTopics;
use super::{Command, NetHandle};
use crate::clock::now_ms;

/// What every room's signal topic starts with; the room id in lowercase hex follows.
pub const TOPIC_PREFIX: &str = "causerie/signals/v1/";

/// The rooms' signal topics: [`TOPIC_PREFIX`] ‖ the room id.
pub const TOPICS: RoomTopics = RoomTopics::new(TOPIC_PREFIX);

/// Checks a gossiped signal on `room`'s topic and reports its verdict.
pub(crate) fn validate(
    handle: &NetHandle,
    room: RoomId,
    id: MessageId,
    source: PeerId,
    data: Vec<u8>,
) {
    let signals = handle.node.signals();
    let Ok(permit) = signals.validations().try_acquire_owned() else {
        handle.try_send(Command::Validated(id, source, MessageAcceptance::Ignore));
        return;
    };
    let handle = handle.clone();
    tokio::spawn(async move {
        let verdict = match signals.receive(&handle.node, room, &data, now_ms()).await {
            Ok(_) => MessageAcceptance::Accept,
            Err(refusal) if refusal.is_misbehaviour() => {
                tracing::debug!(peer = %source, reason = refusal.reason(), "signal rejected");
                MessageAcceptance::Reject
            }
            Err(_) => MessageAcceptance::Ignore,
        };
        handle.try_send(Command::Validated(id, source, verdict));
        drop(permit);
    });
}

#[cfg(test)]
mod tests {
    use causerie_crypto::Hash32;
    use libp2p::gossipsub::TopicHash;

    use super::*;

    #[test]
    fn topics_round_trip_and_differ_from_event_topics() {
        let room = RoomId(Hash32([0xcd; 32]));
        assert_eq!(TOPICS.room_of(&TOPICS.topic(&room).hash()), Some(room));
        assert_eq!(
            TOPICS.room_of(&super::super::gossip::topic(&room).hash()),
            None
        );
        let upper = TopicHash::from_raw(TOPICS.name(&room).to_uppercase());
        assert_eq!(TOPICS.room_of(&upper), None);
    }
}
