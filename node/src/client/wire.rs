//! The client API's JSON shapes (specs/client-api.md, "Objects"), data only: what the node
//! answers and the options of the calls. Checks and conversions live in `checks.rs`.

use serde::{Deserialize, Serialize};

/// The attestation part of an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttestationInfo {
    /// `@<hex>`.
    pub id: String,
    /// Canonical CBOR, hex.
    #[serde(default)]
    pub bytes: String,
    /// The attested handle.
    pub handle: String,
    /// Assurance level.
    pub assurance: u64,
    /// Its name.
    #[serde(default)]
    pub assurance_name: String,
    /// The home node's key, hex.
    pub home_node: String,
    /// Start of validity.
    #[serde(default)]
    pub not_before_ms: u64,
    /// End of validity.
    #[serde(default)]
    pub not_after_ms: u64,
}

/// A user registered on a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    /// The user's key, hex.
    pub user: String,
    /// Handle on this node.
    pub handle: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The node's attestation of the key.
    pub attestation: AttestationInfo,
}

#[derive(Debug, Deserialize)]
pub(super) struct SessionAnswer {
    pub(super) token: String,
    pub(super) account: Account,
}

#[derive(Debug, Deserialize)]
pub(super) struct ChallengeAnswer {
    pub(super) challenge: String,
    pub(super) signing_input: String,
}

/// The power levels of a room, as the API reports them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PowerLevelsInfo {
    /// Level needed to ban.
    #[serde(default)]
    pub ban: u64,
    /// Level needed to kick.
    #[serde(default)]
    pub kick: u64,
    /// Level needed to redact others' events.
    #[serde(default)]
    pub redact: u64,
    /// Level needed to invite.
    #[serde(default)]
    pub invite: u64,
    /// Default level for state events.
    #[serde(default)]
    pub state_default: u64,
    /// Default level for other events.
    #[serde(default)]
    pub events_default: u64,
    /// Level of users not listed.
    #[serde(default)]
    pub users_default: u64,
    /// Listed users' levels (key hex → level).
    #[serde(default)]
    pub users: std::collections::BTreeMap<String, u64>,
}

/// A room as the API describes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoomInfo {
    /// `!<hex>`.
    pub room: String,
    /// Name, if set.
    #[serde(default)]
    pub name: Option<String>,
    /// Topic, if set.
    #[serde(default)]
    pub topic: Option<String>,
    /// Join rule.
    #[serde(default)]
    pub join_rule: Option<String>,
    /// Creator's key, hex.
    #[serde(default)]
    pub creator: Option<String>,
    /// Joined members.
    #[serde(default)]
    pub members: u64,
    /// The caller's membership.
    #[serde(default)]
    pub membership: Option<String>,
    /// The caller's power.
    #[serde(default)]
    pub power: u64,
    /// The room's power levels.
    #[serde(default)]
    pub power_levels: PowerLevelsInfo,
    /// The room's content rules, as their event's content (specs/moderation.md §2.1).
    #[serde(default)]
    pub content_rules: serde_json::Map<String, serde_json::Value>,
    /// Joins the node refused under the join-wave breaker (shown to moderators).
    #[serde(default)]
    pub join_wave: Option<serde_json::Value>,
    /// The join rules: `{join_rule, min_assurance, denied_attesters, allowed_attesters}` (node
    /// keys in hex; specs/accountability.md §8).
    #[serde(default)]
    pub join_rules: serde_json::Map<String, serde_json::Value>,
    /// For a direct-message room, the other member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<DmInfo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RoomList {
    pub(super) rooms: Vec<RoomInfo>,
}

/// A member of a room.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    /// The user's key, hex.
    pub user: String,
    /// Membership.
    pub membership: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Power level.
    #[serde(default)]
    pub power: u64,
    /// Handle from the user's attestation.
    #[serde(default)]
    pub handle: Option<String>,
    /// Home node key, hex.
    #[serde(default)]
    pub home_node: Option<String>,
    /// Assurance level.
    #[serde(default)]
    pub assurance: Option<u64>,
    /// Its name.
    #[serde(default)]
    pub assurance_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MemberList {
    pub(super) members: Vec<Member>,
}

