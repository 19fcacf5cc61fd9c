//! Replies, edits, reactions, deletions and direct messages on [`Client`] (specs/rooms.md §13,
//! specs/client-api.md "Events"): each action prepared by the node, its draft checked here
//! (kind, text, and the event it points at) before the key signs it.

use causerie_crypto::event::kinds;
use causerie_crypto::{EventId, RoomId, UserKey, UserSecret, Value};
use serde_json::json;

use super::checks::Expect;
use super::error::ClientError;
use super::transport::Client;
use super::wire::Submitted;

impl Client {
    /// Sends a message that replies to `event` (if any) and mentions `mentions`.
    pub async fn reply(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        event: Option<&EventId>,
        body: &str,
        mentions: &[UserKey],
    ) -> Result<Submitted, ClientError> {
        let mut expect = Expect::new(Some(*room), kinds::MESSAGE).content("body", body);
        let mut action = json!({"action": "message", "body": body});
        if let Some(event) = event {
            expect = expect.bytes("reply_to", event.as_bytes().to_vec());
            action["reply_to"] = json!(event.to_string());
        }
        if !mentions.is_empty() {
            let mut sorted: Vec<&UserKey> = mentions.iter().collect();
            sorted.sort();
            sorted.dedup();
            let keys = sorted
                .iter()
                .map(|u| Value::Bytes(u.as_bytes().to_vec()))
                .collect();
            expect = expect.value("mentions", Value::Array(keys));
            action["mentions"] = json!(sorted.iter().map(|u| u.to_string()).collect::<Vec<_>>());
        }
        self.act(secret, room, action, expect).await
    }

    /// Gives one of the user's messages a new text.
    pub async fn edit(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        event: &EventId,
        body: &str,
    ) -> Result<Submitted, ClientError> {
        let expect = Expect::new(Some(*room), kinds::MESSAGE)
            .content("body", body)
            .bytes("replaces", event.as_bytes().to_vec());
        let action = json!({"action": "edit", "event": event.to_string(), "body": body});
        self.act(secret, room, action, expect).await
    }

    /// Reacts to a message with `key`.
    pub async fn react(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        event: &EventId,
        key: &str,
    ) -> Result<Submitted, ClientError> {
        let expect = Expect::new(Some(*room), kinds::REACTION)
            .content("key", key)
            .bytes("relates_to", event.as_bytes().to_vec());
        let action = json!({"action": "react", "event": event.to_string(), "key": key});
        self.act(secret, room, action, expect).await
    }

    /// Takes back the user's reaction `key` to a message (the node names the reaction event
    /// the redaction removes; only its own reactions can be named).
    pub async fn unreact(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        event: &EventId,
        key: &str,
    ) -> Result<Submitted, ClientError> {
        let expect = Expect::new(Some(*room), kinds::REDACTION);
        let action = json!({"action": "unreact", "event": event.to_string(), "key": key});
        self.act(secret, room, action, expect).await
    }

    /// Deletes one of the user's messages (its redaction by its author).
    pub async fn delete(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        event: &EventId,
    ) -> Result<Submitted, ClientError> {
        let expect =
            Expect::new(Some(*room), kinds::REDACTION).bytes("redacts", event.as_bytes().to_vec());
        let action = json!({"action": "delete", "event": event.to_string()});
        self.act(secret, room, action, expect).await
    }

    /// Starts a direct-message room with `with` (specs/rooms.md §13.5): create with `dm`, join,
    /// power levels, join rule `invite`, invitation; each checked and signed here. Returns the
    /// room id.
    pub async fn start_dm(
        &self,
        secret: &UserSecret,
        with: &UserKey,
    ) -> Result<RoomId, ClientError> {
        let create = Expect::new(None, kinds::CREATE).value("dm", Value::Bool(true));
        let room = self
            .found_room(secret, json!({"dm": true}), &create)
            .await?;
        self.set_text_state(secret, &room, kinds::JOIN_RULES, "join_rule", "invite")
            .await?;
        let invite = Expect::new(Some(room), kinds::MEMBER)
            .state_key(with.to_string())
            .content("membership", "invite");
        self.act(
            secret,
            &room,
            json!({"action": "invite", "user": with.to_string()}),
            invite,
        )
        .await?;
        Ok(room)
    }
}
