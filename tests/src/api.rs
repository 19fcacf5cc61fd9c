//! The client API from outside, as its clients drive it: a whole node started on loopback
//! ([`ApiNode`]), and [`ApiUser`], one user holding their own key who registers, logs in,
//! prepares, signs and submits over HTTP (specs/client-api.md). Used by `tests/api*.rs` and
//! `tests/browser_*.rs`. Raw sockets for the HTTP-level tests are in [`raw`].

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use causerie_crypto::{Attestation, EventDraft, UserKey, UserSecret};
use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};
use serde_json::{Value, json};

/// The longest any poll in these tests waits.
pub const WAIT: Duration = Duration::from_secs(30);

/// The client address metrics are read from (no test sends anything else from it).
pub const METRICS_SOURCE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 254));

/// Times one call is retried after `429` (waiting as `Retry-After` says) before giving up.
const MAX_RATE_LIMITED_ATTEMPTS: usize = 20;

/// A node started in this process with a temporary data dir, its HTTP API on loopback.
pub struct ApiNode {
    /// The running node (`None` once stopped).
    pub running: Option<Running>,
    /// Where its HTTP API listens.
    pub http: SocketAddr,
    /// Its data dir.
    pub dir: tempfile::TempDir,
    /// Its configuration (a restart uses it again, without bootstrap peers).
    pub config: Config,
}

fn config(dir: &std::path::Path, bootstrap: Vec<String>, file: ConfigFile) -> Config {
    let overrides = Overrides {
        data_dir: Some(dir.to_owned()),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap,
        http: Some("127.0.0.1:0".to_owned()),
        ..Overrides::default()
    };
    Config::from_parts(file, overrides).expect("test config")
}

impl ApiNode {
    /// Starts a node that dials `bootstrap` (p2p addresses with peer ids).
    pub async fn start(bootstrap: Vec<String>) -> ApiNode {
        ApiNode::start_configured(bootstrap, ConfigFile::default()).await
    }

    /// Starts a node configured by `file` (data dir and addresses are the test's own).
    pub async fn start_configured(bootstrap: Vec<String>, file: ConfigFile) -> ApiNode {
        // Warnings (or what `RUST_LOG` asks for) go with a failing test's output.
        crate::cluster::init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let config = config(dir.path(), bootstrap, file);
        let running = daemon::start(&config).await.expect("node starts");
        let http = running.http_addr;
        ApiNode {
            running: Some(running),
            http,
            dir,
            config,
        }
    }

    /// A node with alice (her key made from `seed`) registered and her room `name` with
    /// `join_rule`: (node, alice, room).
    pub async fn with_alices_room(
        seed: u8,
        name: &str,
        join_rule: &str,
    ) -> (ApiNode, ApiUser, String) {
        let node = ApiNode::start(Vec::new()).await;
        let alice = ApiUser::registered(node.http, seed, "alice").await;
        let room = alice.create_room(name, join_rule).await;
        (node, alice, room)
    }

    /// A node with two users registered by seed and handle, `owner` and `member`, and the
    /// public room `name` that `owner` created and `member` joined: (node, owner, member, room).
    pub async fn with_shared_room(
        name: &str,
        owner: (u8, &str),
        member: (u8, &str),
    ) -> (ApiNode, ApiUser, ApiUser, String) {
        let node = ApiNode::start(Vec::new()).await;
        let owner = ApiUser::registered(node.http, owner.0, owner.1).await;
        let member = ApiUser::registered(node.http, member.0, member.1).await;
        let room = owner.create_room(name, "public").await;
        member.join(&room).await;
        (node, owner, member, room)
    }

    /// Two connected nodes (see [`ApiNode::pair`]) with alice (seed 1) at home on A, bob
    /// (seed 2) on B, and the public room "Lobby" that alice created and bob joined by its
    /// invite link: (A, B, alice, bob, room).
    pub async fn pair_in_a_room() -> (ApiNode, ApiNode, ApiUser, ApiUser, String) {
        let (a, b) = ApiNode::pair().await;
        let alice = ApiUser::registered(a.http, 1, "alice").await;
        let bob = ApiUser::registered(b.http, 2, "bob").await;
        let room = alice.create_room("Lobby", "public").await;
        bob.join_by_link(&alice.invite_link(&room).await).await;
        (a, b, alice, bob, room)
    }

