//! Operator authentication for the routes under `/api/v1/admin/` (specs/accountability.md §4.6):
//! not a user session but the operator token, 32 random bytes the node writes at first start to
//! `<data_dir>/operator.token` (mode 0600; `[operator] token_file` names another file) as 64
//! lowercase hex digits and a newline. A request carries it as `Authorization: Bearer <hex>`;
//! the node compares it in constant time. No header: `401 operator_auth_required`; anything
//! else (another token, a user session's token, malformed): `401 operator_auth_failed`. Both
//! are counted by the guard's refusal counters like every refusal.

use std::io::{Read, Write};
use std::path::Path;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ApiState;
use super::error::{ApiError, Reason};
use super::guard::presented_token;

/// Bytes of an operator token.
pub const OPERATOR_TOKEN_BYTES: usize = 32;
/// Largest token file read.
const TOKEN_FILE_MAX_BYTES: u64 = 256;

/// Why the token file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OperatorTokenError {
    /// Reading or creating it failed.
    #[error("operator token file {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It does not hold 64 lowercase hex digits.
    #[error("operator token file {0} does not hold 64 lowercase hex digits")]
    Malformed(std::path::PathBuf),
    /// The system random source failed.
    #[error("no randomness for the operator token")]
    Random,
}

impl OperatorTokenError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            OperatorTokenError::Io { .. } => "operator_token_io",
            OperatorTokenError::Malformed(_) => "bad_operator_token_file",
            OperatorTokenError::Random => "no_randomness",
        }
    }
}

/// The operator token. Never printed or logged.
#[derive(Clone)]
pub struct OperatorToken(Zeroizing<[u8; OPERATOR_TOKEN_BYTES]>);

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken(***)")
    }
}

impl OperatorToken {
    /// Parses the file's text: 64 lowercase hex digits, surrounding whitespace ignored.
    pub fn parse(text: &str) -> Option<OperatorToken> {
        let text = text.trim();
        if !is_token_text(text) {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; OPERATOR_TOKEN_BYTES]);
        hex::decode_to_slice(text, bytes.as_mut()).ok()?;
        Some(OperatorToken(bytes))
    }

    /// Reads the token file.
    pub fn read(path: &Path) -> Result<OperatorToken, OperatorTokenError> {
        let io = |source| OperatorTokenError::Io {
            path: path.to_owned(),
            source,
        };
        let mut text = Zeroizing::new(String::new());
        std::fs::File::open(path)
            .map_err(io)?
            .take(TOKEN_FILE_MAX_BYTES)
            .read_to_string(&mut text)
            .map_err(io)?;
        OperatorToken::parse(&text).ok_or_else(|| OperatorTokenError::Malformed(path.to_owned()))
    }

    /// Reads the token file, creating it with a fresh random token (mode 0600) if it does not
    /// exist.
    pub fn read_or_create(path: &Path) -> Result<OperatorToken, OperatorTokenError> {
        if path.exists() {
            return OperatorToken::read(path);
        }
        let mut bytes = Zeroizing::new([0u8; OPERATOR_TOKEN_BYTES]);
        getrandom::fill(bytes.as_mut()).map_err(|_| OperatorTokenError::Random)?;
        let token = OperatorToken(bytes);
        let io = |source| OperatorTokenError::Io {
            path: path.to_owned(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io)?;
        let text = Zeroizing::new(format!("{}\n", token.to_hex().as_str()));
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        tracing::info!(path = %path.display(), "created operator token");
        Ok(token)
    }

    /// The token as sent in the header (64 lowercase hex digits).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// Whether `presented` (the header's token) is this token, in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        let mut given = Zeroizing::new([0u8; OPERATOR_TOKEN_BYTES]);
        let well_formed =
            is_token_text(presented) && hex::decode_to_slice(presented, given.as_mut()).is_ok();
        // Compare even a malformed token, so timing says nothing about which check failed.
        let equal: bool = self.0.as_ref().ct_eq(given.as_ref()).into();
        equal && well_formed
    }
}

/// Whether `text` is a token as written: [`OPERATOR_TOKEN_BYTES`] as lowercase hex digits.
fn is_token_text(text: &str) -> bool {
    text.len() == 2 * OPERATOR_TOKEN_BYTES
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The request came with the operator token: the state, for an admin handler. Admin handlers
/// take the state only through it, so none can act without the token.
pub struct Operator(pub ApiState);

impl FromRequestParts<ApiState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let presented = presented_token(&parts.headers, || {
            ApiError::new(
                Reason::OperatorAuthRequired,
                "send Authorization: Bearer <operator token>",
            )
        })?;
        match &state.operator {
            Some(token) if token.matches(presented) => Ok(Operator(state.clone())),
            _ => Err(ApiError::new(
                Reason::OperatorAuthFailed,
                "not this node's operator token",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("operator.token");
        let created = OperatorToken::read_or_create(&path).unwrap();
        let read = OperatorToken::read_or_create(&path).unwrap();
        assert!(read.matches(&created.to_hex()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 65);
        assert!(!format!("{created:?}").contains(&text[..8]));
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = OperatorToken::parse(&"ab".repeat(32)).unwrap();
        assert!(token.matches(&"ab".repeat(32)));
        for bad in [
            "".to_owned(),
            "AB".repeat(32),
            "ab".repeat(31),
            format!("{}ac", "ab".repeat(31)),
            format!("{}zz", "ab".repeat(31)),
            "ab".repeat(33),
        ] {
            assert!(!token.matches(&bad), "{bad}");
        }
        assert!(OperatorToken::parse("xyz").is_none());
    }
}
