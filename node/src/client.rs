//! A typed async client for the client API (specs/client-api.md), used by the `causerie`
//! command line, `causerie demo` and the tests.
//!
//! The user's secret stays with the caller: the client asks the node to prepare an event,
//! checks the draft it gets back (it decodes, the author is the user, room, kind, state key and
//! the asked-for content fields are what was asked, and the signing input derives from the draft)
//! and only then signs it and submits the signature. A node that answers with something else, a
//! body over [`MAX_RESPONSE_BYTES`], or JSON of the wrong shape gets a typed [`ClientError`].
//! Tokens travel in the `Authorization` header only and are never logged or printed.

use std::time::Duration;

use causerie_crypto::event::kinds;
use causerie_crypto::{Challenge, EventDraft, EventId, RoomId, UserKey, UserSecret, Value};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use thiserror::Error;

/// Largest response body read (a history page of 200 events of up to 64 KiB each, as JSON,
/// fits; a hostile node cannot make the client allocate more).
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Longest line read from the live stream (one event as JSON, with room to spare).
pub const MAX_STREAM_LINE_BYTES: usize = 512 * 1024;
/// Largest `data` of one stream message.
pub const MAX_STREAM_DATA_BYTES: usize = 1024 * 1024;
/// How long a plain request may take, connection included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest history page the API serves (specs/client-api.md, "Limits").
pub const MAX_PAGE_LIMIT: u32 = 200;

/// Why a client call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node could not be reached, or the connection broke.
    #[error("node unreachable: {0}")]
    Unreachable(String),
    /// The node refused the request with a reason.
    #[error("{reason}: {message} (HTTP {status})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The node's stable reason name.
        reason: String,
        /// The node's explanation.
        message: String,
    },
    /// The node's answer is not what the API promises (shape, status, encoding).
    #[error("unexpected answer from the node: {0}")]
    BadResponse(String),
    /// The node's answer is larger than [`MAX_RESPONSE_BYTES`] (or a stream line too long).
    #[error("answer larger than {0} bytes")]
    ResponseTooLarge(usize),
    /// The prepared draft is not what was asked for; nothing was signed.
    #[error("the node prepared a different event than asked: {0}")]
    DraftMismatch(String),
    /// The challenge is not a login challenge for this user; nothing was signed.
    #[error("the node sent a bad login challenge: {0}")]
    BadChallenge(String),
    /// A call that needs a session was made before logging in.
    #[error("not logged in")]
    NotLoggedIn,
    /// The stream was too slow and the node ended it.
    #[error("live stream lagged behind and was ended by the node")]
    Lagged,
    /// The caller passed something invalid (a room id, a link, a user).
    #[error("{reason}: {message}")]
    Invalid {
        /// Stable reason name.
        reason: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl ClientError {
    /// Stable reason name: the node's own reason for refusals, else the variant's.
    pub fn reason(&self) -> &str {
        match self {
            ClientError::Unreachable(_) => "node_unreachable",
            ClientError::Refused { reason, .. } => reason,
            ClientError::BadResponse(_) => "bad_response",
            ClientError::ResponseTooLarge(_) => "response_too_large",
            ClientError::DraftMismatch(_) => "draft_mismatch",
            ClientError::BadChallenge(_) => "bad_challenge",
            ClientError::NotLoggedIn => "not_logged_in",
            ClientError::Lagged => "lagged",
            ClientError::Invalid { reason, .. } => reason,
        }
    }

    /// True when the node answered with a refusal (as opposed to the call not completing).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ClientError::Refused { .. } | ClientError::Invalid { .. }
        )
    }
}

/// A transport error with its causes ("error sending request" alone does not say "connection
/// refused"). URLs are left out: they are the node's, already known to the user.
fn unreachable(error: reqwest::Error) -> ClientError {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    ClientError::Unreachable(text)
}

fn bad(text: impl Into<String>) -> ClientError {
    ClientError::BadResponse(text.into())
}

fn invalid(reason: &'static str, message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        reason,
        message: message.into(),
    }
}

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
struct SessionAnswer {
    token: String,
    account: Account,
}

#[derive(Debug, Deserialize)]
struct ChallengeAnswer {
    challenge: String,
    signing_input: String,
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
}

