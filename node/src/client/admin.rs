//! The operator API (`/api/v1/admin/...`, specs/accountability.md §4.6) on [`Client`]: every
//! call carries the operator token given to it, never a user session's.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::Client;
use super::REQUEST_TIMEOUT;
use super::error::{ClientError, bad, unreachable};
use super::transport::{read_capped, refusal};

impl Client {
    /// Calls an admin route (`path` below `/api/v1`, e.g. `/admin/audit/head`) with the operator
    /// token `token` (64 hex digits) and decodes the JSON answer.
    pub async fn admin_call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        token: &str,
    ) -> Result<T, ClientError> {
        let mut builder = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .timeout(REQUEST_TIMEOUT);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let bytes = read_capped(response).await?;
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("{path}: {e}")))
    }
}
