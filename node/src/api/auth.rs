//! Identity and sessions (specs/client-api.md, "Identity and sessions"): challenges,
//! registration (the node attests the key), login, logout, the user's own account and what the
//! node knows of other users.
//!
//! One identity, many nodes: a user homed on another node (their attestation is that node's)
//! logs in here without registering, by giving their attestation (or with one this node already
//! holds). The node checks it (its home node's signature, validity now, no revocation) and opens
//! a *remote* session: the user acts under that attestation, with an account view built from it
//! and nothing stored but the attestation. Node-local privileges stay with this node's own
//! accounts ([`local_only`]: profile changes, aliases in this node's namespace).

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use causerie_crypto::address::parse_user;
use causerie_crypto::attestation::valid_handle;
use causerie_crypto::{Assurance, Attestation, AttestationId, UserKey};

use super::admin_accounts::IssuedBy;
use causerie_storage::{Account, MAX_DISPLAY_NAME_BYTES};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::error::{ApiError, Reason};
use super::forwarded::ClientAddress;
use super::guard::{ClientKey, presented_token};
use super::json::{Body, Segment, attestation_json, is_plain_text, parse_hex, parse_signature};
use super::session::Session;
use crate::clock::now_ms;

/// The session of the request's bearer token; refuses with 401 otherwise.
pub struct Authed(pub Session);