    /// Two nodes, B started with A as its bootstrap peer, once B is connected to A.
    pub async fn pair() -> (ApiNode, ApiNode) {
        let a = ApiNode::start(Vec::new()).await;
        let b = ApiNode::start(a.p2p_addrs().await).await;
        b.wait_connected("B connected to A").await;
        (a, b)
    }

    /// The running node.
    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("node running")
    }

    /// The attestation this node holds for `user` (its own users', or one it has seen).
    pub async fn attestation_of(&self, user: UserKey) -> Attestation {
        self.running()
            .node
            .accounts()
            .attestations_of(vec![user])
            .await
            .expect("attestations")
            .remove(&user)
            .expect("an attestation of the user")
    }

    /// The node's p2p addresses with its peer id (for bootstrapping another node).
    pub async fn p2p_addrs(&self) -> Vec<String> {
        let net = &self.running().net;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let addrs = net.listen_addrs().await.expect("listen addresses");
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

    /// Waits until the node is connected to a peer (one started with this node's
    /// [`ApiNode::p2p_addrs`] as bootstrap has dialled it).
    pub async fn wait_connected(&self, what: &str) {
        let net = self.running().net.clone();
        eventually(what, || {
            let net = net.clone();
            async move { !net.connected_peers().await.expect("peers").is_empty() }
        })
        .await;
    }

    /// The URL of `path` on this node.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// Stops the node (flushes and waits for every part).
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Restarts on the same data dir (new HTTP port).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.config.bootstrap.clear();
        let running = daemon::start(&self.config).await.expect("node restarts");
        self.http = running.http_addr;
        self.running = Some(running);
    }

    /// A counter of `/metrics` (`name{labels}` as printed), 0 when absent. Read from
    /// [`METRICS_SOURCE`], so that tests that use up a client address's connections can still
    /// read them.
    pub async fn metric(&self, series: &str) -> u64 {
        metric(self.http, Some(METRICS_SOURCE), series).await
    }

    /// How many requests the client API refused with `reason` (its refusal counter).
    pub async fn refused(&self, reason: &str) -> u64 {
        self.metric(&format!(
            "causerie_api_refused_total{{reason=\"{reason}\"}}"
        ))
        .await
    }
}

/// A status and JSON body (`null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: Value,
    /// `Retry-After`, in seconds, when sent.
    pub retry_after: Option<u64>,
}

impl Answer {
    /// The refusal reason (`error`), or `""`.
    pub fn reason(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

/// One user of one node, driving its client API as a client does: their key (never sent) and
/// their session token.
pub struct ApiUser {
    /// The user's key.
    pub secret: UserSecret,
    /// `http://<node>`.
    pub base: String,
    /// The session token, once registered or logged in.
    pub token: Option<String>,
    /// The HTTP client (its source address fixed by [`ApiUser::from_address`]).
    pub http: reqwest::Client,
}

impl ApiUser {
    /// A user of the node at `node` holding `secret`, not yet registered.
    pub fn new(node: SocketAddr, secret: UserSecret) -> ApiUser {
        ApiUser::with_client(node, secret, client(None))
    }

    /// A user whose key is made from `seed`.
    pub fn from_seed(node: SocketAddr, seed: u8) -> ApiUser {
        ApiUser::new(node, UserSecret::from_seed(&[seed; 32]))
    }

    /// A user whose requests come from `source` (a loopback address such as 127.0.0.2), so the
    /// node sees a client address of its own.
    pub fn from_address(node: SocketAddr, secret: UserSecret, source: IpAddr) -> ApiUser {
        ApiUser::with_client(node, secret, client(Some(source)))
    }

    /// A user whose requests come from `source` and carry `X-Forwarded-For: <forwarded_for>`,
    /// as a reverse proxy at `source` forwards them.
    pub fn forwarding(
        node: SocketAddr,
        secret: UserSecret,
        source: IpAddr,
        forwarded_for: &str,
    ) -> ApiUser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            forwarded_for.parse().expect("a header value"),
        );
        let http = reqwest::Client::builder()
            .no_proxy()
            .local_address(Some(source))
            .default_headers(headers)
            .build()
            .expect("HTTP client");
        ApiUser::with_client(node, secret, http)
    }

