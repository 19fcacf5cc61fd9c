//! Room calls on [`Client`]: reads (rooms, members, history pages) and the actions a user
//! signs (create, join, leave, send), each checked by `checks.rs` before signing.

use causerie_crypto::address::{parse_event_id, parse_room};
use causerie_crypto::event::kinds;
use causerie_crypto::{RoomId, UserSecret};
use reqwest::Method;
use serde_json::json;

use super::MAX_PAGE_LIMIT;
use super::checks::{Expect, JoinTarget};
use super::error::{ClientError, bad};
use super::transport::Client;
use super::wire::{
    ApiEvent, Draft, JoinAnswer, LinkAnswer, Member, MemberList, NewRoom, Page, RoomInfo, RoomList,
    Submitted,
};

impl Client {
    /// Rooms where the user is joined, invited or knocking.
    pub async fn rooms(&self) -> Result<Vec<RoomInfo>, ClientError> {
        Ok(self
            .call::<RoomList>(Method::GET, "/rooms", None, true)
            .await?
            .rooms)
    }

    /// Public rooms this node holds.
    pub async fn directory(&self) -> Result<Vec<RoomInfo>, ClientError> {
        Ok(self
            .call::<RoomList>(Method::GET, "/directory", None, true)
            .await?
            .rooms)
    }

    /// One room.
    pub async fn room(&self, room: &RoomId) -> Result<RoomInfo, ClientError> {
        self.call(Method::GET, &format!("/rooms/{room}"), None, true)
            .await
    }

    /// A room's members, joined first.
    pub async fn members(&self, room: &RoomId) -> Result<Vec<Member>, ClientError> {
        Ok(self
            .call::<MemberList>(Method::GET, &format!("/rooms/{room}/members"), None, true)
            .await?
            .members)
    }

    /// A page of history before `before` (or the newest), oldest first.
    pub async fn messages(
        &self,
        room: &RoomId,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Page, ClientError> {
        let limit = limit.clamp(1, MAX_PAGE_LIMIT);
        let mut path = format!("/rooms/{room}/messages?limit={limit}");
        if let Some(cursor) = before {
            // Cursors come from the node; keep them from smuggling other query parameters.
            if !cursor
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'$')
            {
                return Err(bad("history cursor has unexpected characters"));
            }
            path.push_str("&before=");
            path.push_str(&cursor.replace('$', "%24"));
        }
        let page: Page = self.call(Method::GET, &path, None, true).await?;
        if page.events.len() > limit as usize {
            return Err(bad("history page longer than asked"));
        }
        Ok(page)
    }

    /// The newest `count` events, oldest first (several pages if needed).
    pub async fn history(&self, room: &RoomId, count: usize) -> Result<Vec<ApiEvent>, ClientError> {
        let mut pages: Vec<Vec<ApiEvent>> = Vec::new();
        let mut have = 0usize;
        let mut before: Option<String> = None;
        while have < count {
            let want = (count - have).min(MAX_PAGE_LIMIT as usize) as u32;
            let page = self.messages(room, before.as_deref(), want).await?;
            have += page.events.len();
            let empty = page.events.is_empty();
            pages.push(page.events);
            match page.prev {
                Some(prev) if !empty => before = Some(prev),
                _ => break,
            }
        }
        Ok(pages.into_iter().rev().flatten().collect())
    }

    /// The room's invite link.
    pub async fn invite_link(&self, room: &RoomId) -> Result<String, ClientError> {
        let answer: LinkAnswer = self
            .call(Method::GET, &format!("/rooms/{room}/invite"), None, true)
            .await?;
        let target = JoinTarget::parse(&answer.link).map_err(|e| bad(e.to_string()))?;
        if target.room() != Some(*room) || !matches!(target, JoinTarget::Link { .. }) {
            return Err(bad("invite link names another room"));
        }
        Ok(answer.link)
    }

    /// Sends a chat message.
    pub async fn send_message(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        body: &str,
    ) -> Result<Submitted, ClientError> {
        let expect = Expect::new(Some(*room), kinds::MESSAGE).content("body", body);
        self.act(
            secret,
            room,
            json!({"action": "message", "body": body}),
            expect,
        )
        .await
    }

    /// The user's own member event with `membership` (join, leave).
    pub(super) fn own_member(
        &self,
        room: &RoomId,
        membership: &str,
    ) -> Result<Expect, ClientError> {
        let user = self.session_user()?;
        Ok(Expect::new(Some(*room), kinds::MEMBER)
            .state_key(user.to_string())
            .content("membership", membership))
    }

