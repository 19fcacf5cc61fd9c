//! The client API's error: an HTTP status and a stable reason name, sent as
//! `{"error": reason, "message": text}` (specs/client-api.md, "Conventions"). Every refusal is
//! counted by reason in `/metrics`.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::node::NodeError;

/// A refused request.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable reason name.
    pub reason: &'static str,
    /// Text for people; may change between versions.
    pub message: String,
    /// Seconds to wait before retrying (429).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a status, a reason and a message.
    pub fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            reason,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    /// 400 with `reason`.
    pub fn bad(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, reason, message)
    }

    /// 404 `unknown_room`.
    pub fn unknown_room() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_room",
            "this node does not hold the room",
        )
    }

    /// 403 with `reason`.
    pub fn forbidden(reason: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, reason, message)
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        let status = match error {
            NodeError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            NodeError::UnknownRoom => StatusCode::NOT_FOUND,
            NodeError::OverLimit(_) | NodeError::Prepare(_) => StatusCode::BAD_REQUEST,
            NodeError::Ledger(ref e) if e.reason() == "handle_taken" => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let reason = match error {
            NodeError::Stopped => "unavailable",
            NodeError::UnknownRoom => "unknown_room",
            _ => error.reason(),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(reason, error = %error, "node request failed");
        }
        ApiError::new(status, reason, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": self.reason, "message": self.message })),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(RETRY_AFTER, secs.into());
        }
        // The middleware counts refusals by reason from this marker.
        response.extensions_mut().insert(Refusal(self.reason));
        response
    }
}

/// Marks a response as a refusal with its reason, for the counters.
#[derive(Debug, Clone, Copy)]
pub struct Refusal(pub &'static str);
