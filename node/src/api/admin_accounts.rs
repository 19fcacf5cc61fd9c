//! The operator's acts on the accounts this node is the home node of (specs/accountability.md
//! §2.1, §3, §4.2), each authenticated by the operator token and recorded in the audit log:
//!
//! - `POST /api/v1/admin/users/{user}/attest` `{level}`: issues a new attestation of the user at
//!   that assurance level (a name, `key` … `in_person`, or its number); the account names it
//!   from then on, so the user's next events carry it. Audit entry `attestation_issued`.
//! - `POST /api/v1/admin/users/{user}/revoke` `{reason?, note?}`: signs a revocation of every
//!   attestation this node issued for the user up to now (specs/accountability.md §3), puts it
//!   in force, publishes it to peers. Audit entry `attestation_revoked` (the note is kept there
//!   only: the statement carries a reason code, never words about the user).
//! - `POST /api/v1/admin/users/{user}/contact` `{verified?, value?}`: records contact data the
//!   operator obtained (`value`) and/or whether the operator verified it. Audit entry
//!   `operator_action` (`action: contact`).
//!
//! Registration issues its attestation through [`issue`] too, so every attestation this node
//! signs has exactly one `attestation_issued` entry.

use axum::Json;
use axum::extract::Path;
use causerie_crypto::address::parse_user;
use causerie_crypto::audit::AuditKind;
use causerie_crypto::revocation::{Revocation, RevocationDraft, RevocationReason};
use causerie_crypto::{Assurance, Attestation, AttestationDraft, AttestationId, UserKey};
use causerie_storage::{Account, Contact};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::ApiState;
use super::error::{ApiError, Reason};
use super::json::{Body, attestation_json, is_plain_text};
use super::limits::ATTESTATION_VALIDITY_MS;
use super::operator::Operator;
use crate::clock::now_ms;

/// Who asked for an attestation: the audit entry's `by` detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IssuedBy {
    /// The user's registration (assurance `key`).
    Registration,
    /// The operator (`admin attest`).
    Operator,
}

impl IssuedBy {
    fn name(self) -> &'static str {
        match self {
            IssuedBy::Registration => "registration",
            IssuedBy::Operator => "operator",
        }
    }
}

/// Signs an attestation of `user` as `handle` at `assurance`, valid from `not_before` for
/// [`ATTESTATION_VALIDITY_MS`]; stores it and the account `account` makes of its id, durably
/// (events waiting for it are released, and the account's next events name it), then appends
/// `attestation_issued`. Returns the attestation, the account and the entry's seq.
pub(super) async fn issue(
    state: &ApiState,
    (user, handle): (UserKey, &str),
    assurance: Assurance,
    not_before: u64,
    by: IssuedBy,
    account: impl FnOnce(AttestationId) -> Account,
) -> Result<(Attestation, Account, u64), ApiError> {
    let attestation = AttestationDraft {
        user,
        handle: handle.to_owned(),
        assurance,
        not_before,
        not_after: not_before + ATTESTATION_VALIDITY_MS,
    }
    .sign(&state.node_secret)
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let account = account(attestation.id());
    state
        .node
        .accounts()
        .put(account.clone(), Some(attestation.clone()))
        .await?;
    let seq = state
        .node
        .audit()
        .append(
            AuditKind::AttestationIssued,
            user.to_string(),
            crate::node::details([
                ("attestation", &attestation.id().to_string()),
                ("assurance", attestation.assurance().name()),
                ("handle", attestation.handle()),
                ("not_before", &attestation.not_before().to_string()),
                ("not_after", &attestation.not_after().to_string()),
                ("by", by.name()),
            ]),
        )
        .await?;
    Ok((attestation, account, seq))
}

