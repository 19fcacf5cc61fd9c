//! Preparing and submitting events (specs/client-api.md, "Events"). The node builds the
//! unsigned draft (parents, auth events, depth) from the action a client asks for; the client
//! signs the draft's signing input with the user's key and submits draft and signature; the
//! node then runs the full receive path and answers once the event is durable.

use axum::Json;
use axum::extract::State;
use causerie_crypto::address::{parse_event_id, parse_user};
use causerie_crypto::event::{MAX_EVENT_BYTES, kinds};
use causerie_crypto::{Content, Event, EventDraft, EventError, NodeKey, RoomId, Value};
use causerie_storage::Account;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::{Authed, own_account};
use super::banlists::{self, SubscriptionChange};
use super::error::{ApiError, Reason};
use super::json::{Body, RoomPath, draft_json, json_to_content, parse_hex, parse_signature};
use super::limits::{
    MAX_MESSAGE_BODY_BYTES, MAX_MODERATION_DURATION_MS, MAX_REASON_BYTES, MAX_SHOWN_POWER,
};
use super::relations::{self, check_relations};
use super::rooms::visible_view;
use super::session::Session;
use crate::clock::now_ms;
use crate::node::{IngestOutcome, PrepareRequest};
use crate::rate_limits::{Limit, Limited};
use causerie_room::content::{MAX_NAME_BYTES, MAX_TOPIC_BYTES, user_state_key};
use causerie_room::rules::MAX_SLOW_MODE_MS;
use causerie_room::{
    AuthError, ContentRules, JoinRule, JoinRules, Lockdown, Membership, RejectReason, RuleBreak,
};

/// Prepares `kind` in `room` for the session's user, with the attestation of their account: one
/// question to the node actor, which answers `unknown_room` for a room it does not hold.
pub(super) async fn prepare_for(
    state: &ApiState,
    session: &Session,
    account: &Account,
    room: RoomId,
    kind: &str,
    state_key: Option<String>,
    content: Content,
) -> Result<JsonValue, ApiError> {
    let draft = state
        .node
        .prepare(PrepareRequest {
            room,
            author: session.user,
            kind: kind.to_owned(),
            state_key,
            content,
            attestation: account.attestation,
        })
        .await?;
    draft_json(&draft)
}

pub(super) async fn prepare_create(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<serde_json::Map<String, JsonValue>>,
) -> Result<Json<JsonValue>, ApiError> {
    // `{"dm": true}` makes a direct-message room (specs/rooms.md §13.5).
    let dm = match request.get("dm") {
        None => false,
        Some(JsonValue::Bool(dm)) => *dm,
        Some(_) => return Err(ApiError::new(Reason::BadRequest, "dm is true or false")),
    };
    let account = own_account(&state, &session).await?;
    // A random salt keeps two rooms created by one user in the same millisecond apart (the
    // room id is the create event's id).
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|_| ApiError::new(Reason::NoRandomness, "the system random source failed"))?;
    let mut content = Content::new();
    content.insert("salt".into(), Value::Text(hex::encode(salt)));
    if dm {
        content.insert("dm".into(), Value::Bool(true));
    }
    let draft = causerie_room::prepare_create(session.user, content, now_ms(), account.attestation);
    Ok(Json(draft_json(&draft)?))
}

/// Characters that show nothing on their own: a message made only of them and whitespace is
/// blank (zero-width space, non-joiner and joiner, word joiner, byte order mark).
const INVISIBLE: [char; 5] = ['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}'];

/// The one rule for a message's text, applied when a message is prepared and when one is
/// submitted, whatever the client: a `room.message` carries a text `body` of at most
/// [`MAX_MESSAGE_BODY_BYTES`] with something visible in it (`400 empty_message`,
/// `400 body_too_long`), and the relation fields of messages and reactions parse
/// ([`check_relations`]). Other kinds pass.
pub fn check_message(kind: &str, content: &Content) -> Result<(), ApiError> {
    if kind != kinds::MESSAGE {
        return check_relations(kind, content);
    }
    let empty = || ApiError::new(Reason::EmptyMessage, "a message needs some visible text");
    let Some(Value::Text(body)) = content.get("body") else {
        return Err(empty());
    };
    if body.len() > MAX_MESSAGE_BODY_BYTES {
        return Err(ApiError::new(
            Reason::BodyTooLong,
            format!("at most {MAX_MESSAGE_BODY_BYTES} bytes"),
        ));
    }
    if body
        .chars()
        .all(|c| c.is_whitespace() || INVISIBLE.contains(&c))
    {
        return Err(empty());
    }
    check_relations(kind, content)
}

