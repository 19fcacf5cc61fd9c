//! What the client checks before the user's key signs anything: the prepared draft against
//! what was asked ([`Expect`], [`check_draft`]) and the login challenge; plus the join target
//! a user types (a room id or an invite link).

use causerie_crypto::address::{INVITE_PREFIX, InviteLink};
use causerie_crypto::directory::RoomAlias;
use causerie_crypto::{Challenge, EventDraft, RoomId, UserKey, UserSecret, Value};

use super::error::{ClientError, bad};
use super::resolve::RoomRef;
use super::wire::{ChallengeAnswer, Draft};

/// What the client expects a draft to be; checked before signing.
#[derive(Debug, Clone)]
pub struct Expect {
    /// The room; `None` for a create event (which has no room yet).
    pub room: Option<RoomId>,
    /// Event kind.
    pub kind: &'static str,
    /// The state key, when the event must have this one.
    pub state_key: Option<String>,
    /// Content fields that must hold these strings.
    pub content: Vec<(&'static str, String)>,
    /// Content fields that must hold these bytes.
    pub content_bytes: Vec<(&'static str, Vec<u8>)>,
    /// A power-levels user entry that must hold this level.
    pub user_level: Option<(UserKey, u64)>,
    /// Content fields that must hold these values (booleans, integers).
    pub content_values: Vec<(&'static str, Value)>,
}

impl Expect {
    /// An event of `kind` in `room`.
    pub fn new(room: Option<RoomId>, kind: &'static str) -> Expect {
        Expect {
            room,
            kind,
            state_key: None,
            content: Vec::new(),
            content_bytes: Vec::new(),
            user_level: None,
            content_values: Vec::new(),
        }
    }

    /// Also requires a content field with this value.
    pub fn value(mut self, key: &'static str, value: Value) -> Expect {
        self.content_values.push((key, value));
        self
    }

    /// Also requires a content field with these bytes.
    pub fn bytes(mut self, key: &'static str, value: Vec<u8>) -> Expect {
        self.content_bytes.push((key, value));
        self
    }

    /// Also requires `users[user] == level` in power-levels content.
    pub fn user_level(mut self, user: UserKey, level: u64) -> Expect {
        self.user_level = Some((user, level));
        self
    }

    /// Also requires this state key.
    pub fn state_key(mut self, key: impl Into<String>) -> Expect {
        self.state_key = Some(key.into());
        self
    }

    /// Also requires a content field with this string.
    pub fn content(mut self, key: &'static str, value: impl Into<String>) -> Expect {
        self.content.push((key, value.into()));
        self
    }
}

/// Decodes and checks a draft against what was asked; returns the signing input to sign.
pub fn check_draft(
    draft: &Draft,
    author: &UserKey,
    expect: &Expect,
) -> Result<Vec<u8>, ClientError> {
    let bytes = hex::decode(&draft.draft).map_err(|_| bad("draft is not hex"))?;
    let given_input =
        hex::decode(&draft.signing_input).map_err(|_| bad("signing_input is not hex"))?;
    let decoded = EventDraft::decode(&bytes).map_err(|e| {
        ClientError::DraftMismatch(format!("draft does not decode: {}", e.reason()))
    })?;
    let mismatch = |what: String| Err(ClientError::DraftMismatch(what));
    if decoded.author != *author {
        return mismatch(format!("author is {}, not this user", decoded.author));
    }
    if decoded.room != expect.room {
        return mismatch(format!(
            "room is {}, asked {}",
            decoded
                .room
                .map_or_else(|| "none".into(), |r| r.to_string()),
            expect.room.map_or_else(|| "none".into(), |r| r.to_string())
        ));
    }
    if decoded.kind != expect.kind {
        return mismatch(format!("kind is {}, asked {}", decoded.kind, expect.kind));
    }
    if let Some(key) = &expect.state_key
        && decoded.state_key.as_deref() != Some(key.as_str())
    {
        return mismatch(format!(
            "state key is {:?}, asked {key:?}",
            decoded.state_key
        ));
    }
    for (field, value) in &expect.content {
        let found = decoded.content.get(*field).and_then(Value::as_str);
        if found != Some(value.as_str()) {
            return mismatch(format!(
                "content field {field} is {found:?}, asked {value:?}"
            ));
        }
    }
    for (field, value) in &expect.content_bytes {
        let found = decoded.content.get(*field).and_then(Value::as_bytes);
        if found != Some(value.as_slice()) {
            return mismatch(format!("content field {field} is not what was asked"));
        }
    }
    for (field, value) in &expect.content_values {
        if decoded.content.get(*field) != Some(value) {
            return mismatch(format!("content field {field} is not what was asked"));
        }
    }
    if let Some((user, level)) = &expect.user_level {
        let found = decoded
            .content
            .get("users")
            .and_then(Value::as_map)
            .and_then(|users| users.get(&user.to_string()))
            .and_then(Value::as_i64);
        if found.and_then(|l| u64::try_from(l).ok()) != Some(*level) {
            return mismatch(format!("power level of {user} is {found:?}, asked {level}"));
        }
    }
    let derived = decoded
        .signing_input()
        .map_err(|e| ClientError::DraftMismatch(format!("draft: {}", e.reason())))?;
    if derived != given_input {
        return mismatch("signing_input does not derive from the draft".into());
    }
    Ok(derived)
}

/// Checks a challenge is a login challenge for `user` and its signing input derives from it;
/// returns the bytes to sign.
pub(super) fn check_challenge(
    answer: &ChallengeAnswer,
    user: &UserKey,
) -> Result<Vec<u8>, ClientError> {
    let challenge = hex::decode(&answer.challenge).map_err(|_| bad("challenge is not hex"))?;
    let input = hex::decode(&answer.signing_input).map_err(|_| bad("signing_input is not hex"))?;
    let fields = Challenge::decode(&challenge).ok_or_else(|| {
        ClientError::BadChallenge("not a login challenge of this version and purpose".into())
    })?;
    if fields.user != *user {
        return Err(ClientError::BadChallenge("made for another user".into()));
    }
    if input != Challenge::signing_input(&challenge) {
        return Err(ClientError::BadChallenge(
            "signing_input does not derive from the challenge".into(),
        ));
    }
    Ok(input)
}

pub(super) fn sign(secret: &UserSecret, input: &[u8]) -> Result<String, ClientError> {
    secret
        .sign_input(input)
        .map(|s| hex::encode(s.as_bytes()))
        .ok_or_else(|| ClientError::DraftMismatch("input has no protocol domain prefix".into()))
}

/// Where to join: a room id, an alias or an invite link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinTarget {
    /// A room the node may already hold.
    Room(RoomId),
    /// `#local:server`: the node resolves it (specs/directory.md) and joins through the nodes
    /// that hold the room.
    Alias(RoomAlias),
    /// `causerie:join/<room>?via=…`, or its web form `https://<host>/join/<room>?via=…`.
    Link {
        /// The whole link, as given.
        link: String,
        /// The room it names.
        room: RoomId,
    },
}

impl JoinTarget {
    /// Parses a room id (`!` optional), an alias (`#local:server`) or an invite link
    /// (`causerie:join/<room>?via=…` or `https://<host>/join/<room>?via=…`), by the rules of
    /// [`causerie_crypto::address`] and [`causerie_crypto::directory`]; anything but a link is
    /// read as [`RoomRef::parse`] reads it.
    pub fn parse(text: &str) -> Result<JoinTarget, ClientError> {
        let web = text.starts_with("https://") || text.starts_with("http://");
        if text.starts_with(INVITE_PREFIX) || web {
            let link = InviteLink::parse(text)?;
            return Ok(JoinTarget::Link {
                link: text.to_owned(),
                room: link.room,
            });
        }
        Ok(match RoomRef::parse(text)? {
            RoomRef::Id(room) => JoinTarget::Room(room),
            RoomRef::Alias(alias) => JoinTarget::Alias(alias),
        })
    }

    /// The room this target names, when it is known without asking a node (not for an alias).
    pub fn room(&self) -> Option<RoomId> {
        match self {
            JoinTarget::Room(room) | JoinTarget::Link { room, .. } => Some(*room),
            JoinTarget::Alias(_) => None,
        }
    }
}

impl std::fmt::Display for JoinTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JoinTarget::Room(room) | JoinTarget::Link { room, .. } => room.fmt(f),
            JoinTarget::Alias(alias) => alias.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::challenge::CHALLENGE_PURPOSE;
    use causerie_crypto::event::kinds;
    use causerie_crypto::testing::{FIXTURE_ATTESTATION, Said, draft_after};
    use causerie_crypto::{Domain, EventId, Hash32};

    fn draft_for(secret: &UserSecret, room: RoomId, body: &str) -> (EventDraft, Draft) {
        let prev = vec![EventId(Hash32([1; 32]))];
        let said = Said::Message(body);
        let draft = draft_after(secret.public(), room, prev, 3, said, FIXTURE_ATTESTATION);
        let wire = Draft {
            draft: hex::encode(draft.encode().unwrap()),
            signing_input: hex::encode(draft.signing_input().unwrap()),
            event: serde_json::Value::Null,
        };
        (draft, wire)
    }

    #[test]
    fn honest_draft_passes() {
        let secret = UserSecret::generate().unwrap();
        let room = RoomId(Hash32([9; 32]));
        let (draft, wire) = draft_for(&secret, room, "hi");
        let expect = Expect::new(Some(room), kinds::MESSAGE).content("body", "hi");
        let input = check_draft(&wire, &secret.public(), &expect).unwrap();
        assert_eq!(input, draft.signing_input().unwrap());
    }

    #[test]
    fn hostile_drafts_are_refused() {
        let secret = UserSecret::generate().unwrap();
        let other = UserSecret::generate().unwrap();
        let room = RoomId(Hash32([9; 32]));
        let expect = Expect::new(Some(room), kinds::MESSAGE).content("body", "hi");
        let user = secret.public();
        // Another author.
        let (_, wire) = draft_for(&other, room, "hi");
        assert_eq!(
            check_draft(&wire, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
        // Another room.
        let (_, wire) = draft_for(&secret, RoomId(Hash32([8; 32])), "hi");
        assert_eq!(
            check_draft(&wire, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
        // Another body.
        let (_, wire) = draft_for(&secret, room, "send money");
        assert_eq!(
            check_draft(&wire, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
        // Signing input of another draft.
        let (_, honest) = draft_for(&secret, room, "hi");
        let (_, evil) = draft_for(&secret, room, "bye");
        let mixed = Draft {
            draft: honest.draft.clone(),
            signing_input: evil.signing_input,
            event: serde_json::Value::Null,
        };
        assert_eq!(
            check_draft(&mixed, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
        // Not hex; hex of CBOR that is not a draft (an empty map).
        for (draft, reason) in [("zz", "bad_response"), ("a0", "draft_mismatch")] {
            let junk = Draft {
                draft: draft.into(),
                signing_input: honest.signing_input.clone(),
                event: serde_json::Value::Null,
            };
            let refused = check_draft(&junk, &user, &expect).unwrap_err();
            assert_eq!(refused.reason(), reason, "{draft}");
        }
        // Wrong kind asked.
        let expect = Expect::new(Some(room), kinds::MEMBER);
        assert_eq!(
            check_draft(&honest, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
    }

    fn challenge(user: &UserKey, purpose: &str) -> ChallengeAnswer {
        let node = causerie_crypto::NodeSecret::from_seed(&[1; 32]).public();
        let mut challenge = Challenge::new(node, *user, [2; 32], 5);
        challenge.purpose = purpose.into();
        let bytes = challenge.encode().unwrap();
        ChallengeAnswer {
            signing_input: hex::encode(Challenge::signing_input(&bytes)),
            challenge: hex::encode(bytes),
        }
    }

    #[test]
    fn challenges_are_checked_before_signing() {
        let user = UserSecret::generate().unwrap().public();
        let other = UserSecret::generate().unwrap().public();
        assert!(check_challenge(&challenge(&user, CHALLENGE_PURPOSE), &user).is_ok());
        let err = check_challenge(&challenge(&other, CHALLENGE_PURPOSE), &user).unwrap_err();
        assert_eq!(err.reason(), "bad_challenge");
        let err = check_challenge(&challenge(&user, "causerie.pay"), &user).unwrap_err();
        assert_eq!(err.reason(), "bad_challenge");
        let mut swapped = challenge(&user, CHALLENGE_PURPOSE);
        swapped.signing_input = hex::encode(Domain::Event.signing_input(b"x"));
        let err = check_challenge(&swapped, &user).unwrap_err();
        assert_eq!(err.reason(), "bad_challenge");
    }

    #[test]
    fn join_targets_parse() {
        let room = format!("!{}", "ab".repeat(32));
        assert!(matches!(JoinTarget::parse(&room), Ok(JoinTarget::Room(_))));
        // The sigil is optional, in a room id as in a link.
        let bare = JoinTarget::parse(&room[1..]).unwrap();
        assert_eq!(bare.to_string(), room);
        let link = format!("causerie:join/{room}?via=/ip4/127.0.0.1/tcp/1/p2p/x");
        let target = JoinTarget::parse(&link).unwrap();
        assert_eq!(target.room().map(|r| r.to_string()), Some(room.clone()));
        assert!(matches!(target, JoinTarget::Link { .. }));
        let bare = format!("causerie:join/{}?via=x", &room[1..]);
        assert_eq!(JoinTarget::parse(&bare).unwrap().to_string(), room);
        // The web form of the same link.
        let web = format!("https://chat.example.org/join/{room}?via=/ip4/127.0.0.1/tcp/1/p2p/x");
        let target = JoinTarget::parse(&web).unwrap();
        assert_eq!(target.room().map(|r| r.to_string()), Some(room.clone()));
        assert!(matches!(target, JoinTarget::Link { link, .. } if link == web));
        // An alias names no room until a node resolves it.
        let alias = JoinTarget::parse("#lobby:chat.example.org").unwrap();
        assert!(matches!(alias, JoinTarget::Alias(_)));
        assert_eq!(alias.room(), None);
        assert_eq!(alias.to_string(), "#lobby:chat.example.org");
        for (bad, reason) in [
            ("", "bad_room_id"),
            ("!zz", "bad_room_id"),
            (&room.to_uppercase(), "bad_room_id"),
            ("causerie:join/", "bad_room_id"),
            ("http://x", "not_an_invite"),
            ("#lobby", "bad_alias"),
            ("#Lobby:chat.example.org", "bad_alias"),
            (&format!("https://a.example/join/{room}"), "via_count"),
            (&format!("https://a b/join/{room}?via=x"), "bad_origin"),
            (&format!("causerie:join/{room}"), "via_count"),
            (
                &format!("causerie:join/{room}?via={}", "x".repeat(4_096)),
                "invite_too_long",
            ),
        ] {
            let error = JoinTarget::parse(bad).unwrap_err();
            assert_eq!(error.reason(), reason, "{bad}");
            assert!(error.is_refusal());
        }
    }
}
