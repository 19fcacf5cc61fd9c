//! The node's HTTP surface (axum), bound to loopback by default: the client API
//! (specs/client-api.md), node information and Prometheus metrics.
//!
//! Layout:
//! - [`guard`]: Host allowlist, cross-origin refusal, rate limits, security headers, refusal
//!   counters: the middleware every request passes.
//! - [`forwarded`]: a request's client address, through trusted reverse proxies.
//! - [`session`]: challenges and bearer sessions (memory only, bounded).
//! - [`operator`]: the operator token and its check; [`admin`]: the operator API
//!   (`/api/v1/admin/...`: audit log, lawful requests, disclosure, transparency);
//!   `admin_accounts`: the operator's acts on accounts (attest at a level, revoke, contact data).
//! - [`auth`]: registration (the node attests the key), login, logout, profile, users.
//! - [`directory`]: the federated directory of public rooms, alias resolution, a room's alias
//!   on this node (specs/directory.md).
//! - [`rooms`]: the user's rooms, room views, members, history, invites, joins.
//! - [`banlists`]: ban lists: a list's rules and diff, a room's subscription.
//! - [`gdpr`]: the user's export of everything the node holds about them, and the erasure of
//!   their registration record.
//! - [`events`]: preparing drafts for the client to sign, and submitting signed events.
//! - [`reports`]: abuse reports: prepare, submit, the user's reports and their receipts.
//! - [`review`]: the classifier on the client path, and the rooms' review queues.
//! - [`signals`]: typing indicators, read markers and unread counts (specs/signals.md).
//! - [`stream`]: the live stream of new events, typing lists, read markers and moderator
//!   alerts (server-sent events).
//! - [`json`]: JSON shapes and parsing; [`error`]: [`ApiError`]; [`limits`]: every limit.
//! - [`info`]: `GET /api/v1/node` and `GET /metrics`.
//! - [`server`]: the accept loop and HTTP/1.1 connections: connection caps, header and idle
//!   timeouts, header size limits; [`serve`] runs it.
//! - [`tls`]: HTTPS built in: certificate files or ACME, and the handshake in the accept loop.

pub mod admin;
pub mod admin_accounts;
pub mod admin_reports;
pub mod auth;
pub mod backup;
pub mod banlists;
pub mod directory;
pub mod error;
pub mod events;
pub mod forwarded;
pub mod gdpr;
pub mod guard;
pub mod handles;
pub mod info;
pub mod json;
pub mod limits;
pub mod operator;
pub mod relations;
pub mod reports;
pub mod review;
pub mod rooms;
pub mod server;
pub mod session;
pub mod signals;
pub mod stream;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use causerie_crypto::NodeSecret;
use tokio_util::sync::CancellationToken;

pub use error::{ApiError, Reason};
pub use guard::{CONTENT_SECURITY_POLICY_VALUE, Guard, default_hosts};
pub use info::with_peer_id;
pub use server::{serve, serve_with};
use session::Sessions;

use crate::moderation::classifier::Classifier;
use crate::net::NetHandle;
use crate::node::Node;
use crate::rate_limits::{RateLimitConfig, RateLimits};

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The node actor.
    pub node: Node,
    /// The network actor.
    pub net: NetHandle,
    /// The store directory, for its size on disk.
    pub store_path: PathBuf,
    /// The node's key, to sign the attestations it issues.
    pub node_secret: Arc<NodeSecret>,
    /// Challenges and sessions.
    pub sessions: Arc<Sessions>,
    /// Host/origin checks, rate limits, refusal counters.
    pub guard: Arc<Guard>,
    /// Live streams open.
    pub streams: Arc<AtomicUsize>,
    /// Cancelled when the node stops (ends live streams so the server can stop).
    pub shutdown: CancellationToken,
    /// The classifier hook, when configured.
    pub classifier: Option<Classifier>,
    /// Rate limits on submitted events, and their refusal counters.
    pub rates: Arc<RateLimits>,
    /// The operator token the admin routes require (none: they refuse every request).
    pub operator: Option<Arc<operator::OperatorToken>>,
    /// Abuse reports (taken, delivered, received), when the node runs them.
    pub reports: Option<crate::reports::Reports>,
    /// Whether registration requires contact data (`[records] require_contact`).
    pub require_contact: bool,
    /// The node's public origin (`https://host[:port]`), for web invite links.
    pub public_origin: Option<Arc<str>>,
}

impl ApiState {
    /// State for a node whose HTTP server checks requests with `guard`.
    pub fn new(
        node: Node,
        net: NetHandle,
        store_path: PathBuf,
        node_secret: NodeSecret,
        guard: Guard,
        shutdown: CancellationToken,
    ) -> Self {
        let sessions = Arc::new(Sessions::new(node.key()));
        ApiState {
            node,
            net,
            store_path,
            node_secret: Arc::new(node_secret),
            sessions,
            guard: Arc::new(guard),
            streams: Arc::new(AtomicUsize::new(0)),
            shutdown,
            classifier: None,
            rates: Arc::new(RateLimits::new(&RateLimitConfig::default())),
            operator: None,
            reports: None,
            require_contact: false,
            public_origin: None,
        }
    }

    /// The same state, handing out web invite links on `origin` (`https://host[:port]`).
    pub fn with_public_origin(mut self, origin: Option<String>) -> Self {
        self.public_origin = origin.map(Arc::from);
        self
    }

