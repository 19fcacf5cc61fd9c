//! What a person types for a room or a user, and how the client turns it into ids
//! (specs/client-api.md, "Addressing"): a room is a room id (`!…`) or an alias
//! (`#local:server`, resolved by the node, specs/directory.md); a user is a key (64 hex
//! digits, `@` optional) or a handle (`@alice`), resolved among a room's members when there is a
//! room to look in, else among this node's accounts.
//!
//! Both are parsed before the client logs in, so a typo is refused without a round trip; only
//! the alias and handle lookups need the node.

use causerie_crypto::address::{ID_HEX_DIGITS, parse_room, parse_user};
use causerie_crypto::attestation::valid_handle;
use causerie_crypto::directory::RoomAlias;
use causerie_crypto::{RoomId, UserKey};
use reqwest::Method;
use serde::Deserialize;

use super::error::{ClientError, bad, invalid};
use super::transport::Client;

/// A room as typed: its id, or an alias some node gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomRef {
    /// `!<64 hex>` (the `!` may be left out).
    Id(RoomId),
    /// `#local:server`.
    Alias(RoomAlias),
}

impl RoomRef {
    /// Parses a room id or, when the text starts with `#`, an alias (`bad_alias` and the
    /// directory's reasons when it is malformed).
    pub fn parse(text: &str) -> Result<RoomRef, ClientError> {
        if text.starts_with('#') {
            return RoomAlias::parse(text)
                .map(RoomRef::Alias)
                .map_err(|e| invalid(e.reason(), format!("{text:?}: {e}")));
        }
        Ok(RoomRef::Id(parse_room(text)?))
    }

    /// The id, when it was typed as one.
    pub fn id(&self) -> Option<RoomId> {
        match self {
            RoomRef::Id(room) => Some(*room),
            RoomRef::Alias(_) => None,
        }
    }
}

impl std::fmt::Display for RoomRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RoomRef::Id(room) => room.fmt(f),
            RoomRef::Alias(alias) => alias.fmt(f),
        }
    }
}

/// A user as typed: a key, or a handle to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// 64 hex digits, `@` optional.
    Key(UserKey),
    /// `@alice` or `alice`: a handle (specs/identity.md, handles).
    Handle(String),
}

impl UserRef {
    /// Parses a key or a handle. Handles are at most 32 bytes, so 64 characters can only be a
    /// key (and a malformed one is refused as a key: `bad_user`); anything else must be a valid
    /// handle (`bad_handle`).
    pub fn parse(text: &str) -> Result<UserRef, ClientError> {
        let bare = text.strip_prefix('@').unwrap_or(text);
        if bare.chars().count() == ID_HEX_DIGITS {
            return Ok(UserRef::Key(parse_user(text)?));
        }
        if !valid_handle(bare) {
            return Err(invalid(
                "bad_handle",
                format!("{text:?} is neither a user key (64 hex digits) nor a handle"),
            ));
        }
        Ok(UserRef::Handle(bare.to_owned()))
    }
}

/// What `GET /api/v1/aliases/{alias}` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct ResolvedAlias {
    /// The alias, normalised (`#local:server`).
    pub alias: String,
    /// The room it names.
    pub room: String,
    /// The node that gave the alias, hex.
    pub node: String,
    /// Addresses to join it through.
    #[serde(default)]
    pub via: Vec<String>,
    /// An invite link through them.
    pub link: String,
}

/// What `GET /api/v1/handles/{handle}` answers.
#[derive(Debug, Deserialize)]
struct HandleAnswer {
    user: String,
}

impl Client {
    /// Resolves an alias through the node (`404 unknown_alias`, `unknown_server`, `409
    /// server_name_conflict`).
    pub async fn resolve_alias(&self, alias: &RoomAlias) -> Result<ResolvedAlias, ClientError> {
        // Without its `#`, which would start a URL fragment; the rest is validated (`a-z 0-9 _
        // - .`, then a host name or a node name), so it needs no escaping in a path segment.
        let path = format!("/aliases/{}:{}", alias.local, alias.server);
        let resolved: ResolvedAlias = self.call(Method::GET, &path, None, true).await?;
        parse_room(&resolved.room).map_err(|_| bad("the node resolved the alias to a bad id"))?;
        Ok(resolved)
    }

