//! The running node: data directory, node key, store, node actor, network actor, classifier (when
//! configured) and HTTP server,
//! started in that order and stopped in reverse. `causerie run` and the in-process test cluster
//! both start nodes through [`start`], so tests exercise the real daemon. Before anything else
//! the node locks its data directory (`daemon/lock.rs`), so a second node on it is refused at
//! once.
//!
//! Errors say what failed and keep their cause as [`std::error::Error::source`], not in their
//! own text, so a printed chain names each cause once.

mod lock;

pub use lock::{DataDirLock, LOCK_FILE_NAME, LockError};

use std::net::SocketAddr;

use causerie_crypto::{KeyError, NodeSecret};
use causerie_storage::{SledStore, StoreError};
use thiserror::Error;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::api::operator::OperatorToken;
use crate::api::tls::Tls;
use crate::api::{ApiState, Guard, default_hosts, router, serve_with, with_peer_id};
use crate::clock::now_ms;
use crate::config::Config;
use crate::ledger::{Ledger, LedgerError};
use crate::moderation::classifier::Classifier;
use crate::moderation::screen;
use crate::net::{Net, NetConfig, NetError, NetHandle};
use crate::node::{COMPACTION_CHECK_MS, Node, NodeTask};

/// Why the node could not start.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// The data directory could not be created.
    #[error("data directory")]
    DataDir(#[source] std::io::Error),
    /// Another node runs on the data directory, or it could not be locked.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The node key could not be read or created.
    #[error("node key")]
    Key(#[from] KeyError),
    /// The ban-list enforcer's key file could not be read.
    #[error("enforcer key file")]
    EnforcerKey(#[source] KeyError),
    /// The operator token file could not be read or created.
    #[error(transparent)]
    OperatorToken(#[from] crate::api::operator::OperatorTokenError),
    /// The store could not be opened.
    #[error("store")]
    Store(#[from] StoreError),
    /// Rebuilding the rooms failed.
    #[error("rooms")]
    Ledger(#[from] LedgerError),
    /// The network could not start.
    #[error("network")]
    Net(#[from] NetError),
    /// The HTTP address is taken by another program.
    #[error(
        "the HTTP address {addr} is already in use (another causerie node?); stop that program, or choose another address with --http HOST:PORT"
    )]
    HttpInUse {
        /// The address.
        addr: SocketAddr,
    },
    /// `[tls]` could not be set up (certificate files, ACME directory roots).
    #[error("tls")]
    Tls(#[from] crate::api::tls::TlsError),
    /// The HTTP address could not be bound.
    #[error("http {addr}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl DaemonError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            DaemonError::DataDir(_) => "data_dir",
            DaemonError::Lock(e) => e.reason(),
            DaemonError::Key(e) => e.reason(),
            DaemonError::EnforcerKey(e) => e.reason(),
            DaemonError::OperatorToken(e) => e.reason(),
            DaemonError::Store(e) => e.reason(),
            DaemonError::Ledger(e) => e.reason(),
            DaemonError::Net(e) => e.reason(),
            DaemonError::HttpInUse { .. } => "http_address_in_use",
            DaemonError::Http { .. } => "http_bind",
            DaemonError::Tls(e) => e.reason(),
        }
    }
}

/// A started node. Stop it with [`Running::shutdown`].
pub struct Running {
    /// The node actor.
    pub node: Node,
    /// The network actor.
    pub net: NetHandle,
    /// The bound HTTP address (useful with port 0).
    pub http_addr: SocketAddr,
    /// The classifier hook, when configured.
    pub classifier: Option<Classifier>,
    /// Abuse reports: taken, delivered, received (specs/accountability.md §1).
    pub reports: crate::reports::Reports,
    shutdown: CancellationToken,
    classifier_task: Option<JoinHandle<()>>,
    screen_task: Option<JoinHandle<()>>,
    node_task: NodeTask,
    net_task: JoinHandle<()>,
    http_task: JoinHandle<()>,
    /// The ACME task (`[tls] mode = "acme"`).
    tls_task: Option<JoinHandle<()>>,
    compaction_task: JoinHandle<()>,
    /// The registration records' sweeper (records/sweeper.rs).
    records_task: JoinHandle<()>,
    /// The ban-list follower (moderation/follow.rs).
    policy_task: JoinHandle<()>,
    /// The reports' delivery task (reports/delivery.rs).
    reports_task: JoinHandle<()>,
    /// Held until the node has stopped.
    data_dir_lock: DataDirLock,
}

/// Creates the data directory readable by its owner only (it holds the node key).
fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Reads the node key, creating it (mode 0600) on first start.
pub fn node_key(config: &Config) -> Result<NodeSecret, DaemonError> {
    let path = config.node_key_path();
    if path.exists() {
        return Ok(NodeSecret::read(&path)?);
    }
    let secret = NodeSecret::generate()?;
    secret.write_new(&path)?;
    tracing::info!(path = %path.display(), "created node key");
    Ok(secret)
}

/// Starts every part of the node on the current tokio runtime.
pub async fn start(config: &Config) -> Result<Running, DaemonError> {
    create_private_dir(&config.data_dir).map_err(DaemonError::DataDir)?;
    let data_dir_lock = DataDirLock::acquire(&config.data_dir)?;
    let secret = node_key(config)?;
    let key = secret.public();
    let operator_token = OperatorToken::read_or_create(&config.operator_token_path())?;
    let store_path = config.store_path();
    let rooms = {
        let path = store_path.clone();
        // Opening sled and replaying rooms is blocking work.
        tokio::task::spawn_blocking(move || -> Result<_, DaemonError> {
            let store = SledStore::open(&path)?;
            Ok(Ledger::open(store, now_ms())?)
        })
        .await
        .map_err(|e| DaemonError::DataDir(std::io::Error::other(e.to_string())))??
    };
    let (node, node_task) = Node::spawn(rooms, std::sync::Arc::new(node_key(config)?));
    node.set_retention(config.records.retention);
    // The public origin's host names this node's aliases (specs/directory.md §1); without one,
    // or with one that cannot be a server name (an IPv6 address), the node name does.
    if let Some(origin) = &config.public_origin {
        let named = causerie_crypto::directory::ServerName::parse(&origin.authority())
            .and_then(|name| node.directory().set_server_name(name));
        if let Err(e) = named {
            tracing::warn!(origin = %origin.authority(), reason = e.reason(), "the public origin cannot name this node's aliases; its node name does");
        }
    }
    let shutdown = CancellationToken::new();
    // The classifier (when configured) runs until the node stops. Its screen sits between the
    // node actor's announcements and everything that follows them, so it starts first.
    let (classifier, classifier_task, screen_task) = match &config.classifier {
        Some(classifier) => {
            let (handle, task) = Classifier::spawn(classifier.clone(), shutdown.child_token());
            match node.review().load_hidden().await {
                Ok(0) => {}
                Ok(hidden) => tracing::info!(hidden, "events hidden for review"),
                Err(e) => tracing::warn!(reason = e.reason(), "hidden events not reloaded"),
            }
            let screened = Node::announcement_channel();
            node.set_screened(screened.clone());
            let screen = screen::spawn(&node, handle.clone(), screened, shutdown.child_token());
            (Some(handle), Some(task), Some(screen))
        }
        None => (None, None, None),
    };
    // The API signs the attestations the node issues; the network actor owns the first copy.
    let api_secret = node_key(config)?;
    let reports_secret = node_key(config)?;
    let mut net_config = NetConfig::new(config.listen.clone(), config.bootstrap.clone(), secret);
    net_config.peer_rate = config.rate_limits.peer;
    net_config.deny = config
        .federation_deny
        .iter()
        .filter_map(crate::net::peer_of_node)
        .collect();
    net_config.external_addresses = config.external_addresses.clone();
    net_config.relays = config.relays.clone();
    net_config.relay_server = config.relay_server;
    net_config.autonat = config.autonat;
    net_config.dns_name = config.public_host().map(str::to_owned);
    let (net, net_task) = match Net::spawn(net_config, node.clone(), shutdown.child_token()) {
        Ok(started) => started,
        Err(e) => {
            shutdown.cancel();
            node.shutdown().await;
            node_task.join();
            return Err(e.into());
        }
    };
    if let Some(path) = &config.enforcer_key_file {
        let enforcer = match causerie_crypto::UserSecret::read(path) {
            Ok(secret) => secret,
            Err(e) => {
                shutdown.cancel();
                let _ = net_task.await;
                node.shutdown().await;
                node_task.join();
                return Err(DaemonError::EnforcerKey(e));
            }
        };
        tracing::info!(enforcer = %enforcer.public(), "ban-list enforcer key loaded");
        node.set_enforcer(enforcer)
            .await
            .map_err(|e| DaemonError::Net(NetError::Node(e)))?;
    }
    let policy_task = crate::moderation::follow::spawn(net.clone(), shutdown.child_token());
    let (reports, reports_task) = crate::reports::Reports::spawn(
        node.clone(),
        net.clone(),
        reports_secret,
        shutdown.child_token(),
    );
    let bound = match Tls::from_config(&config.tls, shutdown.child_token()) {
        Err(e) => Err(DaemonError::Tls(e)),
        Ok(tls) => match tokio::net::TcpListener::bind(config.http).await {
            Ok(listener) => Ok((listener, tls)),
            Err(source) if source.kind() == std::io::ErrorKind::AddrInUse => {
                Err(DaemonError::HttpInUse { addr: config.http })
            }
            Err(source) => Err(DaemonError::Http {
                addr: config.http,
                source,
            }),
        },
    };
    let (listener, tls, tls_task) = match bound {
        Ok((listener, Some(server))) => (listener, Some(server.tls), server.acme_task),
        Ok((listener, None)) => (listener, None, None),
        Err(error) => {
            shutdown.cancel();
            let _ = policy_task.await;
            let _ = reports_task.await;
            let _ = net_task.await;
            node.shutdown().await;
            node_task.join();
            return Err(error);
        }
    };
    let http_addr = listener.local_addr().map_err(|source| DaemonError::Http {
        addr: config.http,
        source,
    })?;
    let mut hosts = if config.http_allowed_hosts.is_empty() {
        default_hosts(http_addr)
    } else {
        config.http_allowed_hosts.clone()
    };
    if let Some(origin) = &config.public_origin {
        hosts.push(origin.authority());
    }
    let state = ApiState::new(
        node.clone(),
        net.clone(),
        store_path,
        api_secret,
        Guard::new(&hosts).trusting(config.trusted_proxies.clone()),
        shutdown.child_token(),
    )
    .with_rate_limits(&config.rate_limits)
    .with_operator(operator_token)
    .with_require_contact(config.records.require_contact)
    .with_public_origin(config.public_origin.as_ref().map(ToString::to_string));
    let state = state
        .with_classifier(classifier.clone())
        .with_reports(reports.clone());
    let guard = state.guard.clone();
    let app = router(state, crate::web::router());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let http_task = tokio::spawn(serve_with(
        listener,
        app,
        guard,
        tls,
        shutdown.child_token(),
    ));
    let compaction_task = tokio::spawn(compaction_checks(node.clone(), shutdown.child_token()));
    let records_task = crate::records::sweeper::spawn(
        node.clone(),
        config.records.sweep_interval_ms,
        shutdown.child_token(),
    );
    let peer_id = net.peer_id();
    let listen = net.listen_addrs().await.unwrap_or_default();
    for addr in &listen {
        tracing::info!(address = %with_peer_id(addr, &peer_id), "listening (p2p)");
    }
    tracing::info!(%peer_id, node_key = %key, http = %http_addr, "node started");
    match &config.public_origin {
        Some(origin) => tracing::info!("web client: {origin}/ (served at {scheme}://{http_addr}/)"),
        None => tracing::info!("web client: {scheme}://{http_addr}/"),
    }
    Ok(Running {
        node,
        net,
        http_addr,
        classifier,
        reports,
        shutdown,
        classifier_task,
        screen_task,
        node_task,
        net_task,
        http_task,
        tls_task,
        compaction_task,
        records_task,
        policy_task,
        reports_task,
        data_dir_lock,
    })
}

/// Asks the node every [`COMPACTION_CHECK_MS`] to compact its store if redactions left content
/// in its files and the last compaction is old enough (specs/moderation.md §4).
async fn compaction_checks(node: Node, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(COMPACTION_CHECK_MS));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {
                if let Err(e) = node.compact_if_due().await {
                    tracing::warn!(reason = e.reason(), "compaction check failed");
                }
            }
        }
    }
}

impl Running {
    /// Stops HTTP and the network, then flushes and stops the node actor; returns when all
    /// have finished.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.http_task.await;
        let _ = self.compaction_task.await;
        let _ = self.records_task.await;
        let _ = self.policy_task.await;
        let _ = self.reports_task.await;
        let _ = self.net_task.await;
        for task in [self.screen_task, self.classifier_task, self.tls_task]
            .into_iter()
            .flatten()
        {
            let _ = task.await;
        }
        self.node.shutdown().await;
        let node_task = self.node_task;
        // Joining a thread blocks; do it off the async workers.
        let _ = tokio::task::spawn_blocking(move || node_task.join()).await;
        // Only now may another node open the data directory.
        drop(self.data_dir_lock);
        tracing::info!("node stopped");
    }
}