/// The account of `user` on this node, or `404 not_registered`.
async fn account_of(state: &ApiState, user: UserKey) -> Result<Account, ApiError> {
    state.node.accounts().by_user(user).await?.ok_or_else(|| {
        ApiError::new(
            Reason::NotRegistered,
            "this key has no account on this node",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AttestBody {
    /// `key`, `contact`, `identity`, `in_person`, or `0` to `3`.
    level: JsonValue,
}

/// The assurance level named by `level` (a name or a number, as text or as a JSON number).
fn level(value: &JsonValue) -> Result<Assurance, ApiError> {
    let text = match value {
        JsonValue::String(text) => text.clone(),
        JsonValue::Number(number) => number.to_string(),
        _ => String::new(),
    };
    Assurance::parse(&text).ok_or_else(|| {
        ApiError::new(
            Reason::Invalid("unknown_assurance_level"),
            "level: key (0), contact (1), identity (2) or in_person (3)",
        )
    })
}

pub(super) async fn attest(
    Operator(state): Operator,
    Path(user): Path<String>,
    Body(body): Body<AttestBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&user)?;
    let assurance = level(&body.level)?;
    let account = account_of(&state, user).await?;
    let handle = account.handle.clone();
    // After a revocation, a new attestation must start after it, or it would be covered.
    let me = state.node.key();
    let not_before = state
        .node
        .revocations()
        .of(&user)
        .iter()
        .filter(|r| r.issuer() == &me)
        .map(|r| r.revoked_ms().saturating_add(1))
        .fold(now_ms(), u64::max);
    let (attestation, _, seq) = issue(
        &state,
        (user, &handle),
        assurance,
        not_before,
        IssuedBy::Operator,
        |id| Account {
            attestation: id,
            ..account
        },
    )
    .await?;
    Ok(Json(json!({
        "seq": seq,
        "user": user.to_string(),
        "attestation": attestation_json(&attestation),
        "bytes": hex::encode(attestation.as_bytes()),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactBody {
    verified: Option<bool>,
    value: Option<String>,
}

pub(super) async fn contact(
    Operator(state): Operator,
    Path(user): Path<String>,
    Body(body): Body<ContactBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&user)?;
    if body.verified.is_none() && body.value.is_none() {
        return Err(ApiError::new(
            Reason::BadRequest,
            "give verified, value or both",
        ));
    }
    if let Some(value) = &body.value
        && !crate::records::valid_contact(value)
    {
        return Err(ApiError::new(
            Reason::BadContact,
            format!(
                "contact data is 1 to {} bytes, no control characters",
                causerie_storage::MAX_CONTACT_BYTES
            ),
        ));
    }
    account_of(&state, user).await?;
    let now = now_ms();
    let contact = state
        .node
        .records()
        .set_contact(user, body.value.clone(), body.verified, now)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                Reason::Invalid("no_contact"),
                "the record holds no contact data: give value",
            )
        })?;
    let mut details = crate::node::details([
        ("action", "contact"),
        ("verified", if contact.verified { "true" } else { "false" }),
    ]);
    if body.value.is_some() {
        // The value itself stays in the record (with its retention), never in the log.
        details.insert("value_set".into(), "true".into());
    }
    let seq = state
        .node
        .audit()
        .append(AuditKind::OperatorAction, user.to_string(), details)
        .await?;
    Ok(Json(json!({
        "seq": seq,
        "user": user.to_string(),
        "contact": contact_json(&contact),
    })))
}

/// Contact data as the operator sees it.
fn contact_json(contact: &Contact) -> JsonValue {
    json!({
        "value": contact.value,
        "set_ms": contact.set_ms,
        "verified": contact.verified,
    })
}

/// Longest operator note kept with a revocation (in the audit log only), in bytes.
pub const MAX_REVOCATION_NOTE_BYTES: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    reason: Option<String>,
    note: Option<String>,
}

pub(super) async fn revoke(
    Operator(state): Operator,
    Path(user): Path<String>,
    Body(body): Body<RevokeBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let user = parse_user(&user)?;
    let reason =
        RevocationReason::parse(body.reason.as_deref().unwrap_or("other")).map_err(|e| {
            ApiError::new(
                Reason::Invalid(e.reason()),
                "reason: key_compromised, abuse, false_identity, user_request or other",
            )
        })?;
    if let Some(note) = &body.note
        && !is_plain_text(note, MAX_REVOCATION_NOTE_BYTES)
    {
        return Err(ApiError::new(
            Reason::BadRequest,
            format!("note: at most {MAX_REVOCATION_NOTE_BYTES} bytes, no control characters"),
        ));
    }
    // What is revoked is this node's word: it must have given it.
    let me = state.node.key();
    let issued = state.node.records().attestations(user).await?;
    if !issued.iter().any(|a| a.home_node() == &me) {
        return Err(ApiError::new(
            Reason::UnknownUser,
            "this node has issued no attestation of that key",
        ));
    }
    let revocation = RevocationDraft {
        subject: user,
        revoked_ms: now_ms(),
        reason,
    }
    .sign(&state.node_secret)
    .map_err(|e| ApiError::internal(e.to_string()))?;
    state
        .node
        .revocations()
        .add(revocation.as_bytes().to_vec())
        .await
        .map_err(|e| ApiError::new(Reason::Failed(e.reason()), e.to_string()))?;
    let mut details = crate::node::details([
        ("revocation", &revocation.id().to_hex()),
        ("reason", reason.name()),
        ("revoked_ms", &revocation.revoked_ms().to_string()),
    ]);
    if let Some(note) = body.note {
        details.insert("note".into(), note);
    }
    let seq = state
        .node
        .audit()
        .append(AuditKind::AttestationRevoked, user.to_string(), details)
        .await?;
    state.net.publish_revocation(revocation.as_bytes().to_vec());
    Ok(Json(json!({
        "seq": seq,
        "user": user.to_string(),
        "revocation": revocation_json(&revocation),
    })))
}

/// A revocation as JSON: its fields and its signed bytes (hex).
pub fn revocation_json(revocation: &Revocation) -> JsonValue {
    json!({
        "id": revocation.id().to_hex(),
        "issuer": revocation.issuer().to_string(),
        "subject": revocation.subject().to_string(),
        "revoked_ms": revocation.revoked_ms(),
        "reason": revocation.reason().name(),
        "bytes": hex::encode(revocation.as_bytes()),
    })
}
