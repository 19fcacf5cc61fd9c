//! The checks every request passes before a handler sees it, and the headers every response
//! carries (specs/client-api.md, "Conventions"):
//!
//! 1. `Host` must be in the allowlist (`421 host_not_allowed`): a DNS-rebinding page that
//!    resolves its own name to 127.0.0.1 cannot talk to a local node.
//! 2. A foreign `Origin`, or `Sec-Fetch-Site: cross-site` on anything but a top-level
//!    navigation, is refused (`403 cross_origin`). No CORS header is ever sent.
//! 3. A rate limit per session (valid bearer token) or else per client address
//!    (`429 rate_limited` with `Retry-After`).
//! 4. Security headers (CSP and friends) on every response; `Cache-Control: no-store` on the API.
//!
//! Refusals, here and in handlers, are counted by reason for `/metrics`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiState;
use super::error::{ApiError, Refusal};
use super::limits::{MAX_RATE_KEYS, RATE_BURST, RATE_PER_SECOND};
use crate::counters::ReasonCounts;

/// The page's Content-Security-Policy: nothing from other hosts, no inline script or style,
/// no eval, no framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Who a rate limit applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RateKey {
    Session([u8; 32]),
    Address(IpAddr),
}

/// Hosts and origins the node answers to, the rate limiter and the refusal counters.
pub struct Guard {
    hosts: BTreeSet<String>,
    origins: BTreeSet<String>,
    limiter: DefaultKeyedRateLimiter<RateKey>,
    clock: DefaultClock,
    /// Requests seen.
    pub requests: AtomicU64,
    /// Refusals, by reason.
    pub refused: ReasonCounts,
}

/// The default allowlist for a node bound at `addr`: the address itself, and `localhost`,
/// `127.0.0.1` and `[::1]` with its port.
pub fn default_hosts(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut hosts = vec![
        addr.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    hosts.dedup();
    hosts
}

impl Guard {
    /// A guard answering to `hosts` (`name:port`, compared case-insensitively).
    pub fn new(hosts: &[String]) -> Self {
        let hosts: BTreeSet<String> = hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        let origins = hosts.iter().map(|h| format!("http://{h}")).collect();
        let quota = Quota::per_second(NonZeroU32::new(RATE_PER_SECOND).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(RATE_BURST).unwrap_or(NonZeroU32::MIN));
        Guard {
            hosts,
            origins,
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            requests: AtomicU64::new(0),
            refused: ReasonCounts::new(),
        }
    }

    /// Counts a refusal.
    pub fn count(&self, reason: &'static str) {
        self.refused.increment(reason);
    }

    fn check_host(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        match host {
            Some(host) if self.hosts.contains(&host) => Ok(()),
            _ => Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "host_not_allowed",
                "the Host header is not one this node answers to",
            )),
        }
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let refused =
            || ApiError::forbidden("cross_origin", "requests from other origins are refused");
        if let Some(origin) = headers.get(ORIGIN) {
            let ours = origin
                .to_str()
                .is_ok_and(|o| self.origins.contains(&o.to_ascii_lowercase()));
            if !ours {
                return Err(refused());
            }
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let mode = headers.get("sec-fetch-mode").and_then(|v| v.to_str().ok());
        if site == Some("cross-site") && mode != Some("navigate") {
            return Err(refused());
        }
        Ok(())
    }

    fn check_rate(&self, key: RateKey) -> Result<(), ApiError> {
        if self.limiter.len() > MAX_RATE_KEYS {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; slow down",
            );
            error.retry_after_secs = Some(wait.as_secs().max(1));
            error
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The middleware: checks, then the handler, then headers and counters.
pub async fn guard(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let guard = &state.guard;
    guard.requests.fetch_add(1, Ordering::Relaxed);
    let is_api = request.uri().path().starts_with("/api/");
    let headers = request.headers();
    let checked = guard
        .check_host(headers)
        .and_then(|()| guard.check_origin(headers));
    let checked = checked.and_then(|()| {
        let key =
            match bearer(headers).and_then(|t| state.sessions.session(t, crate::clock::now_ms())) {
                Some(session) => RateKey::Session(*session.id.as_bytes()),
                None => RateKey::Address(peer.ip()),
            };
        guard.check_rate(key)
    });
    let mut response = match checked {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    };
    if let Some(Refusal(reason)) = response.extensions().get::<Refusal>().copied() {
        guard.count(reason);
    }
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if is_api {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