    /// Gives `room` the alias `#local:<this node's server name>` (replacing its previous one
    /// here); answers the whole alias. Needs the power to rename the room (`403
    /// insufficient_power`); `409 alias_taken`.
    pub async fn set_alias(&self, room: &RoomId, local: &str) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Set {
            alias: String,
        }
        let set: Set = self
            .call(
                Method::PUT,
                &format!("/rooms/{room}/alias"),
                Some(serde_json::json!({ "alias": local })),
                true,
            )
            .await?;
        Ok(set.alias)
    }

    /// Removes `room`'s alias on this node; whether it had one.
    pub async fn remove_alias(&self, room: &RoomId) -> Result<bool, ClientError> {
        #[derive(Deserialize)]
        struct Removed {
            removed: bool,
        }
        let removed: Removed = self
            .call(Method::DELETE, &format!("/rooms/{room}/alias"), None, true)
            .await?;
        Ok(removed.removed)
    }

    /// The room a [`RoomRef`] names.
    pub async fn resolve_room(&self, room: &RoomRef) -> Result<RoomId, ClientError> {
        match room {
            RoomRef::Id(room) => Ok(*room),
            RoomRef::Alias(alias) => {
                let resolved = self.resolve_alias(alias).await?;
                parse_room(&resolved.room).map_err(|_| bad("bad room id"))
            }
        }
    }

    /// The user a [`UserRef`] names: a handle is looked up among `room`'s members when a room
    /// is given (`unknown_member`, `ambiguous_handle` when members of several nodes share it),
    /// else among this node's accounts (`unknown_handle`).
    pub async fn resolve_user(
        &self,
        user: &UserRef,
        room: Option<&RoomId>,
    ) -> Result<UserKey, ClientError> {
        let handle = match user {
            UserRef::Key(key) => return Ok(*key),
            UserRef::Handle(handle) => handle,
        };
        let Some(room) = room else {
            let answer: HandleAnswer = self
                .call(Method::GET, &format!("/handles/{handle}"), None, true)
                .await?;
            return parse_user(&answer.user).map_err(|_| bad("the node answered a bad key"));
        };
        let members = self.members(room).await?;
        let matches: Vec<_> = members
            .iter()
            .filter(|m| m.handle.as_deref() == Some(handle.as_str()))
            .collect();
        match matches.as_slice() {
            [one] => parse_user(&one.user).map_err(|_| bad("the node listed a malformed key")),
            [] => Err(invalid(
                "unknown_member",
                format!(
                    "no member of {room} has the handle @{handle}; pass the key (64 hex digits)"
                ),
            )),
            many => Err(invalid(
                "ambiguous_handle",
                format!(
                    "{} members have the handle @{handle} (on different nodes); pass the key",
                    many.len()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_parse_as_ids_or_aliases() {
        let id = format!("!{}", "ab".repeat(32));
        assert!(matches!(RoomRef::parse(&id), Ok(RoomRef::Id(_))));
        let alias = RoomRef::parse("#lobby:chat.example.org").unwrap();
        assert_eq!(alias.to_string(), "#lobby:chat.example.org");
        assert_eq!(alias.id(), None);
        for bad in [
            "#",
            "#lobby",
            "#Lobby:example.org",
            "#lobby:",
            "!zz",
            "lobby",
        ] {
            assert!(RoomRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn users_parse_as_keys_or_handles() {
        let key = causerie_crypto::UserSecret::from_seed(&[7; 32]).public();
        let hex = key.to_string();
        assert_eq!(UserRef::parse(&hex).unwrap(), UserRef::Key(key));
        assert_eq!(
            UserRef::parse(&format!("@{hex}")).unwrap(),
            UserRef::Key(key)
        );
        assert_eq!(
            UserRef::parse("@alice").unwrap(),
            UserRef::Handle("alice".into())
        );
        assert_eq!(
            UserRef::parse("bob_2").unwrap(),
            UserRef::Handle("bob_2".into())
        );
        for (text, reason) in [
            ("@Alice", "bad_handle"),
            ("", "bad_handle"),
            ("@a b", "bad_handle"),
            (&"zz".repeat(32), "bad_user"),
        ] {
            assert_eq!(UserRef::parse(text).unwrap_err().reason(), reason, "{text}");
        }
    }
}