fn text_at_most(text: String, max: usize, reason: Reason) -> Result<Value, ApiError> {
    if text.len() > max {
        return Err(ApiError::new(reason, format!("at most {max} bytes")));
    }
    Ok(Value::Text(text))
}

/// A state event of `kind` whose content sets `field` to `text` (at most `max` bytes, else
/// refused with `reason`): its kind, state key and content.
fn text_state(
    kind: &str,
    field: &str,
    text: String,
    max: usize,
    reason: Reason,
) -> Result<(String, Option<String>, Content), ApiError> {
    let mut content = Content::new();
    content.insert(field.into(), text_at_most(text, max, reason)?);
    Ok((kind.to_owned(), Some(String::new()), content))
}

fn member_content(membership: Membership, reason: Option<String>) -> Result<Content, ApiError> {
    let mut content = Content::new();
    content.insert("membership".into(), Value::Text(membership.as_str().into()));
    if let Some(reason) = reason {
        content.insert(
            "reason".into(),
            text_at_most(reason, MAX_REASON_BYTES, Reason::ReasonTooLong)?,
        );
    }
    Ok(content)
}

/// The end of a temporary ban or mute: `expires` (ms since the epoch) or `duration_ms` from
/// now, not both; in the future and at most [`MAX_MODERATION_DURATION_MS`] ahead
/// (`400 bad_expiry`). `None`: no end.
fn expiry(expires: Option<u64>, duration_ms: Option<u64>) -> Result<Option<u64>, ApiError> {
    let now = now_ms();
    let bad = |words: &str| ApiError::new(Reason::BadExpiry, words.to_owned());
    let end = match (expires, duration_ms) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(bad("give expires or duration_ms, not both")),
        (Some(end), None) => end,
        (None, Some(0)) => return Err(bad("a duration must be at least 1 ms")),
        (None, Some(duration)) if duration <= MAX_MODERATION_DURATION_MS => now + duration,
        (None, Some(_)) => return Err(bad("at most ten years; omit it for no end")),
    };
    if end <= now {
        return Err(bad("the end is in the past"));
    }
    if end - now > MAX_MODERATION_DURATION_MS || i64::try_from(end).is_err() {
        return Err(bad("at most ten years ahead; omit it for no end"));
    }
    Ok(Some(end))
}

/// Content of a ban: reason, end, purge (specs/moderation.md §1.2).
fn ban_content(
    reason: Option<String>,
    expires: Option<u64>,
    purge: bool,
) -> Result<Content, ApiError> {
    let mut content = member_content(Membership::Ban, reason)?;
    if let Some(end) = expires {
        content.insert("expires".into(), Value::Integer(end as i64));
    }
    if purge {
        content.insert("purge".into(), Value::Bool(true));
    }
    Ok(content)
}

/// Content of a mute or unmute (specs/moderation.md §1.3).
fn mute_content(
    muted: bool,
    reason: Option<String>,
    expires: Option<u64>,
) -> Result<Content, ApiError> {
    let mut content = Content::new();
    content.insert("muted".into(), Value::Bool(muted));
    if let Some(reason) = reason {
        content.insert(
            "reason".into(),
            text_at_most(reason, MAX_REASON_BYTES, Reason::ReasonTooLong)?,
        );
    }
    if let Some(end) = expires {
        content.insert("expires".into(), Value::Integer(end as i64));
    }
    Ok(content)
}

