//! Shared harness of the client API tests: whole nodes started with `daemon::start` on loopback
//! (temp data dirs, ports chosen by the OS), and a small HTTP client that holds a user key and
//! signs what the node prepares, as a real client does.

#![allow(dead_code, unreachable_pub)] // each test file uses part of the harness

use std::net::SocketAddr;
use std::time::Duration;

use causerie_crypto::{EventDraft, UserSecret};
use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};
use serde_json::{Value, json};

/// The longest any poll in these tests waits.
pub const WAIT: Duration = Duration::from_secs(30);

pub struct ApiNode {
    pub running: Option<Running>,
    pub http: SocketAddr,
    pub dir: tempfile::TempDir,
}

fn config(dir: &std::path::Path, bootstrap: Vec<String>) -> Config {
    let overrides = Overrides {
        data_dir: Some(dir.to_owned()),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap,
        http: Some("127.0.0.1:0".to_owned()),
    };
    Config::from_parts(ConfigFile::default(), overrides).unwrap()
}

impl ApiNode {
    pub async fn start(bootstrap: Vec<String>) -> ApiNode {
        let dir = tempfile::tempdir().unwrap();
        let running = daemon::start(&config(dir.path(), bootstrap)).await.unwrap();
        let http = running.http_addr;
        ApiNode {
            running: Some(running),
            http,
            dir,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// The node's p2p addresses with its peer id (for bootstrapping another node).
    pub async fn p2p_addrs(&self) -> Vec<String> {
        let net = &self.running().net;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let addrs = net.listen_addrs().await.unwrap();
            if !addrs.is_empty() {
                return addrs
                    .iter()
                    .map(|a| causerie_node::api::with_peer_id(a, &net.peer_id()))
                    .collect();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node never listened"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Restarts on the same data dir (new HTTP port).
    pub async fn restart(&mut self) {
        self.stop().await;
        let running = daemon::start(&config(self.dir.path(), Vec::new()))
            .await
            .unwrap();
        self.http = running.http_addr;
        self.running = Some(running);
    }
}

/// A user of one node: their key (never sent) and their session token.
pub struct User {
    pub secret: UserSecret,
    pub base: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn reason(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

impl User {
    pub fn new(node: &ApiNode, seed: u8) -> User {
        User {
            secret: UserSecret::from_seed(&[seed; 32]),
            base: format!("http://{}", node.http),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn key_hex(&self) -> String {
        hex::encode(self.secret.public().as_bytes())
    }

    /// One request; on `429` waits as `Retry-After` says and tries again (as clients must).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        const MAX_ATTEMPTS: usize = 20;
        for _ in 0..MAX_ATTEMPTS {
            let (answer, retry_after) = self.call_once(method.clone(), path, body.clone()).await;
            match retry_after {
                Some(secs) if answer.status == 429 => {
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                }
                _ => return answer,
            }
        }
        panic!("still rate limited after {MAX_ATTEMPTS} attempts");
    }

    async fn call_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (Answer, Option<u64>) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        (Answer { status, body }, retry_after)
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Challenge → signed answer, for register or login.
    pub async fn answered_challenge(&self) -> (String, String) {
        let answer = self
            .post("/api/v1/auth/challenge", json!({ "user": self.key_hex() }))
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        let input = hex::decode(answer.body["signing_input"].as_str().unwrap()).unwrap();
        let signature = self.secret.sign_input(&input).unwrap();
        (
            answer.body["challenge"].as_str().unwrap().to_owned(),
            hex::encode(signature.as_bytes()),
        )
    }

    pub async fn register(&mut self, handle: &str) -> Answer {
        let (challenge, signature) = self.answered_challenge().await;
        let answer = self
            .post(
                "/api/v1/auth/register",
                json!({ "challenge": challenge, "signature": signature, "handle": handle }),
            )
            .await;
        if answer.status == 201 {
            self.token = Some(answer.body["token"].as_str().unwrap().to_owned());
        }
        answer
    }

    pub async fn login(&mut self) -> Answer {
        let (challenge, signature) = self.answered_challenge().await;
        let answer = self
            .post(
                "/api/v1/auth/login",
                json!({ "challenge": challenge, "signature": signature }),
            )
            .await;
        if answer.status == 200 {
            self.token = Some(answer.body["token"].as_str().unwrap().to_owned());
        }
        answer
    }

    /// Signs a draft as a careful client: checks the signing input derives from the draft.
    pub fn sign(&self, draft: &Value) -> (String, String) {
        let bytes = hex::decode(draft["draft"].as_str().unwrap()).unwrap();
        let decoded = EventDraft::decode(&bytes).unwrap();
        assert_eq!(decoded.author, self.secret.public());
        let input = decoded.signing_input().unwrap();
        assert_eq!(
            hex::encode(&input),
            draft["signing_input"].as_str().unwrap()
        );
        let signature = self.secret.sign_input(&input).unwrap();
        (
            draft["draft"].as_str().unwrap().to_owned(),
            hex::encode(signature.as_bytes()),
        )
    }

    pub async fn submit(&self, draft: &Value) -> Answer {
        let (draft, signature) = self.sign(draft);
        self.post(
            "/api/v1/events",
            json!({ "draft": draft, "signature": signature }),
        )
        .await
    }

    /// Prepares `action` in `room`, signs and submits it.
    pub async fn act(&self, room: &str, action: Value) -> Answer {
        let prepared = self
            .post(&format!("/api/v1/rooms/{room}/prepare"), action)
            .await;
        assert_eq!(prepared.status, 200, "prepare: {:?}", prepared.body);
        self.submit(&prepared.body).await
    }

    /// Like [`User::act`] but the node must accept.
    pub async fn must(&self, room: &str, action: Value) -> String {
        let answer = self.act(room, action).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["event_id"].as_str().unwrap().to_owned()
    }

    /// Creates a room the way the clients do: create, join, power levels, join rule, name.
    pub async fn create_room(&self, name: &str, join_rule: &str) -> String {
        let draft = self.post("/api/v1/rooms/prepare_create", json!({})).await;
        assert_eq!(draft.status, 200, "{:?}", draft.body);
        let created = self.submit(&draft.body).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let room = created.body["room"].as_str().unwrap().to_owned();
        self.must(&room, json!({ "action": "join" })).await;
        self.must(&room, json!({ "action": "power_levels" })).await;
        self.must(
            &room,
            json!({ "action": "join_rule", "join_rule": join_rule }),
        )
        .await;
        self.must(&room, json!({ "action": "name", "name": name }))
            .await;
        room
    }

    /// Message bodies of the room's newest page, oldest first.
    pub async fn bodies(&self, room: &str) -> Vec<String> {
        let page = self.get(&format!("/api/v1/rooms/{room}/messages")).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        page.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "room.message")
            .map(|e| e["content"]["body"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// Polls `condition` until it holds or [`WAIT`] passes.
pub async fn eventually<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut pause = Duration::from_millis(10);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// Reads server-sent events from a live stream.
pub struct StreamReader {
    response: reqwest::Response,
    buffer: String,
}

impl StreamReader {
    pub async fn open(user: &User, query: &str) -> StreamReader {
        let response = user
            .http
            .get(format!("{}/api/v1/stream{query}", user.base))
            .bearer_auth(user.token.as_ref().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        StreamReader {
            response,
            buffer: String::new(),
        }
    }

    /// The next frame as (event name, data), or `None` when the stream ends or [`WAIT`] passes.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next `event` frame, skipping pings.
    pub async fn next_event(&mut self) -> Option<Value> {
        loop {
            let (name, data) = self.next().await?;
            if name == "event" {
                return Some(data);
            }
        }
    }
}
