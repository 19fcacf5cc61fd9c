//! Why a client call failed: [`ClientError`], one variant per kind of failure, each with a
//! stable reason name (the node's own reason for its refusals).

use causerie_crypto::AddressError;
use thiserror::Error;

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

impl From<AddressError> for ClientError {
    /// Text the user gave that is not an id, key or link: refused before anything is sent.
    fn from(error: AddressError) -> Self {
        invalid(error.reason(), error.to_string())
    }
}

/// A transport error with its causes ("error sending request" alone does not say "connection
/// refused"). URLs are left out: they are the node's, already known to the user.
pub(super) fn unreachable(error: reqwest::Error) -> ClientError {
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

pub(super) fn bad(text: impl Into<String>) -> ClientError {
    ClientError::BadResponse(text.into())
}

pub(super) fn invalid(reason: &'static str, message: impl Into<String>) -> ClientError {
    ClientError::Invalid {
        reason,
        message: message.into(),
    }
}
