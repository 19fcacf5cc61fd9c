//! The checks every request passes before a handler sees it, and the headers every response
//! carries (specs/client-api.md, "Conventions"):
//!
//! 1. Exactly one `Host` header, agreeing with an absolute request target (`400 bad_host`), and
//!    in the allowlist (`421 host_not_allowed`): a DNS-rebinding page that resolves its own name
//!    to 127.0.0.1 cannot talk to a local node.
//! 2. A foreign `Origin`, or `Sec-Fetch-Site: cross-site` on anything but a top-level
//!    navigation, is refused (`403 cross_origin`). No CORS header is ever sent.
//! 3. Rate limits per client address ([`ClientKey`]: IPv4 address or IPv6 /64; through a
//!    trusted reverse proxy, the address it forwarded: [`super::forwarded`]) on every request,
//!    and per user on requests with a valid session, over all of that address's or user's
//!    sessions (`429 rate_limited` with `Retry-After`): opening more sessions buys no more
//!    requests.
//! 4. A declared `Content-Length` over [`MAX_BODY_BYTES`] is refused before the body is read
//!    (`413 body_too_large`; the connection closes).
//! 5. Security headers (CSP and friends) on every response; `Cache-Control: no-store` on the API.
//!
//! Refusals, here and in handlers, are counted by reason for `/metrics`.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, HOST, ORIGIN,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use causerie_crypto::UserKey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::ApiState;
use super::error::{ApiError, Reason, Refusal};
use super::forwarded::{self, ClientAddress};
use super::limits::{
    MAX_BODY_BYTES, MAX_RATE_KEYS, RATE_BURST, RATE_BURST_PER_CLIENT, RATE_PER_SECOND,
    RATE_PER_SECOND_PER_CLIENT,
};
use crate::clock::now_ms;
use crate::config::TrustedProxies;
use crate::counters::ReasonCounts;