    /// The same state, requiring contact data at registration when `require` is set.
    pub fn with_require_contact(mut self, require: bool) -> Self {
        self.require_contact = require;
        self
    }

    /// The same state, opening the admin routes to `token`.
    pub fn with_operator(mut self, token: operator::OperatorToken) -> Self {
        self.operator = Some(Arc::new(token));
        self
    }

    /// The same state, taking abuse reports through `reports`.
    pub fn with_reports(mut self, reports: crate::reports::Reports) -> Self {
        self.reports = Some(reports);
        self
    }

    /// The same state with the rate limits of `config` on submitted events.
    pub fn with_rate_limits(mut self, config: &RateLimitConfig) -> Self {
        self.rates = Arc::new(RateLimits::new(config));
        self
    }

    /// The same state, asking `classifier` about client submissions.
    pub fn with_classifier(mut self, classifier: Option<Classifier>) -> Self {
        self.classifier = classifier;
        self
    }
}

async fn not_found() -> ApiError {
    ApiError::new(Reason::NotFound, "no such path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        Reason::MethodNotAllowed,
        "this path does not take that method",
    )
}

/// The API routes, without the web client.
fn api_routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/node", get(info::node_info))
        .route("/metrics", get(info::metrics))
        .route("/api/v1/auth/challenge", post(auth::challenge))
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me).put(auth::update_me))
        .route("/api/v1/users/{user}", get(auth::user))
        .route("/api/v1/handles/{handle}", get(handles::handle))
        .route("/api/v1/me/export", get(gdpr::export))
        .route("/api/v1/me/erase", post(gdpr::erase))
        .route("/api/v1/rooms", get(rooms::list))
        .route("/api/v1/directory", get(directory::directory))
        .route("/api/v1/aliases/{alias}", get(directory::resolve))
        .route(
            "/api/v1/rooms/{room}/alias",
            axum::routing::put(directory::set_alias).delete(directory::remove_alias),
        )
        .route("/api/v1/rooms/join", post(rooms::join))
        .route("/api/v1/rooms/prepare_create", post(events::prepare_create))
        .route("/api/v1/rooms/{room}", get(rooms::info))
        .route("/api/v1/rooms/{room}/members", get(rooms::members))
        .route("/api/v1/rooms/{room}/messages", get(rooms::messages))
        .route("/api/v1/rooms/{room}/invite", get(rooms::invite_link))
        .route("/api/v1/rooms/{room}/prepare", post(events::prepare))
        .route("/api/v1/rooms/{room}/typing", post(signals::typing))
        .route("/api/v1/rooms/{room}/read", post(signals::read))
        .route("/api/v1/events", post(events::submit))
        .route("/api/v1/rooms/{room}/review", get(review::list))
        .route(
            "/api/v1/rooms/{room}/review/{item}/approve",
            post(review::approve),
        )
        .route(
            "/api/v1/rooms/{room}/review/{item}/reject",
            post(review::reject),
        )
        .route("/api/v1/reports/prepare", post(reports::prepare))
        .route("/api/v1/reports", get(reports::list).post(reports::submit))
        .route("/api/v1/reports/{id}", get(reports::one))
        .route("/api/v1/stream", get(stream::stream))
        .route("/api/v1/banlists/{list}", get(banlists::list))
        .route("/api/v1/rooms/{room}/banlists", get(banlists::room))
        .route("/api/v1/audit/head", get(admin::public_head))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/api/v1/admin/audit/head", get(admin::audit_head))
        .route("/api/v1/admin/requests", post(admin::request))
        .route("/api/v1/admin/reports", get(admin_reports::list))
        .route("/api/v1/admin/reports/{id}", get(admin_reports::one))
        .route(
            "/api/v1/admin/reports/{id}/action",
            post(admin_reports::action),
        )
        .route(
            "/api/v1/admin/reports/{id}/dismiss",
            post(admin_reports::dismiss),
        )
        .route("/api/v1/admin/reporters", get(admin_reports::reporters))
        .route(
            "/api/v1/admin/reporters/{user}/mute",
            post(admin_reports::mute),
        )
        .route("/api/v1/admin/refuse", post(admin::refuse))
        .route("/api/v1/admin/backup", post(backup::backup))
        .route("/api/v1/admin/disclose", post(admin::disclose))
        .route(
            "/api/v1/admin/users/{user}/attest",
            post(admin_accounts::attest),
        )
        .route(
            "/api/v1/admin/users/{user}/revoke",
            post(admin_accounts::revoke),
        )
        .route(
            "/api/v1/admin/users/{user}/contact",
            post(admin_accounts::contact),
        )
        .route("/api/v1/admin/transparency", get(admin::transparency))
        .route("/api/v1/admin/handles/{handle}", get(handles::admin_handle))
        .route("/api/v1/admin/aliases", get(directory::admin_aliases))
        .route(
            "/api/v1/admin/aliases/{alias}",
            delete(directory::admin_remove_alias),
        )
}

/// The whole HTTP surface: the API and `extra` (the web client's routes), behind the guard.
/// Serve it with [`serve`] (which gives each request its client address, for the per-client
/// limits).
pub fn router(state: ApiState, extra: Router<ApiState>) -> Router {
    api_routes()
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(DefaultBodyLimit::max(limits::MAX_BODY_BYTES))
        .with_state(state)
}

/// The address type the router's connect info carries.
pub type ClientAddr = SocketAddr;
