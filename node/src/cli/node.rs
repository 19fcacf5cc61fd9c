//! `causerie run` (the node itself) and `causerie verify` (offline checks of signed files).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use causerie_crypto::{Attestation, Event, EventError};
use causerie_node::config::{Config, Overrides};
use causerie_node::daemon;
use serde_json::json;

use super::{EXIT_REFUSED, Output, printable};

/// Largest file `verify` reads: an audit export's cap (each format then applies its own).
const VERIFY_FILE_MAX_BYTES: u64 = causerie_crypto::audit::MAX_EXPORT_BYTES as u64;

/// The `type` field of a typed container (audit export, disclosure bundle, ...); events and
/// attestations have none.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// The container type of `bytes`, if they are a CBOR map with a text `type`.
fn container_type(bytes: &[u8]) -> Option<String> {
    causerie_crypto::codec::decode::<Probe>(bytes, VERIFY_FILE_MAX_BYTES as usize)
        .ok()
        .and_then(|p| p.kind)
}

/// `causerie run` flags; each is also settable in the config file.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct RunArgs {
    /// TOML config file (see README for its keys).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default ./causerie-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// p2p listen address (repeatable; default /ip4/127.0.0.1/tcp/7447).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Peer to dial at start, ending in /p2p/PEER_ID (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<String>,
    /// HTTP (API, web client, metrics) address (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
}

/// `causerie compact` flags.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct CompactArgs {
    /// TOML config file (its data_dir is used).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default ./causerie-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// `causerie compact`: compacts the store of a node that is not running (its data directory
/// lock is taken first, so a running node is refused with `data_dir_locked`).
pub(crate) fn compact(args: CompactArgs, out: &Output) -> Result<ExitCode> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let _lock =
        daemon::DataDirLock::acquire(&config.data_dir).map_err(daemon::DaemonError::from)?;
    let path = config.store_path();
    if !path.exists() {
        return Err(super::refused(
            "no_store",
            format!("no store at {}", path.display()),
        ));
    }
    let store = causerie_storage::SledStore::open(&path).map_err(daemon::DaemonError::from)?;
    let report = store.compact().map_err(daemon::DaemonError::from)?;
    out.print(
        json!({
            "store": path.display().to_string(),
            "entries": report.entries,
            "bytes_before": report.bytes_before,
            "bytes_after": report.bytes_after,
            "millis": report.millis,
        }),
        || {
            format!(
                "compacted {}: {} entries, {} -> {} bytes in {} ms",
                path.display(),
                report.entries,
                report.bytes_before,
                report.bytes_after,
                report.millis
            )
        },
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_node(args: RunArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        listen: args.listen,
        bootstrap: args.bootstrap,
        http: args.http,
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = daemon::start(&config).await?;
        wait_for_signal().await?;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Reads at most `max + 1` bytes of `path` (`-`: standard input); the caller refuses more.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    reader.take(max + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

pub(crate) fn verify(path: &Path, out: &Output) -> Result<ExitCode> {
    let bytes = read_capped(path, VERIFY_FILE_MAX_BYTES)?;
    // Typed containers first: each names its format in `type`.
    if let Some(kind) = container_type(&bytes) {
        match kind.as_str() {
            causerie_crypto::audit::EXPORT_TYPE => {
                return Ok(super::admin::print_verified(out, &bytes, None));
            }
            causerie_crypto::disclosure::BUNDLE_TYPE => {
                return Ok(super::admin::print_disclosure(out, &bytes));
            }
            _ => {
                out.print(
                    json!({ "valid": false, "reason": "unknown_type", "detail": printable(&kind) }),
                    || format!("invalid: unknown_type ({})", printable(&kind)),
                );
                return Ok(ExitCode::from(EXIT_REFUSED));
            }
        }
    }
    // An event and an attestation share no field set, so at most one decode can succeed; the
    // event's error is the one reported when both fail unless the bytes look like an attestation.
    let event_err =
        match Event::decode(&bytes) {
            Ok(event) => {
                out.print(
                json!({
                    "valid": true,
                    "type": "event",
                    "event_id": event.id().to_string(),
                    "room_id": event.room_id().to_string(),
                    "author": event.author().to_string(),
                    "kind": event.kind(),
                    "state_key": event.state_key(),
                    "depth": event.depth(),
                    "origin_ts": event.origin_ts(),
                    "attestation": event.attestation().to_string(),
                    "redacted": event.is_redacted(),
                }),
                || {
                    format!(
                        "valid event {}\n  room    {}\n  author  {}\n  kind    {}\n  depth   {}{}",
                        event.id(),
                        event.room_id(),
                        event.author(),
                        event.kind(),
                        event.depth(),
                        if event.is_redacted() { "\n  (redacted)" } else { "" }
                    )
                },
            );
                return Ok(ExitCode::SUCCESS);
            }
            Err(err) => err,
        };
    let err = match Attestation::decode(&bytes) {
        Ok(att) => {
            out.print(
                json!({
                    "valid": true,
                    "type": "attestation",
                    "attestation_id": att.id().to_string(),
                    "user": att.user().to_string(),
                    "handle": att.handle(),
                    "assurance": att.assurance().name(),
                    "home_node": att.home_node().to_string(),
                    "not_before": att.not_before(),
                    "not_after": att.not_after(),
                }),
                || {
                    format!(
                        "valid attestation {}\n  user       {}\n  handle     {}\n  assurance  {}\n  home node  {}",
                        att.id(),
                        att.user(),
                        att.handle(),
                        att.assurance().name(),
                        att.home_node()
                    )
                },
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(att_err) if looks_like_attestation(&att_err, &event_err) => att_err,
        Err(_) => event_err,
    };
    out.print(
        json!({ "valid": false, "reason": err.reason(), "detail": err.to_string() }),
        || format!("invalid: {} ({err})", err.reason()),
    );
    Ok(ExitCode::from(EXIT_REFUSED))
}

/// The attestation decoder got further than "not this structure" while the event decoder did not.
fn looks_like_attestation(att_err: &EventError, event_err: &EventError) -> bool {
    let structural = |e: &EventError| e.reason() == "malformed_cbor";
    structural(event_err) && !structural(att_err)
}
