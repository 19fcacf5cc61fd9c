//! `causerie-cluster-node`: a node as a child process for the cluster harness (see
//! `causerie_tests::cluster`). It takes the same node flags as `causerie run` (`--config`,
//! `--data-dir`, `--listen`, `--bootstrap`, `--http`), builds the same validated `Config` (the
//! same config file format, flags overriding it) and runs the same
//! `daemon::start`; once started it prints one JSON line on stdout
//! (`{"peer_id", "http", "listen"}`) so the harness learns its ports, and it stops gracefully
//! (flushing the store) on SIGINT or SIGTERM. Scenarios SIGKILL it to test crash recovery.
//!
//! With `--control ADDR` it also serves a small test-only control API (the node's own API has no
//! room endpoints yet), used by `scripts/netns-partition.sh` to drive traffic in each network
//! namespace and compare nodes. A local user, generated at start and attested by this node's
//! key, acts for the script:
//! - `POST /room`: the local user creates a public room; answers `{"room", "invite"}`.
//! - `POST /join` (body: an invite link): the node joins through it, then the local user joins;
//!   answers `{"room", "events_fetched"}`.
//! - `POST /say`: the local user posts one message in every room the node holds (joining first
//!   if it has not yet); answers `{"sent"}`.
//! - `GET /status`: per room, `{"room", "events", "digest", "timeline", "held"}`, where `digest`
//!   is a SHA-256 over the sorted ids of every accepted event: equal digests, equal event sets.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use causerie_node::config::{Config, Overrides};
use causerie_node::daemon;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// A Causerie node for multi-process tests.
#[derive(Debug, Parser)]
struct Args {
    /// TOML config file, as `causerie run --config` reads it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory.
    #[arg(long, value_name = "DIR")]
    data_dir: PathBuf,
    /// p2p listen address (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Peer to dial at start, ending in /p2p/PEER_ID (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<String>,
    /// HTTP address.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
    /// Address of the test-only control API (see the module docs); off by default.
    #[arg(long, value_name = "ADDR")]
    control: Option<std::net::SocketAddr>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let overrides = Overrides {
        data_dir: Some(args.data_dir),
        listen: args.listen,
        bootstrap: args.bootstrap,
        http: args.http,
        ..Overrides::default()
    };
    let control = args.control;
    let config = match Config::load(args.config.as_deref(), overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("causerie-cluster-node: {e} ({})", e.reason());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("causerie-cluster-node: runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(config, control))
}

async fn run(config: Config, control: Option<std::net::SocketAddr>) -> ExitCode {
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            eprintln!("causerie-cluster-node: cannot install signal handlers");
            return ExitCode::from(2);
        }
    };
    let running = match daemon::start(&config).await {
        Ok(running) => running,
        Err(e) => {
            eprintln!("causerie-cluster-node: {e} ({})", e.reason());
            return ExitCode::from(2);
        }
    };
    let listen = match causerie_tests::cluster::wait_listening(&running).await {
        Ok(listen) => listen,
        Err(e) => {
            eprintln!("causerie-cluster-node: {e}");
            running.shutdown().await;
            return ExitCode::from(2);
        }
    };
    let control_task = match control {
        None => None,
        Some(addr) => match control::serve(addr, &config, &running).await {
            Ok(task) => Some(task),
            Err(e) => {
                eprintln!("causerie-cluster-node: control API on {addr}: {e}");
                running.shutdown().await;
                return ExitCode::from(2);
            }
        },
    };
    let ready = serde_json::json!({
        "peer_id": running.net.peer_id().to_string(),
        "http": running.http_addr.to_string(),
        "listen": listen.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{ready}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // Nobody is listening for the ready line; run anyway until told to stop.
    }
    drop(stdout);
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    if let Some(task) = control_task {
        task.abort();
    }
    running.shutdown().await;
    ExitCode::SUCCESS
}

mod control {
    //! The test-only control API (see the binary's docs).

    use std::collections::BTreeSet;
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use causerie_crypto::event::kinds;
    use causerie_crypto::{Assurance, AttestationDraft, Content, Hash32, RoomId, UserSecret};
    use causerie_node::config::Config;
    use causerie_node::daemon::{self, Running};
    use causerie_node::net::NetHandle;
    use causerie_node::node::{Node, PrepareRequest};
    use causerie_room::content::user_state_key;
    use causerie_room::{Membership, PowerLevels, prepare_create};
    use causerie_tests::cluster::{
        ATTESTATION_BACKDATE_MS, ATTESTATION_VALIDITY_MS, HarnessError, TestUser, event_ids,
        now_ms, submit, text_content,
    };
    use serde_json::json;
    use tokio::sync::Mutex;
    use tokio::task::JoinHandle;

    /// Largest invite link accepted by `POST /join`.
    const MAX_INVITE_BYTES: usize = 8 * 1024;

    struct Control {
        node: Node,
        net: NetHandle,
        user: TestUser,
        /// Rooms the local user has joined in this process; one request at a time.
        joined: Mutex<BTreeSet<RoomId>>,
    }

    type Shared = State<Arc<Control>>;