#[derive(Debug, Deserialize)]
struct RoomList {
    rooms: Vec<RoomInfo>,
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
struct MemberList {
    members: Vec<Member>,
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

/// An event as clients see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
struct JoinAnswer {
    room: String,
    draft: Draft,
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
struct LinkAnswer {
    link: String,
}

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
        }
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
fn check_challenge(answer: &ChallengeAnswer, user: &UserKey) -> Result<Vec<u8>, ClientError> {
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

fn sign(secret: &UserSecret, input: &[u8]) -> Result<String, ClientError> {
    secret
        .sign_input(input)
        .map(|s| hex::encode(s.as_bytes()))
        .ok_or_else(|| ClientError::DraftMismatch("input has no protocol domain prefix".into()))
}

/// Where to join: a room id or an invite link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinTarget {
    /// A room the node may already hold.
    Room(RoomId),
    /// `causerie:join/<room>?via=…`.
    Link {
        /// The whole link, as given.
        link: String,
        /// The room it names.
        room: RoomId,
    },
}

/// Longest invite link accepted (a room id and a handful of multiaddrs).
pub const MAX_LINK_BYTES: usize = 4096;

impl JoinTarget {
    /// Parses `!<hex>` or `causerie:join/!<hex>?via=…`.
    pub fn parse(text: &str) -> Result<JoinTarget, ClientError> {
        if text.len() > MAX_LINK_BYTES {
            return Err(invalid("bad_link", "too long"));
        }
        if let Some(rest) = text.strip_prefix("causerie:join/") {
            let room_text = rest.split(['?', '/']).next().unwrap_or_default();
            // Links name the room with or without its `!` (the network layer writes bare hex).
            let room = parse_room(&format!("!{}", room_text.trim_start_matches('!')))?;
            return Ok(JoinTarget::Link {
                link: text.to_owned(),
                room,
            });
        }
        Ok(JoinTarget::Room(parse_room(text)?))
    }

    /// The room this target names.
    pub fn room(&self) -> RoomId {
        match self {
            JoinTarget::Room(room) | JoinTarget::Link { room, .. } => *room,
        }
    }
}

/// Parses a room id as the user writes it (`!<64 hex>`).
pub fn parse_room(text: &str) -> Result<RoomId, ClientError> {
    if !text.starts_with('!') {
        return Err(invalid("bad_room_id", format!("{text:?}: want !<64 hex>")));
    }
    text.parse()
        .map_err(|_| invalid("bad_room_id", format!("{text:?}: want !<64 hex>")))
}

/// Parses an event id (`$<64 hex>`).
pub fn parse_event_id(text: &str) -> Result<EventId, ClientError> {
    if !text.starts_with('$') {
        return Err(invalid("bad_event_id", format!("{text:?}: want $<64 hex>")));
    }
    text.parse()
        .map_err(|_| invalid("bad_event_id", format!("{text:?}: want $<64 hex>")))
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

/// A connection to one node, with or without a session.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    user: Option<UserKey>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a secret.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("logged_in", &self.token.is_some())
            .finish()
    }
}

/// Reads a body with a size cap.
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ClientError::ResponseTooLarge(MAX_RESPONSE_BYTES));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ClientError::ResponseTooLarge(MAX_RESPONSE_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    message: String,
}

async fn refusal(response: reqwest::Response) -> ClientError {
    let status = response.status();
    let body = match read_capped(response).await {
        Ok(body) => body,
        Err(e) => return e,
    };
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(e) if valid_reason(&e.error) => ClientError::Refused {
            status: status.as_u16(),
            reason: e.error,
            message: e.message.chars().take(1024).collect(),
        },
        _ => bad(format!("HTTP {status} without a JSON error")),
    }
}

