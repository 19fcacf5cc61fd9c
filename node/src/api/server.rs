//! The HTTP server under the API: the node's own accept loop and hyper's HTTP/1.1 on each
//! connection, so that every limit a hostile client meets is named here or in [`super::limits`]
//! (specs/client-api.md, "Connections"):
//!
//! - at most [`connection_cap`] connections at once, and [`MAX_CONNECTIONS_PER_CLIENT`] from one
//!   client address (IPv6: one /64) other than a trusted reverse proxy's (`trusted_proxies`:
//!   it carries every user's connections, so only the total cap holds it); a connection over
//!   a cap is answered `503 too_many_connections` and closed, without reaching the router;
//! - a request head must arrive within [`HEADER_READ_TIMEOUT`] of the connection being ready for
//!   it (opened, or idle after an answer), so slow headers and idle keep-alive connections are
//!   both closed; heads are at most [`MAX_HEADER_BYTES`] and [`MAX_HEADERS`] headers (`431`);
//! - bodies: a declared length over the limit is refused before the body is read
//!   ([`super::guard`]), and a body must arrive within [`super::limits::BODY_READ_TIMEOUT`]
//!   ([`super::json::Body`]).
//!
//! With TLS ([`super::tls`]), the handshake runs in the admitted connection's task before HTTP,
//! within [`super::tls::TLS_HANDSHAKE_TIMEOUT`], so it holds the connection's place under the
//! caps like any request; failed handshakes are counted by reason. A connection over a cap is
//! then closed without an answer (a plain-text refusal means nothing to a TLS client).
//!
//! Stopping: the loop stops accepting, each connection finishes its request in flight and
//! closes; after [`SHUTDOWN_GRACE`] the rest are dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::error::Reason;
use super::guard::{ClientKey, Guard};
use super::limits::{
    ACCEPT_ERROR_PAUSE, HEADER_READ_TIMEOUT, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT,
    MAX_HEADER_BYTES, MAX_HEADERS, MAX_REFUSAL_DRAIN_BYTES, MAX_REFUSALS_IN_FLIGHT,
    MIN_CONNECTIONS, REFUSAL_HEAD_WAIT, REFUSAL_TIMEOUT, SHUTDOWN_GRACE,
};
use super::tls::Tls;

/// The connection cap of this process: [`MAX_CONNECTIONS`], or a quarter of the files the
/// process may open when that is fewer (the store, the network, refusals and connections
/// waiting to be accepted keep the rest), but at least [`MIN_CONNECTIONS`].
pub fn connection_cap() -> usize {
    let files = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _hard)| soft)
        .unwrap_or(u64::MAX);
    let quarter = usize::try_from(files / 4).unwrap_or(usize::MAX);
    MAX_CONNECTIONS.min(quarter).max(MIN_CONNECTIONS)
}

/// Open connections, in all and per client.
struct Connections {
    cap: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    /// Only clients with a connection open (at most `cap` entries).
    per_client: BTreeMap<ClientKey, usize>,
}

/// One admitted connection's place in [`Connections`]; freed when dropped.
struct Admitted {
    connections: Arc<Connections>,
    /// `None` for a trusted proxy's connection (not held to the per-client cap).
    client: Option<ClientKey>,
}

impl Connections {
    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        // Plain counters: a panic while holding the lock leaves them usable.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a connection from `client` (`None`: a trusted proxy, held only to the total
    /// cap), unless a cap is reached.
    fn admit(self: &Arc<Self>, client: Option<ClientKey>) -> Option<Admitted> {
        let mut open = self.open();
        if open.total >= self.cap {
            return None;
        }
        if let Some(client) = client {
            let from_client = open.per_client.entry(client).or_insert(0);
            if *from_client >= MAX_CONNECTIONS_PER_CLIENT {
                return None;
            }
            *from_client += 1;
        }
        open.total += 1;
        Some(Admitted {
            connections: self.clone(),
            client,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.connections.open();
        open.total = open.total.saturating_sub(1);
        let Some(client) = self.client else {
            return;
        };
        if let Some(count) = open.per_client.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.per_client.remove(&client);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled; returns once the connections
/// have finished (or [`SHUTDOWN_GRACE`] passed). Refusals are counted on `guard`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guard: Arc<Guard>,
    shutdown: CancellationToken,
) {
    serve_with(listener, router, guard, None, shutdown).await;
}

/// [`serve`], over TLS when `tls` is given.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    guard: Arc<Guard>,
    tls: Option<Tls>,
    shutdown: CancellationToken,
) {
    let connections = Arc::new(Connections {
        cap: connection_cap(),
        open: Mutex::new(Open::default()),
    });
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS_IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut accept_failing = false;
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        while tasks.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                accept_failing = false;
                accepted
            }
            Err(error) => {
                // Out of file descriptors, most often: wait for some to close.
                guard.count("accept_failed");
                if !accept_failing {
                    tracing::warn!(%error, "http accept failed");
                }
                accept_failing = true;
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let client = (!guard.trusts(peer.ip())).then(|| ClientKey::of(peer.ip()));
        match connections.admit(client) {
            Some(admitted) => {
                let router = router.clone();
                let shutdown = shutdown.clone();
                match tls.clone() {
                    None => {
                        tasks.spawn(connection(stream, peer, admitted, router, shutdown));
                    }
                    Some(tls) => {
                        let guard = guard.clone();
                        tasks.spawn(async move {
                            // Live streams and small answers go out at once.
                            let _ = stream.set_nodelay(true);
                            let handshake = tokio::select! {
                                handshake = tls.handshake(stream) => handshake,
                                () = shutdown.cancelled() => return,
                            };
                            match handshake {
                                Ok(stream) => {
                                    connection(stream, peer, admitted, router, shutdown).await;
                                }
                                Err(end) => {
                                    guard.count(end.reason());
                                    tracing::debug!(%peer, reason = end.reason(), "tls handshake");
                                }
                            }
                        });
                    }
                }
            }
            None => {
                guard.count(Reason::TooManyConnections.name());
                // Without a free refusal slot the connection is just closed; over TLS it is
                // closed at once.
                if tls.is_none()
                    && let Ok(permit) = refusals.clone().try_acquire_owned()
                {
                    tasks.spawn(refuse(stream, permit));
                }
            }
        }
    }
    drop(listener);
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "http connections still open after the grace period; closing them"
        );
        tasks.abort_all();
    }
}