    fn with_client(node: SocketAddr, secret: UserSecret, http: reqwest::Client) -> ApiUser {
        ApiUser {
            secret,
            base: format!("http://{node}"),
            token: None,
            http,
        }
    }

    /// A fresh key registered on the node at `node` with `handle` and `display_name`.
    pub async fn register(node: SocketAddr, handle: &str, display_name: &str) -> ApiUser {
        let secret = UserSecret::generate().expect("key");
        ApiUser::register_key(node, secret, handle, display_name).await
    }

    /// `secret` registered on the node at `node` with `handle` and `display_name`.
    pub async fn register_key(
        node: SocketAddr,
        secret: UserSecret,
        handle: &str,
        display_name: &str,
    ) -> ApiUser {
        ApiUser::new(node, secret)
            .registered_as(handle, Some(display_name))
            .await
    }

    /// A user whose key is made from `seed`, registered on the node at `node` as `handle`.
    pub async fn registered(node: SocketAddr, seed: u8, handle: &str) -> ApiUser {
        ApiUser::from_seed(node, seed)
            .registered_as(handle, None)
            .await
    }

    /// A user whose key is made from `seed` and whose requests come from `source` (see
    /// [`ApiUser::from_address`]), registered on the node at `node` as `handle`.
    pub async fn registered_from(
        node: SocketAddr,
        source: IpAddr,
        seed: u8,
        handle: &str,
    ) -> ApiUser {
        ApiUser::from_address(node, UserSecret::from_seed(&[seed; 32]), source)
            .registered_as(handle, None)
            .await
    }

    /// This user, registered as `handle`; panics unless the node answers `201`.
    async fn registered_as(mut self, handle: &str, display_name: Option<&str>) -> ApiUser {
        let answer = self.try_register(handle, display_name).await;
        assert_eq!(answer.status, 201, "register {handle}: {:?}", answer.body);
        self
    }

    /// The user key in hex.
    pub fn key(&self) -> String {
        hex::encode(self.secret.public().as_bytes())
    }

