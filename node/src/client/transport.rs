//! [`Client`]: one node's client API over HTTP (reqwest, no proxy, no redirects), with bodies
//! read under [`MAX_RESPONSE_BYTES`], refusals turned into [`ClientError::Refused`], the login
//! session, and signed submissions (prepare, check, sign, submit).

use causerie_crypto::{RoomId, UserKey, UserSecret};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::checks::{Expect, check_challenge, check_draft, sign};
use super::error::{ClientError, bad, invalid, unreachable};
use super::stream::EventStream;
use super::wire::{Account, ChallengeAnswer, Draft, ErrorBody, SessionAnswer, Submitted};
use super::{CONNECT_TIMEOUT, MAX_RESPONSE_BYTES, POOL_IDLE_TIMEOUT, REQUEST_TIMEOUT};

/// A connection to one node, with or without a session.
#[derive(Clone)]
pub struct Client {
    pub(super) http: reqwest::Client,
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
pub(super) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, ClientError> {
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

pub(super) async fn refusal(response: reqwest::Response) -> ClientError {
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

/// The base URL of a node as the user names it: a URL with scheme `http` or `https` and a host,
/// or `HOST:PORT` (taken as `http://HOST:PORT`); no credentials, query or fragment.
fn node_url(node: &str) -> Result<String, ClientError> {
    let refuse = |why: String| {
        invalid(
            "bad_node_url",
            format!("{node:?}: {why}; give the node as http://HOST:PORT or HOST:PORT"),
        )
    };
    let given = node.trim();
    let base = if given.contains("://") {
        given.trim_end_matches('/').to_owned()
    } else {
        format!("http://{}", given.trim_end_matches('/'))
    };
    let url = reqwest::Url::parse(&base).map_err(|e| refuse(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(refuse(format!("{} is not http or https", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("no host".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "credentials do not belong in the node's address".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("no query or fragment".into()));
    }
    Ok(base)
}

impl Client {
    /// A client for the node at `node`: its URL (`http://127.0.0.1:8080`,
    /// `https://chat.example.org`) or `HOST:PORT`, read as `http://HOST:PORT`. An https node's
    /// certificate must verify against the system's roots.
    pub fn new(node: &str) -> Result<Client, ClientError> {
        Self::trusting(node, None)
    }

    /// [`Client::new`], also trusting the PEM certificates in `roots_pem` (a private
    /// certificate authority's, for a node whose certificate the system does not trust).
    /// No certificate in it, or one that does not parse, is refused as `bad_ca_file`.
    pub fn trusting(node: &str, roots_pem: Option<&[u8]>) -> Result<Client, ClientError> {
        let base = node_url(node)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // The node is named explicitly; an ambient HTTP_PROXY must not see the session token.
            .no_proxy()
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .https_only(base.starts_with("https://"));
        if let Some(pem) = roots_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| invalid("bad_ca_file", format!("not PEM certificates: {e}")))?;
            if roots.is_empty() {
                return Err(invalid("bad_ca_file", "no PEM certificate in it"));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder.build().map_err(unreachable)?;
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

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub(super) fn builder(
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

    pub(super) async fn send(
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

    pub(super) async fn call<T: DeserializeOwned>(
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

    pub(super) fn session_user(&self) -> Result<UserKey, ClientError> {
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
        Ok(EventStream::new(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_are_named_by_url_or_host_and_port() {
        for (given, base) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("https://chat.example", "https://chat.example"),
            ("127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("localhost:8080", "http://localhost:8080"),
            ("[::1]:8080", "http://[::1]:8080"),
            ("chat.example", "http://chat.example"),
        ] {
            assert_eq!(node_url(given).unwrap(), base, "{given}");
        }
        for bad in [
            "",
            "ftp://127.0.0.1:21",
            "http://",
            "http://user:secret@127.0.0.1:8080",
            "http://127.0.0.1:8080/?x=1",
            "127.0.0.1:99999",
            "http://127.0.0.1:8080#top",
        ] {
            let error = node_url(bad).unwrap_err();
            assert_eq!(error.reason(), "bad_node_url", "{bad}");
            assert!(error.to_string().contains("HOST:PORT"), "{error}");
        }
    }
}