/// What a client may ask the node to prepare.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Action {
    Message {
        body: String,
        /// The message this one answers.
        #[serde(default)]
        reply_to: Option<String>,
        /// Users mentioned (keys in hex).
        #[serde(default)]
        mentions: Vec<String>,
    },
    /// A new text for one of the user's messages (specs/rooms.md §13.3).
    Edit {
        event: String,
        body: String,
    },
    /// A reaction to a message.
    React {
        event: String,
        key: String,
    },
    /// Takes back the user's reaction with `key`: the redaction of their reaction event.
    Unreact {
        event: String,
        key: String,
    },
    /// Deletes one of the user's messages: its redaction by its author.
    Delete {
        event: String,
    },
    Join {
        #[serde(default)]
        display_name: Option<String>,
    },
    Profile {
        display_name: String,
    },
    Leave,
    Knock {
        #[serde(default)]
        reason: Option<String>,
    },
    Invite {
        user: String,
    },
    Kick {
        user: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Ban {
        user: String,
        #[serde(default)]
        reason: Option<String>,
        /// When the ban ends (ms since the epoch); or `duration_ms` from now.
        #[serde(default)]
        expires: Option<u64>,
        #[serde(default)]
        duration_ms: Option<u64>,
        /// Ban-and-purge: every earlier event of the user is shown redacted.
        #[serde(default)]
        purge: bool,
    },
    Mute {
        user: String,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        expires: Option<u64>,
        #[serde(default)]
        duration_ms: Option<u64>,
    },
    Unmute {
        user: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Unban {
        user: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Redact {
        event: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Power {
        user: String,
        level: i64,
    },
    PowerLevels,
    Name {
        name: String,
    },
    Topic {
        topic: String,
    },
    JoinRule {
        join_rule: String,
        #[serde(default)]
        min_assurance: Option<u64>,
        #[serde(default)]
        denied_attesters: Option<Vec<String>>,
        /// When not empty, the only home nodes whose attestations admit users
        /// (specs/accountability.md §8).
        #[serde(default)]
        allowed_attesters: Option<Vec<String>>,
    },
    State {
        kind: String,
        state_key: String,
        content: JsonValue,
    },
    Event {
        kind: String,
        content: JsonValue,
    },
    /// Sets a rule of the ban list this room is (specs/moderation.md §3.1).
    BanlistRule {
        rule: String,
        target: JsonValue,
        recommendation: String,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        reason_withheld: bool,
        #[serde(default)]
        expires: Option<u64>,
        /// Ban-and-purge: the enforcer's bans carry `purge: true`.
        #[serde(default)]
        purge: bool,
    },
    /// Removes a rule of the ban list this room is.
    BanlistRemove {
        rule: String,
    },
    /// This room follows a ban list (and names its enforcer).
    Subscribe {
        list: String,
        #[serde(default)]
        enforcer: Option<String>,
    },
    /// This room stops following a ban list.
    Unsubscribe {
        list: String,
    },
    /// This room overrides one rule of a list it follows (or stops overriding it).
    IgnoreRule {
        list: String,
        rule: String,
        ignore: bool,
    },
    /// The room's content rules (specs/moderation.md §2.1), replaced whole.
    ContentRules {
        rules: JsonValue,
    },
    /// One part of a lockdown (specs/moderation.md §2.6): `content_rules` (slow mode, and what
    /// to restore) first, then `join_rules` (invite only).
    Lockdown {
        part: LockPart,
        #[serde(default)]
        slow_mode_ms: Option<u64>,
    },
    /// One part of lifting a lockdown: `join_rules` (restored) first, then `content_rules`.
    Unlock {
        part: LockPart,
    },
}

/// Which event of a lockdown or its undo an action prepares.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(super) enum LockPart {
    /// The `room.content_rules` event.
    ContentRules,
    /// The `room.join_rules` event.
    JoinRules,
}

/// Slow mode a lockdown sets when the client names none.
pub const DEFAULT_LOCKDOWN_SLOW_MODE_MS: u64 = 30_000;

fn rules_content(rules: &ContentRules) -> (String, Option<String>, Content) {
    (
        kinds::CONTENT_RULES.to_owned(),
        Some(String::new()),
        rules.to_content(),
    )
}

/// A list of node keys in hex (absent: empty), at most `max`, each refused with `reason`.
fn node_keys(
    keys: Option<Vec<String>>,
    max: usize,
    reason: Reason,
) -> Result<std::collections::BTreeSet<NodeKey>, ApiError> {
    let keys = keys.unwrap_or_default();
    if keys.len() > max {
        return Err(ApiError::new(reason, format!("at most {max} node keys")));
    }
    keys.iter()
        .map(|node| {
            NodeKey::from_hex(node)
                .map_err(|_| ApiError::new(reason, "node keys are 64 hex digits"))
        })
        .collect()
}

fn join_rules_content(rules: &JoinRules) -> (String, Option<String>, Content) {
    (
        kinds::JOIN_RULES.to_owned(),
        Some(String::new()),
        rules.to_content(),
    )
}

/// The event of a lockdown or unlock `part`, from the room's current state.
async fn lock_part(
    state: &ApiState,
    session: &Session,
    room: RoomId,
    part: LockPart,
    lock: Option<u64>,
) -> Result<(String, Option<String>, Content), ApiError> {
    let view = visible_view(state, room, session.user).await?;
    let mut rules = view.content_rules.clone();
    let mut join_rules = view.join_rules.clone();
    match (lock, part) {
        (Some(slow_mode_ms), LockPart::ContentRules) => {
            if slow_mode_ms > MAX_SLOW_MODE_MS {
                return Err(ApiError::new(
                    Reason::BadContentRules,
                    format!("slow mode is at most {MAX_SLOW_MODE_MS} ms"),
                ));
            }
            // Locking twice keeps what the first lockdown changed.
            if rules.lockdown.is_none() {
                rules.lockdown = Some(Lockdown {
                    join_rule: join_rules.rule,
                    slow_mode_ms: rules.slow_mode_ms,
                });
            }
            rules.slow_mode_ms = slow_mode_ms;
            Ok(rules_content(&rules))
        }
        (Some(_), LockPart::JoinRules) => {
            join_rules.rule = JoinRule::Invite;
            Ok(join_rules_content(&join_rules))
        }
        (None, part) => {
            let Some(lockdown) = rules.lockdown.take() else {
                return Err(ApiError::new(
                    Reason::NotLocked,
                    "this room is not locked down",
                ));
            };
            if part == LockPart::JoinRules {
                join_rules.rule = lockdown.join_rule;
                return Ok(join_rules_content(&join_rules));
            }
            rules.slow_mode_ms = lockdown.slow_mode_ms;
            Ok(rules_content(&rules))
        }
    }
}

/// The user's own join member event, carrying their display name (the account's by default).
pub(super) fn own_join(
    session: &Session,
    account: &Account,
    display_name: Option<String>,
) -> Result<(String, Option<String>, Content), ApiError> {
    let name = display_name.unwrap_or_else(|| account.display_name.clone());
    let mut content = member_content(Membership::Join, None)?;
    content.insert(
        "display_name".into(),
        text_at_most(
            name,
            causerie_storage::MAX_DISPLAY_NAME_BYTES,
            Reason::BadDisplayName,
        )?,
    );
    Ok((
        kinds::MEMBER.to_owned(),
        Some(user_state_key(&session.user)),
        content,
    ))
}

/// An event of `kind` about another user (their key as its state key); the user is checked
/// before the content is built.
fn about_user(
    kind: &str,
    user: &str,
    content: impl FnOnce() -> Result<Content, ApiError>,
) -> Result<(String, Option<String>, Content), ApiError> {
    let target = parse_user(user)?;
    Ok((kind.to_owned(), Some(user_state_key(&target)), content()?))
}

/// (kind, state key, content) of an action.
async fn build(
    state: &ApiState,
    session: &Session,
    account: &Account,
    room: RoomId,
    action: Action,
) -> Result<(String, Option<String>, Content), ApiError> {
    let own_key = user_state_key(&session.user);
    let member = |user: &str, membership, reason| {
        about_user(kinds::MEMBER, user, || member_content(membership, reason))
    };
    Ok(match action {
        Action::Message {
            body,
            reply_to,
            mentions,
        } => {
            let content = relations::message(state, room, body, reply_to, mentions).await?;
            (kinds::MESSAGE.to_owned(), None, content)
        }
        Action::Edit { event, body } => {
            let content = relations::edit(state, session, room, &event, body).await?;
            (kinds::MESSAGE.to_owned(), None, content)
        }
        Action::React { event, key } => {
            let content = relations::react(state, session, room, &event, key).await?;
            (kinds::REACTION.to_owned(), None, content)
        }
        Action::Unreact { event, key } => {
            let content = relations::unreact(state, session, room, &event, key).await?;
            (kinds::REDACTION.to_owned(), None, content)
        }
        Action::Delete { event } => {
            let content = relations::delete(state, session, room, &event).await?;
            (kinds::REDACTION.to_owned(), None, content)
        }
        Action::Join { display_name } => own_join(session, account, display_name)?,
        Action::Profile { display_name } => own_join(session, account, Some(display_name))?,
        Action::Leave => (
            kinds::MEMBER.to_owned(),
            Some(own_key),
            member_content(Membership::Leave, None)?,
        ),
        Action::Knock { reason } => (
            kinds::MEMBER.to_owned(),
            Some(own_key),
            member_content(Membership::Knock, reason)?,
        ),
        Action::Invite { user } => {
            let target = parse_user(&user)?;
            // A direct-message room has two members (specs/rooms.md §13.5).
            if let Some(Some(other)) = visible_view(state, room, session.user).await?.dm
                && other != target
            {
                return Err(ApiError::new(
                    Reason::DmFull,
                    "a direct-message room is for two people: start a room to talk with more",
                ));
            }
            member(&user, Membership::Invite, None)?
        }
        Action::Kick { user, reason } => member(&user, Membership::Leave, reason)?,
        Action::Ban {
            user,
            reason,
            expires,
            duration_ms,
            purge,
        } => about_user(kinds::MEMBER, &user, || {
            ban_content(reason, expiry(expires, duration_ms)?, purge)
        })?,
        Action::Mute {
            user,
            reason,
            expires,
            duration_ms,
        } => about_user(kinds::MUTE, &user, || {
            mute_content(true, reason, expiry(expires, duration_ms)?)
        })?,
        Action::Unmute { user, reason } => {
            about_user(kinds::MUTE, &user, || mute_content(false, reason, None))?
        }
        Action::Unban { user, reason } => member(&user, Membership::Leave, reason)?,
        Action::Redact { event, reason } => {
            let target = parse_event_id(&event)?;
            let mut content = Content::new();
            content.insert("redacts".into(), Value::Bytes(target.as_bytes().to_vec()));
            if let Some(reason) = reason {
                content.insert(
                    "reason".into(),
                    text_at_most(reason, MAX_REASON_BYTES, Reason::ReasonTooLong)?,
                );
            }
            (kinds::REDACTION.to_owned(), None, content)
        }
        Action::Power { user, level } => {
            let target = parse_user(&user)?;
            if !(0..=MAX_SHOWN_POWER).contains(&level) {
                return Err(ApiError::new(
                    Reason::BadPower,
                    format!("levels are 0 to {MAX_SHOWN_POWER}"),
                ));
            }
            let mut levels = visible_view(state, room, session.user).await?.power_levels;
            levels.users.insert(*target.as_bytes(), level);
            (
                kinds::POWER_LEVELS.to_owned(),
                Some(String::new()),
                levels.to_content(),
            )
        }
        Action::PowerLevels => {
            let levels = visible_view(state, room, session.user).await?.power_levels;
            (
                kinds::POWER_LEVELS.to_owned(),
                Some(String::new()),
                levels.to_content(),
            )
        }
        Action::Name { name } => {
            text_state(kinds::NAME, "name", name, MAX_NAME_BYTES, Reason::BadName)?
        }
        Action::Topic { topic } => text_state(
            kinds::TOPIC,
            "topic",
            topic,
            MAX_TOPIC_BYTES,
            Reason::BadTopic,
        )?,
        Action::JoinRule {
            join_rule,
            min_assurance,
            denied_attesters,
            allowed_attesters,
        } => {
            let rule = JoinRule::from_name(&join_rule).ok_or_else(|| {
                ApiError::new(Reason::BadJoinRule, "public, invite, knock or attested")
            })?;
            let min_assurance = match min_assurance {
                None => causerie_crypto::Assurance::Key,
                Some(level) => causerie_crypto::Assurance::from_level(level)
                    .ok_or_else(|| ApiError::new(Reason::BadMinAssurance, "levels are 0 to 3"))?,
            };
            let denied = node_keys(
                denied_attesters,
                causerie_room::content::MAX_DENIED_ATTESTERS,
                Reason::BadDeniedAttester,
            )?;
            let allowed = node_keys(
                allowed_attesters,
                causerie_room::trust::MAX_ALLOWED_ATTESTERS,
                Reason::BadAllowedAttester,
            )?;
            let rules = JoinRules {
                rule,
                min_assurance,
                denied_attesters: denied,
                allowed_attesters: allowed,
            };
            (
                kinds::JOIN_RULES.to_owned(),
                Some(String::new()),
                rules.to_content(),
            )
        }
        Action::State {
            kind,
            state_key,
            content,
        } => (kind, Some(state_key), json_to_content(&content)?),
        Action::Event { kind, content } => (kind, None, json_to_content(&content)?),
        Action::ContentRules { rules } => {
            let content = json_to_content(&rules)?;
            ContentRules::parse(&content).map_err(|e| {
                let problem = match e {
                    AuthError::BadContent(problem) => problem,
                    other => other.reason(),
                };
                ApiError::new(
                    Reason::BadContentRules,
                    format!("the content rules are not valid: {problem}"),
                )
            })?;
            (
                kinds::CONTENT_RULES.to_owned(),
                Some(String::new()),
                content,
            )
        }
        Action::Lockdown { part, slow_mode_ms } => {
            let slow = slow_mode_ms.unwrap_or(DEFAULT_LOCKDOWN_SLOW_MODE_MS);
            lock_part(state, session, room, part, Some(slow)).await?
        }
        Action::Unlock { part } => lock_part(state, session, room, part, None).await?,
        Action::BanlistRule {
            rule,
            target,
            recommendation,
            reason,
            reason_withheld,
            expires,
            purge,
        } => banlists::rule_state(
            &rule,
            &target,
            &recommendation,
            reason,
            reason_withheld,
            expires,
            purge,
        )?,
        Action::BanlistRemove { rule } => banlists::remove_state(&rule)?,
        Action::Subscribe { list, enforcer } => {
            let change = SubscriptionChange::Subscribe { list, enforcer };
            banlists::subscription_state(state, room, change).await?
        }
        Action::Unsubscribe { list } => {
            let change = SubscriptionChange::Unsubscribe { list };
            banlists::subscription_state(state, room, change).await?
        }
        Action::IgnoreRule { list, rule, ignore } => {
            let change = SubscriptionChange::Ignore { list, rule, ignore };
            banlists::subscription_state(state, room, change).await?
        }
    })
}

pub(super) async fn prepare(
    State(state): State<ApiState>,
    Authed(session): Authed,
    RoomPath(room): RoomPath,
    Body(action): Body<Action>,
) -> Result<Json<JsonValue>, ApiError> {
    // A user told to wait is refused until then, before anything else is read.
    state
        .rates
        .check_cooling(session.user.as_bytes(), &room)
        .map_err(rate_limited)?;
    // The account is read from the store; the node actor is asked once, to prepare (and twice
    // only for power changes, whose content starts from the levels in force).
    let account = own_account(&state, &session).await?;
    let (kind, state_key, content) = build(&state, &session, &account, room, action).await?;
    check_message(&kind, &content)?;
    Ok(Json(
        prepare_for(&state, &session, &account, room, &kind, state_key, content).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SubmitRequest {
    draft: String,
    signature: String,
}

/// Offers one signed event to the node; the outcome (none when the node said nothing of it).
pub(super) async fn ingest_one(
    state: &ApiState,
    event: Event,
) -> Result<Option<IngestOutcome>, ApiError> {
    Ok(state
        .node
        .ingest(vec![event])
        .await?
        .into_iter()
        .next()
        .map(|i| i.outcome))
}

fn draft_error(error: EventError) -> ApiError {
    ApiError::new(Reason::BadDraft, format!("{}: {error}", error.reason()))
}

pub(super) async fn submit(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<SubmitRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    let bytes = parse_hex(&request.draft, MAX_EVENT_BYTES, Reason::BadDraft)?;
    let draft = EventDraft::decode(&bytes).map_err(draft_error)?;
    check_message(&draft.kind, &draft.content)?;
    if draft.author != session.user {
        return Err(ApiError::new(
            Reason::NotYourKey,
            "the draft's author is not you",
        ));
    }
    let account = own_account(&state, &session).await?;
    if draft.attestation != account.attestation {
        return Err(ApiError::new(
            Reason::WrongAttestation,
            "the draft must name your attestation from this node",
        ));
    }
    let signature = parse_signature(&request.signature)?;
    let event = draft.into_event(signature).map_err(|e| match e {
        EventError::BadSignature => {
            ApiError::new(Reason::BadSignature, "the signature does not verify")
        }
        other => draft_error(other),
    })?;
    let id = event.id();
    let room = event.room_id();
    // Node rules first (rate limits), then the room's content rules against its current state:
    // a refused submission is not stored.
    state.rates.check_submission(&event).map_err(rate_limited)?;
    if let Err((rule, wait_ms)) = state.node.check_submission(event.clone()).await? {
        return Err(content_refusal(rule, wait_ms));
    }
    // The classifier is asked before the node takes the event (specs/moderation.md §6).
    let ruling = super::review::screen(&state, &event).await?;
    let flagged = ruling
        .as_ref()
        .is_some_and(|r| !r.labels().is_empty())
        .then(|| event.clone());
    match ingest_one(&state, event).await? {
        Some(IngestOutcome::Accepted { visible: true }) | Some(IngestOutcome::Duplicate) => {
            if let Some(event) = flagged {
                super::review::flag(&state, &event, ruling).await;
            }
            Ok(Json(json!({
                "event_id": id.to_string(),
                "room": room.to_string(),
                "visible": true,
            })))
        }
        Some(IngestOutcome::Accepted { visible: false }) => {
            // A mute is named: the author learns why nothing they send is shown.
            match state.node.soft_fail_reason(room, id).await {
                Ok(Some(AuthError::Muted)) => Err(ApiError::new(
                    Reason::RoomRule(AuthError::Muted.reason()),
                    MUTED_WORDS,
                )),
                _ => Err(ApiError::new(
                    Reason::SoftFailed,
                    "the event passes against its own history but not the room's current state",
                )),
            }
        }
        Some(IngestOutcome::Held { .. }) => Err(ApiError::new(
            Reason::MissingReferences,
            "the node lacks events or the attestation this event references",
        )),
        Some(IngestOutcome::Rejected(reason)) => Err(ApiError::new(
            Reason::RoomRule(reason.detail()),
            room_rule_words(&reason),
        )),
        Some(IngestOutcome::Refused(reason)) => Err(ApiError::new(
            Reason::NotNow(reason.reason()),
            "the node cannot take this event now; try again",
        )
        .retry_after(1)),
        Some(IngestOutcome::BanList(refusal)) => {
            Err(ApiError::new(Reason::BanList, refusal.words()))
        }
        Some(IngestOutcome::Revoked { revoked_ms }) => Err(ApiError::new(
            Reason::AttestationRevoked,
            crate::node::revoked_words(revoked_ms),
        )),
        Some(IngestOutcome::Undecided) => Err(ApiError::new(
            Reason::NotNow("undecided"),
            "the node cannot take this event now; try again",
        )
        .retry_after(1)),
        None => Err(ApiError::internal("no outcome for the event")),
    }
}

/// What a muted user is told.
const MUTED_WORDS: &str = "you are muted in this room: you can read it but not send until a moderator unmutes you or the mute ends";
/// `429 rate_limited`, with the wait.
fn rate_limited(limited: Limited) -> ApiError {
    let what = match limited.limit {
        Limit::UserRoom => "you are sending too fast in this room",
        Limit::User => "you are sending too fast",
        Limit::Joins => "you are joining rooms too fast",
        Limit::Invites => "you are inviting too fast",
        Limit::Peer => "too fast",
    };
    let secs = limited.retry_after_ms.div_ceil(1_000);
    ApiError::new(
        Reason::RateLimited,
        format!("{what}; try again in {secs} s"),
    )
    .retry_after_ms(limited.retry_after_ms)
}

/// A message the room's content rules refuse, in plain words (slow mode: `429` with the wait).
pub fn content_refusal(rule: RuleBreak, wait_ms: u64) -> ApiError {
    if rule == RuleBreak::SlowMode {
        let secs = wait_ms.div_ceil(1_000);
        return ApiError::new(
            Reason::SlowMode,
            format!("this room is in slow mode: you may send again in {secs} s"),
        )
        .retry_after_ms(wait_ms.max(1));
    }
    ApiError::new(Reason::ContentRule(rule.reason()), content_rule_words(rule))
}

/// A content rule in plain words for people.
pub fn content_rule_words(rule: RuleBreak) -> &'static str {
    match rule {
        RuleBreak::MessageTooLong => "your message is longer than this room allows",
        RuleBreak::BlockedWord => "your message contains a word this room does not allow",
        RuleBreak::BlockedPattern => "your message matches something this room does not allow",
        RuleBreak::TooManyMentions => "your message mentions more people than this room allows",
        RuleBreak::LinkNotAllowed => "this room does not allow that link",
        RuleBreak::NewMemberLinks => {
            "new members may not post links in this room yet; try again later"
        }
        RuleBreak::SlowMode => "this room is in slow mode: wait before sending again",
        RuleBreak::JoinWave => {
            "too many people joined this room just now; ask a member for an invite or try later"
        }
    }
}

/// The rule that refused an event, in plain words for people (the reason name is
/// [`RejectReason::detail`]: the failed authorization rule where there is one).
fn room_rule_words(reason: &RejectReason) -> &'static str {
    match reason.auth_error() {
        Some(AuthError::Banned) => "you are banned from this room",
        Some(AuthError::Muted) => MUTED_WORDS,
        Some(AuthError::NotAMember) => "you are not a member of this room: join it first",
        Some(AuthError::InsufficientPower) => {
            "your power level in this room is too low for this action"
        }
        Some(AuthError::PowerChangeNotAllowed) => {
            "you may not change power levels to or above your own"
        }
        Some(AuthError::JoinNotAllowed) => "this room is invite-only: ask a member for an invite",
        Some(AuthError::AttestationNotAccepted) => {
            "this room does not accept your home node's attestation"
        }
        Some(AuthError::SenderNotTarget | AuthError::InvalidMembershipChange) => {
            "this membership change is not allowed"
        }
        Some(AuthError::NoCreate | AuthError::BadStateKey | AuthError::BadContent(_)) => {
            "the event breaks the room's rules for its kind"
        }
        Some(AuthError::ContentRule(rule)) => content_rule_words(rule),
        None => "the event does not fit the room's history",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Content {
        let mut content = Content::new();
        content.insert("body".into(), Value::Text(body.into()));
        content
    }

    fn reason(kind: &str, content: &Content) -> Option<Reason> {
        check_message(kind, content).err().map(|e| e.reason)
    }

    #[test]
    fn a_message_needs_visible_text() {
        for blank in [
            "",
            " ",
            "\n\t \r",
            "\u{3000}\u{a0}",
            "\u{200b}\u{feff} \u{2060}",
        ] {
            assert_eq!(
                reason(kinds::MESSAGE, &message(blank)),
                Some(Reason::EmptyMessage),
                "{blank:?}"
            );
        }
        assert_eq!(
            reason(kinds::MESSAGE, &Content::new()),
            Some(Reason::EmptyMessage)
        );
        let mut number = Content::new();
        number.insert("body".into(), Value::Integer(1));
        assert_eq!(reason(kinds::MESSAGE, &number), Some(Reason::EmptyMessage));
        for fine in ["hi", " . ", "🙂", "\u{200b}x"] {
            assert_eq!(reason(kinds::MESSAGE, &message(fine)), None, "{fine:?}");
        }
        let long = "x".repeat(MAX_MESSAGE_BODY_BYTES + 1);
        assert_eq!(
            reason(kinds::MESSAGE, &message(&long)),
            Some(Reason::BodyTooLong)
        );
        // Other kinds are not messages.
        assert_eq!(reason(kinds::TOPIC, &message("")), None);
        // Relation fields are checked on messages and reactions alike.
        let mut reply = message("re");
        reply.insert("reply_to".into(), Value::Bytes(vec![1; 31]));
        assert_eq!(
            reason(kinds::MESSAGE, &reply),
            Some(Reason::Invalid("bad_reply_to"))
        );
        assert_eq!(
            reason(kinds::REACTION, &Content::new()),
            Some(Reason::Invalid("bad_relates_to"))
        );
    }
}
