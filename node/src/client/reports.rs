//! Abuse-report calls on [`Client`] (specs/accountability.md §1.4): the node prepares the
//! unsigned report; it is decoded here and compared with what was asked before the user's key
//! signs it; then the user's reports and their receipts.

use causerie_crypto::report::ReportDraft;
use causerie_crypto::{Domain, EventId, ReportId, UserKey, UserSecret};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::ClientError;
use super::transport::Client;

/// What the user asks to report: the fields the node's reports take, which the client then
/// finds again in the draft the node prepares.
pub use crate::reports::ReportRequest as ReportAsk;

/// A receipt as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceiptInfo {
    /// The node that signed it (hex).
    pub node: String,
    /// `review` or `operator`.
    pub queue: String,
    /// `received`, `actioned` or `dismissed`.
    pub status: String,
    /// The node's words.
    pub note: Option<String>,
    /// When it decided (ms).
    pub at_ms: u64,
    /// The signed receipt (hex).
    pub bytes: String,
}

/// A report's fields as the API shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportFieldsInfo {
    /// `event`, `user` or `room`.
    pub target: String,
    /// The category.
    pub category: String,
    /// The reporter's words.
    pub text: String,
    /// The room.
    pub room: Option<String>,
    /// The reported user (hex).
    pub user: Option<String>,
}

/// One of the user's reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReportInfo {
    /// The report id.
    pub id: String,
    /// `sent`, `received`, `actioned` or `dismissed`.
    pub status: String,
    /// Its fields.
    pub report: ReportFieldsInfo,
    /// When the node took it (ms).
    pub sent_ms: u64,
    /// The nodes it went to (hex).
    pub recipients: Vec<String>,
    /// Their receipts.
    pub receipts: Vec<ReceiptInfo>,
    /// The signed report (hex).
    pub bytes: String,
}

#[derive(Deserialize)]
struct Prepared {
    draft: String,
}

#[derive(Deserialize)]
struct ReportList {
    reports: Vec<ReportInfo>,
}

fn mismatch(what: &str) -> ClientError {
    ClientError::DraftMismatch(format!("the report's {what} is not what was asked"))
}

/// Checks the node's unsigned report against the ask; returns the bytes to sign after the
/// report domain prefix.
fn check(bytes: &[u8], ask: &ReportAsk, me: &UserKey) -> Result<(), ClientError> {
    let draft = ReportDraft::decode(bytes)
        .map_err(|e| ClientError::DraftMismatch(format!("the report does not decode: {e}")))?;
    if draft.target != ask.target {
        return Err(mismatch("target"));
    }
    if draft.category != ask.category {
        return Err(mismatch("category"));
    }
    if draft.text != ask.text {
        return Err(mismatch("text"));
    }
    if &draft.reporter != me {
        return Err(mismatch("reporter"));
    }
    if ask.room.is_some() && draft.room != ask.room {
        return Err(mismatch("room"));
    }
    if ask.user.is_some() && draft.user != ask.user {
        return Err(mismatch("user"));
    }
    let ids: Vec<EventId> = draft.events.iter().map(|e| e.id()).collect();
    if ids != ask.events {
        return Err(mismatch("evidence"));
    }
    Ok(())
}

impl Client {
    /// Reports: the node prepares it, it is checked here, signed with `secret` and submitted.
    pub async fn report(
        &self,
        secret: &UserSecret,
        ask: &ReportAsk,
    ) -> Result<ReportInfo, ClientError> {
        let body = json!({
            "target": ask.target.name(),
            "category": ask.category.name(),
            "text": ask.text,
            "room": ask.room.map(|r| r.to_string()),
            "user": ask.user.map(|u| u.to_string()),
            "events": ask.events.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        let prepared: Prepared = self
            .call(Method::POST, "/reports/prepare", Some(body), true)
            .await?;
        let bytes = hex::decode(&prepared.draft)
            .map_err(|_| ClientError::BadResponse("report draft not hex".into()))?;
        check(&bytes, ask, &secret.public())?;
        let signature = secret.sign(Domain::Report, &bytes);
        self.call(
            Method::POST,
            "/reports",
            Some(json!({
                "draft": prepared.draft,
                "signature": hex::encode(signature.as_bytes()),
            })),
            true,
        )
        .await
    }

    /// The user's reports, newest first.
    pub async fn reports(&self) -> Result<Vec<ReportInfo>, ClientError> {
        let list: ReportList = self.call(Method::GET, "/reports", None, true).await?;
        Ok(list.reports)
    }

    /// One of the user's reports.
    pub async fn report_status(&self, id: &ReportId) -> Result<ReportInfo, ClientError> {
        self.call(Method::GET, &format!("/reports/{id}"), None, true)
            .await
    }
}
