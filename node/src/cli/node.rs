//! `causerie run` (the node itself) and `causerie compact`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use causerie_node::config::{Config, Overrides};
use causerie_node::daemon;
use serde_json::json;

use super::Output;

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
    /// Address where other machines reach this node, announced to peers and put in invite
    /// links, e.g. /ip4/203.0.113.7/tcp/7447 (repeatable; config key external_addresses).
    #[arg(long = "external-address", value_name = "MULTIADDR")]
    external_addresses: Vec<String>,
    /// Relay to reserve a slot on while this node is not reachable, ending in /p2p/PEER_ID
    /// (repeatable; config key relays).
    #[arg(long = "relay", value_name = "MULTIADDR")]
    relays: Vec<String>,
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
        external_addresses: args.external_addresses,
        relays: args.relays,
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