/// What the node knows of an event's author.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sender {
    /// Handle.
    #[serde(default)]
    pub handle: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Home node key, hex.
    #[serde(default)]
    pub home_node: Option<String>,
    /// Assurance level.
    #[serde(default)]
    pub assurance: Option<u64>,
}

/// The message a reply answers, as the node shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// `$<hex>`.
    pub id: String,
    /// Its author's key, hex (`None` when the node does not show that message).
    #[serde(default)]
    pub author: Option<String>,
    /// Its author's handle.
    #[serde(default)]
    pub handle: Option<String>,
    /// The start of its text as shown (its edit's if edited).
    #[serde(default)]
    pub body: Option<String>,
}

/// The edit a message shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edited {
    /// The new text.
    pub body: String,
    /// The edit event, `$<hex>`.
    pub event: String,
    /// The edit's timestamp.
    #[serde(default)]
    pub origin_ts: u64,
}

/// The users who reacted to a message with one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionInfo {
    /// The reaction.
    pub key: String,
    /// How many users.
    pub count: u64,
    /// Some of them (keys in hex).
    #[serde(default)]
    pub users: Vec<String>,
    /// Whether the session's user is one of them.
    #[serde(default)]
    pub mine: bool,
}

/// The other member of a direct-message room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmInfo {
    /// Their key, hex (`None` while there is nobody else yet).
    #[serde(default)]
    pub with: Option<String>,
    /// Their handle, when the node knows it.
    #[serde(default)]
    pub handle: Option<String>,
}

/// An event as clients see it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ApiEvent {
    /// `$<hex>`.
    pub id: String,
    /// `!<hex>`.
    pub room: String,
    /// Author key, hex.
    pub author: String,
    /// Kind.
    pub kind: String,
    /// State key.
    #[serde(default)]
    pub state_key: Option<String>,
    /// Content as JSON.
    #[serde(default)]
    pub content: serde_json::Value,
    /// DAG depth.
    pub depth: u64,
    /// Author's clock.
    #[serde(default)]
    pub origin_ts: u64,
    /// Whether the content was redacted.
    #[serde(default)]
    pub redacted: bool,
    /// The author as the node knows them.
    #[serde(default)]
    pub sender: Option<Sender>,
    /// For a reply: the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// Users a message mentions (keys in hex).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    /// For an edit: the message it edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The edit a message shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<Edited>,
    /// Reactions to a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<ReactionInfo>,
    /// Whether its author deleted it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl ApiEvent {
    /// The timeline position (depth, then id), as specs/rooms.md orders events.
    pub fn position(&self) -> (u64, &str) {
        (self.depth, &self.id)
    }
}

/// A page of history, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    /// The events.
    pub events: Vec<ApiEvent>,
    /// Cursor of the page before; `None` at the start of the room.
    #[serde(default)]
    pub prev: Option<String>,
}

/// What `prepare` returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Draft {
    /// Canonical CBOR of the unsigned envelope, hex.
    pub draft: String,
    /// What the author signs, hex.
    pub signing_input: String,
    /// The draft as JSON (informative; the CLI checks `draft` itself).
    #[serde(default)]
    pub event: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub(super) struct JoinAnswer {
    pub(super) room: String,
    pub(super) draft: Draft,
}

/// The node's answer to a submitted event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Submitted {
    /// `$<hex>`.
    pub event_id: String,
    /// `!<hex>`.
    pub room: String,
    /// Whether it shows in the timeline.
    #[serde(default)]
    pub visible: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct LinkAnswer {
    pub(super) link: String,
}

/// The options of a new room.
#[derive(Debug, Clone)]
pub struct NewRoom {
    /// Room name.
    pub name: String,
    /// `public`, `invite`, `knock` or `attested`.
    pub join_rule: String,
    /// Topic, if any.
    pub topic: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) error: String,
    #[serde(default)]
    pub(super) message: String,
}
