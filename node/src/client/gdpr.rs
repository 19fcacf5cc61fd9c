//! The user's data-protection rights on [`Client`] (specs/accountability.md §7): export
//! everything the node holds about the user, redact every event they wrote (each redaction
//! prepared by the node, checked and signed here with the user's key), erase their registration
//! record. The CLI (`causerie export`, `causerie erase`) and the tests use it.

use std::time::Duration;

use causerie_crypto::UserSecret;
use causerie_crypto::address::{parse_event_id, parse_room};
use causerie_crypto::event::kinds;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::checks::Expect;
use super::error::ClientError;
use super::transport::Client;

/// Most export pages one export reads (500 events each).
pub const MAX_EXPORT_PAGES: usize = 10_000;
/// Most times one redaction is retried after the node's rate limit refused it.
pub const MAX_RATE_LIMITED_RETRIES: usize = 120;
/// How long to wait after a rate-limited redaction before trying again.
pub const RATE_LIMIT_PAUSE: Duration = Duration::from_millis(500);

/// An event of the user's that an erasure could not redact, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotRedacted {
    /// The room.
    pub room: String,
    /// The event.
    pub event: String,
    /// The node's reason (e.g. `not_a_member` for a room the user left).
    pub reason: String,
}

/// What an erasure did.
#[derive(Debug, Clone, Serialize)]
pub struct ErasureReport {
    /// Redactions submitted (one per event).
    pub redacted: Vec<String>,
    /// Events left as they were, with the reason.
    pub not_redacted: Vec<NotRedacted>,
    /// The node's answer to the record erasure: items removed and the record kept, with each
    /// item's expiry.
    pub record: Value,
}

/// Whether the erasure redacts `event` (an exported event): the user's own accepted events,
/// not yet redacted, except redactions (nothing to remove) and room creations (they hold no
/// words of the user's and every room event depends on them).
fn to_redact(event: &Value) -> bool {
    let status = event["status"].as_str().unwrap_or_default();
    let kind = event["kind"].as_str().unwrap_or_default();
    matches!(status, "accepted" | "soft_failed")
        && event["redacted"] == Value::Bool(false)
        && kind != kinds::REDACTION
        && kind != kinds::CREATE
}

impl Client {
    /// One page of the user's export (`after`: the previous page's `next`).
    pub async fn export_page(&self, after: Option<&str>) -> Result<Value, ClientError> {
        let path = match after {
            Some(cursor) => format!("/me/export?after={}", urlencode(cursor)),
            None => "/me/export".to_owned(),
        };
        self.call(Method::GET, &path, None, true).await
    }

    /// The whole export: the first page's document with every page's events.
    pub async fn export(&self) -> Result<Value, ClientError> {
        let mut document = self.export_page(None).await?;
        let mut events = document["events"].as_array().cloned().unwrap_or_default();
        let mut next = document["next"].as_str().map(str::to_owned);
        let mut pages = 1;
        while let Some(cursor) = next {
            if pages >= MAX_EXPORT_PAGES {
                return Err(ClientError::Invalid {
                    reason: "export_too_large",
                    message: format!("more than {MAX_EXPORT_PAGES} pages"),
                });
            }
            let page = self.export_page(Some(&cursor)).await?;
            events.extend(page["events"].as_array().cloned().unwrap_or_default());
            next = page["next"].as_str().map(str::to_owned);
            pages += 1;
        }
        document["events"] = Value::Array(events);
        document["next"] = Value::Null;
        Ok(document)
    }

    /// Erases the user's registration record on the node (what the operator must keep stays
    /// until its expiry, which the answer shows).
    pub async fn erase_record(&self) -> Result<Value, ClientError> {
        self.call(Method::POST, "/me/erase", Some(json!({})), true)
            .await
    }

    /// The full erasure: redacts every event of the user's the node holds (signed here), then
    /// erases the registration record.
    pub async fn erase(&self, secret: &UserSecret) -> Result<ErasureReport, ClientError> {
        let export = self.export().await?;
        let mut report = ErasureReport {
            redacted: Vec::new(),
            not_redacted: Vec::new(),
            record: Value::Null,
        };
        let events = export["events"].as_array().cloned().unwrap_or_default();
        for event in events.iter().filter(|e| to_redact(e)) {
            let (Some(room), Some(id)) = (event["room"].as_str(), event["id"].as_str()) else {
                continue;
            };
            let room_id = parse_room(room).map_err(|e| ClientError::Invalid {
                reason: "bad_export",
                message: e.to_string(),
            })?;
            let event_id = parse_event_id(id).map_err(|e| ClientError::Invalid {
                reason: "bad_export",
                message: e.to_string(),
            })?;
            let expect = Expect::new(Some(room_id), kinds::REDACTION)
                .bytes("redacts", event_id.0.0.to_vec());
            let action = json!({ "action": "redact", "event": id, "reason": "erasure" });
            let mut attempts = 0;
            loop {
                match self
                    .act(secret, &room_id, action.clone(), expect.clone())
                    .await
                {
                    Ok(done) => {
                        report.redacted.push(done.event_id);
                        break;
                    }
                    Err(ClientError::Refused { reason, .. })
                        if (reason == "rate_limited" || reason == "slow_mode")
                            && attempts < MAX_RATE_LIMITED_RETRIES =>
                    {
                        attempts += 1;
                        tokio::time::sleep(RATE_LIMIT_PAUSE).await;
                    }
                    Err(e) if e.is_refusal() => {
                        report.not_redacted.push(NotRedacted {
                            room: room.to_owned(),
                            event: id.to_owned(),
                            reason: e.reason().to_owned(),
                        });
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        report.record = self.erase_record().await?;
        Ok(report)
    }
}

/// Percent-encodes a cursor for a query string.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