impl FromRequestParts<ApiState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let token = presented_token(&parts.headers, || {
            ApiError::new(Reason::MissingToken, "send Authorization: Bearer <token>")
        })?;
        state
            .sessions
            .session(token, now_ms())
            .map(Authed)
            .ok_or_else(|| ApiError::new(Reason::BadToken, "the token is unknown or expired"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChallengeRequest {
    user: String,
}

pub(super) async fn challenge(
    State(state): State<ApiState>,
    ClientAddress(peer): ClientAddress,
    Body(request): Body<ChallengeRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&request.user)?;
    let challenge = state
        .sessions
        .challenge(user, ClientKey::of(peer.ip()), now_ms())?;
    Ok(Json(json!({
        "challenge": hex::encode(&challenge.bytes),
        "signing_input": hex::encode(&challenge.signing_input),
        "expires_ms": challenge.expires_ms,
    })))
}

/// Checks an answered challenge; returns the user.
fn answered(state: &ApiState, challenge: &str, signature_hex: &str) -> Result<UserKey, ApiError> {
    let bytes = parse_hex(challenge, 256, Reason::UnknownChallenge)
        .map_err(|_| ApiError::new(Reason::UnknownChallenge, "not a challenge"))?;
    let signature = parse_signature(signature_hex)?;
    state.sessions.answer(&bytes, &signature, now_ms())
}

/// The account JSON of a session's account (`remote`: of a remote session), with the
/// attestation it acts under.
async fn account_json(
    state: &ApiState,
    account: &Account,
    remote: bool,
) -> Result<JsonValue, ApiError> {
    let attestation = state
        .node
        .accounts()
        .attestation(account.attestation)
        .await?;
    Ok(account_view(state, account, attestation.as_ref(), remote))
}

/// The account JSON of a session: `home` says whether the account is this node's (`local`) or
/// the session is a remote one (`remote`, `home_node` naming the user's home node).
fn account_view(
    state: &ApiState,
    account: &Account,
    attestation: Option<&Attestation>,
    remote: bool,
) -> JsonValue {
    let home_node = match (remote, attestation) {
        (true, Some(attestation)) => *attestation.home_node(),
        _ => state.node.key(),
    };
    json!({
        "user": hex::encode(account.user.as_bytes()),
        "handle": account.handle,
        "display_name": account.display_name,
        "attestation": attestation.map(attestation_json),
        "home": if remote { "remote" } else { "local" },
        "home_node": hex::encode(home_node.as_bytes()),
    })
}

fn check_display_name(name: &str) -> Result<(), ApiError> {
    if !is_plain_text(name, MAX_DISPLAY_NAME_BYTES) {
        return Err(ApiError::new(
            Reason::BadDisplayName,
            format!(
                "display names are at most {MAX_DISPLAY_NAME_BYTES} bytes, no control characters"
            ),
        ));
    }
    Ok(())
}

async fn session_response(
    state: &ApiState,
    peer: SocketAddr,
    user: UserKey,
    account: &Account,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let (token, session) = state
        .sessions
        .open(user, ClientKey::of(peer.ip()), now_ms())?;
    let body = json!({
        "token": token,
        "expires_ms": session.expires_ms,
        "account": account_json(state, account, false).await?,
    });
    Ok((status, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterRequest {
    challenge: String,
    signature: String,
    handle: String,
    #[serde(default)]
    display_name: Option<String>,
    /// Contact data the operator requires (kept in the registration record, never shown to
    /// other users).
    #[serde(default)]
    contact: Option<String>,
}

/// Checks the contact data of a registration against the operator's requirement.
fn check_contact(state: &ApiState, contact: Option<&str>) -> Result<(), ApiError> {
    match contact {
        Some(value) if !crate::records::valid_contact(value) => Err(ApiError::new(
            Reason::BadContact,
            format!(
                "contact data is 1 to {} bytes, no control characters",
                causerie_storage::MAX_CONTACT_BYTES
            ),
        )),
        None if state.require_contact => Err(ApiError::new(
            Reason::ContactRequired,
            "this node requires contact data (e.g. an email address) to register",
        )),
        _ => Ok(()),
    }
}

pub(super) async fn register(
    State(state): State<ApiState>,
    ClientAddress(peer): ClientAddress,
    Body(request): Body<RegisterRequest>,
) -> Result<Response, ApiError> {
    if !valid_handle(&request.handle) {
        return Err(ApiError::new(
            Reason::BadHandle,
            "handles are 1 to 32 of a-z 0-9 . _ - and start with a letter or digit",
        ));
    }
    let display_name = request
        .display_name
        .unwrap_or_else(|| request.handle.clone());
    check_display_name(&display_name)?;
    check_contact(&state, request.contact.as_deref())?;
    let user = answered(&state, &request.challenge, &request.signature)?;
    let accounts = state.node.accounts();
    if accounts.by_user(user).await?.is_some() {
        return Err(ApiError::new(
            Reason::AlreadyRegistered,
            "this key has an account here: log in",
        ));
    }
    if accounts.by_handle(request.handle.clone()).await?.is_some() {
        return Err(ApiError::new(Reason::HandleTaken, "the handle is taken"));
    }
    let now = now_ms();
    let handle = request.handle;
    let (_, account, _) = super::admin_accounts::issue(
        &state,
        (user, &handle),
        Assurance::Key,
        now,
        IssuedBy::Registration,
        |attestation| Account {
            attestation,
            display_name,
            handle: handle.clone(),
            registered_ms: now,
            user,
        },
    )
    .await?;
    // The registration is answered only once its record (time, address) is durable.
    state
        .node
        .records()
        .register(user, peer, request.contact, now)
        .await?;
    tracing::info!(user = %user, handle = %account.handle, "registered");
    session_response(&state, peer, user, &account, StatusCode::CREATED).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginRequest {
    challenge: String,
    signature: String,
    /// For a user homed on another node: their attestation (hex of its bytes, as in the key
    /// export file). Without it, the node uses one it already holds.
    #[serde(default)]
    attestation: Option<String>,
}

pub(super) async fn login(
    State(state): State<ApiState>,
    ClientAddress(peer): ClientAddress,
    Body(request): Body<LoginRequest>,
) -> Result<Response, ApiError> {
    let user = answered(&state, &request.challenge, &request.signature)?;
    let Some(account) = state.node.accounts().by_user(user).await? else {
        let attestation =
            remote_attestation(&state, user, request.attestation.as_deref(), now_ms()).await?;
        return remote_session_response(&state, peer, attestation).await;
    };
    // The session is opened only once the login's record (time, address) is durable.
    state.node.records().login(user, peer, now_ms()).await?;
    session_response(&state, peer, user, &account, StatusCode::OK).await
}

/// The attestation a user without an account here logs in under: the one given (hex), else the
/// latest this node holds; checked: it is the user's, another node's (this node's own users
/// register), its home node's signature verifies (`Attestation::decode`), it is valid at
/// `now_ms`, and no revocation this node holds covers it from a time up to now.
async fn remote_attestation(
    state: &ApiState,
    user: UserKey,
    given: Option<&str>,
    now_ms: u64,
) -> Result<Attestation, ApiError> {
    let attestation = match given {
        Some(text) => {
            let bytes = parse_hex(
                text,
                causerie_crypto::attestation::MAX_ATTESTATION_BYTES,
                Reason::Invalid("bad_attestation"),
            )?;
            Attestation::decode(&bytes).map_err(|e| {
                ApiError::new(
                    Reason::Invalid("bad_attestation"),
                    format!("the attestation does not verify: {}", e.reason()),
                )
            })?
        }
        None => state
            .node
            .accounts()
            .attestations_of(vec![user])
            .await?
            .remove(&user)
            .ok_or_else(|| {
                ApiError::new(
                    Reason::NotRegistered,
                    "this key has no account here and this node knows no attestation of it: \
                     register, or log in with the attestation from your home node",
                )
            })?,
    };
    if attestation.user() != &user {
        return Err(ApiError::new(
            Reason::WrongAttestation,
            "the attestation is of another key",
        ));
    }
    if attestation.home_node() == &state.node.key() {
        return Err(ApiError::new(
            Reason::NotRegistered,
            "this key has no account here: register first",
        ));
    }
    if !attestation.is_valid_at(now_ms) {
        return Err(ApiError::new(
            Reason::Invalid("attestation_expired"),
            "the attestation is not valid now: ask your home node for a new one",
        ));
    }
    if state
        .node
        .revocations()
        .revoked_at(&attestation)
        .is_some_and(|at| at <= now_ms)
    {
        return Err(ApiError::new(
            Reason::AttestationRevoked,
            "the home node revoked this attestation",
        ));
    }
    Ok(attestation)
}

/// The account view of a remote session's user, built from their attestation.
fn remote_account(attestation: &Attestation) -> Account {
    Account {
        attestation: attestation.id(),
        display_name: attestation.handle().to_owned(),
        handle: attestation.handle().to_owned(),
        registered_ms: 0,
        user: *attestation.user(),
    }
}

/// Keeps the attestation (durably: events under it are checked against it) and opens a remote
/// session.
async fn remote_session_response(
    state: &ApiState,
    peer: SocketAddr,
    attestation: Attestation,
) -> Result<Response, ApiError> {
    let user = *attestation.user();
    state.node.add_attestation(attestation.clone()).await?;
    let (token, session) =
        state
            .sessions
            .open_remote(user, attestation.id(), ClientKey::of(peer.ip()), now_ms())?;
    tracing::info!(%user, home = %attestation.home_node(), "remote login");
    let account = remote_account(&attestation);
    let body = json!({
        "token": token,
        "expires_ms": session.expires_ms,
        "account": account_view(state, &account, Some(&attestation), session.remote.is_some()),
    });
    Ok((StatusCode::OK, Json(body)).into_response())
}

/// Refuses a remote session (`403 home_elsewhere`): what only this node's own accounts may do.
pub(super) fn local_only(session: &Session) -> Result<(), ApiError> {
    match session.remote {
        None => Ok(()),
        Some(_) => Err(ApiError::new(
            Reason::HomeElsewhere,
            "your account lives on your home node: do this there",
        )),
    }
}

pub(super) async fn logout(State(state): State<ApiState>, Authed(session): Authed) -> StatusCode {
    state.sessions.close(&session);
    StatusCode::NO_CONTENT
}

/// The session's account (it exists: sessions are only opened for accounts), or for a remote
/// session the view built from its checked attestation.
pub(super) async fn own_account(state: &ApiState, session: &Session) -> Result<Account, ApiError> {
    if let Some(id) = session.remote {
        let attestation =
            held_attestation(state, id, "the session's attestation is missing").await?;
        return Ok(remote_account(&attestation));
    }
    state
        .node
        .accounts()
        .by_user(session.user)
        .await?
        .ok_or_else(|| ApiError::new(Reason::BadToken, "the account no longer exists"))
}

/// The attestation the session's user acts under on this node.
pub(super) async fn session_attestation(
    state: &ApiState,
    session: &Session,
) -> Result<causerie_crypto::Attestation, ApiError> {
    let account = own_account(state, session).await?;
    held_attestation(
        state,
        account.attestation,
        "the account's attestation is missing",
    )
    .await
}

/// The attestation a session stands on; `401 bad_token` (`missing` says which) when the node
/// no longer holds it.
async fn held_attestation(
    state: &ApiState,
    id: AttestationId,
    missing: &'static str,
) -> Result<Attestation, ApiError> {
    state
        .node
        .accounts()
        .attestation(id)
        .await?
        .ok_or_else(|| ApiError::new(Reason::BadToken, missing))
}

pub(super) async fn me(
    State(state): State<ApiState>,
    Authed(session): Authed,
) -> Result<Json<JsonValue>, ApiError> {
    let account = own_account(&state, &session).await?;
    let remote = session.remote.is_some();
    Ok(Json(account_json(&state, &account, remote).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProfileRequest {
    display_name: String,
}

pub(super) async fn update_me(
    State(state): State<ApiState>,
    Authed(session): Authed,
    Body(request): Body<ProfileRequest>,
) -> Result<Json<JsonValue>, ApiError> {
    local_only(&session)?;
    check_display_name(&request.display_name)?;
    let mut account = own_account(&state, &session).await?;
    account.display_name = request.display_name;
    state.node.accounts().put(account.clone(), None).await?;
    Ok(Json(account_json(&state, &account, false).await?))
}

pub(super) async fn user(
    State(state): State<ApiState>,
    Authed(_session): Authed,
    Segment(user): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&user)?;
    let accounts = state.node.accounts();
    let attestations = accounts.attestations_of(vec![user]).await?;
    let Some(attestation) = attestations.get(&user) else {
        return Err(ApiError::new(
            Reason::UnknownUser,
            "this node knows no attestation of that key",
        ));
    };
    let display_name = accounts.by_user(user).await?.map(|a| a.display_name);
    Ok(Json(json!({
        "user": hex::encode(user.as_bytes()),
        "handle": attestation.handle(),
        "display_name": display_name,
        "home_node": hex::encode(attestation.home_node().as_bytes()),
        "assurance": attestation.assurance().level(),
        "assurance_name": attestation.assurance().name(),
    })))
}