    /// Binds `addr` and serves the control API until aborted.
    pub(super) async fn serve(
        addr: SocketAddr,
        config: &Config,
        running: &Running,
    ) -> Result<JoinHandle<()>, HarnessError> {
        let node_secret = daemon::node_key(config)?;
        let secret = UserSecret::generate()?;
        let key = secret.public();
        let now = now_ms();
        let attestation = AttestationDraft {
            user: key,
            handle: "local".into(),
            assurance: Assurance::Contact,
            not_before: now.saturating_sub(ATTESTATION_BACKDATE_MS),
            not_after: now + ATTESTATION_VALIDITY_MS,
        }
        .sign(&node_secret)?;
        running.node.add_attestation(attestation.clone()).await?;
        let control = Arc::new(Control {
            node: running.node.clone(),
            net: running.net.clone(),
            user: TestUser {
                secret,
                key,
                attestation,
                home: 0,
            },
            joined: Mutex::new(BTreeSet::new()),
        });
        let app = Router::new()
            .route("/room", post(create_room))
            .route("/join", post(join))
            .route("/say", post(say))
            .route("/status", get(status))
            .with_state(control);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "control API failed");
            }
        }))
    }

    /// A handler's JSON answer, or its failure as `500` with the reason.
    fn answer(result: Result<serde_json::Value, HarnessError>) -> Response {
        match result {
            Ok(value) => Json(value).into_response(),
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": e.reason(), "message": e.to_string() })),
            )
                .into_response(),
        }
    }

    impl Control {
        async fn send(
            &self,
            room: RoomId,
            kind: &str,
            state_key: Option<String>,
            content: Content,
        ) -> Result<(), HarnessError> {
            let draft = self
                .node
                .prepare(PrepareRequest {
                    room,
                    author: self.user.key,
                    kind: kind.to_owned(),
                    state_key,
                    content,
                    attestation: self.user.attestation.id(),
                })
                .await?;
            submit(&self.node, draft.sign(&self.user.secret)?).await
        }

        async fn join_as_user(&self, room: RoomId) -> Result<(), HarnessError> {
            let mut joined = self.joined.lock().await;
            if joined.contains(&room) {
                return Ok(());
            }
            let key = user_state_key(&self.user.key);
            self.send(
                room,
                kinds::MEMBER,
                Some(key),
                Membership::Join.to_content(),
            )
            .await?;
            joined.insert(room);
            Ok(())
        }
    }

    async fn create_room(State(control): Shared) -> Response {
        let result = async {
            let user = &control.user;
            let create = prepare_create(user.key, Content::new(), now_ms(), user.attestation.id())
                .sign(&user.secret)?;
            let room = create.room_id();
            submit(&control.node, create).await?;
            control.join_as_user(room).await?;
            control
                .send(
                    room,
                    kinds::POWER_LEVELS,
                    Some(String::new()),
                    PowerLevels::default().to_content(),
                )
                .await?;
            let mut rules = Content::new();
            rules.insert("join_rule".into(), "public".into());
            control
                .send(room, kinds::JOIN_RULES, Some(String::new()), rules)
                .await?;
            let invite = control.net.invite_link(room).await?;
            Ok::<_, HarnessError>(json!({ "room": room.0.to_hex(), "invite": invite }))
        }
        .await;
        answer(result)
    }

    async fn join(State(control): Shared, invite: String) -> Response {
        if invite.len() > MAX_INVITE_BYTES {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({ "error": "too_large" })),
            )
                .into_response();
        }
        let result = async {
            let report = control.net.join(invite.trim()).await?;
            control.join_as_user(report.room).await?;
            Ok::<_, HarnessError>(json!({
                "room": report.room.0.to_hex(),
                "events_fetched": report.events_fetched,
            }))
        }
        .await;
        answer(result)
    }

    async fn say(State(control): Shared) -> Response {
        let result = async {
            let mut sent = 0;
            for room in control.node.rooms().await? {
                control.join_as_user(room).await?;
                control
                    .send(
                        room,
                        kinds::MESSAGE,
                        None,
                        text_content(&format!("hello at {}", now_ms())),
                    )
                    .await?;
                sent += 1;
            }
            Ok::<_, HarnessError>(json!({ "sent": sent }))
        }
        .await;
        answer(result)
    }

    async fn status(State(control): Shared) -> Response {
        let result = async {
            let mut rooms = Vec::new();
            for room in control.node.rooms().await? {
                let ids = event_ids(&control.node, room).await?;
                let bytes: Vec<&[u8]> = ids.iter().map(|id| id.as_bytes().as_slice()).collect();
                let summary = control.node.summary(room).await?;
                rooms.push(json!({
                    "room": room.0.to_hex(),
                    "events": ids.len(),
                    "digest": Hash32::digest(&bytes).to_hex(),
                    "timeline": summary.as_ref().map(|s| s.timeline.len()),
                    "held": summary.as_ref().map(|s| s.held),
                }));
            }
            Ok::<_, HarnessError>(json!({ "rooms": rooms }))
        }
        .await;
        answer(result)
    }
}