/// A reason name as the API writes them; anything else is not echoed (it may be hostile).
fn valid_reason(reason: &str) -> bool {
    !reason.is_empty()
        && reason.len() <= 64
        && reason
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Client {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base)
            .map_err(|e| invalid("bad_node_url", format!("{base}: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(invalid(
                "bad_node_url",
                format!("{base}: want http://HOST:PORT"),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // The node is named explicitly; an ambient HTTP_PROXY must not see the session token.
            .no_proxy()
            .build()
            .map_err(unreachable)?;
        Ok(Client {
            http,
            base,
            token: None,
            user: None,
        })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<UserKey> {
        self.user
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    fn builder(
        &self,
        method: Method,
        path: &str,
        auth: bool,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let mut builder = self.http.request(method, self.url(path));
        if auth {
            let token = self.token.as_deref().ok_or(ClientError::NotLoggedIn)?;
            builder = builder.bearer_auth(token);
        }
        Ok(builder)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        auth: bool,
    ) -> Result<Vec<u8>, ClientError> {
        let mut builder = self.builder(method, path, auth)?.timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        read_capped(response).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        auth: bool,
    ) -> Result<T, ClientError> {
        let bytes = self.send(method, path, body, auth).await?;
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{path}: {e}")))
    }

    async fn challenge(&self, secret: &UserSecret) -> Result<(String, String), ClientError> {
        let user = secret.public();
        let answer: ChallengeAnswer = self
            .call(
                Method::POST,
                "/auth/challenge",
                Some(json!({ "user": user.to_string() })),
                false,
            )
            .await?;
        let input = check_challenge(&answer, &user)?;
        Ok((answer.challenge, sign(secret, &input)?))
    }

    fn start_session(
        &mut self,
        answer: SessionAnswer,
        user: UserKey,
    ) -> Result<Account, ClientError> {
        if answer.account.user != user.to_string() {
            return Err(bad("the session is for another user"));
        }
        self.token = Some(answer.token);
        self.user = Some(user);
        Ok(answer.account)
    }

    /// Registers the user's key on this node (proving possession by signing a challenge) and
    /// starts a session.
    pub async fn register(
        &mut self,
        secret: &UserSecret,
        handle: &str,
        display_name: Option<&str>,
    ) -> Result<Account, ClientError> {
        let (challenge, signature) = self.challenge(secret).await?;
        let mut body = json!({ "challenge": challenge, "signature": signature, "handle": handle });
        if let Some(name) = display_name {
            body["display_name"] = json!(name);
        }
        let answer: SessionAnswer = self
            .call(Method::POST, "/auth/register", Some(body), false)
            .await?;
        self.start_session(answer, secret.public())
    }

    /// Logs in with a signed challenge.
    pub async fn login(&mut self, secret: &UserSecret) -> Result<Account, ClientError> {
        let (challenge, signature) = self.challenge(secret).await?;
        let answer: SessionAnswer = self
            .call(
                Method::POST,
                "/auth/login",
                Some(json!({ "challenge": challenge, "signature": signature })),
                false,
            )
            .await?;
        self.start_session(answer, secret.public())
    }

    /// Ends the session on the node.
    pub async fn logout(&mut self) -> Result<(), ClientError> {
        self.send(Method::POST, "/auth/logout", None, true).await?;
        self.token = None;
        Ok(())
    }

    /// The logged-in account.
    pub async fn me(&self) -> Result<Account, ClientError> {
        self.call(Method::GET, "/me", None, true).await
    }

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
        if target.room() != *room || !matches!(target, JoinTarget::Link { .. }) {
            return Err(bad("invite link names another room"));
        }
        Ok(answer.link)
    }

    /// Asks the node to prepare `action` in `room`.
    pub async fn prepare(
        &self,
        room: &RoomId,
        action: serde_json::Value,
    ) -> Result<Draft, ClientError> {
        self.call(
            Method::POST,
            &format!("/rooms/{room}/prepare"),
            Some(action),
            true,
        )
        .await
    }

    /// Submits a signed draft; answers once the event is durable.
    pub async fn submit(&self, draft: &Draft, signature: &str) -> Result<Submitted, ClientError> {
        self.call(
            Method::POST,
            "/events",
            Some(json!({ "draft": draft.draft, "signature": signature })),
            true,
        )
        .await
    }

    fn session_user(&self) -> Result<UserKey, ClientError> {
        self.user.ok_or(ClientError::NotLoggedIn)
    }

    /// Checks `draft` against `expect`, signs it and submits it.
    pub async fn sign_and_submit(
        &self,
        secret: &UserSecret,
        draft: &Draft,
        expect: &Expect,
    ) -> Result<Submitted, ClientError> {
        let user = self.session_user()?;
        if secret.public() != user {
            return Err(invalid(
                "not_your_key",
                "the secret is not the session's user",
            ));
        }
        let input = check_draft(draft, &user, expect)?;
        let signature = sign(secret, &input)?;
        let submitted = self.submit(draft, &signature).await?;
        if let Some(room) = expect.room
            && submitted.room != room.to_string()
        {
            return Err(bad("the node stored the event in another room"));
        }
        Ok(submitted)
    }

    /// Prepares `action` in `room`, checks, signs and submits it.
    pub async fn act(
        &self,
        secret: &UserSecret,
        room: &RoomId,
        action: serde_json::Value,
        expect: Expect,
    ) -> Result<Submitted, ClientError> {
        let draft = self.prepare(room, action).await?;
        self.sign_and_submit(secret, &draft, &expect).await
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
    fn own_member(&self, room: &RoomId, membership: &str) -> Result<Expect, ClientError> {
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
        let draft: Draft = self
            .call(Method::POST, "/rooms/prepare_create", Some(json!({})), true)
            .await?;
        let submitted = self
            .sign_and_submit(secret, &draft, &Expect::new(None, kinds::CREATE))
            .await?;
        let room: RoomId = submitted
            .room
            .parse()
            .map_err(|_| bad("create answer has no room id"))?;
        if submitted.event_id.trim_start_matches('$') != submitted.room.trim_start_matches('!') {
            return Err(bad("the room id is not the create event's id"));
        }
        let join = self.own_member(&room, "join")?;
        self.act(secret, &room, json!({"action": "join"}), join)
            .await?;
        let levels = Expect::new(Some(room), kinds::POWER_LEVELS).state_key("");
        self.act(secret, &room, json!({"action": "power_levels"}), levels)
            .await?;
        let rule = Expect::new(Some(room), kinds::JOIN_RULES)
            .state_key("")
            .content("join_rule", options.join_rule.clone());
        self.act(
            secret,
            &room,
            json!({"action": "join_rule", "join_rule": options.join_rule}),
            rule,
        )
        .await?;
        let name = Expect::new(Some(room), kinds::NAME)
            .state_key("")
            .content("name", options.name.clone());
        self.act(
            secret,
            &room,
            json!({"action": "name", "name": options.name}),
            name,
        )
        .await?;
        if let Some(topic) = &options.topic {
            let expect = Expect::new(Some(room), kinds::TOPIC)
                .state_key("")
                .content("topic", topic.clone());
            self.act(
                secret,
                &room,
                json!({"action": "topic", "topic": topic}),
                expect,
            )
            .await?;
        }
        Ok(room)
    }

    /// Joins a room by id or invite link (the node replicates it first if needed).
    pub async fn join(
        &self,
        secret: &UserSecret,
        target: &JoinTarget,
    ) -> Result<RoomId, ClientError> {
        let body = match target {
            JoinTarget::Room(room) => json!({ "room": room.to_string() }),
            JoinTarget::Link { link, .. } => json!({ "link": link }),
        };
        let answer: JoinAnswer = self
            .call(Method::POST, "/rooms/join", Some(body), true)
            .await?;
        if answer.room != target.room().to_string() {
            return Err(ClientError::DraftMismatch(format!(
                "asked to join {}, the node prepared {}",
                target.room(),
                answer.room
            )));
        }
        let expect = self.own_member(&target.room(), "join")?;
        self.sign_and_submit(secret, &answer.draft, &expect).await?;
        Ok(target.room())
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

    /// Opens the live stream (of one room, or of every joined room).
    ///
    /// The stream carries events accepted from now on; fetch history for what came before.
    pub async fn stream(&self, room: Option<&RoomId>) -> Result<EventStream, ClientError> {
        let path = match room {
            Some(room) => format!("/stream?room={}", room.to_string().replace('!', "%21")),
            None => "/stream".to_owned(),
        };
        let response = self
            .builder(Method::GET, &path, true)?
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(unreachable)?;
        if response.status() != StatusCode::OK {
            return Err(refusal(response).await);
        }
        Ok(EventStream {
            response,
            buffer: Vec::new(),
            state: SseState::default(),
        })
    }
}

/// One message of the live stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// A newly accepted visible event.
    Event(Box<ApiEvent>),
    /// Keep-alive.
    Ping,
}

/// The live stream (server-sent events) of a session.
pub struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    state: SseState,
}

/// The message being gathered from server-sent-event lines.
#[derive(Debug, Default)]
struct SseState {
    event: String,
    data: String,
}

impl EventStream {
    /// The next message; `None` when the node closed the stream. Cancel-safe: bytes already
    /// read stay buffered for the next call.
    pub async fn next(&mut self) -> Result<Option<StreamItem>, ClientError> {
        loop {
            while let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = String::from_utf8(line).map_err(|_| bad("stream line is not UTF-8"))?;
                let line = line.trim_end_matches(['\n', '\r']);
                if let Some(item) = self.state.line(line)? {
                    return Ok(Some(item));
                }
            }
            if self.buffer.len() > MAX_STREAM_LINE_BYTES {
                return Err(ClientError::ResponseTooLarge(MAX_STREAM_LINE_BYTES));
            }
            match self.response.chunk().await.map_err(unreachable)? {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
    }
}

impl SseState {
    /// Feeds one line; a blank line dispatches the message gathered so far.
    fn line(&mut self, line: &str) -> Result<Option<StreamItem>, ClientError> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            return match event.as_str() {
                "event" => {
                    let parsed: ApiEvent = serde_json::from_str(&data)
                        .map_err(|e| bad(format!("stream event: {e}")))?;
                    Ok(Some(StreamItem::Event(Box::new(parsed))))
                }
                "ping" => Ok(Some(StreamItem::Ping)),
                "lagged" => Err(ClientError::Lagged),
                // Unknown message types are for newer clients.
                _ => Ok(None),
            };
        }
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => value.clone_into(&mut self.event),
            "data" => {
                if self.data.len() + value.len() + 1 > MAX_STREAM_DATA_BYTES {
                    return Err(ClientError::ResponseTooLarge(MAX_STREAM_DATA_BYTES));
                }
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(value);
            }
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::Domain;
    use causerie_crypto::challenge::CHALLENGE_PURPOSE;
    use causerie_crypto::{AttestationId, Content, Hash32};

    fn draft_for(secret: &UserSecret, room: RoomId, body: &str) -> (EventDraft, Draft) {
        let mut content = Content::new();
        content.insert("body".into(), Value::Text(body.into()));
        let draft = EventDraft {
            room: Some(room),
            author: secret.public(),
            kind: kinds::MESSAGE.into(),
            state_key: None,
            content,
            prev_events: vec![EventId(Hash32([1; 32]))],
            auth_events: vec![EventId(Hash32([2; 32]))],
            depth: 3,
            origin_ts: 1,
            attestation: AttestationId(Hash32([3; 32])),
        };
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
        // Not hex, not CBOR.
        let junk = Draft {
            draft: "zz".into(),
            signing_input: honest.signing_input.clone(),
            event: serde_json::Value::Null,
        };
        assert_eq!(
            check_draft(&junk, &user, &expect).unwrap_err().reason(),
            "bad_response"
        );
        let junk = Draft {
            draft: "a0".into(),
            signing_input: honest.signing_input.clone(),
            event: serde_json::Value::Null,
        };
        assert_eq!(
            check_draft(&junk, &user, &expect).unwrap_err().reason(),
            "draft_mismatch"
        );
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
        let link = format!("causerie:join/{room}?via=/ip4/127.0.0.1/tcp/1/p2p/x");
        let target = JoinTarget::parse(&link).unwrap();
        assert_eq!(target.room().to_string(), room);
        assert!(matches!(target, JoinTarget::Link { .. }));
        let bare = format!("causerie:join/{}?via=x", &room[1..]);
        assert_eq!(JoinTarget::parse(&bare).unwrap().room().to_string(), room);
        for bad in [
            "",
            "!zz",
            "ab".repeat(32).as_str(),
            "causerie:join/",
            "http://x",
        ] {
            assert_eq!(
                JoinTarget::parse(bad).unwrap_err().reason(),
                "bad_room_id",
                "{bad}"
            );
        }
        assert_eq!(
            JoinTarget::parse(&"x".repeat(MAX_LINK_BYTES + 1))
                .unwrap_err()
                .reason(),
            "bad_link"
        );
    }

    #[test]
    fn stream_lines_make_messages() {
        // The stream's line handling, without a socket behind it.
        let mut parser = SseState::default();
        assert!(parser.line("event: ping").unwrap().is_none());
        assert!(parser.line("data: {}").unwrap().is_none());
        assert!(matches!(parser.line("").unwrap(), Some(StreamItem::Ping)));
        let event = r#"{"id":"$a","room":"!b","author":"c","kind":"room.message","content":{"body":"x"},"depth":4}"#;
        assert!(parser.line(": comment").unwrap().is_none());
        assert!(parser.line("event: event").unwrap().is_none());
        assert!(parser.line(&format!("data: {event}")).unwrap().is_none());
        assert!(parser.line("id: $a").unwrap().is_none());
        match parser.line("").unwrap() {
            Some(StreamItem::Event(e)) => assert_eq!(e.depth, 4),
            other => panic!("{other:?}"),
        }
        parser.line("event: lagged").unwrap();
        parser.line("data: {}").unwrap();
        assert_eq!(parser.line("").unwrap_err().reason(), "lagged");
        parser.line("event: event").unwrap();
        parser.line("data: not json").unwrap();
        assert_eq!(parser.line("").unwrap_err().reason(), "bad_response");
        let huge = "x".repeat(MAX_STREAM_DATA_BYTES);
        parser.line("event: event").unwrap();
        assert_eq!(
            parser.line(&format!("data: {huge}")).unwrap_err().reason(),
            "response_too_large"
        );
    }
}