/// A connection's byte stream: plain TCP or TLS over it.
trait Transport: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static {
    /// Sends small writes at once (live streams, small answers).
    fn no_delay(&self);
}

impl Transport for TcpStream {
    fn no_delay(&self) {
        let _ = self.set_nodelay(true);
    }
}

impl Transport for tokio_rustls::server::TlsStream<TcpStream> {
    fn no_delay(&self) {
        let _ = self.get_ref().0.set_nodelay(true);
    }
}

/// Serves one admitted connection.
async fn connection<S: Transport>(
    stream: S,
    peer: SocketAddr,
    admitted: Admitted,
    router: Router,
    shutdown: CancellationToken,
) {
    let _admitted = admitted;
    stream.no_delay();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_header_size(MAX_HEADER_BYTES)
        .max_headers(MAX_HEADERS);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let served = tokio::select! {
        served = connection.as_mut() => served,
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = served {
        tracing::debug!(%peer, %error, "http connection ended");
    }
}

/// The answer to a connection over a cap: a complete HTTP/1.1 response that closes.
fn too_many_connections() -> String {
    let body = format!(
        "{{\"error\":\"{}\",\"message\":\"too many connections are open; close some or try again shortly\"}}",
        Reason::TooManyConnections.name()
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Answers a connection over a cap and closes it, within [`REFUSAL_TIMEOUT`]: waits for the
/// request's head (at most [`REFUSAL_HEAD_WAIT`]) so that the client reads the refusal as the
/// answer to its request, answers, then reads and drops what else the client sends (in all at
/// most [`MAX_REFUSAL_DRAIN_BYTES`]) so that closing does not reset the connection before the
/// client has read the answer.
async fn refuse(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let refused = async {
        let mut sink = [0u8; 4_096];
        let mut drained = 0;
        let mut tail = [0u8; 4];
        let head = async {
            while drained < MAX_REFUSAL_DRAIN_BYTES {
                let n = stream.read(&mut sink).await?;
                if n == 0 {
                    break;
                }
                drained += n;
                for &byte in &sink[..n] {
                    tail = [tail[1], tail[2], tail[3], byte];
                }
                if &tail == b"\r\n\r\n" {
                    break;
                }
            }
            Ok::<(), std::io::Error>(())
        };
        // A client that sends nothing still gets the answer.
        let _ = tokio::time::timeout(REFUSAL_HEAD_WAIT, head).await;
        stream.write_all(too_many_connections().as_bytes()).await?;
        stream.shutdown().await?;
        while drained < MAX_REFUSAL_DRAIN_BYTES {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, refused).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connections(cap: usize) -> Arc<Connections> {
        Arc::new(Connections {
            cap,
            open: Mutex::new(Open::default()),
        })
    }

    #[test]
    fn one_client_gets_its_share_and_others_the_rest() {
        let table = connections(MAX_CONNECTIONS_PER_CLIENT + 2);
        let a = ClientKey::of(std::net::Ipv4Addr::LOCALHOST.into());
        let b = ClientKey::of(std::net::Ipv4Addr::new(127, 0, 0, 2).into());
        let held: Vec<Admitted> = (0..MAX_CONNECTIONS_PER_CLIENT)
            .filter_map(|_| table.admit(Some(a)))
            .collect();
        assert_eq!(held.len(), MAX_CONNECTIONS_PER_CLIENT);
        assert!(table.admit(Some(a)).is_none(), "over the per-client cap");
        let first = table.admit(Some(b));
        let second = table.admit(Some(b));
        assert!(first.is_some() && second.is_some());
        assert!(table.admit(Some(b)).is_none(), "over the total cap");
        drop(held);
        let again = table.admit(Some(a));
        assert!(again.is_some(), "places are freed when connections end");
        drop((first, second));
        assert_eq!(table.open().total, 1);
        drop(again);
        assert_eq!(table.open().total, 0);
        assert!(table.open().per_client.is_empty());
    }

    #[test]
    fn a_trusted_proxy_is_held_only_to_the_total_cap() {
        let table = connections(MAX_CONNECTIONS_PER_CLIENT + 1);
        let proxied: Vec<Admitted> = (0..=MAX_CONNECTIONS_PER_CLIENT)
            .filter_map(|_| table.admit(None))
            .collect();
        assert_eq!(proxied.len(), MAX_CONNECTIONS_PER_CLIENT + 1);
        assert!(table.admit(None).is_none(), "over the total cap");
        assert!(table.open().per_client.is_empty());
        drop(proxied);
        assert_eq!(table.open().total, 0);
    }

    #[test]
    fn the_cap_follows_the_file_limit() {
        let cap = connection_cap();
        assert!((MIN_CONNECTIONS..=MAX_CONNECTIONS).contains(&cap));
    }

    #[test]
    fn the_refusal_is_one_complete_response() {
        let text = too_many_connections();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["error"], "too_many_connections");
    }
}