/// The page's Content-Security-Policy: nothing from other hosts, no inline script or style,
/// no eval, no framing.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; \
base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The client address the per-client limits count: an IPv4 address, or the /64 of an IPv6
/// address (one host usually holds a whole /64). IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key of a connection from `ip`.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    const PREFIX: u128 = !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(Ipv6Addr::from(u128::from(v6) & PREFIX)))
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Hosts and origins the node answers to, the rate limiter and the refusal counters.
pub struct Guard {
    hosts: BTreeSet<String>,
    origins: BTreeSet<String>,
    /// Per client address, every request.
    clients: DefaultKeyedRateLimiter<ClientKey>,
    /// Per user, requests with a session.
    users: DefaultKeyedRateLimiter<[u8; 32]>,
    clock: DefaultClock,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    proxies: TrustedProxies,
    /// Requests seen.
    pub requests: AtomicU64,
    /// Requests through a trusted proxy whose `X-Forwarded-For` did not parse.
    pub bad_forwarded: AtomicU64,
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
        // The same host over TLS (built in, or a reverse proxy in front) is the same site.
        let origins = hosts
            .iter()
            .flat_map(|h| [format!("http://{h}"), format!("https://{h}")])
            .collect();
        let quota = |per_second: u32, burst: u32| {
            Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
                .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
        };
        Guard {
            hosts,
            origins,
            clients: RateLimiter::keyed(quota(RATE_PER_SECOND_PER_CLIENT, RATE_BURST_PER_CLIENT)),
            users: RateLimiter::keyed(quota(RATE_PER_SECOND, RATE_BURST)),
            clock: DefaultClock::default(),
            proxies: TrustedProxies::default(),
            requests: AtomicU64::new(0),
            bad_forwarded: AtomicU64::new(0),
            refused: ReasonCounts::new(),
        }
    }

    /// The same guard, reading the client address of requests from `proxies` in their
    /// `X-Forwarded-For` (`trusted_proxies`).
    pub fn trusting(self, proxies: TrustedProxies) -> Self {
        Guard { proxies, ..self }
    }

    /// Whether connections from `ip` come through a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.contains(ip)
    }

    /// Counts a refusal.
    pub fn count(&self, reason: &'static str) {
        self.refused.increment(reason);
    }

    fn check_host(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
        let mut hosts = headers.get_all(HOST).iter();
        let (Some(host), None) = (hosts.next(), hosts.next()) else {
            return Err(ApiError::new(
                Reason::BadHost,
                "send exactly one Host header",
            ));
        };
        let host = host.to_str().ok().map(str::to_ascii_lowercase);
        if let Some(authority) = uri.authority()
            && host.as_deref() != Some(authority.as_str().to_ascii_lowercase().as_str())
        {
            return Err(ApiError::new(
                Reason::BadHost,
                "the Host header and the request target name different hosts",
            ));
        }
        match host {
            Some(host) if self.hosts.contains(&host) => Ok(()),
            _ => Err(ApiError::new(
                Reason::HostNotAllowed,
                "the Host header is not one this node answers to",
            )),
        }
    }

    fn check_origin(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let refused = || {
            ApiError::new(
                Reason::CrossOrigin,
                "requests from other origins are refused",
            )
        };
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

    /// Refuses a declared body over the limit before anything reads it.
    fn check_length(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(length) if length > MAX_BODY_BYTES as u64 => Err(ApiError::new(
                Reason::BodyTooLarge,
                format!("request bodies are at most {MAX_BODY_BYTES} bytes"),
            )),
            _ => Ok(()),
        }
    }

    /// Takes one request from `client`'s allowance and, with a session, from its user's.
    fn check_rate(&self, client: ClientKey, user: Option<&UserKey>) -> Result<(), ApiError> {
        if self.clients.len() > MAX_RATE_KEYS {
            self.clients.retain_recent();
        }
        if self.users.len() > MAX_RATE_KEYS {
            self.users.retain_recent();
        }
        let limited = |not_until: governor::NotUntil<_>| {
            let wait = not_until.wait_time_from(self.clock.now());
            ApiError::new(Reason::RateLimited, "too many requests; slow down")
                .retry_after(wait.as_secs().max(1))
        };
        self.clients.check_key(&client).map_err(limited)?;
        if let Some(user) = user {
            self.users.check_key(user.as_bytes()).map_err(limited)?;
        }
        Ok(())
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).and_then(bearer_token)
}

/// The token of an `Authorization` value: what follows `Bearer `, trimmed; `None` when the
/// value is not a bearer token.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    value.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The bearer token a request presents, for an extractor to check: empty when its
/// `Authorization` is not a bearer token; `missing()` when it has no `Authorization` at all.
pub(super) fn presented_token(
    headers: &HeaderMap,
    missing: impl FnOnce() -> ApiError,
) -> Result<&str, ApiError> {
    let value = headers.get(AUTHORIZATION).ok_or_else(missing)?;
    Ok(bearer_token(value).unwrap_or_default())
}

/// The middleware: checks, then the handler, then headers and counters.
pub async fn guard(
    State(state): State<ApiState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let guard = &state.guard;
    guard.requests.fetch_add(1, Ordering::Relaxed);
    let resolved = forwarded::resolve(&guard.proxies, peer, request.headers());
    if resolved.malformed {
        guard.bad_forwarded.fetch_add(1, Ordering::Relaxed);
    }
    let client = resolved.client;
    request.extensions_mut().insert(ClientAddress(client));
    let is_api = request.uri().path().starts_with("/api/");
    let headers = request.headers();
    let checked = guard
        .check_host(request.uri(), headers)
        .and_then(|()| guard.check_origin(headers));
    let checked = checked.and_then(|()| {
        let session = bearer(headers).and_then(|t| state.sessions.session(t, now_ms()));
        guard.check_rate(
            ClientKey::of(client.ip()),
            session.as_ref().map(|s| &s.user),
        )
    });
    let checked = checked.and_then(|()| guard.check_length(headers));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> ClientKey {
        ClientKey::of(
            text.parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        )
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::9").to_string(), "2001:db8:1:2::/64");
        // IPv4, and IPv4 mapped into IPv6, count by the whole address.
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    }
}
