//! Another user of a node in the browser tests, driving the node's client API over HTTP the way
//! a client does, to act beside the browser and to check what the node holds.

use causerie_crypto::UserSecret;
use serde_json::{Value, json};

/// Another user, driving the node's client API over HTTP the way a client does (challenge,
/// register, prepare, sign with its own key, submit); its key never leaves the test.
pub struct ApiUser {
    http: reqwest::Client,
    base: String,
    secret: UserSecret,
    token: String,
}

impl ApiUser {
    /// A fresh key registered on the node at `node` with `handle` and `display_name`.
    pub async fn register(node: std::net::SocketAddr, handle: &str, display_name: &str) -> ApiUser {
        let secret = UserSecret::generate().expect("key");
        ApiUser::register_key(node, secret, handle, display_name).await
    }

    /// `secret` registered on the node at `node`.
    pub async fn register_key(
        node: std::net::SocketAddr,
        secret: UserSecret,
        handle: &str,
        display_name: &str,
    ) -> ApiUser {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("HTTP client");
        let mut user = ApiUser {
            http,
            base: format!("http://{node}/api/v1"),
            secret,
            token: String::new(),
        };
        let key = hex::encode(user.secret.public().as_bytes());
        let challenge = user
            .call("POST", "/auth/challenge", json!({ "user": key }))
            .await;
        let signature = user.sign_hex(&challenge["signing_input"]);
        let registered = user
            .call(
                "POST",
                "/auth/register",
                json!({ "challenge": challenge["challenge"], "signature": signature,
                        "handle": handle, "display_name": display_name }),
            )
            .await;
        user.token = registered["token"].as_str().expect("token").to_owned();
        user
    }

    /// The user's public key (hex).
    pub fn key(&self) -> String {
        hex::encode(self.secret.public().as_bytes())
    }

    /// Signs a signing input the node handed over (hex); returns the signature in hex.
    pub fn sign_hex(&self, input: &Value) -> String {
        let input = hex::decode(input.as_str().expect("signing input")).expect("hex");
        let signature = self
            .secret
            .sign_input(&input)
            .expect("a protocol signing input");
        hex::encode(signature.as_bytes())
    }

    /// One API call that must succeed; returns the JSON answer.
    pub async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request.send().await.expect("API request");
        let status = response.status();
        let answer: Value = response.json().await.expect("JSON answer");
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }

    /// Signs and submits a draft; returns the event id once the node has stored it.
    pub async fn submit(&self, draft: &Value) -> String {
        let signature = self.sign_hex(&draft["signing_input"]);
        let answer = self
            .call(
                "POST",
                "/events",
                json!({ "draft": draft["draft"], "signature": signature }),
            )
            .await;
        answer["event_id"].as_str().expect("event id").to_owned()
    }

    /// Joins `room` (by id).
    pub async fn join(&self, room: &str) {
        let answer = self
            .call("POST", "/rooms/join", json!({ "room": room }))
            .await;
        self.submit(&answer["draft"]).await;
    }

    /// Posts a message; returns its event id.
    pub async fn say(&self, room: &str, body: &str) -> String {
        let draft = self
            .call(
                "POST",
                &format!("/rooms/{room}/prepare"),
                json!({ "action": "message", "body": body }),
            )
            .await;
        self.submit(&draft).await
    }
}