    /// One request, as is: no retry.
    pub async fn request_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("API request");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = response.text().await.expect("API answer");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            retry_after,
        }
    }

    /// One request; on `429` waits as `Retry-After` says and tries again (as clients must).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        for _ in 0..MAX_RATE_LIMITED_ATTEMPTS {
            let answer = self.request_once(method.clone(), path, body.clone()).await;
            match answer.retry_after {
                Some(secs) if answer.status == 429 => {
                    tokio::time::sleep(Duration::from_secs(secs)).await;
                }
                _ => return answer,
            }
        }
        panic!("still rate limited after {MAX_RATE_LIMITED_ATTEMPTS} attempts");
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    /// A call that must succeed (2xx); returns the JSON answer. `path` is under `/api/v1`;
    /// a `null` body sends none.
    pub async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let body = (!body.is_null()).then_some(body);
        let answer = self.request(method, &format!("/api/v1{path}"), body).await;
        assert!(
            (200..300).contains(&answer.status),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
        answer.body
    }

    /// Challenge → signed answer (challenge hex, signature hex), for register or login.
    pub async fn answered_challenge(&self) -> (String, String) {
        let answer = self
            .post("/api/v1/auth/challenge", json!({ "user": self.key() }))
            .await;
        assert_eq!(answer.status, 200, "challenge: {:?}", answer.body);
        let input =
            hex::decode(answer.body["signing_input"].as_str().expect("input")).expect("hex");
        let signature = self
            .secret
            .sign_input(&input)
            .expect("a challenge signing input");
        (
            answer.body["challenge"]
                .as_str()
                .expect("challenge")
                .to_owned(),
            hex::encode(signature.as_bytes()),
        )
    }

    /// Registers with `handle` (and `display_name`); keeps the token on success.
    pub async fn try_register(&mut self, handle: &str, display_name: Option<&str>) -> Answer {
        let fields: Vec<(&str, &str)> = display_name
            .map(|name| ("display_name", name))
            .into_iter()
            .collect();
        self.try_register_with(handle, &fields).await
    }

    /// Registers with `handle` and the optional `fields` of the request (`display_name`,
    /// `contact`); keeps the token on success.
    pub async fn try_register_with(&mut self, handle: &str, fields: &[(&str, &str)]) -> Answer {
        let (challenge, signature) = self.answered_challenge().await;
        let mut body = json!({ "challenge": challenge, "signature": signature, "handle": handle });
        for (name, value) in fields {
            body[*name] = json!(value);
        }
        let answer = self.post("/api/v1/auth/register", body).await;
        if answer.status == 201 {
            self.token = answer.body["token"].as_str().map(str::to_owned);
        }
        answer
    }

    /// Logs in (a new session); keeps the token on success.
    pub async fn login(&mut self) -> Answer {
        let (challenge, signature) = self.answered_challenge().await;
        let answer = self
            .post(
                "/api/v1/auth/login",
                json!({ "challenge": challenge, "signature": signature }),
            )
            .await;
        if answer.status == 200 {
            self.token = answer.body["token"].as_str().map(str::to_owned);
        }
        answer
    }

    /// Signs a prepared draft as a careful client: checks the draft is the user's and that the
    /// signing input derives from it. Returns (draft hex, signature hex).
    pub fn sign(&self, draft: &Value) -> (String, String) {
        let text = draft["draft"].as_str().expect("draft");
        let decoded = EventDraft::decode(&hex::decode(text).expect("hex")).expect("a draft");
        assert_eq!(decoded.author, self.secret.public());
        let input = decoded.signing_input().expect("signing input");
        assert_eq!(
            hex::encode(&input),
            draft["signing_input"].as_str().expect("signing input")
        );
        let signature = self
            .secret
            .sign_input(&input)
            .expect("an event signing input");
        (text.to_owned(), hex::encode(signature.as_bytes()))
    }

    /// Signs `draft` (built or changed by the test, not checked against a node's `prepare`) and
    /// submits it.
    pub async fn submit_draft(&self, draft: &EventDraft) -> Answer {
        let signature = self
            .secret
            .sign_input(&draft.signing_input().expect("signing input"))
            .expect("an event signing input");
        self.post(
            "/api/v1/events",
            json!({ "draft": hex::encode(draft.encode().expect("draft encodes")),
                    "signature": hex::encode(signature.as_bytes()) }),
        )
        .await
    }

    /// Signs and submits a prepared draft.
    pub async fn try_submit(&self, draft: &Value) -> Answer {
        let (draft, signature) = self.sign(draft);
        self.post(
            "/api/v1/events",
            json!({ "draft": draft, "signature": signature }),
        )
        .await
    }

    /// Prepares `action` in `room` (which must succeed), signs and submits it.
    pub async fn act(&self, room: &str, action: Value) -> Answer {
        let prepared = self
            .post(&format!("/api/v1/rooms/{room}/prepare"), action)
            .await;
        assert_eq!(prepared.status, 200, "prepare: {:?}", prepared.body);
        self.try_submit(&prepared.body).await
    }

    /// Like [`ApiUser::act`] but the node must accept; returns the event id.
    pub async fn must(&self, room: &str, action: Value) -> String {
        let answer = self.act(room, action).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body["event_id"]
            .as_str()
            .expect("event id")
            .to_owned()
    }

    /// Signs and submits a prepared draft, which the node must accept; returns the event id
    /// once the node has stored it.
    pub async fn submit(&self, draft: &Value) -> String {
        let answer = self.try_submit(draft).await;
        assert_eq!(answer.status, 200, "submit: {:?}", answer.body);
        answer.body["event_id"]
            .as_str()
            .expect("event id")
            .to_owned()
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

    /// Reacts to `event` in `room` with `key`; returns the reaction's id.
    pub async fn react(&self, room: &str, event: &str, key: &str) -> String {
        self.must(
            room,
            json!({ "action": "react", "event": event, "key": key }),
        )
        .await
    }

    /// Edits this user's message `event` in `room` to `body`; returns the edit's id.
    pub async fn edit(&self, room: &str, event: &str, body: &str) -> String {
        self.must(
            room,
            json!({ "action": "edit", "event": event, "body": body }),
        )
        .await
    }

    /// Says whether this user is typing in `room` (`POST /rooms/{room}/typing`); the node's
    /// answer.
    pub async fn typing(&self, room: &str, typing: bool) -> Answer {
        self.post(
            &format!("/api/v1/rooms/{room}/typing"),
            json!({ "typing": typing }),
        )
        .await
    }

    /// Moves this user's read marker in `room` to `event` (`POST /rooms/{room}/read`); the
    /// node's answer.
    pub async fn read_up_to(&self, room: &str, event: &str) -> Answer {
        self.post(
            &format!("/api/v1/rooms/{room}/read"),
            json!({ "event": event }),
        )
        .await
    }

    /// Joins through the invite link `link` (the node replicates the room first); panics
    /// unless the join is accepted. Returns the id of the room joined.
    pub async fn join_by_link(&self, link: &str) -> String {
        let joined = self
            .post("/api/v1/rooms/join", json!({ "link": link }))
            .await;
        assert_eq!(joined.status, 200, "{:?}", joined.body);
        assert_eq!(self.try_submit(&joined.body["draft"]).await.status, 200);
        joined.body["room"].as_str().expect("room").to_owned()
    }

    /// This user's invite link to `room`.
    pub async fn invite_link(&self, room: &str) -> String {
        let link = self.get(&format!("/api/v1/rooms/{room}/invite")).await;
        assert_eq!(link.status, 200, "{:?}", link.body);
        link.body["link"].as_str().expect("link").to_owned()
    }

    /// Joins a room this node holds (prepare the join, sign, submit).
    pub async fn join(&self, room: &str) {
        let answer = self
            .call("POST", "/rooms/join", json!({ "room": room }))
            .await;
        self.submit(&answer["draft"]).await;
    }

    /// Invites `user` to `room`; returns the invite's event id.
    pub async fn invite(&self, room: &str, user: &ApiUser) -> String {
        self.must(room, json!({ "action": "invite", "user": user.key() }))
            .await
    }

    /// Posts a message; returns its event id once the node has stored it.
    pub async fn say(&self, room: &str, body: &str) -> String {
        self.must(room, json!({ "action": "message", "body": body }))
            .await
    }

    /// Prepares a message and submits it once, without retrying on 429 (for tests and benches
    /// of rate limits): the prepare's answer if it was refused, else the submit's.
    pub async fn say_once(&self, room: &str, body: &str) -> Answer {
        let prepared = self
            .request_once(
                reqwest::Method::POST,
                &format!("/api/v1/rooms/{room}/prepare"),
                Some(json!({ "action": "message", "body": body })),
            )
            .await;
        if prepared.status != 200 {
            return prepared;
        }
        let (draft, signature) = self.sign(&prepared.body);
        self.request_once(
            reqwest::Method::POST,
            "/api/v1/events",
            Some(json!({ "draft": draft, "signature": signature })),
        )
        .await
    }

    /// Creates a room the way the clients do: create, join, power levels, join rule, name.
    pub async fn create_room(&self, name: &str, join_rule: &str) -> String {
        let room = self.create_room_with(json!({}), join_rule).await;
        self.must(&room, json!({ "action": "name", "name": name }))
            .await;
        room
    }

    /// Starts a direct-message room with `other` (a user key in hex) the way the clients do
    /// (specs/rooms.md §13.5): create with `dm`, join, power levels, invite only, invite.
    pub async fn start_dm(&self, other: &str) -> String {
        let room = self.create_room_with(json!({ "dm": true }), "invite").await;
        self.must(&room, json!({ "action": "invite", "user": other }))
            .await;
        room
    }

    /// The steps every new room takes: create (`prepare_create` with `request`), join, power
    /// levels, join rule; returns the new room's id.
    async fn create_room_with(&self, request: Value, join_rule: &str) -> String {
        let draft = self.post("/api/v1/rooms/prepare_create", request).await;
        assert_eq!(draft.status, 200, "{:?}", draft.body);
        let created = self.try_submit(&draft.body).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let room = created.body["room"].as_str().expect("room").to_owned();
        self.must(&room, json!({ "action": "join" })).await;
        self.must(&room, json!({ "action": "power_levels" })).await;
        self.must(
            &room,
            json!({ "action": "join_rule", "join_rule": join_rule }),
        )
        .await;
        room
    }

    /// What the node tells this user about `room` (`GET /rooms/{room}`: name, join rule,
    /// content rules, the user's own standing).
    pub async fn room_info(&self, room: &str) -> Value {
        self.call("GET", &format!("/rooms/{room}"), Value::Null)
            .await
    }

    /// The entry of `room` in this user's room list (`GET /rooms`), if it is listed.
    pub async fn listed(&self, room: &str) -> Option<Value> {
        let rooms = self.get("/api/v1/rooms").await;
        assert_eq!(rooms.status, 200, "{:?}", rooms.body);
        rooms.body["rooms"]
            .as_array()
            .and_then(|rooms| rooms.iter().find(|r| r["room"] == room).cloned())
    }

    /// The event `id` as the room's newest page shows it, if it is there.
    pub async fn shown(&self, room: &str, id: &str) -> Option<Value> {
        self.event_in_page(&format!("/api/v1/rooms/{room}/messages"), id)
            .await
    }

    /// The event `id` among the newest `limit` events of `room`, if it is there.
    pub async fn shown_among(&self, room: &str, id: &str, limit: usize) -> Option<Value> {
        self.event_in_page(&format!("/api/v1/rooms/{room}/messages?limit={limit}"), id)
            .await
    }

    /// The event `id` in the page of events `path` answers with, if it is there.
    async fn event_in_page(&self, path: &str, id: &str) -> Option<Value> {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        page.body["events"]
            .as_array()
            .and_then(|events| events.iter().find(|e| e["id"] == id).cloned())
    }

    /// The member row of `user` in `room` as the node reports it (`GET /rooms/{room}/members`).
    pub async fn member(&self, room: &str, user: &str) -> Option<Value> {
        let members = self
            .call("GET", &format!("/rooms/{room}/members"), Value::Null)
            .await;
        members["members"]
            .as_array()
            .and_then(|rows| rows.iter().find(|m| m["user"] == json!(user)).cloned())
    }

    /// Whether the room's newest page holds a message with `body`.
    pub async fn shows(&self, room: &str, body: &str) -> bool {
        self.bodies(room).await.iter().any(|b| b == body)
    }

    /// Message bodies of the room's newest page, oldest first.
    pub async fn bodies(&self, room: &str) -> Vec<String> {
        let page = self.get(&format!("/api/v1/rooms/{room}/messages")).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        page.body["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "room.message")
            .map(|e| e["content"]["body"].as_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// A counter of the `/metrics` of the node whose HTTP API is at `node` (`name{labels}` as
/// printed), 0 when absent; asked from `source` when given.
pub async fn metric(node: SocketAddr, source: Option<IpAddr>, series: &str) -> u64 {
    let text = anonymous_get(node, source, "/metrics")
        .await
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

/// What the node whose HTTP API is at `node` says about itself (`GET /api/v1/node`).
pub async fn node_info(node: SocketAddr) -> Value {
    anonymous_get(node, None, "/api/v1/node")
        .await
        .json()
        .await
        .expect("node info JSON")
}

/// `GET path` of the node at `node` without a session, asked from `source` when given.
async fn anonymous_get(node: SocketAddr, source: Option<IpAddr>, path: &str) -> reqwest::Response {
    client(source)
        .get(format!("http://{node}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// An HTTP client without proxies, its connections from `source` when given.
fn client(source: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .local_address(source)
        .build()
        .expect("HTTP client")
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
    /// Opens `GET /api/v1/stream{query}` for `user`; it must be accepted.
    pub async fn open(user: &ApiUser, query: &str) -> StreamReader {
        let response = user
            .http
            .get(format!("{}/api/v1/stream{query}", user.base))
            .bearer_auth(user.token.as_ref().expect("logged in"))
            .send()
            .await
            .expect("stream request");
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

    /// The next frame named `name` whose data satisfies `wanted`, skipping the others; panics
    /// when the stream ends or [`WAIT`] passes.
    pub async fn frame(&mut self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        // Pings and other frames keep coming: the deadline is for the whole wait.
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, self.next()).await;
            let Ok(Some((got, data))) = next else {
                panic!("no {name} frame as wanted within {WAIT:?}; the last ones: {seen:?}");
            };
            if got == name && wanted(&data) {
                return data;
            }
            if got != "ping" {
                if seen.len() == 8 {
                    seen.remove(0);
                }
                seen.push((got, data));
            }
        }
    }

    /// The handles of a `typing` frame's users, in its order.
    pub fn typing_handles(data: &Value) -> Vec<String> {
        data["users"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| u["handle"].as_str().unwrap_or("").to_owned())
            .collect()
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

/// Raw TCP clients for the HTTP-level tests: requests written byte by byte as a hostile client
/// would, answers read as they come.
pub mod raw {
    use std::net::{IpAddr, SocketAddr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};

    use super::WAIT;

    /// Most bytes of an answer kept.
    const MAX_ANSWER_BYTES: usize = 65_536;

    /// A connection to `node` from `source` (port chosen by the OS).
    pub async fn connect(node: SocketAddr, source: IpAddr) -> TcpStream {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::new(source, 0))
            .expect("bind the source address");
        socket.connect(node).await.expect("connect")
    }

    /// Writes `bytes`; `false` when the node already closed the connection.
    pub async fn send(stream: &mut TcpStream, bytes: &[u8]) -> bool {
        stream.write_all(bytes).await.is_ok()
    }

    /// Reads until the node closes the connection or [`WAIT`] passes; returns what came and
    /// whether the connection was closed.
    pub async fn read_to_close(stream: &mut TcpStream) -> (String, bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4_096];
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                Err(_) => return (String::from_utf8_lossy(&answer).into_owned(), false),
                Ok(Ok(0)) | Ok(Err(_)) => {
                    return (String::from_utf8_lossy(&answer).into_owned(), true);
                }
                Ok(Ok(n)) => {
                    if answer.len() + n <= MAX_ANSWER_BYTES {
                        answer.extend_from_slice(&buffer[..n]);
                    }
                }
            }
        }
    }

    /// Reads one answer whose head says `Content-Length` (or until close); `None` after [`WAIT`].
    pub async fn read_answer(stream: &mut TcpStream) -> Option<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut answer = Vec::new();
        let mut buffer = [0u8; 4_096];
        loop {
            if let Some(complete) = complete_answer(&answer) {
                return Some(complete);
            }
            match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                Err(_) => return None,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    return (!answer.is_empty())
                        .then(|| String::from_utf8_lossy(&answer).into_owned());
                }
                Ok(Ok(n)) => {
                    answer.extend_from_slice(&buffer[..n]);
                    if answer.len() > MAX_ANSWER_BYTES {
                        return Some(String::from_utf8_lossy(&answer).into_owned());
                    }
                }
            }
        }
    }

    /// The answer in `bytes` if its head and `Content-Length` body have all arrived.
    fn complete_answer(bytes: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(bytes);
        let end = text.find("\r\n\r\n")?;
        let length: usize = text[..end]
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        (text.len() >= end + 4 + length).then(|| text.into_owned())
    }

    /// The status code of an answer (`0` when there is none).
    pub fn status(answer: &str) -> u16 {
        answer
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| answer.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }
}
