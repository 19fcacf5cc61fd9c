//! Who a handle names on this node (specs/client-api.md, "Identity and sessions"): the account
//! registered here under it. Clients use it to let people type `@alice` where a user key is
//! wanted; handles are unique per node, so the answer is one account or none. Members of other
//! nodes are found by handle among a room's members instead (`GET /api/v1/rooms/{room}/members`).

use axum::Json;
use axum::extract::State;
use causerie_crypto::attestation::valid_handle;
use causerie_storage::Account;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::auth::Authed;
use super::error::{ApiError, Reason};
use super::json::Segment;
use super::operator::Operator;

fn account_json(state: &ApiState, account: &Account) -> JsonValue {
    json!({
        "user": hex::encode(account.user.as_bytes()),
        "handle": account.handle,
        "display_name": account.display_name,
        "home_node": hex::encode(state.node.key().as_bytes()),
    })
}

async fn lookup(state: &ApiState, handle: &str) -> Result<Json<JsonValue>, ApiError> {
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    if !valid_handle(handle) {
        return Err(ApiError::new(
            Reason::BadHandle,
            "a handle is 1 to 32 of a-z 0-9 _ - .",
        ));
    }
    let account = state
        .node
        .accounts()
        .by_handle(handle.to_owned())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                Reason::NotResolved("unknown_handle"),
                format!("no account of this node has the handle @{handle}"),
            )
        })?;
    Ok(Json(account_json(state, &account)))
}

/// `GET /api/v1/handles/{handle}`: the account of this node with that handle (`@` optional),
/// `{user, handle, display_name, home_node}`; `400 bad_handle`, `404 unknown_handle`.
pub(super) async fn handle(
    State(state): State<ApiState>,
    Authed(_session): Authed,
    Segment(handle): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    lookup(&state, &handle).await
}

/// `GET /api/v1/admin/handles/{handle}` (operator): the same, for the operator commands that
/// name a user.
pub(super) async fn admin_handle(
    Operator(state): Operator,
    Segment(handle): Segment,
) -> Result<Json<JsonValue>, ApiError> {
    lookup(&state, &handle).await
}