    /// Creates a room: create, join, power levels, join rule, name, then topic; each checked
    /// and signed here. Returns the room id.
    pub async fn create_room(
        &self,
        secret: &UserSecret,
        options: &NewRoom,
    ) -> Result<RoomId, ClientError> {
        let create = Expect::new(None, kinds::CREATE);
        let room = self.found_room(secret, json!({}), &create).await?;
        let rule = &options.join_rule;
        self.set_text_state(secret, &room, kinds::JOIN_RULES, "join_rule", rule)
            .await?;
        self.set_text_state(secret, &room, kinds::NAME, "name", &options.name)
            .await?;
        if let Some(topic) = &options.topic {
            self.set_text_state(secret, &room, kinds::TOPIC, "topic", topic)
                .await?;
        }
        Ok(room)
    }

    /// The first steps of every new room: asks the node to prepare a create event from
    /// `options` (`{}`, or `{"dm": true}`), checks it against `create` and signs it, then joins
    /// and sets the default power levels. Returns the room id, checked to be the create event's
    /// id.
    pub(super) async fn found_room(
        &self,
        secret: &UserSecret,
        options: serde_json::Value,
        create: &Expect,
    ) -> Result<RoomId, ClientError> {
        let draft: Draft = self
            .call(Method::POST, "/rooms/prepare_create", Some(options), true)
            .await?;
        let submitted = self.sign_and_submit(secret, &draft, create).await?;
        let room = parse_room(&submitted.room).map_err(|_| bad("create answer has no room id"))?;
        let create = parse_event_id(&submitted.event_id)
            .map_err(|_| bad("create answer has no event id"))?;
        if create.0 != room.0 {
            return Err(bad("the room id is not the create event's id"));
        }
        let join = self.own_member(&room, "join")?;
        self.act(secret, &room, json!({"action": "join"}), join)
            .await?;
        let levels = Expect::new(Some(room), kinds::POWER_LEVELS).state_key("");
        self.act(secret, &room, json!({"action": "power_levels"}), levels)
            .await?;
        Ok(room)
    }

    /// Sets the text `field` of the room's `kind` state event to `value`, through the action
    /// of the same name (`join_rule`, `name`, `topic`), checking the draft says so.
    pub(super) async fn set_text_state(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        kind: &'static str,
        field: &'static str,
        value: &str,
    ) -> Result<Submitted, ClientError> {
        let expect = Expect::new(Some(*room), kind)
            .state_key("")
            .content(field, value);
        let mut action = json!({ "action": field });
        action[field] = json!(value);
        self.act(secret, room, action, expect).await
    }

    /// Joins a room by id, alias or invite link (the node replicates it first if needed). An
    /// alias is resolved first, so that the draft the node answers can be checked against the
    /// room the alias names.
    pub async fn join(
        &self,
        secret: &UserSecret,
        target: &JoinTarget,
    ) -> Result<RoomId, ClientError> {
        let (body, room) = match target {
            JoinTarget::Room(room) => (json!({ "room": room.to_string() }), *room),
            JoinTarget::Link { link, room } => (json!({ "link": link }), *room),
            JoinTarget::Alias(alias) => {
                let resolved = self.resolve_alias(alias).await?;
                let room = parse_room(&resolved.room).map_err(|e| bad(e.to_string()))?;
                (json!({ "alias": alias.to_string() }), room)
            }
        };
        let answer: JoinAnswer = self
            .call(Method::POST, "/rooms/join", Some(body), true)
            .await?;
        if answer.room != room.to_string() {
            return Err(ClientError::DraftMismatch(format!(
                "asked to join {target}, the node prepared {}",
                answer.room
            )));
        }
        let expect = self.own_member(&room, "join")?;
        self.sign_and_submit(secret, &answer.draft, &expect).await?;
        Ok(room)
    }

    /// Asks to join a room (a knock): in a `knock` room, or in an open room while a join wave is
    /// in force (specs/moderation.md §2.4). A moderator lets the user in with an invite.
    pub async fn knock(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        reason: Option<&str>,
    ) -> Result<Submitted, ClientError> {
        let expect = self.own_member(room, "knock")?;
        let mut action = json!({"action": "knock"});
        if let Some(reason) = reason {
            action["reason"] = json!(reason);
        }
        self.act(secret, room, action, expect).await
    }

    /// Leaves a room.
    pub async fn leave(
        &self,
        secret: &UserSecret,
        room: &RoomId,
    ) -> Result<Submitted, ClientError> {
        let expect = self.own_member(room, "leave")?;
        self.act(secret, room, json!({"action": "leave"}), expect)
            .await
    }
}
